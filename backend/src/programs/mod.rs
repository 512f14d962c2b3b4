//! 一企一策 programs: each core enterprise's plan (limits, products, rates,
//! eligible counterparties) and the dated market data plans price against.

pub mod lpr;
pub mod plan;
pub mod quote;
