//! Parties: organisations, their users, API tokens and signing keys, how a
//! request proves who it comes from, and onboarding.

pub mod accounts;
pub mod auth;
pub mod bootstrap;
pub mod model;
pub mod onboarding;
pub mod size_class;
pub mod tokens;
