//! The pricing engine's golden figures and properties (`backend/src/pricing`).

mod golden;
mod properties;
