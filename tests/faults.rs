//! The fault-injection suite: what a crash, a full disk, a stalled or garbage-speaking model
//! server and concurrent jobs on one KB must leave behind. Each test prints a `faults:` line
//! with what it tried, what survived and what was lost; docs/faults.md records them.
//! Everything is bounded in time and seeded, so a run is reproducible and fits CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::model::{env, server, write_corpus};
use common::{Lrt, ROOT};
use serde_json::Value;

/// A KB `acme/docs` (admin alice) and the model server's environment.
struct Kb {
    lrt: Lrt,
    db: PathBuf,
}

fn kb() -> Kb {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    let tenant = lrt.tenant("acme", Some("alice"));
    let kb = lrt.kb("acme", "docs");
    let db = lrt.kb_dir(&tenant, &kb).join("kb.db");
    Kb { lrt, db }
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn ingest_args(path: &Path) -> Vec<String> {
    ["ingest", "-t", "acme", "--kb", "docs", path.to_str().unwrap(), "--json"]
        .map(String::from)
        .to_vec()
}

fn spawn(lrt: &Lrt, env: &[(&str, &str)], args: &[String]) -> Child {
    let mut cmd = lrt.process("alice", args);
    cmd.envs(env.iter().copied());
    cmd.spawn().unwrap()
}

/// Waits for `child` at most `limit`, without blocking the runtime's threads.
async fn finish(mut child: Child, limit: Duration) -> (i32, String, String) {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `lrt doctor --json` as root: must be clean (exit 0, no finding).
fn assert_doctor_clean(lrt: &Lrt) {
    let run = lrt.run_as(ROOT, &["doctor", "--json"]);
    assert_eq!(run.code, 0, "doctor is not clean: {}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["findings"], serde_json::json!([]), "{}", run.stdout);
}

/// The KB's document count and the catalog's view of it.
fn processed(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM documents WHERE status = 'processed'", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn catalog_documents(lrt: &Lrt) -> u64 {
    let kb = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    kb["document_count"]
        .as_u64()
        .or_else(|| kb["stats"]["document_count"].as_u64())
        .unwrap_or_else(|| panic!("no document count in {kb}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_into_one_kb_both_wait_and_succeed() {
    let server = server(20, 5).await;
    let env = env(&server);
    let env = pairs(&env);
    let k = kb();
    let (a, b) = (k.lrt.root().join("a"), k.lrt.root().join("b"));
    write_corpus(&a, 4, 12);
    write_corpus(&b, 8, 12);
    for f in ["notes00.md", "notes01.md", "notes02.md", "notes03.md"] {
        std::fs::remove_file(b.join(f)).unwrap();
    }
    let mut tried = 0;
    let mut survived = 0;
    // Three rounds: each time both start together, so which one waits varies.
    for round in 0..3 {
        let first = spawn(&k.lrt, &env, &ingest_args(&a));
        let second = spawn(&k.lrt, &env, &ingest_args(&b));
        let (first, second) = (
            finish(first, Duration::from_secs(60)).await,
            finish(second, Duration::from_secs(60)).await,
        );
        for (code, _, stderr) in [&first, &second] {
            tried += 1;
            assert_eq!(*code, 0, "round {round}: a concurrent ingest failed: {stderr}");
            survived += 1;
        }
        assert_eq!(processed(&k.db), 8);
        assert_eq!(catalog_documents(&k.lrt), 8);
        assert_doctor_clean(&k.lrt);
        // The next round ingests the same files again after a delete of everything, so both
        // jobs write again.
        let docs = k.lrt.json_as("alice", &["doc", "list", "-t", "acme", "--kb", "docs"]);
        let ids: Vec<String> = doc_ids(&docs);
        let mut args = vec!["doc", "delete", "-t", "acme", "--kb", "docs", "--yes"];
        args.extend(ids.iter().map(String::as_str));
        let run = k.lrt.run(Some("alice"), &env, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    println!(
        "faults: concurrent ingests: tried {tried} survived {survived} lost {}",
        tried - survived
    );
}

fn doc_ids(list: &Value) -> Vec<String> {
    let items = list
        .as_array()
        .or_else(|| list["documents"].as_array())
        .unwrap_or_else(|| panic!("no documents in {list}"));
    items
        .iter()
        .map(|d| d["doc_id"].as_str().or(d["id"].as_str()).unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_during_an_ingest_waits_then_succeeds_and_is_audited() {
    let server = server(25, 5).await;
    let env = env(&server);
    let env = pairs(&env);
    let k = kb();
    let (a, b) = (k.lrt.root().join("a"), k.lrt.root().join("b"));
    write_corpus(&a, 3, 10);
    write_corpus(&b, 10, 12);
    for f in ["notes00.md", "notes01.md", "notes02.md"] {
        std::fs::remove_file(b.join(f)).unwrap();
    }
    let run = k.lrt.run(Some("alice"), &env, &ingest_args(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let victim = doc_ids(&run.json()["documents"])[0].clone();

    let ingest = spawn(&k.lrt, &env, &ingest_args(&b));
    // Let the ingest take the KB's lock and start working.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let delete = spawn(
        &k.lrt,
        &env,
        &[
            "doc", "delete", "-t", "acme", "--kb", "docs", "--yes", "--json", &victim,
        ]
        .map(String::from),
    );
    let (code, _, stderr) = finish(ingest, Duration::from_secs(60)).await;
    assert_eq!(code, 0, "the ingest failed: {stderr}");
    let (code, stdout, stderr) = finish(delete, Duration::from_secs(60)).await;
    assert_eq!(code, 0, "the delete failed after waiting: {stderr}");
    assert!(
        stdout.contains(&victim) || stdout.contains("\"documents_deleted\""),
        "{stdout}"
    );
    assert_eq!(processed(&k.db), 9);
    assert_eq!(catalog_documents(&k.lrt), 9);
    assert!(
        k.lrt
            .audit()
            .iter()
            .any(|e| e["action"] == "document.delete" && e["outcome"] == "ok"),
        "no audit row for the delete"
    );
    assert_doctor_clean(&k.lrt);
    println!("faults: delete during ingest: tried 2 survived 2 lost 0");
}

/// Open descriptors of process `pid`.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// How long until the server closes `socket` (reads to EOF or a reset), at most `limit`.
fn closed_within(socket: &mut std::net::TcpStream, limit: Duration) -> Option<Duration> {
    use std::io::Read;
    let started = Instant::now();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = [0u8; 1024];
    while started.elapsed() < limit {
        match socket.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {} // a 408 or 400 before the close
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_open_connections_neither_exhausts_descriptors_nor_locks_out_health() {
    use std::io::Write;
    let lrt = Lrt::new();
    let srv = common::server::spawn(
        &lrt,
        &[],
        &[
            "--max-connections",
            "64",
            "--header-timeout",
            "1s",
            "--idle-timeout",
            "2s",
        ],
    )
    .unwrap();
    let token = common::server::token(&lrt, ROOT);
    let addr = srv.base.trim_start_matches("http://").to_string();
    let baseline = descriptors(srv.pid());

    // 300 sockets: half say nothing, half send a request line and never end the headers.
    let mut flood = Vec::new();
    for i in 0..300 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
        }
        flood.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let open = descriptors(srv.pid());
    assert!(
        open <= baseline + 64 + 8,
        "the server holds {open} descriptors (baseline {baseline}, cap 64)"
    );
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        srv.http.get(format!("{}/health", srv.base)).send(),
    )
    .await
    .expect("/health did not answer under the flood")
    .unwrap();
    assert_eq!(health.status(), 200);
    let me = tokio::time::timeout(Duration::from_secs(5), srv.get("/api/v1/me", &token))
        .await
        .expect("an authenticated request did not answer under the flood");
    assert_eq!(me.status, 200, "{}", me.body);
    drop(flood);

    // Headers never completed: closed after the header timeout. Silence: after the idle one.
    let mut partial = std::net::TcpStream::connect(&addr).unwrap();
    partial.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    let t = closed_within(&mut partial, Duration::from_secs(8)).expect("a half-sent request stays open");
    assert!(t < Duration::from_secs(4), "closed only after {t:?}");
    let t = closed_within(&mut silent, Duration::from_secs(8)).expect("a silent connection stays open");
    assert!(t < Duration::from_secs(5), "closed only after {t:?}");
    println!("faults: connection flood: tried 300 sockets, /health and /me answered, descriptors {open} (cap 64)");
}
