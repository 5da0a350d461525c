//! PostgreSQL's re-keying conversion: every tenant and KB name key recomputed with
//! [`name_key`](crate::catalog::name_key) in Rust (SQL cannot compute a confusable skeleton),
//! inside the migration's transaction, under the migration lock. Look-alikes that already
//! exist are kept and reported, as on SQLite.

use postgres::Transaction;
use uuid::Uuid;

use super::pg_error;
use crate::catalog::names::{Named, assign, report};
use crate::error::Result;

pub(super) fn rekey_pg(tx: &mut Transaction<'_>) -> Result<()> {
    let mut read = |sql: &str| -> Result<Vec<Named>> {
        Ok(tx
            .query(sql, &[])
            .map_err(|e| pg_error("cannot read names to re-key", e))?
            .iter()
            .map(|r| Named {
                id: r.get::<_, Uuid>(0).to_string(),
                scope: r.get::<_, Option<Uuid>>(1).map(|t| t.to_string()).unwrap_or_default(),
                name: r.get(2),
            })
            .collect())
    };
    let tenants = read("SELECT tenant_id, NULL::uuid, name FROM tenants ORDER BY created_at, tenant_id")?;
    let kbs = read("SELECT kb_id, tenant_id, name FROM knowledge_bases ORDER BY created_at, kb_id")?;
    let (tenant_keys, mut collisions) = assign("tenant", &tenants);
    let (kb_keys, kb_collisions) = assign("knowledge base", &kbs);
    collisions.extend(kb_collisions);
    let fail = |e| pg_error("cannot re-key names", e);
    tx.batch_execute(
        "UPDATE tenants SET name_key = chr(1) || tenant_id::text; UPDATE knowledge_bases SET name_key = chr(1) || kb_id::text;",
    )
    .map_err(fail)?;
    for (id, key) in &tenant_keys {
        let id: Uuid = id.parse().expect("read as a UUID");
        tx.execute("UPDATE tenants SET name_key = $2 WHERE tenant_id = $1", &[&id, key])
            .map_err(fail)?;
    }
    for (id, key) in &kb_keys {
        let id: Uuid = id.parse().expect("read as a UUID");
        tx.execute("UPDATE knowledge_bases SET name_key = $2 WHERE kb_id = $1", &[&id, key])
            .map_err(fail)?;
    }
    for c in &collisions {
        super::PgCatalog::insert_audit(tx, &report(c))?;
    }
    Ok(())
}
