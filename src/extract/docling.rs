//! The external parser: a Docling-serve compatible endpoint reads what the built-in
//! extractors cannot (scanned PDFs, images) or reads with a layout model (tables, columns).
//!
//! One file is one `POST {DOCLING_ENDPOINT}/v1/convert/file` (multipart: the file under
//! `files`, `to_formats=md`, images as placeholders, and a page-break marker), answered with
//! `{"document": {"md_content": …}, "status": …, "errors": […]}`. The Markdown is what lrt
//! ingests; where the marker comes back, each page's byte range is kept, so references
//! carry page numbers as with the built-in PDF extractor. Requests go through the model
//! providers' HTTP client (timeouts, retries on 429/5xx and connection errors, the key only
//! in the `X-Api-Key` header and never in a message). A failure fails that file with its
//! reason: nothing falls back to the built-in extractors behind the user's back.

use std::time::Duration;

use reqwest::multipart::{Form, Part};

use super::{ExtractError, Extracted, Format, Limits, Page};
use crate::llm::LlmError;
use crate::llm::http::{HttpClient, Purpose, checked_url};

/// What Docling is asked to put between pages; lrt splits the Markdown there.
pub const PAGE_BREAK: &str = "<!-- lrt:page-break -->";
/// The path appended to a `DOCLING_ENDPOINT` that names only the server.
const CONVERT_PATH: &str = "/v1/convert/file";

/// How to reach the parser (from `[ingest]` / `DOCLING_*`, see `crate::config`).
#[derive(Clone)]
pub struct DoclingConfig {
    /// The server (`http://127.0.0.1:5001`) or the full convert URL (`…/v1alpha/convert/file`).
    pub endpoint: String,
    pub api_key: Option<String>,
    /// Longest one conversion may take; zero means no limit.
    pub timeout: Duration,
    pub max_retries: u32,
}

/// A client of one Docling-serve endpoint.
#[derive(Debug, Clone)]
pub struct Docling {
    http: HttpClient,
    url: String,
}

impl Docling {
    pub fn new(config: &DoclingConfig) -> Result<Docling, LlmError> {
        let base = checked_url(Some(&config.endpoint), "", "DOCLING_ENDPOINT")?;
        let url = match base.ends_with("/convert/file") {
            true => base.clone(),
            false => format!("{base}{CONVERT_PATH}"),
        };
        let http = HttpClient::with_limits(
            "docling",
            "docling",
            config.api_key.as_deref(),
            &base,
            config.timeout,
            config.max_retries,
            Duration::from_millis(500),
        )?;
        Ok(Docling { http, url })
    }

    /// The endpoint as shown to users (no credentials).
    pub fn endpoint(&self) -> &str {
        self.http.host()
    }

    /// Whether Docling reads this format. The rest (OpenDocument, EPUB, RTF, text) stays
    /// with the built-in extractors, which read them as well as Docling would.
    pub fn reads(format: Format) -> bool {
        matches!(
            format,
            Format::Pdf | Format::Image | Format::Docx | Format::Pptx | Format::Xlsx | Format::Html
        )
    }

    /// Converts one file of `format` (which [`Docling::reads`]) to Markdown text.
    pub async fn convert(
        &self,
        bytes: Vec<u8>,
        name: &str,
        format: Format,
        limits: &Limits,
    ) -> Result<Extracted, ExtractError> {
        let (file_name, mime) = upload_name(name, format);
        let form = || {
            let part = Part::bytes(bytes.clone())
                .file_name(file_name.clone())
                .mime_str(mime)
                .expect("a fixed, valid MIME type");
            Form::new()
                .part("files", part)
                .text("to_formats", "md")
                .text("image_export_mode", "placeholder")
                .text("md_page_break_placeholder", PAGE_BREAK)
        };
        // The client's errors name the endpoint and the setting to check already.
        let failed = |e: LlmError| ExtractError::Parser(format!("Docling: {e}"));
        let mut resp = self
            .http
            .post_multipart(Purpose::Parser, &self.url, form)
            .await
            .map_err(failed)?;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            ExtractError::Parser(format!(
                "Docling at {}: reading the answer failed: {e}",
                self.endpoint()
            ))
        })? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > limits.max_unpacked {
                return Err(ExtractError::Parser(format!(
                    "Docling at {} answered with more than {} bytes",
                    self.endpoint(),
                    limits.max_unpacked
                )));
            }
        }
        let markdown =
            markdown(&body).map_err(|why| ExtractError::Parser(format!("Docling at {}: {why}", self.endpoint())))?;
        Ok(paginate(&markdown, format))
    }
}

/// The name and MIME type a file is sent under: Docling picks its reader by them.
fn upload_name(name: &str, format: Format) -> (String, &'static str) {
    let (ext, mime) = match format {
        Format::Pdf => ("pdf", "application/pdf"),
        Format::Docx => (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        Format::Pptx => (
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        Format::Xlsx => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        Format::Html => ("html", "text/html"),
        Format::Image => ("png", "image/png"),
        _ => ("bin", "application/octet-stream"),
    };
    let base = std::path::Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "-")
        .unwrap_or_else(|| "document".into());
    let known = std::path::Path::new(&base)
        .extension()
        .is_some_and(|e| format == Format::Image || e.eq_ignore_ascii_case(ext));
    match (known, format) {
        (true, Format::Image) => {
            let mime = mime_guess_image(&base);
            (base, mime)
        }
        (true, _) => (base, mime),
        (false, _) => (format!("{base}.{ext}"), mime),
    }
}

/// An image's MIME type by its extension (Docling accepts any `image/*`).
fn mime_guess_image(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "tif" | "tiff" => "image/tiff",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        _ => "image/png",
    }
}

/// The Markdown of a convert answer, or why there is none.
fn markdown(body: &[u8]) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        document: Option<Document>,
        status: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    #[derive(serde::Deserialize)]
    struct Document {
        md_content: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        format!("not a Docling convert answer ({e}): {start:?}")
    })?;
    let errors = || {
        let list: Vec<String> = answer
            .errors
            .iter()
            .map(|e| match e.get("error_message").and_then(|m| m.as_str()) {
                Some(m) => m.to_string(),
                None => e.to_string(),
            })
            .collect();
        match list.is_empty() {
            true => String::new(),
            false => format!(": {}", list.join("; ")),
        }
    };
    if let Some(status) = answer.status.as_deref()
        && matches!(status, "failure" | "skipped")
    {
        return Err(format!("the conversion ended with status {status:?}{}", errors()));
    }
    let md = answer.document.and_then(|d| d.md_content).unwrap_or_default();
    if md.replace(PAGE_BREAK, "").trim().is_empty() {
        return Err(format!(
            "the answer holds no Markdown (md_content is empty){}",
            errors()
        ));
    }
    Ok(md)
}

/// The Markdown as lrt's text: pages split at [`PAGE_BREAK`] (only where Docling put it: a
/// server that ignores the option gives one text without pages), joined by blank lines.
fn paginate(md: &str, format: Format) -> Extracted {
    if !md.contains(PAGE_BREAK) {
        return Extracted {
            format,
            text: md.trim().to_string(),
            pages: Vec::new(),
        };
    }
    let mut text = String::new();
    let mut pages = Vec::new();
    for (i, page) in md.split(PAGE_BREAK).enumerate() {
        let page = page.trim();
        if page.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        let start = text.len();
        text.push_str(page);
        pages.push(Page {
            number: i as u32 + 1,
            start,
            end: text.len(),
        });
    }
    Extracted { format, text, pages }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_split_at_the_marker_and_keep_their_numbers() {
        let md = format!("# One\n\nalpha\n{PAGE_BREAK}\n\n{PAGE_BREAK}\nthree");
        let e = paginate(&md, Format::Pdf);
        assert_eq!(e.text, "# One\n\nalpha\n\nthree");
        let numbers: Vec<u32> = e.pages.iter().map(|p| p.number).collect();
        assert_eq!(numbers, vec![1, 3], "an empty page keeps its number out of the text");
        assert_eq!(&e.text[e.pages[1].start..e.pages[1].end], "three");
        assert!(paginate("no marker", Format::Pdf).pages.is_empty());
    }

    #[test]
    fn answers_without_markdown_are_errors() {
        assert!(
            markdown(b"<html>")
                .unwrap_err()
                .starts_with("not a Docling convert answer")
        );
        let failed = br#"{"document":{"md_content":""},"status":"failure","errors":[{"error_message":"bad pdf"}]}"#;
        assert_eq!(
            markdown(failed).unwrap_err(),
            "the conversion ended with status \"failure\": bad pdf"
        );
        let empty = br#"{"document":{"md_content":"  "},"status":"success"}"#;
        assert!(markdown(empty).unwrap_err().contains("md_content is empty"));
        let ok = br#"{"document":{"md_content":"text"},"status":"partial_success"}"#;
        assert_eq!(markdown(ok).unwrap(), "text");
    }

    #[test]
    fn files_are_sent_under_a_name_docling_recognises() {
        assert_eq!(
            upload_name("dir/report.PDF", Format::Pdf),
            ("report.PDF".into(), "application/pdf")
        );
        assert_eq!(
            upload_name("-", Format::Pdf),
            ("document.pdf".into(), "application/pdf")
        );
        assert_eq!(
            upload_name("scan.jpg", Format::Image),
            ("scan.jpg".into(), "image/jpeg")
        );
        assert_eq!(upload_name("notes", Format::Html).0, "notes.html");
    }
}
