//! Tenant rows and folders.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{NewAudit, SqliteCatalog, db_error, from_json, is_unique_violation, name_key, parse_uuid, to_json};
use crate::authz::Role;
use crate::error::{Error, Result};
use crate::model::Overrides;

/// A tenant as stored, with its statistics summed over its KBs.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub config: Overrides,
    pub quota: Overrides,
    pub metadata: Map<String, Value>,
    pub is_active: bool,
    pub is_builtin: bool,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub kb_count: u64,
    pub total_documents: u64,
    pub total_storage_bytes: u64,
}

/// Which tenants `tenant list` returns.
#[derive(Debug, Clone)]
pub struct TenantListFilter<'a> {
    /// Only tenants this user is a member of (`None`: all, for super-admins).
    pub member: Option<&'a str>,
    pub page: u64,
    pub page_size: u64,
}

const SELECT: &str = "SELECT t.tenant_id, t.name, t.description, t.config, t.quota, t.metadata, t.is_active,
        t.is_builtin, t.created_at, t.updated_at, t.created_by,
        (SELECT count(*) FROM knowledge_bases k WHERE k.tenant_id = t.tenant_id),
        (SELECT coalesce(sum(document_count), 0) FROM knowledge_bases k WHERE k.tenant_id = t.tenant_id),
        (SELECT coalesce(sum(storage_bytes), 0) FROM knowledge_bases k WHERE k.tenant_id = t.tenant_id)
    FROM tenants t";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(String, TenantRecord)> {
    let id: String = r.get(0)?;
    Ok((
        id,
        TenantRecord {
            id: Uuid::nil(),
            name: r.get(1)?,
            description: r.get(2)?,
            config: from_json(&r.get::<_, String>(3)?)?,
            quota: from_json(&r.get::<_, String>(4)?)?,
            metadata: from_json(&r.get::<_, String>(5)?)?,
            is_active: r.get(6)?,
            is_builtin: r.get(7)?,
            created_at: r.get(8)?,
            updated_at: r.get(9)?,
            created_by: r.get(10)?,
            kb_count: r.get::<_, i64>(11)? as u64,
            total_documents: r.get::<_, i64>(12)? as u64,
            total_storage_bytes: r.get::<_, i64>(13)? as u64,
        },
    ))
}

fn finish((id, mut rec): (String, TenantRecord)) -> Result<TenantRecord> {
    rec.id = parse_uuid(&id)?;
    Ok(rec)
}

pub(super) fn name_conflict(name: &str) -> Error {
    Error::Conflict(format!(
        "a tenant named '{name}' already exists (names are case-insensitive)"
    ))
}

impl SqliteCatalog {
    /// Finds a tenant by id.
    pub fn tenant(&self, id: Uuid) -> Result<Option<TenantRecord>> {
        self.conn
            .prepare_cached(&format!("{SELECT} WHERE t.tenant_id = ?1"))
            .and_then(|mut s| s.query_row([id.to_string()], from_row))
            .optional()
            .map_err(|e| db_error("cannot read tenant", e))?
            .map(finish)
            .transpose()
    }

    /// Finds a tenant by name, case-insensitively.
    pub fn tenant_by_name(&self, name: &str) -> Result<Option<TenantRecord>> {
        self.conn
            .prepare_cached(&format!("{SELECT} WHERE t.name_key = ?1"))
            .and_then(|mut s| s.query_row([name_key(name)], from_row))
            .optional()
            .map_err(|e| db_error("cannot read tenant", e))?
            .map(finish)
            .transpose()
    }

    /// The built-in `default` tenant of single-workspace mode, if it was created.
    pub fn builtin_tenant(&self) -> Result<Option<TenantRecord>> {
        self.conn
            .query_row(&format!("{SELECT} WHERE t.is_builtin = 1"), [], from_row)
            .optional()
            .map_err(|e| db_error("cannot read tenant", e))?
            .map(finish)
            .transpose()
    }

    /// One page of tenants ordered by name, and the total count for the filter.
    pub fn tenants(&self, filter: &TenantListFilter<'_>) -> Result<(Vec<TenantRecord>, u64)> {
        // A page past any possible row is simply empty (SQLite treats a negative OFFSET as 0).
        let offset = filter
            .page
            .saturating_sub(1)
            .checked_mul(filter.page_size)
            .and_then(|o| i64::try_from(o).ok());
        let Some(offset) = offset else {
            let (_, total) = self.tenants(&TenantListFilter {
                page: 1,
                page_size: 1,
                ..filter.clone()
            })?;
            return Ok((Vec::new(), total));
        };
        let (where_clause, total_sql) = match filter.member {
            Some(_) => (
                " WHERE t.tenant_id IN (SELECT tenant_id FROM tenant_memberships WHERE user_id = ?3)",
                "SELECT count(*) FROM tenant_memberships WHERE user_id = ?1",
            ),
            None => (" WHERE ?3 IS NULL", "SELECT count(*) FROM tenants WHERE ?1 IS NULL"),
        };
        let sql = format!("{SELECT}{where_clause} ORDER BY lower(t.name), t.name, t.tenant_id LIMIT ?1 OFFSET ?2");
        let read = |e| db_error("cannot list tenants", e);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(read)?;
        let rows = stmt
            .query_map(params![filter.page_size as i64, offset, filter.member], from_row)
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)?;
        let total: i64 = self
            .conn
            .query_row(total_sql, [filter.member], |r| r.get(0))
            .map_err(read)?;
        Ok((rows.into_iter().map(finish).collect::<Result<_>>()?, total as u64))
    }

    /// Inserts a tenant, its folder, its first admin (if any) and the audit row, atomically.
    pub fn create_tenant(&mut self, rec: &TenantRecord, admin: Option<&str>, audit: &NewAudit) -> Result<()> {
        let id = rec.id;
        let now = rec.created_at.clone();
        let result = self.write(|tx, layout| {
            tx.execute(
                "INSERT INTO tenants (tenant_id, name, name_key, description, config, quota, metadata, is_active,
                    is_builtin, created_at, updated_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
                params![
                    id.to_string(),
                    rec.name,
                    name_key(&rec.name),
                    rec.description,
                    to_json(&rec.config),
                    to_json(&rec.quota),
                    to_json(&rec.metadata),
                    rec.is_active,
                    rec.is_builtin,
                    now,
                    rec.created_by,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    name_conflict(&rec.name)
                } else {
                    db_error("cannot create tenant", e)
                }
            })?;
            if let Some(user) = admin {
                super::members::insert(tx, id, user, Role::Admin, rec.created_by.as_deref(), &now)?;
            }
            audit.insert(tx)?;
            layout.create_tenant_dir(id)?;
            Ok(())
        });
        if result.is_err() && self.tenant(id).ok().flatten().is_none() {
            let _ = self.layout.remove_dir(&self.layout.tenant_dir(id));
        }
        result
    }

    /// Changes a tenant inside one transaction: `change` sees the current row and edits it.
    pub fn update_tenant(
        &mut self,
        id: Uuid,
        audit: &NewAudit,
        change: impl FnOnce(&mut TenantRecord) -> Result<()>,
    ) -> Result<TenantRecord> {
        let now = crate::time::now();
        self.write(|tx, _| {
            // Re-read under the write lock so concurrent updates are not lost.
            let mut rec = tx
                .query_row(&format!("{SELECT} WHERE t.tenant_id = ?1"), [id.to_string()], from_row)
                .optional()
                .map_err(|e| db_error("cannot read tenant", e))?
                .map(finish)
                .transpose()?
                .ok_or_else(|| Error::NotFound("the tenant no longer exists".into()))?;
            change(&mut rec)?;
            rec.updated_at = now.clone();
            tx.execute(
                "UPDATE tenants SET name = ?2, name_key = ?3, description = ?4, config = ?5, quota = ?6,
                    metadata = ?7, is_active = ?8, updated_at = ?9 WHERE tenant_id = ?1",
                params![
                    id.to_string(),
                    rec.name,
                    name_key(&rec.name),
                    rec.description,
                    to_json(&rec.config),
                    to_json(&rec.quota),
                    to_json(&rec.metadata),
                    rec.is_active,
                    now,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    name_conflict(&rec.name)
                } else {
                    db_error("cannot update tenant", e)
                }
            })?;
            audit.insert(tx)?;
            Ok(rec)
        })
    }

    /// Deletes a tenant with its KBs and memberships, then its folder.
    pub fn delete_tenant(&mut self, id: Uuid, audit: &NewAudit) -> Result<()> {
        self.write(|tx, _| {
            tx.execute("DELETE FROM tenants WHERE tenant_id = ?1", [id.to_string()])
                .map_err(|e| db_error("cannot delete tenant", e))?;
            audit.insert(tx)
        })?;
        self.layout.remove_dir(&self.layout.tenant_dir(id))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::with_temp_catalog;
    use crate::model::Outcome;

    pub(crate) fn record(name: &str) -> TenantRecord {
        let now = crate::time::now();
        TenantRecord {
            id: Uuid::new_v4(),
            name: name.into(),
            description: None,
            config: Map::new(),
            quota: Map::new(),
            metadata: Map::new(),
            is_active: true,
            is_builtin: false,
            created_at: now.clone(),
            updated_at: now,
            created_by: Some("root".into()),
            kb_count: 0,
            total_documents: 0,
            total_storage_bytes: 0,
        }
    }

    fn audit() -> NewAudit {
        NewAudit {
            user: "root".into(),
            real_user: None,
            action: "test".into(),
            tenant_id: None,
            kb_id: None,
            outcome: Outcome::Ok,
            detail: None,
            api_key_id: None,
        }
    }

    #[test]
    fn names_are_unique_case_insensitively_and_nothing_is_left_behind() {
        with_temp_catalog(|c| {
            c.create_tenant(&record("Acme"), Some("alice"), &audit()).unwrap();
            let dup = record("ACME");
            let err = c.create_tenant(&dup, None, &audit()).unwrap_err();
            assert!(matches!(err, Error::Conflict(_)), "{err}");
            assert!(!c.layout().tenant_dir(dup.id).exists());
            assert_eq!(c.tenant_by_name("acme").unwrap().unwrap().name, "Acme");
        });
    }

    #[test]
    fn list_pages_and_filters_by_membership() {
        with_temp_catalog(|c| {
            for name in ["c", "a", "b"] {
                let admin = (name != "b").then_some("alice");
                c.create_tenant(&record(name), admin, &audit()).unwrap();
            }
            let all = TenantListFilter {
                member: None,
                page: 1,
                page_size: 2,
            };
            let (page, total) = c.tenants(&all).unwrap();
            assert_eq!(
                (page.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), total),
                (vec!["a", "b"], 3)
            );
            let mine = TenantListFilter {
                member: Some("alice"),
                page: 1,
                page_size: 10,
            };
            let (page, total) = c.tenants(&mine).unwrap();
            assert_eq!(
                (page.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), total),
                (vec!["a", "c"], 2)
            );
        });
    }
}
