//! Ed25519 keys, signing, and strict verification of single signatures and
//! batches (RFC 8032 PureEdDSA with SHA-512).
//!
//! A signature `R ‖ S` on `M` under `A` is valid iff `A` is an acceptable key
//! (canonical encoding, on the curve, not of small order, torsion-free), `R`
//! is canonically encoded, on the curve and not of small order, `S < L`, and
//! the *cofactored* equation `[8]([S]B − R − [k]A) = 0` holds, with
//! `k = SHA-512(R ‖ A ‖ M) mod L`.
//!
//! Why cofactored (Chalkias et al., "Taming the many EdDSAs", 2020; ZIP-215):
//! the cofactorless `[S]B = R + [k]A` rejects an `R` with a torsion component
//! that a random-linear-combination batch may accept, so single and batch
//! results could differ on crafted input. The factor 8 kills every torsion
//! term, so they agree exactly; the encoding, `S < L`, small-order and
//! torsion-free rules on top keep the accepted set strict (no malleability).

use core::fmt;
use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256, Sha512};

use crate::hash;

/// Domain-separation prefix of the key id hash.
pub const KEY_ID_DOMAIN: &[u8] = b"scf-ledger/v1/key\n";

/// Domain-separation prefix of the batch transcript (Fiat–Shamir).
const BATCH_TRANSCRIPT_DOMAIN: &[u8] = b"scf-ledger/v1/ed25519-batch/transcript\n";
/// Domain-separation prefix of the coefficient expansion.
const BATCH_COEFF_DOMAIN: &[u8] = b"scf-ledger/v1/ed25519-batch/z\n";

// ---------------------------------------------------------------------------
// Key id
// ---------------------------------------------------------------------------

/// 16-byte key id: the first 16 bytes of `SHA-256(KEY_ID_DOMAIN ‖ public key
/// bytes)`; shown as 32 lowercase hex chars.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 16]);

impl KeyId {
    /// 32 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hash::to_hex(&self.0)
    }

    /// Parses exactly 32 lowercase hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        hash::from_hex::<16>(s).map(KeyId)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a public key is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not exactly 32 bytes.
    #[error("public key is not 32 bytes")]
    BadLength,
    /// Not exactly 64 lowercase hex characters.
    #[error("public key is not 64 lowercase hex characters")]
    BadHex,
    /// `y >= p`, or `x = 0` with the sign bit set.
    #[error("public key encoding is not canonical")]
    NonCanonical,
    /// The encoding does not decompress to a curve point.
    #[error("public key is not a point on the curve")]
    NotOnCurve,
    /// The point has order dividing 8.
    #[error("weak key: public key has small order")]
    SmallOrder,
    /// The point is not in the prime-order subgroup.
    #[error("public key has a torsion component")]
    Torsion,
}

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// `R` has `y >= p`, or `x = 0` with the sign bit set.
    #[error("signature R encoding is not canonical")]
    NonCanonicalR,
    /// `R` does not decompress to a curve point.
    #[error("signature R is not a point on the curve")]
    NotOnCurveR,
    /// `R` has order dividing 8.
    #[error("signature R has small order")]
    SmallOrderR,
    /// `S >= L`.
    #[error("signature S is not a canonical scalar")]
    NonCanonicalS,
    /// The (cofactored) verification equation does not hold; for a batch: at
    /// least one item is invalid.
    #[error("signature does not verify")]
    Invalid,
}

// ---------------------------------------------------------------------------
// Point decoding
// ---------------------------------------------------------------------------

enum DecodeError {
    NonCanonical,
    NotOnCurve,
}

/// True iff the 32 bytes are the canonical encoding of *some* field element
/// pair: the 255-bit `y` is `< p = 2^255 − 19`, and the sign bit is not set
/// together with `y ∈ {1, p − 1}` (the only `y` values with `x = 0`).
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let [first, middle @ .., last] = bytes;
    let sign = last >> 7;
    let top = last & 0x7f;
    let middle_all_ff = middle.iter().all(|&b| b == 0xff);
    let middle_all_00 = middle.iter().all(|&b| b == 0x00);
    // y >= p iff y ∈ [2^255 − 19, 2^255 − 1]: low byte >= 0xed, all others 0xff.
    let y_ge_p = middle_all_ff && top == 0x7f && *first >= 0xed;
    if y_ge_p {
        return false;
    }
    if sign == 1 {
        let y_is_one = middle_all_00 && top == 0 && *first == 0x01;
        let y_is_minus_one = middle_all_ff && top == 0x7f && *first == 0xec;
        if y_is_one || y_is_minus_one {
            return false;
        }
    }
    true
}

/// Canonical-encoding check, then decompression (the only field square root).
fn decode_point(bytes: &[u8; 32]) -> Result<EdwardsPoint, DecodeError> {
    if !is_canonical_encoding(bytes) {
        return Err(DecodeError::NonCanonical);
    }
    CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(DecodeError::NotOnCurve)
}

/// The `y` coordinates (canonical, little-endian, sign bit clear) of the eight
/// points of order dividing 8: 1 (identity), p − 1 (order 2), 0 (order 4) and
/// the two order-8 values `±y8`.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [0; 32],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
];

/// For a *canonical* encoding: true iff it encodes a point of small order
/// (`[8]P = 0`). The small-order points are exactly the eight torsion points,
/// whose `y` values are `SMALL_ORDER_Y`; both signs of `x` are torsion points
/// too (negation), so the sign bit does not matter. Equivalent to
/// `is_small_order()` after decompression, without the three doublings.
fn is_small_order_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    if let Some(last) = y.last_mut() {
        *last &= 0x7f;
    }
    SMALL_ORDER_Y.contains(&y)
}

/// Decodes `R` by rule 2: canonical, on the curve, not of small order.
fn decode_r(bytes: &[u8; 32]) -> Result<EdwardsPoint, SigError> {
    if !is_canonical_encoding(bytes) {
        return Err(SigError::NonCanonicalR);
    }
    // Every small-order encoding decompresses, so testing it first changes no
    // outcome and skips the square root for such R.
    if is_small_order_encoding(bytes) {
        return Err(SigError::SmallOrderR);
    }
    CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(SigError::NotOnCurveR)
}

/// Decodes `S` by rule 3: `S < L`.
fn decode_s(bytes: [u8; 32]) -> Result<Scalar, SigError> {
    Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes)).ok_or(SigError::NonCanonicalS)
}

/// `k = SHA-512(R ‖ A ‖ M) mod L`.
fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    let out: [u8; 64] = h.finalize().into();
    Scalar::from_bytes_mod_order_wide(&out)
}

/// Splits `R ‖ S` without indexing.
fn split_sig(sig: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.iter_mut()
        .chain(s.iter_mut())
        .zip(sig.iter())
        .for_each(|(d, b)| *d = *b);
    (r, s)
}

// ---------------------------------------------------------------------------
// Public key
// ---------------------------------------------------------------------------

/// An acceptable Ed25519 public key, decompressed once at parse time.
///
/// Equality, hashing and ordering are those of the 32-byte encoding, which is
/// canonical, so equal bytes means equal points.
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl PublicKey {
    /// Parses a key, applying every acceptability check: canonical encoding,
    /// on the curve, not of small order, torsion-free.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let point = decode_point(bytes).map_err(|e| match e {
            DecodeError::NonCanonical => KeyError::NonCanonical,
            DecodeError::NotOnCurve => KeyError::NotOnCurve,
        })?;
        if point.is_small_order() {
            return Err(KeyError::SmallOrder);
        }
        if !point.is_torsion_free() {
            return Err(KeyError::Torsion);
        }
        Ok(PublicKey {
            bytes: *bytes,
            point,
        })
    }

    /// Parses 64 lowercase hex characters, then [`PublicKey::from_bytes`].
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let bytes = hash::from_hex::<32>(s).ok_or(KeyError::BadHex)?;
        Self::from_bytes(&bytes)
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hash::to_hex(&self.bytes)
    }

    /// The first 16 bytes of `SHA-256(KEY_ID_DOMAIN ‖ key bytes)`.
    pub fn key_id(&self) -> KeyId {
        let mut h = Sha256::new();
        h.update(KEY_ID_DOMAIN);
        h.update(self.bytes);
        let digest: [u8; 32] = h.finalize().into();
        let mut id = [0u8; 16];
        id.iter_mut().zip(digest.iter()).for_each(|(d, b)| *d = *b);
        KeyId(id)
    }
}

impl TryFrom<&[u8]> for PublicKey {
    type Error = KeyError;

    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| KeyError::BadLength)?;
        Self::from_bytes(bytes)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

// ---------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------

/// A 64-byte Ed25519 signature `R ‖ S`. Parsing is deliberately lax: every
/// check happens in [`verify`] / [`verify_batch`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Parses exactly 128 lowercase hex characters.
    pub fn from_hex(s: &str) -> Option<Self> {
        hash::from_hex::<64>(s).map(Signature)
    }

    /// 128 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hash::to_hex(&self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

// ---------------------------------------------------------------------------
// Secret key
// ---------------------------------------------------------------------------

/// A private key (RFC 8032 32-byte seed). `Debug` shows only the public key.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// The key with this RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The RFC 8032 seed.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key. Built directly from the dalek point `[a]B`, which is
    /// torsion-free and (for a clamped `a`) never of small order, so every
    /// acceptability check of [`PublicKey::from_bytes`] holds by construction.
    pub fn public_key(&self) -> PublicKey {
        let vk = self.0.verifying_key();
        PublicKey {
            bytes: vk.to_bytes(),
            point: vk.to_edwards(),
        }
    }

    /// RFC 8032 deterministic signature on `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// One signature to check.
#[derive(Clone, Copy, Debug)]
pub struct SigCheck<'a> {
    /// The signer's key.
    pub key: &'a PublicKey,
    /// The signed message.
    pub msg: &'a [u8],
    /// The signature.
    pub sig: &'a Signature,
}

/// Strict single verification by the rule in the module documentation.
pub fn verify(key: &PublicKey, msg: &[u8], sig: &Signature) -> Result<(), SigError> {
    let (r_bytes, s_bytes) = split_sig(&sig.0);
    let s = decode_s(s_bytes)?;
    let r = decode_r(&r_bytes)?;
    let k = challenge(&r_bytes, &key.bytes, msg);
    // [S]B − [k]A − R, then multiply by the cofactor.
    let minus_a = -key.point;
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &minus_a, &s);
    if (sb_minus_ka - r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

/// Batch verification by the same rule as [`verify`]. `Ok(())` iff every item
/// is valid (an invalid batch passes with probability at most about
/// `2^-128`). `Err` means at least one item is invalid; call [`verify`] per
/// item to name it. An empty batch is `Ok`. A structural defect (encoding of
/// `R`, `S >= L`, small-order `R`) is reported with its own variant, as
/// [`verify`] would; a failed combined equation as [`SigError::Invalid`].
///
/// The 128-bit coefficients `z_i` are derived from a SHA-512 transcript of all
/// `(k_i, R_i, S_i, A_i)` (Fiat–Shamir), so the result is deterministic and no
/// RNG is needed. The check is
/// `[8]([−Σ z_i S_i]B + Σ [z_i]R_i + Σ_j [Σ_{i: A_i = A_j} z_i k_i]A_j) = 0`:
/// items sharing a key contribute one point for that key to the multiscalar
/// multiplication, and each `R_i` is decompressed exactly once.
pub fn verify_batch(items: &[SigCheck<'_>]) -> Result<(), SigError> {
    let n = items.len();
    match items {
        [] => return Ok(()),
        [one] => return verify(one.key, one.msg, one.sig),
        _ => {}
    }

    let mut transcript = Sha512::new();
    transcript.update(BATCH_TRANSCRIPT_DOMAIN);
    transcript.update((n as u64).to_le_bytes());

    // Per item: (R_i, S_i, k_i, index of its distinct key).
    let mut decoded: Vec<(EdwardsPoint, Scalar, Scalar, usize)> = Vec::with_capacity(n);
    let mut key_index: HashMap<&[u8; 32], usize> = HashMap::new();
    let mut keys: Vec<&PublicKey> = Vec::new();

    for item in items {
        let (r_bytes, s_bytes) = split_sig(&item.sig.0);
        let s = decode_s(s_bytes)?;
        let r = decode_r(&r_bytes)?;
        let a_bytes = &item.key.bytes;
        let k = challenge(&r_bytes, a_bytes, item.msg);

        transcript.update(k.as_bytes());
        transcript.update(r_bytes);
        transcript.update(s_bytes);
        transcript.update(a_bytes);

        let j = *key_index.entry(a_bytes).or_insert_with(|| {
            keys.push(item.key);
            keys.len() - 1
        });
        decoded.push((r, s, k, j));
    }

    let seed: [u8; 64] = transcript.finalize().into();
    let zs = coefficients(&seed, n);

    // (scalar, point) pairs for the multiscalar multiplication.
    let mut terms: Vec<(Scalar, EdwardsPoint)> = Vec::with_capacity(n + keys.len() + 1);
    let mut key_coeffs: Vec<Scalar> = vec![Scalar::ZERO; keys.len()];
    let mut b_coeff = Scalar::ZERO;

    for ((r, s, k, j), z) in decoded.iter().zip(zs.iter()) {
        b_coeff -= z * s;
        if let Some(c) = key_coeffs.get_mut(*j) {
            *c += z * k;
        }
        terms.push((*z, *r));
    }
    for (c, key) in key_coeffs.iter().zip(keys.iter()) {
        terms.push((*c, key.point));
    }
    terms.push((b_coeff, ED25519_BASEPOINT_POINT));

    let sum = EdwardsPoint::vartime_multiscalar_mul(
        terms.iter().map(|(c, _)| c),
        terms.iter().map(|(_, p)| p),
    );
    if sum.mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

/// Expands the transcript hash into `n` 128-bit scalars, four per SHA-512
/// output block: `SHA-512(BATCH_COEFF_DOMAIN ‖ seed ‖ block counter)`.
fn coefficients(seed: &[u8; 64], n: usize) -> Vec<Scalar> {
    let mut zs = Vec::with_capacity(n);
    let mut counter: u64 = 0;
    while zs.len() < n {
        let mut h = Sha512::new();
        h.update(BATCH_COEFF_DOMAIN);
        h.update(seed);
        h.update(counter.to_le_bytes());
        let block: [u8; 64] = h.finalize().into();
        for chunk in block.chunks_exact(16) {
            if zs.len() == n {
                break;
            }
            let mut wide = [0u8; 32];
            wide.iter_mut().zip(chunk.iter()).for_each(|(d, b)| *d = *b);
            // < 2^128 < L, so already reduced.
            zs.push(Scalar::from_bytes_mod_order(wide));
        }
        counter += 1;
    }
    zs
}
