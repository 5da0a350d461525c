//! A super-admin and tenant admins administering tenants, knowledge bases and members from
//! the command line, end to end, as the README's "Everyday use" shows.

mod common;

use common::{Lrt, ROOT, is_uuid, keys};
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a bare JSON array")
        .iter()
        .map(|t| t["tenant_name"].as_str().unwrap())
        .collect()
}

fn actions(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn init_writes_a_private_config_and_data_dir() {
    let lrt = Lrt::new();
    let config = std::fs::read_to_string(lrt.config_path()).unwrap();
    assert!(config.contains("user = \"root\""), "{config}");
    assert!(config.contains("super_admins = [\"root\"]"), "{config}");
    assert!(config.contains("enabled = true"), "{config}");
    assert!(lrt.data_dir().join("catalog.db").is_file());
    #[cfg(unix)]
    {
        assert_eq!(common::mode(&lrt.config_path()), 0o600);
        assert_eq!(common::mode(&lrt.data_dir()), 0o700);
    }
    // A second init does not clobber the file.
    let again = lrt.run(None, &[], &["init", "--user", "someone-else"]);
    assert_eq!(again.code, 6, "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(lrt.config_path()).unwrap(), config);

    let me = lrt.json_as(ROOT, &["whoami"]);
    assert_eq!(me["user"], "root");
    assert_eq!(me["super_admin"], true);
    assert_eq!(me["multi_tenant"], true);
    assert_eq!(me["memberships"], json!([]));
    assert_eq!(me["context"], Value::Null);
}

#[test]
fn tenant_create_takes_admin_metadata_settings_and_a_config_file() {
    let lrt = Lrt::new();
    let file = lrt.root().join("acme.toml");
    std::fs::write(
        &file,
        r#"description = "From the file"

[config]
top_k = 25
llm_model = "gpt-4o"
chunk_size = 800

[quota]
max_documents = 5000
max_storage_gb = 2.5

[metadata]
region = "eu"
plan = "from-file"
"#,
    )
    .unwrap();
    let t = lrt.json_as(
        ROOT,
        &[
            "tenant",
            "create",
            "acme",
            "--admin",
            "alice@acme.com",
            "--metadata",
            "plan=enterprise",
            "--config-file",
            file.to_str().unwrap(),
            "--set",
            "top_k=50",
            "--set",
            "max_kb_per_tenant=5",
        ],
    );
    let id = t["tenant_id"].as_str().unwrap();
    assert!(is_uuid(id), "{id}");
    assert_eq!(t["tenant_name"], "acme");
    assert_eq!(t["description"], "From the file");
    // --set wins over the file, the file over the defaults.
    assert_eq!(t["config"]["top_k"], 50);
    assert_eq!(t["config"]["llm_model"], "gpt-4o");
    assert_eq!(t["config"]["chunk_size"], 800);
    assert_eq!(t["config"]["chunk_top_k"], 20);
    assert_eq!(t["quota"]["max_documents"], 5000);
    assert_eq!(t["quota"]["max_storage_gb"], 2.5);
    assert_eq!(t["quota"]["max_kb_per_tenant"], 5);
    assert_eq!(t["quota"]["max_concurrent_queries"], 10);
    // --metadata wins over the file's [metadata].
    assert_eq!(t["metadata"], json!({"region": "eu", "plan": "enterprise"}));
    assert_eq!(t["is_active"], true);
    assert_eq!(t["created_by"], "root");
    assert_eq!(t["kb_count"], 0);

    // What create printed is what is stored (show adds this month's API usage).
    let mut shown = lrt.json_as(ROOT, &["tenant", "show", id]);
    assert_eq!(shown["usage"]["api_calls"], 0);
    shown.as_object_mut().unwrap().remove("usage");
    assert_eq!(shown, t);

    let members = lrt.json_as(ROOT, &["member", "list", "--tenant", "acme"]);
    assert_eq!(members.as_array().unwrap().len(), 1);
    assert_eq!(members[0]["user_id"], "alice@acme.com");
    assert_eq!(members[0]["role"], "admin");
    assert_eq!(members[0]["tenant_id"], id);

    assert!(lrt.tenant_dir(id).is_dir());
    #[cfg(unix)]
    assert_eq!(common::mode(&lrt.tenant_dir(id)), 0o700);

    // --description on the command line wins over the file's.
    let b = lrt.json_as(
        ROOT,
        &[
            "tenant",
            "create",
            "beta",
            "--config-file",
            file.to_str().unwrap(),
            "--description",
            "From the flag",
        ],
    );
    assert_eq!(b["description"], "From the flag");
    assert_eq!(b["config"]["top_k"], 25);
    // No --admin: no members.
    assert_eq!(lrt.json_as(ROOT, &["member", "list", "--tenant", "beta"]), json!([]));
}

#[test]
fn tenant_list_is_paginated_ordered_by_name_and_a_bare_array() {
    let lrt = Lrt::new();
    for name in ["delta", "Alpha", "echo", "charlie", "bravo"] {
        lrt.tenant(name, None);
    }
    let page = |p: &str, size: &str| lrt.json_as(ROOT, &["tenant", "list", "--page", p, "--page-size", size]);
    assert_eq!(names(&page("1", "2")), ["Alpha", "bravo"]);
    assert_eq!(names(&page("2", "2")), ["charlie", "delta"]);
    assert_eq!(names(&page("3", "2")), ["echo"]);
    assert_eq!(page("4", "2"), json!([]));
    assert_eq!(
        names(&lrt.json_as(ROOT, &["tenant", "list"])),
        ["Alpha", "bravo", "charlie", "delta", "echo"]
    );

    let table = lrt.run_as(ROOT, &["tenant", "list", "--page-size", "2"]);
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("page 1 of 3 (5 tenants)"), "{}", table.stdout);
    assert!(table.stdout.contains("Alpha") && !table.stdout.contains("charlie"));

    let ids = lrt.run_as(ROOT, &["tenant", "list", "-q"]);
    let ids: Vec<&str> = ids.stdout.lines().collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.iter().all(|id| is_uuid(id)), "{ids:?}");
}

#[test]
fn tenant_show_finds_by_id_and_by_name_in_any_case() {
    let lrt = Lrt::new();
    let id = lrt.tenant("Acme", None);
    for ident in [id.as_str(), "Acme", "acme", "ACME", "aCmE"] {
        let t = lrt.json_as(ROOT, &["tenant", "show", ident]);
        assert_eq!(t["tenant_id"], id.as_str(), "{ident}");
        assert_eq!(t["tenant_name"], "Acme", "{ident}");
    }
    let run = lrt.run_as(ROOT, &["tenant", "show", "acme-corp"]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
    assert_eq!(
        lrt.code_as(ROOT, &["tenant", "show", "00000000-0000-4000-8000-000000000000"]),
        3
    );
}

#[test]
fn tenant_update_renames_describes_sets_and_unsets() {
    let lrt = Lrt::new();
    let id = lrt.tenant("acme", Some("alice"));
    let before = lrt.json_as(ROOT, &["tenant", "show", &id]);

    // Renaming takes a super-admin (tenant names are one namespace across tenants); the
    // tenant's admin changes the rest.
    let run = lrt.run_as("alice", &["tenant", "update", "acme", "--name", "Acme Corp"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let t = lrt.json_as(
        ROOT,
        &[
            "tenant",
            "update",
            "acme",
            "--name",
            "Acme Corp",
            "--description",
            "The Acme tenant",
            "--metadata",
            "tier=gold",
            "--set",
            "top_k=50",
            "--set",
            "enable_rerank=false",
            "--set",
            "llm_model=gpt-4o",
        ],
    );
    assert_eq!(t["tenant_id"], id.as_str());
    assert_eq!(t["tenant_name"], "Acme Corp");
    assert_eq!(t["description"], "The Acme tenant");
    assert_eq!(t["metadata"]["tier"], "gold");
    assert_eq!(t["config"]["top_k"], 50);
    assert_eq!(t["config"]["enable_rerank"], false);
    assert_eq!(t["config"]["llm_model"], "gpt-4o");
    assert_eq!(t["created_at"], before["created_at"]);
    assert!(t["updated_at"].as_str().unwrap() >= before["updated_at"].as_str().unwrap());

    // The new name works, the old one is gone.
    assert_eq!(
        lrt.json_as("alice", &["tenant", "show", "acme corp"])["tenant_id"],
        id.as_str()
    );
    assert_eq!(lrt.code_as("alice", &["tenant", "show", "acme"]), 3);

    // --unset restores the default; --description "" clears.
    let t = lrt.json_as(
        "alice",
        &["tenant", "update", &id, "--unset", "top_k", "--description", ""],
    );
    assert_eq!(t["config"]["top_k"], 40);
    assert_eq!(t["config"]["enable_rerank"], false);
    assert_eq!(t["description"], Value::Null);

    // Quota keys: super-admin only.
    let t = lrt.json_as(ROOT, &["tenant", "update", &id, "--set", "max_documents=42"]);
    assert_eq!(t["quota"]["max_documents"], 42);
    let t = lrt.json_as(ROOT, &["tenant", "update", &id, "--unset", "max_documents"]);
    assert_eq!(t["quota"]["max_documents"], 10000);

    // Nothing to update is a usage error.
    assert_eq!(lrt.code_as("alice", &["tenant", "update", &id]), 2);
}

#[test]
fn kb_create_list_show_update_delete_with_private_folders() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "top_k=30"]);

    let kb = lrt.json_as(
        "alice",
        &[
            "kb",
            "create",
            "--tenant",
            "acme",
            "docs",
            "--description",
            "Product docs",
            "--set",
            "chunk_size=800",
        ],
    );
    let k = kb["kb_id"].as_str().unwrap().to_string();
    assert!(is_uuid(&k));
    assert_eq!(kb["tenant_id"], t.as_str());
    assert_eq!(kb["kb_name"], "docs");
    assert_eq!(kb["description"], "Product docs");
    assert_eq!(kb["created_by"], "alice");
    assert_eq!(kb["config"], json!({"chunk_size": 800}));
    assert_eq!(kb["effective_config"]["chunk_size"], 800);
    assert_eq!(kb["effective_config"]["top_k"], 30, "the tenant's override applies");
    assert_eq!(kb["effective_config"]["chunk_top_k"], 20, "the default applies");

    let dir = lrt.kb_dir(&t, &k);
    assert!(dir.is_dir(), "{} missing", dir.display());
    #[cfg(unix)]
    {
        assert_eq!(common::mode(&dir), 0o700);
        assert_eq!(common::mode(&lrt.tenant_dir(&t)), 0o700);
        assert_eq!(common::mode(&lrt.tenant_dir(&t).join("kbs")), 0o700);
    }
    assert_eq!(lrt.json_as(ROOT, &["tenant", "show", "acme"])["kb_count"], 1);

    let other = lrt.kb("acme", "notes");
    let list = lrt.json_as("alice", &["kb", "list", "--tenant", "acme"]);
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kb_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["docs", "notes"]);

    // By name in any case, by id, as the argument or with --kb.
    for args in [
        vec!["kb", "show", "--tenant", "acme", "docs"],
        vec!["kb", "show", "--tenant", "ACME", "DOCS"],
        vec!["kb", "show", "--tenant", &t, &k],
        vec!["kb", "show", "-t", "acme", "--kb", &k],
    ] {
        let shown = lrt.json_as("alice", &args);
        assert_eq!(shown["kb_id"], k.as_str(), "{args:?}");
        assert_eq!(shown["effective_config"]["chunk_size"], 800);
    }

    let kb = lrt.json_as(
        "alice",
        &[
            "kb",
            "update",
            "--tenant",
            "acme",
            "docs",
            "--name",
            "manuals",
            "--description",
            "",
            "--set",
            "top_k=10",
            "--unset",
            "chunk_size",
        ],
    );
    assert_eq!(kb["kb_id"], k.as_str());
    assert_eq!(kb["kb_name"], "manuals");
    assert_eq!(kb["description"], Value::Null);
    assert_eq!(kb["config"], json!({"top_k": 10}));
    assert_eq!(kb["effective_config"]["top_k"], 10);
    assert_eq!(kb["effective_config"]["chunk_size"], 1200);
    assert_eq!(lrt.code_as("alice", &["kb", "show", "--tenant", "acme", "docs"]), 3);

    // --dry-run says what would go and changes nothing.
    let report = lrt.json_as("alice", &["kb", "delete", "--tenant", "acme", "manuals", "--dry-run"]);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["kb_id"], k.as_str());
    assert_eq!(report["kb_name"], "manuals");
    assert!(dir.is_dir());
    assert_eq!(
        lrt.json_as("alice", &["kb", "list", "--tenant", "acme"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let report = lrt.json_as("alice", &["kb", "delete", "--tenant", "acme", "manuals", "--yes"]);
    assert_eq!(report["dry_run"], false);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(lrt.kb_dir(&t, &other).is_dir(), "the other KB's folder is untouched");
    assert_eq!(lrt.code_as("alice", &["kb", "show", "--tenant", "acme", &k]), 3);
    let list = lrt.json_as("alice", &["kb", "list", "--tenant", "acme"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["kb_id"], other.as_str());
    assert_eq!(lrt.json_as(ROOT, &["tenant", "show", "acme"])["kb_count"], 1);
}

#[test]
fn members_are_added_listed_updated_and_removed() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    let m = lrt.json_as(
        "alice",
        &["member", "add", "--tenant", "acme", "bob@acme.com", "--role", "editor"],
    );
    assert_eq!(m["user_id"], "bob@acme.com");
    assert_eq!(m["role"], "editor");
    assert_eq!(m["tenant_id"], t.as_str());
    assert_eq!(m["created_by"], "alice");
    lrt.json_as("alice", &["member", "add", "-t", "acme", "carol", "--role", "viewer"]);

    let roles = |lrt: &Lrt| -> Vec<(String, String)> {
        lrt.json_as("alice", &["member", "list", "--tenant", "acme"])
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["user_id"].as_str().unwrap().to_string(),
                    m["role"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    assert_eq!(
        roles(&lrt),
        pairs(&[("alice", "admin"), ("bob@acme.com", "editor"), ("carol", "viewer")])
    );
    // Any member may list; the list is the same.
    assert_eq!(
        lrt.json_as("carol", &["member", "list", "--tenant", "acme"]),
        lrt.json_as("alice", &["member", "list", "--tenant", "acme"])
    );

    let m = lrt.json_as(
        "alice",
        &[
            "member",
            "update",
            "--tenant",
            "acme",
            "bob@acme.com",
            "--role",
            "viewer_readonly",
        ],
    );
    assert_eq!(m["role"], "viewer_readonly");

    let dry = lrt.json_as("alice", &["member", "remove", "--tenant", "acme", "carol", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["member"]["user_id"], "carol");
    assert_eq!(roles(&lrt).len(), 3);

    let removed = lrt.json_as("alice", &["member", "remove", "--tenant", "acme", "carol", "--yes"]);
    assert_eq!(removed["dry_run"], false);
    assert_eq!(removed["member"]["role"], "viewer");
    assert_eq!(
        roles(&lrt),
        pairs(&[("alice", "admin"), ("bob@acme.com", "viewer_readonly")])
    );
    assert_eq!(
        lrt.code_as("carol", &["tenant", "show", "acme"]),
        3,
        "carol lost access"
    );

    assert_eq!(
        lrt.code_as("alice", &["member", "remove", "-t", "acme", "nobody", "--yes"]),
        3
    );
    assert_eq!(
        lrt.code_as(
            "alice",
            &["member", "update", "-t", "acme", "nobody", "--role", "viewer"]
        ),
        3
    );
    assert_eq!(
        lrt.code_as(
            "alice",
            &["member", "add", "-t", "acme", "bob@acme.com", "--role", "admin"]
        ),
        6
    );
}

#[test]
fn use_remembers_a_context_per_user() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    let k = lrt.kb("acme", "docs");
    lrt.kb("acme", "notes");

    let ctx = lrt.json_as(ROOT, &["use", "acme", "docs"]);
    assert_eq!(
        ctx,
        json!({"tenant_id": t, "tenant_name": "acme", "kb_id": k, "kb_name": "docs"})
    );
    assert_eq!(lrt.json_as(ROOT, &["use"]), ctx);
    assert_eq!(lrt.json_as(ROOT, &["whoami"])["context"], ctx);

    // No --tenant, no KB: the context decides.
    let kb = lrt.json_as(ROOT, &["kb", "show"]);
    assert_eq!(kb["kb_id"], k.as_str());
    assert_eq!(lrt.json_as(ROOT, &["kb", "list"]).as_array().unwrap().len(), 2);
    assert_eq!(lrt.json_as(ROOT, &["member", "list"])[0]["user_id"], "alice");
    assert_eq!(lrt.json_as(ROOT, &["kb", "show", "notes"])["kb_name"], "notes");
    let created = lrt.json_as(ROOT, &["kb", "create", "extra"]);
    assert_eq!(created["tenant_id"], t.as_str());

    // -q prints the KB id (else the tenant id).
    assert_eq!(lrt.run_as(ROOT, &["use", "-q"]).stdout.trim(), k);

    // Contexts are per user: alice has none.
    let run = lrt.run_as("alice", &["kb", "show"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no tenant selected"), "{}", run.stderr);
    assert_eq!(lrt.json_as("alice", &["use"]), Value::Null);

    // A tenant-only context needs a KB named.
    lrt.json_as("alice", &["use", "acme"]);
    let run = lrt.run_as("alice", &["kb", "show"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(lrt.json_as("alice", &["kb", "show", "docs"])["kb_id"], k.as_str());

    // --clear forgets it.
    lrt.json_as(ROOT, &["use", "--clear"]);
    assert_eq!(lrt.json_as(ROOT, &["use"]), Value::Null);
    assert_eq!(lrt.code_as(ROOT, &["kb", "show"]), 2);
}

#[test]
fn a_deactivated_tenant_refuses_everything_but_show_activate_and_delete() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    lrt.kb("acme", "old");
    lrt.member("acme", "bob", "editor");
    lrt.member("acme", "carol", "viewer");

    let t_json = lrt.json_as(ROOT, &["tenant", "deactivate", "acme"]);
    assert_eq!(t_json["is_active"], false);
    let before = lrt.snapshot();

    let refused: &[&[&str]] = &[
        &["tenant", "update", "acme", "--description", "x"],
        &["tenant", "update", "acme", "--set", "top_k=5"],
        &["tenant", "update", "acme", "--set", "max_kb_per_tenant=5"],
        &["kb", "create", "--tenant", "acme", "new"],
        &["kb", "list", "--tenant", "acme"],
        &["kb", "show", "--tenant", "acme", "docs"],
        &["kb", "update", "--tenant", "acme", "docs", "--description", "x"],
        &["kb", "delete", "--tenant", "acme", "old", "--yes"],
        &["member", "add", "--tenant", "acme", "dave", "--role", "viewer"],
        &["member", "list", "--tenant", "acme"],
        &["member", "update", "--tenant", "acme", "bob", "--role", "viewer"],
        &["member", "remove", "--tenant", "acme", "carol", "--yes"],
        &["use", "acme"],
    ];
    for user in [ROOT, "alice"] {
        for args in refused {
            let run = lrt.run_as(user, args);
            assert_eq!(run.code, 5, "{user}: lrt {args:?}: {}", run.stderr);
            assert!(run.stderr.contains("deactivated"), "{user}: {args:?}: {}", run.stderr);
        }
        // Reading the tenant's own record still works.
        let shown = lrt.json_as(user, &["tenant", "show", "acme"]);
        assert_eq!(shown["is_active"], false);
        let list = lrt.json_as(user, &["tenant", "list"]);
        assert_eq!(list[0]["is_active"], false);
    }
    assert_eq!(lrt.snapshot(), before, "refused commands changed something");

    // Only a super-admin (re)activates.
    assert_eq!(lrt.code_as("alice", &["tenant", "activate", "acme"]), 5);
    assert_eq!(lrt.json_as(ROOT, &["tenant", "activate", "acme"])["is_active"], true);
    assert_eq!(
        lrt.json_as("alice", &["kb", "list", "--tenant", "acme"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A deactivated tenant can be deleted by a super-admin.
    lrt.json_as(ROOT, &["tenant", "deactivate", "acme"]);
    assert_eq!(lrt.code_as("alice", &["tenant", "delete", "acme", "--yes"]), 5);
    let report = lrt.json_as(ROOT, &["tenant", "delete", "acme", "--yes"]);
    assert_eq!(report["dry_run"], false);
    assert!(!lrt.tenant_dir(&t).exists());
}

#[test]
fn tenant_delete_dry_run_changes_nothing_and_yes_removes_everything() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    let k = lrt.kb("acme", "docs");
    lrt.kb("acme", "notes");
    lrt.member("acme", "bob", "editor");
    lrt.json_as("bob", &["use", "acme", "docs"]);
    let other = lrt.tenant("beta", None);
    let before = lrt.snapshot();

    let plan = lrt.json_as(ROOT, &["tenant", "delete", "acme", "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["tenant_id"], t.as_str());
    assert_eq!(plan["tenant_name"], "acme");
    assert_eq!(plan["kb_count"], 2);
    assert_eq!(plan["member_count"], 2);
    assert!(plan.get("kb_id").is_none(), "{plan}");
    assert_eq!(lrt.snapshot(), before);
    let text = lrt.run_as(ROOT, &["tenant", "delete", "acme", "--dry-run"]);
    assert!(text.stdout.contains("Would delete tenant 'acme'"), "{}", text.stdout);
    assert_eq!(lrt.snapshot(), before);

    let report = lrt.json_as(ROOT, &["tenant", "delete", "acme", "--yes"]);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["kb_count"], 2);
    assert!(!lrt.tenant_dir(&t).exists());
    assert!(!lrt.kb_dir(&t, &k).exists());
    assert!(lrt.tenant_dir(&other).is_dir());
    assert_eq!(names(&lrt.json_as(ROOT, &["tenant", "list"])), ["beta"]);
    assert_eq!(lrt.code_as(ROOT, &["tenant", "show", &t]), 3);
    assert_eq!(lrt.json_as("alice", &["whoami"])["memberships"], json!([]));
    // bob's context pointed into the deleted tenant: it is gone too.
    assert_eq!(lrt.json_as("bob", &["use"]), Value::Null);
    // The name is free again.
    lrt.tenant("acme", None);
}

#[test]
fn the_audit_log_records_every_mutation_and_denial_and_filters() {
    let lrt = Lrt::new();
    let acme = lrt.tenant("acme", Some("alice"));
    let beta = lrt.tenant("beta", Some("zed"));
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "top_k=5"]);
    lrt.json_as("alice", &["kb", "create", "-t", "acme", "docs"]);
    lrt.json_as("alice", &["kb", "update", "-t", "acme", "docs", "--set", "top_k=7"]);
    lrt.json_as("alice", &["kb", "create", "-t", "acme", "tmp"]);
    lrt.json_as("alice", &["kb", "delete", "-t", "acme", "tmp", "--yes"]);
    lrt.json_as("alice", &["member", "add", "-t", "acme", "bob", "--role", "viewer"]);
    lrt.json_as("alice", &["member", "add", "-t", "acme", "carl", "--role", "viewer"]);
    lrt.json_as("alice", &["member", "update", "-t", "acme", "carl", "--role", "editor"]);
    lrt.json_as("alice", &["member", "remove", "-t", "acme", "carl", "--yes"]);
    lrt.json_as(ROOT, &["tenant", "deactivate", "beta"]);
    lrt.json_as(ROOT, &["tenant", "activate", "beta"]);
    lrt.json_as(ROOT, &["kb", "create", "-t", "beta", "b-docs"]);
    let gone = lrt.tenant("gone", None);
    lrt.json_as(ROOT, &["tenant", "delete", "gone", "--yes"]);
    // Denials: a viewer lacking a permission, a stranger, a non-super-admin creating a tenant.
    assert_eq!(lrt.code_as("bob", &["kb", "create", "-t", "acme", "nope"]), 5);
    assert_eq!(lrt.code_as("mallory", &["tenant", "show", "acme"]), 3);
    assert_eq!(lrt.code_as("alice", &["tenant", "create", "mine"]), 5);
    // Acting as someone else is recorded with both names.
    lrt.json_as(ROOT, &["--as", "alice", "kb", "create", "-t", "acme", "via-as"]);

    let all = lrt.audit();
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let mut sorted_desc = ids.clone();
    sorted_desc.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted_desc, "newest first");
    let got = actions(&all);
    for action in [
        "tenant.create",
        "tenant.update",
        "tenant.deactivate",
        "tenant.activate",
        "tenant.delete",
        "kb.create",
        "kb.update",
        "kb.delete",
        "member.add",
        "member.update",
        "member.remove",
    ] {
        assert!(
            got.contains(&(action.to_string(), "ok".to_string())),
            "no ok {action} in {got:?}"
        );
    }
    let find = |user: &str, action: &str, outcome: &str| {
        all.iter()
            .find(|e| e["user_id"] == user && e["action"] == action && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {outcome} {action} by {user} in {got:?}"))
    };
    let denied = find("bob", "kb.create", "denied");
    assert_eq!(denied["tenant_id"], acme.as_str());
    assert!(denied["detail"].as_str().unwrap().contains("kb:create"), "{denied}");
    // A non-member's "not found" is recorded installation-wide, not in the tenant's own log.
    assert_eq!(find("mallory", "tenant.show", "denied")["tenant_id"], Value::Null);
    find("alice", "tenant.create", "denied");
    let via_as = all
        .iter()
        .find(|e| e["action"] == "kb.create" && e["detail"] == "name=via-as")
        .expect("the --as kb.create");
    assert_eq!(via_as["user_id"], "alice");
    assert_eq!(via_as["real_user"], "root");
    assert_eq!(find(ROOT, "tenant.delete", "ok")["tenant_id"], gone.as_str());
    // Counted: one kb.create per KB created (docs, tmp, b-docs, via-as).
    let kb_creates = got.iter().filter(|(a, o)| a == "kb.create" && o == "ok").count();
    assert_eq!(kb_creates, 4);

    // --tenant
    let acme_rows = lrt.json_as(ROOT, &["audit", "list", "--tenant", "acme", "--limit", "1000"]);
    let acme_rows = acme_rows.as_array().unwrap();
    assert!(acme_rows.iter().all(|e| e["tenant_id"] == acme.as_str()));
    let expected = all.iter().filter(|e| e["tenant_id"] == acme.as_str()).count();
    assert_eq!(acme_rows.len(), expected);
    assert!(expected >= 10);

    // --user matches the acting user or the super-admin behind --as.
    let bob_rows = lrt.json_as(ROOT, &["audit", "list", "--user", "bob"]);
    assert_eq!(bob_rows.as_array().unwrap().len(), 1);
    let root_rows = lrt.json_as(ROOT, &["audit", "list", "--user", ROOT, "--limit", "1000"]);
    assert!(root_rows.as_array().unwrap().iter().any(|e| e["real_user"] == ROOT));
    assert!(
        root_rows
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == ROOT || e["real_user"] == ROOT)
    );

    // --limit keeps the newest.
    let three = lrt.json_as(ROOT, &["audit", "list", "--limit", "3"]);
    assert_eq!(three, json!(all[..3]));

    // --since: an absolute time keeps exactly the entries at or after it.
    let middle = all[all.len() / 2]["at"].as_str().unwrap().to_string();
    let since = lrt.json_as(ROOT, &["audit", "list", "--since", &middle, "--limit", "1000"]);
    let expected: Vec<&Value> = all
        .iter()
        .filter(|e| e["at"].as_str().unwrap() >= middle.as_str())
        .collect();
    assert_eq!(since.as_array().unwrap().iter().collect::<Vec<_>>(), expected);
    assert!(expected.len() < all.len());
    assert_eq!(
        lrt.json_as(ROOT, &["audit", "list", "--since", "1h", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len(),
        all.len()
    );
    assert_eq!(
        lrt.json_as(ROOT, &["audit", "list", "--since", "2999-01-01"]),
        json!([])
    );

    // A tenant admin reads only their tenant's rows.
    let alice_view = lrt.json_as("alice", &["audit", "list", "--limit", "1000"]);
    let alice_view = alice_view.as_array().unwrap();
    assert!(!alice_view.is_empty());
    assert!(
        alice_view.iter().all(|e| e["tenant_id"] == acme.as_str()),
        "{alice_view:?}"
    );
    assert_eq!(alice_view.len(), acme_rows.len());
    assert_eq!(
        lrt.json_as("alice", &["audit", "list", "--tenant", "acme", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len(),
        acme_rows.len()
    );
    assert_eq!(lrt.code_as("alice", &["audit", "list", "--tenant", "beta"]), 3);
    let zed_view = lrt.json_as("zed", &["audit", "list", "--limit", "1000"]);
    assert!(
        zed_view
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == beta.as_str())
    );

    // A viewer may not read the audit log at all.
    let run = lrt.run_as("bob", &["audit", "list"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(lrt.code_as("bob", &["audit", "list", "--tenant", "acme"]), 5);
    assert_eq!(lrt.code_as("mallory", &["audit", "list"]), 5);
}

#[test]
fn whoami_shows_user_role_memberships_and_acting_as() {
    let lrt = Lrt::new();
    let a = lrt.tenant("acme", Some("alice"));
    let b = lrt.tenant("beta", None);
    lrt.member("beta", "alice", "viewer");

    let me = lrt.json_as("alice", &["whoami"]);
    assert_eq!(me["user"], "alice");
    assert_eq!(me["real_user"], Value::Null);
    assert_eq!(me["super_admin"], false);
    assert_eq!(
        me["memberships"],
        json!([
            {"tenant_id": a, "tenant_name": "acme", "role": "admin"},
            {"tenant_id": b, "tenant_name": "beta", "role": "viewer"},
        ])
    );
    let as_alice = lrt.json_as(ROOT, &["--as", "alice", "whoami"]);
    assert_eq!(as_alice["user"], "alice");
    assert_eq!(as_alice["real_user"], "root");
    assert_eq!(as_alice["super_admin"], false);
    assert_eq!(as_alice["memberships"], me["memberships"]);

    let text = lrt.run_as("alice", &["whoami"]);
    assert!(
        text.stdout.contains("alice") && text.stdout.contains("acme"),
        "{}",
        text.stdout
    );
    assert_eq!(lrt.run_as("alice", &["whoami", "-q"]).stdout, "alice\n");
}

#[test]
fn config_show_reports_every_value_with_its_source_and_masks_secrets() {
    let lrt = Lrt::new();
    let secret = "s3cr3t-token-value-that-is-longer-than-32-bytes";
    let key = "sk-very-secret-llm-api-key-0123456789";
    let env = [("TOKEN_SECRET", secret), ("LLM_BINDING_API_KEY", key)];

    let run = lrt.run(None, &env, &["config", "show", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    for (name, entry) in doc.as_object().unwrap() {
        assert_eq!(keys(entry), ["source", "value"], "{name}: {entry}");
        assert!(entry["source"].is_string(), "{name}");
    }
    assert_eq!(doc["identity.user"], json!({"value": "root", "source": "config file"}));
    assert_eq!(
        doc["multi_tenancy.enabled"],
        json!({"value": true, "source": "config file"})
    );
    assert_eq!(
        doc["multi_tenancy.super_admins"],
        json!({"value": ["root"], "source": "config file"})
    );
    assert_eq!(doc["storage.data_dir"]["source"], "env LRT_DATA_DIR");
    assert_eq!(doc["config_file"]["source"], "env LRT_CONFIG");
    assert_eq!(
        doc["auth.jwt_algorithm"],
        json!({"value": "HS256", "source": "config file"})
    );
    assert_eq!(doc["llm.timeout_secs"], json!({"value": 240, "source": "default"}));
    assert_eq!(doc["auth.token_secret"]["source"], "env TOKEN_SECRET");
    assert!(doc["auth.token_secret"]["value"].as_str().unwrap().contains("hidden"));
    assert_eq!(doc["llm.api_key"]["source"], "env LLM_BINDING_API_KEY");
    for (name, out) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!out.contains(secret), "the token secret leaked on {name}");
        assert!(!out.contains(key), "the API key leaked on {name}");
    }
    let table = lrt.run(None, &env, &["config", "show"]);
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("auth.token_secret"));
    assert!(!table.stdout.contains(secret) && !table.stderr.contains(secret));
    assert!(!table.stdout.contains(key) && !table.stderr.contains(key));

    // Flag > env > file.
    let other = lrt.root().join("elsewhere");
    let run = lrt.run(
        Some("envuser"),
        &[("ENABLE_MULTI_TENANTS", "false")],
        &["config", "show", "--json", "--data-dir", other.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();
    assert_eq!(
        doc["identity.user"],
        json!({"value": "envuser", "source": "env LRT_USER"})
    );
    assert_eq!(
        doc["multi_tenancy.enabled"],
        json!({"value": false, "source": "env ENABLE_MULTI_TENANTS"})
    );
    assert_eq!(doc["storage.data_dir"]["source"], "flag --data-dir");
    assert_eq!(doc["storage.data_dir"]["value"], other.to_str().unwrap());

    // A secret in the config file is masked too.
    let mut text = std::fs::read_to_string(lrt.config_path()).unwrap();
    text = text.replace("# token_secret = \"\"", &format!("token_secret = \"{secret}\""));
    std::fs::write(lrt.config_path(), text).unwrap();
    let run = lrt.run(None, &[], &["config", "show", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["auth.token_secret"]["source"], "config file");
    assert!(!run.stdout.contains(secret));

    let path = lrt.json_as(ROOT, &["config", "path"]);
    assert_eq!(path["config_file"], lrt.config_path().to_str().unwrap());
}

#[test]
fn quiet_prints_only_ids_for_scripts() {
    let lrt = Lrt::new();
    let run = lrt.run_as(ROOT, &["tenant", "create", "acme", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let t = run.stdout.strip_suffix('\n').expect("one line");
    assert!(is_uuid(t), "{:?}", run.stdout);
    // T=$(lrt tenant create … -q) is usable as an id.
    assert_eq!(lrt.json_as(ROOT, &["tenant", "show", t])["tenant_name"], "acme");

    let run = lrt.run_as(ROOT, &["kb", "create", "-t", t, "docs", "-q"]);
    let k = run.stdout.trim();
    assert!(is_uuid(k) && run.stdout.lines().count() == 1, "{:?}", run.stdout);
    assert!(lrt.kb_dir(t, k).is_dir());
    assert_eq!(lrt.run_as(ROOT, &["kb", "list", "-t", t, "-q"]).stdout.trim(), k);
    assert_eq!(
        lrt.run_as(ROOT, &["kb", "show", "-t", t, "docs", "-q"]).stdout.trim(),
        k
    );

    lrt.run_as(ROOT, &["member", "add", "-t", t, "bob", "--role", "viewer", "-q"]);
    assert_eq!(lrt.run_as(ROOT, &["member", "list", "-t", t, "-q"]).stdout, "bob\n");
    assert_eq!(lrt.run_as(ROOT, &["tenant", "list", "-q"]).stdout.trim(), t);
    let audit_ids = lrt.run_as(ROOT, &["audit", "list", "-q"]).stdout;
    assert!(audit_ids.lines().all(|l| l.parse::<i64>().is_ok()), "{audit_ids}");
    assert_eq!(audit_ids.lines().count(), 3);
    // can-i -q prints nothing; the exit code answers.
    let run = lrt.run_as(ROOT, &["auth", "can-i", "kb:create", "-t", t, "--as", "bob", "-q"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
}

#[test]
fn a_deactivated_tenant_refuses_audit_list_to_its_admin() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.json_as(ROOT, &["tenant", "deactivate", "acme"]);
    let run = lrt.run_as("alice", &["audit", "list", "--tenant", "acme"]);
    assert_eq!(run.code, 5, "{}", run.stdout);
    assert!(run.stderr.contains("deactivated"), "{}", run.stderr);
}

#[test]
fn tenant_list_pages_past_the_end_are_empty_however_large() {
    let lrt = Lrt::new();
    lrt.tenant("acme", None);
    lrt.tenant("beta", None);
    for (page, size) in [
        ("3", "1"),
        ("1000000", "1000"),
        ("9223372036854775807", "2"),
        ("18446744073709551615", "1"),
    ] {
        let list = lrt.json_as(ROOT, &["tenant", "list", "--page", page, "--page-size", size]);
        assert_eq!(names(&list), Vec::<&str>::new(), "--page {page} --page-size {size}");
    }
}
