//! The vocabulary of receivable financing: the application's statuses and
//! the one table of moves between them, and the pure rules the decision
//! applies (the three limits, the 普惠型小微 and 首贷户 flags). No storage.

use crate::parties::model::{SizeClass, string_enum};
use crate::pricing::money::Money;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

string_enum!(
    /// Where a financing is in its life.
    FinancingStatus {
        Applied => "applied",
        Recommended => "recommended",
        Approved => "approved",
        Declined => "declined",
        Withdrawn => "withdrawn",
        Disbursed => "disbursed",
        Recourse => "recourse",
        Settled => "settled",
    }
);

string_enum!(
    /// What moves a financing.
    FinancingEvent {
        Recommend => "recommend",
        Approve => "approve",
        Decline => "decline",
        Withdraw => "withdraw",
        Disburse => "disburse",
        ExerciseRecourse => "exercise_recourse",
        Repurchase => "repurchase",
        Settle => "settle",
    }
);

/// Every allowed move; anything else is refused. The funder's analyst
/// recommends, its approver (another person) decides; only the applicant
/// withdraws, and only before the decision. A disbursed financing is
/// settled by clearing at maturity, early by the supplier (随借随还), or
/// after recourse by the supplier's repurchase (or still by clearing, if
/// the issuer pays first).
pub const FINANCING_TRANSITIONS: &[(FinancingStatus, FinancingEvent, FinancingStatus)] = &[
    (
        FinancingStatus::Applied,
        FinancingEvent::Recommend,
        FinancingStatus::Recommended,
    ),
    (
        FinancingStatus::Applied,
        FinancingEvent::Withdraw,
        FinancingStatus::Withdrawn,
    ),
    (
        FinancingStatus::Recommended,
        FinancingEvent::Withdraw,
        FinancingStatus::Withdrawn,
    ),
    (
        FinancingStatus::Recommended,
        FinancingEvent::Approve,
        FinancingStatus::Approved,
    ),
    (
        FinancingStatus::Recommended,
        FinancingEvent::Decline,
        FinancingStatus::Declined,
    ),
    (
        FinancingStatus::Approved,
        FinancingEvent::Disburse,
        FinancingStatus::Disbursed,
    ),
    (
        FinancingStatus::Disbursed,
        FinancingEvent::Settle,
        FinancingStatus::Settled,
    ),
    (
        FinancingStatus::Disbursed,
        FinancingEvent::ExerciseRecourse,
        FinancingStatus::Recourse,
    ),
    (
        FinancingStatus::Recourse,
        FinancingEvent::Settle,
        FinancingStatus::Settled,
    ),
    (
        FinancingStatus::Recourse,
        FinancingEvent::Repurchase,
        FinancingStatus::Settled,
    ),
];

impl FinancingStatus {
    pub fn next(self, event: FinancingEvent) -> Option<FinancingStatus> {
        FINANCING_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }

    /// The events allowed from here, for refusals that name them.
    pub fn allowed(self) -> Vec<&'static str> {
        FINANCING_TRANSITIONS
            .iter()
            .filter(|(from, _, _)| *from == self)
            .map(|(_, e, _)| e.as_str())
            .collect()
    }

    /// Approved and not yet repaid: what uses the limits.
    pub const EXPOSED: &'static [FinancingStatus] = &[
        FinancingStatus::Approved,
        FinancingStatus::Disbursed,
        FinancingStatus::Recourse,
    ];

    /// Ever approved: a borrower with one of these is no 首贷户.
    pub const EVER_LENT: &'static [FinancingStatus] = &[
        FinancingStatus::Approved,
        FinancingStatus::Disbursed,
        FinancingStatus::Recourse,
        FinancingStatus::Settled,
    ];
}

/// What the three limits already carry, as advance (principal) amounts of
/// exposed financings: the whole program, the deciding funder's line, and
/// the borrowing counterparty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub program: Money,
    pub funder: Money,
    pub counterparty: Money,
}

/// The limits of the plan version in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub program: Money,
    pub funder_line: Money,
    pub counterparty: Money,
}

/// Which limit an approval would break, with the figures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {limit} limit of {cap} would be exceeded: {used} is in use and this needs {add}")]
pub struct LimitBreach {
    pub limit: &'static str,
    pub cap: Money,
    pub used: Money,
    pub add: Money,
}

/// Checks that `add` more fits in every limit.
pub fn check_limits(limits: Limits, usage: Usage, add: Money) -> Result<(), LimitBreach> {
    for (limit, cap, used) in [
        ("program", limits.program, usage.program),
        ("funder line", limits.funder_line, usage.funder),
        ("counterparty", limits.counterparty, usage.counterparty),
    ] {
        let after = used.checked_add(add).map_err(|_| LimitBreach {
            limit,
            cap,
            used,
            add,
        })?;
        if after > cap {
            return Err(LimitBreach {
                limit,
                cap,
                used,
                add,
            });
        }
    }
    Ok(())
}

/// The dated rule that defines 普惠型小微企业贷款 (policy rule
/// `inclusive_sme_loan`): lending to a small or micro firm whose aggregate
/// credit (单户授信总额) stays within the ceiling.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct InclusiveRule {
    pub max_aggregate_credit: Money,
}

/// The dated rule naming the 结息日 on which unpaid penalty and compound
/// interest join the interest base (policy rule `penalty_capitalisation`;
/// 按季结息: the 20th of each quarter's last month).
#[derive(Debug, Clone, Deserialize)]
pub struct CapitalisationRule {
    /// Months (1 to 12) that have a 结息日.
    pub months: Vec<u32>,
    /// Day of those months (1 to 28, so every month has it).
    pub day: u32,
}

impl CapitalisationRule {
    /// The 结息日 strictly after `from` and strictly before `to`, in order.
    pub fn dates_between(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for year in from.year()..=to.year() {
            let mut months = self.months.clone();
            months.sort_unstable();
            months.dedup();
            for m in months {
                if let Some(d) = NaiveDate::from_ymd_opt(year, m, self.day)
                    && d > from
                    && d < to
                {
                    out.push(d);
                }
            }
        }
        out
    }
}

/// The regulatory flags an approval records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Flags {
    /// 普惠型小微: a small or micro borrower whose aggregate credit on the
    /// platform, this financing included, is within the dated ceiling.
    pub inclusive_sme: bool,
    /// 首贷户: the borrower's first financing approved on the platform.
    pub first_loan: bool,
}

/// `aggregate_after` is the borrower's exposed advances with this one
/// added; `lent_before` whether it was ever lent to on the platform.
pub fn flags(
    size: SizeClass,
    aggregate_after: Money,
    lent_before: bool,
    rule: InclusiveRule,
) -> Flags {
    Flags {
        inclusive_sme: matches!(size, SizeClass::Small | SizeClass::Micro)
            && aggregate_after <= rule.max_aggregate_credit,
        first_loan: !lent_before,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn y(s: &str) -> Money {
        Money::new(s.parse().unwrap()).unwrap()
    }

    #[test]
    fn capitalisation_dates_are_the_quarter_end_twentieths_in_between() {
        let rule = CapitalisationRule {
            months: vec![12, 3, 6, 9],
            day: 20,
        };
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            rule.dates_between(d("2026-12-29"), d("2027-07-07")),
            vec![d("2027-03-20"), d("2027-06-20")]
        );
        // Both ends excluded: the period starts after `from`, and on `to`
        // accrual stops.
        assert_eq!(
            rule.dates_between(d("2026-12-20"), d("2027-03-20")),
            Vec::<NaiveDate>::new()
        );
        assert_eq!(
            rule.dates_between(d("2024-01-01"), d("2025-01-01")),
            vec![
                d("2024-03-20"),
                d("2024-06-20"),
                d("2024-09-20"),
                d("2024-12-20")
            ]
        );
    }

    #[test]
    fn limits_name_the_one_that_breaks() {
        let limits = Limits {
            program: y("1000"),
            funder_line: y("600"),
            counterparty: y("300"),
        };
        let usage = Usage {
            program: y("500"),
            funder: y("500"),
            counterparty: y("0"),
        };
        assert!(check_limits(limits, usage, y("100")).is_ok());
        let e = check_limits(limits, usage, y("100.01")).unwrap_err();
        assert_eq!(e.limit, "funder line");
        let usage = Usage {
            counterparty: y("250"),
            ..usage
        };
        assert_eq!(
            check_limits(limits, usage, y("60")).unwrap_err().limit,
            "counterparty"
        );
    }

    #[test]
    fn inclusive_and_first_loan_flags() {
        let rule = InclusiveRule {
            max_aggregate_credit: y("10000000.00"),
        };
        let f = flags(SizeClass::Micro, y("10000000.00"), false, rule);
        assert_eq!(
            f,
            Flags {
                inclusive_sme: true,
                first_loan: true
            }
        );
        let f = flags(SizeClass::Small, y("10000000.01"), true, rule);
        assert_eq!(
            f,
            Flags {
                inclusive_sme: false,
                first_loan: false
            }
        );
        let f = flags(SizeClass::Medium, y("1.00"), false, rule);
        assert!(!f.inclusive_sme);
    }

    fn event() -> impl Strategy<Value = FinancingEvent> {
        prop::sample::select(FinancingEvent::ALL.to_vec())
    }

    proptest! {
        /// Whatever is attempted, every step taken is in the table, money
        /// goes out only after an approval, and settled is final.
        #[test]
        fn no_move_outside_the_table(events in prop::collection::vec(event(), 0..40)) {
            let mut status = FinancingStatus::Applied;
            let mut approved = false;
            for e in events {
                match status.next(e) {
                    Some(next) => {
                        prop_assert!(FINANCING_TRANSITIONS.contains(&(status, e, next)));
                        prop_assert!(status != FinancingStatus::Settled);
                        if next == FinancingStatus::Approved { approved = true; }
                        if next == FinancingStatus::Disbursed { prop_assert!(approved); }
                        status = next;
                    }
                    None => prop_assert!(!FINANCING_TRANSITIONS.iter().any(|(f, ev, _)| *f == status && *ev == e)),
                }
            }
        }

        /// Limits never let usage pass a cap, whatever the order of asks.
        #[test]
        fn limits_hold_under_any_sequence(asks in prop::collection::vec(1i64..50_000, 0..60)) {
            let limits = Limits { program: y("1000.00"), funder_line: y("800.00"), counterparty: y("500.00") };
            let mut usage = Usage { program: Money::ZERO, funder: Money::ZERO, counterparty: Money::ZERO };
            for fen in asks {
                let add = Money::from_fen(fen).unwrap();
                if check_limits(limits, usage, add).is_ok() {
                    usage = Usage {
                        program: usage.program.checked_add(add).unwrap(),
                        funder: usage.funder.checked_add(add).unwrap(),
                        counterparty: usage.counterparty.checked_add(add).unwrap(),
                    };
                }
                prop_assert!(usage.program <= limits.program);
                prop_assert!(usage.funder <= limits.funder_line);
                prop_assert!(usage.counterparty <= limits.counterparty);
            }
        }
    }
}
