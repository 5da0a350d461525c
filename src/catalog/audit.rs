//! The audit log: every mutation (in the mutation's own transaction) and every denial.

use rusqlite::{Row, ToSql, Transaction, params};
use uuid::Uuid;

use super::{SqliteCatalog, db_error};
use crate::error::Result;
use crate::model::{AuditEntry, Outcome};

/// An audit row to write.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub user: String,
    pub real_user: Option<String>,
    pub action: String,
    pub tenant_id: Option<Uuid>,
    pub kb_id: Option<Uuid>,
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub api_key_id: Option<Uuid>,
}

impl NewAudit {
    pub(super) fn insert(&self, tx: &Transaction<'_>) -> Result<()> {
        insert(tx, self)
    }
}

fn insert(conn: &rusqlite::Connection, a: &NewAudit) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, user_id, real_user, action, tenant_id, kb_id, outcome, detail, api_key_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            crate::time::now(),
            a.user,
            a.real_user,
            a.action,
            a.tenant_id.map(|t| t.to_string()),
            a.kb_id.map(|k| k.to_string()),
            a.outcome.as_str(),
            a.detail,
            a.api_key_id.map(|k| k.to_string()),
        ],
    )
    .map_err(|e| db_error("cannot write the audit log", e))?;
    Ok(())
}

impl SqliteCatalog {
    /// See [`Catalog::audit_capped`](super::Catalog::audit_capped): the count reads only the
    /// user's newest rows (an index range), so it costs the same however long the log is.
    pub fn audit_capped(&self, entry: &NewAudit, since: &str, cap: u64) -> Result<bool> {
        let recent: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT at, tenant_id, outcome FROM audit_log WHERE user_id = ?1
                 ORDER BY id DESC LIMIT ?2) WHERE at >= ?3 AND tenant_id IS NULL AND outcome = 'denied'",
            )
            .and_then(|mut s| s.query_row(params![entry.user, cap.saturating_mul(2) as i64, since], |r| r.get(0)))
            .map_err(|e| db_error("cannot read the audit log", e))?;
        match super::capped_entry(entry, recent as u64, cap) {
            Some(row) => insert(&self.conn, &row).map(|()| true),
            None => Ok(false),
        }
    }
}

/// Which audit rows to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only rows about these tenants (`None`: every row, for super-admins).
    pub tenants: Option<Vec<Uuid>>,
    pub user: Option<String>,
    /// RFC 3339 lower bound, inclusive.
    pub since: Option<String>,
    pub limit: u64,
    /// Newest rows skipped before the `limit` listed (paging).
    pub offset: u64,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let outcome: String = r.get(7)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        user_id: r.get(2)?,
        real_user: r.get(3)?,
        action: r.get(4)?,
        tenant_id: r.get(5)?,
        kb_id: r.get(6)?,
        outcome: if outcome == "ok" { Outcome::Ok } else { Outcome::Denied },
        detail: r.get(8)?,
        api_key_id: r.get(9)?,
    })
}

impl SqliteCatalog {
    /// Records a denial (outside any mutation's transaction: nothing else is written).
    pub fn audit(&self, entry: &NewAudit) -> Result<()> {
        insert(&self.conn, entry)
    }

    pub fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let (mut sql, mut args) = select(
            "SELECT id, at, user_id, real_user, action, tenant_id, kb_id, outcome, detail, api_key_id FROM audit_log",
            filter,
        );
        args.push(Box::new(i64::try_from(filter.limit).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
        args.push(Box::new(i64::try_from(filter.offset).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" OFFSET ?{}", args.len()));
        let read = |e| db_error("cannot read the audit log", e);
        let mut stmt = self.conn.prepare(&sql).map_err(read)?;
        let params: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
        stmt.query_map(params.as_slice(), from_row)
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)
    }

    /// How many rows `filter` matches on all pages (its `limit` and `offset` aside).
    pub fn audit_count(&self, filter: &AuditFilter) -> Result<u64> {
        let (sql, args) = select("SELECT count(*) FROM audit_log", filter);
        let params: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
        self.conn
            .query_row(&sql, params.as_slice(), |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| db_error("cannot read the audit log", e))
    }
}

/// `head` with the `WHERE` clause of `filter`'s tenants, user and time, and its arguments.
fn select(head: &str, filter: &AuditFilter) -> (String, Vec<Box<dyn ToSql>>) {
    let mut sql = format!("{head} WHERE 1 = 1");
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(tenants) = &filter.tenants {
        let marks: Vec<String> = tenants
            .iter()
            .map(|t| {
                args.push(Box::new(t.to_string()));
                format!("?{}", args.len())
            })
            .collect();
        sql.push_str(&format!(" AND tenant_id IN ({})", marks.join(", ")));
    }
    if let Some(user) = &filter.user {
        args.push(Box::new(user.clone()));
        sql.push_str(&format!(" AND (user_id = ?{n} OR real_user = ?{n})", n = args.len()));
    }
    if let Some(since) = &filter.since {
        args.push(Box::new(since.clone()));
        sql.push_str(&format!(" AND at >= ?{}", args.len()));
    }
    (sql, args)
}
