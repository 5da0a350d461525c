//! Conformance with upstream LightRAG 1.5.7: every record of `chunking.jsonl` and `ids.jsonl`
//! (produced by running the Python package; see `tests/fixtures/lightrag/README.md`) must be
//! reproduced exactly. Failures name the records; record counts are checked against
//! `manifest.json` so that none is skipped silently.

use std::path::PathBuf;

use lrt::rag::chunk::{ChunkError, chunk_by_token_size};
use lrt::rag::ids;
use lrt::rag::tokenizer::Tokenizer;
use serde_json::{Value, json};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lightrag")
}

/// Every record of a JSON Lines fixture, checked against the manifest's record count.
fn records(file: &str) -> Vec<Value> {
    let read = |name: &str| {
        let path = fixture_dir().join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let records: Vec<Value> = read(file)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| serde_json::from_str(line).unwrap_or_else(|e| panic!("{file} record {}: {e}", i + 1)))
        .collect();
    let manifest: Value = serde_json::from_str(&read("manifest.json")).expect("manifest.json is JSON");
    let expected = manifest["files"][file]["records"].as_u64();
    assert_eq!(
        Some(records.len() as u64),
        expected,
        "{file}: record count differs from manifest.json"
    );
    records
}

fn str_field<'a>(record: &'a Value, key: &str) -> &'a str {
    record[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: `{key}` is not a string", record["name"]))
}

/// What a chunking record expects (or what lrt produced), in the fixture's own terms.
fn chunking_outcome(record: &Value) -> Value {
    let params = &record["params"];
    let size = params["chunk_token_size"].as_u64().expect("chunk_token_size") as usize;
    // Upstream's `overlap < 0` ValueError is unrepresentable here: lrt's overlap is a `usize`.
    let Ok(overlap) = usize::try_from(params["chunk_overlap_token_size"].as_i64().expect("overlap")) else {
        return json!({"expected_error": "ValueError"});
    };
    let result = chunk_by_token_size(
        Tokenizer::global(),
        str_field(record, "text"),
        params["split_by_character"].as_str(),
        params["split_by_character_only"]
            .as_bool()
            .expect("split_by_character_only"),
        overlap,
        size,
    );
    match result {
        Ok(chunks) => json!({"expected": chunks}),
        Err(ChunkError::OverlapNotBelowSize { .. }) => json!({"expected_error": "ValueError"}),
        Err(ChunkError::ChunkTokenLimitExceeded {
            chunk_tokens,
            chunk_token_limit,
        }) => json!({
            "expected_error": "ChunkTokenLimitExceededError",
            "expected_error_detail": {"chunk_tokens": chunk_tokens, "chunk_token_limit": chunk_token_limit},
        }),
    }
}

/// The record's expectation, in the same shape as [`chunking_outcome`].
fn expected_outcome(record: &Value) -> Value {
    let mut expected = serde_json::Map::new();
    for key in ["expected", "expected_error", "expected_error_detail"] {
        if let Some(value) = record.get(key) {
            expected.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(expected)
}

/// A readable difference: the first chunk that differs, or both outcomes in full.
fn describe_difference(expected: &Value, actual: &Value) -> String {
    if let (Some(want), Some(got)) = (expected["expected"].as_array(), actual["expected"].as_array())
        && let Some(i) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i))
    {
        return format!(
            "{} chunks expected, {} produced; first difference at chunk {i}:\n  expected {}\n  produced {}",
            want.len(),
            got.len(),
            want.get(i).unwrap_or(&Value::Null),
            got.get(i).unwrap_or(&Value::Null)
        );
    }
    format!("expected {expected}\n  produced {actual}")
}

#[test]
fn chunking_matches_upstream() {
    let records = records("chunking.jsonl");
    let failures: Vec<String> = records
        .iter()
        .filter_map(|record| {
            let (expected, actual) = (expected_outcome(record), chunking_outcome(record));
            (expected != actual).then(|| format!("{}: {}", record["name"], describe_difference(&expected, &actual)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} chunking records differ:\n{}",
        failures.len(),
        records.len(),
        failures.join("\n")
    );
}

/// The differences between one ids record and lrt, as `(what, expected, produced)`.
fn id_differences(record: &Value) -> Vec<(&'static str, String, String)> {
    // compute_args_hash records give Python's `str()` of each argument in `args_str`.
    let key = if record["fn"] == "compute_args_hash" {
        "args_str"
    } else {
        "args"
    };
    let args: Vec<&str> = record[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not a list in {record}"))
        .iter()
        .map(|arg| arg.as_str().unwrap_or_else(|| panic!("non-string `{key}` in {record}")))
        .collect();
    let mut checks: Vec<(&'static str, &str, String)> = Vec::new();
    match record["fn"].as_str() {
        Some("compute_mdhash_id") => {
            let (content, prefix) = (args[0], str_field(record, "prefix"));
            checks.push((
                "expected",
                str_field(record, "expected"),
                ids::compute_mdhash_id(content, prefix),
            ));
            match prefix {
                "ent-" => checks.push(("entity_id", str_field(record, "expected"), ids::entity_id(content))),
                "doc-" => checks.push(("doc_id", str_field(record, "expected"), ids::doc_id(content))),
                _ => {}
            }
        }
        Some("compute_args_hash") => {
            checks.push(("expected", str_field(record, "expected"), ids::compute_args_hash(&args)));
        }
        Some("relation_vdb_id") => {
            let (src, tgt) = (args[0], args[1]);
            checks.push((
                "expected",
                str_field(record, "expected"),
                ids::relation_vdb_id(src, tgt),
            ));
            let reverse = ids::legacy_relation_vdb_id(src, tgt);
            checks.push(("expected_reverse", str_field(record, "expected_reverse"), reverse));
            let key = ids::relation_chunk_key(src, tgt);
            checks.push(("expected_chunk_key", str_field(record, "expected_chunk_key"), key));
        }
        other => panic!("unknown ids fn {other:?} in {record}"),
    }
    checks
        .into_iter()
        .filter(|(_, want, got)| want != got)
        .map(|(what, want, got)| (what, want.to_owned(), got))
        .collect()
}

#[test]
fn ids_match_upstream() {
    let records = records("ids.jsonl");
    let failures: Vec<String> = records
        .iter()
        .enumerate()
        .flat_map(|(i, record)| {
            // ids records have no `name`: identify them by position and function.
            let name = format!("ids.jsonl record {} ({})", i + 1, record["fn"]);
            id_differences(record)
                .into_iter()
                .map(move |(what, want, got)| format!("{name}: {what}: expected {want}, produced {got}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} ids differ over {} records:\n{}",
        failures.len(),
        records.len(),
        failures.join("\n")
    );
}
