//! whisper.cpp's GGML model file: writing (header, mel filters, vocabulary, tensors in f32, f16,
//! q8_0 or q5_1) and reading the header back.
//!
//! The layout is the one whisper.cpp's `convert-pt-to-ggml.py` writes and its loader reads; the
//! quantized block formats are ggml's `block_q8_0` and `block_q5_1`.

use std::io::{self, Read, Write};

use half::f16;
use serde::{Deserialize, Serialize};

/// The file magic, `ggml` as a little-endian `u32`.
pub const MAGIC: u32 = 0x6767_6d6c;
/// ggml's quantization format version, folded into the stored `ftype`.
const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;
/// Elements per quantization block.
const QK: usize = 32;

/// How the large weight matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightType {
    /// IEEE half floats, as OpenAI ships the weights.
    F16,
    /// 8-bit blocks with one f16 scale per 32 values.
    Q8_0,
    /// 5-bit blocks with an f16 scale and minimum per 32 values.
    Q5_1,
}

impl WeightType {
    /// Every supported weight type.
    pub const ALL: [WeightType; 3] = [WeightType::F16, WeightType::Q8_0, WeightType::Q5_1];

    /// The short name used in file names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightType::F16 => "f16",
            WeightType::Q8_0 => "q8_0",
            WeightType::Q5_1 => "q5_1",
        }
    }

    /// Parses `f16`, `q8_0` or `q5_1`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// The `ftype` stored in the file header (ggml's `GGML_FTYPE_*`, with the quantization
    /// version folded in for quantized files).
    fn ftype(self) -> i32 {
        match self {
            WeightType::F16 => 1,
            WeightType::Q8_0 => 7 + QNT_VERSION * QNT_VERSION_FACTOR,
            WeightType::Q5_1 => 9 + QNT_VERSION * QNT_VERSION_FACTOR,
        }
    }

    fn from_ftype(ftype: i32) -> Option<Self> {
        Some(match ftype % QNT_VERSION_FACTOR {
            1 => WeightType::F16,
            7 => WeightType::Q8_0,
            9 => WeightType::Q5_1,
            _ => return None,
        })
    }
}

impl std::fmt::Display for WeightType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model's dimensions, the eleven integers at the start of the file (less `ftype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
}

impl Hparams {
    /// Whether the vocabulary includes language tokens (not an `.en` model).
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// The conventional size name (`tiny`, `base`…), from the encoder depth.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 => "large",
            _ => "unknown",
        }
    }
}

/// What a GGML file's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The model's dimensions.
    pub hparams: Hparams,
    /// How the weight matrices are stored.
    pub weight_type: WeightType,
}

/// Why a GGML file header could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// Reading failed.
    #[error("could not read the model file: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with the GGML magic.
    #[error("not a whisper.cpp GGML model (bad magic {0:#010x})")]
    Magic(u32),
    /// The `ftype` is not one Vidpress writes or reads.
    #[error("unsupported GGML weight type {0}")]
    Ftype(i32),
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// Reads the magic and hyperparameters at the start of a GGML file.
pub fn read_header(r: &mut impl Read) -> Result<Header, HeaderError> {
    let magic = read_i32(r)? as u32;
    if magic != MAGIC {
        return Err(HeaderError::Magic(magic));
    }
    let mut v = [0i32; 11];
    for x in &mut v {
        *x = read_i32(r)?;
    }
    let weight_type = WeightType::from_ftype(v[10]).ok_or(HeaderError::Ftype(v[10]))?;
    Ok(Header {
        hparams: Hparams {
            n_vocab: v[0],
            n_audio_ctx: v[1],
            n_audio_state: v[2],
            n_audio_head: v[3],
            n_audio_layer: v[4],
            n_text_ctx: v[5],
            n_text_state: v[6],
            n_text_head: v[7],
            n_text_layer: v[8],
            n_mels: v[9],
        },
        weight_type,
    })
}

/// How one tensor is stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q8_0,
    Q5_1,
}

impl TensorType {
    /// ggml's `GGML_TYPE_*` code.
    fn code(self) -> i32 {
        match self {
            TensorType::F32 => 0,
            TensorType::F16 => 1,
            TensorType::Q5_1 => 7,
            TensorType::Q8_0 => 8,
        }
    }
}

/// Streams a GGML model file: header first, then any number of tensors.
#[derive(Debug)]
pub struct GgmlWriter<W: Write> {
    out: W,
}

impl<W: Write> GgmlWriter<W> {
    /// Writes the magic, hyperparameters, mel filters (`n_mels` rows of `n_fft` values) and
    /// the vocabulary (raw token bytes in id order).
    pub fn new(
        mut out: W,
        hparams: &Hparams,
        weight_type: WeightType,
        mel_filters: &[f32],
        n_fft: usize,
        vocab: &[Vec<u8>],
    ) -> io::Result<Self> {
        let h = hparams;
        let ints = [
            MAGIC as i32,
            h.n_vocab,
            h.n_audio_ctx,
            h.n_audio_state,
            h.n_audio_head,
            h.n_audio_layer,
            h.n_text_ctx,
            h.n_text_state,
            h.n_text_head,
            h.n_text_layer,
            h.n_mels,
            weight_type.ftype(),
        ];
        for i in ints {
            out.write_all(&i.to_le_bytes())?;
        }
        out.write_all(&h.n_mels.to_le_bytes())?;
        out.write_all(&(n_fft as i32).to_le_bytes())?;
        for v in mel_filters {
            out.write_all(&v.to_le_bytes())?;
        }
        out.write_all(&(vocab.len() as i32).to_le_bytes())?;
        for token in vocab {
            out.write_all(&(token.len() as u32).to_le_bytes())?;
            out.write_all(token)?;
        }
        Ok(Self { out })
    }

    /// Writes one tensor. `shape` is outermost first (numpy order); the file stores it reversed.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ty: TensorType,
        values: &[f32],
    ) -> io::Result<()> {
        let n_dims = shape.len() as i32;
        self.out.write_all(&n_dims.to_le_bytes())?;
        self.out.write_all(&(name.len() as i32).to_le_bytes())?;
        self.out.write_all(&ty.code().to_le_bytes())?;
        for &d in shape.iter().rev() {
            self.out.write_all(&(d as i32).to_le_bytes())?;
        }
        self.out.write_all(name.as_bytes())?;
        let bytes = match ty {
            TensorType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            TensorType::F16 => values
                .iter()
                .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                .collect(),
            TensorType::Q8_0 => quantize_q8_0(values),
            TensorType::Q5_1 => quantize_q5_1(values),
        };
        self.out.write_all(&bytes)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// ggml `block_q8_0`: an f16 scale `d = max|x| / 127`, then 32 `i8` values `round(x / d)`.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    debug_assert_eq!(values.len() % QK, 0);
    let mut out = Vec::with_capacity(values.len() / QK * 34);
    for block in values.chunks(QK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|&x| (x * id).round() as i8 as u8));
    }
    out
}

/// ggml `block_q5_1`: f16 scale `d = (max - min) / 31` and f16 minimum, 32 high bits, then 16
/// bytes of low nibbles (value `j` and value `j + 16` share byte `j`).
pub fn quantize_q5_1(values: &[f32]) -> Vec<u8> {
    debug_assert_eq!(values.len() % QK, 0);
    let mut out = Vec::with_capacity(values.len() / QK * 24);
    for block in values.chunks(QK) {
        let min = block.iter().copied().fold(f32::INFINITY, f32::min);
        let max = block.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qh: u32 = 0;
        let mut qs = [0u8; QK / 2];
        for j in 0..QK / 2 {
            // ggml truncates `x + 0.5` to u8, i.e. rounds half up for these non-negative values.
            let x0 = ((block[j] - min) * id + 0.5) as u8;
            let x1 = ((block[j + QK / 2] - min) * id + 0.5) as u8;
            qs[j] = (x0 & 0x0F) | ((x1 & 0x0F) << 4);
            qh |= u32::from((x0 & 0x10) >> 4) << j;
            qh |= u32::from((x1 & 0x10) >> 4) << (j + QK / 2);
        }
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        out.extend_from_slice(&f16::from_f32(min).to_le_bytes());
        out.extend_from_slice(&qh.to_le_bytes());
        out.extend_from_slice(&qs);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks(34)
            .flat_map(|b| {
                let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                b[2..].iter().map(move |&q| f32::from(q as i8) * d)
            })
            .collect()
    }

    fn dequantize_q5_1(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks(24)
            .flat_map(|b| {
                let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                let m = f16::from_le_bytes([b[2], b[3]]).to_f32();
                let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                let qs = &b[8..24];
                let mut out = [0f32; 32];
                for j in 0..16 {
                    let lo0 = u32::from(qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
                    let lo1 = u32::from(qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
                    out[j] = lo0 as f32 * d + m;
                    out[j + 16] = lo1 as f32 * d + m;
                }
                out
            })
            .collect()
    }

    fn wave(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32) * 0.37).sin() * (1.0 + (i % 7) as f32))
            .collect()
    }

    #[test]
    fn q8_0_round_trips_within_half_a_step() {
        let x = wave(256);
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), 8 * 34);
        let y = dequantize_q8_0(&q);
        for (block_x, block_y) in x.chunks(32).zip(y.chunks(32)) {
            let step = block_x.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in block_x.iter().zip(block_y) {
                assert!((a - b).abs() <= step * 0.51 + 1e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn q5_1_round_trips_within_half_a_step() {
        let x = wave(256);
        let q = quantize_q5_1(&x);
        assert_eq!(q.len(), 8 * 24);
        let y = dequantize_q5_1(&q);
        for (block_x, block_y) in x.chunks(32).zip(y.chunks(32)) {
            let min = block_x.iter().copied().fold(f32::INFINITY, f32::min);
            let max = block_x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let step = (max - min) / 31.0;
            for (a, b) in block_x.iter().zip(block_y) {
                assert!((a - b).abs() <= step * 0.51 + 1e-2, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn zero_blocks_quantize_to_zero() {
        let x = vec![0f32; 32];
        assert!(
            dequantize_q8_0(&quantize_q8_0(&x))
                .iter()
                .all(|&v| v == 0.0)
        );
        assert!(
            dequantize_q5_1(&quantize_q5_1(&x))
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    #[test]
    fn header_round_trips_and_tensor_dims_are_reversed() {
        let h = Hparams {
            n_vocab: 51865,
            n_audio_ctx: 1500,
            n_audio_state: 512,
            n_audio_head: 8,
            n_audio_layer: 6,
            n_text_ctx: 448,
            n_text_state: 512,
            n_text_head: 8,
            n_text_layer: 6,
            n_mels: 80,
        };
        let filters = vec![0.5f32; 80 * 201];
        let vocab = vec![b"a".to_vec(), Vec::new(), b" the".to_vec()];
        let mut w =
            GgmlWriter::new(Vec::new(), &h, WeightType::Q8_0, &filters, 201, &vocab).unwrap();
        w.tensor("x", &[2, 32], TensorType::F32, &[1.0; 64])
            .unwrap();
        let bytes = w.finish().unwrap();
        let header = read_header(&mut bytes.as_slice()).unwrap();
        assert_eq!(header.hparams, h);
        assert_eq!(header.weight_type, WeightType::Q8_0);
        assert!(header.hparams.is_multilingual());
        assert_eq!(header.hparams.size_name(), "base");
        // The tensor record: n_dims, name length, type, then dims innermost first.
        let vocab_len: usize = 4 + vocab.iter().map(|t| 4 + t.len()).sum::<usize>();
        let t = 48 + 8 + filters.len() * 4 + vocab_len;
        let ints: Vec<i32> = bytes[t..t + 20]
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(ints, vec![2, 1, 0, 32, 2]);
        assert!(matches!(
            read_header(&mut &b"nope, not a model"[..]),
            Err(HeaderError::Magic(_))
        ));
    }
}
