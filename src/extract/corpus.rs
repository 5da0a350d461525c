//! The committed corpus (tests/fixtures/formats/): every format's fixture against its
//! expected text, and each hostile file failing alone with its reason, in bounded time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::*;

fn fixture(name: &str) -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, bytes)
}

fn run(name: &str, limits: &Limits) -> Result<Extracted, ExtractError> {
    let (_, bytes) = fixture(name);
    extract(bytes, name, limits)
}

#[test]
fn every_format_gives_its_expected_text() {
    let cases = [
        ("report.pdf", Format::Pdf),
        ("falcon.docx", Format::Docx),
        ("roadmap.pptx", Format::Pptx),
        ("inventory.xlsx", Format::Xlsx),
        ("minutes.odt", Format::Odt),
        ("budget.ods", Format::Ods),
        ("talk.odp", Format::Odp),
        ("story.epub", Format::Epub),
        ("page.html", Format::Html),
        ("memo.rtf", Format::Rtf),
        ("people.csv", Format::Text),
        ("config.json", Format::Json),
        ("notes.md", Format::Text),
    ];
    for (name, format) in cases {
        let got = run(name, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (_, want) = fixture(&format!("expected/{name}.txt"));
        assert_eq!(got.text, String::from_utf8(want).unwrap(), "{name}");
        assert_eq!(got.format, format, "{name}");
    }
}

#[test]
fn the_format_comes_from_content_not_the_name() {
    let (_, docx) = fixture("falcon.docx");
    assert_eq!(
        extract(docx, "misnamed.txt", &Limits::default()).unwrap().format,
        Format::Docx
    );
    let (_, pdf) = fixture("report.pdf");
    assert_eq!(extract(pdf, "report", &Limits::default()).unwrap().format, Format::Pdf);
}

#[test]
fn pdf_pages_keep_their_numbers_and_ranges() {
    let e = run("report.pdf", &Limits::default()).unwrap();
    let numbers: Vec<u32> = e.pages.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(e.text[e.pages[1].start..e.pages[1].end].starts_with("Costs fell"));
    let at = e.text.find("Outlook").unwrap();
    assert_eq!(e.page_range(e.pages[1].start, at + 3), Some((2, 3)));
    assert!(!e.text.contains("ACME Corporation"), "running header dropped");
    assert!(!e.text.contains("Page 2 of 3"), "running footer dropped");
    assert!(e.text.contains("the example shows"), "hyphenation joined");
}

fn assert_fails(name: &str, limits: &Limits, want: impl Fn(&ExtractError) -> bool) {
    let started = Instant::now();
    let err = run(name, limits).expect_err(name);
    assert!(want(&err), "{name}: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{name} took {:?}",
        started.elapsed()
    );
}

#[test]
fn hostile_pdfs_fail_alone_with_their_reason() {
    let small = Limits {
        max_unpacked: 1 << 20,
        ..Limits::default()
    };
    assert_fails("hostile/locked.pdf", &Limits::default(), |e| {
        matches!(e, ExtractError::Encrypted(_))
    });
    assert_fails("hostile/scan.pdf", &Limits::default(), |e| {
        e.to_string().starts_with("no text layer: use an OCR parser")
    });
    assert_fails(
        "hostile/bomb.pdf",
        &small,
        |e| matches!(e, ExtractError::Limit(m) if m.contains("deflate bomb")),
    );
    // Generated: an object stream (which lopdf inflates while loading) of 8 MiB of zeros in
    // 8 KiB, refused by the pre-check on the raw bytes before lopdf sees it.
    let mut zeros = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut zeros, &vec![0; 8 << 20]).unwrap();
    let bomb = zeros.finish().unwrap();
    let mut pdf = format!(
        "%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {} >>\nstream\n",
        bomb.len()
    )
    .into_bytes();
    pdf.extend(&bomb);
    pdf.extend(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    let started = Instant::now();
    let err = extract(pdf, "objstm.pdf", &small).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(
        matches!(&err, ExtractError::Limit(m) if m.contains("deflate bomb")),
        "{err}"
    );
    assert_fails("hostile/loop.pdf", &Limits::default(), |e| {
        matches!(e, ExtractError::NoTextLayer(_) | ExtractError::Corrupt { .. })
    });
    assert_fails("hostile/truncated.pdf", &Limits::default(), |e| {
        matches!(e, ExtractError::Corrupt { .. })
    });
}

/// A zip holding `entries` (name, content), stored deflated.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn docx_with(document: Vec<u8>) -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("word/document.xml", document),
    ])
}

#[test]
fn hostile_containers_fail_alone_with_their_reason() {
    let limits = Limits {
        max_unpacked: 64 << 10,
        max_entries: 20,
        ..Limits::default()
    };
    let check = |bytes: Vec<u8>, name: &str, want: &dyn Fn(&ExtractError) -> bool| {
        let err = extract(bytes, name, &limits).expect_err(name);
        assert!(want(&err), "{name}: {err}");
    };
    // A zip bomb: a small file that inflates past the budget, in OOXML and in EPUB.
    let mut big = b"<w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>".to_vec();
    big.extend(std::iter::repeat_n(b'a', 1 << 20));
    big.extend(b"</w:t></w:r></w:p></w:body></w:document>");
    let bomb = docx_with(big.clone());
    assert!(bomb.len() < 8 << 10, "{}", bomb.len());
    check(
        bomb,
        "bomb.docx",
        &|e| matches!(e, ExtractError::Limit(m) if m.contains("zip bomb")),
    );
    let epub = zip_of(&[
        ("mimetype", b"application/epub+zip".to_vec()),
        (
            "META-INF/container.xml",
            b"<container><rootfiles><rootfile full-path=\"c.opf\"/></rootfiles></container>".to_vec(),
        ),
        (
            "c.opf",
            b"<package><manifest><item id=\"a\" href=\"a.xhtml\"/></manifest><spine><itemref idref=\"a\"/></spine></package>".to_vec(),
        ),
        ("a.xhtml", big),
    ]);
    check(
        epub,
        "bomb.epub",
        &|e| matches!(e, ExtractError::Limit(m) if m.contains("zip bomb")),
    );
    // Too many entries.
    let many: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("f{i}"), Vec::new())).collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    check(
        zip_of(&many),
        "many.zip",
        &|e| matches!(e, ExtractError::Limit(m) if m.contains("entries")),
    );
    // Deeply nested XML.
    let deep = format!(
        "<w:document xmlns:w=\"w\"><w:body>{}</w:body></w:document>",
        "<w:p>".repeat(5000)
    );
    check(
        docx_with(deep.into_bytes()),
        "deep.docx",
        &|e| matches!(e, ExtractError::Limit(m) if m.contains("nested")),
    );
    // Entity expansion (billion laughs) is refused: no DTDs.
    let laughs =
        b"<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><d>&b;</d>".to_vec();
    check(docx_with(laughs), "laughs.docx", &|e| {
        matches!(e, ExtractError::Corrupt { .. })
    });
    // Corrupt and truncated containers.
    check(b"PK\x03\x04 not really a zip".to_vec(), "bad.docx", &|e| {
        matches!(e, ExtractError::Corrupt { .. })
    });
    let (_, docx) = fixture("falcon.docx");
    check(docx[..docx.len() / 2].to_vec(), "half.docx", &|e| {
        matches!(e, ExtractError::Corrupt { .. })
    });
    // A zip that is no document, and a password-protected Office file (a compound file).
    check(zip_of(&[("a.txt", b"x".to_vec())]), "a.zip", &|e| {
        matches!(e, ExtractError::Unsupported(_))
    });
    let mut cfb = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    cfb.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
    check(cfb, "locked.docx", &|e| matches!(e, ExtractError::Encrypted(_)));
}
