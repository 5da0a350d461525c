//! Load benchmark of `lrt serve`: the release binary as a separate process on 127.0.0.1, a KB
//! built from the generated ~2 MB corpus with the offline `local` provider (copied with
//! `kb export`/`kb import` into `--kbs` KBs), and a load generator in this process: `C`
//! connections (one keep-alive HTTP/1.1 connection each, one request at a time) sending the
//! same question with the LLM cache on (warmed first), for `--secs` seconds per case.
//!
//! Cases: 16 and 64 connections × mode (naive, mix) × {one KB (always cached), requests spread
//! round-robin over all `--kbs` KBs with `--cached` engines in the LRU (thrashing)}.
//! Reported per case: requests/s, latency p50/p95/p99, the server's CPU time per request and
//! its CPU use, the load generator's CPU use (it shares the cores), and the load average.
//!
//! Run: `cargo bench --bench serve_load` (options: `-- --keep DIR` to keep and reuse the corpus
//! and KBs, `--secs S` per case (3), `--conns 16,64`, `--modes naive,mix`, `--kbs N` (6),
//! `--cached N` (2), `--mb N` (2), `--no-thrash`, `--hold` to keep the server up after the
//! cases, for `perf record -p PID`; `--pg URL` to keep the installation in a database
//! `lrt_bench_serve` made in that PostgreSQL server, and `--replicas N` to serve it with N
//! `lrt serve` processes, each with a data directory of its own, connection `c` talking to
//! replica `c % N`).
//! Issue 6 target: ≥ 2,000 cached queries/s on the 2-core VM.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/pg.rs"]
mod pg;
#[path = "support/process.rs"]
mod process;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use process::{lrt, percentile};
use serde_json::{Value, json};

const SEED: u64 = 42;
const SECRET: &str = "serve-load-bench-secret-0123456789abcdef";

struct Opts {
    mb: f64,
    secs: f64,
    conns: Vec<usize>,
    modes: Vec<String>,
    kbs: usize,
    cached: usize,
    thrash: bool,
    hold: bool,
    keep: Option<PathBuf>,
    /// A PostgreSQL server: the installation lives in its database `lrt_bench_serve`.
    pg: Option<String>,
    replicas: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        mb: 2.0,
        secs: 3.0,
        conns: vec![16, 64],
        modes: vec!["naive".into(), "mix".into()],
        kbs: 6,
        cached: 2,
        thrash: true,
        hold: false,
        keep: None,
        pg: None,
        replicas: 1,
    };
    let list = |v: Option<String>| -> Vec<String> { v.expect("a list").split(',').map(str::to_string).collect() };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mb" => o.mb = it.next().and_then(|v| v.parse().ok()).expect("--mb N"),
            "--secs" => o.secs = it.next().and_then(|v| v.parse().ok()).expect("--secs S"),
            "--conns" => {
                o.conns = list(it.next())
                    .iter()
                    .map(|c| c.parse().expect("--conns 16,64"))
                    .collect()
            }
            "--modes" => o.modes = list(it.next()),
            "--kbs" => o.kbs = it.next().and_then(|v| v.parse().ok()).expect("--kbs N"),
            "--cached" => o.cached = it.next().and_then(|v| v.parse().ok()).expect("--cached N"),
            "--no-thrash" => o.thrash = false,
            "--hold" => o.hold = true,
            "--keep" => o.keep = it.next().map(Into::into),
            "--pg" => o.pg = it.next(),
            "--replicas" => o.replicas = it.next().and_then(|v| v.parse().ok()).expect("--replicas N"),
            _ => {} // cargo bench passes `--bench`
        }
    }
    assert!(o.kbs > o.cached, "--kbs must exceed --cached for the thrashing cases");
    assert!(
        o.replicas == 1 || o.pg.is_some(),
        "--replicas needs --pg: replicas share a PostgreSQL database"
    );
    o
}

/// Builds (or reuses) `dir` with tenant `bench` and KBs `kb0`…: `kb0` ingested from the
/// corpus, the others imported from its export. Returns the tenant id and the KB ids.
fn setup(root: &Path, dir: &Path, o: &Opts, env: &[(&str, &str)]) -> (String, Vec<String>) {
    let marker = dir.join(format!("ready-{}", o.kbs));
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(dir);
        let corpus_dir = root.join("corpus");
        let _ = std::fs::remove_dir_all(&corpus_dir);
        let (docs, bytes) = corpus::write_corpus(&corpus_dir, (o.mb * 1024.0 * 1024.0) as usize, SEED);
        println!("corpus: {docs} generated documents, {:.2} MB", bytes as f64 / 1048576.0);
        lrt(dir, env, &["init", "--user", "root", "--multi-tenant", "--json"]);
        lrt(dir, env, &["tenant", "create", "bench", "--json"]);
        lrt(dir, env, &["kb", "create", "-t", "bench", "kb0", "--json"]);
        let corpus = corpus_dir.to_str().unwrap();
        let (wall, _) = lrt(dir, env, &["ingest", "-t", "bench", "--kb", "kb0", corpus, "--json"]);
        println!("ingest kb0 (local provider): {wall:.1} s");
        let archive = dir.join("kb0.lrtkb");
        let archive = archive.to_str().unwrap();
        lrt(
            dir,
            env,
            &["kb", "export", "-t", "bench", "--kb", "kb0", "--out", archive],
        );
        for i in 1..o.kbs {
            let name = format!("kb{i}");
            let (wall, _) = lrt(dir, env, &["kb", "import", "-t", "bench", archive, "--name", &name]);
            println!("import {name}: {wall:.1} s");
        }
        std::fs::write(&marker, "").unwrap();
    } else {
        println!("reusing the KBs in {}", dir.display());
    }
    // Every query is charged to the tenant's monthly quota (100,000 calls by default), which
    // a few runs of this benchmark would use up, and the default `max_concurrent_queries` (10)
    // would turn most of 64 connections' requests into 429s.
    for quota in ["max_monthly_api_calls=1000000000000", "max_concurrent_queries=1000"] {
        lrt(dir, env, &["tenant", "update", "bench", "--set", quota, "--json"]);
    }
    let (_, out) = lrt(dir, env, &["kb", "list", "-t", "bench", "--json"]);
    let kbs: Value = serde_json::from_slice(&out).unwrap();
    let mut kbs: Vec<(String, String, String)> = kbs
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let s = |f: &str| k[f].as_str().unwrap().to_string();
            (s("kb_name"), s("tenant_id"), s("kb_id"))
        })
        .collect();
    kbs.sort_by_key(|(name, _, _)| name[2..].parse::<usize>().unwrap());
    let tenant = kbs[0].1.clone();
    (tenant, kbs.into_iter().map(|(_, _, id)| id).take(o.kbs).collect())
}

/// A running `lrt serve`, stopped (SIGTERM) on drop. Its log (one access-log line per
/// request, as in production) goes next to its data directory, out of the report.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(dir: &Path, data: &Path, cached: usize, env: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(data.with_extension("serve.log")).expect("create the server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lrt"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--max-cached-instances",
                &cached.to_string(),
            ])
            .env("LRT_CONFIG", dir.join("config.toml"))
            .env("LRT_DATA_DIR", data)
            .env("TOKEN_SECRET", SECRET)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn lrt serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("lrt serve did not start: {line:?}"))
            .to_string();
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One query request: the path and its tenant headers.
#[derive(Clone)]
struct Target {
    url: String,
    tenant: String,
    kb: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .build()
        .unwrap()
}

async fn ask(http: &reqwest::Client, auth: &str, t: &Target, body: &Value) -> Result<Value, String> {
    let res = http
        .post(&t.url)
        .header("Authorization", auth)
        .header("X-Tenant-ID", &t.tenant)
        .header("X-KB-ID", &t.kb)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let bytes = res.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

struct Outcome {
    latencies: Vec<f64>,
    errors: Vec<String>,
    wall: f64,
}

/// `conns` connections, each sending requests back to back for `secs`, connection `c` to
/// replica `c % replicas`, its `n`-th request going to that replica's `targets[(c + n) % len]`.
async fn run_case(auth: &str, replicas: &[Vec<Target>], body: &Value, conns: usize, secs: f64) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|c| {
            let targets = replicas[c % replicas.len()].clone();
            let (stop, auth, body) = (stop.clone(), auth.to_string(), body.clone());
            tokio::spawn(async move {
                let http = client();
                let (mut latencies, mut errors) = (Vec::new(), Vec::new());
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match ask(&http, &auth, &targets[n % targets.len()], &body).await {
                        Ok(_) => latencies.push(t.elapsed().as_secs_f64()),
                        Err(e) => errors.push(e),
                    }
                    n += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Outcome {
        latencies: Vec::new(),
        errors: Vec::new(),
        wall: 0.0,
    };
    for task in tasks {
        let (l, e) = task.await.unwrap();
        out.latencies.extend(l);
        out.errors.extend(e);
    }
    out.wall = start.elapsed().as_secs_f64();
    out
}

fn main() {
    let o = opts();
    let tmp = tempfile::tempdir().unwrap();
    let root = o.keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let (dir, owned): (PathBuf, Vec<(&str, String)>) = match &o.pg {
        None => (root.join("serve-local"), Vec::new()),
        Some(url) => {
            let dir = root.join("serve-local-pg");
            let url = if dir.join(format!("ready-{}", o.kbs)).exists() {
                pg::database_url(url, "lrt_bench_serve")
            } else {
                pg::fresh_database(url, "lrt_bench_serve")
            };
            (dir, vec![("LRT_STORAGE", "postgres".into()), ("LRT_DATABASE_URL", url)])
        }
    };
    let storage: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (tenant, kbs) = setup(&root, &dir, &o, &storage);
    let mut token_env = storage.clone();
    token_env.push(("TOKEN_SECRET", SECRET));
    let (_, token) = lrt(&dir, &token_env, &["token", "issue", "--user", "root"]);
    let auth = format!("Bearer {}", String::from_utf8(token).unwrap().trim());
    let question = corpus::questions(1, SEED).remove(0);
    println!("question: {question:?}");
    // Replica 0 serves the data directory the KBs were built in; the others, as on other
    // machines, have empty ones and build their vector indexes from the database.
    let servers: Vec<Server> = (0..o.replicas)
        .map(|i| {
            let data = match i {
                0 => dir.join("data"),
                i => dir.join(format!("data-replica{i}")),
            };
            Server::start(&dir, &data, o.cached, &storage)
        })
        .collect();
    let pids: Vec<String> = servers.iter().map(|s| s.child.id().to_string()).collect();
    let pid = pids.join(",");
    let me = std::process::id().to_string();
    let replicas: Vec<Vec<Target>> = servers
        .iter()
        .map(|server| {
            kbs.iter()
                .map(|kb| Target {
                    url: format!("{}/api/v1/tenants/{tenant}/kbs/{kb}/query", server.base),
                    tenant: tenant.clone(),
                    kb: kb.clone(),
                })
                .collect()
        })
        .collect();
    // The generator runs on one thread, so it takes at most one of the cores.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{} server(s), pid {pid} at {}, {} KBs, --max-cached-instances {}, storage {}; load average {}",
        servers.len(),
        servers.iter().map(|s| s.base.as_str()).collect::<Vec<_>>().join(" "),
        kbs.len(),
        o.cached,
        if o.pg.is_some() { "postgresql" } else { "sqlite" },
        loadavg()
    );
    println!(
        "{:<6} {:<14} {:>5} {:>8} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8} {:>6}  load",
        "mode", "KBs", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "srv ms/req", "srv CPU", "gen CPU", "errors"
    );
    for mode in &o.modes {
        let body = json!({"question": question, "mode": mode});
        // Warm every KB's LLM cache for this question, then check the next answer is cached.
        runtime.block_on(async {
            let http = client();
            for t in replicas.iter().flatten() {
                ask(&http, &auth, t, &body).await.expect("warm-up query");
                let again = ask(&http, &auth, t, &body).await.expect("cached query");
                assert_eq!(again["llm_calls"], 0, "a warmed {mode} query called the model: {again}");
            }
            let r = ask(&http, &auth, &replicas[0][0], &body).await.expect("query");
            let len = |f: &str| r[f].as_array().map_or(0, Vec::len);
            println!(
                "{mode}: {} bytes of JSON per answer; context: {} entities, {} relations, {} chunks",
                r.to_string().len(),
                len("entities"),
                len("relations"),
                len("chunks")
            );
        });
        let mut cases: Vec<Vec<Vec<Target>>> = vec![replicas.iter().map(|t| t[..1].to_vec()).collect()];
        if o.thrash {
            cases.push(replicas.clone());
        }
        for targets in &cases {
            let label = match targets[0].len() {
                1 => "1 (cached)".to_string(),
                n => format!("{n} (thrash)"),
            };
            for &conns in &o.conns {
                let load = loadavg();
                let servers_cpu = || pids.iter().map(|p| cpu_seconds(p)).sum::<f64>();
                let (srv0, gen0) = (servers_cpu(), cpu_seconds(&me));
                let mut out = runtime.block_on(run_case(&auth, targets, &body, conns, o.secs));
                let (srv, generator) = (servers_cpu() - srv0, cpu_seconds(&me) - gen0);
                let n = out.latencies.len();
                out.latencies.sort_by(f64::total_cmp);
                let ms = |p| percentile(&out.latencies, p) * 1e3;
                println!(
                    "{mode:<6} {label:<14} {conns:>5} {:>8.0} {:>8.2} {:>8.2} {:>8.2} {:>10.3} {:>7.0}% {:>7.0}% {:>6}  {load}",
                    n as f64 / out.wall,
                    ms(50.0),
                    ms(95.0),
                    ms(99.0),
                    srv * 1e3 / n as f64,
                    srv * 100.0 / out.wall,
                    generator * 100.0 / out.wall,
                    out.errors.len(),
                );
                if let Some(e) = out.errors.first() {
                    panic!("{} requests failed, first: {e}", out.errors.len());
                }
            }
        }
    }
    if o.hold {
        println!("holding the server (pid {pid}); Ctrl-C to stop");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}
