//! Roles, permissions and the one decision function every command goes through.
//!
//! `decide` is pure: it gets the facts (who acts, their role in the tenant, whether the
//! tenant is active, which KB is addressed) and answers. `service::Service::authorize` gathers
//! those facts from the catalog, calls `decide`, and audits denials; nothing else grants or
//! refuses access. API keys are not a second path: a key's request is an `Actor` carrying a
//! [`KeyScope`], and `decide` applies the scope and the role cap.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

    /// Whether the permission is exercised on one KB's content (documents, queries), which is
    /// all a KB-scoped API key may do.
    pub fn is_kb_level(self) -> bool {
        matches!(
            self,
            Permission::DocumentCreate
                | Permission::DocumentUpdate
                | Permission::DocumentDelete
                | Permission::DocumentRead
                | Permission::QueryRun
        )
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

/// Who is acting. Built by an adapter (CLI identity, a verified JWT, an API key) and passed to
/// every service call; member roles are never part of it: they are read from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user; for an API key, the key's creator, whose *current* membership caps the key.
    pub user: String,
    /// Always false for an API key, whoever created it: a key never acts outside its tenant.
    pub super_admin: bool,
    /// The super-admin who is acting as `user` through `--as`, if any.
    pub real_user: Option<String>,
    /// Set when the request authenticated with an API key.
    pub key: Option<KeyScope>,
    /// Authenticated by `lrt serve` (a token or an API key) rather than acting on this
    /// machine: the built-in workspace is not open to it unless configured so.
    pub remote: bool,
}

impl Actor {
    /// A user acting in their own name (no `--as`, no API key).
    pub fn user(user: impl Into<String>, super_admin: bool) -> Actor {
        Actor {
            user: user.into(),
            super_admin,
            real_user: None,
            key: None,
            remote: false,
        }
    }
}

/// What an API key allows, as stored with it. The key's role is a ceiling: the request gets
/// the lower of it and the creator's role in the tenant *now*, so demoting the creator demotes
/// their keys on the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyScope {
    pub id: Uuid,
    pub tenant: Uuid,
    /// A KB-scoped key sees only this KB, and only its documents and queries.
    pub kb: Option<Uuid>,
    pub role: Role,
    /// Whether the creator is a super-admin now (their cap is then admin, as they need no
    /// membership); the key itself never gets super-admin rights.
    pub creator_super_admin: bool,
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any member may see its tenant and its KBs.
    Member,
    /// Membership, to read one KB's record: unlike `Member`, a KB-scoped key may, for its KB.
    KbMember,
    Permission(Permission),
    /// Creating, (de)activating and deleting tenants, and changing quotas.
    SuperAdmin,
    /// Creating an API key with this role: the actor needs at least that role in the tenant,
    /// and must not be using a key (keys cannot mint keys).
    IssueKey(Role),
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Member | Need::KbMember => f.write_str("membership"),
            Need::Permission(p) => p.fmt(f),
            Need::SuperAdmin => f.write_str("super-admin"),
            Need::IssueKey(role) => write!(f, "role '{role}' or higher (to create an API key with that role)"),
        }
    }
}

/// The facts about one tenant that a decision needs.
#[derive(Debug, Clone, Copy)]
pub struct TenantFacts<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub is_active: bool,
    /// The actor's role there (for an API key, its creator's), from the membership table.
    pub role: Option<Role>,
    /// The KB the operation addresses, once it is known; `None` while deciding on the tenant.
    pub kb: Option<Uuid>,
}

/// Whether an operation may run against an inactive tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInactive {
    Refuse,
    /// Reading the tenant's own record, activating and deleting it.
    Allow,
}

/// The decision. Order matters: an actor who cannot see the tenant (or, with a KB-scoped key,
/// the KB) learns nothing about it (not found, whatever else is true); then deactivation; then
/// the role, which for an API key is the lower of the key's role and its creator's.
pub fn decide(actor: &Actor, tenant: TenantFacts<'_>, need: Need, on_inactive: OnInactive) -> Result<()> {
    let role = match &actor.key {
        None => tenant.role,
        Some(key) => {
            let outside = key.tenant != tenant.id || key.kb.is_some() && tenant.kb.is_some() && key.kb != tenant.kb;
            if outside {
                return Err(Error::NotFound(format!("tenant '{}' not found", tenant.name)));
            }
            let creator = if key.creator_super_admin {
                Some(Role::Admin)
            } else {
                tenant.role
            };
            creator.map(|c| c.min(key.role))
        }
    };
    if !actor.super_admin && role.is_none() {
        return Err(Error::NotFound(format!("tenant '{}' not found", tenant.name)));
    }
    if !tenant.is_active && on_inactive == OnInactive::Refuse {
        return Err(Error::Forbidden(format!(
            "tenant '{}' is deactivated; a super-admin can run `lrt tenant activate {}`",
            tenant.name, tenant.name
        )));
    }
    if let Some(key) = &actor.key {
        if matches!(need, Need::IssueKey(_)) {
            return Err(Error::Forbidden(
                "permission denied: an API key cannot create API keys; use your own identity".into(),
            ));
        }
        // Until the KB is known only KB-level work may go ahead; the KB is decided next.
        let kb_work = matches!(need, Need::KbMember) || matches!(need, Need::Permission(p) if p.is_kb_level());
        if key.kb.is_some() && tenant.kb.is_none() && !kb_work {
            return Err(Error::Forbidden(format!(
                "permission denied: this API key is limited to one knowledge base of tenant '{}' \
                 (its documents and queries); {need} needs a tenant-scoped key",
                tenant.name
            )));
        }
    }
    if actor.super_admin {
        return Ok(());
    }
    let role = role.expect("checked above");
    let allowed = match need {
        Need::Member | Need::KbMember => true,
        Need::Permission(p) => role.has(p),
        Need::SuperAdmin => false,
        Need::IssueKey(wanted) => role >= wanted,
    };
    if allowed {
        Ok(())
    } else {
        let via = if actor.key.is_some() {
            " (the lower of the API key's role and its creator's)"
        } else {
            ""
        };
        Err(Error::Forbidden(format!(
            "permission denied: {} needs {need} on tenant '{}', and role '{role}'{via} does not have it",
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
        Actor::user("u", super_admin)
    }

    const TENANT: Uuid = Uuid::from_u128(1);

    fn facts(role: Option<Role>, is_active: bool) -> TenantFacts<'static> {
        TenantFacts {
            id: TENANT,
            name: "acme",
            is_active,
            role,
            kb: None,
        }
    }

    fn key_actor(role: Role, kb: Option<Uuid>, creator_super_admin: bool) -> Actor {
        Actor {
            key: Some(KeyScope {
                id: Uuid::from_u128(9),
                tenant: TENANT,
                kb,
                role,
                creator_super_admin,
            }),
            ..actor(false)
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

    #[test]
    fn a_key_gets_the_lower_of_its_role_and_its_creators() {
        let read = Need::Permission(Permission::DocumentRead);
        let create = Need::Permission(Permission::DocumentCreate);
        let editor_key = key_actor(Role::Editor, None, false);
        assert!(decide(&editor_key, facts(Some(Role::Admin), true), create, OnInactive::Refuse).is_ok());
        // The creator was demoted to viewer: the editor key now reads but cannot write.
        assert!(decide(&editor_key, facts(Some(Role::Viewer), true), read, OnInactive::Refuse).is_ok());
        let e = decide(&editor_key, facts(Some(Role::Viewer), true), create, OnInactive::Refuse).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e}");
        // The creator left the tenant: the key sees nothing.
        let e = decide(&editor_key, facts(None, true), read, OnInactive::Refuse).unwrap_err();
        assert!(matches!(e, Error::NotFound(_)));
        // A super-admin's key is capped by its own role and never acts as super-admin.
        let root_key = key_actor(Role::Viewer, None, true);
        assert!(decide(&root_key, facts(None, true), read, OnInactive::Refuse).is_ok());
        assert!(decide(&root_key, facts(None, true), create, OnInactive::Refuse).is_err());
        assert!(
            decide(
                &key_actor(Role::Admin, None, true),
                facts(None, true),
                Need::SuperAdmin,
                OnInactive::Allow
            )
            .is_err()
        );
    }

    #[test]
    fn a_key_stays_inside_its_tenant_and_kb() {
        let (mine, other) = (Uuid::from_u128(5), Uuid::from_u128(6));
        let key = key_actor(Role::Admin, Some(mine), false);
        let query = Need::Permission(Permission::QueryRun);
        let mut f = facts(Some(Role::Admin), true);
        f.id = Uuid::from_u128(2);
        assert!(matches!(
            decide(&key, f, query, OnInactive::Refuse),
            Err(Error::NotFound(_))
        ));
        let mut f = facts(Some(Role::Admin), true);
        assert!(
            decide(&key, f, query, OnInactive::Refuse).is_ok(),
            "KB-level work waits for the KB"
        );
        let e = decide(&key, f, Need::Member, OnInactive::Refuse).unwrap_err();
        assert!(
            matches!(e, Error::Forbidden(_)),
            "tenant-level work needs a tenant key: {e}"
        );
        assert!(decide(&key, f, Need::KbMember, OnInactive::Refuse).is_ok());
        f.kb = Some(other);
        assert!(matches!(
            decide(&key, f, Need::Member, OnInactive::Refuse),
            Err(Error::NotFound(_))
        ));
        f.kb = Some(mine);
        assert!(decide(&key, f, Need::Member, OnInactive::Refuse).is_ok());
    }

    #[test]
    fn keys_are_issued_up_to_ones_own_role_and_never_by_keys() {
        let viewer = facts(Some(Role::Viewer), true);
        assert!(decide(&actor(false), viewer, Need::IssueKey(Role::Viewer), OnInactive::Refuse).is_ok());
        assert!(decide(&actor(false), viewer, Need::IssueKey(Role::Editor), OnInactive::Refuse).is_err());
        assert!(
            decide(
                &actor(true),
                facts(None, true),
                Need::IssueKey(Role::Admin),
                OnInactive::Refuse
            )
            .is_ok()
        );
        let key = key_actor(Role::Admin, None, false);
        let e = decide(
            &key,
            facts(Some(Role::Admin), true),
            Need::IssueKey(Role::Viewer),
            OnInactive::Refuse,
        );
        assert!(matches!(e, Err(Error::Forbidden(_))));
    }
}
