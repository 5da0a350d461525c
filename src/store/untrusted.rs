//! Reading a kb.db that lrt did not write (an archive's snapshot): its schema is the one thing
//! SQLite runs from the file itself (triggers on every later write, views on every read that
//! names them), so it is compared, object by object, with the schema lrt's own migrations make
//! for the file's version before any of its rows are read. Anything else (an extra trigger,
//! view, table or index, a missing table, a table redefined) refuses the file.
//!
//! The connection is opened read-only with `trusted_schema=OFF` (no SQL function with side
//! effects from schema code) and every statement on it runs under a [`Deadline`], so even a
//! file crafted to make a check slow cannot hold an import for ever.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::kb::MIGRATIONS;
use crate::error::{Error, Result};

/// How long the checks of an untrusted file may take in all.
pub const READ_LIMIT: Duration = Duration::from_secs(600);

/// One `sqlite_master` row: type, name, table, SQL text (`None` for automatic indexes).
type SchemaObject = (String, String, String, Option<String>);

/// Names SQLite itself creates (`ANALYZE`, `AUTOINCREMENT`); nobody can create them with SQL.
const SQLITE_INTERNAL: &[&str] = &["sqlite_stat1", "sqlite_stat4", "sqlite_sequence"];

fn objects(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name, tbl_name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    rows.collect()
}

/// The schema lrt's migrations make for `version`, built in memory.
fn expected(version: usize) -> Result<Vec<SchemaObject>> {
    let err = |e: rusqlite::Error| Error::Internal(format!("cannot build the reference schema: {e}"));
    let mut conn = Connection::open_in_memory().map_err(err)?;
    let tx = conn.transaction().map_err(err)?;
    for step in &MIGRATIONS[..version] {
        tx.execute_batch(step.sql).map_err(err)?;
        if let Some(convert) = step.convert {
            convert(&tx).map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    objects(&conn).map_err(err)
}

/// How `conn`'s schema differs from lrt's own for `version`: an empty list when it is exactly
/// lrt's. Reads `sqlite_schema` only (no trigger or view of the file runs).
pub fn schema_problems(conn: &Connection, version: usize) -> Result<Vec<String>> {
    if version == 0 || version > MIGRATIONS.len() {
        return Ok(vec![format!("schema version {version} is not one lrt writes")]);
    }
    let found = objects(conn).map_err(|e| unusable(format!("its schema cannot be read: {e}")))?;
    let want = expected(version)?;
    let mut problems = Vec::new();
    for object in &found {
        let (kind, name, _, _) = object;
        if want.contains(object) || (kind == "table" && SQLITE_INTERNAL.contains(&name.as_str())) {
            continue;
        }
        if want.iter().any(|(k, n, _, _)| k == kind && n == name) {
            problems.push(format!("{kind} {name:?} is not defined as lrt defines it"));
        } else {
            problems.push(format!("{kind} {name:?} is not part of lrt's schema"));
        }
    }
    for (kind, name, _, _) in &want {
        if !found.iter().any(|(k, n, _, _)| k == kind && n == name) {
            problems.push(format!("{kind} {name:?} is missing"));
        }
    }
    Ok(problems)
}

/// An untrusted kb.db, open read-only, its schema checked.
pub struct UntrustedDb {
    pub conn: Connection,
    /// The schema version it records (at most this build's).
    pub version: usize,
    _deadline: Deadline,
}

/// Opens `file` read-only, with `trusted_schema=OFF` and a [`Deadline`] of `limit` for
/// everything read through it, and checks that its schema is exactly lrt's for the version
/// it records.
pub fn open(file: &Path, limit: Duration) -> Result<UntrustedDb> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(file, flags).map_err(|e| unusable(e.to_string()))?;
    let deadline = Deadline::arm(&conn, limit);
    conn.execute_batch("PRAGMA trusted_schema=OFF;")
        .map_err(|e| read_error(e, limit))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| read_error(e, limit))?;
    if version < 1 {
        return Err(unusable("it has no lrt schema".into()));
    }
    if version as usize > MIGRATIONS.len() {
        return Err(Error::Usage(format!(
            "the knowledge base was written by a newer lrt (schema version {version}, this lrt knows up to {}); upgrade lrt",
            MIGRATIONS.len()
        )));
    }
    let version = version as usize;
    let problems = schema_problems(&conn, version)?;
    if !problems.is_empty() {
        return Err(unusable(format!(
            "its schema is not lrt's (version {version}): {}",
            problems.join("; ")
        )));
    }
    Ok(UntrustedDb {
        conn,
        version,
        _deadline: deadline,
    })
}

fn unusable(why: String) -> Error {
    Error::Usage(format!("the knowledge-base snapshot is not usable: {why}"))
}

/// The error for a failed read of an untrusted file: a usage error (the file is at fault),
/// saying so when the deadline cut it short.
pub fn read_error(e: rusqlite::Error, limit: Duration) -> Error {
    if interrupted(&e) {
        return unusable(format!("reading it took longer than {} s", limit.as_secs()));
    }
    unusable(e.to_string())
}

/// Interrupts whatever `conn` runs once `limit` has passed, until dropped.
pub struct Deadline {
    done: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Deadline {
    pub fn arm(conn: &Connection, limit: Duration) -> Deadline {
        let handle = conn.get_interrupt_handle();
        let (done, wait) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
                handle.interrupt();
            }
        });
        Deadline {
            done: Some(done),
            thread: Some(thread),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether `e` is SQLite giving up on a statement [`Deadline`] interrupted.
pub fn interrupted(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::OperationInterrupted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kb::SqliteKb;

    fn fresh() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteKb::open(dir.path()).unwrap());
        let file = dir.path().join("kb.db");
        (dir, file)
    }

    fn tamper(file: &Path, sql: &str) {
        Connection::open(file).unwrap().execute_batch(sql).unwrap();
    }

    #[test]
    fn lrts_own_schema_passes_and_anything_else_is_named() {
        let (_dir, file) = fresh();
        assert_eq!(open(&file, READ_LIMIT).unwrap().version, MIGRATIONS.len());

        tamper(
            &file,
            "CREATE TABLE hidden (t TEXT);
             CREATE TRIGGER copy AFTER INSERT ON documents BEGIN INSERT INTO hidden VALUES (new.content); END;",
        );
        let err = open(&file, READ_LIMIT).err().unwrap().to_string();
        assert!(err.contains("trigger \"copy\" is not part of lrt's schema"), "{err}");
        assert!(err.contains("table \"hidden\" is not part of lrt's schema"), "{err}");

        let (_dir, file) = fresh();
        tamper(
            &file,
            "DROP TABLE llm_cache;
             CREATE VIEW llm_cache AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r;",
        );
        let err = open(&file, READ_LIMIT).err().unwrap().to_string();
        assert!(err.contains("view \"llm_cache\" is not part of lrt's schema"), "{err}");
        assert!(err.contains("table \"llm_cache\" is missing"), "{err}");
    }

    #[test]
    fn a_deadline_interrupts_a_statement_that_would_run_for_ever() {
        let conn = Connection::open_in_memory().unwrap();
        let _deadline = Deadline::arm(&conn, Duration::from_millis(50));
        let err = conn
            .query_row(
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_err();
        assert!(interrupted(&err), "{err}");
    }
}
