//! Where Whisper runs: the CPU, or an NVIDIA GPU in builds with the `cuda` feature.
//!
//! whisper.cpp decides at load time and only says what it found in its log, so loading a model
//! listens to that log ([`capture_whisper_log`]): the CUDA backend's start-up lines name the
//! cards (or say why there are none), and the engine turns them into one line of its own.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Whether this build has whisper.cpp's CUDA backend (cargo feature `cuda`).
pub const CUDA_BUILD: bool = cfg!(feature = "cuda");

/// The device asked for: `auto` (the GPU when the build has CUDA and a GPU is there, else the
/// CPU), `cpu`, or `cuda` (the GPU or an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU when there is a usable one, else the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// An NVIDIA GPU; loading fails when the build or the machine has none.
    Cuda,
}

impl Device {
    /// The names `FromStr` accepts.
    pub const NAMES: [&'static str; 3] = ["auto", "cpu", "cuda"];

    /// Whether this build can honour the choice: `cuda` needs a build with the `cuda` feature.
    pub fn check_supported(self) -> Result<(), NoCudaSupport> {
        if self == Device::Cuda && !CUDA_BUILD {
            return Err(NoCudaSupport);
        }
        Ok(())
    }

    /// Whether loading should offer whisper.cpp the GPU.
    pub(crate) fn wants_gpu(self) -> bool {
        CUDA_BUILD && self != Device::Cpu
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Auto => "auto",
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            other => Err(format!("expected `auto`, `cpu` or `cuda`, got `{other}`")),
        }
    }
}

/// `--device cuda` on a build without CUDA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this build has no CUDA support; build with deploy/build-cuda.sh, or choose the device auto or cpu"
)]
pub struct NoCudaSupport;

/// What whisper.cpp's CUDA backend found when it started (once per process).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CudaProbe {
    /// `NAME, compute capability X.Y` of each card, in whisper.cpp's device order.
    pub devices: Vec<String>,
    /// Why CUDA could not start, as the CUDA runtime put it (no driver, no device…).
    pub error: Option<String>,
}

impl CudaProbe {
    /// Reads the CUDA backend's start-up lines (`ggml_cuda_init: …`) out of whisper.cpp's log;
    /// `None` when there are none.
    pub fn from_log<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<CudaProbe> {
        let mut probe = CudaProbe::default();
        let mut seen = false;
        let mut in_init = false;
        for line in lines {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("ggml_cuda_init:") {
                seen = true;
                in_init = true;
                let rest = rest.trim();
                if let Some(reason) = rest.strip_prefix("failed to initialize CUDA:") {
                    probe.error = Some(reason.trim().to_owned());
                }
            } else if in_init && let Some(rest) = line.strip_prefix("Device ") {
                // `Device 0: NVIDIA H100 80GB HBM3, compute capability 9.0, VMM: no`
                if let Some((_, desc)) = rest.split_once(": ") {
                    let desc = desc.split(", VMM").next().unwrap_or(desc);
                    probe.devices.push(desc.trim().to_owned());
                }
            }
        }
        seen.then_some(probe)
    }
}

static PROBE: OnceLock<CudaProbe> = OnceLock::new();

/// The CUDA backend's findings, once a model has been loaded in a CUDA build.
pub fn cuda_probe() -> Option<&'static CudaProbe> {
    PROBE.get()
}

/// Records the probe from a load's log; the backend starts once per process, so only the
/// first load's log has it.
pub(crate) fn remember_probe(lines: &[(Level, String)]) -> Option<&'static CudaProbe> {
    if let Some(found) = CudaProbe::from_log(lines.iter().map(|(_, l)| l.as_str())) {
        let _ = PROBE.set(found);
    }
    PROBE.get()
}

/// Runs `f` with whisper.cpp's log (which whisper-rs hands to `tracing`) collected instead of
/// written, and returns it with `f`'s result. Only events on this thread are collected;
/// whisper.cpp loads a model on the calling thread.
pub(crate) fn capture_whisper_log<T>(f: impl FnOnce() -> T) -> (T, Vec<(Level, String)>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let collector = Collector {
        lines: lines.clone(),
    };
    let out = tracing::subscriber::with_default(collector, f);
    let lines = std::mem::take(&mut *lines.lock().unwrap_or_else(|e| e.into_inner()));
    (out, lines)
}

struct Collector {
    lines: Arc<Mutex<Vec<(Level, String)>>>,
}

struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            use fmt::Write;
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        if let Ok(mut lines) = self.lines.lock() {
            lines.push((*event.metadata().level(), message.0));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_print() {
        for name in Device::NAMES {
            assert_eq!(name.parse::<Device>().unwrap().to_string(), name);
        }
        assert_eq!(" CUDA ".parse::<Device>(), Ok(Device::Cuda));
        assert_eq!("gpu".parse::<Device>(), Ok(Device::Cuda));
        assert_eq!(Device::default(), Device::Auto);
        let err = "tpu".parse::<Device>().unwrap_err();
        assert!(
            err.contains("`auto`, `cpu` or `cuda`") && err.contains("tpu"),
            "{err}"
        );
    }

    #[test]
    fn cuda_needs_a_cuda_build() {
        assert_eq!(Device::Auto.check_supported(), Ok(()));
        assert_eq!(Device::Cpu.check_supported(), Ok(()));
        assert!(!Device::Cpu.wants_gpu());
        if CUDA_BUILD {
            assert_eq!(Device::Cuda.check_supported(), Ok(()));
            assert!(Device::Auto.wants_gpu());
        } else {
            let err = Device::Cuda.check_supported().unwrap_err().to_string();
            assert!(
                err.contains("this build has no CUDA support")
                    && err.contains("deploy/build-cuda.sh"),
                "{err}"
            );
            assert!(!Device::Auto.wants_gpu());
        }
    }

    #[test]
    fn the_cuda_backend_log_names_the_cards_or_the_reason() {
        let found = [
            "whisper_init_from_file_with_params_no_state: loading model from 'base.bin'",
            "ggml_cuda_init: found 2 CUDA devices:",
            "Device 0: NVIDIA H100 80GB HBM3, compute capability 9.0, VMM: no",
            "Device 1: NVIDIA H200, compute capability 9.0, VMM: no",
            "whisper_model_load:    CUDA0 total size =   147.37 MB",
        ];
        let probe = CudaProbe::from_log(found).unwrap();
        assert_eq!(
            probe.devices,
            [
                "NVIDIA H100 80GB HBM3, compute capability 9.0",
                "NVIDIA H200, compute capability 9.0"
            ]
        );
        assert_eq!(probe.error, None);

        let none = CudaProbe::from_log([
            "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected",
        ])
        .unwrap();
        assert!(none.devices.is_empty());
        assert_eq!(
            none.error.as_deref(),
            Some("no CUDA-capable device is detected")
        );

        assert_eq!(
            CudaProbe::from_log(["whisper_model_load: n_vocab = 51865"]),
            None
        );
    }

    #[test]
    fn whisper_log_is_collected_not_written() {
        let (n, lines) = capture_whisper_log(|| {
            tracing::info!("ggml_cuda_init: found 1 CUDA devices:");
            tracing::error!(code = 3, "something failed");
            7
        });
        assert_eq!(n, 7);
        assert_eq!(
            lines,
            [
                (
                    Level::INFO,
                    "ggml_cuda_init: found 1 CUDA devices:".to_owned()
                ),
                (Level::ERROR, "something failed".to_owned()),
            ]
        );
    }
}
