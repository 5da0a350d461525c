//! The capped installation-level denials on PostgreSQL: see the SQLite catalog's `audit.rs`.

use uuid::Uuid;

use super::{PgCatalog, pg_error};
use crate::catalog::NewAudit;
use crate::error::Result;

impl PgCatalog {
    pub fn audit_capped(&self, entry: &NewAudit, since: &str, cap: u64) -> Result<bool> {
        let window = i64::try_from(cap.saturating_mul(2)).unwrap_or(i64::MAX);
        self.with(|c| {
            let recent: i64 = c
                .query_one(
                    "SELECT count(*) FROM (SELECT at, tenant_id, outcome FROM audit_log WHERE user_id = $1
                     ORDER BY id DESC LIMIT $2) AS newest
                     WHERE at >= $3 AND tenant_id = $4 AND outcome = 'denied'",
                    &[&entry.user, &window, &since, &Uuid::nil()],
                )
                .map_err(|e| pg_error("cannot read the audit log", e))?
                .get(0);
            match crate::catalog::capped_entry(entry, u64::try_from(recent).unwrap_or(0), cap) {
                Some(row) => Self::insert_audit(&mut **c, &row).map(|()| true),
                None => Ok(false),
            }
        })
    }
}
