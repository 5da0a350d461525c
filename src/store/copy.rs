//! Copying a whole KB's rows between stores, whichever backend holds each end: the one
//! routine behind a PostgreSQL KB's archive snapshot (its rows into a fresh `kb.db`), an
//! archive's import onto PostgreSQL (a verified `kb.db`'s rows into the database) and
//! `lrt db copy` (both directions).
//!
//! Every stored row is copied as it is, keys included (`chunk_key`, `entity_key`,
//! `relation_key`): ties that queries break by key stay broken the same way, so a copied KB
//! answers exactly as the original did. Documents are copied in their stored order (SQLite's
//! rowid, PostgreSQL's `seq`), which the destination then keeps.

use std::path::Path;

use crate::error::{Error, Result};
use crate::store::kb::SqliteKb;
use crate::store::transfer::SnapshotCounts;
use crate::store::{KbBackend, KbLocation, KbStore};

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A column's type, for the backend that needs to know it (PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Real,
    Text,
    Blob,
    /// A UUID: text on SQLite, `uuid` on PostgreSQL.
    Uuid,
    /// A flag: 0/1 on SQLite, `boolean` on PostgreSQL.
    Bool,
}

/// One KB table: its name on SQLite (`kb_` + name on PostgreSQL), the columns both backends
/// share, in order, and the order rows are read in.
pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// `ORDER BY` on SQLite; on PostgreSQL `rowid` reads `seq`.
    pub order: &'static str,
}

use Kind::{Blob, Int, Real, Text};

/// Every KB table, parents before children.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "meta",
        columns: &[("key", Text), ("value", Text)],
        order: "key",
    },
    TableSpec {
        name: "documents",
        columns: &[
            ("doc_id", Text),
            ("file_path", Text),
            ("content", Text),
            ("content_hash", Text),
            ("content_length", Int),
            ("status", Text),
            ("error", Text),
            ("chunks_count", Int),
            ("created_at", Text),
            ("updated_at", Text),
            ("pages", Text),
        ],
        order: "rowid",
    },
    TableSpec {
        name: "chunks",
        columns: &[
            ("chunk_key", Int),
            ("chunk_id", Text),
            ("doc_id", Text),
            ("chunk_order", Int),
            ("tokens", Int),
            ("content", Text),
            ("file_path", Text),
            ("embedding", Blob),
            ("page_first", Int),
            ("page_last", Int),
        ],
        order: "chunk_key",
    },
    TableSpec {
        name: "llm_cache",
        columns: &[
            ("cache_key", Text),
            ("cache_type", Text),
            ("chunk_id", Text),
            ("response", Text),
            ("created_at", Int),
        ],
        order: "cache_key",
    },
    TableSpec {
        name: "extractions",
        columns: &[
            ("chunk_id", Text),
            ("result", Text),
            ("glean", Text),
            ("cache_keys", Text),
            ("extracted_at", Int),
        ],
        order: "chunk_id",
    },
    TableSpec {
        name: "entities",
        columns: &[
            ("entity_key", Int),
            ("name", Text),
            ("entity_id", Text),
            ("entity_type", Text),
            ("description", Text),
            ("source_ids", Text),
            ("all_source_ids", Text),
            ("file_paths", Text),
            ("truncate", Text),
            ("created_at", Int),
            ("embedding", Blob),
        ],
        order: "entity_key",
    },
    TableSpec {
        name: "relations",
        columns: &[
            ("relation_key", Int),
            ("src", Text),
            ("tgt", Text),
            ("relation_id", Text),
            ("keywords", Text),
            ("description", Text),
            ("weight", Real),
            ("source_ids", Text),
            ("all_source_ids", Text),
            ("file_paths", Text),
            ("truncate", Text),
            ("created_at", Int),
            ("embedding", Blob),
        ],
        order: "relation_key",
    },
    TableSpec {
        name: "doc_entities",
        columns: &[("doc_id", Text), ("name", Text)],
        order: "doc_id, name",
    },
    TableSpec {
        name: "doc_relations",
        columns: &[("doc_id", Text), ("src", Text), ("tgt", Text)],
        order: "doc_id, src, tgt",
    },
    TableSpec {
        name: "graph_overrides",
        columns: &[
            ("src", Text),
            ("tgt", Text),
            ("fields", Text),
            ("covered", Text),
            ("updated_at", Text),
        ],
        order: "src, tgt",
    },
    TableSpec {
        name: "entity_aliases",
        columns: &[("alias", Text), ("canonical", Text), ("created_at", Text)],
        order: "alias",
    },
];

impl TableSpec {
    /// The column names, comma-separated.
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }
}

/// Every row of one KB, table by table in [`TABLES`] order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KbRows {
    pub tables: Vec<Vec<Vec<Cell>>>,
}

impl KbRows {
    fn table(&self, name: &str) -> &[Vec<Cell>] {
        TABLES
            .iter()
            .position(|t| t.name == name)
            .and_then(|i| self.tables.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// What an archive's manifest records of these rows.
    pub fn counts(&self) -> SnapshotCounts {
        let n = |t: &str| self.table(t).len() as u64;
        SnapshotCounts {
            documents: n("documents"),
            chunks: n("chunks"),
            entities: n("entities"),
            relations: n("relations"),
            llm_cache: n("llm_cache"),
        }
    }

    /// The statistics the catalog keeps of a KB holding these rows (what
    /// [`KbStore::stats`] counts: processed documents, chunks, entities, relations).
    pub fn stats(&self) -> crate::store::kb::StoreStats {
        let documents = TABLES
            .iter()
            .position(|t| t.name == "documents")
            .expect("a documents table");
        let status = TABLES[documents]
            .columns
            .iter()
            .position(|(c, _)| *c == "status")
            .expect("a status column");
        let processed = Cell::Text("processed".into());
        crate::store::kb::StoreStats {
            documents: self
                .table("documents")
                .iter()
                .filter(|r| r[status] == processed)
                .count() as u64,
            chunks: self.table("chunks").len() as u64,
            entities: self.table("entities").len() as u64,
            relations: self.table("relations").len() as u64,
        }
    }

    /// Whether the rows hold no document and no graph (a fresh KB's metadata only).
    pub fn is_empty(&self) -> bool {
        let c = self.counts();
        c.documents + c.chunks + c.entities + c.relations + c.llm_cache == 0
    }

    /// Checks the shape before anything is written: one list per table, each row as wide as
    /// its table.
    pub(crate) fn check_shape(&self) -> Result<()> {
        check_shape(&self.tables, TABLES.iter().map(|t| t.columns.len()), "knowledge-base")
    }
}

/// Whether `tables` has one list per entry of `widths`, each row of the width given.
pub(crate) fn check_shape(
    tables: &[Vec<Vec<Cell>>],
    widths: impl ExactSizeIterator<Item = usize>,
    what: &str,
) -> Result<()> {
    if tables.len() != widths.len()
        || tables
            .iter()
            .zip(widths)
            .any(|(rows, width)| rows.iter().any(|r| r.len() != width))
    {
        return Err(Error::Internal(format!("{what} rows of the wrong shape")));
    }
    Ok(())
}

/// Reads every row of the KB `from` holds, in one consistent read.
pub fn read_rows(from: &KbStore) -> Result<KbRows> {
    match from {
        KbStore::Sqlite(s) => s.copy_out(),
        KbStore::Postgres(p) => p.copy_out(),
    }
}

/// Writes `rows` into the empty KB `to` holds, in one transaction: all of them or nothing.
/// A KB that already has documents or a graph is refused (a conflict).
pub fn write_rows(to: &mut KbStore, rows: &KbRows) -> Result<()> {
    rows.check_shape()?;
    match to {
        KbStore::Sqlite(s) => s.copy_in(rows),
        KbStore::Postgres(p) => p.copy_in(rows),
    }
}

/// Copies every row of `from` into the empty `to`; what was copied.
pub fn copy_kb(from: &KbStore, to: &mut KbStore) -> Result<SnapshotCounts> {
    let rows = read_rows(from)?;
    write_rows(to, &rows)?;
    Ok(rows.counts())
}

/// Writes a fresh kb.db of lrt's own schema in `dir` holding every row of `from`: an
/// archive's snapshot of a KB that is not a kb.db (PostgreSQL). Rows are read in one snapshot.
pub fn snapshot_into(from: &KbStore, dir: &Path) -> Result<SnapshotCounts> {
    let mut to = KbStore::Sqlite(SqliteKb::open(dir)?);
    copy_kb(from, &mut to)
    // Closing the only connection folds the write-ahead log into kb.db.
}

/// Fills the empty KB `to` with the rows of the kb.db snapshot `file` (already verified by
/// the caller), in one transaction. The file is moved into a folder of its own next to it
/// and opened there (its schema brought up to date as any kb.db's is when opened).
pub fn fill_from_snapshot(file: &Path, to: &mut KbStore) -> Result<SnapshotCounts> {
    let mut folder = file.as_os_str().to_owned();
    folder.push(".d");
    let folder = std::path::PathBuf::from(folder);
    std::fs::create_dir(&folder).map_err(|e| Error::storage("cannot stage the snapshot", e))?;
    std::fs::rename(file, folder.join("kb.db")).map_err(|e| Error::storage("cannot stage the snapshot", e))?;
    let from = KbStore::Sqlite(SqliteKb::open(&folder)?);
    copy_kb(&from, to)
}

/// Removes every row of the KB at `at` where they live apart from its folder (PostgreSQL):
/// the clean-up of a KB whose creation failed. A SQLite KB's rows go with its folder.
pub fn remove_rows(at: &KbLocation) -> Result<()> {
    match &at.backend {
        KbBackend::Sqlite => Ok(()),
        KbBackend::Postgres(r) => crate::store::pg::PgKb::open(r, &at.dir).delete_all(),
    }
}

/// The message for a destination that is not empty.
pub(crate) fn not_empty() -> Error {
    Error::Conflict("the destination knowledge base is not empty".into())
}

pub(crate) mod sqlite {
    use rusqlite::TransactionBehavior;
    use rusqlite::types::{ToSqlOutput, Value, ValueRef};

    use super::{Cell, KbRows, TABLES, not_empty};
    use crate::error::Result;
    use crate::store::kb::SqliteKb;

    impl rusqlite::ToSql for Cell {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(match self {
                Cell::Null => ToSqlOutput::Owned(Value::Null),
                Cell::Int(v) => ToSqlOutput::Owned(Value::Integer(*v)),
                Cell::Real(v) => ToSqlOutput::Owned(Value::Real(*v)),
                Cell::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
                Cell::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            })
        }
    }

    fn cell(v: ValueRef<'_>) -> Cell {
        match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Int(i),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        }
    }

    /// The rows `sql` selects, `width` columns each, as cells.
    pub(crate) fn read_table(conn: &rusqlite::Connection, sql: &str, width: usize) -> rusqlite::Result<Vec<Vec<Cell>>> {
        let mut stmt = conn.prepare(sql)?;
        stmt.query_map([], |r| (0..width).map(|i| r.get_ref(i).map(cell)).collect())?
            .collect()
    }

    /// Inserts `rows` into `table` (`columns`, comma-separated), one prepared statement;
    /// `verb` is `INSERT` or `INSERT OR REPLACE`.
    pub(crate) fn insert_table(
        conn: &rusqlite::Connection,
        verb: &str,
        table: &str,
        columns: &str,
        width: usize,
        rows: impl IntoIterator<Item = Vec<Cell>>,
    ) -> rusqlite::Result<()> {
        let marks = (1..=width).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let mut stmt = conn.prepare(&format!("{verb} INTO {table} ({columns}) VALUES ({marks})"))?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))?;
        }
        Ok(())
    }

    impl SqliteKb {
        /// Every row of kb.db, read in one read transaction.
        pub(crate) fn copy_out(&self) -> Result<KbRows> {
            let err = self.err("cannot read the knowledge base");
            let tx = self.conn.unchecked_transaction().map_err(&err)?;
            let mut out = KbRows::default();
            for spec in TABLES {
                let sql = format!(
                    "SELECT {} FROM {} ORDER BY {}",
                    spec.column_list(),
                    spec.name,
                    spec.order
                );
                out.tables
                    .push(read_table(&tx, &sql, spec.columns.len()).map_err(&err)?);
            }
            tx.finish().map_err(&err)?;
            Ok(out)
        }

        /// Writes `rows` into this empty kb.db in one transaction (metadata rows replace the
        /// fresh database's own).
        pub(crate) fn copy_in(&mut self, rows: &KbRows) -> Result<()> {
            let err = self.err("cannot write the knowledge base");
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&err)?;
            let used: i64 = tx
                .query_row(
                    "SELECT (SELECT count(*) FROM documents) + (SELECT count(*) FROM entities)
                        + (SELECT count(*) FROM llm_cache)",
                    [],
                    |r| r.get(0),
                )
                .map_err(&err)?;
            if used > 0 {
                return Err(not_empty());
            }
            for (spec, table) in TABLES.iter().zip(&rows.tables) {
                let verb = if spec.name == "meta" {
                    "INSERT OR REPLACE"
                } else {
                    "INSERT"
                };
                let (columns, width) = (spec.column_list(), spec.columns.len());
                insert_table(&tx, verb, spec.name, &columns, width, table.iter().cloned()).map_err(&err)?;
            }
            tx.commit().map_err(&err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kb::EmbeddingPin;
    use crate::store::transfer::{ImportChunk, ImportDocument, ImportEntity, ImportRows};

    fn filled(dir: &std::path::Path) -> SqliteKb {
        let mut store = SqliteKb::open(dir).unwrap();
        let rows = ImportRows {
            documents: vec![ImportDocument {
                doc_id: "doc-1".into(),
                file_path: "a.txt".into(),
                content: "Alice".into(),
                content_hash: "h".into(),
                status: "processed".into(),
                error: None,
                created_at: "t".into(),
                updated_at: "t".into(),
            }],
            chunks: vec![ImportChunk {
                chunk_id: "c0".into(),
                doc_id: "doc-1".into(),
                order: 0,
                tokens: 1,
                content: "Alice".into(),
                file_path: "a.txt".into(),
                embedding: vec![1.0, 0.0],
            }],
            entities: vec![ImportEntity {
                name: "Alice".into(),
                entity_type: "person".into(),
                description: "d".into(),
                source_ids: vec!["c0".into()],
                all_source_ids: vec!["c0".into()],
                file_paths: vec!["a.txt".into()],
                truncate: String::new(),
                created_at: 1,
                embedding: vec![0.0, 1.0],
            }],
            ..Default::default()
        };
        let pin = EmbeddingPin {
            binding: "local".into(),
            model: "m".into(),
            dim: 2,
        };
        store.import_rows(&rows, &pin).unwrap();
        store
    }

    #[test]
    fn a_kb_copied_into_a_fresh_kb_db_has_the_same_rows_and_a_second_copy_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let from = KbStore::Sqlite(filled(a.path()));
        let mut to = KbStore::Sqlite(SqliteKb::open(b.path()).unwrap());
        let counts = copy_kb(&from, &mut to).unwrap();
        assert_eq!((counts.documents, counts.chunks, counts.entities), (1, 1, 1));
        assert_eq!(read_rows(&to).unwrap(), read_rows(&from).unwrap());
        assert_eq!(to.generation().unwrap(), from.generation().unwrap());
        assert!(matches!(copy_kb(&from, &mut to), Err(Error::Conflict(_))));
    }
}
