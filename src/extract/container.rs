//! Zip containers (OOXML, OpenDocument, EPUB) read within bounds: the entry count, what all
//! entries together may decompress to (whatever sizes the archive claims), and the XML
//! nesting depth of every part parsed.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{ExtractError, Format, Limits};

/// An opened container and what is left of its decompression budget.
pub struct Container<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    budget: u64,
    limits: Limits,
    format: Format,
}

impl<'a> Container<'a> {
    pub fn open(bytes: &'a [u8], limits: &Limits, format: Format) -> Result<Self, ExtractError> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| ExtractError::corrupt(format, e))?;
        if zip.len() > limits.max_entries {
            return Err(ExtractError::Limit(format!(
                "the archive lists {} entries (the limit is {})",
                zip.len(),
                limits.max_entries
            )));
        }
        Ok(Container {
            zip,
            budget: limits.max_unpacked,
            limits: *limits,
            format,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// Does any entry's name end with `suffix`?
    pub fn any_ends_with(&self, suffix: &str) -> bool {
        self.zip.file_names().any(|n| n.is_ok_and(|n| n.ends_with(suffix)))
    }

    /// An entry's bytes (`None` when absent), charged against the budget as they are inflated.
    pub fn bytes(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let Some(index) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let format = self.format;
        let mut entry = self.zip.by_index(index).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(why) if why.contains("ncrypt") || why.contains("assword") => {
                ExtractError::Encrypted(why.to_string())
            }
            e => ExtractError::corrupt(format, e),
        })?;
        if entry.encrypted() {
            return Err(ExtractError::Encrypted(format!("{name} is encrypted")));
        }
        let mut out = Vec::new();
        (&mut entry)
            .take(self.budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| ExtractError::corrupt(format, format!("{name}: {e}")))?;
        if out.len() as u64 > self.budget {
            return Err(ExtractError::Limit(format!(
                "the archive expands beyond {} bytes (a zip bomb?)",
                self.limits.max_unpacked
            )));
        }
        self.budget -= out.len() as u64;
        Ok(Some(out))
    }

    /// An entry as UTF-8 text.
    pub fn text(&mut self, name: &str) -> Result<Option<String>, ExtractError> {
        let format = self.format;
        self.bytes(name)?
            .map(|b| String::from_utf8(b).map_err(|_| ExtractError::corrupt(format, format!("{name} is not UTF-8"))))
            .transpose()
    }

    /// An entry that must exist, as text.
    pub fn required(&mut self, name: &str) -> Result<String, ExtractError> {
        self.text(name)?
            .ok_or_else(|| ExtractError::corrupt(self.format, format!("{name} is missing")))
    }

    /// Parses XML within the nesting limit (no DTDs, so no entity expansion).
    pub fn parse<'x>(&self, xml: &'x str) -> Result<roxmltree::Document<'x>, ExtractError> {
        parse_xml(xml, &self.limits, self.format)
    }
}

/// Parses XML, refusing DTDs and nesting deeper than `limits.max_depth`.
pub fn parse_xml<'x>(xml: &'x str, limits: &Limits, format: Format) -> Result<roxmltree::Document<'x>, ExtractError> {
    check_depth(xml, limits.max_depth)?;
    roxmltree::Document::parse(xml).map_err(|e| ExtractError::corrupt(format, format!("XML: {e}")))
}

/// Refuses XML nested deeper than `max` before any tree is built (a linear scan of tags).
fn check_depth(xml: &str, max: usize) -> Result<(), ExtractError> {
    let b = xml.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        i += off;
        let rest = &b[i..];
        let skip_to = |end: &[u8]| rest.windows(end.len()).position(|w| w == end).map(|p| p + end.len());
        let len = if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if rest.starts_with(b"<?") || rest.starts_with(b"<!") {
            skip_to(b">")
        } else {
            let end = skip_to(b">");
            if let Some(end) = end {
                if rest.get(1) == Some(&b'/') {
                    depth = depth.saturating_sub(1);
                } else if rest[end - 2] != b'/' {
                    depth += 1;
                    if depth > max {
                        return Err(ExtractError::Limit(format!("XML nested deeper than {max} elements")));
                    }
                }
            }
            end
        };
        match len {
            Some(len) => i += len,
            None => break,
        }
    }
    Ok(())
}

/// The format of a zip file, by what it holds.
pub fn classify(bytes: &[u8], limits: &Limits) -> Result<Format, ExtractError> {
    let mut c = Container::open(bytes, limits, Format::Docx)?;
    if c.has("word/document.xml") {
        return Ok(Format::Docx);
    }
    if c.has("ppt/presentation.xml") {
        return Ok(Format::Pptx);
    }
    if c.has("xl/workbook.xml") {
        return Ok(Format::Xlsx);
    }
    let mimetype = match c.has("mimetype") {
        true => c.text("mimetype")?.unwrap_or_default(),
        false => String::new(),
    };
    let mimetype = mimetype.trim();
    if mimetype == "application/epub+zip" || c.has("META-INF/container.xml") && c.any_ends_with(".opf") {
        return Ok(Format::Epub);
    }
    match mimetype {
        "application/vnd.oasis.opendocument.text" => return Ok(Format::Odt),
        "application/vnd.oasis.opendocument.spreadsheet" => return Ok(Format::Ods),
        "application/vnd.oasis.opendocument.presentation" => return Ok(Format::Odp),
        _ => {}
    }
    if c.has("EncryptionInfo") || c.has("EncryptedPackage") {
        return Err(ExtractError::Encrypted("an encrypted Office package".into()));
    }
    Err(ExtractError::Unsupported(
        "a zip archive that is not a DOCX, PPTX, XLSX, OpenDocument or EPUB file".into(),
    ))
}

/// Every element's text below `node`, in document order.
pub fn all_text(node: roxmltree::Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_capped_before_parsing() {
        let deep = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
        assert!(matches!(check_depth(&deep, 256), Err(ExtractError::Limit(_))));
        let ok = format!(
            "<?xml version=\"1.0\"?><!-- <x><x> --><r>{}<b/><![CDATA[<c>]]></r>",
            "<a></a>".repeat(1000)
        );
        check_depth(&ok, 2).unwrap();
        assert!(
            parse_xml(
                "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
                &Limits::default(),
                Format::Docx
            )
            .is_err()
        );
    }
}
