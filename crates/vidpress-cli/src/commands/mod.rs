//! One module per command.

pub mod bench;
pub mod convert;
pub mod models;
pub mod serve;
pub mod transcribe;
