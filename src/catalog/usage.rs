//! Per-tenant usage counters: API calls (`tenant_usage`, one row per tenant and calendar
//! month) and model tokens (`token_usage`, one row per tenant, KB and month).

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteCatalog, db_error, parse_uuid};
use crate::error::Result;
use crate::llm::usage::TokenCounts;

/// One KB's tokens in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUsageRow {
    pub kb_id: Uuid,
    /// `YYYY-MM`.
    pub period: String,
    pub tokens: TokenCounts,
}

/// The outcome of asking to count one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Counted; the period's count is now this.
    Counted(u64),
    /// Not counted: the period already holds this many calls, which is the limit or more.
    Refused(u64),
}

impl SqliteCatalog {
    /// Counts one API call for `tenant` in `period` unless `limit` calls are counted already.
    /// Read and increment share one `BEGIN IMMEDIATE` transaction, so concurrent processes
    /// neither lose counts nor admit more than `limit` calls between them.
    pub fn charge_api_call(&mut self, tenant: Uuid, period: &str, limit: u64) -> Result<Charge> {
        self.write(|tx, _| {
            let used = calls(tx, tenant, period)?;
            if used >= limit {
                return Ok(Charge::Refused(used));
            }
            tx.prepare_cached(
                "INSERT INTO tenant_usage (tenant_id, period, api_calls) VALUES (?1, ?2, 1)
                 ON CONFLICT(tenant_id, period) DO UPDATE SET api_calls = api_calls + 1",
            )
            .and_then(|mut s| s.execute(params![tenant.to_string(), period]))
            .map_err(|e| db_error("cannot count the API call", e))?;
            Ok(Charge::Counted(used + 1))
        })
    }

    /// The API calls counted for `tenant` in `period`.
    pub fn api_calls(&self, tenant: Uuid, period: &str) -> Result<u64> {
        calls(&self.conn, tenant, period)
    }

    /// Adds `tokens` to the KB's row for `period`.
    pub fn add_tokens(&mut self, tenant: Uuid, kb: Uuid, period: &str, tokens: TokenCounts) -> Result<()> {
        if tokens.is_zero() {
            return Ok(());
        }
        self.write(|tx, _| {
            tx.prepare_cached(
                "INSERT INTO token_usage (tenant_id, kb_id, period, prompt_tokens, completion_tokens, embedding_tokens)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(tenant_id, kb_id, period) DO UPDATE SET
                   prompt_tokens = prompt_tokens + ?4,
                   completion_tokens = completion_tokens + ?5,
                   embedding_tokens = embedding_tokens + ?6",
            )
            .and_then(|mut s| {
                s.execute(params![
                    tenant.to_string(),
                    kb.to_string(),
                    period,
                    sql_count(tokens.prompt_tokens),
                    sql_count(tokens.completion_tokens),
                    sql_count(tokens.embedding_tokens),
                ])
            })
            .map_err(|e| db_error("cannot record the tokens used", e))?;
            Ok(())
        })
    }

    /// The tenant's tokens in `period`, all KBs together.
    pub fn tenant_tokens(&self, tenant: Uuid, period: &str) -> Result<TokenCounts> {
        self.conn
            .prepare_cached(
                "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),
                        COALESCE(SUM(embedding_tokens), 0)
                 FROM token_usage WHERE tenant_id = ?1 AND period = ?2",
            )
            .and_then(|mut s| s.query_row(params![tenant.to_string(), period], counts_at(0)))
            .map_err(|e| db_error("cannot read the tenant's tokens", e))
    }

    /// The tenant's token rows with `from <= period <= to` (`YYYY-MM`), by period then KB id.
    pub fn token_usage(&self, tenant: Uuid, from: &str, to: &str) -> Result<Vec<TokenUsageRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kb_id, period, prompt_tokens, completion_tokens, embedding_tokens FROM token_usage
                 WHERE tenant_id = ?1 AND period >= ?2 AND period <= ?3 ORDER BY period, kb_id",
            )
            .map_err(|e| db_error("cannot read token usage", e))?;
        let rows = stmt
            .query_map(params![tenant.to_string(), from, to], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, counts_at(2)(r)?))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(|e| db_error("cannot read token usage", e))?;
        rows.into_iter()
            .map(|(kb, period, tokens)| {
                Ok(TokenUsageRow {
                    kb_id: parse_uuid(&kb)?,
                    period,
                    tokens,
                })
            })
            .collect()
    }
}

/// SQLite integers are signed; a count past `i64::MAX` is clamped rather than wrapped.
fn sql_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads three token columns starting at `first`.
fn counts_at(first: usize) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<TokenCounts> {
    move |r| {
        let n = |i: usize| r.get::<_, i64>(first + i).map(|v| v.max(0) as u64);
        Ok(TokenCounts {
            prompt_tokens: n(0)?,
            completion_tokens: n(1)?,
            embedding_tokens: n(2)?,
        })
    }
}

fn calls(conn: &rusqlite::Connection, tenant: Uuid, period: &str) -> Result<u64> {
    let n: Option<i64> = conn
        .prepare_cached("SELECT api_calls FROM tenant_usage WHERE tenant_id = ?1 AND period = ?2")
        .and_then(|mut s| s.query_row(params![tenant.to_string(), period], |r| r.get(0)))
        .optional()
        .map_err(|e| db_error("cannot read the tenant's usage", e))?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::with_temp_catalog;

    /// A tenant `acme` in the catalog.
    fn acme(c: &mut SqliteCatalog) -> crate::catalog::TenantRecord {
        let t = crate::catalog::tenants::tests::record("acme");
        let audit = crate::catalog::NewAudit {
            user: "root".into(),
            real_user: None,
            action: "test".into(),
            tenant_id: None,
            kb_id: None,
            outcome: crate::model::Outcome::Ok,
            detail: None,
            api_key_id: None,
        };
        c.create_tenant(&t, None, &audit).unwrap();
        t
    }

    #[test]
    fn calls_are_counted_per_period_up_to_the_limit() {
        with_temp_catalog(|c| {
            let t = acme(c);
            assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Counted(1));
            assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Counted(2));
            assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Refused(2));
            assert_eq!(c.api_calls(t.id, "2026-11").unwrap(), 2);
            assert_eq!(c.charge_api_call(t.id, "2026-12", 2).unwrap(), Charge::Counted(1));
            assert_eq!(c.charge_api_call(t.id, "2027-01", 0).unwrap(), Charge::Refused(0));
            assert_eq!(c.api_calls(t.id, "2027-01").unwrap(), 0);
        });
    }

    #[test]
    fn tokens_add_up_per_kb_and_period() {
        with_temp_catalog(|c| {
            let t = acme(c);
            let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
            let some = |p, c, e| TokenCounts {
                prompt_tokens: p,
                completion_tokens: c,
                embedding_tokens: e,
            };
            c.add_tokens(t.id, a, "2026-11", some(10, 2, 0)).unwrap();
            c.add_tokens(t.id, a, "2026-11", some(5, 1, 7)).unwrap();
            c.add_tokens(t.id, b, "2026-11", some(1, 1, 1)).unwrap();
            c.add_tokens(t.id, b, "2026-12", some(0, 0, 4)).unwrap();
            c.add_tokens(t.id, b, "2027-01", TokenCounts::default()).unwrap();
            assert_eq!(c.tenant_tokens(t.id, "2026-11").unwrap(), some(16, 4, 8));
            assert_eq!(c.tenant_tokens(t.id, "2027-01").unwrap(), TokenCounts::default());
            let rows = c.token_usage(t.id, "2026-11", "2026-12").unwrap();
            assert_eq!(rows.len(), 3);
            assert!(rows.iter().any(|r| r.kb_id == a && r.tokens == some(15, 3, 7)));
            assert_eq!(rows[2].period, "2026-12");
            assert_eq!(c.token_usage(t.id, "2026-12", "2027-12").unwrap().len(), 1);
        });
    }
}
