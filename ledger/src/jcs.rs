//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The ledger signs the canonical bytes of each entry, so the bytes on the
//! wire must *be* canonical: [`parse_canonical`] accepts input only if it is
//! byte-for-byte equal to the canonical form of the value it parses to.
//!
//! The canonical form, per RFC 8785:
//! - no insignificant whitespace;
//! - object members sorted by name, names compared as arrays of UTF-16 code
//!   units (not UTF-8 bytes: U+E000..U+FFFF sort *after* supplementary
//!   characters, whose surrogates are D800..DFFF);
//! - strings: only `"` and `\` are escaped as `\"` and `\\`, and U+0000..U+001F
//!   as `\b \t \n \f \r` where those exist, else `\u00xx` (lowercase hex);
//!   everything else, U+007F, U+2028 and non-ASCII included, is raw UTF-8;
//! - numbers: the ECMAScript `Number.prototype.toString` of the IEEE-754
//!   double (via `ryu-js`); integers outside ±2^53 are first rounded to a
//!   double as JavaScript would, and `-0` is written `0`;
//! - `true`, `false`, `null`.
//!
//! [`parse_canonical`] parses with `serde_json` (which rejects invalid UTF-8,
//! lone surrogate escapes, raw control characters, trailing data and nesting
//! deeper than 128), then re-serialises the value against the input without
//! allocating, stopping at the first differing byte. Anything `serde_json`
//! normalises away (whitespace, escapes, number spelling, duplicate keys, of
//! which it keeps the last) therefore shows up as a difference.
//!
//! Writing recurses once per nesting level. Values from [`parse_canonical`]
//! are at most 128 deep; a `Value` built by hand is as deep as its builder
//! made it (serde_json's own `Drop` and `to_value` recurse the same way).

use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;

use serde::ser::{self, Serialize};
use serde_json::{Map, Number, Value};

/// Why canonicalisation or a canonical parse failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// The input is not JSON `serde_json` accepts (syntax, invalid UTF-8,
    /// lone surrogate escape, trailing data, nesting deeper than 128, ...).
    #[error("not valid JSON: {0}")]
    Json(String),
    /// The input is JSON but not its own canonical form; `offset` is the
    /// first input byte that differs from the canonical form.
    #[error("JSON is not in canonical (RFC 8785) form at byte {offset}")]
    NotCanonical {
        /// Index of the first byte of the input that differs.
        offset: usize,
    },
    /// [`to_canonical`] met a NaN or infinite float, which JSON cannot
    /// represent (`serde_json` would silently write `null`).
    #[error("cannot canonicalise a non-finite number (NaN or infinity)")]
    NonFiniteNumber,
    /// [`to_canonical`]: the value could not be turned into JSON (its
    /// `Serialize` impl failed, or a map key is not a string).
    #[error("cannot serialise to JSON: {0}")]
    Serialize(String),
}

/// Appends the RFC 8785 canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    let Ok(()) = write_value(value, out);
}

/// Deserialising into this checks what the canonical check would, short of
/// canonical form: serde_json already refuses invalid UTF-8, lone
/// surrogates and deep nesting; this also refuses a member name repeated in
/// any object, which `serde_json::Value` would silently collapse.
#[derive(Debug, Clone, Copy, Default)]
pub struct StrictJson;

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = StrictJson;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<StrictJson, E> {
        Ok(StrictJson)
    }
    fn visit_i64<E>(self, _: i64) -> Result<StrictJson, E> {
        Ok(StrictJson)
    }
    fn visit_u64<E>(self, _: u64) -> Result<StrictJson, E> {
        Ok(StrictJson)
    }
    fn visit_f64<E>(self, _: f64) -> Result<StrictJson, E> {
        Ok(StrictJson)
    }
    fn visit_str<E>(self, _: &str) -> Result<StrictJson, E> {
        Ok(StrictJson)
    }
    fn visit_unit<E>(self) -> Result<StrictJson, E> {
        Ok(StrictJson)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictJson, A::Error> {
        while seq.next_element::<StrictJson>()?.is_some() {}
        Ok(StrictJson)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictJson, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "member {key:?} is repeated"
                )));
            }
            map.next_value::<StrictJson>()?;
        }
        Ok(StrictJson)
    }
}

/// Appends `s` as an RFC 8785 JSON string (quotes included).
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    let Ok(()) = write_string(s, out);
}

/// The RFC 8785 canonical bytes of `value`.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_canonical(value, &mut out);
    out
}

/// Serialises any Serialize type (via serde_json::to_value) and canonicalises it.
///
/// Unlike `serde_json`, which writes NaN and infinities as `null`, this fails
/// with [`JcsError::NonFiniteNumber`] (RFC 8785 §3.2.2.3).
pub fn to_canonical<T: Serialize + ?Sized>(t: &T) -> Result<Vec<u8>, JcsError> {
    t.serialize(FiniteCheck).map_err(|e| match e {
        CheckError::NonFinite => JcsError::NonFiniteNumber,
        CheckError::Custom(msg) => JcsError::Serialize(msg),
    })?;
    let value = serde_json::to_value(t).map_err(|e| JcsError::Serialize(e.to_string()))?;
    Ok(to_vec(&value))
}

/// Parses `bytes` as JSON and returns the value only if `bytes` is exactly
/// its canonical form (no whitespace, sorted keys, no duplicate keys,
/// canonical numbers and string escapes, valid UTF-8, no lone surrogates).
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, JcsError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| JcsError::Json(e.to_string()))?;
    let mut matcher = Matcher {
        input: bytes,
        pos: 0,
    };
    match write_value(&value, &mut matcher) {
        Err(Mismatch(offset)) => Err(JcsError::NotCanonical { offset }),
        // The canonical form is a proper prefix of the input (which then
        // ends in whitespace, the only trailing data serde_json allows).
        Ok(()) if matcher.pos != bytes.len() => Err(JcsError::NotCanonical {
            offset: matcher.pos,
        }),
        Ok(()) => Ok(value),
    }
}

/// Same check without keeping the value.
pub fn is_canonical(bytes: &[u8]) -> bool {
    parse_canonical(bytes).is_ok()
}

// ---------------------------------------------------------------------------
// Output sinks: a Vec, or a comparison against the input being verified.

trait Sink {
    type Error;
    fn put(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
    fn put_byte(&mut self, byte: u8) -> Result<(), Self::Error>;
}

impl Sink for Vec<u8> {
    type Error = Infallible;

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn put_byte(&mut self, byte: u8) -> Result<(), Infallible> {
        self.push(byte);
        Ok(())
    }
}

/// Compares the canonical output with `input` as it is produced.
#[derive(Debug)]
struct Matcher<'a> {
    input: &'a [u8],
    /// Bytes of `input` matched so far.
    pos: usize,
}

/// Offset of the first byte of the input that differs from the output.
#[derive(Debug)]
struct Mismatch(usize);

impl Sink for Matcher<'_> {
    type Error = Mismatch;

    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Mismatch> {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        if rest.starts_with(bytes) {
            self.pos += bytes.len();
            Ok(())
        } else {
            let same = rest.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            Err(Mismatch(self.pos + same))
        }
    }

    #[inline]
    fn put_byte(&mut self, byte: u8) -> Result<(), Mismatch> {
        if self.input.get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Mismatch(self.pos))
        }
    }
}

// ---------------------------------------------------------------------------
// The canonical writer.

fn write_value<S: Sink>(value: &Value, out: &mut S) -> Result<(), S::Error> {
    match value {
        Value::Null => out.put(b"null"),
        Value::Bool(true) => out.put(b"true"),
        Value::Bool(false) => out.put(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.put_byte(b'[')?;
            let mut items = items.iter();
            if let Some(first) = items.next() {
                write_value(first, out)?;
                for item in items {
                    out.put_byte(b',')?;
                    write_value(item, out)?;
                }
            }
            out.put_byte(b']')
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object<S: Sink>(map: &Map<String, Value>, out: &mut S) -> Result<(), S::Error> {
    // serde_json's map iterates in UTF-8 (= code point) order, which matches
    // UTF-16 order unless names mix U+E000..U+FFFF with supplementary
    // characters; with `preserve_order` it is insertion order. Check, and
    // sort only when needed (rare, so the allocation does not matter).
    if map
        .keys()
        .is_sorted_by(|a, b| cmp_utf16(a, b) != Ordering::Greater)
    {
        write_members(map.iter(), out)
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_unstable_by(|a, b| cmp_utf16(a.0, b.0));
        write_members(members.into_iter(), out)
    }
}

fn write_members<'a, S: Sink>(
    mut members: impl Iterator<Item = (&'a String, &'a Value)>,
    out: &mut S,
) -> Result<(), S::Error> {
    out.put_byte(b'{')?;
    if let Some((key, value)) = members.next() {
        write_member(key, value, out)?;
        for (key, value) in members {
            out.put_byte(b',')?;
            write_member(key, value, out)?;
        }
    }
    out.put_byte(b'}')
}

#[inline]
fn write_member<S: Sink>(key: &str, value: &Value, out: &mut S) -> Result<(), S::Error> {
    write_string(key, out)?;
    out.put_byte(b':')?;
    write_value(value, out)
}

/// Orders two strings as sequences of UTF-16 code units, as RFC 8785 §3.2.3
/// sorts member names, without transcoding.
///
/// UTF-8 byte order is code point order. The two orders differ only where
/// the first differing character is in U+E000..U+FFFF (UTF-8 lead byte 0xEE
/// or 0xEF) on one side and supplementary (lead 0xF0..0xF4, UTF-16 high
/// surrogate 0xD800..0xDBFF) on the other. Both strings share the bytes
/// before the first differing byte, so that byte is either a lead byte in
/// both or a continuation byte of same-length characters in both.
fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).find(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some((&x, &y)) => utf16_weight(x).cmp(&utf16_weight(y)),
    }
}

#[inline]
fn utf16_weight(byte: u8) -> u16 {
    match byte {
        // Lead bytes of U+E000..U+FFFF: above every supplementary lead byte.
        0xEE | 0xEF => u16::from(byte) + 0x100,
        _ => u16::from(byte),
    }
}

fn write_string<S: Sink>(s: &str, out: &mut S) -> Result<(), S::Error> {
    out.put_byte(b'"')?;
    let mut rest = s.as_bytes();
    loop {
        let (plain, tail) = rest.split_at(plain_prefix_len(rest));
        out.put(plain)?;
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        write_escape(byte, out)?;
        rest = tail;
    }
    out.put_byte(b'"')
}

#[inline]
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Length of the longest prefix of `bytes` with nothing to escape, eight
/// bytes at a time.
#[inline]
fn plain_prefix_len(bytes: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut len = 0;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let quote = w ^ (LO * u64::from(b'"'));
        let backslash = w ^ (LO * u64::from(b'\\'));
        // The classic "has byte less than n" / "has zero byte" tricks: the
        // lowest flagged byte is exactly the first match (borrows only
        // propagate upwards from a real match).
        let hits = ((w.wrapping_sub(LO * 0x20) & !w)
            | (quote.wrapping_sub(LO) & !quote)
            | (backslash.wrapping_sub(LO) & !backslash))
            & HI;
        if hits != 0 {
            return len + (hits.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    let tail = chunks.remainder();
    len + tail
        .iter()
        .position(|&b| needs_escape(b))
        .unwrap_or(tail.len())
}

fn write_escape<S: Sink>(byte: u8, out: &mut S) -> Result<(), S::Error> {
    match byte {
        b'"' => out.put(b"\\\""),
        b'\\' => out.put(b"\\\\"),
        0x08 => out.put(b"\\b"),
        0x09 => out.put(b"\\t"),
        0x0A => out.put(b"\\n"),
        0x0C => out.put(b"\\f"),
        0x0D => out.put(b"\\r"),
        _ => out.put(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            hex_digit(byte >> 4),
            hex_digit(byte & 0xF),
        ]),
    }
}

#[inline]
fn hex_digit(nibble: u8) -> u8 {
    if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + (nibble - 10)
    }
}

/// 2^53: every integer of at most this magnitude is an exact double, and
/// ECMAScript prints it as its plain decimal digits.
const MAX_EXACT_INT: u64 = 1 << 53;

fn write_number<S: Sink>(n: &Number, out: &mut S) -> Result<(), S::Error> {
    if let Some(u) = n.as_u64().filter(|&u| u <= MAX_EXACT_INT) {
        return write_decimal(u, out);
    }
    if let Some(i) = n
        .as_i64()
        .filter(|&i| i < 0 && i.unsigned_abs() <= MAX_EXACT_INT)
    {
        out.put_byte(b'-')?;
        return write_decimal(i.unsigned_abs(), out);
    }
    // Larger integers: `as f64` rounds to nearest, ties to even, exactly as
    // JavaScript reads a decimal integer literal.
    match n.as_f64() {
        Some(f) if f.is_finite() => out.put(ryu_js::Buffer::new().format_finite(f).as_bytes()),
        // A serde_json Number is always finite (unless `arbitrary_precision`
        // is enabled by some other crate and the text overflows a double).
        _ => out.put(b"null"),
    }
}

fn write_decimal<S: Sink>(mut n: u64, out: &mut S) -> Result<(), S::Error> {
    let mut buf = [0u8; 20];
    let mut len = 0;
    for slot in buf.iter_mut().rev() {
        // `n % 10` < 10, so the cast is lossless.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    let start = buf.len() - len;
    out.put(buf.get(start..).unwrap_or_default())
}

// ---------------------------------------------------------------------------
// A serializer that only walks a value looking for non-finite floats, since
// `serde_json::to_value` turns them into `null` silently.

#[derive(Debug, Clone, Copy)]
struct FiniteCheck;

#[derive(Debug)]
enum CheckError {
    NonFinite,
    Custom(String),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::NonFinite => f.write_str("non-finite number"),
            CheckError::Custom(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for CheckError {}

impl ser::Error for CheckError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CheckError::Custom(msg.to_string())
    }
}

type CheckResult = Result<(), CheckError>;

impl ser::Serializer for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> CheckResult {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> CheckResult {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> CheckResult {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> CheckResult {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> CheckResult {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> CheckResult {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> CheckResult {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> CheckResult {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> CheckResult {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> CheckResult {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> CheckResult {
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> CheckResult {
        if v.is_finite() {
            Ok(())
        } else {
            Err(CheckError::NonFinite)
        }
    }
    fn serialize_f64(self, v: f64) -> CheckResult {
        if v.is_finite() {
            Ok(())
        } else {
            Err(CheckError::NonFinite)
        }
    }
    fn serialize_char(self, _: char) -> CheckResult {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> CheckResult {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> CheckResult {
        Ok(())
    }
    fn serialize_none(self) -> CheckResult {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> CheckResult {
        value.serialize(self)
    }
    fn serialize_unit(self) -> CheckResult {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> CheckResult {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> CheckResult {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> CheckResult {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> CheckResult {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, CheckError> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, CheckError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, CheckError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, CheckError> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, CheckError> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, CheckError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, CheckError> {
        Ok(self)
    }
}

impl ser::SerializeSeq for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

impl ser::SerializeTuple for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

impl ser::SerializeMap for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> CheckResult {
        key.serialize(*self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

impl ser::SerializeStruct for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

impl ser::SerializeStructVariant for FiniteCheck {
    type Ok = ();
    type Error = CheckError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> CheckResult {
        value.serialize(*self)
    }
    fn end(self) -> CheckResult {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn any_char_string() -> impl Strategy<Value = String> {
        // Bias towards the characters where UTF-8 and UTF-16 orders differ.
        fn to_char(c: u32) -> char {
            char::from_u32(c).unwrap_or('a')
        }
        let ch = prop_oneof![
            any::<char>(),
            (0xD7F0u32..0xD800).prop_map(to_char),
            (0xE000u32..0x10000).prop_map(to_char),
            (0x10000u32..0x10100).prop_map(to_char),
            (0x10FF00u32..0x110000).prop_map(to_char),
        ];
        proptest::collection::vec(ch, 0..6).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn cmp_utf16_matches_encode_utf16(a in any_char_string(), b in any_char_string()) {
            prop_assert_eq!(cmp_utf16(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
            prop_assert_eq!(cmp_utf16(&a, &a), Ordering::Equal);
        }
    }

    #[test]
    fn cmp_utf16_examples() {
        assert_eq!(cmp_utf16("\u{10000}", "\u{e000}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{ffff}", "\u{10ffff}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{d7ff}", "\u{10000}"), Ordering::Less);
        assert_eq!(cmp_utf16("a", "ab"), Ordering::Less);
        assert_eq!(cmp_utf16("", ""), Ordering::Equal);
    }

    proptest! {
        #[test]
        fn plain_prefix_len_matches_bytewise(bytes in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), 0u8..0x20, 0x1Fu8..0x23],
            0..40,
        )) {
            let expected = bytes.iter().position(|&b| needs_escape(b)).unwrap_or(bytes.len());
            prop_assert_eq!(plain_prefix_len(&bytes), expected);
        }
    }

    #[test]
    fn decimal_writer() {
        for n in [0, 1, 9, 10, 99, 100, 12345, MAX_EXACT_INT, u64::MAX] {
            let mut out = Vec::new();
            let Ok(()) = write_decimal(n, &mut out);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
