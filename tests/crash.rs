//! Crash safety of `lrt ingest`: the process is killed (SIGKILL) at different moments while a
//! slow model server answers; after every kill the KB must be consistent, and a final
//! `--retry-failed` run must complete it with exactly the graph a run without crashes builds:
//! no duplicate documents, chunks, entities or relations, and no evidence counted twice.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Lrt;
use common::kbcheck::{assert_consistent, graph};
use common::model::{env, server, write_corpus};
use rusqlite::Connection;

struct Kb {
    lrt: Lrt,
    db: PathBuf,
    corpus: PathBuf,
}

fn kb() -> Kb {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    let tenant = lrt.tenant("acme", Some("alice"));
    let kb = lrt.kb("acme", "docs");
    let corpus = lrt.root().join("corpus");
    write_corpus(&corpus, 12, 90);
    let db = lrt.kb_dir(&tenant, &kb).join("kb.db");
    Kb { lrt, db, corpus }
}

fn ingest_args(corpus: &Path) -> Vec<String> {
    [
        "ingest",
        "-t",
        "acme",
        "--kb",
        "docs",
        corpus.to_str().unwrap(),
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ingests_leave_a_consistent_kb_and_retry_completes_it_without_duplicates() {
    // Slow enough that a run lasts long enough to be killed mid-way.
    let server = server(40, 10).await;
    let env = env(&server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // The reference: the same corpus, ingested without interruption.
    let clean = kb();
    let run = clean.lrt.run(Some("alice"), &env, &ingest_args(&clean.corpus));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = graph(&clean.db);
    assert_eq!(expected.documents, 12);

    let crashed = kb();
    let mut kills = 0;
    for delay_ms in [300u64, 600, 900, 1200, 1500] {
        let mut child = crashed.lrt.process("alice", &ingest_args(&crashed.corpus));
        for (k, v) in &env {
            child.env(k, v);
        }
        let mut child = child.spawn().unwrap();
        let started = Instant::now();
        let finished = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            if started.elapsed() >= Duration::from_millis(delay_ms) {
                child.kill().unwrap();
                child.wait().unwrap();
                break false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        kills += usize::from(!finished);
        if crashed.db.exists() {
            assert_consistent(&crashed.db);
        }
        if finished {
            break;
        }
    }
    assert!(
        kills >= 2,
        "the run finished too early to be killed mid-way ({kills} kills)"
    );

    let retry = crashed.lrt.run(
        Some("alice"),
        &env,
        &["ingest", "-t", "acme", "--kb", "docs", "--retry-failed", "--json"],
    );
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_consistent(&crashed.db);
    let conn = Connection::open(&crashed.db).unwrap();
    let unfinished: i64 = conn
        .query_row("SELECT count(*) FROM documents WHERE status != 'processed'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unfinished, 0);
    let got = graph(&crashed.db);
    assert_eq!((got.documents, got.chunks), (expected.documents, expected.chunks));
    assert_eq!(got.entities, expected.entities);
    assert_eq!(got.relations, expected.relations, "relations and their evidence counts");

    // Re-running the whole corpus now adds nothing.
    let again = crashed.lrt.run(Some("alice"), &env, &ingest_args(&crashed.corpus));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["duplicates"].as_u64(), Some(12));
    assert_eq!(graph(&crashed.db), got);
}
