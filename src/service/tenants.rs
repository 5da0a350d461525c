//! Tenant use-cases.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::paging::{Page, Paging};
use super::{BUILTIN_NAME, Service, validate};
use crate::authz::{self, Actor, Need, OnInactive, Permission};
use crate::catalog::{TenantListFilter, TenantRecord};
use crate::error::{Error, Result};
use crate::model::{self, Overrides, SettingsSection, Tenant, bytes_to_mb};

/// What `tenant create` needs.
#[derive(Debug, Clone, Default)]
pub struct NewTenant {
    pub name: String,
    pub description: Option<String>,
    pub metadata: Map<String, Value>,
    /// `--set key=value` pairs (config or quota keys) and the `--config-file` contents.
    pub settings: Vec<(String, String)>,
    pub config: Overrides,
    pub quota: Overrides,
    pub admin: Option<String>,
}

/// What `tenant update` may change. Fields are allow-listed: nothing else can be set.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub set: Vec<(String, String)>,
    pub unset: Vec<String>,
}

impl TenantUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.metadata.is_empty()
            && self.set.is_empty()
            && self.unset.is_empty()
    }
}

/// What a delete removes (or, with `--dry-run`, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct DeleteReport {
    pub dry_run: bool,
    pub tenant_id: String,
    pub tenant_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kb_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kb_name: Option<String>,
    pub kb_count: u64,
    pub member_count: u64,
    pub document_count: u64,
    pub entity_count: u64,
    pub relation_count: u64,
    pub bytes: u64,
}

pub(super) fn new_record(actor: &Actor, name: &str, description: Option<String>) -> TenantRecord {
    let now = crate::time::now();
    TenantRecord {
        id: Uuid::new_v4(),
        name: name.to_string(),
        description,
        config: Map::new(),
        quota: Map::new(),
        metadata: Map::new(),
        is_active: true,
        is_builtin: false,
        created_at: now.clone(),
        updated_at: now,
        created_by: Some(actor.user.clone()),
        kb_count: 0,
        total_documents: 0,
        total_storage_bytes: 0,
    }
}

pub(super) fn tenant_view(rec: &TenantRecord) -> Result<Tenant> {
    Ok(Tenant {
        tenant_id: rec.id.to_string(),
        tenant_name: rec.name.clone(),
        description: rec.description.clone(),
        config: model::effective_config(&[&rec.config])?,
        quota: model::effective_quota(&rec.quota)?,
        is_active: rec.is_active,
        created_at: rec.created_at.clone(),
        updated_at: rec.updated_at.clone(),
        created_by: rec.created_by.clone(),
        metadata: rec.metadata.clone(),
        kb_count: rec.kb_count,
        total_documents: rec.total_documents,
        total_storage_mb: bytes_to_mb(rec.total_storage_bytes),
        usage: None,
    })
}

/// Applies `--set`/`--unset` to config and quota overrides; returns whether a quota key was
/// touched (only super-admins may change quotas).
pub(super) fn apply_settings(
    config: &mut Overrides,
    mut quota: Option<&mut Overrides>,
    set: &[(String, String)],
    unset: &[String],
) -> Result<bool> {
    let mut touched_quota = false;
    let target = |key: &str| -> Result<(SettingsSection, bool)> {
        match model::section_of(key) {
            Some(SettingsSection::Quota) if quota.is_none() => Err(Error::Usage(format!(
                "{key} is a tenant quota, not a knowledge-base setting; set it with `lrt tenant update TENANT --set {key}=N`"
            ))),
            Some(section) => Ok((section, section == SettingsSection::Quota)),
            None => {
                let mut known = model::known_keys(SettingsSection::Config);
                if quota.is_some() {
                    known.extend(model::known_keys(SettingsSection::Quota));
                }
                Err(Error::Usage(format!(
                    "unknown setting {key:?}; known settings: {}",
                    known.join(", ")
                )))
            }
        }
    };
    let mut changes = Vec::new();
    for (key, raw) in set {
        let (section, is_quota) = target(key)?;
        changes.push((key.clone(), Some(model::parse_setting(section, key, raw)?), is_quota));
    }
    for key in unset {
        let (_, is_quota) = target(key)?;
        changes.push((key.clone(), None, is_quota));
    }
    for (key, value, is_quota) in changes {
        touched_quota |= is_quota;
        let map = if is_quota {
            quota.as_deref_mut().expect("checked by target")
        } else {
            &mut *config
        };
        match value {
            Some(v) => map.insert(key, v),
            None => map.remove(&key),
        };
    }
    Ok(touched_quota)
}

fn metadata_from(pairs: &[(String, String)], into: &mut Map<String, Value>) -> Result<()> {
    for (k, v) in pairs {
        into.insert(k.clone(), Value::String(v.clone()));
    }
    validate::metadata(into)
}

/// Whether two names are one name to the catalog (case, compatibility forms, look-alikes).
fn same_name(a: &str, b: &str) -> bool {
    crate::catalog::name_key(a) == crate::catalog::name_key(b)
}

/// A name a new tenant may take: valid, and not the built-in tenant's (which single-workspace
/// mode finds by that name).
pub(super) fn check_new_tenant_name(name: &str) -> Result<()> {
    validate::name("tenant", name)?;
    if same_name(name, BUILTIN_NAME) {
        return Err(Error::Conflict(format!(
            "the name '{BUILTIN_NAME}' is reserved for the built-in single-workspace tenant"
        )));
    }
    Ok(())
}

impl Service {
    /// Creates a tenant (super-admins only), optionally with its first admin.
    pub fn create_tenant(&mut self, actor: &Actor, new: NewTenant) -> Result<Tenant> {
        if let Err(err) = authz::require_super_admin(actor, "create tenants") {
            self.audit_denial(actor, "tenant.create", None, None, &err);
            return Err(err);
        }
        check_new_tenant_name(&new.name)?;
        if let Some(d) = &new.description {
            validate::description(d)?;
        }
        validate::metadata(&new.metadata)?;
        if let Some(admin) = &new.admin {
            validate::user_id(admin)?;
        }
        model::check_overrides(SettingsSection::Config, &new.config)?;
        model::check_overrides(SettingsSection::Quota, &new.quota)?;
        let mut rec = new_record(actor, &new.name, new.description.filter(|d| !d.is_empty()));
        rec.metadata = new.metadata;
        rec.config = new.config;
        rec.quota = new.quota;
        apply_settings(&mut rec.config, Some(&mut rec.quota), &new.settings, &[])?;
        let view = tenant_view(&rec)?;
        let mut audit = self.audit_entry(actor, "tenant.create", Some(rec.id), None);
        audit.detail = Some(format!("name={}", rec.name));
        self.catalog.create_tenant(&rec, new.admin.as_deref(), &audit)?;
        Ok(view)
    }

    /// Tenants the actor can see: all for super-admins, their own for everyone else.
    pub fn list_tenants(&self, actor: &Actor, paging: Paging) -> Result<Page<Tenant>> {
        if let Some(key) = actor.key {
            // An API key sees at most its own tenant, and only when `decide` lets it.
            let visible = match self.catalog.tenant(key.tenant)? {
                Some(t) => {
                    let facts = self.facts(actor, &t, None)?;
                    authz::decide(actor, facts, Need::Member, OnInactive::Allow)
                        .is_ok()
                        .then_some(t)
                }
                None => None,
            };
            let all = visible.iter().map(tenant_view).collect::<Result<_>>()?;
            return Ok(paging.slice(all));
        }
        let filter = TenantListFilter {
            member: (!actor.super_admin).then_some(actor.user.as_str()),
            page: paging.page(),
            page_size: paging.page_size(),
        };
        let (records, total) = self.catalog.tenants(&filter)?;
        let items = records.iter().map(tenant_view).collect::<Result<_>>()?;
        Ok(paging.wrap(items, total))
    }

    /// A tenant with this month's API usage (membership needed).
    pub fn show_tenant(&mut self, actor: &Actor, ident: Option<&str>) -> Result<Tenant> {
        let rec = self.tenant_for(actor, ident, Need::Member, OnInactive::Allow, "tenant.show")?;
        let mut view = tenant_view(&rec)?;
        view.usage = Some(self.api_usage(&rec)?);
        Ok(view)
    }

    /// Changes name, description, metadata, config (tenant:manage) or quota (super-admin).
    pub fn update_tenant(&mut self, actor: &Actor, ident: &str, update: TenantUpdate) -> Result<Tenant> {
        if update.is_empty() {
            return Err(Error::Usage(
                "nothing to update: pass --name, --description, --metadata, --set or --unset".into(),
            ));
        }
        let touches_quota = update
            .set
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(update.unset.iter().map(String::as_str))
            .any(|k| model::section_of(k) == Some(SettingsSection::Quota));
        // Tenant names are one namespace across tenants: a tenant admin renaming (beyond a
        // change of case) would learn from the conflict whether another tenant's name exists.
        if let Some(name) = &update.name {
            validate::name("tenant", name)?;
        }
        let renames = update.name.as_ref().is_some_and(|n| !same_name(n, ident));
        let need = if touches_quota || renames {
            Need::SuperAdmin
        } else {
            Need::Permission(Permission::TenantManage)
        };
        let rec = self.tenant_for(actor, Some(ident), need, OnInactive::Refuse, "tenant.update")?;
        if let Some(name) = &update.name {
            validate::name("tenant", name)?;
            if rec.is_builtin || same_name(name, BUILTIN_NAME) {
                return Err(Error::Conflict(format!(
                    "the built-in tenant and the name '{BUILTIN_NAME}' cannot be renamed to or from"
                )));
            }
        }
        if let Some(d) = &update.description {
            validate::description(d)?;
        }
        let kbs = self.catalog.kbs(rec.id)?;
        let mut audit = self.audit_entry(actor, "tenant.update", Some(rec.id), None);
        audit.detail = Some(describe_update(&update));
        let updated = self.catalog.update_tenant(rec.id, &audit, |rec| {
            if let Some(name) = &update.name {
                rec.name = name.clone();
            }
            if let Some(d) = &update.description {
                rec.description = (!d.is_empty()).then(|| d.clone());
            }
            metadata_from(&update.metadata, &mut rec.metadata)?;
            apply_settings(&mut rec.config, Some(&mut rec.quota), &update.set, &update.unset)?;
            // The change must leave every KB's effective configuration valid too.
            for kb in &kbs {
                model::effective_config(&[&rec.config, &kb.config])
                    .map_err(|e| Error::Usage(format!("this change would break knowledge base '{}': {e}", kb.name)))?;
            }
            tenant_view(rec).map(drop)
        })?;
        // Engines carry their tenant's settings: the next queries open new ones.
        kbs.iter().for_each(|kb| self.engines.cleanup_instance(kb.id));
        tenant_view(&updated)
    }

    /// Activates or deactivates a tenant (super-admins only).
    pub fn set_tenant_active(&mut self, actor: &Actor, ident: &str, active: bool) -> Result<Tenant> {
        let action = if active { "tenant.activate" } else { "tenant.deactivate" };
        let rec = self.tenant_for(actor, Some(ident), Need::SuperAdmin, OnInactive::Allow, action)?;
        let audit = self.audit_entry(actor, action, Some(rec.id), None);
        let updated = self.catalog.update_tenant(rec.id, &audit, |rec| {
            rec.is_active = active;
            Ok(())
        })?;
        tenant_view(&updated)
    }

    /// Checks that the actor may delete the tenant and says what would go.
    pub fn plan_tenant_delete(&mut self, actor: &Actor, ident: &str) -> Result<DeleteReport> {
        let rec = self.tenant_for(actor, Some(ident), Need::SuperAdmin, OnInactive::Allow, "tenant.delete")?;
        let kbs = self.catalog.kbs(rec.id)?;
        let members = self.catalog.members(rec.id)?;
        Ok(DeleteReport {
            dry_run: true,
            tenant_id: rec.id.to_string(),
            tenant_name: rec.name.clone(),
            kb_id: None,
            kb_name: None,
            kb_count: kbs.len() as u64,
            member_count: members.len() as u64,
            document_count: kbs.iter().map(|k| k.stats.document_count).sum(),
            entity_count: kbs.iter().map(|k| k.stats.entity_count).sum(),
            relation_count: kbs.iter().map(|k| k.stats.relation_count).sum(),
            bytes: crate::layout::dir_size(&self.catalog.layout().tenant_dir(rec.id)),
        })
    }

    /// Deletes a tenant with its KBs, members and folders (super-admins only).
    pub fn delete_tenant(&mut self, actor: &Actor, ident: &str) -> Result<DeleteReport> {
        let mut report = self.plan_tenant_delete(actor, ident)?;
        let id = Uuid::parse_str(&report.tenant_id).map_err(|_| Error::Internal("bad tenant id".into()))?;
        let mut audit = self.audit_entry(actor, "tenant.delete", Some(id), None);
        audit.detail = Some(format!(
            "name={} kbs={} members={}",
            report.tenant_name, report.kb_count, report.member_count
        ));
        let kbs = self.catalog.kbs(id)?;
        self.catalog.delete_tenant(id, &audit)?;
        kbs.iter().for_each(|kb| self.engines.cleanup_instance(kb.id));
        report.dry_run = false;
        Ok(report)
    }
}

fn describe_update(u: &TenantUpdate) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &u.name {
        parts.push(format!("name={n}"));
    }
    if u.description.is_some() {
        parts.push("description".to_string());
    }
    parts.extend(u.metadata.iter().map(|(k, _)| format!("metadata.{k}")));
    parts.extend(u.set.iter().map(|(k, v)| format!("{k}={v}")));
    parts.extend(u.unset.iter().map(|k| format!("unset {k}")));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{acme, service, user};
    use super::*;

    #[test]
    fn only_super_admins_create_and_denials_are_audited() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = service(dir.path(), true);
        let new = NewTenant {
            name: "acme".into(),
            ..Default::default()
        };
        assert!(matches!(
            svc.create_tenant(&user("bob"), new.clone()),
            Err(Error::Forbidden(_))
        ));
        let t = svc.create_tenant(&user("root"), new).unwrap();
        assert_eq!(
            (t.tenant_name.as_str(), t.config.top_k, t.quota.max_kb_per_tenant),
            ("acme", 40, 50)
        );
        let log = svc
            .catalog
            .audit_entries(&crate::catalog::AuditFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[1].action.as_str(), log[1].outcome),
            ("tenant.create", crate::model::Outcome::Denied)
        );
    }

    #[test]
    fn quota_changes_need_a_super_admin() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = acme(dir.path());
        let alice = user("alice");
        let set = |k: &str, v: &str| TenantUpdate {
            set: vec![(k.into(), v.into())],
            ..Default::default()
        };
        assert_eq!(
            svc.update_tenant(&alice, "acme", set("top_k", "7"))
                .unwrap()
                .config
                .top_k,
            7
        );
        assert!(matches!(
            svc.update_tenant(&alice, "acme", set("max_kb_per_tenant", "99")),
            Err(Error::Forbidden(_))
        ));
        assert_eq!(
            svc.update_tenant(&user("root"), "acme", set("max_kb_per_tenant", "99"))
                .unwrap()
                .quota
                .max_kb_per_tenant,
            99
        );
        assert!(matches!(
            svc.update_tenant(&alice, "acme", set("top_k", "x")),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            svc.update_tenant(&alice, "acme", set("nope", "1")),
            Err(Error::Usage(_))
        ));
    }
}
