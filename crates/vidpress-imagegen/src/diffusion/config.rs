//! The model folder's `config.json` files (diffusers layout), read into the configurations the
//! networks are built with. Real weights and the tests' tiny ones go through this one path.

use std::path::{Path, PathBuf};

use candle_transformers::models::stable_diffusion::{unet_2d, vae};
use serde::Deserialize;

use super::DiffusionError;

/// A number or one per block (`attention_head_dim`, `transformer_layers_per_block`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum PerBlock {
    One(usize),
    Each(Vec<usize>),
}

impl PerBlock {
    fn get(&self, i: usize) -> Option<usize> {
        match self {
            PerBlock::One(n) => Some(*n),
            PerBlock::Each(v) => v.get(i).copied(),
        }
    }
}

fn one() -> PerBlock {
    PerBlock::One(1)
}
fn yes() -> bool {
    true
}
fn eps() -> f64 {
    1e-5
}
fn groups() -> usize {
    32
}
fn four() -> usize {
    4
}

/// `unet/config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct UnetFile {
    block_out_channels: Vec<usize>,
    down_block_types: Vec<String>,
    attention_head_dim: Option<PerBlock>,
    num_attention_heads: Option<PerBlock>,
    #[serde(default = "one")]
    transformer_layers_per_block: PerBlock,
    cross_attention_dim: usize,
    #[serde(default = "two")]
    layers_per_block: usize,
    #[serde(default = "groups")]
    norm_num_groups: usize,
    #[serde(default = "eps")]
    norm_eps: f64,
    #[serde(default)]
    use_linear_projection: bool,
    #[serde(default = "yes")]
    flip_sin_to_cos: bool,
    #[serde(default)]
    freq_shift: f64,
    #[serde(default = "one_usize")]
    downsample_padding: usize,
    #[serde(default = "one_f64")]
    mid_block_scale_factor: f64,
    #[serde(default)]
    center_input_sample: bool,
    #[serde(default = "four")]
    pub in_channels: usize,
    /// SDXL's extra conditioning (`text_time`); candle's UNet has no input for it.
    pub addition_embed_type: Option<String>,
}

fn two() -> usize {
    2
}
fn one_usize() -> usize {
    1
}
fn one_f64() -> f64 {
    1.0
}

impl UnetFile {
    /// How many down (and up) blocks the UNet has.
    pub fn blocks(&self) -> usize {
        self.block_out_channels.len()
    }

    /// candle's configuration of this UNet.
    pub fn to_candle(&self) -> Result<unet_2d::UNet2DConditionModelConfig, String> {
        if self.block_out_channels.len() != self.down_block_types.len()
            || self.block_out_channels.is_empty()
        {
            return Err("block_out_channels and down_block_types differ in length".into());
        }
        let heads = self
            .num_attention_heads
            .as_ref()
            .or(self.attention_head_dim.as_ref())
            .cloned()
            .unwrap_or(PerBlock::One(8));
        let blocks = self
            .block_out_channels
            .iter()
            .zip(&self.down_block_types)
            .enumerate()
            .map(|(i, (&out_channels, kind))| {
                let cross = kind.starts_with("CrossAttn");
                if !cross && kind != "DownBlock2D" {
                    return Err(format!("unknown down block type {kind}"));
                }
                let layers = self
                    .transformer_layers_per_block
                    .get(i)
                    .ok_or("transformer_layers_per_block is too short")?;
                Ok(unet_2d::BlockConfig {
                    out_channels,
                    use_cross_attn: cross.then_some(layers),
                    attention_head_dim: heads.get(i).ok_or("attention_head_dim is too short")?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(unet_2d::UNet2DConditionModelConfig {
            center_input_sample: self.center_input_sample,
            flip_sin_to_cos: self.flip_sin_to_cos,
            freq_shift: self.freq_shift,
            blocks,
            layers_per_block: self.layers_per_block,
            downsample_padding: self.downsample_padding,
            mid_block_scale_factor: self.mid_block_scale_factor,
            norm_num_groups: self.norm_num_groups,
            norm_eps: self.norm_eps,
            cross_attention_dim: self.cross_attention_dim,
            sliced_attention_size: None,
            use_linear_projection: self.use_linear_projection,
        })
    }
}

/// `vae/config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct VaeFile {
    block_out_channels: Vec<usize>,
    #[serde(default = "one_usize")]
    layers_per_block: usize,
    #[serde(default = "four")]
    pub latent_channels: usize,
    #[serde(default = "groups")]
    norm_num_groups: usize,
    #[serde(default = "yes")]
    use_quant_conv: bool,
    #[serde(default = "yes")]
    use_post_quant_conv: bool,
    /// Latents are divided by this before decoding (0.18215 for SD 1.x/2.x, 0.13025 for SDXL).
    #[serde(default = "sd_scale")]
    pub scaling_factor: f64,
}

fn sd_scale() -> f64 {
    0.18215
}

impl VaeFile {
    pub fn to_candle(&self) -> vae::AutoEncoderKLConfig {
        vae::AutoEncoderKLConfig {
            block_out_channels: self.block_out_channels.clone(),
            layers_per_block: self.layers_per_block,
            latent_channels: self.latent_channels,
            norm_num_groups: self.norm_num_groups,
            use_quant_conv: self.use_quant_conv,
            use_post_quant_conv: self.use_post_quant_conv,
        }
    }

    /// How many pixels one latent covers along a side.
    pub fn downscale(&self) -> usize {
        1 << self.block_out_channels.len().saturating_sub(1)
    }
}

/// The small decoder's `config.json` (diffusers' `AutoencoderTiny`).
#[derive(Debug, Clone, Deserialize)]
pub struct TinyVaeFile {
    #[serde(default = "tiny_channels")]
    pub decoder_block_out_channels: Vec<usize>,
    #[serde(default = "tiny_blocks")]
    pub num_decoder_blocks: Vec<usize>,
    #[serde(default = "four")]
    pub latent_channels: usize,
    #[serde(default = "two")]
    pub upsampling_scaling_factor: usize,
}

fn tiny_channels() -> Vec<usize> {
    vec![64, 64, 64, 64]
}
fn tiny_blocks() -> Vec<usize> {
    vec![3, 3, 3, 1]
}

/// `text_encoder/config.json` (a CLIP text model).
#[derive(Debug, Clone, Deserialize)]
pub struct TextFile {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default = "seventy_seven")]
    pub max_position_embeddings: usize,
    #[serde(default = "quick_gelu")]
    pub hidden_act: String,
    #[serde(default = "eps")]
    pub layer_norm_eps: f64,
}

fn seventy_seven() -> usize {
    77
}
fn quick_gelu() -> String {
    "quick_gelu".into()
}

/// How the noise is removed (`scheduler/scheduler_config.json`), read into an Euler schedule.
#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerFile {
    #[serde(default = "thousand")]
    pub num_train_timesteps: usize,
    #[serde(default = "beta_start")]
    pub beta_start: f64,
    #[serde(default = "beta_end")]
    pub beta_end: f64,
    #[serde(default = "scaled_linear")]
    pub beta_schedule: String,
    #[serde(default = "epsilon")]
    pub prediction_type: String,
    #[serde(default = "leading")]
    pub timestep_spacing: String,
    #[serde(default)]
    pub steps_offset: usize,
}

fn thousand() -> usize {
    1000
}
fn beta_start() -> f64 {
    0.00085
}
fn beta_end() -> f64 {
    0.012
}
fn scaled_linear() -> String {
    "scaled_linear".into()
}
fn epsilon() -> String {
    "epsilon".into()
}
fn leading() -> String {
    "leading".into()
}

impl Default for SchedulerFile {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

/// `tokenizer/tokenizer_config.json`: only the padding token matters (SD 2.x pads with `!`,
/// SD 1.x with the end token).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenizerFile {
    pub pad_token: Option<TokenSpec>,
}

/// A special token, as a string or as `{"content": "..."}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TokenSpec {
    Text(String),
    Added { content: String },
}

impl TokenSpec {
    pub fn text(&self) -> &str {
        match self {
            TokenSpec::Text(s) | TokenSpec::Added { content: s } => s,
        }
    }
}

/// Reads and parses one JSON file, naming it in the error.
pub fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, DiffusionError> {
    let text = std::fs::read_to_string(path).map_err(|e| DiffusionError::file(path, e))?;
    serde_json::from_str(&text).map_err(|e| DiffusionError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The first of `names` in `dir` that exists (`model.safetensors`, then `model.fp16.safetensors`).
pub fn first_of(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}
