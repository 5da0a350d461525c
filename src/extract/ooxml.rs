//! Office Open XML: DOCX (paragraphs, headings, lists, tables), PPTX (slides in order with
//! their notes) and XLSX (sheets by name, cached cell values as Markdown tables).

use roxmltree::Node;

use super::container::{Container, all_text};
use super::text::Builder;
use super::{ExtractError, Extracted, Extractor, Format, Limits};

/// Is `n` an element of this local name (whatever its namespace)?
pub(super) fn is(n: &Node, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| is(c, name))
}

/// An attribute by local name, whatever its namespace.
pub(super) fn attr<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    n.attributes().find(|a| a.name() == name).map(|a| a.value())
}

/// A relationship part (`_rels/x.rels`): id → target resolved against `base_dir`.
fn relationships(c: &mut Container, rels: &str, base_dir: &str) -> Result<Vec<(String, String)>, ExtractError> {
    let Some(xml) = c.text(rels)? else {
        return Ok(Vec::new());
    };
    let doc = c.parse(&xml)?;
    Ok(doc
        .descendants()
        .filter(|n| is(n, "Relationship"))
        .filter_map(|n| Some((attr(n, "Id")?.to_string(), resolve(base_dir, attr(n, "Target")?))))
        .collect())
}

/// A relationship target as a path inside the package (`..` resolved, never above the root).
pub fn resolve(base_dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = match target.strip_prefix('/') {
        Some(_) => Vec::new(),
        None => base_dir.split('/').filter(|p| !p.is_empty()).collect(),
    };
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn lookup<'a>(rels: &'a [(String, String)], id: &str) -> Option<&'a str> {
    rels.iter().find(|(i, _)| i == id).map(|(_, t)| t.as_str())
}

pub struct Docx;

impl Extractor for Docx {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        let mut c = Container::open(bytes, limits, Format::Docx)?;
        let xml = c.required("word/document.xml")?;
        let doc = c.parse(&xml)?;
        let mut out = Builder::default();
        if let Some(body) = doc.descendants().find(|n| is(n, "body")) {
            docx_blocks(body, &mut out);
        }
        Ok(out.finish(Format::Docx))
    }
}

fn docx_blocks(parent: Node, out: &mut Builder) {
    for n in parent.children().filter(Node::is_element) {
        match n.tag_name().name() {
            "p" => docx_paragraph(n, out),
            "tbl" => out.table(&docx_table(n)),
            "sdt" | "sdtContent" | "customXml" => docx_blocks(n, out),
            _ => {}
        }
    }
}

fn docx_paragraph(p: Node, out: &mut Builder) {
    let text = run_text(p);
    let props = child(p, "pPr");
    let style = props
        .and_then(|pr| child(pr, "pStyle"))
        .and_then(|s| attr(s, "val"))
        .unwrap_or("");
    let lower = style.to_ascii_lowercase().replace(' ', "");
    if lower == "title" {
        out.heading(1, &text);
    } else if let Some(level) = lower.strip_prefix("heading").and_then(|l| l.parse::<usize>().ok()) {
        out.heading(level, &text);
    } else if props.and_then(|pr| child(pr, "numPr")).is_some() || lower.starts_with("list") {
        out.item(&text);
    } else {
        out.para(&text);
    }
}

/// A paragraph's text: runs' `t`, tabs and breaks, skipping deleted text and field codes.
fn run_text(p: Node) -> String {
    let mut s = String::new();
    for n in p.descendants().filter(Node::is_element) {
        match n.tag_name().name() {
            "t" if !n.ancestors().any(|a| is(&a, "del")) => s.push_str(n.text().unwrap_or("")),
            "tab" => s.push('\t'),
            "br" | "cr" => s.push('\n'),
            _ => {}
        }
    }
    s
}

fn docx_table(tbl: Node) -> Vec<Vec<String>> {
    tbl.children()
        .filter(|n| is(n, "tr"))
        .map(|tr| {
            tr.children()
                .filter(|n| is(n, "tc"))
                .map(|tc| {
                    tc.descendants()
                        .filter(|n| is(n, "p"))
                        .map(run_text)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        })
        .collect()
}

pub struct Pptx;

impl Extractor for Pptx {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        let mut c = Container::open(bytes, limits, Format::Pptx)?;
        let xml = c.required("ppt/presentation.xml")?;
        let rels = relationships(&mut c, "ppt/_rels/presentation.xml.rels", "ppt")?;
        let slides: Vec<String> = {
            let doc = c.parse(&xml)?;
            // `r:id` and `id` share the local name: take the namespaced one.
            doc.descendants()
                .filter(|n| is(n, "sldId"))
                .filter_map(|n| n.attributes().find(|a| a.name() == "id" && a.namespace().is_some()))
                .filter_map(|a| lookup(&rels, a.value()).map(str::to_string))
                .collect()
        };
        let mut out = Builder::default();
        for (i, path) in slides.iter().enumerate() {
            let Some(xml) = c.text(path)? else { continue };
            out.heading(2, &format!("Slide {}", i + 1));
            slide_text(&c.parse(&xml)?, &mut out);
            let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
            let slide_rels = relationships(&mut c, &format!("{dir}/_rels/{file}.rels"), dir)?;
            let notes = slide_rels.iter().find(|(_, t)| t.contains("notesSlide"));
            if let Some((_, notes)) = notes
                && let Some(xml) = c.text(notes)?
            {
                let doc = c.parse(&xml)?;
                // The notes page repeats the slide image and number: keep the body placeholder.
                let body: Vec<String> = doc
                    .descendants()
                    .filter(|n| is(n, "sp"))
                    .filter(|sp| {
                        sp.descendants()
                            .find(|n| is(n, "ph"))
                            .is_some_and(|ph| attr(ph, "type") == Some("body"))
                    })
                    .flat_map(|sp| {
                        sp.descendants()
                            .filter(|n| is(n, "p"))
                            .map(all_text)
                            .collect::<Vec<_>>()
                    })
                    .filter(|t| !t.trim().is_empty())
                    .collect();
                if !body.is_empty() {
                    out.para(&format!("Notes: {}", body.join(" ")));
                }
            }
        }
        Ok(out.finish(Format::Pptx))
    }
}

fn slide_text(doc: &roxmltree::Document, out: &mut Builder) {
    for n in doc.descendants().filter(Node::is_element) {
        match n.tag_name().name() {
            "txBody" if !n.ancestors().any(|a| is(&a, "tbl")) => {
                for p in n.children().filter(|c| is(c, "p")) {
                    let text = all_text(p);
                    match child(p, "pPr").is_some_and(|pr| attr(pr, "lvl").is_some() || child(pr, "buChar").is_some()) {
                        true => out.item(&text),
                        false => out.para(&text),
                    }
                }
            }
            "tbl" => {
                let rows: Vec<Vec<String>> = n
                    .children()
                    .filter(|r| is(r, "tr"))
                    .map(|tr| tr.children().filter(|c| is(c, "tc")).map(all_text).collect())
                    .collect();
                out.table(&rows);
            }
            _ => {}
        }
    }
}

pub struct Xlsx;

impl Extractor for Xlsx {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        let mut c = Container::open(bytes, limits, Format::Xlsx)?;
        let shared: Vec<String> = match c.text("xl/sharedStrings.xml")? {
            Some(xml) => c
                .parse(&xml)?
                .descendants()
                .filter(|n| is(n, "si"))
                .map(|si| {
                    si.descendants()
                        .filter(|t| is(t, "t") && !t.ancestors().any(|a| is(&a, "rPh")))
                        .filter_map(|t| t.text())
                        .collect()
                })
                .collect(),
            None => Vec::new(),
        };
        let workbook = c.required("xl/workbook.xml")?;
        let rels = relationships(&mut c, "xl/_rels/workbook.xml.rels", "xl")?;
        let sheets: Vec<(String, String)> = c
            .parse(&workbook)?
            .descendants()
            .filter(|n| is(n, "sheet"))
            .filter_map(|n| {
                let id = n.attributes().find(|a| a.name() == "id" && a.namespace().is_some())?;
                Some((attr(n, "name")?.to_string(), lookup(&rels, id.value())?.to_string()))
            })
            .collect();
        let mut out = Builder::default();
        for (name, path) in sheets {
            let Some(xml) = c.text(&path)? else { continue };
            let doc = c.parse(&xml)?;
            out.heading(2, &format!("Sheet: {name}"));
            let rows: Vec<Vec<String>> = doc
                .descendants()
                .filter(|n| is(n, "row"))
                .map(|row| {
                    let mut cells = Vec::new();
                    for cell in row.children().filter(|n| is(n, "c")) {
                        let col = attr(cell, "r").map(column).unwrap_or(cells.len());
                        if col >= cells.len() && col < 16_384 {
                            cells.resize(col, String::new());
                        }
                        cells.push(cell_value(cell, &shared));
                    }
                    cells
                })
                .collect();
            out.table(&rows);
        }
        Ok(out.finish(Format::Xlsx))
    }
}

/// The 0-based column of a cell reference (`C7` → 2).
fn column(r: &str) -> usize {
    r.chars()
        .take_while(char::is_ascii_alphabetic)
        .fold(0usize, |acc, ch| {
            acc.saturating_mul(26)
                .saturating_add((ch.to_ascii_uppercase() as u8 - b'A' + 1) as usize)
        })
        .saturating_sub(1)
}

/// A cell's cached value (a formula's last result, never the formula).
fn cell_value(cell: Node, shared: &[String]) -> String {
    let v = child(cell, "v").and_then(|v| v.text()).unwrap_or("");
    match attr(cell, "t") {
        Some("s") => v
            .parse::<usize>()
            .ok()
            .and_then(|i| shared.get(i))
            .cloned()
            .unwrap_or_default(),
        Some("inlineStr") => child(cell, "is").map(all_text).unwrap_or_default(),
        Some("b") => (if v == "1" { "TRUE" } else { "FALSE" }).to_string(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_inside_the_package() {
        assert_eq!(resolve("ppt", "slides/slide1.xml"), "ppt/slides/slide1.xml");
        assert_eq!(resolve("ppt/slides", "../notesSlides/n1.xml"), "ppt/notesSlides/n1.xml");
        assert_eq!(resolve("xl", "/xl/worksheets/s.xml"), "xl/worksheets/s.xml");
        assert_eq!(resolve("a", "../../../etc/passwd"), "etc/passwd");
        assert_eq!(column("A1"), 0);
        assert_eq!(column("AA10"), 26);
    }
}
