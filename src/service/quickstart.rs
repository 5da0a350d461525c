//! `lrt quickstart`: an idempotent demo set-up.

use serde::Serialize;

use super::{ContextView, NewKb, NewTenant, Service};
use crate::authz::{Actor, Role};
use crate::error::Result;
use crate::model::{KnowledgeBase, Member, Tenant};

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_KB: &str = "docs";
pub const DEMO_VIEWER: &str = "demo-viewer";

/// What quickstart set up (or found already set up).
#[derive(Debug, Clone, Serialize)]
pub struct Quickstart {
    pub created: bool,
    pub tenant: Tenant,
    pub kb: KnowledgeBase,
    pub members: Vec<Member>,
    pub context: ContextView,
}

impl Service {
    /// Creates (or reuses) the demo tenant, its `docs` KB, the actor as admin and a viewer
    /// member, and makes them the actor's current context.
    pub fn quickstart(&mut self, actor: &Actor) -> Result<Quickstart> {
        let mut created = false;
        if self.catalog.tenant_by_name(DEMO_TENANT)?.is_none() {
            let new = NewTenant {
                name: DEMO_TENANT.into(),
                description: Some("Demo tenant created by `lrt quickstart`".into()),
                admin: Some(actor.user.clone()),
                ..Default::default()
            };
            self.create_tenant(actor, new)?;
            created = true;
        }
        let tenant = Some(DEMO_TENANT);
        if !self
            .list_kbs(actor, tenant)?
            .iter()
            .any(|k| k.kb_name.eq_ignore_ascii_case(DEMO_KB))
        {
            let new = NewKb {
                name: DEMO_KB.into(),
                description: Some("Demo knowledge base".into()),
                set: vec![],
            };
            self.create_kb(actor, tenant, new)?;
            created = true;
        }
        if !self
            .list_members(actor, tenant)?
            .iter()
            .any(|m| m.user_id == DEMO_VIEWER)
        {
            self.add_member(actor, tenant, DEMO_VIEWER, Role::Viewer)?;
            created = true;
        }
        let context = self.use_context(actor, DEMO_TENANT, Some(DEMO_KB))?;
        Ok(Quickstart {
            created,
            tenant: self.show_tenant(actor, tenant)?,
            kb: self.show_kb(actor, tenant, Some(DEMO_KB))?,
            members: self.list_members(actor, tenant)?,
            context,
        })
    }
}
