//! With multi-tenancy disabled (the guide's default) lrt behaves like a single-workspace
//! LightRAG: commands that name no tenant or KB use the built-in `default` tenant and KB.

mod common;

use common::{Lrt, ROOT, is_uuid};
use serde_json::Value;

fn builtin_kb(lrt: &Lrt, user: &str, env: &[(&str, &str)]) -> Value {
    let run = lrt.run(Some(user), env, &["kb", "show", "--json"]);
    assert_eq!(run.code, 0, "{user}: {}", run.stderr);
    run.json()
}

#[test]
fn kb_show_without_a_tenant_uses_the_builtin_workspace_for_any_user() {
    let lrt = Lrt::with_init(&["--single-workspace"]);
    assert_eq!(lrt.json_as(ROOT, &["whoami"])["multi_tenant"], false);
    assert_eq!(lrt.tree(), Vec::<String>::new(), "nothing is created before first use");

    let kb = builtin_kb(&lrt, "someone", &[]);
    assert_eq!(kb["kb_name"], "default");
    let k = kb["kb_id"].as_str().unwrap().to_string();
    let t = kb["tenant_id"].as_str().unwrap().to_string();
    assert!(is_uuid(&k) && is_uuid(&t));
    assert!(lrt.kb_dir(&t, &k).is_dir());
    assert_eq!(kb["effective_config"]["top_k"], 40);
    // kb show names the providers that answer: the offline local ones by default.
    assert_eq!(kb["providers"]["llm"]["binding"], "local");
    assert_eq!(kb["providers"]["embedding"]["binding"], "local");
    // The fall-back to the built-in workspace is announced in human output (not in JSON).
    let run = lrt.run_as("someone", &["kb", "show"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("using the built-in workspace 'default'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("providers.llm") && run.stdout.contains("local lrt-hash-v2"),
        "{}",
        run.stdout
    );

    // Every local user gets the same workspace; it is created once.
    for user in [ROOT, "someone", "another-user", "bob@example.com"] {
        let again = builtin_kb(&lrt, user, &[]);
        assert_eq!(again["kb_id"], k.as_str(), "{user}");
        let list = lrt.json_as(user, &["kb", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 1, "{user}");
    }
    let tenants = lrt.json_as(ROOT, &["tenant", "list"]);
    assert_eq!(tenants.as_array().unwrap().len(), 1);
    assert_eq!(tenants[0]["tenant_name"], "default");
    assert_eq!(lrt.tree().len(), 4, "{:?}", lrt.tree());

    // Local users work in it as admins would, without being members.
    let extra = lrt.json_as("someone", &["kb", "create", "extra"]);
    assert_eq!(extra["tenant_id"], t.as_str());
    assert_eq!(
        lrt.json_as("someone", &["kb", "show", "extra"])["kb_id"],
        extra["kb_id"]
    );
    assert_eq!(lrt.run_as("someone", &["auth", "can-i", "kb:delete"]).code, 0);
    assert_eq!(lrt.json_as("someone", &["member", "list"]), serde_json::json!([]));
}

#[test]
fn the_env_switches_between_single_workspace_and_multi_tenant() {
    // init --single-workspace, then ENABLE_MULTI_TENANTS=true: no implicit workspace.
    let lrt = Lrt::with_init(&["--single-workspace"]);
    let run = lrt.run(Some("someone"), &[("ENABLE_MULTI_TENANTS", "true")], &["kb", "show"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no tenant selected"), "{}", run.stderr);
    assert_eq!(lrt.tree(), Vec::<String>::new(), "the refused command created nothing");
    let run = lrt.run(Some(ROOT), &[("ENABLE_MULTI_TENANTS", "true")], &["kb", "list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    // The fork's alias works too.
    let run = lrt.run(Some("someone"), &[("LIGHTRAG_MULTI_TENANT", "1")], &["kb", "show"]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    // init --multi-tenant, then ENABLE_MULTI_TENANTS=false: the built-in workspace.
    let lrt = Lrt::new();
    assert_eq!(lrt.code_as("someone", &["kb", "show"]), 2);
    let kb = builtin_kb(&lrt, "someone", &[("ENABLE_MULTI_TENANTS", "false")]);
    assert_eq!(kb["kb_name"], "default");
    // The env wins over the file, whichever way.
    let run = lrt.run(Some("someone"), &[("ENABLE_MULTI_TENANTS", "true")], &["kb", "show"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn the_builtin_workspace_is_closed_once_multi_tenancy_is_on() {
    let lrt = Lrt::with_init(&["--single-workspace"]);
    let kb = builtin_kb(&lrt, "someone", &[]);
    let on = [("ENABLE_MULTI_TENANTS", "true")];
    // Non-members no longer see it, by name or id.
    for ident in ["default", kb["tenant_id"].as_str().unwrap()] {
        let run = lrt.run(Some("someone"), &on, &["kb", "show", "--tenant", ident, "default"]);
        assert_eq!(run.code, 3, "{ident}: {}", run.stderr);
    }
    // Super-admins still do.
    let run = lrt.run(
        Some(ROOT),
        &on,
        &["kb", "show", "--tenant", "default", "default", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["kb_id"], kb["kb_id"]);
}

#[test]
fn created_tenants_stay_isolated_in_single_workspace_mode() {
    let lrt = Lrt::with_init(&["--single-workspace"]);
    lrt.tenant("acme", Some("alice"));
    let k = lrt.kb("acme", "docs");
    assert_eq!(lrt.code_as("bob", &["tenant", "show", "acme"]), 3);
    assert_eq!(lrt.code_as("bob", &["kb", "show", "--tenant", "acme", "docs"]), 3);
    assert_eq!(
        lrt.code_as("bob", &["kb", "show", &k]),
        3,
        "a KB id resolves in the built-in tenant only"
    );
    assert_eq!(
        lrt.json_as("alice", &["kb", "show", "--tenant", "acme", "docs"])["kb_id"],
        k.as_str()
    );
    // `default` stays reserved.
    assert_eq!(lrt.code_as(ROOT, &["tenant", "create", "default"]), 6);
    builtin_kb(&lrt, "bob", &[]);
    assert_eq!(lrt.code_as(ROOT, &["tenant", "create", "Default"]), 6);
    assert_eq!(
        lrt.code_as(ROOT, &["tenant", "update", "default", "--name", "renamed"]),
        6
    );
    // The built-in tenant is not listed among bob's tenants (he is not a member).
    assert_eq!(lrt.json_as("bob", &["tenant", "list"]), serde_json::json!([]));
}

#[test]
fn a_use_context_wins_over_the_builtin_workspace() {
    let lrt = Lrt::with_init(&["--single-workspace"]);
    lrt.tenant("acme", Some("alice"));
    let k = lrt.kb("acme", "docs");
    lrt.json_as("alice", &["use", "acme", "docs"]);
    assert_eq!(builtin_kb(&lrt, "alice", &[])["kb_id"], k.as_str());
    lrt.json_as("alice", &["use", "--clear"]);
    assert_eq!(builtin_kb(&lrt, "alice", &[])["kb_name"], "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_the_builtin_workspace_takes_a_membership_unless_opened() {
    use common::server::{start, token};
    let lrt = Lrt::with_init(&["--single-workspace"]);
    let kb = builtin_kb(&lrt, ROOT, &[]);
    let t = kb["tenant_id"].as_str().unwrap().to_string();
    lrt.member("default", "bob", "viewer");
    let kbs = format!("/api/v1/tenants/{t}/kbs");
    let members = format!("/api/v1/tenants/{t}/members");

    let srv = start(&lrt, &[("ENABLE_MULTI_TENANTS", "false")]);
    let (mallory, bob) = (token(&lrt, "mallory"), token(&lrt, "bob"));
    // A caller in no tenant sees nothing of the workspace, and cannot add themselves.
    assert_eq!(srv.get(&kbs, &mallory).await.status, 404);
    let me = srv.get("/api/v1/me", &mallory).await.body;
    assert_eq!(me["memberships"], serde_json::json!([]), "{me}");
    let add = srv
        .post(
            &members,
            &mallory,
            serde_json::json!({"user_id": "mallory", "role": "admin"}),
        )
        .await;
    assert_eq!(add.status, 404, "{}", add.body);
    // A member gets their role, no more.
    assert_eq!(srv.get(&kbs, &bob).await.status, 200);
    let add = srv
        .post(&members, &bob, serde_json::json!({"user_id": "eve", "role": "admin"}))
        .await;
    assert_eq!(add.status, 403, "{}", add.body);
    drop(srv);

    // Opened on purpose, every caller is admin there, and /me says why.
    let srv = start(
        &lrt,
        &[("ENABLE_MULTI_TENANTS", "false"), ("LRT_OPEN_WORKSPACE", "true")],
    );
    assert_eq!(srv.get(&kbs, &mallory).await.status, 200);
    let me = srv.get("/api/v1/me", &mallory).await.body;
    assert_eq!(me["memberships"][0]["tenant_id"], t.as_str(), "{me}");
    assert_eq!(me["memberships"][0]["role"], "admin", "{me}");
    assert_eq!(me["memberships"][0]["via"], "open_workspace", "{me}");
}
