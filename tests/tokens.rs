//! Token accounting: model tokens per tenant, KB and month, taken from the server's `usage`
//! when it reports one and counted with lrt's tokenizer when it does not; cached answers cost
//! none; `lrt usage` needs tenant:manage_billing; `max_monthly_tokens` refuses the next call
//! like the other rate quotas (exit 7, HTTP 429 with Retry-After).

mod common;

use common::{Lrt, ROOT};
use lrt::rag::tokenizer::Tokenizer;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Tokens a mock that reports usage charges per chat call, and per embedded text.
const PROMPT: u64 = 100;
const COMPLETION: u64 = 10;
const PER_TEXT: u64 = 3;

/// The shared mock model (see `common::model`), with or without `usage` in its answers.
struct Model {
    usage: bool,
}

impl Respond for Model {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path().ends_with("/embeddings") {
            let texts = common::model::embedding_inputs(request);
            let mut body = common::model::embedding_body(&texts);
            if self.usage {
                let n = PER_TEXT * texts.len() as u64;
                body["usage"] = json!({"prompt_tokens": n, "total_tokens": n});
            }
            return ResponseTemplate::new(200).set_body_json(body);
        }
        let mut body = common::model::completion(&common::model::chat_answer(request));
        if self.usage {
            body["usage"] =
                json!({"prompt_tokens": PROMPT, "completion_tokens": COMPLETION, "total_tokens": PROMPT + COMPLETION});
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn model(usage: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Model { usage })
        .mount(&server)
        .await;
    server
}

/// (prompt, completion, embedding) tokens of every request the mock saw, as reported, or as
/// lrt's tokenizer counts the messages, answers and inputs.
async fn expected(server: &MockServer, usage: bool) -> (u64, u64, u64) {
    let count = |t: &str| Tokenizer::global().count(t) as u64;
    let mut sums = (0, 0, 0);
    for r in server.received_requests().await.unwrap() {
        if r.url.path().ends_with("/embeddings") {
            let texts = common::model::embedding_inputs(&r);
            sums.2 += if usage {
                PER_TEXT * texts.len() as u64
            } else {
                texts.iter().map(|t| count(t)).sum()
            };
        } else if usage {
            sums.0 += PROMPT;
            sums.1 += COMPLETION;
        } else {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let messages = body["messages"].as_array().unwrap();
            sums.0 += messages
                .iter()
                .map(|m| count(m["content"].as_str().unwrap()))
                .sum::<u64>();
            sums.1 += count(&common::model::chat_answer(&r));
        }
    }
    sums
}

fn setup() -> Lrt {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    lrt.member("acme", "vera", "viewer");
    lrt.member("acme", "eddie", "editor");
    lrt.tenant("globex", Some("gus"));
    let corpus = lrt.root().join("corpus");
    common::model::write_corpus(&corpus, 3, 3);
    lrt
}

fn run(lrt: &Lrt, env: &[(&'static str, String)], user: &str, args: &[&str]) -> common::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lrt.run(Some(user), &env, args)
}

fn ingest(lrt: &Lrt, env: &[(&'static str, String)]) {
    let corpus = lrt.root().join("corpus");
    let out = run(
        lrt,
        env,
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", corpus.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

fn ask(lrt: &Lrt, env: &[(&'static str, String)]) -> common::Run {
    run(
        lrt,
        env,
        "alice",
        &[
            "query",
            "-t",
            "acme",
            "--kb",
            "docs",
            "--mode",
            "naive",
            "Who met Ada Lovelace?",
            "--json",
        ],
    )
}

fn report(lrt: &Lrt, user: &str) -> common::Run {
    lrt.run_as(user, &["usage", "-t", "acme", "--json"])
}

fn totals(report: &Value) -> (u64, u64, u64) {
    let t = &report["total"];
    (
        t["prompt_tokens"].as_u64().unwrap(),
        t["completion_tokens"].as_u64().unwrap(),
        t["embedding_tokens"].as_u64().unwrap(),
    )
}

async fn accounted(usage: bool) {
    let lrt = setup();
    let server = model(usage).await;
    let env = common::model::env(&server);
    ingest(&lrt, &env);
    let first = ask(&lrt, &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let spent = expected(&server, usage).await;
    assert!(spent.0 > 0 && spent.1 > 0 && spent.2 > 0, "{spent:?}");
    let r = report(&lrt, "alice");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = r.json();
    assert_eq!(totals(&r), spent, "{r}");
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{r}");
    assert_eq!(rows[0]["kb_name"], "docs");
    assert_eq!(rows[0]["total_tokens"].as_u64(), Some(spent.0 + spent.1 + spent.2));

    // The same question again: its answer comes from the LLM cache and costs no prompt or
    // completion tokens; only the question is embedded again.
    let before = server.received_requests().await.unwrap().len();
    assert_eq!(ask(&lrt, &env).code, 0);
    let again = expected(&server, usage).await;
    let new: Vec<_> = server.received_requests().await.unwrap()[before..].to_vec();
    assert!(
        new.iter().all(|r| r.url.path().ends_with("/embeddings")),
        "only an embedding call"
    );
    assert_eq!((again.0, again.1), (spent.0, spent.1));
    assert_eq!(totals(&report(&lrt, "alice").json()), again);

    // Maintenance that calls the model is metered too: re-embedding every vector.
    let reembed = run(
        &lrt,
        &env,
        ROOT,
        &["kb", "reindex", "-t", "acme", "docs", "--reembed", "--yes"],
    );
    assert_eq!(reembed.code, 0, "{}", reembed.stderr);
    let after = expected(&server, usage).await;
    assert!(after.2 > again.2, "{after:?}");
    assert_eq!(totals(&report(&lrt, "alice").json()), after);
    let again = after;

    // tenant show: this month's tokens, all KBs together.
    let shown = lrt.json_as("alice", &["tenant", "show", "acme"]);
    let tokens = &shown["usage"]["tokens"];
    assert_eq!(tokens["prompt_tokens"].as_u64(), Some(again.0), "{shown}");
    assert_eq!(tokens["embedding_tokens"].as_u64(), Some(again.2), "{shown}");
    assert_eq!(shown["usage"]["max_monthly_tokens"].as_u64(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_the_servers_usage_when_reported() {
    accounted(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_counted_with_the_tokenizer_when_not_reported() {
    accounted(false).await;
}

/// `lrt usage` needs tenant:manage_billing: tenant admins and super-admins; a viewer or an
/// editor is refused (exit 5), another tenant's admin does not see the tenant (exit 3).
/// Periods are checked.
#[test]
fn usage_needs_manage_billing() {
    let lrt = setup();
    assert_eq!(report(&lrt, "alice").code, 0);
    assert_eq!(report(&lrt, ROOT).code, 0);
    for user in ["vera", "eddie"] {
        let r = report(&lrt, user);
        assert_eq!(r.code, 5, "{user}: {}", r.stderr);
        assert!(r.stderr.contains("tenant:manage_billing"), "{}", r.stderr);
    }
    assert_eq!(report(&lrt, "gus").code, 3);
    let denied = lrt.audit();
    assert!(
        denied
            .iter()
            .any(|e| e["action"] == "usage.report" && e["outcome"] == "denied" && e["user_id"] == "vera"),
        "denials are audited"
    );
    let empty = lrt.json_as("alice", &["usage", "-t", "acme", "--period", "2026-01"]);
    assert_eq!(
        (empty["from"].as_str(), empty["to"].as_str()),
        (Some("2026-01"), Some("2026-01"))
    );
    assert_eq!(empty["rows"].as_array().unwrap().len(), 0);
    for bad in [
        &["--period", "2026-13"][..],
        &["--period", "26-01"],
        &["--from", "2026-05", "--to", "2026-04"],
    ] {
        let mut args = vec!["usage", "-t", "acme"];
        args.extend_from_slice(bad);
        assert_eq!(lrt.run_as("alice", &args).code, 2, "{bad:?}");
    }
}

/// Over `max_monthly_tokens` the next query or ingest is refused with exit code 7 and the
/// reset time, and `lrt serve` answers 429 with Retry-After, as for the other rate quotas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_quota_refuses_the_next_call() {
    let lrt = setup();
    let server = model(true).await;
    let env = common::model::env(&server);
    ingest(&lrt, &env);
    let spent = totals(&report(&lrt, "alice").json());
    let total = spent.0 + spent.1 + spent.2;
    let set = format!("max_monthly_tokens={}", total + 1);
    assert!(lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", &set]).ok());
    // Under the quota: admitted, and the answer takes the tenant past it.
    assert_eq!(ask(&lrt, &env).code, 0);
    let refused = ask(&lrt, &env);
    assert_eq!(refused.code, 7, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("max_monthly_tokens") && refused.stderr.contains("resets at"),
        "{}",
        refused.stderr
    );
    let corpus = lrt.root().join("corpus");
    let again = run(
        &lrt,
        &env,
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", corpus.to_str().unwrap()],
    );
    assert_eq!(again.code, 7, "{}", again.stderr);

    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let srv = common::server::start(&lrt, &env);
    let token = common::server::token(&lrt, "alice");
    let t = lrt.id_as("alice", &["tenant", "show", "acme"]);
    let k = lrt.id_as("alice", &["kb", "show", "-t", "acme", "docs"]);
    let r = srv
        .post(
            &format!("/api/v1/tenants/{t}/kbs/{k}/query"),
            &token,
            json!({"query": "Who met Ada Lovelace?", "mode": "naive"}),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.body["error"]["code"], "rate_limited", "{}", r.body);

    // The report over HTTP: the CLI's answer, not an API call (so not refused over the quota),
    // tenant:manage_billing only, nothing for another tenant.
    let over_http = srv.get(&format!("/api/v1/tenants/{t}/usage"), &token).await;
    assert_eq!(over_http.status, 200, "{}", over_http.body);
    assert_eq!(over_http.body, report(&lrt, "alice").json());
    let viewer = common::server::token(&lrt, "vera");
    assert_eq!(
        srv.get(&format!("/api/v1/tenants/{t}/usage"), &viewer).await.status,
        403
    );
    let stranger = common::server::token(&lrt, "gus");
    let hidden = srv.get(&format!("/api/v1/tenants/{t}/usage"), &stranger).await;
    assert_eq!(hidden.status, 404);
    assert!(!hidden.body.to_string().contains("acme"), "{}", hidden.body);
    let bad = srv
        .get(&format!("/api/v1/tenants/{t}/usage?period=2026-13"), &token)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
