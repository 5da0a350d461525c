//! The KB-store conformance suite: one set of tests, run against every backend (see
//! `common::kbstore`). Each test says what the store guarantees, whichever database holds it.

mod common;

use common::kbstore::backends;
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
// Documents, the LLM cache, a document's commit and the embeddings (store/pg/core.rs).

use std::sync::Arc;

use lrt::store::KbStore;
use lrt::store::kb::{CachedAnswer, ChunkRow, DocStatus, DocumentCommit, ExtractionRow, VectorKind};
use lrt::store::rows::{EntityState, RelationState};

fn ids(rows: &[lrt::store::kb::DocumentRow]) -> Vec<&str> {
    rows.iter().map(|d| d.doc_id.as_str()).collect()
}

#[test]
fn documents_queue_and_change_status_alike() {
    for f in backends("documents_queue_and_change_status_alike") {
        let mut s = f.open();
        let n = f.name;
        assert!(s.enqueue("doc-b", "b.txt", "héllo", "hb").unwrap().is_none(), "{n}");
        // Added in the same instant as doc-b: the order they were added breaks the tie.
        assert!(s.enqueue("doc-a", "a.txt", "abc", "ha").unwrap().is_none(), "{n}");
        let again = s.enqueue("doc-b", "other.txt", "x", "hx").unwrap().expect(n);
        assert_eq!(
            (again.file_path.as_str(), again.content_hash.as_str()),
            ("b.txt", "hb"),
            "{n}"
        );
        let b = s.document("doc-b").unwrap().expect(n);
        assert_eq!(
            (b.content_length, b.status, b.chunks_count),
            (5, DocStatus::Pending, 0),
            "{n}"
        );
        assert_eq!(s.document("nope").unwrap().map(|d| d.doc_id), None, "{n}");
        assert_eq!(s.document_content("doc-b").unwrap().as_deref(), Some("héllo"), "{n}");
        assert_eq!(s.document_content("nope").unwrap(), None, "{n}");

        assert!(s.document_pages("doc-a").unwrap().is_empty(), "{n}");
        let pages = vec![
            lrt::extract::Page {
                number: 1,
                start: 0,
                end: 2,
            },
            lrt::extract::Page {
                number: 2,
                start: 2,
                end: 3,
            },
        ];
        s.set_document_pages("doc-a", &pages).unwrap();
        let back = f.open().document_pages("doc-a").unwrap();
        assert_eq!(
            back.iter().map(|p| (p.number, p.start, p.end)).collect::<Vec<_>>(),
            vec![(1, 0, 2), (2, 2, 3)],
            "{n}"
        );

        let pending = s.documents_with_status(&[DocStatus::Pending]).unwrap();
        assert_eq!(ids(&pending), vec!["doc-b", "doc-a"], "{n}");
        s.set_status("doc-b", DocStatus::Processing, None).unwrap();
        s.set_status("doc-a", DocStatus::Failed, Some("boom")).unwrap();
        assert_eq!(s.count_with_status(&[DocStatus::Pending]).unwrap(), 0, "{n}");
        assert_eq!(
            s.count_with_status(&[DocStatus::Processing, DocStatus::Failed])
                .unwrap(),
            2,
            "{n}"
        );
        assert_eq!(
            s.document("doc-a").unwrap().unwrap().error.as_deref(),
            Some("boom"),
            "{n}"
        );
        assert_eq!(s.requeue_processing().unwrap(), 1, "{n}");
        let b = s.document("doc-b").unwrap().unwrap();
        assert_eq!((b.status, b.error), (DocStatus::Pending, None), "{n}");
        assert_eq!(s.requeue_processing().unwrap(), 0, "{n}");

        s.set_failed_many(&[
            ("doc-a".into(), "first".into()),
            ("doc-b".into(), "second".into()),
            ("doc-a".into(), "last".into()),
        ])
        .unwrap();
        let failed = s.documents_with_status(&[DocStatus::Failed]).unwrap();
        let errors: Vec<(&str, Option<&str>)> =
            failed.iter().map(|d| (d.doc_id.as_str(), d.error.as_deref())).collect();
        assert_eq!(errors, vec![("doc-b", Some("second")), ("doc-a", Some("last"))], "{n}");
        s.set_failed_many(&[]).unwrap();
        // Another KB of the same backend has none of these.
        let other = KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
        assert_eq!(other.count_with_status(&[DocStatus::Failed]).unwrap(), 0, "{n}");
        assert_eq!(other.document("doc-a").unwrap().map(|d| d.doc_id), None, "{n}");
    }
}

fn answer(response: &str, at: i64) -> CachedAnswer {
    CachedAnswer {
        cache_type: "extract",
        chunk_id: Some("c1".into()),
        response: response.into(),
        at,
    }
}

#[test]
fn the_llm_cache_keeps_the_first_answer_and_drops_answers_older_than_a_commit() {
    for f in backends("the_llm_cache_keeps_the_first_answer_and_drops_answers_older_than_a_commit") {
        let mut s = f.open();
        let n = f.name;
        assert_eq!(s.cache_get("k").unwrap(), None, "{n}");
        s.cache_put("k", &answer("first", 5)).unwrap();
        s.cache_put("k", &answer("second", 6)).unwrap();
        assert_eq!(s.cache_get("k").unwrap(), Some(("first".into(), 5)), "{n}");

        let made_at = s.generation().unwrap();
        s.enqueue("doc-1", "a.txt", "x", "h").unwrap();
        s.commit_document(&DocumentCommit {
            doc_id: "doc-1".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.generation().unwrap(), made_at + 1, "{n}");
        s.cache_put_answer("q", &answer("stale", 1), made_at).unwrap();
        assert_eq!(s.cache_get("q").unwrap(), None, "{n}");
        s.cache_put_answer("q", &answer("fresh", 2), made_at + 1).unwrap();
        assert_eq!(s.cache_get("q").unwrap(), Some(("fresh".into(), 2)), "{n}");
        let other = KbStore::open(&f.location_of(f.tenant, uuid::Uuid::new_v4())).unwrap();
        assert_eq!(other.cache_get("k").unwrap(), None, "{n}");
        // A fresh KB is at generation 0: an answer made there is kept.
        other.cache_put_answer("q", &answer("new kb", 3), 0).unwrap();
        assert_eq!(other.cache_get("q").unwrap(), Some(("new kb".into(), 3)), "{n}");
    }
}

fn entity(name: &str, chunks: &[&str], description: &str) -> EntityState {
    EntityState {
        name: name.into(),
        entity_type: "person".into(),
        description: description.into(),
        source_ids: chunks.iter().map(|c| c.to_string()).collect(),
        all_source_ids: chunks.iter().map(|c| c.to_string()).collect(),
        file_paths: vec!["a.txt".into()],
        truncate: String::new(),
    }
}

fn relation(src: &str, tgt: &str, weight: f64) -> RelationState {
    RelationState {
        src: src.into(),
        tgt: tgt.into(),
        keywords: "knows".into(),
        description: format!("{src} knows {tgt}"),
        weight,
        source_ids: vec!["d1-c0".into()],
        all_source_ids: vec!["d0-c9".into(), "d1-c0".into()],
        file_paths: vec!["a.txt".into(), "b.txt".into()],
        truncate: "FIFO 1/2".into(),
    }
}

fn chunk(doc: &str, order: usize, text: &str, pages: Option<(u32, u32)>) -> ChunkRow {
    ChunkRow {
        chunk_id: format!("{doc}-c{order}"),
        order,
        tokens: text.split_whitespace().count(),
        content: text.into(),
        embedding: vec![order as f32, 0.5, 0.0, -1.0],
        pages,
    }
}

/// Two documents' commits: the first creates Alice, Bob and their relation; the second adds
/// Carol, re-embeds Alice and updates Bob and the relation without new vectors.
fn commits() -> Vec<DocumentCommit> {
    let first = DocumentCommit {
        doc_id: "d1".into(),
        file_path: "a.txt".into(),
        chunks: vec![
            chunk("d1", 0, "Alice met Bob.", Some((1, 1))),
            chunk("d1", 1, "Bob\tknows Alice.", Some((1, 2))),
        ],
        extractions: vec![
            ExtractionRow {
                chunk_id: "d1-c0".into(),
                result: "cached answer".into(),
                glean: Some("gleaned".into()),
                cache_keys: vec!["default:extract:a".into(), "default:extract:g".into()],
                extracted_at: 7,
            },
            ExtractionRow {
                chunk_id: "d1-c1".into(),
                result: "differs from the cache".into(),
                glean: None,
                cache_keys: vec!["default:extract:a".into()],
                extracted_at: 8,
            },
        ],
        entities: vec![
            (
                Arc::new(entity("Alice", &["d1-c0"], "A person")),
                Some(vec![1.0, 0.0, 0.0, 0.0]),
            ),
            (
                Arc::new(entity("Bob", &["d1-c0", "d1-c1"], "Another")),
                Some(vec![0.0, 1.0, 0.0, 0.0]),
            ),
        ],
        relations: vec![(Arc::new(relation("Alice", "Bob", 1.5)), Some(vec![0.0, 0.0, 1.0, 0.0]))],
        created_at: 100,
    };
    let second = DocumentCommit {
        doc_id: "d2".into(),
        file_path: "b.txt".into(),
        chunks: vec![chunk("d2", 0, "Carol met Alice.", None)],
        extractions: vec![],
        entities: vec![
            (
                Arc::new(entity("Carol", &["d2-c0"], "Third")),
                Some(vec![0.0, 0.0, 0.0, 1.0]),
            ),
            (
                Arc::new(entity("Alice", &["d1-c0", "d2-c0"], "A person<SEP>met Carol")),
                Some(vec![0.5, 0.5, 0.0, 0.0]),
            ),
            (Arc::new(entity("Bob", &["d1-c0", "d1-c1"], "Another, updated")), None),
        ],
        relations: vec![
            (
                Arc::new(relation("Alice", "Carol", 1.0)),
                Some(vec![1.0, 1.0, 0.0, 0.0]),
            ),
            (Arc::new(relation("Alice", "Bob", 2.0)), None),
        ],
        created_at: 200,
    };
    vec![first, second]
}

/// Everything a commit is visible through, keys replaced by their rank (each backend hands out
/// its own key values; their order is what the indexes rely on).
fn snapshot(s: &KbStore) -> String {
    let mut out = String::new();
    let stats = s.stats().unwrap();
    out += &format!(
        "stats {} {} {} {}\n",
        stats.documents, stats.chunks, stats.entities, stats.relations
    );
    for kind in VectorKind::ALL {
        out += &format!("{} {}\n", kind.name(), s.vector_count(kind).unwrap());
        let vectors = s.vectors(kind).unwrap();
        let mut keys: Vec<u64> = vectors.iter().map(|(k, _)| *k).collect();
        keys.sort();
        for (k, v) in &vectors {
            out += &format!("  v#{} {v:?}\n", keys.binary_search(k).unwrap());
        }
        let mut texts = s.embedding_texts(kind).unwrap();
        texts.sort_by_key(|(k, _)| *k);
        for (k, t) in texts {
            out += &format!("  t#{} {t:?}\n", keys.binary_search(&k).unwrap());
        }
    }
    for name in ["Alice", "Bob", "Carol", "Dave"] {
        out += &format!("{name}: {:?}\n", s.entity(name).unwrap());
    }
    for (a, b) in [("Bob", "Alice"), ("Alice", "Carol"), ("Bob", "Carol")] {
        out += &format!("{a}-{b}: {:?}\n", s.relation(a, b).unwrap());
    }
    for d in s
        .documents_with_status(&[DocStatus::Processed, DocStatus::Pending])
        .unwrap()
    {
        out += &format!("{} {:?} {} {:?}\n", d.doc_id, d.status, d.chunks_count, d.error);
    }
    out += &format!("generation {}\n", s.generation().unwrap());
    out
}

/// The vector changes one commit reported: each collection's name and the rank of its key.
type Reported = Vec<(&'static str, usize)>;

#[test]
fn the_same_commits_leave_the_same_rows_on_every_backend() {
    let mut seen: Vec<(&str, String, Vec<Reported>)> = Vec::new();
    for f in backends("the_same_commits_leave_the_same_rows_on_every_backend") {
        let mut s = f.open();
        let n = f.name;
        s.cache_put("default:extract:a", &answer("cached answer", 1)).unwrap();
        s.cache_put("default:extract:g", &answer("gleaned", 1)).unwrap();
        s.enqueue("d1", "a.txt", "Alice met Bob. Bob knows Alice.", "h1")
            .unwrap();
        s.enqueue("d2", "b.txt", "Carol met Alice.", "h2").unwrap();
        // The changes a commit reports: which collection, and the rank of each key.
        let mut reported = Vec::new();
        for commit in commits() {
            let changes = s.commit_document(&commit).unwrap();
            reported.push(
                changes
                    .upserts
                    .iter()
                    .map(|(kind, key, v)| {
                        let all = s.vectors(*kind).unwrap();
                        assert!(all.iter().any(|(k, w)| k == key && w == v), "{n}: {key}");
                        let rank = all.iter().filter(|(k, _)| k < key).count();
                        (kind.name(), rank)
                    })
                    .collect(),
            );
        }
        // Reprocessing d1 replaces its chunks (new keys) and changes nothing else.
        let again = s.commit_document(&commits()[0]).unwrap();
        assert_eq!(again.upserts.len(), 5, "{n}");
        if let Some(mut c) = f.pg_client() {
            // An answer the cache holds word for word is stored once (NULL in the row).
            let rows: Vec<(String, Option<String>, Option<String>)> = c
                .query(
                    "SELECT chunk_id, result, glean FROM kb_extractions ORDER BY chunk_id",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            assert_eq!(
                rows,
                vec![
                    ("d1-c0".into(), None, None),
                    ("d1-c1".into(), Some("differs from the cache".into()), None)
                ]
            );
            let links: i64 = c
                .query_one(
                    "SELECT (SELECT count(*) FROM kb_doc_entities) * 100 + (SELECT count(*) FROM kb_doc_relations)",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(links, 5 * 100 + 3);
        }
        let reopened = f.open();
        seen.push((n, snapshot(&reopened), reported));
    }
    let (first, snap, reported) = &seen[0];
    assert!(snap.contains("stats 2 3 3 2"), "{snap}");
    assert!(snap.contains("generation 3"), "{snap}");
    assert!(snap.contains("t#0 \"Alice\\nA person\""), "{snap}");
    assert!(snap.contains("t#0 \"Carol met Alice.\""), "{snap}");
    assert!(snap.contains("\"knows\\tAlice\\nBob\\nAlice knows Bob\""), "{snap}");
    for (name, other, theirs) in &seen[1..] {
        assert_eq!(snap, other, "{first} vs {name}");
        assert_eq!(reported, theirs, "{first} vs {name}");
    }
}

#[test]
fn a_commit_naming_a_missing_row_to_update_writes_nothing() {
    for f in backends("a_commit_naming_a_missing_row_to_update_writes_nothing") {
        let mut s = f.open();
        let n = f.name;
        s.enqueue("d2", "b.txt", "Carol met Alice.", "h2").unwrap();
        // The second commit updates Bob and Alice-Bob, which were never stored.
        let err = s.commit_document(&commits()[1]).unwrap_err();
        let message = err.to_string();
        assert_eq!(err.kind(), lrt::error::ErrorKind::Storage, "{n}: {message}");
        assert_eq!(s.stats().unwrap().chunks, 0, "{n}");
        assert_eq!(s.entity("Carol").unwrap(), None, "{n}");
        assert_eq!(s.generation().unwrap(), 0, "{n}");
        assert_eq!(s.document("d2").unwrap().unwrap().status, DocStatus::Pending, "{n}");
    }
}

#[test]
fn embeddings_are_replaced_with_the_pin_at_once() {
    for f in backends("embeddings_are_replaced_with_the_pin_at_once") {
        let mut s = f.open();
        let n = f.name;
        let pin = EmbeddingPin {
            binding: "local".into(),
            model: "m".into(),
            dim: 4,
        };
        s.check_embedding(&pin).unwrap();
        s.check_embedding(&pin).unwrap();
        let other = EmbeddingPin { dim: 8, ..pin.clone() };
        let err = s.check_embedding(&other).unwrap_err();
        assert!(err.to_string().contains("lrt kb reindex --reembed"), "{n}: {err}");
        s.enqueue("d1", "a.txt", "x", "h").unwrap();
        s.commit_document(&commits()[0]).unwrap();
        let before = s.generation().unwrap();
        let mut new = Vec::new();
        for kind in VectorKind::ALL {
            for (key, _) in s.vectors(kind).unwrap() {
                new.push((kind, key, vec![key as f32; 8]));
            }
        }
        s.replace_embeddings(&new, &other).unwrap();
        assert_eq!(s.generation().unwrap(), before + 1, "{n}");
        assert_eq!(s.embedding_pin().unwrap(), Some(other.clone()), "{n}");
        for kind in VectorKind::ALL {
            for (key, v) in s.vectors(kind).unwrap() {
                assert_eq!(v, vec![key as f32; 8], "{n}");
            }
        }
        s.check_embedding(&other).unwrap();
    }
}

#[test]
fn one_ingest_lock_per_kb_and_a_waiter_can_give_up() {
    use lrt::store::lock::KbLock;
    for f in backends("one_ingest_lock_per_kb_and_a_waiter_can_give_up") {
        let n = f.name;
        let at = f.location();
        assert!(!KbLock::is_held(&at).unwrap(), "{n}");
        let held = KbLock::acquire(&at, || panic!("nobody holds it")).unwrap();
        assert!(KbLock::is_held(&at).unwrap(), "{n}");
        let mut asked = false;
        let refused = KbLock::acquire(&at, || {
            asked = true;
            Err(lrt::Error::Conflict("busy".into()))
        });
        assert!(asked && refused.is_err(), "{n}");
        assert!(KbLock::try_acquire(&at).unwrap().is_none(), "{n}");
        // Another KB's lock is its own.
        let other = f.location_of(f.tenant, uuid::Uuid::new_v4());
        let _other = KbLock::try_acquire(&other).unwrap().expect(n);
        // A waiter gets the lock once the holder lets go.
        let waiter = std::thread::spawn(move || {
            let mut waited = false;
            let lock = KbLock::acquire(&at, || {
                waited = true;
                Ok(())
            })
            .unwrap();
            drop(lock);
            waited
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
        assert!(waiter.join().unwrap(), "{n}");
        assert!(!KbLock::is_held(&f.location()).unwrap(), "{n}");
    }
}

#[test]
fn another_handle_sees_a_commit_through_the_generation() {
    for f in backends("another_handle_sees_a_commit_through_the_generation") {
        let n = f.name;
        let (mut writer, reader) = (f.open(), f.open());
        let before = reader.generation().unwrap();
        writer.enqueue("d1", "a.txt", "x", "h").unwrap();
        writer.commit_document(&commits()[0]).unwrap();
        // What a cached query engine compares to notice another process's (replica's) commit.
        assert_eq!(reader.generation().unwrap(), before + 1, "{n}");
        assert_eq!(reader.stats().unwrap().entities, 2, "{n}");
    }
}
