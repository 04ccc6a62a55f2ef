//! `vidpress bench diffusion`: the time of one header picture drawn by a diffusion model, split
//! into the text encoder, the UNet steps and the decoder, on each device given, and the
//! process's peak memory. Without `--model` it draws with random weights in SD-Turbo's real
//! shapes (a picture takes the same time whatever the weights' values), written once into the
//! data directory; `--shapes tiny` writes a few thousand parameters instead, a quick check
//! that a build loads and draws (the CUDA build's check on a machine without a GPU).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use vidpress_imagegen::Style;
use vidpress_imagegen::diffusion::random::{Shapes, write_model};
use vidpress_imagegen::diffusion::{self, DecoderChoice, DiffusionModel, DiffusionOptions};
use vidpress_transcribe::Device;

#[derive(Debug, clap::Args)]
pub struct DiffusionBenchArgs {
    /// A model folder in the diffusers layout (default: random weights, `--shapes`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Without `--model`: `sd-turbo` (SD-Turbo's full shapes, about 2.6 GB written once into
    /// the data directory's `bench/`) or `tiny` (64×64 pictures, a check that the build draws).
    #[arg(long, default_value = "sd-turbo", value_parser = ["sd-turbo", "tiny"])]
    shapes: String,
    /// Devices to draw on, one run each (default: the `device` setting, auto).
    #[arg(long, value_name = "auto|cpu|cuda")]
    device: Vec<Device>,
    /// The decoder: auto (TAESD when the folder has `taesd/`), full or tiny.
    #[arg(long, default_value = "auto", value_parser = parse_decoder)]
    decoder: DecoderChoice,
    /// Pictures per device; the first includes warm-up (on a GPU, kernel loading).
    #[arg(long, default_value_t = 2)]
    pictures: u64,
    /// Writes the last picture here (PNG), to look at.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_decoder(s: &str) -> Result<DecoderChoice, String> {
    DecoderChoice::parse(s).ok_or_else(|| format!("expected auto, full or tiny, got `{s}`"))
}

pub async fn run(config: &crate::config::Config, args: &DiffusionBenchArgs) -> anyhow::Result<()> {
    let tiny = args.model.is_none() && args.shapes == "tiny";
    // Tiny weights are written anew each run, into a folder that goes with it.
    let scratch = if tiny {
        Some(tempfile::tempdir().context("Failed to create a scratch directory")?)
    } else {
        None
    };
    let dir = match (&args.model, &scratch) {
        (Some(dir), _) => dir.clone(),
        (None, Some(scratch)) => scratch.path().join("sd-turbo-tiny"),
        (None, None) => config.data_dir.join("bench").join("diffusion-sd-turbo"),
    };
    if args.model.is_none() && diffusion::Layout::find(&dir).is_err() {
        let started = Instant::now();
        let _ = std::fs::remove_dir_all(&dir);
        let shapes = if tiny { Shapes::Tiny } else { Shapes::SdTurbo };
        let write = dir.clone();
        tokio::task::spawn_blocking(move || write_model(&write, shapes, true))
            .await?
            .with_context(|| format!("Failed to write random weights into {}", dir.display()))?;
        println!(
            "wrote random weights in {} shapes into {} in {:.1} s",
            args.shapes,
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let devices = if args.device.is_empty() {
        vec![config.device]
    } else {
        args.device.clone()
    };
    let side = if tiny { 64 } else { 512 };
    let prompt = diffusion::prompt("How to repair a bicycle wheel", &[], Style::Photo);
    for device in devices {
        let options = DiffusionOptions {
            width: Some(side),
            height: Some(side),
            decoder: args.decoder,
            device: vidpress_worker::pipeline::diffusion_device(device),
            ..DiffusionOptions::default()
        };
        let (dir, prompt, pictures, out) = (
            dir.clone(),
            prompt.clone(),
            args.pictures.max(1),
            args.out.clone(),
        );
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let started = Instant::now();
            let model =
                DiffusionModel::load(&dir, &options).with_context(|| format!("device {device}"))?;
            let decoder = if model.tiny_decoder() { "TAESD" } else { "VAE" };
            println!(
                "device {device}: {} on {}, loaded in {:.2} s",
                model.name(),
                model.runs_on(),
                started.elapsed().as_secs_f64()
            );
            for seed in 0..pictures {
                let drawn = model.draw(&prompt, diffusion::NEGATIVE_PROMPT, seed)?;
                let t = drawn.timings;
                println!(
                    "  picture {}: {side}×{side}, {} step{}, {decoder} decoder, f32: text {:.2} s, \
                     UNet {:.2} s, decode {:.2} s, total {:.2} s",
                    seed + 1,
                    model.steps(),
                    if model.steps() == 1 { "" } else { "s" },
                    t.text.as_secs_f64(),
                    t.unet.as_secs_f64(),
                    t.decode.as_secs_f64(),
                    t.total().as_secs_f64()
                );
                anyhow::ensure!(
                    !diffusion::is_flat(&drawn.image),
                    "the picture is one flat colour: the model does not draw"
                );
                if seed + 1 == pictures
                    && let Some(out) = &out
                {
                    drawn
                        .image
                        .save(out)
                        .with_context(|| format!("Failed to write {}", out.display()))?;
                }
            }
            Ok(())
        })
        .await??;
    }
    if let Some(peak) = peak_memory() {
        println!("peak memory of this process: {peak}");
    }
    Ok(())
}

/// The process's peak resident memory (`VmHWM`), as Linux reports it.
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(format!("{:.2} GB", kb / 1024.0 / 1024.0))
}
