//! Reading the audit log: tenant admins see their tenants' rows, super-admins see all.

use super::{Page, Paging, Service};
use crate::authz::{Actor, Need, OnInactive, Permission, Role};
use crate::catalog::AuditFilter;
use crate::error::{Error, Result};
use crate::model::AuditEntry;

/// `lrt audit list` options.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub tenant: Option<String>,
    pub user: Option<String>,
    /// Already parsed to RFC 3339.
    pub since: Option<String>,
    pub paging: Paging,
}

impl Service {
    /// One page of audit entries, newest first.
    pub fn list_audit(&mut self, actor: &Actor, query: AuditQuery) -> Result<Page<AuditEntry>> {
        let tenants = match &query.tenant {
            Some(ident) => {
                let need = Need::Permission(Permission::TenantManage);
                // A deactivated tenant\'s log stays readable by super-admins only.
                let on_inactive = if actor.super_admin {
                    OnInactive::Allow
                } else {
                    OnInactive::Refuse
                };
                Some(vec![
                    self.tenant_for(actor, Some(ident), need, on_inactive, "audit.list")?.id,
                ])
            }
            None if actor.super_admin => None,
            None => {
                let mine: Vec<_> = self
                    .catalog
                    .memberships(&actor.user)?
                    .into_iter()
                    .filter(|(_, _, role)| *role == Role::Admin)
                    .map(|(id, _, _)| id)
                    .collect();
                if mine.is_empty() {
                    let err = Error::Forbidden(format!(
                        "permission denied: reading the audit log needs tenant:manage on a tenant, and '{}' is admin of none",
                        actor.user
                    ));
                    self.audit_denial(actor, "audit.list", None, None, &err);
                    return Err(err);
                }
                Some(mine)
            }
        };
        let filter = AuditFilter {
            tenants,
            user: query.user,
            since: query.since,
            limit: query.paging.page_size(),
            offset: query.paging.offset(),
        };
        let total = self.catalog.audit_count(&filter)?;
        let items = self.catalog.audit_entries(&filter)?;
        Ok(query.paging.wrap(items, total))
    }
}
