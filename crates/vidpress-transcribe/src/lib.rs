//! Vidpress transcription: the whisper-rs engine with hallucination guards, whisper.cpp GGML
//! model files, conversion of faster-whisper (CTranslate2) models to GGML, and the models
//! directory. This crate knows nothing of HTTP: downloads by URL happen in the caller.

pub mod convert;
pub mod cores;
pub mod ct2;
pub mod device;
pub mod engine;
pub mod ggml;
pub mod guards;
pub mod mel;
pub mod models;
pub mod vad;
pub mod vocab;
pub mod wer;
pub mod window;

pub use convert::{ConvertError, convert_dir};
pub use device::{CUDA_BUILD, Device, NoCudaSupport};
pub use engine::{
    Engine, EngineError, SAMPLE_RATE, StreamError, Streamed, TranscribeOptions, default_threads,
};
pub use ggml::{Hparams, WeightType};
pub use guards::GuardConfig;
pub use models::{
    DEFAULT_MODEL, DEFAULT_WEIGHT_TYPE, InstalledModel, KNOWN_MODELS, ModelError, ModelStore,
};
pub use window::{AudioSource, Samples};
