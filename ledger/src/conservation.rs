//! The `split_conserves_amount` invariant (SPEC.md §8.5): a payables
//! certificate's amount is fixed when its issuer confirms it, and a split
//! hands exactly that amount on to its children. The ledger alone proves it:
//! the verifier tracks every certificate's amount from the confirming entry
//! through each split, with no database.

use crate::intent::Intent;
use crate::state::{Invariant, Violation};
use serde_json::Value;
use std::collections::HashMap;

/// Event types this invariant reads.
pub mod types {
    pub const PROPOSE: &str = "certificate.propose";
    pub const CONFIRM: &str = "certificate.confirm";
    pub const SPLIT: &str = "certificate.split";
    pub const CLEAR: &str = "certificate.clear";
    /// The issuer withdraws a certificate nobody has accepted.
    pub const CANCEL: &str = "certificate.cancel";
    /// The holder's answer; `decision` `reject` voids the certificate.
    pub const ACCEPT: &str = "certificate.accept";
}

/// Most children one split may name; more is refused before any sum.
pub const MAX_CHILDREN: usize = 100;

/// An amount in fen (0.01 CNY). Parsed from a decimal string of at most 16
/// integer digits and 2 decimals, no sign, no exponent, no leading zero: one
/// spelling per amount class, and a sum of [`MAX_CHILDREN`] of them cannot
/// overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub u64);

impl Fen {
    pub fn parse(s: &str) -> Option<Fen> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || int.len() > 16 || (int.len() > 1 && int.starts_with('0')) {
            return None;
        }
        let mut fen = int.parse::<u64>().ok()?.checked_mul(100)?;
        if let Some(f) = frac {
            if !digits(f) || f.len() > 2 {
                return None;
            }
            let cents = f.parse::<u64>().ok()? * if f.len() == 1 { 10 } else { 1 };
            fen = fen.checked_add(cents)?;
        }
        Some(Fen(fen))
    }
}

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A certificate id as the ledger compares it: the canonical text of a UUID
/// (lowercase, hyphenated), so one certificate has one spelling.
pub fn is_certificate_id(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// The canonical text of a UUID given in any spelling the platform's
/// parser takes (hyphenated or not, any case, braced or `urn:uuid:`), so
/// ids the backend treats as one are one here too.
pub fn canonical_uuid(s: &str) -> Option<String> {
    let t = s.strip_prefix("urn:uuid:").unwrap_or(s);
    let t = t
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(t);
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if t.len() > 36 || hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    let text = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    // Hyphens, if any, must be where a UUID has them.
    (t.len() == 32 || t.to_ascii_lowercase() == text).then_some(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cert {
    /// Proposed for this face value; not yet confirmed.
    Proposed(Fen),
    /// Confirmed (or made by a split) and whole: this amount is live.
    Live(Fen),
    /// Split into children: its amount lives on in them.
    Spent,
    /// Paid out by the issuer's clearing of its root.
    Cleared,
    /// Cancelled by its issuer or rejected by its holder before acceptance:
    /// it never carried an amount anyone could split or be paid.
    Void,
}

/// State: every certificate id the ledger has named, and its amount.
#[derive(Debug, Default, Clone)]
pub struct SplitConservesAmount {
    certs: HashMap<String, Cert>,
    /// The root each certificate descends from (a root is its own).
    root_of: HashMap<String, String>,
    /// Each root's confirmed face value.
    faces: HashMap<String, Fen>,
    /// Roots their holder accepted: no longer the issuer's to cancel.
    accepted: std::collections::HashSet<String>,
}

fn bad(message: impl Into<String>) -> Violation {
    Violation::new("bad_intent", message)
}

fn id_at<'a>(v: Option<&'a Value>, what: &str) -> Result<&'a str, Violation> {
    v.and_then(Value::as_str)
        .filter(|s| is_certificate_id(s))
        .ok_or_else(|| {
            bad(format!(
                "{what} must be a certificate id (a lowercase hyphenated UUID)"
            ))
        })
}

fn amount_at(v: Option<&Value>, what: &str) -> Result<Fen, Violation> {
    v.and_then(Value::as_str)
        .and_then(Fen::parse)
        .filter(|f| f.0 > 0)
        .ok_or_else(|| {
            bad(format!(
                "{what} must be a positive amount as a decimal string with at most 2 decimals"
            ))
        })
}

/// What a split intent claims, read from its body.
struct Split<'a> {
    parent: &'a str,
    parent_amount: Fen,
    children: Vec<(&'a str, Fen)>,
}

fn read_split(intent: &Intent) -> Result<Split<'_>, Violation> {
    let parent = id_at(intent.body.get("certificate_id"), "body.certificate_id")?;
    let parent_amount = amount_at(intent.body.get("parent_amount"), "body.parent_amount")?;
    let items = intent
        .body
        .get("children")
        .and_then(Value::as_array)
        .filter(|a| (2..=MAX_CHILDREN).contains(&a.len()))
        .ok_or_else(|| {
            bad(format!(
                "body.children must be an array of 2 to {MAX_CHILDREN} children"
            ))
        })?;
    let mut children = Vec::with_capacity(items.len());
    for (i, c) in items.iter().enumerate() {
        let id = id_at(
            c.get("certificate_id"),
            &format!("body.children[{i}].certificate_id"),
        )?;
        let amount = amount_at(c.get("amount"), &format!("body.children[{i}].amount"))?;
        children.push((id, amount));
    }
    Ok(Split {
        parent,
        parent_amount,
        children,
    })
}

/// What a clearing intent claims: the root, the amount paid, the payouts.
struct Clear<'a> {
    root: &'a str,
    amount: Fen,
    payouts: Vec<(&'a str, Fen)>,
}

fn read_clear(intent: &Intent) -> Result<Clear<'_>, Violation> {
    let root = id_at(intent.body.get("root_id"), "body.root_id")?;
    let amount = amount_at(intent.body.get("amount"), "body.amount")?;
    let items = intent
        .body
        .get("payouts")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("body.payouts must be a non-empty array"))?;
    let mut payouts = Vec::with_capacity(items.len());
    for (i, p) in items.iter().enumerate() {
        let id = id_at(
            p.get("certificate_id"),
            &format!("body.payouts[{i}].certificate_id"),
        )?;
        let paid = amount_at(p.get("amount"), &format!("body.payouts[{i}].amount"))?;
        payouts.push((id, paid));
    }
    Ok(Clear {
        root,
        amount,
        payouts,
    })
}

impl SplitConservesAmount {
    /// A clearing pays the root's face value, exactly, to exactly its live
    /// parts, each its own amount.
    fn check_clear(&self, c: &Clear<'_>) -> Result<(), Violation> {
        let wrong = |m: String| Violation::new("clearing_not_face_value", m);
        if self.root_of.get(c.root).map(String::as_str) != Some(c.root) {
            return Err(wrong(format!(
                "{} is not a root certificate confirmed in this ledger",
                c.root
            )));
        }
        let face = self.faces.get(c.root).copied().unwrap_or(Fen(0));
        if c.amount != face {
            return Err(wrong(format!(
                "the clearing of {} pays {}, not its face value {face}",
                c.root, c.amount
            )));
        }
        let mut live: Vec<(&str, Fen)> = self
            .root_of
            .iter()
            .filter(|(_, r)| r.as_str() == c.root)
            .filter_map(|(id, _)| match self.certs.get(id) {
                Some(Cert::Live(a)) => Some((id.as_str(), *a)),
                _ => None,
            })
            .collect();
        if live.is_empty() {
            return Err(Violation::new(
                "certificate_spent",
                format!("root {} has nothing left to clear", c.root),
            ));
        }
        live.sort_unstable();
        let mut paid: Vec<(&str, Fen)> = c.payouts.clone();
        paid.sort_unstable();
        let total: u128 = paid.iter().map(|(_, f)| u128::from(f.0)).sum();
        if total != u128::from(face.0) {
            let shown = Fen(u64::try_from(total).unwrap_or(u64::MAX));
            return Err(wrong(format!(
                "the payouts of {} add up to {shown}, not its face value {face}",
                c.root
            )));
        }
        if paid != live {
            return Err(wrong(format!(
                "the payouts of {} must pay each of its live parts its own amount, once",
                c.root
            )));
        }
        Ok(())
    }

    /// A confirmed root its holder has not answered yet (or, if
    /// `proposed_too`, a proposal): what an answer or a cancellation acts on.
    fn awaiting_answer(&self, id: &str, proposed_too: bool) -> Result<(), Violation> {
        match self.certs.get(id) {
            Some(Cert::Proposed(_)) if proposed_too => Ok(()),
            Some(Cert::Live(_))
                if self.root_of.get(id).map(String::as_str) == Some(id)
                    && !self.accepted.contains(id) =>
            {
                Ok(())
            }
            _ => Err(Violation::new(
                "certificate_spent",
                format!("certificate {id} is not a whole certificate awaiting its holder's answer"),
            )),
        }
    }

    /// The live amount of a certificate, if it is confirmed and whole.
    pub fn live_amount(&self, id: &str) -> Option<Fen> {
        match self.certs.get(id) {
            Some(Cert::Live(f)) => Some(*f),
            _ => None,
        }
    }

    fn check_split(&self, s: &Split<'_>) -> Result<(), Violation> {
        let conserve = |m: String| Violation::new("split_not_conserved", m);
        match self.certs.get(s.parent) {
            Some(Cert::Live(amount)) if *amount == s.parent_amount => {}
            Some(Cert::Live(amount)) => {
                return Err(conserve(format!(
                    "the split names parent amount {} but certificate {} holds {amount}",
                    s.parent_amount, s.parent
                )));
            }
            Some(Cert::Spent) => {
                return Err(Violation::new(
                    "certificate_spent",
                    format!(
                        "certificate {} was split already; its amount lives in its children",
                        s.parent
                    ),
                ));
            }
            Some(Cert::Cleared) => {
                return Err(Violation::new(
                    "certificate_spent",
                    format!("certificate {} was paid out by clearing", s.parent),
                ));
            }
            Some(Cert::Void) => {
                return Err(Violation::new(
                    "certificate_spent",
                    format!("certificate {} was cancelled or rejected", s.parent),
                ));
            }
            Some(Cert::Proposed(_)) | None => {
                return Err(conserve(format!(
                    "certificate {} was never confirmed in this ledger",
                    s.parent
                )));
            }
        }
        let mut sum: u128 = 0;
        for (i, (id, amount)) in s.children.iter().enumerate() {
            if *id == s.parent
                || self.certs.contains_key(*id)
                || s.children.iter().take(i).any(|(other, _)| other == id)
            {
                return Err(conserve(format!("child {id} is not a new certificate id")));
            }
            sum += u128::from(amount.0);
        }
        if sum != u128::from(s.parent_amount.0) {
            let shown = Fen(u64::try_from(sum).unwrap_or(u64::MAX));
            return Err(conserve(format!(
                "the children of {} sum to {shown}, not to the parent's {}: a split neither creates nor destroys money",
                s.parent, s.parent_amount
            )));
        }
        Ok(())
    }
}

impl Invariant for SplitConservesAmount {
    fn name(&self) -> &'static str {
        "split_conserves_amount"
    }

    fn check(&self, _seq: u64, intent: &Intent) -> Result<(), Violation> {
        match intent.kind.as_str() {
            types::PROPOSE => {
                let id = id_at(intent.body.get("certificate_id"), "body.certificate_id")?;
                amount_at(intent.body.get("face_value"), "body.face_value")?;
                if self.certs.contains_key(id) {
                    return Err(Violation::new(
                        "certificate_exists",
                        format!("certificate {id} is already named in this ledger"),
                    ));
                }
                Ok(())
            }
            types::CONFIRM => {
                let id = id_at(intent.body.get("certificate_id"), "body.certificate_id")?;
                let face = amount_at(intent.body.get("face_value"), "body.face_value")?;
                match self.certs.get(id) {
                    Some(Cert::Proposed(p)) if *p == face => Ok(()),
                    Some(Cert::Proposed(p)) => Err(Violation::new(
                        "split_not_conserved",
                        format!("certificate {id} was proposed for {p}, not {face}"),
                    )),
                    Some(_) => Err(Violation::new(
                        "certificate_exists",
                        format!("certificate {id} is confirmed already"),
                    )),
                    None => Err(Violation::new(
                        "split_not_conserved",
                        format!("certificate {id} was never proposed in this ledger"),
                    )),
                }
            }
            types::SPLIT => self.check_split(&read_split(intent)?),
            types::CLEAR => self.check_clear(&read_clear(intent)?),
            // The holder's answer, to a whole root nobody accepted yet.
            types::ACCEPT => {
                let id = id_at(intent.body.get("certificate_id"), "body.certificate_id")?;
                match intent.body.get("decision").and_then(Value::as_str) {
                    Some("accept" | "reject") => {}
                    _ => return Err(bad("body.decision must be \"accept\" or \"reject\"")),
                }
                self.awaiting_answer(id, false)
            }
            // Only a root never split nor paid: a split or cleared
            // certificate's amount lives on elsewhere.
            types::CANCEL => self.awaiting_answer(
                id_at(intent.body.get("certificate_id"), "body.certificate_id")?,
                true,
            ),
            _ => Ok(()),
        }
    }

    fn apply(&mut self, _seq: u64, intent: &Intent) {
        let body = &intent.body;
        let id = body.get("certificate_id").and_then(Value::as_str);
        match (intent.kind.as_str(), id) {
            (types::PROPOSE, Some(id)) => {
                if let Ok(face) = amount_at(body.get("face_value"), "") {
                    self.certs.insert(id.to_owned(), Cert::Proposed(face));
                }
            }
            (types::CONFIRM, Some(id)) => {
                if let Some(Cert::Proposed(face)) = self.certs.get(id).copied() {
                    self.certs.insert(id.to_owned(), Cert::Live(face));
                    self.root_of.insert(id.to_owned(), id.to_owned());
                    self.faces.insert(id.to_owned(), face);
                }
            }
            (types::SPLIT, Some(_)) => {
                if let Ok(s) = read_split(intent) {
                    self.certs.insert(s.parent.to_owned(), Cert::Spent);
                    let root = self.root_of.get(s.parent).cloned();
                    for (child, amount) in s.children {
                        self.certs.insert(child.to_owned(), Cert::Live(amount));
                        if let Some(r) = &root {
                            self.root_of.insert(child.to_owned(), r.clone());
                        }
                    }
                }
            }
            (types::CANCEL, Some(id)) => {
                self.certs.insert(id.to_owned(), Cert::Void);
            }
            (types::ACCEPT, Some(id)) => match body.get("decision").and_then(Value::as_str) {
                Some("reject") => {
                    self.certs.insert(id.to_owned(), Cert::Void);
                }
                Some("accept") => {
                    self.accepted.insert(id.to_owned());
                }
                _ => {}
            },
            (types::CLEAR, None) => {
                if let Ok(c) = read_clear(intent) {
                    for (id, _) in c.payouts {
                        self.certs.insert(id.to_owned(), Cert::Cleared);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::sig::SecretKey;
    use crate::time::Timestamp;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn amounts_have_one_spelling() {
        assert_eq!(Fen::parse("1234.5"), Some(Fen(123_450)));
        assert_eq!(Fen::parse("1234.50"), Some(Fen(123_450)));
        assert_eq!(Fen::parse("0.01"), Some(Fen(1)));
        assert_eq!(
            Fen::parse("9999999999999999.99"),
            Some(Fen(999_999_999_999_999_999))
        );
        for bad in [
            "",
            ".5",
            "5.",
            "-1",
            "+1",
            "1e5",
            "01",
            "1.001",
            "1,000",
            "NaN",
            " 1",
            "１",
            "10000000000000000",
        ] {
            assert_eq!(Fen::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Fen(123_405).to_string(), "1234.05");
    }

    #[test]
    fn ids_are_canonical_uuids() {
        assert!(is_certificate_id("0192f0c1-7c3a-7def-8123-456789abcdef"));
        assert!(!is_certificate_id("0192F0C1-7C3A-7DEF-8123-456789ABCDEF"));
        assert!(!is_certificate_id("0192f0c17c3a7def8123456789abcdef"));
    }

    fn intent(kind: &str, body: Value) -> Intent {
        Intent {
            kind: kind.into(),
            org: "org".into(),
            key_id: SecretKey::from_seed(&[1; 32]).public_key().key_id(),
            subject: String::new(),
            assets: vec![],
            body: body.as_object().cloned().unwrap(),
            id: "i".into(),
            client_time: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
        }
    }

    fn id(n: u128) -> String {
        uuid_text(n)
    }

    fn uuid_text(n: u128) -> String {
        let h = format!("{n:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    fn step(inv: &mut SplitConservesAmount, i: &Intent) -> Result<(), Violation> {
        inv.check(0, i)?;
        inv.apply(0, i);
        Ok(())
    }

    fn issue(inv: &mut SplitConservesAmount, n: u128, face: &str) {
        let body = json!({"certificate_id": id(n), "face_value": face});
        step(inv, &intent(types::PROPOSE, body.clone())).unwrap();
        step(inv, &intent(types::CONFIRM, body)).unwrap();
    }

    fn split(parent: u128, amount: &str, children: &[(u128, &str)]) -> Intent {
        let children: Vec<Value> = children
            .iter()
            .map(|(c, a)| json!({"certificate_id": id(*c), "amount": a}))
            .collect();
        intent(
            types::SPLIT,
            json!({"certificate_id": id(parent), "parent_amount": amount, "children": children}),
        )
    }

    #[test]
    fn a_split_must_hand_on_exactly_the_parent_amount() {
        let mut inv = SplitConservesAmount::default();
        issue(&mut inv, 1, "1000.00");
        let e = step(
            &mut inv,
            &split(1, "1000.00", &[(2, "600.00"), (3, "400.01")]),
        )
        .unwrap_err();
        assert_eq!(e.code, "split_not_conserved");
        assert!(e.message.contains("sum to 1000.01"), "{e}");
        let e = step(
            &mut inv,
            &split(1, "2000.00", &[(2, "1000.00"), (3, "1000.00")]),
        )
        .unwrap_err();
        assert!(e.message.contains("holds 1000.00"), "{e}");
        step(&mut inv, &split(1, "1000.00", &[(2, "600.00"), (3, "400")])).unwrap();
        assert_eq!(inv.live_amount(&id(1)), None);
        assert_eq!(inv.live_amount(&id(3)), Some(Fen(40_000)));
        // Spent parents and reused ids are refused.
        assert!(step(&mut inv, &split(1, "1000.00", &[(4, "500"), (5, "500")])).is_err());
        assert!(step(&mut inv, &split(2, "600.00", &[(3, "300"), (5, "300")])).is_err());
        assert!(step(&mut inv, &split(2, "600.00", &[(6, "300"), (6, "300")])).is_err());
        assert!(step(&mut inv, &split(9, "600.00", &[(7, "300"), (8, "300")])).is_err());
        step(&mut inv, &split(2, "600.00", &[(7, "0.01"), (8, "599.99")])).unwrap();
        // A confirmation must confirm what was proposed.
        let p = json!({"certificate_id": id(20), "face_value": "10.00"});
        step(&mut inv, &intent(types::PROPOSE, p)).unwrap();
        let c = json!({"certificate_id": id(20), "face_value": "11.00"});
        assert!(step(&mut inv, &intent(types::CONFIRM, c)).is_err());
        // Malformed bodies are bad intents, never panics.
        for body in [
            json!({}),
            json!({"certificate_id": id(7), "parent_amount": "0.01", "children": "x"}),
            json!({"certificate_id": id(7), "parent_amount": 1, "children": []}),
            json!({"certificate_id": id(7), "parent_amount": "0.01", "children": [{"certificate_id": id(30), "amount": "-0.01"}, {"certificate_id": id(31), "amount": "0.02"}]}),
        ] {
            assert_eq!(
                step(&mut inv, &intent(types::SPLIT, body))
                    .unwrap_err()
                    .code,
                "bad_intent"
            );
        }
    }

    proptest! {
        /// Whatever sequence of splits is attempted, the live amounts of the
        /// certificates descended from one confirmation sum to its face value.
        #[test]
        fn live_leaves_sum_to_the_face_value(
            face in 2u64..10_000_000,
            cuts in prop::collection::vec((0usize..64, prop::collection::vec(1u64..1_000_000, 1..4), any::<bool>()), 0..30),
        ) {
            let mut inv = SplitConservesAmount::default();
            let face_s = Fen(face).to_string();
            issue(&mut inv, 1, &face_s);
            let mut next = 2u128;
            let mut live: Vec<(u128, u64)> = vec![(1, face)];
            for (pick, weights, cheat) in cuts {
                let (parent, amount) = live[pick % live.len()];
                // Children proportional to the weights, the rest to the last one.
                let total: u64 = weights.iter().sum::<u64>() + 1;
                let mut parts: Vec<u64> = weights.iter().map(|w| amount * w / total).collect();
                let given: u64 = parts.iter().sum();
                parts.push(amount - given);
                if let Some(p) = parts.last_mut().filter(|_| cheat) { *p += 1; }
                let kids: Vec<(u128, String)> = parts.iter().map(|p| { next += 1; (next, Fen(*p).to_string()) }).collect();
                let refs: Vec<(u128, &str)> = kids.iter().map(|(c, a)| (*c, a.as_str())).collect();
                let ok = step(&mut inv, &split(parent, &Fen(amount).to_string(), &refs)).is_ok();
                prop_assert_eq!(ok, !cheat && parts.iter().all(|p| *p > 0));
                if ok {
                    live.retain(|(c, _)| *c != parent);
                    live.extend(kids.iter().zip(&parts).map(|((c, _), p)| (*c, *p)));
                }
                let sum: u64 = live.iter().map(|(c, _)| inv.live_amount(&id(*c)).unwrap().0).sum();
                prop_assert_eq!(sum, face);
            }
        }
    }

    fn clear(root: u128, amount: &str, payouts: &[(u128, &str)]) -> Intent {
        let payouts: Vec<Value> = payouts
            .iter()
            .map(|(c, a)| json!({"certificate_id": id(*c), "holder_org_id": "h", "amount": a}))
            .collect();
        intent(
            types::CLEAR,
            json!({"root_id": id(root), "amount": amount, "payouts": payouts}),
        )
    }

    #[test]
    fn uuids_have_one_canonical_spelling() {
        let c = "0192f0c1-7c3a-7def-8123-456789abcdef";
        for s in [
            c,
            "0192F0C1-7C3A-7DEF-8123-456789ABCDEF",
            "0192f0c17c3a7def8123456789abcdef",
            "{0192f0c1-7c3a-7def-8123-456789abcdef}",
            "urn:uuid:0192f0c1-7c3a-7def-8123-456789abcdef",
        ] {
            assert_eq!(canonical_uuid(s).as_deref(), Some(c), "{s}");
        }
        for s in [
            "",
            "0192f0c1-7c3a-7def-8123-456789abcde",
            "0192f0c1-7c3a-7def-8123-456789abcdeg",
            "0192f0c17c3a-7def-8123-456789abcdef-",
            "--0192f0c17c3a7def8123456789abcdef",
            "0192f0c1-7c3a-7def-8123-456789abcdef0",
        ] {
            assert_eq!(canonical_uuid(s), None, "{s}");
        }
    }

    #[test]
    fn a_cancelled_or_rejected_certificate_carries_no_amount() {
        let mut inv = SplitConservesAmount::default();
        let kind = |k: &str, n: u128, extra: Value| {
            let mut body = json!({"certificate_id": id(n)});
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            intent(k, body)
        };
        for n in [1, 2, 3, 4] {
            issue(&mut inv, n, "1000.00");
        }
        // Cancelled before acceptance: no split, no clearing, no second cancel.
        step(
            &mut inv,
            &kind(types::CANCEL, 1, json!({"reason": "wrong amount"})),
        )
        .unwrap();
        let code = |i: &Intent, inv: &SplitConservesAmount| inv.check(0, i).unwrap_err().code;
        assert_eq!(
            code(
                &split(1, "1000.00", &[(11, "500.00"), (12, "500.00")]),
                &inv
            ),
            "certificate_spent"
        );
        assert_eq!(
            code(&clear(1, "1000.00", &[(1, "1000.00")]), &inv),
            "certificate_spent"
        );
        assert_eq!(
            code(&kind(types::CANCEL, 1, json!({})), &inv),
            "certificate_spent"
        );
        // Rejected by its holder: the same.
        step(
            &mut inv,
            &kind(
                types::ACCEPT,
                2,
                json!({"decision": "reject", "reason": "x"}),
            ),
        )
        .unwrap();
        assert_eq!(
            code(&clear(2, "1000.00", &[(2, "1000.00")]), &inv),
            "certificate_spent"
        );
        // An answer names the certificate canonically, with a known decision,
        // once, and only for a whole root: never a split child.
        let shouting = id(0xabcd).to_uppercase();
        let answer = |cert: &str, decision: &str| {
            intent(
                types::ACCEPT,
                json!({"certificate_id": cert, "decision": decision}),
            )
        };
        assert_eq!(code(&answer(&shouting, "reject"), &inv), "bad_intent");
        assert_eq!(code(&answer(&id(3), "maybe"), &inv), "bad_intent");
        assert_eq!(code(&answer(&id(2), "accept"), &inv), "certificate_spent");
        // Accepted: the issuer cannot cancel it any more.
        step(
            &mut inv,
            &kind(types::ACCEPT, 3, json!({"decision": "accept"})),
        )
        .unwrap();
        assert_eq!(
            code(&kind(types::CANCEL, 3, json!({})), &inv),
            "certificate_spent"
        );
        inv.check(0, &clear(3, "1000.00", &[(3, "1000.00")]))
            .unwrap();
        assert_eq!(code(&answer(&id(3), "reject"), &inv), "certificate_spent");
        // Split: its amount lives on in the children; not cancellable.
        step(
            &mut inv,
            &split(4, "1000.00", &[(41, "400.00"), (42, "600.00")]),
        )
        .unwrap();
        assert_eq!(
            code(&kind(types::CANCEL, 4, json!({})), &inv),
            "certificate_spent"
        );
        assert_eq!(
            code(&kind(types::CANCEL, 41, json!({})), &inv),
            "certificate_spent"
        );
    }

    #[test]
    fn clearing_pays_exactly_the_face_value_to_the_live_parts() {
        let mut inv = SplitConservesAmount::default();
        issue(&mut inv, 1, "1000.00");
        step(
            &mut inv,
            &split(1, "1000.00", &[(2, "600.00"), (3, "400.00")]),
        )
        .unwrap();
        step(
            &mut inv,
            &split(3, "400.00", &[(4, "100.00"), (5, "300.00")]),
        )
        .unwrap();
        let code = |i: &Intent, inv: &SplitConservesAmount| inv.check(0, i).unwrap_err().code;
        // Less than the face value, money made up, a spent parent paid, a
        // part missed, a part paid twice, a part that is not the root's.
        assert_eq!(
            code(
                &clear(1, "999.99", &[(2, "600.00"), (4, "100.00"), (5, "299.99")]),
                &inv
            ),
            "clearing_not_face_value"
        );
        assert_eq!(
            code(
                &clear(1, "1000.00", &[(2, "600.00"), (4, "100.00"), (5, "300.01")]),
                &inv
            ),
            "clearing_not_face_value"
        );
        assert_eq!(
            code(&clear(1, "1000.00", &[(2, "600.00"), (3, "400.00")]), &inv),
            "clearing_not_face_value"
        );
        assert_eq!(
            code(&clear(1, "1000.00", &[(2, "700.00"), (4, "300.00")]), &inv),
            "clearing_not_face_value"
        );
        assert_eq!(
            code(
                &clear(
                    1,
                    "1000.00",
                    &[(2, "600.00"), (4, "100.00"), (4, "100.00"), (5, "200.00")]
                ),
                &inv
            ),
            "clearing_not_face_value"
        );
        issue(&mut inv, 9, "50.00");
        assert_eq!(
            code(&clear(2, "600.00", &[(2, "600.00")]), &inv),
            "clearing_not_face_value"
        );
        assert_eq!(
            code(
                &clear(1, "1000.00", &[(2, "600.00"), (4, "100.00"), (9, "300.00")]),
                &inv
            ),
            "clearing_not_face_value"
        );
        // The exact payment clears; nothing of the root moves or pays again.
        step(
            &mut inv,
            &clear(1, "1000.00", &[(5, "300.00"), (2, "600.00"), (4, "100.00")]),
        )
        .unwrap();
        assert_eq!(
            code(
                &clear(1, "1000.00", &[(2, "600.00"), (4, "100.00"), (5, "300.00")]),
                &inv
            ),
            "certificate_spent"
        );
        assert_eq!(
            code(&split(2, "600.00", &[(6, "300.00"), (7, "300.00")]), &inv),
            "certificate_spent"
        );
        // Malformed bodies are bad intents.
        assert_eq!(
            code(
                &intent(types::CLEAR, json!({"root_id": id(9), "amount": "50.00"})),
                &inv
            ),
            "bad_intent"
        );
        assert_eq!(
            code(
                &intent(
                    types::CLEAR,
                    json!({"root_id": id(9), "amount": "5e1", "payouts": []})
                ),
                &inv
            ),
            "bad_intent"
        );
    }
}
