//! Input checks that run before anything is written.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_METADATA_ENTRIES: usize = 64;

/// Tenant and KB names: 1–255 characters, no control characters, no surrounding spaces,
/// and not shaped like a UUID (a name that parses as an id would be ambiguous).
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
