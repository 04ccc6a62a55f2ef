//! What changes with the transcript's language: stop words (the maintained Stopwords ISO lists of
//! the `stop-words` crate), the Snowball stemmer, filler sounds, spoken discourse cues that
//! announce a topic, and the few words a generated sentence needs.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};

/// Languages whose cues, fillers and phrasing are written out here; every other language Whisper
/// detects gets its stop words and stemmer when the crates have them, and English phrasing.
const KNOWN: &[&str] = &["en", "de", "es", "fr"];

/// The languages tags are checked against besides the transcript's own.
const TAG_CHECK_LANGUAGES: &[&str] = &["en", "de", "es", "fr"];

/// Stopwords ISO covers these (the `stop-words` crate panics on others).
const STOPWORDS_ISO: &[&str] = &[
    "af", "ar", "bg", "bn", "br", "ca", "cs", "da", "de", "el", "en", "eo", "es", "et", "eu", "fa",
    "fi", "fr", "ga", "gl", "gu", "ha", "he", "hi", "hr", "hu", "hy", "id", "it", "ja", "ko", "ku",
    "la", "lt", "lv", "mr", "ms", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "so", "st", "sv",
    "sw", "th", "tl", "tr", "uk", "ur", "vi", "yo", "zh", "zu",
];

/// How strongly a sentence's opening announces a new topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CueStrength {
    /// An ordinal or sequencing word set off at the start ("Next, …", "Finally, …").
    Weak,
    /// An explicit announcement ("Now let's talk about …", "Kommen wir zu …").
    Strong,
}

/// A discourse cue found at a sentence start: how strong it is and where, in the sentence's
/// words, the announced topic begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cue {
    pub strength: CueStrength,
    pub topic_start: usize,
}

/// Per-language word lists and tools.
pub(crate) struct Lang {
    pub code: String,
    stop: HashSet<&'static str>,
    /// Stop words of the languages tags are checked against.
    any_stop: HashSet<&'static str>,
    stemmer: Option<Stemmer>,
    fillers: &'static [&'static str],
    /// Words that open a sentence and carry no meaning of their own ("so", "okay").
    openers: &'static [&'static str],
    /// Sequencing words that open a sentence, followed by a comma ("next,").
    weak_cues: &'static [&'static str],
    /// Announcements, as word patterns (`*` matches one word).
    strong_cues: &'static [&'static str],
    /// Words about the video itself that never name its topic ("talk", "video", "channel").
    discourse: &'static [&'static str],
    /// Subject pronouns that, second in a topic phrase, mean its first word is a verb
    /// ("kochen wir eine Suppe").
    pronouns: &'static [&'static str],
    /// Words that make a sentence lean on the one before it; such a sentence is no pull quote.
    anaphora: &'static [&'static str],
    pub and: &'static str,
    /// "This video covers {}."
    pub covers: &'static str,
}

impl std::fmt::Debug for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lang").field("code", &self.code).finish()
    }
}

fn stopwords(code: &str) -> &'static [&'static str] {
    if STOPWORDS_ISO.contains(&code) {
        stop_words::get(code)
    } else {
        &[]
    }
}

fn stemmer(code: &str) -> Option<Stemmer> {
    let algorithm = match code {
        "ar" => Algorithm::Arabic,
        "da" => Algorithm::Danish,
        "nl" => Algorithm::Dutch,
        "en" => Algorithm::English,
        "fi" => Algorithm::Finnish,
        "fr" => Algorithm::French,
        "de" => Algorithm::German,
        "el" => Algorithm::Greek,
        "hu" => Algorithm::Hungarian,
        "it" => Algorithm::Italian,
        "no" => Algorithm::Norwegian,
        "pt" => Algorithm::Portuguese,
        "ro" => Algorithm::Romanian,
        "ru" => Algorithm::Russian,
        "es" => Algorithm::Spanish,
        "sv" => Algorithm::Swedish,
        "ta" => Algorithm::Tamil,
        "tr" => Algorithm::Turkish,
        _ => return None,
    };
    Some(Stemmer::create(algorithm))
}

impl Lang {
    /// The settings for a Whisper language code (`None` or an unknown code: English phrasing with
    /// that language's stop words and stemmer when they exist).
    pub(crate) fn new(code: Option<&str>) -> Self {
        let code = code
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "en".to_owned());
        let phrasing = if KNOWN.contains(&code.as_str()) {
            code.as_str()
        } else {
            "en"
        };
        let mut stop: HashSet<&'static str> = stopwords(&code).iter().copied().collect();
        // Hesitation sounds and the language's discourse words are never content either.
        let (fillers, openers, weak_cues, strong_cues, discourse, pronouns, anaphora, and, covers) =
            match phrasing {
                "de" => (
                    DE_FILLERS,
                    DE_OPENERS,
                    DE_WEAK,
                    DE_STRONG,
                    DE_DISCOURSE,
                    DE_PRONOUNS,
                    DE_ANAPHORA,
                    "und",
                    "In diesem Video geht es um {}.",
                ),
                "es" => (
                    ES_FILLERS,
                    ES_OPENERS,
                    ES_WEAK,
                    ES_STRONG,
                    ES_DISCOURSE,
                    &[][..],
                    ES_ANAPHORA,
                    "y",
                    "Este vídeo trata de {}.",
                ),
                "fr" => (
                    FR_FILLERS,
                    FR_OPENERS,
                    FR_WEAK,
                    FR_STRONG,
                    FR_DISCOURSE,
                    &[][..],
                    FR_ANAPHORA,
                    "et",
                    "Cette vidéo parle de {}.",
                ),
                _ => (
                    EN_FILLERS,
                    EN_OPENERS,
                    EN_WEAK,
                    EN_STRONG,
                    EN_DISCOURSE,
                    &[][..],
                    EN_ANAPHORA,
                    "and",
                    "This video covers {}.",
                ),
            };
        stop.extend(fillers.iter().copied());
        let mut any_stop: HashSet<&'static str> = stop.clone();
        for other in TAG_CHECK_LANGUAGES {
            any_stop.extend(stopwords(other).iter().copied());
        }
        Self {
            stemmer: stemmer(&code),
            code,
            stop,
            any_stop,
            fillers,
            openers,
            weak_cues,
            strong_cues,
            discourse,
            pronouns,
            anaphora,
            and,
            covers,
        }
    }

    /// Whether a normalised word (see [`crate::text::core`]) is a stop word of this language.
    pub(crate) fn is_stop(&self, core: &str) -> bool {
        self.stop.contains(core) || self.stop.contains(strip_elision(core))
    }

    /// Whether a normalised word is a stop word of this language or of English, German, Spanish
    /// or French (what a tag must never be).
    pub(crate) fn is_stop_anywhere(&self, core: &str) -> bool {
        self.any_stop.contains(core) || self.any_stop.contains(strip_elision(core))
    }

    /// Whether a normalised word is a filler sound ("um", "äh", "euh").
    pub(crate) fn is_filler(&self, core: &str) -> bool {
        self.fillers.contains(&core)
    }

    /// Whether a word speaks about the video rather than its topic.
    pub(crate) fn is_discourse(&self, core: &str) -> bool {
        self.discourse.contains(&core)
    }

    /// Whether a normalised word can name a topic: not a stop word, filler or discourse word,
    /// not a number, at least three letters.
    pub(crate) fn is_content(&self, core: &str) -> bool {
        let core = strip_elision(core);
        core.chars().filter(|c| c.is_alphabetic()).count() >= 3
            && !self.is_stop(core)
            && !self.is_discourse(core)
    }

    /// The comparable stem of a normalised word (Snowball where the language has one).
    pub(crate) fn stem(&self, core: &str) -> String {
        let core = strip_elision(core);
        match &self.stemmer {
            Some(s) => s.stem(core).into_owned(),
            None => core.to_owned(),
        }
    }

    /// Whether a sentence starting with this normalised word leans on the one before it.
    pub(crate) fn is_anaphoric(&self, core: &str) -> bool {
        self.anaphora.contains(&core)
    }

    /// Whether the normalised word joins two phrases ("and", "und", "y", "et"): a heading never
    /// glues two words with one.
    pub(crate) fn is_conjunction(&self, core: &str) -> bool {
        CONJUNCTIONS.contains(&core)
    }

    /// Whether the normalised word is an article ("the", "eine", "los", "les"): in a run-on
    /// sentence one after a content word opens the next noun phrase.
    pub(crate) fn is_article(&self, core: &str) -> bool {
        let list: &[&str] = match self.code.as_str() {
            "de" => &[
                "der", "die", "das", "den", "dem", "ein", "eine", "einen", "einem", "einer",
            ],
            "es" => &["el", "la", "los", "las", "un", "una", "unos", "unas"],
            // Not "des" and "du", which after a noun join it to the next ("taille des rosiers").
            "fr" => &["le", "la", "les", "un", "une"],
            _ => &["a", "an", "the"],
        };
        list.contains(&core) || (self.code == "fr" && core.starts_with("l'"))
    }

    /// Whether the normalised word reads as a verb in the first person plural ("haremos",
    /// "preparamos", "commençons"): after a cue it says what "we" do, not the topic.
    pub(crate) fn is_we_verb(&self, core: &str) -> bool {
        let endings: &[&str] = match self.code.as_str() {
            "es" => &["amos", "emos", "imos"],
            "fr" => &["ons"],
            _ => &[],
        };
        core.chars().count() >= 5 && endings.iter().any(|e| core.ends_with(e))
    }

    /// Whether the normalised word is a subject pronoun (German verb-second order).
    pub(crate) fn is_pronoun(&self, core: &str) -> bool {
        self.pronouns.contains(&core)
    }

    /// Whether nouns are written with a capital (German): a heading or tag then ends in one.
    pub(crate) fn capitalises_nouns(&self) -> bool {
        self.code == "de"
    }

    /// Whether nouns are known by the article said before them, as in Spanish and French, where
    /// an adjective follows its noun ("una sopa fría": "sopa" is the thing, "fría" says how it
    /// is).
    pub(crate) fn articles_mark_nouns(&self) -> bool {
        matches!(self.code.as_str(), "es" | "fr")
    }

    /// Whether the word after this normalised one is a noun: an article, or a preposition joined
    /// with one ("del", "au"), in a language where [`Self::articles_mark_nouns`].
    pub(crate) fn precedes_noun(&self, core: &str) -> bool {
        let joined: &[&str] = match self.code.as_str() {
            "es" => &["del", "al"],
            "fr" => &["du", "au", "aux", "des"],
            _ => return false,
        };
        (self.is_article(core) && !self.carries_article(core)) || joined.contains(&core)
    }

    /// Whether the normalised word carries its own elided article, and so is a noun (French
    /// "l'hiver").
    pub(crate) fn carries_article(&self, core: &str) -> bool {
        self.code == "fr" && core.strip_prefix("l'").is_some_and(|rest| !rest.is_empty())
    }

    /// Whether compounds are written as one word whose last part names the thing
    /// ("Kartoffelsuppe" is a "Suppe"), as in German.
    pub(crate) fn joins_compounds(&self) -> bool {
        self.code == "de"
    }

    /// English capitalises "I" and its contractions.
    pub(crate) fn capitalises_i(&self) -> bool {
        self.code == "en"
    }

    /// The discourse cue opening a sentence, given its words as normalised cores and whether
    /// each is followed by a comma or colon.
    pub(crate) fn cue(&self, cores: &[String], comma_after: &[bool]) -> Option<Cue> {
        let mut i = 0;
        while i < cores.len() && i < 2 && self.openers.contains(&cores[i].as_str()) {
            i += 1;
        }
        if let Some(end) = self
            .match_strong(cores, 0)
            .or_else(|| self.match_strong(cores, i))
        {
            return Some(Cue {
                strength: CueStrength::Strong,
                topic_start: end,
            });
        }
        let weak_len = self
            .weak_cues
            .iter()
            .filter_map(|w| {
                let parts: Vec<&str> = w.split(' ').collect();
                let matches = parts.len() + i <= cores.len()
                    && parts.iter().enumerate().all(|(k, p)| cores[i + k] == *p);
                matches.then_some(parts.len())
            })
            .max()?;
        let after = i + weak_len;
        if let Some(end) = self.match_strong(cores, after) {
            return Some(Cue {
                strength: CueStrength::Strong,
                topic_start: end,
            });
        }
        // A sequencing word is a cue only when set off by a comma ("Next, the brakes").
        comma_after
            .get(after - 1)
            .copied()
            .unwrap_or(false)
            .then_some(Cue {
                strength: CueStrength::Weak,
                topic_start: after,
            })
    }

    fn match_strong(&self, cores: &[String], at: usize) -> Option<usize> {
        self.strong_cues
            .iter()
            .filter_map(|pattern| {
                let parts: Vec<&str> = pattern.split(' ').collect();
                let fits = at + parts.len() <= cores.len()
                    && parts
                        .iter()
                        .enumerate()
                        .all(|(k, p)| *p == "*" || cores[at + k] == *p);
                fits.then_some(at + parts.len())
            })
            .max()
    }
}

/// French and Italian elided articles and pronouns: `l'arrosage` compares as `arrosage`.
pub(crate) fn strip_elision(core: &str) -> &str {
    for prefix in ["l'", "d'", "j'", "qu'", "n'", "s'", "c'", "m'", "t'"] {
        if let Some(rest) = core.strip_prefix(prefix)
            && rest.chars().count() >= 2
        {
            return rest;
        }
    }
    core
}

/// Coordinating conjunctions of the four languages (none is a content word in another).
const CONJUNCTIONS: &[&str] = &[
    "and", "or", "but", "nor", "und", "oder", "aber", "sowie", "y", "e", "o", "u", "pero", "ni",
    "et", "ou", "mais", "ni",
];

const EN_FILLERS: &[&str] = &[
    "ah", "ahh", "eh", "er", "erm", "hm", "hmm", "mm", "mmm", "uh", "uhh", "uhm", "um", "umm",
];
const DE_FILLERS: &[&str] = &["äh", "ähm", "äähm", "öhm", "hm", "hmm", "mhm", "ähh", "öh"];
const ES_FILLERS: &[&str] = &["eh", "em", "ehm", "mmm", "hmm", "mm"];
const FR_FILLERS: &[&str] = &["euh", "heu", "hum", "hmm", "mmm", "bah"];

const EN_OPENERS: &[&str] = &[
    "so", "okay", "ok", "alright", "and", "well", "right", "today", "now",
];
const DE_OPENERS: &[&str] = &["also", "so", "okay", "und", "gut"];
const ES_OPENERS: &[&str] = &["bueno", "vale", "pues", "y", "bien"];
const FR_OPENERS: &[&str] = &["alors", "bon", "bien", "et", "donc"];

const EN_WEAK: &[&str] = &[
    "first",
    "firstly",
    "second",
    "secondly",
    "third",
    "thirdly",
    "fourth",
    "fifth",
    "next",
    "then",
    "finally",
    "lastly",
    "after that",
    "last but not least",
    "now",
    "to finish",
    "to start",
    "to begin",
];
const EN_STRONG: &[&str] = &[
    "let's talk about",
    "let's look at",
    "let's start with",
    "let's begin with",
    "let's move on to",
    "let's turn to",
    "let's go",
    "now let's talk about",
    "now let's look at",
    "now let's move on to",
    "now let's turn to",
    "now for something completely different",
    "now for something different",
    "now for",
    "now on to",
    "moving on to",
    "on to",
    "next up",
    "next up is",
    "that brings us to",
    "for the last part",
    "for the final part",
    "the first * is",
    "the second * is",
    "the third * is",
    "the fourth * is",
    "the fifth * is",
    "the sixth * is",
    "the seventh * is",
    "the eighth * is",
    "the ninth * is",
    "the tenth * is",
    "the next * is",
    "the last * is",
    "the final * is",
    "* number one is",
    "* number two is",
    "* number three is",
    "* number four is",
    "* number five is",
    "* number six is",
    "* number seven is",
    "* number eight is",
    "* number nine is",
    "* number ten is",
    "another thing is",
    "i want to talk about",
    "i'd like to talk about",
    "i want to start with",
    "i'd like to start with",
    "i want to show you",
    "we're talking about",
    "we are talking about",
    "we're going to talk about",
    "we're looking at",
    "something completely different",
    "something different",
];
const EN_DISCOURSE: &[&str] = &[
    "talk",
    "talking",
    "video",
    "videos",
    "channel",
    "welcome",
    "hello",
    "today",
    "thing",
    "things",
    "habit",
    "habits",
    "tip",
    "tips",
    "part",
    "step",
    "steps",
    "lot",
    "bit",
    "let's",
    "watching",
    "subscribe",
    "guys",
    "everyone",
    "week",
    "weeks",
    "minute",
    "minutes",
];

const DE_WEAK: &[&str] = &[
    "zuerst",
    "erstens",
    "zweitens",
    "drittens",
    "dann",
    "danach",
    "schließlich",
    "zuletzt",
    "abschließend",
    "anschließend",
    "jetzt",
    "nun",
    "als erstes",
    "als nächstes",
    "zum schluss",
];
const DE_STRONG: &[&str] = &[
    "sprechen wir über",
    "reden wir über",
    "kommen wir zu",
    "kommen wir zum",
    "kommen wir zur",
    "kommen wir jetzt zu",
    "kommen wir jetzt zum",
    "kommen wir jetzt zur",
    "kommen wir nun zu",
    "kommen wir nun zum",
    "kommen wir nun zur",
    "geht es um",
    "geht es jetzt um",
    "geht es weiter mit",
    "beginnen wir mit",
    "fangen wir mit",
    "als nächstes",
    "als erstes",
    "zum schluss",
    "zum abschluss",
    "jetzt zu",
    "nun zu",
    "weiter geht es mit",
];
const DE_DISCOURSE: &[&str] = &[
    "video",
    "kanal",
    "heute",
    "willkommen",
    "hallo",
    "herzlich",
    "sprechen",
    "zeige",
    "zeigen",
    "euch",
    "rezepte",
    "rezept",
    "tipps",
    "tipp",
    "teil",
    "schritt",
    "woche",
    "wochen",
    "minute",
    "minuten",
];
const DE_PRONOUNS: &[&str] = &["wir", "ich", "ihr", "du", "man", "es", "sie"];

const ES_WEAK: &[&str] = &[
    "primero",
    "segundo",
    "tercero",
    "después",
    "luego",
    "ahora",
    "finalmente",
    "por último",
    "para terminar",
    "en primer lugar",
    "en segundo lugar",
    "a continuación",
];
const ES_STRONG: &[&str] = &[
    "hablemos de",
    "hablemos del",
    "hablemos sobre",
    "vamos a hablar de",
    "vamos a hablar del",
    "ahora vamos a hablar de",
    "ahora vamos a hablar del",
    "ahora vamos con",
    "vamos con",
    "pasemos a",
    "ahora pasemos a",
    "por último",
    "para terminar",
    "lo siguiente es",
    "empecemos con",
    "empezamos con",
];
const ES_DISCOURSE: &[&str] = &[
    "vídeo",
    "video",
    "canal",
    "hoy",
    "bienvenidos",
    "hola",
    "platos",
    "hablar",
    "hablemos",
    "consejos",
    "parte",
    "días",
    "buenos",
    "semana",
    "semanas",
    "minuto",
    "minutos",
];

const FR_WEAK: &[&str] = &[
    "d'abord",
    "ensuite",
    "puis",
    "enfin",
    "premièrement",
    "deuxièmement",
    "troisièmement",
    "finalement",
    "maintenant",
    "pour finir",
    "pour terminer",
    "tout d'abord",
];
const FR_STRONG: &[&str] = &[
    "parlons de",
    "parlons du",
    "parlons des",
    "parlons maintenant de",
    "parlons maintenant du",
    "passons à",
    "passons au",
    "passons aux",
    "passons maintenant à",
    "passons maintenant au",
    "voyons maintenant",
    "abordons",
    "commençons par",
    "pour finir",
    "pour terminer",
];
const FR_DISCOURSE: &[&str] = &[
    "vidéo",
    "chaîne",
    "aujourd'hui",
    "bonjour",
    "bienvenue",
    "conseils",
    "conseil",
    "parlons",
    "partie",
    "semaine",
    "semaines",
    "minute",
    "minutes",
];

const EN_ANAPHORA: &[&str] = &[
    "it", "this", "that", "these", "those", "they", "them", "he", "she", "but", "and", "so",
    "then", "also", "which", "there", "here", "or", "because",
];
const DE_ANAPHORA: &[&str] = &[
    "es", "das", "dies", "diese", "dieser", "dieses", "er", "sie", "aber", "und", "dann", "dort",
    "da", "deshalb", "denn", "oder",
];
const ES_ANAPHORA: &[&str] = &[
    "esto", "eso", "este", "esta", "ese", "esa", "pero", "y", "luego", "entonces", "allí", "ahí",
    "también", "o",
];
const FR_ANAPHORA: &[&str] = &[
    "il", "elle", "ils", "elles", "cela", "ça", "ce", "cette", "mais", "et", "puis", "alors",
    "donc", "aussi", "ou",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(lang: &Lang, text: &str) -> Option<Cue> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let cores: Vec<String> = words.iter().map(|w| crate::text::core(w)).collect();
        let commas: Vec<bool> = words.iter().map(|w| w.ends_with([',', ':'])).collect();
        lang.cue(&cores, &commas)
    }

    #[test]
    fn cues_in_four_languages() {
        let en = Lang::new(Some("en"));
        let c = cue(&en, "First, let's talk about fixing a dripping tap.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Strong, 4));
        let c = cue(&en, "Next, the rail pass.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Weak, 1));
        assert_eq!(cue(&en, "Next the water runs out."), None);
        assert_eq!(cue(&en, "The tap drips."), None);
        let de = Lang::new(Some("de"));
        let c = cue(&de, "Als Nächstes kochen wir eine Kartoffelsuppe.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Strong, 2));
        let c = cue(&de, "Zuerst sprechen wir über das Brot backen.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Strong, 4));
        let es = Lang::new(Some("es"));
        let c = cue(&es, "Primero, hablemos de la paella valenciana.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Strong, 3));
        assert_eq!(cue(&es, "Primero se dora el pollo."), None);
        let fr = Lang::new(Some("fr"));
        let c = cue(&fr, "D'abord, parlons de la taille des rosiers.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Strong, 3));
        let c = cue(&fr, "Enfin, l'arrosage.").unwrap();
        assert_eq!((c.strength, c.topic_start), (CueStrength::Weak, 1));
    }

    #[test]
    fn stop_words_follow_the_language() {
        let de = Lang::new(Some("de"));
        for w in ["wir", "für", "die", "und"] {
            assert!(de.is_stop(w), "{w}");
        }
        assert!(de.is_content("kartoffelsuppe"));
        let fr = Lang::new(Some("fr"));
        assert!(fr.is_content("l'arrosage"));
        assert!(!fr.is_content("l'un"));
        assert_eq!(fr.stem("l'arrosage"), fr.stem("arrosage"));
        let en = Lang::new(Some("en"));
        assert_eq!(en.stem("tomatoes"), en.stem("tomato"));
        assert!(en.is_stop_anywhere("wir"));
        // An unknown language still works, with English phrasing.
        let xx = Lang::new(Some("xx"));
        assert!(xx.is_content("word"));
        assert_eq!(xx.and, "and");
    }
}
