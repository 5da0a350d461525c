//! `lrt serve` end to end: the real binary on 127.0.0.1 with a free port, driven over HTTP.
//! Authentication attacks, the guide's flow (tenant, KB, member, CLI ingest, HTTP query),
//! tenant isolation (404 without leaks, through a warm engine cache too), role denials,
//! strict tenant headers, body limits and fail-closed start-up; API keys (scope, role cap,
//! demotion, revocation, expiry), quota status codes, the access log and error ids.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::server::{Resp, SECRET, spawn, start, token};
use common::{Lrt, ROOT, field as id};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn forge(alg: Algorithm, secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn assert_unauthenticated(r: &Resp, case: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{case}: {}", r.body);
    assert_eq!(r.body["error"]["code"], "unauthenticated", "{case}");
    assert!(r.body["error"]["message"].is_string(), "{case}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_token_attacks() {
    let lrt = Lrt::new();
    let srv = spawn(&lrt, &[], &["--max-body-bytes", "2048"]).unwrap();
    let health = srv.send(Method::GET, "/health", None, &[], None).await;
    assert_eq!(
        (health.status, health.body["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );

    let exp = now() + 3600;
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(json!({"sub": ROOT, "exp": exp}).to_string());
    let good = forge(Algorithm::HS256, SECRET, json!({"sub": ROOT, "exp": exp}));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("wrong scheme", Some(format!("Basic {good}"))),
        ("empty bearer", Some("Bearer ".into())),
        ("one segment", Some("Bearer abc".into())),
        ("four segments", Some(format!("Bearer {good}.x"))),
        ("bad base64", Some("Bearer !!.??.**".into())),
        ("alg none", Some(format!("Bearer {none_header}.{claims}."))),
        (
            "alg none, dummy signature",
            Some(format!("Bearer {none_header}.{claims}.c2ln")),
        ),
        (
            "another algorithm",
            Some(format!(
                "Bearer {}",
                forge(Algorithm::HS512, SECRET, json!({"sub": ROOT, "exp": exp}))
            )),
        ),
        (
            "another secret",
            Some(format!(
                "Bearer {}",
                forge(
                    Algorithm::HS256,
                    "another-secret-0123456789abcdef-xyz",
                    json!({"sub": ROOT, "exp": exp})
                )
            )),
        ),
        (
            "expired beyond the leeway",
            Some(format!(
                "Bearer {}",
                forge(Algorithm::HS256, SECRET, json!({"sub": ROOT, "exp": now() - 120}))
            )),
        ),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                forge(Algorithm::HS256, SECRET, json!({"sub": ROOT}))
            )),
        ),
        (
            "no sub",
            Some(format!(
                "Bearer {}",
                forge(Algorithm::HS256, SECRET, json!({"exp": exp}))
            )),
        ),
        (
            "invalid sub",
            Some(format!(
                "Bearer {}",
                forge(Algorithm::HS256, SECRET, json!({"sub": "", "exp": exp}))
            )),
        ),
    ];
    for (case, auth) in &cases {
        let r = srv.send(Method::GET, "/api/v1/me", auth.as_deref(), &[], None).await;
        assert_unauthenticated(&r, case);
    }
    // Within the leeway, and the CLI's own token, are accepted; a `role` claim gives nothing.
    let skewed = forge(
        Algorithm::HS256,
        SECRET,
        json!({"sub": "mallory", "exp": now() - 10, "role": "admin"}),
    );
    let me = srv.get("/api/v1/me", &skewed).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        (me.body["user"].clone(), me.body["super_admin"].clone()),
        (json!("mallory"), json!(false))
    );
    let create = srv.post("/api/v1/tenants", &skewed, json!({"name": "evil"})).await;
    assert_eq!(create.status, StatusCode::FORBIDDEN, "{}", create.body);
    let me = srv.get("/api/v1/me", &token(&lrt, ROOT)).await;
    assert_eq!(me.body["super_admin"], true);

    // Bodies beyond --max-body-bytes are 413 JSON; bad JSON is 400; unknown routes 404.
    let big = json!({"name": "x".repeat(4096)});
    let r = srv.post("/api/v1/tenants", &good, big).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("payload_too_large"))
    );
    let r = srv
        .post("/api/v1/tenants", &good, json!({"name": "x", "bogus": 1}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = srv.get("/api/v1/nope", &good).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Only super-admins mint tokens.
    let run = lrt.run(
        Some("alice"),
        &[("TOKEN_SECRET", SECRET)],
        &["token", "issue", "--user", "alice"],
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
}

#[test]
fn refuses_unsafe_configurations() {
    let lrt = Lrt::new();
    for (case, env, extra) in [
        ("no secret", vec![("TOKEN_SECRET", "")], vec![]),
        ("short secret", vec![("TOKEN_SECRET", "short")], vec![]),
        ("alg none", vec![("JWT_ALGORITHM", "none")], vec![]),
        ("alg RS256", vec![("JWT_ALGORITHM", "RS256")], vec![]),
        (
            "no auth off loopback",
            vec![("LIGHTRAG_REQUIRE_USER_AUTH", "false")],
            vec!["--bind", "0.0.0.0:0"],
        ),
    ] {
        let err = spawn(&lrt, &env, &extra)
            .err()
            .unwrap_or_else(|| panic!("{case}: started"));
        assert!(err.starts_with("exit Some(2)"), "{case}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_identity_without_user_auth() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[("LIGHTRAG_REQUIRE_USER_AUTH", "false")]);
    let me = srv.send(Method::GET, "/api/v1/me", None, &[], None).await;
    assert_eq!((me.status, me.body["user"].clone()), (StatusCode::OK, json!(ROOT)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guide_flow_isolation_and_roles() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let (root, alice, bob, carol) = (
        token(&lrt, ROOT),
        token(&lrt, "alice"),
        token(&lrt, "bob"),
        token(&lrt, "carol"),
    );

    // The guide's flow: tenants (root), KBs (their admins), a member.
    let a = srv
        .post(
            "/api/v1/tenants",
            &root,
            json!({"name": "acme", "admin": "alice", "metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = a.body["tenant_id"].as_str().unwrap().to_string();
    let b = srv
        .post("/api/v1/tenants", &root, json!({"name": "globex", "admin": "bob"}))
        .await;
    let b = b.body["tenant_id"].as_str().unwrap().to_string();
    let ka = srv
        .post(&format!("/api/v1/tenants/{a}/kbs"), &alice, json!({"name": "docs"}))
        .await;
    assert_eq!(ka.status, StatusCode::CREATED, "{}", ka.body);
    let ka = ka.body["kb_id"].as_str().unwrap().to_string();
    let kb = srv
        .post(&format!("/api/v1/tenants/{b}/kbs"), &bob, json!({"name": "docs"}))
        .await;
    let kb = kb.body["kb_id"].as_str().unwrap().to_string();
    let m = srv
        .post(
            &format!("/api/v1/tenants/{a}/members"),
            &alice,
            json!({"user_id": "carol", "role": "viewer"}),
        )
        .await;
    assert_eq!(
        (m.status, m.body["role"].clone()),
        (StatusCode::CREATED, json!("viewer"))
    );
    let members = srv.get(&format!("/api/v1/tenants/{a}/members"), &carol).await;
    assert_eq!(members.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(members.body["total"], 2);
    let list = srv.get("/api/v1/tenants?page=1&page_size=10", &carol).await;
    assert_eq!(
        (list.body["total"].clone(), list.body["items"][0]["tenant_name"].clone()),
        (json!(1), json!("acme"))
    );

    // Ingest with the CLI, query over HTTP (same service, same JSON).
    let doc = lrt.root().join("curie.txt");
    std::fs::write(
        &doc,
        "Marie Curie discovered polonium and radium in Paris. CANARY-7731 is the secret word of acme.",
    )
    .unwrap();
    let ingest = lrt.run_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()],
    );
    assert!(ingest.ok(), "{}", ingest.stderr);
    let q = json!({"question": "What did Marie Curie discover?", "mode": "naive", "only_context": true});
    let query_path = format!("/api/v1/tenants/{a}/kbs/{ka}/query");
    let answer = srv.post(&query_path, &carol, q.clone()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body["context"].as_str().unwrap().contains("CANARY-7731"),
        "{}",
        answer.body
    );
    let docs = srv
        .get(&format!("/api/v1/tenants/{a}/kbs/{ka}/documents"), &carol)
        .await;
    assert_eq!(
        (docs.status, docs.body["total"].clone()),
        (StatusCode::OK, json!(1)),
        "{}",
        docs.body
    );
    let ents = srv
        .get(&format!("/api/v1/tenants/{a}/kbs/{ka}/graph/entities?limit=5"), &carol)
        .await;
    assert_eq!(ents.status, StatusCode::OK, "{}", ents.body);

    // A commit after the engine was cached is seen by the next query.
    std::fs::write(
        &doc,
        "Pierre Curie studied piezoelectricity. CANARY-9902 arrived later.",
    )
    .unwrap();
    assert!(
        lrt.run_as(
            "alice",
            &["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()]
        )
        .ok()
    );
    let later = json!({"question": "Who studied piezoelectricity?", "mode": "naive", "only_context": true});
    let answer = srv.post(&query_path, &carol, later).await;
    assert!(
        answer.body["context"].as_str().unwrap().contains("CANARY-9902"),
        "{}",
        answer.body
    );

    // Isolation: with the engine of A's KB warm, B's admin sees nothing of tenant A.
    let foreign = [
        (Method::GET, format!("/api/v1/tenants/{a}")),
        (Method::GET, format!("/api/v1/tenants/{a}/kbs")),
        (Method::GET, format!("/api/v1/tenants/{a}/kbs/{ka}")),
        (Method::GET, format!("/api/v1/tenants/{a}/members")),
        (Method::GET, format!("/api/v1/tenants/{a}/kbs/{ka}/documents")),
        (Method::GET, format!("/api/v1/tenants/{a}/kbs/{ka}/graph/entities")),
        (Method::POST, query_path.clone()),
        // A's KB id under B's tenant: KBs are looked up inside their tenant.
        (Method::POST, format!("/api/v1/tenants/{b}/kbs/{ka}/query")),
        (Method::GET, format!("/api/v1/tenants/{b}/kbs/{ka}/documents")),
        (Method::DELETE, format!("/api/v1/tenants/{a}/kbs/{ka}")),
        (Method::POST, format!("/api/v1/tenants/{a}/members")),
    ];
    for (method, path) in foreign {
        let body = match (method.clone(), path.ends_with("members")) {
            (Method::POST, true) => Some(json!({"user_id": "bob", "role": "admin"})),
            (Method::POST, false) => Some(q.clone()),
            _ => None,
        };
        srv.assert_foreign(&bob, method, &path, body, "acme").await;
    }
    // B's own KB works for bob and shows none of A's data.
    let own = srv
        .post(&format!("/api/v1/tenants/{b}/kbs/{kb}/query"), &bob, q.clone())
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(!own.body.to_string().contains("CANARY"));

    // Roles: a viewer is a member (so 403, not 404) but cannot mutate.
    let denied = [
        (
            Method::POST,
            format!("/api/v1/tenants/{a}/kbs"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/api/v1/tenants/{a}/kbs/{ka}"), None),
        (
            Method::POST,
            format!("/api/v1/tenants/{a}/members"),
            Some(json!({"user_id": "dave", "role": "admin"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/tenants/{a}"),
            Some(json!({"description": "mine"})),
        ),
        (Method::DELETE, format!("/api/v1/tenants/{a}"), None),
    ];
    for (method, path, body) in denied {
        let r = srv
            .send(method.clone(), &path, Some(&format!("Bearer {carol}")), &[], body)
            .await;
        assert_eq!(
            (r.status, r.body["error"]["code"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden")),
            "{method} {path}"
        );
    }

    // Tenant headers: must match the path (400), and a non-UUID path id is just not found.
    let auth = format!("Bearer {alice}");
    let kb_path = format!("/api/v1/tenants/{a}/kbs/{ka}");
    for (tenant_header, kb_header, expected) in [
        (&b, &ka, StatusCode::BAD_REQUEST),
        (&a, &kb, StatusCode::BAD_REQUEST),
        (&a, &ka, StatusCode::OK),
    ] {
        let headers = [("X-Tenant-ID", tenant_header.as_str()), ("X-KB-ID", kb_header.as_str())];
        let r = srv.send(Method::GET, &kb_path, Some(&auth), &headers, None).await;
        assert_eq!(r.status, expected, "{headers:?}: {}", r.body);
    }
    let r = srv.get("/api/v1/tenants/acme", &alice).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Updates and deletes go through too; a deleted KB's queries are 404.
    let r = srv
        .send(
            Method::PUT,
            &format!("/api/v1/tenants/{a}/kbs/{ka}"),
            Some(&auth),
            &[],
            Some(json!({"set": {"top_k": 7}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = srv
        .send(
            Method::DELETE,
            &format!("/api/v1/tenants/{a}/kbs/{ka}"),
            Some(&auth),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = srv.post(&query_path, &alice, q).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_requires_the_headers() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[("LIGHTRAG_MULTI_TENANT_STRICT", "true")]);
    let root = token(&lrt, ROOT);
    let t = srv.post("/api/v1/tenants", &root, json!({"name": "acme"})).await;
    let t = t.body["tenant_id"].as_str().unwrap().to_string();
    let auth = format!("Bearer {root}");
    let path = format!("/api/v1/tenants/{t}/kbs");
    let r = srv.send(Method::GET, &path, Some(&auth), &[], None).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("usage"))
    );
    let r = srv
        .send(Method::GET, &path, Some(&auth), &[("X-Tenant-ID", &t)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Unscoped routes need no headers.
    assert_eq!(srv.get("/api/v1/tenants", &root).await.status, StatusCode::OK);
}

/// `lrt key create ARGS -q` as `user`: the key, printed alone.
fn create_key(lrt: &Lrt, user: &str, args: &[&str]) -> String {
    let mut all = vec!["key", "create"];
    all.extend_from_slice(args);
    all.push("-q");
    let run = lrt.run_as(user, &all);
    assert!(run.ok(), "{all:?}: {}", run.stderr);
    let key = run.stdout.trim().to_string();
    assert!(key.starts_with("lrt_") && !key.contains('\n'), "{key}");
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_scope_expiry_revocation_and_demotion() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let a = id(
        &lrt.json_as(ROOT, &["tenant", "create", "acme", "--admin", "alice"]),
        "tenant_id",
    );
    let b = id(
        &lrt.json_as(ROOT, &["tenant", "create", "globex", "--admin", "bob"]),
        "tenant_id",
    );
    let docs = id(&lrt.json_as("alice", &["kb", "create", "-t", "acme", "docs"]), "kb_id");
    let other = id(&lrt.json_as("alice", &["kb", "create", "-t", "acme", "other"]), "kb_id");
    let bkb = id(&lrt.json_as("bob", &["kb", "create", "-t", "globex", "docs"]), "kb_id");
    lrt.json_as("alice", &["member", "add", "-t", "acme", "carol", "--role", "editor"]);

    // The CLI: a key's role is capped at its creator's; the key is printed once, in JSON too.
    let run = lrt.run_as("carol", &["key", "create", "-t", "acme", "--role", "admin"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let created = lrt.json_as(
        "carol",
        &["key", "create", "-t", "acme", "--role", "editor", "--name", "ci"],
    );
    let tenant_key = id(&created, "key");
    assert!(tenant_key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(
        (
            created["role"].clone(),
            created["kb_id"].clone(),
            created["created_by"].clone()
        ),
        (json!("editor"), Value::Null, json!("carol"))
    );
    let kb_key = create_key(&lrt, "carol", &["-t", "acme", "--kb", "docs", "--role", "viewer"]);
    let listed = lrt.run_as("carol", &["key", "list", "-t", "acme", "--json"]);
    assert!(listed.ok(), "{}", listed.stderr);
    assert!(
        !listed.stdout.contains(&tenant_key) && !listed.stdout.contains(&kb_key),
        "key list shows a secret"
    );
    let listed = listed.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed.as_array().unwrap().iter().all(|k| k.get("key").is_none()));
    assert_eq!(lrt.code_as("carol", &["key", "list", "-t", "acme", "--all"]), 5);
    assert_eq!(lrt.code_as("bob", &["key", "list", "-t", "acme"]), 3);

    // A tenant-scoped key acts as carol (editor) in acme, and acme only.
    let me = srv.keyed(Method::GET, "/api/v1/me", &tenant_key, None).await;
    assert_eq!((me.status, me.body["user"].clone()), (StatusCode::OK, json!("carol")));
    assert_eq!(me.body["api_key_id"], created["key_id"]);
    let r = srv
        .keyed(
            Method::GET,
            &format!("/api/v1/tenants/{a}/kbs/{other}/documents"),
            &tenant_key,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = srv.keyed(Method::GET, "/api/v1/tenants", &tenant_key, None).await;
    assert_eq!(list.body["total"], 1, "{}", list.body);
    for path in [
        format!("/api/v1/tenants/{b}"),
        format!("/api/v1/tenants/{b}/kbs/{bkb}/documents"),
    ] {
        let r = srv.keyed(Method::GET, &path, &tenant_key, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(!r.body.to_string().contains("globex"));
    }

    // A KB-scoped key: its KB's documents only; the tenant's other KB and other tenants are
    // not found, tenant-level routes are forbidden, and its role is viewer.
    let docs_path = format!("/api/v1/tenants/{a}/kbs/{docs}/documents");
    let r = srv.keyed(Method::GET, &docs_path, &kb_key, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for path in [
        format!("/api/v1/tenants/{a}/kbs/{other}/documents"),
        format!("/api/v1/tenants/{a}/kbs/{other}"),
        format!("/api/v1/tenants/{b}/kbs/{bkb}/documents"),
    ] {
        let r = srv.keyed(Method::GET, &path, &kb_key, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(!r.body.to_string().contains("other"), "{}", r.body);
    }
    let r = srv
        .keyed(Method::GET, &format!("/api/v1/tenants/{a}/kbs"), &kb_key, None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = srv
        .keyed(
            Method::DELETE,
            &format!("/api/v1/tenants/{a}/kbs/{docs}"),
            &kb_key,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Both credentials: 400. Unknown, malformed and forged keys: 401 JSON.
    let token = token(&lrt, "carol");
    let r = srv
        .send(
            Method::GET,
            "/api/v1/me",
            Some(&format!("Bearer {token}")),
            &[("X-API-Key", &tenant_key)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let mut forged = tenant_key.clone();
    forged.replace_range(20.., &"A".repeat(tenant_key.len() - 20));
    for bad in ["lrt_nope", "", forged.as_str()] {
        let r = srv.keyed(Method::GET, "/api/v1/me", bad, None).await;
        assert_unauthenticated(&r, bad);
    }

    // Demoting the creator demotes the key on the next request; the denial is audited.
    let kbs = format!("/api/v1/tenants/{a}/kbs");
    let r = srv
        .keyed(Method::POST, &kbs, &tenant_key, Some(json!({"name": "made-by-key"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    lrt.json_as(
        "alice",
        &["member", "update", "-t", "acme", "carol", "--role", "viewer"],
    );
    let r = srv
        .keyed(Method::POST, &kbs, &tenant_key, Some(json!({"name": "second"})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = srv.keyed(Method::GET, &docs_path, &tenant_key, None).await;
    assert_eq!(r.status, StatusCode::OK, "a viewer still reads: {}", r.body);

    // Use is recorded (at most once a minute), never the key.
    let all = lrt.json_as("alice", &["key", "list", "-t", "acme", "--all"]);
    let used = all
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == created["key_id"])
        .unwrap();
    assert!(used["last_used_at"].is_string(), "{used}");

    // Revocation takes effect on the next request.
    let doomed = lrt.json_as("carol", &["key", "create", "-t", "acme", "--role", "viewer"]);
    let doomed_key = id(&doomed, "key");
    assert_eq!(
        srv.keyed(Method::GET, &docs_path, &doomed_key, None).await.status,
        StatusCode::OK
    );
    let revoked = lrt.json_as("alice", &["key", "revoke", doomed["key_id"].as_str().unwrap()]);
    assert_eq!(revoked["revoked_by"], "alice");
    let r = srv.keyed(Method::GET, &docs_path, &doomed_key, None).await;
    assert_unauthenticated(&r, "revoked");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("revoked"));

    // Expiry: a key made to live one second is refused once it has passed.
    let brief = create_key(&lrt, "carol", &["-t", "acme", "--role", "viewer", "--expires-in", "1s"]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = srv.keyed(Method::GET, &docs_path, &brief, None).await;
    assert_unauthenticated(&r, "expired");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"));
    let run = lrt.run_as(
        "carol",
        &[
            "key",
            "create",
            "-t",
            "acme",
            "--role",
            "viewer",
            "--expires-in",
            "400d",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);

    // The creator leaves the tenant: their keys stop working.
    lrt.json_as("alice", &["member", "remove", "-t", "acme", "carol", "--yes"]);
    let r = srv.keyed(Method::GET, &docs_path, &kb_key, None).await;
    assert_unauthenticated(&r, "creator removed");
    // Removal revoked them: adding the user back does not bring them back.
    lrt.json_as("alice", &["member", "add", "-t", "acme", "carol", "--role", "editor"]);
    let r = srv.keyed(Method::GET, &docs_path, &kb_key, None).await;
    assert_unauthenticated(&r, "creator removed and added again");
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("revoked"),
        "{}",
        r.body
    );
    lrt.json_as("alice", &["member", "remove", "-t", "acme", "carol", "--yes"]);

    // The audit log has the key's mutations and its denial, with the key's id.
    let audit = lrt.json_as("alice", &["audit", "list", "-t", "acme", "--limit", "100"]);
    let rows = audit.as_array().unwrap();
    let has = |action: &str, outcome: &str| {
        rows.iter()
            .any(|r| r["action"] == action && r["outcome"] == outcome && r["api_key_id"] == created["key_id"])
    };
    assert!(has("kb.create", "ok") && has("kb.create", "denied"), "{audit:#}");
    assert!(rows.iter().any(|r| r["action"] == "key.revoke"));
    assert!(rows.iter().filter(|r| r["action"] == "key.create").count() >= 4);

    // The access log names the key (never the key itself) and the route.
    let log = srv.log_text();
    let key_id = created["key_id"].as_str().unwrap();
    assert!(
        log.lines().any(|l| l.contains("route=/api/v1/tenants/{tenant_id}/kbs ")
            && l.contains("status=403")
            && l.contains(&format!("api_key={key_id}"))
            && l.contains("user=carol")
            && l.contains(&format!("tenant={a}"))),
        "{log}"
    );
    for secret in [&tenant_key, &kb_key, &doomed_key, &brief] {
        assert!(!log.contains(secret.as_str()), "a key was logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_status_codes() {
    // Answers take 1.5 s, so the first queries still hold their permits when the last arrives.
    let model = common::model::server(1500, 0).await;
    let env = common::model::env(&model);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lrt = Lrt::new();
    let srv = start(&lrt, &env);
    let a = id(
        &lrt.json_as(
            ROOT,
            &[
                "tenant",
                "create",
                "acme",
                "--admin",
                "alice",
                "--set",
                "max_concurrent_queries=2",
                "--set",
                "max_kb_per_tenant=1",
            ],
        ),
        "tenant_id",
    );
    let kb = id(&lrt.json_as("alice", &["kb", "create", "-t", "acme", "docs"]), "kb_id");
    let key = create_key(&lrt, "alice", &["-t", "acme", "--role", "viewer"]);
    let path = format!("/api/v1/tenants/{a}/kbs/{kb}/query");
    let question = json!({"question": "Who met whom?", "mode": "bypass", "no_cache": true});

    // max_concurrent_queries=2: of three parallel queries exactly one is refused, at once.
    let timed = |_| async {
        let started = std::time::Instant::now();
        let r = srv.keyed(Method::POST, &path, &key, Some(question.clone())).await;
        (r, started.elapsed())
    };
    let answers = futures_util::future::join_all((0..3).map(timed)).await;
    let (refused, ok): (Vec<_>, Vec<_>) = answers
        .iter()
        .partition(|(r, _)| r.status == StatusCode::TOO_MANY_REQUESTS);
    let answered = ok
        .iter()
        .filter(|(r, _)| r.status == StatusCode::OK && r.body["answer"].is_string())
        .count();
    assert_eq!(
        (answered, refused.len()),
        (2, 1),
        "{:?}",
        answers.iter().map(|(r, _)| (r.status, &r.body)).collect::<Vec<_>>()
    );
    let (refused, refused_after) = refused[0];
    assert_eq!(refused.body["error"]["code"], "rate_limited");
    assert_eq!(refused.headers["retry-after"], "1");
    // Refused at once: it waited neither for a permit nor for the model.
    let fastest_answer = ok.iter().map(|(_, d)| *d).min().unwrap();
    assert!(
        fastest_answer >= std::time::Duration::from_millis(1500),
        "{fastest_answer:?}"
    );
    assert!(*refused_after < fastest_answer, "refused after {refused_after:?}");
    // The permits are back: the next query goes through.
    let r = srv.keyed(Method::POST, &path, &key, Some(question.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // A capacity quota is 403 quota_exceeded.
    let r = srv
        .keyed(
            Method::POST,
            &format!("/api/v1/tenants/{a}/kbs"),
            &create_key(&lrt, "alice", &["-t", "acme", "--role", "admin"]),
            Some(json!({"name": "second"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("quota_exceeded")),
        "{}",
        r.body
    );

    // The monthly quota (3 calls made, the refused one was not counted) is 429 with the
    // seconds until the first of next month (UTC).
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "max_monthly_api_calls=3"]);
    let r = srv.keyed(Method::POST, &path, &key, Some(question.clone())).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("rate_limited")),
        "{}",
        r.body
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    let now = jiff::Timestamp::now();
    let d = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let next = if d.month() == 12 {
        jiff::civil::date(d.year() + 1, 1, 1)
    } else {
        jiff::civil::date(d.year(), d.month() + 1, 1)
    };
    let expected = next
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second()
        - now.as_second();
    assert!(
        (retry as i64 - expected).abs() <= 5,
        "Retry-After {retry}, expected about {expected}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_errors_carry_an_id_that_is_logged() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let t = id(
        &lrt.json_as(ROOT, &["tenant", "create", "acme", "--admin", "alice"]),
        "tenant_id",
    );
    let kb = id(&lrt.json_as("alice", &["kb", "create", "-t", "acme", "docs"]), "kb_id");
    let key = create_key(&lrt, "alice", &["-t", "acme", "--role", "viewer"]);
    std::fs::create_dir_all(lrt.kb_dir(&t, &kb)).unwrap();
    std::fs::write(lrt.kb_dir(&t, &kb).join("kb.db"), vec![0x5a; 8192]).unwrap();
    let r = srv
        .keyed(
            Method::POST,
            &format!("/api/v1/tenants/{t}/kbs/{kb}/query"),
            &key,
            Some(json!({"question": "anything?", "mode": "bypass"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(!message.contains(&t), "the response names a path: {message}");
    let error_id = message
        .split("error id ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no error id in {message}"));
    let log = srv.log_text();
    let tagged: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("error_id={error_id}")))
        .collect();
    assert_eq!(tagged.len(), 2, "the error and its access line: {log}");
    assert!(
        tagged
            .iter()
            .any(|l| l.contains("lrt::access") && l.contains("status=500")),
        "{log}"
    );
    assert!(
        tagged.iter().any(|l| l.contains("kb.db")),
        "the log has the details: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_strings_and_repeated_credentials_get_json_400s() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let root = token(&lrt, ROOT);
    for path in ["/api/v1/tenants?page=abc", "/api/v1/tenants?page_size=-1"] {
        let r = srv.get(path, &root).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "usage", "{path}");
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("query string"),
            "{}",
            r.body
        );
    }
    // Two Authorization headers (a valid one first), or two keys: refused, never "the first".
    let bearer = format!("Bearer {root}");
    let r = srv
        .send(
            Method::GET,
            "/api/v1/me",
            Some(&bearer),
            &[("Authorization", "Bearer x")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = srv
        .send(
            Method::GET,
            "/api/v1/me",
            None,
            &[("X-API-Key", "lrt_a"), ("X-API-Key", "lrt_b")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one x-api-key header"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_throttled_per_address() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let root = token(&lrt, ROOT);
    let mut statuses = Vec::new();
    for n in 0..40 {
        let key = format!("lrt_{}", "A".repeat(42 + n % 2));
        let r = srv.keyed(Method::GET, "/api/v1/me", &key, None).await;
        statuses.push(r.status.as_u16());
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
    // Throttled, even a valid credential from that address waits, and is told how long.
    let r = srv.get("/api/v1/me", &root).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(r.body["error"]["code"], "rate_limited");
    // /health needs no credentials and is never throttled.
    let health = srv.send(Method::GET, "/health", None, &[], None).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_lifetimes_are_capped() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    for exp in [u64::MAX, now() + 31 * 86_400] {
        let forged = forge(Algorithm::HS256, SECRET, json!({"sub": ROOT, "exp": exp}));
        let r = srv.get("/api/v1/me", &forged).await;
        assert_unauthenticated(&r, "lifetime beyond the cap");
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("30 days"),
            "{}",
            r.body
        );
    }
    let ok = forge(
        Algorithm::HS256,
        SECRET,
        json!({"sub": ROOT, "exp": now() + 29 * 86_400}),
    );
    assert_eq!(srv.get("/api/v1/me", &ok).await.status, StatusCode::OK);
    let run = lrt.run(
        Some(ROOT),
        &[("TOKEN_SECRET", SECRET)],
        &["token", "issue", "--user", "x", "--expires-in", "31d"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("at most 30 days"), "{}", run.stderr);
}

/// `lrt token revoke`: a user's tokens issued up to the revocation get 401 on the next
/// request (and a token without `iat` too); later tokens and other users' work; super-admins
/// revoke anyone's tokens, a user their own, nobody else; every attempt is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_are_refused() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[]);
    let env = [("TOKEN_SECRET", SECRET)];
    let old = token(&lrt, "alice");
    let bobs = token(&lrt, "bob");
    let no_iat = forge(Algorithm::HS256, SECRET, json!({"sub": "alice", "exp": now() + 600}));
    for t in [&old, &bobs, &no_iat] {
        assert_eq!(srv.get("/api/v1/me", t).await.status, StatusCode::OK);
    }
    // bob may not revoke alice's tokens.
    let denied = lrt.run(Some("bob"), &env, &["token", "revoke", "--user", "alice"]);
    assert_eq!(denied.code, 5, "{}", denied.stderr);
    assert_eq!(srv.get("/api/v1/me", &old).await.status, StatusCode::OK);
    let done = lrt.json_as(ROOT, &["token", "revoke", "--user", "alice"]);
    assert_eq!(done["user"], "alice", "{done}");
    for (t, case) in [(&old, "issued before"), (&no_iat, "no iat")] {
        let r = srv.get("/api/v1/me", t).await;
        assert_unauthenticated(&r, case);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("revoked"),
            "{}",
            r.body
        );
    }
    assert_eq!(srv.get("/api/v1/me", &bobs).await.status, StatusCode::OK);
    // A token minted right after (even within the same second) is accepted.
    let fresh = token(&lrt, "alice");
    assert_eq!(srv.get("/api/v1/me", &fresh).await.status, StatusCode::OK);
    // Signing yourself out everywhere.
    let own = lrt.run(Some("alice"), &env, &["token", "revoke", "--user", "alice"]);
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert_unauthenticated(&srv.get("/api/v1/me", &fresh).await, "self-revoked");
    let rows = lrt.json_as(ROOT, &["audit", "list", "--limit", "100"]);
    let revokes: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "token.revoke")
        .map(|r| {
            (
                r["user_id"].as_str().unwrap().into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        revokes,
        [
            ("alice".into(), "ok".into()),
            (ROOT.into(), "ok".into()),
            ("bob".into(), "denied".into())
        ],
        "{rows}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_user_auth_only_local_hosts_and_origins_are_served() {
    let lrt = Lrt::new();
    let srv = start(&lrt, &[("LIGHTRAG_REQUIRE_USER_AUTH", "false")]);
    let me = |headers: Vec<(&'static str, String)>| {
        let srv = &srv;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            srv.send(Method::GET, "/api/v1/me", None, &h, None).await
        }
    };
    assert_eq!(me(vec![]).await.status, StatusCode::OK);
    let local = vec![("Origin", "http://localhost:3000".to_string())];
    assert_eq!(me(local).await.status, StatusCode::OK);
    for (name, value) in [
        ("Host", "rebound.example.com"),
        ("Host", "rebound.example.com:9621"),
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
    ] {
        let r = me(vec![(name, value.to_string())]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {value}: {}", r.body);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("loopback"),
            "{}",
            r.body
        );
    }
}

/// SIGTERM while a query waits on the model, past the shutdown grace: the server exits 0 and
/// nothing panics. The query's blocking task drove its model call on the server's runtime,
/// which was being shut down under it ("A Tokio 1.x context was found, but it is being
/// shutdown").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_query_running_stops_without_a_panic() {
    let model = common::model::server(8_000, 0).await;
    let env = common::model::env(&model);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lrt = Lrt::new();
    let a = id(
        &lrt.json_as(ROOT, &["tenant", "create", "acme", "--admin", "alice"]),
        "tenant_id",
    );
    let kb = id(&lrt.json_as("alice", &["kb", "create", "-t", "acme", "docs"]), "kb_id");
    let alice = token(&lrt, "alice");
    let mut srv = spawn(&lrt, &env, &["--shutdown-grace", "1s"]).unwrap();
    let url = format!("{}/api/v1/tenants/{a}/kbs/{kb}/query", srv.base);
    let question = json!({"question": "Who met whom?", "mode": "bypass", "no_cache": true});
    let asking = srv.http.post(url).bearer_auth(&alice).json(&question).send();
    let asked = tokio::spawn(asking);
    // The question has reached the model (which answers after 8 s).
    let started = std::time::Instant::now();
    while model.received_requests().await.unwrap_or_default().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the query never reached the model"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let code = common::server::terminate(&mut srv, std::time::Duration::from_secs(6));
    let log = srv.log_text();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    let _ = asked.await;
}

/// A KB reconfigured by another process (the CLI here; another replica on PostgreSQL) reaches
/// the server's next question: its cached engine, opened under the old settings, is replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kb_changed_by_another_process_is_queried_with_its_new_settings() {
    let model = common::model::server(0, 0).await;
    let env = common::model::env(&model);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lrt = Lrt::new();
    let srv = start(&lrt, &env);
    let a = id(
        &lrt.json_as(ROOT, &["tenant", "create", "acme", "--admin", "alice"]),
        "tenant_id",
    );
    let kb = id(&lrt.json_as("alice", &["kb", "create", "-t", "acme", "docs"]), "kb_id");
    let alice = token(&lrt, "alice");
    let path = format!("/api/v1/tenants/{a}/kbs/{kb}/query");
    let last_model = || async {
        let requests = model.received_requests().await.unwrap();
        let body: Value = serde_json::from_slice(&requests.last().unwrap().body).unwrap();
        body["model"].as_str().unwrap().to_string()
    };
    let ask = |question: &'static str| {
        let (srv, alice, path) = (&srv, &alice, &path);
        async move {
            let r = srv
                .post(path, alice, json!({"question": question, "mode": "bypass"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    ask("Who met whom?").await;
    assert_eq!(last_model().await, "mock-chat");
    let changes = [
        (
            ROOT,
            "tenant",
            "llm_model=mock-chat-2",
            "Where did they meet?",
            "mock-chat-2",
        ),
        (
            "alice",
            "kb",
            "llm_model=mock-chat-3",
            "When did they meet?",
            "mock-chat-3",
        ),
    ];
    for (user, layer, setting, question, expected) in changes {
        let args: &[&str] = match layer {
            "tenant" => &["tenant", "update", "acme", "--set", setting],
            _ => &["kb", "update", "-t", "acme", "docs", "--set", setting],
        };
        let run = lrt.run_as(user, args);
        assert!(run.ok(), "{}", run.stderr);
        ask(question).await;
        assert_eq!(
            last_model().await,
            expected,
            "after the {layer} update the cached engine kept the old model"
        );
    }
}
