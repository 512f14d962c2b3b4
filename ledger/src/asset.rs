//! Asset keys (SPEC.md §6): one 32-byte name per financeable asset, derived
//! from the identifiers that make it unique in the real world, so that two
//! parties who never met compute the same key and the ledger can prove that
//! no asset was encumbered twice.

use crate::hash::{from_hex, sha256, to_hex};
use crate::uscc::{self, UsccError};
use std::fmt;

/// Domain prefix of every asset-key hash input.
pub const ASSET_DOMAIN: &[u8] = b"scf-ledger/v1/asset\n";
/// Longest identifier (after trimming) that an asset key accepts.
pub const MAX_ID_LEN: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetKey(pub [u8; 32]);

/// The kinds of asset the platform finances, with their identifying parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    /// A VAT or 数电 invoice: seller USCC + invoice number.
    Invoice,
    /// A warehouse receipt: keeper USCC + receipt number.
    WarehouseReceipt,
    /// A payables certificate: its certificate id.
    PayablesCertificate,
}

impl AssetKind {
    pub fn label(self) -> &'static str {
        match self {
            AssetKind::Invoice => "invoice",
            AssetKind::WarehouseReceipt => "warehouse_receipt",
            AssetKind::PayablesCertificate => "payables_certificate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssetError {
    #[error(transparent)]
    Uscc(#[from] UsccError),
    #[error("the identifier is empty")]
    Empty,
    #[error("the identifier is longer than {MAX_ID_LEN} characters")]
    TooLong,
    #[error("the identifier contains a control character")]
    Control,
}

/// Trims ASCII whitespace and upper-cases ASCII letters: paper documents and
/// typed forms disagree on case and padding, never on meaning.
fn normalise_id(id: &str) -> Result<String, AssetError> {
    let id = id.trim_ascii();
    if id.is_empty() {
        return Err(AssetError::Empty);
    }
    if id.chars().count() > MAX_ID_LEN {
        return Err(AssetError::TooLong);
    }
    if id.chars().any(char::is_control) {
        return Err(AssetError::Control);
    }
    Ok(id.to_ascii_uppercase())
}

impl AssetKey {
    /// `SHA-256(ASSET_DOMAIN ‖ kind ‖ "\n" ‖ part₁ ‖ "\n" ‖ part₂ …)` over
    /// normalised parts. The parts cannot contain `\n` (a control character),
    /// so the encoding is unambiguous.
    fn derive(kind: AssetKind, parts: &[&str]) -> AssetKey {
        let mut input = Vec::with_capacity(128);
        input.extend_from_slice(ASSET_DOMAIN);
        input.extend_from_slice(kind.label().as_bytes());
        for p in parts {
            input.push(b'\n');
            input.extend_from_slice(p.as_bytes());
        }
        AssetKey(sha256(&input))
    }

    pub fn invoice(seller_uscc: &str, invoice_number: &str) -> Result<Self, AssetError> {
        let seller = uscc::normalise(seller_uscc)?;
        let number = normalise_id(invoice_number)?;
        Ok(Self::derive(AssetKind::Invoice, &[&seller, &number]))
    }

    pub fn warehouse_receipt(keeper_uscc: &str, receipt_number: &str) -> Result<Self, AssetError> {
        let keeper = uscc::normalise(keeper_uscc)?;
        let number = normalise_id(receipt_number)?;
        Ok(Self::derive(
            AssetKind::WarehouseReceipt,
            &[&keeper, &number],
        ))
    }

    pub fn payables_certificate(certificate_id: &str) -> Result<Self, AssetError> {
        let id = normalise_id(certificate_id)?;
        Ok(Self::derive(AssetKind::PayablesCertificate, &[&id]))
    }

    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        from_hex::<32>(s).map(AssetKey)
    }
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssetKey({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_makes_spellings_agree() {
        let a = AssetKey::invoice("914403001922038216", "No.12345678");
        let b = AssetKey::invoice(" 914403001922038216\t", "no.12345678 ");
        assert_eq!(a, b);
        assert_ne!(
            AssetKey::invoice("914403001922038216", "1").ok(),
            AssetKey::warehouse_receipt("914403001922038216", "1").ok()
        );
        assert_eq!(
            AssetKey::invoice("914403001922038216", "a\nb"),
            Err(AssetError::Control)
        );
        assert_eq!(AssetKey::payables_certificate("  "), Err(AssetError::Empty));
    }
}
