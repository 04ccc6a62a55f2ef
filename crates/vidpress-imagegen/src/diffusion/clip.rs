//! The CLIP text encoder (`text_model.*` tensors, as transformers' `CLIPTextModel` names them),
//! built from the folder's `config.json`. candle's Stable Diffusion CLIP only comes in its fixed
//! sizes; this one takes any size, so the tests' tiny encoder runs the same code as SD-Turbo's.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};

use super::config::TextFile;

#[derive(Debug, Clone, Copy)]
enum Activation {
    QuickGelu,
    Gelu,
}

impl Activation {
    fn apply(self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Activation::QuickGelu => xs * candle_nn::ops::sigmoid(&(xs * 1.702f64)?)?,
            Activation::Gelu => xs.gelu_erf(),
        }
    }
}

#[derive(Debug)]
struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    norm1: LayerNorm,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// A CLIP text transformer.
#[derive(Debug)]
pub struct TextEncoder {
    tokens: Embedding,
    positions: Embedding,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
    heads: usize,
    activation: Activation,
    /// The longest token sequence.
    pub max_len: usize,
    /// The width of each token's vector.
    pub width: usize,
}

impl TextEncoder {
    pub fn new(vb: VarBuilder, c: &TextFile) -> Result<Self> {
        let activation = match c.hidden_act.as_str() {
            "quick_gelu" => Activation::QuickGelu,
            "gelu" => Activation::Gelu,
            other => candle_core::bail!("unknown hidden_act {other}"),
        };
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            candle_core::bail!("hidden_size is not a multiple of num_attention_heads");
        }
        let vb = vb.pp("text_model");
        let d = c.hidden_size;
        let emb = vb.pp("embeddings");
        let tokens = candle_nn::embedding(c.vocab_size, d, emb.pp("token_embedding"))?;
        let positions =
            candle_nn::embedding(c.max_position_embeddings, d, emb.pp("position_embedding"))?;
        let lv = vb.pp("encoder").pp("layers");
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = lv.pp(i);
                let a = l.pp("self_attn");
                Ok(Layer {
                    q: candle_nn::linear(d, d, a.pp("q_proj"))?,
                    k: candle_nn::linear(d, d, a.pp("k_proj"))?,
                    v: candle_nn::linear(d, d, a.pp("v_proj"))?,
                    out: candle_nn::linear(d, d, a.pp("out_proj"))?,
                    norm1: candle_nn::layer_norm(d, c.layer_norm_eps, l.pp("layer_norm1"))?,
                    norm2: candle_nn::layer_norm(d, c.layer_norm_eps, l.pp("layer_norm2"))?,
                    fc1: candle_nn::linear(d, c.intermediate_size, l.pp("mlp").pp("fc1"))?,
                    fc2: candle_nn::linear(c.intermediate_size, d, l.pp("mlp").pp("fc2"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let final_norm = candle_nn::layer_norm(d, c.layer_norm_eps, vb.pp("final_layer_norm"))?;
        Ok(Self {
            tokens,
            positions,
            layers,
            final_norm,
            heads: c.num_attention_heads,
            activation,
            max_len: c.max_position_embeddings,
            width: d,
        })
    }

    /// The hidden states of token ids `(batch, len)`: after the final layer norm, or (with
    /// `penultimate`, as SDXL takes them) the second-to-last layer's output.
    pub fn forward(&self, ids: &Tensor, penultimate: bool) -> Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?.unsqueeze(0)?;
        let mut xs = self
            .tokens
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        let mask = causal_mask(len, ids.device(), xs.dtype())?;
        let last = if penultimate {
            self.layers.len().saturating_sub(1)
        } else {
            self.layers.len()
        };
        for layer in &self.layers[..last] {
            xs = self.layer(layer, &xs, &mask, batch, len)?;
        }
        if penultimate {
            Ok(xs)
        } else {
            self.final_norm.forward(&xs)
        }
    }

    fn layer(&self, l: &Layer, xs: &Tensor, mask: &Tensor, b: usize, n: usize) -> Result<Tensor> {
        let h = self.heads;
        let hd = self.width / h;
        let residual = xs;
        let x = l.norm1.forward(xs)?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((b, n, h, hd))?.transpose(1, 2)?.contiguous()
        };
        let q = split((l.q.forward(&x)? * (hd as f64).powf(-0.5))?)?;
        let k = split(l.k.forward(&x)?)?;
        let v = split(l.v.forward(&x)?)?;
        let weights = q.matmul(&k.t()?)?.broadcast_add(mask)?;
        let weights = candle_nn::ops::softmax_last_dim(&weights)?;
        let attn = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, n, self.width))?;
        let x = (l.out.forward(&attn)? + residual)?;
        let residual = &x;
        let y = l.norm2.forward(&x)?;
        let y = l
            .fc2
            .forward(&self.activation.apply(&l.fc1.forward(&y)?)?)?;
        y + residual
    }
}

fn causal_mask(n: usize, device: &Device, dtype: DType) -> Result<Tensor> {
    let mask: Vec<f32> = (0..n)
        .flat_map(|i| (0..n).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (1, 1, n, n), device)?.to_dtype(dtype)
}
