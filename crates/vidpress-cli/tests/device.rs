//! `--device` and the `device` setting, through the real binary. None of these need a model or
//! a GPU: the device is checked before anything is loaded or fetched.

use std::process::{Command, Output};

fn vidpress(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vidpress"));
    cmd.env_remove("VIDPRESS_CONFIG")
        .env_remove("VIDPRESS_DEVICE")
        .env("VIDPRESS_MODELS_DIR", dir.path().join("models"))
        .env("VIDPRESS_DATA_DIR", dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("could not run vidpress")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unknown_device_is_refused_with_the_choices() {
    let out = vidpress(&["transcribe", "clip.wav", "--device", "tpu"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("tpu") && err.contains("`auto`, `cpu` or `cuda`"),
        "{err}"
    );

    let out = vidpress(&["migrate"], &[("VIDPRESS_DEVICE", "tpu")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`device`") && err.contains("VIDPRESS_DEVICE"),
        "{err}"
    );
}

#[test]
fn the_diffusion_benchmark_draws_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("picture.png");
    let out = vidpress(
        &[
            "bench",
            "diffusion",
            "--shapes",
            "tiny",
            "--device",
            "cpu",
            "--pictures",
            "2",
            "--out",
            picture.to_str().unwrap(),
        ],
        &[],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(
        said.contains("device cpu: sd-turbo-tiny on CPU, loaded in"),
        "{said}"
    );
    for n in 1..=2 {
        assert!(
            said.contains(&format!(
                "picture {n}: 64×64, 1 step, TAESD decoder, f32: text "
            )),
            "{said}"
        );
    }
    assert!(said.contains("peak memory of this process: "), "{said}");
    let image = image::open(&picture).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (64, 64));
    assert!(!vidpress_imagegen::diffusion::is_flat(&image));
}

#[cfg(not(feature = "cuda"))]
mod cpu_build {
    use super::*;

    const NO_CUDA: &str = "this build has no CUDA support; build with deploy/build-cuda.sh";

    #[test]
    fn cuda_is_refused_by_every_command_that_transcribes_or_draws() {
        for args in [
            &["transcribe", "clip.wav", "--device", "cuda"][..],
            &["convert", "clip.wav", "--device", "cuda"],
            &["bench", "pipeline", "clip.wav", "--device", "cuda"],
            &["bench", "diffusion", "--shapes", "tiny", "--device", "cuda"],
            &[
                "bench",
                "transcribe",
                "clip.wav",
                "--device",
                "cpu",
                "--device",
                "cuda",
            ],
        ] {
            let out = vidpress(args, &[]);
            assert!(!out.status.success(), "{args:?} succeeded");
            let err = stderr(&out);
            assert!(err.contains(NO_CUDA), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_worker_configured_for_cuda_does_not_start() {
        let out = vidpress(&["worker"], &[("VIDPRESS_DEVICE", "cuda")]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("`device` = cuda") && err.contains(NO_CUDA),
            "{err}"
        );
        // The command line wins over the setting.
        let out = vidpress(
            &["transcribe", "missing.wav", "--device", "cpu"],
            &[("VIDPRESS_DEVICE", "cuda")],
        );
        assert!(!stderr(&out).contains(NO_CUDA), "{}", stderr(&out));
    }
}
