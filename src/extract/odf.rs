//! OpenDocument (ODT, ODS, ODP: `content.xml`) and EPUB (chapters in spine order, each
//! chapter's XHTML through the HTML extractor).

use roxmltree::Node;

use super::container::Container;
use super::ooxml::{attr, is, resolve};
use super::text::Builder;
use super::{ExtractError, Extracted, Extractor, Format, Limits, html};

/// Repeated empty rows or columns (ODS pads sheets to a million rows) are kept up to this.
const MAX_REPEAT: usize = 1000;

pub struct Odf(pub Format);

impl Extractor for Odf {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        let mut c = Container::open(bytes, limits, self.0)?;
        if c.text("META-INF/manifest.xml")?
            .is_some_and(|m| m.contains("encryption-data"))
        {
            return Err(ExtractError::Encrypted(
                "the OpenDocument file is password-protected".into(),
            ));
        }
        let xml = c.required("content.xml")?;
        let doc = c.parse(&xml)?;
        let mut out = Builder::default();
        if let Some(body) = doc.descendants().find(|n| is(n, "body")) {
            match self.0 {
                Format::Odp => {
                    for (i, page) in body.descendants().filter(|n| is(n, "page")).enumerate() {
                        out.heading(2, &format!("Slide {}", i + 1));
                        for frame in page.children().filter(|n| !is(n, "notes")) {
                            blocks(frame, &mut out);
                        }
                        if let Some(notes) = page.children().find(|n| is(n, "notes")) {
                            let text: Vec<String> = notes.descendants().filter(|n| is(n, "p")).map(inline).collect();
                            let text = text.join(" ");
                            if !text.trim().is_empty() {
                                out.para(&format!("Notes: {text}"));
                            }
                        }
                    }
                }
                _ => blocks(body, &mut out),
            }
        }
        Ok(out.finish(self.0))
    }
}

/// Headings, paragraphs, lists and tables below `parent`, in order.
fn blocks(parent: Node, out: &mut Builder) {
    for n in parent.children().filter(Node::is_element) {
        match n.tag_name().name() {
            "h" => out.heading(
                attr(n, "outline-level").and_then(|l| l.parse().ok()).unwrap_or(1),
                &inline(n),
            ),
            "p" => out.para(&inline(n)),
            "list-item" => {
                for p in n.descendants().filter(|d| is(d, "p") || is(d, "h")) {
                    out.item(&inline(p));
                }
            }
            "table" => {
                if let Some(name) = attr(n, "name").filter(|_| n.ancestors().any(|a| is(&a, "spreadsheet"))) {
                    out.heading(2, &format!("Sheet: {name}"));
                }
                out.table(&table(n));
            }
            _ => blocks(n, out),
        }
    }
}

fn table(t: Node) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for row in t.descendants().filter(|n| is(n, "table-row")) {
        let mut cells = Vec::new();
        for cell in row
            .children()
            .filter(|n| is(n, "table-cell") || is(n, "covered-table-cell"))
        {
            let text: Vec<String> = cell.children().filter(|n| is(n, "p")).map(inline).collect();
            let repeat = repeat(cell, "number-columns-repeated");
            cells.extend(std::iter::repeat_n(text.join(" "), repeat));
        }
        while cells.last().is_some_and(|c: &String| c.is_empty()) {
            cells.pop();
        }
        let repeat = repeat(row, "number-rows-repeated");
        rows.extend(std::iter::repeat_n(cells, repeat));
    }
    rows
}

fn repeat(n: Node, name: &str) -> usize {
    attr(n, name)
        .and_then(|r| r.parse().ok())
        .unwrap_or(1)
        .clamp(1, MAX_REPEAT)
}

/// A paragraph's text with ODF's space, tab and line-break elements.
fn inline(p: Node) -> String {
    let mut s = String::new();
    for n in p.descendants() {
        if n.is_text() {
            if !n.ancestors().any(|a| is(&a, "note") || is(&a, "annotation")) {
                s.push_str(n.text().unwrap_or(""));
            }
        } else if is(&n, "s") {
            s.push_str(&" ".repeat(attr(n, "c").and_then(|c| c.parse().ok()).unwrap_or(1usize).min(64)));
        } else if is(&n, "tab") {
            s.push('\t');
        } else if is(&n, "line-break") {
            s.push('\n');
        }
    }
    s
}

pub struct Epub;

impl Extractor for Epub {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        let mut c = Container::open(bytes, limits, Format::Epub)?;
        if c.has("META-INF/encryption.xml") {
            return Err(ExtractError::Encrypted("the EPUB's content is encrypted (DRM)".into()));
        }
        let container = c.required("META-INF/container.xml")?;
        let opf_path = c
            .parse(&container)?
            .descendants()
            .find(|n| is(n, "rootfile"))
            .and_then(|n| attr(n, "full-path"))
            .map(|p| resolve("", p))
            .ok_or_else(|| ExtractError::corrupt(Format::Epub, "container.xml names no package document"))?;
        let opf = c.required(&opf_path)?;
        let base = opf_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let chapters: Vec<String> = {
            let doc = c.parse(&opf)?;
            let manifest: Vec<(&str, &str)> = doc
                .descendants()
                .filter(|n| is(n, "item"))
                .filter_map(|n| Some((attr(n, "id")?, attr(n, "href")?)))
                .collect();
            doc.descendants()
                .filter(|n| is(n, "itemref"))
                .filter(|n| attr(*n, "linear") != Some("no"))
                .filter_map(|n| attr(n, "idref"))
                .filter_map(|id| manifest.iter().find(|(i, _)| *i == id))
                .map(|(_, href)| resolve(base, &percent_decode(href.split('#').next().unwrap_or(href))))
                .collect()
        };
        let mut out = Builder::default();
        for path in chapters {
            if let Some(xhtml) = c.text(&path)? {
                html::render(&xhtml, &mut out);
            }
        }
        Ok(out.finish(Format::Epub))
    }
}

/// `%20`-style escapes in an href (EPUB manifests use URL syntax).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
