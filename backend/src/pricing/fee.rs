//! Fees: a whitelist of types, who pays whom, how the amount is set, and the small-firm rules.
//!
//! BRIEF §2.3 "Fees": banks may not charge small and micro firms 承诺费 (commitment fee) or
//! 资金管理费 (fund-management fee), and must strictly limit 财务顾问费 / 咨询费 [unchecked:
//! 银保监发〔2020〕18号]; "四公开" requires fee items to be disclosed. BRIEF §1.1 lists the fee
//! types met in receivable financing. The engine refuses the forbidden types with a typed error
//! and flags the restricted ones in the quote's notices; it does not cap amounts (the service's
//! per-programme rules do).

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::daycount::interest_act360;
use super::dmath;
use super::error::PricingError;
use super::money::{Money, Rounding};
use super::rate::AnnualRate;

/// Size class of the financed enterprise under 工信部联企业〔2011〕300号 (BRIEF §2.1).
/// The service classifies; the engine only uses it for the small-firm fee rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseSize {
    /// 微型企业.
    Micro,
    /// 小型企业.
    Small,
    /// 中型企业.
    Medium,
    /// 大型企业.
    Large,
}

impl EnterpriseSize {
    /// Micro and small firms are the ones the fee prohibitions protect.
    pub const fn is_small_or_micro(self) -> bool {
        matches!(self, EnterpriseSize::Micro | EnterpriseSize::Small)
    }
}

/// How a fee type is treated on financing to a small or micro firm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmallFirmFeeRule {
    /// No special rule.
    Allowed,
    /// Allowed but "strictly limited": reported as a notice on the quote.
    Restricted,
    /// Refused with [`PricingError::FeeForbiddenForSmallFirm`].
    Forbidden,
}

/// The fee types the engine knows. Anything else is not accepted (whitelist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeType {
    /// 保理手续费 / 保理服务费: the funder's factoring handling fee.
    FactoringFee,
    /// 平台服务费: the platform's (供应链信息服务机构) service fee.
    PlatformServiceFee,
    /// 登记费: registration (e.g. 中登网) cost passed through.
    RegistrationFee,
    /// 担保费: third-party guarantee.
    GuaranteeFee,
    /// 保险费: credit or cargo insurance premium.
    InsurancePremium,
    /// 评估费: appraisal.
    AppraisalFee,
    /// 公证费: notarisation.
    NotaryFee,
    /// 财务顾问费: restricted for small firms.
    FinancialAdvisoryFee,
    /// 咨询费: restricted for small firms.
    ConsultingFee,
    /// 承诺费: forbidden for small firms.
    CommitmentFee,
    /// 资金管理费: forbidden for small firms.
    FundManagementFee,
}

impl FeeType {
    /// The Chinese name used in disclosures.
    pub const fn chinese_name(self) -> &'static str {
        match self {
            FeeType::FactoringFee => "保理手续费",
            FeeType::PlatformServiceFee => "平台服务费",
            FeeType::RegistrationFee => "登记费",
            FeeType::GuaranteeFee => "担保费",
            FeeType::InsurancePremium => "保险费",
            FeeType::AppraisalFee => "评估费",
            FeeType::NotaryFee => "公证费",
            FeeType::FinancialAdvisoryFee => "财务顾问费",
            FeeType::ConsultingFee => "咨询费",
            FeeType::CommitmentFee => "承诺费",
            FeeType::FundManagementFee => "资金管理费",
        }
    }

    /// Treatment on financing to a small or micro firm (BRIEF §2.3).
    pub const fn small_firm_rule(self) -> SmallFirmFeeRule {
        match self {
            FeeType::CommitmentFee | FeeType::FundManagementFee => SmallFirmFeeRule::Forbidden,
            FeeType::FinancialAdvisoryFee | FeeType::ConsultingFee => SmallFirmFeeRule::Restricted,
            _ => SmallFirmFeeRule::Allowed,
        }
    }
}

impl fmt::Display for FeeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chinese_name())
    }
}

/// Who pays a cost. Only the two trade parties: a funder's own costs are not financing costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    /// The supplier (certificate holder, the financed party).
    Supplier,
    /// The core firm (certificate issuer), e.g. under 核心企业贴息.
    CoreFirm,
}

/// Who receives a cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    /// The bank or factoring company.
    Funder,
    /// The supply-chain information-service platform.
    Platform,
    /// A guarantee company.
    Guarantor,
    /// An insurer.
    Insurer,
    /// Any other third party (appraiser, notary, registry).
    OtherThirdParty,
}

/// How a fee amount is determined. Every computed amount is rounded once to the fen (half-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeeBasis {
    /// A fixed amount.
    Fixed {
        /// The amount (≥ 0).
        amount: Money,
    },
    /// A flat fraction of the advance, whatever the tenor (0.003 = 0.3 % of the advance).
    RateOfAdvance {
        /// Fraction in [0, 1].
        rate: Decimal,
    },
    /// An annual fraction of the advance for the financing days, ACT/360 like interest
    /// (advance × rate × days / 360); platforms often quote service fees this way.
    AnnualRateOfAdvance {
        /// Annual fraction.
        rate: AnnualRate,
    },
}

/// A fee requested on a quote. All fees are due on the financing date; supplier-paid fees are
/// deducted from the advance, core-firm-paid fees are settled by the core firm directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Type from the whitelist.
    pub fee_type: FeeType,
    /// Who pays.
    pub payer: Payer,
    /// Who receives.
    pub payee: Payee,
    /// How the amount is set.
    pub basis: FeeBasis,
}

/// A fee with its computed amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedFee {
    /// Type.
    pub fee_type: FeeType,
    /// Who pays.
    pub payer: Payer,
    /// Who receives.
    pub payee: Payee,
    /// How it was set.
    pub basis: FeeBasis,
    /// The amount, in fen.
    pub amount: Money,
}

/// A non-blocking remark attached to a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum QuoteNotice {
    /// A fee type that rules say must be "strictly limited" for small firms.
    RestrictedFeeForSmallFirm {
        /// Position in the request.
        index: usize,
        /// The fee type.
        fee_type: FeeType,
    },
}

/// Validates and computes every fee of a quote.
///
/// The small-firm prohibition applies whoever the payer is: the rule is about fees charged on
/// the financing of a small firm, and letting the core firm "pay" them would be 转嫁成本.
pub(crate) fn charge_fees(
    fees: &[Fee],
    advance: Money,
    days: u32,
    financed_size: EnterpriseSize,
    notices: &mut Vec<QuoteNotice>,
) -> Result<Vec<ChargedFee>, PricingError> {
    let mut charged: Vec<ChargedFee> = Vec::with_capacity(fees.len());
    for (index, fee) in fees.iter().enumerate() {
        if financed_size.is_small_or_micro() {
            match fee.fee_type.small_firm_rule() {
                SmallFirmFeeRule::Forbidden => {
                    return Err(PricingError::FeeForbiddenForSmallFirm {
                        index,
                        fee_type: fee.fee_type,
                    });
                }
                SmallFirmFeeRule::Restricted => {
                    notices.push(QuoteNotice::RestrictedFeeForSmallFirm {
                        index,
                        fee_type: fee.fee_type,
                    });
                }
                SmallFirmFeeRule::Allowed => {}
            }
        }
        if charged
            .iter()
            .any(|c| c.fee_type == fee.fee_type && c.payer == fee.payer && c.payee == fee.payee)
        {
            return Err(PricingError::DuplicateFee {
                index,
                fee_type: fee.fee_type,
            });
        }
        let amount = fee_amount(fee.basis, advance, days)?;
        charged.push(ChargedFee {
            fee_type: fee.fee_type,
            payer: fee.payer,
            payee: fee.payee,
            basis: fee.basis,
            amount,
        });
    }
    Ok(charged)
}

fn fee_amount(basis: FeeBasis, advance: Money, days: u32) -> Result<Money, PricingError> {
    const CONTEXT: &str = "fee amount";
    match basis {
        FeeBasis::Fixed { amount } => amount.require_non_negative("fee amount"),
        FeeBasis::RateOfAdvance { rate } => {
            if rate < Decimal::ZERO || rate > Decimal::ONE {
                return Err(PricingError::OutOfRange {
                    field: "fee rate of advance",
                    value: rate,
                    min: Decimal::ZERO,
                    max: Decimal::ONE,
                });
            }
            Money::round(
                dmath::exact_mul(advance.amount(), rate, CONTEXT)?,
                Rounding::Fen,
            )
        }
        FeeBasis::AnnualRateOfAdvance { rate } => interest_act360(advance, rate, days),
    }
}
