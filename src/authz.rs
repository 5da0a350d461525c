//! Roles, permissions and the one decision function every command goes through.
//!
//! `decide` is pure: it gets the facts (who acts, their role in the tenant, whether the
//! tenant is active) and answers. `service::Service::authorize` gathers those facts from the
//! catalog, calls `decide`, and audits denials; nothing else grants or refuses access.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A member's role in a tenant, as in the guide's RBAC table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Role {
    ViewerReadonly,
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Viewer, Role::ViewerReadonly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
            Role::ViewerReadonly => "viewer_readonly",
        }
    }

    /// The permissions of this role, exactly as the guide's table lists them.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &Permission::ALL,
            Role::Editor => &[
                KbCreate,
                KbDelete,
                DocumentCreate,
                DocumentUpdate,
                DocumentDelete,
                DocumentRead,
                QueryRun,
            ],
            Role::Viewer => &[DocumentRead, QueryRun],
            Role::ViewerReadonly => &[QueryRun],
        }
    }

    pub fn has(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            Error::Usage(format!(
                "unknown role {s:?}; roles are admin, editor, viewer, viewer_readonly"
            ))
        })
    }
}

/// A permission of the guide's RBAC table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    TenantManage,
    TenantManageMembers,
    TenantManageBilling,
    KbCreate,
    KbDelete,
    DocumentCreate,
    DocumentUpdate,
    DocumentDelete,
    DocumentRead,
    QueryRun,
}

impl Permission {
    pub const ALL: [Permission; 10] = [
        Permission::TenantManage,
        Permission::TenantManageMembers,
        Permission::TenantManageBilling,
        Permission::KbCreate,
        Permission::KbDelete,
        Permission::DocumentCreate,
        Permission::DocumentUpdate,
        Permission::DocumentDelete,
        Permission::DocumentRead,
        Permission::QueryRun,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TenantManage => "tenant:manage",
            Permission::TenantManageMembers => "tenant:manage_members",
            Permission::TenantManageBilling => "tenant:manage_billing",
            Permission::KbCreate => "kb:create",
            Permission::KbDelete => "kb:delete",
            Permission::DocumentCreate => "document:create",
            Permission::DocumentUpdate => "document:update",
            Permission::DocumentDelete => "document:delete",
            Permission::DocumentRead => "document:read",
            Permission::QueryRun => "query:run",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = Permission::ALL.iter().map(|p| p.as_str()).collect();
            Error::Usage(format!("unknown permission {s:?}; permissions are {}", all.join(", ")))
        })
    }
}

/// Who is acting. Built by an adapter (CLI identity, later a verified JWT) and passed to
/// every service call; roles are never part of it: they are read from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub super_admin: bool,
    /// The super-admin who is acting as `user` through `--as`, if any.
    pub real_user: Option<String>,
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any member may see its tenant and its KBs.
    Member,
    Permission(Permission),
    /// Creating, (de)activating and deleting tenants, and changing quotas.
    SuperAdmin,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Member => f.write_str("membership"),
            Need::Permission(p) => p.fmt(f),
            Need::SuperAdmin => f.write_str("super-admin"),
        }
    }
}

/// The facts about one tenant that a decision needs.
#[derive(Debug, Clone, Copy)]
pub struct TenantFacts<'a> {
    pub name: &'a str,
    pub is_active: bool,
    /// The actor's role there, from the membership table.
    pub role: Option<Role>,
}

/// Whether an operation may run against an inactive tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInactive {
    Refuse,
    /// Reading the tenant's own record, activating and deleting it.
    Allow,
}

/// The decision. Order matters: an actor who cannot see the tenant learns nothing about it
/// (not found, whatever else is true); then deactivation; then the role.
pub fn decide(actor: &Actor, tenant: TenantFacts<'_>, need: Need, on_inactive: OnInactive) -> Result<()> {
    if !actor.super_admin && tenant.role.is_none() {
        return Err(Error::NotFound(format!("tenant '{}' not found", tenant.name)));
    }
    if !tenant.is_active && on_inactive == OnInactive::Refuse {
        return Err(Error::Forbidden(format!(
            "tenant '{}' is deactivated; a super-admin can run `lrt tenant activate {}`",
            tenant.name, tenant.name
        )));
    }
    if actor.super_admin {
        return Ok(());
    }
    let role = tenant.role.expect("checked above");
    let allowed = match need {
        Need::Member => true,
        Need::Permission(p) => role.has(p),
        Need::SuperAdmin => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "permission denied: {} needs {need} on tenant '{}', and role '{role}' does not have it",
            actor.user, tenant.name
        )))
    }
}

/// Super-admin-only operations outside any tenant (creating tenants).
pub fn require_super_admin(actor: &Actor, what: &str) -> Result<()> {
    if actor.super_admin {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "permission denied: only super-admins can {what} (you are '{}')",
            actor.user
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(super_admin: bool) -> Actor {
        Actor {
            user: "u".into(),
            super_admin,
            real_user: None,
        }
    }

    fn facts(role: Option<Role>, is_active: bool) -> TenantFacts<'static> {
        TenantFacts {
            name: "acme",
            is_active,
            role,
        }
    }

    #[test]
    fn role_table_matches_the_guide() {
        use Permission::*;
        assert_eq!(Role::Admin.permissions().len(), 10);
        assert!(Role::Editor.has(KbCreate) && Role::Editor.has(DocumentDelete));
        assert!(!Role::Editor.has(TenantManage) && !Role::Editor.has(TenantManageMembers));
        assert_eq!(Role::Viewer.permissions(), &[DocumentRead, QueryRun]);
        assert_eq!(Role::ViewerReadonly.permissions(), &[QueryRun]);
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), p);
        }
    }

    #[test]
    fn non_member_sees_not_found_even_when_inactive() {
        let e = decide(&actor(false), facts(None, false), Need::Member, OnInactive::Refuse).unwrap_err();
        assert!(matches!(e, Error::NotFound(_)));
    }

    #[test]
    fn inactive_tenant_refuses_even_super_admins() {
        let e = decide(&actor(true), facts(None, false), Need::Member, OnInactive::Refuse).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)));
        assert!(decide(&actor(true), facts(None, false), Need::SuperAdmin, OnInactive::Allow).is_ok());
    }

    #[test]
    fn missing_permission_is_named() {
        let need = Need::Permission(Permission::KbCreate);
        let e = decide(&actor(false), facts(Some(Role::Viewer), true), need, OnInactive::Refuse).unwrap_err();
        assert!(e.to_string().contains("kb:create"), "{e}");
        assert!(decide(&actor(false), facts(Some(Role::Editor), true), need, OnInactive::Refuse).is_ok());
        assert!(
            decide(
                &actor(false),
                facts(Some(Role::Admin), true),
                Need::SuperAdmin,
                OnInactive::Refuse
            )
            .is_err()
        );
    }
}
