//! Curating the graph by hand (`lrt graph entity|relation|merge` and the server's routes):
//! each edit's effect on kb.db, the vector indexes and a later query's context; merges with
//! colliding relations; a rename followed by an ingest of the old name (alias); an edit
//! surviving a document deletion's rebuild and an export/import; roles and audit rows; the
//! HTTP routes, cross-tenant requests among them.

mod common;

use std::path::PathBuf;

use common::server::{start, token};
use common::{Lrt, ROOT};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris.";
const PIERRE: &str = "Pierre Curie worked in Paris with Paul Langevin. Paul Langevin studied at the \
University of Paris and met Albert Einstein in Brussels.";
const LATER: &str = "Paul Langevin lectured in Lyon about ultrasound.";

/// A KB's rows (kb.db, or its rows in PostgreSQL), read directly, and its folder.
struct Db {
    dir: PathBuf,
    sql: common::kbsql::KbSql,
}

struct Kb {
    lrt: Lrt,
    db: Db,
    tenant: String,
    kb: String,
}

impl std::ops::Deref for Kb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

const S: [&str; 4] = ["-t", "acme", "--kb", "docs"];

fn kb() -> Kb {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    let tenant = lrt.tenant("acme", Some("alice"));
    let kb = lrt.kb("acme", "docs");
    lrt.member("acme", "val", "viewer");
    lrt.member("acme", "ed", "editor");
    let dir = lrt.kb_dir(&tenant, &kb);
    Kb {
        db: Db {
            dir,
            sql: common::kbsql::KbSql::open(&lrt, &tenant, &kb),
        },
        lrt,
        tenant,
        kb,
    }
}

impl Kb {
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.lrt.root().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn ingest(&self, files: &[(&str, &str)]) {
        let paths: Vec<String> = files.iter().map(|(n, t)| self.file(n, t)).collect();
        let mut args: Vec<&str> = vec!["ingest"];
        args.extend(S);
        args.extend(paths.iter().map(String::as_str));
        let run = self.lrt.run_as("alice", &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }

    /// `lrt graph ARGS… -t acme --kb docs --json` as `user`; its exit code and JSON (stdout,
    /// else the error document).
    fn graph(&self, user: &str, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["graph"];
        all.extend_from_slice(args);
        all.extend(S);
        all.push("--json");
        let run = self.lrt.run_as(user, &all);
        let value = if run.code == 0 { run.json() } else { run.json_error() };
        (run.code, value)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.graph("alice", args);
        assert_eq!(code, 0, "graph {args:?}: {v}");
        v
    }

    /// The context a local-mode question gets: its entities' and relations' JSON.
    fn context(&self, question: &str) -> Value {
        let mut args = vec!["query"];
        args.extend(S);
        args.extend(["--mode", "local", "--only-context", "--json", question]);
        let run = self.lrt.run_as("alice", &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v = run.json();
        json!({"entities": v["entities"], "relations": v["relations"]})
    }
}

impl Db {
    fn one<T: serde::de::DeserializeOwned>(&self, sql: &str, p: &[&str]) -> Option<T> {
        self.sql.one(sql, p)
    }

    fn entity(&self, name: &str) -> Option<(String, String)> {
        self.one("SELECT entity_type, description FROM entities WHERE name = ?1", &[name])
    }

    fn names(&self) -> Vec<String> {
        self.sql.all("SELECT name FROM entities ORDER BY name")
    }

    /// The vector index sidecars agree with kb.db (count and generation).
    fn assert_indexes_current(&self) {
        let generation: String = self
            .one("SELECT value FROM meta WHERE key = 'generation'", &[])
            .unwrap();
        for (kind, table) in [
            ("entities", "entities"),
            ("relations", "relations"),
            ("chunks", "chunks"),
        ] {
            let meta: Value = serde_json::from_str(
                &std::fs::read_to_string(self.dir.join("vectors").join(format!("{kind}.vec.meta.json"))).unwrap(),
            )
            .unwrap();
            let count: i64 = self.one(&format!("SELECT count(*) FROM {table}"), &[]).unwrap();
            assert_eq!(meta["fingerprint"]["count"], json!(count), "{kind}: {meta}");
            assert_eq!(
                meta["fingerprint"]["generation"].to_string(),
                generation,
                "{kind}: {meta}"
            );
        }
    }

    fn embedding(&self, table: &str, key_sql: &str, p: &[&str]) -> Vec<u8> {
        self.one(&format!("SELECT embedding FROM {table} WHERE {key_sql}"), p)
            .unwrap()
    }
}

fn file_names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_edit_changes_graph_vectors_and_the_next_query_and_re_embeds_only_what_changed() {
    let kb = kb();
    kb.ingest(&[("a.md", CURIE), ("b.md", PIERRE)]);
    let paris_vector = kb.embedding("entities", "name = ?1", &["Paris"]);
    let curie_vector = kb.embedding("entities", "name = ?1", &["Marie Curie"]);

    // A cached answer before the edit.
    let ask = |kb: &Kb| {
        let mut args = vec!["query"];
        args.extend(S);
        args.extend(["--mode", "local", "--json", "Who was Marie Curie?"]);
        let run = kb.lrt.run_as("alice", &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    };
    ask(&kb);
    assert_eq!(ask(&kb)["llm_calls"], json!(0), "the answer is cached");

    let r = kb.ok(&[
        "entity",
        "edit",
        "Marie Curie",
        "--description",
        "Marie Curie won two Nobel prizes, in physics and in chemistry.",
        "--type",
        "scientist",
    ]);
    assert_eq!(r["entities_updated"], json!(["Marie Curie"]));
    assert_eq!(r["embedded"], json!(1));
    assert_eq!(r["before"]["entity_type"], json!("person"));
    assert_eq!(r["after"]["entity_type"], json!("scientist"));
    assert_eq!(
        kb.entity("Marie Curie").unwrap(),
        (
            "scientist".into(),
            "Marie Curie won two Nobel prizes, in physics and in chemistry.".into()
        )
    );
    assert_ne!(kb.embedding("entities", "name = ?1", &["Marie Curie"]), curie_vector);
    assert_eq!(
        kb.embedding("entities", "name = ?1", &["Paris"]),
        paris_vector,
        "untouched rows keep their vectors"
    );
    kb.assert_indexes_current();
    let n: i64 = kb
        .one("SELECT count(*) FROM llm_cache WHERE cache_type = 'query'", &[])
        .unwrap();
    assert_eq!(n, 0, "cached answers may quote the old graph: dropped");
    let context = kb.context("Who was Marie Curie?").to_string();
    assert!(context.contains("two Nobel prizes"), "{context}");
    let answer = ask(&kb);
    assert_eq!(
        answer["llm_calls"],
        json!(1),
        "answered again, not from the cache: {answer}"
    );

    // A relation edit: keywords and weight; a weight below the evidence is refused.
    let (code, err) = kb.graph(
        "alice",
        &["relation", "edit", "Paris", "Pierre Curie", "--weight", "0.5"],
    );
    assert_eq!(code, 2, "{err}");
    let r = kb.ok(&[
        "relation",
        "edit",
        "Pierre Curie",
        "Paris",
        "--keywords",
        "lab,research",
        "--weight",
        "7",
    ]);
    assert_eq!(r["relations_updated"], json!([["Paris", "Pierre Curie"]]));
    let (kw, w): (String, f64) = kb
        .one(
            "SELECT keywords, weight FROM relations WHERE src = 'Paris' AND tgt = 'Pierre Curie'",
            &[],
        )
        .unwrap();
    assert_eq!((kw.as_str(), w), ("lab,research", 7.0));

    // Create an entity and a relation to it; the query finds them.
    let (code, err) = kb.graph(
        "alice",
        &["relation", "create", "Marie Curie", "Warsaw", "--description", "x"],
    );
    assert_eq!(code, 3, "a missing endpoint is not found: {err}");
    kb.ok(&[
        "entity",
        "create",
        "Warsaw",
        "--type",
        "location",
        "--description",
        "Capital of Poland.",
    ]);
    let (code, _) = kb.graph("alice", &["entity", "create", "Warsaw", "--description", "again"]);
    assert_eq!(code, 6, "an existing entity is a conflict");
    let r = kb.ok(&[
        "relation",
        "create",
        "Warsaw",
        "Marie Curie",
        "--description",
        "Marie Curie was born in Warsaw.",
        "--keywords",
        "birthplace",
    ]);
    assert_eq!(r["relations_created"], json!([["Marie Curie", "Warsaw"]]));
    let context = kb.context("Where was Marie Curie born?").to_string();
    assert!(context.contains("born in Warsaw"), "{context}");
    kb.assert_indexes_current();

    // Deleting a relation, then an entity with its relations.
    kb.ok(&["relation", "delete", "Marie Curie", "Warsaw", "--yes"]);
    assert!(
        kb.one::<String>("SELECT src FROM relations WHERE tgt = 'Warsaw'", &[])
            .is_none()
    );
    let dry = kb.ok(&["entity", "delete", "Paris", "--dry-run"]);
    assert!(dry["dry_run"].as_bool().unwrap());
    assert!(kb.entity("Paris").is_some(), "a dry run changes nothing");
    let r = kb.ok(&["entity", "delete", "Paris", "--yes"]);
    assert!(!r["relations_removed"].as_array().unwrap().is_empty());
    assert!(kb.entity("Paris").is_none());
    let left: i64 = kb
        .one(
            "SELECT count(*) FROM relations WHERE src = 'Paris' OR tgt = 'Paris'",
            &[],
        )
        .unwrap();
    assert_eq!(left, 0);
    kb.assert_indexes_current();
    let context = kb.context("What happened in Paris?").to_string();
    assert!(!context.contains("\"entity_name\":\"Paris\""), "{context}");
}

#[test]
fn a_merge_moves_relations_merges_collisions_and_drops_self_loops() {
    let kb = kb();
    kb.ingest(&[("a.md", CURIE), ("b.md", PIERRE)]);
    // Both Pierre Curie and Paul Langevin are related to Paris and to each other.
    let before: Vec<(String, String, f64, String)> = kb.sql.all(
        "SELECT src, tgt, weight, source_ids FROM relations WHERE src IN ('Paris') AND tgt IN ('Paul Langevin', 'Pierre Curie')",
    );
    assert_eq!(before.len(), 2, "{before:?}");
    let relations_before: i64 = kb.one("SELECT count(*) FROM relations", &[]).unwrap();

    let dry = kb.ok(&["merge", "Paul Langevin", "--into", "Pierre Curie", "--dry-run"]);
    assert_eq!(
        kb.one::<i64>("SELECT count(*) FROM relations", &[]).unwrap(),
        relations_before
    );
    let r = kb.ok(&["merge", "Paul Langevin", "--into", "Pierre Curie", "--yes"]);
    assert_eq!(dry["relations_removed"], r["relations_removed"]);
    assert_eq!(r["entities_removed"], json!(["Paul Langevin"]));
    assert_eq!(
        r["aliases"],
        json!([{"alias": "Paul Langevin", "canonical": "Pierre Curie"}])
    );
    assert!(kb.entity("Paul Langevin").is_none());
    // No self-loop, nothing left pointing at the merged name.
    let dangling: i64 = kb
        .one(
            "SELECT count(*) FROM relations WHERE src = 'Paul Langevin' OR tgt = 'Paul Langevin' OR src = tgt",
            &[],
        )
        .unwrap();
    assert_eq!(dangling, 0);
    // The two Paris relations collapsed into one: descriptions joined, chunks united, the
    // larger weight floored at the evidence count.
    let (desc, weight, ids): (String, f64, String) = kb
        .one(
            "SELECT description, weight, source_ids FROM relations WHERE src = 'Paris' AND tgt = 'Pierre Curie'",
            &[],
        )
        .unwrap();
    let chunks: std::collections::BTreeSet<&str> = ids.split("<SEP>").collect();
    let expected: std::collections::BTreeSet<&str> = before.iter().flat_map(|b| b.3.split("<SEP>")).collect();
    assert_eq!(chunks, expected);
    let max = before.iter().map(|b| b.2).fold(0.0, f64::max);
    assert_eq!(weight, max.max(chunks.len() as f64));
    assert!(desc.contains("Paul Langevin"), "{desc}");
    // The merged entity carries both chunk lists and both file paths.
    let (paths, count): (String, i64) = kb
        .one(
            "SELECT file_paths, (SELECT count(*) FROM doc_entities WHERE name = 'Pierre Curie') FROM entities WHERE name = 'Pierre Curie'",
            &[],
        )
        .unwrap();
    assert!(paths.contains("a.md") && paths.contains("b.md"), "{paths}");
    assert_eq!(count, 2);
    kb.assert_indexes_current();
    // The merged entity's relations are found by a query about it.
    let context = kb.context("Who did Pierre Curie meet?").to_string();
    assert!(context.contains("Albert Einstein"), "{context}");
}

#[test]
fn a_renamed_name_extracted_again_lands_on_the_new_name() {
    let kb = kb();
    kb.ingest(&[("b.md", PIERRE)]);
    let r = kb.ok(&["entity", "rename", "Paul Langevin", "P. Langevin"]);
    assert_eq!(r["entities_created"], json!(["P. Langevin"]));
    let (code, err) = kb.graph("alice", &["entity", "rename", "P. Langevin", "Paris"]);
    assert_eq!(code, 6, "renaming onto an existing entity is a conflict: {err}");
    kb.ok(&["entity", "edit", "P. Langevin", "--type", "physicist"]);
    kb.ingest(&[("c.md", LATER)]);
    let (kind, description) = kb.entity("P. Langevin").unwrap();
    assert_eq!(
        kind, "physicist",
        "a curated type survives the type vote of a later ingest"
    );
    assert!(
        description.contains("Lyon"),
        "later descriptions merge in: {description}"
    );
    let names = kb.names();
    assert!(!names.contains(&"Paul Langevin".to_string()), "{names:?}");
    assert!(names.contains(&"Lyon".to_string()), "{names:?}");
    let lyon: i64 = kb
        .one(
            "SELECT count(*) FROM relations WHERE (src = 'Lyon' AND tgt = 'P. Langevin')",
            &[],
        )
        .unwrap();
    assert_eq!(lyon, 1, "the later document's relation is on the new name");
    let files: String = kb
        .one("SELECT file_paths FROM entities WHERE name = 'P. Langevin'", &[])
        .unwrap();
    assert!(files.contains("c.md"), "{files}");

    // Deleting the later document rebuilds from the stored answers through the alias.
    let doc: String = kb
        .one("SELECT doc_id FROM documents WHERE file_path LIKE '%c.md'", &[])
        .unwrap();
    let mut args = vec!["doc", "delete"];
    args.extend(S);
    args.extend(["--yes", doc.as_str()]);
    let run = kb.lrt.run_as("alice", &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files: String = kb
        .one("SELECT file_paths FROM entities WHERE name = 'P. Langevin'", &[])
        .unwrap();
    assert!(!files.contains("c.md") && files.contains("b.md"), "{files}");
    assert!(!kb.names().contains(&"Paul Langevin".to_string()));
}

#[test]
fn edits_survive_a_document_delete_and_travel_with_export_and_import() {
    let kb = kb();
    kb.ingest(&[("a.md", CURIE), ("b.md", PIERRE)]);
    kb.ok(&[
        "entity",
        "edit",
        "Pierre Curie",
        "--description",
        "Curated: French physicist.",
        "--type",
        "physicist",
    ]);
    kb.ok(&[
        "relation",
        "edit",
        "Paris",
        "Pierre Curie",
        "--description",
        "Curated: Pierre Curie lived in Paris.",
    ]);
    kb.ok(&[
        "entity",
        "create",
        "Sorbonne",
        "--description",
        "Curated: a university.",
    ]);
    kb.ok(&["merge", "Paul Langevin", "--into", "Langevin", "--yes"]);

    // Deleting b.md rebuilds Pierre Curie and Paris~Pierre Curie from a.md: the curated fields
    // stay; the hand-made entity is untouched; Langevin (only in b.md) goes with its document.
    let doc: String = kb
        .one("SELECT doc_id FROM documents WHERE file_path LIKE '%b.md'", &[])
        .unwrap();
    let mut args = vec!["doc", "delete"];
    args.extend(S);
    args.extend(["--yes", "--json", doc.as_str()]);
    let run = kb.lrt.run_as("alice", &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json()["entities_rebuilt"].as_u64().unwrap() > 0);
    assert_eq!(
        kb.entity("Pierre Curie").unwrap(),
        ("physicist".into(), "Curated: French physicist.".into())
    );
    let rel: String = kb
        .one(
            "SELECT description FROM relations WHERE src = 'Paris' AND tgt = 'Pierre Curie'",
            &[],
        )
        .unwrap();
    assert_eq!(rel, "Curated: Pierre Curie lived in Paris.");
    assert!(kb.entity("Sorbonne").is_some());
    let files: String = kb
        .one("SELECT file_paths FROM entities WHERE name = 'Pierre Curie'", &[])
        .unwrap();
    assert!(
        !files.contains("b.md"),
        "the rebuilt chunk lists are the surviving ones: {files}"
    );
    kb.assert_indexes_current();

    // Export, import: the curated rows and the alias come along and keep working.
    let archive = kb.lrt.root().join("docs.tar");
    let archive = archive.to_str().unwrap();
    kb.lrt
        .json_as(ROOT, &["kb", "export", "-t", "acme", "--kb", "docs", "--out", archive]);
    let imported = kb
        .lrt
        .json_as(ROOT, &["kb", "import", "-t", "acme", archive, "--name", "copy"]);
    let (t, k) = (
        imported["tenant_id"].as_str().unwrap_or_else(|| panic!("{imported}")),
        imported["kb_id"].as_str().unwrap_or_else(|| panic!("{imported}")),
    );
    let copy = Db {
        dir: kb.lrt.kb_dir(t, k),
        sql: common::kbsql::KbSql::open(&kb.lrt, t, k),
    };
    assert_eq!(
        copy.entity("Pierre Curie").unwrap(),
        ("physicist".into(), "Curated: French physicist.".into())
    );
    let overrides: i64 = copy.one("SELECT count(*) FROM graph_overrides", &[]).unwrap();
    let aliases: i64 = copy.one("SELECT count(*) FROM entity_aliases", &[]).unwrap();
    assert_eq!((overrides, aliases), (3, 1));
    // In the imported KB, deleting a.md keeps the curated, hand-made rows.
    let doc: String = copy
        .one("SELECT doc_id FROM documents WHERE file_path LIKE '%a.md'", &[])
        .unwrap();
    let run = kb.lrt.run_as(
        "alice",
        &["doc", "delete", "-t", "acme", "--kb", "copy", "--yes", doc.as_str()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        copy.entity("Pierre Curie").unwrap(),
        ("physicist".into(), "Curated: French physicist.".into()),
        "a curated entity outlives its documents"
    );
    assert!(copy.entity("Sorbonne").is_some());
}

#[test]
fn edits_need_document_update_deletions_document_delete_and_are_audited() {
    let kb = kb();
    kb.ingest(&[("a.md", CURIE)]);
    let before = kb.names();
    for args in [
        vec!["entity", "edit", "Paris", "--description", "viewer text"],
        vec!["entity", "create", "Viewer", "--description", "x"],
        vec!["merge", "Paris", "--into", "City", "--yes"],
        vec!["entity", "delete", "Paris", "--yes"],
        vec!["relation", "delete", "Marie Curie", "Paris", "--yes"],
    ] {
        let (code, err) = kb.graph("val", &args);
        assert_eq!(code, 5, "a viewer may not {args:?}: {err}");
    }
    assert_eq!(kb.names(), before);
    let denials: Vec<Value> = kb
        .lrt
        .audit()
        .into_iter()
        .filter(|e| e["user_id"] == "val" && e["outcome"] == "denied")
        .collect();
    let actions: Vec<&str> = denials.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "document.update").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "document.delete").count(),
        2,
        "{actions:?}"
    );
    // Outside the tenant: not found.
    let lrt = &kb.lrt;
    lrt.tenant("other", Some("mallory"));
    let (code, _) = kb.graph("mallory", &["entity", "edit", "Paris", "--description", "x"]);
    assert_eq!(code, 3);

    // An editor edits and deletes; each edit is audited with the rows before and after.
    kb.graph("ed", &["entity", "edit", "Paris", "--description", "Editor's Paris."]);
    let (code, err) = kb.graph("ed", &["entity", "delete", "Marie Curie", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let audit = kb.lrt.audit();
    let edit = audit
        .iter()
        .find(|e| e["action"] == "graph.entity.edit" && e["user_id"] == "ed")
        .expect("edit audited");
    let detail: Value = serde_json::from_str(edit["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["after"]["description"], json!("Editor's Paris."));
    assert_ne!(detail["before"]["description"], detail["after"]["description"]);
    let delete = audit
        .iter()
        .find(|e| e["action"] == "graph.entity.delete")
        .expect("delete audited");
    let detail: Value = serde_json::from_str(delete["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["before"]["entity"]["name"], json!("Marie Curie"));
    assert_eq!(detail["after"], Value::Null);
    assert!(file_names(&detail["before"]["entity"]["file_paths"])[0].ends_with("a.md"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_routes_edit_merge_and_list_labels_and_other_tenants_get_not_found() {
    let kb = kb();
    kb.ingest(&[("a.md", CURIE), ("b.md", PIERRE)]);
    let (tenant, kb_id) = (kb.tenant.clone(), kb.kb.clone());
    kb.lrt.tenant("other", Some("bob"));
    let srv = start(&kb.lrt, &[]);
    let (alice, val, bob) = (token(&kb.lrt, "alice"), token(&kb.lrt, "val"), token(&kb.lrt, "bob"));
    let base = format!("/api/v1/tenants/{tenant}/kbs/{kb_id}");
    let path = |p: &str| format!("{base}/graph/{p}");

    // A query through the server's engine cache, then an edit, then the same question.
    let ask = json!({"question": "Who was Marie Curie?", "mode": "local", "only_context": true});
    let q = srv.post(&format!("{base}/query"), &alice, ask.clone()).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    let r = srv
        .post(
            &path("entity/edit"),
            &alice,
            json!({"name": "Marie Curie", "description": "Served: two Nobel prizes."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let q = srv.post(&format!("{base}/query"), &alice, ask.clone()).await;
    assert!(
        q.body.to_string().contains("Served: two Nobel prizes."),
        "the cached engine saw the edit: {}",
        q.body
    );

    let r = srv
        .post(
            &path("entity/create"),
            &alice,
            json!({"name": "Warsaw", "description": "Capital of Poland.", "entity_type": "location"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = srv
        .post(
            &path("entity/create"),
            &alice,
            json!({"name": "Warsaw", "description": "again"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = srv
        .post(
            &path("relation/create"),
            &alice,
            json!({"source": "Warsaw", "target": "Marie Curie", "description": "Born there.", "weight": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = srv
        .post(
            &path("relation/edit"),
            &alice,
            json!({"source": "Marie Curie", "target": "Warsaw", "keywords": "birthplace"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = srv
        .post(
            &path("entities/merge"),
            &alice,
            json!({"sources": ["Paul Langevin"], "target": "Pierre Curie", "dry_run": true}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["dry_run"].clone()),
        (StatusCode::OK, json!(true)),
        "{}",
        r.body
    );
    assert!(kb.entity("Paul Langevin").is_some());
    let r = srv
        .post(
            &path("entities/merge"),
            &alice,
            json!({"sources": ["Paul Langevin"], "target": "Pierre Curie"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(kb.entity("Paul Langevin").is_none());
    let r = srv
        .post(
            &path("entity/edit"),
            &alice,
            json!({"name": "Warsaw", "new_name": "Warszawa"}),
        )
        .await;
    assert_eq!(r.body["entities_created"], json!(["Warszawa"]), "{}", r.body);
    let r = srv.get(&path("entity/exists?name=Warszawa"), &val).await;
    assert_eq!(r.body, json!({"exists": true}));
    let r = srv.get(&path("entity/exists?name=Warsaw"), &val).await;
    assert_eq!(r.body, json!({"exists": false}));
    let r = srv.get(&path("label/popular?limit=2"), &val).await;
    assert_eq!(r.body["labels"].as_array().unwrap().len(), 2, "{}", r.body);
    let r = srv.get(&path("label/search?q=curie"), &val).await;
    assert_eq!(r.body["labels"], json!(["Pierre Curie", "Marie Curie"]), "{}", r.body);
    let r = srv.get(&path("label/list"), &val).await;
    let labels = r.body["labels"].as_array().unwrap().clone();
    let mut sorted = labels.clone();
    sorted.sort_by_key(|l| l.as_str().unwrap().to_string());
    assert_eq!(labels, sorted);

    // A viewer reads but may not edit (403); deletions need document:delete.
    let r = srv
        .post(&path("entity/delete"), &val, json!({"name": "Warszawa"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = srv
        .post(
            &path("relation/delete"),
            &alice,
            json!({"source": "Warszawa", "target": "Marie Curie"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = srv
        .post(&path("entity/delete"), &alice, json!({"name": "Warszawa"}))
        .await;
    assert_eq!(r.body["entities_removed"], json!(["Warszawa"]), "{}", r.body);
    let r = srv
        .post(&path("entity/delete"), &alice, json!({"name": "Warszawa"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Another tenant's admin: 404 on every route, nothing of acme in the answer.
    let foreign: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            path("entity/create"),
            Some(json!({"name": "X", "description": "y"})),
        ),
        (
            Method::POST,
            path("entity/edit"),
            Some(json!({"name": "Paris", "description": "y"})),
        ),
        (Method::POST, path("entity/delete"), Some(json!({"name": "Paris"}))),
        (Method::GET, path("entity/exists?name=Paris"), None),
        (
            Method::POST,
            path("entities/merge"),
            Some(json!({"sources": ["Paris"], "target": "Y"})),
        ),
        (
            Method::POST,
            path("relation/create"),
            Some(json!({"source": "Paris", "target": "Pierre Curie", "description": "y"})),
        ),
        (
            Method::POST,
            path("relation/edit"),
            Some(json!({"source": "Paris", "target": "Pierre Curie", "weight": 9})),
        ),
        (
            Method::POST,
            path("relation/delete"),
            Some(json!({"source": "Paris", "target": "Pierre Curie"})),
        ),
        (Method::GET, path("label/list"), None),
        (Method::GET, path("label/popular"), None),
        (Method::GET, path("label/search?q=a"), None),
    ];
    for (method, p, body) in foreign {
        srv.assert_foreign(&bob, method, &p, body, "acme").await;
    }
    assert!(kb.entity("Paris").is_some());
}
