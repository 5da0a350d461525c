//! Recall benchmark (issue 13): strict recall, self-retrieval and search latency of lrt's vector
//! indexes per kind (chunks, entities, relations) against exact search over the vectors kb.db
//! stores, on real KBs made by `lrt ingest` processes:
//!
//! * `once`: the corpus ingested in one run;
//! * `grown`: the same corpus ingested in `--runs` runs (120 by default), each a new process that
//!   reopens the saved indexes;
//! * `deleted`: `grown` after deleting every tenth document (`lrt doc delete`).
//!
//! for two embedding models: `local` (the offline provider's sparse lexical embeddings) and
//! `mock`, an OpenAI-compatible server on 127.0.0.1 embedding like the fidelity tool's mock
//! (`--embed-floor 0.3 --embed-jitter 0.002`: every text at cosine ≈ 0.3 to every other, a
//! deliberately flat landscape) plus a little noise on every dimension, so the vectors are dense
//! as real models' are and the index's i8 scan with exact re-scoring is what is measured.
//!
//! Queries: `--queries` generated questions (top k as the query path asks: chunk_top_k 20 for
//! chunks, top_k 40 for entities and relations, threshold 0.2), and every 10th stored vector
//! searched for itself. Strict recall counts the exact top-k items scoring above the k-th by
//! more than 1e-6 (ties may be swapped). Latency: in-process `VectorIndex::search` per query.
//!
//! Run: `cargo bench --bench recall` (options: `-- --docs N --runs N --queries N --keep DIR`).

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/model.rs"]
mod model;
#[path = "support/process.rs"]
mod process;
#[path = "support/recall.rs"]
mod recall;

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::FutureExt;
use lrt::llm::local::LocalProvider;
use lrt::llm::{ModelProvider, Task};
use lrt::store::kb::{KbStore, VectorKind};
use lrt::store::vectors::{Fingerprint, VectorIndex, index_path};
use process::percentile;
use recall::{Reference, exact_top, flat_embedding, strict_recall};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const DIM: usize = 1024;
const THRESHOLD: f32 = 0.2;
/// Noise on every dimension of the mock's vectors (makes them dense; see `flat_embedding`).
const NOISE: f64 = 0.1;

#[derive(Clone, Copy)]
enum Model {
    Local,
    Mock,
}

impl Model {
    fn embed(self, texts: &[String]) -> Vec<Vec<f32>> {
        match self {
            Model::Local => LocalProvider::new(DIM)
                .embed(texts)
                .now_or_never()
                .expect("local embeddings are immediate")
                .expect("local embeddings"),
            Model::Mock => texts
                .iter()
                .map(|t| flat_embedding(t, DIM, recall::FLOOR, recall::JITTER, NOISE))
                .collect(),
        }
    }
}

/// The mock model: extraction answers like the local provider, an empty gleaning pass, a
/// short summary, and [`Model::Mock`] embeddings.
struct MockModel;

impl Respond for MockModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if request.url.path().ends_with("/embeddings") {
            return model::embeddings_response(&body, Model::Mock.embed(&model::embedding_texts(&body)));
        }
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let last = messages.last().and_then(|m| m["content"].as_str()).unwrap_or("");
        let answer = match lrt::rag::prompts::extraction_text(last) {
            Some(text) => LocalProvider::answer(&Task::Extract { text: text.to_string() }),
            None if messages.len() > 2 => "<|COMPLETE|>".to_string(),
            None => last.chars().take(300).collect(),
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]
        }))
    }
}

fn lrt(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Value {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, stdout) = process::lrt(dir, &env, args);
    serde_json::from_slice(&stdout).unwrap_or(Value::Null)
}

/// Figures of one index kind.
struct Row {
    vectors: usize,
    found: usize,
    required: usize,
    self_found: usize,
    self_total: usize,
    latency: Vec<f64>,
}

fn measure(kb: &Path, model: Model, questions: &[String]) -> Vec<(VectorKind, Row)> {
    let store = KbStore::open(&lrt::store::KbLocation::sqlite(kb)).expect("kb.db");
    let queries = model.embed(questions);
    VectorKind::ALL
        .iter()
        .map(|kind| {
            let rows = store.vectors(*kind).expect("stored vectors");
            let expected = Fingerprint {
                dim: DIM,
                count: store.vector_count(*kind).unwrap(),
                generation: store.generation().unwrap(),
            };
            let (index, _) = VectorIndex::open_for_search(&index_path(kb, kind.name()), DIM, &expected, || {
                panic!("the {} index saved by lrt ingest is not trusted", kind.name())
            })
            .unwrap();
            let refs: Vec<Reference> = rows.iter().map(|(k, v)| Reference::new(*k, v)).collect();
            let k = if *kind == VectorKind::Chunks { 20 } else { 40 };
            let mut row = Row {
                vectors: rows.len(),
                found: 0,
                required: 0,
                self_found: 0,
                self_total: 0,
                latency: Vec::new(),
            };
            for q in &queries {
                let t = Instant::now();
                let hits = index.search(q, k, THRESHOLD).unwrap();
                row.latency.push(t.elapsed().as_secs_f64());
                let keys: Vec<u64> = hits.iter().map(|(key, _)| *key).collect();
                let (f, r) = strict_recall(&keys, &exact_top(&refs, q, k, f64::from(THRESHOLD)), k);
                row.found += f;
                row.required += r;
            }
            for (key, v) in rows.iter().step_by(10) {
                let top = index.search(v, 1, -1.0).unwrap();
                let exact = exact_top(&refs, v, 2, -1.0);
                row.self_total += 1;
                // Found, or a row with exactly the same score (duplicate texts) found first.
                let tied = exact.len() > 1 && exact[1].1 >= exact[0].1 - recall::TIE;
                if top.first().is_some_and(|(t, _)| t == key || tied) {
                    row.self_found += 1;
                }
            }
            (*kind, row)
        })
        .collect()
}

fn report(model: &str, kb: &str, rows: &mut [(VectorKind, Row)]) {
    for (kind, r) in rows.iter_mut() {
        r.latency.sort_by(f64::total_cmp);
        println!(
            "| {model} | {kb} | {} | {} | {:.4} ({}/{}) | {}/{} | {:.3} / {:.3} ms |",
            kind.name(),
            r.vectors,
            r.found as f64 / r.required.max(1) as f64,
            r.found,
            r.required,
            r.self_found,
            r.self_total,
            percentile(&r.latency, 50.0) * 1e3,
            percentile(&r.latency, 95.0) * 1e3,
        );
    }
}

fn kb_dir(dir: &Path, env: &[(&str, String)], name: &str) -> PathBuf {
    let kb = lrt(dir, env, &["kb", "show", "-t", "bench", name, "--json"]);
    dir.join("data/tenants")
        .join(kb["tenant_id"].as_str().unwrap())
        .join("kbs")
        .join(kb["kb_id"].as_str().unwrap())
}

fn main() {
    let (mut docs, mut runs, mut queries) = (600usize, 120usize, 40usize);
    let mut keep: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = |name: &str| {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} N"))
        };
        match a.as_str() {
            "--docs" => docs = num("--docs"),
            "--runs" => runs = num("--runs"),
            "--queries" => queries = num("--queries"),
            "--keep" => keep = it.next().map(Into::into),
            _ => {} // cargo bench passes `--bench`
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let corpus_dir = root.join("corpus");
    let bytes = corpus::write_small_docs(&corpus_dir, docs, 42);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let questions = corpus::questions(queries, 42);
    println!(
        "corpus: {docs} documents, {:.2} MB; grown over {runs} ingest runs; {queries} questions",
        bytes as f64 / 1048576.0
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let serve = |route: &'static str| async move {
        let server = MockServer::builder().disable_request_recording().start().await;
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(MockModel)
            .mount(&server)
            .await;
        server
    };
    let (chat, embeddings) =
        runtime.block_on(async { (serve("/v1/chat/completions").await, serve("/v1/embeddings").await) });
    let mock_env = model::env(&chat, &embeddings, DIM);

    println!("\n| model | KB | kind | vectors | strict recall | self-retrieval | search p50 / p95 |");
    println!("|---|---|---|---|---|---|---|");
    for (name, model, env) in [("local", Model::Local, Vec::new()), ("mock", Model::Mock, mock_env)] {
        let dir = root.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        lrt(&dir, &env, &["init", "--user", "root", "--multi-tenant", "--json"]);
        lrt(&dir, &env, &["tenant", "create", "bench", "--json"]);
        for kb in ["once", "grown"] {
            lrt(&dir, &env, &["kb", "create", "-t", "bench", kb, "--json"]);
        }
        let corpus = corpus_dir.to_str().unwrap();
        lrt(&dir, &env, &["ingest", "-t", "bench", "--kb", "once", corpus, "--json"]);
        for part in files.chunks(files.len().div_ceil(runs)) {
            let mut args = vec!["ingest", "-t", "bench", "--kb", "grown", "--json"];
            args.extend(part.iter().map(|p| p.to_str().unwrap()));
            lrt(&dir, &env, &args);
        }
        let once = kb_dir(&dir, &env, "once");
        let grown = kb_dir(&dir, &env, "grown");
        report(name, "once", &mut measure(&once, model, &questions));
        report(name, "grown", &mut measure(&grown, model, &questions));

        let listed = lrt(
            &dir,
            &env,
            &[
                "doc",
                "list",
                "-t",
                "bench",
                "--kb",
                "grown",
                "--page-size",
                "1000",
                "--json",
            ],
        );
        let ids: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["doc_id"].as_str().unwrap().to_string())
            .step_by(10)
            .collect();
        let mut args = vec!["doc", "delete", "-t", "bench", "--kb", "grown", "--yes", "--json"];
        args.extend(ids.iter().map(String::as_str));
        lrt(&dir, &env, &args);
        report(name, "deleted", &mut measure(&grown, model, &questions));
    }
}
