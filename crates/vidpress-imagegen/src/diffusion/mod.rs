//! Header pictures drawn by a Stable Diffusion model with candle-transformers: SD-Turbo by
//! default (one Euler step at timestep 999, no guidance, 512×512), SD 1.x/2.x with more steps
//! and classifier-free guidance, and SDXL-Turbo (two text encoders), all from a diffusers-layout
//! folder of safetensors in the models directory:
//!
//! ```text
//! model_index.json                       (optional)
//! tokenizer/vocab.json, merges.txt       (tokenizer_config.json names the padding token)
//! text_encoder/config.json, model.safetensors          (or model.fp16.safetensors)
//! tokenizer_2/, text_encoder_2/          (SDXL only)
//! unet/config.json, diffusion_pytorch_model.safetensors (or .fp16.safetensors)
//! vae/config.json, diffusion_pytorch_model.safetensors
//! scheduler/scheduler_config.json
//! taesd/config.json, diffusion_pytorch_model.safetensors (optional small decoder)
//! ```
//!
//! The UNet and the VAE are candle's, built from configurations read out of each
//! `config.json`; the text encoder is [`clip::TextEncoder`] (same tensor names as candle's,
//! any size). The initial noise comes from the seed through this crate's own generator, so a
//! seed draws the same picture on every machine and candle version.

pub mod clip;
pub mod config;
pub mod device;
pub mod random;
pub mod scheduler;
pub mod taesd;
pub mod tokenizer;
pub mod weights;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::stable_diffusion::{unet_2d, vae};
use image::RgbImage;

use self::config::{SchedulerFile, TextFile, TinyVaeFile, UnetFile, VaeFile};
pub use self::device::DeviceChoice;
use crate::Style;

/// The model folder's name under the models directory, and what `vidpress models install`
/// calls it.
pub const DEFAULT_MODEL: &str = "sd-turbo";

/// Why a picture could not be drawn; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DiffusionError {
    #[error(
        "the diffusion model in {} is incomplete: {what} is missing (fetch the model's files \
         and install them with `vidpress models install sd-turbo --from DIR`)",
        dir.display()
    )]
    Missing { dir: PathBuf, what: String },
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the diffusion model's parts do not fit together: {0}")]
    Mismatch(String),
    #[error("drawing the picture failed: {0}")]
    Run(String),
    #[error("{0}")]
    Device(String),
}

impl DiffusionError {
    pub(crate) fn file(path: &Path, source: std::io::Error) -> Self {
        DiffusionError::File {
            path: path.to_owned(),
            source,
        }
    }
}

fn run_err(e: candle_core::Error) -> DiffusionError {
    DiffusionError::Run(e.to_string())
}

/// Which decoder turns latents into pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecoderChoice {
    /// The small decoder when the folder has `taesd/`, else the model's VAE.
    #[default]
    Auto,
    /// Always the model's VAE (finest detail, most of the time an image takes on a CPU).
    Full,
    /// Always the small decoder; an error without `taesd/`.
    Tiny,
}

impl DecoderChoice {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "full" | "vae" => Some(Self::Full),
            "tiny" | "taesd" => Some(Self::Tiny),
            _ => None,
        }
    }
}

/// How pictures are drawn; `None` takes the model's default (turbo models: 1 step, no
/// guidance; others: 25 steps, guidance 7.5; 512×512).
#[derive(Debug, Clone, Default)]
pub struct DiffusionOptions {
    pub steps: Option<usize>,
    pub guidance: Option<f64>,
    pub width: Option<usize>,
    pub height: Option<usize>,
    pub decoder: DecoderChoice,
    /// The CPU, or the GPU in a `cuda` build (`auto`: the GPU when there is a usable one).
    pub device: DeviceChoice,
}

/// The files of one text encoder and its tokenizer.
#[derive(Debug, Clone)]
pub struct TextFiles {
    pub tokenizer: PathBuf,
    pub config: PathBuf,
    pub weights: PathBuf,
}

/// Where a model folder's parts are.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
    /// One text encoder, or two for SDXL.
    pub text: Vec<TextFiles>,
    pub unet: (PathBuf, PathBuf),
    pub vae: (PathBuf, PathBuf),
    pub scheduler: Option<PathBuf>,
    pub tiny_decoder: Option<(PathBuf, PathBuf)>,
}

impl Layout {
    /// Finds the parts in `dir`, naming the first missing one.
    pub fn find(dir: &Path) -> Result<Self, DiffusionError> {
        let missing = |what: &str| DiffusionError::Missing {
            dir: dir.to_owned(),
            what: what.to_owned(),
        };
        if !dir.is_dir() {
            return Err(missing("the folder itself"));
        }
        let need = |sub: &str, names: &[&str]| {
            config::first_of(&dir.join(sub), names)
                .ok_or_else(|| missing(&format!("{sub}/{}", names[0])))
        };
        let text_part = |tok: &str, enc: &str| -> Result<TextFiles, DiffusionError> {
            need(tok, &["vocab.json"])?;
            need(tok, &["merges.txt"])?;
            Ok(TextFiles {
                tokenizer: dir.join(tok),
                config: need(enc, &["config.json"])?,
                weights: need(enc, &["model.safetensors", "model.fp16.safetensors"])?,
            })
        };
        let mut text = vec![text_part("tokenizer", "text_encoder")?];
        if dir.join("text_encoder_2").is_dir() {
            text.push(text_part("tokenizer_2", "text_encoder_2")?);
        }
        let weights = &[
            "diffusion_pytorch_model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors",
        ];
        let unet = (need("unet", &["config.json"])?, need("unet", weights)?);
        let vae = (need("vae", &["config.json"])?, need("vae", weights)?);
        let scheduler = config::first_of(&dir.join("scheduler"), &["scheduler_config.json"]);
        let tiny = dir.join("taesd");
        let tiny_decoder = match (
            config::first_of(&tiny, &["config.json"]),
            config::first_of(&tiny, weights),
        ) {
            (Some(c), Some(w)) => Some((c, w)),
            _ => None,
        };
        Ok(Self {
            dir: dir.to_owned(),
            text,
            unet,
            vae,
            scheduler,
            tiny_decoder,
        })
    }

    /// Every safetensors file of the folder.
    pub fn weight_files(&self) -> Vec<&Path> {
        let mut files: Vec<&Path> = self.text.iter().map(|t| t.weights.as_path()).collect();
        files.push(&self.unet.1);
        files.push(&self.vae.1);
        if let Some((_, w)) = &self.tiny_decoder {
            files.push(w);
        }
        files
    }
}

#[derive(Debug)]
enum Decoder {
    Full {
        vae: Box<vae::AutoEncoderKL>,
        scale: f64,
    },
    Tiny(taesd::TinyDecoder),
}

/// A loaded model, ready to draw.
#[derive(Debug)]
pub struct DiffusionModel {
    name: String,
    device: Device,
    runs_on: String,
    tokenizers: Vec<tokenizer::ClipTokenizer>,
    encoders: Vec<clip::TextEncoder>,
    unet: unet_2d::UNet2DConditionModel,
    unet_in_channels: usize,
    decoder: Decoder,
    scheduler: SchedulerFile,
    latent_channels: usize,
    downscale: usize,
    steps: usize,
    guidance: f64,
    width: usize,
    height: usize,
}

/// What one picture took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub text: Duration,
    pub unet: Duration,
    pub decode: Duration,
}

impl Timings {
    pub fn total(&self) -> Duration {
        self.text + self.unet + self.decode
    }
}

/// A drawn picture.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub image: RgbImage,
    pub timings: Timings,
}

impl DiffusionModel {
    /// Loads the model in `dir` on the device `options` ask for, checking every file on the
    /// way: a missing part, a truncated or damaged file, or tensors that do not match the
    /// configuration each give a message naming the file. It runs in f32 on either device.
    #[tracing::instrument(skip_all, fields(dir = %dir.display()))]
    pub fn load(dir: &Path, options: &DiffusionOptions) -> Result<Self, DiffusionError> {
        let layout = Layout::find(dir)?;
        let placed = device::place(options.device).map_err(DiffusionError::Device)?;
        let device = placed.device;
        let dtype = DType::F32;
        let sdxl = layout.text.len() > 1;
        let mut tokenizers = Vec::new();
        let mut encoders = Vec::new();
        for part in &layout.text {
            tokenizers.push(tokenizer::ClipTokenizer::load(&part.tokenizer)?);
            let c: TextFile = config::read(&part.config)?;
            let vb = weights::load(&part.weights, dtype, &device)?;
            encoders.push(clip::TextEncoder::new(vb, &c).map_err(|e| invalid(&part.weights, e))?);
        }
        let unet_file: UnetFile = config::read(&layout.unet.0)?;
        let unet_config = unet_file
            .to_candle()
            .map_err(|reason| DiffusionError::Invalid {
                path: layout.unet.0.clone(),
                reason,
            })?;
        let width: usize = encoders.iter().map(|e| e.width).sum();
        if width != unet_config.cross_attention_dim {
            return Err(DiffusionError::Mismatch(format!(
                "the text encoder{} give{} {width} values a token, the UNet takes {}",
                if sdxl { "s" } else { "" },
                if sdxl { "" } else { "s" },
                unet_config.cross_attention_dim
            )));
        }
        let vae_file: VaeFile = config::read(&layout.vae.0)?;
        let unet_blocks = unet_file.blocks();
        let vb = weights::load(&layout.unet.1, dtype, &device)?;
        let unet = unet_2d::UNet2DConditionModel::new(
            vb,
            unet_file.in_channels,
            vae_file.latent_channels,
            false,
            unet_config,
        )
        .map_err(|e| invalid(&layout.unet.1, e))?;
        let decoder = match (options.decoder, &layout.tiny_decoder) {
            (DecoderChoice::Auto | DecoderChoice::Tiny, Some((c, w))) => {
                let c: TinyVaeFile = config::read(c)?;
                let vb = weights::load(w, dtype, &device)?;
                Decoder::Tiny(taesd::TinyDecoder::new(vb, &c).map_err(|e| invalid(w, e))?)
            }
            (DecoderChoice::Tiny, None) => {
                return Err(DiffusionError::Missing {
                    dir: dir.to_owned(),
                    what: "the small decoder taesd/ (setting `diffusion_decoder = \"tiny\"`)"
                        .into(),
                });
            }
            _ => {
                let vb = weights::load(&layout.vae.1, dtype, &device)?;
                Decoder::Full {
                    vae: Box::new(
                        vae::AutoEncoderKL::new(vb, 3, 3, vae_file.to_candle())
                            .map_err(|e| invalid(&layout.vae.1, e))?,
                    ),
                    scale: vae_file.scaling_factor,
                }
            }
        };
        let scheduler: SchedulerFile = match &layout.scheduler {
            Some(path) => config::read(path)?,
            None => SchedulerFile::default(),
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let turbo = name.to_lowercase().contains("turbo");
        let steps = options.steps.unwrap_or(if turbo { 1 } else { 25 });
        scheduler::Euler::new(&scheduler, steps).map_err(|reason| DiffusionError::Invalid {
            path: layout
                .scheduler
                .clone()
                .unwrap_or_else(|| dir.join("scheduler")),
            reason,
        })?;
        let downscale = vae_file.downscale();
        let (width, height) = (options.width.unwrap_or(512), options.height.unwrap_or(512));
        // The UNet halves the latents once per block after the first.
        let multiple = downscale * (1 << unet_blocks.saturating_sub(1));
        if width % multiple != 0 || height % multiple != 0 || width == 0 || height == 0 {
            return Err(DiffusionError::Mismatch(format!(
                "the picture's size {width}×{height} must be a multiple of {multiple}"
            )));
        }
        Ok(Self {
            name,
            device,
            runs_on: placed.name,
            tokenizers,
            encoders,
            unet,
            unet_in_channels: unet_file.in_channels,
            decoder,
            scheduler,
            latent_channels: vae_file.latent_channels,
            downscale,
            steps,
            guidance: options.guidance.unwrap_or(if turbo { 0.0 } else { 7.5 }),
            width,
            height,
        })
    }

    /// The model folder's name (`sd-turbo`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it draws: `CPU`, or `CUDA0, <card's name>`.
    pub fn runs_on(&self) -> &str {
        &self.runs_on
    }

    /// Whether pixels come from the small decoder.
    pub fn tiny_decoder(&self) -> bool {
        matches!(self.decoder, Decoder::Tiny(_))
    }

    /// Steps per picture.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The picture's size.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Draws `prompt` from `seed` (the same seed, prompt and model give the same picture).
    /// `negative` steers away from things when guidance is on.
    pub fn draw(&self, prompt: &str, negative: &str, seed: u64) -> Result<Drawn, DiffusionError> {
        self.draw_sized(prompt, negative, seed, self.width, self.height)
    }

    /// [`DiffusionModel::draw`] at another size (a multiple of the model's granularity).
    pub fn draw_sized(
        &self,
        prompt: &str,
        negative: &str,
        seed: u64,
        width: usize,
        height: usize,
    ) -> Result<Drawn, DiffusionError> {
        let mut timings = Timings::default();
        let started = Instant::now();
        let guided = self.guidance > 1.0;
        let cond = self.embed(prompt)?;
        let context = if guided {
            Tensor::cat(&[self.embed(negative)?, cond], 0).map_err(run_err)?
        } else {
            cond
        };
        timings.text = started.elapsed();

        let started = Instant::now();
        let euler =
            scheduler::Euler::new(&self.scheduler, self.steps).map_err(DiffusionError::Run)?;
        let (lh, lw) = (height / self.downscale, width / self.downscale);
        let shape = (1, self.latent_channels, lh, lw);
        let noise = gaussian(seed, self.latent_channels * lh * lw);
        let mut latents = (Tensor::from_vec(noise, shape, &self.device).map_err(run_err)?
            * euler.init_noise_sigma)
            .map_err(run_err)?;
        if self.unet_in_channels != self.latent_channels {
            return Err(DiffusionError::Mismatch(format!(
                "the UNet takes {} channels, the VAE makes {} (inpainting models are not for headers)",
                self.unet_in_channels, self.latent_channels
            )));
        }
        for (step, &t) in euler.timesteps.iter().enumerate() {
            let input = if guided {
                Tensor::cat(&[&latents, &latents], 0).map_err(run_err)?
            } else {
                latents.clone()
            };
            let input = (input * euler.input_scale(step)).map_err(run_err)?;
            let out = self.unet.forward(&input, t, &context).map_err(run_err)?;
            let out = if guided {
                let parts = out.chunk(2, 0).map_err(run_err)?;
                let diff = (&parts[1] - &parts[0]).map_err(run_err)?;
                (&parts[0] + (diff * self.guidance).map_err(run_err)?).map_err(run_err)?
            } else {
                out
            };
            let (a, b) = euler.step_coefficients(step);
            latents =
                ((latents * a).map_err(run_err)? + (out * b).map_err(run_err)?).map_err(run_err)?;
        }
        timings.unet = started.elapsed();

        let started = Instant::now();
        let pixels = match &self.decoder {
            Decoder::Full { vae, scale } => vae.decode(&(latents / *scale).map_err(run_err)?),
            Decoder::Tiny(tiny) => tiny.decode(&latents),
        }
        .map_err(run_err)?;
        let image = to_image(&pixels).map_err(run_err)?;
        timings.decode = started.elapsed();
        Ok(Drawn { image, timings })
    }

    /// The text encoders' output for `prompt`, `(1, tokens, width)`.
    fn embed(&self, prompt: &str) -> Result<Tensor, DiffusionError> {
        let sdxl = self.encoders.len() > 1;
        let mut parts = Vec::new();
        for (tok, enc) in self.tokenizers.iter().zip(&self.encoders) {
            let ids = tok.encode(prompt, enc.max_len)?;
            let ids = Tensor::new(ids.as_slice(), &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(run_err)?;
            parts.push(enc.forward(&ids, sdxl).map_err(run_err)?);
        }
        Tensor::cat(&parts, 2).map_err(run_err)
    }
}

fn invalid(path: &Path, e: candle_core::Error) -> DiffusionError {
    DiffusionError::Invalid {
        path: path.to_owned(),
        reason: format!("does not fit the model's configuration: {e}"),
    }
}

/// `(1, 3, h, w)` in [−1, 1] → an RGB picture.
fn to_image(pixels: &Tensor) -> candle_core::Result<RgbImage> {
    let (_, c, h, w) = pixels.dims4()?;
    if c != 3 {
        candle_core::bail!("the decoder made {c} channels, not 3");
    }
    let data = ((pixels.squeeze(0)?.clamp(-1f32, 1f32)? + 1.0)? * 127.5)?
        .round()?
        .to_dtype(DType::U8)?
        .permute((1, 2, 0))?
        .flatten_all()?
        .to_vec1::<u8>()?;
    RgbImage::from_raw(w as u32, h as u32, data)
        .ok_or_else(|| candle_core::Error::Msg("the picture has the wrong size".into()))
}

/// `n` standard normal numbers from `seed`: SplitMix64 and the Box–Muller transform, the same
/// on every machine.
pub fn gaussian(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // Uniform in (0, 1], never 0 for the logarithm.
        let u1 = ((next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (next() >> 11) as f64 / (1u64 << 53) as f64;
        let r = (-2.0 * u1.ln()).sqrt();
        let a = std::f64::consts::TAU * u2;
        out.push((r * a.cos()) as f32);
        out.push((r * a.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// The words of a style, before and after the subject.
fn style_words(style: Style) -> (&'static str, &'static str) {
    match style {
        Style::Photo => (
            "editorial photograph of",
            "natural light, shallow depth of field, sharp focus, high detail",
        ),
        Style::Illustration => (
            "flat editorial illustration of",
            "bold shapes, limited colour palette, clean lines, vector art",
        ),
        Style::Minimal => (
            "minimalist abstract composition about",
            "soft gradients, generous negative space, muted colours",
        ),
    }
}

/// The prompt for a draft: the style's words around its title and up to four keyphrases
/// (tags) the title does not already say. The title is cut to 24 words so the style's words
/// stay within the text encoder's 77 tokens.
pub fn prompt(title: &str, tags: &[String], style: Style) -> String {
    let (before, after) = style_words(style);
    let title: Vec<&str> = title.split_whitespace().take(24).collect();
    let title = title.join(" ");
    let lower = title.to_lowercase();
    let tags: Vec<&str> = tags
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && !lower.contains(&t.to_lowercase()))
        .take(4)
        .collect();
    let mut prompt = format!("{before} {title}");
    if !tags.is_empty() {
        prompt.push_str(", ");
        prompt.push_str(&tags.join(", "));
    }
    prompt.push_str(", ");
    prompt.push_str(after);
    prompt
}

/// What guided models are steered away from.
pub const NEGATIVE_PROMPT: &str =
    "text, letters, words, watermark, logo, signature, blurry, low quality, deformed";

/// A model loaded once per process, kept while pictures are asked for and released after
/// `idle` without use; pictures are drawn one at a time (the lock is held while drawing).
#[derive(Debug)]
pub struct DiffusionCache {
    dir: Option<PathBuf>,
    options: DiffusionOptions,
    idle: Duration,
    state: Mutex<CacheState>,
}

#[derive(Debug)]
struct CacheState {
    /// The model, or why it did not load (kept until the idle time passes, then tried again).
    loaded: Option<Result<Arc<DiffusionModel>, String>>,
    last_used: Instant,
}

impl DiffusionCache {
    /// A cache for the model in `dir` (`None`: no model installed, every picture falls back).
    pub fn new(dir: Option<PathBuf>, options: DiffusionOptions, idle: Duration) -> Self {
        Self {
            dir,
            options,
            idle,
            state: Mutex::new(CacheState {
                loaded: None,
                last_used: Instant::now(),
            }),
        }
    }

    /// The model's folder, when one is configured.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Runs `f` with the model, loading it first when needed; waits while another picture is
    /// drawn. `Err` says why there is no model.
    pub fn with_model<T>(&self, f: impl FnOnce(&DiffusionModel) -> T) -> Result<T, String> {
        let Some(dir) = &self.dir else {
            return Err(format!(
                "no diffusion model is installed (`vidpress models install {DEFAULT_MODEL} --from DIR`)"
            ));
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let model = match &state.loaded {
            Some(loaded) => loaded.clone(),
            None => {
                let started = Instant::now();
                let loaded = DiffusionModel::load(dir, &self.options)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                match &loaded {
                    Ok(model) => tracing::info!(
                        model = %dir.display(),
                        on = model.runs_on(),
                        seconds = started.elapsed().as_secs_f64(),
                        "diffusion model loaded"
                    ),
                    Err(error) => tracing::warn!(%error, "the diffusion model did not load"),
                }
                state.loaded = Some(loaded.clone());
                loaded
            }
        };
        let result = model.map(|m| f(m.as_ref()));
        state.last_used = Instant::now();
        result
    }

    /// Drops the model (or a remembered load failure) when it has not been used for the idle
    /// time and no picture is being drawn; answers whether it did.
    pub fn release_if_idle(&self) -> bool {
        let Ok(mut state) = self.state.try_lock() else {
            return false;
        };
        if state.loaded.is_some() && state.last_used.elapsed() >= self.idle {
            state.loaded = None;
            tracing::info!("diffusion model released after its idle time");
            return true;
        }
        false
    }

    /// Whether a model is in memory.
    pub fn is_loaded(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        matches!(state.loaded, Some(Ok(_)))
    }
}

/// The installed model folder in `models_dir` (its parts present), if any.
pub fn installed(models_dir: &Path, name: &str) -> Option<PathBuf> {
    let dir = models_dir.join(name);
    Layout::find(&dir).ok().map(|_| dir)
}

/// Everything [`DiffusionModel::load`] checks, plus a small picture drawn to prove the parts
/// work together: what `vidpress models install` runs before it installs a folder. Answers
/// the model's description.
pub fn verify(dir: &Path) -> Result<String, DiffusionError> {
    let layout = Layout::find(dir)?;
    for file in layout.weight_files() {
        weights::header(file)?;
    }
    let model = DiffusionModel::load(
        dir,
        &DiffusionOptions {
            decoder: DecoderChoice::Full,
            ..DiffusionOptions::default()
        },
    )?;
    let side = model.downscale * 8;
    let drawn = model.draw_sized(
        "a lighthouse on a cliff at dawn",
        NEGATIVE_PROMPT,
        1,
        side,
        side,
    )?;
    if is_flat(&drawn.image) {
        return Err(DiffusionError::Run(
            "the model loads but draws a flat picture; its weights are not usable".into(),
        ));
    }
    let steps = model.steps;
    drop(model);
    if let Some((config_path, weights_path)) = &layout.tiny_decoder {
        // The small decoder: its tensors by name and shape, and a picture from random latents.
        let c: TinyVaeFile = config::read(config_path)?;
        let vb = weights::load(weights_path, DType::F32, &Device::Cpu)?;
        let tiny = taesd::TinyDecoder::new(vb, &c).map_err(|e| invalid(weights_path, e))?;
        let latents = Tensor::from_vec(
            gaussian(1, c.latent_channels * 64),
            (1, c.latent_channels, 8, 8),
            &Device::Cpu,
        )
        .map_err(run_err)?;
        let image = tiny
            .decode(&latents)
            .and_then(|p| to_image(&p))
            .map_err(run_err)?;
        if is_flat(&image) {
            return Err(DiffusionError::Run(format!(
                "the small decoder in {} draws a flat picture; its weights are not usable",
                weights_path.display()
            )));
        }
    }
    Ok(format!(
        "{} text encoder{}, {} step{} by default{}",
        layout.text.len(),
        if layout.text.len() > 1 {
            "s (SDXL)"
        } else {
            ""
        },
        steps,
        if steps > 1 { "s" } else { "" },
        if layout.tiny_decoder.is_some() {
            ", small decoder taesd/"
        } else {
            ""
        }
    ))
}

/// Whether a picture is one flat colour (every channel's standard deviation under 2 levels).
pub fn is_flat(image: &RgbImage) -> bool {
    let n = (image.width() * image.height()).max(1) as f64;
    (0..3).all(|c| {
        let (sum, sq) = image.pixels().fold((0.0, 0.0), |(s, q), p| {
            let v = f64::from(p.0[c]);
            (s + v, q + v * v)
        });
        let mean = sum / n;
        (sq / n - mean * mean).max(0.0).sqrt() < 2.0
    })
}
