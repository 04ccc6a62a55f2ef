//! Reader for CTranslate2 `model.bin` files (the format faster-whisper models ship in).
//!
//! The file is little-endian: a binary version, the spec name, a revision, the variables (name,
//! shape, dtype, raw bytes) and finally aliases. Variables borrow their bytes from the buffer.

use std::collections::HashMap;

use half::{bf16, f16};

/// Why a CTranslate2 model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    /// The file ended in the middle of a field.
    #[error("the CTranslate2 model file is truncated (needed {needed} bytes at offset {offset})")]
    Truncated { offset: usize, needed: usize },
    /// The binary version is not one this reader understands.
    #[error("unsupported CTranslate2 model binary version {0} (expected 5 or 6)")]
    Version(u32),
    /// The model is not a Whisper model.
    #[error("the CTranslate2 model is a `{0}`, not a Whisper model (`WhisperSpec`)")]
    NotWhisper(String),
    /// A variable uses a data type that cannot be converted.
    #[error("variable `{name}` has unsupported CTranslate2 data type {dtype}")]
    DataType { name: String, dtype: u8 },
    /// A name is not valid UTF-8.
    #[error("a variable name in the CTranslate2 model file is not valid UTF-8")]
    BadName,
    /// A variable's byte count does not match its shape and type.
    #[error("variable `{name}` has {bytes} bytes, which does not match its shape {shape:?}")]
    SizeMismatch {
        name: String,
        bytes: usize,
        shape: Vec<usize>,
    },
    /// A variable the conversion needs is absent.
    #[error("the CTranslate2 model has no variable `{0}`")]
    Missing(String),
    /// A scalar variable holds an unexpected value.
    #[error("variable `{name}` should be {expected}")]
    BadValue {
        name: String,
        expected: &'static str,
    },
}

/// CTranslate2 element types, by their on-disk code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// 32-bit float (code 0).
    F32,
    /// 8-bit integer (code 1), quantized weights with a separate `weight_scale`.
    I8,
    /// 16-bit integer (code 2).
    I16,
    /// 32-bit integer (code 3).
    I32,
    /// IEEE half float (code 4).
    F16,
    /// bfloat16 (code 5).
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable of the model: its shape, type and raw little-endian bytes.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    /// Dimensions, outermost first (a linear weight is `[out, in]`).
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Raw bytes, `shape.product() * dtype.size()` of them.
    pub data: &'a [u8],
}

impl Variable<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the variable holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as `f32`, for float variables.
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>, Ct2Error> {
        let d = self.data;
        Ok(match self.dtype {
            DType::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::BF16 => d
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::I8 | DType::I16 | DType::I32 => {
                return Err(Ct2Error::DataType {
                    name: name.to_owned(),
                    dtype: self.dtype as u8,
                });
            }
        })
    }

    /// The value of an integer scalar.
    pub fn scalar_int(&self) -> Option<i64> {
        if self.len() != 1 {
            return None;
        }
        let d = self.data;
        Some(match self.dtype {
            DType::I8 => i64::from(d[0] as i8),
            DType::I16 => i64::from(i16::from_le_bytes([d[0], d[1]])),
            DType::I32 => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            _ => return None,
        })
    }
}

/// A parsed CTranslate2 model: variables by name, aliases resolved on lookup.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    /// The spec revision.
    pub revision: u32,
    vars: HashMap<String, Variable<'a>>,
    aliases: HashMap<String, String>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Ct2Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(Ct2Error::Truncated {
                offset: self.pos,
                needed: n,
            });
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, Ct2Error> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Ct2Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Ct2Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String, Ct2Error> {
        let len = usize::from(self.u16()?);
        let bytes = self.take(len)?;
        let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        String::from_utf8(bytes.to_vec()).map_err(|_| Ct2Error::BadName)
    }
}

impl<'a> Ct2Model<'a> {
    /// Parses a whole `model.bin` held in memory.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Ct2Error> {
        let mut c = Cursor { buf, pos: 0 };
        let version = c.u32()?;
        if !(5..=6).contains(&version) {
            return Err(Ct2Error::Version(version));
        }
        let spec = c.string()?;
        if spec != "WhisperSpec" {
            return Err(Ct2Error::NotWhisper(spec));
        }
        let revision = c.u32()?;
        let count = c.u32()? as usize;
        let mut vars = HashMap::with_capacity(count);
        for _ in 0..count {
            let name = c.string()?;
            let rank = usize::from(c.u8()?);
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(c.u32()? as usize);
            }
            let code = c.u8()?;
            let dtype = DType::from_code(code).ok_or_else(|| Ct2Error::DataType {
                name: name.clone(),
                dtype: code,
            })?;
            let bytes = c.u32()? as usize;
            let data = c.take(bytes)?;
            let elements: usize = shape.iter().product();
            if elements.checked_mul(dtype.size()) != Some(bytes) {
                return Err(Ct2Error::SizeMismatch { name, bytes, shape });
            }
            vars.insert(name, Variable { shape, dtype, data });
        }
        let mut aliases = HashMap::new();
        // Version 5 files may end right after the variables.
        if c.pos < buf.len() {
            let n = c.u32()?;
            for _ in 0..n {
                let alias = c.string()?;
                let target = c.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Self {
            revision,
            vars,
            aliases,
        })
    }

    /// Looks a variable up by name, following aliases.
    pub fn get(&self, name: &str) -> Result<&Variable<'a>, Ct2Error> {
        let target = self.aliases.get(name).map_or(name, String::as_str);
        self.vars
            .get(target)
            .ok_or_else(|| Ct2Error::Missing(name.to_owned()))
    }

    /// Whether a variable (or alias) of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_ok()
    }

    /// Reads a float variable as `f32`, dequantizing `int8` weights with their `weight_scale`.
    pub fn floats(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), Ct2Error> {
        let var = self.get(name)?;
        if var.dtype == DType::I8 {
            // CTranslate2 stores int8 weights per output row with a float scale: w = q / scale.
            let scale_name = format!("{}_scale", name);
            let scales = self.get(&scale_name)?.to_f32(&scale_name)?;
            let rows = var.shape.first().copied().unwrap_or(1).max(1);
            let cols = var.len() / rows;
            if scales.len() != rows {
                return Err(Ct2Error::SizeMismatch {
                    name: scale_name,
                    bytes: scales.len() * 4,
                    shape: vec![rows],
                });
            }
            let values = var
                .data
                .iter()
                .enumerate()
                .map(|(i, &q)| f32::from(q as i8) / scales[i / cols])
                .collect();
            return Ok((var.shape.clone(), values));
        }
        Ok((var.shape.clone(), var.to_f32(name)?))
    }

    /// The number of `prefix/layer_N` blocks.
    pub fn layer_count(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                let p = format!("{prefix}/layer_{i}/");
                self.vars.keys().any(|k| k.starts_with(&p))
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    fn tiny_file() -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        string(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        string(&mut out, "a/weight");
        out.push(2);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.push(4);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&f16::from_f32(1.5).to_le_bytes());
        out.extend_from_slice(&f16::from_f32(-2.0).to_le_bytes());
        string(&mut out, "num_heads");
        out.push(0);
        out.push(2);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&8i16.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        string(&mut out, "b/weight");
        string(&mut out, "a/weight");
        out
    }

    #[test]
    fn parses_variables_scalars_and_aliases() {
        let file = tiny_file();
        let m = Ct2Model::parse(&file).unwrap();
        assert_eq!(m.revision, 3);
        let (shape, values) = m.floats("b/weight").unwrap();
        assert_eq!(shape, vec![2, 1]);
        assert_eq!(values, vec![1.5, -2.0]);
        assert_eq!(m.get("num_heads").unwrap().scalar_int(), Some(8));
        assert!(matches!(m.get("nope"), Err(Ct2Error::Missing(_))));
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        let file = tiny_file();
        for cut in [3, 10, 30, file.len() - 3] {
            assert!(
                Ct2Model::parse(&file[..cut]).is_err(),
                "cut at {cut} accepted"
            );
        }
        let mut other = Vec::new();
        other.extend_from_slice(&6u32.to_le_bytes());
        string(&mut other, "TransformerSpec");
        assert!(
            matches!(Ct2Model::parse(&other), Err(Ct2Error::NotWhisper(s)) if s == "TransformerSpec")
        );
        assert!(matches!(
            Ct2Model::parse(b"\x09\0\0\0"),
            Err(Ct2Error::Version(9))
        ));
    }
}
