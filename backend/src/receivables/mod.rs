//! Receivables: payables certificates (应收账款电子凭证) confirmed by the
//! core enterprise, accepted, split and transferred along the chain.

pub mod certificates;
pub mod model;
