//! Bearer-token revocation (`token_revocations`): per user, the earliest issue time a token
//! must carry to be accepted. Tokens are stateless JWTs, so revoking one means refusing every
//! token of its user issued before a moment; a user's tokens issued later are unaffected.

use rusqlite::{OptionalExtension, params};

use super::{NewAudit, SqliteCatalog, db_error};
use crate::error::Result;

impl SqliteCatalog {
    /// The user's not-before (Unix seconds): tokens issued earlier are revoked. `None`: the
    /// user's tokens were never revoked.
    pub fn tokens_not_before(&self, user: &str) -> Result<Option<u64>> {
        let secs: Option<i64> = self
            .conn
            .prepare_cached("SELECT not_before FROM token_revocations WHERE user_id = ?1")
            .and_then(|mut s| s.query_row([user], |r| r.get(0)).optional())
            .map_err(|e| db_error("cannot read the token revocations", e))?;
        Ok(secs.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    /// Revokes the user's tokens issued before `not_before`, with its audit row; returns the
    /// user's not-before now in force. It always moves forward, past the one in force: a token
    /// issued since may carry that one as its `iat` (see `token issue`), and must be revoked
    /// too, even within the same second.
    pub fn revoke_tokens(&mut self, user: &str, not_before: u64, by: &str, audit: &NewAudit) -> Result<u64> {
        let now = crate::time::now();
        let secs = i64::try_from(not_before).unwrap_or(i64::MAX);
        self.write(|tx, _| {
            let kept: i64 = tx
                .query_row(
                    "INSERT INTO token_revocations (user_id, not_before, revoked_at, revoked_by) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(user_id) DO UPDATE SET not_before = max(not_before + 1, ?2), revoked_at = ?3, revoked_by = ?4
                     RETURNING not_before",
                    params![user, secs, now, by],
                    |r| r.get(0),
                )
                .map_err(|e| db_error("cannot revoke the tokens", e))?;
            audit.insert(tx)?;
            Ok(u64::try_from(kept).unwrap_or(0))
        })
    }
}
