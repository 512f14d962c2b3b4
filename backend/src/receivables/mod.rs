//! Receivables: payables certificates (应收账款电子凭证) confirmed by the
//! core enterprise, accepted, split and transferred along the chain;
//! financing against them, clearing at maturity, overdue handling.

pub mod certificates;
pub mod clearing;
pub mod financing;
pub mod financing_model;
pub mod model;
pub mod treasury;
pub mod usage;
