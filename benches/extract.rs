//! Extraction speed per format: builds a 100-page text PDF, a 50-page DOCX, and an XLSX, EPUB,
//! HTML and RTF of comparable text, then times `lrt::extract::extract` on each (median of
//! `--runs`, default 5) and prints MB/s of input and of extracted text.
//!
//! Run: `cargo bench --bench extract` (optionally `-- --runs N`).
//! Targets (issue 17): the 100-page PDF in ≤ 1 s, the 50-page DOCX in ≤ 0.3 s.

use std::io::Write;
use std::time::{Duration, Instant};

use lrt::extract::{Limits, extract};
use pdf_extract::{Dictionary, Document, Object, Stream, StringFormat, content::Content, content::Operation};

const WORDS: &[&str] = &[
    "the",
    "harbor",
    "council",
    "approved",
    "budget",
    "for",
    "new",
    "lighthouse",
    "and",
    "engineers",
    "reported",
    "steady",
    "progress",
    "on",
    "bridge",
    "while",
    "residents",
    "asked",
    "questions",
    "about",
    "costs",
];

/// A paragraph of `n` words, deterministic per `seed`.
fn sentence(seed: usize, n: usize) -> String {
    let mut s: Vec<&str> = (0..n).map(|i| WORDS[(seed * 7 + i * 13) % WORDS.len()]).collect();
    s[0] = "Report";
    s.join(" ") + "."
}

fn pdf(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(Dictionary::from_iter(vec![
        ("Type", Object::Name(b"Font".to_vec())),
        ("Subtype", Object::Name(b"Type1".to_vec())),
        ("BaseFont", Object::Name(b"Helvetica".to_vec())),
    ]));
    let resources = doc.add_object(Dictionary::from_iter(vec![(
        "Font",
        Object::Dictionary(Dictionary::from_iter(vec![("F1", Object::Reference(font))])),
    )]));
    let mut kids = Vec::new();
    for p in 0..pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![50.into(), 780.into()]),
        ];
        for line in 0..50 {
            let text = sentence(p * 50 + line, 14);
            ops.push(Operation::new(
                "Tj",
                vec![Object::String(text.into_bytes(), StringFormat::Literal)],
            ));
            ops.push(Operation::new("T*", vec![]));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops };
        let stream = doc.add_object(Stream::new(Dictionary::new(), content.encode().unwrap()));
        let page = doc.add_object(Dictionary::from_iter(vec![
            ("Type", Object::Name(b"Page".to_vec())),
            ("Parent", Object::Reference(pages_id)),
            ("Contents", Object::Reference(stream)),
            ("Resources", Object::Reference(resources)),
            (
                "MediaBox",
                Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
            ),
        ]));
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(Dictionary::from_iter(vec![
            ("Type", Object::Name(b"Pages".to_vec())),
            ("Kids", Object::Array(kids)),
            ("Count", Object::Integer(count)),
        ])),
    );
    let catalog = doc.add_object(Dictionary::from_iter(vec![
        ("Type", Object::Name(b"Catalog".to_vec())),
        ("Pages", Object::Reference(pages_id)),
    ]));
    doc.trailer.set("Root", catalog);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn zip_of(entries: &[(&str, String)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(content.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// About 500 words a page: 10 paragraphs of 50 words, a heading every page.
fn docx(pages: usize) -> Vec<u8> {
    let mut body = String::new();
    for p in 0..pages {
        body.push_str(&format!(
            "<w:p><w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr><w:r><w:t>Section {p}</w:t></w:r></w:p>"
        ));
        for i in 0..10 {
            body.push_str(&format!(
                "<w:p><w:r><w:t>{}</w:t></w:r></w:p>",
                sentence(p * 10 + i, 50)
            ));
        }
    }
    let doc = format!(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    zip_of(&[("[Content_Types].xml", "<Types/>".into()), ("word/document.xml", doc)])
}

fn xlsx(rows: usize) -> Vec<u8> {
    let mut data = String::new();
    for r in 1..=rows {
        data.push_str(&format!(
            "<row r=\"{r}\"><c r=\"A{r}\" t=\"inlineStr\"><is><t>{}</t></is></c><c r=\"B{r}\"><v>{r}</v></c></row>",
            sentence(r, 12)
        ));
    }
    let ns = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";
    zip_of(&[
        ("xl/workbook.xml", format!("<workbook {ns}><sheets><sheet name=\"Data\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>")),
        ("xl/_rels/workbook.xml.rels", "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\"/></Relationships>".into()),
        ("xl/worksheets/sheet1.xml", format!("<worksheet {ns}><sheetData>{data}</sheetData></worksheet>")),
    ])
}

fn html(paragraphs: usize) -> Vec<u8> {
    let mut s = String::from("<!doctype html><html><head><script>x()</script></head><body><nav>menu</nav><main>");
    for i in 0..paragraphs {
        s.push_str(&format!("<h2>Part {i}</h2><p>{}</p>", sentence(i, 50)));
    }
    s.push_str("</main></body></html>");
    s.into_bytes()
}

fn rtf(paragraphs: usize) -> Vec<u8> {
    let mut s = String::from("{\\rtf1\\ansi{\\fonttbl{\\f0 Times;}}\\f0 ");
    for i in 0..paragraphs {
        s.push_str(&format!("{{\\b Part {i}}}\\par {}\\par\n", sentence(i, 50)));
    }
    s.push('}');
    s.into_bytes()
}

fn epub(chapters: usize) -> Vec<u8> {
    let mut entries = vec![
        ("mimetype", "application/epub+zip".to_string()),
        (
            "META-INF/container.xml",
            "<container><rootfiles><rootfile full-path=\"c.opf\"/></rootfiles></container>".into(),
        ),
    ];
    let names: Vec<String> = (0..chapters).map(|i| format!("ch{i}.xhtml")).collect();
    let manifest: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("<item id=\"c{i}\" href=\"{n}\"/>"))
        .collect();
    let spine: String = (0..chapters).map(|i| format!("<itemref idref=\"c{i}\"/>")).collect();
    entries.push((
        "c.opf",
        format!("<package><manifest>{manifest}</manifest><spine>{spine}</spine></package>"),
    ));
    let bodies: Vec<String> = (0..chapters)
        .map(|c| {
            let paras: String = (0..20)
                .map(|i| format!("<p>{}</p>", sentence(c * 20 + i, 50)))
                .collect();
            format!("<html><body><h1>Chapter {c}</h1>{paras}</body></html>")
        })
        .collect();
    let mut all: Vec<(&str, String)> = entries.iter().map(|(n, c)| (*n, c.clone())).collect();
    for (n, b) in names.iter().zip(bodies) {
        all.push((n.as_str(), b));
    }
    zip_of(&all)
}

fn main() {
    let mut runs = 5;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--runs" {
            runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N");
        }
    }
    let inputs: Vec<(&str, &str, Vec<u8>, Option<Duration>)> = vec![
        ("pdf (100 pages)", "a.pdf", pdf(100), Some(Duration::from_secs(1))),
        ("docx (50 pages)", "a.docx", docx(50), Some(Duration::from_millis(300))),
        ("xlsx (5,000 rows)", "a.xlsx", xlsx(5000), None),
        ("epub (25 chapters)", "a.epub", epub(25), None),
        ("html (500 sections)", "a.html", html(500), None),
        ("rtf (500 paragraphs)", "a.rtf", rtf(500), None),
    ];
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>9} {:>9}",
        "input", "bytes", "chars", "median", "in MB/s", "text MB/s"
    );
    let mut failed = false;
    for (label, name, bytes, target) in inputs {
        let mut times = Vec::new();
        let (mut chars, mut text_bytes) = (0, 0);
        for _ in 0..runs {
            let t = Instant::now();
            let e = extract(bytes.clone(), name, &Limits::default()).unwrap_or_else(|e| panic!("{label}: {e}"));
            times.push(t.elapsed());
            chars = e.text.chars().count();
            text_bytes = e.text.len();
        }
        times.sort();
        let median = times[times.len() / 2];
        let mbs = bytes.len() as f64 / 1e6 / median.as_secs_f64();
        let text_mbs = text_bytes as f64 / 1e6 / median.as_secs_f64();
        let verdict = match target {
            Some(t) if median > t => {
                failed = true;
                format!("  OVER the {} ms target", t.as_millis())
            }
            Some(t) => format!("  (target {} ms)", t.as_millis()),
            None => String::new(),
        };
        println!(
            "{label:<22} {:>10} {chars:>10} {:>8.1}ms {mbs:>9.2} {text_mbs:>9.2}{verdict}",
            bytes.len(),
            median.as_secs_f64() * 1e3
        );
    }
    if failed {
        std::process::exit(1);
    }
}
