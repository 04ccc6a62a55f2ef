//! Vidpress publishing: file exports (captions today) and, later, the WordPress and Ghost
//! clients. This crate knows nothing of the dashboard.

pub mod captions;
