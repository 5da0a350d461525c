//! Membership use-cases.

use super::{Service, validate};
use crate::authz::{Actor, Need, OnInactive, Permission, Role};
use crate::error::Result;
use crate::model::Member;

const MANAGE: Need = Need::Permission(Permission::TenantManageMembers);

impl Service {
    /// Adds a member with a role; needs tenant:manage_members.
    pub fn add_member(&mut self, actor: &Actor, tenant: Option<&str>, user: &str, role: Role) -> Result<Member> {
        let t = self.tenant_for(actor, tenant, MANAGE, OnInactive::Refuse, "member.add")?;
        validate::user_id(user)?;
        let mut audit = self.audit_entry(actor, "member.add", Some(t.id), None);
        audit.detail = Some(format!("user={user} role={role}"));
        self.catalog.add_member(t.id, user, role, &actor.user, &audit)
    }

    /// The members of a tenant; any member may see them (they stay inside the tenant).
    pub fn list_members(&mut self, actor: &Actor, tenant: Option<&str>) -> Result<Vec<Member>> {
        let t = self.tenant_for(actor, tenant, Need::Member, OnInactive::Refuse, "member.list")?;
        self.catalog.members(t.id)
    }

    /// Changes a member's role; the last admin cannot be demoted.
    pub fn update_member(&mut self, actor: &Actor, tenant: Option<&str>, user: &str, role: Role) -> Result<Member> {
        let t = self.tenant_for(actor, tenant, MANAGE, OnInactive::Refuse, "member.update")?;
        let mut audit = self.audit_entry(actor, "member.update", Some(t.id), None);
        audit.detail = Some(format!("user={user} role={role}"));
        self.catalog.set_role(t.id, user, role, &audit)
    }

    /// Checks that the actor may remove the member and returns the membership.
    pub fn plan_member_remove(&mut self, actor: &Actor, tenant: Option<&str>, user: &str) -> Result<Member> {
        let t = self.tenant_for(actor, tenant, MANAGE, OnInactive::Refuse, "member.remove")?;
        self.catalog
            .members(t.id)?
            .into_iter()
            .find(|m| m.user_id == user)
            .ok_or_else(|| crate::error::Error::NotFound(format!("'{user}' is not a member of tenant '{}'", t.name)))
    }

    /// Removes a member; the last admin cannot be removed.
    pub fn remove_member(&mut self, actor: &Actor, tenant: Option<&str>, user: &str) -> Result<Member> {
        let member = self.plan_member_remove(actor, tenant, user)?;
        let t = uuid::Uuid::parse_str(&member.tenant_id).map_err(|_| crate::error::Error::Internal("bad id".into()))?;
        let mut audit = self.audit_entry(actor, "member.remove", Some(t), None);
        audit.detail = Some(format!("user={user} role={}", member.role));
        self.catalog.remove_member(t, user, &audit)?;
        Ok(member)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{acme, user};
    use super::*;
    use crate::error::Error;

    #[test]
    fn last_admin_is_protected() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = acme(dir.path());
        let alice = user("alice");
        let t = Some("acme");
        assert!(matches!(
            svc.update_member(&alice, t, "alice", Role::Editor),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(svc.remove_member(&alice, t, "alice"), Err(Error::Conflict(_))));
        svc.add_member(&alice, t, "bob", Role::Admin).unwrap();
        assert!(matches!(
            svc.add_member(&alice, t, "bob", Role::Viewer),
            Err(Error::Conflict(_))
        ));
        svc.update_member(&alice, t, "alice", Role::Viewer).unwrap();
        assert!(matches!(
            svc.add_member(&alice, t, "carol", Role::Viewer),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            svc.remove_member(&user("bob"), t, "nobody"),
            Err(Error::NotFound(_))
        ));
    }
}
