//! `lrt serve`'s Ollama- and OpenAI-compatible APIs driven by the official `ollama` and
//! `openai` Python clients (`tests/clients/*_compat.py`, pinned in requirements.txt), against
//! a real server whose KB model is a mock on 127.0.0.1: models listed per key, chat streamed
//! and not, generate, the mode prefixes, usage, references, and tenant isolation. Then, over
//! plain HTTP: every answer counts one API call, and the monthly quota is 429 in each API's
//! error shape.

mod common;

use common::external::component;
use common::server::start;
use common::{Lrt, ROOT, field};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The KB's model: keyword requests (JSON mode) get keywords; an answer prompt (a system
/// message with lrt's `---Context---`) gets `MOCK-ANSWER` citing [1] with the message count;
/// anything else (no retrieval) is echoed with its message count. Streams as SSE when asked.
struct Chat;

impl Respond for Chat {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        let content = |m: &Value| m["content"].as_str().unwrap_or("").to_string();
        let text = if body.get("response_format").is_some() {
            json!({"high_level_keywords": ["discovery"], "low_level_keywords": ["Marie Curie", "polonium"]}).to_string()
        } else {
            let system = messages
                .iter()
                .find(|m| m["role"] == "system")
                .map(content)
                .unwrap_or_default();
            if system.contains("---Context---") {
                let prompt = if system.contains("TABLE-PLEASE") {
                    ", user prompt"
                } else {
                    ""
                };
                format!(
                    "MOCK-ANSWER: Marie Curie discovered polonium [1]. (messages: {}{prompt})",
                    messages.len()
                )
            } else {
                format!("ECHO({}): {}", messages.len(), content(messages.last().unwrap()))
            }
        };
        if body["stream"] == true {
            let words: Vec<&str> = text.split_inclusive(' ').collect();
            let mut sse = String::new();
            for piece in words.chunks(words.len().div_ceil(3).max(1)) {
                let delta = json!({"choices": [{"index": 0, "delta": {"content": piece.concat()}}]});
                sse.push_str(&format!("data: {delta}\n\n"));
            }
            sse.push_str("data: [DONE]\n\n");
            return ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }))
    }
}

fn key(lrt: &Lrt, user: &str, args: &[&str]) -> String {
    let mut all = vec!["key", "create"];
    all.extend_from_slice(args);
    field(&lrt.json_as(user, &all), "key")
}

/// Runs a client script; panics with its output if it fails.
async fn python(interpreter: &str, script: &str, env: &[(&str, String)]) {
    let mut cmd = std::process::Command::new(interpreter);
    cmd.arg(format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR")));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    eprint!("{stdout}");
}

fn api_calls(lrt: &Lrt, tenant: &str) -> u64 {
    lrt.json_as(ROOT, &["tenant", "show", tenant])["usage"]["api_calls"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_and_openai_clients_against_lrt_serve() {
    let Some(interpreter) = component("LRT_TEST_PYTHON", "ollama_and_openai_clients_against_lrt_serve") else {
        return;
    };
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Chat)
        .mount(&mock)
        .await;

    // Two tenants, each KB with a document ingested by the CLI (local provider).
    let lrt = Lrt::new();
    let a = lrt.tenant("acme", Some("alice"));
    lrt.kb(&a, "docs");
    lrt.kb(&a, "other");
    let b = lrt.tenant("globex", Some("bob"));
    let kb_b = lrt.kb(&b, "secret");
    for (user, tenant, kb, text) in [
        (
            "alice",
            "acme",
            "docs",
            "Marie Curie discovered polonium in Paris. CANARY-A is acme's word.",
        ),
        (
            "alice",
            "acme",
            "other",
            "Pierre Curie studied piezoelectricity in Paris.",
        ),
        (
            "bob",
            "globex",
            "secret",
            "Marie Curie discovered radium in Warsaw. CANARY-B is globex's word.",
        ),
    ] {
        let doc = lrt.root().join("curie.txt");
        std::fs::write(&doc, text).unwrap();
        let run = lrt.run_as(user, &["ingest", "-t", tenant, "--kb", kb, doc.to_str().unwrap()]);
        assert!(run.ok(), "{}", run.stderr);
    }
    let key_a = key(&lrt, "alice", &["-t", "acme", "--role", "viewer"]);
    let key_other = key(&lrt, "alice", &["-t", "acme", "--kb", "other", "--role", "viewer"]);
    let key_b = key(&lrt, "bob", &["-t", "globex", "--role", "admin"]);

    // The server answers with the mock model; embeddings stay the KBs' (local).
    let host = mock.uri();
    let srv = start(
        &lrt,
        &[
            ("LLM_BINDING", "openai"),
            ("LLM_BINDING_HOST", host.as_str()),
            ("LLM_BINDING_API_KEY", "sk-test"),
            ("LLM_MODEL", "mock-chat"),
        ],
    );
    let env = [
        ("LRT_BASE", srv.base.clone()),
        ("KEY_A", key_a.clone()),
        ("KEY_A_OTHER", key_other),
        ("KEY_B", key_b),
        ("MODEL_A", "acme/docs".to_string()),
        ("MODEL_B", "globex/secret".to_string()),
        ("MODEL_B_ID", format!("{b}/{kb_b}")),
    ];
    python(&interpreter, "ollama_compat.py", &env).await;
    python(&interpreter, "openai_compat.py", &env).await;

    // Every answer counts one API call, as a query does; a refused one counts nothing.
    let bearer = format!("Bearer {key_a}");
    let ask = |path: &'static str, model: &str| {
        let body = json!({"model": model, "messages": [{"role": "user", "content": "What did Marie Curie discover?"}], "stream": false});
        srv.http
            .post(format!("{}{path}", srv.base))
            .header("Authorization", bearer.clone())
            .json(&body)
            .send()
    };
    for path in ["/api/chat", "/v1/chat/completions"] {
        let before = api_calls(&lrt, &a);
        let r = ask(path, "acme/docs").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(api_calls(&lrt, &a), before + 1, "{path}");
        let r = ask(path, "globex/secret").await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(api_calls(&lrt, &a), before + 1, "{path}");
    }

    // The access log names the KB an answer came from, though the path does not.
    let log = srv.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("route=/v1/chat/completions") && l.contains("status=200"))
        .unwrap_or_else(|| panic!("no access log line: {log}"));
    assert!(line.contains(&format!("tenant={a}")), "{line}");

    // Over the monthly quota: 429 with Retry-After, in each API's error shape.
    let used = api_calls(&lrt, &a).to_string();
    let run = lrt.run_as(
        ROOT,
        &[
            "tenant",
            "update",
            &a,
            "--set",
            &format!("max_monthly_api_calls={used}"),
        ],
    );
    assert!(run.ok(), "{}", run.stderr);
    for (path, shape) in [("/api/chat", "ollama"), ("/v1/chat/completions", "openai")] {
        let r = ask(path, "acme/docs").await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(r.headers().contains_key("retry-after"), "{path}");
        let body: Value = r.json().await.unwrap();
        match shape {
            "ollama" => assert!(body["error"].is_string(), "{body}"),
            _ => assert_eq!(body["error"]["type"], "rate_limit_error", "{body}"),
        }
    }
    assert_eq!(api_calls(&lrt, &a).to_string(), used);
}

/// Without the Python clients: an API key sent as a bearer (as these clients send it) works on
/// every route like `X-API-Key`, a revoked one is 401, and authentication errors take each
/// API's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_as_bearers_and_error_shapes() {
    let lrt = Lrt::new();
    let a = lrt.tenant("acme", Some("alice"));
    lrt.kb(&a, "docs");
    let created = lrt.json_as("alice", &["key", "create", "-t", "acme", "--role", "viewer"]);
    let (key, key_id) = (field(&created, "key"), field(&created, "key_id"));
    let srv = start(&lrt, &[]);
    let get = |path: &str, auth: Option<String>| {
        let mut req = srv.http.get(format!("{}{path}", srv.base));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    let bearer = Some(format!("Bearer {key}"));
    let me: Value = get("/api/v1/me", bearer.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(me["api_key_id"], json!(key_id), "{me}");
    let kbs = get(&format!("/api/v1/tenants/{a}/kbs"), bearer.clone()).await.unwrap();
    assert_eq!(kbs.status(), StatusCode::OK);
    let models: Value = get("/v1/models", bearer.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(models["data"][0]["id"], "acme/docs", "{models}");
    let tags: Value = get("/api/tags", bearer.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(tags["models"][0]["name"], "acme/docs:latest", "{tags}");
    let version: Value = get("/api/version", None).await.unwrap().json().await.unwrap();
    assert!(version["version"].is_string(), "{version}");

    let run = lrt.run_as("alice", &["key", "revoke", &key_id]);
    assert!(run.ok(), "{}", run.stderr);
    for (path, auth) in [
        ("/v1/models", bearer.clone()),
        ("/api/tags", bearer.clone()),
        ("/v1/models", None),
        ("/api/tags", None),
    ] {
        let r = get(path, auth).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = r.json().await.unwrap();
        if path == "/api/tags" {
            assert!(body["error"].is_string(), "{body}");
        } else {
            assert_eq!(body["error"]["type"], "authentication_error", "{body}");
        }
    }
    let me = get("/api/v1/me", bearer).await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}
