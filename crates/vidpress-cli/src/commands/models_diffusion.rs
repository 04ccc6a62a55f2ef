//! `vidpress models install sd-turbo --from DIR|URL`: checks a diffusion model's files (layout,
//! checksums where the folder lists them, safetensors headers, tensor names and shapes, and a
//! small test picture) and copies them into the models directory; `models list` shows it.
//! The weights are never fetched by vidpress itself.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use vidpress_imagegen::diffusion;

/// The diffusion models `models install` knows by name (any other name works with `--from`).
pub const KNOWN: [&str; 4] = ["sd-turbo", "sdxl-turbo", "sd-1.5", "sd-2.1"];

/// Where the files come from, said whenever they are missing or unusable.
pub const FETCH_HELP: &str = "vidpress does not download diffusion weights. Fetch the \
diffusers-format files of Stability AI's `sd-turbo` repository on the model hub yourself \
(model_index.json, scheduler/, tokenizer/, text_encoder/, unet/ and vae/ with their config.json \
and safetensors files; the fp16 safetensors are enough), keeping its folder layout, then run \
`vidpress models install sd-turbo --from FOLDER` (or `--from URL` of a folder served the same \
way). Optionally add the small decoder TAESD (madebyollin's `taesd`, diffusers format) as \
FOLDER/taesd/ for pictures several times faster on a CPU.";

/// The files a model folder may hold, by folder: each entry lists the names to try in order
/// (the first that exists is taken); `true` marks a part every model needs.
const FILES: &[(&str, &[&str], bool)] = &[
    ("", &["model_index.json"], false),
    ("", &["SHA256SUMS"], false),
    ("scheduler", &["scheduler_config.json"], false),
    ("tokenizer", &["vocab.json"], true),
    ("tokenizer", &["merges.txt"], true),
    ("tokenizer", &["tokenizer_config.json"], false),
    ("tokenizer", &["special_tokens_map.json"], false),
    ("text_encoder", &["config.json"], true),
    (
        "text_encoder",
        &["model.safetensors", "model.fp16.safetensors"],
        true,
    ),
    ("tokenizer_2", &["vocab.json"], false),
    ("tokenizer_2", &["merges.txt"], false),
    ("tokenizer_2", &["tokenizer_config.json"], false),
    ("tokenizer_2", &["special_tokens_map.json"], false),
    ("text_encoder_2", &["config.json"], false),
    (
        "text_encoder_2",
        &["model.safetensors", "model.fp16.safetensors"],
        false,
    ),
    ("unet", &["config.json"], true),
    (
        "unet",
        &[
            "diffusion_pytorch_model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors",
        ],
        true,
    ),
    ("vae", &["config.json"], true),
    (
        "vae",
        &[
            "diffusion_pytorch_model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors",
        ],
        true,
    ),
    ("taesd", &["config.json"], false),
    (
        "taesd",
        &[
            "diffusion_pytorch_model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors",
        ],
        false,
    ),
];

fn rel(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

/// Checks and installs the model `name` from `from` into `models_dir/name`, replacing an
/// earlier copy only once the new one has passed every check.
pub async fn install(models_dir: &Path, name: &str, from: Option<&str>) -> anyhow::Result<()> {
    let Some(from) = from else {
        bail!("`{name}` needs `--from DIR|URL`. {FETCH_HELP}");
    };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("`{name}` is not a model name (letters, digits, `-`, `.`; no folders)");
    }
    std::fs::create_dir_all(models_dir)
        .with_context(|| format!("Failed to create {}", models_dir.display()))?;
    let work = tempfile::Builder::new()
        .prefix(".install-")
        .tempdir_in(models_dir)
        .with_context(|| format!("Failed to write in {}", models_dir.display()))?;
    let staged = work.path().join(name);
    if from.starts_with("http://") || from.starts_with("https://") {
        download(from, &staged).await?;
    } else {
        let source = PathBuf::from(from);
        if !source.is_dir() {
            bail!(
                "{} is not a folder or an http(s) URL. {FETCH_HELP}",
                source.display()
            );
        }
        // The layout first: a missing part is named before gigabytes are copied.
        diffusion::Layout::find(&source).map_err(|e| anyhow::anyhow!("{e}\n{FETCH_HELP}"))?;
        eprintln!(
            "models: copying {} into {}",
            source.display(),
            models_dir.display()
        );
        let copied = source.clone();
        let into = staged.clone();
        tokio::task::spawn_blocking(move || copy_files(&copied, &into))
            .await
            .context("Failed to run the copy")??;
    }
    let check = staged.clone();
    let sums = tokio::task::spawn_blocking(move || checksums(&check))
        .await
        .context("Failed to run the checksums")??;
    for line in sums.lines() {
        eprintln!("models: sha256 {line}");
    }
    eprintln!(
        "models: checking that {name} loads (tensor names and shapes) and draws a small test picture"
    );
    let check = staged.clone();
    let described = tokio::task::spawn_blocking(move || diffusion::verify(&check))
        .await
        .context("Failed to run the check")?
        .map_err(|e| {
            anyhow::anyhow!("{from} is not a usable diffusion model: {e}\n{FETCH_HELP}")
        })?;
    let dest = models_dir.join(name);
    if dest.exists() {
        let old = work.path().join(".old");
        std::fs::rename(&dest, &old)
            .with_context(|| format!("Failed to replace {}", dest.display()))?;
    }
    std::fs::rename(&staged, &dest)
        .with_context(|| format!("Failed to install {}", dest.display()))?;
    println!("installed {name} (diffusion model for header images: {described}) -> {name}/");
    Ok(())
}

/// Prints the installed diffusion models; answers the known ones that are not installed.
pub fn list(models_dir: &Path) -> Vec<&'static str> {
    let mut missing = Vec::new();
    for name in KNOWN {
        match diffusion::installed(models_dir, name) {
            Some(_) => println!("  {name} (diffusion model for header images) -> {name}/"),
            None if name == diffusion::DEFAULT_MODEL => missing.push("sd-turbo (--from DIR|URL)"),
            None => {}
        }
    }
    missing
}

/// Copies the model's files (and only those: a folder may also hold other formats) from
/// `source` into `dest`.
fn copy_files(source: &Path, dest: &Path) -> anyhow::Result<()> {
    for (folder, names, _) in FILES {
        let Some(name) = names.iter().find(|n| source.join(rel(folder, n)).is_file()) else {
            continue;
        };
        let from = source.join(rel(folder, name));
        let to = dest.join(rel(folder, name));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("Failed to create {}", parent.display()))?;
        }
        std::fs::copy(&from, &to)
            .with_context(|| format!("Failed to copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// Fetches the model's files from the folder at `url` into `dest`: for each part the first
/// name the server has; a required part it has under no name stops the install.
async fn download(url: &str, dest: &Path) -> anyhow::Result<()> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::new();
    // SDXL has a second text encoder; its parts are fetched (and needed) only then.
    let probe = format!("{base}/text_encoder_2/config.json");
    let sdxl = client
        .head(&probe)
        .send()
        .await
        .with_context(|| format!("Failed to reach {probe}"))?
        .status()
        .is_success();
    for (folder, names, required) in FILES {
        let second = folder.ends_with("_2");
        if second && !sdxl {
            continue;
        }
        let required = *required
            || (second
                && !names[0].ends_with("_config.json")
                && names[0] != "special_tokens_map.json");
        let mut got = false;
        for name in *names {
            let path = rel(folder, name);
            let address = format!("{base}/{path}");
            let resp = client
                .get(&address)
                .send()
                .await
                .with_context(|| format!("Failed to download {address}"))?;
            if resp.status() == reqwest::StatusCode::NOT_FOUND {
                continue;
            }
            if !resp.status().is_success() {
                bail!("Failed to download {address}: HTTP {}", resp.status());
            }
            eprintln!("models: downloading {path}");
            super::models::save_body(resp, &dest.join(&path), &address).await?;
            got = true;
            break;
        }
        if required && !got {
            bail!(
                "{base} has no {} (tried {}). {FETCH_HELP}",
                rel(folder, names[0]),
                names.join(", ")
            );
        }
    }
    Ok(())
}

/// The SHA-256 of every safetensors file in `dir`, checked against the folder's `SHA256SUMS`
/// (`HEX  PATH` lines, as `sha256sum` writes them) when it has one, and written there;
/// answers the lines.
fn checksums(dir: &Path) -> anyhow::Result<String> {
    let listed_path = dir.join("SHA256SUMS");
    let listed: Vec<(String, String)> = match std::fs::read_to_string(&listed_path) {
        Ok(text) => text
            .lines()
            .filter_map(|l| {
                let (hex, path) = l.trim().split_once(char::is_whitespace)?;
                Some((
                    hex.to_ascii_lowercase(),
                    path.trim().trim_start_matches(['*', ' ']).to_owned(),
                ))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut lines = String::new();
    for (folder, names, _) in FILES {
        for name in names.iter().filter(|n| n.ends_with(".safetensors")) {
            let path = rel(folder, name);
            let file = dir.join(&path);
            if !file.is_file() {
                continue;
            }
            let hex = sha256(&file)?;
            if let Some((want, _)) = listed.iter().find(|(_, p)| *p == path)
                && *want != hex
            {
                bail!(
                    "{path} does not match its checksum in SHA256SUMS (expected {want}, got \
                     {hex}): the download is damaged; fetch it again"
                );
            }
            lines.push_str(&format!("{hex}  {path}\n"));
        }
    }
    for (_, path) in &listed {
        if path.ends_with(".safetensors") && !dir.join(path).is_file() {
            bail!("SHA256SUMS lists {path}, which is missing");
        }
    }
    let mut out = std::fs::File::create(&listed_path)
        .with_context(|| format!("Failed to write {}", listed_path.display()))?;
    out.write_all(lines.as_bytes())?;
    Ok(lines)
}

fn sha256(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("Failed to read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("Failed to read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
