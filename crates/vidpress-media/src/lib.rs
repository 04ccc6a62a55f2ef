//! Placeholder until this crate's issue lands.
