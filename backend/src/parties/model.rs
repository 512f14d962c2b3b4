//! The vocabulary of parties: organisation kinds, roles, and the onboarding
//! workflows as explicit state machines (a status enum plus a transition
//! table). Stored as the snake_case strings the database CHECKs allow.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

string_enum!(
    /// What an organisation is on the platform.
    OrgKind {
        PlatformOperator => "platform_operator",
        CoreEnterprise => "core_enterprise",
        Funder => "funder",
        Supplier => "supplier",
        Distributor => "distributor",
        Warehouse => "warehouse",
        Logistics => "logistics",
    }
);

impl OrgKind {
    /// Kinds the platform operator onboards itself; suppliers and
    /// distributors come in through a core enterprise's invitation.
    pub fn onboarded_by_operator(self) -> bool {
        matches!(
            self,
            OrgKind::CoreEnterprise | OrgKind::Funder | OrgKind::Warehouse | OrgKind::Logistics
        )
    }
}

string_enum!(
    /// A user's role inside its organisation.
    Role {
        Admin => "admin",
        Maker => "maker",
        Checker => "checker",
        Viewer => "viewer",
        Auditor => "auditor",
    }
);

string_enum!(
    /// Where a counterparty sits in the core enterprise's chain.
    Direction {
        Upstream => "upstream",
        Downstream => "downstream",
    }
);

impl Direction {
    /// Upstream firms supply the core enterprise; downstream firms
    /// distribute its goods.
    pub fn counterparty_kind(self) -> OrgKind {
        match self {
            Direction::Upstream => OrgKind::Supplier,
            Direction::Downstream => OrgKind::Distributor,
        }
    }
}

string_enum!(
    /// SME size class under the dated rules in `size_class_rules`.
    SizeClass {
        Large => "large",
        Medium => "medium",
        Small => "small",
        Micro => "micro",
    }
);

string_enum!(
    /// Onboarding status of an organisation.
    OrgStatus {
        Invited => "invited",
        KycPending => "kyc_pending",
        Approved => "approved",
        Rejected => "rejected",
    }
);

string_enum!(
    /// What moves an organisation through onboarding.
    OrgEvent {
        Register => "register",
        Approve => "approve",
        Reject => "reject",
    }
);

/// Every allowed move; anything else is refused. A rejected firm may
/// correct its registration and be reviewed again; an approved firm is
/// final for onboarding (later changes are their own workflows).
pub const ORG_TRANSITIONS: &[(OrgStatus, OrgEvent, OrgStatus)] = &[
    (
        OrgStatus::Invited,
        OrgEvent::Register,
        OrgStatus::KycPending,
    ),
    (
        OrgStatus::Rejected,
        OrgEvent::Register,
        OrgStatus::KycPending,
    ),
    (
        OrgStatus::KycPending,
        OrgEvent::Approve,
        OrgStatus::Approved,
    ),
    (OrgStatus::KycPending, OrgEvent::Reject, OrgStatus::Rejected),
];

impl OrgStatus {
    pub fn next(self, event: OrgEvent) -> Option<OrgStatus> {
        ORG_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }
}

string_enum!(
    /// A core enterprise's relationship with a counterparty.
    RelStatus {
        Pending => "pending",
        Active => "active",
    }
);

string_enum!(
    RelEvent {
        CounterpartyApproved => "counterparty_approved",
    }
);

/// A relationship is usable (for financing) once the invited firm passed
/// KYC; until then both sides see it as pending.
pub const REL_TRANSITIONS: &[(RelStatus, RelEvent, RelStatus)] = &[(
    RelStatus::Pending,
    RelEvent::CounterpartyApproved,
    RelStatus::Active,
)];

impl RelStatus {
    pub fn next(self, event: RelEvent) -> Option<RelStatus> {
        REL_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }
}

/// The kinds that buy and sell in a program: the core enterprise and its
/// suppliers and distributors.
const TRADERS: &[OrgKind] = &[
    OrgKind::CoreEnterprise,
    OrgKind::Supplier,
    OrgKind::Distributor,
];

string_enum!(
    /// A settlement bank account's status.
    AccountStatus {
        Pending => "pending",
        Verified => "verified",
        Rejected => "rejected",
        Revoked => "revoked",
    }
);

string_enum!(
    /// What moves a settlement account.
    AccountEvent {
        Verify => "verify",
        Reject => "reject",
        Revoke => "revoke",
    }
);

/// Every allowed move. Rejected and revoked are final: the organisation
/// adds the account again, which starts a new review, so a verification
/// always refers to the data that was checked.
pub const ACCOUNT_TRANSITIONS: &[(AccountStatus, AccountEvent, AccountStatus)] = &[
    (
        AccountStatus::Pending,
        AccountEvent::Verify,
        AccountStatus::Verified,
    ),
    (
        AccountStatus::Pending,
        AccountEvent::Reject,
        AccountStatus::Rejected,
    ),
    (
        AccountStatus::Verified,
        AccountEvent::Revoke,
        AccountStatus::Revoked,
    ),
];

impl AccountStatus {
    pub fn next(self, event: AccountEvent) -> Option<AccountStatus> {
        ACCOUNT_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
    }

    /// The events allowed from this status, for a refusal that says what
    /// would have been possible.
    pub fn allowed(self) -> Vec<AccountEvent> {
        ACCOUNT_TRANSITIONS
            .iter()
            .filter(|(from, _, _)| *from == self)
            .map(|(_, e, _)| *e)
            .collect()
    }
}

/// Who may do what. One table, so the authorisation matrix test and the
/// handlers read the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Onboard a core enterprise, funder, warehouse or logistics firm.
    OnboardOrg,
    /// Decide a KYC review.
    DecideKyc,
    /// Invite a supplier or distributor.
    InviteCounterparty,
    /// Submit the organisation's own registration.
    Register,
    /// Add a user to the organisation.
    AddUser,
    /// Publish market data (LPR fixings).
    PublishMarketData,
    /// Create the core enterprise's program and draft plan versions.
    DraftPlan,
    /// Approve a plan version (the core firm's checker, a funder's approver).
    ApprovePlan,
    /// Record a purchase order or an invoice of a trade the firm is party to.
    RecordTrade,
    /// As the buyer, confirm or dispute an invoice, accept or reject a delivery.
    DecideTrade,
    /// Record a delivery against a purchase order (the carrier or the seller).
    RecordDelivery,
    /// Upload the invoices the core enterprise owes its suppliers in bulk.
    UploadInvoices,
    /// Propose a payables certificate (the core firm's maker).
    ProposeCertificate,
    /// Confirm a proposed certificate (the core firm's checker, never the
    /// proposer).
    ConfirmCertificate,
    /// Act as a certificate's holder: accept or reject it, split it,
    /// transfer it.
    HoldCertificate,
    /// Move the platform clock forward (test mode only).
    MoveClock,
    /// Add or revoke the organisation's own settlement bank account.
    ManageAccount,
    /// Verify or reject a settlement bank account.
    VerifyAccount,
    /// Apply to finance a certificate held, or withdraw the application.
    ApplyFinancing,
    /// Recommend a financing, record its 中登网 registration (the funder's
    /// analyst).
    RecommendFinancing,
    /// Decide, disburse, classify a financing or turn to recourse (the
    /// funder's approver, never the analyst who recommended).
    DecideFinancing,
    /// Pay a certificate at maturity into clearing (the core firm's checker).
    ClearCertificate,
}

impl Action {
    /// The organisation kinds and roles allowed to act; `None` for kinds
    /// means any kind (acting on its own organisation).
    pub fn allowed(self) -> (Option<&'static [OrgKind]>, &'static [Role]) {
        match self {
            Action::OnboardOrg => (
                Some(&[OrgKind::PlatformOperator]),
                &[Role::Admin, Role::Maker],
            ),
            Action::DecideKyc => (
                Some(&[OrgKind::PlatformOperator]),
                &[Role::Admin, Role::Checker],
            ),
            Action::InviteCounterparty => (
                Some(&[OrgKind::CoreEnterprise]),
                &[Role::Admin, Role::Maker],
            ),
            Action::Register | Action::AddUser | Action::ManageAccount => (None, &[Role::Admin]),
            Action::PublishMarketData | Action::MoveClock => {
                (Some(&[OrgKind::PlatformOperator]), &[Role::Admin])
            }
            Action::DraftPlan => (
                Some(&[OrgKind::CoreEnterprise]),
                &[Role::Admin, Role::Maker],
            ),
            Action::ApprovePlan => (
                Some(&[OrgKind::CoreEnterprise, OrgKind::Funder]),
                &[Role::Admin, Role::Checker],
            ),
            Action::RecordTrade => (Some(TRADERS), &[Role::Admin, Role::Maker]),
            Action::DecideTrade => (Some(TRADERS), &[Role::Admin, Role::Checker]),
            Action::RecordDelivery => (
                Some(&[
                    OrgKind::Logistics,
                    OrgKind::CoreEnterprise,
                    OrgKind::Supplier,
                    OrgKind::Distributor,
                ]),
                &[Role::Admin, Role::Maker],
            ),
            Action::UploadInvoices => (
                Some(&[OrgKind::CoreEnterprise]),
                &[Role::Admin, Role::Maker],
            ),
            Action::ProposeCertificate => (
                Some(&[OrgKind::CoreEnterprise]),
                &[Role::Admin, Role::Maker],
            ),
            Action::ConfirmCertificate => (
                Some(&[OrgKind::CoreEnterprise]),
                &[Role::Admin, Role::Checker],
            ),
            Action::HoldCertificate => (
                Some(&[OrgKind::Supplier]),
                &[Role::Admin, Role::Maker, Role::Checker],
            ),
            Action::ApplyFinancing => (Some(&[OrgKind::Supplier]), &[Role::Admin, Role::Maker]),
            Action::RecommendFinancing => (Some(&[OrgKind::Funder]), &[Role::Admin, Role::Maker]),
            Action::DecideFinancing => (Some(&[OrgKind::Funder]), &[Role::Admin, Role::Checker]),
            Action::ClearCertificate => (
                Some(&[OrgKind::CoreEnterprise]),
                &[Role::Admin, Role::Checker],
            ),
            Action::VerifyAccount => (
                Some(&[OrgKind::PlatformOperator]),
                &[Role::Admin, Role::Checker],
            ),
        }
    }

    pub fn permits(self, kind: OrgKind, role: Role) -> bool {
        let (kinds, roles) = self.allowed();
        kinds.is_none_or(|k| k.contains(&kind)) && roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = OrgEvent> {
        prop::sample::select(OrgEvent::ALL.to_vec())
    }

    proptest! {
        /// Whatever is attempted, a firm is approved only straight after a
        /// pending review, and every step taken is in the table.
        #[test]
        fn approval_only_follows_review(events in prop::collection::vec(event(), 0..40)) {
            let mut status = OrgStatus::Invited;
            for e in events {
                if let Some(next) = status.next(e) {
                    prop_assert!(ORG_TRANSITIONS.contains(&(status, e, next)));
                    if next == OrgStatus::Approved {
                        prop_assert_eq!(status, OrgStatus::KycPending);
                    }
                    status = next;
                }
            }
        }
    }

    fn account_event() -> impl Strategy<Value = AccountEvent> {
        prop::sample::select(AccountEvent::ALL.to_vec())
    }

    proptest! {
        /// Whatever is attempted, from any status: every step taken is in
        /// the table, an account is verified only straight after a pending
        /// review, revoked only after being verified, and rejected and
        /// revoked accounts never move again.
        #[test]
        fn accounts_move_only_by_the_table(
            start in prop::sample::select(AccountStatus::ALL.to_vec()),
            events in prop::collection::vec(account_event(), 0..40),
        ) {
            let mut status = start;
            for e in events {
                match status.next(e) {
                    Some(next) => {
                        prop_assert!(ACCOUNT_TRANSITIONS.contains(&(status, e, next)));
                        prop_assert!(status.allowed().contains(&e));
                        match next {
                            AccountStatus::Verified | AccountStatus::Rejected => {
                                prop_assert_eq!(status, AccountStatus::Pending);
                            }
                            AccountStatus::Revoked => {
                                prop_assert_eq!(status, AccountStatus::Verified);
                            }
                            AccountStatus::Pending => prop_assert!(false, "nothing returns to pending"),
                        }
                        status = next;
                    }
                    None => {
                        prop_assert!(!status.allowed().contains(&e));
                        prop_assert!(!ACCOUNT_TRANSITIONS.iter().any(|(f, ev, _)| *f == status && *ev == e));
                    }
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(*k));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        for s in OrgStatus::ALL {
            assert_eq!(OrgStatus::parse(s.as_str()), Some(*s));
        }
    }

    #[test]
    fn approved_is_final() {
        for e in OrgEvent::ALL {
            assert_eq!(OrgStatus::Approved.next(*e), None);
        }
    }
}
