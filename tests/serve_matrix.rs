//! The isolation matrix of `lrt serve`: every route of the served `/api/v1/openapi.json` ×
//! every kind of caller (each role of tenant A, a non-member, tenant B's admin on A's ids, a
//! super-admin, a tenant-scoped and a KB-scoped API key of A, a key of A's other KB, no
//! credentials), in strict tenant-header mode. What each request must get is derived from
//! the route's declared access (`x-lrt-access`) and the role table of `lrt::authz`, not
//! written out here: allowed → 2xx; a member lacking the permission → 403; outside the tenant
//! (or the key's KB) → 404 with nothing of A's in the body; no credentials → 401. Every denial
//! must be in the audit log, and a wrong `X-Tenant-ID`/`X-KB-ID` is 400 on every scoped route.
//! A second test checks that every data-plane route counts one API call against
//! `max_monthly_api_calls` and answers 429 over it.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::server::{Server, start, token};
use common::{Lrt, ROOT, field};
use lrt::authz::Role;
use lrt::server::Access;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// In tenant A's name, its KBs' names and its documents: no body that a caller outside A (or
/// outside the KB) gets may contain it, in any case.
const CANARY: &str = "cnry7q";
const DOC_TEXT: &str = "Marie Curie discovered polonium in Paris. CNRY7Q-DOC is acme's secret word.";
const BOUNDARY: &str = "lrt-matrix-boundary-5e1d";

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Member(Role),
    NonMember,
    /// Tenant B's admin, on A's ids.
    Foreign,
    SuperAdmin,
    /// A tenant-scoped key of A with this role (its creator is A's admin).
    TenantKey(Role),
    /// A key of A scoped to the KB in the path (`own`) or to A's other KB.
    KbKey {
        role: Role,
        own: bool,
    },
    Anonymous,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allowed,
    Forbidden,
    NotFound,
    Unauthenticated,
}

/// What `who` must get on a route with `access`; `in_tenant`: the path names tenant A.
fn expect(access: Access, who: Who, in_tenant: bool) -> Expect {
    use Expect::*;
    let role_check = |role: Role| match access {
        // The sample body asks for the lowest role, which every member may give a key.
        Access::Public | Access::User | Access::Member | Access::KbMember | Access::IssueKey => Allowed,
        Access::SuperAdmin => Forbidden,
        Access::Needs(p) if role.has(p) => Allowed,
        Access::Needs(_) => Forbidden,
    };
    match (access, who) {
        (Access::Public, _) => Allowed,
        (_, Who::Anonymous) => Unauthenticated,
        (Access::User, _) => Allowed,
        (_, Who::SuperAdmin) => Allowed,
        (Access::SuperAdmin, _) if !in_tenant => Forbidden,
        (_, Who::NonMember | Who::Foreign) => NotFound,
        // Keys never mint keys.
        (Access::IssueKey, Who::TenantKey(_) | Who::KbKey { .. }) => Forbidden,
        (_, Who::Member(role) | Who::TenantKey(role)) => role_check(role),
        (_, Who::KbKey { .. }) if !access.kb_level() => Forbidden,
        (_, Who::KbKey { own: false, .. }) => NotFound,
        (_, Who::KbKey { role, own: true }) => role_check(role),
    }
}

/// A caller and how it authenticates.
struct Principal {
    label: &'static str,
    who: Who,
    auth: Auth,
    /// The audit log's `user_id` and `api_key_id` for its requests.
    audit_as: Option<(String, Option<String>)>,
}

#[derive(Clone)]
enum Auth {
    None,
    Bearer(String),
    Key(String),
}

/// An operation of the OpenAPI document.
struct Op {
    method: Method,
    path: String,
    access: Access,
    body: Option<&'static str>,
    tenant_header: bool,
    kb_header: bool,
}

/// Every operation of the served document; panics if one declares no access.
async fn operations(srv: &Server) -> Vec<Op> {
    let (status, _, text) = send(srv, Method::GET, "/api/v1/openapi.json", &Auth::None, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let access = op["x-lrt-access"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} declares no x-lrt-access"));
            let header = |name: &str| {
                op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["in"] == "header" && p["name"] == name)
            };
            let body = match op["requestBody"]["content"].as_object() {
                None => None,
                Some(c) if c.contains_key("application/json") => Some("json"),
                Some(c) if c.contains_key("multipart/form-data") => Some("multipart"),
                Some(c) => panic!("{method} {path}: unknown request content {c:?}"),
            };
            let o = Op {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                access: access
                    .parse()
                    .unwrap_or_else(|e| panic!("{method} {path}: x-lrt-access {access:?}: {e}")),
                body,
                tenant_header: header("X-Tenant-ID"),
                kb_header: header("X-KB-ID"),
            };
            assert_eq!(o.tenant_header, path.contains("{tenant_id}"), "{method} {path}");
            assert_eq!(o.kb_header, path.contains("{kb_id}"), "{method} {path}");
            if let Some("json") = body {
                // The table below has a valid body for it, and the body fits the schema.
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                let sample = json_body(&o.method, path, 0)
                    .unwrap_or_else(|| panic!("no sample body for {method} {path}: add one to json_body"));
                for field in schema["required"].as_array().unwrap() {
                    assert!(
                        sample.get(field.as_str().unwrap()).is_some(),
                        "{method} {path}: {field}"
                    );
                }
                for field in sample.as_object().unwrap().keys() {
                    assert!(schema["properties"].get(field).is_some(), "{method} {path}: {field}");
                }
            } else {
                assert!(json_body(&o.method, path, 0).is_none(), "{method} {path} takes no JSON");
            }
            ops.push(o);
        }
    }
    ops
}

/// A minimal valid JSON body per route; `n` makes names unique.
fn json_body(method: &Method, path: &str, n: usize) -> Option<Value> {
    let query = json!({"question": "What did Marie Curie discover?", "mode": "naive", "only_context": true});
    let context_question = json!([{"role": "user", "content": "/naivecontext What did Marie Curie discover?"}]);
    Some(match (method.as_str(), path) {
        ("POST", "/api/v1/tenants") => json!({"name": format!("made-{n}")}),
        ("PUT", "/api/v1/tenants/{tenant_id}") => json!({"description": "updated by the matrix"}),
        ("POST", "/api/v1/tenants/{tenant_id}/kbs") => json!({"name": format!("kb-{n}")}),
        ("PUT", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}") => json!({"description": "updated by the matrix"}),
        ("POST", "/api/v1/tenants/{tenant_id}/members") => json!({"user_id": format!("new-{n}"), "role": "viewer"}),
        ("PUT", "/api/v1/tenants/{tenant_id}/members/{user_id}") => json!({"role": "viewer"}),
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/query") => query,
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/query/stream") => query,
        // The KB's own document again: a duplicate, so nothing is queued.
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/text") => json!({"text": DOC_TEXT}),
        // The Ollama and OpenAI APIs name their KB in the body: `{model}` is the target's.
        ("POST", "/api/show") => json!({"model": "{model}"}),
        ("POST", "/api/chat") => json!({"model": "{model}", "messages": context_question, "stream": false}),
        ("POST", "/api/generate") => json!({"model": "{model}", "prompt": "Say hello", "stream": false}),
        ("POST", "/v1/chat/completions") => json!({"model": "{model}", "messages": context_question}),
        // Graph edits: one new entity per call; the others as dry runs on A's document's graph
        // (Marie Curie ~ Paris, and CNRY7Q-DOC), so every allowed caller can repeat them.
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/create") => {
            json!({"name": format!("Matrix {n}"), "description": "Made by the matrix."})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/edit") => {
            json!({"name": "Paris", "description": "Edited by the matrix.", "dry_run": true})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/delete") => {
            json!({"name": "Paris", "dry_run": true})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entities/merge") => {
            json!({"sources": ["Paris"], "target": format!("Matrix city {n}"), "dry_run": true})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/relation/create") => {
            json!({"source": "Paris", "target": "CNRY7Q-DOC", "description": "Linked by the matrix.", "dry_run": true})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/relation/edit") => {
            json!({"source": "Marie Curie", "target": "Paris", "keywords": "matrix", "dry_run": true})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/relation/delete") => {
            json!({"source": "Marie Curie", "target": "Paris", "dry_run": true})
        }
        ("POST", "/api/v1/tenants/{tenant_id}/keys") => {
            json!({"role": "viewer_readonly", "name": format!("matrix-{n}")})
        }
        _ => return None,
    })
}

fn multipart() -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"again.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n{DOC_TEXT}\r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes()
}

/// A request; `body`: the op's kind of body, built per request.
async fn send(
    srv: &Server,
    method: Method,
    path: &str,
    auth: &Auth,
    headers: &[(&str, String)],
    body: Option<Result<Value, Vec<u8>>>,
) -> (StatusCode, HeaderMap, String) {
    let mut req = srv.http.request(method, format!("{}{path}", srv.base));
    req = match auth {
        Auth::None => req,
        Auth::Bearer(t) => req.header("Authorization", format!("Bearer {t}")),
        Auth::Key(k) => req.header("X-API-Key", k),
    };
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req = match body {
        None => req,
        Some(Ok(v)) => req.json(&v),
        Some(Err(bytes)) => req
            .header("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(bytes),
    };
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

/// The ids a path is filled with.
#[derive(Clone)]
struct Target {
    tenant: String,
    kb: String,
    doc: String,
    user: String,
    /// An API key of A created by a viewer (`spare`), so only `tenant:manage_members` may
    /// revoke it.
    key: String,
}

impl Target {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{tenant_id}", &self.tenant)
            .replace("{kb_id}", &self.kb)
            .replace("{doc_id}", &self.doc)
            .replace("{user_id}", &self.user)
            .replace("{key_id}", &self.key)
    }

    /// A body naming this target's KB where it has `{model}` (as `tenant_id/kb_id`).
    fn fill_body(&self, body: Value) -> Value {
        let model = format!("{}/{}", self.tenant, self.kb);
        serde_json::from_str(&body.to_string().replace("{model}", &model)).unwrap()
    }

    /// The strict-mode headers of an op, naming this target.
    fn headers(&self, op: &Op) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if op.tenant_header {
            h.push(("X-Tenant-ID", self.tenant.clone()));
        }
        if op.kb_header {
            h.push(("X-KB-ID", self.kb.clone()));
        }
        h
    }
}

fn body_of(op: &Op, n: usize) -> Option<Result<Value, Vec<u8>>> {
    match op.body {
        None => None,
        Some("json") => Some(Ok(json_body(&op.method, &op.path, n).unwrap())),
        Some(_) => Some(Err(multipart())),
    }
}

/// `op` on `target` as `auth`, with the strict-mode headers and a valid body (`n`: unique names).
async fn call(srv: &Server, op: &Op, target: &Target, auth: &Auth, n: usize) -> (StatusCode, HeaderMap, String) {
    let path = target.fill(&op.path);
    let body = body_of(op, n).map(|b| b.map(|v| target.fill_body(v)));
    send(srv, op.method.clone(), &path, auth, &target.headers(op), body).await
}

async fn upload(srv: &Server, admin: &Auth, t: &Target, text: &str) -> String {
    let path = t.fill("/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/text");
    let headers = [("X-Tenant-ID", t.tenant.clone()), ("X-KB-ID", t.kb.clone())];
    let (status, _, body) = send(
        srv,
        Method::POST,
        &path,
        admin,
        &headers,
        Some(Ok(json!({"text": text}))),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["doc_id"].as_str().unwrap().to_string()
}

/// Waits until every document of the KB is processed.
async fn wait_processed(srv: &Server, admin: &Auth, t: &Target, count: u64) {
    let path = t.fill("/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents?status=processed");
    let headers = [("X-Tenant-ID", t.tenant.clone()), ("X-KB-ID", t.kb.clone())];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = send(srv, Method::GET, &path, admin, &headers, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        if body["total"].as_u64() == Some(count) {
            return;
        }
        assert!(Instant::now() < deadline, "documents not processed: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_by_every_caller() {
    matrix(Lrt::new()).await;
}

/// The same matrix with the catalog and every KB in PostgreSQL (`[storage]` in the config, so
/// the CLI and the server both use it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_by_every_caller_on_postgres() {
    let Some(db) = common::pg_cluster::Database::new("every_route_by_every_caller_on_postgres") else {
        return;
    };
    let lrt = Lrt::on_postgres(db);
    matrix(lrt).await;
}

async fn matrix(lrt: Lrt) {
    let started = Instant::now();
    let srv = start(&lrt, &[("LIGHTRAG_MULTI_TENANT_STRICT", "true")]);
    let a = field(
        &lrt.json_as(ROOT, &["tenant", "create", "acme-cnry7q", "--admin", "alice"]),
        "tenant_id",
    );
    let b = field(
        &lrt.json_as(ROOT, &["tenant", "create", "globex", "--admin", "bob"]),
        "tenant_id",
    );
    let b1 = field(&lrt.json_as("bob", &["kb", "create", "-t", &b, "bdocs"]), "kb_id");
    let a1 = field(
        &lrt.json_as("alice", &["kb", "create", "-t", &a, "docs-cnry7q"]),
        "kb_id",
    );
    let a2 = field(
        &lrt.json_as("alice", &["kb", "create", "-t", &a, "other-cnry7q"]),
        "kb_id",
    );
    for (user, role) in [
        ("ed", "editor"),
        ("vi", "viewer"),
        ("vro", "viewer_readonly"),
        ("spare", "viewer"),
    ] {
        lrt.member(&a, user, role);
    }
    let key = |args: &[&str]| {
        let mut all = vec!["key", "create", "-t", a.as_str(), "--role", "editor"];
        all.extend_from_slice(args);
        let k = lrt.json_as("alice", &all);
        (field(&k, "key"), field(&k, "key_id"))
    };
    let (tenant_key, tenant_key_id) = key(&[]);
    let (kb_key, kb_key_id) = key(&["--kb", &a1]);
    let (other_key, other_key_id) = key(&["--kb", &a2]);

    let bearer = |user: &str| Auth::Bearer(token(&lrt, user));
    let user = |label: &'static str, who: Who, name: &str| Principal {
        label,
        who,
        auth: bearer(name),
        audit_as: Some((name.to_string(), None)),
    };
    let keyed = |label: &'static str, who: Who, key: &str, id: &str| Principal {
        label,
        who,
        auth: Auth::Key(key.to_string()),
        audit_as: Some(("alice".to_string(), Some(id.to_string()))),
    };
    let principals = vec![
        user("admin", Who::Member(Role::Admin), "alice"),
        user("editor", Who::Member(Role::Editor), "ed"),
        user("viewer", Who::Member(Role::Viewer), "vi"),
        user("viewer_readonly", Who::Member(Role::ViewerReadonly), "vro"),
        user("non-member", Who::NonMember, "nm"),
        user("foreign admin", Who::Foreign, "bob"),
        user("super-admin", Who::SuperAdmin, ROOT),
        keyed("tenant key", Who::TenantKey(Role::Editor), &tenant_key, &tenant_key_id),
        keyed(
            "KB key",
            Who::KbKey {
                role: Role::Editor,
                own: true,
            },
            &kb_key,
            &kb_key_id,
        ),
        keyed(
            "other KB's key",
            Who::KbKey {
                role: Role::Editor,
                own: false,
            },
            &other_key,
            &other_key_id,
        ),
        Principal {
            label: "no credentials",
            who: Who::Anonymous,
            auth: Auth::None,
            audit_as: None,
        },
    ];
    let admin = principals[0].auth.clone();
    let root = principals[6].auth.clone();

    let ops = operations(&srv).await;
    let expected = |op: &Op, p: &Principal| expect(op.access, p.who, op.tenant_header);

    // A's document, and one throwaway document per delete the matrix expects to succeed,
    // ingested once.
    let mut fixed = Target {
        tenant: a.clone(),
        kb: a1.clone(),
        doc: String::new(),
        user: "spare".into(),
        key: String::new(),
    };
    let spare_key = || {
        let k = lrt.json_as("spare", &["key", "create", "-t", a.as_str(), "--role", "viewer"]);
        field(&k, "key_id")
    };
    fixed.key = spare_key();
    fixed.doc = upload(&srv, &admin, &fixed, DOC_TEXT).await;
    let doc_deletes = ops
        .iter()
        .filter(|op| op.method == Method::DELETE && op.path.contains("{doc_id}"))
        .map(|op| principals.iter().filter(|p| expected(op, p) == Expect::Allowed).count())
        .sum::<usize>();
    let mut spare_docs = Vec::new();
    for i in 0..doc_deletes {
        spare_docs.push(
            upload(
                &srv,
                &admin,
                &fixed,
                &format!("Throwaway note {i} of the cnry7q matrix."),
            )
            .await,
        );
    }
    wait_processed(&srv, &admin, &fixed, 1 + doc_deletes as u64).await;

    let mut n = 0;
    let mut denials: HashMap<(String, Option<String>), usize> = HashMap::new();
    let mut failures = Vec::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    // Mutations last, so reads see the fixtures as they were made.
    let mut order: Vec<&Op> = ops.iter().collect();
    order.sort_by_key(|op| (op.method == Method::DELETE, op.method != Method::GET));
    for op in order {
        for p in &principals {
            n += 1;
            let want = expected(op, p);
            // A request expected to destroy something gets a throwaway target.
            let mut target = fixed.clone();
            if want == Expect::Allowed && op.method == Method::DELETE {
                if op.path.ends_with("{doc_id}") {
                    target.doc = spare_docs.pop().expect("a throwaway document");
                } else if op.path.ends_with("{key_id}") {
                    target.key = spare_key();
                } else if op.path.ends_with("{user_id}") {
                    target.user = format!("leaving-{n}");
                    lrt.member(&a, &target.user, "viewer");
                } else if op.path.ends_with("{kb_id}") {
                    target.kb = lrt.kb(&a, &format!("doomed-{n}"));
                } else if op.path.ends_with("{tenant_id}") {
                    target.tenant = lrt.tenant(&format!("doomed-{n}"), Some("alice"));
                } else {
                    panic!("no throwaway target for DELETE {}", op.path);
                }
            }
            let (status, _, text) = call(&srv, op, &target, &p.auth, n).await;
            let ok = match want {
                Expect::Allowed => status.is_success(),
                Expect::Forbidden => status == StatusCode::FORBIDDEN,
                Expect::NotFound => status == StatusCode::NOT_FOUND,
                Expect::Unauthenticated => status == StatusCode::UNAUTHORIZED,
            };
            let lower = text.to_lowercase();
            // Outside A: nothing of A's, whatever the answer. Outside the KB: nothing of it.
            let leak = match p.who {
                Who::NonMember | Who::Foreign | Who::Anonymous => lower.contains(CANARY),
                Who::KbKey { own: false, .. } => lower.contains("docs-cnry7q") || lower.contains("cnry7q-doc"),
                _ => false,
            };
            if !ok || leak {
                failures.push(format!(
                    "{} {} as {}: wanted {want:?}, got {status}{}: {text}",
                    op.method,
                    op.path,
                    p.label,
                    if leak { " (leaks A's data)" } else { "" }
                ));
            }
            if ok && matches!(want, Expect::Forbidden | Expect::NotFound) {
                *denials.entry(p.audit_as.clone().unwrap()).or_default() += 1;
            }
            *statuses.entry(status.as_u16()).or_default() += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} requests wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(spare_docs.is_empty(), "unused throwaway documents");
    // Every kind of outcome happened: the matrix can tell them apart.
    for s in [200, 403, 404, 401] {
        assert!(statuses.contains_key(&s), "no {s} in {statuses:?}");
    }

    // Every denial over HTTP is in the audit log, as the CLI's are, under the right user and key.
    let mut audited: HashMap<(String, Option<String>), usize> = HashMap::new();
    for row in lrt.audit() {
        if row["outcome"] == "denied" {
            let who = (field(&row, "user_id"), row["api_key_id"].as_str().map(str::to_string));
            *audited.entry(who).or_default() += 1;
        }
    }
    assert_eq!(audited, denials, "denials in the audit log vs denied requests");

    // Strict mode: on every tenant- and KB-scoped route a missing or mismatched header is 400,
    // before anything else, even for a super-admin.
    let stranger = "00000000-0000-4000-8000-000000000000".to_string();
    for op in ops.iter().filter(|op| op.tenant_header) {
        let path = fixed.fill(&op.path);
        let good = fixed.headers(op);
        let mut cases = vec![("no X-Tenant-ID", good[1..].to_vec())];
        let mut wrong = good.clone();
        wrong[0].1 = stranger.clone();
        cases.push(("a foreign X-Tenant-ID", wrong));
        if op.kb_header {
            cases.push(("no X-KB-ID", good[..1].to_vec()));
            let mut wrong = good.clone();
            wrong[1].1 = a2.clone();
            cases.push(("another KB's X-KB-ID", wrong));
        }
        for (case, headers) in cases {
            let (status, _, text) = send(&srv, op.method.clone(), &path, &root, &headers, body_of(op, 0)).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{} {} with {case}: {text}",
                op.method,
                op.path
            );
            assert!(text.contains("X-"), "{text}");
        }
    }
    // Id substitution under one's own tenant: B's admin naming A's KB, A's document or A's
    // member in a path of tenant B is 404 with nothing of A's.
    let bob = &principals[5].auth;
    let mut substituted = 0;
    for op in ops.iter().filter(|op| op.tenant_header) {
        let mut targets = Vec::new();
        if op.kb_header {
            targets.push(Target {
                tenant: b.clone(),
                ..fixed.clone()
            });
        }
        if op.path.contains("{doc_id}") {
            targets.push(Target {
                tenant: b.clone(),
                kb: b1.clone(),
                ..fixed.clone()
            });
        }
        if op.path.contains("{user_id}") {
            targets.push(Target {
                tenant: b.clone(),
                user: "ed".into(),
                ..fixed.clone()
            });
        }
        if op.path.contains("{key_id}") {
            // A's key revoked through B's path.
            targets.push(Target {
                tenant: b.clone(),
                ..fixed.clone()
            });
        }
        for target in targets {
            substituted += 1;
            let (status, _, text) = call(&srv, op, &target, bob, 0).await;
            let path = target.fill(&op.path);
            assert_eq!(status, StatusCode::NOT_FOUND, "{} {path}: {text}", op.method);
            assert!(
                !text.to_lowercase().contains(CANARY),
                "{} {path} leaks: {text}",
                op.method
            );
        }
    }
    assert!(substituted > 10, "{substituted} substitutions");

    // The tenant and its KB are still there, with the document.
    let (status, _, text) = send(
        &srv,
        Method::GET,
        &fixed.fill("/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/{doc_id}"),
        &admin,
        &fixed.headers(ops.iter().find(|o| o.path.ends_with("{doc_id}")).unwrap()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    eprintln!(
        "matrix: {} routes x {} callers = {n} requests, {statuses:?}, {:.1} s",
        ops.len(),
        principals.len(),
        started.elapsed().as_secs_f64()
    );
}

/// `lrt tenant show`'s count of this month's API calls.
fn api_calls(lrt: &Lrt, tenant: &str) -> u64 {
    lrt.json_as(ROOT, &["tenant", "show", tenant])["usage"]["api_calls"]
        .as_u64()
        .expect("usage.api_calls")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_plane_route_counts_one_api_call() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let a = lrt.tenant("metered", Some("alice"));
    let kb = field(&lrt.json_as("alice", &["kb", "create", "-t", &a, "docs"]), "kb_id");
    lrt.member(&a, "vro", "viewer_readonly");
    let (admin, vro) = (Auth::Bearer(token(&lrt, "alice")), Auth::Bearer(token(&lrt, "vro")));
    let mut t = Target {
        tenant: a.clone(),
        kb,
        doc: String::new(),
        user: "vro".into(),
        key: String::new(),
    };
    t.doc = upload(&srv, &admin, &t, DOC_TEXT).await;
    let doomed = upload(&srv, &admin, &t, "A note to delete.").await;
    wait_processed(&srv, &admin, &t, 2).await;

    // The data plane: everything under a KB's documents, query and graph.
    let ops: Vec<Op> = operations(&srv)
        .await
        .into_iter()
        .filter(|op| ["/documents", "/query", "/graph/"].iter().any(|s| op.path.contains(s)))
        .collect();
    assert!(ops.len() >= 8, "{} data-plane routes", ops.len());
    for op in &ops {
        let mut target = t.clone();
        if op.method == Method::DELETE {
            target.doc = doomed.clone();
        }
        let before = api_calls(&lrt, &a);
        let (status, _, text) = call(&srv, op, &target, &admin, 0).await;
        assert!(status.is_success(), "{} {}: {status} {text}", op.method, op.path);
        assert_eq!(
            api_calls(&lrt, &a),
            before + 1,
            "{} {} counts one call",
            op.method,
            op.path
        );
    }
    // A denied request costs nothing.
    let before = api_calls(&lrt, &a);
    let (status, _, _) = send(
        &srv,
        Method::GET,
        &t.fill("/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents"),
        &vro,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(api_calls(&lrt, &a), before);

    // At the quota every data-plane route is 429 with Retry-After, and counts nothing more.
    let used = api_calls(&lrt, &a);
    let set = format!("max_monthly_api_calls={used}");
    let run = lrt.run_as(ROOT, &["tenant", "update", &a, "--set", &set]);
    assert!(run.ok(), "{}", run.stderr);
    for op in &ops {
        let (status, headers, text) = call(&srv, op, &t, &admin, 0).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "{} {}: {text}",
            op.method,
            op.path
        );
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 0, "{} {}", op.method, op.path);
    }
    assert_eq!(api_calls(&lrt, &a), used);
    // The document survived its refused delete.
    let run = lrt.run_as("alice", &["doc", "show", "-t", &a, "--kb", "docs", &t.doc]);
    assert!(run.ok(), "{}", run.stderr);
}
