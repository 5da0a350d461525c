//! Bearer-token revocation on PostgreSQL: see the SQLite catalog's `tokens.rs`. The rows
//! belong to no tenant and carry the nil tenant id.

use uuid::Uuid;

use super::{PgCatalog, pg_error};
use crate::catalog::NewAudit;
use crate::error::Result;

impl PgCatalog {
    pub fn tokens_not_before(&self, user: &str) -> Result<Option<u64>> {
        self.with(|c| {
            let row = c
                .query_opt(
                    "SELECT not_before FROM token_revocations WHERE tenant_id = $1 AND user_id = $2",
                    &[&Uuid::nil(), &user],
                )
                .map_err(|e| pg_error("cannot read the token revocations", e))?;
            Ok(row.map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
        })
    }

    pub fn revoke_tokens(&mut self, user: &str, not_before: u64, by: &str, audit: &NewAudit) -> Result<u64> {
        let now = crate::time::now();
        let secs = i64::try_from(not_before).unwrap_or(i64::MAX);
        self.in_tx(|c| {
            let kept: i64 = c
                .query_one(
                    "INSERT INTO token_revocations (tenant_id, user_id, not_before, revoked_at, revoked_by)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (tenant_id, user_id) DO UPDATE
                     SET not_before = greatest(token_revocations.not_before + 1, $3), revoked_at = $4, revoked_by = $5
                     RETURNING not_before",
                    &[&Uuid::nil(), &user, &secs, &now, &by],
                )
                .map_err(|e| pg_error("cannot revoke the tokens", e))?
                .get(0);
            Self::insert_audit(c, audit)?;
            Ok(u64::try_from(kept).unwrap_or(0))
        })
    }
}
