//! `lrt ingest`: the offline `local` provider end to end, and an OpenAI-compatible model
//! server mocked on 127.0.0.1 (extraction, embeddings, the LLM cache on retry).

mod common;

use common::{Lrt, ROOT};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris. \
Marie Curie shared the Nobel Prize in Physics with Henri Becquerel in 1903.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";

fn setup() -> (Lrt, std::path::PathBuf) {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    lrt.tenant("acme", Some("alice"));
    assert!(lrt.run_as(ROOT, &["kb", "create", "-t", "acme", "docs"]).ok());
    lrt.run_as("alice", &["member", "add", "-t", "acme", "val", "--role", "viewer"]);
    let docs = lrt.root().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("curie.md"), CURIE).unwrap();
    std::fs::write(docs.join("nasa.txt"), NASA).unwrap();
    std::fs::write(docs.join("image.bin"), [0u8, 159, 146, 150]).unwrap();
    (lrt, docs)
}

#[test]
fn local_ingest_builds_a_graph_and_the_same_content_is_a_duplicate() {
    let (lrt, docs) = setup();
    let docs = docs.to_str().unwrap();
    let report = lrt.json_as("alice", &["ingest", "-t", "acme", "--kb", "docs", docs]);
    assert_eq!(
        (report["added"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
    assert_eq!(
        report["skipped"].as_array().unwrap().len(),
        1,
        "the binary file is reported"
    );
    assert!(report["entities"].as_u64().unwrap() >= 8, "{report}");
    assert!(report["relations"].as_u64().unwrap() >= 5, "{report}");

    let again = lrt.json_as("alice", &["ingest", "-t", "acme", "--kb", "docs", docs]);
    assert_eq!(
        (again["added"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    assert_eq!(again["llm_calls"].as_u64(), Some(0));

    let kb = lrt.json_as("alice", &["kb", "show", "-t", "acme", "docs"]);
    assert_eq!(kb["document_count"].as_u64(), Some(2));
    assert_eq!(kb["entity_count"], report["entities"]);
    let dir = lrt.kb_dir(kb["tenant_id"].as_str().unwrap(), kb["kb_id"].as_str().unwrap());
    // kb.db on SQLite; on PostgreSQL the rows are in the database and the folder only keeps
    // the derived indexes.
    assert_eq!(dir.join("kb.db").exists(), lrt.database().is_none());
    for kind in ["chunks", "entities", "relations"] {
        assert!(dir.join("vectors").join(format!("{kind}.vec")).exists(), "{kind} index");
    }
}

#[test]
fn file_names_no_upload_may_carry_are_skipped_with_the_reason() {
    let (lrt, docs) = setup();
    std::fs::write(docs.join("bidi\u{202e}txt.exe"), NASA).unwrap();
    std::fs::write(docs.join("esc\u{1b}]0;title\u{7}.md"), CURIE).unwrap();
    let report = lrt.json_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", docs.to_str().unwrap()],
    );
    assert_eq!(report["added"].as_u64(), Some(2), "{report}");
    let reasons: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons.iter().filter(|r| r.starts_with("invalid file name")).count(),
        2,
        "{reasons:?}"
    );
    // In a terminal's table the names are escaped too.
    let table = lrt.run_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", docs.to_str().unwrap()],
    );
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        !table.stderr.contains('\u{1b}') && !table.stderr.contains('\u{202e}'),
        "{}",
        table.stderr
    );
    assert!(table.stderr.contains("\\u{202e}"), "{}", table.stderr);
    let docs = lrt.json_as("alice", &["doc", "list", "-t", "acme", "--kb", "docs"]);
    assert_eq!(docs.as_array().unwrap().len(), 2, "{docs}");
}

#[test]
fn stdin_is_a_document_and_viewers_cannot_ingest() {
    let (lrt, _) = setup();
    let mut cmd = lrt.cmd();
    let out = cmd
        .env("LRT_USER", "alice")
        .args(["ingest", "-t", "acme", "--kb", "docs", "-", "--json"])
        .write_stdin(NASA)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["documents"][0]["file_path"], "stdin");

    let run = lrt.run_as("val", &["ingest", "-t", "acme", "--kb", "docs", "-"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("document:create"), "{}", run.stderr);
    let run = lrt.run_as("mallory", &["ingest", "-t", "acme", "--kb", "docs", "-"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs"]).code,
        2,
        "no inputs"
    );
}

#[test]
fn another_embedding_model_is_refused_once_the_kb_is_built() {
    let (lrt, docs) = setup();
    let curie = docs.join("curie.md");
    let curie = curie.to_str().unwrap();
    assert!(
        lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs", curie])
            .ok()
    );
    let run = lrt.run(
        Some("alice"),
        &[("EMBEDDING_DIM", "64")],
        &["ingest", "-t", "acme", "--kb", "docs", curie],
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains("1024") && run.stderr.contains("64"),
        "{}",
        run.stderr
    );
}

#[test]
fn quota_on_documents_is_enforced_before_anything_is_written() {
    let (lrt, docs) = setup();
    assert!(
        lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", "max_documents=1"])
            .ok()
    );
    let run = lrt.run_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", docs.to_str().unwrap()],
    );
    assert_eq!(run.code, 7, "{}", run.stderr);
    let kb = lrt.json_as("alice", &["kb", "show", "-t", "acme", "docs"]);
    assert_eq!(kb["document_count"].as_u64(), Some(0));
}

#[test]
fn concurrent_ingests_cannot_pass_the_document_quota_together() {
    let (lrt, _) = setup();
    assert!(
        lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", "max_documents=3"])
            .ok()
    );
    for kb in ["k1", "k2", "k3"] {
        assert!(lrt.run_as(ROOT, &["kb", "create", "-t", "acme", kb]).ok());
    }
    // Four runs of two new documents each, started together into three KBs.
    let runs: Vec<_> = (0..4)
        .map(|n| {
            let dir = lrt.root().join(format!("batch{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            for d in 0..2 {
                std::fs::write(
                    dir.join(format!("doc{d}.md")),
                    format!("Batch {n} document {d} tells of the harbour town number {n}{d}."),
                )
                .unwrap();
            }
            let kb = ["docs", "k1", "k2", "k3"][n];
            lrt.process("alice", &["ingest", "-t", "acme", "--kb", kb, dir.to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<i32> = runs
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 7), "{codes:?}");
    let tenant = lrt.json_as(ROOT, &["tenant", "show", "acme"]);
    assert_eq!(tenant["total_documents"], 2, "{tenant}");
    // The reservation is given back once the run's statistics are written.
    assert!(
        lrt.run_as(
            "alice",
            &[
                "ingest",
                "-t",
                "acme",
                "--kb",
                "k1",
                lrt.root().join("batch0/doc0.md").to_str().unwrap()
            ]
        )
        .ok()
    );
    let run = lrt.run_as(
        "alice",
        &[
            "ingest",
            "-t",
            "acme",
            "--kb",
            "k2",
            lrt.root().join("batch1").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 7, "{}", run.stderr);
}

/// An OpenAI-compatible embeddings endpoint: one 8-dimensional vector per input text.
struct Embeddings;

impl Respond for Embeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let data: Vec<Value> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let len = text.as_str().unwrap().len() as f32;
                json!({"index": i, "embedding": [1.0, len, 0.5, 0.25, 0.0, 1.0, 2.0, (i + 1) as f32]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data}))
    }
}

fn chat(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
    }))
}

const RECORDS: &str = "entity<|#|>Marie Curie<|#|>Person<|#|>A physicist.\n\
entity<|#|>Paris<|#|>Location<|#|>A city.\n\
relation<|#|>Marie Curie<|#|>Paris<|#|>worked in<|#|>Marie Curie worked in Paris.\n<|COMPLETE|>";

fn openai_env(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("LLM_BINDING", "openai".into()),
        ("LLM_BINDING_HOST", server.uri()),
        ("LLM_BINDING_API_KEY", "sk-test".into()),
        ("LLM_MODEL", "mock-chat".into()),
        ("EMBEDDING_BINDING", "openai".into()),
        ("EMBEDDING_BINDING_HOST", server.uri()),
        ("EMBEDDING_MODEL", "mock-embed".into()),
        ("EMBEDDING_DIM", "8".into()),
        ("LRT_LLM_MAX_RETRIES", "0".into()),
        ("LRT_EMBEDDING_MAX_RETRIES", "0".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_compatible_server_builds_the_graph_and_a_retry_reuses_the_llm_cache() {
    let (lrt, docs) = setup();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(chat(RECORDS))
        .mount(&server)
        .await;
    // The embedding server is down at first: the document fails, the KB does not.
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let env = openai_env(&server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let curie = docs.join("curie.md").to_str().unwrap().to_string();
    let args = ["ingest", "-t", "acme", "--kb", "docs", &curie, "--json"];
    let first = lrt.run(Some("alice"), &env, &args);
    assert_eq!(first.code, 8, "{}", first.stderr);
    let report = first.json();
    assert_eq!(
        (report["failed"].as_u64(), report["llm_calls"].as_u64()),
        (Some(1), Some(2)),
        "{report}"
    );

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(Embeddings)
        .mount(&server)
        .await;
    let retry = lrt.run(
        Some("alice"),
        &env,
        &["ingest", "-t", "acme", "--kb", "docs", "--retry-failed", "--json"],
    );
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    let report = retry.json();
    assert_eq!(report["added"].as_u64(), Some(1), "{report}");
    assert_eq!(
        (report["llm_calls"].as_u64(), report["cache_hits"].as_u64()),
        (Some(0), Some(2)),
        "{report}"
    );
    assert_eq!(
        (report["entities"].as_u64(), report["relations"].as_u64()),
        (Some(2), Some(1)),
        "{report}"
    );
    let kb = lrt.json_as("alice", &["kb", "show", "-t", "acme", "docs"]);
    assert_eq!(
        (kb["entity_count"].as_u64(), kb["relation_count"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn reindex_rebuilds_lost_vectors_and_reembed_switches_the_model() {
    let (lrt, docs) = setup();
    let docs = docs.to_str().unwrap();
    assert!(
        lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs", docs])
            .ok()
    );
    let kb = lrt.json_as("alice", &["kb", "show", "-t", "acme", "docs"]);
    let dir = lrt.kb_dir(kb["tenant_id"].as_str().unwrap(), kb["kb_id"].as_str().unwrap());
    std::fs::remove_dir_all(dir.join("vectors")).unwrap();

    let out = lrt.json_as("alice", &["kb", "reindex", "-t", "acme", "docs"]);
    assert_eq!(out["vectors"]["chunks"].as_u64(), Some(2), "{out}");
    assert_eq!(out["vectors"]["entities"], kb["entity_count"]);
    assert!(dir.join("vectors/entities.vec").exists());
    assert_eq!(
        lrt.run_as("val", &["kb", "reindex", "-t", "acme", "docs"]).code,
        5,
        "viewers may not reindex"
    );

    // Switching the embedding dimension needs --reembed (and --yes without a terminal).
    let env = [("EMBEDDING_DIM", "64")];
    let reembed = ["kb", "reindex", "-t", "acme", "docs", "--reembed"];
    assert_eq!(lrt.run(Some("alice"), &env, &reembed).code, 10);
    let run = lrt.run(Some("alice"), &env, &[&reembed[..], &["--yes", "--json"]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["reembedded"], true);
    let more = lrt.run(
        Some("alice"),
        &env,
        &["ingest", "-t", "acme", "--kb", "docs", "--retry-failed"],
    );
    assert_eq!(more.code, 0, "the new model is accepted: {}", more.stderr);
    assert_eq!(
        lrt.run_as("alice", &["ingest", "-t", "acme", "--kb", "docs", docs])
            .code,
        6,
        "the old model is refused now"
    );
}

#[test]
fn debug_commands_show_chunks_and_parsed_records_in_upstream_field_names() {
    let (lrt, docs) = setup();
    let file = docs.join("curie.md");
    let chunks = lrt.json_as(
        ROOT,
        &[
            "debug",
            "chunk",
            file.to_str().unwrap(),
            "--size",
            "20",
            "--overlap",
            "5",
        ],
    );
    let chunks = chunks.as_array().unwrap();
    assert!(chunks.len() > 2);
    assert_eq!(
        common::keys(&chunks[0]),
        common::sorted(&["tokens", "content", "chunk_order_index"])
    );
    assert_eq!(
        lrt.run_as(
            ROOT,
            &[
                "debug",
                "chunk",
                file.to_str().unwrap(),
                "--size",
                "5",
                "--overlap",
                "5"
            ]
        )
        .code,
        2
    );

    let answer = lrt.root().join("answer.txt");
    std::fs::write(&answer, RECORDS).unwrap();
    let parsed = lrt.json_as(
        ROOT,
        &[
            "debug",
            "parse-extraction",
            answer.to_str().unwrap(),
            "--chunk-id",
            "c1",
        ],
    );
    assert_eq!(parsed["entities"].as_array().unwrap().len(), 2);
    assert_eq!(parsed["entities"][0]["entity_type"], "person");
    assert_eq!(parsed["relations"][0]["source_id"], "c1");
    assert_eq!(parsed["relations"][0]["weight"], 1.0);
}

/// `lrt ingest PATH --json` into acme's `kb`, as alice, with the model environment `env`.
fn ingest_with(lrt: &Lrt, env: &[(&'static str, String)], kb: &str, path: &std::path::Path) -> common::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lrt.run(
        Some("alice"),
        &env,
        &["ingest", "-t", "acme", "--kb", kb, path.to_str().unwrap(), "--json"],
    )
}

/// acme's `kb` as `lrt graph export --format json` prints it.
fn graph_of(lrt: &Lrt, kb: &str) -> Value {
    lrt.json_as(
        "alice",
        &["graph", "export", "-t", "acme", "--kb", kb, "--format", "json"],
    )
}

/// A document merges while the documents merged before it are still being embedded and
/// committed, reading their rows from the staging area. A corpus ingested at once (three
/// documents in flight, embeddings slow enough that merged documents wait for their commit)
/// must make the graph that ingesting one document at a time makes: every chunk credited to
/// its entities and relations, every relation's evidence counted. (Descriptions and types
/// may differ with the order in which documents merge, so they are not compared.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_in_flight_merge_as_if_ingested_one_at_a_time() {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    lrt.tenant("acme", Some("alice"));
    for kb in ["together", "one-by-one"] {
        assert!(lrt.run_as(ROOT, &["kb", "create", "-t", "acme", kb]).ok());
    }
    let corpus = lrt.root().join("corpus");
    common::model::write_corpus(&corpus, 12, 6);
    let server = common::model::server(0, 40).await;
    let env = common::model::env(&server);
    let ingest = |kb: &str, path: &std::path::Path| {
        let out = ingest_with(&lrt, &env, kb, path);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()
    };
    let report = ingest("together", &corpus);
    assert_eq!(report["added"].as_u64(), Some(12), "{report}");
    let mut files: Vec<_> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in &files {
        ingest("one-by-one", file);
    }

    // Per entity its chunks; per relation its weight and chunks.
    let graph = |kb: &str| {
        let export = graph_of(&lrt, kb);
        let chunks = |v: &Value| {
            let mut ids: Vec<String> = v["source_id"]
                .as_str()
                .unwrap()
                .split("<SEP>")
                .map(String::from)
                .collect();
            ids.sort();
            ids
        };
        let nodes: Vec<(String, Vec<String>)> = export["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["entity_id"].as_str().unwrap().to_string(), chunks(n)))
            .collect();
        let edges: Vec<(String, String, String, Vec<String>)> = export["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let field = |k: &str| e[k].as_str().unwrap().to_string();
                (field("source"), field("target"), e["weight"].to_string(), chunks(e))
            })
            .collect();
        (nodes, edges)
    };
    let (together, one_by_one) = (graph("together"), graph("one-by-one"));
    assert!(together.0.len() > 10 && together.1.len() > 10, "{together:?}");
    assert_eq!(
        (together.0.len(), together.1.len()),
        (one_by_one.0.len(), one_by_one.1.len())
    );
    for (a, b) in together.0.iter().zip(&one_by_one.0) {
        assert_eq!(a, b, "an entity's chunks");
    }
    for (a, b) in together.1.iter().zip(&one_by_one.1) {
        assert_eq!(a, b, "a relation's weight and chunks");
    }
}

/// A model under which one document fails late. Extraction answers like the local provider:
/// at once for the chunk that names Canary Wharf, after a second for any other, so that
/// document merges first (with a margin for a loaded machine). Embedding Canary Wharf's
/// entity row fails after two seconds, so the other document merges against its staged rows
/// before it fails.
struct FailsLate;

impl Respond for FailsLate {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        use common::model::{Kind, embedding_inputs, embeddings, request_kind};
        use lrt::llm::Task;
        use lrt::llm::local::LocalProvider;
        let answer = match request_kind(request) {
            Kind::Embed => {
                let texts = embedding_inputs(request);
                if texts.iter().any(|t| t.starts_with("Canary Wharf\n")) {
                    return ResponseTemplate::new(500).set_delay(std::time::Duration::from_secs(2));
                }
                return embeddings(&texts);
            }
            Kind::Extract(text) if text.contains("Canary Wharf") => {
                return chat(&LocalProvider::answer(&Task::Extract { text }));
            }
            Kind::Extract(text) => {
                return chat(&LocalProvider::answer(&Task::Extract { text }))
                    .set_delay(std::time::Duration::from_secs(1));
            }
            Kind::Glean => "<|COMPLETE|>",
            Kind::Summary => "A merged description.",
        };
        chat(answer)
    }
}

/// A document whose commit fails takes its staged rows with it: the document that merged
/// against them merges again and commits a graph without a trace of the failed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_merged_against_one_that_then_fails_merges_again() {
    let (lrt, _) = setup();
    let docs = lrt.root().join("late");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("a.md"),
        "Ada Lovelace visited Canary Wharf with Charles Babbage.",
    )
    .unwrap();
    std::fs::write(docs.join("b.md"), "Ada Lovelace met Charles Babbage in London.").unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(FailsLate).mount(&server).await;
    let mut env = common::model::env(&server);
    env.push(("LRT_LLM_MAX_RETRIES", "0".into()));
    env.push(("LRT_EMBEDDING_MAX_RETRIES", "0".into()));

    let out = ingest_with(&lrt, &env, "docs", &docs);
    assert_eq!(out.code, 8, "{}", out.stderr);
    let report = out.json();
    assert_eq!(
        (report["added"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    // London is b.md's alone: its row was embedded by b.md's first merge and again by the second.
    let london = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("\"London\\n"))
        .count();
    assert_eq!(london, 2, "b.md merged twice");

    let export = graph_of(&lrt, "docs");
    let text = export.to_string();
    assert!(!text.contains("Canary"), "{export:#}");
    let ada = export["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["entity_id"] == "Ada Lovelace")
        .unwrap_or_else(|| panic!("{export:#}"));
    assert!(
        !ada["source_id"].as_str().unwrap().contains("<SEP>"),
        "one chunk: {ada}"
    );
}

/// The relation quota counts the rows of documents merged but not yet committed: with
/// documents in flight (embeddings slow enough that merged documents wait for their commit),
/// the KB stops at the quota, and each document that would cross it fails whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relation_quota_holds_with_documents_in_flight() {
    let (lrt, _) = setup();
    assert!(
        lrt.run_as(
            ROOT,
            &["tenant", "update", "acme", "--set", "max_relationships_per_kb=30"]
        )
        .ok()
    );
    let corpus = lrt.root().join("corpus");
    common::model::write_corpus(&corpus, 12, 6);
    let server = common::model::server(0, 40).await;
    let out = ingest_with(&lrt, &common::model::env(&server), "docs", &corpus);
    assert_eq!(out.code, 7, "{}", out.stderr);
    let report = out.json();
    let failed: Vec<&Value> = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["outcome"] == "failed")
        .collect();
    assert!(!failed.is_empty() && report["added"].as_u64() > Some(0), "{report}");
    for doc in &failed {
        assert!(
            doc["error"]
                .as_str()
                .unwrap()
                .contains("max_relationships_per_kb is 30"),
            "{doc}"
        );
    }
    let kb = lrt.json_as("alice", &["kb", "show", "-t", "acme", "docs"]);
    let export = graph_of(&lrt, "docs");
    let edges = export["edges"].as_array().unwrap().len() as u64;
    assert!(edges <= 30, "{edges} relations");
    assert_eq!(kb["relation_count"].as_u64(), Some(edges), "{kb}");
    assert_eq!(kb["document_count"], report["added"], "{kb}");
}
