//! Text extraction from the documents people have: PDF, Office (DOCX, PPTX, XLSX),
//! OpenDocument (ODT, ODS, ODP), EPUB, HTML, RTF and text-like files.
//!
//! The format is chosen by content (magic bytes, then what a zip container holds), the file
//! name only breaking ties between text-like formats. Every extractor is bounded: the input
//! size, what a container may decompress and how many entries it may have, XML nesting and
//! the time one file may take are capped by [`Limits`], so a hostile file fails alone with
//! its reason ([`ExtractError`]) and the rest of a run goes on. Crates do the parsing
//! (`pdf-extract`/`lopdf` for PDF, `zip` + `roxmltree` for containers, `html5ever`'s
//! tokenizer for HTML); this module is the glue that turns their output into text.

mod container;
#[cfg(test)]
mod corpus;
pub mod docling;
mod html;
mod odf;
mod ooxml;
mod pdf;
mod pdf_streams;
mod rtf;
mod text;
mod worker;

use std::time::Duration;

use serde::Serialize;

pub use text::decode_text;

/// What one file may cost. The defaults suit a laptop and a server alike.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest input file, bytes.
    pub max_input: u64,
    /// Most bytes a container (zip) or a PDF's compressed streams may expand to, all entries together.
    pub max_unpacked: u64,
    /// Most entries a zip container may list.
    pub max_entries: usize,
    /// Deepest XML element nesting accepted.
    pub max_depth: usize,
    /// Longest one file's extraction may run.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input: 100 << 20,
            max_unpacked: 512 << 20,
            max_entries: 10_000,
            max_depth: 256,
            timeout: Duration::from_secs(60),
        }
    }
}

/// The formats lrt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Docx,
    Pptx,
    Xlsx,
    Odt,
    Ods,
    Odp,
    Epub,
    Html,
    Rtf,
    Json,
    Text,
    /// A picture (PNG, JPEG, TIFF, BMP, GIF, WebP): only an external OCR parser reads it.
    Image,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Pptx => "pptx",
            Format::Xlsx => "xlsx",
            Format::Odt => "odt",
            Format::Ods => "ods",
            Format::Odp => "odp",
            Format::Epub => "epub",
            Format::Html => "html",
            Format::Rtf => "rtf",
            Format::Json => "json",
            Format::Text => "text",
            Format::Image => "image",
        }
    }
}

/// A page of a paginated document: its 1-based number and the byte range of
/// [`Extracted::text`] it became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Page {
    pub number: u32,
    pub start: usize,
    pub end: usize,
}

/// A document's text, with its pages where the format has them (PDF).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extracted {
    pub format: Format,
    pub text: String,
    pub pages: Vec<Page>,
}

impl Extracted {
    /// The pages (first, last) a byte range of the text touches; `None` without pages.
    pub fn page_range(&self, start: usize, end: usize) -> Option<(u32, u32)> {
        page_range(&self.pages, start, end)
    }
}

/// The pages (first, last) that the byte range `start..end` of a text overlaps.
pub fn page_range(pages: &[Page], start: usize, end: usize) -> Option<(u32, u32)> {
    let mut hit = pages.iter().filter(|p| p.start < end.max(start + 1) && start < p.end);
    let first = hit.next()?;
    let last = hit.next_back().unwrap_or(first);
    Some((first.number, last.number))
}

/// Why a file's text could not be extracted. Each names the reason a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("too large ({size} bytes; the limit is {limit} bytes)")]
    TooLarge { size: u64, limit: u64 },
    #[error("empty{}", if *bom { " (only a byte-order mark)" } else { "" })]
    Empty { bom: bool },
    #[error("unsupported format: {0}")]
    Unsupported(String),
    #[error("no text layer: use an OCR parser ({0})")]
    NoTextLayer(String),
    #[error("encrypted or password-protected: {0}")]
    Encrypted(String),
    #[error("corrupt {format} file: {reason}")]
    Corrupt { format: &'static str, reason: String },
    #[error("refused as hostile or too costly: {0}")]
    Limit(String),
    #[error("extraction took longer than {0} s")]
    Timeout(u64),
    /// The external parser failed (down, refused the file, or answered with no text).
    #[error("external parser failed: {0}")]
    Parser(String),
}

impl ExtractError {
    fn corrupt(format: Format, reason: impl std::fmt::Display) -> Self {
        ExtractError::Corrupt {
            format: format.name(),
            reason: reason.to_string(),
        }
    }
}

/// One extractor: a format's bytes to text. `name` is a hint only (the file name).
trait Extractor: Send + Sync {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError>;
}

/// Extracts the text of one file. `name` (a file name or path) only breaks ties between
/// text-like formats; the content decides the rest. Runs on a worker thread so that a file
/// that takes longer than `limits.timeout` (or panics inside a parser) fails alone; such a
/// thread runs on until its parser returns, and at most a few of them at once (see `worker`).
pub fn extract(bytes: Vec<u8>, name: &str, limits: &Limits) -> Result<Extracted, ExtractError> {
    if bytes.len() as u64 > limits.max_input {
        return Err(too_large(&bytes, limits));
    }
    let extractor = choose(&bytes, name, limits)?;
    let limits_copy = *limits;
    let job = move || extractor.extract(&bytes, &limits_copy);
    match worker::run_bounded(&worker::ABANDONED, worker::MAX_ABANDONED, limits.timeout, job)? {
        Ok(result) => result.and_then(non_empty),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the parser gave up".into());
            Err(ExtractError::Corrupt {
                format: "document",
                reason: format!("parser failed: {why}"),
            })
        }
    }
}

/// Which parser reads documents: lrt's own extractors (offline, the default) or a
/// Docling-serve endpoint (`LRT_PARSER=docling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParserKind {
    Builtin,
    Docling,
}

impl ParserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParserKind::Builtin => "builtin",
            ParserKind::Docling => "docling",
        }
    }
}

impl std::str::FromStr for ParserKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "builtin" | "" => Ok(ParserKind::Builtin),
            "docling" => Ok(ParserKind::Docling),
            other => Err(format!("unknown parser {other:?}: expected builtin or docling")),
        }
    }
}

/// The parser of one run, ready to use. With Docling, the formats it reads
/// ([`docling::Docling::reads`]: PDF, images, DOCX, PPTX, XLSX, HTML) go to it and the rest
/// to the built-in extractors.
#[derive(Debug, Clone)]
pub enum Parser {
    Builtin,
    Docling(docling::Docling),
}

impl Parser {
    /// Which parser reads `bytes` (the routing [`Parser::extract`] follows), with the
    /// format detected for it.
    fn route(&self, bytes: &[u8], name: &str, limits: &Limits) -> Option<(&docling::Docling, Format)> {
        let Parser::Docling(d) = self else { return None };
        match detect_for_parser(bytes, name, limits) {
            Ok(format) if docling::Docling::reads(format) => Some((d, format)),
            _ => None,
        }
    }

    /// Extracts one file as [`extract`] does, sending it to Docling when that is the parser
    /// and reads its format. Returns which parser read it. Blocks; for async callers (the
    /// server) see [`Parser::extract_async`].
    pub fn extract(
        &self,
        bytes: Vec<u8>,
        name: &str,
        limits: &Limits,
    ) -> Result<(Extracted, ParserKind), ExtractError> {
        match self.route(&bytes, name, limits) {
            None => extract(bytes, name, limits).map(|e| (e, ParserKind::Builtin)),
            Some((d, format)) => {
                if bytes.len() as u64 > limits.max_input {
                    return Err(too_large(&bytes, limits));
                }
                // A runtime of its own on a thread of its own, so this works from any caller,
                // inside an async runtime or not.
                std::thread::scope(|s| {
                    s.spawn(|| {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(|e| ExtractError::Parser(format!("cannot start an async runtime: {e}")))?;
                        rt.block_on(d.convert(bytes, name, format, limits))
                    })
                    .join()
                    .unwrap_or_else(|_| Err(ExtractError::Parser("the Docling client panicked".into())))
                })
                .map(|e| (e, ParserKind::Docling))
            }
        }
    }

    /// [`Parser::extract`] for async callers: built-in extraction runs on the blocking pool.
    pub async fn extract_async(
        &self,
        bytes: Vec<u8>,
        name: String,
        limits: Limits,
    ) -> Result<(Extracted, ParserKind), ExtractError> {
        match self.route(&bytes, &name, &limits) {
            Some((d, format)) => {
                if bytes.len() as u64 > limits.max_input {
                    return Err(too_large(&bytes, &limits));
                }
                d.convert(bytes, &name, format, &limits)
                    .await
                    .map(|e| (e, ParserKind::Docling))
            }
            None => tokio::task::spawn_blocking(move || extract(bytes, &name, &limits))
                .await
                .unwrap_or_else(|e| {
                    Err(ExtractError::Corrupt {
                        format: "document",
                        reason: format!("the extraction task failed: {e}"),
                    })
                })
                .map(|e| (e, ParserKind::Builtin)),
        }
    }
}

fn too_large(bytes: &[u8], limits: &Limits) -> ExtractError {
    ExtractError::TooLarge {
        size: bytes.len() as u64,
        limit: limits.max_input,
    }
}

fn non_empty(e: Extracted) -> Result<Extracted, ExtractError> {
    if e.text.trim().is_empty() {
        return Err(match e.format {
            Format::Pdf => ExtractError::NoTextLayer("the PDF's pages hold no text, only images or nothing".into()),
            _ => ExtractError::Empty { bom: false },
        });
    }
    Ok(e)
}

/// The format of `bytes`: by magic bytes, then by a zip container's entries, then (for text)
/// by the name's extension. Images and legacy Office files are errors here: no built-in
/// extractor reads them (see [`detect_for_parser`]).
fn detect(bytes: &[u8], name: &str, limits: &Limits) -> Result<Format, ExtractError> {
    let head = &bytes[..bytes.len().min(1024)];
    if memfind(head, b"%PDF-").is_some() {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return container::classify(bytes, limits);
    }
    if bytes.starts_with(b"{\\rtf") {
        return Ok(Format::Rtf);
    }
    if let Some(kind) = known_binary(bytes) {
        return Err(kind);
    }
    let ext = std::path::Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "html" | "htm" | "xhtml" => Format::Html,
        "json" => Format::Json,
        _ if text::looks_like_html(bytes) => Format::Html,
        _ => Format::Text,
    })
}

/// Like [`detect`], but an image is [`Format::Image`]: an external parser may OCR it.
fn detect_for_parser(bytes: &[u8], name: &str, limits: &Limits) -> Result<Format, ExtractError> {
    match detect(bytes, name, limits) {
        Err(ExtractError::NoTextLayer(_)) if is_image(bytes) => Ok(Format::Image),
        other => other,
    }
}

/// The built-in extractor of a format.
fn choose(bytes: &[u8], name: &str, limits: &Limits) -> Result<Box<dyn Extractor>, ExtractError> {
    Ok(match detect(bytes, name, limits)? {
        Format::Pdf => Box::new(pdf::Pdf),
        Format::Docx => Box::new(ooxml::Docx),
        Format::Pptx => Box::new(ooxml::Pptx),
        Format::Xlsx => Box::new(ooxml::Xlsx),
        f @ (Format::Odt | Format::Ods | Format::Odp) => Box::new(odf::Odf(f)),
        Format::Epub => Box::new(odf::Epub),
        Format::Html => Box::new(html::Html),
        Format::Rtf => Box::new(rtf::Rtf),
        Format::Json => Box::new(text::Json),
        Format::Text => Box::new(text::Plain),
        Format::Image => return Err(ExtractError::NoTextLayer("an image".into())),
    })
}

fn is_image(bytes: &[u8]) -> bool {
    let image = [&b"\x89PNG"[..], b"\xff\xd8\xff", b"GIF8", b"II*\0", b"MM\0*"];
    image.iter().any(|m| bytes.starts_with(m)) || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
}

/// Binary formats recognised only to say why they are refused.
fn known_binary(bytes: &[u8]) -> Option<ExtractError> {
    if is_image(bytes) {
        return Some(ExtractError::NoTextLayer("an image".into()));
    }
    if bytes.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        // Password-protected DOCX/XLSX/PPTX are such compound files too, holding these streams.
        let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        if memfind(bytes, &utf16("EncryptedPackage")).is_some() {
            return Some(ExtractError::Encrypted("a password-protected Office document".into()));
        }
        return Some(ExtractError::Unsupported(
            "legacy Office binary (.doc/.xls/.ppt): save it as .docx/.xlsx/.pptx".into(),
        ));
    }
    None
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges_cover_overlapping_pages() {
        let pages = [
            Page {
                number: 1,
                start: 0,
                end: 10,
            },
            Page {
                number: 2,
                start: 10,
                end: 20,
            },
            Page {
                number: 3,
                start: 20,
                end: 30,
            },
        ];
        assert_eq!(page_range(&pages, 0, 5), Some((1, 1)));
        assert_eq!(page_range(&pages, 5, 15), Some((1, 2)));
        assert_eq!(page_range(&pages, 12, 29), Some((2, 3)));
        assert_eq!(page_range(&pages, 40, 50), None);
        assert_eq!(page_range(&[], 0, 5), None);
    }

    #[test]
    fn images_and_legacy_office_are_refused_by_content() {
        let err = extract(b"\x89PNG\r\n\x1a\nrest".to_vec(), "scan.txt", &Limits::default()).unwrap_err();
        assert!(err.to_string().starts_with("no text layer: use an OCR parser"), "{err}");
        let err = extract(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1....".to_vec(),
            "a.doc",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ExtractError::Unsupported(_)), "{err}");
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let limits = Limits {
            max_input: 4,
            ..Limits::default()
        };
        assert!(matches!(
            extract(b"hello".to_vec(), "a.txt", &limits),
            Err(ExtractError::TooLarge { size: 5, limit: 4 })
        ));
    }

    #[test]
    fn a_slow_extraction_times_out() {
        // RTF groups nest without end: the parser is linear, so use a huge input and a tiny budget.
        let limits = Limits {
            timeout: Duration::from_millis(1),
            ..Limits::default()
        };
        let mut doc = b"{\\rtf1 ".to_vec();
        doc.extend(std::iter::repeat_n(b"\\par word ".as_slice(), 2_000_000).flatten());
        let err = extract(doc, "a.rtf", &limits).unwrap_err();
        assert_eq!(err, ExtractError::Timeout(0));
    }
}
