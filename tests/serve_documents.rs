//! `lrt serve`'s data plane over real HTTP: uploads (text and multipart) answered at once and
//! processed by the background worker, document status and delete, the NDJSON query stream,
//! the graph export, body limits, quotas, role and tenant isolation, restart with pending
//! uploads, failed documents, and the OpenAPI document against the routes actually served.

mod common;

use std::time::{Duration, Instant};

use common::model;
use common::server::{Server, spawn, start, terminate, token};
use common::{Lrt, ROOT};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A tenant with `admin`, a KB in it, and their ids.
async fn tenant_kb(srv: &Server, root: &str, name: &str, admin: &str, admin_token: &str) -> (String, String) {
    let t = srv
        .post("/api/v1/tenants", root, json!({"name": name, "admin": admin}))
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let t = t.body["tenant_id"].as_str().unwrap().to_string();
    let k = srv
        .post(
            &format!("/api/v1/tenants/{t}/kbs"),
            admin_token,
            json!({"name": "docs"}),
        )
        .await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.body);
    (t, k.body["kb_id"].as_str().unwrap().to_string())
}

/// The environment of a server whose models are `model`, failing at once instead of retrying.
fn without_retries(model: &wiremock::MockServer) -> Vec<(&'static str, String)> {
    let mut env = model::env(model);
    env.push(("LRT_LLM_MAX_RETRIES", "0".into()));
    env.push(("LRT_EMBEDDING_MAX_RETRIES", "0".into()));
    env
}

/// `lrt serve extra…` with `env`.
fn serve_with(lrt: &Lrt, env: &[(&'static str, String)], extra: &[&str]) -> Server {
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn(lrt, &refs, extra).unwrap_or_else(|e| panic!("lrt serve did not start: {e}"))
}

/// Polls a document until its status is `want` (panics after 30 s, or on another final state).
async fn wait_for(srv: &Server, kb_path: &str, doc: &str, tok: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = srv.get(&format!("{kb_path}/documents/{doc}"), tok).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let status = r.body["status"].as_str().unwrap().to_string();
        if status == want {
            return r.body;
        }
        assert!(
            status == "pending" || status == "processing",
            "{doc}: {status}, wanted {want}: {}",
            r.body
        );
        assert!(Instant::now() < deadline, "{doc} still {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A raw request: status, content type and body text.
async fn raw(
    srv: &Server,
    method: Method,
    path: &str,
    tok: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String, String) {
    let mut req = srv
        .http
        .request(method, format!("{}{path}", srv.base))
        .header("Authorization", format!("Bearer {tok}"));
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct).body(body);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

const BOUNDARY: &str = "lrt-test-boundary-7f3a";

/// A multipart body with one part per (name, file name, bytes).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n"),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload_file(
    srv: &Server,
    kb_path: &str,
    tok: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> (StatusCode, Value) {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let (status, _, text) = raw(
        srv,
        Method::POST,
        &format!("{kb_path}/documents/file"),
        tok,
        Some(&ct),
        multipart(parts),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}")),
    )
}

fn context_of(body: &Value) -> String {
    body["context"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_status_query_stream_export_and_delete() {
    let lrt = Lrt::new();
    let srv = spawn(&lrt, &[], &["--max-body-bytes", "4096", "--max-upload-bytes", "4096"]).unwrap();
    let (root, alice, bob, carol) = (
        token(&lrt, ROOT),
        token(&lrt, "alice"),
        token(&lrt, "bob"),
        token(&lrt, "carol"),
    );
    let (a, ka) = tenant_kb(&srv, &root, "acme", "alice", &alice).await;
    let (b, kb) = tenant_kb(&srv, &root, "globex", "bob", &bob).await;
    let m = srv
        .post(
            &format!("/api/v1/tenants/{a}/members"),
            &alice,
            json!({"user_id": "carol", "role": "viewer"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", m.body);
    let kb_path = format!("/api/v1/tenants/{a}/kbs/{ka}");
    let q = json!({"question": "What did Marie Curie discover?", "mode": "naive", "only_context": true});

    // Warm the engine cache on the empty KB, so the query below must see the worker's commit.
    let r = srv.post(&format!("{kb_path}/query"), &carol, q.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!context_of(&r.body).contains("CANARY"));

    // Text upload: answered at once with a pending document, then processed by the worker.
    let text = "Marie Curie discovered polonium and radium in Paris. CANARY-4242 is acme's secret word.";
    let up = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &alice,
            json!({"text": text, "file_path": "notes/curie.txt"}),
        )
        .await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{}", up.body);
    assert_eq!(
        (up.body["status"].clone(), up.body["duplicate"].clone()),
        (json!("pending"), json!(false))
    );
    let doc = up.body["doc_id"].as_str().unwrap().to_string();
    assert!(doc.starts_with("doc-"), "{doc}");
    let done = wait_for(&srv, &kb_path, &doc, &carol, "processed").await;
    assert_eq!(done["file_path"], "notes/curie.txt");
    assert!(done["chunks_count"].as_u64().unwrap() >= 1, "{done}");
    assert!(done["created_at"].is_string() && done["updated_at"].is_string());
    let r = srv.post(&format!("{kb_path}/query"), &carol, q.clone()).await;
    assert!(context_of(&r.body).contains("CANARY-4242"), "{}", r.body);

    // The same content again is a duplicate: reported, not queued.
    let again = srv
        .post(&format!("{kb_path}/documents/text"), &alice, json!({"text": text}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        (
            again.body["doc_id"].clone(),
            again.body["duplicate"].clone(),
            again.body["status"].clone()
        ),
        (json!(doc), json!(true), json!("processed"))
    );

    // Multipart: the client's file name is metadata only, never a path on the server.
    let (status, body) = upload_file(
        &srv,
        &kb_path,
        &alice,
        &[(
            "file",
            Some("../../evil.txt"),
            b"Pierre Curie studied piezoelectricity. CANARY-5151.",
        )],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let evil = body["doc_id"].as_str().unwrap().to_string();
    let done = wait_for(&srv, &kb_path, &evil, &alice, "processed").await;
    assert_eq!(done["file_path"], "../../evil.txt");
    assert!(!lrt.tree().iter().any(|p| p.contains("evil")), "{:?}", lrt.tree());

    // Bad uploads: clear JSON errors.
    for (parts, case) in [
        (vec![("file", Some("a.bin"), &b"bin\0ary"[..])], "binary"),
        (vec![("file", Some("a.txt"), &b"  \n"[..])], "blank"),
        (vec![("other", None, &b"x"[..])], "no file part"),
        (
            vec![
                ("file", Some("a.txt"), &b"one"[..]),
                ("file", Some("b.txt"), &b"two"[..]),
            ],
            "two files",
        ),
    ] {
        let (status, body) = upload_file(&srv, &kb_path, &alice, &parts).await;
        // A format lrt cannot read is 415 Unsupported Media Type; the rest are 400.
        let want = match case {
            "binary" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        assert_eq!(status, want, "{case}: {body}");
        assert!(body["error"]["message"].is_string(), "{case}");
    }
    let (status, _, body) = raw(
        &srv,
        Method::POST,
        &format!("{kb_path}/documents/file"),
        &alice,
        Some("text/plain"),
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let r = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &alice,
            json!({"text": "x", "bogus": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &alice,
            json!({"text": "x", "file_path": "a\nb"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Bodies beyond --max-body-bytes (JSON) and --max-upload-bytes (files): 413 JSON.
    let big = "word ".repeat(2000);
    let r = srv
        .post(&format!("{kb_path}/documents/text"), &alice, json!({"text": big}))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("payload_too_large"))
    );
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("big.txt"), big.as_bytes())]).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("payload_too_large")),
        "{body}"
    );

    // NDJSON stream: answer chunks, then the query object without the streamed answer.
    let ask = json!({"question": "What did Marie Curie discover?", "mode": "naive"});
    let (status, ct, text) = raw(
        &srv,
        Method::POST,
        &format!("{kb_path}/query/stream"),
        &carol,
        Some("application/json"),
        ask.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/x-ndjson"),
        "{text}"
    );
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (last, chunks) = lines.split_last().unwrap();
    assert!(!chunks.is_empty(), "{text}");
    assert!(chunks.iter().all(|c| c["type"] == "chunk"), "{text}");
    let answer: String = chunks.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert!(!answer.trim().is_empty());
    assert_eq!(last["type"], "result", "{text}");
    assert!(last["result"].get("answer").is_none(), "{last}");
    assert_eq!(last["result"]["mode"], "naive");
    assert!(
        last["result"]["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["content"].as_str().unwrap().contains("CANARY-4242"))
    );
    // Nothing to stream: no chunk lines, the whole object in the result line.
    let (_, _, text) = raw(
        &srv,
        Method::POST,
        &format!("{kb_path}/query/stream"),
        &carol,
        Some("application/json"),
        q.to_string().into_bytes(),
    )
    .await;
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(context_of(&lines[0]["result"]).contains("CANARY-4242"));
    // Errors before the stream starts are plain JSON errors.
    let r = srv
        .post(
            &format!("{kb_path}/query/stream"),
            &carol,
            json!({"question": "x", "mode": "nope"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Graph export: the bytes `lrt graph export` prints.
    for (format, ct) in [("json", "application/json"), ("graphml", "application/graphml+xml")] {
        let (status, got_ct, body) = raw(
            &srv,
            Method::GET,
            &format!("{kb_path}/graph/export?format={format}"),
            &carol,
            None,
            Vec::new(),
        )
        .await;
        assert_eq!((status, got_ct.as_str()), (StatusCode::OK, ct), "{body}");
        let cli = lrt.run_as(
            "alice",
            &["graph", "export", "-t", "acme", "--kb", "docs", "--format", format],
        );
        assert!(cli.ok(), "{}", cli.stderr);
        assert_eq!(body, cli.stdout, "{format}");
    }
    let (status, _, _) = raw(
        &srv,
        Method::GET,
        &format!("{kb_path}/graph/export?format=csv"),
        &carol,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Roles: a viewer reads but cannot upload or delete (403, not 404).
    for (method, path, body) in [
        (
            Method::POST,
            format!("{kb_path}/documents/text"),
            Some(json!({"text": "viewer text"})),
        ),
        (Method::DELETE, format!("{kb_path}/documents/{doc}"), None),
    ] {
        let r = srv
            .send(method.clone(), &path, Some(&format!("Bearer {carol}")), &[], body)
            .await;
        assert_eq!(
            (r.status, r.body["error"]["code"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden")),
            "{method} {path}"
        );
    }
    let (status, _) = upload_file(&srv, &kb_path, &carol, &[("file", Some("v.txt"), b"viewer")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Isolation: another tenant's admin gets 404 and nothing of acme, on every new route, also
    // with acme's KB id under their own tenant.
    let foreign = [
        (
            Method::POST,
            format!("{kb_path}/documents/text"),
            Some(json!({"text": "intruder"})),
        ),
        (Method::GET, format!("{kb_path}/documents/{doc}"), None),
        (Method::DELETE, format!("{kb_path}/documents/{doc}"), None),
        (Method::GET, format!("{kb_path}/graph/export?format=json"), None),
        (Method::POST, format!("{kb_path}/query/stream"), Some(ask.clone())),
        (
            Method::GET,
            format!("/api/v1/tenants/{b}/kbs/{ka}/documents/{doc}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/{b}/kbs/{ka}/documents/text"),
            Some(json!({"text": "intruder"})),
        ),
    ];
    for (method, path, body) in foreign {
        srv.assert_foreign(&bob, method, &path, body, "acme").await;
    }
    // acme's document id in bob's own KB is just unknown.
    let r = srv
        .get(&format!("/api/v1/tenants/{b}/kbs/{kb}/documents/{doc}"), &bob)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Delete: the CLI's delete path; then the document and its text are gone.
    let r = srv.delete(&format!("{kb_path}/documents/{doc}"), &alice).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["documents_deleted"], 1);
    assert_eq!(
        srv.get(&format!("{kb_path}/documents/{doc}"), &alice).await.status,
        StatusCode::NOT_FOUND
    );
    let r = srv.delete(&format!("{kb_path}/documents/{doc}"), &alice).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = srv.post(&format!("{kb_path}/query"), &carol, q.clone()).await;
    assert!(!context_of(&r.body).contains("CANARY-4242"), "{}", r.body);
    let other = json!({"question": "Who studied piezoelectricity?", "mode": "naive", "only_context": true});
    let r = srv.post(&format!("{kb_path}/query"), &carol, other).await;
    assert!(context_of(&r.body).contains("CANARY-5151"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_quota_counts_queued_uploads() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let root = token(&lrt, ROOT);
    let t = srv
        .post(
            "/api/v1/tenants",
            &root,
            json!({"name": "small", "set": {"max_documents": 2}}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let t = t.body["tenant_id"].as_str().unwrap().to_string();
    let k = srv
        .post(&format!("/api/v1/tenants/{t}/kbs"), &root, json!({"name": "docs"}))
        .await;
    let kb_path = format!("/api/v1/tenants/{t}/kbs/{}", k.body["kb_id"].as_str().unwrap());
    // Two uploads back to back fill the quota whether or not the worker got to them yet.
    let mut docs = Vec::new();
    for n in 0..2 {
        let r = srv
            .post(
                &format!("{kb_path}/documents/text"),
                &root,
                json!({"text": format!("Document number {n}.")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        docs.push(r.body["doc_id"].as_str().unwrap().to_string());
    }
    let r = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &root,
            json!({"text": "One too many."}),
        )
        .await;
    assert_eq!(r.body["error"]["code"], "quota_exceeded", "{}", r.body);
    let listed = srv.get(&format!("{kb_path}/documents"), &root).await;
    assert_eq!(listed.body["total"], 2, "{}", listed.body);
    // The second upload usually lands while the first one's run goes on: that KB runs again.
    for doc in &docs {
        wait_for(&srv, &kb_path, doc, &root, "processed").await;
    }
    let r = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &root,
            json!({"text": "Still too many."}),
        )
        .await;
    assert_eq!(r.body["error"]["code"], "quota_exceeded", "{}", r.body);
}

/// Uploads survive a stop and a crash: documents queued (or being processed) when the server
/// is stopped or killed are processed after the restart. A model server that is down fails documents with their
/// error, and the worker goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_pending_uploads_and_failed_documents() {
    let lrt = Lrt::new();
    let slow = model::server(5_000, 0).await;
    let root = token(&lrt, ROOT);

    let srv = serve_with(&lrt, &without_retries(&slow), &[]);
    let (t, k) = tenant_kb(&srv, &root, "acme", "alice", &root).await;
    let kb_path = format!("/api/v1/tenants/{t}/kbs/{k}");
    let up = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &root,
            json!({"text": "Ada Lovelace met Charles Babbage in London. CANARY-8080."}),
        )
        .await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{}", up.body);
    let doc = up.body["doc_id"].as_str().unwrap().to_string();
    // The slow model holds the worker in the extraction call; a delete meanwhile is 409 at
    // once (the KB is being ingested). SIGTERM interrupts the ingest and the server exits
    // promptly.
    wait_for(&srv, &kb_path, &doc, &root, "processing").await;
    let r = srv.delete(&format!("{kb_path}/documents/{doc}"), &root).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("conflict")),
        "{}",
        r.body
    );
    let mut srv = srv;
    assert_eq!(terminate(&mut srv, Duration::from_secs(5)), Some(0));
    drop(srv);

    // Restarted, still with the slow model: the interrupted document is taken up again by
    // itself; this time the server is killed mid-way (a crash).
    let srv = serve_with(&lrt, &without_retries(&slow), &[]);
    wait_for(&srv, &kb_path, &doc, &root, "processing").await;
    drop(srv);
    let listed = lrt.json_as(ROOT, &["doc", "list", "-t", "acme", "--kb", "docs"]);
    let status = listed[0]["status"].as_str().unwrap();
    assert!(status == "pending" || status == "processing", "{listed}");

    // Restarted with a fast model: the queue is picked up without another upload.
    let fast = model::server(0, 0).await;
    let srv = serve_with(&lrt, &without_retries(&fast), &[]);
    let done = wait_for(&srv, &kb_path, &doc, &root, "processed").await;
    assert!(done["chunks_count"].as_u64().unwrap() >= 1, "{done}");
    let r = srv
        .post(
            &format!("{kb_path}/query"),
            &root,
            json!({"question": "Who met Charles Babbage?", "mode": "naive", "only_context": true}),
        )
        .await;
    assert!(context_of(&r.body).contains("CANARY-8080"), "{}", r.body);
    drop(srv);

    // The model server is down: each document fails with its error; the worker survives it.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut env_down = without_retries(&fast);
    for (k, v) in env_down.iter_mut() {
        if k.ends_with("_HOST") {
            *v = down.clone();
        }
    }
    let srv = serve_with(&lrt, &env_down, &[]);
    for n in 0..2 {
        let up = srv
            .post(
                &format!("{kb_path}/documents/text"),
                &root,
                json!({"text": format!("Grace Hopper worked in Arlington, note {n}.")}),
            )
            .await;
        assert_eq!(up.status, StatusCode::ACCEPTED, "{}", up.body);
        let failed = wait_for(&srv, &kb_path, up.body["doc_id"].as_str().unwrap(), &root, "failed").await;
        assert!(!failed["error"].as_str().unwrap_or_default().is_empty(), "{failed}");
    }
    assert_eq!(srv.get("/health", &root).await.status, StatusCode::OK);
}

/// Every route the server serves is in the OpenAPI document, and nothing else is served:
/// each documented method answers something other than "no such route" / 405, every other
/// method on a documented path is 405, and a path outside the document is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_matches_the_served_routes() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let root = token(&lrt, ROOT);
    let r = srv.send(Method::GET, "/api/v1/openapi.json", None, &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let id = "00000000-0000-4000-8000-000000000000";
    let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH];
    let mut documented = 0;
    for (template, ops) in paths {
        let path: String = template
            .split('/')
            .map(|seg| if seg.starts_with('{') { id } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in &methods {
            let op = &ops[method.as_str().to_ascii_lowercase()];
            let res = srv
                .http
                .request(method.clone(), format!("{}{path}", srv.base))
                .header("Authorization", format!("Bearer {root}"))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if op.is_object() {
                documented += 1;
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template}");
                assert!(
                    body["error"]["message"] != "no such route",
                    "{method} {template} is documented but not served"
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key(status.as_str()),
                    "{method} {template} answered {status}, which its responses do not list"
                );
                for p in op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                {
                    assert!(template.contains(&format!("{{{}}}", p["name"].as_str().unwrap())));
                }
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is served but not documented"
                );
            }
        }
        assert!(
            ops.as_object()
                .unwrap()
                .values()
                .all(|op| op["responses"]["500"]["$ref"] == "#/components/responses/Error")
        );
    }
    assert!(documented >= 26, "{documented} operations");
    // No route bypasses the table that both the router and the document are built from.
    let server_src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    for entry in std::fs::read_dir(&server_src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() != "api.rs" {
            assert!(
                !text.contains(".route(") && !text.contains("Router::new") && !text.contains(".nest("),
                "{} adds routes outside the table of api.rs",
                path.display()
            );
        }
    }
    let r = srv.get("/api/v1/tenants/x/kbs/y/unknown", &root).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(doc["components"]["schemas"]["Error"]["required"], json!(["error"]));
}

/// `--request-timeout`: a question still waiting for the model past the limit is answered 504
/// with a JSON error (and logged as such), while the server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_timeout_is_answered_504() {
    let lrt = Lrt::new();
    let slow = model::server(5_000, 0).await;
    let srv = serve_with(&lrt, &without_retries(&slow), &["--request-timeout", "1s"]);
    let root = token(&lrt, ROOT);
    let (t, k) = tenant_kb(&srv, &root, "acme", "alice", &root).await;

    let asked = Instant::now();
    let r = srv
        .post(
            &format!("/api/v1/tenants/{t}/kbs/{k}/query"),
            &root,
            json!({"question": "Anyone there?", "mode": "bypass"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "timeout", "{}", r.body);
    assert!(asked.elapsed() < Duration::from_secs(4), "{:?}", asked.elapsed());
    assert_eq!(srv.get("/health", &root).await.status, StatusCode::OK);
    assert!(srv.log_text().contains("504"), "{}", srv.log_text());

    let bad = spawn(&lrt, &[], &["--request-timeout", "soon"]).err().unwrap();
    assert!(bad.contains("--request-timeout"), "{bad}");
}

/// SIGTERM: a question in flight is still answered when it ends within `--shutdown-grace`,
/// and the server stops after the grace period when one runs longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_requests_in_flight_within_the_grace_period() {
    for (model_ms, grace, answered) in [(1_500, "20s", true), (20_000, "1s", false)] {
        let lrt = Lrt::new();
        let model = model::server(model_ms, 0).await;
        let mut srv = serve_with(&lrt, &without_retries(&model), &["--shutdown-grace", grace]);
        let root = token(&lrt, ROOT);
        let (t, k) = tenant_kb(&srv, &root, "acme", "alice", &root).await;

        let ask = srv.http.post(format!("{}/api/v1/tenants/{t}/kbs/{k}/query", srv.base));
        let ask = ask
            .bearer_auth(&root)
            .json(&json!({"question": "Anyone there?", "mode": "bypass"}))
            .send();
        let in_flight = tokio::spawn(ask);
        // Signal once the question has reached the model.
        while model.received_requests().await.unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let signalled = Instant::now();
        assert_eq!(
            terminate(&mut srv, Duration::from_secs(10)),
            Some(0),
            "{}",
            srv.log_text()
        );
        let response = in_flight.await.unwrap();
        if answered {
            assert_eq!(response.unwrap().status(), StatusCode::OK);
        } else {
            assert!(
                signalled.elapsed() < Duration::from_secs(5),
                "{:?}",
                signalled.elapsed()
            );
            assert!(response.is_err(), "the connection was closed without an answer");
            assert!(srv.log_text().contains("stopping without them"), "{}", srv.log_text());
        }
    }
}

fn format_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_documents_are_extracted_and_unreadable_ones_refused() {
    let lrt = Lrt::new();
    let srv = spawn(&lrt, &[], &[]).unwrap();
    let (root, alice) = (token(&lrt, ROOT), token(&lrt, "alice"));
    let (a, ka) = tenant_kb(&srv, &root, "acme", "alice", &alice).await;
    let kb_path = format!("/api/v1/tenants/{a}/kbs/{ka}");

    // Access is decided before any extraction: a stranger's broken file is 404, not "corrupt".
    let mallory = token(&lrt, "mallory");
    let broken = b"%PDF-1.4 broken".to_vec();
    let (status, body) = upload_file(&srv, &kb_path, &mallory, &[("file", Some("x.pdf"), &broken)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // A PDF: its text is stored, page numbers reach the query's references.
    let pdf = format_fixture("report.pdf");
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("report.pdf"), &pdf)]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let doc = body["doc_id"].as_str().unwrap().to_string();
    wait_for(&srv, &kb_path, &doc, &alice, "processed").await;
    let q = json!({"question": "Which costs fell by four percent?", "mode": "naive", "only_context": true});
    let r = srv.post(&format!("{kb_path}/query"), &alice, q).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let context = context_of(&r.body);
    assert!(context.contains("Costs fell by four percent."), "{context}");
    assert!(context.contains("report.pdf p. 1–3"), "{context}");
    assert_eq!(r.body["references"][0]["pages"], json!([[1, 3]]), "{}", r.body);

    // Unreadable files: 415 for what lrt cannot read, 400 for a broken file; JSON, named.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("scan.png"), &png)]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body["error"].to_string().contains("scan.png"), "{body}");
    assert!(body["error"].to_string().contains("no text layer"), "{body}");
    let half = &pdf[..pdf.len() / 2];
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("half.pdf"), half)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].to_string().contains("corrupt pdf"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_docling_uploads_are_converted_by_it_and_its_failures_are_502() {
    let docling = wiremock::MockServer::start().await;
    let page_break = "<!-- lrt:page-break -->";
    wiremock::Mock::given(wiremock::matchers::path("/v1/convert/file"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "document": {"md_content": format!("The harbor pilot logged calm seas.\n{page_break}\nThe tide rose at dawn.")},
            "status": "success",
        })))
        .up_to_n_times(1)
        .mount(&docling)
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/v1/convert/file"))
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_string("model crashed"))
        .mount(&docling)
        .await;
    let lrt = Lrt::new();
    let env = [
        ("LRT_PARSER", "docling".to_string()),
        ("DOCLING_ENDPOINT", docling.uri()),
        ("LRT_DOCLING_MAX_RETRIES", "0".to_string()),
    ];
    let srv = serve_with(&lrt, &env, &[]);
    let (root, alice) = (token(&lrt, ROOT), token(&lrt, "alice"));
    let (a, ka) = tenant_kb(&srv, &root, "acme", "alice", &alice).await;
    let kb_path = format!("/api/v1/tenants/{a}/kbs/{ka}");

    // An image the built-in extractors refuse (415) is read by Docling, pages and all.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("scan.png"), &png)]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let doc = body["doc_id"].as_str().unwrap().to_string();
    wait_for(&srv, &kb_path, &doc, &alice, "processed").await;
    let q = json!({"question": "When did the tide rise?", "mode": "naive", "only_context": true});
    let r = srv.post(&format!("{kb_path}/query"), &alice, q).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(context_of(&r.body).contains("The tide rose at dawn."), "{}", r.body);
    assert_eq!(r.body["references"][0]["pages"], json!([[1, 2]]), "{}", r.body);

    // Docling failing is the gateway's fault: 502, naming the file and the reason.
    let pdf = format_fixture("report.pdf");
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("report.pdf"), &pdf)]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let error = body["error"].to_string();
    assert!(
        error.contains("report.pdf") && error.contains("HTTP 500: model crashed"),
        "{body}"
    );
}

/// A file upload has a limit of its own (`--max-upload-bytes`), above the JSON body limit: a
/// PDF of a few MB must not need `--max-body-bytes` raised for every route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_uploads_have_their_own_limit() {
    let lrt = Lrt::new();
    let srv = spawn(&lrt, &[], &["--max-body-bytes", "1024", "--max-upload-bytes", "8192"]).unwrap();
    let (root, alice) = (token(&lrt, ROOT), token(&lrt, "alice"));
    let (a, ka) = tenant_kb(&srv, &root, "acme", "alice", &alice).await;
    let kb_path = format!("/api/v1/tenants/{a}/kbs/{ka}");
    let mid = "Marie Curie discovered radium. ".repeat(130); // ~4 KB: over the body limit
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("mid.txt"), mid.as_bytes())]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let big = "word ".repeat(2000); // ~10 KB: over the upload limit
    let (status, body) = upload_file(&srv, &kb_path, &alice, &[("file", Some("big.txt"), big.as_bytes())]).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("payload_too_large")),
        "{body}"
    );
    // JSON bodies keep the body limit.
    let r = srv
        .post(&format!("{kb_path}/documents/text"), &alice, json!({"text": mid}))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
}
