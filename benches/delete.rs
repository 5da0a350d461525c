//! Delete benchmark: a KB of 1,000 small generated documents (about 1.5 KB each, one chunk,
//! names recurring across documents) ingested with the offline `local` provider, then real
//! `lrt doc delete` processes time
//!
//! * deleting 100 documents in one command (one batched rebuild), and
//! * deleting one more document (the fixed cost of a delete on a KB this size).
//!
//! Run: `cargo bench --bench delete` (options: `-- --docs N`, `-- --delete N`,
//! `-- --keep DIR` to keep the corpus and KB in DIR).

#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

/// Runs `lrt args` in the installation at `dir`; returns (wall seconds, parsed stdout).
fn lrt(dir: &Path, args: &[&str]) -> (f64, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lrt"));
    for (k, _) in std::env::vars() {
        if ["LRT_", "LLM_", "EMBEDDING_", "LIGHTRAG_", "OPENAI_"]
            .iter()
            .any(|p| k.starts_with(p))
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("LRT_CONFIG", dir.join("config.toml"))
        .env("LRT_DATA_DIR", dir.join("data"))
        .env("LRT_USER", "root")
        .env("HOME", dir)
        .args(args);
    let started = Instant::now();
    let out = cmd.output().expect("run lrt");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "lrt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (wall, json)
}

fn doc_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 1.. {
        let page = page.to_string();
        let (_, list) = lrt(
            dir,
            &[
                "doc",
                "list",
                "-t",
                "bench",
                "--kb",
                "kb",
                "--page",
                &page,
                "--page-size",
                "1000",
                "--json",
            ],
        );
        let items = list.as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        ids.extend(items.iter().map(|d| d["doc_id"].as_str().unwrap().to_string()));
    }
    ids.sort();
    ids
}

fn summary(label: &str, wall: f64, r: &Value) {
    println!(
        "{label}: {wall:.2} s wall (engine {} ms) | documents {}, chunks {}, entities removed {} rebuilt {}, relations \
         removed {} rebuilt {} | LLM calls {}, cache hits {}, embedding calls {}",
        r["elapsed_ms"],
        r["documents_deleted"],
        r["chunks_deleted"],
        r["entities_removed"],
        r["entities_rebuilt"],
        r["relations_removed"],
        r["relations_rebuilt"],
        r["llm_calls"],
        r["cache_hits"],
        r["embedding_calls"],
    );
}

fn main() {
    let (mut docs, mut delete) = (1000usize, 100usize);
    let mut keep: Option<std::path::PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--docs" => docs = it.next().and_then(|v| v.parse().ok()).expect("--docs N"),
            "--delete" => delete = it.next().and_then(|v| v.parse().ok()).expect("--delete N"),
            "--keep" => keep = it.next().map(Into::into),
            _ => {} // cargo bench passes `--bench`
        }
    }
    assert!(delete < docs, "--delete must be below --docs");
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let corpus_dir = root.join("corpus");
    let _ = std::fs::remove_dir_all(&corpus_dir);
    let bytes = corpus::write_small_docs(&corpus_dir, docs, 7);
    println!("corpus: {docs} documents, {:.2} MB", bytes as f64 / 1048576.0);

    let dir = root.join("kb");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    lrt(&dir, &["init", "--user", "root", "--multi-tenant", "--json"]);
    lrt(&dir, &["tenant", "create", "bench", "--json"]);
    lrt(&dir, &["kb", "create", "-t", "bench", "kb", "--json"]);
    let (wall, r) = lrt(
        &dir,
        &[
            "ingest",
            "-t",
            "bench",
            "--kb",
            "kb",
            corpus_dir.to_str().unwrap(),
            "--json",
        ],
    );
    println!(
        "ingest: {wall:.2} s | added {}, chunks {}, entities {}, relations {}",
        r["added"], r["chunks"], r["entities"], r["relations"]
    );
    let (_, kb) = lrt(&dir, &["kb", "show", "-t", "bench", "kb", "--json"]);
    println!(
        "KB: {} documents, {} entities, {} relations",
        kb["document_count"], kb["entity_count"], kb["relation_count"]
    );

    // Every tenth document (spread over the KB), deleted in one command.
    let ids = doc_ids(&dir);
    let step = (ids.len() / delete).max(1);
    let picked: Vec<&str> = ids.iter().step_by(step).take(delete).map(String::as_str).collect();
    let mut args = vec!["doc", "delete", "-t", "bench", "--kb", "kb", "--yes", "--json"];
    args.extend(&picked);
    let (wall, r) = lrt(&dir, &args);
    summary(&format!("delete {} of {}", picked.len(), ids.len()), wall, &r);

    let one = ids.iter().find(|id| !picked.contains(&id.as_str())).unwrap();
    let (wall, r) = lrt(
        &dir,
        &["doc", "delete", "-t", "bench", "--kb", "kb", "--yes", "--json", one],
    );
    summary("delete 1 more", wall, &r);
    let (_, kb) = lrt(&dir, &["kb", "show", "-t", "bench", "kb", "--json"]);
    println!(
        "KB after: {} documents, {} entities, {} relations",
        kb["document_count"], kb["entity_count"], kb["relation_count"]
    );
}
