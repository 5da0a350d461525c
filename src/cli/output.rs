//! Rendering: one JSON document on stdout with `--json`, ids only with `-q`, tab-separated
//! values with `-o tsv`, tables otherwise. Errors go to stderr, as a JSON object in JSON mode
//! so scripts can parse them. Human output never carries raw terminal control characters:
//! names and text come from files, archives and other users (see [`escape_controls`]).

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// Tab-separated values: a header line (unless `--no-headers`), then one line per row.
    Tsv,
}

/// How tables are drawn in this process, set once from the global flags.
#[derive(Debug, Clone, Copy)]
struct Style {
    tsv: bool,
    headers: bool,
}

static STYLE: OnceLock<Style> = OnceLock::new();

/// Chooses tab-separated output and/or no header rows for every table of this run.
pub fn set_table_style(tsv: bool, headers: bool) {
    let _ = STYLE.set(Style { tsv, headers });
}

fn style() -> Style {
    STYLE.get().copied().unwrap_or(Style {
        tsv: false,
        headers: true,
    })
}

/// Makes terminal control characters visible: C0 controls other than newline and tab, DEL
/// and the C1 range become `\x1b`-style escapes, so a file name or document text holding
/// an escape sequence cannot move the cursor, retitle the window or hide text on the
/// operator's terminal. Everything else, backslashes included, is left as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    // `is_control` is Unicode's Cc: C0, DEL and C1. The bidi embeddings, overrides and
    // isolates reorder what follows them ("Trojan Source"), so they are shown too.
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !bad(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// One table cell: controls escaped, and in TSV tabs and newlines too (one row per line).
fn clean_cell(text: &str, tsv: bool) -> String {
    let text = escape_controls(text);
    if tsv {
        text.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    } else {
        text.into_owned()
    }
}

/// The output settings of one invocation.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub format: Format,
    pub quiet: bool,
}

impl Out {
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Prints a result: as JSON, as its ids (`-q`), or as the table `table` builds.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        value: &T,
        ids: impl FnOnce() -> Vec<String>,
        table: impl FnOnce() -> String,
    ) {
        if self.is_json() {
            print_line(&serde_json::to_string_pretty(value).expect("results serialize"));
        } else if self.quiet {
            print_human(&ids().join("\n"));
        } else {
            print_human(&table());
        }
    }

    /// Prints one page of a listing: its items (a JSON array with `--json`), their ids (`-q`),
    /// or their table with a `page P of N (T items)` line under it (not in TSV: rows only).
    pub fn emit_page<T: Serialize>(
        &self,
        page: &crate::service::Page<T>,
        what: &str,
        headers: &[&str],
        row: impl Fn(&T) -> Vec<String>,
        id: impl Fn(&T) -> String,
    ) {
        self.emit(
            &page.items,
            || page.items.iter().map(&id).collect(),
            || {
                let mut text = list_table(headers, page.items.iter().map(&row).collect());
                if !style().tsv {
                    text.push_str(&format!("\n{}", page.footer(what)));
                }
                text
            },
        );
    }

    /// A human note on stderr (never in JSON, TSV or quiet mode).
    pub fn note(&self, text: &str) {
        if self.format == Format::Table && !self.quiet {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", escape_controls(text));
        }
    }

    /// Reports an error on stderr and returns its exit code.
    pub fn error(&self, err: &Error) -> i32 {
        report_error(self.is_json(), err.kind(), &err.to_string())
    }
}

/// Prints to stdout; a closed pipe (`lrt … | head`) is not an error.
pub fn print_line(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
}

/// [`print_line`] for text meant for a person: terminal controls escaped.
pub fn print_human(text: &str) {
    print_line(&escape_controls(text));
}

/// Writes bytes to stdout; a closed pipe (`lrt man | head`) ends the output quietly.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes the error to stderr in the chosen form and returns its exit code.
pub fn report_error(json: bool, kind: ErrorKind, message: &str) -> i32 {
    let code = kind.exit_code();
    if json {
        let doc = serde_json::json!({"error": {"kind": kind.as_str(), "message": message, "exit_code": code}});
        let _ = writeln!(std::io::stderr(), "{doc}");
    } else {
        let _ = writeln!(std::io::stderr(), "error: {}", escape_controls(message));
    }
    code
}

fn new_table() -> Table {
    let mut table = Table::new();
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb") || !std::io::stdout().is_terminal();
    table.load_style(if dumb {
        presets::ASCII_MARKDOWN
    } else {
        presets::UTF8_FULL_CONDENSED
    });
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table
}

/// A table with a header row.
pub fn list_table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let style = style();
    if style.tsv {
        let mut lines = Vec::with_capacity(rows.len() + 1);
        if style.headers {
            lines.push(headers.join("\t"));
        }
        for row in rows {
            lines.push(row.iter().map(|c| clean_cell(c, true)).collect::<Vec<_>>().join("\t"));
        }
        return lines.join("\n");
    }
    if rows.is_empty() {
        return "(none)".to_string();
    }
    let mut table = new_table();
    if style.headers {
        table.set_header(headers.iter().copied());
    }
    for row in rows {
        table.add_row(row.iter().map(|c| clean_cell(c, false)).collect::<Vec<_>>());
    }
    table.to_string()
}

/// A two-column property table (in TSV, `key<TAB>value` lines).
pub fn kv_table(rows: Vec<(String, String)>) -> String {
    if style().tsv {
        let lines: Vec<String> = rows
            .iter()
            .map(|(k, v)| format!("{}\t{}", clean_cell(k, true), clean_cell(v, true)))
            .collect();
        return lines.join("\n");
    }
    let mut table = new_table();
    for (k, v) in rows {
        table.add_row(vec![clean_cell(&k, false), clean_cell(&v, false)]);
    }
    table.to_string()
}

/// A scalar or small JSON value as table text.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Flattens a struct's JSON fields into property rows, prefixing nested objects' keys.
pub fn rows_of<T: Serialize>(value: &T, prefix: &str) -> Vec<(String, String)> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| (format!("{prefix}{k}"), cell(&v)))
            .collect(),
        _ => Vec::new(),
    }
}

pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".to_string())
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_untouched() {
        assert!(matches!(escape_controls("plain \\ text\n\tok"), Cow::Borrowed(_)));
        assert_eq!(escape_controls("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_controls("bell\x07 del\x7f"), "bell\\x07 del\\x7f");
        assert_eq!(escape_controls("csi\u{9b}31m"), "csi\\u{9b}31m");
        assert_eq!(escape_controls("\r"), "\\x0d");
        assert_eq!(escape_controls("é ü 東京"), "é ü 東京");
        assert_eq!(escape_controls("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
    }

    #[test]
    fn tsv_cells_stay_on_one_line() {
        assert_eq!(clean_cell("a\tb\nc\\d", true), "a\\tb\\nc\\\\d");
        assert_eq!(clean_cell("a\tb", false), "a\tb");
    }
}
