//! SME size classes (工信部联企业〔2011〕300号, BRIEF.md §2.1). The bounds
//! are data in `size_class_rules`, dated and versioned; this module only
//! reads a rule and applies it. A revised standard is new rows, not code.

use super::model::SizeClass;
use crate::db::schema::size_class_rules;
use crate::db::{DbConn, DbError, DbId};
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The figures a firm declares, money in CNY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub headcount: i64,
    pub revenue: Decimal,
    pub total_assets: Decimal,
}

/// One industry's bounds, money in 万元 (10,000 CNY) as the standard states
/// them. Each map lists only the indicators the standard uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rule {
    /// An SME if ANY listed indicator is below its bound ("以下").
    pub sme_below: BTreeMap<Indicator, Decimal>,
    /// An SME is medium if ALL listed indicators are at or above ("及以上").
    pub medium_min: BTreeMap<Indicator, Decimal>,
    /// Otherwise small if ALL listed indicators are at or above; else micro.
    pub small_min: BTreeMap<Indicator, Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    Headcount,
    Revenue,
    TotalAssets,
}

/// 万元: the standard's money unit.
const WAN: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl Figures {
    /// The indicator in the standard's unit. Division by 10,000 is exact in
    /// `Decimal`, so no rounding happens here.
    fn value(&self, i: Indicator) -> Decimal {
        match i {
            Indicator::Headcount => Decimal::from(self.headcount),
            Indicator::Revenue => self.revenue / WAN,
            Indicator::TotalAssets => self.total_assets / WAN,
        }
    }
}

impl Rule {
    pub fn classify(&self, f: &Figures) -> SizeClass {
        let all_at_least =
            |bounds: &BTreeMap<Indicator, Decimal>| bounds.iter().all(|(i, b)| f.value(*i) >= *b);
        if all_at_least(&self.sme_below) {
            SizeClass::Large
        } else if all_at_least(&self.medium_min) {
            SizeClass::Medium
        } else if all_at_least(&self.small_min) {
            SizeClass::Small
        } else {
            SizeClass::Micro
        }
    }
}

/// The rule row in force for `industry` on `on`.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: DbId,
    pub version: i32,
    pub effective_from: NaiveDate,
    pub rule: Rule,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("unknown industry {0:?}; GET /v1/size-class-rules lists the industries")]
    UnknownIndustry(String),
    #[error("size-class rule {0} is not valid JSON for a rule: {1}")]
    Corrupt(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RuleError {
    fn from(e: diesel::result::Error) -> Self {
        RuleError::Db(e.into())
    }
}

/// The newest rule for `industry` that took effect on or before `on`.
pub fn rule_in_force(
    conn: &mut DbConn,
    industry: &str,
    on: NaiveDate,
) -> Result<RuleRow, RuleError> {
    let row: Option<(DbId, i32, NaiveDate, String)> = size_class_rules::table
        .filter(size_class_rules::industry.eq(industry))
        .filter(size_class_rules::effective_from.le(on))
        .order(size_class_rules::effective_from.desc())
        .select((
            size_class_rules::id,
            size_class_rules::version,
            size_class_rules::effective_from,
            size_class_rules::rule,
        ))
        .first(conn)
        .optional()?;
    let (id, version, effective_from, text) =
        row.ok_or_else(|| RuleError::UnknownIndustry(industry.to_owned()))?;
    let rule = serde_json::from_str(&text)
        .map_err(|e| RuleError::Corrupt(id.0.to_string(), e.to_string()))?;
    Ok(RuleRow {
        id,
        version,
        effective_from,
        rule,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The 工业 row as seeded.
    fn industry() -> Rule {
        serde_json::from_str(r#"{"medium_min":{"headcount":300,"revenue":2000},"money_unit":"10000 CNY","name_zh":"工业","small_min":{"headcount":20,"revenue":300},"sme_below":{"headcount":1000,"revenue":40000}}"#).unwrap()
    }

    fn figs(headcount: i64, revenue_cny: &str) -> Figures {
        Figures {
            headcount,
            revenue: revenue_cny.parse().unwrap(),
            total_assets: Decimal::ZERO,
        }
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// Hand-worked against the standard's text for 工业: "从业人员20人及以上，
    /// 且营业收入300万元及以上的为小型企业" and so on; bounds are inclusive
    /// below ("及以上") and exclusive above ("以下").
    #[test]
    fn industry_bounds() {
        let r = industry();
        assert_eq!(r.classify(&figs(19, "100000000")), SizeClass::Micro);
        assert_eq!(r.classify(&figs(20, "2999999.99")), SizeClass::Micro);
        assert_eq!(r.classify(&figs(20, "3000000")), SizeClass::Small);
        assert_eq!(r.classify(&figs(299, "500000000")), SizeClass::Small);
        assert_eq!(r.classify(&figs(300, "20000000")), SizeClass::Medium);
        assert_eq!(r.classify(&figs(999, "900000000")), SizeClass::Medium);
        assert_eq!(r.classify(&figs(1000, "399999999.99")), SizeClass::Medium);
        assert_eq!(r.classify(&figs(1000, "400000000")), SizeClass::Large);
        assert_eq!(dec("400000000") / WAN, dec("40000"));
    }

    #[test]
    fn assets_only_industries() {
        let leasing: Rule = serde_json::from_str(r#"{"medium_min":{"headcount":100,"total_assets":8000},"small_min":{"headcount":10,"total_assets":100},"sme_below":{"headcount":300,"total_assets":120000}}"#).unwrap();
        let f = Figures {
            headcount: 10,
            revenue: Decimal::ZERO,
            total_assets: dec("1000000"),
        };
        assert_eq!(leasing.classify(&f), SizeClass::Small);
        let f = Figures {
            total_assets: dec("999999.99"),
            ..f
        };
        assert_eq!(leasing.classify(&f), SizeClass::Micro);
    }
}
