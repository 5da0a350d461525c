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
    tenant: String,
    kb: String,
}

fn kb() -> Kb {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    let tenant = lrt.tenant("acme", Some("alice"));
    let kb = lrt.kb("acme", "docs");
    let db = lrt.kb_dir(&tenant, &kb).join("kb.db");
    Kb { lrt, db, tenant, kb }
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

/// A model server that speaks garbage: every chat answer is prose with no records.
async fn garbage_server() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "choices": [{"index": 0, "message": {"role": "assistant",
                "content": "I'm sorry, as an AI I would rather talk about the weather."}, "finish_reason": "stop"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(|r: &wiremock::Request| common::model::embeddings(&common::model::embedding_inputs(r)))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_from_the_model_fails_the_document_and_is_not_cached() {
    let junk = garbage_server().await;
    let junk_env = env(&junk);
    let k = kb();
    let corpus = k.lrt.root().join("c");
    write_corpus(&corpus, 2, 4);
    let run = k.lrt.run(Some("alice"), &pairs(&junk_env), &ingest_args(&corpus));
    assert_ne!(run.code, 0, "junk answers were taken as an extraction: {}", run.stdout);
    let conn = rusqlite::Connection::open(&k.db).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT count(*) FROM documents WHERE status = 'failed'"), 2);
    assert_eq!(count("SELECT count(*) FROM llm_cache WHERE cache_type = 'extract'"), 0);
    drop(conn);

    // A sane model then builds the graph: nothing of the junk was kept.
    let good = server(0, 0).await;
    let retry = k.lrt.run(
        Some("alice"),
        &pairs(&env(&good)),
        &["ingest", "-t", "acme", "--kb", "docs", "--retry-failed", "--json"],
    );
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(processed(&k.db), 2);
    assert_doctor_clean(&k.lrt);
    println!("faults: garbage-speaking model: tried 2 documents, failed 2, cached 0, recovered 2");
}

/// Words of the corpus's first sentence, so that a naive search finds its chunks.
const QUESTION: &str =
    "In year 1800, Ada Lovelace met Charles Babbage in London to discuss engine number 0 of series 0.";

/// A model server that answers every chat call with a stream that trickles one piece every
/// 100 ms and never ends (until `limit`), and embeds like the local provider.
fn trickle_server(embed: &wiremock::MockServer, limit: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _ = embed;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = conn.set_read_timeout(Some(Duration::from_millis(300)));
                let _ = conn.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if conn.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let piece =
                    b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\".\"},\"finish_reason\":null}]}\n\n";
                let started = Instant::now();
                while started.elapsed() < limit {
                    let chunk = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
                    if conn.write_all(&chunk).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_model_stream_ends_at_the_timeout_and_the_kb_still_answers_in_serve() {
    let good = server(0, 0).await;
    let good_env = env(&good);
    let k = kb();
    let corpus = k.lrt.root().join("c");
    write_corpus(&corpus, 2, 4);
    let run = k.lrt.run(Some("alice"), &pairs(&good_env), &ingest_args(&corpus));
    assert_eq!(run.code, 0, "{}", run.stderr);

    let trickle = trickle_server(&good, Duration::from_secs(120));
    let mut stalled: Vec<(&str, &str)> = pairs(&good_env)
        .into_iter()
        .filter(|(k, _)| *k != "LLM_BINDING_HOST")
        .collect();
    stalled.push(("LLM_BINDING_HOST", &trickle));
    stalled.push(("LLM_TIMEOUT", "2"));

    // The CLI: the stream ends with a timeout error instead of running for ever.
    let started = Instant::now();
    let q = spawn(
        &k.lrt,
        &stalled,
        &[
            "query", "-t", "acme", "--kb", "docs", "--mode", "naive", "--stream", QUESTION,
        ]
        .map(String::from),
    );
    let (code, stdout, stderr) = finish(q, Duration::from_secs(30)).await;
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("LLM_TIMEOUT"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());

    // The server: a stalled stream holds the KB's engine for the timeout at most.
    let srv = common::server::start(&k.lrt, &stalled);
    let token = common::server::token(&k.lrt, "alice");
    let (tenant, kb_id) = (k.tenant.clone(), k.kb.clone());
    let base = format!("/api/v1/tenants/{tenant}/kbs/{kb_id}");
    let headers = [("X-Tenant-ID", tenant.as_str()), ("X-KB-ID", kb_id.as_str())];
    let auth = format!("Bearer {token}");
    let body = serde_json::json!({"query": QUESTION, "mode": "naive"});
    let url = format!("{}{base}/query/stream", srv.base);
    let streaming = srv.http.post(url).header("Authorization", &auth).json(&body).send();
    let stream = tokio::spawn(async move { streaming.await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let context_only = serde_json::json!({"query": QUESTION, "mode": "naive", "only_context": true});
    let later = tokio::time::timeout(
        Duration::from_secs(20),
        srv.send(
            reqwest::Method::POST,
            &format!("{base}/query"),
            Some(&auth),
            &headers,
            Some(context_only),
        ),
    )
    .await
    .expect("a later query to the KB waited for the stalled stream beyond its timeout");
    assert_eq!(later.status, 200, "{}", later.body);
    let _ = stream.await;
    println!("faults: stalled model: tried 2 streams, both ended at LLM_TIMEOUT; the KB answered after");
}

/// A small tmpfs mounted over a directory (its files copied in first), unmounted on drop.
/// `None`, with the reason printed, where mounting is not allowed (not root, no tmpfs).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn over(dir: &Path, size: &str) -> Option<SmallDisk> {
        let keep = dir.with_extension("before-mount");
        let cp = |from: &Path, to: &Path| {
            std::process::Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", from.display()))
                .arg(to)
                .status()
                .is_ok_and(|s| s.success())
        };
        std::fs::create_dir_all(&keep).unwrap();
        assert!(cp(dir, &keep));
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::piped())
            .output();
        match mounted {
            Ok(out) if out.status.success() => {
                assert!(cp(&keep, dir));
                Some(SmallDisk { dir: dir.to_path_buf() })
            }
            Ok(out) => {
                println!(
                    "faults: disk full: SKIPPED, cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("faults: disk full: SKIPPED, cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_ends_the_ingest_with_exit_9_failed_documents_and_no_retry_storm() {
    let model = server(0, 0).await;
    let model_env = env(&model);
    let k = kb();
    let corpus = k.lrt.root().join("c");
    write_corpus(&corpus, 40, 120);
    let Some(_disk) = SmallDisk::over(&k.lrt.data_dir(), "8m") else {
        return;
    };
    let q = spawn(&k.lrt, &pairs(&model_env), &ingest_args(&corpus));
    let (code, stdout, stderr) = finish(q, Duration::from_secs(90)).await;
    assert_eq!(code, 9, "{stdout}\n{stderr}");
    assert!(
        stderr.to_lowercase().contains("disk") || stderr.contains("space"),
        "{stderr}"
    );
    let (_, _, embeds) = common::model::requests(&model).await;
    assert!(embeds < 400, "{embeds} embedding calls: a retry storm");
    let conn = rusqlite::Connection::open(&k.db).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let pending = count("SELECT count(*) FROM documents WHERE status IN ('pending', 'processing')");
    let failed = count("SELECT count(*) FROM documents WHERE status = 'failed'");
    let done = count("SELECT count(*) FROM documents WHERE status = 'processed'");
    assert!(
        stderr.contains("the disk is full") && stderr.contains("--retry-failed"),
        "{stderr}"
    );
    assert_eq!(pending, 0, "documents left pending: {stderr}");
    assert_eq!(done + failed, 40);
    println!(
        "faults: disk full: tried 40 documents, {done} processed, {failed} failed, 0 lost, {embeds} embedding calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_leaves_a_clean_kb_that_the_next_run_completes() {
    let model = server(40, 5).await;
    let model_env = env(&model);
    let k = kb();
    let corpus = k.lrt.root().join("c");
    write_corpus(&corpus, 12, 40);
    let mut tried = 0;
    let mut clean = 0;
    // Deterministic interruption points, after the first commits and mid-way.
    for delay_ms in [700u64, 1400] {
        let child = spawn(&k.lrt, &pairs(&model_env), &ingest_args(&corpus));
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
        let (code, _, stderr) = finish(child, Duration::from_secs(30)).await;
        if code == 0 {
            break; // finished before the signal
        }
        tried += 1;
        assert_eq!(code, 130, "{stderr}");
        let conn = rusqlite::Connection::open(&k.db).unwrap();
        let stuck: i64 = conn
            .query_row("SELECT count(*) FROM documents WHERE status = 'processing'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stuck, 0, "documents left processing after Ctrl-C");
        drop(conn);
        assert_doctor_clean(&k.lrt);
        clean += 1;
    }
    assert!(tried >= 1, "the run finished before it could be interrupted");
    let run = k.lrt.run(Some("alice"), &pairs(&model_env), &ingest_args(&corpus));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(processed(&k.db), 12);
    assert_doctor_clean(&k.lrt);
    println!("faults: ctrl-c: tried {tried} interruptions, {clean} left a clean KB, 0 documents lost");
}

/// A small seeded generator (SplitMix64): the kill points of a run are reproducible from the
/// seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// `LRT_FAULT_SEED` when set (to repeat a run), else the clock.
fn seed() -> u64 {
    std::env::var("LRT_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// kill -9 of `lrt ingest` at seeded random moments: each trial kills a fresh KB's ingest
/// once or twice, checks the KB is consistent after every kill, then resumes with the same
/// command, which must build exactly the graph of an uninterrupted run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kill_9s_of_ingest_each_resume_to_the_uninterrupted_graph() {
    let seed = seed();
    println!("faults: kill -9 at random points: seed {seed} (LRT_FAULT_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let model = server(25, 5).await;
    let model_env = env(&model);
    let model_env = pairs(&model_env);
    let corpus_of = |k: &Kb| {
        let corpus = k.lrt.root().join("corpus");
        write_corpus(&corpus, 6, 24);
        corpus
    };
    let reference = kb();
    let corpus = corpus_of(&reference);
    let started = Instant::now();
    let run = reference.lrt.run(Some("alice"), &model_env, &ingest_args(&corpus));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let span = started.elapsed().as_millis() as u64;
    let expected = common::kbcheck::graph(&reference.db);
    assert_eq!(expected.documents, 6);
    let (mut kills, mut resumed, mut finished_first) = (0, 0, 0);
    const TRIALS: usize = 6;
    for trial in 0..TRIALS {
        let k = kb();
        let corpus = corpus_of(&k);
        for _ in 0..rng.between(1, 3) {
            // Anywhere from start-up to three quarters of an uninterrupted run (a run under
            // less load than the reference's would often end first otherwise).
            let at = Duration::from_millis(rng.between(20, (span * 3 / 4).max(21)));
            let mut child = spawn(&k.lrt, &model_env, &ingest_args(&corpus));
            let started = Instant::now();
            while child.try_wait().unwrap().is_none() && started.elapsed() < at {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if child.try_wait().unwrap().is_some() {
                finished_first += 1;
                break;
            }
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            if k.db.exists() {
                common::kbcheck::assert_consistent(&k.db);
            }
        }
        let run = k.lrt.run(Some("alice"), &model_env, &ingest_args(&corpus));
        assert_eq!(
            run.code, 0,
            "seed {seed} trial {trial}: the resume failed: {}",
            run.stderr
        );
        common::kbcheck::assert_consistent(&k.db);
        assert_eq!(
            common::kbcheck::graph(&k.db),
            expected,
            "seed {seed} trial {trial}: the resumed graph differs from an uninterrupted run's"
        );
        assert_doctor_clean(&k.lrt);
        resumed += 1;
    }
    assert!(kills >= 3, "seed {seed}: runs finished before {kills} kills");
    println!(
        "faults: kill -9 at random points: tried {kills} kills in {TRIALS} runs ({finished_first} ended before their kill; an uninterrupted run took {span} ms), {resumed} resumed to the uninterrupted graph, 0 lost"
    );
}

/// The sorted exit codes of processes started together; each failure must name `quota`.
async fn exit_codes(children: Vec<Child>, quota: &str) -> Vec<i32> {
    let mut codes = Vec::new();
    for child in children {
        let (code, _, stderr) = finish(child, Duration::from_secs(60)).await;
        if code != 0 {
            assert!(stderr.contains(quota), "exit {code}: {stderr}");
        }
        codes.push(code);
    }
    codes.sort();
    codes
}

/// Several `lrt` processes at once against a quota: exactly the allowed number succeed, the
/// rest exit 7 naming the quota, and the counts in kb.db and the catalog agree. Documents
/// (`max_documents`, reserved at admission) and monthly API calls (`max_monthly_api_calls`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_processes_get_exactly_the_quota() {
    let k = kb();
    const PROCESSES: usize = 6;
    let files: Vec<PathBuf> = (0..PROCESSES)
        .map(|i| {
            let f = k.lrt.root().join(format!("doc{i}.txt"));
            std::fs::write(
                &f,
                format!(
                    "Document {i}: Ada Lovelace met Charles Babbage in London in {}.",
                    1830 + i
                ),
            )
            .unwrap();
            f
        })
        .collect();
    let set = |quota: &str| {
        let run = k.lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", quota]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    set("max_documents=3");
    let children = files.iter().map(|f| spawn(&k.lrt, &[], &ingest_args(f))).collect();
    let codes = exit_codes(children, "max_documents").await;
    assert_eq!(codes, [0, 0, 0, 7, 7, 7], "documents: exactly the quota succeeds");
    assert_eq!(processed(&k.db), 3);
    assert_eq!(catalog_documents(&k.lrt), 3);
    assert_doctor_clean(&k.lrt);

    // Monthly API calls: the three ingests counted 3; 3 more questions are allowed.
    set("max_monthly_api_calls=6");
    let ask = [
        "query",
        "-t",
        "acme",
        "--kb",
        "docs",
        "Who met Charles Babbage?",
        "--json",
    ]
    .map(String::from);
    let children = (0..PROCESSES).map(|_| spawn(&k.lrt, &[], &ask)).collect();
    let codes = exit_codes(children, "max_monthly_api_calls").await;
    assert_eq!(codes, [0, 0, 0, 7, 7, 7], "API calls: exactly the quota succeeds");
    println!(
        "faults: quota races across processes: tried {} processes on 2 quotas, exactly 3 + 3 admitted, {} refused with exit 7, 0 over the quota",
        2 * PROCESSES,
        2 * PROCESSES - 6
    );
}
