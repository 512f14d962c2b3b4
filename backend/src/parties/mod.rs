//! Parties: organisations, their users, API tokens and signing keys, and
//! how a request proves who it comes from.

pub mod auth;
pub mod bootstrap;
pub mod tokens;
