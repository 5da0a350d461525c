//! Clean-up of every text field an LLM extracts, reproducing upstream LightRAG 1.5.7
//! (`lightrag.utils`) exactly, because entity names become graph keys and ids: a name
//! normalized differently here would split or merge nodes differently than upstream does.
//!
//! Upstream is Python, so "exactly" means Python's semantics, which differ from Rust's in
//! places that matter here:
//! * `str.strip()` and the regex class `\s` remove every `str.isspace()` character, which is
//!   Unicode White_Space **plus U+001C..U+001F** ([`is_py_space`], [`py_strip`]);
//! * `\d` is Unicode `Nd` and `str.isdigit()` is `Nd` plus other digits such as `²`
//!   (tables below, from Python 3.11's Unicode 14 database);
//! * `html.unescape` follows HTML5: named references without `;`, the cp1252 mapping of
//!   `&#128;`..`&#159;`, `&#0;` → U+FFFD, and silently dropped non-characters ([`html_unescape`]).
//!
//! Checked against `tests/fixtures/lightrag/normalize.jsonl`.

use std::borrow::Cow;

/// Entity names are cut to this many characters (upstream `DEFAULT_ENTITY_NAME_MAX_LENGTH`).
pub const ENTITY_NAME_MAX_CHARS: usize = 256;
/// ... and then to this many UTF-8 bytes (`DEFAULT_ENTITY_NAME_MAX_BYTES`; Milvus counts bytes).
pub const ENTITY_NAME_MAX_BYTES: usize = 512;

/// Python's `str.isspace()`: Unicode White_Space plus the separators U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument (see [`is_py_space`]).
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Upstream `sanitize_text_for_encoding`: strip, `html.unescape`, drop U+FFFE/U+FFFF and the
/// C0 controls other than `\t\n\r` plus DEL, strip again. (Surrogates, also dropped upstream,
/// cannot occur in a Rust string.)
pub fn sanitize_text_for_encoding(text: &str) -> String {
    let text = py_strip(text);
    if text.is_empty() {
        return String::new();
    }
    let cleaned: String = html_unescape(text).chars().filter(|&c| !is_unsafe_char(c)).collect();
    py_strip(&cleaned).to_string()
}

fn is_unsafe_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}' | '\u{fffe}' | '\u{ffff}')
}

/// Upstream `sanitize_and_normalize_extracted_text`: the pipeline the extraction parser runs
/// on every field (names, types and keywords with `remove_inner_quotes`, descriptions without).
pub fn sanitize_and_normalize_extracted_text(text: &str, remove_inner_quotes: bool) -> String {
    let safe = sanitize_text_for_encoding(text);
    if safe.is_empty() {
        return safe;
    }
    normalize_extracted_info(&safe, remove_inner_quotes)
}

/// Upstream `normalize_entity_name`: how entity names and relation endpoints are cleaned.
pub fn normalize_entity_name(text: &str) -> String {
    sanitize_and_normalize_extracted_text(text, true)
}

/// Upstream `normalize_extracted_info`, step by step: drop `<p>`/`<br>` tags, fold full-width
/// ASCII and a few CJK punctuation marks, remove whitespace around CJK characters, strip one
/// pair of outer quotes, optionally drop inner quotes and odd spaces, strip, and return `""`
/// for very short numbers (`12`, `1.5`), which make useless entity names.
pub fn normalize_extracted_info(text: &str, remove_inner_quotes: bool) -> String {
    let text = remove_tag(&remove_tag(text, "p"), "br");
    let text: String = text.chars().map(fold_full_width).collect();
    let text = remove_runs(&text, is_py_space, |b| b.is_some_and(is_cjk), |a| a.is_some_and(is_cjk));
    let text = remove_runs(
        &text,
        is_py_space,
        |b| b.is_some_and(is_cjk),
        |a| a.is_some_and(is_cjk_neighbour),
    );
    let text = remove_runs(
        &text,
        is_py_space,
        |b| b.is_some_and(is_cjk_neighbour),
        |a| a.is_some_and(is_cjk),
    );
    let mut text = strip_outer_quotes(text);
    if remove_inner_quotes {
        text = drop_inner_quotes(&text);
    }
    let text = py_strip(&text);
    if is_short_number(text) {
        return String::new();
    }
    text.to_string()
}

/// Upstream `remove_think_tags`: drops everything up to an orphan `</think>` at the start
/// (a reasoning stream that began mid-block), then every `<think>…</think>` block, then strips.
pub fn remove_think_tags(text: &str) -> String {
    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";
    let mut rest = text;
    if let Some(close) = rest.find(CLOSE)
        && !rest[..close].contains(OPEN)
    {
        rest = &rest[close + CLOSE.len()..];
    }
    let mut kept = String::with_capacity(rest.len());
    while let Some(open) = rest.find(OPEN) {
        let Some(close) = rest[open + OPEN.len()..].find(CLOSE) else {
            break;
        };
        kept.push_str(&rest[..open]);
        rest = &rest[open + OPEN.len() + close + CLOSE.len()..];
    }
    kept.push_str(rest);
    py_strip(&kept).to_string()
}

/// Cuts an entity name to [`ENTITY_NAME_MAX_CHARS`] characters and then to at most
/// [`ENTITY_NAME_MAX_BYTES`] bytes on a character boundary, as upstream does before a name
/// becomes a key.
pub fn truncate_entity_name(name: &str) -> &str {
    let mut end = name
        .char_indices()
        .nth(ENTITY_NAME_MAX_CHARS)
        .map_or(name.len(), |(i, _)| i);
    if end > ENTITY_NAME_MAX_BYTES {
        end = ENTITY_NAME_MAX_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
    }
    &name[..end]
}

/// Python's `html.unescape` (HTML5 rules, see the module doc). Borrows when there is no `&`.
pub fn html_unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let consumed = decode_reference(rest, &mut out);
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Decodes the character reference at the start of `text` (which starts with `&`) onto `out`
/// and returns how many bytes it used; a lone `&` is copied and uses one byte.
fn decode_reference(text: &str, out: &mut String) -> usize {
    let body = &text[1..];
    if let Some(numeric) = body.strip_prefix('#') {
        let (digits, radix, skip) = match numeric.strip_prefix(['x', 'X']) {
            Some(hex) => (leading(hex, |c| c.is_ascii_hexdigit()), 16, 2),
            None => (leading(numeric, |c| c.is_ascii_digit()), 10, 1),
        };
        if digits.is_empty() {
            out.push('&');
            return 1;
        }
        let semicolon = usize::from(body[skip + digits.len()..].starts_with(';'));
        if let Some(c) = numeric_reference(parse_code_point(digits, radix)) {
            out.push(c);
        }
        return 1 + skip + digits.len() + semicolon;
    }
    // A name is up to 32 characters other than `\t \n \x0c space < & # ;`, then an optional `;`.
    let name_end: usize = body
        .chars()
        .take(32)
        .take_while(|c| !matches!(c, '\t' | '\n' | '\u{c}' | ' ' | '<' | '&' | '#' | ';'))
        .map(char::len_utf8)
        .sum();
    if name_end == 0 {
        out.push('&');
        return 1;
    }
    let end = 1 + name_end + usize::from(body[name_end..].starts_with(';'));
    let reference = &text[..end];
    if let Some(expansion) = named_entity(reference) {
        out.push_str(expansion);
        return end;
    }
    // The longest known name that is a proper prefix (at least 2 characters) wins; only the
    // legacy names without `;` can match this way, the rest of the text is kept.
    let prefix_ends: Vec<usize> = reference.char_indices().map(|(i, _)| i).skip(3).collect();
    for &prefix_end in prefix_ends.iter().rev() {
        if let Some(expansion) = named_entity(&reference[..prefix_end]) {
            out.push_str(expansion);
            out.push_str(&reference[prefix_end..]);
            return end;
        }
    }
    out.push_str(reference);
    end
}

fn leading(text: &str, accept: impl Fn(char) -> bool) -> &str {
    &text[..text.find(|c| !accept(c)).unwrap_or(text.len())]
}

/// Parses ASCII digits, saturating above the Unicode range (any such number means U+FFFD).
fn parse_code_point(digits: &str, radix: u32) -> u32 {
    digits
        .chars()
        .filter_map(|c| c.to_digit(radix))
        .fold(0u32, |n, d| n.saturating_mul(radix).saturating_add(d).min(0x11_0000))
}

/// The character a numeric reference stands for, or `None` when Python drops it.
fn numeric_reference(code: u32) -> Option<char> {
    match code {
        0 => Some('\u{fffd}'),
        0x0d => Some('\r'),
        0x80..=0x9f => Some(CP1252_C1[(code - 0x80) as usize]),
        0xd800..=0xdfff | 0x11_0000.. => Some('\u{fffd}'),
        0x01..=0x08 | 0x0b | 0x0e..=0x1f | 0x7f | 0xfdd0..=0xfdef => None,
        _ if code & 0xfffe == 0xfffe => None,
        _ => char::from_u32(code),
    }
}

/// What `&#128;`..`&#159;` decode to: the windows-1252 characters, as HTML5 requires (the
/// five positions cp1252 leaves undefined keep their C1 control).
const CP1252_C1: [char; 32] = [
    '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{2c6}', '\u{2030}',
    '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}',
    '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}',
    '\u{17e}', '\u{178}',
];

/// Looks up `&name` or `&name;` in the WHATWG named character reference table.
fn named_entity(reference: &str) -> Option<&'static str> {
    htmlize::ENTITIES
        .get(reference.as_bytes())
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
}

/// Removes `</tag\s*>`, `<tag\s*>` and `<tag/>`, ASCII case-insensitively.
fn remove_tag(text: &str, tag: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        match tag_len(rest, tag) {
            Some(len) => rest = &rest[len..],
            None => {
                out.push('<');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn tag_len(text: &str, tag: &str) -> Option<usize> {
    let closing = text.starts_with("</");
    let start = if closing { 2 } else { 1 };
    let name = text.get(start..start + tag.len())?;
    if !name.eq_ignore_ascii_case(tag) {
        return None;
    }
    let after = &text[start + tag.len()..];
    if !closing && after.starts_with("/>") {
        return Some(start + tag.len() + 2);
    }
    let spaces = after.find(|c| !is_py_space(c)).unwrap_or(after.len());
    after[spaces..]
        .starts_with('>')
        .then_some(start + tag.len() + spaces + 1)
}

/// Full-width Latin letters and digits, and `－＋／＊（）—　`, to their ASCII counterparts.
fn fold_full_width(c: char) -> char {
    match c {
        'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '０'..='９' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        '－' | '—' => '-',
        '＋' => '+',
        '／' => '/',
        '＊' => '*',
        '（' => '(',
        '）' => ')',
        '　' => ' ',
        _ => c,
    }
}

/// The CJK block upstream's regexes use, `[\u4e00-\u9fa5]`.
fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fa5}').contains(&c)
}

/// What upstream treats as glued to CJK text: `[a-zA-Z0-9()\[\]@#$%!&*\-=+_]`.
fn is_cjk_neighbour(c: char) -> bool {
    c.is_ascii_alphanumeric() || "()[]@#$%!&*-=+_".contains(c)
}

/// Removes every maximal run of `member` characters whose neighbours satisfy `before` and
/// `after` (`None` at the ends of the text). This is what a regex `(?<=B)M+(?=A)` does with
/// `re.sub`, since the neighbour after a run is the same for each of its suffixes.
fn remove_runs(
    text: &str,
    member: impl Fn(char) -> bool,
    before: impl Fn(Option<char>) -> bool,
    after: impl Fn(Option<char>) -> bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if member(c) && before(prev) {
            let len = rest.find(|c| !member(c)).unwrap_or(rest.len());
            let (run, tail) = rest.split_at(len);
            if !after(tail.chars().next()) {
                out.push_str(run);
            }
            prev = run.chars().next_back();
            rest = tail;
        } else {
            out.push(c);
            prev = Some(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Strips one pair of `"…"`, `'…'`, `“…”`, `‘…’` and `《…》` (in that order, each tested on the
/// result of the previous) when the quote does not occur inside.
fn strip_outer_quotes(mut text: String) -> String {
    if text.chars().nth(1).is_none() {
        return text;
    }
    for (open, close) in [('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’'), ('《', '》')] {
        if text.starts_with(open) && text.ends_with(close) {
            // Python's `s[1:-1]`: empty when the single character is both quotes.
            let inner = text
                .get(open.len_utf8()..text.len().saturating_sub(close.len_utf8()))
                .unwrap_or("");
            if !inner.contains(open) && !inner.contains(close) {
                text = inner.to_string();
            }
        }
    }
    text
}

/// The `remove_inner_quotes` step: drop curly quotes and ASCII quotes touching CJK text, turn
/// NBSP into a space, and U+202F into a space unless it follows a digit (`100 km`).
fn drop_inner_quotes(text: &str) -> String {
    let text: String = text.chars().filter(|c| !matches!(c, '“' | '”' | '‘' | '’')).collect();
    let is_quote = |c: char| c == '\'' || c == '"';
    let text = remove_runs(&text, is_quote, |_| true, |a| a.is_some_and(is_cjk));
    let text = remove_runs(&text, is_quote, |b| b.is_some_and(is_cjk), |_| true);
    let mut out = String::with_capacity(text.len());
    let mut prev = None;
    for c in text.chars() {
        let replaced = match c {
            '\u{a0}' => ' ',
            '\u{202f}' if prev.is_some_and(|p| !is_decimal(p)) => ' ',
            _ => c,
        };
        out.push(replaced);
        prev = Some(c);
    }
    out
}

/// Upstream drops pure ASCII numbers under 3 characters and digit-and-dot strings under 6
/// characters that contain a dot (`str.isdigit` digits, so `1².3` counts).
fn is_short_number(text: &str) -> bool {
    let len = text.chars().count();
    let short_integer = len < 3 && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let short_dotted = len < 6 && text.contains('.') && text.chars().all(|c| c == '.' || is_py_digit(c));
    short_integer || short_dotted
}

/// Unicode `Nd` (Python's regex `\d`): every such character is one of ten consecutive code
/// points starting at one of these zeros (Unicode 14, as in Python 3.11).
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0,
    0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60,
    0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// Characters `str.isdigit()` accepts beyond `Nd`: superscripts, subscripts, circled and
/// parenthesised digits and the like (Unicode 14).
const OTHER_DIGITS: [(u32, u32); 20] = [
    (0xB2, 0xB3),
    (0xB9, 0xB9),
    (0x1369, 0x1371),
    (0x19DA, 0x19DA),
    (0x2070, 0x2070),
    (0x2074, 0x2079),
    (0x2080, 0x2089),
    (0x2460, 0x2468),
    (0x2474, 0x247C),
    (0x2488, 0x2490),
    (0x24EA, 0x24EA),
    (0x24F5, 0x24FD),
    (0x24FF, 0x24FF),
    (0x2776, 0x277E),
    (0x2780, 0x2788),
    (0x278A, 0x2792),
    (0x10A40, 0x10A43),
    (0x10E60, 0x10E68),
    (0x11052, 0x1105A),
    (0x1F100, 0x1F10A),
];

fn is_decimal(c: char) -> bool {
    let code = c as u32;
    DECIMAL_ZEROS.iter().any(|&zero| (zero..zero + 10).contains(&code))
}

fn is_py_digit(c: char) -> bool {
    is_decimal(c) || OTHER_DIGITS.iter().any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_strip_removes_information_separators() {
        assert_eq!(py_strip("\u{1c}\u{a0} a\u{1f}\u{3000}"), "a");
    }

    #[test]
    fn html_unescape_follows_python() {
        let cases = [
            ("&amp;&lt;&gt;", "&<>"),
            ("&copy 2024", "© 2024"),
            ("&notit;", "¬it;"),
            ("&ampx", "&x"),
            ("&#128;&#x80;&#129;", "€€\u{81}"),
            ("&#0;&#xD800;&#99999999999999999999;", "\u{fffd}\u{fffd}\u{fffd}"),
            ("a&#1;&#xFDD0;&#x1FFFF;&#11;b", "ab"),
            ("&#13;&#12;", "\r\u{c}"),
            ("& &; &# &#x &#xg &zz;", "& &; &# &#x &#xg &zz;"),
            ("&é;&&amp", "&é;&&"),
        ];
        for (input, expected) in cases {
            assert_eq!(html_unescape(input), expected, "{input}");
        }
    }

    #[test]
    fn think_tags() {
        assert_eq!(remove_think_tags("<think>a</think> b <think>c</think>d"), "b d");
        assert_eq!(remove_think_tags("tail</think>x"), "x");
        assert_eq!(remove_think_tags("<think>a</think>x</think>y"), "x</think>y");
        assert_eq!(remove_think_tags("<think>unclosed"), "<think>unclosed");
    }

    #[test]
    fn truncation_respects_chars_then_bytes() {
        let ascii = "a".repeat(300);
        assert_eq!(truncate_entity_name(&ascii).len(), 256);
        let cjk = "知".repeat(200);
        let cut = truncate_entity_name(&cjk);
        assert_eq!(cut.len(), 510);
        assert_eq!(truncate_entity_name("short"), "short");
    }

    #[test]
    fn single_quote_character_inside_double_quotes_vanishes() {
        // `"'"` → `'` → Python's `"'"[1:-1] == ""`.
        assert_eq!(normalize_extracted_info("\"'\"", false), "");
    }

    #[test]
    fn narrow_nbsp_after_digit_kept() {
        // The first U+202F follows `1` and stays; the second follows U+202F and becomes a space.
        assert_eq!(
            normalize_extracted_info("a\u{202f}b 1\u{202f}\u{202f}km", true),
            "a b 1\u{202f} km"
        );
    }
}
