//! The one diesel schema for both backends, maintained by hand: custom types
//! from `db::types` stand for the per-backend column types. The parity test
//! compares the two migration trees; repository tests on both backends catch
//! drift between this file and the migrations.

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    organisations (id) {
        id -> Id,
        kind -> Text,
        name -> Text,
        uscc -> Nullable<Text>,
        industry -> Nullable<Text>,
        status -> Text,
        kyc_reason -> Nullable<Text>,
        size_class -> Nullable<Text>,
        headcount -> Nullable<Integer>,
        revenue -> Nullable<Dec>,
        total_assets -> Nullable<Dec>,
        figures_year -> Nullable<Integer>,
        created_at -> Instant,
        updated_at -> Instant,
        size_rule_id -> Nullable<Id>,
        onboarded_by -> Nullable<Id>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    users (id) {
        id -> Id,
        org_id -> Id,
        name -> Text,
        role -> Text,
        created_at -> Instant,
        disabled_at -> Nullable<Instant>,
        enrol_key -> Nullable<Binary>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    api_tokens (id) {
        id -> Id,
        user_id -> Id,
        org_id -> Id,
        prefix -> Text,
        token_hash -> Binary,
        label -> Text,
        created_at -> Instant,
        expires_at -> Instant,
        revoked_at -> Nullable<Instant>,
        last_used_at -> Nullable<Instant>,
        ledger_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    signing_keys (key_id) {
        key_id -> Text,
        user_id -> Id,
        org_id -> Id,
        public_key -> Binary,
        added_seq -> BigInt,
        revoked_seq -> Nullable<BigInt>,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    relationships (id) {
        id -> Id,
        core_org_id -> Id,
        counterparty_org_id -> Id,
        direction -> Text,
        tier -> Integer,
        status -> Text,
        invited_by_user_id -> Id,
        created_at -> Instant,
        parent_org_id -> Nullable<Id>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    size_class_rules (id) {
        id -> Id,
        industry -> Text,
        effective_from -> Date,
        version -> Integer,
        rule -> Text,
        source -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    lpr_fixings (id) {
        id -> Id,
        tenor -> Text,
        fixing_date -> Date,
        rate -> Dec,
        source -> Text,
        ledger_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    programs (id) {
        id -> Id,
        core_org_id -> Id,
        name -> Text,
        created_seq -> BigInt,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    program_plans (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        version -> Integer,
        status -> Text,
        document -> Text,
        digest -> Text,
        effective_from -> Date,
        drafted_by -> Id,
        drafted_seq -> BigInt,
        created_at -> Instant,
        approved_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    plan_approvals (plan_id, org_id) {
        plan_id -> Id,
        core_org_id -> Id,
        org_id -> Id,
        user_id -> Id,
        ledger_seq -> BigInt,
        approved_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    policy_rules (id) {
        id -> Id,
        rule -> Text,
        effective_from -> Date,
        value -> Text,
        source -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    purchase_orders (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        buyer_org_id -> Id,
        seller_org_id -> Id,
        carrier_org_id -> Nullable<Id>,
        po_number -> Text,
        amount -> Dec,
        currency -> Text,
        order_date -> Date,
        status -> Text,
        recorded_seq -> BigInt,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    deliveries (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        po_id -> Id,
        recorded_by -> Id,
        delivered_on -> Date,
        reference -> Text,
        status -> Text,
        decision_note -> Nullable<Text>,
        recorded_seq -> BigInt,
        decided_seq -> Nullable<BigInt>,
        created_at -> Instant,
        decided_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    invoice_batches (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        uploaded_by -> Id,
        row_count -> Integer,
        total -> Dec,
        rows_root -> Text,
        asset_keys_root -> Text,
        ledger_seq -> BigInt,
        created_at -> Instant,
        rows_jsonl -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    invoices (id) {
        id -> Id,
        program_id -> Id,
        seller_org_id -> Id,
        buyer_org_id -> Id,
        seller_uscc -> Text,
        invoice_number -> Text,
        asset_key -> Text,
        amount -> Dec,
        issue_date -> Date,
        due_date -> Date,
        po_id -> Nullable<Id>,
        batch_id -> Nullable<Id>,
        status -> Text,
        certificate_id -> Nullable<Id>,
        recorded_seq -> BigInt,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    ledger_entries (seq) {
        seq -> BigInt,
        org_id -> Text,
        intent_id -> Text,
        event_type -> Text,
        time -> Instant,
        line -> Text,
        leaf -> Binary,
        chain -> Binary,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    ledger_checkpoints (size) {
        size -> BigInt,
        line -> Text,
        root -> Binary,
        chain -> Binary,
        time -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    idempotency (user_id, key) {
        org_id -> Id,
        user_id -> Id,
        key -> Text,
        request_hash -> Binary,
        status -> Nullable<Integer>,
        response_body -> Nullable<Binary>,
        response_headers -> Nullable<Text>,
        created_at -> Instant,
        completed_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    certificates (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        root_id -> Id,
        parent_id -> Nullable<Id>,
        holder_org_id -> Id,
        amount -> Dec,
        maturity_date -> Date,
        issued_on -> Nullable<Date>,
        status -> Text,
        invoice_ids -> Text,
        proposed_by -> Id,
        confirmed_by -> Nullable<Id>,
        created_seq -> BigInt,
        updated_seq -> BigInt,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    certificate_holdings (certificate_id, from_seq) {
        certificate_id -> Id,
        core_org_id -> Id,
        holder_org_id -> Id,
        from_seq -> BigInt,
        to_seq -> Nullable<BigInt>,
        from_at -> Instant,
        to_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    assignment_notices (id) {
        id -> Id,
        core_org_id -> Id,
        program_id -> Id,
        certificate_id -> Id,
        root_id -> Id,
        assignor_org_id -> Id,
        assignee_org_id -> Id,
        amount -> Dec,
        ledger_seq -> BigInt,
        notified_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    settlement_accounts (id) {
        id -> Id,
        org_id -> Id,
        bank_name -> Text,
        branch -> Text,
        account_number -> Text,
        account_name -> Text,
        currency -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        added_by -> Id,
        added_seq -> BigInt,
        decided_by -> Nullable<Id>,
        decided_seq -> Nullable<BigInt>,
        revoked_seq -> Nullable<BigInt>,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    financings (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        certificate_id -> Id,
        root_id -> Id,
        applicant_org_id -> Id,
        funder_org_id -> Id,
        face_amount -> Dec,
        advance_amount -> Dec,
        net_proceeds -> Dec,
        financing_date -> Date,
        maturity_date -> Date,
        plan_version -> Integer,
        quote -> Text,
        status -> Text,
        updated_seq -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    limit_usage (id) {
        id -> Id,
        scope -> Text,
        program_id -> Nullable<Id>,
        core_org_id -> Nullable<Id>,
        org_id -> Nullable<Id>,
        exposed -> Dec,
        updated_seq -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    financing_steps (id) {
        id -> Id,
        financing_id -> Id,
        core_org_id -> Id,
        step -> Text,
        org_id -> Id,
        user_id -> Id,
        note -> Nullable<Text>,
        ledger_seq -> BigInt,
        at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    financing_credit (financing_id) {
        financing_id -> Id,
        core_org_id -> Id,
        inclusive_sme -> Bool,
        first_loan -> Bool,
        disbursed_on -> Nullable<Date>,
        account_id -> Nullable<Id>,
        risk_class -> Nullable<Text>,
        days_past_due -> Nullable<Integer>,
        classified_on -> Nullable<Date>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    registration_tasks (financing_id) {
        financing_id -> Id,
        core_org_id -> Id,
        funder_org_id -> Id,
        due_on -> Date,
        registration_no -> Nullable<Text>,
        evidence_hash -> Nullable<Text>,
        done_seq -> Nullable<BigInt>,
        done_at -> Nullable<Instant>,
        created_seq -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::sql_types::*;

    cash_movements (id) {
        id -> Id,
        program_id -> Id,
        core_org_id -> Id,
        kind -> Text,
        financing_id -> Nullable<Id>,
        certificate_id -> Nullable<Id>,
        payer_org_id -> Id,
        payee_org_id -> Id,
        account_id -> Nullable<Id>,
        amount -> Dec,
        value_date -> Date,
        ledger_seq -> BigInt,
        created_at -> Instant,
    }
}

diesel::joinable!(users -> organisations (org_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(signing_keys -> users (user_id));
diesel::joinable!(idempotency -> users (user_id));
diesel::joinable!(program_plans -> programs (program_id));
diesel::joinable!(plan_approvals -> program_plans (plan_id));
diesel::joinable!(deliveries -> purchase_orders (po_id));
diesel::joinable!(invoices -> invoice_batches (batch_id));
diesel::joinable!(certificate_holdings -> certificates (certificate_id));
diesel::joinable!(settlement_accounts -> organisations (org_id));

diesel::joinable!(registration_tasks -> financings (financing_id));
diesel::joinable!(financing_steps -> financings (financing_id));
diesel::joinable!(financing_credit -> financings (financing_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    api_tokens,
    signing_keys,
    relationships,
    size_class_rules,
    lpr_fixings,
    programs,
    program_plans,
    plan_approvals,
    policy_rules,
    purchase_orders,
    deliveries,
    invoice_batches,
    invoices,
    ledger_entries,
    ledger_checkpoints,
    idempotency,
    certificates,
    certificate_holdings,
    assignment_notices,
    settlement_accounts,
    financings,
    financing_steps,
    financing_credit,
    registration_tasks,
    cash_movements,
    limit_usage,
);
