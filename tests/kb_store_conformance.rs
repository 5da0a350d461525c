//! The KB-store conformance suite: one set of tests, run against every backend (see
//! `common::kbstore`). Each test says what the store guarantees, whichever database holds it.

mod common;

use common::kbstore::backends;
use lrt::store::KbStore;
use lrt::store::kb::EmbeddingPin;

#[test]
fn the_embedding_pin_is_kept_and_a_fresh_kb_has_none() {
    for f in backends("the_embedding_pin_is_kept_and_a_fresh_kb_has_none") {
        let mut store = f.open();
        assert_eq!(store.embedding_pin().unwrap(), None, "{}", f.name);
        assert_eq!(store.generation().unwrap(), 0, "{}", f.name);
        let pin = EmbeddingPin {
            binding: "local".into(),
            model: "m".into(),
            dim: 8,
        };
        store.set_embedding_pin(&pin).unwrap();
        assert_eq!(f.open().embedding_pin().unwrap(), Some(pin), "{}", f.name);
        // Another KB on the same backend sees none of it.
        let other = lrt::store::KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
        assert_eq!(other.embedding_pin().unwrap(), None, "{}", f.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Deletion, imports and the doctor's checks (pgmove): the same operations give the same rows.
// ---------------------------------------------------------------------------------------------

use lrt::error::Error;
use lrt::store::delete::DocumentDeletion;
use lrt::store::doctor::{RefCheck, RefRepair};
use lrt::store::kb::ExtractionRow;
use lrt::store::rows::EntityState;
use lrt::store::transfer::{ImportCacheEntry, ImportChunk, ImportDocument, ImportEntity, ImportRelation, ImportRows};

fn pin2() -> EmbeddingPin {
    EmbeddingPin {
        binding: "local".into(),
        model: "m".into(),
        dim: 2,
    }
}

fn import_doc(id: &str, path: &str, status: &str) -> ImportDocument {
    ImportDocument {
        doc_id: id.into(),
        file_path: path.into(),
        content: format!("content of {id}"),
        content_hash: format!("h-{id}"),
        status: status.into(),
        error: None,
        created_at: format!("2026-01-01T00:00:0{}Z", id.len() % 10),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn import_chunk(id: &str, doc: &str, path: &str) -> ImportChunk {
    ImportChunk {
        chunk_id: id.into(),
        doc_id: doc.into(),
        order: 0,
        tokens: 3,
        content: format!("text of {id}"),
        file_path: path.into(),
        embedding: vec![1.0, 0.5],
    }
}

fn import_entity(name: &str, sources: &[&str], dim: usize) -> ImportEntity {
    ImportEntity {
        name: name.into(),
        entity_type: "person".into(),
        description: format!("{name} is someone"),
        source_ids: sources.iter().map(|s| s.to_string()).collect(),
        all_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        file_paths: vec!["a.txt".into()],
        truncate: String::new(),
        created_at: 7,
        embedding: vec![0.25; dim],
    }
}

fn import_relation(src: &str, tgt: &str, sources: &[&str]) -> ImportRelation {
    ImportRelation {
        src: src.into(),
        tgt: tgt.into(),
        keywords: "knows".into(),
        description: format!("{src} knows {tgt}"),
        weight: 1.5,
        source_ids: sources.iter().map(|s| s.to_string()).collect(),
        all_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        file_paths: vec!["a.txt".into()],
        truncate: String::new(),
        created_at: 7,
        embedding: vec![0.5, 0.25],
    }
}

fn cache_entry(key: &str, kind: &str, chunk: Option<&str>, response: &str) -> ImportCacheEntry {
    ImportCacheEntry {
        key: key.into(),
        cache_type: kind.into(),
        chunk_id: chunk.map(str::to_string),
        response: response.into(),
        created_at: 1,
    }
}

/// Two processed documents: Alice in both, Bob only in `doc-a`, Carol only in `doc-b`.
fn two_documents() -> ImportRows {
    ImportRows {
        documents: vec![
            import_doc("doc-a", "a.txt", "processed"),
            import_doc("doc-bb", "b.txt", "processed"),
        ],
        chunks: vec![
            import_chunk("ca0", "doc-a", "a.txt"),
            import_chunk("cb0", "doc-bb", "b.txt"),
        ],
        entities: vec![
            import_entity("Alice", &["ca0", "cb0"], 2),
            import_entity("Bob", &["ca0"], 2),
            import_entity("Carol", &["cb0"], 2),
        ],
        relations: vec![
            import_relation("Alice", "Bob", &["ca0"]),
            import_relation("Alice", "Carol", &["cb0"]),
        ],
        doc_entities: vec![
            ("doc-a".into(), "Bob".into()),
            ("doc-a".into(), "Alice".into()),
            ("doc-bb".into(), "Alice".into()),
            ("doc-bb".into(), "Carol".into()),
        ],
        doc_relations: vec![
            ("doc-a".into(), "Alice".into(), "Bob".into()),
            ("doc-bb".into(), "Alice".into(), "Carol".into()),
        ],
        cache: vec![
            cache_entry("k-a", "extract", Some("ca0"), "answer a"),
            cache_entry("k-b", "extract", Some("cb0"), "answer b"),
            cache_entry("q-1", "query", None, "a cached answer"),
        ],
        extractions: vec![
            ExtractionRow {
                chunk_id: "ca0".into(),
                result: "answer a".into(),
                glean: None,
                cache_keys: vec!["k-a".into()],
                extracted_at: 20,
            },
            ExtractionRow {
                chunk_id: "cb0".into(),
                result: "answer b (not cached)".into(),
                glean: Some("more".into()),
                cache_keys: vec!["k-b".into()],
                extracted_at: 10,
            },
        ],
    }
}

#[test]
fn a_deletion_rebuilds_and_drops_the_same_rows_on_every_backend() {
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for f in backends("a_deletion_rebuilds_and_drops_the_same_rows_on_every_backend") {
        let mut store = f.open();
        store.import_rows(&two_documents(), &pin2()).unwrap();
        let mut out = Vec::new();
        let docs = store.processed_documents_at("a.txt").unwrap();
        assert_eq!(docs.len(), 1, "{}", f.name);
        assert_eq!(docs[0].chunks_count, 1, "{}", f.name);

        let missing = store
            .deletion_scope(&["nope".into(), "doc-a".into(), "zzz".into()])
            .unwrap_err();
        assert!(
            matches!(missing, Error::NotFound(ref m) if m.contains("nope, zzz")),
            "{}: {missing}",
            f.name
        );

        let scope = store.deletion_scope(&["doc-a".into(), "doc-a".into()]).unwrap();
        assert_eq!(scope.documents.len(), 1, "{}", f.name);
        let names: Vec<&str> = scope.entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Alice", "Bob"], "{}", f.name);
        assert_eq!(scope.relations.len(), 1, "{}", f.name);
        assert!(scope.chunk_ids.contains("ca0"), "{}", f.name);
        out.push(format!("scope generation {}", scope.generation));

        // Oldest extraction first; answers the cache holds are read back from it.
        let x = store
            .stored_extractions(&["ca0".into(), "missing".into(), "cb0".into()])
            .unwrap();
        out.extend(x.iter().map(|x| {
            format!(
                "{} {} {} {:?} {}",
                x.chunk_id, x.file_path, x.result, x.glean, x.extracted_at
            )
        }));

        let alice = store.entity("Alice").unwrap().unwrap();
        let rebuilt = EntityState {
            source_ids: vec!["cb0".into()],
            all_source_ids: vec!["cb0".into()],
            description: "Alice, rebuilt".into(),
            ..alice
        };
        let mut deletion = DocumentDeletion {
            doc_ids: vec!["doc-a".into()],
            remove_entities: vec!["Bob".into()],
            remove_relations: vec![],
            entities: vec![(rebuilt, Some(vec![0.0, 1.0]))],
            relations: vec![],
            drop_llm_cache: true,
            expected_generation: scope.generation + 5,
        };
        // A plan made for another generation changes nothing.
        let stale = store.commit_deletion(&deletion).unwrap_err();
        assert!(matches!(stale, Error::Conflict(_)), "{}: {stale}", f.name);
        assert!(store.document("doc-a").unwrap().is_some(), "{}", f.name);

        deletion.expected_generation = scope.generation;
        let changes = store.commit_deletion(&deletion).unwrap();
        out.push(format!(
            "chunks {} entities {} relations {} cache {} answers {} upserts {} removed {}",
            changes.chunks_deleted,
            changes.entities_removed,
            changes.relations_removed,
            changes.llm_cache_dropped,
            changes.answers_dropped,
            changes.upserts.len(),
            changes.removed.len()
        ));
        out.push(format!("generation {}", store.generation().unwrap()));
        out.push(format!(
            "doc-a {:?}",
            store.document("doc-a").unwrap().map(|d| d.doc_id)
        ));
        out.push(format!("Bob {:?}", store.entity("Bob").unwrap()));
        out.push(format!("Alice-Bob {:?}", store.relation("Bob", "Alice").unwrap()));
        out.push(format!("Alice {:?}", store.entity("Alice").unwrap()));
        out.push(format!("Alice-Carol {:?}", store.relation("Alice", "Carol").unwrap()));
        let left = store.stored_extractions(&["ca0".into(), "cb0".into()]).unwrap();
        out.extend(left.iter().map(|x| format!("left {} {}", x.chunk_id, x.result)));
        // Nothing dangles afterwards.
        assert_eq!(store.reference_problems(Some(2)).unwrap(), vec![], "{}", f.name);
        seen.push((f.name.to_string(), out));
    }
    let (_, sqlite) = &seen[0];
    assert!(sqlite.contains(&"chunks 1 entities 1 relations 1 cache 1 answers 1 upserts 1 removed 3".to_string()));
    assert!(sqlite.contains(&"generation 2".to_string()), "{sqlite:?}");
    for (name, rows) in &seen[1..] {
        assert_eq!(rows, sqlite, "{name} differs from sqlite");
    }
}

#[test]
fn import_rows_is_all_or_nothing_on_every_backend() {
    for f in backends("import_rows_is_all_or_nothing_on_every_backend") {
        let mut store = f.open();
        let mut bad = two_documents();
        bad.chunks.push(import_chunk("cx0", "doc-missing", "x.txt"));
        let e = store.import_rows(&bad, &pin2()).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{}: {e}", f.name);
        assert_eq!(store.generation().unwrap(), 0, "{}", f.name);
        assert!(store.document("doc-a").unwrap().is_none(), "{}", f.name);
        assert_eq!(store.embedding_pin().unwrap(), None, "{}", f.name);
        store.import_rows(&two_documents(), &pin2()).unwrap();
        assert_eq!(store.embedding_pin().unwrap(), Some(pin2()), "{}", f.name);
        assert_eq!(store.generation().unwrap(), 1, "{}", f.name);
        let e = store.import_rows(&two_documents(), &pin2()).unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{}: {e}", f.name);
    }
}

#[test]
fn the_doctor_finds_and_repairs_the_same_references_on_every_backend() {
    let mut seen = Vec::new();
    for f in backends("the_doctor_finds_and_repairs_the_same_references_on_every_backend") {
        let mut store = f.open();
        assert_eq!(store.schema_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        let mut rows = two_documents();
        rows.documents.push(import_doc("stuck", "s.txt", "processing"));
        rows.chunks.push(import_chunk("cs0", "stuck", "s.txt"));
        rows.doc_entities.push(("doc-a".into(), "Gone".into()));
        rows.doc_relations.push(("doc-a".into(), "Alice".into(), "Zed".into()));
        rows.relations.push(import_relation("Alice", "Nobody", &["ca0"]));
        rows.entities.push(import_entity("Wide", &["ca0"], 3));
        store.import_rows(&rows, &pin2()).unwrap();
        let found: Vec<(RefCheck, u64, Vec<String>)> = store
            .reference_problems(Some(2))
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.check,
                    p.count,
                    if p.check == RefCheck::EmbeddingDims {
                        vec![]
                    } else {
                        p.samples
                    },
                )
            })
            .collect();
        let generation = store.generation().unwrap();
        let repair = store.repair_references().unwrap();
        assert_eq!(
            repair,
            RefRepair {
                chunks_deleted: 1,
                doc_entities_deleted: 1,
                doc_relations_deleted: 1,
                requeued: 1
            },
            "{}",
            f.name
        );
        assert_eq!(store.generation().unwrap(), generation + 1, "{}", f.name);
        assert_eq!(store.repair_references().unwrap(), RefRepair::default(), "{}", f.name);
        let after: Vec<RefCheck> = store
            .reference_problems(Some(2))
            .unwrap()
            .into_iter()
            .map(|p| p.check)
            .collect();
        assert_eq!(
            after,
            [RefCheck::RelationEndpoints, RefCheck::EmbeddingDims],
            "{}",
            f.name
        );
        assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        seen.push(found);
    }
    assert_eq!(seen[0].len(), 6, "{:?}", seen[0]);
    for other in &seen[1..] {
        assert_eq!(other, &seen[0]);
    }
}

#[test]
fn the_doctor_reports_a_trigger_or_a_dropped_index_on_postgresql() {
    for f in backends("the_doctor_reports_a_trigger_or_a_dropped_index_on_postgresql") {
        let store = f.open();
        assert_eq!(store.schema_problems().unwrap(), Vec::<String>::new(), "{}", f.name);
        let Some(mut client) = f.pg_client() else {
            continue;
        };
        client
            .batch_execute(
                "CREATE FUNCTION copy_out() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
                 CREATE TRIGGER leak AFTER INSERT ON kb_chunks FOR EACH ROW EXECUTE FUNCTION copy_out();
                 DROP INDEX kb_relations_tgt;
                 ALTER TABLE kb_entities ADD COLUMN extra TEXT;",
            )
            .unwrap();
        let problems = store.schema_problems().unwrap();
        assert!(
            problems.iter().any(|p| p.contains("trigger leak on kb_chunks")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("missing index") && p.contains("kb_relations_tgt")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("unexpected column kb_entities.extra")),
            "{problems:?}"
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}

#[test]
fn a_kb_copied_to_another_backend_and_back_has_the_same_rows_and_keys() {
    let all = backends("a_kb_copied_to_another_backend_and_back_has_the_same_rows_and_keys");
    let sqlite = &all[0];
    let mut source = sqlite.open();
    source.import_rows(&two_documents(), &pin2()).unwrap();
    let original = lrt::store::copy::read_rows(&source).unwrap();
    for f in &all {
        // There (a fresh KB on this backend) and back (a fresh kb.db).
        let mut there = KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
        let counts = lrt::store::copy::copy_kb(&source, &mut there).unwrap();
        assert_eq!(
            (counts.documents, counts.chunks, counts.entities, counts.relations),
            (2, 2, 3, 2)
        );
        assert_eq!(lrt::store::copy::read_rows(&there).unwrap(), original, "{}", f.name);
        assert_eq!(
            there.entity("Alice").unwrap(),
            source.entity("Alice").unwrap(),
            "{}",
            f.name
        );
        let back_dir = tempfile::tempdir().unwrap();
        let back = lrt::store::copy::snapshot_into(&there, back_dir.path()).unwrap();
        assert_eq!(back, counts);
        let back = KbStore::open(&lrt::store::KbLocation::sqlite(back_dir.path())).unwrap();
        assert_eq!(lrt::store::copy::read_rows(&back).unwrap(), original, "{}", f.name);
        // A second copy into the same KB is refused and changes nothing.
        let again = lrt::store::copy::copy_kb(&source, &mut there).unwrap_err();
        assert!(matches!(again, Error::Conflict(_)), "{}: {again}", f.name);
        // Keys handed out after a copy never collide with the copied ones.
        let at = f.location_of(f.tenant, uuid::Uuid::new_v4());
        let mut fresh = KbStore::open(&at).unwrap();
        lrt::store::copy::copy_kb(&source, &mut fresh).unwrap();
        lrt::store::copy::remove_rows(&at).unwrap();
        if f.name == "postgres" {
            assert!(fresh.document("doc-a").unwrap().is_none());
            fresh.import_rows(&two_documents(), &pin2()).unwrap();
            let rows = lrt::store::copy::read_rows(&fresh).unwrap();
            let keys = |r: &lrt::store::copy::KbRows| r.tables[2].iter().map(|c| c[0].clone()).collect::<Vec<_>>();
            assert!(
                keys(&rows).iter().all(|k| !keys(&original).contains(k)),
                "{:?}",
                keys(&rows)
            );
        }
    }
}
