//! The KBs an actor may query, as chat front ends list "models" (`lrt serve`'s Ollama- and
//! OpenAI-compatible APIs). Each KB is decided with the rule a question to it meets
//! (`query:run` in its tenant, then the KB itself, where a KB-scoped key is held to its KB), so
//! the list never names a KB the caller could not ask. A listing is not a request for any one
//! KB: what it leaves out is not a denial and is not audited.

use uuid::Uuid;

use super::Service;
use crate::authz::{self, Actor, Need, OnInactive, Permission};
use crate::catalog::{TenantListFilter, TenantRecord};
use crate::error::Result;

/// A KB the actor may query, with what a model listing shows of it.
#[derive(Debug, Clone)]
pub struct QueryableKb {
    pub tenant_id: Uuid,
    pub tenant: String,
    pub kb_id: Uuid,
    pub kb: String,
    pub description: Option<String>,
    pub updated_at: String,
    pub document_count: u64,
    pub storage_bytes: u64,
}

/// Tenants read per catalog page while listing a super-admin's KBs.
const PAGE: u64 = 1000;

impl Service {
    /// Every KB the actor may run queries on, by tenant name then KB name.
    pub fn queryable_kbs(&self, actor: &Actor) -> Result<Vec<QueryableKb>> {
        let tenants = self.candidate_tenants(actor)?;
        self.queryable_in(actor, tenants)
    }

    /// The KBs of one tenant (name or id) the actor may query, for a caller that names where to
    /// look (an agent's KB listing): a tenant the actor cannot see is not found, as everywhere.
    pub fn queryable_kbs_of(&mut self, actor: &Actor, tenant: &str) -> Result<Vec<QueryableKb>> {
        let t = self.tenant_for(actor, Some(tenant), Need::KbMember, OnInactive::Refuse, "kb.list")?;
        self.queryable_in(actor, vec![t])
    }

    fn queryable_in(&self, actor: &Actor, mut tenants: Vec<TenantRecord>) -> Result<Vec<QueryableKb>> {
        tenants.sort_by_key(|t| t.name.to_lowercase());
        let mut out = Vec::new();
        for t in tenants {
            let facts = self.facts(actor, &t, None)?;
            let need = Need::Permission(Permission::QueryRun);
            if authz::decide(actor, facts, need, OnInactive::Refuse).is_err() {
                continue;
            }
            let mut kbs = self.catalog.kbs(t.id)?;
            kbs.sort_by_key(|k| k.name.to_lowercase());
            for kb in kbs {
                let facts = self.facts(actor, &t, Some(kb.id))?;
                if authz::decide(actor, facts, Need::Member, OnInactive::Allow).is_err() {
                    continue;
                }
                out.push(QueryableKb {
                    tenant_id: t.id,
                    tenant: t.name.clone(),
                    kb_id: kb.id,
                    kb: kb.name,
                    description: kb.description,
                    updated_at: kb.updated_at,
                    document_count: kb.stats.document_count,
                    storage_bytes: kb.stats.storage_bytes,
                });
            }
        }
        Ok(out)
    }

    /// The tenants worth deciding on: a key's own, a super-admin's all, a user's memberships
    /// (and the built-in workspace, which may be open without one).
    fn candidate_tenants(&self, actor: &Actor) -> Result<Vec<TenantRecord>> {
        if let Some(key) = actor.key {
            return Ok(self.catalog.tenant(key.tenant)?.into_iter().collect());
        }
        let member = (!actor.super_admin).then_some(actor.user.as_str());
        let mut out: Vec<TenantRecord> = Vec::new();
        for page in 1.. {
            let filter = TenantListFilter {
                member,
                page,
                page_size: PAGE,
            };
            let (records, total) = self.catalog.tenants(&filter)?;
            let done = records.is_empty() || page * PAGE >= total;
            out.extend(records);
            if done {
                break;
            }
        }
        if let Some(builtin) = self.catalog.builtin_tenant()?
            && !out.iter().any(|t| t.id == builtin.id)
        {
            out.push(builtin);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{acme, user};
    use super::super::{NewKb, NewKey};
    use super::*;
    use crate::authz::Role;

    fn names(kbs: &[QueryableKb]) -> Vec<String> {
        kbs.iter().map(|k| format!("{}/{}", k.tenant, k.kb)).collect()
    }

    #[test]
    fn members_see_their_tenants_kbs_and_keys_their_scope() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = acme(dir.path());
        let root = user("root");
        let new_kb = |name: &str| NewKb {
            name: name.into(),
            description: None,
            set: vec![],
        };
        svc.create_kb(&root, Some("acme"), new_kb("zeta")).unwrap();
        let all = names(&svc.queryable_kbs(&root).unwrap());
        assert!(all.contains(&"acme/zeta".to_string()), "{all:?}");
        assert!(names(&svc.queryable_kbs(&user("stranger")).unwrap()).is_empty());

        let key = svc
            .create_key(
                &user("alice"),
                NewKey {
                    tenant: Some("acme".into()),
                    kb: Some("zeta".into()),
                    role: Role::Viewer,
                    name: None,
                    expires_in_secs: None,
                },
            )
            .unwrap();
        let keyed = svc.key_actor(&key.key).unwrap();
        assert_eq!(names(&svc.queryable_kbs(&keyed).unwrap()), ["acme/zeta"]);
    }
}
