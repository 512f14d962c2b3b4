//! Tests of `scf_ledger::sig`: RFC 8032 vectors, strict encoding and
//! small-order rules, the cofactored equation, and batch/single agreement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use proptest::prelude::*;
use scf_ledger::sig::{
    KEY_ID_DOMAIN, KeyError, KeyId, PublicKey, SecretKey, SigCheck, SigError, Signature, verify,
    verify_batch,
};
use sha2::{Digest, Sha256, Sha512};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn seed(i: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[0] = i;
    s[31] = 0x5a;
    s
}

/// The RFC 8032 secret scalar `a` of a seed.
fn secret_scalar(seed: &[u8; 32]) -> Scalar {
    let h: [u8; 64] = Sha512::digest(seed).into();
    Scalar::from_bytes_mod_order(clamp_integer(h[..32].try_into().unwrap()))
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let h: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&h)
}

fn make_sig(r: &[u8; 32], s: &[u8; 32]) -> Signature {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(r);
    out[32..].copy_from_slice(s);
    Signature(out)
}

/// A signature whose nonce point is `[r]B + T` (T a torsion point), with `S`
/// computed for that `R`: it satisfies the cofactored equation
/// (`[S]B − R − [k]A = −T`), but not the cofactorless one unless `T = 0`.
fn sign_with_torsion_r(seed: &[u8; 32], msg: &[u8], t: &EdwardsPoint) -> Signature {
    let a = secret_scalar(seed);
    let pk = SecretKey::from_seed(seed).public_key();
    let nonce: [u8; 64] = Sha512::new()
        .chain_update(b"test nonce")
        .chain_update(seed)
        .chain_update(msg)
        .finalize()
        .into();
    let r = Scalar::from_bytes_mod_order_wide(&nonce);
    let big_r = (EdwardsPoint::mul_base(&r) + t).compress().to_bytes();
    let k = challenge(&big_r, pk.as_bytes(), msg);
    let s = r + k * a;
    make_sig(&big_r, &s.to_bytes())
}

fn batch_of<'a>(items: &'a [(PublicKey, Vec<u8>, Signature)]) -> Vec<SigCheck<'a>> {
    items
        .iter()
        .map(|(key, msg, sig)| SigCheck { key, msg, sig })
        .collect()
}

fn valid_items(n: usize) -> Vec<(PublicKey, Vec<u8>, Signature)> {
    (0..n)
        .map(|i| {
            let sk = SecretKey::from_seed(&seed((i % 7) as u8));
            let msg = format!("event {i}").into_bytes();
            let sig = sk.sign(&msg);
            (sk.public_key(), msg, sig)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// RFC 8032 §7.1
// ---------------------------------------------------------------------------

const TEST_1024_MSG: &str = concat!(
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12",
    "ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe57",
    "38829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338b",
    "bd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe",
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b8",
    "32f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10",
    "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53",
    "f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2",
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6",
    "079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553",
    "878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2",
    "cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba",
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae078",
    "4504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8",
    "fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301",
    "651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8",
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd9",
    "04b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7",
    "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a",
    "3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3",
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a4",
    "3dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041",
    "e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d9",
    "0d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef",
    "68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
);

/// (secret key, public key, message, signature), RFC 8032 §7.1 TEST 1, 2, 3,
/// 1024 and SHA(abc).
fn rfc8032_vectors() -> Vec<(&'static str, &'static str, String, &'static str)> {
    vec![
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            String::new(),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72".to_owned(),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82".to_owned(),
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
             18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
        (
            "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
            "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
            TEST_1024_MSG.to_owned(),
            "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350\
             aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
        ),
        (
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
                .to_owned(),
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589\
             09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
        ),
    ]
}

#[test]
fn rfc8032_test_vectors() {
    let vectors = rfc8032_vectors();
    // TEST 1024 really is 1023 bytes; TEST SHA(abc) signs SHA-512("abc").
    assert_eq!(TEST_1024_MSG.len(), 2 * 1023);
    assert_eq!(hex::encode(Sha512::digest(b"abc")), vectors[4].2);

    let mut items = Vec::new();
    for (sk_hex, pk_hex, msg_hex, sig_hex) in &vectors {
        let sk = SecretKey::from_seed(&h32(sk_hex));
        assert_eq!(sk.seed(), h32(sk_hex));
        let pk = sk.public_key();
        assert_eq!(pk.to_hex(), *pk_hex);
        let parsed = PublicKey::from_hex(pk_hex).unwrap();
        assert_eq!(parsed, pk);
        assert_eq!(parsed.as_bytes(), pk.as_bytes());

        let msg = hex::decode(msg_hex).unwrap();
        let sig = sk.sign(&msg);
        assert_eq!(sig.to_hex(), *sig_hex);
        assert_eq!(Signature::from_hex(sig_hex), Some(sig));
        assert_eq!(verify(&parsed, &msg, &sig), Ok(()));
        assert_eq!(
            verify_batch(&[SigCheck {
                key: &parsed,
                msg: &msg,
                sig: &sig
            }]),
            Ok(())
        );
        items.push((parsed, msg, sig));
    }
    assert_eq!(verify_batch(&batch_of(&items)), Ok(()));
}

// ---------------------------------------------------------------------------
// Small-order and non-canonical encodings
// ---------------------------------------------------------------------------

/// libsodium's blocklist of small-order `y` encodings (sign bit clear):
/// canonical encodings of the order-4 (y = 0), order-1 (y = 1), two order-8
/// `y` values and order-2 (y = p − 1) points, then the non-canonical `y = p`
/// and `y = p + 1`.
const LIBSODIUM_BLOCKLIST: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

/// The eight small-order points, canonically encoded (from dalek's table).
fn canonical_small_order() -> Vec<[u8; 32]> {
    EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect()
}

/// Every encoding with `y >= p` (19 values), each with both sign bits.
fn y_at_least_p() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for low in 0xedu8..=0xff {
        for sign in [0u8, 0x80] {
            let mut b = [0xffu8; 32];
            b[0] = low;
            b[31] = 0x7f | sign;
            out.push(b);
        }
    }
    out
}

/// `x = 0` with the sign bit set: `y = 1` and `y = p − 1`.
fn negative_zero_x() -> Vec<[u8; 32]> {
    let mut one = [0u8; 32];
    one[0] = 1;
    one[31] = 0x80;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    vec![one, minus_one]
}

#[test]
fn small_order_table_matches_libsodium_blocklist() {
    let small = canonical_small_order();
    assert_eq!(small.len(), 8);
    for enc in &small {
        let mut y = *enc;
        y[31] &= 0x7f;
        assert!(
            LIBSODIUM_BLOCKLIST.contains(&hex::encode(y).as_str()),
            "{} not in blocklist",
            hex::encode(enc)
        );
        assert!(
            CompressedEdwardsY(*enc)
                .decompress()
                .unwrap()
                .is_small_order()
        );
    }
    // Identity, order-2, and both order-4 / order-8 flavours are present.
    let set: std::collections::HashSet<_> = small.iter().collect();
    assert_eq!(set.len(), 8);
}

#[test]
fn small_order_keys_are_weak() {
    for enc in canonical_small_order() {
        assert_eq!(
            PublicKey::from_bytes(&enc),
            Err(KeyError::SmallOrder),
            "{}",
            hex::encode(enc)
        );
    }
    // The two order-8 y values with either sign are canonical small-order keys.
    for hex_y in &LIBSODIUM_BLOCKLIST[2..4] {
        let mut b = h32(hex_y);
        assert_eq!(PublicKey::from_bytes(&b), Err(KeyError::SmallOrder));
        b[31] |= 0x80;
        assert_eq!(PublicKey::from_bytes(&b), Err(KeyError::SmallOrder));
    }
}

#[test]
fn non_canonical_keys_are_refused() {
    for enc in y_at_least_p().into_iter().chain(negative_zero_x()) {
        assert_eq!(
            PublicKey::from_bytes(&enc),
            Err(KeyError::NonCanonical),
            "{}",
            hex::encode(enc)
        );
    }
    for hex_y in &LIBSODIUM_BLOCKLIST[5..] {
        assert_eq!(PublicKey::from_hex(hex_y), Err(KeyError::NonCanonical));
    }
}

#[test]
fn off_curve_key_is_refused() {
    // y = 2 is not the y of any curve point.
    let mut b = [0u8; 32];
    b[0] = 2;
    assert!(CompressedEdwardsY(b).decompress().is_none());
    assert_eq!(PublicKey::from_bytes(&b), Err(KeyError::NotOnCurve));
}

#[test]
fn torsion_keys_are_refused() {
    let a = SecretKey::from_seed(&seed(1)).public_key();
    let point = CompressedEdwardsY(*a.as_bytes()).decompress().unwrap();
    for t in &EIGHT_TORSION[1..] {
        let mixed = (point + t).compress().to_bytes();
        assert_eq!(PublicKey::from_bytes(&mixed), Err(KeyError::Torsion));
    }
    assert_eq!(PublicKey::from_bytes(a.as_bytes()), Ok(a));
}

#[test]
fn key_hex_parsing() {
    let pk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    assert!(PublicKey::from_hex(pk).is_ok());
    assert_eq!(
        PublicKey::from_hex(&pk.to_uppercase()),
        Err(KeyError::BadHex)
    );
    assert_eq!(PublicKey::from_hex(&pk[2..]), Err(KeyError::BadHex));
    assert_eq!(PublicKey::from_hex(""), Err(KeyError::BadHex));
    let bytes = h32(pk);
    assert_eq!(PublicKey::try_from(&bytes[..31]), Err(KeyError::BadLength));
    assert!(PublicKey::try_from(&bytes[..]).is_ok());
    assert_eq!(Signature::from_hex("00"), None);
    assert_eq!(Signature::from_hex(&"AB".repeat(64)), None);
}

/// Replaces `R` of a valid signature and checks both verifiers refuse it with
/// the given error (a single-item batch delegates to `verify`; the batch of
/// two goes through the multiscalar path).
fn assert_r_refused(r: &[u8; 32], want: &SigError) {
    let sk = SecretKey::from_seed(&seed(3));
    let pk = sk.public_key();
    let msg = b"small order R";
    let good = sk.sign(msg);
    let bad = make_sig(r, &good.0[32..].try_into().unwrap());
    assert_eq!(
        verify(&pk, msg, &bad).as_ref(),
        Err(want),
        "{}",
        hex::encode(r)
    );
    let items = [
        SigCheck {
            key: &pk,
            msg,
            sig: &good,
        },
        SigCheck {
            key: &pk,
            msg,
            sig: &bad,
        },
    ];
    assert!(verify_batch(&items).is_err());
}

#[test]
fn small_order_and_non_canonical_r_are_refused() {
    for enc in canonical_small_order() {
        assert_r_refused(&enc, &SigError::SmallOrderR);
    }
    for enc in y_at_least_p().into_iter().chain(negative_zero_x()) {
        assert_r_refused(&enc, &SigError::NonCanonicalR);
    }
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    assert_r_refused(&off_curve, &SigError::NotOnCurveR);
}

#[test]
fn small_order_r_refused_even_when_the_equation_holds() {
    // With R = T (small order) and S = k·a the cofactored equation holds:
    // [8]([ka]B − T − [k]A) = 0. Only rule 2 refuses it.
    let sd = seed(4);
    let pk = SecretKey::from_seed(&sd).public_key();
    let msg = b"R of small order";
    for t in &EIGHT_TORSION {
        let r = t.compress().to_bytes();
        let k = challenge(&r, pk.as_bytes(), msg);
        let sig = make_sig(&r, &(k * secret_scalar(&sd)).to_bytes());
        assert_eq!(verify(&pk, msg, &sig), Err(SigError::SmallOrderR));
        let other = SecretKey::from_seed(&sd).sign(b"x");
        let items = [
            SigCheck {
                key: &pk,
                msg: b"x",
                sig: &other,
            },
            SigCheck {
                key: &pk,
                msg,
                sig: &sig,
            },
        ];
        assert_eq!(verify_batch(&items), Err(SigError::SmallOrderR));
    }
}

/// `L` little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

#[test]
fn non_canonical_s_is_refused() {
    let sk = SecretKey::from_seed(&seed(5));
    let pk = sk.public_key();
    let msg = b"malleable?";
    let good = sk.sign(msg);
    let r: [u8; 32] = good.0[..32].try_into().unwrap();
    let s: [u8; 32] = good.0[32..].try_into().unwrap();
    // S + L is the classic malleation: same point equation, S >= L.
    let s_plus_l = add_le(&s, &L);
    let mut l_minus_one = L;
    l_minus_one[0] -= 1;
    let mut l_plus_one = L;
    l_plus_one[0] += 1;
    for bad_s in [s_plus_l, L, l_plus_one, [0xff; 32]] {
        let bad = make_sig(&r, &bad_s);
        assert_eq!(verify(&pk, msg, &bad), Err(SigError::NonCanonicalS));
        let items = [
            SigCheck {
                key: &pk,
                msg,
                sig: &good,
            },
            SigCheck {
                key: &pk,
                msg,
                sig: &bad,
            },
        ];
        assert_eq!(verify_batch(&items), Err(SigError::NonCanonicalS));
    }
    // L − 1 is canonical: it parses, and is then just a wrong signature.
    let bad = make_sig(&r, &l_minus_one);
    assert_eq!(verify(&pk, msg, &bad), Err(SigError::Invalid));
}

/// The ed25519-speccheck vectors (novifinancial, "Taming the many EdDSAs"):
/// (message, key, signature). Every one is refused by the
/// strict rule: 0–1 by their small-order key, 2–5 and 8–9 by their
/// mixed-order (torsion) key, 6–7 by S >= L (their key is acceptable).
#[test]
fn speccheck_vectors_are_refused() {
    let cases: [(&str, &str, &str); 10] = [
        (
            "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a\
             0000000000000000000000000000000000000000000000000000000000000000",
        ),
        (
            "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
            "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43\
             a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
        ),
        (
            "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
            "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa\
             8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
        ),
        (
            "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
            "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
            "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f\
             87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
        ),
        (
            "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
            "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
            "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512\
             5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
        ),
        (
            "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
            "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
            "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7\
             e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
        ),
        (
            "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
            "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
            "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e\
             547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
        ),
        (
            "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
            "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
            "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942\
             7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
        ),
        (
            "fdaebc429f4a735932a160da1301080c13280eea8bc280d1b392c6b9e6ba3a5a",
            "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f\
             454d370c8d9fc323a41450f8d513eafeb5b0697390c1e505a0d4ddc71f566607",
        ),
        (
            "84b698d39be126ff55fe45079e6c8bf64a0d7db6994560b4e96b7021eb39c1a1",
            "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f\
             084d5b99c2a9463d9c8bd5026916996984eeec87ddf1d3be329006ace1b37b09",
        ),
    ];
    let outcomes: Vec<String> = cases
        .iter()
        .map(|(msg, key, sig)| {
            let msg = hex::decode(msg).unwrap();
            let sig = Signature::from_hex(sig).unwrap();
            match PublicKey::from_hex(key) {
                Err(e) => format!("key:{e:?}"),
                Ok(pk) => {
                    let single = verify(&pk, &msg, &sig);
                    let batch = verify_batch(&[
                        SigCheck {
                            key: &pk,
                            msg: &msg,
                            sig: &sig,
                        },
                        SigCheck {
                            key: &pk,
                            msg: &msg,
                            sig: &sig,
                        },
                    ]);
                    assert_eq!(single.is_ok(), batch.is_ok());
                    format!("sig:{single:?}")
                }
            }
        })
        .collect();
    assert_eq!(outcomes, SPECCHECK_EXPECTED);
}

const SPECCHECK_EXPECTED: [&str; 10] = [
    "key:SmallOrder",
    "key:SmallOrder",
    "key:Torsion",
    "key:Torsion",
    "key:Torsion",
    "key:Torsion",
    "sig:Err(NonCanonicalS)",
    "sig:Err(NonCanonicalS)",
    "key:Torsion",
    "key:Torsion",
];

// ---------------------------------------------------------------------------
// Cofactored equation
// ---------------------------------------------------------------------------

#[test]
fn mixed_order_r_is_accepted_by_both() {
    let sd = seed(6);
    let sk = SecretKey::from_seed(&sd);
    let pk = sk.public_key();
    let dalek_pk = ed25519_dalek::VerifyingKey::from_bytes(pk.as_bytes()).unwrap();
    let msg = b"R with a torsion component";
    for t in &EIGHT_TORSION[1..] {
        let sig = sign_with_torsion_r(&sd, msg, t);
        // R itself is of mixed order: not small, not torsion-free.
        let r = CompressedEdwardsY(sig.0[..32].try_into().unwrap())
            .decompress()
            .unwrap();
        assert!(!r.is_small_order() && !r.is_torsion_free());
        assert_eq!(verify(&pk, msg, &sig), Ok(()));
        let other = sk.sign(b"plain");
        let items = [
            SigCheck {
                key: &pk,
                msg,
                sig: &sig,
            },
            SigCheck {
                key: &pk,
                msg: b"plain",
                sig: &other,
            },
        ];
        assert_eq!(verify_batch(&items), Ok(()));
        // The cofactorless rule (dalek's verify_strict) refuses it: this is
        // exactly where single and batch verification would diverge.
        let dsig = ed25519_dalek::Signature::from_bytes(&sig.0);
        assert!(dalek_pk.verify_strict(msg, &dsig).is_err());
    }
    // With T = identity it is an ordinary signature, accepted by both rules.
    let sig = sign_with_torsion_r(&sd, msg, &EIGHT_TORSION[0]);
    assert_eq!(verify(&pk, msg, &sig), Ok(()));
    let dsig = ed25519_dalek::Signature::from_bytes(&sig.0);
    assert!(dalek_pk.verify_strict(msg, &dsig).is_ok());
}

#[test]
fn wrong_signatures_are_rejected_by_both() {
    let sk = SecretKey::from_seed(&seed(7));
    let pk = sk.public_key();
    let other_pk = SecretKey::from_seed(&seed(8)).public_key();
    let sig = sk.sign(b"right");
    let good = sk.sign(b"good");
    assert_eq!(verify(&pk, b"wrong", &sig), Err(SigError::Invalid));
    assert_eq!(verify(&other_pk, b"right", &sig), Err(SigError::Invalid));
    for (key, msg) in [(&pk, &b"wrong"[..]), (&other_pk, &b"right"[..])] {
        let items = [
            SigCheck {
                key: &pk,
                msg: b"good",
                sig: &good,
            },
            SigCheck {
                key,
                msg,
                sig: &sig,
            },
        ];
        assert_eq!(verify_batch(&items), Err(SigError::Invalid));
    }
}

#[test]
fn empty_batch_is_ok() {
    assert_eq!(verify_batch(&[]), Ok(()));
}

#[test]
fn large_batches_use_the_pippenger_path() {
    // 300 items from 7 keys plus one platform key: > 190 points.
    let platform = SecretKey::from_seed(&seed(99));
    let mut items = valid_items(150);
    for i in 0..150 {
        let msg = format!("platform {i}").into_bytes();
        let sig = platform.sign(&msg);
        items.push((platform.public_key(), msg, sig));
    }
    assert_eq!(verify_batch(&batch_of(&items)), Ok(()));
    for bad in [0, 149, 150, 299] {
        let mut broken = items.clone();
        broken[bad].1.push(0);
        assert_eq!(verify_batch(&batch_of(&broken)), Err(SigError::Invalid));
        assert_eq!(
            verify(&broken[bad].0, &broken[bad].1, &broken[bad].2),
            Err(SigError::Invalid)
        );
    }
    // A swapped pair of signatures under the same key must not cancel out.
    let mut swapped = items.clone();
    let (a, b) = (swapped[150].2, swapped[151].2);
    swapped[150].2 = b;
    swapped[151].2 = a;
    assert_eq!(verify_batch(&batch_of(&swapped)), Err(SigError::Invalid));
}

/// Two invalid signatures whose errors cancel in an unweighted sum
/// (`S_a + δ`, `S_b − δ`) must still fail: the coefficients are random.
#[test]
fn cancelling_errors_are_caught() {
    for n in [2usize, 3, 64, 256] {
        let mut items = valid_items(n);
        let delta = Scalar::from(12345u64);
        let bump = |sig: &mut Signature, up: bool| {
            let s = Scalar::from_canonical_bytes(sig.0[32..].try_into().unwrap()).unwrap();
            let s = if up { s + delta } else { s - delta };
            sig.0[32..].copy_from_slice(&s.to_bytes());
        };
        bump(&mut items[0].2, true);
        bump(&mut items[n - 1].2, false);
        assert_eq!(verify_batch(&batch_of(&items)), Err(SigError::Invalid));
        // The same with R: R_a + P, R_b − P.
        let mut items = valid_items(n);
        let p = ED25519_BASEPOINT_POINT * Scalar::from(777u64);
        let shift = |sig: &mut Signature, up: bool| {
            let r = CompressedEdwardsY(sig.0[..32].try_into().unwrap())
                .decompress()
                .unwrap();
            let r = if up { r + p } else { r - p };
            sig.0[..32].copy_from_slice(r.compress().as_bytes());
        };
        shift(&mut items[0].2, true);
        shift(&mut items[n - 1].2, false);
        assert!(verify_batch(&batch_of(&items)).is_err());
    }
}

#[test]
fn batch_is_deterministic() {
    let items = valid_items(20);
    for _ in 0..3 {
        assert_eq!(verify_batch(&batch_of(&items)), Ok(()));
    }
}

// ---------------------------------------------------------------------------
// Key ids and formatting
// ---------------------------------------------------------------------------

#[test]
fn key_id_known_answer() {
    let pk =
        PublicKey::from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            .unwrap();
    let id = pk.key_id();
    assert_eq!(id.to_hex(), "1f7023be3317312491e7a3e689cf0b74");
    // Independent recomputation from the definition.
    let digest = Sha256::new()
        .chain_update(KEY_ID_DOMAIN)
        .chain_update(pk.as_bytes())
        .finalize();
    assert_eq!(id.0[..], digest[..16]);
    assert_eq!(KEY_ID_DOMAIN, b"scf-ledger/v1/key\n");
}

#[test]
fn key_id_format() {
    for i in 0..20 {
        let id = SecretKey::from_seed(&seed(i)).public_key().key_id();
        let s = id.to_hex();
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(format!("{id}"), s);
        assert_eq!(format!("{id:?}"), format!("KeyId({s})"));
        assert_eq!(KeyId::from_hex(&s), Some(id));
        if s.bytes().any(|b| b.is_ascii_alphabetic()) {
            assert_eq!(KeyId::from_hex(&s.to_uppercase()), None);
        }
    }
    assert_eq!(KeyId::from_hex("00"), None);
}

#[test]
fn debug_formats() {
    let sk = SecretKey::from_seed(&h32(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    ));
    let dbg = format!("{sk:?}");
    assert!(!dbg.contains("9d61b19d"), "{dbg}");
    assert!(!dbg.to_lowercase().contains("9d61b19d"));
    assert!(dbg.contains("d75a980182b10ab7"), "{dbg}");
    let pk = sk.public_key();
    assert_eq!(
        format!("{pk:?}"),
        "PublicKey(d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a)"
    );
    let sig = sk.sign(b"");
    assert_eq!(format!("{sig:?}"), format!("Signature({})", sig.to_hex()));
}

// ---------------------------------------------------------------------------
// Batch / single agreement
// ---------------------------------------------------------------------------

const KEYS: u8 = 4;

#[derive(Debug, Clone)]
enum Tamper {
    FlipMsg(usize),
    FlipR(usize),
    FlipS(usize),
    WrongKey,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (0usize..512).prop_map(Tamper::FlipMsg),
        (0usize..256).prop_map(Tamper::FlipR),
        (0usize..256).prop_map(Tamper::FlipS),
        Just(Tamper::WrongKey),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Random batches of valid signatures (some with a mixed-order R), with
    /// zero to three corrupted items: the batch passes iff every item does.
    #[test]
    fn batch_agrees_with_single(
        specs in prop::collection::vec(
            (0..KEYS, prop::collection::vec(any::<u8>(), 0..48), prop::option::weighted(0.15, 1usize..8)),
            0..64,
        ),
        tampers in prop::collection::vec((any::<prop::sample::Index>(), tamper()), 0..4),
    ) {
        let keys: Vec<PublicKey> =
            (0..KEYS).map(|i| SecretKey::from_seed(&seed(i)).public_key()).collect();
        let mut items: Vec<(PublicKey, Vec<u8>, Signature)> = specs
            .iter()
            .map(|(k, msg, torsion)| {
                let sd = seed(*k);
                let sig = match torsion {
                    Some(t) => sign_with_torsion_r(&sd, msg, &EIGHT_TORSION[*t]),
                    None => SecretKey::from_seed(&sd).sign(msg),
                };
                (keys[usize::from(*k)], msg.clone(), sig)
            })
            .collect();
        // Before tampering, everything is valid.
        for (key, msg, sig) in &items {
            prop_assert_eq!(verify(key, msg, sig), Ok(()));
        }
        prop_assert_eq!(verify_batch(&batch_of(&items)), Ok(()));

        if !items.is_empty() {
            for (at, how) in &tampers {
                let item = &mut items[at.index(specs.len())];
                match how {
                    Tamper::FlipMsg(bit) => {
                        if item.1.is_empty() {
                            item.1.push(0);
                        } else {
                            let len = item.1.len();
                            item.1[(bit / 8) % len] ^= 1 << (bit % 8);
                        }
                    }
                    Tamper::FlipR(bit) => item.2 .0[bit / 8] ^= 1 << (bit % 8),
                    Tamper::FlipS(bit) => item.2 .0[32 + bit / 8] ^= 1 << (bit % 8),
                    Tamper::WrongKey => {
                        let j = keys.iter().position(|k| *k == item.0).unwrap();
                        item.0 = keys[(j + 1) % keys.len()];
                    }
                }
            }
        }
        let all_ok = items.iter().all(|(k, m, s)| verify(k, m, s).is_ok());
        let batch = verify_batch(&batch_of(&items));
        prop_assert_eq!(batch.is_ok(), all_ok, "batch {:?}", batch);
    }
}
