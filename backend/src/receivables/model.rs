//! The vocabulary of payables certificates: statuses and the one table of
//! moves between them, and the pure rules (amounts, splits, tenor, the
//! transfer cut-off) the workflow applies. No storage here.

use crate::parties::model::string_enum;
use crate::pricing::money::Money;
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use scf_ledger::conservation::Fen;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

string_enum!(
    /// Where a certificate is in its life.
    CertStatus {
        Proposed => "proposed",
        Issued => "issued",
        Active => "active",
        Locked => "locked",
        Split => "split",
        Financed => "financed",
        Settled => "settled",
        Rejected => "rejected",
        Cancelled => "cancelled",
    }
);

string_enum!(
    /// What moves a certificate.
    CertEvent {
        Confirm => "confirm",
        Cancel => "cancel",
        Accept => "accept",
        Reject => "reject",
        Split => "split",
        Transfer => "transfer",
        Lock => "lock",
        Unlock => "unlock",
        Finance => "finance",
        Settle => "settle",
    }
);

/// Every allowed move; anything else is refused. The core firm's checker
/// confirms a proposal (issued, 确权) and the supplier accepts it (签收);
/// only an active certificate is split, transferred or locked for
/// financing. A transfer changes the holder, not the status. Splitting
/// ends a certificate: its amount lives on in its children.
pub const CERT_TRANSITIONS: &[(CertStatus, CertEvent, CertStatus)] = &[
    (CertStatus::Proposed, CertEvent::Confirm, CertStatus::Issued),
    (
        CertStatus::Proposed,
        CertEvent::Cancel,
        CertStatus::Cancelled,
    ),
    (CertStatus::Issued, CertEvent::Cancel, CertStatus::Cancelled),
    (CertStatus::Issued, CertEvent::Accept, CertStatus::Active),
    (CertStatus::Issued, CertEvent::Reject, CertStatus::Rejected),
    (CertStatus::Active, CertEvent::Split, CertStatus::Split),
    (CertStatus::Active, CertEvent::Transfer, CertStatus::Active),
    (CertStatus::Active, CertEvent::Lock, CertStatus::Locked),
    (CertStatus::Locked, CertEvent::Unlock, CertStatus::Active),
    (CertStatus::Locked, CertEvent::Finance, CertStatus::Financed),
    (CertStatus::Active, CertEvent::Settle, CertStatus::Settled),
    (CertStatus::Financed, CertEvent::Settle, CertStatus::Settled),
];

impl CertStatus {
    pub fn next(self, event: CertEvent) -> Option<CertStatus> {
        CERT_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }

    /// The events allowed from here, for refusals that name them.
    pub fn allowed(self) -> Vec<&'static str> {
        CERT_TRANSITIONS
            .iter()
            .filter(|(from, _, _)| *from == self)
            .map(|(_, e, _)| e.as_str())
            .collect()
    }

    /// Confirmed by the issuer and not yet paid out or replaced by children:
    /// what counts against the program limit.
    pub const OUTSTANDING: &'static [CertStatus] = &[
        CertStatus::Issued,
        CertStatus::Active,
        CertStatus::Locked,
        CertStatus::Financed,
    ];
}

/// A certificate amount from its decimal string, with the ledger's own
/// spelling rule (`scf_ledger::conservation::Fen`), so the business and the
/// ledger agree on what an amount is. Must be above zero.
pub fn amount(s: &str) -> Option<Money> {
    let fen = Fen::parse(s)?;
    let fen = i64::try_from(fen.0).ok()?;
    Money::new(Decimal::new(fen, 2))
        .ok()
        .filter(|m| m.is_positive())
}

/// Whether the children's amounts hand on exactly the parent's.
pub fn check_split(parent: Money, children: &[Money]) -> Result<(), String> {
    if children.len() < 2 {
        return Err("a split needs at least two children".into());
    }
    if let Some(bad) = children.iter().find(|c| !c.is_positive()) {
        return Err(format!("every child amount must be above zero, not {bad}"));
    }
    let sum = Money::sum(children.iter().copied()).map_err(|e| e.to_string())?;
    if sum != parent {
        return Err(format!(
            "the children sum to {sum}, the available balance is {parent}: they must be equal"
        ));
    }
    Ok(())
}

/// Whether a certificate issued on `issue` and maturing on `maturity` is
/// within the plan's tenor.
pub fn check_tenor(
    issue: NaiveDate,
    maturity: NaiveDate,
    min_days: u16,
    max_months: u8,
) -> Result<(), String> {
    let days = (maturity - issue).num_days();
    let latest = issue.checked_add_months(Months::new(u32::from(max_months)));
    if days < i64::from(min_days) || latest.is_none_or(|l| maturity > l) {
        return Err(format!(
            "maturity {maturity} is {days} days after issue ({issue}); the plan allows {min_days} days to {max_months} months"
        ));
    }
    Ok(())
}

/// Why a certificate cannot move (split or transfer) now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmovable {
    /// Not active: locked for financing, not yet accepted, split, ...
    Status(CertStatus),
    /// Within the plan's cut-off before maturity.
    CutOff { maturity: NaiveDate, days: u16 },
    /// At or after maturity.
    Matured(NaiveDate),
}

impl std::fmt::Display for Unmovable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmovable::Status(CertStatus::Locked) => {
                f.write_str("the certificate is locked for financing")
            }
            Unmovable::Status(s) => write!(
                f,
                "the certificate is {s}; only an active (accepted) certificate is split or transferred"
            ),
            Unmovable::CutOff { maturity, days } => write!(
                f,
                "the certificate matures on {maturity}: no split or transfer within {days} days of maturity"
            ),
            Unmovable::Matured(m) => write!(f, "the certificate matured on {m}"),
        }
    }
}

/// Whether a certificate in `status` maturing on `maturity` may be split or
/// transferred on `today` under a plan with `cutoff_days`.
pub fn check_movable(
    status: CertStatus,
    maturity: NaiveDate,
    today: NaiveDate,
    cutoff_days: u16,
) -> Result<(), Unmovable> {
    if status != CertStatus::Active {
        return Err(Unmovable::Status(status));
    }
    let left = (maturity - today).num_days();
    if left <= 0 {
        return Err(Unmovable::Matured(maturity));
    }
    if left <= i64::from(cutoff_days) {
        return Err(Unmovable::CutOff {
            maturity,
            days: cutoff_days,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = CertEvent> {
        prop::sample::select(CertEvent::ALL.to_vec())
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    proptest! {
        /// Whatever is attempted, every move taken is in the table; a
        /// certificate is split, transferred or locked only while active,
        /// and nothing leaves a final state.
        #[test]
        fn no_move_outside_the_table(events in prop::collection::vec(event(), 0..60)) {
            let mut s = CertStatus::Proposed;
            for e in events {
                if let Some(n) = s.next(e) {
                    prop_assert!(CERT_TRANSITIONS.contains(&(s, e, n)));
                    if matches!(e, CertEvent::Split | CertEvent::Transfer | CertEvent::Lock) {
                        prop_assert_eq!(s, CertStatus::Active);
                    }
                    prop_assert!(!matches!(s, CertStatus::Split | CertStatus::Settled | CertStatus::Rejected | CertStatus::Cancelled));
                    s = n;
                } else {
                    prop_assert!(!s.allowed().contains(&e.as_str()));
                }
            }
        }

        /// A split is accepted exactly when the parts are positive and sum
        /// to the parent.
        #[test]
        fn splits_conserve(parent in 1i64..1_000_000_000, parts in prop::collection::vec(-5i64..1_000_000_000, 2..6)) {
            let p = Money::from_fen(parent).unwrap();
            let kids: Vec<Money> = parts.iter().map(|f| Money::from_fen(*f).unwrap()).collect();
            let ok = parts.iter().all(|f| *f > 0) && parts.iter().sum::<i64>() == parent;
            prop_assert_eq!(check_split(p, &kids).is_ok(), ok);
        }
    }

    #[test]
    fn amounts_follow_the_ledger_spelling() {
        assert_eq!(amount("1000.5").unwrap().to_string(), "1000.50");
        for bad in ["0", "0.00", "-1", "1.001", "1e3", "", "01"] {
            assert!(amount(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tenor_is_checked_in_days_and_calendar_months() {
        assert!(check_tenor(d("2026-01-31"), d("2026-02-07"), 7, 6).is_ok());
        assert!(check_tenor(d("2026-01-31"), d("2026-02-06"), 7, 6).is_err());
        // 31 Jan + 6 months is 31 Jul.
        assert!(check_tenor(d("2026-01-31"), d("2026-07-31"), 7, 6).is_ok());
        assert!(check_tenor(d("2026-01-31"), d("2026-08-01"), 7, 6).is_err());
    }

    #[test]
    fn cut_off_locks_and_maturity_stop_moves() {
        let m = d("2026-03-10");
        assert!(check_movable(CertStatus::Active, m, d("2026-03-06"), 3).is_ok());
        assert!(matches!(
            check_movable(CertStatus::Active, m, d("2026-03-07"), 3),
            Err(Unmovable::CutOff { .. })
        ));
        assert!(matches!(
            check_movable(CertStatus::Active, m, d("2026-03-10"), 0),
            Err(Unmovable::Matured(_))
        ));
        assert!(matches!(
            check_movable(CertStatus::Active, m, d("2026-04-01"), 3),
            Err(Unmovable::Matured(_))
        ));
        assert_eq!(
            check_movable(CertStatus::Locked, m, d("2026-01-01"), 3),
            Err(Unmovable::Status(CertStatus::Locked))
        );
    }
}
