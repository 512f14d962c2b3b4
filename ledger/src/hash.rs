//! The hash functions of SPEC.md §3: RFC 6962 leaf and node hashes, and the
//! linear chain hash. Each hash input starts with a one-byte tag so that a leaf,
//! an interior node and a chain link can never be confused with one another.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// RFC 6962 tag of a leaf hash input.
pub const LEAF_TAG: u8 = 0x00;
/// RFC 6962 tag of an interior-node hash input.
pub const NODE_TAG: u8 = 0x01;
/// Tag of a chain-link hash input; disjoint from the two Merkle tags.
pub const CHAIN_TAG: u8 = 0x02;

/// The chain value before the first entry.
pub const CHAIN_START: Hash = [0u8; 32];

/// `SHA-256()`: the root of the empty tree (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_TAG]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_TAG]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `SHA-256(0x02 ‖ prev_chain ‖ leaf)`.
pub fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([CHAIN_TAG]);
    h.update(prev);
    h.update(leaf);
    h.finalize().into()
}

/// Plain `SHA-256(data)`.
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// Lowercase hex, the only hex form the SPEC accepts.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Parses exactly `N` bytes of lowercase hex. Uppercase is refused because a
/// second spelling of the same bytes would break canonical encoding.
pub fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || s.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}
