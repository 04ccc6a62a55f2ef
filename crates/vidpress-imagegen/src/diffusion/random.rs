//! Model folders with random weights in the real layout and tensor names, for the tests (tiny
//! shapes, milliseconds a picture) and the benchmark (SD-Turbo's full shapes: the time and
//! memory of a picture do not depend on the weights' values). The networks are built by the
//! same constructors the loader uses, over a `VarMap` that makes each tensor it is asked for,
//! and the map is written as safetensors.

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::stable_diffusion::{unet_2d, vae};
use serde_json::json;

use super::DiffusionError;
use super::config::{self, TextFile, TinyVaeFile, UnetFile, VaeFile};

/// Which shapes to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shapes {
    /// A few thousand parameters: 32-wide text encoder, 32/64-channel UNet, 64×64 pictures.
    Tiny,
    /// SD-Turbo's (SD 2.1's) full sizes, stored as f16: about 2.6 GB.
    SdTurbo,
}

/// Writes a model folder with random weights into `dir`: tokenizer, text encoder, UNet, VAE,
/// SD-Turbo's scheduler settings, and with `small_decoder` a `taesd/` decoder.
pub fn write_model(dir: &Path, shapes: Shapes, small_decoder: bool) -> Result<(), DiffusionError> {
    let (text, unet, vae, dtype) = match shapes {
        Shapes::Tiny => (
            json!({"vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 64,
                   "num_hidden_layers": 2, "num_attention_heads": 4,
                   "max_position_embeddings": 77, "hidden_act": "gelu"}),
            json!({"block_out_channels": [32, 64],
                   "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
                   "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
                   "attention_head_dim": [2, 4], "cross_attention_dim": 32,
                   "layers_per_block": 1, "norm_num_groups": 8, "use_linear_projection": true,
                   "in_channels": 4, "out_channels": 4}),
            json!({"block_out_channels": [16, 16, 32, 32], "layers_per_block": 1,
                   "latent_channels": 4, "norm_num_groups": 8, "scaling_factor": 0.18215}),
            DType::F32,
        ),
        Shapes::SdTurbo => (
            json!({"vocab_size": 49408, "hidden_size": 1024, "intermediate_size": 4096,
                   "num_hidden_layers": 23, "num_attention_heads": 16,
                   "max_position_embeddings": 77, "hidden_act": "gelu"}),
            json!({"block_out_channels": [320, 640, 1280, 1280],
                   "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                        "CrossAttnDownBlock2D", "DownBlock2D"],
                   "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                      "CrossAttnUpBlock2D"],
                   "attention_head_dim": [5, 10, 20, 20], "cross_attention_dim": 1024,
                   "layers_per_block": 2, "norm_num_groups": 32, "use_linear_projection": true,
                   "in_channels": 4, "out_channels": 4, "sample_size": 64}),
            json!({"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2,
                   "latent_channels": 4, "norm_num_groups": 32, "scaling_factor": 0.18215}),
            DType::F16,
        ),
    };
    let device = Device::Cpu;
    let write_json = |rel: &str, value: &serde_json::Value| -> Result<(), DiffusionError> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| DiffusionError::file(parent, e))?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(value).expect("JSON"))
            .map_err(|e| DiffusionError::file(&path, e))
    };
    let save = |map: &VarMap, rel: &str| -> Result<(), DiffusionError> {
        let path = dir.join(rel);
        map.save(&path).map_err(|e| DiffusionError::Invalid {
            path: path.clone(),
            reason: format!("could not be written: {e}"),
        })
    };
    let run = |e: candle_core::Error| DiffusionError::Run(e.to_string());

    write_json(
        "model_index.json",
        &json!({"_class_name": "StableDiffusionPipeline"}),
    )?;
    write_tokenizer(&dir.join("tokenizer"))?;
    write_json("text_encoder/config.json", &text)?;
    {
        let map = VarMap::new();
        let c: TextFile = serde_json::from_value(text).expect("text config");
        super::clip::TextEncoder::new(VarBuilder::from_varmap(&map, dtype, &device), &c)
            .map_err(run)?;
        save(&map, "text_encoder/model.safetensors")?;
    }
    write_json("unet/config.json", &unet)?;
    let unet_file: UnetFile = serde_json::from_value(unet).expect("unet config");
    {
        let map = VarMap::new();
        let c = unet_file.to_candle().map_err(DiffusionError::Run)?;
        unet_2d::UNet2DConditionModel::new(
            VarBuilder::from_varmap(&map, dtype, &device),
            unet_file.in_channels,
            4,
            false,
            c,
        )
        .map_err(run)?;
        save(&map, "unet/diffusion_pytorch_model.safetensors")?;
    }
    write_json("vae/config.json", &vae)?;
    {
        let map = VarMap::new();
        let c: VaeFile = serde_json::from_value(vae).expect("vae config");
        // Current diffusers files name the mid-block attention `to_q`/`to_k`/`to_v`/`to_out.0`
        // (older ones `query`/`key`/`value`/`proj_attn`); candle reads either and takes the new
        // names when `to_q` is there, so it is made first.
        let vb = VarBuilder::from_varmap(&map, dtype, &device);
        let channels = c
            .to_candle()
            .block_out_channels
            .last()
            .copied()
            .unwrap_or(1);
        for part in ["encoder", "decoder"] {
            vb.pp(part)
                .pp("mid_block.attentions.0.to_q")
                .get_with_hints(
                    (channels, channels),
                    "weight",
                    candle_nn::init::DEFAULT_KAIMING_NORMAL,
                )
                .map_err(run)?;
        }
        vae::AutoEncoderKL::new(vb, 3, 3, c.to_candle()).map_err(run)?;
        save(&map, "vae/diffusion_pytorch_model.safetensors")?;
    }
    write_json(
        "scheduler/scheduler_config.json",
        &json!({"_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085,
                "beta_end": 0.012, "beta_schedule": "scaled_linear",
                "num_train_timesteps": 1000, "prediction_type": "epsilon",
                "timestep_spacing": "trailing", "steps_offset": 1}),
    )?;
    if small_decoder {
        let tiny = match shapes {
            Shapes::Tiny => json!({"decoder_block_out_channels": [16, 16, 16, 16],
                                   "num_decoder_blocks": [1, 1, 1, 1], "latent_channels": 4,
                                   "upsampling_scaling_factor": 2}),
            Shapes::SdTurbo => json!({"decoder_block_out_channels": [64, 64, 64, 64],
                                      "num_decoder_blocks": [3, 3, 3, 1], "latent_channels": 4,
                                      "upsampling_scaling_factor": 2, "scaling_factor": 1.0}),
        };
        write_json("taesd/config.json", &tiny)?;
        let map = VarMap::new();
        let c: TinyVaeFile = serde_json::from_value(tiny).expect("taesd config");
        super::taesd::TinyDecoder::new(VarBuilder::from_varmap(&map, dtype, &device), &c)
            .map_err(run)?;
        save(&map, "taesd/diffusion_pytorch_model.safetensors")?;
    }
    // The configs written must read back through the loader's own parser.
    let _: TextFile = config::read(&dir.join("text_encoder/config.json"))?;
    Ok(())
}

/// Tokens in the small vocabulary: 256 byte characters, each alone and ending a word, two
/// merged words (`th`, `the</w>`), and the start and end tokens.
pub const VOCAB: usize = 256 * 2 + 2 + 2;

/// GPT-2's map from bytes to printable characters, which byte-level BPE vocabularies use.
pub fn byte_chars() -> Vec<char> {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~'))
        .chain(u32::from('¡')..=u32::from('¬'))
        .chain(u32::from('®')..=u32::from('ÿ'))
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut by_byte = vec!['\0'; 256];
    for (b, c) in printable.iter().zip(chars) {
        by_byte[*b as usize] = char::from_u32(c).expect("a valid character");
    }
    by_byte
}

/// A small CLIP-style tokenizer folder: `vocab.json`, `merges.txt` and a
/// `tokenizer_config.json` that pads with `!`, as SD 2.x does.
pub fn write_tokenizer(dir: &Path) -> Result<(), DiffusionError> {
    std::fs::create_dir_all(dir).map_err(|e| DiffusionError::file(dir, e))?;
    let mut vocab = serde_json::Map::new();
    for c in byte_chars() {
        let n = vocab.len();
        vocab.insert(c.to_string(), n.into());
    }
    for c in byte_chars() {
        let n = vocab.len();
        vocab.insert(format!("{c}</w>"), n.into());
    }
    for token in ["th", "the</w>", "<|startoftext|>", "<|endoftext|>"] {
        let n = vocab.len();
        vocab.insert(token.to_owned(), n.into());
    }
    let files = [
        ("vocab.json", serde_json::Value::Object(vocab).to_string()),
        ("merges.txt", "#version: 0.2\nt h\nth e</w>\n".to_owned()),
        (
            "tokenizer_config.json",
            json!({"pad_token": "!", "bos_token": "<|startoftext|>",
                   "eos_token": "<|endoftext|>"})
            .to_string(),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| DiffusionError::file(&path, e))?;
    }
    Ok(())
}
