//! Whisper's byte-level BPE vocabulary: CTranslate2 stores tokens as GPT-2's printable
//! stand-ins for bytes (`Ġ` for a space…); whisper.cpp wants the raw bytes.

use std::collections::HashMap;

/// Why a vocabulary could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    /// A token holds a character outside GPT-2's byte alphabet.
    #[error("token {index} (`{token}`) is not a byte-level BPE token")]
    NotByteLevel { index: usize, token: String },
    /// The file has no `<|endoftext|>` line, so the special tokens cannot be told apart.
    #[error("the vocabulary has no `<|endoftext|>` token")]
    NoEndOfText,
    /// `vocabulary.json` is not a JSON array of strings.
    #[error("vocabulary.json is not a JSON list of strings: {0}")]
    Json(#[from] serde_json::Error),
}

/// GPT-2's `bytes_to_unicode` table, inverted: stand-in character → byte.
fn byte_decoder() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    printable
        .into_iter()
        .zip(chars)
        .filter_map(|(b, c)| Some((char::from_u32(c)?, b as u8)))
        .collect()
}

/// Decodes the ordinary (non-special) tokens, which come before `<|endoftext|>`, to raw bytes.
/// whisper.cpp adds the special tokens itself.
pub fn decode_tokens<'a>(
    tokens: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Vec<u8>>, VocabError> {
    let decoder = byte_decoder();
    let mut out = Vec::new();
    for (index, token) in tokens.into_iter().enumerate() {
        if token == "<|endoftext|>" {
            return Ok(out);
        }
        let bytes = token
            .chars()
            .map(|c| decoder.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| VocabError::NotByteLevel {
                index,
                token: token.to_owned(),
            })?;
        out.push(bytes);
    }
    Err(VocabError::NoEndOfText)
}

/// Decodes `vocabulary.txt` (one token a line).
pub fn from_text(text: &str) -> Result<Vec<Vec<u8>>, VocabError> {
    decode_tokens(text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)))
}

/// Decodes `vocabulary.json` (a list of tokens).
pub fn from_json(json: &str) -> Result<Vec<Vec<u8>>, VocabError> {
    let tokens: Vec<String> = serde_json::from_str(json)?;
    decode_tokens(tokens.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_decode_to_raw_bytes() {
        let v = from_text("!\nĠthe\nĊ\n\nÃ©\n<|endoftext|>\n<|startoftranscript|>\n").unwrap();
        assert_eq!(
            v,
            vec![
                b"!".to_vec(),
                b" the".to_vec(),
                b"\n".to_vec(),
                vec![],
                "é".as_bytes().to_vec()
            ]
        );
        assert_eq!(byte_decoder().len(), 256);
    }

    #[test]
    fn bad_vocabularies_are_refused() {
        assert!(matches!(from_text("a\nb\n"), Err(VocabError::NoEndOfText)));
        assert!(matches!(
            from_text("a\n€\n<|endoftext|>"),
            Err(VocabError::NotByteLevel { index: 1, .. })
        ));
        assert_eq!(
            from_json(r#"["Ġa", "<|endoftext|>"]"#).unwrap(),
            vec![b" a".to_vec()]
        );
        assert!(from_json("{}").is_err());
    }
}
