//! What `lrt ingest PATH…` reads: files, directories (recursively, optionally filtered by a
//! glob) and standard input, each turned into text by [`crate::extract`] (PDF, Office,
//! OpenDocument, EPUB, HTML, RTF, text). A file that cannot be read is reported and skipped,
//! never fatal. Only regular files are read (a named FIFO or device would block or never
//! end) and no input is read past [`Limits::max_input`]. Reading paths runs in the CLI only,
//! with the invoking user's own file rights: the HTTP server never reads server-side paths.

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

use crate::error::{Error, Result};
use crate::extract::{ExtractError, Format, Limits, Page, Parser, ParserKind};

/// The name given to text read from standard input.
pub const STDIN_NAME: &str = "stdin";

/// One document to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as the user named it (or as found below a named directory); metadata only.
    pub file_path: String,
    pub content: String,
    pub format: Format,
    /// Where `content` came from pages (PDF): each page's byte range of it.
    pub pages: Vec<Page>,
    /// Which parser read it (`lrt debug extract` says).
    pub parser: ParserKind,
}

/// An input that was not ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub file_path: String,
    pub reason: String,
    /// The external parser failed (a server's fault, not the file's): exit code 8, not 2.
    #[serde(skip)]
    pub upstream: bool,
}

/// Reads every named input. `glob` filters the files found inside directories (by file
/// name, e.g. `*.md`, or by relative path, e.g. `docs/**/*.txt`). `parser` reads each file.
pub fn collect(
    paths: &[PathBuf],
    glob: Option<&str>,
    stdin: &mut dyn Read,
    parser: &Parser,
) -> Result<(Vec<Source>, Vec<Skipped>)> {
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
            push(&mut sources, &mut skipped, read_stdin(stdin, parser));
            continue;
        }
        let meta =
            std::fs::metadata(path).map_err(|e| Error::NotFound(format!("cannot read {}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(path, matcher.as_ref(), &mut sources, &mut skipped, parser)?;
        } else {
            push(&mut sources, &mut skipped, read_path(path, parser));
        }
    }
    Ok((sources, skipped))
}

fn walk(
    root: &Path,
    matcher: Option<&GlobMatcher>,
    sources: &mut Vec<Source>,
    skipped: &mut Vec<Skipped>,
    parser: &Parser,
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
                    upstream: false,
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
        push(sources, skipped, read_path(entry.path(), parser));
    }
    Ok(())
}

/// One input (a path or `-`) as a document, or why it cannot be one.
pub fn read_one(path: &Path, stdin: &mut dyn Read, parser: &Parser) -> std::result::Result<Source, Skipped> {
    match path.as_os_str() == "-" {
        true => read_stdin(stdin, parser),
        false => read_path(path, parser),
    }
}

fn read_stdin(stdin: &mut dyn Read, parser: &Parser) -> std::result::Result<Source, Skipped> {
    let skip = |reason: String| Skipped {
        file_path: STDIN_NAME.into(),
        reason,
        upstream: false,
    };
    let bytes = read_capped(stdin, Limits::default().max_input).map_err(skip)?;
    from_bytes(STDIN_NAME.into(), bytes, parser)
}

/// A named file: a name that may be a document's (see [`crate::service::validate::file_path`]),
/// regular files only (a FIFO blocks, `/dev/zero` never ends), at most
/// [`Limits::max_input`] bytes, whatever size it claims.
fn read_path(path: &Path, parser: &Parser) -> std::result::Result<Source, Skipped> {
    let file_path = path.display().to_string();
    let skip = |reason: String| Skipped {
        file_path: file_path.clone(),
        reason,
        upstream: false,
    };
    // The name becomes the document's `file_path`: the rule of every document name applies
    // before the file is read (as to an upload's name).
    crate::service::validate::file_path(&file_path).map_err(|e| skip(e.to_string()))?;
    let meta = std::fs::metadata(path).map_err(|e| skip(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(skip(
            "not a regular file (a FIFO, socket or device): name a file, or pipe it to `-`".into(),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| skip(format!("cannot read: {e}")))?;
    let bytes = read_capped(&mut std::io::BufReader::new(file), Limits::default().max_input).map_err(skip)?;
    from_bytes(file_path, bytes, parser)
}

/// All of `input` up to `limit` bytes; more is an error (an endless stream ends here).
fn read_capped(input: &mut dyn Read, limit: u64) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    input
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("too large (more than the limit of {limit} bytes)"));
    }
    Ok(bytes)
}

fn from_bytes(file_path: String, bytes: Vec<u8>, parser: &Parser) -> std::result::Result<Source, Skipped> {
    match parser.extract(bytes, &file_path, &Limits::default()) {
        Ok((doc, parser)) => Ok(Source {
            file_path,
            content: doc.text,
            format: doc.format,
            pages: doc.pages,
            parser,
        }),
        Err(e) => Err(Skipped {
            file_path,
            reason: e.to_string(),
            upstream: matches!(e, ExtractError::Parser(_)),
        }),
    }
}

fn push(sources: &mut Vec<Source>, skipped: &mut Vec<Skipped>, read: std::result::Result<Source, Skipped>) {
    match read {
        Ok(source) => sources.push(source),
        Err(skip) => skipped.push(skip),
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

        let (sources, skipped) = collect(
            std::slice::from_ref(&root),
            None,
            &mut std::io::empty(),
            &Parser::Builtin,
        )
        .unwrap();
        let names: Vec<_> = sources
            .iter()
            .map(|s| s.file_path.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["a.md", "b.txt"]);
        assert_eq!(sources[1].content, "Beta", "BOM stripped");
        assert_eq!(skipped.len(), 3, "{skipped:?}");

        let (sources, _) = collect(&[root], Some("*.md"), &mut std::io::empty(), &Parser::Builtin).unwrap();
        assert_eq!(sources.len(), 1);
    }

    #[test]
    fn names_no_upload_may_carry_are_skipped_walked_or_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("docs");
        std::fs::create_dir_all(&root).unwrap();
        let bad = [
            "esc\u{1b}[31m.txt",
            "c1\u{85}.txt",
            "invoice\u{202e}txt.exe",
            "zero\u{200b}width.md",
            "line\nbreak.txt",
        ];
        for name in bad.iter().chain(&["ok.txt"]) {
            std::fs::write(root.join(name), "some text").unwrap();
        }
        let (sources, skipped) = collect(
            std::slice::from_ref(&root),
            None,
            &mut std::io::empty(),
            &Parser::Builtin,
        )
        .unwrap();
        assert_eq!(sources.len(), 1);
        assert!(sources[0].file_path.ends_with("/ok.txt"));
        assert_eq!(skipped.len(), bad.len(), "{skipped:?}");
        for s in &skipped {
            assert!(s.reason.starts_with("invalid file name"), "{s:?}");
            assert!(!s.reason.chars().any(char::is_control), "{s:?}");
        }
        // Named on the command line, the same name is refused the same way.
        let named = [root.join(bad[2]), root.join("ok.txt")];
        let (sources, skipped) = collect(&named, None, &mut std::io::empty(), &Parser::Builtin).unwrap();
        assert_eq!((sources.len(), skipped.len()), (1, 1));
        assert!(skipped[0].reason.contains("invisible format characters"), "{skipped:?}");
    }

    #[test]
    fn stdin_once_and_missing_paths_are_errors() {
        let mut input = "from stdin".as_bytes();
        let (sources, _) = collect(&[PathBuf::from("-")], None, &mut input, &Parser::Builtin).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(
            (sources[0].file_path.as_str(), sources[0].content.as_str()),
            (STDIN_NAME, "from stdin")
        );
        let twice = [PathBuf::from("-"), PathBuf::from("-")];
        assert!(collect(&twice, None, &mut std::io::empty(), &Parser::Builtin).is_err());
        assert!(matches!(
            collect(
                &[PathBuf::from("/nonexistent/x")],
                None,
                &mut std::io::empty(),
                &Parser::Builtin
            ),
            Err(Error::NotFound(_))
        ));
        assert!(collect(&[], Some("[bad"), &mut std::io::empty(), &Parser::Builtin).is_err());
    }

    #[test]
    fn fifos_devices_endless_streams_and_a_lone_bom_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let bom = dir.path().join("bom.txt");
        std::fs::write(&bom, [0xef, 0xbb, 0xbf]).unwrap();
        let ok = dir.path().join("ok.txt");
        std::fs::write(&ok, "fine").unwrap();
        // Neither the FIFO (no writer: opening it would block for ever) nor /dev/zero is read.
        let inputs = [fifo, PathBuf::from("/dev/zero"), bom, ok];
        let (sources, skipped) = collect(&inputs, None, &mut std::io::empty(), &Parser::Builtin).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].content, "fine");
        let reasons: Vec<&str> = skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons[0].starts_with("not a regular file"), "{reasons:?}");
        assert!(reasons[1].starts_with("not a regular file"), "{reasons:?}");
        assert_eq!(reasons[2], "empty (only a byte-order mark)");
        assert_eq!(
            read_capped(&mut std::io::repeat(0), 1000).unwrap_err(),
            "too large (more than the limit of 1000 bytes)"
        );
    }
}
