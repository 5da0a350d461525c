//! Ingest benchmark with the offline `local` provider: builds a ~2 MB corpus from the
//! project's own Markdown (each document rotated so none is a duplicate), then times a real
//! `lrt ingest` run and reports throughput, the KB's size on disk and the report's counts.
//!
//! Run: `cargo bench --bench ingest` (optionally `-- --mb N`).
//! Issue 3 targets on 2 MB with an instant model: ≤ 5 s wall, KB ≤ 35 MB on disk.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn lrt(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lrt"))
        .args(args)
        .env("LRT_CONFIG", dir.join("config.toml"))
        .env("LRT_DATA_DIR", dir.join("data"))
        .env("LRT_USER", "root")
        .env_remove("LRT_OUTPUT")
        .output()
        .expect("run lrt");
    assert!(
        out.status.success(),
        "lrt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn main() {
    let mut mb = 2.0f64;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--mb" {
            mb = it.next().and_then(|v| v.parse().ok()).expect("--mb N");
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text = String::new();
    for f in [
        "README.md",
        "ARCHITECTURE.md",
        "docs/json.md",
        "tests/fixtures/lightrag/README.md",
    ] {
        text.push_str(&std::fs::read_to_string(root.join(f)).expect("corpus source"));
        text.push('\n');
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let (mut bytes, mut i) = (0usize, 0usize);
    while (bytes as f64) < mb * 1024.0 * 1024.0 {
        let cut = text
            .char_indices()
            .nth((i * 7919) % text.chars().count())
            .map(|(b, _)| b)
            .unwrap_or(0);
        let doc = format!("Document {i}.\n\n{}{}", &text[cut..], &text[..cut]);
        bytes += doc.len();
        std::fs::write(corpus.join(format!("doc{i:03}.md")), doc).unwrap();
        i += 1;
    }
    lrt(dir, &["init", "--user", "root", "--multi-tenant"]);
    lrt(dir, &["tenant", "create", "bench", "-q"]);
    lrt(dir, &["kb", "create", "-t", "bench", "kb", "-q"]);
    let start = Instant::now();
    let out = lrt(
        dir,
        &[
            "ingest",
            "-t",
            "bench",
            "--kb",
            "kb",
            corpus.to_str().unwrap(),
            "--json",
        ],
    );
    let wall = start.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let disk = dir_size(&dir.join("data"));
    let chunks = report["chunks"].as_f64().unwrap_or(0.0);
    println!("corpus: {i} documents, {:.2} MB", bytes as f64 / 1048576.0);
    println!(
        "ingest (local provider): {wall:.2} s wall, {:.2} MB/s, {:.0} chunks/s",
        bytes as f64 / 1048576.0 / wall,
        chunks / wall
    );
    println!(
        "chunks {}, entity upserts {}, relation upserts {}, model calls {}, KB on disk {:.1} MB",
        report["chunks"],
        report["entities"],
        report["relations"],
        report["llm_calls"],
        disk as f64 / 1048576.0
    );
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}
