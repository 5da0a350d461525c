//! Rendering: one JSON document on stdout with `--json`, ids only with `-q`, tables otherwise.
//! Errors go to stderr, as a JSON object in JSON mode so scripts can parse them.

use std::io::{IsTerminal, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
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
        let text = if self.is_json() {
            serde_json::to_string_pretty(value).expect("results serialize")
        } else if self.quiet {
            ids().join("\n")
        } else {
            table()
        };
        print_line(&text);
    }

    /// A human note on stderr (never in JSON or quiet mode).
    pub fn note(&self, text: &str) {
        if !self.is_json() && !self.quiet {
            eprintln!("{text}");
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

/// Writes the error to stderr in the chosen form and returns its exit code.
pub fn report_error(json: bool, kind: ErrorKind, message: &str) -> i32 {
    let code = kind.exit_code();
    if json {
        let doc = serde_json::json!({"error": {"kind": kind.as_str(), "message": message, "exit_code": code}});
        eprintln!("{doc}");
    } else {
        eprintln!("error: {message}");
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
    if rows.is_empty() {
        return "(none)".to_string();
    }
    let mut table = new_table();
    table.set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// A two-column property table.
pub fn kv_table(rows: Vec<(String, String)>) -> String {
    let mut table = new_table();
    for (k, v) in rows {
        table.add_row(vec![k, v]);
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
