//! A KB's data in PostgreSQL end to end (`LRT_STORAGE=postgres`): the real binary ingests files,
//! lists documents and answers queries in every mode, and the same steps on SQLite give the
//! same results. Each test gets a database of its own (`common::pg_cluster`).

mod common;
#[path = "../benches/support/corpus.rs"]
mod corpus;

use common::pg_cluster::Database;
use common::{Lrt, ROOT};
use serde_json::{Value, json};

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris. \
Marie Curie shared the Nobel Prize in Physics with Henri Becquerel in 1903.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";
const Q: &str = "Who discovered polonium with Marie Curie?";

/// One installation on one backend: `env` selects it for every command.
struct Install {
    lrt: Lrt,
    env: Vec<(&'static str, String)>,
}

impl Install {
    fn new(db: Option<&Database>) -> Install {
        let lrt = Lrt::new();
        let env = match db {
            Some(db) => vec![
                ("LRT_STORAGE", "postgres".to_string()),
                ("LRT_DATABASE_URL", db.url.clone()),
            ],
            None => Vec::new(),
        };
        Install { lrt, env }
    }

    fn run(&self, user: &str, args: &[&str]) -> common::Run {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.lrt.run(Some(user), &env, args)
    }

    fn json(&self, user: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(user, &all);
        assert_eq!(run.code, 0, "lrt {all:?} as {user}: {}", run.stderr);
        run.json()
    }
}

/// What a user sees of a KB after ingesting two files twice: the ingest reports, the document
/// list, the KB's counts and each query mode's entities, relations and chunks.
fn scenario(install: &Install) -> Value {
    install.json(ROOT, &["tenant", "create", "acme", "--admin", "alice"]);
    install.json("alice", &["kb", "create", "docs", "-t", "acme"]);
    let docs = install.lrt.root().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("curie.md"), CURIE).unwrap();
    std::fs::write(docs.join("nasa.txt"), NASA).unwrap();
    let docs = docs.to_str().unwrap();
    let first = install.json("alice", &["ingest", "-t", "acme", "--kb", "docs", docs]);
    assert_eq!(
        (first["added"].as_u64(), first["failed"].as_u64()),
        (Some(2), Some(0)),
        "{first}"
    );
    let again = install.json("alice", &["ingest", "-t", "acme", "--kb", "docs", docs]);
    assert_eq!(
        (again["duplicates"].as_u64(), again["llm_calls"].as_u64()),
        (Some(2), Some(0)),
        "{again}"
    );

    let listed = install.json("alice", &["doc", "list", "-t", "acme", "--kb", "docs"]);
    let listed: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            json!([
                d["doc_id"],
                d["file_path"],
                d["status"],
                d["chunks_count"],
                d["content_length"]
            ])
        })
        .collect();
    let kb = install.json("alice", &["kb", "show", "-t", "acme", "docs"]);
    let mut modes = serde_json::Map::new();
    for mode in ["local", "global", "hybrid", "naive", "mix"] {
        let answer = install.json("alice", &["query", "-t", "acme", "--kb", "docs", "--mode", mode, Q]);
        let pick = |list: &str, fields: &[&str]| -> Vec<Value> {
            answer[list]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|item| Value::Array(fields.iter().map(|f| item[*f].clone()).collect()))
                        .collect()
                })
                .unwrap_or_default()
        };
        modes.insert(
            mode.into(),
            json!({
                "entities": pick("entities", &["entity_name"]),
                "relations": pick("relations", &["src_id", "tgt_id"]),
                "chunks": pick("chunks", &["file_path", "content"]),
                "answer": answer["answer"],
                "keywords": answer["keywords"],
            }),
        );
    }
    let seen = json!({
        "ingest": [first["entities"], first["relations"], first["chunks"]],
        "documents": listed,
        "counts": [kb["document_count"], kb["entity_count"], kb["relation_count"]],
        "queries": modes,
    });
    // Each installation ingests from a folder of its own.
    let root = install.lrt.root().to_str().unwrap();
    serde_json::from_str(&seen.to_string().replace(root, "ROOT")).unwrap()
}

#[test]
fn ingest_list_and_query_on_postgres_match_sqlite() {
    let Some(db) = Database::new("ingest_list_and_query_on_postgres_match_sqlite") else {
        return;
    };
    let pg = Install::new(Some(&db));
    let on_pg = scenario(&pg);
    let on_sqlite = scenario(&Install::new(None));
    assert_eq!(on_pg, on_sqlite);
    assert_eq!(on_pg["counts"][0], 2, "{on_pg}");
    assert!(on_pg["counts"][1].as_u64().unwrap() >= 8, "{on_pg}");
    for mode in ["local", "hybrid", "naive", "mix"] {
        assert!(
            !on_pg["queries"][mode]["chunks"].as_array().unwrap().is_empty(),
            "{mode}"
        );
    }
    for mode in ["local", "global", "hybrid", "naive", "mix"] {
        let q = &on_pg["queries"][mode];
        assert!(q["answer"].is_string(), "{mode}: {q}");
    }

    // The rows are in the database, not in a kb.db; the KB's size is its rows' size.
    let kb = pg.json("alice", &["kb", "show", "-t", "acme", "docs"]);
    let dir = pg
        .lrt
        .kb_dir(kb["tenant_id"].as_str().unwrap(), kb["kb_id"].as_str().unwrap());
    assert!(!dir.join("kb.db").exists());
    assert!(!dir.join("disk-reserve").exists());
    assert_eq!(
        db.scalar("SELECT count(*) FROM kb_documents WHERE status = 'processed'"),
        2
    );
    let stored = db.scalar("SELECT sum(pg_column_size(c.*))::bigint FROM kb_chunks c") as f64;
    let mb = kb["storage_size_mb"].as_f64().unwrap();
    assert!(mb * 1048576.0 > stored && mb < 10.0, "{mb} MB vs chunks {stored} bytes");
}

/// An ingest that fills a fresh database's tables has them analyzed when it has written enough
/// rows, rather than at autovacuum's next round (off here): until then the planner takes them
/// for empty and walks a KB's whole relation index for every key it looks up.
#[test]
fn an_ingest_that_fills_fresh_tables_has_them_analyzed() {
    let Some(db) = Database::new("an_ingest_that_fills_fresh_tables_has_them_analyzed") else {
        return;
    };
    let install = Install::new(Some(&db));
    install.json(ROOT, &["tenant", "create", "acme", "--admin", "alice"]);
    install.json("alice", &["kb", "create", "docs", "-t", "acme"]);
    let graph = ["kb_chunks", "kb_entities", "kb_relations"];
    for table in graph {
        db.execute(&format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"));
    }
    let analyzed = || {
        db.scalar(&format!(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('{}') AND last_analyze IS NOT NULL",
            graph.join("', '")
        ))
    };
    assert_eq!(analyzed(), 0);
    let docs = install.lrt.root().join("corpus");
    corpus::write_corpus(&docs, 120_000, 7);
    let report = install.json(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", docs.to_str().unwrap()],
    );
    assert_eq!(report["failed"].as_u64(), Some(0), "{report}");
    let rows = db.scalar("SELECT (SELECT count(*) FROM kb_entities) + (SELECT count(*) FROM kb_relations)");
    assert!(rows > 1_000, "{rows} graph rows");
    assert_eq!(analyzed(), 3);
}

#[test]
fn an_ingest_waits_for_the_kb_lock_another_process_holds() {
    let Some(db) = Database::new("an_ingest_waits_for_the_kb_lock_another_process_holds") else {
        return;
    };
    let pg = Install::new(Some(&db));
    pg.json(ROOT, &["tenant", "create", "acme", "--admin", "alice"]);
    pg.json("alice", &["kb", "create", "docs", "-t", "acme"]);
    let file = pg.lrt.root().join("nasa.txt");
    std::fs::write(&file, NASA).unwrap();
    let file = file.to_str().unwrap().to_string();
    // A first ingest runs, then holds the lock through a slow second run (a process on another
    // machine would only share the database): a concurrent ingest waits, then runs.
    let first = pg.json("alice", &["ingest", "-t", "acme", "--kb", "docs", &file]);
    assert_eq!(first["added"], 1);
    let holder = pg_lock_holder(&db);
    let env: Vec<(&str, &str)> = pg.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut cmd = pg.lrt.process("alice", &["ingest", "-t", "acme", "--kb", "docs", "-"]);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let child = cmd.stdin(std::process::Stdio::piped()).spawn().unwrap();
    let mut child = child;
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(CURIE.as_bytes()).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the ingest did not wait for the lock"
    );
    drop(holder);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("wait"), "it said it waits: {stderr}");
    assert_eq!(
        db.scalar("SELECT count(*) FROM kb_documents WHERE status = 'processed'"),
        2
    );
}

/// Holds every KB's ingest lock of the database (a session advisory lock on each key a KB of it
/// has), as another replica ingesting would; released when dropped.
fn pg_lock_holder(db: &Database) -> HeldLocks {
    let url = db.url.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        for row in c.query("SELECT tenant_id, kb_id FROM knowledge_bases", &[]).unwrap() {
            let (t, k): (uuid::Uuid, uuid::Uuid) = (row.get(0), row.get(1));
            c.execute("SELECT pg_advisory_lock($1)", &[&lrt::store::pg::ingest_lock_key(t, k)])
                .unwrap();
        }
        ready_tx.send(()).unwrap();
        let _ = rx.recv();
    });
    ready_rx.recv().unwrap();
    HeldLocks {
        release: Some(tx),
        thread: Some(thread),
    }
}

struct HeldLocks {
    release: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for HeldLocks {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
