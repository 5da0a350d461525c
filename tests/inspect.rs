//! `lrt doc list|show` and `lrt graph entities|show|export` on a KB ingested with the offline
//! `local` provider: listings, paging and JSON shapes, answers checked against kb.db itself,
//! GraphML parsed back, a failed document's error, the role matrix, and reading while another
//! process holds the ingest lock and a write transaction.

mod common;

use std::path::PathBuf;

use common::kbsql::KbSql;
use common::{Lrt, ROOT, keys, sorted};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris. \
Marie Curie shared the Nobel Prize in Physics with Henri Becquerel in 1903.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";
/// Repeats a sentence of CURIE, so that some relations get a second chunk (weight 2).
const NOBEL: &str = "Marie Curie shared the Nobel Prize in Physics with Henri Becquerel in 1903. \
The <Nobel> & \"Prize\" committee met in Stockholm.";

/// Tenant `acme` (admin alice; viewer val; viewer_readonly rita), KB `docs` holding three
/// ingested documents, and tenant `beta` (admin bert).
struct Fixture {
    lrt: Lrt,
    /// The KB's rows on either backend.
    db: KbSql,
    /// Its kb.db on SQLite.
    kb_db: PathBuf,
}

fn ingested() -> Fixture {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    lrt.member("acme", "val", "viewer");
    lrt.member("acme", "rita", "viewer_readonly");
    lrt.tenant("beta", Some("bert"));
    let dir = lrt.root().join("corpus");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [("curie.md", CURIE), ("nasa.txt", NASA), ("nobel.md", NOBEL)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let report = lrt.json_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", dir.to_str().unwrap()],
    );
    assert_eq!(report["added"].as_u64(), Some(3), "{report}");
    let kb = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    let (t, k) = (kb["tenant_id"].as_str().unwrap(), kb["kb_id"].as_str().unwrap());
    Fixture {
        db: KbSql::open(&lrt, t, k),
        kb_db: lrt.kb_dir(t, k).join("kb.db"),
        lrt,
    }
}

fn count(db: &KbSql, sql: &str) -> u64 {
    db.count(sql) as u64
}

/// A single-column text result.
fn texts(db: &KbSql, sql: &str) -> Vec<String> {
    db.rows(sql)
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect()
}

fn args<'a>(cmd: &[&'a str]) -> Vec<&'a str> {
    let mut all = cmd.to_vec();
    all.extend(["-t", "acme", "--kb", "docs"]);
    all
}

#[test]
fn documents_are_listed_paged_filtered_and_shown() {
    let Fixture { lrt, db, .. } = ingested();
    let list = lrt.json_as("val", &args(&["doc", "list"]));
    let docs = list.as_array().expect("doc list prints a bare array");
    assert_eq!(docs.len(), 3);
    assert_eq!(
        keys(&docs[0]),
        sorted(&[
            "doc_id",
            "file_path",
            "content_hash",
            "content_length",
            "status",
            "error",
            "chunks_count",
            "created_at",
            "updated_at"
        ])
    );
    assert!(docs.iter().all(|d| d["status"] == "processed" && d["error"].is_null()));
    assert!(common::is_timestamp(docs[0]["updated_at"].as_str().unwrap()));
    let updated: Vec<&str> = docs.iter().map(|d| d["updated_at"].as_str().unwrap()).collect();
    assert!(updated.windows(2).all(|w| w[0] >= w[1]), "newest first: {updated:?}");

    // Paging: two pages of two, in the same order as the full list.
    let page1 = lrt.json_as("val", &args(&["doc", "list", "--page-size", "2"]));
    let page2 = lrt.json_as("val", &args(&["doc", "list", "--page-size", "2", "--page", "2"]));
    assert_eq!(page1.as_array().unwrap().len(), 2);
    assert_eq!(page2.as_array().unwrap().len(), 1);
    assert_eq!(page2[0]["doc_id"], docs[2]["doc_id"]);
    let table = lrt.run_as("val", &args(&["doc", "list", "--page-size", "2"]));
    assert!(table.stdout.contains("page 1 of 2 (3 documents)"), "{}", table.stdout);
    let ids = lrt.run_as("val", &args(&["doc", "list", "-q"]));
    assert_eq!(ids.stdout.lines().count(), 3);
    assert_eq!(lrt.code_as("val", &args(&["doc", "list", "--page", "0"])), 2);
    assert_eq!(lrt.code_as("val", &args(&["doc", "list", "--page-size", "1001"])), 2);
    assert_eq!(lrt.code_as("val", &args(&["doc", "list", "--status", "done"])), 2);

    // Status filter.
    let processed = lrt.json_as("val", &args(&["doc", "list", "--status", "processed"]));
    assert_eq!(processed.as_array().unwrap().len(), 3);
    assert_eq!(
        lrt.json_as("val", &args(&["doc", "list", "--status", "failed"])),
        json!([])
    );

    // Show: chunks and graph contribution, as kb.db has them.
    let curie = docs
        .iter()
        .find(|d| d["file_path"].as_str().unwrap().ends_with("/curie.md"))
        .unwrap();
    let id = curie["doc_id"].as_str().unwrap();
    let doc = lrt.json_as("val", &args(&["doc", "show", id]));
    assert_eq!(
        keys(&doc),
        sorted(&[
            "doc_id",
            "file_path",
            "content_hash",
            "content_length",
            "status",
            "error",
            "chunks_count",
            "created_at",
            "updated_at",
            "content_summary",
            "chunks",
            "entity_count",
            "relation_count"
        ])
    );
    assert_eq!(doc["content_length"].as_u64(), Some(CURIE.chars().count() as u64));
    assert_eq!(doc["content_summary"], CURIE);
    let chunks = doc["chunks"].as_array().unwrap();
    assert_eq!(chunks.len() as u64, doc["chunks_count"].as_u64().unwrap());
    assert_eq!(keys(&chunks[0]), sorted(&["chunk_id", "chunk_order", "tokens"]));
    assert_eq!(chunks[0]["chunk_order"], 0);
    assert!(chunks[0]["tokens"].as_u64().unwrap() > 10);
    let sql = format!("SELECT count(*) FROM doc_entities WHERE doc_id = '{id}'");
    assert_eq!(doc["entity_count"].as_u64(), Some(count(&db, &sql)));
    let sql = format!("SELECT count(*) FROM doc_relations WHERE doc_id = '{id}'");
    assert_eq!(doc["relation_count"].as_u64(), Some(count(&db, &sql)));
    let table = lrt.run_as("val", &args(&["doc", "show", id]));
    assert!(table.stdout.contains(chunks[0]["chunk_id"].as_str().unwrap()));

    let missing = lrt.run_as("val", &args(&["doc", "show", "doc-0000", "--json"]));
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert_eq!(missing.json_error()["error"]["kind"], "not_found");
    assert!(missing.stdout.is_empty());
    assert!(missing.stderr.contains("doc-0000"), "{}", missing.stderr);
}

#[test]
fn a_kb_that_was_never_ingested_lists_empty_and_no_file_is_created() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "fresh");
    let before = lrt.tree();
    let scope = ["-t", "acme", "--kb", "fresh"];
    let with = |cmd: &[&'static str]| [cmd, &scope[..]].concat();
    assert_eq!(lrt.json_as("alice", &with(&["doc", "list"])), json!([]));
    assert_eq!(lrt.json_as("alice", &with(&["graph", "entities"])), json!([]));
    let export = lrt.run_as("alice", &with(&["graph", "export", "--format", "json"]));
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert_eq!(export.json(), json!({"nodes": [], "edges": []}));
    assert_eq!(lrt.code_as("alice", &with(&["doc", "show", "doc-1"])), 3);
    assert_eq!(lrt.code_as("alice", &with(&["graph", "show", "Paris"])), 3);
    assert_eq!(lrt.tree(), before, "inspection created files");
}

/// `(name, degree)` of every entity, from kb.db.
fn degrees(db: &KbSql) -> Vec<(String, u64)> {
    db.rows(
        "SELECT name, (SELECT count(*) FROM relations WHERE src = name OR tgt = name) AS d
         FROM entities ORDER BY d DESC, name",
    )
    .into_iter()
    .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
    .collect()
}

#[test]
fn entities_are_listed_by_degree_searched_filtered_and_shown_with_weights() {
    let Fixture { lrt, db, .. } = ingested();
    let expected = degrees(&db);
    let list = lrt.json_as("val", &args(&["graph", "entities", "--limit", "1000"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), expected.len());
    assert_eq!(
        keys(&list[0]),
        sorted(&["name", "entity_type", "degree", "source_chunks"])
    );
    let got: Vec<(String, u64)> = list
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["degree"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, expected, "sorted by degree, then name");
    assert_eq!(list[0]["name"], "Marie Curie");
    assert_eq!(list[0]["source_chunks"], 2, "mentioned in curie.md and nobel.md");

    // Pages of two follow each other; `--limit`, the old flag, is `--page-size`.
    let limited = lrt.json_as("val", &args(&["graph", "entities", "--limit", "2"]));
    assert_eq!(limited.as_array().unwrap(), &list[..2]);
    let second = lrt.json_as("val", &args(&["graph", "entities", "--page", "2", "--page-size", "2"]));
    assert_eq!(second.as_array().unwrap(), &list[2..4]);
    let table = lrt.run_as("val", &args(&["graph", "entities", "--page-size", "2"]));
    let pages = expected.len().div_ceil(2);
    assert!(
        table
            .stdout
            .contains(&format!("page 1 of {pages} ({} matching entities)", expected.len())),
        "{}",
        table.stdout
    );
    let found = lrt.json_as("val", &args(&["graph", "entities", "--search", "CURIE"]));
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Marie Curie", "Pierre Curie"]);
    let people = lrt.json_as("val", &args(&["graph", "entities", "--type", "Person"]));
    assert!(!people.as_array().unwrap().is_empty());
    assert!(people.as_array().unwrap().iter().all(|e| e["entity_type"] == "person"));
    let ids = lrt.run_as("val", &args(&["graph", "entities", "--search", "curie", "-q"]));
    assert_eq!(ids.stdout, "Marie Curie\nPierre Curie\n");
    assert_eq!(lrt.code_as("val", &args(&["graph", "entities", "--limit", "0"])), 2);

    // show: exact name, then case-insensitive; neighbours carry kb.db's weights.
    let e = lrt.json_as("val", &args(&["graph", "show", "Marie Curie"]));
    assert_eq!(e["matched"], "exact");
    assert_eq!(e["entity_type"], "person");
    assert_eq!(e["degree"], list[0]["degree"]);
    assert!(!e["description"].as_array().unwrap().is_empty());
    let neighbours = e["neighbours"].as_array().unwrap();
    assert_eq!(neighbours.len() as u64, e["degree"].as_u64().unwrap());
    for n in neighbours {
        let other = n["name"].as_str().unwrap();
        let (a, b) = if other < "Marie Curie" {
            (other, "Marie Curie")
        } else {
            ("Marie Curie", other)
        };
        let row = &db.rows(&format!(
            "SELECT weight, keywords FROM relations WHERE src = '{}' AND tgt = '{}'",
            a.replace('\'', "''"),
            b.replace('\'', "''")
        ))[0];
        let (weight, keywords) = (row[0].as_f64().unwrap(), row[1].as_str().unwrap());
        assert_eq!(n["weight"].as_f64(), Some(weight), "{other}");
        assert_eq!(n["keywords"].as_array().unwrap().len(), keywords.split(',').count());
    }
    let weights: Vec<f64> = neighbours.iter().map(|n| n["weight"].as_f64().unwrap()).collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "strongest first: {weights:?}");
    assert_eq!(weights[0], 2.0, "the repeated sentence gives a second chunk");
    let files: Vec<&str> = e["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file_path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(files, ["curie.md", "nobel.md"]);

    let ci = lrt.json_as("val", &args(&["graph", "show", "marie CURIE"]));
    assert_eq!(
        (ci["name"].as_str(), ci["matched"].as_str()),
        (Some("Marie Curie"), Some("case_insensitive"))
    );
    let table = lrt.run_as("val", &args(&["graph", "show", "marie curie"]));
    assert!(table.stdout.contains("ignoring case"), "{}", table.stdout);
    assert!(table.stdout.contains("Henri Becquerel"));
    let missing = lrt.run_as("val", &args(&["graph", "show", "Atlantis"]));
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(missing.stderr.contains("Atlantis"));
}

#[test]
fn the_graph_exports_as_graphml_and_json_matching_kb_db() {
    let Fixture { lrt, db, .. } = ingested();
    let (nodes, edges) = (
        count(&db, "SELECT count(*) FROM entities"),
        count(&db, "SELECT count(*) FROM relations"),
    );
    let out = lrt.root().join("out");
    std::fs::create_dir(&out).unwrap();
    let file = out.join("graph.graphml");
    let file_arg = file.to_str().unwrap();
    let export = ["graph", "export", "--format", "graphml", "--out", file_arg];
    let summary = lrt.json_as("val", &args(&export));
    assert_eq!(
        summary,
        json!({"file": file_arg, "format": "graphml", "nodes": nodes, "edges": edges})
    );

    let text = std::fs::read_to_string(&file).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed GraphML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "graphml");
    let key_names = |domain: &str| -> Vec<String> {
        root.children()
            .filter(|n| n.has_tag_name("key") && n.attribute("for") == Some(domain))
            .map(|n| n.attribute("attr.name").unwrap().to_string())
            .collect()
    };
    assert_eq!(
        key_names("node"),
        [
            "entity_id",
            "entity_type",
            "description",
            "source_id",
            "file_path",
            "created_at",
            "truncate"
        ]
    );
    assert_eq!(
        key_names("edge"),
        [
            "weight",
            "description",
            "keywords",
            "source_id",
            "file_path",
            "created_at",
            "truncate"
        ]
    );
    let graph = root.children().find(|n| n.has_tag_name("graph")).unwrap();
    assert_eq!(graph.attribute("edgedefault"), Some("undirected"));
    let xml_nodes: Vec<_> = graph.children().filter(|n| n.has_tag_name("node")).collect();
    let xml_edges: Vec<_> = graph.children().filter(|n| n.has_tag_name("edge")).collect();
    assert_eq!((xml_nodes.len() as u64, xml_edges.len() as u64), (nodes, edges));
    // Names with markup characters survive escaping.
    let names = texts(&db, "SELECT name FROM entities ORDER BY name");
    let xml_names: Vec<&str> = xml_nodes.iter().map(|n| n.attribute("id").unwrap()).collect();
    assert_eq!(xml_names, names);
    let node_ids: std::collections::HashSet<&str> = xml_names.iter().copied().collect();
    for e in &xml_edges {
        assert!(node_ids.contains(e.attribute("source").unwrap()));
        assert!(node_ids.contains(e.attribute("target").unwrap()));
    }
    let descriptions = texts(&db, "SELECT description FROM entities ORDER BY name");
    let data = |node: &roxmltree::Node, key: &str| -> String {
        node.children()
            .find(|d| d.attribute("key") == Some(key))
            .and_then(|d| d.text())
            .unwrap_or("")
            .to_string()
    };
    let xml_descriptions: Vec<String> = xml_nodes.iter().map(|n| data(n, "d2")).collect();
    assert_eq!(xml_descriptions, descriptions);
    assert!(
        descriptions.iter().any(|d| d.contains('<') && d.contains('&')),
        "the corpus exercises escaping"
    );
    let weight: f64 = data(&xml_edges[0], "d7").parse().unwrap();
    assert!(weight >= 1.0);

    // The file is never replaced without --force, and no temporary file is left behind.
    let again = lrt.run_as("val", &args(&export));
    assert_eq!(again.code, 6, "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    std::fs::write(&file, "keep me").unwrap();
    assert_eq!(lrt.code_as("val", &args(&export)), 6);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let forced = lrt.run_as("val", &args(&[&export[..], &["--force"]].concat()));
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "no temporary files left");
    assert_eq!(
        lrt.code_as(
            "val",
            &args(&["graph", "export", "--format", "json", "--out", out.to_str().unwrap()])
        ),
        2
    );

    // JSON to stdout.
    let run = lrt.run_as("val", &args(&["graph", "export", "--format", "json"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let g = run.json();
    assert_eq!(keys(&g), sorted(&["nodes", "edges"]));
    assert_eq!(g["nodes"].as_array().unwrap().len() as u64, nodes);
    assert_eq!(g["edges"].as_array().unwrap().len() as u64, edges);
    assert_eq!(
        keys(&g["nodes"][0]),
        sorted(&[
            "entity_id",
            "entity_type",
            "description",
            "source_id",
            "file_path",
            "created_at",
            "truncate"
        ])
    );
    assert_eq!(
        keys(&g["edges"][0]),
        sorted(&[
            "source",
            "target",
            "weight",
            "description",
            "keywords",
            "source_id",
            "file_path",
            "created_at",
            "truncate"
        ])
    );
    // GraphML to stdout is the same document as the file.
    let run = lrt.run_as("val", &args(&["graph", "export", "--format", "graphml"]));
    assert_eq!(run.stdout, text);
}

#[test]
fn roles_without_document_read_are_denied_and_strangers_see_nothing() {
    let Fixture { lrt, .. } = ingested();
    let doc_id = lrt
        .run_as("val", &args(&["doc", "list", "-q"]))
        .stdout
        .lines()
        .next()
        .unwrap()
        .to_string();
    let commands: Vec<Vec<&str>> = vec![
        args(&["doc", "list"]),
        args(&["doc", "show", &doc_id]),
        args(&["graph", "entities"]),
        args(&["graph", "show", "Paris"]),
        args(&["graph", "export", "--format", "json"]),
    ];
    for cmd in &commands {
        assert_eq!(lrt.code_as("alice", cmd), 0, "admin: {cmd:?}");
        assert_eq!(lrt.code_as("val", cmd), 0, "viewer: {cmd:?}");
        let denied = lrt.run_as("rita", cmd);
        assert_eq!(denied.code, 5, "viewer_readonly: {cmd:?}: {}", denied.stderr);
        assert!(denied.stderr.contains("document:read"), "{}", denied.stderr);
        let stranger = lrt.run_as("bert", cmd);
        assert_eq!(stranger.code, 3, "non-member: {cmd:?}: {}", stranger.stderr);
        assert!(!stranger.stdout.contains("Paris"));
    }
    // Denials are audited.
    let audit = lrt.audit();
    assert!(
        audit
            .iter()
            .any(|a| a["user_id"] == "rita" && a["action"] == "document.read" && a["outcome"] == "denied")
    );
}

#[test]
fn inspection_reads_while_another_process_holds_the_ingest_lock_and_a_write() {
    let Fixture { lrt, kb_db: db, .. } = ingested();
    let lock = std::fs::File::create(db.with_file_name("ingest.lock")).unwrap();
    lock.try_lock().expect("the test holds the ingest lock");
    let mut writer = rusqlite::Connection::open(&db).unwrap();
    let tx = writer
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("UPDATE documents SET error = 'uncommitted'", []).unwrap();
    let started = std::time::Instant::now();
    let docs = lrt.json_as("val", &args(&["doc", "list"]));
    assert_eq!(docs.as_array().unwrap().len(), 3);
    assert!(
        docs.as_array().unwrap().iter().all(|d| d["error"].is_null()),
        "uncommitted rows are not seen"
    );
    assert_eq!(lrt.code_as("val", &args(&["graph", "entities"])), 0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no waiting on locks"
    );
    tx.rollback().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_document_shows_its_error() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "bad key"}})))
        .mount(&server)
        .await;
    let uri = server.uri();
    let env = [
        ("LLM_BINDING", "openai"),
        ("LLM_BINDING_HOST", uri.as_str()),
        ("LLM_BINDING_API_KEY", "sk-wrong"),
        ("LLM_MODEL", "mock-chat"),
        ("EMBEDDING_DIM", "8"),
        ("LRT_LLM_MAX_RETRIES", "0"),
    ];
    let file = lrt.root().join("curie.md");
    std::fs::write(&file, CURIE).unwrap();
    let run = lrt.run(
        Some("alice"),
        &env,
        &["ingest", "-t", "acme", "--kb", "docs", file.to_str().unwrap()],
    );
    assert_eq!(run.code, 8, "{}", run.stderr);

    let failed = lrt.json_as("alice", &args(&["doc", "list", "--status", "failed"]));
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(
        lrt.json_as("alice", &args(&["doc", "list", "--status", "processed"])),
        json!([])
    );
    let id = failed[0]["doc_id"].as_str().unwrap();
    let doc: Value = lrt.json_as("alice", &args(&["doc", "show", id]));
    let error = doc["error"].as_str().expect("a failed document has an error");
    assert!(error.contains("LLM_BINDING_API_KEY"), "{error}");
    assert!(!error.contains("sk-wrong"), "the key never appears: {error}");
    assert_eq!(doc["chunks"], json!([]));
    let table = lrt.run_as("alice", &args(&["doc", "show", id]));
    assert!(
        table.stdout.contains("error") && table.stdout.contains("failed"),
        "{}",
        table.stdout
    );
}
