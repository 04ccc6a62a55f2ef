//! Converts a faster-whisper (CTranslate2) Whisper model directory into a whisper.cpp GGML file.
//!
//! CTranslate2 fuses attention projections (self-attention q|k|v, cross-attention k|v) and names
//! layers `layer_N/...`; whisper.cpp wants OpenAI's PyTorch names and separate projections, the
//! key without a bias. Small tensors stay f32, convolutions f16, matrices f16 or quantized, as
//! whisper.cpp's own converter and quantizer write them.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::ct2::{Ct2Error, Ct2Model};
use crate::ggml::{GgmlWriter, Hparams, TensorType, WeightType};
use crate::mel;
use crate::vocab::{self, VocabError};

/// Why a model could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The directory has no `model.bin` (nor `model.bin.part*` pieces).
    #[error("{0} has no CTranslate2 `model.bin` (nor `model.bin.part1`, `model.bin.part2`…)")]
    NoModel(PathBuf),
    /// The directory has no vocabulary file.
    #[error("{0} has no `vocabulary.txt` or `vocabulary.json`")]
    NoVocabulary(PathBuf),
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The CTranslate2 file is malformed or not a Whisper model.
    #[error("{path}: {source}")]
    Model { path: PathBuf, source: Ct2Error },
    /// The vocabulary could not be decoded.
    #[error("{path}: {source}")]
    Vocabulary { path: PathBuf, source: VocabError },
    /// The model's tensors do not have Whisper's shapes.
    #[error("unexpected shape for `{name}`: {shape:?}")]
    Shape { name: String, shape: Vec<usize> },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ConvertError {
    let path = path.to_owned();
    move |source| ConvertError::Io {
        action,
        path,
        source,
    }
}

/// The `model.bin` pieces of a directory, in order: `model.bin`, or `model.bin.part1`, `part2`….
pub fn model_pieces(dir: &Path) -> Result<Vec<PathBuf>, ConvertError> {
    let whole = dir.join("model.bin");
    if whole.is_file() {
        return Ok(vec![whole]);
    }
    let parts: Vec<PathBuf> = (1..)
        .map(|i| dir.join(format!("model.bin.part{i}")))
        .take_while(|p| p.is_file())
        .collect();
    if parts.is_empty() {
        return Err(ConvertError::NoModel(dir.to_owned()));
    }
    Ok(parts)
}

fn read_pieces(pieces: &[PathBuf]) -> Result<Vec<u8>, ConvertError> {
    let mut buf = Vec::new();
    for p in pieces {
        File::open(p)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(io_err("could not read", p))?;
    }
    Ok(buf)
}

fn read_vocabulary(dir: &Path) -> Result<Vec<Vec<u8>>, ConvertError> {
    let txt = dir.join("vocabulary.txt");
    let json = dir.join("vocabulary.json");
    let (path, result) = if txt.is_file() {
        let text = fs::read_to_string(&txt).map_err(io_err("could not read", &txt))?;
        (txt, vocab::from_text(&text))
    } else if json.is_file() {
        let text = fs::read_to_string(&json).map_err(io_err("could not read", &json))?;
        (json, vocab::from_json(&text))
    } else {
        return Err(ConvertError::NoVocabulary(dir.to_owned()));
    };
    result.map_err(|source| ConvertError::Vocabulary { path, source })
}

/// Converts the faster-whisper model in `dir` into a GGML file at `out`, returning its dimensions.
/// The file is written next to `out` first and renamed into place, so `out` is never half-written.
pub fn convert_dir(
    dir: &Path,
    out: &Path,
    weight_type: WeightType,
) -> Result<Hparams, ConvertError> {
    let pieces = model_pieces(dir)?;
    let bytes = read_pieces(&pieces)?;
    let model = Ct2Model::parse(&bytes).map_err(|source| ConvertError::Model {
        path: pieces[0].clone(),
        source,
    })?;
    let vocab = read_vocabulary(dir)?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(parent)
        .map_err(io_err("could not create a file in", parent))?;
    let file = tmp
        .reopen()
        .map_err(io_err("could not write", tmp.path()))?;
    let hparams =
        write_ggml(&model, &vocab, weight_type, BufWriter::new(file)).map_err(|e| match e {
            WriteError::Convert(e) => e,
            WriteError::Io(source) => ConvertError::Io {
                action: "could not write",
                path: out.to_owned(),
                source,
            },
        })?;
    tmp.persist(out).map_err(|e| ConvertError::Io {
        action: "could not write",
        path: out.to_owned(),
        source: e.error,
    })?;
    Ok(hparams)
}

enum WriteError {
    Convert(ConvertError),
    Io(std::io::Error),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<Ct2Error> for WriteError {
    fn from(source: Ct2Error) -> Self {
        WriteError::Convert(ConvertError::Model {
            path: PathBuf::from("model.bin"),
            source,
        })
    }
}

fn dims(model: &Ct2Model<'_>, name: &str, rank: usize) -> Result<Vec<usize>, WriteError> {
    let shape = model.get(name)?.shape.clone();
    if shape.len() != rank {
        return Err(WriteError::Convert(ConvertError::Shape {
            name: name.to_owned(),
            shape,
        }));
    }
    Ok(shape)
}

fn heads(model: &Ct2Model<'_>, name: &str) -> Result<i32, WriteError> {
    model
        .get(name)?
        .scalar_int()
        .and_then(|v| i32::try_from(v).ok())
        .filter(|&v| v > 0)
        .ok_or_else(|| {
            WriteError::Convert(ConvertError::Model {
                path: PathBuf::from("model.bin"),
                source: Ct2Error::BadValue {
                    name: name.to_owned(),
                    expected: "a positive head count",
                },
            })
        })
}

/// Reads the model's dimensions from its variables.
fn hparams(model: &Ct2Model<'_>) -> Result<Hparams, WriteError> {
    let emb = dims(model, "decoder/embeddings/weight", 2)?;
    let enc_pos = dims(model, "encoder/position_encodings/encodings", 2)?;
    let dec_pos = dims(model, "decoder/position_encodings/encodings", 2)?;
    let conv1 = dims(model, "encoder/conv1/weight", 3)?;
    Ok(Hparams {
        n_vocab: emb[0] as i32,
        n_audio_ctx: enc_pos[0] as i32,
        n_audio_state: enc_pos[1] as i32,
        n_audio_head: heads(model, "encoder/num_heads")?,
        n_audio_layer: model.layer_count("encoder") as i32,
        n_text_ctx: dec_pos[0] as i32,
        n_text_state: dec_pos[1] as i32,
        n_text_head: heads(model, "decoder/num_heads")?,
        n_text_layer: model.layer_count("decoder") as i32,
        n_mels: conv1[1] as i32,
    })
}

struct Emitter<'m, 'a, W: Write> {
    model: &'m Ct2Model<'a>,
    out: GgmlWriter<W>,
    matrix: TensorType,
}

impl<W: Write> Emitter<'_, '_, W> {
    /// A tensor copied whole, stored f32 (vectors, positional embeddings), f16 (convolutions)
    /// or as the weight type (matrices).
    fn copy(&mut self, to: &str, from: &str, ty: TensorType) -> Result<(), WriteError> {
        let (shape, values) = self.model.floats(from)?;
        self.out.tensor(to, &shape, ty, &values)?;
        Ok(())
    }

    fn linear(&mut self, to: &str, from: &str, with_bias: bool) -> Result<(), WriteError> {
        self.copy(
            &format!("{to}.weight"),
            &format!("{from}/weight"),
            self.matrix,
        )?;
        if with_bias {
            self.copy(
                &format!("{to}.bias"),
                &format!("{from}/bias"),
                TensorType::F32,
            )?;
        }
        Ok(())
    }

    fn layer_norm(&mut self, to: &str, from: &str) -> Result<(), WriteError> {
        self.copy(
            &format!("{to}.weight"),
            &format!("{from}/gamma"),
            TensorType::F32,
        )?;
        self.copy(
            &format!("{to}.bias"),
            &format!("{from}/beta"),
            TensorType::F32,
        )
    }

    /// Splits a fused projection (`parts` equal row blocks) into whisper.cpp's separate ones.
    /// Keys have no bias in Whisper, so theirs is dropped.
    fn fused(&mut self, from: &str, to: &[(&str, bool)]) -> Result<(), WriteError> {
        let (shape, w) = self.model.floats(&format!("{from}/weight"))?;
        let (_, b) = self.model.floats(&format!("{from}/bias"))?;
        let rows = shape[0] / to.len();
        let cols = shape[1];
        if rows * to.len() != shape[0] || b.len() != shape[0] {
            return Err(WriteError::Convert(ConvertError::Shape {
                name: format!("{from}/weight"),
                shape,
            }));
        }
        for (i, (name, with_bias)) in to.iter().enumerate() {
            let wpart = &w[i * rows * cols..(i + 1) * rows * cols];
            self.out
                .tensor(&format!("{name}.weight"), &[rows, cols], self.matrix, wpart)?;
            if *with_bias {
                let bpart = &b[i * rows..(i + 1) * rows];
                self.out
                    .tensor(&format!("{name}.bias"), &[rows], TensorType::F32, bpart)?;
            }
        }
        Ok(())
    }

    fn conv(&mut self, n: u8) -> Result<(), WriteError> {
        self.copy(
            &format!("encoder.conv{n}.weight"),
            &format!("encoder/conv{n}/weight"),
            TensorType::F16,
        )?;
        // whisper.cpp wants conv biases as [n, 1].
        let (shape, values) = self.model.floats(&format!("encoder/conv{n}/bias"))?;
        self.out.tensor(
            &format!("encoder.conv{n}.bias"),
            &[shape[0], 1],
            TensorType::F32,
            &values,
        )?;
        Ok(())
    }
}

fn write_ggml<W: Write>(
    model: &Ct2Model<'_>,
    vocab: &[Vec<u8>],
    weight_type: WeightType,
    out: W,
) -> Result<Hparams, WriteError> {
    let hp = hparams(model)?;
    let filters = mel::filters(hp.n_mels as usize);
    let out = GgmlWriter::new(out, &hp, weight_type, &filters, mel::N_FFT / 2 + 1, vocab)?;
    let matrix = match weight_type {
        WeightType::F16 => TensorType::F16,
        WeightType::Q8_0 => TensorType::Q8_0,
        WeightType::Q5_1 => TensorType::Q5_1,
    };
    let mut e = Emitter { model, out, matrix };

    e.copy(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        TensorType::F32,
    )?;
    e.conv(1)?;
    e.conv(2)?;
    for i in 0..hp.n_audio_layer {
        let (to, from) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        e.layer_norm(
            &format!("{to}.attn_ln"),
            &format!("{from}/self_attention/layer_norm"),
        )?;
        e.fused(
            &format!("{from}/self_attention/linear_0"),
            &[
                (&format!("{to}.attn.query"), true),
                (&format!("{to}.attn.key"), false),
                (&format!("{to}.attn.value"), true),
            ],
        )?;
        e.linear(
            &format!("{to}.attn.out"),
            &format!("{from}/self_attention/linear_1"),
            true,
        )?;
        e.layer_norm(&format!("{to}.mlp_ln"), &format!("{from}/ffn/layer_norm"))?;
        e.linear(
            &format!("{to}.mlp.0"),
            &format!("{from}/ffn/linear_0"),
            true,
        )?;
        e.linear(
            &format!("{to}.mlp.2"),
            &format!("{from}/ffn/linear_1"),
            true,
        )?;
    }
    e.layer_norm("encoder.ln_post", "encoder/layer_norm")?;

    e.copy(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        TensorType::F32,
    )?;
    e.copy(
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
        matrix,
    )?;
    for i in 0..hp.n_text_layer {
        let (to, from) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        e.layer_norm(
            &format!("{to}.attn_ln"),
            &format!("{from}/self_attention/layer_norm"),
        )?;
        e.fused(
            &format!("{from}/self_attention/linear_0"),
            &[
                (&format!("{to}.attn.query"), true),
                (&format!("{to}.attn.key"), false),
                (&format!("{to}.attn.value"), true),
            ],
        )?;
        e.linear(
            &format!("{to}.attn.out"),
            &format!("{from}/self_attention/linear_1"),
            true,
        )?;
        e.layer_norm(
            &format!("{to}.cross_attn_ln"),
            &format!("{from}/attention/layer_norm"),
        )?;
        e.linear(
            &format!("{to}.cross_attn.query"),
            &format!("{from}/attention/linear_0"),
            true,
        )?;
        e.fused(
            &format!("{from}/attention/linear_1"),
            &[
                (&format!("{to}.cross_attn.key"), false),
                (&format!("{to}.cross_attn.value"), true),
            ],
        )?;
        e.linear(
            &format!("{to}.cross_attn.out"),
            &format!("{from}/attention/linear_2"),
            true,
        )?;
        e.layer_norm(&format!("{to}.mlp_ln"), &format!("{from}/ffn/layer_norm"))?;
        e.linear(
            &format!("{to}.mlp.0"),
            &format!("{from}/ffn/linear_0"),
            true,
        )?;
        e.linear(
            &format!("{to}.mlp.2"),
            &format!("{from}/ffn/linear_1"),
            true,
        )?;
    }
    e.layer_norm("decoder.ln", "decoder/layer_norm")?;
    e.out.finish()?;
    Ok(hp)
}
