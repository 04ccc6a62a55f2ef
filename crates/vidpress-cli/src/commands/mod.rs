//! One module per command.

pub mod bench;
pub mod models;
pub mod serve;
pub mod transcribe;
