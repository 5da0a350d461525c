//! `lrt doctor`: every injected fault is found, `--repair` fixes it, and a second run is
//! clean; a healthy data directory is left exactly as it was; the role rules.

mod common;

use std::path::{Path, PathBuf};

use common::{Lrt, ROOT};
use serde_json::Value;

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris. \
Marie Curie shared the Nobel Prize in Physics with Henri Becquerel in 1903.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";

/// Tenant `acme` (admin alice, viewer val) with KB `docs` holding two ingested documents and
/// an empty KB `empty`.
struct Fixture {
    lrt: Lrt,
    tenant: String,
    kb: String,
}

impl Fixture {
    fn new() -> Fixture {
        let lrt = Lrt::new();
        let tenant = lrt.tenant("acme", Some("alice"));
        let kb = lrt.kb("acme", "docs");
        lrt.kb("acme", "empty");
        lrt.member("acme", "val", "viewer");
        let dir = lrt.root().join("corpus");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("curie.md"), CURIE).unwrap();
        std::fs::write(dir.join("nasa.txt"), NASA).unwrap();
        let report = lrt.json_as(
            "alice",
            &["ingest", "-t", "acme", "--kb", "docs", dir.to_str().unwrap()],
        );
        assert_eq!(report["added"].as_u64(), Some(2), "{report}");
        Fixture { lrt, tenant, kb }
    }

    fn kb_dir(&self) -> PathBuf {
        self.lrt.kb_dir(&self.tenant, &self.kb)
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.kb_dir().join("kb.db")).unwrap()
    }

    fn catalog(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.lrt.data_dir().join("catalog.db")).unwrap()
    }

    /// `lrt doctor ARGS --json` as root: exit code and report.
    fn doctor(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["doctor"];
        all.extend_from_slice(args);
        all.push("--json");
        let run = self.lrt.run_as(ROOT, &all);
        assert!(
            run.code == 0 || run.code == 9,
            "doctor {args:?}: exit {}: {}",
            run.code,
            run.stderr
        );
        (run.code, run.json())
    }

    /// Finds exactly the findings of `check`, repairs them, and a second run is clean.
    fn found_repaired_clean(&self, check: &str, detail: &str) -> Value {
        let (code, report) = self.doctor(&[]);
        assert_eq!(code, 9, "{report:#}");
        let findings = report["findings"].as_array().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f["check"] == check && f["detail"].as_str().unwrap().contains(detail)),
            "no {check} finding mentioning {detail:?}: {report:#}"
        );
        assert!(
            findings
                .iter()
                .all(|f| f["severity"] == "error" && f["repaired"] == false)
        );
        assert_eq!(report["problems"].as_u64(), Some(findings.len() as u64));

        let (code, repaired) = self.doctor(&["--repair", "--yes"]);
        assert_eq!(code, 0, "{repaired:#}");
        assert_eq!(repaired["problems"], 0);
        assert!(repaired["repaired"].as_u64().unwrap() >= 1);
        assert!(
            repaired["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["repaired"] == true)
        );

        let (code, again) = self.doctor(&[]);
        assert_eq!(code, 0, "not clean after --repair: {again:#}");
        assert_eq!(again["findings"], serde_json::json!([]));
        repaired
    }

    fn kb_show(&self) -> Value {
        self.lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"])
    }
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn lost_and_found(data: &Path) -> Vec<String> {
    walkdir(data.join("lost+found"))
}

fn walkdir(dir: PathBuf) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(&dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_healthy_data_dir_is_clean_and_left_unchanged() {
    let f = Fixture::new();
    let before = f.lrt.snapshot();
    let (code, report) = f.doctor(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["problems"], 0);
    assert_eq!(report["repaired"], 0);
    assert_eq!(report["checked"]["tenants"], 1);
    assert_eq!(report["checked"]["knowledge_bases"], 2);
    assert_eq!(report["checked"]["documents"], 2);
    assert_eq!(report["checked"]["vector_indexes"], 3);
    assert_eq!(f.lrt.snapshot(), before);
    // --repair with nothing to repair changes nothing either; the table says so.
    let run = f.lrt.run_as(ROOT, &["doctor", "--repair"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("no problems"), "{}", run.stdout);
    assert_eq!(f.lrt.snapshot(), before);
}

#[test]
fn a_deleted_vector_file_is_rebuilt() {
    let f = Fixture::new();
    let path = f.kb_dir().join("vectors/chunks.vec");
    std::fs::remove_file(&path).unwrap();
    f.found_repaired_clean("vectors", "missing");
    assert!(path.is_file());
    // The rebuilt index serves queries.
    let run = f.lrt.run_as(
        "alice",
        &["query", "-t", "acme", "--kb", "docs", "Who discovered polonium?"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_truncated_index_file_is_rebuilt() {
    let f = Fixture::new();
    let path = f.kb_dir().join("vectors/entities.vec");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    f.found_repaired_clean("vectors", "corrupt");
    assert_eq!(std::fs::read(&path).unwrap().len(), bytes.len());
}

/// A query trusts an index by its stamp (it maps the file without reading every byte); doctor
/// still checks the checksum, so a changed byte inside a file of the right length is found,
/// and the file rebuilt as it was.
#[test]
fn a_changed_byte_inside_an_index_file_is_found_and_rebuilt() {
    let f = Fixture::new();
    let path = f.kb_dir().join("vectors/entities.vec");
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let at = good.len() - 3;
    bad[at] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    f.found_repaired_clean("vectors", "corrupt");
    assert_eq!(std::fs::read(&path).unwrap(), good);
}

#[test]
fn an_orphan_kb_folder_is_moved_to_lost_and_found_after_confirmation() {
    let f = Fixture::new();
    let orphan_id = "3f1d6a2e-8a43-4b5c-9d9e-0123456789ab";
    let orphan = f.lrt.kb_dir(&f.tenant, orphan_id);
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("kb.db"), b"1234567").unwrap();

    let (_, report) = f.doctor(&[]);
    let finding = &report["findings"][0];
    assert_eq!(finding["check"], "orphan");
    assert_eq!(finding["kb"], orphan_id);
    assert!(finding["detail"].as_str().unwrap().contains("7 bytes"), "{finding}");

    // Data moves: without a terminal and without --yes, nothing happens (exit 10).
    let run = f.lrt.run_as(ROOT, &["doctor", "--repair"]);
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert!(orphan.join("kb.db").is_file());

    let repaired = f.found_repaired_clean("orphan", "no catalog row");
    assert!(!orphan.exists());
    let moved = lost_and_found(&f.lrt.data_dir());
    let rel = format!("tenants/{}/kbs/{orphan_id}/kb.db", f.tenant);
    assert!(moved.iter().any(|p| p.ends_with(&rel)), "{moved:?}");
    assert!(repaired["lost_and_found"].as_str().unwrap().starts_with("lost+found/"));
}

#[test]
fn a_kb_whose_catalog_row_is_gone_is_an_orphan() {
    let f = Fixture::new();
    let n = f
        .catalog()
        .execute("DELETE FROM knowledge_bases WHERE kb_id = ?1", [&f.kb])
        .unwrap();
    assert_eq!(n, 1);
    f.found_repaired_clean("orphan", "knowledge base folder with no catalog row");
    let moved = lost_and_found(&f.lrt.data_dir());
    assert!(
        moved.iter().any(|p| p.ends_with(&format!("{}/kb.db", f.kb))),
        "{moved:?}"
    );
}

#[test]
fn an_orphan_tenant_folder_is_found_in_a_whole_data_dir_check() {
    let f = Fixture::new();
    let orphan = f.lrt.tenant_dir("0b4e0f60-1111-4222-8333-444455556666");
    std::fs::create_dir_all(orphan.join("kbs")).unwrap();
    // A tenant-scoped check does not look at other tenants' folders.
    let (code, _) = f.doctor(&["--tenant", "acme"]);
    assert_eq!(code, 0);
    f.found_repaired_clean("orphan", "tenant folder");
    assert!(!orphan.exists());
}

#[test]
fn a_missing_kb_folder_is_recreated_empty() {
    let f = Fixture::new();
    std::fs::remove_dir_all(f.kb_dir()).unwrap();
    f.found_repaired_clean("folder", "lost");
    assert!(f.kb_dir().is_dir());
    let kb = f.kb_show();
    assert_eq!(kb["document_count"], 0, "{kb}");
    assert_eq!(kb["entity_count"], 0, "{kb}");
}

#[test]
fn a_document_stuck_in_processing_goes_back_to_pending() {
    let f = Fixture::new();
    let doc: String = f
        .db()
        .query_row("SELECT doc_id FROM documents ORDER BY doc_id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    f.db()
        .execute("UPDATE documents SET status = 'processing' WHERE doc_id = ?1", [&doc])
        .unwrap();
    // A crash mid-run also leaves a document with no chunks in 'processing'.
    f.db()
        .execute(
            "INSERT INTO documents (doc_id, file_path, content, content_hash, content_length, status, created_at, updated_at)
             VALUES ('doc-crashed', 'x.md', 'text', 'h', 4, 'processing', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
    let (_, report) = f.doctor(&[]);
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"processing") && checks.contains(&"references"),
        "{report:#}"
    );
    f.found_repaired_clean("processing", "stuck in 'processing'");
    let db = f.db();
    assert_eq!(
        count(&db, "SELECT count(*) FROM documents WHERE status = 'processing'"),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM documents WHERE status = 'pending'"), 2);
    // Its leftover chunks went with it, and the catalog counts one processed document.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM chunks c JOIN documents d USING (doc_id) WHERE d.status != 'processed'"
        ),
        0
    );
    assert_eq!(f.kb_show()["document_count"], 1);
}

#[test]
fn a_running_ingest_is_a_warning_not_a_problem() {
    let f = Fixture::new();
    let lock = std::fs::File::open(f.kb_dir().join("ingest.lock")).unwrap();
    lock.lock().unwrap();
    f.db()
        .execute("UPDATE documents SET status = 'processing'", [])
        .unwrap();
    let (code, report) = f.doctor(&[]);
    assert_eq!(code, 0, "{report:#}");
    let finding = &report["findings"][0];
    assert_eq!(finding["severity"], "warning");
    assert!(finding["detail"].as_str().unwrap().contains("ingest is running"));
    drop(lock);
    let (code, _) = f.doctor(&[]);
    assert_eq!(code, 9);
}

#[test]
fn an_orphan_doc_entities_row_is_deleted() {
    let f = Fixture::new();
    let db = f.db();
    let doc: String = db
        .query_row("SELECT doc_id FROM documents LIMIT 1", [], |r| r.get(0))
        .unwrap();
    db.execute(
        "INSERT INTO doc_entities (doc_id, name) VALUES (?1, 'NO SUCH ENTITY')",
        [&doc],
    )
    .unwrap();
    let entities = count(&db, "SELECT count(*) FROM entities");
    f.found_repaired_clean("references", "NO SUCH ENTITY");
    assert_eq!(
        count(&db, "SELECT count(*) FROM doc_entities WHERE name = 'NO SUCH ENTITY'"),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM entities"), entities);
}

#[test]
fn wrong_catalog_statistics_are_rewritten() {
    let f = Fixture::new();
    let right = f.kb_show();
    let sql = format!(
        "UPDATE knowledge_bases SET document_count = 99, entity_count = 0 WHERE kb_id = '{}'",
        f.kb
    );
    match f.lrt.database() {
        Some(db) => db.execute(&sql),
        None => {
            f.catalog().execute(&sql, []).unwrap();
        }
    }
    let store = if f.lrt.database().is_some() {
        "the database"
    } else {
        "kb.db"
    };
    f.found_repaired_clean("stats", &format!("documents 99 ({store} has 2)"));
    let fixed = f.kb_show();
    assert_eq!(fixed["document_count"], 2);
    assert_eq!(fixed["entity_count"], right["entity_count"]);
}

#[test]
fn unrepairable_problems_are_reported_and_keep_the_exit_code() {
    let f = Fixture::new();
    // A damaged kb.db and a symbolic link: reported, never "fixed".
    std::fs::write(f.kb_dir().join("kb.db"), b"this is not a database").unwrap();
    let empty = f.lrt.data_dir().join("elsewhere");
    std::fs::create_dir_all(&empty).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&empty, f.lrt.tenant_dir(&f.tenant).join("kbs/link")).unwrap();
    let (code, report) = f.doctor(&["--repair", "--yes"]);
    assert_eq!(code, 9, "{report:#}");
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["repaired"] == false)
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"integrity"), "{report:#}");
    #[cfg(unix)]
    assert!(checks.contains(&"symlink"), "{report:#}");
    assert!(empty.is_dir());
    // The table names them too, and stderr says problems remain.
    let run = f.lrt.run_as(ROOT, &["doctor"]);
    assert_eq!(run.code, 9);
    assert!(run.stdout.contains("problem"), "{}", run.stdout);
    assert!(run.stderr.contains("problem(s) remain"), "{}", run.stderr);
}

#[test]
fn permissions_follow_the_scope() {
    let f = Fixture::new();
    f.lrt.tenant("beta", Some("bert"));
    let before = f.lrt.snapshot();
    // The whole data directory: super-admins only.
    assert_eq!(f.lrt.code_as("alice", &["doctor"]), 5);
    // A tenant: tenant:manage there (its admin), not a viewer; a non-member sees nothing.
    assert_eq!(f.lrt.code_as("alice", &["doctor", "--tenant", "acme"]), 0);
    assert_eq!(
        f.lrt.code_as("alice", &["doctor", "--tenant", "acme", "--kb", "docs"]),
        0
    );
    assert_eq!(f.lrt.code_as("val", &["doctor", "--tenant", "acme"]), 5);
    assert_eq!(
        f.lrt
            .code_as("val", &["doctor", "--tenant", "acme", "--repair", "--yes"]),
        5
    );
    assert_eq!(f.lrt.code_as("bert", &["doctor", "--tenant", "acme"]), 3);
    assert_eq!(f.lrt.code_as("mallory", &["doctor", "--tenant", "acme"]), 3);
    assert_eq!(f.lrt.code_as(ROOT, &["doctor", "--kb", "docs"]), 2);
    assert_eq!(f.lrt.snapshot(), before);
    let denied = f
        .lrt
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "doctor" && e["outcome"] == "denied")
        .count();
    assert!(denied >= 3, "denials are audited");
}

/// A zero-length, deleted or damaged kb.db of a KB the catalog counts documents for: doctor
/// reports the loss and `--repair` keeps the statistics; ingest, query and export refuse it
/// (exit 9) and leave the file as it was.
#[test]
fn a_lost_or_damaged_kb_db_is_reported_and_refused() {
    let f = Fixture::new();
    let db = f.kb_dir().join("kb.db");
    let corpus = f.lrt.root().join("corpus");
    let corpus = corpus.to_str().unwrap();
    let out = f.lrt.root().join("docs.lrtkb");
    let out = out.to_str().unwrap();
    for damage in ["zero-length", "deleted"] {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(f.kb_dir().join(format!("kb.db{suffix}")));
        }
        match damage {
            "zero-length" => std::fs::write(&db, b"").unwrap(),
            _ => {
                let _ = std::fs::remove_file(&db);
            }
        }
        let (code, report) = f.doctor(&["--repair", "--yes"]);
        assert_eq!(code, 9, "{damage}: {report:#}");
        let findings = report["findings"].as_array().unwrap();
        assert!(
            findings.iter().any(|x| x["check"] == "data"
                && x["repaired"] == false
                && x["detail"].as_str().unwrap().contains("2 documents")),
            "{damage}: {report:#}"
        );
        assert_eq!(f.kb_show()["document_count"], 2, "{damage}: --repair hid the loss");
        for args in [
            vec!["ingest", "-t", "acme", "--kb", "docs", corpus],
            vec!["query", "-t", "acme", "--kb", "docs", "Who discovered polonium?"],
            vec!["kb", "export", "-t", "acme", "--kb", "docs", "--out", out],
        ] {
            let run = f.lrt.run_as(ROOT, &args);
            assert_eq!(run.code, 9, "{damage}: {args:?}: {}", run.stderr);
            assert!(run.stderr.contains("damaged"), "{damage}: {args:?}: {}", run.stderr);
        }
        match damage {
            "zero-length" => assert_eq!(std::fs::metadata(&db).unwrap().len(), 0),
            _ => assert!(!db.exists(), "the lost kb.db was re-created"),
        }
        assert!(!Path::new(out).exists());
    }
}

/// A kb.db whose pages were overwritten is not exported, nor ingested into.
#[test]
fn a_damaged_kb_db_is_not_exported_or_written() {
    let f = Fixture::new();
    let db = f.kb_dir().join("kb.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    // Every page but the first (the header and schema) gets a run of garbage in its middle.
    for start in (page..bytes.len()).step_by(page) {
        for b in &mut bytes[start + page / 2..start + page / 2 + 64] {
            *b ^= 0x5A;
        }
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = f.lrt.root().join("docs.lrtkb");
    let run = f.lrt.run_as(
        ROOT,
        &[
            "kb",
            "export",
            "-t",
            "acme",
            "--kb",
            "docs",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(run.stderr.contains("damaged"), "{}", run.stderr);
    assert!(!out.exists());
    let corpus = f.lrt.root().join("corpus");
    let run = f.lrt.run_as(
        ROOT,
        &["ingest", "-t", "acme", "--kb", "docs", corpus.to_str().unwrap()],
    );
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "the damaged kb.db was written to");
}
