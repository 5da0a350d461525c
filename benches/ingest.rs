//! Ingest benchmark: times real `lrt ingest` processes on a generated ~2 MB prose corpus in
//! three setups and reports throughput, LLM calls, the KB's size on disk and peak memory:
//!
//! * `local`  — the offline provider;
//! * `mock0`  — an OpenAI-compatible mock server on 127.0.0.1 answering instantly;
//! * `mock50` — the same mock answering chat calls after 50 ms. The ideal wall time is then
//!   `LLM calls × 50 ms / max_async`; the benchmark prints the measured ratio to it.
//!
//! The mock answers extraction prompts with the local provider's records for the chunk text, so
//! the graph has the same shape as a real model's would, and embeds with feature hashing.
//!
//! Run: `cargo bench --bench ingest` (options: `-- --mb N`, `-- --only local|mock0|mock50`,
//! `-- --keep DIR` to keep the corpus and KBs in DIR, `-- --pg URL` to run each setup on
//! PostgreSQL too, right after its SQLite run, in a fresh database of the server URL names,
//! and `-- --rounds N` to repeat the setups, alternating backends).
//! Issue 3 targets on 2 MB: instant model ≤ 5 s wall; 50 ms latency ≤ 1.10 × ideal;
//! KB ≤ 35 MB on disk; peak memory ≤ 150 MB.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/model.rs"]
mod model;
#[path = "support/pg.rs"]
mod pg;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::FutureExt;
use lrt::llm::local::LocalProvider;
use lrt::llm::{ModelProvider, Task};
use lrt::rag::tokenizer::Tokenizer;
use lrt::rag::{chunk, normalize};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// lrt's default LLM concurrency (`MAX_ASYNC`).
const MAX_ASYNC: f64 = 4.0;
const DIM: usize = 1024;

/// What a run measured.
struct Run {
    wall: f64,
    /// User + system CPU seconds of the lrt process.
    cpu: f64,
    /// Its peak resident set size.
    peak_rss_mb: f64,
    report: Value,
}

/// Runs `lrt args` to completion. CPU time and peak RSS come from the kernel's accounting
/// when the process is reaped (`wait4`), so measuring costs nothing while it runs: on a
/// 2-core machine, sampling `/proc` every few milliseconds took CPU from the run measured.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also reports its usage"
)]
fn lrt(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Run {
    // LRT_BENCH_BIN: a copy of the binary, so a build during a long run does not replace it.
    let mut cmd = Command::new(std::env::var_os("LRT_BENCH_BIN").unwrap_or(env!("CARGO_BIN_EXE_lrt").into()));
    cmd.args(args)
        .env("LRT_CONFIG", dir.join("config.toml"))
        .env("LRT_DATA_DIR", dir.join("data"))
        .env("LRT_USER", "root")
        .env_remove("LRT_OUTPUT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("run lrt");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes).expect("read lrt output");
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `child` has not been waited for, so its pid is still ours to reap; both
    // pointers are to live locals.
    let reaped = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(reaped, child.id() as libc::pid_t, "wait4 failed");
    let (stdout, stderr) = (stdout.join().expect("stdout"), stderr.join().expect("stderr"));
    let status = std::process::ExitStatus::from_raw(status);
    assert!(status.success(), "lrt {args:?}: {}", String::from_utf8_lossy(&stderr));
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        // Kilobytes on Linux.
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        report: serde_json::from_slice(&stdout).unwrap_or(Value::Null),
    }
}

/// An OpenAI-compatible chat + embeddings endpoint that answers like a diligent model.
/// Extraction answers are computed before the clock starts (`answers`, by chunk text), so the
/// mock costs little CPU of its own, like a remote model would.
#[derive(Clone)]
struct MockModel {
    latency: Duration,
    answers: Arc<HashMap<String, String>>,
}

/// The local provider's extraction answer for every chunk lrt will make of the corpus.
fn precompute_answers(corpus: &Path) -> HashMap<String, String> {
    let tokenizer = Tokenizer::global();
    let mut answers = HashMap::new();
    for entry in std::fs::read_dir(corpus).expect("corpus") {
        let text = std::fs::read_to_string(entry.expect("corpus entry").path()).expect("corpus file");
        let text = normalize::sanitize_text_for_encoding(&text);
        for chunk in chunk::chunk_by_token_size(tokenizer, &text, None, false, 100, 1200).expect("chunking") {
            let answer = LocalProvider::answer(&Task::Extract {
                text: chunk.content.clone(),
            });
            answers.insert(chunk.content, answer);
        }
    }
    answers
}

impl Respond for MockModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if request.url.path().ends_with("/embeddings") {
            let vectors = LocalProvider::new(DIM)
                .embed(&model::embedding_texts(&body))
                .now_or_never()
                .expect("local embeddings are immediate")
                .expect("local embeddings");
            return model::embeddings_response(&body, vectors);
        }
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let last = messages.last().and_then(|m| m["content"].as_str()).unwrap_or("");
        let answer = match lrt::rag::prompts::extraction_text(last) {
            Some(text) => match self.answers.get(text) {
                Some(answer) => answer.clone(),
                None => LocalProvider::answer(&Task::Extract { text: text.to_string() }),
            },
            // A follow-up turn after an extraction: the gleaning pass, nothing more to add.
            None if messages.len() > 2 => "<|COMPLETE|>".to_string(),
            // A summary request: a short merged description.
            None => last
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
        };
        let response = ResponseTemplate::new(200);
        // No delay at all for an instant model: wiremock waits out even a zero delay on a timer.
        let response = match self.latency.is_zero() {
            true => response,
            false => response.set_delay(self.latency),
        };
        response.set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]
        }))
    }
}

/// The chat server, then the embedding server.
fn mock_env((chat, embeddings): &(MockServer, MockServer)) -> Vec<(&'static str, String)> {
    model::env(chat, embeddings, DIM)
}

fn main() {
    let mut mb = 2.0f64;
    let mut only: Option<String> = None;
    let mut keep: Option<std::path::PathBuf> = None;
    let mut pg: Option<String> = None;
    let mut rounds = 1;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mb" => mb = it.next().and_then(|v| v.parse().ok()).expect("--mb N"),
            "--only" => only = it.next(),
            "--keep" => keep = it.next().map(Into::into),
            "--pg" => pg = it.next(),
            "--rounds" => rounds = it.next().and_then(|v| v.parse().ok()).expect("--rounds N"),
            _ => {} // cargo bench passes `--bench`
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let corpus_dir = root.join("corpus");
    let (docs, bytes) = corpus::write_corpus(&corpus_dir, (mb * 1024.0 * 1024.0) as usize, 42);
    let mb = bytes as f64 / 1048576.0;
    println!("corpus: {docs} generated documents, {mb:.2} MB");

    let answers = Arc::new(precompute_answers(&corpus_dir));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let scenarios: [(&str, Option<u64>); 3] = [("local", None), ("mock0", Some(0)), ("mock50", Some(50))];
    let backends: Vec<Option<&str>> = std::iter::once(None).chain(pg.as_deref().map(Some)).collect();
    let runs = (0..rounds).flat_map(|_| scenarios.iter().flat_map(|s| backends.iter().map(move |b| (*s, *b))));
    for ((name, latency), database) in runs {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let storage = database.map(|url| pg::fresh_database(url, "lrt_bench"));
        let name = if storage.is_some() {
            format!("{name}-pg")
        } else {
            name.to_string()
        };
        let name = name.as_str();
        let dir = root.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        // Two servers, as a deployment has: a wiremock server answers on one thread, and
        // with both routes on one, chat calls queued behind embedding calls.
        let server = latency.map(|ms| {
            let model = MockModel {
                latency: Duration::from_millis(ms),
                answers: Arc::clone(&answers),
            };
            let serve = |route: &'static str| {
                let model = model.clone();
                async move {
                    // Unrecorded: the mock should cost as little CPU as a remote model would.
                    let server = MockServer::builder().disable_request_recording().start().await;
                    Mock::given(method("POST"))
                        .and(path(route))
                        .respond_with(model)
                        .mount(&server)
                        .await;
                    server
                }
            };
            runtime.block_on(async { (serve("/v1/chat/completions").await, serve("/v1/embeddings").await) })
        });
        let mut env = server.as_ref().map(mock_env).unwrap_or_default();
        if let Some(url) = &storage {
            env.push(("LRT_STORAGE", "postgres".into()));
            env.push(("LRT_DATABASE_URL", url.clone()));
        }
        lrt(&dir, &env, &["init", "--user", "root", "--multi-tenant", "--json"]);
        lrt(&dir, &env, &["tenant", "create", "bench", "--json"]);
        lrt(&dir, &env, &["kb", "create", "-t", "bench", "kb", "--json"]);
        let run = lrt(
            &dir,
            &env,
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
        let r = &run.report;
        let chunks = r["chunks"].as_f64().unwrap_or(0.0);
        let calls = r["llm_calls"].as_f64().unwrap_or(0.0);
        let disk = dir_size(&dir.join("data")) as f64 / 1048576.0;
        let (cpu, peak) = (run.cpu, run.peak_rss_mb);
        println!(
            "{name:>6}: {:.2} s wall (lrt CPU {cpu:.2} s), {:.2} MB/s, {:.0} chunks/s | chunks {chunks}, LLM calls {calls}, \
             embedding calls {}, failed {} | KB on disk {disk:.1} MB, peak RSS {peak:.0} MB",
            run.wall,
            mb / run.wall,
            chunks / run.wall,
            r["embedding_calls"],
            r["failed"],
        );
        if let Some(ms) = latency.filter(|ms| *ms > 0) {
            let ideal = calls * ms as f64 / 1000.0 / MAX_ASYNC;
            println!(
                "        ideal {ideal:.2} s (LLM calls × {ms} ms / max_async {MAX_ASYNC}), ratio {:.3}",
                run.wall / ideal
            );
        }
    }
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
