//! The reads a query makes on `kb.db`: graph rows by vector key or by name, the relations
//! around entities, node degrees, and chunks with their stored vectors. Read-only; kept apart
//! from `kb.rs`, which owns the schema and every write.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row};

use super::kb::{SqliteKb, decode_vector, split_sep};
use crate::error::Result;

/// An entity as a query sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    pub name: String,
    pub entity_type: String,
    pub description: String,
    pub source_ids: Vec<String>,
    pub file_paths: Vec<String>,
    pub created_at: i64,
    /// Its vector key (`entity_key`).
    pub key: u64,
}

/// A relation (endpoints in code-point order) as a query sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationRow {
    pub src: String,
    pub tgt: String,
    pub keywords: String,
    pub description: String,
    pub weight: f64,
    pub source_ids: Vec<String>,
    pub file_paths: Vec<String>,
    pub created_at: i64,
    /// Its vector key (`relation_key`).
    pub key: u64,
}

/// A relation's endpoints and weight, which is all that ranking the edges around an entity needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The relation's vector key (`relation_key`), to read the whole row later.
    pub key: u64,
    pub src: String,
    pub tgt: String,
    pub weight: f64,
}

/// A chunk as a query's context uses it (its vector is read separately, and only for the
/// graph's vector pick: a 1024-d vector is bigger than most chunks' text).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRecord {
    pub chunk_id: String,
    pub content: String,
    pub file_path: String,
    /// The first and last page the chunk comes from (documents extracted from PDFs).
    pub pages: Option<(u32, u32)>,
}

const ENTITY_COLUMNS: &str = "name, entity_type, description, source_ids, file_paths, created_at, entity_key";
const RELATION_COLUMNS: &str =
    "src, tgt, keywords, description, weight, source_ids, file_paths, created_at, relation_key";
const CHUNK_COLUMNS: &str = "chunk_id, content, file_path, page_first, page_last";

fn entity_row(r: &Row<'_>) -> rusqlite::Result<EntityRow> {
    Ok(EntityRow {
        name: r.get(0)?,
        entity_type: r.get(1)?,
        description: r.get(2)?,
        source_ids: split_sep(&r.get::<_, String>(3)?),
        file_paths: split_sep(&r.get::<_, String>(4)?),
        created_at: r.get(5)?,
        key: r.get::<_, i64>(6)? as u64,
    })
}

fn relation_row(r: &Row<'_>) -> rusqlite::Result<RelationRow> {
    Ok(RelationRow {
        src: r.get(0)?,
        tgt: r.get(1)?,
        keywords: r.get(2)?,
        description: r.get(3)?,
        weight: r.get(4)?,
        source_ids: split_sep(&r.get::<_, String>(5)?),
        file_paths: split_sep(&r.get::<_, String>(6)?),
        created_at: r.get(7)?,
        key: r.get::<_, i64>(8)? as u64,
    })
}

fn chunk_row(r: &Row<'_>) -> rusqlite::Result<ChunkRecord> {
    Ok(ChunkRecord {
        chunk_id: r.get(0)?,
        content: r.get(1)?,
        file_path: r.get(2)?,
        pages: r.get::<_, Option<u32>>(3)?.zip(r.get::<_, Option<u32>>(4)?),
    })
}

/// The chunk vectors that decoded to something: a chunk without a readable vector is left
/// out of the vector pick (every backend).
pub(super) fn readable_vectors(rows: Vec<(String, Option<Vec<f32>>)>) -> Vec<(String, Vec<f32>)> {
    rows.into_iter()
        .filter_map(|(id, v)| v.filter(|v| !v.is_empty()).map(|v| (id, v)))
        .collect()
}

impl SqliteKb {
    /// Rows of one table looked up one key at a time, in the order given; missing keys are
    /// skipped (an index may briefly know a row a concurrent delete removed).
    fn rows_by<K: rusqlite::ToSql, T>(
        &self,
        sql: &str,
        keys: &[K],
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.first_rows_by(sql, keys, usize::MAX, map)
    }

    /// [`rows_by`](Self::rows_by), stopping after `limit` rows found.
    fn first_rows_by<K: rusqlite::ToSql, T>(
        &self,
        sql: &str,
        keys: &[K],
        limit: usize,
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let err = self.err("cannot read the knowledge graph");
        let mut stmt = self.conn.prepare_cached(sql).map_err(&err)?;
        let mut out = Vec::with_capacity(keys.len().min(limit));
        for key in keys {
            if out.len() == limit {
                break;
            }
            if let Some(row) = stmt.query_row([key], map).optional().map_err(&err)? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Entities by their vector keys (entity_key), in that order.
    pub fn entities_by_keys(&self, keys: &[u64]) -> Result<Vec<EntityRow>> {
        let keys: Vec<i64> = keys.iter().map(|&k| k as i64).collect();
        let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE entity_key = ?1");
        self.rows_by(&sql, &keys, entity_row)
    }

    /// Entities by name, in that order.
    pub fn entities_by_names(&self, names: &[String]) -> Result<Vec<EntityRow>> {
        let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE name = ?1");
        self.rows_by(&sql, names, entity_row)
    }

    /// Relations by their vector keys (relation_key), in that order.
    pub fn relations_by_keys(&self, keys: &[u64]) -> Result<Vec<RelationRow>> {
        let keys: Vec<i64> = keys.iter().map(|&k| k as i64).collect();
        let sql = format!("SELECT {RELATION_COLUMNS} FROM relations WHERE relation_key = ?1");
        self.rows_by(&sql, &keys, relation_row)
    }

    /// The relations touching each of `names`, without their text: one list per name, in
    /// key order (the order they were first stored). Read from the covering indexes alone, so
    /// ranking hundreds of edges costs no row reads; the query then reads only the rows that
    /// can fit its relation budget.
    pub fn edges_by_name(&self, names: &[String]) -> Result<Vec<Vec<Edge>>> {
        let err = self.err("cannot read the knowledge graph");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT relation_key, src, tgt, weight FROM relations WHERE src = ?1 \
                 UNION ALL SELECT relation_key, src, tgt, weight FROM relations WHERE tgt = ?1 \
                 ORDER BY relation_key",
            )
            .map_err(&err)?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let rows = stmt
                .query_map([name], |r| {
                    Ok(Edge {
                        key: r.get::<_, i64>(0)? as u64,
                        src: r.get(1)?,
                        tgt: r.get(2)?,
                        weight: r.get(3)?,
                    })
                })
                .map_err(&err)?;
            out.push(rows.collect::<rusqlite::Result<Vec<Edge>>>().map_err(&err)?);
        }
        Ok(out)
    }

    /// How many relations each of `names` has (0 for an unknown name).
    pub fn degrees(&self, names: &[String]) -> Result<HashMap<String, usize>> {
        let err = self.err("cannot read the knowledge graph");
        let mut stmt = self
            .conn
            .prepare_cached("SELECT (SELECT count(*) FROM relations WHERE src = ?1) + (SELECT count(*) FROM relations WHERE tgt = ?1)")
            .map_err(&err)?;
        let mut out = HashMap::new();
        for name in names {
            let n: i64 = stmt.query_row([name], |r| r.get(0)).map_err(&err)?;
            out.insert(name.clone(), n as usize);
        }
        Ok(out)
    }

    /// The first `limit` chunks found of `ids`, in that order.
    pub fn chunks_by_ids(&self, ids: &[String], limit: usize) -> Result<Vec<ChunkRecord>> {
        let sql = format!("SELECT {CHUNK_COLUMNS} FROM chunks WHERE chunk_id = ?1");
        self.first_rows_by(&sql, ids, limit, chunk_row)
    }

    /// The stored vectors of chunks by chunk id, in that order; chunks without a readable
    /// vector are left out. Reads no chunk text, which the vector pick of a query does not need.
    pub fn chunk_vectors_by_ids(&self, ids: &[String]) -> Result<Vec<(String, Vec<f32>)>> {
        let rows = self.rows_by("SELECT chunk_id, embedding FROM chunks WHERE chunk_id = ?1", ids, |r| {
            Ok((r.get::<_, String>(0)?, decode_vector(&r.get::<_, Vec<u8>>(1)?)))
        })?;
        Ok(readable_vectors(rows))
    }

    /// Chunks by their vector keys (chunk_key), in that order.
    pub fn chunks_by_keys(&self, keys: &[u64]) -> Result<Vec<ChunkRecord>> {
        let keys: Vec<i64> = keys.iter().map(|&k| k as i64).collect();
        let sql = format!("SELECT {CHUNK_COLUMNS} FROM chunks WHERE chunk_key = ?1");
        self.rows_by(&sql, &keys, chunk_row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kb::{ChunkRow, DocumentCommit};
    use crate::store::rows::{EntityState, RelationState};

    fn entity(name: &str, chunk: &str) -> EntityState {
        EntityState {
            name: name.into(),
            entity_type: "person".into(),
            description: format!("{name} desc"),
            source_ids: vec![chunk.into()],
            all_source_ids: vec![chunk.into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    fn relation(a: &str, b: &str) -> RelationState {
        RelationState {
            src: a.into(),
            tgt: b.into(),
            keywords: "k".into(),
            description: format!("{a} and {b}"),
            weight: 1.0,
            source_ids: vec!["c0".into()],
            all_source_ids: vec!["c0".into()],
            file_paths: vec!["a.txt".into()],
            truncate: String::new(),
        }
    }

    #[test]
    fn graph_reads_keep_order_and_skip_missing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteKb::open(dir.path()).unwrap();
        store.enqueue("doc-1", "a.txt", "text", "1").unwrap();
        let commit = DocumentCommit {
            doc_id: "doc-1".into(),
            file_path: "a.txt".into(),
            chunks: vec![ChunkRow {
                chunk_id: "c0".into(),
                order: 0,
                tokens: 1,
                content: "text".into(),
                embedding: vec![1.0, 2.0],
                pages: None,
            }],
            extractions: vec![],
            entities: ["A", "B", "C"]
                .iter()
                .map(|n| (entity(n, "c0").into(), Some(vec![0.0, 1.0])))
                .collect(),
            relations: vec![
                (relation("A", "B").into(), Some(vec![1.0, 0.0])),
                (relation("B", "C").into(), Some(vec![1.0, 0.0])),
            ],
            created_at: 7,
        };
        store.commit_document(&commit).unwrap();
        let names = |rows: Vec<EntityRow>| rows.into_iter().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(names(store.entities_by_keys(&[3, 99, 1]).unwrap()), ["C", "A"]);
        assert_eq!(
            names(store.entities_by_names(&["B".into(), "Z".into()]).unwrap()),
            ["B"]
        );
        let edges = store.edges_by_name(&["B".into(), "Z".into(), "A".into()]).unwrap();
        let pairs: Vec<Vec<_>> = edges
            .iter()
            .map(|list| list.iter().map(|e| (e.key, e.src.as_str(), e.tgt.as_str())).collect())
            .collect();
        assert_eq!(pairs, [vec![(1, "A", "B"), (2, "B", "C")], vec![], vec![(1, "A", "B")]]);
        assert_eq!(store.relations_by_keys(&[2]).unwrap()[0].src, "B");
        assert_eq!(store.relations_by_keys(&[2]).unwrap()[0].key, 2);
        assert_eq!(store.entities_by_keys(&[3]).unwrap()[0].key, 3);
        let deg = store.degrees(&["A".into(), "B".into(), "Z".into()]).unwrap();
        assert_eq!((deg["A"], deg["B"], deg["Z"]), (1, 2, 0));
        let chunks = store
            .chunks_by_ids(&["nope".into(), "c0".into(), "c0".into()], 1)
            .unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].content, "text");
        assert_eq!(store.chunk_vectors_by_ids(&["c0".into()]).unwrap()[0].1, vec![1.0, 2.0]);
        assert_eq!(store.chunks_by_keys(&[1]).unwrap()[0].file_path, "a.txt");
        assert_eq!(store.entities_by_names(&["A".into()]).unwrap()[0].created_at, 7);
    }
}
