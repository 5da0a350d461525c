//! `lrt serve` end to end: the real binary on 127.0.0.1 with a free port, driven over HTTP.
//! Authentication attacks, the guide's flow (tenant, KB, member, CLI ingest, HTTP query),
//! tenant isolation (404 without leaks, through a warm engine cache too), role denials,
//! strict tenant headers, body limits and fail-closed start-up.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::server::{Resp, SECRET, spawn, start, token};
use common::{Lrt, ROOT};
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
    assert_eq!(members.body.as_array().unwrap().len(), 2);
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
        let r = srv
            .send(method.clone(), &path, Some(&format!("Bearer {bob}")), &[], body)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}: {}", r.body);
        let text = r.body.to_string();
        assert!(
            !text.contains("acme") && !text.contains("CANARY"),
            "{method} {path} leaks: {text}"
        );
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
    let r = srv
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{a}/kbs/{ka}"),
            Some(&auth),
            &[("X-Tenant-ID", &b), ("X-KB-ID", &ka)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = srv
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{a}/kbs/{ka}"),
            Some(&auth),
            &[("X-Tenant-ID", &a), ("X-KB-ID", &kb)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = srv
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{a}/kbs/{ka}"),
            Some(&auth),
            &[("X-Tenant-ID", &a), ("X-KB-ID", &ka)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
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
