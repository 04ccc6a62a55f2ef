//! CLIP's byte-level BPE tokenizer, built from the folder's `tokenizer/vocab.json` and
//! `merges.txt` (diffusers ships no `tokenizer.json` for Stable Diffusion): NFC, spaces
//! collapsed, lower case, split into words, numbers and punctuation, then byte-level BPE with
//! `</w>` ending each word, as transformers' `CLIPTokenizer` does.

use std::collections::HashMap;
use std::path::Path;

use super::DiffusionError;
use super::config::{self, TokenizerFile};

const START: &str = "<|startoftext|>";
const END: &str = "<|endoftext|>";
/// CLIP's word pattern.
const WORDS: &str =
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// A prompt → token ids tokenizer with CLIP's start, end and padding.
#[derive(Debug)]
pub struct ClipTokenizer {
    inner: tokenizers::Tokenizer,
    start: u32,
    end: u32,
    pad: u32,
}

impl ClipTokenizer {
    /// Builds the tokenizer from `dir` (`vocab.json`, `merges.txt`, optional
    /// `tokenizer_config.json` naming the padding token).
    pub fn load(dir: &Path) -> Result<Self, DiffusionError> {
        let vocab_path = dir.join("vocab.json");
        let merges_path = dir.join("merges.txt");
        let vocab: HashMap<String, u32> = config::read(&vocab_path)?;
        let merges_text = std::fs::read_to_string(&merges_path)
            .map_err(|e| DiffusionError::file(&merges_path, e))?;
        let merges: Vec<[&str; 2]> = merges_text
            .lines()
            .filter(|l| !l.starts_with("#version") && !l.trim().is_empty())
            .map(|l| {
                let mut parts = l.split(' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(a), Some(b), None) => Ok([a, b]),
                    _ => Err(DiffusionError::Invalid {
                        path: merges_path.clone(),
                        reason: format!("the line {l:?} is not two tokens"),
                    }),
                }
            })
            .collect::<Result<_, _>>()?;
        let id = |token: &str, path: &Path| {
            vocab
                .get(token)
                .copied()
                .ok_or_else(|| DiffusionError::Invalid {
                    path: path.to_owned(),
                    reason: format!("has no token {token}"),
                })
        };
        let start = id(START, &vocab_path)?;
        let end = id(END, &vocab_path)?;
        let settings_path = dir.join("tokenizer_config.json");
        let settings: TokenizerFile = if settings_path.is_file() {
            config::read(&settings_path)?
        } else {
            TokenizerFile::default()
        };
        let pad = match &settings.pad_token {
            Some(token) => id(token.text(), &vocab_path)?,
            None => end,
        };
        let spec = serde_json::json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [],
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
                {"type": "Lowercase"},
            ]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": WORDS}, "behavior": "Removed", "invert": true},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
            ]},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": END,
                "continuing_subword_prefix": "",
                "end_of_word_suffix": "</w>",
                "fuse_unk": false,
                "byte_fallback": false,
                "vocab": vocab,
                "merges": merges,
            },
        });
        let inner: tokenizers::Tokenizer =
            spec.to_string()
                .parse()
                .map_err(|e: tokenizers::Error| DiffusionError::Invalid {
                    path: vocab_path.clone(),
                    reason: format!("does not make a tokenizer with merges.txt: {e}"),
                })?;
        Ok(Self {
            inner,
            start,
            end,
            pad,
        })
    }

    /// `prompt` as exactly `len` ids: start, the prompt's tokens (cut to fit), end, padding.
    pub fn encode(&self, prompt: &str, len: usize) -> Result<Vec<u32>, DiffusionError> {
        let encoding = self
            .inner
            .encode(prompt, false)
            .map_err(|e| DiffusionError::Run(format!("tokenizing the prompt failed: {e}")))?;
        let mut ids = Vec::with_capacity(len);
        ids.push(self.start);
        ids.extend(encoding.get_ids().iter().take(len.saturating_sub(2)));
        ids.push(self.end);
        ids.resize(len, self.pad);
        Ok(ids)
    }
}
