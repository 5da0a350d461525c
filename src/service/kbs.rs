//! Knowledge-base use-cases.

use uuid::Uuid;

use super::tenants::{DeleteReport, apply_settings};
use super::{Service, validate};
use crate::authz::{Actor, Need, OnInactive, Permission};
use crate::catalog::{KbRecord, KbStats, TenantRecord};
use crate::error::{Error, Result};
use crate::model::{self, KnowledgeBase, bytes_to_mb};

/// What `kb create` needs.
#[derive(Debug, Clone, Default)]
pub struct NewKb {
    pub name: String,
    pub description: Option<String>,
    pub set: Vec<(String, String)>,
}

/// What `kb update` may change.
#[derive(Debug, Clone, Default)]
pub struct KbUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub set: Vec<(String, String)>,
    pub unset: Vec<String>,
}

pub(super) fn new_record(actor: &Actor, tenant: Uuid, name: &str, description: Option<String>) -> KbRecord {
    let now = crate::time::now();
    KbRecord {
        id: Uuid::new_v4(),
        tenant_id: tenant,
        name: name.to_string(),
        description,
        config: Default::default(),
        is_active: true,
        created_at: now.clone(),
        updated_at: now,
        created_by: Some(actor.user.clone()),
        stats: KbStats::default(),
    }
}

fn kb_view(tenant: &TenantRecord, kb: &KbRecord, with_effective: bool) -> Result<KnowledgeBase> {
    let effective = model::effective_config(&[&tenant.config, &kb.config])?;
    Ok(KnowledgeBase {
        kb_id: kb.id.to_string(),
        tenant_id: kb.tenant_id.to_string(),
        kb_name: kb.name.clone(),
        description: kb.description.clone(),
        config: kb.config.clone(),
        effective_config: with_effective.then_some(effective),
        providers: None,
        is_active: kb.is_active,
        created_at: kb.created_at.clone(),
        updated_at: kb.updated_at.clone(),
        created_by: kb.created_by.clone(),
        document_count: kb.stats.document_count,
        entity_count: kb.stats.entity_count,
        relation_count: kb.stats.relation_count,
        storage_size_mb: bytes_to_mb(kb.stats.storage_bytes),
    })
}

impl Service {
    /// The folder holding a KB's data (for display; built from ids only).
    pub fn kb_folder(&self, kb: &KnowledgeBase) -> std::path::PathBuf {
        match (Uuid::parse_str(&kb.tenant_id), Uuid::parse_str(&kb.kb_id)) {
            (Ok(t), Ok(k)) => self.catalog.layout().kb_dir(t, k),
            _ => self.catalog.layout().root().to_path_buf(),
        }
    }

    /// Creates a KB and its folder; needs kb:create and room under `max_kb_per_tenant`.
    pub fn create_kb(&mut self, actor: &Actor, tenant: Option<&str>, new: NewKb) -> Result<KnowledgeBase> {
        let t = self.tenant_for(
            actor,
            tenant,
            Need::Permission(Permission::KbCreate),
            OnInactive::Refuse,
            "kb.create",
        )?;
        validate::name("knowledge base", &new.name)?;
        if let Some(d) = &new.description {
            validate::description(d)?;
        }
        let mut rec = super::kbs::new_record(actor, t.id, &new.name, new.description.filter(|d| !d.is_empty()));
        apply_settings(&mut rec.config, None, &new.set, &[])?;
        let view = kb_view(&t, &rec, true)?;
        let quota = model::effective_quota(&t.quota)?;
        let mut audit = self.audit_entry(actor, "kb.create", Some(t.id), Some(rec.id));
        audit.detail = Some(format!("name={}", rec.name));
        self.catalog
            .create_kb(&rec, u64::from(quota.max_kb_per_tenant), &audit)
            .inspect_err(|err| {
                if matches!(err, Error::Quota(_)) {
                    self.audit_denial(actor, "kb.create", Some(t.id), None, err);
                }
            })?;
        Ok(view)
    }

    /// The KBs of a tenant (any member may see them).
    pub fn list_kbs(&mut self, actor: &Actor, tenant: Option<&str>) -> Result<Vec<KnowledgeBase>> {
        let t = self.tenant_for(actor, tenant, Need::Member, OnInactive::Refuse, "kb.list")?;
        self.catalog
            .kbs(t.id)?
            .iter()
            .map(|kb| kb_view(&t, kb, false))
            .collect()
    }

    /// One KB, with its effective configuration.
    pub fn show_kb(&mut self, actor: &Actor, tenant: Option<&str>, kb: Option<&str>) -> Result<KnowledgeBase> {
        let t = self.tenant_for(actor, tenant, Need::KbMember, OnInactive::Refuse, "kb.show")?;
        let rec = self.kb_in(actor, &t, kb)?;
        let mut view = kb_view(&t, &rec, true)?;
        if let Some(effective) = &view.effective_config {
            // A provider that cannot be built (say, a missing API key) fails where it is used.
            if let Ok((llm, embedder)) = self.providers(&t, &rec, effective) {
                view.providers = Some(crate::model::KbProviders {
                    llm: crate::llm::ModelProvider::identity(&llm),
                    embedding: crate::llm::ModelProvider::identity(&embedder),
                });
            }
        }
        Ok(view)
    }

    /// Renames or reconfigures a KB. The guide has no kb:update permission; changing a KB
    /// is part of authoring it, so this needs kb:create.
    pub fn update_kb(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        update: KbUpdate,
    ) -> Result<KnowledgeBase> {
        if update.name.is_none() && update.description.is_none() && update.set.is_empty() && update.unset.is_empty() {
            return Err(Error::Usage(
                "nothing to update: pass --name, --description, --set or --unset".into(),
            ));
        }
        let t = self.tenant_for(
            actor,
            tenant,
            Need::Permission(Permission::KbCreate),
            OnInactive::Refuse,
            "kb.update",
        )?;
        let rec = self.kb_in(actor, &t, kb)?;
        if let Some(name) = &update.name {
            validate::name("knowledge base", name)?;
        }
        if let Some(d) = &update.description {
            validate::description(d)?;
        }
        let mut audit = self.audit_entry(actor, "kb.update", Some(t.id), Some(rec.id));
        let mut detail: Vec<String> = update.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        detail.extend(update.unset.iter().map(|k| format!("unset {k}")));
        if let Some(n) = &update.name {
            detail.push(format!("name={n}"));
        }
        audit.detail = Some(detail.join(" "));
        let updated = self.catalog.update_kb(t.id, rec.id, &audit, |kb| {
            if let Some(name) = &update.name {
                kb.name = name.clone();
            }
            if let Some(d) = &update.description {
                kb.description = (!d.is_empty()).then(|| d.clone());
            }
            apply_settings(&mut kb.config, None, &update.set, &update.unset)?;
            model::effective_config(&[&t.config, &kb.config]).map(drop)
        })?;
        // Its engine carries the old settings: the next query opens a new one.
        self.engines.cleanup_instance(rec.id);
        kb_view(&t, &updated, true)
    }

    /// Checks that the actor may delete the KB and says what would go.
    pub fn plan_kb_delete(&mut self, actor: &Actor, tenant: Option<&str>, kb: Option<&str>) -> Result<DeleteReport> {
        let t = self.tenant_for(
            actor,
            tenant,
            Need::Permission(Permission::KbDelete),
            OnInactive::Refuse,
            "kb.delete",
        )?;
        let rec = self.kb_in(actor, &t, kb)?;
        Ok(DeleteReport {
            dry_run: true,
            tenant_id: t.id.to_string(),
            tenant_name: t.name.clone(),
            kb_id: Some(rec.id.to_string()),
            kb_name: Some(rec.name.clone()),
            kb_count: 1,
            member_count: 0,
            document_count: rec.stats.document_count,
            entity_count: rec.stats.entity_count,
            relation_count: rec.stats.relation_count,
            bytes: crate::layout::dir_size(&self.catalog.layout().kb_dir(t.id, rec.id)),
        })
    }

    /// Deletes a KB and its folder; needs kb:delete.
    pub fn delete_kb(&mut self, actor: &Actor, tenant: Option<&str>, kb: Option<&str>) -> Result<DeleteReport> {
        let mut report = self.plan_kb_delete(actor, tenant, kb)?;
        let parse = |s: &str| Uuid::parse_str(s).map_err(|_| Error::Internal("bad id".into()));
        let (t, k) = (
            parse(&report.tenant_id)?,
            parse(report.kb_id.as_deref().unwrap_or_default())?,
        );
        let mut audit = self.audit_entry(actor, "kb.delete", Some(t), Some(k));
        audit.detail = report.kb_name.as_ref().map(|n| format!("name={n}"));
        self.catalog.delete_kb(t, k, &audit)?;
        self.engines.cleanup_instance(k);
        report.dry_run = false;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{service, user};
    use super::super::{NewTenant, TenantUpdate};
    use super::*;

    #[test]
    fn kb_quota_is_enforced_and_effective_config_layers() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = service(dir.path(), true);
        let root = user("root");
        let new = NewTenant {
            name: "acme".into(),
            settings: vec![("max_kb_per_tenant".into(), "1".into()), ("top_k".into(), "11".into())],
            ..Default::default()
        };
        svc.create_tenant(&root, new).unwrap();
        let kb = NewKb {
            name: "docs".into(),
            set: vec![("chunk_top_k".into(), "3".into())],
            ..Default::default()
        };
        let view = svc.create_kb(&root, Some("acme"), kb).unwrap();
        let eff = view.effective_config.unwrap();
        assert_eq!((eff.top_k, eff.chunk_top_k), (11, 3));
        let err = svc
            .create_kb(
                &root,
                Some("acme"),
                NewKb {
                    name: "more".into(),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(err, Error::Quota(_)), "{err}");
        let bad = NewKb {
            name: "x".into(),
            set: vec![("max_documents".into(), "1".into())],
            ..Default::default()
        };
        assert!(matches!(svc.create_kb(&root, Some("acme"), bad), Err(Error::Usage(_))));
        let raise = TenantUpdate {
            set: vec![("max_kb_per_tenant".into(), "2".into())],
            ..Default::default()
        };
        svc.update_tenant(&root, "acme", raise).unwrap();
        svc.create_kb(
            &root,
            Some("acme"),
            NewKb {
                name: "more".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }

    #[test]
    fn single_workspace_mode_has_a_builtin_kb_open_to_local_users() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = service(dir.path(), false);
        let kb = svc.show_kb(&user("someone"), None, None).unwrap();
        assert_eq!(kb.kb_name, "default");
        let mut svc = service(dir.path(), true);
        assert!(matches!(
            svc.show_kb(&user("someone"), None, None),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            svc.show_kb(&user("someone"), Some("default"), None),
            Err(Error::NotFound(_))
        ));
    }
}
