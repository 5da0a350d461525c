//! What a KB must look like after a crash, and its graph to compare with an uninterrupted
//! run's (`tests/crash.rs`, `tests/faults.rs`).

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::Connection;

/// What must hold after any crash.
pub fn assert_consistent(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    // A document's rows land with its `processed` status, in one transaction.
    assert_eq!(
        count(
            "SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents WHERE status = 'processed')"
        ),
        0,
        "chunks of an unfinished document"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM doc_entities WHERE doc_id NOT IN (SELECT doc_id FROM documents WHERE status = 'processed')"
        ),
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM documents WHERE status = 'processed' AND chunks_count != (SELECT count(*) FROM chunks c WHERE c.doc_id = documents.doc_id)"
        ),
        0,
        "a processed document without exactly its chunks"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM relations WHERE src NOT IN (SELECT name FROM entities) OR tgt NOT IN (SELECT name FROM entities)"
        ),
        0,
        "a relation without its endpoints"
    );
}

/// Entity names, (src, tgt, weight) of every relation, and the document and chunk counts.
#[derive(Debug, PartialEq)]
pub struct Graph {
    pub entities: BTreeSet<String>,
    pub relations: BTreeSet<(String, String, String)>,
    pub documents: i64,
    pub chunks: i64,
}

pub fn graph(db: &Path) -> Graph {
    let conn = Connection::open(db).unwrap();
    let entities = conn
        .prepare("SELECT name FROM entities")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let relations = conn
        .prepare("SELECT src, tgt, weight FROM relations")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, format!("{:.1}", r.get::<_, f64>(2)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    Graph {
        entities,
        relations,
        documents: count("SELECT count(*) FROM documents"),
        chunks: count("SELECT count(*) FROM chunks"),
    }
}
