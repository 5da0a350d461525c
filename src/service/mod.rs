//! Use-cases shared by the CLI and the HTTP server (`server`). Every public method takes the
//! acting `Actor`, resolves what it names *through* `authorize`, and returns the guide's
//! models. This is the only layer that calls `authz::decide`.

mod archive;
mod audit;
mod curate;
mod dbcopy;
mod delete;
mod doctor;
mod engines;
mod graph_view;
mod identity;
mod ingest;
mod inspect;
mod kbs;
mod keys;
mod lightrag;
mod members;
mod models;
mod paging;
mod query;
mod quickstart;
mod storage;
mod tenants;
mod tokens;
mod upload;
mod usage;
pub mod validate;

use std::num::NonZeroUsize;
use std::sync::Arc;

use uuid::Uuid;

pub use archive::{
    ExportReport, FORMAT_VERSION, ImportedKb, ImportedTenant, KB_FORMAT, TENANT_FORMAT, check_destination,
};
pub use audit::AuditQuery;
pub use curate::{LabelList, LabelOrder};
pub use dbcopy::{CopyLimits, CopyReport, Endpoint, db_copy};
pub use doctor::{Checked, DoctorReport, DoctorRequest, Finding, Severity};
pub use engines::{DEFAULT_MAX_CACHED_INSTANCES, EngineGuard, KbEngine, TenantRagManager};
pub use graph_view::{DEFAULT_SHOW_NODES, GraphView, MAX_VIEW_DEPTH, MAX_VIEW_NODES, ViewEdge, ViewNode, ViewRequest};
pub use identity::{CanI, ContextView, MembershipView, WhoAmI, token_actor};
pub use ingest::{IngestJob, KbHandle};
pub use inspect::{EntityList, EntityView, ExportFormat, GraphExport, NameMatch, Neighbour};
pub use kbs::{KbUpdate, NewKb};
pub use keys::{CreatedKey, KeyListing, NewKey, well_formed as key_well_formed};
pub use lightrag::LightragImport;
pub use models::QueryableKb;
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, Paging};
pub use query::{AuthorizedQuery, EngineSettings, OpenQuery, QueryInput};
pub use quickstart::{Quickstart, SAMPLE_DOCS, SAMPLE_QUESTION};
pub use storage::{Migrated, db_migrate, db_status};
pub use tenants::{DeleteReport, NewTenant, TenantUpdate};
pub use tokens::TokenRevocation;
pub use upload::{Upload, Uploaded};
pub use usage::{UsageQuery, UsageReport, UsageRow};

use crate::authz::{self, Actor, Need, OnInactive, Role, TenantFacts};
use crate::catalog::{Catalog, KbRecord, NewAudit, TenantRecord};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::model::Outcome;

/// The name of the built-in tenant and KB of single-workspace mode.
pub const BUILTIN_NAME: &str = "default";

/// The application: settings, an open catalog, and the open query engines.
pub struct Service {
    settings: Settings,
    catalog: Catalog,
    /// Query engines of recently used KBs: one for a CLI process, which asks one question;
    /// `lrt serve` shares a larger one between its requests ([`Service::with_engines`]).
    engines: Arc<TenantRagManager>,
    /// Where to tell the person at the command line about a default the service chose for
    /// them (the built-in workspace); `None` over HTTP, where requests name everything.
    notices: Option<Notify>,
}

/// A receiver of [`Service`] notices.
type Notify = Arc<dyn Fn(&str) + Send + Sync>;

impl Service {
    /// Opens the catalog of the configured data directory (creating it, mode 0700).
    pub fn open(settings: Settings) -> Result<Service> {
        let layout = Layout::new(settings.data_dir.value.clone());
        let catalog = Catalog::open(&settings).map_err(|e| match layout.unwritable() {
            Some(why) => Error::storage(
                format!("cannot open the catalog in {}", layout.root().display()),
                format!(
                    "the data directory is not writable ({why}); lrt writes beside its databases \
                     (SQLite's -wal and -shm files) even to read them: make it writable, or point \
                     --data-dir at a writable copy"
                ),
            ),
            None => e,
        })?;
        Ok(Service {
            settings,
            catalog,
            engines: Arc::new(TenantRagManager::new(NonZeroUsize::MIN)),
            notices: None,
        })
    }

    /// This service telling `notify` about the defaults it picks (see [`Service::notices`]).
    pub fn with_notices(mut self, notify: impl Fn(&str) + Send + Sync + 'static) -> Service {
        self.notices = Some(Arc::new(notify));
        self
    }

    fn notice(&self, text: &str) {
        if let Some(notify) = &self.notices {
            notify(text);
        }
    }

    /// This service answering questions through `engines`, which other services may share.
    pub fn with_engines(mut self, engines: Arc<TenantRagManager>) -> Service {
        self.engines = engines;
        self
    }

    /// The query engines this service opens and forgets.
    pub fn engines(&self) -> &Arc<TenantRagManager> {
        &self.engines
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn is_super_admin(&self, user: &str) -> bool {
        self.settings.super_admins.value.iter().any(|u| u == user)
    }

    /// The local actor: the configured user, or with `--as`, the user a super-admin acts as.
    pub fn local_actor(&self, as_user: Option<&str>) -> Result<Actor> {
        let me = self
            .settings
            .user
            .value
            .clone()
            .ok_or_else(crate::config::no_identity)?;
        validate::user_id(&me)?;
        let actor = Actor::user(me.clone(), self.is_super_admin(&me));
        let Some(other) = as_user else { return Ok(actor) };
        validate::user_id(other)?;
        if !actor.super_admin {
            let err = Error::Forbidden(format!(
                "permission denied: only super-admins can use --as (you are '{}')",
                actor.user
            ));
            self.audit_denial(&actor, "as", None, None, &err);
            return Err(err);
        }
        Ok(Actor {
            real_user: Some(actor.user),
            ..Actor::user(other, self.is_super_admin(other))
        })
    }

    fn audit_entry(&self, actor: &Actor, action: &str, tenant: Option<Uuid>, kb: Option<Uuid>) -> NewAudit {
        NewAudit {
            user: actor.user.clone(),
            real_user: actor.real_user.clone(),
            action: action.to_string(),
            tenant_id: tenant,
            kb_id: kb,
            outcome: Outcome::Ok,
            detail: None,
            api_key_id: actor.key.map(|k| k.id),
        }
    }

    fn audit_denial(&self, actor: &Actor, action: &str, tenant: Option<Uuid>, kb: Option<Uuid>, err: &Error) {
        let mut entry = self.audit_entry(actor, action, tenant, kb);
        entry.outcome = Outcome::Denied;
        entry.detail = Some(err.to_string());
        // A failure to record a denial must not turn the denial into a different error.
        let _ = self.catalog.audit(&entry);
    }

    /// Records a denial by "not found" of a tenant the actor is no member of (or of one that
    /// does not exist): in the installation-level log (no tenant), which super-admins read,
    /// never in the target tenant's own log, and at most [`PROBE_AUDIT_CAP`] a minute per
    /// user, so probing cannot flood anyone's log. A tenant's members' denials stay in its log.
    fn audit_probe(&self, actor: &Actor, action: &str, err: &Error) {
        let mut entry = self.audit_entry(actor, action, None, None);
        entry.outcome = Outcome::Denied;
        entry.detail = Some(err.to_string());
        let minute = jiff::Timestamp::now()
            .round(
                jiff::TimestampRound::new()
                    .smallest(jiff::Unit::Minute)
                    .mode(jiff::RoundMode::Trunc),
            )
            .map(crate::time::format)
            .unwrap_or_default();
        // As for every denial: failing to record it must not change the answer.
        let _ = self.catalog.audit_capped(&entry, &minute, PROBE_AUDIT_CAP);
    }

    /// The actor's role in a tenant. In single-workspace mode the built-in tenant is open
    /// to every local user as admin, like a plain LightRAG working directory; to a `remote`
    /// caller (authenticated by `lrt serve`) only with `open_workspace` set, else it takes a
    /// membership like any tenant.
    fn role_of(&self, user: &str, tenant: &TenantRecord, remote: bool) -> Result<Option<Role>> {
        let role = self.catalog.role(tenant.id, user)?;
        let open = !remote || self.settings.open_workspace.value;
        if role.is_none() && open && tenant.is_builtin && !self.settings.multi_tenant.value {
            return Ok(Some(Role::Admin));
        }
        Ok(role)
    }

    /// The facts `decide` needs about the actor in a tenant (and KB, once known).
    fn facts<'a>(&self, actor: &Actor, tenant: &'a TenantRecord, kb: Option<Uuid>) -> Result<TenantFacts<'a>> {
        Ok(TenantFacts {
            id: tenant.id,
            name: &tenant.name,
            is_active: tenant.is_active,
            role: self.role_of(&actor.user, tenant, actor.remote)?,
            kb,
        })
    }

    /// The one authorization path: gathers the facts, decides, audits a denial.
    fn authorize(
        &self,
        actor: &Actor,
        tenant: &TenantRecord,
        kb: Option<Uuid>,
        need: Need,
        on_inactive: OnInactive,
        action: &str,
    ) -> Result<()> {
        let facts = self.facts(actor, tenant, kb)?;
        let outsider = facts.role.is_none();
        authz::decide(actor, facts, need, on_inactive).inspect_err(|err| {
            if outsider && matches!(err, Error::NotFound(_)) {
                self.audit_probe(actor, action, err);
            } else {
                self.audit_denial(actor, action, Some(tenant.id), kb, err);
            }
        })
    }

    /// Finds a tenant by UUID or name and checks that the actor may do `need` there. A tenant
    /// the actor cannot see is "not found", exactly like one that does not exist.
    fn tenant_for(
        &mut self,
        actor: &Actor,
        ident: Option<&str>,
        need: Need,
        on_inactive: OnInactive,
        action: &str,
    ) -> Result<TenantRecord> {
        let tenant = match ident {
            Some(ident) => match self.find_tenant(ident)? {
                Some(tenant) => tenant,
                None => {
                    // A missing tenant takes the steps an invisible one takes (the membership
                    // read, the capped installation-level denial), so neither the time taken
                    // nor any tenant's audit log tells them apart.
                    let err = not_found_tenant(ident);
                    self.catalog.role(Uuid::nil(), &actor.user)?;
                    self.audit_probe(actor, action, &err);
                    return Err(err);
                }
            },
            None => self.default_tenant(actor)?,
        };
        // An invisible tenant is reported with the words the user typed, exactly like a
        // missing one: its stored name must not leak.
        let shown = ident.map(str::to_string).unwrap_or_else(|| tenant.id.to_string());
        self.authorize(actor, &tenant, None, need, on_inactive, action)
            .map_err(|e| match e {
                Error::NotFound(_) => not_found_tenant(&shown),
                other => other,
            })?;
        Ok(tenant)
    }

    fn find_tenant(&self, ident: &str) -> Result<Option<TenantRecord>> {
        if ident.trim().is_empty() {
            return Err(Error::Usage(
                "the tenant must be named by its id or its name, not an empty string".into(),
            ));
        }
        match Uuid::parse_str(ident) {
            Ok(id) => self.catalog.tenant(id),
            Err(_) => self.catalog.tenant_by_name(ident),
        }
    }

    /// With no tenant named: the actor's `lrt use` context, else (single-workspace mode) the
    /// built-in tenant.
    fn default_tenant(&mut self, actor: &Actor) -> Result<TenantRecord> {
        if let (Some(id), _) = self.catalog.context(&actor.user)? {
            return self
                .catalog
                .tenant(id)?
                .ok_or_else(|| not_found_tenant(&id.to_string()));
        }
        if !self.settings.multi_tenant.value {
            self.notice(&format!(
                "note: no tenant named and no current context: using the built-in workspace '{BUILTIN_NAME}' \
                 (pick another with --tenant/--kb or `lrt use TENANT KB`)"
            ));
            return self.builtin_tenant(actor);
        }
        Err(Error::Usage(
            "no tenant selected: pass --tenant, set LRT_TENANT, or run `lrt use TENANT`".into(),
        ))
    }

    /// The built-in `default` tenant and KB, created on first use.
    fn builtin_tenant(&mut self, actor: &Actor) -> Result<TenantRecord> {
        if let Some(t) = self.catalog.builtin_tenant()? {
            return Ok(t);
        }
        let mut rec = tenants::new_record(actor, BUILTIN_NAME, Some("Built-in single-workspace tenant".into()));
        rec.is_builtin = true;
        let audit = self.audit_entry(actor, "tenant.create", Some(rec.id), None);
        match self.catalog.create_tenant(&rec, None, &audit) {
            Ok(()) => {
                let kb = kbs::new_record(actor, rec.id, BUILTIN_NAME, Some("Built-in knowledge base".into()));
                let audit = self.audit_entry(actor, "kb.create", Some(rec.id), Some(kb.id));
                self.catalog.create_kb(&kb, u64::MAX, &audit)?;
            }
            // Another process created it first.
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        self.catalog.builtin_tenant()?.ok_or_else(|| {
            Error::Conflict(format!(
                "a tenant named '{BUILTIN_NAME}' exists but is not the built-in workspace"
            ))
        })
    }

    /// The tenant and KB an actor names, after `permission` is decided on them (a denial audited
    /// under `action`): the access check of every KB-scoped use-case.
    fn kb_for(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        permission: crate::authz::Permission,
        action: &str,
    ) -> Result<(TenantRecord, KbRecord)> {
        let t = self.tenant_for(actor, tenant, Need::Permission(permission), OnInactive::Refuse, action)?;
        let k = self.kb_in(actor, &t, kb)?;
        Ok((t, k))
    }

    /// Finds a KB of a tenant by UUID or name; with none named, the actor's context KB or the
    /// built-in KB.
    fn kb_in(&self, actor: &Actor, tenant: &TenantRecord, ident: Option<&str>) -> Result<KbRecord> {
        let found = match ident {
            Some(ident) if ident.trim().is_empty() => {
                return Err(Error::Usage(
                    "the knowledge base must be named by its id or name".into(),
                ));
            }
            Some(ident) => match Uuid::parse_str(ident) {
                Ok(id) => self.catalog.kb(tenant.id, id)?,
                Err(_) => self.catalog.kb_by_name(tenant.id, ident)?,
            },
            None => match self.catalog.context(&actor.user)? {
                (Some(t), Some(k)) if t == tenant.id => self.catalog.kb(tenant.id, k)?,
                _ if tenant.is_builtin => self.catalog.kb_by_name(tenant.id, BUILTIN_NAME)?,
                _ => {
                    return Err(Error::Usage(
                        "no knowledge base selected: pass --kb (or the KB argument), set LRT_KB, or run `lrt use TENANT KB`"
                            .into(),
                    ));
                }
            },
        };
        let not_found = || {
            Error::NotFound(format!(
                "knowledge base '{}' not found in tenant '{}'",
                ident.unwrap_or(BUILTIN_NAME),
                tenant.name
            ))
        };
        let kb = found.ok_or_else(not_found)?;
        // The KB is known now: decide again with it, which is where a KB-scoped API key is
        // held to its KB (another KB of the tenant is "not found", like a missing one).
        self.authorize(actor, tenant, Some(kb.id), Need::Member, OnInactive::Allow, "kb.access")
            .map_err(|e| match e {
                Error::NotFound(_) => not_found(),
                other => other,
            })?;
        Ok(kb)
    }
}

/// Installation-level "not found" denials recorded per user and minute: enough to see who
/// probes for tenants, too few to flood the log.
pub const PROBE_AUDIT_CAP: u64 = 100;

fn not_found_tenant(ident: &str) -> Error {
    Error::NotFound(format!("tenant '{ident}' not found"))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::config::{Env, Overrides};

    pub struct NoEnv(pub Vec<(&'static str, String)>);
    impl Env for NoEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
        }
    }

    /// A service on a temporary data dir with `root` as super-admin.
    pub fn service(dir: &std::path::Path, multi_tenant: bool) -> Service {
        let env = NoEnv(vec![
            ("LRT_USER", "root".into()),
            ("LIGHTRAG_SUPER_ADMIN_USERS", "root".into()),
            ("ENABLE_MULTI_TENANTS", multi_tenant.to_string()),
        ]);
        let flags = Overrides {
            config: Some(dir.join("none.toml")),
            data_dir: Some(dir.join("data")),
        };
        std::fs::write(dir.join("none.toml"), "").unwrap();
        Service::open(Settings::load(&flags, &env).unwrap()).unwrap()
    }

    pub fn user(name: &str) -> Actor {
        Actor::user(name, name == "root")
    }

    /// A multi-tenant service with tenant `acme`, whose admin is `alice`.
    pub fn acme(dir: &std::path::Path) -> Service {
        let mut svc = service(dir, true);
        let new = super::NewTenant {
            name: "acme".into(),
            admin: Some("alice".into()),
            ..Default::default()
        };
        svc.create_tenant(&user("root"), new).unwrap();
        svc
    }
}

#[cfg(test)]
mod probes {
    use super::testing::{acme, user};
    use super::*;
    use crate::catalog::AuditFilter;

    fn rows(svc: &Service, tenant: Option<Uuid>) -> Vec<crate::model::AuditEntry> {
        svc.catalog
            .audit_entries(&AuditFilter {
                tenants: tenant.map(|t| vec![t]),
                limit: 10_000,
                ..Default::default()
            })
            .unwrap()
    }

    /// A non-member's probes of an existing tenant write nothing into that tenant's log and
    /// at most the cap into the installation-level log; a member's denial stays in the
    /// tenant's log.
    #[test]
    fn probes_do_not_flood_the_target_tenants_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = acme(dir.path());
        let id = svc.catalog.tenant_by_name("acme").unwrap().unwrap().id;
        let before = rows(&svc, Some(id)).len();
        let mallory = user("mallory");
        for i in 0..200 {
            let ident = if i % 2 == 0 { "acme" } else { "no-such-tenant" };
            assert!(matches!(
                svc.show_tenant(&mallory, Some(ident)),
                Err(Error::NotFound(_))
            ));
        }
        assert_eq!(rows(&svc, Some(id)).len(), before, "the target tenant's log grew");
        let probes: Vec<_> = rows(&svc, None)
            .into_iter()
            .filter(|r| r.user_id == "mallory")
            .collect();
        assert_eq!(probes.len() as u64, PROBE_AUDIT_CAP, "installation-level rows");
        assert!(
            probes
                .iter()
                .all(|r| r.tenant_id.is_none() && r.outcome == Outcome::Denied)
        );
        assert!(
            probes[0].detail.as_deref().unwrap().contains("not recorded"),
            "{:?}",
            probes[0]
        );
        // A member refused for their role is recorded in the tenant's log, as before.
        svc.add_member(&user("alice"), Some("acme"), "vera", Role::Viewer)
            .unwrap();
        let update = TenantUpdate {
            description: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(
            svc.update_tenant(&user("vera"), "acme", update),
            Err(Error::Forbidden(_))
        ));
        let newest = &rows(&svc, Some(id))[0];
        assert_eq!((newest.user_id.as_str(), newest.outcome), ("vera", Outcome::Denied));
    }

    /// Probing an existing foreign tenant and a missing one makes the same catalog calls, in
    /// the same order: the same work, so the same time (up to the data's size).
    #[test]
    fn probing_a_foreign_and_a_missing_tenant_do_the_same_catalog_work() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = acme(dir.path());
        let mallory = user("mallory");
        let id = svc.catalog.tenant_by_name("acme").unwrap().unwrap().id.to_string();
        for (present, missing) in [("acme", "acne"), (id.as_str(), "6d1f1a52-7c1b-4c1e-9d55-0b8f0f6f0d1e")] {
            crate::catalog::calls::take();
            assert!(svc.show_tenant(&mallory, Some(present)).is_err());
            let foreign = crate::catalog::calls::take();
            assert!(svc.show_tenant(&mallory, Some(missing)).is_err());
            let absent = crate::catalog::calls::take();
            assert!(foreign.iter().any(|c| c.contains("audit_capped")), "{foreign:?}");
            assert_eq!(foreign, absent);
        }
    }
}
