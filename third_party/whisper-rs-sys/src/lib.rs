#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// vidpress: a safe entry to the encoder's output (`whisper_vidpress_encoder_output`), for the
/// oracle test of the padded attention (VIDPRESS.md, 2 and 8), whose crate allows no `unsafe`.
pub mod vidpress {
    use std::ffi::CString;
    use std::path::Path;

    /// What the encoder and the decoder's first step made of one window.
    #[derive(Debug, Clone)]
    pub struct EncoderRun {
        /// The key and value positions of the encoder's attention: 1500, or 1504 when padded.
        pub attn_positions: i32,
        /// The encoder's output: n_audio_state values for each of the 1500 positions.
        pub output: Vec<f32>,
        /// The decoder's logits for the first text token after the prompt
        /// `<|startoftranscript|><|en|><|transcribe|><|notimestamps|>`.
        pub first_token_logits: Vec<f32>,
    }

    /// Loads `model` on the CPU (without flash attention), computes the spectrogram of the
    /// first 30 seconds of `samples` (16 kHz mono), encodes it and decodes one token.
    pub fn encode_first_window(
        model: &Path,
        samples: &[f32],
        threads: i32,
    ) -> Result<EncoderRun, String> {
        let path = model
            .to_str()
            .and_then(|p| CString::new(p).ok())
            .ok_or_else(|| format!("{}: not a usable path", model.display()))?;
        let window = &samples[..samples.len().min(30 * 16_000)];
        let en = CString::new("en").map_err(|e| e.to_string())?;
        // SAFETY: the context and state are created, used and freed here; every pointer handed
        // to whisper.cpp points at a live buffer of the length given with it.
        unsafe {
            let mut params = crate::whisper_context_default_params();
            params.use_gpu = false;
            params.flash_attn = false;
            let ctx = crate::whisper_init_from_file_with_params_no_state(path.as_ptr(), params);
            if ctx.is_null() {
                return Err(format!("whisper.cpp could not load {}", model.display()));
            }
            let state = crate::whisper_init_state(ctx);
            let run = if state.is_null() {
                Err("whisper.cpp could not make a state".to_owned())
            } else {
                let run = run(ctx, state, window, threads, &en);
                crate::whisper_free_state(state);
                run
            };
            crate::whisper_free(ctx);
            run
        }
    }

    unsafe fn run(
        ctx: *mut crate::whisper_context,
        state: *mut crate::whisper_state,
        window: &[f32],
        threads: i32,
        en: &CString,
    ) -> Result<EncoderRun, String> {
        unsafe {
            let n = window.len() as i32;
            if crate::whisper_pcm_to_mel_with_state(ctx, state, window.as_ptr(), n, threads) != 0 {
                return Err("the spectrogram failed".into());
            }
            if crate::whisper_encode_with_state(ctx, state, 0, threads) != 0 {
                return Err("the encoder failed".into());
            }
            let n = crate::whisper_vidpress_encoder_output(state, std::ptr::null_mut(), 0);
            if n <= 0 {
                return Err("no encoder output".into());
            }
            let mut output = vec![0f32; n as usize];
            if crate::whisper_vidpress_encoder_output(state, output.as_mut_ptr(), n) != n {
                return Err("the encoder output could not be read".into());
            }
            let attn_positions = crate::whisper_vidpress_encoder_attn_positions(state);
            let prompt = [
                crate::whisper_token_sot(ctx),
                crate::whisper_token_lang(ctx, crate::whisper_lang_id(en.as_ptr())),
                crate::whisper_token_transcribe(ctx),
                crate::whisper_token_not(ctx),
            ];
            let len = prompt.len() as i32;
            if crate::whisper_decode_with_state(ctx, state, prompt.as_ptr(), len, 0, threads) != 0 {
                return Err("the decoder failed".into());
            }
            let logits = crate::whisper_get_logits_from_state(state);
            if logits.is_null() {
                return Err("no logits".into());
            }
            // One row of logits per prompt token; only the last one's is computed.
            let n_vocab = crate::whisper_n_vocab(ctx) as usize;
            let last = logits.add((prompt.len() - 1) * n_vocab);
            let first_token_logits = std::slice::from_raw_parts(last, n_vocab).to_vec();
            Ok(EncoderRun {
                attn_positions,
                output,
                first_token_logits,
            })
        }
    }
}
