//! Moving a whole installation between backends with the real binary: `lrt db copy` from a
//! data directory into PostgreSQL and back again keeps tenants, KBs, members, API keys, the
//! audit trail and every KB's rows, so the copy answers queries as the original did and
//! `lrt doctor` finds nothing. Each test gets a database of its own (`common::pgdb`).

mod common;

use common::pg_cluster::Database;
use common::{Lrt, ROOT};
use serde_json::Value;

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";
const Q: &str = "Who discovered polonium with Marie Curie?";

/// `lrt ARGS --json` as `user` with `env`, which must succeed.
fn json(lrt: &Lrt, env: &[(&str, &str)], user: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let run = lrt.run(Some(user), env, &all);
    assert_eq!(run.code, 0, "lrt {all:?} as {user}: {}", run.stderr);
    run.json()
}

/// Two tenants with a KB each, documents ingested, a viewer, an API key and `lrt use`.
fn populate(lrt: &Lrt) {
    lrt.tenant("acme", Some("alice"));
    lrt.tenant("beta", Some("bob"));
    lrt.kb("acme", "docs");
    lrt.kb("beta", "notes");
    lrt.member("acme", "carol", "viewer");
    let docs = lrt.root().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("curie.md"), CURIE).unwrap();
    std::fs::write(docs.join("nasa.txt"), NASA).unwrap();
    let docs = docs.to_str().unwrap();
    json(lrt, &[], "alice", &["ingest", "-t", "acme", "--kb", "docs", docs]);
    json(lrt, &[], "bob", &["ingest", "-t", "beta", "--kb", "notes", docs]);
    json(
        lrt,
        &[],
        "alice",
        &["key", "create", "-t", "acme", "--kb", "docs", "--role", "viewer"],
    );
    json(lrt, &[], "carol", &["use", "acme", "docs"]);
}

/// What a user sees of an installation: tenants, KBs, members, keys, the audit trail's
/// actions, documents and one query's answer in each KB.
fn view(lrt: &Lrt, env: &[(&str, &str)]) -> Value {
    let strip = |v: Value, keep: &[&str]| -> Value {
        match v {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|i| keep.iter().map(|k| i[*k].clone()).collect::<Vec<_>>().into())
                    .collect(),
            ),
            other => other,
        }
    };
    let tenants = strip(
        json(lrt, env, ROOT, &["tenant", "list"]),
        &["tenant_id", "tenant_name", "name"],
    );
    let members = strip(
        json(lrt, env, ROOT, &["member", "list", "-t", "acme"]),
        &["user_id", "role"],
    );
    let keys = strip(
        json(lrt, env, "alice", &["key", "list", "-t", "acme"]),
        &["key_id", "prefix", "role"],
    );
    let audit = strip(
        json(lrt, env, ROOT, &["audit", "list", "--page-size", "1000"]),
        &["action", "user_id", "outcome"],
    );
    let mut kbs = Vec::new();
    for (user, tenant, kb) in [("alice", "acme", "docs"), ("bob", "beta", "notes")] {
        let shown = json(lrt, env, user, &["kb", "show", "-t", tenant, kb]);
        let documents = strip(
            json(lrt, env, user, &["doc", "list", "-t", tenant, "--kb", kb]),
            &["doc_id", "status"],
        );
        let answer = json(lrt, env, user, &["query", "-t", tenant, "--kb", kb, "--mode", "mix", Q]);
        kbs.push(serde_json::json!([
            shown["kb_id"],
            shown["document_count"],
            shown["entity_count"],
            shown["relation_count"],
            documents,
            answer["answer"],
            answer["references"]
        ]));
    }
    serde_json::json!({ "tenants": tenants, "members": members, "keys": keys, "audit": audit, "kbs": kbs })
}

fn doctor_is_clean(lrt: &Lrt, env: &[(&str, &str)]) {
    let report = json(lrt, env, ROOT, &["doctor"]);
    assert_eq!(report["problems"], 0, "{report}");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0), "{report}");
}

#[test]
fn an_installation_copied_to_postgresql_and_back_answers_the_same() {
    let Some(db) = Database::new("an_installation_copied_to_postgresql_and_back_answers_the_same") else {
        return;
    };
    let original = Lrt::new();
    populate(&original);
    let before = view(&original, &[]);

    let from = format!("sqlite:{}", original.data_dir().display());
    let copied = json(&original, &[], ROOT, &["db", "copy", "--from", &from, "--to", &db.url]);
    assert_eq!(copied["verified"], true, "{copied}");
    assert_eq!(copied["catalog"]["tenants"], 2, "{copied}");
    assert_eq!(copied["knowledge_bases"].as_array().map(Vec::len), Some(2), "{copied}");
    assert_eq!(copied["knowledge_bases"][0]["counts"]["documents"], 2, "{copied}");
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), 4);

    // A destination that holds tenants is refused, and nothing is written into it.
    let again = original.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &db.url]);
    assert_eq!(again.code, 6, "{}", again.stderr);
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), 4);

    // And back into a fresh data directory.
    let back = Lrt::new();
    let dir = back.root().join("copied");
    let to = format!("sqlite:{}", dir.display());
    let run = back.run(Some(ROOT), &[], &["db", "copy", "--from", &db.url, "--to", &to]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let env = [("LRT_DATA_DIR", dir.to_str().unwrap())];
    assert_eq!(view(&back, &env), before);
    doctor_is_clean(&back, &env);
}

#[test]
fn a_bad_location_is_a_usage_error_and_a_missing_installation_not_found() {
    let lrt = Lrt::new();
    let run = lrt.run(
        Some(ROOT),
        &[],
        &["db", "copy", "--from", "mysql://x", "--to", "sqlite:/tmp/x"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let empty = lrt.root().join("nothing");
    let from = format!("sqlite:{}", empty.display());
    let to = format!("sqlite:{}", lrt.root().join("to").display());
    let run = lrt.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &to]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let run = lrt.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &from]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn passwords_are_never_printed() {
    let lrt = Lrt::new();
    let from = format!("sqlite:{}", lrt.data_dir().display());
    // Nothing listens on port 1: the connection fails, and the message must not show the secret.
    let run = lrt.run(
        Some(ROOT),
        &[],
        &[
            "db",
            "copy",
            "--from",
            &from,
            "--to",
            "postgres://lrt:s3cret-pw@127.0.0.1:1/x",
        ],
    );
    assert_ne!(run.code, 0);
    assert!(
        !run.stderr.contains("s3cret-pw") && !run.stdout.contains("s3cret-pw"),
        "{}",
        run.stderr
    );
}

/// Needs the whole PostgreSQL KB store (reads, commits, statistics): a copy answers on
/// PostgreSQL as the original did, `lrt doctor` is clean there, and archives move KBs between
/// the two backends both ways.
#[test]
fn a_copied_installation_answers_on_postgresql_and_archives_cross_backends() {
    let Some(db) = Database::new("a_copied_installation_answers_on_postgresql_and_archives_cross_backends") else {
        return;
    };
    let original = Lrt::new();
    populate(&original);
    let before = view(&original, &[]);
    let from = format!("sqlite:{}", original.data_dir().display());
    json(&original, &[], ROOT, &["db", "copy", "--from", &from, "--to", &db.url]);

    // The same installation on PostgreSQL (its own data directory for derived index files).
    let served = Lrt::new();
    let pg = [("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", db.url.as_str())];
    assert_eq!(view(&served, &pg), before);
    doctor_is_clean(&served, &pg);

    // kb export on PostgreSQL gives an archive SQLite imports, answering the same.
    let archive = served.root().join("docs.tar");
    let archive = archive.to_str().unwrap();
    json(
        &served,
        &pg,
        "alice",
        &["kb", "export", "-t", "acme", "--kb", "docs", "--out", archive],
    );
    let elsewhere = Lrt::new();
    elsewhere.tenant("acme", Some("alice"));
    json(&elsewhere, &[], "alice", &["kb", "import", "-t", "acme", archive]);
    let q = ["query", "-t", "acme", "--kb", "docs", "--mode", "mix", Q];
    let want = json(&original, &[], "alice", &q)["answer"].clone();
    assert_eq!(json(&elsewhere, &[], "alice", &q)["answer"], want);

    // kb import onto PostgreSQL copies the archive's rows in; a failed one leaves no rows.
    json(
        &served,
        &pg,
        "alice",
        &["kb", "import", "-t", "acme", archive, "--name", "again"],
    );
    let q = ["query", "-t", "acme", "--kb", "again", "--mode", "mix", Q];
    assert_eq!(json(&served, &pg, "alice", &q)["answer"], want);
    let rows = db.scalar("SELECT count(*) FROM kb_documents");
    let taken = served.run(
        Some("alice"),
        &pg,
        &["kb", "import", "-t", "acme", archive, "--name", "again"],
    );
    assert_eq!(taken.code, 6, "{}", taken.stderr);
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), rows);
    doctor_is_clean(&served, &pg);
}
