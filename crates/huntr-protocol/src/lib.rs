//! The vocabulary both sides of the Huntr Org API must agree on: the
//! action types, the webhook signature and the timestamp text. huntr-sync
//! reads it and the sandbox organization speaks it; keeping it in one
//! crate means the two cannot drift apart.

pub mod action;
pub mod signature;
pub mod timefmt;

pub use action::ActionType;
