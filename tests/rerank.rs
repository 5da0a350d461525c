//! Reranking through the real binary: mock rerank servers on 127.0.0.1 in each wire format
//! (cohere, jina, aliyun) checking the request lrt sends and the order, scores and cuts it
//! applies; `MIN_RERANK_SCORE`; failures (HTTP 500, timeout, bad JSON) falling back to the
//! retrieval order with a warning; the LLM cache; `--rerank`/`--no-rerank`; the offline
//! reranker of the `local` provider; and retrieval left exactly as it was when no reranker is
//! configured with HTTP model providers.

mod common;

use std::time::Duration;

use common::{Lrt, ROOT};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const QUESTION: &str = "Which lighthouse keeps the oldest lamp?";
const RERANK_PATH: &str = "/v1/rerank";

/// Five one-chunk documents about lighthouses, so a naive query finds all of them.
fn docs() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "north.md",
            "The North Point lighthouse has a lamp from 1890 and a red tower.",
        ),
        (
            "south.md",
            "The South Cape lighthouse keeps the oldest lamp of the coast, lit in 1822.",
        ),
        (
            "east.md",
            "East Rock lighthouse stands on a granite reef with a modern lamp.",
        ),
        (
            "west.md",
            "West Harbour lighthouse was rebuilt after a storm; its lamp is electric.",
        ),
        (
            "isle.md",
            "The Isle lighthouse keeper logs every lamp change in a book.",
        ),
    ]
}

/// A KB `acme/kb` holding [`docs`], ingested with the given model environment.
fn installation(env: &[(&str, &str)]) -> Lrt {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    lrt.tenant("acme", Some("alice"));
    assert!(lrt.run_as(ROOT, &["kb", "create", "-t", "acme", "kb"]).ok());
    let dir = lrt.root().join("home/lights");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in docs() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let run = lrt.run(
        Some("alice"),
        env,
        &["ingest", "-t", "acme", "--kb", "kb", "lights", "--json"],
    );
    assert!(run.ok(), "{}", run.stderr);
    lrt
}

/// `lrt query --json --only-context` as alice with `env` and extra flags.
fn context(lrt: &Lrt, env: &[(&str, &str)], mode: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "query",
        "-t",
        "acme",
        "--kb",
        "kb",
        "--json",
        "--only-context",
        "--mode",
        mode,
    ];
    args.extend_from_slice(extra);
    args.push(QUESTION);
    let run = lrt.run(Some("alice"), env, &args);
    assert!(run.ok(), "{}", run.stderr);
    run.json()
}

fn contents(result: &Value) -> Vec<String> {
    result["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content"].as_str().unwrap().to_string())
        .collect()
}

/// Scores each document by its position, the last best: the reranked order is the reverse of
/// the request's. Answered in `wire`'s format (`aliyun` nests the list under `output`).
fn reversing(wire: &'static str) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    move |req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let docs = if wire == "aliyun" {
            &body["input"]["documents"]
        } else {
            &body["documents"]
        };
        let n = docs.as_array().unwrap().len();
        let results: Vec<Value> = (0..n)
            .rev()
            .map(|i| json!({"index": i, "relevance_score": (i + 1) as f64 / n as f64}))
            .collect();
        let answer = if wire == "aliyun" {
            json!({"output": {"results": results}, "usage": {"total_tokens": 1}})
        } else {
            json!({"id": "r1", "results": results})
        };
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

async fn rerank_server(respond: impl wiremock::Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(RERANK_PATH))
        .respond_with(respond)
        .mount(&server)
        .await;
    server
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn rerank_env(binding: &str, server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("RERANK_BINDING", binding.to_string()),
        ("RERANK_BINDING_HOST", format!("{}{RERANK_PATH}", server.uri())),
        ("RERANK_MODEL", "mock-rerank".into()),
        ("RERANK_BINDING_API_KEY", "rk-secret".into()),
        ("LRT_RERANK_MAX_RETRIES", "0".into()),
    ]
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wire_format_sends_upstreams_request_and_reorders_the_chunks() {
    let lrt = installation(&[]);
    let plain = context(&lrt, &[], "naive", &["--no-rerank"]);
    let plain_order = contents(&plain);
    assert_eq!(plain_order.len(), 5, "{plain}");
    assert!(plain.get("rerank").is_none(), "{plain}");

    for wire in ["cohere", "jina", "aliyun"] {
        let server = rerank_server(reversing(wire)).await;
        let env = rerank_env(wire, &server);
        let out = context(&lrt, &pairs(&env), "naive", &["--no-cache"]);
        let mut reversed = plain_order.clone();
        reversed.reverse();
        assert_eq!(contents(&out), reversed, "{wire}: {out}");
        assert_eq!(out["rerank"]["binding"], wire);
        assert_eq!(out["rerank"]["model"], "mock-rerank");
        assert_eq!(out["rerank"]["candidates"], 5);
        assert_eq!(out["chunks"][0]["rerank_score"], 1.0);
        assert_eq!(out["chunks"][4]["rerank_score"], 0.2);

        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1, "{wire}");
        let auth = received[0].headers.get("authorization").unwrap().to_str().unwrap();
        assert_eq!(auth, "Bearer rk-secret");
        let body: Value = serde_json::from_slice(&received[0].body).unwrap();
        let expected = match wire {
            "cohere" => json!({"model": "mock-rerank", "query": QUESTION, "documents": plain_order, "top_n": 20}),
            "jina" => json!({"model": "mock-rerank", "query": QUESTION, "documents": plain_order, "top_n": 20,
                             "return_documents": false}),
            _ => json!({"model": "mock-rerank", "input": {"query": QUESTION, "documents": plain_order},
                        "parameters": {"top_n": 20, "return_documents": false}}),
        };
        assert_eq!(body, expected, "{wire}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mix_mode_reranks_and_min_rerank_score_filters() {
    let lrt = installation(&[]);
    let server = rerank_server(reversing("cohere")).await;
    let env = rerank_env("cohere", &server);
    let out = context(&lrt, &pairs(&env), "mix", &[]);
    let scores: Vec<f64> = out["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rerank_score"].as_f64().unwrap())
        .collect();
    assert!(!scores.is_empty() && scores.windows(2).all(|w| w[0] >= w[1]), "{out}");
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["documents"].as_array().unwrap().len() as u64,
        out["rerank"]["candidates"].as_u64().unwrap()
    );

    // MIN_RERANK_SCORE drops what scores below it; `--chunk-top-k` is the top_n asked for.
    let mut strict = env.clone();
    strict.push(("MIN_RERANK_SCORE", "0.5".into()));
    let out = context(&lrt, &pairs(&strict), "naive", &["--chunk-top-k", "4"]);
    assert_eq!(contents(&out).len(), 3, "0.5, 0.75 and 1.0 pass, 0.25 does not: {out}");
    assert_eq!(out["rerank"]["below_min_score"], 1);
    assert_eq!(out["rerank"]["ranked"], 4);
    assert_eq!(bodies(&server).await.last().unwrap()["top_n"], 4);
    // Nothing left in naive mode is no context at all.
    let mut none = env.clone();
    none.push(("MIN_RERANK_SCORE", "2".into()));
    let out = context(&lrt, &pairs(&none), "naive", &[]);
    assert_eq!(out["no_context"], true, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_cached_per_question_and_flags_turn_reranking_on_and_off() {
    let lrt = installation(&[]);
    let server = rerank_server(reversing("cohere")).await;
    let env = rerank_env("cohere", &server);
    let first = context(&lrt, &pairs(&env), "naive", &[]);
    let again = context(&lrt, &pairs(&env), "naive", &[]);
    assert_eq!(first["rerank"]["cached"], false);
    assert_eq!(again["rerank"]["cached"], true);
    assert_eq!(contents(&first), contents(&again));
    assert_eq!(bodies(&server).await.len(), 1, "the repeat was read from the LLM cache");
    // Another model is another cache entry.
    let mut other = env.clone();
    other.push(("RERANK_MODEL", "other-model".into()));
    let out = context(&lrt, &pairs(&other), "naive", &[]);
    assert_eq!(out["rerank"]["cached"], false);
    assert_eq!(bodies(&server).await.len(), 2);

    // --no-rerank never calls the server; RERANK_BY_DEFAULT=false waits for --rerank.
    let off = context(&lrt, &pairs(&env), "naive", &["--no-rerank"]);
    assert!(off.get("rerank").is_none());
    let mut opt_in = env.clone();
    opt_in.push(("RERANK_BY_DEFAULT", "false".into()));
    let quiet = context(&lrt, &pairs(&opt_in), "naive", &[]);
    assert!(quiet.get("rerank").is_none());
    assert_eq!(bodies(&server).await.len(), 2);
    let asked = context(
        &lrt,
        &pairs(&opt_in),
        "naive",
        &["--no-rerank", "--rerank", "--no-cache"],
    );
    assert_eq!(asked["rerank"]["binding"], "cohere");
    assert_eq!(bodies(&server).await.len(), 3);
    // `lrt chat` takes the same flags, for the whole session.
    for (flag, calls) in [("--no-rerank", 3), ("--rerank", 4)] {
        let mut cmd = lrt.cmd();
        cmd.env("LRT_USER", "alice");
        // A model of its own, so no cached answer stands in for the call.
        for (k, v) in opt_in.iter().chain([&("RERANK_MODEL", "chat-model".to_string())]) {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["chat", "-t", "acme", "--kb", "kb", "--mode", "naive", flag])
            .write_stdin(format!("/context {QUESTION}\n"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(bodies(&server).await.len(), calls, "chat {flag}");
    }
    // A KB's rerank_model wins over RERANK_MODEL, as llm_model over LLM_MODEL.
    let set = ["kb", "update", "-t", "acme", "kb", "--set", "rerank_model=kb-reranker"];
    assert!(lrt.run_as("alice", &set).ok());
    context(&lrt, &pairs(&env), "naive", &["--no-cache"]);
    assert_eq!(bodies(&server).await.last().unwrap()["model"], "kb-reranker");
    // The KB's own enable_rerank wins over RERANK_BY_DEFAULT.
    let set = ["kb", "update", "-t", "acme", "kb", "--set", "enable_rerank=false"];
    assert!(lrt.run_as("alice", &set).ok());
    assert!(context(&lrt, &pairs(&env), "naive", &[]).get("rerank").is_none());

    // --rerank with no reranker configured says so.
    let warned = context(&lrt, &[("RERANK_BINDING", "null")], "naive", &["--rerank"]);
    let warnings = warned["warnings"].to_string();
    assert!(warnings.contains("no reranker is configured"), "{warnings}");
}

/// A failure: its name, the server's answer, extra environment, and what the fallback says.
type FailureCase = (
    &'static str,
    ResponseTemplate,
    Vec<(&'static str, String)>,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_keep_the_retrieval_order_with_a_warning() {
    let lrt = installation(&[]);
    let plain = contents(&context(&lrt, &[], "naive", &["--no-rerank"]));
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({"results": []}))
        .set_delay(Duration::from_secs(5));
    let cases: Vec<FailureCase> = vec![
        (
            "500",
            ResponseTemplate::new(500).set_body_string("boom"),
            vec![],
            "HTTP 500",
        ),
        ("timeout", slow, vec![("RERANK_TIMEOUT", "1".to_string())], "no answer"),
        (
            "bad json",
            ResponseTemplate::new(200).set_body_string("{not json"),
            vec![],
            "unexpected answer",
        ),
        (
            "no list",
            ResponseTemplate::new(200).set_body_json(json!({"data": 1})),
            vec![],
            "without a `results` list",
        ),
        (
            "empty",
            ResponseTemplate::new(200).set_body_json(json!({"results": []})),
            vec![],
            "ranked none",
        ),
    ];
    for (name, template, extra, why) in cases {
        let server = rerank_server(template).await;
        let mut env = rerank_env("cohere", &server);
        env.extend(extra);
        let out = context(&lrt, &pairs(&env), "naive", &[]);
        assert_eq!(contents(&out), plain, "{name}: {out}");
        let fallback = out["rerank"]["fallback"].as_str().unwrap_or_default();
        assert!(fallback.contains(why), "{name}: {fallback}");
        assert!(!fallback.contains("rk-secret"), "{name}: the key never shows");
        let warnings = out["warnings"].to_string();
        assert!(warnings.contains("retrieval order"), "{name}: {warnings}");
        assert!(out["chunks"][0].get("rerank_score").is_none(), "{name}");
    }
    // The human output says so too.
    let server = rerank_server(ResponseTemplate::new(500)).await;
    let env = rerank_env("cohere", &server);
    let run = lrt.run(
        Some("alice"),
        &pairs(&env),
        &["query", "-t", "acme", "--kb", "kb", "--mode", "naive", QUESTION],
    );
    assert!(run.ok(), "{}", run.stderr);
    assert!(run.stderr.contains("warning: reranking failed"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_documents_are_scored_by_windows_and_keep_their_best() {
    let lrt = installation(&[]);
    let plain = contents(&context(&lrt, &[], "naive", &["--no-rerank"]));
    // Windows of 8 tokens: every document is cut; the server scores a window by whether it
    // holds "1822", so the South Cape document comes first, the others keep their order.
    let server = rerank_server(|req: &Request| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let results: Vec<Value> = body["documents"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"index": i, "relevance_score": if d.as_str().unwrap().contains("1822") { 0.9 } else { 0.1 }}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"results": results}))
    })
    .await;
    let mut env = rerank_env("cohere", &server);
    env.push(("RERANK_ENABLE_CHUNKING", "true".into()));
    env.push(("RERANK_MAX_TOKENS_PER_DOC", "8".into()));
    let out = context(&lrt, &pairs(&env), "naive", &[]);
    let order = contents(&out);
    assert!(order[0].contains("1822"), "{out}");
    let rest: Vec<&String> = plain.iter().filter(|c| !c.contains("1822")).collect();
    assert_eq!(order[1..].iter().collect::<Vec<_>>(), rest);
    let sent = bodies(&server).await;
    assert!(sent[0].get("top_n").is_none(), "windows are all scored: {}", sent[0]);
    assert!(sent[0]["documents"].as_array().unwrap().len() > 5);

    // Bad values are refused with the variable's name.
    for (var, value) in [
        ("RERANK_BINDING", "voyage"),
        ("MIN_RERANK_SCORE", "high"),
        ("RERANK_MAX_TOKENS_PER_DOC", "0"),
        ("RERANK_BY_DEFAULT", "maybe"),
        ("RERANK_TIMEOUT", "-1"),
    ] {
        let run = lrt.run(
            Some("alice"),
            &[(var, value)],
            &["query", "-t", "acme", "--kb", "kb", QUESTION],
        );
        assert_eq!(run.code, 2, "{var}={value}: {}", run.stderr);
        assert!(run.stderr.contains(var), "{var}: {}", run.stderr);
    }
    let run = lrt.run(
        Some("alice"),
        &[("RERANK_BINDING", "cohere"), ("RERANK_BINDING_HOST", "localhost:8000")],
        &["query", "-t", "acme", "--kb", "kb", QUESTION],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("RERANK_BINDING_HOST"), "{}", run.stderr);
}

#[test]
fn the_local_provider_reranks_offline_by_default() {
    let lrt = installation(&[]);
    let out = context(&lrt, &[], "naive", &[]);
    assert_eq!(out["rerank"]["binding"], "local");
    assert_eq!(out["rerank"]["model"], "lrt-bm25-v1");
    // The chunk sharing most of the question's rare terms ("oldest", "keeps") comes first.
    assert!(contents(&out)[0].contains("1822"), "{out}");
    assert_eq!(out["chunks"][0]["rerank_score"], 1.0);
    let off = context(&lrt, &[("RERANK_BINDING", "null")], "naive", &[]);
    assert!(off.get("rerank").is_none());
    assert_eq!(contents(&off), contents(&context(&lrt, &[], "naive", &["--no-rerank"])));
}

/// With HTTP model providers and no reranker configured, the context is what it was before
/// rerankers existed: the same as with reranking turned off every other way, no `rerank`
/// report and no scores (upstream fidelity is measured on this context).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_reranker_http_retrieval_is_unchanged() {
    let model = common::model::server(0, 0).await;
    let model_env = common::model::env(&model);
    let base = pairs(&model_env);
    let lrt = installation(&base);
    let rerank = rerank_server(reversing("cohere")).await;
    let mut configured = model_env.clone();
    configured.extend(rerank_env("cohere", &rerank));
    let mut null = model_env.clone();
    null.push(("RERANK_BINDING", "null".into()));
    for mode in ["naive", "mix", "local", "hybrid"] {
        let unset = context(&lrt, &base, mode, &[]);
        assert!(unset.get("rerank").is_none(), "{mode}: {unset}");
        assert!(
            unset["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c.get("rerank_score").is_none())
        );
        for other in [
            context(&lrt, &pairs(&null), mode, &[]),
            context(&lrt, &base, mode, &["--no-rerank"]),
            context(&lrt, &pairs(&configured), mode, &["--no-rerank"]),
        ] {
            assert_eq!(other["context"], unset["context"], "{mode}");
            assert_eq!(other["chunks"], unset["chunks"], "{mode}");
        }
    }
    assert!(bodies(&rerank).await.is_empty());
}

/// `enable_rerank` in the body of `POST …/query` of `lrt serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_route_takes_enable_rerank() {
    let lrt = installation(&[]);
    let kb = lrt.json_as("alice", &["kb", "show", "-t", "acme", "kb"]);
    let route = format!(
        "/api/v1/tenants/{}/kbs/{}/query",
        kb["tenant_id"].as_str().unwrap(),
        kb["kb_id"].as_str().unwrap()
    );
    let rerank = rerank_server(reversing("jina")).await;
    let env = rerank_env("jina", &rerank);
    let srv = common::server::start(&lrt, &pairs(&env));
    let token = common::server::token(&lrt, "alice");
    let ask = |enable: Option<bool>| {
        let mut body = json!({"question": QUESTION, "mode": "naive", "only_context": true});
        if let Some(b) = enable {
            body["enable_rerank"] = b.into();
        }
        body
    };
    let off = srv.post(&route, &token, ask(Some(false))).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(off.body.get("rerank").is_none(), "{}", off.body);
    assert!(bodies(&rerank).await.is_empty());
    for enable in [Some(true), None] {
        let on = srv.post(&route, &token, ask(enable)).await;
        assert_eq!(on.status, 200, "{}", on.body);
        assert_eq!(on.body["rerank"]["binding"], "jina", "{enable:?}");
        let mut reversed = contents(&off.body);
        reversed.reverse();
        assert_eq!(contents(&on.body), reversed);
    }
    let bad = srv
        .post(&route, &token, json!({"question": QUESTION, "enable_rerank": "yes"}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
