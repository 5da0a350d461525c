//! MCP with the official Python SDK's client (`mcp` from PyPI, `tests/clients/mcp_client.py`),
//! which nobody here wrote: `lrt mcp` over stdio in a temporary installation, and the
//! streamable HTTP transport of a real `lrt serve` (models mocked on 127.0.0.1) with API
//! keys of two tenants. Every tool is called; bad arguments are tool errors (`isError`), not
//! protocol errors; a tenant's key sees none of another tenant's KBs and can neither query nor
//! add to them (not found, with nothing of theirs in the message).

mod common;

use std::io::Write;

use common::external::component;
use common::server::{Server, spawn, token};
use common::{Lrt, ROOT, field, model};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/mcp_client.py");
const TOOLS: [&str; 7] = [
    "list_knowledge_bases",
    "query_knowledge_base",
    "add_document",
    "document_status",
    "list_documents",
    "search_entities",
    "get_entity",
];
/// In the other tenant's names and document: no answer to the first tenant may contain it.
const CANARY: &str = "zq7canary";

/// Runs the client on `plan`; its JSON report.
fn run_client(python: &str, lrt: &Lrt, plan: Value) -> Value {
    let path = lrt.root().join(format!("plan-{}.json", uuid::Uuid::new_v4()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(plan.to_string().as_bytes()))
        .unwrap();
    let out = std::process::Command::new(python)
        .arg(CLIENT)
        .arg(&path)
        .output()
        .expect("run the MCP client");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the MCP client failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("client output is not JSON ({e}): {stderr}"))
}

/// A successful call's structured result.
fn ok(r: &Value) -> &Value {
    assert!(
        r.get("exception").is_none() && r["isError"] != true,
        "expected success: {r}"
    );
    assert!(r.get("timed_out").is_none(), "gave up waiting: {r}");
    assert!(r["content"][0]["text"].as_str().is_some_and(|t| !t.is_empty()), "{r}");
    &r["structuredContent"]
}

/// A tool error's text, which starts with `code: `.
fn tool_error<'a>(r: &'a Value, code: &str) -> &'a str {
    assert_eq!(r["isError"], true, "expected a tool error: {r}");
    assert_eq!(r["structuredContent"]["error"]["code"], code, "{r}");
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with(&format!("{code}: ")), "{text}");
    text
}

/// A `not_found` tool error that says nothing of the other tenant: named by the caller, its
/// name is echoed exactly as a missing tenant's would be; named by id, nothing of it shows.
fn assert_not_found(r: &Value) {
    let text = tool_error(r, "not_found");
    let echoed = format!("not_found: tenant 'globex-{CANARY}' not found");
    assert!(text == echoed || !text.contains(CANARY), "{text}");
    assert!(!text.contains("4711") && !text.contains("vault"), "{text}");
}

/// The KBs `list_knowledge_bases` returned, as `tenant/kb`.
fn listed(r: &Value) -> Vec<String> {
    ok(r)["knowledge_bases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kb| format!("{}/{}", kb["tenant"].as_str().unwrap(), kb["kb"].as_str().unwrap()))
        .collect()
}

/// The tools are listed with their descriptions and object schemas naming what they require.
fn check_tools(report: &Value) {
    let tools = report["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, TOOLS);
    for t in tools {
        assert!(t["description"].as_str().unwrap().len() > 60, "{t}");
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
    }
    let query = &tools[1]["inputSchema"];
    assert_eq!(query["required"], json!(["tenant", "kb", "question"]));
    assert!(query["properties"]["question"]["description"].is_string());
    assert_eq!(report["server_name"], "lrt");
}

/// A step calling `tool` with `args`.
fn step(tool: &str, args: Value) -> Value {
    json!({"tool": tool, "args": args})
}

/// `add_document`, saved as `save`, then `document_status` until it is processed or failed.
fn add_and_wait(tenant: &str, kb: &str, text: &str, file: &str, save: &str) -> [Value; 2] {
    [
        json!({"tool": "add_document", "args": {"tenant": tenant, "kb": kb, "text": text, "file_path": file}, "save": save}),
        json!({
            "tool": "document_status",
            "args": {"tenant": tenant, "kb": kb, "doc_id": format!("${{{save}.doc_id}}")},
            "until": {"key": "status", "in": ["processed", "failed"]},
            "timeout": 60,
        }),
    ]
}

/// The calls both transports make on tenant `t`'s KB `k` (names or ids), and what they must
/// give: results from `first` on.
fn every_tool(t: &str, k: &str) -> Vec<Value> {
    let mut steps = vec![
        step(
            "query_knowledge_base",
            json!({"tenant": t, "kb": k, "question": "What did Marie Curie discover?"}),
        ),
        step(
            "query_knowledge_base",
            json!({"tenant": t, "kb": k, "question": "Who is Marie Curie?", "mode": "naive", "top_k": 5, "only_context": true}),
        ),
    ];
    steps.extend(add_and_wait(
        t,
        k,
        "Alan Turing worked in Manchester on early computers.",
        "turing.txt",
        "doc",
    ));
    steps.extend([
        step("list_documents", json!({"tenant": t, "kb": k, "status": "processed"})),
        step("search_entities", json!({"tenant": t, "kb": k, "search": "curie"})),
        step("get_entity", json!({"tenant": t, "kb": k, "name": "marie curie"})),
        // Bad input: an unknown mode, a missing argument, an unknown argument, a blank text,
        // an entity that is not there.
        step(
            "query_knowledge_base",
            json!({"tenant": t, "kb": k, "question": "x", "mode": "fast"}),
        ),
        step("query_knowledge_base", json!({"tenant": t, "kb": k})),
        step(
            "search_entities",
            json!({"tenant": t, "kb": k, "limit": 5, "colour": "red"}),
        ),
        step("add_document", json!({"tenant": t, "kb": k, "text": "   "})),
        step("get_entity", json!({"tenant": t, "kb": k, "name": "Nobody At All"})),
        step("no_such_tool", json!({})),
    ]);
    steps
}

/// Checks the results of [`every_tool`], from `r[0]` on.
fn check_every_tool(r: &[Value]) {
    let answer = ok(&r[0]);
    assert!(answer["answer"].as_str().is_some_and(|a| !a.is_empty()), "{answer}");
    let context = ok(&r[1]);
    assert!(
        context["answer"].is_null() && context["context"].as_str().is_some_and(|c| c.contains("Curie")),
        "{context}"
    );
    assert_eq!(context["mode"], "naive");
    let added = ok(&r[2]);
    assert_eq!(added["status"], "pending");
    assert_eq!(added["duplicate"], false);
    let status = ok(&r[3]);
    assert_eq!(status["status"], "processed", "{status}");
    assert_eq!(status["doc_id"], added["doc_id"]);
    let docs = ok(&r[4]);
    assert_eq!(docs["total"], 2, "{docs}");
    let found = ok(&r[5]);
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "Marie Curie"),
        "{found}"
    );
    let entity = ok(&r[6]);
    assert_eq!(entity["name"], "Marie Curie");
    assert!(!entity["neighbours"].as_array().unwrap().is_empty(), "{entity}");
    assert!(tool_error(&r[7], "usage").contains("unknown variant `fast`"));
    assert!(tool_error(&r[8], "usage").contains("missing field `question`"));
    assert!(tool_error(&r[9], "usage").contains("unknown field `colour`"));
    tool_error(&r[10], "usage");
    tool_error(&r[11], "not_found");
    // An unknown tool is the one protocol error.
    assert!(
        r[12]["exception"].as_str().unwrap().contains("unknown tool"),
        "{}",
        r[12]
    );
}

/// The report of a plan by a member of `acme`: `list_knowledge_bases`, [`every_tool`] on its
/// KB, then `denied` calls on the other tenant.
fn check_member_report(report: &Value, denied: usize) {
    assert_eq!(report["protocol_version"], "2026-07-28");
    check_tools(report);
    let r = report["results"].as_array().unwrap();
    assert_eq!(listed(&r[0]), ["acme/docs"]);
    check_every_tool(&r[1..14]);
    assert_eq!(r.len(), 14 + denied);
    r[14..].iter().for_each(assert_not_found);
}

/// Tenant `acme` (admin alice) with KB `docs` holding a document about Marie Curie, and
/// tenant `globex-CANARY` (admin bob) with KB `vault-CANARY`.
fn tenants(lrt: &Lrt, env: &[(&str, &str)]) -> (String, String, String, String) {
    let create = |user: &str, args: &[&str]| {
        let run = lrt.run(Some(user), env, &[args, &["--json"]].concat());
        assert!(run.ok(), "{args:?}: {}", run.stderr);
        run.json()
    };
    let a = field(
        &create(ROOT, &["tenant", "create", "acme", "--admin", "alice"]),
        "tenant_id",
    );
    let b = field(
        &create(
            ROOT,
            &["tenant", "create", &format!("globex-{CANARY}"), "--admin", "bob"],
        ),
        "tenant_id",
    );
    let a1 = field(&create("alice", &["kb", "create", "-t", &a, "docs"]), "kb_id");
    let b1 = field(
        &create("bob", &["kb", "create", "-t", &b, &format!("vault-{CANARY}")]),
        "kb_id",
    );
    let doc = lrt.root().join("curie.txt");
    std::fs::write(
        &doc,
        "Marie Curie discovered polonium and radium in Paris with Pierre Curie.",
    )
    .unwrap();
    let run = lrt.run(
        Some("alice"),
        env,
        &["ingest", "-t", &a, "--kb", &a1, doc.to_str().unwrap()],
    );
    assert!(run.ok(), "{}", run.stderr);
    (a, a1, b, b1)
}

#[test]
fn stdio_serves_every_tool_as_the_local_identity() {
    let Some(python) = component("LRT_TEST_PYTHON", "stdio_serves_every_tool_as_the_local_identity") else {
        return;
    };
    let lrt = Lrt::new();
    let (a, a1, b, b1) = tenants(&lrt, &[]);
    let env = json!({
        "LRT_CONFIG": lrt.config_path(),
        "LRT_DATA_DIR": lrt.data_dir(),
        "HOME": lrt.root().join("home"),
        "LRT_USER": "alice",
    });
    let mut steps = vec![step("list_knowledge_bases", json!({}))];
    steps.extend(every_tool("acme", "docs"));
    steps.extend([
        // Bob's tenant, by name and by ids: alice is no member.
        step(
            "query_knowledge_base",
            json!({"tenant": b, "kb": b1, "question": "secret?"}),
        ),
        step(
            "add_document",
            json!({"tenant": format!("globex-{CANARY}"), "kb": format!("vault-{CANARY}"), "text": "x"}),
        ),
        step("list_knowledge_bases", json!({"tenant": b})),
    ]);
    let report = run_client(
        &python,
        &lrt,
        json!({"transport": {"stdio": {"command": common::BIN, "args": ["mcp"], "env": env}}, "steps": steps}),
    );
    check_member_report(&report, 3);
    // A document left queued (as an `lrt mcp` that ended before its worker got to it leaves
    // one) is taken up by the next `lrt mcp`.
    let queued = queue_document(&lrt, &a, &a1, "Ada Lovelace wrote the first program.");
    // A client of the protocols before 2026-07-28 (the initialize handshake, as desktop agents
    // that start `lrt mcp` mostly are) is served the same.
    let steps = vec![
        step("list_knowledge_bases", json!({})),
        step(
            "get_entity",
            json!({"tenant": "acme", "kb": "docs", "name": "Marie Curie"}),
        ),
        json!({
            "tool": "document_status",
            "args": {"tenant": "acme", "kb": "docs", "doc_id": queued},
            "until": {"key": "status", "in": ["processed", "failed"]},
            "timeout": 30,
        }),
    ];
    let legacy = run_client(
        &python,
        &lrt,
        json!({"transport": {"stdio": {"command": common::BIN, "args": ["mcp"], "env": env}}, "mode": "legacy", "steps": steps}),
    );
    assert_eq!(legacy["protocol_version"], "2025-11-25");
    assert_eq!(legacy["tools"].as_array().unwrap().len(), TOOLS.len());
    assert_eq!(listed(&legacy["results"][0]), ["acme/docs"]);
    assert_eq!(ok(&legacy["results"][1])["name"], "Marie Curie");
    assert_eq!(ok(&legacy["results"][2])["status"], "processed");
    // The upload was made, processed and audited as alice, like a CLI ingest.
    let docs = lrt.json_as("alice", &["doc", "list", "-t", &a, "--kb", &a1]);
    assert_eq!(docs.as_array().unwrap().len(), 3, "{docs}");
    let audit = lrt.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "document.create" && e["user_id"] == "alice" && e["outcome"] == "ok"),
        "no upload in the audit log"
    );
    assert!(
        audit
            .iter()
            .any(|e| e["user_id"] == "alice" && e["outcome"] == "denied" && e["tenant_id"].is_null()),
        "no denial in the audit log (a non-member's, installation-wide)"
    );
}

/// No environment: the installation's config file alone.
struct NoEnv;

impl lrt::config::Env for NoEnv {
    fn get(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Queues a text document in tenant `t`'s KB `k` as alice, as an upload does, with no worker
/// to process it: its doc id (status pending).
fn queue_document(lrt: &Lrt, t: &str, k: &str, text: &str) -> String {
    let flags = lrt::config::Overrides {
        config: Some(lrt.config_path()),
        data_dir: Some(lrt.data_dir()),
    };
    let mut svc = lrt::service::Service::open(lrt::config::Settings::load(&flags, &NoEnv).unwrap()).unwrap();
    let upload = lrt::service::Upload {
        file_path: Some("queued.txt".into()),
        bytes: text.as_bytes().to_vec(),
        pages: Vec::new(),
    };
    let up = svc
        .upload_document(&lrt::authz::Actor::user("alice", false), t, k, upload)
        .unwrap();
    assert_eq!(up.status, lrt::store::kb::DocStatus::Pending);
    up.doc_id
}

/// `lrt key create ARGS --json` as `user`: (key, key id).
fn key(lrt: &Lrt, user: &str, args: &[&str]) -> (String, String) {
    let created = lrt.json_as(user, &[&["key", "create"], args].concat());
    (field(&created, "key"), field(&created, "key_id"))
}

fn http(srv: &Server, key: &str) -> Value {
    json!({"http": {"url": format!("{}/mcp", srv.base), "headers": {"X-API-Key": key}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_keeps_tenants_apart() {
    let Some(python) = component("LRT_TEST_PYTHON", "streamable_http_keeps_tenants_apart") else {
        return;
    };
    let lrt = Lrt::new();
    let mock = model::server(0, 0).await;
    let env = model::env(&mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, a1, b, b1) = tenants(&lrt, &env);
    let srv = spawn(&lrt, &env, &[]).unwrap_or_else(|e| panic!("lrt serve did not start: {e}"));
    let (key_a, key_a_id) = key(&lrt, "alice", &["-t", &a, "--role", "editor"]);
    let (kb_viewer, _) = key(&lrt, "alice", &["-t", &a, "--kb", &a1, "--role", "viewer"]);

    // Tenant B's document, added over MCP by bob with a bearer token.
    let mut steps = add_and_wait(
        &b,
        &b1,
        &format!("The vault code of {CANARY} is 4711."),
        "vault.txt",
        "v",
    )
    .to_vec();
    steps.push(step("list_knowledge_bases", json!({})));
    steps.push(step("search_entities", json!({"tenant": "acme", "kb": "docs"})));
    let bearer = json!({"http": {
        "url": format!("{}/mcp", srv.base),
        "headers": {"Authorization": format!("Bearer {}", token(&lrt, "bob"))},
    }});
    let report = run_client(&python, &lrt, json!({"transport": bearer, "steps": steps}));
    let r = report["results"].as_array().unwrap();
    assert_eq!(ok(&r[1])["status"], "processed");
    let secret_doc = field(ok(&r[0]), "doc_id");
    assert_eq!(listed(&r[2]), [format!("globex-{CANARY}/vault-{CANARY}")]);
    assert_eq!(tool_error(&r[3], "not_found"), "not_found: tenant 'acme' not found");

    // Tenant A's key: every tool on A's KB (by ids), nothing of B's.
    let mut steps = vec![step("list_knowledge_bases", json!({}))];
    steps.extend(every_tool(&a, &a1));
    steps.extend([
        step(
            "query_knowledge_base",
            json!({"tenant": b, "kb": b1, "question": "What is the vault code?"}),
        ),
        step(
            "query_knowledge_base",
            json!({"tenant": format!("globex-{CANARY}"), "kb": format!("vault-{CANARY}"), "question": "code?"}),
        ),
        step(
            "add_document",
            json!({"tenant": b, "kb": b1, "text": "planted by acme"}),
        ),
        step("search_entities", json!({"tenant": b, "kb": b1})),
        step("document_status", json!({"tenant": b, "kb": b1, "doc_id": secret_doc})),
        // B's document through A's own KB is not there either.
        step("document_status", json!({"tenant": a, "kb": a1, "doc_id": secret_doc})),
        step("list_knowledge_bases", json!({"tenant": b})),
    ]);
    let report = run_client(&python, &lrt, json!({"transport": http(&srv, &key_a), "steps": steps}));
    check_member_report(&report, 7);
    // Nothing of A's reached B's KB.
    let docs = lrt.json_as("bob", &["doc", "list", "-t", &b, "--kb", &b1]);
    assert_eq!(docs.as_array().unwrap().len(), 1, "{docs}");

    // A KB-scoped viewer key: its one KB; it may ask but not add. This client uses the
    // initialize handshake of the protocols before 2026-07-28, as most desktop agents still do.
    let steps = vec![
        step("list_knowledge_bases", json!({})),
        step(
            "query_knowledge_base",
            json!({"tenant": a, "kb": a1, "question": "Who discovered radium?", "mode": "naive", "only_context": true}),
        ),
        step(
            "add_document",
            json!({"tenant": a, "kb": a1, "text": "a viewer's note"}),
        ),
    ];
    let report = run_client(
        &python,
        &lrt,
        json!({"transport": http(&srv, &kb_viewer), "mode": "legacy", "steps": steps}),
    );
    assert_eq!(report["protocol_version"], "2025-11-25");
    let r = report["results"].as_array().unwrap();
    assert_eq!(listed(&r[0]), ["acme/docs"]);
    ok(&r[1]);
    tool_error(&r[2], "forbidden");

    // Each request is authenticated: none, or a wrong key, is 401 before any MCP message.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    for headers in [vec![], vec![("X-API-Key", "lrt_0000000000000000_bad")]] {
        let r = srv
            .send(reqwest::Method::POST, "/mcp", None, &headers, Some(init.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    // A's attempts on B are denials in the audit log, under A's key: installation-wide, since
    // B's own log is not for outsiders to fill.
    let audit = lrt.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["outcome"] == "denied" && e["tenant_id"].is_null() && e["api_key_id"] == key_a_id.as_str()),
        "no audited denial for A's key"
    );
    assert!(
        !audit
            .iter()
            .any(|e| e["tenant_id"] == b.as_str() && e["outcome"] == "denied")
    );
}
