//! The `invoice_backs_one_certificate` invariant (SPEC.md §8.5): an invoice
//! named by a payables certificate backs that certificate alone, from the
//! issuer's confirmation until the certificate is void (cancelled or
//! rejected). Financing is against certificates, so this is what "no
//! invoice financed twice" means for receivables, and the export alone
//! proves it.

use crate::conservation::types;
use crate::intent::Intent;
use crate::state::{Invariant, Violation};
use serde_json::Value;
use std::collections::HashMap;

/// The seller voids (红冲) an invoice: it never backs a certificate.
pub const INVOICE_CANCEL: &str = "invoice.cancel";

/// Most invoices one certificate may name; more is refused.
pub const MAX_INVOICES: usize = 1_000;

/// An invoice id as this invariant compares it: canonical, whatever
/// spelling the platform took it in, so one invoice has one key here.
fn invoice_key(s: &str) -> Option<String> {
    crate::conservation::canonical_uuid(s)
}

/// State: what each proposal names, and which certificate each backed
/// invoice belongs to.
#[derive(Debug, Default, Clone)]
pub struct InvoiceBacksOneCertificate {
    named: HashMap<String, Vec<String>>,
    backing: HashMap<String, String>,
    voided: std::collections::HashSet<String>,
}

fn bad(message: impl Into<String>) -> Violation {
    Violation::new("bad_intent", message)
}

/// The invoices a proposal names (`body.invoice_ids`, absent = none).
fn read_invoices(intent: &Intent) -> Result<Vec<String>, Violation> {
    let Some(v) = intent.body.get("invoice_ids") else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .filter(|a| a.len() <= MAX_INVOICES)
        .ok_or_else(|| {
            bad(format!(
                "body.invoice_ids must be an array of at most {MAX_INVOICES} ids"
            ))
        })?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .and_then(invoice_key)
                .ok_or_else(|| bad(format!("body.invoice_ids[{i}] must be a UUID")))
        })
        .collect()
}

fn certificate(intent: &Intent) -> Option<&str> {
    intent.body.get("certificate_id").and_then(Value::as_str)
}

impl Invariant for InvoiceBacksOneCertificate {
    fn name(&self) -> &'static str {
        "invoice_backs_one_certificate"
    }

    fn check(&self, _seq: u64, intent: &Intent) -> Result<(), Violation> {
        match intent.kind.as_str() {
            types::PROPOSE => {
                let ids = read_invoices(intent)?;
                for (i, id) in ids.iter().enumerate() {
                    if ids.iter().take(i).any(|o| o == id) {
                        return Err(Violation::new(
                            "invoice_financed_twice",
                            format!("body.invoice_ids names invoice {id} twice"),
                        ));
                    }
                }
                Ok(())
            }
            types::CONFIRM => {
                let Some(cert) = certificate(intent) else {
                    return Ok(());
                };
                for id in self.named.get(cert).into_iter().flatten() {
                    if self.voided.contains(id) {
                        return Err(Violation::new(
                            "invoice_void",
                            format!("invoice {id} was voided by its seller"),
                        ));
                    }
                    if let Some(other) = self.backing.get(id).filter(|o| *o != cert) {
                        return Err(Violation::new(
                            "invoice_financed_twice",
                            format!("invoice {id} already backs certificate {other}"),
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn apply(&mut self, _seq: u64, intent: &Intent) {
        if intent.kind == INVOICE_CANCEL {
            if let Some(id) = intent
                .body
                .get("invoice_id")
                .and_then(Value::as_str)
                .and_then(invoice_key)
            {
                self.voided.insert(id);
            }
            return;
        }
        let Some(cert) = certificate(intent) else {
            return;
        };
        let void = match intent.kind.as_str() {
            types::PROPOSE => {
                if let Ok(ids) = read_invoices(intent) {
                    self.named.insert(cert.to_owned(), ids);
                }
                false
            }
            types::CONFIRM => {
                for id in self.named.get(cert).into_iter().flatten() {
                    self.backing.insert(id.clone(), cert.to_owned());
                }
                false
            }
            types::CANCEL => true,
            types::ACCEPT => intent.body.get("decision").and_then(Value::as_str) == Some("reject"),
            _ => false,
        };
        if void {
            // Free again: the invoices may back another certificate.
            for id in self.named.get(cert).into_iter().flatten() {
                if self.backing.get(id).map(String::as_str) == Some(cert) {
                    self.backing.remove(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sig::SecretKey;
    use crate::time::Timestamp;
    use serde_json::json;

    fn intent(kind: &str, body: Value) -> Intent {
        Intent {
            kind: kind.into(),
            org: "org-core".into(),
            key_id: SecretKey::from_seed(&[7; 32]).public_key().key_id(),
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

    fn step(inv: &mut InvoiceBacksOneCertificate, i: &Intent) -> Result<(), Violation> {
        inv.check(0, i)?;
        inv.apply(0, i);
        Ok(())
    }

    fn propose(cert: u128, invoices: &[&str]) -> Intent {
        intent(
            types::PROPOSE,
            json!({"certificate_id": id(cert), "face_value": "10.00", "invoice_ids": invoices}),
        )
    }

    fn confirm(cert: u128) -> Intent {
        intent(
            types::CONFIRM,
            json!({"certificate_id": id(cert), "face_value": "10.00"}),
        )
    }

    #[test]
    fn an_invoice_backs_one_live_certificate() {
        let mut inv = InvoiceBacksOneCertificate::default();
        let (a, b) = (id(100), id(101));
        step(&mut inv, &propose(1, &[&a, &b])).unwrap();
        step(&mut inv, &confirm(1)).unwrap();
        // Proposing is free; confirming a second certificate on `b` is not,
        // however the id is spelt.
        let shouting = b.to_uppercase().replace('-', "");
        step(&mut inv, &propose(2, &[&shouting])).unwrap();
        assert_eq!(
            inv.check(0, &confirm(2)).unwrap_err().code,
            "invoice_financed_twice"
        );
        // Named twice in one proposal.
        assert_eq!(
            inv.check(0, &propose(3, &[&a, &a])).unwrap_err().code,
            "invoice_financed_twice"
        );
        assert_eq!(
            inv.check(0, &propose(3, &["not-a-uuid"])).unwrap_err().code,
            "bad_intent"
        );
        // Certificate 1 is cancelled: its invoices are free again.
        step(
            &mut inv,
            &intent(
                types::CANCEL,
                json!({"certificate_id": id(1), "reason": "x"}),
            ),
        )
        .unwrap();
        step(&mut inv, &confirm(2)).unwrap();
        // Rejected by its holder: the same.
        step(
            &mut inv,
            &intent(
                types::ACCEPT,
                json!({"certificate_id": id(2), "decision": "reject"}),
            ),
        )
        .unwrap();
        step(&mut inv, &propose(4, &[&b])).unwrap();
        step(&mut inv, &confirm(4)).unwrap();
        // Accepted, it keeps them.
        step(
            &mut inv,
            &intent(
                types::ACCEPT,
                json!({"certificate_id": id(4), "decision": "accept"}),
            ),
        )
        .unwrap();
        step(&mut inv, &propose(5, &[&b])).unwrap();
        assert_eq!(
            inv.check(0, &confirm(5)).unwrap_err().code,
            "invoice_financed_twice"
        );
        // A voided invoice backs nothing, however its id is spelt.
        let c = id(200);
        step(
            &mut inv,
            &intent(
                INVOICE_CANCEL,
                json!({"invoice_id": c.to_uppercase(), "reason": "x"}),
            ),
        )
        .unwrap();
        step(&mut inv, &propose(7, &[&c])).unwrap();
        assert_eq!(inv.check(0, &confirm(7)).unwrap_err().code, "invoice_void");
        // Invoices named by no certificate, and proposals without any, pass.
        step(
            &mut inv,
            &intent(
                types::PROPOSE,
                json!({"certificate_id": id(6), "face_value": "1"}),
            ),
        )
        .unwrap();
        step(&mut inv, &confirm(6)).unwrap();
    }
}
