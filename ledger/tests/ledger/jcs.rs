//! RFC 8785 (JCS) conformance and strictness tests for `scf_ledger::jcs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use scf_ledger::jcs::{self, JcsError};
use serde_json::{Value, json};

/// Parses with plain serde_json (no canonical check).
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn canon(v: &Value) -> String {
    String::from_utf8(jcs::to_vec(v)).unwrap()
}

/// Equality of JSON values as I-JSON sees them: numbers are IEEE-754 doubles,
/// so `1`, `1.0` and `9007199254740993` (as a u64) vs `9007199254740992`
/// compare by their double value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && json_eq(vx, vy))
        }
        _ => a == b,
    }
}

fn not_canonical(offset: usize) -> Result<Value, JcsError> {
    Err(JcsError::NotCanonical { offset })
}

// ---------------------------------------------------------------------------
// Reference test data.

/// The published reference vectors of cyberphone/json-canonicalization,
/// `testdata/input/*.json` -> `testdata/output/*.json` (current versions, as
/// reproduced verbatim in e.g. EOSIO fc `test/io/test_json.cpp`; the
/// `arrays` output is `testdata/output/arrays.json`).
const REFERENCE: &[(&str, &str, &str)] = &[
    (
        "arrays",
        r#"[
  56,
  {
    "d": true,
    "10": null,
    "1": [ ]
  }
]"#,
        r#"[56,{"1":[],"10":null,"d":true}]"#,
    ),
    (
        "french",
        "{\n  \"peach\": \"This sorting order\",\n  \"p\u{e9}ch\u{e9}\": \"is wrong according to French\",\n  \"p\u{ea}che\": \"but canonicalization MUST\",\n  \"sin\":   \"ignore locale\"\n}",
        "{\"peach\":\"This sorting order\",\"p\u{e9}ch\u{e9}\":\"is wrong according to French\",\"p\u{ea}che\":\"but canonicalization MUST\",\"sin\":\"ignore locale\"}",
    ),
    (
        "structures",
        r#"{
  "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
  "10": { },
  "": "empty",
  "a": { },
  "111": [ {"e": "yes","E": "no" } ],
  "A": { }
}"#,
        r#"{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{},"a":{}}"#,
    ),
    (
        "unicode",
        r#"{
  "Unnormalized Unicode":"A\u030a"
}"#,
        "{\"Unnormalized Unicode\":\"A\u{30a}\"}",
    ),
    (
        "values",
        r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#,
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}",
    ),
    (
        "weird",
        r#"{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\u000a": "Newline",
  "1": "One",
  "\u0080": "Control\u007f",
  "\ud83d\ude02": "Smiley",
  "\u00f6": "Latin Small Letter O With Diaeresis",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "</script>": "Browser Challenge"
}"#,
        "{\"\\n\":\"Newline\",\"\\r\":\"Carriage Return\",\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u{80}\":\"Control\u{7f}\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f602}\":\"Smiley\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
    ),
];

/// Earlier revisions of the same files, as stored at the cited commits of
/// cyberphone/json-canonicalization (`testdata/{input,output}/<name>.json`).
const REFERENCE_EARLIER: &[(&str, &str, &str)] = &[
    // french.json @ b01b0235cf94374efe5d11d00a86a11054756374
    (
        "french@b01b023",
        "{\n  \"peach\": \"This sorting order\",\n  \"p\u{e9}ch\u{e9}\": \"is wrong according to French\",\n  \"p\u{ea}che\": \"but canonicalization MUST\",\n  \"sin\":   \"ingnore locale\"\n}\n",
        "{\"peach\":\"This sorting order\",\"p\u{e9}ch\u{e9}\":\"is wrong according to French\",\"p\u{ea}che\":\"but canonicalization MUST\",\"sin\":\"ingnore locale\"}",
    ),
    // structures.json @ 72a2163bae9803964410d89cea8874787a95718b
    (
        "structures@72a2163",
        "{\n  \"1\": {\"f\": {\"f\": \"hi\",\"F\": 5} ,\"\\n\": 56.0},\n  \"10\": { },\n  \"\": \"empty\",\n  \"a\": { },\n  \"111\": [ { } ],\n  \"A\": { }\n}",
        r#"{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}"#,
    ),
    // unicode.json @ ff225671c5de178c946aad33ac5ef454d236505e
    (
        "unicode@ff22567",
        "{\n  \"Unnormalized Unicode\":\"\\u1e0d\\u0307\"\n}\n",
        "{\"Unnormalized Unicode\":\"\u{1e0d}\u{307}\"}",
    ),
    // values.json @ 1e2733fc2bd37ed680fbb595f063f7bc62b4a0ec
    (
        "values@1e2733f",
        r#"{
  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],
  "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#,
        "{\"escaping\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\",\"literals\":[null,true,false],\"numbers\":[1e+30,4.5,333333333.3333333,0.002,1e-27]}",
    ),
    // weird.json @ 77917fbd5d923bca23a9b5eb8851deec918016bf
    (
        "weird@77917fb",
        "{\n  \"\\u20ac\": \"Euro Sign\",\n  \"1\": \"One\",\n  \"\\u0080\": \"Control\\u007f\",\n  \"\\ud83d\\ude02\": \"Smiley\",\n  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\",\n  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n  \"</script>\": \"Browser Challenge\"\n}\n",
        "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u{80}\":\"Control\u{7f}\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f602}\":\"Smiley\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
    ),
];

fn check_reference(name: &str, input: &str, output: &str) {
    let value = parse(input);
    assert_eq!(canon(&value), output, "{name}: canonical form");
    let reparsed = jcs::parse_canonical(output.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: published output rejected: {e}"));
    assert!(
        json_eq(&reparsed, &value),
        "{name}: output parses to another value"
    );
    assert!(jcs::is_canonical(output.as_bytes()), "{name}");
    if input != output {
        assert!(
            matches!(
                jcs::parse_canonical(input.as_bytes()),
                Err(JcsError::NotCanonical { .. })
            ),
            "{name}: non-canonical input accepted"
        );
        assert!(!jcs::is_canonical(input.as_bytes()), "{name}");
    }
}

#[test]
fn rfc8785_reference_vectors() {
    for &(name, input, output) in REFERENCE.iter().chain(REFERENCE_EARLIER) {
        check_reference(name, input, output);
    }
}

/// RFC 8785 Appendix B, "Number Serialization Samples": IEEE-754 bits ->
/// canonical text (rows cross-checked against several published copies).
/// NaN and Infinity rows are checked separately: they are errors.
const APPENDIX_B: &[(u64, &str)] = &[
    (0x0000000000000000, "0"),                        // Zero
    (0x8000000000000000, "0"),                        // Minus zero
    (0x0000000000000001, "5e-324"),                   // Min pos number
    (0x8000000000000001, "-5e-324"),                  // Min neg number
    (0x7fefffffffffffff, "1.7976931348623157e+308"),  // Max pos number
    (0xffefffffffffffff, "-1.7976931348623157e+308"), // Max neg number
    (0x4340000000000000, "9007199254740992"),         // Max pos int
    (0xc340000000000000, "-9007199254740992"),        // Max neg int
    (0x4430000000000000, "295147905179352830000"),    // ~2**68
    (0x44b52d02c7e14af5, "9.999999999999997e+22"),
    (0x44b52d02c7e14af6, "1e+23"),
    (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
    (0x444b1ae4d6e2ef4e, "999999999999999700000"),
    (0x444b1ae4d6e2ef4f, "999999999999999900000"),
    (0x444b1ae4d6e2ef50, "1e+21"),
    (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
    (0x3eb0c6f7a0b5ed8d, "0.000001"),
    (0x41b3de4355555553, "333333333.3333332"),
    (0x41b3de4355555554, "333333333.33333325"),
    (0x41b3de4355555555, "333333333.3333333"),
    (0x41b3de4355555556, "333333333.3333334"),
    (0x41b3de4355555557, "333333333.33333343"),
    (0xbecbf647612f3696, "-0.0000033333333333333333"),
    (0x43143ff3c1cb0959, "1424953923781206.2"), // Round to even
];

#[test]
fn rfc8785_appendix_b_numbers() {
    for &(bits, expected) in APPENDIX_B {
        let f = f64::from_bits(bits);
        let v = Value::from(f);
        assert_eq!(canon(&v), expected, "{bits:016x}");
        assert_eq!(jcs::to_canonical(&f).unwrap(), expected.as_bytes());
        // The canonical text is accepted and reads back as the same double
        // (-0 reads back as 0, which compares equal).
        let back = jcs::parse_canonical(expected.as_bytes()).unwrap();
        assert_eq!(back.as_f64(), Some(f), "{bits:016x}");
        // And inside a document.
        let doc = format!(r#"{{"n":[{expected}]}}"#);
        assert!(jcs::is_canonical(doc.as_bytes()), "{doc}");
    }
    // 0x7fffffffffffffff (NaN) and 0x7ff0000000000000 (Infinity): JSON
    // cannot express them; RFC 8785 requires an error.
    for bits in [
        0x7fffffffffffffff_u64,
        0x7ff0000000000000,
        0xfff0000000000000,
    ] {
        let f = f64::from_bits(bits);
        assert_eq!(jcs::to_canonical(&f), Err(JcsError::NonFiniteNumber));
    }
}

// ---------------------------------------------------------------------------
// Targeted canonical-form checks.

#[test]
fn members_sorted_by_utf16_code_units() {
    // serde_json's map sorts by UTF-8 bytes: U+E000 < U+FB33 < U+10000 <
    // U+1F602. In UTF-16 the supplementary characters (surrogates D800..DFFF)
    // come first.
    let v = json!({"\u{fb33}": 1, "\u{1f602}": 2, "\u{e000}": 3, "\u{10000}": 4, "z": 5, "\u{ffff}": 6, "\u{10ffff}": 7});
    let expected = "{\"z\":5,\"\u{10000}\":4,\"\u{1f602}\":2,\"\u{10ffff}\":7,\"\u{e000}\":3,\"\u{fb33}\":1,\"\u{ffff}\":6}";
    assert_eq!(canon(&v), expected);
    assert!(jcs::is_canonical(expected.as_bytes()));
    // The UTF-8 (code point) order is not canonical.
    let utf8_order = serde_json::to_string(&v).unwrap();
    assert_ne!(utf8_order, expected);
    assert!(!jcs::is_canonical(utf8_order.as_bytes()));
    // Nested, and a shared prefix.
    let v = json!({"k": {"a\u{ffff}": 1, "a\u{10000}": 2, "a": 3}});
    assert_eq!(
        canon(&v),
        "{\"k\":{\"a\":3,\"a\u{10000}\":2,\"a\u{ffff}\":1}}"
    );
}

#[test]
fn string_escapes() {
    let mut expected = String::from("\"");
    for c in 0u8..0x20 {
        match c {
            0x08 => expected.push_str("\\b"),
            0x09 => expected.push_str("\\t"),
            0x0a => expected.push_str("\\n"),
            0x0c => expected.push_str("\\f"),
            0x0d => expected.push_str("\\r"),
            _ => expected.push_str(&format!("\\u{c:04x}")),
        }
    }
    expected.push_str("\\\"\\\\/\u{7f}\u{80}\u{2028}\u{2029}\u{feff}\u{fffd}\u{10ffff}\"");
    let s: String = (0u8..0x20)
        .map(char::from)
        .chain("\"\\/\u{7f}\u{80}\u{2028}\u{2029}\u{feff}\u{fffd}\u{10ffff}".chars())
        .collect();
    let v = Value::String(s);
    assert_eq!(canon(&v), expected);
    assert_eq!(jcs::parse_canonical(expected.as_bytes()).unwrap(), v);
    assert!(expected.contains("\\u001f") && expected.contains("\\u000b"));
}

#[test]
fn integers_as_ecmascript_numbers() {
    let cases: &[(Value, &str)] = &[
        (json!(0), "0"),
        (json!(-1), "-1"),
        (json!(9007199254740991_u64), "9007199254740991"),
        (json!(9007199254740992_u64), "9007199254740992"),
        (json!(9007199254740993_u64), "9007199254740992"),
        (json!(-9007199254740993_i64), "-9007199254740992"),
        (json!(9007199254740995_u64), "9007199254740996"),
        (json!(1152921504606846976_u64), "1152921504606847000"), // 2^60
        (json!(u64::MAX), "18446744073709552000"),
        (json!(i64::MIN), "-9223372036854776000"),
        (json!(i64::MAX), "9223372036854776000"),
        (json!(1e21), "1e+21"),
        (json!(1e20), "100000000000000000000"),
        (json!(-0.0), "0"),
        (json!(0.1), "0.1"),
        (json!(1.5e-7), "1.5e-7"),
        (json!(56.0), "56"),
    ];
    for (v, expected) in cases {
        assert_eq!(canon(v), *expected, "{v}");
        assert!(jcs::is_canonical(expected.as_bytes()), "{expected}");
    }
    // Integers JavaScript cannot hold exactly are not their own canonical form.
    assert_eq!(jcs::parse_canonical(b"9007199254740993"), not_canonical(15));
    assert_eq!(
        jcs::parse_canonical(b"[18446744073709551615]"),
        not_canonical(17)
    );
    // ...but the rounded spellings are.
    assert!(jcs::is_canonical(
        b"[18446744073709552000,-9223372036854776000]"
    ));
}

#[test]
fn to_canonical_serialize_types() {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        seq: u64,
        kind: &'a str,
        body: BTreeMap<&'a str, f64>,
        note: Option<&'a str>,
        amount: f32,
    }
    let e = Entry {
        seq: 7,
        kind: "a\u{1}b",
        body: BTreeMap::from([("z", 1.0), ("\u{e000}", 0.5), ("\u{1f602}", -0.0)]),
        note: None,
        amount: 0.1,
    };
    assert_eq!(
        String::from_utf8(jcs::to_canonical(&e).unwrap()).unwrap(),
        // f32 0.1 widens to the double 0.10000000149011612.
        "{\"amount\":0.10000000149011612,\"body\":{\"z\":1,\"\u{1f602}\":0,\"\u{e000}\":0.5},\"kind\":\"a\\u0001b\",\"note\":null,\"seq\":7}"
    );
    // serde_json would write NaN as null; JCS must refuse.
    let bad = BTreeMap::from([("x", vec![1.0, f64::NAN])]);
    assert_eq!(jcs::to_canonical(&bad), Err(JcsError::NonFiniteNumber));
    assert_eq!(
        jcs::to_canonical(&Some(f32::INFINITY)),
        Err(JcsError::NonFiniteNumber)
    );
    // Keys that cannot be JSON strings.
    let tuple_keys = BTreeMap::from([((1, 2), 3)]);
    assert!(matches!(
        jcs::to_canonical(&tuple_keys),
        Err(JcsError::Serialize(_))
    ));
    // A Value goes through unchanged.
    let v = json!({"b": [true, null], "a": "x"});
    assert_eq!(jcs::to_canonical(&v).unwrap(), jcs::to_vec(&v));
}

#[test]
fn write_canonical_appends() {
    let mut out = b"prefix:".to_vec();
    jcs::write_canonical(&json!({"b": 1, "a": [1, 2.5, "x"]}), &mut out);
    assert_eq!(out, br#"prefix:{"a":[1,2.5,"x"],"b":1}"#);
}

#[test]
fn accepts_canonical_documents() {
    for doc in [
        "null",
        "true",
        "false",
        "0",
        "-1",
        "\"\"",
        "[]",
        "{}",
        "[[],{},[{}]]",
        r#"{"":0,"a":{"b":[1,2,{"c":null}]},"b":"\u001f"}"#,
        "1e+21",
        "1e-7",
        "0.000001",
        "-5e-324",
    ] {
        assert!(jcs::parse_canonical(doc.as_bytes()).is_ok(), "{doc}");
    }
}

// ---------------------------------------------------------------------------
// Rejections.

#[test]
fn rejects_whitespace() {
    assert_eq!(jcs::parse_canonical(b" {}"), not_canonical(0));
    assert_eq!(jcs::parse_canonical(b"{} "), not_canonical(2));
    assert_eq!(jcs::parse_canonical(b"{}\n"), not_canonical(2));
    assert_eq!(jcs::parse_canonical(br#"{ "a":1}"#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#"{"a" :1}"#), not_canonical(4));
    assert_eq!(jcs::parse_canonical(br#"{"a": 1}"#), not_canonical(5));
    assert_eq!(jcs::parse_canonical(b"[1, 2]"), not_canonical(3));
    assert_eq!(jcs::parse_canonical(b"[1\t]"), not_canonical(2));
    assert_eq!(jcs::parse_canonical(b"[1\r\n]"), not_canonical(2));
}

#[test]
fn rejects_unsorted_keys() {
    assert_eq!(jcs::parse_canonical(br#"{"b":1,"a":2}"#), not_canonical(2));
    assert_eq!(
        jcs::parse_canonical(br#"{"x":{"b":1,"a":2}}"#),
        not_canonical(7)
    );
    // Sorted by UTF-8 bytes is not sorted by UTF-16 units.
    let utf8_order = "{\"\u{e000}\":1,\"\u{10000}\":2}";
    assert_eq!(
        jcs::parse_canonical(utf8_order.as_bytes()),
        not_canonical(2)
    );
}

#[test]
fn rejects_duplicate_keys() {
    // serde_json keeps the last duplicate; the canonical form of what it
    // kept is shorter, so the input cannot match it.
    assert_eq!(jcs::parse_canonical(br#"{"a":1,"a":1}"#), not_canonical(6));
    assert_eq!(jcs::parse_canonical(br#"{"a":1,"a":2}"#), not_canonical(5));
    assert_eq!(
        jcs::parse_canonical(br#"{"a":1,"b":2,"b":2}"#),
        not_canonical(12)
    );
    assert_eq!(
        jcs::parse_canonical(br#"{"o":{"a":null,"a":null}}"#),
        not_canonical(14)
    );
    // The same name spelled two ways is still a duplicate.
    assert!(!jcs::is_canonical(br#"{"a":1,"\u0061":1}"#));
    assert!(!jcs::is_canonical(br#"{"":1,"":1}"#));
}

#[test]
fn rejects_non_canonical_escapes() {
    assert_eq!(jcs::parse_canonical(br#""\u001F""#), not_canonical(6));
    assert_eq!(jcs::parse_canonical(br#""\u000A""#), not_canonical(2));
    assert_eq!(jcs::parse_canonical(br#""\u000a""#), not_canonical(2));
    assert_eq!(jcs::parse_canonical(br#""\u0008""#), not_canonical(2));
    assert_eq!(jcs::parse_canonical(br#""\/""#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#""\u0041""#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#""\u0022""#), not_canonical(2));
    assert_eq!(jcs::parse_canonical(br#""\u005c""#), not_canonical(2));
    assert_eq!(jcs::parse_canonical(br#""\u007f""#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#""\u00e9""#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#""\u2028""#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#""\ud83d\ude02""#), not_canonical(1));
    assert_eq!(jcs::parse_canonical(br#"{"\u0061":1}"#), not_canonical(2));
    // Raw control characters are not JSON at all.
    assert!(matches!(
        jcs::parse_canonical(b"\"a\nb\""),
        Err(JcsError::Json(_))
    ));
    assert!(matches!(
        jcs::parse_canonical(b"\"\x00\""),
        Err(JcsError::Json(_))
    ));
}

#[test]
fn rejects_non_canonical_numbers() {
    assert_eq!(jcs::parse_canonical(b"1.0"), not_canonical(1));
    assert_eq!(jcs::parse_canonical(b"1e2"), not_canonical(1));
    assert_eq!(jcs::parse_canonical(b"1E+2"), not_canonical(1));
    assert_eq!(jcs::parse_canonical(b"1e+2"), not_canonical(1));
    assert_eq!(jcs::parse_canonical(b"-0"), not_canonical(0));
    assert_eq!(jcs::parse_canonical(b"-0.0"), not_canonical(0));
    assert_eq!(jcs::parse_canonical(b"0.0"), not_canonical(1));
    assert_eq!(jcs::parse_canonical(b"[1.50]"), not_canonical(4));
    assert_eq!(jcs::parse_canonical(b"1e21"), not_canonical(2));
    assert_eq!(jcs::parse_canonical(b"1E+21"), not_canonical(1));
    assert_eq!(jcs::parse_canonical(b"0.0000001"), not_canonical(0));
    assert_eq!(
        jcs::parse_canonical(b"1000000000000000000000"),
        not_canonical(1)
    );
    assert_eq!(
        jcs::parse_canonical(b"1.00000000000000001"),
        not_canonical(1)
    );
    // Not JSON numbers at all.
    for bad in [
        &b"01"[..],
        b"-01",
        b"+1",
        b".5",
        b"1.",
        b"0x10",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e999",
    ] {
        assert!(
            matches!(jcs::parse_canonical(bad), Err(JcsError::Json(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn rejects_invalid_utf8() {
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc3\"",             // truncated sequence
        b"\"\xc0\xaf\"",         // overlong '/'
        b"\"\xed\xa0\x80\"",     // UTF-8-encoded surrogate U+D800
        b"\"\xf4\x90\x80\x80\"", // beyond U+10FFFF
        b"{\"\xfe\":1}",
        b"\xef\xbb\xbf{}", // byte-order mark
        b"\xff",
    ] {
        assert!(
            matches!(jcs::parse_canonical(bad), Err(JcsError::Json(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn rejects_lone_surrogate_escapes() {
    for bad in [
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\udbff\u0041""#,
        r#""\ude02\ud83d""#,
        r#""a\ud83d""#,
        r#"{"\udfff":1}"#,
    ] {
        assert!(
            matches!(jcs::parse_canonical(bad.as_bytes()), Err(JcsError::Json(_))),
            "{bad}"
        );
    }
}

#[test]
fn rejects_trailing_bytes_and_empty_input() {
    for bad in [
        &b""[..],
        b" ",
        b"\n",
        b"{}x",
        b"{}{}",
        b"[1]]",
        b"1 2",
        b"null\0",
        b"{",
        b"[1,]",
        b"{\"a\":1,}",
        b"'a'",
        b"tru",
    ] {
        assert!(
            matches!(jcs::parse_canonical(bad), Err(JcsError::Json(_))),
            "{bad:?}"
        );
        assert!(!jcs::is_canonical(bad));
    }
}

#[test]
fn rejects_deep_nesting_without_overflowing() {
    let n = 10_000;
    let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(matches!(
        jcs::parse_canonical(arrays.as_bytes()),
        Err(JcsError::Json(_))
    ));
    let objects = format!("{}null{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    assert!(matches!(
        jcs::parse_canonical(objects.as_bytes()),
        Err(JcsError::Json(_))
    ));
    let unterminated = "[{\"a\":".repeat(n);
    assert!(jcs::parse_canonical(unterminated.as_bytes()).is_err());
    // Moderate nesting is fine.
    let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
    assert!(jcs::is_canonical(ok.as_bytes()));
}

#[test]
fn error_messages() {
    assert_eq!(
        JcsError::NotCanonical { offset: 3 }.to_string(),
        "JSON is not in canonical (RFC 8785) form at byte 3"
    );
    let Err(JcsError::Json(msg)) = jcs::parse_canonical(b"") else {
        panic!("empty input accepted");
    };
    assert!(!msg.is_empty());
}

// ---------------------------------------------------------------------------
// Property tests.

fn arb_string() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => proptest::char::range(' ', '~'),
        3 => any::<char>(),
        2 => proptest::char::range('\0', '\u{1f}'),
        2 => proptest::sample::select(vec![
            '"', '\\', '/', '\u{7f}', '\u{80}', '\u{e9}', '\u{2028}', '\u{2029}', '\u{d7ff}',
            '\u{e000}', '\u{feff}', '\u{fffd}', '\u{ffff}', '\u{10000}', '\u{1f602}',
            '\u{10ffff}',
        ]),
        1 => proptest::char::range('\u{e000}', '\u{ffff}'),
        1 => proptest::char::range('\u{10000}', '\u{10ffff}'),
    ];
    proptest::collection::vec(ch, 0..12).prop_map(|cs| cs.into_iter().collect())
}

fn arb_number() -> impl Strategy<Value = Value> {
    const SAFE: i64 = 1 << 53;
    prop_oneof![
        (-1000_i64..1000).prop_map(Value::from),
        (-SAFE..=SAFE).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ((1_u64 << 53) - 4..(1_u64 << 53) + 8).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        (-1e6_f64..1e6).prop_map(Value::from),
        proptest::sample::select(vec![
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            1e21,
            999999999999999900000.0,
            1e-6,
            1e-7,
            0.1,
            9007199254740993.0,
            1424953923781206.2,
        ])
        .prop_map(Value::from),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((arb_string(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn canonical_bytes_round_trip(v in arb_value()) {
        let bytes = jcs::to_vec(&v);
        let back = jcs::parse_canonical(&bytes);
        prop_assert!(back.is_ok(), "{:?} rejected: {}", back, String::from_utf8_lossy(&bytes));
        let back = back.unwrap();
        // Equal as JSON values (numbers as doubles), and exactly what a
        // plain parse of the canonical bytes gives.
        prop_assert!(json_eq(&back, &v));
        prop_assert_eq!(&back, &serde_json::from_slice::<Value>(&bytes).unwrap());
        // Idempotent.
        prop_assert_eq!(jcs::to_vec(&back), bytes.clone());
        prop_assert_eq!(jcs::to_canonical(&v).unwrap(), bytes);
    }

    /// Differential test against the `serde_json_canonicalizer` crate.
    #[test]
    fn matches_serde_json_canonicalizer(v in arb_value()) {
        prop_assert_eq!(
            String::from_utf8(jcs::to_vec(&v)).unwrap(),
            serde_json_canonicalizer::to_string(&v).unwrap()
        );
    }

    /// Whatever parse_canonical accepts is exactly the canonical form of the
    /// value it returns; rejections point at the first differing byte.
    #[test]
    fn accepts_only_fixed_points(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_soundness(&bytes)?;
    }

    #[test]
    fn mutated_canonical_documents(
        v in arb_value(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
        printable in proptest::sample::select(b" \t\n\"\\/,:[]{}0123456789.eE+-aAuU".to_vec()),
    ) {
        let mut bytes = jcs::to_vec(&v);
        for (at, op, byte) in edits {
            let byte = if byte % 2 == 0 { printable } else { byte };
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.push(byte),
            }
        }
        check_soundness(&bytes)?;
    }
}

fn check_soundness(bytes: &[u8]) -> Result<(), TestCaseError> {
    match jcs::parse_canonical(bytes) {
        Ok(v) => prop_assert_eq!(jcs::to_vec(&v), bytes.to_vec()),
        Err(JcsError::NotCanonical { offset }) => {
            let v: Value = serde_json::from_slice(bytes).unwrap();
            let canonical = jcs::to_vec(&v);
            prop_assert_ne!(&canonical[..], bytes);
            prop_assert!(offset <= bytes.len() && offset <= canonical.len());
            prop_assert_eq!(&canonical[..offset], &bytes[..offset]);
            prop_assert!(offset == bytes.len() || canonical.get(offset) != bytes.get(offset));
        }
        Err(JcsError::Json(_)) => prop_assert!(serde_json::from_slice::<Value>(bytes).is_err()),
        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
    }
    Ok(())
}
