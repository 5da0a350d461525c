//! The RBAC matrix: every role, a non-member and a super-admin against every tenant-scoped
//! command, with the guide's role table.

mod common;

use common::{Lrt, ROOT};
use serde_json::Value;

const PERMISSIONS: [&str; 10] = [
    "tenant:manage",
    "tenant:manage_members",
    "tenant:manage_billing",
    "kb:create",
    "kb:delete",
    "document:create",
    "document:update",
    "document:delete",
    "document:read",
    "query:run",
];

/// The guide's role table.
fn role_permissions(role: &str) -> &'static [&'static str] {
    match role {
        "admin" => &PERMISSIONS,
        "editor" => &[
            "kb:create",
            "kb:delete",
            "document:create",
            "document:update",
            "document:delete",
            "document:read",
            "query:run",
        ],
        "viewer" => &["document:read", "query:run"],
        "viewer_readonly" => &["query:run"],
        other => panic!("unknown role {other}"),
    }
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Member(&'static str),
    NonMember,
    SuperAdmin,
}

/// (user, who): one user per role.
const ACTORS: [(&str, Who); 6] = [
    ("alice", Who::Member("admin")),
    ("ed", Who::Member("editor")),
    ("vi", Who::Member("viewer")),
    ("vr", Who::Member("viewer_readonly")),
    ("nm", Who::NonMember),
    (ROOT, Who::SuperAdmin),
];

/// What a command needs.
#[derive(Debug, Clone, Copy)]
enum Need {
    Member,
    Permission(&'static str),
    SuperAdmin,
}

/// Exit code expected, and a text stderr must contain when refused.
fn expected(who: Who, need: Need) -> (i32, Option<&'static str>) {
    match (who, need) {
        (Who::SuperAdmin, _) => (0, None),
        (Who::NonMember, _) => (3, Some("not found")),
        (Who::Member(_), Need::Member) => (0, None),
        (Who::Member(role), Need::Permission(p)) if role_permissions(role).contains(&p) => (0, None),
        (Who::Member(_), Need::Permission(p)) => (5, Some(p)),
        (Who::Member(_), Need::SuperAdmin) => (5, Some("super-admin")),
    }
}

/// A tenant `acme` with one member per role and a KB `docs`.
fn setup() -> Lrt {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.member("acme", "ed", "editor");
    lrt.member("acme", "vi", "viewer");
    lrt.member("acme", "vr", "viewer_readonly");
    lrt.kb("acme", "docs");
    lrt
}

struct Case {
    need: Need,
    /// Run as root first (to give the command something to act on).
    prep: Vec<Vec<String>>,
    args: Vec<String>,
    /// Run as root afterwards when the command succeeded (to restore the state).
    undo: Vec<Vec<String>>,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn case(need: Need, prep: &[&str], args: &str, undo: &[&str]) -> Case {
    Case {
        need,
        prep: prep.iter().map(|p| words(p)).collect(),
        args: words(args),
        undo: undo.iter().map(|u| words(u)).collect(),
    }
}

/// Every tenant-scoped command; `{i}` makes names unique per case. Destructive ones last.
fn cases() -> Vec<Case> {
    use Need::*;
    let mut cases = vec![
        case(Member, &[], "tenant show acme", &[]),
        case(
            Permission("tenant:manage"),
            &[],
            "tenant update acme --description changed",
            &[],
        ),
        case(
            Permission("tenant:manage"),
            &[],
            "tenant update acme --set top_k=7",
            &[],
        ),
        case(
            Permission("tenant:manage"),
            &[],
            "tenant update acme --metadata k=v",
            &[],
        ),
        case(SuperAdmin, &[], "tenant update acme --set max_kb_per_tenant=99", &[]),
        case(SuperAdmin, &[], "tenant update acme --unset max_documents", &[]),
        case(
            SuperAdmin,
            &[],
            "tenant update acme --set top_k=8 --set max_documents=5",
            &[],
        ),
        case(Permission("kb:create"), &[], "kb create --tenant acme kb-{i}", &[]),
        case(Member, &[], "kb list --tenant acme", &[]),
        case(Member, &[], "kb show --tenant acme docs", &[]),
        case(
            Permission("kb:create"),
            &[],
            "kb update --tenant acme docs --description d{i}",
            &[],
        ),
        case(
            Permission("kb:delete"),
            &["kb create --tenant acme victim-{i}"],
            "kb delete --tenant acme victim-{i} --yes",
            &[],
        ),
        case(
            Permission("kb:delete"),
            &["kb create --tenant acme dry-{i}"],
            "kb delete --tenant acme dry-{i} --dry-run",
            &[],
        ),
        case(
            Permission("tenant:manage_members"),
            &[],
            "member add --tenant acme new-{i} --role viewer",
            &[],
        ),
        case(Member, &[], "member list --tenant acme", &[]),
        case(
            Permission("tenant:manage_members"),
            &["member add --tenant acme target-{i} --role viewer"],
            "member update --tenant acme target-{i} --role editor",
            &[],
        ),
        case(
            Permission("tenant:manage_members"),
            &["member add --tenant acme gone-{i} --role viewer"],
            "member remove --tenant acme gone-{i} --yes",
            &[],
        ),
        case(Permission("tenant:manage"), &[], "audit list --tenant acme", &[]),
        case(Member, &[], "use acme docs", &[]),
        case(SuperAdmin, &[], "tenant deactivate acme", &["tenant activate acme"]),
        case(SuperAdmin, &["tenant deactivate acme"], "tenant activate acme", &[]),
        case(SuperAdmin, &[], "tenant delete acme --dry-run", &[]),
    ];
    // `tenant delete` must be the last one.
    cases.push(case(SuperAdmin, &[], "tenant delete acme --yes", &[]));
    cases
}

/// The newest `n` audit entries.
fn newest_audit(lrt: &Lrt, n: usize) -> Vec<Value> {
    let entries = lrt.json_as(ROOT, &["audit", "list", "--limit", &n.to_string()]);
    entries.as_array().unwrap().clone()
}

fn run_matrix(user: &str, who: Who) {
    let lrt = setup();
    let mut failures = Vec::new();
    for (i, c) in cases().into_iter().enumerate() {
        let subst = |v: &Vec<String>| -> Vec<String> { v.iter().map(|w| w.replace("{i}", &i.to_string())).collect() };
        for p in &c.prep {
            let run = lrt.run_as(ROOT, &subst(p));
            assert_eq!(run.code, 0, "prep {p:?}: {}", run.stderr);
        }
        let args = subst(&c.args);
        let (code, needle) = expected(who, c.need);
        // A refusal must change nothing and add exactly one audit row: remember the state.
        let before = needle.map(|_| (lrt.snapshot(), newest_audit(&lrt, 1)));
        let run = lrt.run_as(user, &args);
        if run.code != code {
            failures.push(format!(
                "{user} ({who:?}) `lrt {}`: exit {} (expected {code}): {}",
                args.join(" "),
                run.code,
                run.stderr.trim()
            ));
        } else if let (Some(needle), Some((snapshot, audit_before))) = (needle, &before) {
            if !run.stderr.contains(needle) {
                failures.push(format!(
                    "{user} `lrt {}`: stderr does not mention {needle:?}: {}",
                    args.join(" "),
                    run.stderr.trim()
                ));
            }
            if lrt.snapshot() != *snapshot {
                failures.push(format!(
                    "{user} `lrt {}` was refused but changed the catalog",
                    args.join(" ")
                ));
            }
            let audit = newest_audit(&lrt, 2);
            let newest = &audit[0];
            if audit[1..] != audit_before[..] || newest["outcome"] != "denied" || newest["user_id"] != user {
                failures.push(format!(
                    "{user} `lrt {}` was refused but not audited once as denied: {newest}",
                    args.join(" ")
                ));
            }
        } else {
            for u in &c.undo {
                let run = lrt.run_as(ROOT, &subst(u));
                assert_eq!(run.code, 0, "undo {u:?}: {}", run.stderr);
            }
        }
        // A refused `tenant activate` leaves the prep's deactivation: restore it.
        if args[..2] == ["tenant", "activate"] && run.code != 0 {
            assert_eq!(lrt.code_as(ROOT, &["tenant", "activate", "acme"]), 0);
        }
    }
    assert!(failures.is_empty(), "RBAC matrix failures:\n{}", failures.join("\n"));
}

#[test]
fn admin_may_manage_the_tenant_but_not_quotas_or_lifecycle() {
    run_matrix("alice", ACTORS[0].1);
}

#[test]
fn editor_may_create_and_delete_kbs_only() {
    run_matrix("ed", ACTORS[1].1);
}

#[test]
fn viewer_may_only_read() {
    run_matrix("vi", ACTORS[2].1);
}

#[test]
fn viewer_readonly_may_only_read_the_tenant() {
    run_matrix("vr", ACTORS[3].1);
}

#[test]
fn non_member_finds_nothing() {
    run_matrix("nm", ACTORS[4].1);
}

#[test]
fn super_admin_may_do_everything() {
    run_matrix(ROOT, ACTORS[5].1);
}

#[test]
fn auth_can_i_answers_the_role_table_for_every_permission() {
    let lrt = setup();
    for (user, who) in ACTORS {
        for p in PERMISSIONS {
            let run = lrt.run_as(user, &["auth", "can-i", p, "--tenant", "acme"]);
            let want = match who {
                Who::SuperAdmin => 0,
                Who::NonMember => 3,
                Who::Member(role) if role_permissions(role).contains(&p) => 0,
                Who::Member(_) => 1,
            };
            assert_eq!(run.code, want, "{user} can-i {p}: {} {}", run.stdout, run.stderr);
            match want {
                0 => assert_eq!(run.stdout.trim(), "yes", "{user} {p}"),
                1 => assert_eq!(run.stdout.trim(), "no", "{user} {p}"),
                _ => assert!(run.stderr.contains("not found"), "{}", run.stderr),
            }
        }
        if let Who::Member(role) = who {
            // --list agrees, and root asking --as the user gets the same answers.
            let list = lrt.json_as(user, &["auth", "can-i", "--list", "--tenant", "acme"]);
            let as_root = lrt.json_as(ROOT, &["auth", "can-i", "--list", "--tenant", "acme", "--as", user]);
            for answers in [&list, &as_root] {
                let allowed: Vec<&str> = answers
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|a| a["allowed"] == true)
                    .map(|a| a["permission"].as_str().unwrap())
                    .collect();
                assert_eq!(allowed, role_permissions(role), "{user}");
                assert_eq!(answers.as_array().unwrap().len(), 10);
            }
        }
    }
    let run = lrt.run_as(ROOT, &["auth", "can-i", "kb:frobnicate", "--tenant", "acme"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn only_super_admins_create_tenants() {
    let lrt = setup();
    for (user, who) in ACTORS {
        let run = lrt.run_as(user, &["tenant", "create", &format!("new-{user}")]);
        match who {
            Who::SuperAdmin => assert_eq!(run.code, 0, "{}", run.stderr),
            _ => {
                assert_eq!(run.code, 5, "{user}: {}", run.stderr);
                assert!(run.stderr.contains("super-admin"), "{}", run.stderr);
            }
        }
    }
    let list = lrt.json_as(ROOT, &["tenant", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "new-root"]);
}

#[test]
fn as_is_for_super_admins_only() {
    let lrt = setup();
    // A super-admin acting as a member gets exactly that member's rights.
    let kb = lrt.json_as(ROOT, &["--as", "ed", "kb", "create", "--tenant", "acme", "by-ed"]);
    assert_eq!(kb["created_by"], "ed");
    let run = lrt.run_as(ROOT, &["--as", "vi", "kb", "create", "--tenant", "acme", "by-vi"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("kb:create"), "{}", run.stderr);
    assert_eq!(lrt.code_as(ROOT, &["--as", "nm", "tenant", "show", "acme"]), 3);
    assert_eq!(lrt.code_as(ROOT, &["--as", "alice", "tenant", "create", "x"]), 5);
    let list = lrt.json_as(ROOT, &["--as", "vi", "tenant", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Anyone else is refused, whoever they name, even on commands that need nothing.
    for user in ["alice", "ed", "vi", "vr", "nm"] {
        for target in ["bob", ROOT, user] {
            let run = lrt.run_as(user, &["--as", target, "tenant", "list"]);
            assert_eq!(run.code, 5, "{user} --as {target}: {}", run.stderr);
            assert!(run.stderr.contains("--as"), "{}", run.stderr);
        }
        assert_eq!(
            lrt.code_as(user, &["--as", "alice", "kb", "list", "--tenant", "acme"]),
            5
        );
    }
    let denied: Vec<Value> = lrt
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "as" && e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 5 * 4);
}

#[test]
fn auth_can_i_as_another_user_needs_super_admin_or_manage_members() {
    let lrt = setup();
    let ask = |asker: &str, subject: &str, p: &str| {
        lrt.run_as(asker, &["auth", "can-i", p, "--tenant", "acme", "--as", subject])
    };
    // Super-admin and tenant admin may ask about anyone.
    for asker in [ROOT, "alice"] {
        assert_eq!(ask(asker, "ed", "kb:create").code, 0, "{asker}");
        assert_eq!(ask(asker, "vi", "kb:create").code, 1, "{asker}");
        assert_eq!(ask(asker, "vr", "document:read").code, 1, "{asker}");
        assert_eq!(ask(asker, "vi", "document:read").code, 0, "{asker}");
        // A stranger to the tenant: "no", not an error.
        assert_eq!(ask(asker, "stranger", "query:run").code, 1, "{asker}");
        assert_eq!(ask(asker, ROOT, "tenant:manage").code, 0, "{asker}");
    }
    let answer = lrt.json_as(
        "alice",
        &["auth", "can-i", "kb:delete", "--tenant", "acme", "--as", "ed"],
    );
    assert_eq!(answer["user"], "ed");
    assert_eq!(answer["allowed"], true);
    // Others may not ask about someone else.
    for asker in ["ed", "vi", "vr"] {
        let run = ask(asker, "alice", "kb:create");
        assert_eq!(run.code, 5, "{asker}: {}", run.stderr);
        assert!(run.stderr.contains("tenant:manage_members"), "{}", run.stderr);
        // Asking about oneself with --as is fine.
        assert_eq!(ask(asker, asker, "query:run").code, 0, "{asker}");
    }
    assert_eq!(ask("nm", "alice", "kb:create").code, 3);
}

#[test]
fn the_last_admin_cannot_be_removed_or_demoted() {
    let lrt = setup();
    for (user, args) in [
        ("alice", vec!["member", "remove", "--tenant", "acme", "alice", "--yes"]),
        (
            "alice",
            vec!["member", "update", "--tenant", "acme", "alice", "--role", "editor"],
        ),
        (ROOT, vec!["member", "remove", "--tenant", "acme", "alice", "--yes"]),
        (
            ROOT,
            vec!["member", "update", "--tenant", "acme", "alice", "--role", "viewer"],
        ),
    ] {
        let run = lrt.run_as(user, &args);
        assert_eq!(run.code, 6, "{user} {args:?}: {}", run.stderr);
        assert!(run.stderr.contains("last admin"), "{}", run.stderr);
    }
    assert_eq!(
        lrt.json_as(ROOT, &["member", "list", "--tenant", "acme"])[0]["role"],
        "admin"
    );
    // With a second admin, the first may step down; then the second is the last.
    lrt.json_as(
        "alice",
        &["member", "update", "--tenant", "acme", "ed", "--role", "admin"],
    );
    lrt.json_as(
        "alice",
        &["member", "update", "--tenant", "acme", "alice", "--role", "viewer"],
    );
    assert_eq!(
        lrt.code_as("alice", &["member", "add", "--tenant", "acme", "x", "--role", "viewer"]),
        5
    );
    assert_eq!(
        lrt.code_as("ed", &["member", "remove", "--tenant", "acme", "ed", "--yes"]),
        6
    );
    assert_eq!(
        lrt.code_as("ed", &["member", "remove", "--tenant", "acme", "alice", "--yes"]),
        0
    );
}

#[test]
fn super_admins_from_the_environment_add_to_the_config_file() {
    let lrt = setup();
    let env = [("LIGHTRAG_SUPER_ADMIN_USERS", "ops, bob")];
    let run = lrt.run(Some("ops"), &env, &["tenant", "create", "by-ops", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["created_by"], "ops");
    // A super-admin sees every tenant without being a member.
    let run = lrt.run(Some("bob"), &env, &["kb", "list", "--tenant", "acme"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The file's super-admin is still one.
    assert_eq!(lrt.run(Some(ROOT), &env, &["tenant", "deactivate", "by-ops"]).code, 0);
    // Without the variable, ops is nobody.
    assert_eq!(lrt.code_as("ops", &["tenant", "create", "again"]), 5);
    assert_eq!(lrt.code_as("ops", &["tenant", "show", "by-ops"]), 3);
}
