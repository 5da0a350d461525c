//! Conformance with upstream LightRAG 1.5.7 for text normalization and the extraction-answer
//! parser: every record of `normalize.jsonl` and `extraction_parse.jsonl` in
//! `tests/fixtures/lightrag/` (see its README for the comparison rules).
//!
//! Quirk records: our parser fixes upstream's literal `entity<|` prefix (see the
//! `lrt::rag::extract` module doc), so records marked `"quirk": true` are compared against
//! their `quirk_alternative`, which is upstream's output with exactly that fix.

use std::path::PathBuf;

use lrt::rag::extract::{ExtractedEntity, ExtractedRelation, Extraction, parse_extraction};
use lrt::rag::normalize::{normalize_extracted_info, remove_think_tags, sanitize_and_normalize_extracted_text};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lightrag")
}

fn records(file: &str) -> Vec<Value> {
    let path = fixture_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| serde_json::from_str(line).unwrap_or_else(|e| panic!("{file} line {}: {e}", i + 1)))
        .collect()
}

/// The record count `manifest.json` promises for a fixture file, so that nothing is skipped.
fn manifest_count(file: &str) -> usize {
    let path = fixture_dir().join("manifest.json");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read manifest.json")).expect("parse manifest.json");
    manifest["files"][file]["records"]
        .as_u64()
        .unwrap_or_else(|| panic!("manifest has no count for {file}")) as usize
}

fn str_field<'a>(record: &'a Value, key: &str) -> &'a str {
    record[key]
        .as_str()
        .unwrap_or_else(|| panic!("record {record} has no string field {key}"))
}

#[test]
fn normalize_records() {
    let records = records("normalize.jsonl");
    assert_eq!(
        records.len(),
        manifest_count("normalize.jsonl"),
        "record count differs from manifest.json"
    );
    let mut failures = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let input = str_field(record, "input");
        let remove_inner_quotes = record["remove_inner_quotes"].as_bool().expect("remove_inner_quotes");
        let actual = match str_field(record, "fn") {
            "normalize_extracted_info" => normalize_extracted_info(input, remove_inner_quotes),
            "sanitize_and_normalize_extracted_text" => {
                sanitize_and_normalize_extracted_text(input, remove_inner_quotes)
            }
            other => panic!("unknown fn {other}"),
        };
        let expected = str_field(record, "expected");
        if actual != expected {
            let name = record["name"]
                .as_str()
                .map_or_else(|| format!("line {}", i + 1), str::to_string);
            failures.push(format!(
                "{name}: input {input:?} (riq={remove_inner_quotes}) expected {expected:?}, got {actual:?}"
            ));
        }
    }
    println!(
        "normalize.jsonl: {}/{} records pass",
        records.len() - failures.len(),
        records.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn expected_extraction(expected: &Value) -> Extraction {
    let entities: Vec<ExtractedEntity> =
        serde_json::from_value(expected["expected_entities"].clone()).expect("expected_entities");
    let relations: Vec<ExtractedRelation> =
        serde_json::from_value(expected["expected_relations"].clone()).expect("expected_relations");
    Extraction { entities, relations }
}

#[test]
fn extraction_parse_records() {
    let records = records("extraction_parse.jsonl");
    assert_eq!(
        records.len(),
        manifest_count("extraction_parse.jsonl"),
        "record count differs from manifest.json"
    );
    let mut failures = Vec::new();
    let mut quirks = 0;
    for record in &records {
        let name = str_field(record, "name");
        // We fix upstream's `entity<|` prefix, so quirk records are held to their alternative.
        let expected = if record["quirk"].as_bool() == Some(true) {
            quirks += 1;
            expected_extraction(&record["quirk_alternative"])
        } else {
            expected_extraction(record)
        };
        let output = remove_think_tags(str_field(record, "llm_output"));
        let actual =
            parse_extraction(&output, str_field(record, "chunk_key"), str_field(record, "file_path")).grouped();
        if actual != expected {
            failures.push(format!("{name}:\n  expected {expected:?}\n  got      {actual:?}"));
        }
    }
    println!(
        "extraction_parse.jsonl: {}/{} records pass ({quirks} quirk records against quirk_alternative)",
        records.len() - failures.len(),
        records.len()
    );
    assert!(quirks > 0, "the fixtures should contain quirk records");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
