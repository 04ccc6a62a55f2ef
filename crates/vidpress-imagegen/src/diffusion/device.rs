//! Where pictures are drawn: the CPU, or an NVIDIA GPU in builds with the `cuda` feature.
//!
//! The CUDA build loads the driver and the CUDA libraries only when a model is loaded (candle's
//! CUDA backend with cudarc's dynamic loading), so the same binary starts and draws on the CPU
//! on a machine without a GPU. Each library is looked for before candle is asked for the GPU
//! (`missing_libraries`, added to the vendored candle-core): cudarc panics on a missing one,
//! and a plain message is better than a caught panic.

use std::fmt;

use candle_core::Device;

/// Whether this build has candle's CUDA backend (cargo feature `cuda`).
pub const CUDA_BUILD: bool = cfg!(feature = "cuda");

/// The device asked for, like the `device` setting: `auto` (the GPU when the build has CUDA
/// and the machine a usable GPU, else the CPU), `cpu`, or `cuda` (the GPU or an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda,
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
        })
    }
}

/// The device a model is loaded on, and how to name it in a log line.
#[derive(Debug, Clone)]
pub struct Placement {
    pub device: Device,
    /// `CPU`, or `CUDA0, <card's name>`.
    pub name: String,
}

/// Picks the device for `choice`. `auto` falls back to the CPU with one warning that says why;
/// `cuda` without a usable GPU is an error with the same reason.
pub fn place(choice: DeviceChoice) -> Result<Placement, String> {
    let cpu = || Placement {
        device: Device::Cpu,
        name: "CPU".to_owned(),
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Auto | DeviceChoice::Cuda if !CUDA_BUILD => {
            if choice == DeviceChoice::Cuda {
                return Err(
                    "this build has no CUDA support; build with deploy/build-cuda.sh, \
                            or choose the device auto or cpu"
                        .to_owned(),
                );
            }
            Ok(cpu())
        }
        DeviceChoice::Auto | DeviceChoice::Cuda => match cuda() {
            Ok(placement) => {
                tracing::info!(device = %choice, "diffusion runs on the GPU: {}", placement.name);
                Ok(placement)
            }
            Err(reason) if choice == DeviceChoice::Auto => {
                tracing::warn!(
                    device = %choice,
                    "no usable CUDA GPU ({reason}): diffusion runs on the CPU"
                );
                Ok(cpu())
            }
            Err(reason) => Err(format!(
                "device cuda: no usable CUDA GPU ({reason}); choose the device auto to fall back \
                 to the CPU"
            )),
        },
    }
}

/// The first GPU, or why there is none.
#[cfg(feature = "cuda")]
fn cuda() -> Result<Placement, String> {
    // What candle's CUDA device opens when it starts, each looked for the way cudarc loads it.
    let missing = candle_core::cuda_backend::missing_libraries();
    if !missing.is_empty() {
        return Err(format!("{} not found", missing.join(", ")));
    }
    // A panic in cudarc (a library that loads but lacks a function) must not take the worker
    // down: it is caught and reported like any other reason.
    let opened = std::panic::catch_unwind(|| Device::new_cuda(0)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the CUDA libraries failed to start".to_owned())
    })?;
    let device = opened.map_err(|e| first_line(&e.to_string()))?;
    let card = device
        .as_cuda_device()
        .ok()
        .and_then(|d| d.cuda_stream().context().name().ok())
        .unwrap_or_else(|| "unknown card".to_owned());
    Ok(Placement {
        device,
        name: format!("CUDA0, {card}"),
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Placement, String> {
    Err("this build has no CUDA support".to_owned())
}

#[cfg(feature = "cuda")]
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_is_always_there() {
        let placed = place(DeviceChoice::Cpu).unwrap();
        assert!(placed.device.is_cpu());
        assert_eq!(placed.name, "CPU");
    }

    #[test]
    fn auto_draws_somewhere_and_cuda_needs_a_gpu() {
        let auto = place(DeviceChoice::Auto).unwrap();
        match place(DeviceChoice::Cuda) {
            // A CUDA build on a GPU machine: auto takes the GPU too.
            Ok(gpu) => {
                assert!(
                    gpu.device.is_cuda() && auto.device.is_cuda(),
                    "{}",
                    auto.name
                );
                assert!(gpu.name.starts_with("CUDA0, "), "{}", gpu.name);
            }
            Err(reason) => {
                assert!(auto.device.is_cpu());
                if CUDA_BUILD {
                    assert!(reason.contains("no usable CUDA GPU"), "{reason}");
                } else {
                    assert!(
                        reason.contains("this build has no CUDA support"),
                        "{reason}"
                    );
                }
            }
        }
    }
}
