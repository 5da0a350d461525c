//! Who am I, what may a user do, and which tenant/KB commands use by default.

use serde::Serialize;

use super::Service;
use crate::authz::{self, Actor, Need, OnInactive, Permission, Role};
use crate::config::Settings;
use crate::error::{Error, Result};

/// `lrt whoami`.
#[derive(Debug, Clone, Serialize)]
pub struct WhoAmI {
    pub user: String,
    pub real_user: Option<String>,
    pub super_admin: bool,
    pub multi_tenant: bool,
    pub memberships: Vec<MembershipView>,
    pub context: Option<ContextView>,
    /// The API key the request authenticated with; `memberships` then shows only its tenant.
    pub api_key_id: Option<String>,
    /// The one KB that key is limited to (it may not list its tenant's KBs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_kb_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MembershipView {
    pub tenant_id: String,
    pub tenant_name: String,
    pub role: Role,
    /// `open_workspace` when the role comes from no membership but from single-workspace
    /// mode's built-in workspace being open to the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<&'static str>,
}

/// The current tenant/KB chosen with `lrt use`.
#[derive(Debug, Clone, Serialize)]
pub struct ContextView {
    pub tenant_id: String,
    pub tenant_name: String,
    pub kb_id: Option<String>,
    pub kb_name: Option<String>,
}

/// `lrt auth can-i`.
#[derive(Debug, Clone, Serialize)]
pub struct CanI {
    pub user: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub kb_id: Option<String>,
    pub permission: String,
    pub allowed: bool,
    pub reason: String,
}

impl Service {
    /// `lrt token issue`: only super-admins mint tokens; the issue (or its denial) is audited.
    pub fn authorize_token_issue(&self, actor: &Actor, user: &str) -> Result<()> {
        if let Err(err) = authz::require_super_admin(actor, "issue tokens") {
            self.audit_denial(actor, "token.issue", None, None, &err);
            return Err(err);
        }
        super::validate::user_id(user)?;
        let mut entry = self.audit_entry(actor, "token.issue", None, None);
        entry.detail = Some(format!("user={user}"));
        self.catalog.audit(&entry)
    }

    pub fn whoami(&self, actor: &Actor) -> Result<WhoAmI> {
        let mut memberships: Vec<MembershipView> = self
            .catalog
            .memberships(&actor.user)?
            .into_iter()
            .filter(|(id, _, _)| actor.key.is_none_or(|k| k.tenant == *id))
            .map(|(id, name, role)| MembershipView {
                tenant_id: id.to_string(),
                tenant_name: name,
                // What a key's requests get: the lower of its role and the creator's.
                role: actor.key.map_or(role, |k| role.min(k.role)),
                via: None,
            })
            .collect();
        if let Some(t) = self.catalog.builtin_tenant()?
            && actor.key.is_none_or(|k| k.tenant == t.id)
            && !memberships.iter().any(|m| m.tenant_id == t.id.to_string())
            && let Some(role) = self.role_of(&actor.user, &t, actor.remote)?
        {
            memberships.push(MembershipView {
                tenant_id: t.id.to_string(),
                tenant_name: t.name,
                role: actor.key.map_or(role, |k| role.min(k.role)),
                via: Some("open_workspace"),
            });
        }
        Ok(WhoAmI {
            user: actor.user.clone(),
            real_user: actor.real_user.clone(),
            super_admin: actor.super_admin,
            multi_tenant: self.settings.multi_tenant.value,
            memberships,
            context: match actor.key {
                None => self.context(actor)?,
                Some(_) => None,
            },
            api_key_id: actor.key.map(|k| k.id.to_string()),
            api_key_kb_id: actor.key.and_then(|k| k.kb).map(|kb| kb.to_string()),
        })
    }

    /// The saved context, if it still names something the actor can see.
    pub fn context(&self, actor: &Actor) -> Result<Option<ContextView>> {
        let (Some(t), kb) = self.catalog.context(&actor.user)? else {
            return Ok(None);
        };
        let Some(tenant) = self.catalog.tenant(t)? else {
            return Ok(None);
        };
        if !actor.super_admin && self.role_of(&actor.user, &tenant, actor.remote)?.is_none() {
            return Ok(None);
        }
        let kb = match kb {
            Some(k) => self.catalog.kb(t, k)?,
            None => None,
        };
        Ok(Some(ContextView {
            tenant_id: tenant.id.to_string(),
            tenant_name: tenant.name,
            kb_id: kb.as_ref().map(|k| k.id.to_string()),
            kb_name: kb.map(|k| k.name),
        }))
    }

    /// `lrt use TENANT [KB]`: remembers them as the actor's defaults.
    pub fn use_context(&mut self, actor: &Actor, tenant: &str, kb: Option<&str>) -> Result<ContextView> {
        let t = self.tenant_for(actor, Some(tenant), Need::Member, OnInactive::Refuse, "use")?;
        let kb = kb.map(|k| self.kb_in(actor, &t, Some(k))).transpose()?;
        self.catalog
            .set_context(&actor.user, Some(t.id), kb.as_ref().map(|k| k.id))?;
        Ok(ContextView {
            tenant_id: t.id.to_string(),
            tenant_name: t.name,
            kb_id: kb.as_ref().map(|k| k.id.to_string()),
            kb_name: kb.map(|k| k.name),
        })
    }

    /// `lrt use --clear`.
    pub fn clear_context(&mut self, actor: &Actor) -> Result<()> {
        self.catalog.set_context(&actor.user, None, None)
    }

    /// Answers "may `subject` do `permission` in this tenant?" through the same decision
    /// function commands use. The asker must see the tenant; asking about another user needs
    /// super-admin or tenant:manage_members there.
    pub fn can_i(
        &mut self,
        asker: &Actor,
        subject: Option<&str>,
        permission: Permission,
        tenant: Option<&str>,
        kb: Option<&str>,
    ) -> Result<CanI> {
        let t = self.tenant_for(asker, tenant, Need::Member, OnInactive::Allow, "auth.can-i")?;
        let kb = kb.map(|k| self.kb_in(asker, &t, Some(k))).transpose()?;
        let subject = match subject {
            Some(other) if other != asker.user => {
                super::validate::user_id(other)?;
                let need = Need::Permission(Permission::TenantManageMembers);
                self.authorize(asker, &t, None, need, OnInactive::Allow, "auth.can-i")
                    .map_err(|_| Error::Forbidden(format!(
                        "permission denied: asking about another user needs super-admin or tenant:manage_members on '{}'",
                        t.name
                    )))?;
                Actor::user(other, self.is_super_admin(other))
            }
            _ => asker.clone(),
        };
        let facts = self.facts(&subject, &t, None)?;
        let decision = authz::decide(&subject, facts, Need::Permission(permission), OnInactive::Refuse);
        let reason = match &decision {
            Ok(()) if subject.super_admin => "super-admin".to_string(),
            Ok(()) => format!(
                "role '{}' has {permission}",
                facts.role.map(Role::as_str).unwrap_or("none")
            ),
            Err(Error::NotFound(_)) => format!("'{}' is not a member of '{}'", subject.user, t.name),
            Err(e) => e.to_string(),
        };
        Ok(CanI {
            user: subject.user,
            tenant_id: t.id.to_string(),
            tenant_name: t.name,
            kb_id: kb.map(|k| k.id.to_string()),
            permission: permission.to_string(),
            allowed: decision.is_ok(),
            reason,
        })
    }
}

/// The actor of a verified token's subject: the user id is validated and the super-admin
/// flag comes from the configuration, exactly as for the local identity. From the settings
/// alone; [`Service::token_actor`] adds the revocation check.
pub fn token_actor(settings: &Settings, subject: &str) -> Result<Actor> {
    super::validate::user_id(subject)
        .map_err(|_| Error::Unauthenticated("the token's subject is not a valid user id".into()))?;
    Ok(Actor {
        remote: true,
        ..Actor::user(subject, settings.super_admins.value.iter().any(|u| u == subject))
    })
}
