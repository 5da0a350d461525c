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

/// A populated installation, what a user sees of it, and its copy into `db`.
fn populated_and_copied_to(db: &Database) -> (Lrt, Value) {
    let original = Lrt::new();
    populate(&original);
    let before = view(&original, &[]);
    let from = format!("sqlite:{}", original.data_dir().display());
    json(&original, &[], ROOT, &["db", "copy", "--from", &from, "--to", &db.url]);
    (original, before)
}

/// Needs the whole PostgreSQL KB store (reads, commits, statistics): a copy answers on
/// PostgreSQL as the original did, `lrt doctor` is clean there, and archives move KBs between
/// the two backends both ways.
#[test]
fn a_copied_installation_answers_on_postgresql_and_archives_cross_backends() {
    let Some(db) = Database::new("a_copied_installation_answers_on_postgresql_and_archives_cross_backends") else {
        return;
    };
    let (original, before) = populated_and_copied_to(&db);

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

/// The catalog and KB rows a PostgreSQL destination holds, added up: 0 when it is empty.
fn rows_in(db: &Database) -> i64 {
    db.scalar(
        "SELECT (SELECT count(*) FROM tenants) + (SELECT count(*) FROM knowledge_bases)
              + (SELECT count(*) FROM tenant_memberships) + (SELECT count(*) FROM api_keys)
              + (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM kb_documents)
              + (SELECT count(*) FROM kb_chunks) + (SELECT count(*) FROM kb_entities)
              + (SELECT count(*) FROM kb_meta)",
    )
}

/// A KB's id by tenant and name.
fn kb_id(lrt: &Lrt, env: &[(&str, &str)], user: &str, tenant: &str, kb: &str) -> (String, String) {
    let shown = json(lrt, env, user, &["kb", "show", "-t", tenant, kb]);
    (
        shown["tenant_id"].as_str().unwrap().to_string(),
        shown["kb_id"].as_str().unwrap().to_string(),
    )
}

/// A copy into PostgreSQL that fails after the catalog and the first KB were written (the
/// destination rejects a row of the second KB; the second KB's kb.db is corrupt) leaves the
/// database as empty as it was, and a retry, the cause gone, copies everything.
#[test]
fn a_copy_into_postgresql_that_fails_part_way_leaves_it_empty_and_a_retry_succeeds() {
    let Some(db) = Database::new("a_copy_into_postgresql_that_fails_part_way_leaves_it_empty_and_a_retry_succeeds")
    else {
        return;
    };
    let original = Lrt::new();
    populate(&original);
    let from = format!("sqlite:{}", original.data_dir().display());
    let pg = [("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", db.url.as_str())];
    json(&original, &pg, ROOT, &["db", "migrate"]);
    let empty = rows_in(&db);
    let (tenant, kb) = kb_id(&original, &[], "bob", "beta", "notes");

    // The destination refuses the second KB's documents (as a full disk or a quota would).
    db.execute(&format!(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'no space left for this row'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON kb_documents FOR EACH ROW
         WHEN (NEW.kb_id = '{kb}') EXECUTE FUNCTION refuse();"
    ));
    let run = original.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &db.url]);
    assert_eq!(rows_in(&db), empty, "{}", run.stderr);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(run.stderr.contains("no space left for this row"), "{}", run.stderr);
    assert!(run.stderr.contains("holds nothing of it"), "{}", run.stderr);
    db.execute("DROP TRIGGER refuse ON kb_documents");

    // The second KB's kb.db cannot be read.
    let file = original.kb_dir(&tenant, &kb).join("kb.db");
    let saved = std::fs::read(&file).unwrap();
    std::fs::write(&file, vec![0x5a; saved.len()]).unwrap();
    let run = original.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &db.url]);
    assert_eq!(rows_in(&db), empty, "{}", run.stderr);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(run.stderr.contains("holds nothing of it"), "{}", run.stderr);

    std::fs::write(&file, saved).unwrap();
    let copied = json(&original, &[], ROOT, &["db", "copy", "--from", &from, "--to", &db.url]);
    assert_eq!(copied["verified"], true, "{copied}");
    assert_eq!(db.scalar("SELECT count(*) FROM tenants"), 2);
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), 4);
}

/// `lrt db copy` from PostgreSQL into `dir`, running in the background with its stderr read
/// line by line until a line containing `until` (returned with the child).
fn copy_until(lrt: &Lrt, from: &str, dir: &std::path::Path, until: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let to = format!("sqlite:{}", dir.display());
    let mut child = lrt
        .process(ROOT, &["db", "copy", "--from", from, "--to", &to])
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(until) {
            // Keep draining stderr so the child never blocks on it.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, seen);
        }
    }
    let _ = child.wait();
    panic!("lrt db copy ended without saying {until:?}: {seen}");
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = std::process::Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// A copy from PostgreSQL into a new directory stopped part-way (SIGTERM while it waits for
/// the second KB, held by an ingest; the first KB already written) leaves no directory at all,
/// not even the parents it created; one killed outright leaves only its staging directory,
/// which the next copy removes; and a copy once the KB is free is whole.
#[test]
fn a_copy_into_a_directory_stopped_part_way_leaves_nothing_and_a_retry_succeeds() {
    let Some(db) = Database::new("a_copy_into_a_directory_stopped_part_way_leaves_nothing_and_a_retry_succeeds") else {
        return;
    };
    let (original, before) = populated_and_copied_to(&db);

    // An ingest holds the second KB (its advisory lock, as `lrt ingest` on PostgreSQL takes it).
    let (tenant, kb) = kb_id(&original, &[], "bob", "beta", "notes");
    let key = lrt::store::pg::ingest_lock_key(tenant.parse().unwrap(), kb.parse().unwrap());
    let mut holder = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    holder.execute("SELECT pg_advisory_lock($1)", &[&key]).unwrap();

    let back = Lrt::new();
    let outer = back.root().join("new");
    let dir = outer.join("lrt").join("copy");
    let staging = outer.join("lrt").join(".copy.lrt-copy");
    let (mut child, seen) = copy_until(&back, &db.url, &dir, "waiting for the ingest");
    assert!(seen.contains("acme/docs: 2 documents"), "{seen}");
    assert!(staging.join("catalog.db").is_file(), "{seen}");
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(!outer.exists(), "{seen}");

    // Killed outright: only the staging directory is left, and the next copy removes it.
    let (mut child, seen) = copy_until(&back, &db.url, &dir, "waiting for the ingest");
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert!(staging.is_dir() && !dir.exists(), "{seen}");

    drop(holder);
    let to = format!("sqlite:{}", dir.display());
    let run = back.run(Some(ROOT), &[], &["db", "copy", "--from", &db.url, "--to", &to]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("removed the partial copy"), "{}", run.stderr);
    assert!(!staging.exists());
    let env = [("LRT_DATA_DIR", dir.to_str().unwrap())];
    assert_eq!(view(&back, &env), before);
    doctor_is_clean(&back, &env);
}

/// With `--busy-timeout`, a copy gives up on a KB still held after that long: exit 6 (busy,
/// as `lrt serve` answers 409), a message naming the KB and the flag, and no directory made.
#[test]
fn a_copy_gives_up_on_a_kb_still_busy_after_its_busy_timeout() {
    let Some(db) = Database::new("a_copy_gives_up_on_a_kb_still_busy_after_its_busy_timeout") else {
        return;
    };
    let (original, _) = populated_and_copied_to(&db);
    let (tenant, kb) = kb_id(&original, &[], "bob", "beta", "notes");
    let key = lrt::store::pg::ingest_lock_key(tenant.parse().unwrap(), kb.parse().unwrap());
    let mut holder = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    holder.execute("SELECT pg_advisory_lock($1)", &[&key]).unwrap();

    let back = Lrt::new();
    let dir = back.root().join("copy");
    let to = format!("sqlite:{}", dir.display());
    let started = std::time::Instant::now();
    let args = ["db", "copy", "--from", &db.url, "--to", &to, "--busy-timeout", "1s"];
    let run = back.run(Some(ROOT), &[], &args);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(started.elapsed().as_secs() < 30, "{}", run.stderr);
    assert!(
        run.stderr.contains("beta/notes was still busy") && run.stderr.contains("--busy-timeout"),
        "{}",
        run.stderr
    );
    assert!(!dir.exists(), "{}", run.stderr);

    drop(holder);
    let run = back.run(Some(ROOT), &[], &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A copy started while `lrt ingest` runs on a KB waits for it (saying so), then copies every
/// document it committed, processed, with the catalog's counts matching the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_waits_for_a_running_ingest_and_copies_all_it_committed() {
    let Some(db) = Database::new("a_copy_waits_for_a_running_ingest_and_copies_all_it_committed") else {
        return;
    };
    let original = Lrt::new();
    original.tenant("acme", Some("alice"));
    original.kb("acme", "docs");
    let (tenant, kb) = kb_id(&original, &[], "alice", "acme", "docs");
    let corpus = original.root().join("corpus");
    common::model::write_corpus(&corpus, 6, 3);
    let server = common::model::server(300, 0).await;
    let mut ingest = original.process(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", corpus.to_str().unwrap()],
    );
    ingest.envs(common::model::env(&server));
    let ingest = ingest.spawn().unwrap();

    // Wait until the ingest holds the KB's lock.
    let lock = original.kb_dir(&tenant, &kb).join("ingest.lock");
    let held = || std::fs::File::open(&lock).is_ok_and(|f| f.try_lock().is_err());
    let start = std::time::Instant::now();
    while !held() {
        assert!(start.elapsed().as_secs() < 30, "the ingest never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let from = format!("sqlite:{}", original.data_dir().display());
    let run = original.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = ingest.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let processed = "SELECT count(*) FROM kb_documents WHERE status = 'processed'";
    assert_eq!(db.scalar(processed), 6, "{}", run.stderr);
    assert_eq!(db.scalar("SELECT count(*) FROM kb_documents"), 6);
    assert_eq!(db.scalar("SELECT document_count FROM knowledge_bases"), 6);
    assert!(
        run.stderr.contains("acme/docs: waiting for the ingest"),
        "{}",
        run.stderr
    );
    let pg = [("LRT_STORAGE", "postgres"), ("LRT_DATABASE_URL", db.url.as_str())];
    let served = Lrt::new();
    doctor_is_clean(&served, &pg);
}

/// Between two data directories (no PostgreSQL needed): a copy whose second KB cannot be read
/// leaves no directory and no staging directory behind; a directory that is not empty is
/// refused untouched; and the retry, the KB repaired, is whole.
#[test]
fn a_copy_into_a_directory_that_fails_part_way_leaves_nothing() {
    let original = Lrt::new();
    populate(&original);
    let before = view(&original, &[]);
    let from = format!("sqlite:{}", original.data_dir().display());
    let (tenant, kb) = kb_id(&original, &[], "bob", "beta", "notes");
    let file = original.kb_dir(&tenant, &kb).join("kb.db");
    let saved = std::fs::read(&file).unwrap();
    std::fs::write(&file, vec![0x5a; saved.len()]).unwrap();

    let back = Lrt::new();
    let parent = back.root().join("copies");
    let dir = parent.join("one");
    let to = format!("sqlite:{}", dir.display());
    let run = back.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &to]);
    assert!(!parent.exists(), "{}", run.stderr);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(run.stderr.contains("holds nothing of it"), "{}", run.stderr);

    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let run = back.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &to]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1);
    std::fs::remove_file(dir.join("notes.txt")).unwrap();

    // An empty directory is fine; the copy replaces it.
    std::fs::write(&file, saved).unwrap();
    let run = back.run(Some(ROOT), &[], &["db", "copy", "--from", &from, "--to", &to]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1);
    let env = [("LRT_DATA_DIR", dir.to_str().unwrap())];
    assert_eq!(view(&back, &env), before);
    doctor_is_clean(&back, &env);
}
