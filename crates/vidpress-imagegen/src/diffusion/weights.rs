//! Safetensors files: their header checked before anything is loaded (so a truncated download
//! says so instead of failing somewhere in candle), then read into a `VarBuilder`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use serde::Deserialize;

use super::DiffusionError;

/// One tensor as a file's header describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct TensorInfo {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data_offsets: (u64, u64),
}

/// The largest header accepted (real ones are a few hundred kilobytes).
const MAX_HEADER: u64 = 100 << 20;

/// Reads a safetensors file's header and checks that the file is as long as it says: the
/// tensors' names, dtypes and shapes.
pub fn header(path: &Path) -> Result<BTreeMap<String, TensorInfo>, DiffusionError> {
    let invalid = |reason: String| DiffusionError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(|e| DiffusionError::file(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| DiffusionError::file(path, e))?
        .len();
    let mut n = [0u8; 8];
    file.read_exact(&mut n)
        .map_err(|_| invalid(format!("is not a safetensors file ({len} bytes)")))?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER || 8 + n > len {
        return Err(invalid(format!(
            "is not a safetensors file, or is truncated (header of {n} bytes, file of {len})"
        )));
    }
    let mut text = vec![0u8; n as usize];
    file.read_exact(&mut text)
        .map_err(|e| DiffusionError::file(path, e))?;
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("has an unreadable header: {e}")))?;
    let mut tensors = BTreeMap::new();
    let mut end = 0;
    for (name, value) in raw {
        if name == "__metadata__" {
            continue;
        }
        let info: TensorInfo = serde_json::from_value(value)
            .map_err(|e| invalid(format!("describes tensor {name} wrongly: {e}")))?;
        end = end.max(info.data_offsets.1);
        tensors.insert(name, info);
    }
    if 8 + n + end != len {
        return Err(invalid(format!(
            "is truncated or damaged: its header promises {} bytes, the file has {len} \
             (download it again)",
            8 + n + end
        )));
    }
    Ok(tensors)
}

/// Checks the header, then loads every tensor (converted to `dtype` when taken).
pub fn load(
    path: &Path,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>, DiffusionError> {
    header(path)?;
    let tensors =
        candle_core::safetensors::load(path, device).map_err(|e| DiffusionError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(VarBuilder::from_tensors(tensors, dtype, device))
}
