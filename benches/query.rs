//! Query benchmark: ingests the generated ~2 MB prose corpus once with the offline `local`
//! provider (a real `lrt ingest` process), then measures
//!
//! * in-process latency per mode (naive, local, global, hybrid, mix) with the KB opened once,
//!   through the same `Service::open_query` the CLI uses, over a set of varied questions:
//!   - `cached`: keyword and answer served from the LLM cache (warmed by one pass first), so
//!     this is retrieval + context assembly + two cache lookups;
//!   - `uncached`: the `--no-cache` path, where the local provider extracts keywords and writes
//!     the answer every time;
//!   - `first`: each question the first time in that mode (LLM cache and token-count memo cold
//!     for it), which is also the warm-up pass of the two above;
//! * the wall time of whole `lrt query` processes (cold start) per mode, with and without
//!   `--no-cache`, next to `lrt kb show` as the floor of any KB command.
//!
//! Run: `cargo bench --bench query` (options: `-- --mb N`, `-- --runs N` in-process queries
//! per mode, `-- --cold N` process runs per mode, `-- --keep DIR` to keep (and reuse) the corpus
//! and KB, `-- --modes mix,hybrid` to measure only those modes, e.g. under a profiler,
//! `-- --pg URL` to measure the same on PostgreSQL as well, in a database `lrt_bench_query`
//! made in the server URL names).
//! Issue 4 targets: p50 ≤ 5 ms per mode in-process; p50 ≤ 30 ms for a whole cold process.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/pg.rs"]
mod pg;
#[path = "support/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::time::Instant;

use lrt::config::{Env, Overrides, Settings};
use lrt::rag::query::{QueryMode, QueryParams};
use lrt::service::{OpenQuery, Service};
use process::percentile;

const MODES: [QueryMode; 5] = [
    QueryMode::Naive,
    QueryMode::Local,
    QueryMode::Global,
    QueryMode::Hybrid,
    QueryMode::Mix,
];
const SEED: u64 = 42;

/// CPU time of this thread (the queries run on it: the runtime is current-thread). Next to
/// wall time because a busy machine inflates wall time but hardly CPU time.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// The benchmark's environment: the acting user and the storage variables of the KB's
/// installation, nothing from the caller's shell.
struct BenchEnv<'a>(&'a [(&'static str, String)]);

impl Env for BenchEnv<'_> {
    fn get(&self, name: &str) -> Option<String> {
        if name == "LRT_USER" {
            return Some("root".to_string());
        }
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }
}

fn summary(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    format!(
        "p50 {:>7.2} ms  p95 {:>7.2} ms  mean {:>7.2} ms  (n={})",
        percentile(samples, 50.0) * 1e3,
        percentile(samples, 95.0) * 1e3,
        mean * 1e3,
        samples.len()
    )
}

/// Wall-time and CPU-time samples of the same runs.
#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Samples {
    fn summary(&mut self) -> String {
        let cpu_p50 = {
            self.cpu.sort_by(f64::total_cmp);
            percentile(&self.cpu, 50.0) * 1e3
        };
        format!("{} | cpu p50 {cpu_p50:>7.2} ms", summary(&mut self.wall))
    }
}

/// Runs `runs` queries of `mode`, cycling through `questions`; returns the latencies and the
/// mean numbers of entities, relations and chunks in the contexts (to show real work was done).
fn measure(
    runtime: &tokio::runtime::Runtime,
    open: &OpenQuery,
    mode: QueryMode,
    questions: &[String],
    runs: usize,
    expect_cached: bool,
) -> (Samples, [f64; 3]) {
    let mut samples = Samples::default();
    let mut sizes = [0.0; 3];
    for i in 0..runs {
        let params = QueryParams::new(questions[i % questions.len()].clone(), mode);
        let (start, cpu) = (Instant::now(), thread_cpu());
        let result = runtime.block_on(open.run(params, None, None, None)).expect("query");
        samples.wall.push(start.elapsed().as_secs_f64());
        samples.cpu.push(thread_cpu() - cpu);
        if expect_cached {
            assert_eq!(result.llm_calls, 0, "a warmed query called the model: {mode:?}");
        } else {
            assert_eq!(result.cache_hits, 0, "--no-cache read the cache: {mode:?}");
        }
        sizes[0] += result.entities.len() as f64;
        sizes[1] += result.relations.len() as f64;
        sizes[2] += result.chunks.len() as f64;
    }
    (samples, sizes.map(|s| s / runs as f64))
}

fn main() {
    let mut mb = 2.0f64;
    let mut runs = 200usize;
    let mut cold = 25usize;
    let mut keep: Option<PathBuf> = None;
    let mut modes = MODES.to_vec();
    let mut pg: Option<String> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mb" => mb = it.next().and_then(|v| v.parse().ok()).expect("--mb N"),
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--cold" => cold = it.next().and_then(|v| v.parse().ok()).expect("--cold N"),
            "--keep" => keep = it.next().map(Into::into),
            "--pg" => pg = it.next(),
            "--modes" => {
                let list = it.next().expect("--modes LIST");
                modes = MODES
                    .into_iter()
                    .filter(|m| list.split(',').any(|name| name == m.as_str()))
                    .collect();
            }
            _ => {} // cargo bench passes `--bench`
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let corpus_dir = root.join("corpus");
    if !corpus_dir.exists() {
        let (docs, bytes) = corpus::write_corpus(&corpus_dir, (mb * 1024.0 * 1024.0) as usize, SEED);
        println!("corpus: {docs} generated documents, {:.2} MB", bytes as f64 / 1048576.0);
    }
    let questions = corpus::questions(40, SEED);
    let backends: Vec<Option<&str>> = std::iter::once(None).chain(pg.as_deref().map(Some)).collect();
    for database in backends {
        let (dir, env) = match database {
            None => (root.join("query-local"), Vec::new()),
            Some(url) => {
                let dir = root.join("query-local-pg");
                let url = if dir.join("ingested").exists() {
                    pg::database_url(url, "lrt_bench_query")
                } else {
                    pg::fresh_database(url, "lrt_bench_query")
                };
                (
                    dir,
                    vec![("LRT_STORAGE", "postgres".to_string()), ("LRT_DATABASE_URL", url)],
                )
            }
        };
        let backend = if database.is_some() { "postgresql" } else { "sqlite" };
        println!("\n== storage: {backend}");
        prepare(&dir, &corpus_dir, &env);
        in_process(&dir, &env, &modes, &questions, runs);
        if cold > 0 {
            whole_processes(&dir, &env, &modes, &questions, cold);
        }
    }
}

/// Ingests the corpus into a new installation in `dir` (once: `--keep` reuses it).
fn prepare(dir: &Path, corpus_dir: &Path, env: &[(&'static str, String)]) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if dir.join("ingested").exists() {
        println!("reusing the KB in {}", dir.display());
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    process::lrt(dir, &env, &["init", "--user", "root", "--multi-tenant", "--json"]);
    process::lrt(dir, &env, &["tenant", "create", "bench", "--json"]);
    process::lrt(dir, &env, &["kb", "create", "-t", "bench", "kb", "--json"]);
    let corpus = corpus_dir.to_str().unwrap();
    let (wall, out) = process::lrt(dir, &env, &["ingest", "-t", "bench", "--kb", "kb", corpus, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
    println!(
        "ingest (local provider): {wall:.2} s, {} chunks, {} entities, {} relations",
        report["chunks"], report["entities"], report["relations"]
    );
    std::fs::write(dir.join("ingested"), "").unwrap();
}

/// Latency per mode with the KB opened once (cached, uncached and first-time questions).
fn in_process(dir: &Path, env: &[(&'static str, String)], modes: &[QueryMode], questions: &[String], runs: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let overrides = Overrides {
        config: Some(dir.join("config.toml")),
        data_dir: Some(dir.join("data")),
    };
    let mut svc = Service::open(Settings::load(&overrides, &BenchEnv(env)).unwrap()).unwrap();
    let actor = svc.local_actor(None).unwrap();
    let t = Instant::now();
    let cached = svc.open_query(&actor, Some("bench"), Some("kb"), false).unwrap();
    println!(
        "open the KB for queries (first, indexes from disk): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let uncached = svc.open_query(&actor, Some("bench"), Some("kb"), true).unwrap();

    println!(
        "\nin-process, {runs} queries per mode over {} questions:",
        questions.len()
    );
    for &mode in modes {
        // One pass fills the keyword and answer caches and the token-count memo: each question
        // is new to this mode here, so this is the latency of a question asked the first time.
        let mut first = Samples::default();
        for q in questions {
            let (start, cpu) = (Instant::now(), thread_cpu());
            runtime
                .block_on(cached.run(QueryParams::new(q.clone(), mode), None, None, None))
                .expect("warm-up query");
            first.wall.push(start.elapsed().as_secs_f64());
            first.cpu.push(thread_cpu() - cpu);
        }
        let (mut hit, sizes) = measure(&runtime, &cached, mode, questions, runs, true);
        let (mut miss, _) = measure(&runtime, &uncached, mode, questions, runs, false);
        println!(
            "{:>6} cached:   {} | context: {:.1} entities, {:.1} relations, {:.1} chunks",
            mode.as_str(),
            hit.summary(),
            sizes[0],
            sizes[1],
            sizes[2]
        );
        println!("{:>6} uncached: {}", mode.as_str(), miss.summary());
        println!("{:>6} first:    {}", mode.as_str(), first.summary());
    }
}

/// The wall time of whole `lrt query` processes per mode, next to `lrt kb show`.
fn whole_processes(dir: &Path, env: &[(&'static str, String)], modes: &[QueryMode], questions: &[String], cold: usize) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    println!("\nwhole processes ({cold} runs per mode, questions cycled):");
    let mut floor = Samples::default();
    for _ in 0..cold {
        let (wall, cpu, _) = process::lrt_timed(dir, &env, &["kb", "show", "-t", "bench", "kb", "--json"]);
        floor.wall.push(wall);
        floor.cpu.push(cpu);
    }
    println!("  lrt kb show (floor):     {}", floor.summary());
    for (label, extra) in [("lrt query", None), ("lrt query --no-cache", Some("--no-cache"))] {
        let mut all = Samples::default();
        for &mode in modes {
            let mut runs = Samples::default();
            for i in 0..cold {
                let q = &questions[i % questions.len()];
                let mut args = vec![
                    "query",
                    "-t",
                    "bench",
                    "--kb",
                    "kb",
                    "--mode",
                    mode.as_str(),
                    "--json",
                    q,
                ];
                args.extend(extra);
                let (wall, cpu, _) = process::lrt_timed(dir, &env, &args);
                runs.wall.push(wall);
                runs.cpu.push(cpu);
            }
            all.wall.extend_from_slice(&runs.wall);
            all.cpu.extend_from_slice(&runs.cpu);
            println!("  {label:<23} {:>6}: {}", mode.as_str(), runs.summary());
        }
        println!("  {label:<23} {:>6}: {}", "all", all.summary());
    }
}
