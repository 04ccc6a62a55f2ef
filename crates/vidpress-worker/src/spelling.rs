//! The Hunspell dictionaries drafts are spell-checked with, one per language, read from the
//! dictionaries folder (Debian's `hunspell-en-us`, `-de-de`, `-es`, `-fr` packages) the first
//! time a transcript in that language is drafted and kept for the life of the process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use spellbook::Dictionary;
use tracing::{info, warn};

/// Loaded dictionaries by Whisper language code; `None` records a language that has none.
#[derive(Clone)]
pub(crate) struct Dictionaries {
    dir: Option<PathBuf>,
    loaded: Arc<Mutex<HashMap<String, Option<Arc<Dictionary>>>>>,
}

impl std::fmt::Debug for Dictionaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionaries")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Dictionaries {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            loaded: Arc::default(),
        }
    }

    /// The dictionary of a Whisper language code, loaded on first use; `None` when the language
    /// is unknown or its dictionary is not installed (said once per language).
    pub(crate) fn for_language(&self, language: Option<&str>) -> Option<Arc<Dictionary>> {
        let dir = self.dir.as_deref()?;
        let code = language?.to_ascii_lowercase();
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded
            .entry(code.clone())
            .or_insert_with(|| {
                let found = load(dir, &code);
                match &found {
                    Some((name, _)) => info!(language = %code, dictionary = %name, "spelling dictionary loaded"),
                    None => warn!(
                        language = %code,
                        dir = %dir.display(),
                        "no Hunspell dictionary for this language: drafts in it mark only the words Whisper was unsure of"
                    ),
                }
                found.map(|(_, d)| Arc::new(d))
            })
            .clone()
    }
}

/// The file names a language's dictionary goes by, most usual first (`en_US.aff`/`.dic`).
fn file_stems(code: &str) -> Vec<String> {
    let mut stems = match code {
        "en" => vec!["en_US".to_owned(), "en_GB".to_owned()],
        _ => Vec::new(),
    };
    stems.push(format!("{code}_{}", code.to_ascii_uppercase()));
    stems.push(code.to_owned());
    stems
}

/// Reads and parses the first dictionary of the language found in `dir`.
fn load(dir: &Path, code: &str) -> Option<(String, Dictionary)> {
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    file_stems(code).into_iter().find_map(|stem| {
        let aff = std::fs::read_to_string(dir.join(format!("{stem}.aff"))).ok()?;
        let dic = std::fs::read_to_string(dir.join(format!("{stem}.dic"))).ok()?;
        match Dictionary::new(&aff, &dic) {
            Ok(d) => Some((stem, d)),
            Err(e) => {
                warn!(dictionary = %stem, error = %e, "a Hunspell dictionary does not parse");
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_without_a_dictionary_is_not_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = Dictionaries::new(Some(dir.path().to_owned()));
        assert!(d.for_language(Some("en")).is_none());
        assert!(d.for_language(None).is_none());
        assert!(Dictionaries::new(None).for_language(Some("en")).is_none());
    }

    #[test]
    fn a_dictionary_is_read_once_by_its_usual_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("de_DE.aff"), "SET UTF-8\n").unwrap();
        std::fs::write(dir.path().join("de_DE.dic"), "2\nHaus\nGarten\n").unwrap();
        let d = Dictionaries::new(Some(dir.path().to_owned()));
        let de = d.for_language(Some("de")).expect("de_DE is there");
        assert!(de.check("Garten"));
        assert!(!de.check("Gartne"));
        // Read once: removing the files changes nothing for this process.
        std::fs::remove_file(dir.path().join("de_DE.dic")).unwrap();
        assert!(Arc::ptr_eq(&de, &d.for_language(Some("de")).unwrap()));
        assert!(d.for_language(Some("../x")).is_none());
    }
}
