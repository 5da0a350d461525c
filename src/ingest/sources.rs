//! What `lrt ingest PATH…` reads: files, directories (recursively, optionally filtered by a
//! glob) and standard input. Only UTF-8 text is accepted; anything else is reported and
//! skipped, never fatal. Reading paths runs in the CLI only, with the invoking user's own file
//! rights: the HTTP server never reads server-side paths (it shares only [`decode_text`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

use crate::error::{Error, Result};

/// The name given to text read from standard input.
pub const STDIN_NAME: &str = "stdin";

/// One document to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as the user named it (or as found below a named directory); metadata only.
    pub file_path: String,
    pub content: String,
}

/// An input that was not ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub file_path: String,
    pub reason: String,
}

/// Reads every named input. `glob` filters the files found inside directories (by file
/// name, e.g. `*.md`, or by relative path, e.g. `docs/**/*.txt`).
pub fn collect(paths: &[PathBuf], glob: Option<&str>, stdin: &mut dyn Read) -> Result<(Vec<Source>, Vec<Skipped>)> {
    let matcher = glob
        .map(|g| Glob::new(g).map(|g| g.compile_matcher()))
        .transpose()
        .map_err(|e| Error::Usage(format!("invalid --glob: {e}")))?;
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    let mut stdin_used = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if std::mem::replace(&mut stdin_used, true) {
                return Err(Error::Usage("`-` (standard input) can be given only once".into()));
            }
            let mut bytes = Vec::new();
            stdin
                .read_to_end(&mut bytes)
                .map_err(|e| Error::storage("cannot read standard input", e))?;
            push(&mut sources, &mut skipped, STDIN_NAME.to_string(), bytes);
            continue;
        }
        let meta =
            std::fs::metadata(path).map_err(|e| Error::NotFound(format!("cannot read {}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(path, matcher.as_ref(), &mut sources, &mut skipped)?;
        } else {
            read_file(path, &mut sources, &mut skipped);
        }
    }
    Ok((sources, skipped))
}

fn walk(
    root: &Path,
    matcher: Option<&GlobMatcher>,
    sources: &mut Vec<Source>,
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let entries = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let file_path = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| root.display().to_string());
                skipped.push(Skipped {
                    file_path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if let Some(m) = matcher
            && !(m.is_match(rel) || entry.path().file_name().is_some_and(|n| m.is_match(n)))
        {
            continue;
        }
        read_file(entry.path(), sources, skipped);
    }
    Ok(())
}

fn read_file(path: &Path, sources: &mut Vec<Source>, skipped: &mut Vec<Skipped>) {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => push(sources, skipped, name, bytes),
        Err(e) => skipped.push(Skipped {
            file_path: name,
            reason: format!("cannot read: {e}"),
        }),
    }
}

fn push(sources: &mut Vec<Source>, skipped: &mut Vec<Skipped>, file_path: String, bytes: Vec<u8>) {
    match decode_text(bytes) {
        Ok(content) => sources.push(Source { file_path, content }),
        Err(reason) => skipped.push(Skipped { file_path, reason }),
    }
}

/// The text of an input: UTF-8 without NUL bytes and not blank, a leading BOM dropped; else
/// why it cannot be ingested. The server's uploads are held to the same rule.
pub fn decode_text(bytes: Vec<u8>) -> std::result::Result<String, String> {
    if bytes.contains(&0) {
        return Err("binary file (contains NUL bytes)".into());
    }
    match String::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => Err("empty".into()),
        Ok(text) => Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text)),
        Err(e) => Err(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_skips_binary_and_filters_by_glob() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("docs");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("a.md"), "# Alpha\ntext").unwrap();
        std::fs::write(root.join("sub/b.txt"), "\u{feff}Beta").unwrap();
        std::fs::write(root.join("c.bin"), [0u8, 1, 2]).unwrap();
        std::fs::write(root.join("d.txt"), [0xffu8, 0xfe, b'a']).unwrap();
        std::fs::write(root.join(".git/config"), "hidden").unwrap();
        std::fs::write(root.join("e.txt"), "  \n").unwrap();

        let (sources, skipped) = collect(std::slice::from_ref(&root), None, &mut std::io::empty()).unwrap();
        let names: Vec<_> = sources
            .iter()
            .map(|s| s.file_path.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["a.md", "b.txt"]);
        assert_eq!(sources[1].content, "Beta", "BOM stripped");
        assert_eq!(skipped.len(), 3, "{skipped:?}");

        let (sources, _) = collect(&[root], Some("*.md"), &mut std::io::empty()).unwrap();
        assert_eq!(sources.len(), 1);
    }

    #[test]
    fn stdin_once_and_missing_paths_are_errors() {
        let mut input = "from stdin".as_bytes();
        let (sources, _) = collect(&[PathBuf::from("-")], None, &mut input).unwrap();
        assert_eq!(
            sources,
            vec![Source {
                file_path: STDIN_NAME.into(),
                content: "from stdin".into()
            }]
        );
        let twice = [PathBuf::from("-"), PathBuf::from("-")];
        assert!(collect(&twice, None, &mut std::io::empty()).is_err());
        assert!(matches!(
            collect(&[PathBuf::from("/nonexistent/x")], None, &mut std::io::empty()),
            Err(Error::NotFound(_))
        ));
        assert!(collect(&[], Some("[bad"), &mut std::io::empty()).is_err());
    }
}
