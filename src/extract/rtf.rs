//! RTF: the document's text, paragraphs kept, font tables, pictures and other destinations
//! skipped. No crate reads RTF to text well enough to be worth a dependency; the syntax that
//! matters for text (groups, control words, `\'hh` and `\uN` escapes) is small.

use super::text::Builder;
use super::{ExtractError, Extracted, Extractor, Format, Limits};

/// Destinations whose content is not document text.
const SKIP: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "fldinst",
    "themedata",
    "datastore",
    "xmlnsdecl",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "latentstyles",
    "header",
    "footer",
    "headerl",
    "headerr",
    "headerf",
    "footerl",
    "footerr",
    "footerf",
    "bkmkstart",
    "bkmkend",
    "filetbl",
    "revtbl",
    "mmathPr",
    "wgrffmtfilter",
    "pgdsctbl",
];

pub struct Rtf;

impl Extractor for Rtf {
    fn extract(&self, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
        let text = to_text(bytes, limits.max_depth)?;
        let mut out = Builder::default();
        for para in text.split('\n') {
            out.para(para);
        }
        Ok(out.finish(Format::Rtf))
    }
}

struct Group {
    skip: bool,
    /// Characters to drop after a `\uN` (the `\ucN` fallback count).
    uc: usize,
}

fn to_text(b: &[u8], max_depth: usize) -> Result<String, ExtractError> {
    let mut out = String::new();
    let mut stack: Vec<Group> = Vec::new();
    let mut cur = Group { skip: false, uc: 1 };
    let mut pending_skip = 0usize;
    let mut star = false;
    let mut i = 0;
    let emit = |out: &mut String, cur: &Group, pending: &mut usize, c: char| {
        if *pending > 0 {
            *pending -= 1;
        } else if !cur.skip {
            out.push(c);
        }
    };
    while i < b.len() {
        match b[i] {
            b'{' => {
                if stack.len() >= max_depth {
                    return Err(ExtractError::Limit(format!(
                        "RTF groups nested deeper than {max_depth}"
                    )));
                }
                stack.push(Group {
                    skip: cur.skip,
                    uc: cur.uc,
                });
                star = false;
                i += 1;
            }
            b'}' => {
                cur = stack.pop().unwrap_or(Group { skip: false, uc: 1 });
                pending_skip = 0;
                i += 1;
            }
            b'\\' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_alphabetic() {
                    j += 1;
                }
                if j == start {
                    // A control symbol.
                    match b.get(start) {
                        Some(b'\'') => {
                            let hex = b.get(start + 1..start + 3).and_then(|h| std::str::from_utf8(h).ok());
                            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                                emit(&mut out, &cur, &mut pending_skip, cp1252(v));
                            }
                            i = start + 3;
                        }
                        Some(b'*') => {
                            star = true;
                            i = start + 1;
                        }
                        Some(&c @ (b'\\' | b'{' | b'}')) => {
                            emit(&mut out, &cur, &mut pending_skip, c as char);
                            i = start + 1;
                        }
                        Some(b'~') => {
                            emit(&mut out, &cur, &mut pending_skip, '\u{a0}');
                            i = start + 1;
                        }
                        Some(b'\n' | b'\r') => {
                            emit(&mut out, &cur, &mut pending_skip, '\n');
                            i = start + 1;
                        }
                        _ => i = start + 1,
                    }
                    continue;
                }
                let word = std::str::from_utf8(&b[start..j]).unwrap_or("");
                let num_start = j;
                if j < b.len() && b[j] == b'-' {
                    j += 1;
                }
                while j < b.len() && b[j].is_ascii_digit() && j - num_start < 10 {
                    j += 1;
                }
                let param: Option<i64> = std::str::from_utf8(&b[num_start..j]).ok().and_then(|n| n.parse().ok());
                if j < b.len() && b[j] == b' ' {
                    j += 1;
                }
                i = j;
                if star || SKIP.contains(&word) {
                    cur.skip = true;
                    star = false;
                    continue;
                }
                match word {
                    "par" | "line" | "sect" | "page" | "row" => emit(&mut out, &cur, &mut 0, '\n'),
                    "tab" | "cell" => emit(&mut out, &cur, &mut 0, '\t'),
                    "uc" => cur.uc = param.unwrap_or(1).clamp(0, 8) as usize,
                    "u" => {
                        let v = param.unwrap_or(0);
                        let v = if v < 0 { v + 65_536 } else { v } as u32;
                        emit(&mut out, &cur, &mut 0, char::from_u32(v).unwrap_or('\u{fffd}'));
                        pending_skip = cur.uc;
                    }
                    "emdash" => emit(&mut out, &cur, &mut 0, '—'),
                    "endash" => emit(&mut out, &cur, &mut 0, '–'),
                    "bullet" => emit(&mut out, &cur, &mut 0, '•'),
                    "lquote" => emit(&mut out, &cur, &mut 0, '‘'),
                    "rquote" => emit(&mut out, &cur, &mut 0, '’'),
                    "ldblquote" => emit(&mut out, &cur, &mut 0, '“'),
                    "rdblquote" => emit(&mut out, &cur, &mut 0, '”'),
                    _ => {}
                }
            }
            b'\r' | b'\n' => i += 1,
            c => {
                // Plain bytes: RTF is 7-bit, but writers put UTF-8 or ANSI here; read as UTF-8 when valid.
                let end = b[i..]
                    .iter()
                    .position(|&x| matches!(x, b'{' | b'}' | b'\\' | b'\r' | b'\n'))
                    .map_or(b.len(), |p| i + p);
                match std::str::from_utf8(&b[i..end]) {
                    Ok(s) => s.chars().for_each(|ch| emit(&mut out, &cur, &mut pending_skip, ch)),
                    Err(_) => b[i..end]
                        .iter()
                        .for_each(|&x| emit(&mut out, &cur, &mut pending_skip, cp1252(x))),
                }
                let _ = c;
                i = end;
            }
        }
    }
    Ok(out)
}

/// A Windows-1252 byte as a character (the common RTF code page; 0x80–0x9F mapped).
fn cp1252(v: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match v {
        0x80..=0x9f => HIGH[(v - 0x80) as usize],
        v => v as char,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_tables_of_fonts_and_with_escapes() {
        let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Times;}}{\*\generator Writer;}\f0\fs24 Caf\'e9 \b bold\b0  text\par
Second\tab line \u8364?\par{\pict 0123abcd}}";
        let e = Rtf.extract(rtf, &Limits::default()).unwrap();
        assert_eq!(e.text, "Café bold text\n\nSecond line €");
    }

    #[test]
    fn deep_groups_are_refused() {
        let rtf = format!("{{\\rtf1 {}x", "{".repeat(1000));
        assert!(matches!(
            Rtf.extract(rtf.as_bytes(), &Limits::default()),
            Err(ExtractError::Limit(_))
        ));
    }
}
