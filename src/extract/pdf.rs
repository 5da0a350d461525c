//! PDF: the text of each page (`pdf-extract` over `lopdf`), page numbers kept, words broken
//! by a hyphen at a line end joined, and running headers and footers (the same first or last
//! line on most pages, page numbers aside) dropped. A PDF with a user password is refused;
//! one whose pages hold no text is "no text layer" (it needs OCR). Flate streams are
//! measured against `Limits::max_unpacked` on the raw bytes before `lopdf` loads the file
//! ([`pdf_streams`]), since loading already inflates object streams.

use pdf_extract::{Document, Object, PlainTextOutput, output_doc_page};

use super::text::Builder;
use super::{ExtractError, Extracted, Extractor, Format, Limits, pdf_streams};

pub struct Pdf;

impl Extractor for Pdf {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        pdf_streams::check(bytes, limits.max_unpacked)?;
        let mut doc = Document::load_mem(bytes).map_err(|e| {
            let why = e.to_string();
            match why.to_ascii_lowercase().contains("crypt") {
                true => ExtractError::Encrypted(why),
                false => ExtractError::corrupt(Format::Pdf, why),
            }
        })?;
        if doc.is_encrypted() && doc.decrypt("").is_err() {
            return Err(ExtractError::Encrypted("the PDF needs a password to open".into()));
        }
        // An encrypted file's raw streams are ciphertext the pre-check cannot measure.
        if doc.was_encrypted() || doc.is_encrypted() {
            check_streams(&doc, limits)?;
        }
        let mut pages = Vec::new();
        let mut first_error = None;
        for &number in doc.get_pages().keys() {
            let mut text = String::new();
            match output_doc_page(&doc, &mut PlainTextOutput::new(&mut text), number) {
                Ok(()) => pages.push((number, text)),
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                    pages.push((number, String::new()));
                }
            }
        }
        if let Some(why) = first_error
            && pages.iter().all(|(_, t)| t.trim().is_empty())
        {
            return Err(ExtractError::corrupt(Format::Pdf, why));
        }
        Ok(layout(pages))
    }
}

/// Refuses a decrypted PDF whose Flate streams together inflate beyond `limits.max_unpacked`
/// (a decompression bomb), inflating each within what is left of that budget.
fn check_streams(doc: &Document, limits: &Limits) -> Result<(), ExtractError> {
    let mut budget = limits.max_unpacked;
    for object in doc.objects.values() {
        let Object::Stream(stream) = object else { continue };
        let flate = match stream.dict.get(b"Filter") {
            Ok(Object::Name(n)) => n == b"FlateDecode",
            Ok(Object::Array(a)) => a.iter().any(|f| matches!(f, Object::Name(n) if n == b"FlateDecode")),
            _ => false,
        };
        let size = match flate {
            true => pdf_streams::measure(flate2::read::ZlibDecoder::new(&stream.content[..]), budget + 1),
            false => stream.content.len() as u64,
        };
        if size > budget {
            return Err(pdf_streams::too_large(limits.max_unpacked));
        }
        budget -= size;
    }
    Ok(())
}

/// Pages' raw text to the document: cleaned lines, repeated headers and footers dropped,
/// hyphenation joined, each page's byte range recorded.
fn layout(pages: Vec<(u32, String)>) -> Extracted {
    let mut pages: Vec<(u32, Vec<String>)> = pages.into_iter().map(|(n, t)| (n, lines(&t))).collect();
    drop_running_lines(&mut pages);
    let mut out = Builder::default();
    for (number, lines) in pages {
        out.page(number);
        out.raw(&join_hyphenated(&lines));
    }
    out.finish(Format::Pdf)
}

/// A page's lines, right-trimmed, runs of blank lines cut to one.
fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(if line.trim().is_empty() {
            String::new()
        } else {
            line.to_string()
        });
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// A line with digits blurred, so "Page 3 of 9" and "Page 4 of 9" compare equal.
fn shape(line: &str) -> String {
    line.trim()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// Drops the first and the last line of each page where the same line (digits aside) opens
/// or closes at least three pages and 60% of them.
fn drop_running_lines(pages: &mut [(u32, Vec<String>)]) {
    let with_text = pages.iter().filter(|(_, l)| !l.is_empty()).count();
    if with_text < 3 {
        return;
    }
    let repeated = |pick: &dyn Fn(&Vec<String>) -> Option<&String>| -> Option<String> {
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        for (_, lines) in pages.iter() {
            if let Some(l) = pick(lines) {
                *counts.entry(shape(l)).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n >= 3 && *n * 10 >= with_text * 6)
            .max_by_key(|(_, n)| *n)
            .map(|(s, _)| s)
    };
    let header = repeated(&|l| l.first());
    let footer = repeated(&|l| l.last());
    for (_, lines) in pages.iter_mut() {
        if let Some(h) = &header
            && lines.first().is_some_and(|l| &shape(l) == h)
        {
            lines.remove(0);
        }
        if let Some(f) = &footer
            && lines.last().is_some_and(|l| &shape(l) == f)
        {
            lines.pop();
        }
        while lines.first().is_some_and(String::is_empty) {
            lines.remove(0);
        }
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
    }
}

/// Lines joined back; a word split by a hyphen at a line end ("exam-" + "ple") made whole.
fn join_hyphenated(lines: &[String]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let next_lower = lines
            .get(i + 1)
            .and_then(|n| n.trim_start().chars().next())
            .is_some_and(char::is_lowercase);
        let mut chars = line.chars().rev();
        let hyphen_after_letter = chars.next() == Some('-') && chars.next().is_some_and(char::is_alphabetic);
        if hyphen_after_letter && next_lower {
            out.push_str(&line[..line.len() - 1]);
            let next = lines[i + 1].trim_start();
            // The rest of the word joins; the remainder of that line follows as usual.
            out.push_str(next);
            out.push('\n');
            i += 2;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphens_join_only_broken_words() {
        let lines: Vec<String> = ["an exam-", "ple of", "well-", "Known and x -", "y"]
            .map(String::from)
            .to_vec();
        assert_eq!(join_hyphenated(&lines), "an example of\nwell-\nKnown and x -\ny\n");
    }

    #[test]
    fn running_headers_and_footers_are_dropped() {
        let page = |n: u32, body: &str| (n, format!("ACME Annual Report\n\n{body}\n\nPage {n} of 4"));
        let pages = vec![page(1, "one"), page(2, "two"), page(3, "three"), page(4, "four")];
        let e = layout(pages);
        assert_eq!(e.text, "one\n\ntwo\n\nthree\n\nfour");
        assert_eq!(e.pages.len(), 4);
        assert_eq!(&e.text[e.pages[2].start..e.pages[2].end], "three");
        // Two pages are too few to tell a header from content.
        let e = layout(vec![page(1, "one"), page(2, "two")]);
        assert!(e.text.starts_with("ACME Annual Report"));
    }
}
