//! Whether a KB's kb.db is there and sound, checked before anything writes into it, exports
//! it or answers from it. Opening a missing or zero-length kb.db would create a fresh, empty
//! database: the KB would look empty instead of lost, and the next ingest would write into it.
//! The catalog's document count tells a KB that was never ingested (nothing is lost) from one
//! whose data is gone.
//!
//! The checks cost, on a 5.7 MB kb.db: the presence check a `stat` and a 16-byte read (and a
//! one-row query when documents are recorded); `quick_check` about 7 ms; `integrity_check`
//! about 10 ms (1.7 ms per MB, read from the page cache). Opening a query engine takes the
//! presence check; an upload (one per request) `quick_check`; the jobs that write into a KB
//! (ingest, delete, graph edits, reindex) and exports `integrity_check`, which also finds a
//! damaged row through its index entries, where `quick_check` does not.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// How much of kb.db to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The file is there (when the catalog counts documents) and starts like a SQLite database.
    Presence,
    /// And SQLite's `quick_check` (page structure, without matching indexes to tables) passes.
    Quick,
    /// And SQLite's `integrity_check` passes.
    Full,
}

/// Checks kb.db in `dir` for a KB the catalog records `recorded_documents` documents of:
/// an error (storage, exit 9) naming what is wrong when kb.db is missing, zero-length or
/// without tables although documents were recorded, is not a SQLite database, or fails
/// SQLite's check at `depth`. A KB never ingested passes without a file.
pub fn check(dir: &Path, recorded_documents: u64, depth: Depth) -> Result<()> {
    let path = dir.join("kb.db");
    let lost = |what: &str| -> Result<()> {
        if recorded_documents == 0 {
            return Ok(());
        }
        Err(damaged(
            &path,
            format!("kb.db {what}, but the catalog records {recorded_documents} documents: the data is lost"),
        ))
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return lost("is missing"),
        Err(e) => return Err(Error::storage(format!("cannot open {}", path.display()), e)),
    };
    let len = file
        .metadata()
        .map_err(|e| Error::storage(format!("cannot open {}", path.display()), e))?
        .len();
    if len == 0 {
        return lost("is empty (zero bytes)");
    }
    let mut header = [0u8; 16];
    if file.read_exact(&mut header).is_err() || &header != SQLITE_MAGIC {
        return Err(damaged(&path, "kb.db is not a SQLite database".into()));
    }
    if depth == Depth::Presence && recorded_documents == 0 {
        return Ok(());
    }
    let conn = crate::layout::open_sqlite_read_only(&path).map_err(|e| sqlite_error(&path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| sqlite_error(&path, e))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| sqlite_error(&path, e))?;
    if version == 0 {
        return lost("has no tables");
    }
    let pragma = match depth {
        Depth::Presence => None,
        Depth::Quick => Some("quick_check"),
        Depth::Full => Some("integrity_check"),
    };
    if let Some(pragma) = pragma {
        let mut stmt = conn
            .prepare(&format!("PRAGMA {pragma}(5)"))
            .map_err(|e| sqlite_error(&path, e))?;
        let mut lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| sqlite_error(&path, e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| sqlite_error(&path, e))?;
        lines.retain(|l| l != "ok");
        if !lines.is_empty() {
            return Err(damaged(
                &path,
                format!("kb.db fails SQLite's {pragma}: {}", lines.join("; ")),
            ));
        }
    }
    if recorded_documents > 0 {
        // A kb.db re-created empty (by an older lrt opening a missing file) holds no documents.
        let any: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM documents)", [], |r| r.get(0))
            .map_err(|e| sqlite_error(&path, e))?;
        if !any {
            return lost("holds no documents");
        }
    }
    Ok(())
}

/// The error for a damaged or lost kb.db: what was found and the way out.
fn damaged(path: &Path, what: String) -> Error {
    Error::storage(
        format!("the knowledge base at {} is damaged", path.display()),
        format!(
            "{what}; nothing was written. `lrt doctor` reports it; restore the KB from an export \
             (`lrt kb delete`, then `lrt kb import`) or delete it and re-ingest its documents"
        ),
    )
}

/// A SQLite error met while checking: corruption is damage, anything else (busy, I/O) says so.
fn sqlite_error(path: &Path, e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
        )
    {
        return damaged(path, format!("SQLite cannot read kb.db ({e})"));
    }
    super::kb::db_err("cannot check the knowledge base", path)(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kb::SqliteKb;

    fn kb_with_a_document(dir: &Path) {
        let mut store = SqliteKb::open(dir).unwrap();
        store.enqueue("doc-1", "a.txt", "some text", "h1").unwrap();
    }

    #[test]
    fn a_kb_never_ingested_passes_and_a_lost_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), 0, Depth::Quick).unwrap();
        let err = check(dir.path(), 3, Depth::Presence).unwrap_err();
        assert_eq!(err.kind().exit_code(), 9);
        assert!(err.to_string().contains("is missing"), "{err}");
        std::fs::write(dir.path().join("kb.db"), b"").unwrap();
        check(dir.path(), 0, Depth::Quick).unwrap();
        let err = check(dir.path(), 3, Depth::Quick).unwrap_err().to_string();
        assert!(err.contains("zero bytes") && err.contains("3 documents"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_or_is_empty_of_documents_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kb.db"), vec![7u8; 8192]).unwrap();
        let err = check(dir.path(), 0, Depth::Presence).unwrap_err().to_string();
        assert!(err.contains("not a SQLite database"), "{err}");
        std::fs::remove_file(dir.path().join("kb.db")).unwrap();
        drop(SqliteKb::open(dir.path()).unwrap());
        check(dir.path(), 0, Depth::Full).unwrap();
        let err = check(dir.path(), 1, Depth::Presence).unwrap_err().to_string();
        assert!(err.contains("holds no documents"), "{err}");
    }

    #[test]
    fn a_damaged_page_fails_the_quick_check() {
        let dir = tempfile::tempdir().unwrap();
        kb_with_a_document(dir.path());
        check(dir.path(), 1, Depth::Quick).unwrap();
        // Overwrite the second page (the first table's root) with garbage, keeping the header.
        let path = dir.path().join("kb.db");
        let mut bytes = std::fs::read(&path).unwrap();
        let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
        for b in &mut bytes[page..2 * page] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        check(dir.path(), 0, Depth::Presence).unwrap();
        let err = check(dir.path(), 0, Depth::Quick).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
