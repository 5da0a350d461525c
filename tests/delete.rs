//! `lrt doc delete` and `lrt ingest --replace`: the graph after a delete is the graph the
//! remaining documents support (shared entities and relations rebuilt from the stored
//! extraction answers, with no extraction call), batches, deleting everything, a SIGKILL in
//! the middle, access rules, and replacing a changed file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::kbsql::KbSql;
use common::model::{env, requests, server, write_corpus};
use common::{Lrt, ROOT};
use serde_json::{Value, json};

const CURIE: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in Paris.";
const PIERRE: &str = "Pierre Curie worked in Paris with Paul Langevin. Paul Langevin studied at the \
University of Paris and met Albert Einstein in Brussels.";
const NASA: &str = "NASA was founded in 1958 in Washington. The agency ran the Apollo program, \
and Neil Armstrong walked on the Moon in 1969.";

struct Kb {
    lrt: Lrt,
    /// The KB's rows (kb.db, or its rows in PostgreSQL).
    db: KbSql,
    dir: PathBuf,
}

fn kb() -> Kb {
    let lrt = Lrt::with_init(&["--multi-tenant"]);
    let tenant = lrt.tenant("acme", Some("alice"));
    let kb = lrt.kb("acme", "docs");
    lrt.member("acme", "val", "viewer");
    let dir = lrt.kb_dir(&tenant, &kb);
    Kb {
        db: KbSql::open(&lrt, &tenant, &kb),
        dir,
        lrt,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

impl Kb {
    fn ingest(&self, env: &[(&str, &str)], paths: &[&str]) -> Value {
        let mut args = vec!["ingest", "-t", "acme", "--kb", "docs", "--json"];
        args.extend_from_slice(paths);
        let run = self.lrt.run(Some("alice"), env, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    }

    fn delete(&self, env: &[(&str, &str)], ids: &[&str]) -> Value {
        let mut args = vec!["doc", "delete", "-t", "acme", "--kb", "docs", "--yes", "--json"];
        args.extend_from_slice(ids);
        let run = self.lrt.run(Some("alice"), env, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json()
    }

    fn count(&self, sql: &str) -> i64 {
        self.db.count(sql)
    }

    /// Document ids by file name.
    fn doc_ids(&self) -> BTreeMap<String, String> {
        self.db
            .rows("SELECT file_path, doc_id FROM documents")
            .into_iter()
            .map(|r| (file_name(text(&r[0])), text(&r[1]).to_string()))
            .collect()
    }
}

/// The graph with order-insensitive fields: entity → (type, description fragments, source
/// ids, file names); relation → (keywords, fragments, weight, source ids, file names).
#[derive(Debug, PartialEq)]
struct Graph {
    entities: BTreeMap<String, EntityRow>,
    relations: BTreeMap<(String, String), RelationRow>,
}

type Strings = BTreeSet<String>;
/// (type, description fragments, source ids, file names).
type EntityRow = (String, Strings, Strings, Strings);
/// (keywords, description fragments, weight, source ids, file names).
type RelationRow = (String, Strings, String, Strings, Strings);

fn set(s: &str) -> BTreeSet<String> {
    s.split("<SEP>").filter(|x| !x.is_empty()).map(str::to_string).collect()
}

fn file_names(s: &str) -> BTreeSet<String> {
    set(s)
        .into_iter()
        .map(|p| Path::new(&p).file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not text: {v}"))
}

fn file_name(path: &str) -> String {
    Path::new(path).file_name().unwrap().to_string_lossy().into_owned()
}

fn graph(db: &KbSql) -> Graph {
    let entities = db
        .rows("SELECT name, entity_type, description, source_ids, file_paths FROM entities")
        .iter()
        .map(|r| {
            (
                text(&r[0]).to_string(),
                (
                    text(&r[1]).to_string(),
                    set(text(&r[2])),
                    set(text(&r[3])),
                    file_names(text(&r[4])),
                ),
            )
        })
        .collect();
    let relations = db
        .rows("SELECT src, tgt, keywords, description, weight, source_ids, file_paths FROM relations")
        .iter()
        .map(|r| {
            (
                (text(&r[0]).to_string(), text(&r[1]).to_string()),
                (
                    text(&r[2]).to_string(),
                    set(text(&r[3])),
                    format!("{:.1}", r[4].as_f64().unwrap()),
                    set(text(&r[5])),
                    file_names(text(&r[6])),
                ),
            )
        })
        .collect();
    Graph { entities, relations }
}

/// Every row of every table but the LLM cache (embeddings included), for "exactly as before".
fn dump(db: &KbSql) -> Vec<String> {
    let mut out = Vec::new();
    for (table, order) in [
        ("meta", "key"),
        ("documents", "doc_id"),
        ("chunks", "chunk_key"),
        ("extractions", "chunk_id"),
        ("entities", "entity_key"),
        ("relations", "relation_key"),
        ("doc_entities", "doc_id, name"),
        ("doc_relations", "doc_id, src, tgt"),
    ] {
        // PostgreSQL's KB lock bumps its fencing epoch (`lock_epoch` in meta) each time it is
        // taken, a killed holder's included: lock bookkeeping, not the KB's data.
        let only = if table == "meta" {
            " WHERE key != 'lock_epoch'"
        } else {
            ""
        };
        for row in db.rows(&format!("SELECT * FROM {table}{only} ORDER BY {order}")) {
            let row: Vec<String> = row.iter().map(Value::to_string).collect();
            out.push(format!("{table}: {}", row.join(" | ")));
        }
    }
    out
}

/// The vector index sidecars' counts and generations, against kb.db.
fn assert_indexes_match(kb: &Kb) {
    let generation = text(&kb.db.rows("SELECT value FROM meta WHERE key = 'generation'")[0][0]).to_string();
    for (kind, table) in [
        ("chunks", "chunks"),
        ("entities", "entities"),
        ("relations", "relations"),
    ] {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(kb.dir.join("vectors").join(format!("{kind}.vec.meta.json"))).unwrap(),
        )
        .unwrap();
        let rows = kb.count(&format!("SELECT count(*) FROM {table}"));
        assert_eq!(meta["fingerprint"]["count"].as_i64(), Some(rows), "{kind} index count");
        assert_eq!(
            meta["fingerprint"]["generation"].as_u64().map(|g| g.to_string()),
            Some(generation.clone()),
            "{kind} index generation"
        );
    }
}

fn assert_stats_agree(kb: &Kb) {
    let show = kb.lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    assert_eq!(
        show["document_count"].as_i64(),
        Some(kb.count("SELECT count(*) FROM documents WHERE status = 'processed'"))
    );
    assert_eq!(
        show["entity_count"].as_i64(),
        Some(kb.count("SELECT count(*) FROM entities"))
    );
    assert_eq!(
        show["relation_count"].as_i64(),
        Some(kb.count("SELECT count(*) FROM relations"))
    );
}

#[test]
fn deleting_a_document_rebuilds_shared_entities_as_if_it_had_never_been_ingested() {
    let full = kb();
    let docs = full.lrt.root().join("docs");
    let (curie, pierre, nasa) = (
        write(&docs, "curie.md", CURIE),
        write(&docs, "pierre.md", PIERRE),
        write(&docs, "nasa.md", NASA),
    );
    full.ingest(&[], &[&curie, &pierre, &nasa]);
    let before = graph(&full.db);
    let pierre_id = full.doc_ids()["pierre.md"].clone();

    let report = full.delete(&[], &[&pierre_id]);
    assert_eq!(report["documents_deleted"], 1);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["llm_calls"], 0, "{report}");
    assert!(report["entities_removed"].as_u64().unwrap() >= 2, "{report}");
    assert!(report["entities_rebuilt"].as_u64().unwrap() >= 2, "{report}");
    let after = graph(&full.db);

    // The same graph as a KB that never saw the deleted document.
    let reference = kb();
    let docs = reference.lrt.root().join("docs");
    reference.ingest(&[], &[&write(&docs, "curie.md", CURIE), &write(&docs, "nasa.md", NASA)]);
    assert_eq!(after, graph(&reference.db));

    // Spelled out: its own entities are gone, shared ones lost its fragments, chunks, path.
    for gone in ["Paul Langevin", "Albert Einstein", "Brussels"] {
        assert!(
            before.entities.contains_key(gone) && !after.entities.contains_key(gone),
            "{gone}"
        );
    }
    let pierre_chunk = format!("{pierre_id}-chunk-000");
    let mut shared = 0;
    for (name, (_, fragments, sources, files)) in &after.entities {
        assert!(!sources.contains(&pierre_chunk), "{name} still cites the deleted chunk");
        assert!(!files.contains("pierre.md"), "{name}");
        let old = &before.entities[name];
        if old.2.contains(&pierre_chunk) {
            shared += 1;
            assert!(fragments.is_subset(&old.1), "{name}: {fragments:?}");
            assert!(
                fragments.iter().all(|f| !f.contains("Langevin")),
                "{name}: {fragments:?}"
            );
        }
    }
    assert!(shared >= 2, "the corpus shares entities ({shared})");
    let mut dropped = 0;
    for (pair, (_, _, weight, sources, _)) in &after.relations {
        let old = &before.relations[pair];
        assert!(!sources.contains(&pierre_chunk));
        if old.3.contains(&pierre_chunk) {
            dropped += 1;
            assert!(weight < &old.2, "{pair:?}: weight {weight} was {}", old.2);
        }
    }
    assert!(dropped >= 1, "a relation both documents supported lost weight");

    assert_eq!(
        full.count(&format!("SELECT count(*) FROM chunks WHERE doc_id = '{pierre_id}'")),
        0
    );
    assert_eq!(
        full.count(&format!(
            "SELECT (SELECT count(*) FROM doc_entities WHERE doc_id = '{pierre_id}') + (SELECT count(*) FROM extractions WHERE chunk_id = '{pierre_chunk}')"
        )),
        0
    );
    assert_indexes_match(&full);
    assert_stats_agree(&full);
    let listed = full
        .lrt
        .json_as("alice", &["doc", "list", "-t", "acme", "--kb", "docs"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // Queries still work on the rebuilt indexes.
    let answer = full.lrt.json_as(
        "alice",
        &["query", "-t", "acme", "--kb", "docs", "Who discovered polonium?"],
    );
    assert_eq!(answer["no_context"], false, "{answer}");
}

#[test]
fn a_batch_delete_equals_one_by_one_and_deleting_everything_empties_the_kb() {
    let batch = kb();
    let one_by_one = kb();
    for k in [&batch, &one_by_one] {
        let corpus = k.lrt.root().join("corpus");
        write_corpus(&corpus, 8, 40);
        k.ingest(&[], &[corpus.to_str().unwrap()]);
    }
    let ids = batch.doc_ids();
    let picked: Vec<&str> = ["notes01.md", "notes02.md", "notes05.md"]
        .iter()
        .map(|f| ids[*f].as_str())
        .collect();
    let entities_before = batch.count("SELECT count(*) FROM entities");
    let relations_before = batch.count("SELECT count(*) FROM relations");
    let chunks: i64 = picked
        .iter()
        .map(|id| batch.count(&format!("SELECT count(*) FROM chunks WHERE doc_id = '{id}'")))
        .sum();

    // The dry run reports the same counts and changes nothing.
    let mut args = vec!["doc", "delete", "-t", "acme", "--kb", "docs", "--dry-run"];
    args.extend(&picked);
    let before = dump(&batch.db);
    let plan = batch.lrt.json_as("alice", &args);
    assert_eq!(dump(&batch.db), before);
    assert_eq!(plan["dry_run"], true);

    let report = batch.delete(&[], &picked);
    assert_eq!(report["documents_deleted"], 3);
    assert_eq!(report["chunks_deleted"].as_i64(), Some(chunks));
    for key in [
        "entities_removed",
        "entities_rebuilt",
        "relations_removed",
        "relations_rebuilt",
        "chunks_deleted",
    ] {
        assert_eq!(plan[key], report[key], "{key}");
    }
    assert!(report["relations_rebuilt"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(
        entities_before - report["entities_removed"].as_i64().unwrap(),
        batch.count("SELECT count(*) FROM entities")
    );
    assert_eq!(
        relations_before - report["relations_removed"].as_i64().unwrap(),
        batch.count("SELECT count(*) FROM relations")
    );
    for id in &picked {
        one_by_one.delete(&[], &[id]);
    }
    assert_eq!(graph(&batch.db), graph(&one_by_one.db));
    assert_indexes_match(&batch);
    assert_stats_agree(&batch);

    // Everything else: an empty KB, with the extraction answers kept in the LLM cache.
    let rest: Vec<String> = batch.doc_ids().into_values().collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let cache_before = batch.count("SELECT count(*) FROM llm_cache");
    let report = batch.delete(&[], &rest);
    assert_eq!(report["documents_deleted"].as_u64(), Some(rest.len() as u64));
    for table in [
        "documents",
        "chunks",
        "extractions",
        "entities",
        "relations",
        "doc_entities",
        "doc_relations",
    ] {
        assert_eq!(batch.count(&format!("SELECT count(*) FROM {table}")), 0, "{table}");
    }
    assert_eq!(batch.count("SELECT count(*) FROM llm_cache"), cache_before);
    assert_indexes_match(&batch);
    assert_stats_agree(&batch);
    let show = batch.lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    assert_eq!(
        (show["document_count"].as_u64(), show["entity_count"].as_u64()),
        (Some(0), Some(0))
    );

    // Ingesting the corpus again is served from the kept cache: no extraction call.
    let corpus = batch.lrt.root().join("corpus");
    let again = batch.ingest(&[], &[corpus.to_str().unwrap()]);
    assert_eq!(again["added"], 8);
    assert_eq!(graph(&batch.db).entities.len() as i64, entities_before);

    // --drop-llm-cache removes the deleted chunks' extraction answers.
    let all: Vec<String> = batch.doc_ids().into_values().collect();
    let mut args = vec![
        "doc",
        "delete",
        "-t",
        "acme",
        "--kb",
        "docs",
        "--yes",
        "--drop-llm-cache",
    ];
    args.extend(all.iter().map(String::as_str));
    let report = batch.lrt.json_as("alice", &args);
    assert!(report["llm_cache_dropped"].as_u64().unwrap() >= 8, "{report}");
    assert_eq!(
        batch.count("SELECT count(*) FROM llm_cache WHERE cache_type = 'extract'"),
        0
    );
}

#[test]
fn access_rules_unknown_ids_and_confirmation() {
    let k = kb();
    let docs = k.lrt.root().join("docs");
    k.ingest(&[], &[&write(&docs, "curie.md", CURIE), &write(&docs, "nasa.md", NASA)]);
    let id = k.doc_ids()["curie.md"].clone();
    let before = dump(&k.db);

    let run = k
        .lrt
        .run_as("val", &["doc", "delete", "-t", "acme", "--kb", "docs", &id, "--yes"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("document:delete"), "{}", run.stderr);
    let run = k.lrt.run_as(
        "mallory",
        &["doc", "delete", "-t", "acme", "--kb", "docs", &id, "--yes"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("curie"), "{}", run.stderr);

    // One unknown id among known ones: not found, nothing deleted.
    let run = k.lrt.run_as(
        "alice",
        &[
            "doc", "delete", "-t", "acme", "--kb", "docs", &id, "doc-0000", "--yes", "--json",
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.json_error()["error"]["kind"], "not_found");
    assert!(run.stderr.contains("doc-0000"), "{}", run.stderr);

    // No terminal and no --yes: exit 10.
    let run = k
        .lrt
        .run_as("alice", &["doc", "delete", "-t", "acme", "--kb", "docs", &id]);
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert_eq!(dump(&k.db), before, "refused deletes changed nothing");

    let audit = k.lrt.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "document.delete" && e["outcome"] == "denied" && e["user_id"] == "val")
    );
    k.delete(&[], &[&id]);
    let audit = k.lrt.audit();
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "document.delete" && e["outcome"] == "ok" && e["user_id"] == "alice")
    );
}

#[test]
fn ingest_replace_swaps_a_changed_file_and_keeps_an_unchanged_one() {
    let k = kb();
    let docs = k.lrt.root().join("docs");
    let curie = write(&docs, "curie.md", CURIE);
    let nasa = write(&docs, "nasa.md", NASA);
    k.ingest(&[], &[&curie, &nasa]);
    let old_id = k.doc_ids()["curie.md"].clone();
    assert!(graph(&k.db).entities.contains_key("Marie Curie"));

    // The file changes: its old content's own entities go, the new ones come.
    let edited = "Pierre Curie taught at the Sorbonne in Paris. Gabriel Lippmann also taught at the Sorbonne.";
    write(&docs, "curie.md", edited);
    let run = k
        .lrt
        .run_as("val", &["ingest", "-t", "acme", "--kb", "docs", "--replace", &curie]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let report = k.lrt.json_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", "--replace", &curie, &nasa],
    );
    assert_eq!(
        (
            report["replaced"].as_u64(),
            report["added"].as_u64(),
            report["duplicates"].as_u64()
        ),
        (Some(1), Some(0), Some(1)),
        "{report}"
    );
    let outcome = report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["outcome"] == "replaced")
        .unwrap();
    assert_eq!(outcome["replaced_doc_ids"], json!([old_id]));
    let ids = k.doc_ids();
    assert_eq!(ids.len(), 2, "still one document per file");
    assert_ne!(ids["curie.md"], old_id);
    let g = graph(&k.db);
    assert!(!g.entities.contains_key("Marie Curie"), "{:?}", g.entities.keys());
    assert!(g.entities.contains_key("Gabriel Lippmann"), "{:?}", g.entities.keys());
    assert!(g.entities.contains_key("NASA"));
    assert_indexes_match(&k);
    assert_stats_agree(&k);

    // Without --replace a changed file is one more document (LightRAG's behaviour).
    write(&docs, "curie.md", CURIE);
    let report = k.ingest(&[], &[&curie]);
    assert_eq!(
        (report["added"].as_u64(), report["replaced"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        k.count("SELECT count(*) FROM documents WHERE file_path LIKE '%curie.md'"),
        2
    );
}

// --- With a mock model server: no extraction calls, and SIGKILL in the middle. ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rebuild_makes_no_extraction_call() {
    let server = server(0, 0).await;
    let env = env(&server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let k = kb();
    let corpus = k.lrt.root().join("corpus");
    write_corpus(&corpus, 12, 90);
    let ingested = k.ingest(&env, &[corpus.to_str().unwrap()]);
    assert_eq!(ingested["added"], 12);
    let (extract_before, summary_before, embed_before) = requests(&server).await;
    assert!(summary_before > 0, "the corpus is large enough for summaries");

    let ids = k.doc_ids();
    let picked = [
        ids["notes00.md"].as_str(),
        ids["notes03.md"].as_str(),
        ids["notes07.md"].as_str(),
    ];
    let report = k.delete(&env, &picked);
    let (extract, summary, embed) = requests(&server).await;
    assert_eq!(extract, extract_before, "no extraction call during the rebuild");
    assert_eq!(
        report["llm_calls"].as_u64(),
        Some((summary - summary_before) as u64),
        "{report}"
    );
    assert_eq!(report["embedding_calls"].as_u64(), Some((embed - embed_before) as u64));
    assert!(report["embedding_calls"].as_u64().unwrap() > 0, "{report}");
    assert!(report["entities_rebuilt"].as_u64().unwrap() > 0, "{report}");
    assert_indexes_match(&k);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_delete_leaves_the_kb_exactly_as_before() {
    let fast = server(0, 0).await;
    let fast_env = env(&fast);
    let fast_env: Vec<(&str, &str)> = fast_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let k = kb();
    let corpus = k.lrt.root().join("corpus");
    write_corpus(&corpus, 12, 90);
    k.ingest(&fast_env, &[corpus.to_str().unwrap()]);
    let ids = k.doc_ids();
    let picked: Vec<String> = ["notes01.md", "notes04.md", "notes09.md"]
        .iter()
        .map(|f| ids[*f].clone())
        .collect();
    let before = dump(&k.db);
    let extractions_cached = k.count("SELECT count(*) FROM llm_cache WHERE cache_type != 'summary'");

    // Same models behind a slow server: the delete takes seconds, and is killed in the middle.
    let slow = server(300, 700).await;
    let slow_env = env(&slow);
    let mut args: Vec<String> = ["doc", "delete", "-t", "acme", "--kb", "docs", "--yes", "--json"]
        .map(String::from)
        .to_vec();
    args.extend(picked.iter().cloned());
    let mut kills = 0;
    // Killed at two fixed moments, then once the rebuild has asked the model server something
    // (however long a busy machine takes to get there).
    for delay_ms in [Some(150u64), Some(1500), None] {
        let (_, summaries, embeddings) = requests(&slow).await;
        let asked_before = summaries + embeddings;
        let mut child = k.lrt.process("alice", &args);
        for (key, v) in &slow_env {
            child.env(key, v);
        }
        let mut child = child.spawn().unwrap();
        let started = Instant::now();
        let finished = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            let due = match delay_ms {
                Some(ms) => started.elapsed() >= Duration::from_millis(ms),
                None => {
                    let (_, summaries, embeddings) = requests(&slow).await;
                    summaries + embeddings > asked_before || started.elapsed() >= Duration::from_secs(60)
                }
            };
            if due {
                child.kill().unwrap();
                child.wait().unwrap();
                break false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert!(
            !finished,
            "the delete finished before the kill ({delay_ms:?} ms): make the server slower"
        );
        kills += 1;
        if !k.db.is_postgres() {
            // A file's integrity (PostgreSQL's is the server's).
            assert_eq!(k.db.rows("PRAGMA integrity_check"), [[json!("ok")]]);
        }
        assert_eq!(dump(&k.db), before, "killed after {delay_ms:?} ms");
        // Only summaries the delete asked for may have been cached meanwhile.
        assert_eq!(
            k.count("SELECT count(*) FROM llm_cache WHERE cache_type != 'summary'"),
            extractions_cached
        );
    }
    assert_eq!(kills, 3);
    let (_, summaries, embeddings) = requests(&slow).await;
    assert!(
        summaries + embeddings > 0,
        "the kills interrupted the rebuild, not the start-up"
    );

    // The KB still works, and the delete then completes.
    let run = k.lrt.run(Some("alice"), &fast_env, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["documents_deleted"], 3);
    assert_eq!(k.doc_ids().len(), 9);
    assert_indexes_match(&k);
    assert_stats_agree(&k);
}

/// The answer to `question`, and whether it was read from the cache (no model call at all).
fn ask(k: &Kb, question: &str) -> (String, bool) {
    let a = k.lrt.json_as("val", &["query", "-t", "acme", "--kb", "docs", question]);
    (
        a["answer"].as_str().unwrap_or_default().to_string(),
        a["no_context"] == false && a["llm_calls"].as_u64() == Some(0),
    )
}

#[test]
fn no_cached_answer_outlives_a_delete_or_a_replace() {
    let k = kb();
    let docs = k.lrt.root().join("docs");
    let curie = write(&docs, "curie.md", CURIE);
    k.ingest(
        &[],
        &[
            &curie,
            &write(&docs, "nasa.md", NASA),
            &write(&docs, "pierre.md", PIERRE),
        ],
    );
    let question = "What did Marie Curie and Pierre Curie do in Paris?";
    let (first, _) = ask(&k, question);
    assert!(first.contains("polonium"), "{first}");
    assert_eq!(ask(&k, question), (first.clone(), true), "the second answer is cached");

    // A replace removes the old text: the cached answer quoting it goes.
    write(
        &docs,
        "curie.md",
        "Marie Curie taught physics at the Sorbonne in Paris.",
    );
    let report = k
        .lrt
        .json_as("alice", &["ingest", "-t", "acme", "--kb", "docs", "--replace", &curie]);
    assert_eq!(report["replaced"], 1, "{report}");
    let (after_replace, cached) = ask(&k, question);
    assert!(!cached && !after_replace.contains("polonium"), "{after_replace}");

    // So does a delete, with or without --drop-llm-cache, and exports no longer carry it.
    write(&docs, "curie.md", CURIE);
    k.lrt
        .json_as("alice", &["ingest", "-t", "acme", "--kb", "docs", "--replace", &curie]);
    assert!(ask(&k, question).0.contains("polonium"));
    assert!(ask(&k, question).1);
    let id = k.doc_ids()["curie.md"].clone();
    let report = k.delete(&[], &[&id]);
    assert_eq!(k.count("SELECT count(*) FROM llm_cache WHERE cache_type = 'query'"), 0);
    let (after_delete, cached) = ask(&k, question);
    assert!(!cached && !after_delete.contains("polonium"), "{after_delete}");
    assert!(report["answers_dropped"].as_u64().unwrap() >= 1, "{report}");
}
