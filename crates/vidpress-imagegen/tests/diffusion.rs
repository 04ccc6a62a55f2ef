//! Diffusion with small random weights written in the real diffusers layout and tensor names:
//! the loader, the whole pipeline (tokenize → text encoder → UNet step → decoder → picture),
//! the header the illustrate step gets, and the fallback when the weights are missing,
//! truncated, damaged or the wrong shape.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vidpress_imagegen::diffusion::random::{Shapes, write_model};
use vidpress_imagegen::diffusion::tokenizer::ClipTokenizer;
use vidpress_imagegen::diffusion::{
    self, DecoderChoice, DiffusionCache, DiffusionModel, DiffusionOptions, Layout, weights,
};
use vidpress_imagegen::{HEADER_SIZE, HeaderRequest, Origin, SQUARE_SIZE, Style, make_header};

fn tiny_model(small_decoder: bool) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sd-turbo");
    write_model(&dir, Shapes::Tiny, small_decoder).unwrap();
    (tmp, dir)
}

fn options() -> DiffusionOptions {
    DiffusionOptions {
        width: Some(64),
        height: Some(64),
        ..DiffusionOptions::default()
    }
}

fn request<'a>(cache: Option<&'a DiffusionCache>, tags: &'a [String]) -> HeaderRequest<'a> {
    HeaderRequest {
        title: "How to repair a bicycle wheel",
        tags,
        media: None,
        thumbnail: None,
        style: Style::Photo,
        seed: 42,
        diffusion: cache,
    }
}

#[test]
fn the_written_files_carry_the_diffusers_tensor_names() {
    let (_tmp, dir) = tiny_model(true);
    let layout = Layout::find(&dir).unwrap();
    let names = |path: &Path| weights::header(path).unwrap();
    let text = names(&layout.text[0].weights);
    for name in [
        "text_model.embeddings.token_embedding.weight",
        "text_model.embeddings.position_embedding.weight",
        "text_model.encoder.layers.1.self_attn.q_proj.weight",
        "text_model.encoder.layers.0.mlp.fc2.bias",
        "text_model.final_layer_norm.weight",
    ] {
        assert!(text.contains_key(name), "text encoder lacks {name}");
    }
    assert_eq!(
        text["text_model.embeddings.token_embedding.weight"].shape,
        vec![diffusion::random::VOCAB, 32]
    );
    let unet = names(&layout.unet.1);
    for name in [
        "conv_in.weight",
        "time_embedding.linear_1.weight",
        "down_blocks.0.resnets.0.conv1.weight",
        "down_blocks.0.attentions.0.proj_in.weight",
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
        "up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0.weight",
        "conv_out.weight",
    ] {
        assert!(unet.contains_key(name), "UNet lacks {name}");
    }
    let vae = names(&layout.vae.1);
    for name in [
        "decoder.conv_in.weight",
        "decoder.up_blocks.0.resnets.0.conv1.weight",
        "decoder.mid_block.attentions.0.to_q.weight",
        "post_quant_conv.weight",
        "encoder.conv_in.weight",
    ] {
        assert!(vae.contains_key(name), "VAE lacks {name}");
    }
    let tiny = names(&layout.tiny_decoder.as_ref().unwrap().1);
    for name in [
        "decoder.layers.0.weight",
        "decoder.layers.2.conv.0.weight",
        "decoder.layers.2.conv.4.bias",
    ] {
        assert!(tiny.contains_key(name), "small decoder lacks {name}");
    }
}

#[test]
fn the_tokenizer_merges_words_and_pads_as_the_config_says() {
    let (_tmp, dir) = tiny_model(false);
    let tok = ClipTokenizer::load(&dir.join("tokenizer")).unwrap();
    let vocab: std::collections::HashMap<String, u32> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer/vocab.json")).unwrap())
            .unwrap();
    let ids = tok.encode("The   THE, at", 10).unwrap();
    let chars = diffusion::random::byte_chars();
    let end_of = |c: char| vocab[&format!("{c}</w>")];
    assert_eq!(
        ids,
        vec![
            vocab["<|startoftext|>"],
            vocab["the</w>"],
            vocab["the</w>"],
            end_of(','),
            vocab["a"],
            end_of('t'),
            vocab["<|endoftext|>"],
            vocab["!"],
            vocab["!"],
            vocab["!"],
        ]
    );
    assert_eq!(chars[b'!' as usize], '!');
    // A long prompt is cut so that the end token still fits.
    let long = tok.encode(&"word ".repeat(100), 77).unwrap();
    assert_eq!(long.len(), 77);
    assert_eq!(long[76], vocab["<|endoftext|>"]);
}

#[test]
fn the_tiny_model_draws_a_seeded_picture_of_the_requested_size() {
    let (_tmp, dir) = tiny_model(false);
    let model = DiffusionModel::load(&dir, &options()).unwrap();
    assert_eq!(model.name(), "sd-turbo");
    assert_eq!(model.steps(), 1, "a turbo model takes one step");
    assert!(!model.tiny_decoder());
    let a = model.draw("a red bicycle", "", 7).unwrap();
    assert_eq!(a.image.dimensions(), (64, 64));
    assert!(!diffusion::is_flat(&a.image), "the picture is one colour");
    let again = model.draw("a red bicycle", "", 7).unwrap();
    assert_eq!(a.image, again.image, "a seed draws the same picture again");
    let other = model.draw("a red bicycle", "", 8).unwrap();
    assert_ne!(a.image, other.image, "another seed draws another picture");
    let prompt = model.draw("the sea", "", 7).unwrap();
    assert_ne!(a.image, prompt.image, "the prompt changes the picture");
    let wide = model.draw_sized("a red bicycle", "", 7, 128, 64).unwrap();
    assert_eq!(wide.image.dimensions(), (128, 64));
}

#[test]
fn guided_steps_and_the_small_decoder_run_too() {
    let (_tmp, dir) = tiny_model(true);
    let guided = DiffusionModel::load(
        &dir,
        &DiffusionOptions {
            steps: Some(3),
            guidance: Some(5.0),
            decoder: DecoderChoice::Full,
            ..options()
        },
    )
    .unwrap();
    let picture = guided.draw("a red bicycle", "blurry", 3).unwrap();
    assert_eq!(picture.image.dimensions(), (64, 64));
    assert!(!diffusion::is_flat(&picture.image));

    let small = DiffusionModel::load(&dir, &options()).unwrap();
    assert!(small.tiny_decoder(), "auto takes taesd/ when it is there");
    let picture = small.draw("a red bicycle", "", 3).unwrap();
    assert_eq!(picture.image.dimensions(), (64, 64));
    assert!(!diffusion::is_flat(&picture.image));

    let (_tmp2, without) = tiny_model(false);
    let err = DiffusionModel::load(
        &without,
        &DiffusionOptions {
            decoder: DecoderChoice::Tiny,
            ..options()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("taesd/"), "{err}");
}

#[test]
fn the_illustrate_step_gets_a_drawn_header_in_both_sizes() {
    let (_tmp, dir) = tiny_model(false);
    let cache = DiffusionCache::new(Some(dir), options(), Duration::from_secs(3600));
    let tags = vec!["spokes".to_owned(), "bicycle".to_owned()];
    let images = make_header(&request(Some(&cache), &tags));
    assert_eq!(images.origin, Origin::Diffusion { seed: 42 });
    assert_eq!(images.header.dimensions(), HEADER_SIZE);
    assert_eq!(images.square.dimensions(), (SQUARE_SIZE, SQUARE_SIZE));
    assert!(!diffusion::is_flat(&images.header));
    let note = images.describe();
    assert!(
        note.contains("seed 42") && note.contains("drawn by sd-turbo"),
        "{note}"
    );
    assert!(
        note.contains("spokes"),
        "the prompt has the keyphrases: {note}"
    );
    assert!(cache.is_loaded(), "the model stays loaded for the next job");
    // A second header reuses the loaded model and another seed gives another picture.
    let mut second = request(Some(&cache), &tags);
    second.seed = 43;
    let other = make_header(&second);
    assert_eq!(other.origin, Origin::Diffusion { seed: 43 });
    assert_ne!(other.header, images.header);
}

#[test]
fn the_model_is_released_after_its_idle_time() {
    let (_tmp, dir) = tiny_model(false);
    let kept = DiffusionCache::new(Some(dir.clone()), options(), Duration::from_secs(3600));
    kept.with_model(|m| m.size()).unwrap();
    assert!(kept.is_loaded());
    assert!(!kept.release_if_idle(), "an hour has not passed");
    assert!(kept.is_loaded());

    let released = DiffusionCache::new(Some(dir), options(), Duration::ZERO);
    assert!(
        !released.is_loaded(),
        "nothing is loaded before it is needed"
    );
    released.with_model(|m| m.size()).unwrap();
    assert!(released.is_loaded());
    assert!(released.release_if_idle());
    assert!(!released.is_loaded());
    // And it loads again when asked.
    assert_eq!(released.with_model(|m| m.size()).unwrap(), (64, 64));
}

/// Breaks a copy of the tiny model with `damage` and checks that the illustrate step's header
/// is the title card with a note naming the problem.
fn falls_back(damage: impl FnOnce(&Path), expected: &str) {
    let (_tmp, dir) = tiny_model(false);
    damage(&dir);
    let cache = DiffusionCache::new(Some(dir.clone()), options(), Duration::from_secs(3600));
    let images = make_header(&request(Some(&cache), &[]));
    assert_eq!(images.origin, Origin::Card, "{}", images.describe());
    assert_eq!(images.header.dimensions(), HEADER_SIZE);
    let note = &images.notes[0];
    assert!(note.starts_with("diffusion skipped: "), "{note}");
    assert!(note.contains(expected), "{note:?} should say {expected:?}");
    assert!(!cache.is_loaded());
    // The installer's check refuses the folder with the same reason.
    let err = diffusion::verify(&dir).unwrap_err().to_string();
    assert!(err.contains(expected), "{err:?} should say {expected:?}");
}

#[test]
fn missing_weights_fall_back_to_the_card_with_the_file_named() {
    falls_back(
        |dir| std::fs::remove_file(dir.join("unet/diffusion_pytorch_model.safetensors")).unwrap(),
        "unet/diffusion_pytorch_model.safetensors is missing",
    );
}

#[test]
fn truncated_weights_fall_back() {
    falls_back(
        |dir| {
            let path = dir.join("vae/diffusion_pytorch_model.safetensors");
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
        },
        "is truncated or damaged",
    );
}

#[test]
fn garbage_weights_fall_back() {
    falls_back(
        |dir| {
            std::fs::write(
                dir.join("text_encoder/model.safetensors"),
                b"<html>not found</html>",
            )
            .unwrap()
        },
        "is not a safetensors file",
    );
}

#[test]
fn weights_of_another_shape_fall_back() {
    falls_back(
        |dir| {
            // The configuration says 48 channels; the weights were made with 32.
            let path = dir.join("unet/config.json");
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replacen("32,", "48,", 1)).unwrap();
        },
        "does not fit the model's configuration",
    );
}

#[test]
fn no_model_means_the_fallback_and_says_how_to_install_one() {
    let cache = DiffusionCache::new(None, options(), Duration::from_secs(3600));
    let images = make_header(&request(Some(&cache), &[]));
    assert_eq!(images.origin, Origin::Card);
    assert!(
        images.notes[0].contains("vidpress models install sd-turbo"),
        "{:?}",
        images.notes
    );
}

#[test]
fn verify_accepts_the_tiny_model() {
    let (_tmp, dir) = tiny_model(true);
    let described = diffusion::verify(&dir).unwrap();
    assert!(described.contains("1 step"), "{described}");
    assert!(described.contains("taesd"), "{described}");
}

#[test]
fn the_prompt_puts_the_style_around_the_title_and_new_keyphrases() {
    let tags: Vec<String> = [
        "bicycle",
        "spokes",
        "rim tape",
        "truing stand",
        "tyre levers",
    ]
    .map(String::from)
    .to_vec();
    let p = diffusion::prompt("How to repair a Bicycle wheel", &tags, Style::Illustration);
    assert!(
        p.starts_with("flat editorial illustration of How to repair a Bicycle wheel, spokes"),
        "{p}"
    );
    assert!(
        !p.contains(", bicycle,"),
        "a tag the title says is left out: {p}"
    );
    assert!(p.contains("tyre levers"), "{p}");
    assert!(p.ends_with("vector art"), "{p}");
    let long = diffusion::prompt(&"word ".repeat(60), &[], Style::Photo);
    assert_eq!(long.matches("word").count(), 24, "{long}");
    assert_ne!(
        diffusion::prompt("x", &[], Style::Photo),
        diffusion::prompt("x", &[], Style::Minimal)
    );
}
