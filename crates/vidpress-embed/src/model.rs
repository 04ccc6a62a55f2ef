//! all-MiniLM-L6-v2 on the CPU: WordPiece tokens in, one unit-length 384-number vector per text
//! out (the mean of the last layer over the text's tokens, as sentence-transformers pools it).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use crate::{EmbedError, MODEL_FILES, io_err};

/// Tokens a text is cut to: what the model was trained with (its `max_seq_length`).
const MAX_TOKENS: usize = 256;
/// Texts run through the model together. Texts of a batch are padded to the longest, so the
/// batches are made of texts of similar length.
const BATCH: usize = 32;

/// The loaded model and its tokenizer. Load it once per process and share it: loading reads
/// 90 MB of weights, embedding only runs them.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dimensions: usize,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("dimensions", &self.dimensions)
            .finish_non_exhaustive()
    }
}

impl MiniLm {
    /// Loads the model from its folder (`model.safetensors`, `config.json`, `tokenizer.json`).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        if !MODEL_FILES.iter().all(|f| dir.join(f).is_file()) {
            return Err(EmbedError::NotInstalled(dir.to_owned()));
        }
        let config_path = dir.join("config.json");
        let config_text = std::fs::read_to_string(&config_path)
            .map_err(io_err("could not read", &config_path))?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|source| EmbedError::Config {
                path: config_path.clone(),
                source,
            })?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // The file pads every text to 128 tokens; batches here are padded by hand instead.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        // Read into memory rather than mapped: mapping a file needs `unsafe`, which this
        // workspace forbids, and 90 MB is read in a fraction of a second.
        let tensors = candle_core::safetensors::load(&weights, &device)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config)?;
        Ok(Self {
            model,
            tokenizer,
            device,
            dimensions: config.hidden_size,
        })
    }

    /// The length of each vector (384).
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// One unit-length vector per text, in order. An empty text gets the vector of the empty
    /// sentence.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(BATCH) {
            let longest = batch
                .iter()
                .map(|&i| encodings[i].len())
                .max()
                .unwrap_or(0)
                .max(1);
            let mut ids = vec![0u32; batch.len() * longest];
            let mut mask = vec![0u32; batch.len() * longest];
            for (row, &i) in batch.iter().enumerate() {
                let e = &encodings[i];
                let at = row * longest;
                ids[at..at + e.len()].copy_from_slice(e.get_ids());
                mask[at..at + e.len()].copy_from_slice(e.get_attention_mask());
            }
            let shape = (batch.len(), longest);
            let ids = Tensor::from_vec(ids, shape, &self.device)?;
            let mask = Tensor::from_vec(mask, shape, &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            let vectors = mean_pool(&hidden, &mask)?;
            for (row, &i) in batch.iter().enumerate() {
                out[i] = vectors.get(row)?.to_vec1::<f32>()?;
            }
        }
        Ok(out)
    }
}

/// The mean of each text's token vectors over its real tokens (mask 1), scaled to unit length.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norm)
}

impl vidpress_draft::Embedder for MiniLm {
    /// all-MiniLM-L6-v2 was trained on English text only; in other languages its vectors say
    /// little, and the formatter does better on the words alone.
    fn covers(&self, language: &str) -> bool {
        language == "en"
    }

    fn embed(&self, texts: &[&str]) -> Option<Vec<Vec<f32>>> {
        match MiniLm::embed(self, texts) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "sentence embeddings failed; the draft uses the words alone");
                None
            }
        }
    }
}
