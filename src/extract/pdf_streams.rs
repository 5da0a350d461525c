//! A PDF's Flate streams measured on the raw bytes, before `lopdf` loads the file. Loading
//! already inflates every object stream into memory (and text extraction the content
//! streams), so a small file whose streams expand to gigabytes (a deflate bomb) has to be
//! refused before that. The scan is lexical, not a parser: it finds `stream` … `endstream`
//! bodies, reads the dictionary's direct `/Length` and `/Filter`, and decodes the leading
//! `FlateDecode` and `ASCII85Decode` filters of each body that has a Flate one into a counter
//! (nothing kept), stopping as soon as the total passes the budget. Whatever it cannot read (a malformed body, an encrypted one)
//! counts for what it yields and is left to `lopdf` to report as before.

use std::io::{self, Read, Write};

use flate2::read::{DeflateDecoder, ZlibDecoder};
use memchr::memmem;

use super::ExtractError;

/// Most filters of one chain decoded in turn (a chain of several Flate filters is a bomb's
/// trick; real files have one or two filters).
const MAX_STAGES: usize = 8;

/// Refuses `bytes` when its Flate streams together inflate to more than `limit` bytes.
pub fn check(bytes: &[u8], limit: u64) -> Result<(), ExtractError> {
    let mut budget = limit;
    let mut at = 0;
    while let Some((stream, next)) = next_stream(bytes, at) {
        at = next;
        let stages = stages(stream.dict);
        if !stages.contains(&Stage::Flate) {
            continue;
        }
        let size = decoded_size(stream.data, &stages, budget + 1);
        if size > budget {
            return Err(too_large(limit));
        }
        budget -= size;
    }
    Ok(())
}

/// The error for streams that expand past `limit` bytes.
pub fn too_large(limit: u64) -> ExtractError {
    ExtractError::Limit(format!(
        "the PDF's streams expand beyond {limit} bytes (a deflate bomb?)"
    ))
}

/// Bytes `reader` yields, at most `cap`, until its end or its first error; none are kept.
pub fn measure(reader: impl Read, cap: u64) -> u64 {
    let mut counter = Counter(0);
    // An error ends the count: what was inflated before it is what a parser would hold.
    let _ = io::copy(&mut reader.take(cap), &mut counter);
    counter.0
}

/// A stream found in the raw bytes: its dictionary's text and its (still encoded) body.
struct Stream<'a> {
    dict: &'a [u8],
    data: &'a [u8],
}

/// The first stream at or after `from`, and where to look for the next one.
fn next_stream(bytes: &[u8], from: usize) -> Option<(Stream<'_>, usize)> {
    let mut at = from;
    loop {
        let k = at + memmem::find(&bytes[at..], b"stream")?;
        let after = k + b"stream".len();
        let eol = match &bytes[after..] {
            [b'\r', b'\n', ..] => 2,
            [b'\n' | b'\r', ..] => 1,
            _ => 0,
        };
        // The keyword follows the dictionary's `>>` or white space ("endstream" does not).
        let keyword = k > 0 && matches!(bytes[k - 1], b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | 0);
        if eol == 0 || !keyword {
            at = after;
            continue;
        }
        let head = &bytes[from..k];
        let dict = memmem::rfind(head, b"obj").map_or(head, |i| &head[i + 3..]);
        let start = after + eol;
        let end = declared_end(dict, bytes, start)
            .or_else(|| memmem::find(&bytes[start..], b"endstream").map(|i| start + i))
            .unwrap_or(bytes.len());
        let stream = Stream {
            dict,
            data: &bytes[start..end],
        };
        return Some((stream, end));
    }
}

/// Where a body starting at `start` ends by its direct `/Length`, when `endstream` is there.
fn declared_end(dict: &[u8], bytes: &[u8], start: usize) -> Option<usize> {
    let end = start.checked_add(direct_length(dict)?)?;
    let rest = trim_start(bytes.get(end..)?);
    rest.starts_with(b"endstream").then_some(end)
}

/// The dictionary's `/Length` when it is a direct integer (not `12 0 R`).
fn direct_length(dict: &[u8]) -> Option<usize> {
    let mut rest = dict;
    while let Some(i) = memmem::find(rest, b"/Length") {
        rest = &rest[i + b"/Length".len()..];
        // `/Length1`, `/Length2` (font programs) are other keys.
        if !rest.first().is_some_and(u8::is_ascii_whitespace) {
            continue;
        }
        let value = trim_start(rest);
        let digits = value.iter().take_while(|c| c.is_ascii_digit()).count();
        let after = trim_start(&value[digits..]);
        let generation = after.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || (generation > 0 && trim_start(&after[generation..]).first() == Some(&b'R')) {
            return None;
        }
        return std::str::from_utf8(&value[..digits]).ok()?.parse().ok();
    }
    None
}

/// A filter the pre-check decodes as `lopdf` would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Flate,
    Ascii85,
}

/// The filters at the head of the dictionary's `/Filter` that the pre-check decodes.
fn stages(dict: &[u8]) -> Vec<Stage> {
    let Some(i) = memmem::find(dict, b"/Filter") else {
        return Vec::new();
    };
    let rest = trim_start(&dict[i + b"/Filter".len()..]);
    let names = match rest.first() {
        Some(b'[') => &rest[1..rest.iter().position(|&c| c == b']').unwrap_or(rest.len())],
        Some(b'/') => {
            let end = rest[1..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || b"/[]<>()".contains(c))
                .map_or(rest.len(), |e| e + 1);
            &rest[..end]
        }
        _ => return Vec::new(),
    };
    names
        .split(|c| *c == b'/' || c.is_ascii_whitespace())
        .filter(|n| !n.is_empty())
        .map_while(|n| match n {
            b"FlateDecode" => Some(Stage::Flate),
            b"ASCII85Decode" => Some(Stage::Ascii85),
            _ => None,
        })
        .take(MAX_STAGES)
        .collect()
}

/// What `stages` in turn make of `data`, counted up to `cap`.
fn decoded_size(data: &[u8], stages: &[Stage], cap: u64) -> u64 {
    let mut reader: Box<dyn Read + '_> = Box::new(data);
    for stage in stages {
        reader = match stage {
            Stage::Flate => inflate(reader),
            Stage::Ascii85 => Box::new(Ascii85::new(reader)),
        };
    }
    measure(reader, cap)
}

/// ASCII85 decoded as a stream, as `lopdf` decodes it: white space skipped, `z` for four
/// zero bytes, a partial last group padded, the end at `~` or any byte outside `!`..=`u`.
struct Ascii85<'a> {
    input: io::Bytes<io::BufReader<Box<dyn Read + 'a>>>,
    out: [u8; 4],
    /// `out[at..len]` is still to be read.
    at: usize,
    len: usize,
    done: bool,
}

impl<'a> Ascii85<'a> {
    fn new(input: Box<dyn Read + 'a>) -> Self {
        Ascii85 {
            input: io::BufReader::new(input).bytes(),
            out: [0; 4],
            at: 0,
            len: 0,
            done: false,
        }
    }

    /// Decodes the next group into `out`; false at the end.
    fn group(&mut self) -> bool {
        let (mut value, mut count) = (0u32, 0);
        while count < 5 && !self.done {
            match self.input.next() {
                Some(Ok(b'z')) if count == 0 => {
                    (self.out, self.at, self.len) = ([0; 4], 0, 4);
                    return true;
                }
                Some(Ok(c)) if c.is_ascii_whitespace() => {}
                Some(Ok(c @ b'!'..=b'u')) => {
                    value = value.wrapping_mul(85).wrapping_add(u32::from(c - b'!'));
                    count += 1;
                }
                _ => self.done = true,
            }
        }
        if count < 2 {
            return false;
        }
        for _ in count..5 {
            value = value.wrapping_mul(85).wrapping_add(84);
        }
        (self.out, self.at, self.len) = (value.to_be_bytes(), 0, count - 1);
        true
    }
}

impl Read for Ascii85<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.len && !self.group() {
            return Ok(0);
        }
        let n = (self.len - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// One Flate stage over `input`: zlib when it opens with a zlib header, otherwise raw
/// deflate after those two bytes, as `lopdf` falls back to when zlib fails at once.
fn inflate<'a>(mut input: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
    let mut header = [0u8; 2];
    if input.read_exact(&mut header).is_err() {
        return Box::new(io::empty());
    }
    let zlib = header[0] & 0x0f == 8 && u16::from_be_bytes(header) % 31 == 0;
    match zlib {
        true => Box::new(ZlibDecoder::new(io::Cursor::new(header).chain(input))),
        false => Box::new(DeflateDecoder::new(input)),
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|c| c.is_ascii_whitespace() || **c == 0).count();
    &bytes[n..]
}

/// A writer that only counts.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use flate2::{Compression, write::ZlibEncoder};

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// `mib` MiB of zeros, zlib-compressed a chunk at a time (never all in memory).
    fn zeros(mib: usize) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0; 1 << 20];
        for _ in 0..mib {
            e.write_all(&chunk).unwrap();
        }
        e.finish().unwrap()
    }

    /// A PDF-shaped file whose one object stream holds `body` under `dict`.
    fn pdf_with(dict: &str, body: &[u8]) -> Vec<u8> {
        let mut pdf = format!("%PDF-1.5\n1 0 obj\n<< {dict} >>\nstream\n").into_bytes();
        pdf.extend(body);
        pdf.extend(b"\nendstream\nendobj\n%%EOF\n");
        pdf
    }

    #[test]
    fn lengths_and_filters_are_read_from_the_dictionary() {
        assert_eq!(direct_length(b"/Length1 9 /Length 12"), Some(12));
        assert_eq!(direct_length(b"/Length 7 0 R /Filter /FlateDecode"), None);
        assert_eq!(direct_length(b"/Type /XObject"), None);
        use Stage::*;
        assert_eq!(stages(b"/Length 3 /Filter /FlateDecode"), [Flate]);
        assert_eq!(stages(b"/Filter/FlateDecode/Length 3"), [Flate]);
        assert_eq!(
            stages(b"/Filter [/FlateDecode /FlateDecode /DCTDecode]"),
            [Flate, Flate]
        );
        assert_eq!(stages(b"/Filter [/ASCII85Decode /FlateDecode]"), [Ascii85, Flate]);
        assert_eq!(stages(b"/Filter [/ASCIIHexDecode /FlateDecode]"), []);
        assert_eq!(stages(b"/Filter /DCTDecode"), []);
    }

    #[test]
    fn a_small_stream_inflating_past_the_budget_is_refused() {
        // 64 MiB of zeros compress to about 64 KiB, inside an object stream.
        let bomb = zeros(64);
        assert!(bomb.len() < 128 << 10, "{}", bomb.len());
        let dict = format!(
            "/Type /ObjStm /N 1 /First 4 /Length {} /Filter /FlateDecode",
            bomb.len()
        );
        let pdf = pdf_with(&dict, &bomb);
        let started = Instant::now();
        let err = check(&pdf, 16 << 20).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert_eq!(
            err.to_string(),
            "refused as hostile or too costly: the PDF's streams expand beyond 16777216 bytes (a deflate bomb?)"
        );
        // The same file is within a budget it fits.
        check(&pdf, 64 << 20).unwrap();
    }

    #[test]
    fn streams_count_together_and_through_chained_filters() {
        let part = zlib(&vec![b'a'; 40 << 10]);
        let dict = format!("/Filter /FlateDecode /Length {}", part.len());
        let mut two = pdf_with(&dict, &part);
        two.extend(pdf_with(&dict, &part));
        check(&two, 80 << 10).unwrap();
        assert!(check(&two, 79 << 10).is_err());
        // Twice compressed, with an indirect /Length (the body ends at `endstream`).
        let twice = zlib(&zlib(&vec![b'a'; 1 << 20]));
        let pdf = pdf_with("/Length 9 0 R /Filter [/FlateDecode /FlateDecode]", &twice);
        assert!(check(&pdf, 512 << 10).is_err());
        // ASCII85 around the Flate data.
        let a85 = |data: &[u8]| -> Vec<u8> {
            let mut out = Vec::new();
            for group in data.chunks(4) {
                let mut word = [0u8; 4];
                word[..group.len()].copy_from_slice(group);
                let mut v = u32::from_be_bytes(word);
                let mut digits = [0u8; 5];
                for d in digits.iter_mut().rev() {
                    *d = b'!' + (v % 85) as u8;
                    v /= 85;
                }
                out.extend(&digits[..group.len() + 1]);
            }
            out.extend(b"~>");
            out
        };
        let text = b"ASCII85 groups, a partial one at the end.";
        let mut decoded = Vec::new();
        Ascii85::new(Box::new(&a85(text)[..]))
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, text);
        let wrapped = a85(&zlib(&vec![b'a'; 1 << 20]));
        let pdf = pdf_with("/Filter [/ASCII85Decode /FlateDecode]", &wrapped);
        assert!(check(&pdf, 512 << 10).is_err());
        check(&pdf, 1 << 20).unwrap();
        // Raw deflate behind a bad header, which lopdf falls back to.
        let mut raw = b"\0\0".to_vec();
        let mut e = flate2::write::DeflateEncoder::new(&mut raw, Compression::best());
        e.write_all(&vec![b'a'; 1 << 20]).unwrap();
        e.finish().unwrap();
        assert!(check(&pdf_with("/Filter /FlateDecode", &raw), 512 << 10).is_err());
    }

    #[test]
    fn malformed_streams_do_not_panic() {
        let bomb = zeros(4);
        for cut in [0, 1, 7] {
            let mut pdf = b"1 0 obj << /Length 999999999999 /Filter /FlateDecode >> stream\r\n".to_vec();
            pdf.extend(&bomb[..cut]);
            check(&pdf, 1 << 20).unwrap();
        }
        for junk in [
            &b"stream"[..],
            b"stream\n",
            b">>stream\r",
            b"/Filter [/FlateDecode stream\n\x78\x9c",
            b"/Length",
        ] {
            check(junk, 1 << 20).unwrap();
        }
        check(&pdf_with("/Length 3 /Filter /FlateDecode", b"not zlib at all"), 1 << 20).unwrap();
        // A truncated bomb still counts what it inflates before the cut.
        let mut cut = pdf_with("/Filter /FlateDecode", &bomb[..bomb.len() / 2]);
        cut.truncate(cut.len() - 20);
        assert!(check(&cut, 1 << 20).is_err());
    }
}
