//! Per-tenant usage counters (`tenant_usage`), one row per tenant and calendar month.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteCatalog, db_error};
use crate::error::Result;

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

    #[test]
    fn calls_are_counted_per_period_up_to_the_limit() {
        with_temp_catalog(|c| {
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
            assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Counted(1));
            assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Counted(2));
            assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Refused(2));
            assert_eq!(c.api_calls(t.id, "2026-11").unwrap(), 2);
            assert_eq!(c.charge_api_call(t.id, "2026-12", 2).unwrap(), Charge::Counted(1));
            assert_eq!(c.charge_api_call(t.id, "2027-01", 0).unwrap(), Charge::Refused(0));
            assert_eq!(c.api_calls(t.id, "2027-01").unwrap(), 0);
        });
    }
}
