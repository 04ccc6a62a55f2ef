//! One module per command.

pub mod bench;
pub mod bench_dashboard;
pub mod bench_diffusion;
pub mod bench_websub;
pub mod bench_workers;
pub mod channels;
pub mod convert;
pub mod export;
pub mod models;
pub mod models_diffusion;
pub mod serve;
pub mod transcribe;
pub mod user;
pub mod workers;
