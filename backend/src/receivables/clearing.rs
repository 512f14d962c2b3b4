//! 清分: sharing what the issuer paid for a root certificate among the
//! current holders of its parts, pro rata to what each part is worth.
//!
//! Rounding rule, named **largest remainder to the fen**: every share is
//! first rounded *down* to the fen; the fen left over (fewer than the
//! number of parts) then go one each to the parts with the largest
//! dropped remainders, ties to the earlier part in the given order. So the
//! shares always add up to exactly what was paid, no part gets more than
//! it is worth, and a full payment pays every part its amount exactly.
//! Pure: no storage, no clock.

use crate::pricing::money::Money;
use rust_decimal::Decimal;
use uuid::Uuid;

/// One part of a root certificate (a leaf: not split further).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub certificate: Uuid,
    pub holder: Uuid,
    pub amount: Money,
}

/// What one part's holder receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    pub certificate: Uuid,
    pub holder: Uuid,
    pub amount: Money,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClearingError {
    #[error("nothing to clear: the root has no outstanding parts")]
    NoParts,
    #[error("a part's amount must be above zero")]
    EmptyPart,
    #[error("the payment {paid} must be above zero and at most the parts' total {total}")]
    OutOfRange { paid: Money, total: Money },
}

/// Shares `paid` among `parts` pro rata to their amounts.
pub fn pro_rata(paid: Money, parts: &[Part]) -> Result<Vec<Payout>, ClearingError> {
    if parts.is_empty() {
        return Err(ClearingError::NoParts);
    }
    if parts.iter().any(|p| !p.amount.is_positive()) {
        return Err(ClearingError::EmptyPart);
    }
    // Work in whole fen: amounts are at most 1e14 fen, so products of two
    // fit in i128 with room to spare.
    let fen = |m: Money| -> i128 {
        let d = m.amount() * Decimal::ONE_HUNDRED;
        d.mantissa() / 10i128.pow(d.scale())
    };
    let total_fen: i128 = parts.iter().map(|p| fen(p.amount)).sum();
    let paid_fen = fen(paid);
    let total =
        Money::from_fen(i64::try_from(total_fen).unwrap_or(i64::MAX)).unwrap_or(Money::ZERO);
    if paid_fen <= 0 || paid_fen > total_fen {
        return Err(ClearingError::OutOfRange { paid, total });
    }
    let mut shares: Vec<(i128, i128)> = parts
        .iter()
        .map(|p| {
            let num = paid_fen * fen(p.amount);
            (num / total_fen, num % total_fen)
        })
        .collect();
    let given: i128 = shares.iter().map(|(s, _)| s).sum();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Largest remainder first; the sort is stable, so ties keep part order.
    order.sort_by(|a, b| {
        let ra = shares.get(*a).map_or(0, |s| s.1);
        let rb = shares.get(*b).map_or(0, |s| s.1);
        rb.cmp(&ra)
    });
    let left = usize::try_from(paid_fen - given).unwrap_or(0);
    for i in order.into_iter().take(left) {
        if let Some(s) = shares.get_mut(i) {
            s.0 += 1;
        }
    }
    Ok(parts
        .iter()
        .zip(shares)
        .map(|(p, (share, _))| Payout {
            certificate: p.certificate,
            holder: p.holder,
            amount: Money::from_fen(i64::try_from(share).unwrap_or(0)).unwrap_or(Money::ZERO),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn part(fen: i64) -> Part {
        Part {
            certificate: Uuid::new_v4(),
            holder: Uuid::new_v4(),
            amount: Money::from_fen(fen).unwrap(),
        }
    }

    fn yuan(s: &str) -> Money {
        Money::new(s.parse().unwrap()).unwrap()
    }

    #[test]
    fn a_full_payment_pays_each_part_its_amount() {
        let parts = [part(30_000_000), part(50_000_000), part(20_000_000)];
        let out = pro_rata(yuan("1000000.00"), &parts).unwrap();
        for (p, o) in parts.iter().zip(&out) {
            assert_eq!(p.amount, o.amount);
            assert_eq!(p.holder, o.holder);
        }
    }

    #[test]
    fn leftover_fen_go_to_the_largest_remainders() {
        // 100.00 over three equal parts: 33.33 each and one fen over, which
        // goes to the first part (equal remainders, part order).
        let parts = [part(100), part(100), part(100)];
        let out = pro_rata(yuan("1.00"), &parts).unwrap();
        let got: Vec<String> = out.iter().map(|o| o.amount.amount().to_string()).collect();
        assert_eq!(got, ["0.34", "0.33", "0.33"]);
        // 10.00 over 1 : 2 : 3 → 1.666…, 3.333…, 5.000 → 1.67, 3.33, 5.00.
        let parts = [part(1000), part(2000), part(3000)];
        let out = pro_rata(yuan("10.00"), &parts).unwrap();
        let got: Vec<String> = out.iter().map(|o| o.amount.amount().to_string()).collect();
        assert_eq!(got, ["1.67", "3.33", "5.00"]);
    }

    #[test]
    fn refuses_what_cannot_be_cleared() {
        assert_eq!(pro_rata(yuan("1.00"), &[]), Err(ClearingError::NoParts));
        assert!(matches!(
            pro_rata(yuan("3.01"), &[part(100), part(200)]),
            Err(ClearingError::OutOfRange { .. })
        ));
        assert!(matches!(
            pro_rata(Money::ZERO, &[part(100)]),
            Err(ClearingError::OutOfRange { .. })
        ));
        assert_eq!(
            pro_rata(yuan("1.00"), &[part(100), part(0)]),
            Err(ClearingError::EmptyPart)
        );
    }

    proptest! {
        /// Clearing pays out exactly what was paid, never more to a part
        /// than it is worth, and each part within a fen of its exact share.
        #[test]
        fn pays_out_exactly_what_was_paid(
            amounts in prop::collection::vec(1i64..10_000_000_000, 1..40),
            paid_permille in 1u32..=1000,
        ) {
            let parts: Vec<Part> = amounts.iter().map(|f| part(*f)).collect();
            let total: i128 = amounts.iter().map(|a| i128::from(*a)).sum();
            let paid_fen = (total * i128::from(paid_permille) / 1000).max(1);
            let paid = Money::from_fen(i64::try_from(paid_fen).unwrap()).unwrap();
            let out = pro_rata(paid, &parts).unwrap();
            let sum = Money::sum(out.iter().map(|o| o.amount)).unwrap();
            prop_assert_eq!(sum, paid);
            for (p, o) in parts.iter().zip(&out) {
                prop_assert!(o.amount <= p.amount);
                let exact = Decimal::from(i64::try_from(paid_fen).unwrap()) * p.amount.amount()
                    / Decimal::from(i64::try_from(total).unwrap());
                prop_assert!((o.amount.amount() - exact).abs() < Decimal::new(1, 2));
            }
            if paid_permille == 1000 {
                for (p, o) in parts.iter().zip(&out) {
                    prop_assert_eq!(p.amount, o.amount);
                }
            }
        }
    }
}
