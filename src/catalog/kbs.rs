//! Knowledge-base rows and folders.

use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use super::{NewAudit, SqliteCatalog, db_error, from_json, is_unique_violation, name_key, parse_uuid, to_json};
use crate::error::{Error, Result};
use crate::model::Overrides;

/// A KB as stored.
#[derive(Debug, Clone)]
pub struct KbRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub config: Overrides,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub stats: KbStats,
}

/// The statistics the KB engine maintains.
#[derive(Debug, Clone, Copy, Default)]
pub struct KbStats {
    pub document_count: u64,
    pub entity_count: u64,
    pub relation_count: u64,
    pub storage_bytes: u64,
}

const SELECT: &str = "SELECT kb_id, tenant_id, name, description, config, is_active, created_at, updated_at,
        created_by, document_count, entity_count, relation_count, storage_bytes
    FROM knowledge_bases";

type RawKb = (String, String, KbRecord);

fn from_row(r: &Row<'_>) -> rusqlite::Result<RawKb> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        KbRecord {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: r.get(2)?,
            description: r.get(3)?,
            config: from_json(&r.get::<_, String>(4)?)?,
            is_active: r.get(5)?,
            created_at: r.get(6)?,
            updated_at: r.get(7)?,
            created_by: r.get(8)?,
            stats: KbStats {
                document_count: r.get::<_, i64>(9)? as u64,
                entity_count: r.get::<_, i64>(10)? as u64,
                relation_count: r.get::<_, i64>(11)? as u64,
                storage_bytes: r.get::<_, i64>(12)? as u64,
            },
        },
    ))
}

fn finish((id, tenant, mut rec): RawKb) -> Result<KbRecord> {
    rec.id = parse_uuid(&id)?;
    rec.tenant_id = parse_uuid(&tenant)?;
    Ok(rec)
}

pub(super) fn name_conflict(name: &str) -> Error {
    Error::Conflict(format!(
        "a knowledge base named '{name}' already exists in this tenant (names are case-insensitive)"
    ))
}

/// The refusal of a KB beyond `max_kb_per_tenant`.
pub(super) fn quota_exceeded(count: i64, max_kbs: u64) -> Error {
    Error::Quota(format!(
        "quota exceeded: the tenant already has {count} knowledge base(s) and max_kb_per_tenant is {max_kbs}; \
         delete one or ask a super-admin to raise the quota (lrt tenant update T --set max_kb_per_tenant=N)"
    ))
}

/// A tenant's usage as the capacity quotas see it.
#[derive(Debug, Clone, Copy)]
pub struct TenantUsage {
    /// Documents the statistics count, plus those reserved by ingest runs still going.
    pub documents: u64,
    pub storage_bytes: u64,
    /// The KB's documents in the statistics.
    pub kb_documents: u64,
}

impl SqliteCatalog {
    /// Finds a KB by id, always within its tenant (never a global lookup by id).
    pub fn kb(&self, tenant: Uuid, id: Uuid) -> Result<Option<KbRecord>> {
        self.conn
            .prepare_cached(&format!("{SELECT} WHERE tenant_id = ?1 AND kb_id = ?2"))
            .and_then(|mut s| s.query_row([tenant.to_string(), id.to_string()], from_row))
            .optional()
            .map_err(|e| db_error("cannot read knowledge base", e))?
            .map(finish)
            .transpose()
    }

    /// The KB's documents reserved by ingest runs still going (or killed).
    pub fn reserved_documents(&self, tenant: Uuid, kb: Uuid) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT reserved_documents FROM knowledge_bases WHERE tenant_id = ?1 AND kb_id = ?2",
                [tenant.to_string(), kb.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|n| n.unwrap_or(0).max(0) as u64)
            .map_err(|e| db_error("cannot read reserved documents", e))
    }

    /// Finds a KB by name within a tenant, case-insensitively.
    pub fn kb_by_name(&self, tenant: Uuid, name: &str) -> Result<Option<KbRecord>> {
        self.conn
            .query_row(
                &format!("{SELECT} WHERE tenant_id = ?1 AND name_key = ?2"),
                [tenant.to_string(), name_key(name)],
                from_row,
            )
            .optional()
            .map_err(|e| db_error("cannot read knowledge base", e))?
            .map(finish)
            .transpose()
    }

    /// All KBs of a tenant, by name.
    pub fn kbs(&self, tenant: Uuid) -> Result<Vec<KbRecord>> {
        let read = |e| db_error("cannot list knowledge bases", e);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{SELECT} WHERE tenant_id = ?1 ORDER BY lower(name), name, kb_id"
            ))
            .map_err(read)?;
        let rows = stmt
            .query_map([tenant.to_string()], from_row)
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)?;
        rows.into_iter().map(finish).collect()
    }

    /// Inserts a KB and creates its folder, refusing when the tenant already has `max_kbs`.
    /// The count and the insert share one write transaction, so racing creates cannot both
    /// slip under the quota.
    pub fn create_kb(&mut self, rec: &KbRecord, max_kbs: u64, audit: &NewAudit) -> Result<()> {
        let result = self.write(|tx, layout| {
            let count: i64 = tx
                .query_row(
                    "SELECT count(*) FROM knowledge_bases WHERE tenant_id = ?1",
                    [rec.tenant_id.to_string()],
                    |r| r.get(0),
                )
                .map_err(|e| db_error("cannot count knowledge bases", e))?;
            if count as u64 >= max_kbs {
                return Err(quota_exceeded(count, max_kbs));
            }
            tx.execute(
                "INSERT INTO knowledge_bases (kb_id, tenant_id, name, name_key, description, config, is_active,
                    created_at, updated_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
                params![
                    rec.id.to_string(),
                    rec.tenant_id.to_string(),
                    rec.name,
                    name_key(&rec.name),
                    rec.description,
                    to_json(&rec.config),
                    rec.is_active,
                    rec.created_at,
                    rec.created_by,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    name_conflict(&rec.name)
                } else {
                    db_error("cannot create knowledge base", e)
                }
            })?;
            audit.insert(tx)?;
            layout.create_kb_dir(rec.tenant_id, rec.id)?;
            Ok(())
        });
        if result.is_err() && self.kb(rec.tenant_id, rec.id).ok().flatten().is_none() {
            let _ = self.layout.remove_dir(&self.layout.kb_dir(rec.tenant_id, rec.id));
        }
        result
    }

    /// Changes a KB inside one transaction: `change` sees the current row and edits it.
    pub fn update_kb(
        &mut self,
        tenant: Uuid,
        id: Uuid,
        audit: &NewAudit,
        change: impl FnOnce(&mut KbRecord) -> Result<()>,
    ) -> Result<KbRecord> {
        let now = crate::time::now();
        self.write(|tx, _| {
            let mut rec = tx
                .query_row(
                    &format!("{SELECT} WHERE tenant_id = ?1 AND kb_id = ?2"),
                    [tenant.to_string(), id.to_string()],
                    from_row,
                )
                .optional()
                .map_err(|e| db_error("cannot read knowledge base", e))?
                .map(finish)
                .transpose()?
                .ok_or_else(|| Error::NotFound("the knowledge base no longer exists".into()))?;
            change(&mut rec)?;
            rec.updated_at = now.clone();
            tx.execute(
                "UPDATE knowledge_bases SET name = ?3, name_key = ?4, description = ?5, config = ?6, updated_at = ?7
                 WHERE tenant_id = ?1 AND kb_id = ?2",
                params![
                    tenant.to_string(),
                    id.to_string(),
                    rec.name,
                    name_key(&rec.name),
                    rec.description,
                    to_json(&rec.config),
                    now,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    name_conflict(&rec.name)
                } else {
                    db_error("cannot update knowledge base", e)
                }
            })?;
            audit.insert(tx)?;
            Ok(rec)
        })
    }

    /// Admits `documents` new documents of `bytes` to KB `kb` if `check` accepts the tenant's
    /// usage as it stands, all in one `BEGIN IMMEDIATE` transaction, so concurrent processes
    /// cannot pass a quota between them. `check` is given the tenant's usage and may itself
    /// write (an upload queues its document there); `reserve` also holds the documents in
    /// `reserved_documents` until [`release_documents`](Self::release_documents) (an ingest
    /// run, whose documents the statistics count only when it ends).
    pub fn admit_documents<T>(
        &mut self,
        tenant: Uuid,
        kb: Uuid,
        reserve: u64,
        check: impl FnOnce(&TenantUsage) -> Result<T>,
    ) -> Result<T> {
        self.write(|tx, _| {
            let usage = tx
                .prepare_cached(
                    "SELECT coalesce(sum(document_count + reserved_documents), 0), coalesce(sum(storage_bytes), 0),
                            coalesce(sum(CASE WHEN kb_id = ?2 THEN document_count END), 0)
                     FROM knowledge_bases WHERE tenant_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([tenant.to_string(), kb.to_string()], |r| {
                        Ok(TenantUsage {
                            documents: r.get::<_, i64>(0)? as u64,
                            storage_bytes: r.get::<_, i64>(1)? as u64,
                            kb_documents: r.get::<_, i64>(2)? as u64,
                        })
                    })
                })
                .map_err(|e| db_error("cannot count documents", e))?;
            let value = check(&usage)?;
            if reserve > 0 {
                tx.execute(
                    "UPDATE knowledge_bases SET reserved_documents = reserved_documents + ?3
                     WHERE tenant_id = ?1 AND kb_id = ?2",
                    params![tenant.to_string(), kb.to_string(), reserve as i64],
                )
                .map_err(|e| db_error("cannot reserve documents", e))?;
            }
            Ok(value)
        })
    }

    /// Gives back documents [`admit_documents`](Self::admit_documents) reserved (`None`: all of
    /// the KB's, which only `doctor --repair` does, holding the KB's ingest lock).
    pub fn release_documents(&mut self, tenant: Uuid, kb: Uuid, documents: Option<u64>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE knowledge_bases SET reserved_documents = max(0, reserved_documents - coalesce(?3, reserved_documents))
                 WHERE tenant_id = ?1 AND kb_id = ?2",
                params![tenant.to_string(), kb.to_string(), documents.map(|n| n as i64)],
            )
            .map_err(|e| db_error("cannot release reserved documents", e))?;
        Ok(())
    }

    /// Records the statistics the KB engine measured (not audited: no user changed anything).
    pub fn set_kb_stats(&mut self, tenant: Uuid, id: Uuid, stats: KbStats) -> Result<()> {
        self.conn
            .execute(
                "UPDATE knowledge_bases SET document_count = ?3, entity_count = ?4, relation_count = ?5, storage_bytes = ?6
                 WHERE tenant_id = ?1 AND kb_id = ?2",
                params![
                    tenant.to_string(),
                    id.to_string(),
                    stats.document_count as i64,
                    stats.entity_count as i64,
                    stats.relation_count as i64,
                    stats.storage_bytes as i64
                ],
            )
            .map_err(|e| db_error("cannot update knowledge base statistics", e))?;
        Ok(())
    }

    /// Deletes a KB row, then its folder.
    pub fn delete_kb(&mut self, tenant: Uuid, id: Uuid, audit: &NewAudit) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "DELETE FROM knowledge_bases WHERE tenant_id = ?1 AND kb_id = ?2",
                [tenant.to_string(), id.to_string()],
            )
            .map_err(|e| db_error("cannot delete knowledge base", e))?;
            audit.insert(tx)
        })?;
        self.layout.remove_dir(&self.layout.kb_dir(tenant, id))
    }
}
