//! Two `lrt serve` replicas on one PostgreSQL database, each with a data directory of its own
//! (as on two machines): what one accepts the other serves, and a replica killed in the middle
//! of an ingest leaves its KB's queue to the other, which finishes it with nothing lost and
//! nothing twice. A process whose lock session is lost while it lives is fenced out.

mod common;

use std::time::{Duration, Instant};

use common::pg_cluster::Database;
use common::server::{Server, start, token};
use common::{Lrt, ROOT};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Two installations sharing `db`, the model at `model`.
fn installations(db: &Database, model: &wiremock::MockServer) -> (Lrt, Lrt, Vec<(&'static str, String)>) {
    let mut env: Vec<(&str, String)> = common::model::env(model);
    env.push(("LRT_STORAGE", "postgres".into()));
    env.push(("LRT_DATABASE_URL", db.url.clone()));
    (Lrt::new(), Lrt::new(), env)
}

/// A document's status, read through `srv`.
async fn status(srv: &Server, kb_path: &str, doc: &str, bearer: &str) -> Value {
    let r = srv.get(&format!("{kb_path}/documents/{doc}"), bearer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// Waits until `doc` is processed, as `srv` sees it.
async fn processed(srv: &Server, kb_path: &str, doc: &str, bearer: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let body = status(srv, kb_path, doc, bearer).await;
        match body["status"].as_str().unwrap() {
            "processed" => return,
            "pending" | "processing" => {}
            other => panic!("{doc}: {other}: {body}"),
        }
        assert!(
            Instant::now() < deadline,
            "{doc} not processed: {body}\n{}",
            srv.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates tenant `acme` (admin alice) with KB `docs` through `srv`; the KB's path.
async fn acme_docs(srv: &Server, lrt: &Lrt) -> String {
    let (root, alice) = (token(lrt, ROOT), token(lrt, "alice"));
    let t = srv
        .post("/api/v1/tenants", &root, json!({"name": "acme", "admin": "alice"}))
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let t = t.body["tenant_id"].as_str().unwrap().to_string();
    let k = srv
        .post(&format!("/api/v1/tenants/{t}/kbs"), &alice, json!({"name": "docs"}))
        .await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.body);
    format!("/api/v1/tenants/{t}/kbs/{}", k.body["kb_id"].as_str().unwrap())
}

async fn upload(srv: &Server, kb_path: &str, bearer: &str, text: &str) -> String {
    let up = srv
        .post(&format!("{kb_path}/documents/text"), bearer, json!({"text": text}))
        .await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{}", up.body);
    up.body["doc_id"].as_str().unwrap().to_string()
}

async fn context(srv: &Server, kb_path: &str, bearer: &str, question: &str) -> String {
    let q = json!({"question": question, "mode": "naive", "only_context": true, "no_cache": true});
    let r = srv.post(&format!("{kb_path}/query"), bearer, q).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.to_string()
}

/// Uploaded to one replica, answered by the other, both ways: the second replica's cached
/// engine sees the first one's later commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_replica_accepts_the_other_serves() {
    let Some(db) = Database::new("what_one_replica_accepts_the_other_serves") else {
        return;
    };
    let model = common::model::server(0, 0).await;
    let (one, two, env) = installations(&db, &model);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = (start(&one, &env), start(&two, &env));
    let kb_path = acme_docs(&a, &one).await;
    let (alice_a, alice_b) = (token(&one, "alice"), token(&two, "alice"));

    let first = upload(
        &a,
        &kb_path,
        &alice_a,
        "Marie Curie discovered radium in Paris. CANARY-31 is the word.",
    )
    .await;
    processed(&b, &kb_path, &first, &alice_b, Duration::from_secs(60)).await;
    assert!(
        context(&b, &kb_path, &alice_b, "What did Marie Curie discover?")
            .await
            .contains("CANARY-31")
    );

    let second = upload(
        &b,
        &kb_path,
        &alice_b,
        "Ada Lovelace wrote the first program. CANARY-62 is the word.",
    )
    .await;
    processed(&a, &kb_path, &second, &alice_a, Duration::from_secs(60)).await;
    // `a` answered a question before (its engine is cached) and must see `b`'s commit.
    assert!(
        context(&a, &kb_path, &alice_a, "Who wrote the first program?")
            .await
            .contains("CANARY-62")
    );
    assert!(
        context(&a, &kb_path, &alice_a, "What did Marie Curie discover?")
            .await
            .contains("CANARY-31")
    );
}

/// A replica killed (SIGKILL) while it ingests: the other replica takes the KB's queue over and
/// processes the document once; its chunks are stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_ingest_leaves_its_work_to_the_other() {
    let Some(db) = Database::new("a_replica_killed_mid_ingest_leaves_its_work_to_the_other") else {
        return;
    };
    // Slow answers: the document's extraction takes seconds, long enough to kill `a` during it.
    let model = common::model::server(400, 0).await;
    let (one, two, env) = installations(&db, &model);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut a = start(&one, &env);
    let kb_path = acme_docs(&a, &one).await;
    let alice_a = token(&one, "alice");
    let text: String = (0..40)
        .map(|i| format!("Paragraph {i}: Marie Curie worked in laboratory {i} with Pierre Curie. CANARY-{i}.\n\n"))
        .collect::<String>()
        .repeat(6);
    let doc = upload(&a, &kb_path, &alice_a, &text).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&a, &kb_path, &doc, &alice_a).await["status"] != "processing" {
        assert!(Instant::now() < deadline, "never processing: {}", a.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();

    let b = start(&two, &env);
    let alice_b = token(&two, "alice");
    processed(&b, &kb_path, &doc, &alice_b, Duration::from_secs(240)).await;
    let body = status(&b, &kb_path, &doc, &alice_b).await;
    let chunks = body["chunks_count"].as_i64().unwrap();
    assert!(chunks > 1, "{body}");
    assert_eq!(
        db.scalar("SELECT count(*) FROM kb_chunks"),
        chunks,
        "every chunk stored once"
    );
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), 1);
    assert!(
        context(&b, &kb_path, &alice_b, "Where did Marie Curie work?")
            .await
            .contains("CANARY-")
    );
}

/// The one KB of `db`: (tenant, kb).
fn only_kb(db: &Database) -> (uuid::Uuid, uuid::Uuid) {
    let id = |column: &str| {
        let text = db.text(&format!("SELECT {column}::text FROM knowledge_bases"));
        uuid::Uuid::parse_str(&text).unwrap()
    };
    (id("tenant_id"), id("kb_id"))
}

/// A process holding a KB's ingest lock loses the lock's database session while it lives (its
/// backend terminated, as a connection reset, a failover or a network cut would end it) in the
/// middle of an ingest. Another `lrt ingest` takes the KB and finishes the queue; the first
/// process's next write is refused, so it stops with the lost-lock error (exit 6) having
/// committed nothing after the takeover: every document is committed exactly once (one
/// generation step per commit) with its chunks stored once, and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_lock_session_ends_is_fenced_out_and_the_next_holder_finishes() {
    let Some(db) = Database::new("a_holder_whose_lock_session_ends_is_fenced_out_and_the_next_holder_finishes") else {
        return;
    };
    // Slow answers: the run takes many seconds, so the lock is lost in its middle.
    let model = common::model::server(300, 0).await;
    let (lrt, _, env) = installations(&db, &model);
    let docs = lrt.root().join("corpus");
    const DOCS: i64 = 8;
    common::model::write_corpus(&docs, DOCS as usize, 6);
    let (lrt, env, docs) = (
        std::sync::Arc::new(lrt),
        std::sync::Arc::new(env),
        docs.to_str().unwrap().to_string(),
    );
    let run = {
        let (lrt, env) = (lrt.clone(), env.clone());
        move |user: &'static str, args: Vec<String>| {
            let (lrt, env) = (lrt.clone(), env.clone());
            tokio::task::spawn_blocking(move || {
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                lrt.run(Some(user), &env, &args)
            })
        }
    };
    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    for (user, a) in [
        (ROOT, args(&["tenant", "create", "acme", "--admin", "alice"])),
        ("alice", args(&["kb", "create", "docs", "-t", "acme"])),
    ] {
        let r = run(user, a).await.unwrap();
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let ingest = args(&["ingest", "-t", "acme", "--kb", "docs", &docs]);

    let first = run("alice", ingest.clone());
    let processed = |db: &Database| db.scalar("SELECT count(*) FROM kb_documents WHERE status = 'processed'");
    let deadline = Instant::now() + Duration::from_secs(120);
    while processed(&db) < 1 {
        if first.is_finished() {
            panic!("the first ingest ended early: {}", first.await.unwrap().stderr);
        }
        assert!(Instant::now() < deadline, "nothing processed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (tenant, kb) = only_kb(&db);
    assert_eq!(db.end_lock_sessions(tenant, kb), 1, "one session held the KB's lock");
    assert!(
        processed(&db) < DOCS,
        "the first ingest was done before its lock was lost"
    );

    let second = run("alice", ingest.clone()).await.unwrap();
    assert_eq!(second.code, 0, "{}", second.stderr);
    let first = first.await.unwrap();
    assert_eq!(first.code, 6, "the fenced-out ingest: {}", first.stderr);
    assert!(first.stderr.contains("ingest lock was lost"), "{}", first.stderr);

    assert_eq!(processed(&db), DOCS, "every document processed");
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), DOCS);
    assert_eq!(
        db.scalar("SELECT value::bigint FROM kb_meta WHERE key = 'generation'"),
        DOCS,
        "one commit per document: none committed by both processes"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM kb_chunks"),
        db.scalar("SELECT sum(chunks_count)::bigint FROM kb_documents"),
        "every chunk stored once"
    );
    assert_eq!(
        db.scalar("SELECT value::bigint FROM kb_meta WHERE key = 'lock_epoch'"),
        2
    );
    // The KB answers from everything, and a third run finds nothing left to do.
    let again = run(
        "alice",
        args(&["ingest", "-t", "acme", "--kb", "docs", &docs, "--json"]),
    )
    .await
    .unwrap();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["duplicates"].as_i64(), Some(DOCS), "{}", again.stdout);
}
