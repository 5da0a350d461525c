//! The catalog conformance suite: one set of tests, run against every backend. SQLite always;
//! PostgreSQL when `LRT_TEST_DATABASE_URL` names a server (`.ci/steps/10-postgres.sh`), each
//! test in a schema of its own so tests run in parallel and never see each other.

mod common;

use std::sync::{Arc, Barrier};

use lrt::authz::Role;
use lrt::catalog::pg::PgCatalog;
use lrt::catalog::{
    AuditFilter, Catalog, Charge, KbRecord, KbStats, KeyFilter, KeyRecord, NewAudit, SqliteCatalog, TenantListFilter,
    TenantRecord,
};
use lrt::config::PgSettings;
use lrt::error::Error;
use lrt::layout::Layout;
use lrt::model::{ApiKey, Outcome};
use serde_json::Map;
use uuid::Uuid;

/// Where one test's catalog lives; `open` gives another connection to the same one (another
/// "process").
struct Fixture {
    dir: tempfile::TempDir,
    pg: Option<(PgSettings, String, String)>,
}

impl Fixture {
    fn layout(&self) -> Layout {
        Layout::new(self.dir.path().join("data"))
    }

    fn open(&self) -> Catalog {
        match &self.pg {
            None => Catalog::Sqlite(SqliteCatalog::open(self.layout()).unwrap()),
            Some((settings, _, _)) => Catalog::Postgres(Box::new(PgCatalog::open(settings, self.layout()).unwrap())),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((_, url, schema)) = &self.pg
            && let Ok(mut admin) = ::postgres::Client::connect(url, ::postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!(
                "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
            ));
        }
    }
}

fn sqlite() -> Fixture {
    Fixture {
        dir: tempfile::tempdir().unwrap(),
        pg: None,
    }
}

/// A fresh schema in the test server, and settings whose connections use only it.
fn postgres(test: &str) -> Option<Fixture> {
    let url = common::external::component("LRT_TEST_DATABASE_URL", test)?;
    let schema = format!("lrt_t_{}", Uuid::new_v4().simple());
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect to LRT_TEST_DATABASE_URL");
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    let mut config: ::postgres::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={schema}"));
    Some(Fixture {
        dir: tempfile::tempdir().unwrap(),
        pg: Some((PgSettings::new(config, 4), url, schema)),
    })
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&super::sqlite()); })*
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(f) = super::postgres(concat!("postgres::", stringify!($name))) { super::$name(&f); }
            })*
        }
    };
}

conformance!(
    tenant_names_are_unique_case_insensitively,
    tenants_page_and_filter_by_membership,
    updates_happen_in_one_transaction_with_their_audit,
    kbs_live_inside_their_tenant_under_the_kb_quota,
    document_admission_counts_and_reserves_atomically,
    members_and_the_last_admin_rule,
    api_keys_round_trip_and_revocation,
    audit_log_filters,
    api_calls_are_counted_per_period_up_to_the_limit,
    user_contexts_follow_deletions,
    deleting_a_tenant_removes_its_rows_but_keeps_the_audit,
    racing_processes_cannot_pass_the_quotas,
    a_panicking_change_leaves_nothing_open,
    token_revocations_only_move_forward,
    look_alike_names_are_one_name,
);

fn audit(action: &str, tenant: Option<Uuid>) -> NewAudit {
    NewAudit {
        user: "root".into(),
        real_user: None,
        action: action.into(),
        tenant_id: tenant,
        kb_id: None,
        outcome: Outcome::Ok,
        detail: None,
        api_key_id: None,
    }
}

fn tenant(name: &str) -> TenantRecord {
    let now = lrt::time::now();
    TenantRecord {
        id: Uuid::new_v4(),
        name: name.into(),
        description: Some(format!("{name} tenant")),
        config: Map::new(),
        quota: Map::new(),
        metadata: Map::new(),
        is_active: true,
        is_builtin: false,
        created_at: now.clone(),
        updated_at: now,
        created_by: Some("root".into()),
        kb_count: 0,
        total_documents: 0,
        total_storage_bytes: 0,
    }
}

fn kb(tenant: Uuid, name: &str) -> KbRecord {
    let now = lrt::time::now();
    KbRecord {
        id: Uuid::new_v4(),
        tenant_id: tenant,
        name: name.into(),
        description: None,
        config: Map::new(),
        is_active: true,
        created_at: now.clone(),
        updated_at: now,
        created_by: Some("root".into()),
        stats: KbStats::default(),
    }
}

fn new_tenant(c: &mut Catalog, name: &str, admin: Option<&str>) -> TenantRecord {
    let t = tenant(name);
    c.create_tenant(&t, admin, &audit("tenant.create", Some(t.id))).unwrap();
    t
}

fn new_kb(c: &mut Catalog, tenant: Uuid, name: &str) -> KbRecord {
    let k = kb(tenant, name);
    c.create_kb(&k, 100, &audit("kb.create", Some(tenant))).unwrap();
    k
}

fn key(tenant: Uuid, kb: Option<Uuid>, creator: &str) -> KeyRecord {
    let id = Uuid::new_v4();
    KeyRecord {
        info: ApiKey {
            key_id: id,
            name: Some("ci".into()),
            prefix: format!("lrt_{}", &id.simple().to_string()[..12]),
            tenant_id: tenant,
            kb_id: kb,
            role: Role::Viewer,
            created_by: creator.into(),
            created_at: lrt::time::now(),
            expires_at: "2999-01-01T00:00:00.000Z".into(),
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        },
        hash: [7; 32],
    }
}

fn actions(c: &Catalog, tenant: Uuid) -> Vec<String> {
    let filter = AuditFilter {
        tenants: Some(vec![tenant]),
        limit: 100,
        ..Default::default()
    };
    c.audit_entries(&filter)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

fn tenant_names_are_unique_case_insensitively(f: &Fixture) {
    let mut c = f.open();
    let acme = new_tenant(&mut c, "Acme", Some("alice"));
    let dup = tenant("ACME");
    let err = c
        .create_tenant(&dup, None, &audit("tenant.create", Some(dup.id)))
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(
        !f.layout().tenant_dir(dup.id).exists(),
        "a refused tenant leaves no folder"
    );
    assert!(f.layout().tenant_dir(acme.id).is_dir());
    let found = c.tenant_by_name("acme").unwrap().unwrap();
    assert_eq!((found.id, found.name.as_str()), (acme.id, "Acme"));
    assert_eq!(found.description.as_deref(), Some("Acme tenant"));
    assert_eq!(c.tenant(acme.id).unwrap().unwrap().name, "Acme");
    assert!(c.tenant(Uuid::new_v4()).unwrap().is_none());
    assert!(c.builtin_tenant().unwrap().is_none());
    let mut builtin = tenant("default");
    builtin.is_builtin = true;
    c.create_tenant(&builtin, None, &audit("tenant.create", None)).unwrap();
    assert_eq!(c.builtin_tenant().unwrap().unwrap().id, builtin.id);
    assert_eq!(
        actions(&c, dup.id),
        Vec::<String>::new(),
        "the refused create wrote no audit row"
    );
}

fn tenants_page_and_filter_by_membership(f: &Fixture) {
    let mut c = f.open();
    for name in ["c", "a", "b"] {
        let admin = (name != "b").then_some("alice");
        new_tenant(&mut c, name, admin);
    }
    let names = |page: &[TenantRecord]| page.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let all = TenantListFilter {
        member: None,
        page: 1,
        page_size: 2,
    };
    let (page, total) = c.tenants(&all).unwrap();
    assert_eq!((names(&page), total), (vec!["a".to_string(), "b".to_string()], 3));
    let (page, total) = c.tenants(&TenantListFilter { page: 2, ..all.clone() }).unwrap();
    assert_eq!((names(&page), total), (vec!["c".to_string()], 3));
    let (page, total) = c
        .tenants(&TenantListFilter {
            page: u64::MAX,
            ..all.clone()
        })
        .unwrap();
    assert_eq!((page.len(), total), (0, 3));
    let mine = TenantListFilter {
        member: Some("alice"),
        page: 1,
        page_size: 10,
    };
    let (page, total) = c.tenants(&mine).unwrap();
    assert_eq!((names(&page), total), (vec!["a".to_string(), "c".to_string()], 2));
    let listed: Vec<String> = c.memberships("alice").unwrap().into_iter().map(|m| m.1).collect();
    assert_eq!(listed, ["a", "c"]);
}

fn updates_happen_in_one_transaction_with_their_audit(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", None);
    new_tenant(&mut c, "globex", None);
    let updated = c
        .update_tenant(t.id, &audit("tenant.update", Some(t.id)), |rec| {
            rec.description = Some("changed".into());
            rec.is_active = false;
            Ok(())
        })
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("changed"));
    let stored = c.tenant(t.id).unwrap().unwrap();
    assert_eq!(
        (stored.description.as_deref(), stored.is_active),
        (Some("changed"), false)
    );
    // A refused change (the closure fails) and a rename onto another name change nothing.
    let err = c
        .update_tenant(t.id, &audit("tenant.update", Some(t.id)), |rec| {
            rec.description = Some("lost".into());
            Err(Error::Usage("no".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Usage(_)));
    let err = c
        .update_tenant(t.id, &audit("tenant.update", Some(t.id)), |rec| {
            rec.name = "GLOBEX".into();
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert_eq!(c.tenant(t.id).unwrap().unwrap().description.as_deref(), Some("changed"));
    assert_eq!(actions(&c, t.id), ["tenant.update", "tenant.create"]);
    let err = c
        .update_tenant(Uuid::new_v4(), &audit("tenant.update", None), |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    // The same for a KB, whose update also sees the row it changes.
    let k = new_kb(&mut c, t.id, "docs");
    let renamed = c
        .update_kb(t.id, k.id, &audit("kb.update", Some(t.id)), |rec| {
            rec.name = "Docs2".into();
            Ok(())
        })
        .unwrap();
    assert_eq!(renamed.name, "Docs2");
    assert_eq!(c.kb_by_name(t.id, "docs2").unwrap().unwrap().id, k.id);
    assert!(c.kb_by_name(t.id, "docs").unwrap().is_none());
}

fn kbs_live_inside_their_tenant_under_the_kb_quota(f: &Fixture) {
    let mut c = f.open();
    let a = new_tenant(&mut c, "a", None);
    let b = new_tenant(&mut c, "b", None);
    let docs = kb(a.id, "Docs");
    c.create_kb(&docs, 2, &audit("kb.create", Some(a.id))).unwrap();
    assert!(f.layout().kb_dir(a.id, docs.id).is_dir());
    let dup = kb(a.id, "docs");
    assert!(matches!(
        c.create_kb(&dup, 2, &audit("kb.create", Some(a.id))).unwrap_err(),
        Error::Conflict(_)
    ));
    assert!(!f.layout().kb_dir(a.id, dup.id).exists());
    // The same name in another tenant is another KB; ids are looked up within their tenant.
    let other = kb(b.id, "docs");
    c.create_kb(&other, 2, &audit("kb.create", Some(b.id))).unwrap();
    assert!(c.kb(b.id, docs.id).unwrap().is_none());
    assert_eq!(c.kb(a.id, docs.id).unwrap().unwrap().name, "Docs");
    c.create_kb(&kb(a.id, "second"), 2, &audit("kb.create", Some(a.id)))
        .unwrap();
    let third = kb(a.id, "third");
    let err = c.create_kb(&third, 2, &audit("kb.create", Some(a.id))).unwrap_err();
    assert!(matches!(err, Error::Quota(_)), "{err}");
    assert!(!f.layout().kb_dir(a.id, third.id).exists());
    let names: Vec<String> = c.kbs(a.id).unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["Docs", "second"]);
    let stats = KbStats {
        document_count: 3,
        entity_count: 4,
        relation_count: 5,
        storage_bytes: 6_000_000_000,
    };
    c.set_kb_stats(a.id, docs.id, stats).unwrap();
    let t = c.tenant(a.id).unwrap().unwrap();
    assert_eq!(
        (t.kb_count, t.total_documents, t.total_storage_bytes),
        (2, 3, 6_000_000_000)
    );
    let stored = c.kb(a.id, docs.id).unwrap().unwrap().stats;
    assert_eq!((stored.entity_count, stored.relation_count), (4, 5));
    let all = c.all_tenants_with_kbs().unwrap();
    assert_eq!(
        all.iter()
            .map(|(t, kbs)| (t.name.clone(), kbs.len()))
            .collect::<Vec<_>>(),
        [("a".to_string(), 2), ("b".to_string(), 1)]
    );
    c.delete_kb(a.id, docs.id, &audit("kb.delete", Some(a.id))).unwrap();
    assert!(c.kb(a.id, docs.id).unwrap().is_none());
    assert!(!f.layout().kb_dir(a.id, docs.id).exists());
}

fn document_admission_counts_and_reserves_atomically(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", None);
    let k1 = new_kb(&mut c, t.id, "one");
    let k2 = new_kb(&mut c, t.id, "two");
    c.set_kb_stats(
        t.id,
        k1.id,
        KbStats {
            document_count: 5,
            storage_bytes: 100,
            ..Default::default()
        },
    )
    .unwrap();
    c.set_kb_stats(
        t.id,
        k2.id,
        KbStats {
            document_count: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let seen = c
        .admit_documents(t.id, k1.id, 3, |u| Ok((u.documents, u.storage_bytes, u.kb_documents)))
        .unwrap();
    assert_eq!(seen, (7, 100, 5));
    assert_eq!(c.reserved_documents(t.id, k1.id).unwrap(), 3);
    // Reserved documents count for the next admission; a refusal reserves nothing.
    let err = c
        .admit_documents(t.id, k2.id, 4, |u| -> lrt::error::Result<()> {
            assert_eq!(u.documents, 10);
            Err(Error::Quota("full".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Quota(_)));
    assert_eq!(c.reserved_documents(t.id, k2.id).unwrap(), 0);
    c.release_documents(t.id, k1.id, Some(2)).unwrap();
    assert_eq!(c.reserved_documents(t.id, k1.id).unwrap(), 1);
    c.release_documents(t.id, k1.id, Some(5)).unwrap();
    assert_eq!(c.reserved_documents(t.id, k1.id).unwrap(), 0, "never below zero");
    c.admit_documents(t.id, k1.id, 2, |_| Ok(())).unwrap();
    c.release_documents(t.id, k1.id, None).unwrap();
    assert_eq!(c.reserved_documents(t.id, k1.id).unwrap(), 0);
    assert_eq!(c.reserved_documents(t.id, Uuid::new_v4()).unwrap(), 0);
}

fn members_and_the_last_admin_rule(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", Some("alice"));
    let a = audit("member", Some(t.id));
    c.add_member(t.id, "bob", Role::Editor, "alice", &a).unwrap();
    assert!(matches!(
        c.add_member(t.id, "bob", Role::Viewer, "alice", &a).unwrap_err(),
        Error::Conflict(_)
    ));
    assert_eq!(c.role(t.id, "bob").unwrap(), Some(Role::Editor));
    assert_eq!(c.role(t.id, "carol").unwrap(), None);
    assert!(matches!(
        c.set_role(t.id, "alice", Role::Viewer, &a).unwrap_err(),
        Error::Conflict(_)
    ));
    assert!(matches!(
        c.remove_member(t.id, "alice", &a).unwrap_err(),
        Error::Conflict(_)
    ));
    assert!(matches!(
        c.remove_member(t.id, "carol", &a).unwrap_err(),
        Error::NotFound(_)
    ));
    let m = c.set_role(t.id, "bob", Role::Admin, &a).unwrap();
    assert_eq!((m.user_id.as_str(), m.role), ("bob", Role::Admin));
    c.set_role(t.id, "alice", Role::Viewer, &a).unwrap();
    let members: Vec<(String, Role)> = c
        .members(t.id)
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        members,
        [("alice".to_string(), Role::Viewer), ("bob".to_string(), Role::Admin)]
    );
    // Removing a member revokes the keys they made there.
    let k = key(t.id, None, "alice");
    c.create_key(&k, &a).unwrap();
    c.remove_member(t.id, "alice", &a).unwrap();
    let stored = c.key(k.info.key_id).unwrap().unwrap();
    assert_eq!(stored.info.revoked_by.as_deref(), Some("root"));
    assert!(c.role(t.id, "alice").unwrap().is_none());
    assert_eq!(
        actions(&c, t.id).len(),
        1 + 1 + 1 + 1 + 1 + 1,
        "{:?}",
        actions(&c, t.id)
    );
}

fn api_keys_round_trip_and_revocation(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", Some("alice"));
    let other = new_tenant(&mut c, "globex", Some("bob"));
    let docs = new_kb(&mut c, t.id, "docs");
    let a = audit("key.create", Some(t.id));
    let k1 = key(t.id, Some(docs.id), "alice");
    let k2 = key(other.id, None, "bob");
    c.create_key(&k1, &a).unwrap();
    c.create_key(&k2, &a).unwrap();
    let mut clash = key(other.id, None, "bob");
    clash.info.prefix = k1.info.prefix.clone();
    assert!(matches!(c.create_key(&clash, &a).unwrap_err(), Error::Conflict(_)));
    let found = c.key_by_prefix(&k1.info.prefix).unwrap().unwrap();
    assert_eq!(
        (found.info.key_id, found.info.tenant_id, found.info.kb_id, found.hash),
        (k1.info.key_id, t.id, Some(docs.id), [7; 32])
    );
    assert_eq!(found.info.role, Role::Viewer);
    assert!(c.key_by_prefix("lrt_nothing").unwrap().is_none());
    let listed =
        |filter: KeyFilter<'_>| -> Vec<Uuid> { c.keys(&filter).unwrap().into_iter().map(|k| k.info.key_id).collect() };
    assert_eq!(
        listed(KeyFilter {
            tenant: Some(t.id),
            created_by: None
        }),
        [k1.info.key_id]
    );
    assert_eq!(
        listed(KeyFilter {
            tenant: None,
            created_by: Some("bob")
        }),
        [k2.info.key_id]
    );
    assert_eq!(listed(KeyFilter::default()).len(), 2);
    c.touch_key(k1.info.key_id, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
        .unwrap();
    c.touch_key(k1.info.key_id, "2026-01-01T00:00:30.000Z", "2025-12-31T23:59:30.000Z")
        .unwrap();
    let used = c.key(k1.info.key_id).unwrap().unwrap().info.last_used_at;
    assert_eq!(
        used.as_deref(),
        Some("2026-01-01T00:00:00.000Z"),
        "at most one write a minute"
    );
    let revoked = c
        .revoke_key(k1.info.key_id, "alice", &audit("key.revoke", Some(t.id)))
        .unwrap();
    assert_eq!(revoked.info.revoked_by.as_deref(), Some("alice"));
    assert!(revoked.info.revoked_at.is_some());
    assert!(matches!(
        c.revoke_key(k1.info.key_id, "alice", &audit("key.revoke", Some(t.id)))
            .unwrap_err(),
        Error::Conflict(_)
    ));
    // A KB's keys go with it.
    c.delete_kb(t.id, docs.id, &audit("kb.delete", Some(t.id))).unwrap();
    assert!(c.key(k1.info.key_id).unwrap().is_none());
}

fn audit_log_filters(f: &Fixture) {
    let mut c = f.open();
    let a = new_tenant(&mut c, "a", None);
    let b = new_tenant(&mut c, "b", None);
    let mut denial = audit("tenant.read", Some(b.id));
    denial.user = "mallory".into();
    denial.outcome = Outcome::Denied;
    denial.detail = Some("not a member".into());
    c.audit(&denial).unwrap();
    let mut acting = audit("as", None);
    acting.user = "alice".into();
    acting.real_user = Some("root".into());
    acting.api_key_id = Some(Uuid::new_v4());
    c.audit(&acting).unwrap();
    let all = c
        .audit_entries(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(all[0].tenant_id, None, "a row about no tenant has none");
    assert_eq!(all[0].real_user.as_deref(), Some("root"));
    assert_eq!(all[0].api_key_id, acting.api_key_id.map(|k| k.to_string()));
    let of_b = c
        .audit_entries(&AuditFilter {
            tenants: Some(vec![b.id]),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        of_b.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["tenant.read", "tenant.create"]
    );
    assert_eq!(of_b[0].outcome, Outcome::Denied);
    assert_eq!(of_b[0].tenant_id, Some(b.id.to_string()));
    let by_root = c
        .audit_entries(&AuditFilter {
            user: Some("root".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_root.len(), 3, "as the user or as the real user");
    let both = c
        .audit_entries(&AuditFilter {
            tenants: Some(vec![a.id, b.id]),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(both.len(), 2);
    let none = c
        .audit_entries(&AuditFilter {
            tenants: Some(vec![]),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
    let later = c
        .audit_entries(&AuditFilter {
            since: Some("2999-01-01T00:00:00Z".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(later.is_empty());
    // Paging: `offset` skips the newest rows; the count ignores limit and offset.
    let page = |limit, offset| {
        c.audit_entries(&AuditFilter {
            limit,
            offset,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect::<Vec<_>>()
    };
    let all_ids: Vec<_> = all.iter().map(|e| e.id).collect();
    assert_eq!(page(2, 1), all_ids[1..3]);
    assert_eq!(page(2, 3), all_ids[3..]);
    assert!(page(2, 9).is_empty());
    let counted = |filter: AuditFilter| c.audit_count(&filter).unwrap();
    assert_eq!(
        counted(AuditFilter {
            limit: 1,
            offset: 3,
            ..Default::default()
        }),
        4
    );
    assert_eq!(
        counted(AuditFilter {
            tenants: Some(vec![b.id]),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        counted(AuditFilter {
            user: Some("root".into()),
            ..Default::default()
        }),
        3
    );
}

fn api_calls_are_counted_per_period_up_to_the_limit(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", None);
    assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Counted(1));
    assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Counted(2));
    assert_eq!(c.charge_api_call(t.id, "2026-11", 2).unwrap(), Charge::Refused(2));
    assert_eq!(c.api_calls(t.id, "2026-11").unwrap(), 2);
    assert_eq!(c.charge_api_call(t.id, "2026-12", 2).unwrap(), Charge::Counted(1));
    assert_eq!(c.charge_api_call(t.id, "2027-01", 0).unwrap(), Charge::Refused(0));
    assert_eq!(c.api_calls(t.id, "2027-01").unwrap(), 0);
}

fn user_contexts_follow_deletions(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", None);
    let k = new_kb(&mut c, t.id, "docs");
    assert_eq!(c.context("alice").unwrap(), (None, None));
    c.set_context("alice", Some(t.id), Some(k.id)).unwrap();
    c.set_context("bob", Some(t.id), None).unwrap();
    assert_eq!(c.context("alice").unwrap(), (Some(t.id), Some(k.id)));
    let other = new_tenant(&mut c, "globex", None);
    c.set_context("alice", Some(other.id), None).unwrap();
    assert_eq!(
        c.context("alice").unwrap(),
        (Some(other.id), None),
        "one context per user"
    );
    c.set_context("alice", Some(t.id), Some(k.id)).unwrap();
    c.delete_kb(t.id, k.id, &audit("kb.delete", Some(t.id))).unwrap();
    assert_eq!(
        c.context("alice").unwrap(),
        (Some(t.id), None),
        "a deleted KB is forgotten"
    );
    c.delete_tenant(t.id, &audit("tenant.delete", Some(t.id))).unwrap();
    assert_eq!(c.context("alice").unwrap(), (None, None));
    assert_eq!(c.context("bob").unwrap(), (None, None));
    c.set_context("carol", Some(other.id), None).unwrap();
    c.set_context("carol", None, None).unwrap();
    assert_eq!(c.context("carol").unwrap(), (None, None));
}

fn deleting_a_tenant_removes_its_rows_but_keeps_the_audit(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", Some("alice"));
    let k = new_kb(&mut c, t.id, "docs");
    let key = key(t.id, None, "alice");
    c.create_key(&key, &audit("key.create", Some(t.id))).unwrap();
    c.charge_api_call(t.id, "2026-11", 10).unwrap();
    c.delete_tenant(t.id, &audit("tenant.delete", Some(t.id))).unwrap();
    assert!(c.tenant(t.id).unwrap().is_none());
    assert!(c.kb(t.id, k.id).unwrap().is_none());
    assert!(c.members(t.id).unwrap().is_empty());
    assert!(c.key(key.info.key_id).unwrap().is_none());
    assert_eq!(c.api_calls(t.id, "2026-11").unwrap(), 0);
    assert!(!f.layout().tenant_dir(t.id).exists());
    assert_eq!(
        actions(&c, t.id),
        ["tenant.delete", "key.create", "kb.create", "tenant.create"]
    );
    // The name is free again.
    new_tenant(&mut c, "ACME", None);
}

/// Four "processes" (four catalogs on one database) racing, each round started together:
/// quotas hold between them.
fn racing_processes_cannot_pass_the_quotas(f: &Fixture) {
    let t = new_tenant(&mut f.open(), "acme", None);
    let (workers, rounds) = (4, 4);
    let barrier = Arc::new(Barrier::new(workers));
    let results: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let barrier = barrier.clone();
                s.spawn(move || {
                    let mut c = f.open();
                    let (mut kbs, mut calls) = (0, 0);
                    for _ in 0..rounds {
                        let k = kb(t.id, &format!("kb-{}", Uuid::new_v4()));
                        barrier.wait();
                        if c.create_kb(&k, 5, &audit("kb.create", Some(t.id))).is_ok() {
                            kbs += 1;
                        }
                        barrier.wait();
                        if let Charge::Counted(_) = c.charge_api_call(t.id, "2026-11", 11).unwrap() {
                            calls += 1;
                        }
                    }
                    (kbs, calls)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let kbs: usize = results.iter().map(|r| r.0).sum();
    let calls: usize = results.iter().map(|r| r.1).sum();
    assert_eq!((kbs, calls), (5, 11), "{results:?}");
    let c = f.open();
    assert_eq!(c.kbs(t.id).unwrap().len(), 5);
    assert_eq!(c.api_calls(t.id, "2026-11").unwrap(), 11);
}

/// A change that panics mid-transaction writes nothing, and the catalog (its connection)
/// works on afterwards: no transaction is left open.
fn a_panicking_change_leaves_nothing_open(f: &Fixture) {
    let mut c = f.open();
    let t = new_tenant(&mut c, "acme", None);
    let k = new_kb(&mut c, t.id, "docs");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = c.update_kb(t.id, k.id, &audit("kb.update", Some(t.id)), |rec| {
            rec.name = "half-done".into();
            panic!("a bug in the caller")
        });
    }));
    assert!(panicked.is_err());
    // Another process can change the row at once (no lock is held by a forgotten transaction).
    let (tx, rx) = std::sync::mpsc::channel();
    let (tenant, kb) = (t.id, k.id);
    let mut other = f.open();
    std::thread::spawn(move || {
        let renamed = other.update_kb(tenant, kb, &audit("kb.update", Some(tenant)), |rec| {
            rec.name = "renamed".into();
            Ok(())
        });
        let _ = tx.send(renamed.map(|r| r.name));
    });
    let renamed = rx.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(renamed.expect("the row is not left locked").unwrap(), "renamed");
    new_kb(&mut c, t.id, "after");
    let other = f.open();
    assert!(other.kb_by_name(t.id, "half-done").unwrap().is_none());
    assert!(
        other.kb_by_name(t.id, "after").unwrap().is_some(),
        "the next write committed"
    );
    assert_eq!(
        actions(&other, t.id),
        ["kb.create", "kb.update", "kb.create", "tenant.create"]
    );
}

/// Migrations: a fresh catalog is at this build's version, a newer one is refused.
fn token_revocations_only_move_forward(f: &Fixture) {
    let mut c = f.open();
    assert_eq!(c.tokens_not_before("alice").unwrap(), None);
    let mut revoke = |at: u64, by: &str| c.revoke_tokens("alice", at, by, &audit("token.revoke", None)).unwrap();
    assert_eq!(revoke(2_000, "root"), 2_000);
    // An earlier not-before never re-admits tokens a later one refused, and a revocation
    // always moves past the one in force (a token issued since may carry it as its `iat`).
    assert_eq!(revoke(1_000, "root"), 2_001);
    assert_eq!(revoke(2_001, "root"), 2_002);
    assert_eq!(f.open().tokens_not_before("alice").unwrap(), Some(2_002));
    assert_eq!(revoke(3_000, "alice"), 3_000);
    assert_eq!(c.tokens_not_before("bob").unwrap(), None);
    let rows = c
        .audit_entries(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.iter().filter(|r| r.action == "token.revoke").count(), 4);
}

/// Cyrillic look-alikes, full-width forms and case are one name: refused as duplicates and
/// found by lookup; KB names alike only within a tenant.
fn look_alike_names_are_one_name(f: &Fixture) {
    let mut c = f.open();
    let acme = new_tenant(&mut c, "acme", Some("alice"));
    for alike in ["\u{430}\u{441}me", "ＡＣＭＥ", "Acme"] {
        let dup = tenant(alike);
        let err = c
            .create_tenant(&dup, None, &audit("tenant.create", Some(dup.id)))
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{alike:?}: {err}");
        assert_eq!(c.tenant_by_name(alike).unwrap().unwrap().id, acme.id, "{alike:?}");
    }
    let globex = new_tenant(&mut c, "globex", None);
    new_kb(&mut c, acme.id, "docs");
    let dup = kb(acme.id, "d\u{43E}cs");
    assert!(matches!(
        c.create_kb(&dup, 100, &audit("kb.create", Some(acme.id))),
        Err(Error::Conflict(_))
    ));
    new_kb(&mut c, globex.id, "d\u{43E}cs");
    // Renaming into a look-alike is a duplicate too.
    let err = c
        .update_tenant(globex.id, &audit("tenant.update", Some(globex.id)), |t| {
            t.name = "\u{430}cme".into();
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
}

#[test]
fn postgres_rekeys_names_and_keeps_existing_look_alikes() {
    let Some(f) = postgres("postgres_rekeys_names_and_keeps_existing_look_alikes") else {
        return;
    };
    let mut c = f.open();
    let acme = new_tenant(&mut c, "acme", Some("alice"));
    drop(c);
    let (_, url, schema) = f.pg.as_ref().unwrap();
    let mut admin = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    // A look-alike written under the old key rule (lower case only), and the catalog set back
    // to before the re-keying migration.
    let alike = Uuid::new_v4();
    admin
        .execute(
            &format!(
                "INSERT INTO {schema}.tenants (tenant_id, name, name_key, created_at, updated_at)
                 VALUES ($1, $2, $2, '2999-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')"
            ),
            &[&alike, &"\u{430}\u{441}me"],
        )
        .unwrap();
    admin
        .batch_execute(&format!(
            "UPDATE {schema}.tenants SET name_key = lower(name);
             DROP TABLE {schema}.token_revocations; DELETE FROM {schema}.lrt_migrations WHERE version >= 4"
        ))
        .unwrap();
    let c = f.open();
    assert_eq!(
        c.tenant_by_name("ACME").unwrap().unwrap().id,
        acme.id,
        "the oldest keeps the key"
    );
    assert_eq!(
        c.tenant(alike).unwrap().unwrap().name,
        "\u{430}\u{441}me",
        "the look-alike is kept"
    );
    let rows = c
        .audit_entries(&AuditFilter {
            tenants: Some(vec![alike]),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].action, "catalog.rekey");
}

#[test]
fn sqlite_schema_newer_than_this_build_is_refused() {
    let f = sqlite();
    drop(f.open());
    let conn = rusqlite::Connection::open(f.layout().catalog_path()).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteCatalog::open(f.layout())
        .err()
        .expect("a newer schema is refused");
    assert!(err.to_string().contains("newer lrt"), "{err}");
}

#[test]
fn postgres_migrations_are_recorded_and_a_newer_schema_is_refused() {
    let Some(f) = postgres("postgres_migrations_are_recorded_and_a_newer_schema_is_refused") else {
        return;
    };
    let (settings, _, _) = f.pg.as_ref().unwrap();
    let before = PgCatalog::status(settings).unwrap();
    assert_eq!(
        (before.current, before.pending.clone()),
        (0, (1..=before.latest).collect::<Vec<_>>())
    );
    assert_eq!(
        PgCatalog::migrate(settings).unwrap(),
        (1..=before.latest).collect::<Vec<_>>()
    );
    assert!(
        PgCatalog::migrate(settings).unwrap().is_empty(),
        "migrating twice is a no-op"
    );
    drop(f.open());
    let mut admin = ::postgres::Client::connect(&f.pg.as_ref().unwrap().1, ::postgres::NoTls).unwrap();
    let schema = &f.pg.as_ref().unwrap().2;
    // Every table's primary key starts with tenant_id (the bookkeeping table aside).
    let keys = admin
        .query(
            "SELECT c.relname, a.attname FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
             WHERE n.nspname = $1 AND k.contype IN ('p', 'f') AND c.relname <> 'lrt_migrations'",
            &[schema],
        )
        .unwrap();
    assert!(keys.len() >= 10, "{}", keys.len());
    for row in &keys {
        let (table, first): (String, String) = (row.get(0), row.get(1));
        assert_eq!(first, "tenant_id", "{table}'s key starts with {first}");
    }
    admin
        .batch_execute(&format!("INSERT INTO {schema}.lrt_migrations (version) VALUES (99)"))
        .unwrap();
    let err = PgCatalog::open(settings, f.layout())
        .err()
        .expect("a newer schema is refused");
    assert!(err.to_string().contains("newer lrt"), "{err}");
    assert_eq!(err.kind().exit_code(), 9);
}
