//! `vidpress models install sd-turbo --from DIR|URL` and `models list`, through the real
//! binary, on a small random-weights model in the diffusers layout and on broken copies of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vidpress_imagegen::diffusion::random::{Shapes, write_model};

mod support;

fn vidpress(models: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vidpress"))
        .env_remove("VIDPRESS_CONFIG")
        .env("VIDPRESS_MODELS_DIR", models)
        .env("VIDPRESS_DATA_DIR", models.with_file_name("data"))
        .env("RUST_LOG", "warn")
        .current_dir(models.parent().unwrap())
        .args(args)
        .output()
        .expect("could not run vidpress")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("download");
    write_model(&source, Shapes::Tiny, true).unwrap();
    // A real snapshot also holds files the install leaves behind.
    std::fs::write(
        source.join("sd_turbo.safetensors"),
        b"single-file checkpoint",
    )
    .unwrap();
    let models = tmp.path().join("models");
    (tmp, source, models)
}

#[test]
fn a_checked_folder_is_installed_and_listed() {
    let (_tmp, source, models) = fixture();
    let out = vidpress(&models, &["models", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("sd-turbo (--from DIR|URL)"),
        "{}",
        text(&out)
    );

    let out = vidpress(
        &models,
        &[
            "models",
            "install",
            "sd-turbo",
            "--from",
            source.to_str().unwrap(),
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("installed sd-turbo (diffusion model"),
        "{said}"
    );
    assert!(said.contains("sha256 "), "the checksums are shown: {said}");
    let dest = models.join("sd-turbo");
    assert!(
        dest.join("unet/diffusion_pytorch_model.safetensors")
            .is_file()
    );
    assert!(dest.join("taesd/config.json").is_file());
    assert!(dest.join("SHA256SUMS").is_file());
    assert!(
        !dest.join("sd_turbo.safetensors").exists(),
        "only the diffusers files are copied"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("sd-turbo")]);

    let out = vidpress(&models, &["models", "list"]);
    assert!(
        text(&out).contains("  sd-turbo (diffusion model for header images) -> sd-turbo/"),
        "{}",
        text(&out)
    );

    // Installing again checks its own SHA256SUMS and replaces the copy.
    let out = vidpress(
        &models,
        &[
            "models",
            "install",
            "sd-turbo",
            "--from",
            dest.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(dest.join("vae/config.json").is_file());
}

#[test]
fn a_broken_folder_is_refused_and_nothing_is_installed() {
    let (_tmp, source, models) = fixture();
    let unet = source.join("unet/diffusion_pytorch_model.safetensors");
    let bytes = std::fs::read(&unet).unwrap();
    std::fs::write(&unet, &bytes[..bytes.len() / 2]).unwrap();
    let out = vidpress(
        &models,
        &[
            "models",
            "install",
            "sd-turbo",
            "--from",
            source.to_str().unwrap(),
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("is truncated or damaged"), "{said}");
    assert!(
        said.contains("does not download diffusion weights"),
        "{said}"
    );
    assert!(!models.join("sd-turbo").exists());

    std::fs::remove_file(&unet).unwrap();
    let out = vidpress(
        &models,
        &[
            "models",
            "install",
            "sd-turbo",
            "--from",
            source.to_str().unwrap(),
        ],
    );
    let said = text(&out);
    assert!(!out.status.success());
    assert!(
        said.contains("unet/diffusion_pytorch_model.safetensors is missing"),
        "{said}"
    );
    assert!(!models.join("sd-turbo").exists());
}

#[test]
fn a_checksum_that_does_not_match_is_refused() {
    let (_tmp, source, models) = fixture();
    std::fs::write(
        source.join("SHA256SUMS"),
        format!(
            "{}  vae/diffusion_pytorch_model.safetensors\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let out = vidpress(
        &models,
        &[
            "models",
            "install",
            "sd-turbo",
            "--from",
            source.to_str().unwrap(),
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("vae/diffusion_pytorch_model.safetensors does not match its checksum"),
        "{said}"
    );
    assert!(!models.join("sd-turbo").exists());
}

#[test]
fn without_files_it_says_where_to_fetch_them() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let out = vidpress(&models, &["models", "install", "sd-turbo"]);
    let said = text(&out);
    assert!(!out.status.success());
    assert!(
        said.contains("Stability AI's `sd-turbo` repository on the model hub"),
        "{said}"
    );
    assert!(said.contains("--from"), "{said}");
}

#[tokio::test]
async fn a_folder_served_over_http_is_downloaded_and_installed() {
    let (_tmp, source, models) = fixture();
    let server = support::FileServer::start(&source).await;
    let url = server.url("");
    let out = vidpress(&models, &["models", "install", "sd-turbo", "--from", &url]);
    drop(server);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("downloading unet/diffusion_pytorch_model.safetensors"),
        "{said}"
    );
    assert!(models.join("sd-turbo/vae/config.json").is_file());
    assert!(
        models
            .join("sd-turbo/taesd/diffusion_pytorch_model.safetensors")
            .is_file()
    );
}
