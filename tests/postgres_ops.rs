//! Operating the PostgreSQL backend: TLS modes against a server that accepts only TLS, a
//! database outage while `lrt serve` runs (503, `/health` says so, recovery without a restart),
//! and `max_concurrent_queries` held across two replicas on one database. The TLS and outage
//! tests run a cluster of their own (`common::pg_cluster`), so the shared one is not disturbed.

mod common;

use std::path::Path;
use std::process::Command;

use common::pg_cluster::Cluster;
use common::{Lrt, ROOT, Run};

/// `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME.crt`, `NAME.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// `server.crt`/`server.key` signed by CA `ca`, naming `db.lrt.test` and 127.0.0.1 (not
/// `localhost`).
fn make_server_cert(dir: &Path, ca: &str) {
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:db.lrt.test,IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=db.lrt.test",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
}

/// `lrt db status` on the PostgreSQL at `url` with extra `env`.
fn db_status(lrt: &Lrt, url: &str, env: &[(&str, &str)]) -> Run {
    let mut all = vec![("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", url)];
    all.extend_from_slice(env);
    lrt.run(Some(ROOT), &all, &["db", "status", "--json"])
}

#[test]
fn tls_modes_against_a_server_that_accepts_only_tls() {
    let Some(mut cluster) = Cluster::init("tls_modes_against_a_server_that_accepts_only_tls") else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    make_ca(dir, "ca");
    make_ca(dir, "other-ca");
    make_server_cert(dir, "ca");
    cluster.write("server.crt", &std::fs::read(dir.join("server.crt")).unwrap(), 0o644);
    cluster.write("server.key", &std::fs::read(dir.join("server.key")).unwrap(), 0o600);
    // Plain TCP is refused: only `hostssl` lines.
    cluster.write(
        "pg_hba.conf",
        b"local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        0o600,
    );
    cluster.set("ssl=on");
    cluster.start();
    let lrt = Lrt::new();
    let ca = dir.join("ca.crt");
    let ca = ca.to_str().unwrap();
    let other = dir.join("other-ca.crt");
    let other = other.to_str().unwrap();
    let ip = cluster.url("127.0.0.1", "postgres");
    let name = cluster.url("localhost", "postgres");

    let works = |url: &str, env: &[(&str, &str)], what: &str| {
        let run = db_status(&lrt, url, env);
        assert_eq!(run.code, 0, "{what}: {}\n{}", run.stderr, cluster.log());
        assert_eq!(run.json()["backend"], "postgres", "{what}");
    };
    works(&ip, &[("POSTGRES_SSL_MODE", "require")], "require");
    works(&ip, &[("POSTGRES_SSL_MODE", "prefer")], "prefer negotiates TLS");
    works(&ip, &[("POSTGRES_SSL_MODE", "allow")], "allow falls back to TLS");
    works(
        &ip,
        &[("POSTGRES_SSL_MODE", "verify-full"), ("POSTGRES_SSL_ROOT_CERT", ca)],
        "verify-full, the right CA and a name the certificate lists",
    );
    works(
        &format!("{ip}?sslmode=verify-full&sslrootcert={ca}"),
        &[],
        "the same from the URL",
    );
    works(
        &name,
        &[("POSTGRES_SSL_MODE", "verify-ca"), ("POSTGRES_SSL_ROOT_CERT", ca)],
        "verify-ca does not check the host name",
    );

    let fails = |url: &str, env: &[(&str, &str)], code: i32, says: &str| {
        let run = db_status(&lrt, url, env);
        assert_eq!(run.code, code, "{env:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{env:?} should say {says:?}: {}", run.stderr);
    };
    fails(
        &name,
        &[("POSTGRES_SSL_MODE", "verify-full"), ("POSTGRES_SSL_ROOT_CERT", ca)],
        9,
        "does not name the host",
    );
    fails(
        &ip,
        &[("POSTGRES_SSL_MODE", "verify-full"), ("POSTGRES_SSL_ROOT_CERT", other)],
        9,
        "not signed by a CA in POSTGRES_SSL_ROOT_CERT",
    );
    fails(
        &ip,
        &[("POSTGRES_SSL_MODE", "verify-ca"), ("POSTGRES_SSL_ROOT_CERT", other)],
        9,
        "not signed by a CA",
    );
    // libpq: `require` with a root certificate checks the chain.
    fails(
        &ip,
        &[("POSTGRES_SSL_MODE", "require"), ("POSTGRES_SSL_ROOT_CERT", other)],
        9,
        "not signed by a CA",
    );
    fails(
        &ip,
        &[("POSTGRES_SSL_MODE", "disable")],
        9,
        "accepts only TLS connections",
    );
    fails(
        &ip,
        &[("POSTGRES_SSL_MODE", "verify-full")],
        2,
        "POSTGRES_SSL_ROOT_CERT",
    );
    fails(
        &ip,
        &[
            ("POSTGRES_SSL_MODE", "verify-full"),
            ("POSTGRES_SSL_ROOT_CERT", "/nonexistent/ca.pem"),
        ],
        2,
        "cannot read /nonexistent/ca.pem",
    );
    // `config show` names the files (not secrets).
    let shown = lrt.run(
        Some(ROOT),
        &[
            ("LRT_STORAGE", "postgres"),
            ("LRT_DATABASE_URL", "postgres://lrt:s3cret@127.0.0.1/x"),
            ("POSTGRES_SSL_ROOT_CERT", ca),
        ],
        &["config", "show", "--json"],
    );
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains(ca) && !shown.stdout.contains("s3cret"),
        "{}",
        shown.stdout
    );
}

/// `GET path` without credentials: status, `Retry-After`, JSON body.
async fn public(srv: &common::server::Server, path: &str) -> common::server::Resp {
    srv.send(reqwest::Method::GET, path, None, &[], None).await
}

/// The database stops under a running `lrt serve`: requests that need it get 503 with
/// `Retry-After` at once (no hang, no 500, no connection details), `/health` says the
/// database is unreachable, and when the database is back the same process serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_and_the_replica_recovers_by_itself() {
    use std::time::{Duration, Instant};

    use common::server::{spawn, token};
    use reqwest::StatusCode;

    let Some(cluster) = Cluster::init("a_database_outage_is_503_and_the_replica_recovers_by_itself") else {
        return;
    };
    cluster.start();
    let lrt = Lrt::new();
    let url = cluster.url("127.0.0.1", "postgres");
    let env = [("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", url.as_str())];
    let srv = spawn(&lrt, &env, &[]).unwrap_or_else(|e| panic!("lrt serve did not start: {e}"));
    let root = token(&lrt, ROOT);

    let health = public(&srv, "/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert_eq!(health.body["database"]["backend"], "postgres");
    assert_eq!(health.body["database"]["reachable"], true);
    assert!(
        health.body["database"]["latency_ms"].as_f64().is_some(),
        "{}",
        health.body
    );
    assert_eq!(srv.get("/api/v1/tenants", &root).await.status, StatusCode::OK);

    cluster.stop();
    for _ in 0..2 {
        let asked = Instant::now();
        let r = srv.get("/api/v1/tenants", &root).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "unavailable", "{}", r.body);
        assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
        assert!(!r.body.to_string().contains("127.0.0.1"), "{}", r.body);
        assert!(asked.elapsed() < Duration::from_secs(5), "took {:?}", asked.elapsed());
        println!("503 after {:?}", asked.elapsed());
    }
    // Worth a few seconds only: /health answers within its probe timeout and is reused.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let asked = Instant::now();
    let health = public(&srv, "/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{}", health.body);
    assert_eq!(health.body["status"], "unavailable");
    assert_eq!(health.body["database"]["reachable"], false);
    assert!(health.headers.contains_key("retry-after"));
    assert!(asked.elapsed() < Duration::from_secs(3), "took {:?}", asked.elapsed());
    // The CLI says the same, with its own exit code and kind.
    let cli = lrt.run(Some(ROOT), &env, &["tenant", "list", "--json"]);
    assert_eq!(cli.code, 9, "{}", cli.stderr);
    assert_eq!(cli.json_error()["error"]["kind"], "unavailable", "{}", cli.stderr);

    cluster.start();
    // Connections from before the restart are replaced, not used: the first request succeeds.
    let first = srv.get("/api/v1/tenants", &root).await;
    assert_eq!(first.status, StatusCode::OK, "{}\n{}", first.body, srv.log_text());
    let back = Instant::now();
    loop {
        let r = srv.get("/api/v1/tenants", &root).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not recovered: {}\n{}",
            r.body,
            srv.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("recovered {:?} after the database was back", back.elapsed());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let health = public(&srv, "/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert_eq!(health.body["database"]["reachable"], true);
}

/// `max_concurrent_queries=2` on a tenant served by two replicas on one database: of four
/// overlapping queries (two to each replica) exactly two run, the others are refused at once;
/// the slots come back when the queries end, and a lease left by a dead replica (expired) does
/// not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_queries_are_limited_across_replicas() {
    use std::time::{Duration, Instant};

    use common::pg_cluster::Database;
    use common::server::start;
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    let Some(db) = Database::new("concurrent_queries_are_limited_across_replicas") else {
        return;
    };
    // Answers take 1.5 s, so the queries overlap.
    let model = common::model::server(1500, 0).await;
    let mut env: Vec<(&str, String)> = common::model::env(&model);
    env.push(("LRT_STORAGE", "postgres".into()));
    env.push(("LRT_DATABASE_URL", db.url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let lrt = Lrt::new();
    let as_user = |user: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--json");
        let run = lrt.run(Some(user), &env, &all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.json()
    };
    let t = as_user(
        ROOT,
        &[
            "tenant",
            "create",
            "acme",
            "--admin",
            "alice",
            "--set",
            "max_concurrent_queries=2",
        ],
    );
    let t = t["tenant_id"].as_str().unwrap().to_string();
    let kb = as_user("alice", &["kb", "create", "-t", "acme", "docs"]);
    let kb = kb["kb_id"].as_str().unwrap().to_string();
    let key = as_user("alice", &["key", "create", "-t", "acme", "--role", "viewer"]);
    let key = key["key"].as_str().unwrap().to_string();
    let replicas = [start(&lrt, &env), start(&lrt, &env)];
    let path = format!("/api/v1/tenants/{t}/kbs/{kb}/query");
    let question = json!({"question": "Who met whom?", "mode": "bypass", "no_cache": true});
    let ask = |i: usize| {
        let (srv, path, key, question) = (&replicas[i % 2], &path, &key, question.clone());
        async move {
            let started = Instant::now();
            let r = srv.keyed(Method::POST, path, key, Some(question)).await;
            (r, started.elapsed())
        }
    };

    let answers = futures_util::future::join_all((0..4).map(ask)).await;
    let statuses: Vec<_> = answers.iter().map(|(r, _)| r.status).collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(r, _)| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(
        (ok, refused.len()),
        (2, 2),
        "{:?}",
        answers.iter().map(|(r, _)| (r.status, &r.body)).collect::<Vec<_>>()
    );
    for (r, took) in refused {
        assert_eq!(r.body["error"]["code"], "rate_limited", "{}", r.body);
        assert_eq!(r.headers["retry-after"], "1");
        assert!(*took < Duration::from_millis(1500), "refused after {took:?}");
    }

    // Released when the queries end (the release is asynchronous: within a moment).
    let live = format!("SELECT count(*) FROM query_leases WHERE tenant_id = '{t}'");
    let deadline = Instant::now() + Duration::from_secs(5);
    while db.scalar(&live) != 0 {
        assert!(Instant::now() < deadline, "leases not released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A dead replica's leases, once expired, free their slots; live ones still count.
    db.execute(&format!(
        "INSERT INTO query_leases (tenant_id, lease_id, holder, expires_at) VALUES
         ('{t}', gen_random_uuid(), gen_random_uuid(), now() - interval '1 second'),
         ('{t}', gen_random_uuid(), gen_random_uuid(), now() - interval '1 second'),
         ('{t}', gen_random_uuid(), gen_random_uuid(), now() + interval '1 minute')"
    ));
    let (first, _) = ask(0).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let both = futures_util::future::join_all([ask(0), ask(1)]).await;
    let ok = both.iter().filter(|(r, _)| r.status == StatusCode::OK).count();
    assert_eq!(ok, 1, "one slot is held by the live foreign lease");
}

/// A command opens one connection to the database, not two: the connection that checks the
/// server is reachable at start becomes the pool's first.
#[test]
fn a_command_opens_one_connection() {
    let Some(mut cluster) = Cluster::init("a_command_opens_one_connection") else {
        return;
    };
    cluster.set("log_connections=on");
    cluster.start();
    let lrt = Lrt::new();
    let url = cluster.url("127.0.0.1", "postgres");
    let run = lrt.run(
        Some(ROOT),
        &[("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", url.as_str())],
        &["tenant", "list", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let connections = cluster
        .log()
        .lines()
        .filter(|l| l.contains("connection authorized") && l.contains("application_name=lrt"))
        .count();
    assert_eq!(connections, 1, "{}", cluster.log());
}
