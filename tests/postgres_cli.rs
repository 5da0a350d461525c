//! The real `lrt` binary with its catalog in PostgreSQL (`LRT_STORAGE=postgres`): admin work
//! end to end (tenants, KBs, members, keys, the audit log, `lrt use`, quotas), `lrt db`, and
//! the storage settings' errors. Each test gets a database of its own in the server
//! `LRT_TEST_DATABASE_URL` names (`.ci/steps/10-postgres.sh`); KB data stays in SQLite files
//! under the data directory in this increment.

mod common;

use common::pg_cluster::Database;
use common::{Lrt, ROOT, Run};
use serde_json::Value;

/// `lrt ARGS` as `user` on the PostgreSQL catalog.
fn pg(lrt: &Lrt, db: &Database, user: &str, args: &[&str]) -> Run {
    lrt.run(
        Some(user),
        &[("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", &db.url)],
        args,
    )
}

fn pg_json(lrt: &Lrt, db: &Database, user: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let run = pg(lrt, db, user, &all);
    assert_eq!(run.code, 0, "lrt {all:?} as {user}: {}", run.stderr);
    run.json()
}

#[test]
fn admin_work_end_to_end_on_postgres() {
    let Some(db) = Database::new("admin_work_end_to_end_on_postgres") else {
        return;
    };
    let lrt = Lrt::new();
    let status = pg_json(&lrt, &db, ROOT, &["db", "status"]);
    assert_eq!(
        (status["backend"].as_str(), status["current"].as_u64()),
        (Some("postgres"), Some(0))
    );
    let latest = status["latest"].as_u64().unwrap();
    assert!(latest >= 1);
    let migrated = pg_json(&lrt, &db, ROOT, &["db", "migrate"]);
    assert_eq!(migrated["applied"].as_array().unwrap().len() as u64, latest);
    assert_eq!(
        pg_json(&lrt, &db, ROOT, &["db", "migrate"])["applied"],
        serde_json::json!([])
    );
    assert_eq!(
        pg_json(&lrt, &db, ROOT, &["db", "status"])["pending"],
        serde_json::json!([])
    );

    let tenant = pg_json(&lrt, &db, ROOT, &["tenant", "create", "acme", "--admin", "alice"]);
    let tenant_id = tenant["tenant_id"].as_str().unwrap().to_string();
    let kb = pg_json(&lrt, &db, "alice", &["kb", "create", "docs", "-t", "acme"]);
    let kb_id = kb["kb_id"].as_str().unwrap().to_string();
    assert!(
        lrt.kb_dir(&tenant_id, &kb_id).is_dir(),
        "KB data stays under the data directory"
    );
    pg_json(
        &lrt,
        &db,
        "alice",
        &["member", "add", "bob", "-t", "acme", "--role", "viewer"],
    );
    let members = pg_json(&lrt, &db, "alice", &["member", "list", "-t", "acme"]);
    let users: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["alice", "bob"]);
    let key = pg_json(&lrt, &db, "alice", &["key", "create", "-t", "acme", "--role", "viewer"]);
    assert!(key["key"].as_str().unwrap().starts_with("lrt_"));
    let keys = pg_json(&lrt, &db, "alice", &["key", "list", "-t", "acme"]);
    assert_eq!(keys.as_array().unwrap().len(), 1);

    // Bob (viewer) may not add members: refused with exit 5, and the denial is audited.
    let denied = pg(
        &lrt,
        &db,
        "bob",
        &["member", "add", "eve", "-t", "acme", "--role", "admin"],
    );
    assert_eq!(denied.code, 5, "{}", denied.stderr);
    let audit = pg_json(&lrt, &db, "alice", &["audit", "list", "-t", "acme"]);
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    for expected in [
        ("tenant.create", "ok"),
        ("kb.create", "ok"),
        ("member.add", "ok"),
        ("key.create", "ok"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
    assert!(actions.iter().any(|(_, outcome)| *outcome == "denied"), "{actions:?}");

    // `lrt use` and whoami read the same database.
    assert_eq!(pg(&lrt, &db, "alice", &["use", "acme", "--kb", "docs"]).code, 0);
    let kbs = pg_json(&lrt, &db, "alice", &["kb", "list"]);
    assert_eq!(kbs.as_array().unwrap().len(), 1);
    let who = pg_json(&lrt, &db, "bob", &["whoami"]);
    assert_eq!(who["memberships"][0]["role"], "viewer", "{who}");

    // Everything went to PostgreSQL: the SQLite catalog of the same data directory is empty.
    let sqlite = lrt.json_as(ROOT, &["tenant", "list"]);
    assert_eq!(sqlite, serde_json::json!([]), "{sqlite}");
    assert_eq!(db.scalar("SELECT count(*) FROM tenants"), 1);

    // Ingest and query: the catalog in PostgreSQL, the KB's data in its kb.db.
    let doc = lrt.root().join("curie.md");
    std::fs::write(
        &doc,
        "Marie Curie discovered radium in Paris. She won the Nobel Prize in 1903.",
    )
    .unwrap();
    let ingest = pg(
        &lrt,
        &db,
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()],
    );
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let shown = pg_json(&lrt, &db, "alice", &["kb", "show", "docs", "-t", "acme"]);
    assert_eq!(shown["document_count"], 1, "{shown}");
    let answer = pg(
        &lrt,
        &db,
        "bob",
        &["query", "-t", "acme", "--kb", "docs", "Who discovered radium?"],
    );
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    assert!(answer.stdout.contains("Curie"), "{}", answer.stdout);
    let calls = db.scalar("SELECT coalesce(sum(api_calls), 0)::bigint FROM tenant_usage");
    assert_eq!(calls, 2, "one ingest run and one query");

    // Deleting the tenant removes its rows and its folder.
    assert_eq!(pg(&lrt, &db, ROOT, &["tenant", "delete", "acme", "--yes"]).code, 0);
    assert!(!lrt.tenant_dir(&tenant_id).exists());
    assert_eq!(db.scalar("SELECT count(*) FROM knowledge_bases"), 0);
}

#[test]
fn the_kb_quota_holds_across_processes_on_postgres() {
    let Some(db) = Database::new("the_kb_quota_holds_across_processes_on_postgres") else {
        return;
    };
    let lrt = Lrt::new();
    pg_json(
        &lrt,
        &db,
        ROOT,
        &["tenant", "create", "acme", "--set", "max_kb_per_tenant=3"],
    );
    let children: Vec<_> = (0..6)
        .map(|i| {
            let mut cmd = lrt.process(ROOT, &["kb", "create", &format!("kb{i}"), "-t", "acme"]);
            cmd.env("LRT_STORAGE", "postgres").env("LRT_DATABASE_URL", &db.url);
            cmd.spawn().unwrap()
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 7).count(), 3, "{codes:?}");
    let kbs = pg_json(&lrt, &db, ROOT, &["kb", "list", "-t", "acme"]);
    assert_eq!(kbs.as_array().unwrap().len(), 3);
}

#[test]
fn a_schema_newer_than_this_lrt_is_refused() {
    let Some(db) = Database::new("a_schema_newer_than_this_lrt_is_refused") else {
        return;
    };
    let lrt = Lrt::new();
    pg_json(&lrt, &db, ROOT, &["db", "migrate"]);
    db.execute("INSERT INTO lrt_migrations (version) VALUES (999)");
    for args in [&["tenant", "list"][..], &["db", "status"], &["db", "migrate"]] {
        let run = pg(&lrt, &db, ROOT, args);
        assert_eq!(run.code, 9, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("newer lrt"), "{}", run.stderr);
    }
}

#[test]
fn storage_settings_are_checked_and_passwords_never_shown() {
    let lrt = Lrt::new();
    let bad = lrt.run(Some(ROOT), &[("LRT_STORAGE", "mysql")], &["tenant", "list"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("LRT_STORAGE"), "{}", bad.stderr);
    let no_user = lrt.run(Some(ROOT), &[("LRT_STORAGE", "postgres")], &["tenant", "list"]);
    assert_eq!(no_user.code, 2, "{}", no_user.stderr);
    assert!(no_user.stderr.contains("POSTGRES_USER"), "{}", no_user.stderr);
    let tls = lrt.run(
        Some(ROOT),
        &[
            ("LRT_STORAGE", "postgres"),
            ("POSTGRES_USER", "u"),
            ("POSTGRES_SSL_MODE", "verify-full"),
        ],
        &["tenant", "list"],
    );
    // verify-full with no CA to check against.
    assert_eq!(tls.code, 2, "{}", tls.stderr);
    assert!(tls.stderr.contains("POSTGRES_SSL_ROOT_CERT"), "{}", tls.stderr);
    let port = lrt.run(Some(ROOT), &[("POSTGRES_PORT", "70000")], &["tenant", "list"]);
    assert_eq!(port.code, 2, "{}", port.stderr);

    // Nobody listens on this port: a storage error (9), without the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://lrt:s3cr3t-pw@127.0.0.1:{}/x",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let env = [
        ("LRT_STORAGE", "postgres"),
        ("LRT_DATABASE_URL", url.as_str()),
        ("POSTGRES_PASSWORD", "other-pw-77"),
    ];
    let down = lrt.run(Some(ROOT), &env, &["tenant", "list", "--json"]);
    assert_eq!(down.code, 9, "{}", down.stderr);
    assert_eq!(down.json_error()["error"]["kind"], "unavailable", "{}", down.stderr);
    assert!(down.stderr.contains("PostgreSQL"), "{}", down.stderr);
    let shown = lrt.run(Some(ROOT), &env, &["config", "show", "--json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    for run in [&down, &shown] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains("s3cr3t-pw") && !all.contains("other-pw-77"), "{all}");
    }
    let doc = shown.json();
    assert_eq!(doc["storage.backend"]["value"], "postgres");
    assert_eq!(doc["postgres.password"]["value"], "set (hidden)");
    assert!(
        doc["storage.database_url"]["value"]
            .as_str()
            .unwrap()
            .contains("lrt:***@"),
        "{doc}"
    );
    let bad_url = lrt.run(
        Some(ROOT),
        &[
            ("LRT_STORAGE", "postgres"),
            ("LRT_DATABASE_URL", "postgres://u:hunter22@h:port/db"),
        ],
        &["db", "status"],
    );
    assert_eq!(bad_url.code, 2, "{}", bad_url.stderr);
    assert!(!bad_url.stderr.contains("hunter22"), "{}", bad_url.stderr);
}

/// `lrt serve` on a PostgreSQL catalog: the request handlers (blocking pool), the upload
/// worker (its own runtime) and API keys all go through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_uploads_queries_and_keys() {
    use common::server::{spawn, token};
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    let Some(db) = Database::new("serve_on_postgres_uploads_queries_and_keys") else {
        return;
    };
    let lrt = Lrt::new();
    let env = [("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", db.url.as_str())];
    let srv = spawn(&lrt, &env, &[]).unwrap_or_else(|e| panic!("lrt serve did not start: {e}"));
    let (root, alice) = (token(&lrt, ROOT), token(&lrt, "alice"));
    let t = srv
        .post("/api/v1/tenants", &root, json!({"name": "acme", "admin": "alice"}))
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let t = t.body["tenant_id"].as_str().unwrap().to_string();
    let k = srv
        .post(&format!("/api/v1/tenants/{t}/kbs"), &alice, json!({"name": "docs"}))
        .await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.body);
    let kb_path = format!("/api/v1/tenants/{t}/kbs/{}", k.body["kb_id"].as_str().unwrap());
    let up = srv
        .post(
            &format!("{kb_path}/documents/text"),
            &alice,
            json!({"text": "Marie Curie discovered radium in Paris. CANARY-77 is the word."}),
        )
        .await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{}", up.body);
    let doc = up.body["doc_id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = srv.get(&format!("{kb_path}/documents/{doc}"), &alice).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        match r.body["status"].as_str().unwrap() {
            "processed" => break,
            "pending" | "processing" => {}
            other => panic!("{doc}: {other}: {}", r.body),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{doc} not processed: {}",
            srv.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let key = pg_json(&lrt, &db, "alice", &["key", "create", "-t", "acme", "--role", "viewer"]);
    let key = key["key"].as_str().unwrap().to_string();
    let q = json!({"question": "What did Marie Curie discover?", "mode": "naive", "only_context": true});
    let r = srv
        .keyed(Method::POST, &format!("{kb_path}/query"), &key, Some(q))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.to_string().contains("CANARY-77"), "{}", r.body);
    let stats = srv.get(&format!("/api/v1/tenants/{t}"), &alice).await;
    assert_eq!(stats.body["total_documents"], 1, "{}", stats.body);
    let calls = db.scalar("SELECT coalesce(sum(api_calls), 0)::bigint FROM tenant_usage");
    assert!(calls >= 3, "uploads, reads and the query are counted: {calls}");
}
