//! A small latent decoder (TAESD, diffusers' `AutoencoderTiny` layout: `decoder.layers.N`),
//! used instead of the full VAE decoder when its weights are in the model folder's `taesd/`:
//! a fraction of the VAE's work, at some loss of fine detail.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use super::config::TinyVaeFile;

#[derive(Debug)]
struct Block {
    convs: [Conv2d; 3],
    skip: Option<Conv2d>,
}

impl Block {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut ys = self.convs[0].forward(xs)?.relu()?;
        ys = self.convs[1].forward(&ys)?.relu()?;
        ys = self.convs[2].forward(&ys)?;
        let skip = match &self.skip {
            Some(conv) => conv.forward(xs)?,
            None => xs.clone(),
        };
        (ys + skip)?.relu()
    }
}

#[derive(Debug)]
enum Layer {
    Conv(Conv2d),
    Relu,
    Block(Block),
    Upsample(usize),
}

/// TAESD's decoder: latents (unscaled, as the UNet makes them) → RGB in [−1, 1].
#[derive(Debug)]
pub struct TinyDecoder {
    layers: Vec<Layer>,
}

const PAD: Conv2dConfig = Conv2dConfig {
    padding: 1,
    stride: 1,
    dilation: 1,
    groups: 1,
    cudnn_fwd_algo: None,
};

impl TinyDecoder {
    pub fn new(vb: VarBuilder, c: &TinyVaeFile) -> Result<Self> {
        let vb = vb.pp("decoder").pp("layers");
        let channels = &c.decoder_block_out_channels;
        if channels.is_empty() || channels.len() != c.num_decoder_blocks.len() {
            candle_core::bail!("decoder_block_out_channels and num_decoder_blocks differ");
        }
        let mut layers = Vec::new();
        let conv = |i: usize, cin, cout, bias: bool| -> Result<Conv2d> {
            if bias {
                candle_nn::conv2d(cin, cout, 3, PAD, vb.pp(i))
            } else {
                candle_nn::conv2d_no_bias(cin, cout, 3, PAD, vb.pp(i))
            }
        };
        layers.push(Layer::Conv(conv(0, c.latent_channels, channels[0], true)?));
        layers.push(Layer::Relu);
        let mut cin = channels[0];
        for (i, (&ch, &n)) in channels.iter().zip(&c.num_decoder_blocks).enumerate() {
            let last = i + 1 == channels.len();
            for _ in 0..n {
                let b = vb.pp(layers.len());
                let block = Block {
                    convs: [
                        candle_nn::conv2d(cin, ch, 3, PAD, b.pp("conv").pp(0))?,
                        candle_nn::conv2d(ch, ch, 3, PAD, b.pp("conv").pp(2))?,
                        candle_nn::conv2d(ch, ch, 3, PAD, b.pp("conv").pp(4))?,
                    ],
                    skip: if cin == ch {
                        None
                    } else {
                        Some(candle_nn::conv2d_no_bias(
                            cin,
                            ch,
                            1,
                            Conv2dConfig::default(),
                            b.pp("skip"),
                        )?)
                    },
                };
                layers.push(Layer::Block(block));
                cin = ch;
            }
            if !last {
                layers.push(Layer::Upsample(c.upsampling_scaling_factor));
            }
            let out = if last { 3 } else { ch };
            let i = layers.len();
            layers.push(Layer::Conv(conv(i, ch, out, last)?));
        }
        Ok(Self { layers })
    }

    pub fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        // tanh(x / 3) · 3 keeps outliers from blowing up the first convolution.
        let mut xs = ((latents / 3.0)?.tanh()? * 3.0)?;
        for layer in &self.layers {
            xs = match layer {
                Layer::Conv(conv) => conv.forward(&xs)?,
                Layer::Relu => xs.relu()?,
                Layer::Block(block) => block.forward(&xs)?,
                Layer::Upsample(f) => {
                    let (_, _, h, w) = xs.dims4()?;
                    xs.upsample_nearest2d(h * f, w * f)?
                }
            };
        }
        (xs * 2.0)? - 1.0
    }
}
