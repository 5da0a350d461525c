//! Input checks that run before anything is written.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_METADATA_ENTRIES: usize = 64;

/// Unicode format characters (category Cf): zero-width spaces and joiners, bidi embeddings,
/// overrides and isolates, the word joiner, the byte-order mark, tag characters. Invisible
/// or reordering the text around them, they let two names look alike (or one look like
/// another's reversed tail), so no name may hold one.
pub fn is_format_char(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format
}

/// Characters that show nothing: the format characters, and the other default-ignorable code
/// points (the combining grapheme joiner, Hangul and half-width fillers, Khmer inherent
/// vowels, Mongolian and other variation selectors, reserved ignorables), plus the blank
/// Braille pattern. A name holding one looks like a name without it.
pub fn is_invisible(c: char) -> bool {
    is_format_char(c)
        || matches!(
            c as u32,
            0x034F
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x2065
                | 0x2800
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFFA0
                | 0xFFF0..=0xFFF8
                | 0xE0000..=0xE0FFF
        )
}

/// Tenant and KB names: 1–255 characters, no control or format characters (zero-width,
/// bidi), no surrounding spaces, and not shaped like a UUID (a name that parses as an id would
/// be ambiguous).
pub fn name(kind: &str, name: &str) -> Result<()> {
    let count = name.chars().count();
    let problem = if name.trim().is_empty() {
        Some("must not be empty".to_string())
    } else if count > MAX_NAME_CHARS {
        Some(format!("is {count} characters long; the limit is {MAX_NAME_CHARS}"))
    } else if name.trim() != name {
        Some("must not start or end with whitespace".to_string())
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters".to_string())
    } else if name.chars().any(is_invisible) {
        Some(
            "must not contain invisible format characters (zero-width, bidi, fillers or variation selectors)"
                .to_string(),
        )
    } else if uuid::Uuid::parse_str(name).is_ok() {
        Some("must not be a UUID (ids and names would be ambiguous)".to_string())
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::Usage(format!("invalid {kind} name {name:?}: it {p}"))),
        None => Ok(()),
    }
}

/// User ids (e-mail addresses or login names): 1–255 characters, no whitespace or control
/// characters.
pub fn user_id(user: &str) -> Result<()> {
    let count = user.chars().count();
    let problem = if user.is_empty() {
        Some("must not be empty".to_string())
    } else if count > MAX_NAME_CHARS {
        Some(format!("is {count} characters long; the limit is {MAX_NAME_CHARS}"))
    } else if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("must not contain whitespace or control characters".to_string())
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::Usage(format!("invalid user id {user:?}: it {p}"))),
        None => Ok(()),
    }
}

/// The longest document file name, in characters.
pub const MAX_FILE_PATH_CHARS: usize = 1024;

/// A document's file name, wherever it comes from (an upload's name, a path `lrt ingest`
/// found, a document of a `kb import` archive or a LightRAG directory): any text, separators
/// included (it is metadata, never a path lrt opens), but not blank, at most
/// [`MAX_FILE_PATH_CHARS`] characters, and without control characters (C0, DEL, C1) or
/// invisible format characters (zero-width, bidi overrides): it is shown in tables, logs and
/// the references of answers, where those would hide or reorder text.
pub fn file_path(name: &str) -> Result<()> {
    let count = name.chars().count();
    let problem = if name.trim().is_empty() {
        Some("must not be blank".to_string())
    } else if count > MAX_FILE_PATH_CHARS {
        Some(format!(
            "is {count} characters long; the limit is {MAX_FILE_PATH_CHARS}"
        ))
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters".to_string())
    } else if name.chars().any(is_invisible) {
        Some("must not contain invisible format characters (zero-width or bidi)".to_string())
    } else {
        None
    };
    match problem {
        Some(p) => {
            // The refused characters as `\u{…}` escapes, so the message shows them and is safe
            // to print.
            let shown: String = name
                .chars()
                .take(120)
                .map(|c| match c.is_control() || is_invisible(c) {
                    true => format!("\\u{{{:x}}}", c as u32),
                    false => c.to_string(),
                })
                .collect();
            let cut = if count > 120 { "…" } else { "" };
            Err(Error::Usage(format!("invalid file name \"{shown}\"{cut}: it {p}")))
        }
        None => Ok(()),
    }
}

pub fn description(text: &str) -> Result<()> {
    let count = text.chars().count();
    if count > MAX_DESCRIPTION_CHARS {
        return Err(Error::Usage(format!(
            "description is {count} characters long; the limit is {MAX_DESCRIPTION_CHARS}"
        )));
    }
    Ok(())
}

pub fn metadata(map: &Map<String, Value>) -> Result<()> {
    if map.len() > MAX_METADATA_ENTRIES {
        return Err(Error::Usage(format!(
            "at most {MAX_METADATA_ENTRIES} metadata entries are allowed"
        )));
    }
    for (k, v) in map {
        if k.trim().is_empty() || k.chars().count() > MAX_NAME_CHARS || k.chars().any(char::is_control) {
            return Err(Error::Usage(format!("invalid metadata key {k:?}")));
        }
        if v.to_string().chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(Error::Usage(format!("metadata value of {k:?} is too long")));
        }
    }
    Ok(())
}

/// Splits `key=value` (the form of `--set` and `--metadata`).
pub fn assignment(flag: &str, raw: &str) -> Result<(String, String)> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Error::Usage(format!("malformed {flag} {raw:?}: expected key=value"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_metadata_without_controls_or_invisible_characters() {
        for good in [
            "../../evil.txt",
            "dir/sub/report 2026.pdf",
            "日本語.md",
            "C:\\x\\y.txt",
            "stdin",
        ] {
            file_path(good).unwrap();
        }
        for bad in [
            "",
            "  ",
            "a\nb",
            "nul\0",
            "esc\u{1b}[31m.txt",
            "c1\u{85}.txt",
            "del\u{7f}",
            "invoice\u{202E}fdp.exe",
            "zero\u{200B}width.md",
        ] {
            let err = file_path(bad).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{bad:?}");
            assert!(
                !err.to_string().chars().any(|c| c.is_control() || is_format_char(c)),
                "{err}"
            );
        }
        assert!(file_path(&"x".repeat(MAX_FILE_PATH_CHARS)).is_ok());
        let long = file_path(&"x".repeat(MAX_FILE_PATH_CHARS + 1)).unwrap_err().to_string();
        assert!(long.contains("limit is 1024") && long.len() < 300, "{long}");
    }

    #[test]
    fn invisible_and_bidi_characters_are_refused_in_names() {
        for bad in [
            "ac\u{200B}me",
            "acme\u{202E}gnp.exe",
            "\u{FEFF}acme",
            "ac\u{2066}me\u{2069}",
            "a\u{00AD}cme",
            "ac\u{034F}me",
            "acme\u{3164}",
            "ac\u{FE0F}me",
            "\u{2800}",
            "a\u{E0041}cme",
        ] {
            let err = name("tenant", bad).unwrap_err().to_string();
            assert!(err.contains("format characters"), "{bad:?}: {err}");
        }
        // Letters of every script stay allowed.
        for good in ["Acme Corp 日本語", "Ёлка", "عربي", "emoji 🚀"] {
            name("tenant", good).unwrap();
        }
    }

    #[test]
    fn names() {
        assert!(name("tenant", "Acme Corp").is_ok());
        assert!(name("tenant", "日本語").is_ok());
        for bad in [
            "",
            "   ",
            " x",
            "x ",
            "a\nb",
            "a\u{0}b",
            "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        ] {
            assert!(name("tenant", bad).is_err(), "{bad:?}");
        }
        assert!(name("tenant", &"x".repeat(255)).is_ok());
        assert!(name("tenant", &"x".repeat(256)).is_err());
    }

    #[test]
    fn users_and_assignments() {
        assert!(user_id("alice@example.com").is_ok());
        assert!(user_id("a b").is_err() && user_id("").is_err());
        assert_eq!(assignment("--set", "top_k=5").unwrap(), ("top_k".into(), "5".into()));
        assert_eq!(assignment("--set", "k=a=b").unwrap(), ("k".into(), "a=b".into()));
        assert!(assignment("--set", "top_k").is_err() && assignment("--set", "=5").is_err());
    }
}
