//! Conformance with upstream LightRAG 1.5.7 for the query side: every record of
//! `keywords_parse.jsonl` (`_parse_keywords_payload`) and `truncate.jsonl`
//! (`truncate_list_by_token_size` as `_apply_token_truncation` calls it), in
//! `tests/fixtures/lightrag/`. Neither file has quirk records: every record is normative.

use std::path::PathBuf;

use lrt::rag::context::{json_lines, truncate_list_by_token_size};
use lrt::rag::keywords;
use lrt::rag::tokenizer::Tokenizer;
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lightrag")
}

fn records(file: &str) -> Vec<Value> {
    let path = fixture_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let records: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| serde_json::from_str(line).unwrap_or_else(|e| panic!("{file} line {}: {e}", i + 1)))
        .collect();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("manifest.json")).expect("read manifest.json"),
    )
    .expect("parse manifest.json");
    assert_eq!(
        Some(records.len() as u64),
        manifest["files"][file]["records"].as_u64(),
        "{file}: record count differs from manifest.json"
    );
    records
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn keywords_parse_records() {
    let mut failures = Vec::new();
    for record in records("keywords_parse.jsonl") {
        let name = record["name"].as_str().unwrap();
        let output = record["llm_output"].as_str().unwrap();
        let expected_valid = record["expected_valid"].as_bool().unwrap();
        let expected = (
            strings(&record["expected"]["high_level_keywords"]),
            strings(&record["expected"]["low_level_keywords"]),
        );
        let parsed = keywords::parse(output);
        let actual = parsed.clone().map(|k| (k.high, k.low)).unwrap_or_default();
        if parsed.is_some() != expected_valid || actual != expected {
            failures.push(format!(
                "{name}: expected valid={expected_valid} {expected:?}, got valid={} {actual:?}",
                parsed.is_some()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn truncate_records() {
    let mut failures = Vec::new();
    for record in records("truncate.jsonl") {
        let name = record["name"].as_str().unwrap();
        assert_eq!(
            record["separator"], "\n",
            "{name}: only newline separators are used upstream"
        );
        let items = record["items"].as_array().unwrap();
        let max = record["max_tokens"].as_i64().unwrap();
        let expected = record["expected_kept"].as_u64().unwrap() as usize;
        let kept = truncate_list_by_token_size(items, max);
        if kept != expected {
            failures.push(format!("{name}: expected {expected} items, kept {kept}"));
        }
        // Informational upstream, but it pins our Python-style JSON text token for token.
        let tokens = Tokenizer::global().count(&json_lines(&items[..expected]));
        if Some(tokens as u64) != record["kept_tokens"].as_u64() {
            failures.push(format!(
                "{name}: kept prefix has {tokens} tokens, upstream {}",
                record["kept_tokens"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
