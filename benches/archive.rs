//! Archive benchmark: builds a KB of about 10 MB with the offline `local` provider from the
//! generated prose corpus, then times `lrt kb export` and `lrt kb import` as whole process
//! runs (three of each; the median is reported), with the archive's size.
//!
//! Run: `cargo bench --bench archive` (options: `-- --mb N` corpus size, default 0.25 MB,
//! which makes a kb.db of about 13 MB at 1024 dimensions).

#[path = "support/corpus.rs"]
mod corpus;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

fn lrt(dir: &Path, args: &[&str]) -> (f64, Value) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lrt"))
        .args(args)
        .arg("--json")
        .env("LRT_CONFIG", dir.join("config.toml"))
        .env("LRT_DATA_DIR", dir.join("data"))
        .env("LRT_USER", "root")
        .output()
        .expect("run lrt");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "lrt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut mb = 0.25f64;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--mb" {
            mb = it.next().and_then(|v| v.parse().ok()).expect("--mb N");
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let corpus_dir = dir.join("corpus");
    let (docs, bytes) = corpus::write_corpus(&corpus_dir, (mb * 1024.0 * 1024.0) as usize, 42);
    lrt(dir, &["init", "--user", "root", "--multi-tenant"]);
    lrt(dir, &["tenant", "create", "bench", "--set", "max_kb_per_tenant=10"]);
    lrt(dir, &["kb", "create", "-t", "bench", "kb"]);
    let (ingest, _) = lrt(
        dir,
        &["ingest", "-t", "bench", "--kb", "kb", corpus_dir.to_str().unwrap()],
    );
    let (_, kb) = lrt(dir, &["kb", "show", "-t", "bench", "kb"]);
    println!(
        "KB: {docs} documents ({:.2} MB of text), {} entities, {} relations, {:.1} MB on disk (ingest {ingest:.1} s)",
        bytes as f64 / 1048576.0,
        kb["entity_count"],
        kb["relation_count"],
        kb["storage_size_mb"].as_f64().unwrap_or(0.0),
    );
    let archive = dir.join("kb.lrtkb");
    let a = archive.to_str().unwrap();
    let mut exports = Vec::new();
    for _ in 0..3 {
        let (wall, _) = lrt(
            dir,
            &["kb", "export", "-t", "bench", "--kb", "kb", "--out", a, "--force"],
        );
        exports.push(wall);
    }
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    let mut imports = Vec::new();
    for i in 0..3 {
        let name = format!("copy{i}");
        let (wall, report) = lrt(dir, &["kb", "import", "-t", "bench", a, "--name", &name]);
        assert_eq!(report["entities"], kb["entity_count"]);
        imports.push(wall);
    }
    println!(
        "kb export: median {:.3} s (runs {exports:.3?}), archive {size:.1} MB\nkb import: median {:.3} s (runs {imports:.3?}), vectors rebuilt",
        median(exports.clone()),
        median(imports.clone()),
    );
}
