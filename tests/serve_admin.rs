//! The HTTP routes of `lrt key` and `lrt audit list`: API keys created, listed and revoked
//! under the CLI's rules (a role up to the caller's own, never through a key; members see
//! their own keys, tenant admins all; creators and admins revoke), the audit log read with
//! the CLI's filters, and nothing across tenants. (`tests/serve_matrix.rs` checks who may call
//! each route; this checks what the routes do.)

mod common;

use common::server::{Server, start, token};
use common::{Lrt, ROOT};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn as_key(srv: &Server, method: Method, path: &str, key: &str, body: Option<Value>) -> common::server::Resp {
    srv.keyed(method, path, key, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_audit_over_http_follow_the_cli() {
    let lrt = Lrt::new();
    let a = lrt.tenant("acme", Some("alice"));
    let b = lrt.tenant("globex", Some("bob"));
    lrt.member(&a, "vi", "viewer");
    let srv = start(&lrt, &[]);
    let (alice, vi, bob) = (token(&lrt, "alice"), token(&lrt, "vi"), token(&lrt, "bob"));
    let keys = format!("/api/v1/tenants/{a}/keys");

    // Create: the secret once, a role up to the caller's own.
    let made = srv
        .post(
            &keys,
            &alice,
            json!({"role": "editor", "name": "ci", "expires_in": "7d"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let alice_key = made.body["key"].as_str().unwrap().to_string();
    let alice_key_id = made.body["key_id"].as_str().unwrap().to_string();
    assert!(alice_key.starts_with("lrt_") && alice_key.starts_with(made.body["prefix"].as_str().unwrap()));
    assert_eq!(made.body["role"], "editor");
    assert_eq!(
        as_key(&srv, Method::GET, "/api/v1/me", &alice_key, None).await.status,
        StatusCode::OK
    );
    let too_high = srv.post(&keys, &vi, json!({"role": "admin"})).await;
    assert_eq!(too_high.status, StatusCode::FORBIDDEN, "{}", too_high.body);
    let bad = srv
        .post(&keys, &vi, json!({"role": "viewer", "expires_in": "400d"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let vi_made = srv.post(&keys, &vi, json!({"role": "viewer"})).await;
    assert_eq!(vi_made.status, StatusCode::CREATED, "{}", vi_made.body);
    let (vi_key, vi_key_id) = (
        vi_made.body["key"].as_str().unwrap().to_string(),
        vi_made.body["key_id"].as_str().unwrap().to_string(),
    );
    // Keys never mint keys.
    let minted = as_key(&srv, Method::POST, &keys, &alice_key, Some(json!({"role": "viewer"}))).await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.body);

    // List: one's own, or with all=true (tenant:manage_members) everyone's; never a secret.
    let own = srv.get(&keys, &vi).await;
    assert_eq!(own.status, StatusCode::OK);
    let own = own.body["items"].as_array().unwrap().clone();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["key_id"], vi_key_id.as_str());
    assert_eq!(
        srv.get(&format!("{keys}?all=true"), &vi).await.status,
        StatusCode::FORBIDDEN
    );
    let all = srv.get(&format!("{keys}?all=true"), &alice).await;
    let all = all.body["items"].as_array().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|k| k.get("key").is_none()), "no secrets in a listing");
    let cli = lrt.json_as("alice", &["key", "list", "-t", &a, "--all"]);
    assert_eq!(cli.as_array().unwrap().len(), 2, "the CLI lists the same keys");

    // Another tenant sees nothing and revokes nothing of A's, even through its own path.
    assert_eq!(srv.get(&keys, &bob).await.status, StatusCode::NOT_FOUND);
    let across = srv
        .delete(&format!("/api/v1/tenants/{b}/keys/{alice_key_id}"), &bob)
        .await;
    assert_eq!(across.status, StatusCode::NOT_FOUND, "{}", across.body);
    assert!(!across.body.to_string().contains("acme"), "{}", across.body);
    assert_eq!(
        as_key(&srv, Method::GET, "/api/v1/me", &alice_key, None).await.status,
        StatusCode::OK
    );

    // Revoke: a viewer cannot revoke the admin's key; the admin revokes the viewer's, which
    // stops working at once.
    let denied = srv.delete(&format!("{keys}/{alice_key_id}"), &vi).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let revoked = srv.delete(&format!("{keys}/{vi_key_id}"), &alice).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.body["revoked_by"], "alice");
    assert_eq!(
        as_key(&srv, Method::GET, "/api/v1/me", &vi_key, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        srv.delete(&format!("{keys}/{vi_key_id}"), &alice).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        srv.delete(&format!("{keys}/not-a-key"), &alice).await.status,
        StatusCode::NOT_FOUND
    );

    // The audit log: tenant:manage, the CLI's filters, A's rows only.
    let audit = format!("/api/v1/tenants/{a}/audit");
    let log = srv.get(&audit, &alice).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let rows = log.body["items"].as_array().unwrap().clone();
    assert!(rows.iter().any(|r| r["action"] == "key.create" && r["user_id"] == "vi"));
    assert!(rows.iter().any(|r| r["action"] == "key.revoke"));
    assert!(rows.iter().all(|r| r["tenant_id"] == a.as_str()), "only A's rows");
    let vis = srv.get(&format!("{audit}?user=vi&limit=100"), &alice).await.body;
    let vis = vis["items"].as_array().unwrap().clone();
    assert!(!vis.is_empty() && vis.iter().all(|r| r["user_id"] == "vi"));
    let cli = lrt.json_as("alice", &["audit", "list", "-t", &a, "--user", "vi", "--limit", "100"]);
    let ids = |rows: &[Value]| rows.iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(&vis), ids(cli.as_array().unwrap()), "the CLI's answer");
    let two = srv.get(&format!("{audit}?limit=2"), &alice).await.body;
    assert_eq!(two["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        (two["page_size"].clone(), two["page"].clone()),
        (json!(2), json!(1)),
        "limit is page_size"
    );
    let future = srv.get(&format!("{audit}?since=2999-01-01"), &alice).await.body;
    assert!(future["items"].as_array().unwrap().is_empty());
    assert_eq!(future["total"], 0);
    for bad in ["limit=0", "limit=10001", "since=yesterday-ish", "limit=many"] {
        let r = srv.get(&format!("{audit}?{bad}"), &alice).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    assert_eq!(srv.get(&audit, &vi).await.status, StatusCode::FORBIDDEN);
    assert_eq!(srv.get(&audit, &bob).await.status, StatusCode::NOT_FOUND);
    let root = token(&lrt, ROOT);
    assert_eq!(srv.get(&audit, &root).await.status, StatusCode::OK);
}
