//! Tenant memberships, and the last-admin rule.

use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

use super::{NewAudit, SqliteCatalog, db_error, is_unique_violation, parse_uuid};
use crate::authz::Role;
use crate::error::{Error, Result};
use crate::model::Member;

fn from_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String, Option<String>, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn finish(
    (tenant, user_id, role, created_at, created_by, updated_at): (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
    ),
) -> Result<Member> {
    Ok(Member {
        tenant_id: parse_uuid(&tenant)?.to_string(),
        user_id,
        role: role
            .parse()
            .map_err(|_| Error::Internal(format!("catalog holds an unknown role {role:?}")))?,
        created_at,
        created_by,
        updated_at,
    })
}

const SELECT: &str = "SELECT tenant_id, user_id, role, created_at, created_by, updated_at FROM tenant_memberships";

pub(super) fn insert(
    tx: &Transaction<'_>,
    tenant: Uuid,
    user: &str,
    role: Role,
    by: Option<&str>,
    now: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO tenant_memberships (id, tenant_id, user_id, role, created_at, created_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
        params![
            Uuid::new_v4().to_string(),
            tenant.to_string(),
            user,
            role.as_str(),
            now,
            by
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            already_member(user)
        } else {
            db_error("cannot add member", e)
        }
    })?;
    Ok(())
}

fn role_in(tx: &Transaction<'_>, tenant: Uuid, user: &str) -> Result<Role> {
    let role: Option<String> = tx
        .query_row(
            "SELECT role FROM tenant_memberships WHERE tenant_id = ?1 AND user_id = ?2",
            params![tenant.to_string(), user],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db_error("cannot read member", e))?;
    role.ok_or_else(|| Error::NotFound(format!("'{user}' is not a member of this tenant")))?
        .parse()
}

/// Refuses a change that would leave a tenant that has admins with none.
fn ensure_not_last_admin(tx: &Transaction<'_>, tenant: Uuid, user: &str, doing: &str) -> Result<()> {
    let admins: i64 = tx
        .query_row(
            "SELECT count(*) FROM tenant_memberships WHERE tenant_id = ?1 AND role = 'admin'",
            [tenant.to_string()],
            |r| r.get(0),
        )
        .map_err(|e| db_error("cannot count admins", e))?;
    last_admin_rule(admins, user, doing)
}

pub(super) fn already_member(user: &str) -> Error {
    Error::Conflict(format!(
        "'{user}' is already a member of this tenant; use `lrt member update {user} --role ROLE` to change the role"
    ))
}

/// Refuses a demotion or removal when the tenant has `admins` admins, this one among them.
pub(super) fn last_admin_rule(admins: i64, user: &str, doing: &str) -> Result<()> {
    if admins <= 1 {
        return Err(Error::Conflict(format!(
            "cannot {doing} '{user}': they are the tenant's last admin; make another member admin first"
        )));
    }
    Ok(())
}

/// The membership `add_member` just wrote.
pub(super) fn added(tenant: Uuid, user: &str, role: Role, by: &str, now: String) -> Member {
    Member {
        tenant_id: tenant.to_string(),
        user_id: user.to_string(),
        role,
        created_at: now.clone(),
        created_by: Some(by.to_string()),
        updated_at: now,
    }
}

impl SqliteCatalog {
    /// A user's role in a tenant, if they are a member.
    pub fn role(&self, tenant: Uuid, user: &str) -> Result<Option<Role>> {
        let role: Option<String> = self
            .conn
            .prepare_cached("SELECT role FROM tenant_memberships WHERE tenant_id = ?1 AND user_id = ?2")
            .and_then(|mut s| s.query_row(params![tenant.to_string(), user], |r| r.get(0)))
            .optional()
            .map_err(|e| db_error("cannot read membership", e))?;
        role.map(|r| r.parse()).transpose()
    }

    /// The members of a tenant, by user id.
    pub fn members(&self, tenant: Uuid) -> Result<Vec<Member>> {
        let read = |e| db_error("cannot list members", e);
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT} WHERE tenant_id = ?1 ORDER BY user_id"))
            .map_err(read)?;
        let rows = stmt
            .query_map([tenant.to_string()], from_row)
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)?;
        rows.into_iter().map(finish).collect()
    }

    /// Every tenant a user belongs to, as (tenant id, tenant name, role).
    pub fn memberships(&self, user: &str) -> Result<Vec<(Uuid, String, Role)>> {
        let read = |e| db_error("cannot list memberships", e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.tenant_id, t.name, m.role FROM tenant_memberships m JOIN tenants t USING (tenant_id)
                 WHERE m.user_id = ?1 ORDER BY lower(t.name), t.name, t.tenant_id",
            )
            .map_err(read)?;
        let rows = stmt
            .query_map([user], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)?;
        rows.into_iter()
            .map(|(id, name, role)| Ok((parse_uuid(&id)?, name, role.parse()?)))
            .collect()
    }

    pub fn add_member(&mut self, tenant: Uuid, user: &str, role: Role, by: &str, audit: &NewAudit) -> Result<Member> {
        let now = crate::time::now();
        self.write(|tx, _| {
            insert(tx, tenant, user, role, Some(by), &now)?;
            audit.insert(tx)
        })?;
        Ok(added(tenant, user, role, by, now))
    }

    /// Changes a member's role; demoting the last admin is a conflict.
    pub fn set_role(&mut self, tenant: Uuid, user: &str, role: Role, audit: &NewAudit) -> Result<Member> {
        let now = crate::time::now();
        self.write(|tx, _| {
            let current = role_in(tx, tenant, user)?;
            if current == Role::Admin && role != Role::Admin {
                ensure_not_last_admin(tx, tenant, user, "demote")?;
            }
            tx.execute(
                "UPDATE tenant_memberships SET role = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND user_id = ?2",
                params![tenant.to_string(), user, role.as_str(), now],
            )
            .map_err(|e| db_error("cannot update member", e))?;
            audit.insert(tx)?;
            tx.query_row(
                &format!("{SELECT} WHERE tenant_id = ?1 AND user_id = ?2"),
                params![tenant.to_string(), user],
                from_row,
            )
            .map_err(|e| db_error("cannot read member", e))
            .and_then(finish)
        })
    }

    /// Removes a member; removing the last admin is a conflict.
    pub fn remove_member(&mut self, tenant: Uuid, user: &str, audit: &NewAudit) -> Result<()> {
        self.write(|tx, _| {
            if role_in(tx, tenant, user)? == Role::Admin {
                ensure_not_last_admin(tx, tenant, user, "remove")?;
            }
            tx.execute(
                "DELETE FROM tenant_memberships WHERE tenant_id = ?1 AND user_id = ?2",
                params![tenant.to_string(), user],
            )
            .map_err(|e| db_error("cannot remove member", e))?;
            // Removal revokes: the member's keys must not come back if the user is added again.
            tx.execute(
                "UPDATE api_keys SET revoked_at = ?3, revoked_by = ?4
                 WHERE tenant_id = ?1 AND created_by = ?2 AND revoked_at IS NULL",
                params![tenant.to_string(), user, crate::time::now(), audit.user],
            )
            .map_err(|e| db_error("cannot revoke the member's API keys", e))?;
            audit.insert(tx)
        })
    }
}
