//! Tenant isolation: a member of tenant A can neither see nor change tenant B, and cannot
//! even tell B exists; names and ids never become paths outside the data directory layout.

mod common;

use common::{Lrt, ROOT, is_uuid};

/// A (admin alice, KB a-docs) and B (admin bob, KB b-docs, member carol).
struct World {
    lrt: Lrt,
    a: String,
    b: String,
    b_kb: String,
}

fn world() -> World {
    let lrt = Lrt::new();
    let a = lrt.tenant("alpha", Some("alice"));
    lrt.kb("alpha", "a-docs");
    let b = lrt.tenant("beta", Some("bob"));
    let b_kb = lrt.kb("beta", "b-docs");
    lrt.member("beta", "carol", "viewer");
    World { lrt, a, b, b_kb }
}

/// Every command that takes a tenant; `{T}` is the tenant.
const TENANT_COMMANDS: &[&str] = &[
    "tenant show {T}",
    "tenant update {T} --description pwned",
    "tenant update {T} --set top_k=5",
    "tenant update {T} --set max_kb_per_tenant=1",
    "tenant deactivate {T}",
    "tenant activate {T}",
    "tenant delete {T} --dry-run",
    "tenant delete {T} --yes",
    "kb create --tenant {T} planted",
    "kb list --tenant {T}",
    "kb show --tenant {T} b-docs",
    "kb show --tenant {T} --kb b-docs",
    "kb update --tenant {T} b-docs --description pwned",
    "kb delete --tenant {T} b-docs --dry-run",
    "kb delete --tenant {T} b-docs --yes",
    "member add --tenant {T} alice --role admin",
    "member list --tenant {T}",
    "member update --tenant {T} carol --role admin",
    "member remove --tenant {T} bob --yes",
    "member remove --tenant {T} carol --dry-run",
    "audit list --tenant {T}",
    "auth can-i kb:create --tenant {T}",
    "auth can-i --list --tenant {T}",
    "use {T}",
    "use {T} b-docs",
];

fn args(template: &str, tenant: &str) -> Vec<String> {
    template.split_whitespace().map(|w| w.replace("{T}", tenant)).collect()
}

/// Runs every tenant command as alice with `foreign` (an ident of B) and `missing` (an
/// ident of no tenant): both must be "not found" (exit 3), B must be unchanged, and the two
/// error messages must be the same once the typed ident is blanked out.
fn check_indistinguishable(w: &World, foreign: &str, missing: &str, env_too: bool) {
    let before = w.lrt.snapshot();
    let mut failures = Vec::new();
    for template in TENANT_COMMANDS {
        for json in [false, true] {
            let mut f_args = args(template, foreign);
            let mut m_args = args(template, missing);
            if json {
                f_args.push("--json".into());
                m_args.push("--json".into());
            }
            let f = w.lrt.run_as("alice", &f_args);
            let m = w.lrt.run_as("alice", &m_args);
            if (f.code, m.code) != (3, 3) {
                failures.push(format!(
                    "`{template}` json={json}: exit {} / {} (expected 3 / 3)",
                    f.code, m.code
                ));
                continue;
            }
            let f_msg = f.stderr.replace(foreign, "<T>");
            let m_msg = m.stderr.replace(missing, "<T>");
            if f_msg != m_msg {
                failures.push(format!("`{template}` json={json}: {:?} vs {:?}", f.stderr, m.stderr));
            }
            if !f.stdout.is_empty() {
                failures.push(format!("`{template}` printed {:?}", f.stdout));
            }
        }
    }
    if env_too {
        // LRT_TENANT names the tenant just like --tenant.
        let f = w.lrt.run(Some("alice"), &[("LRT_TENANT", foreign)], &["kb", "list"]);
        let m = w.lrt.run(Some("alice"), &[("LRT_TENANT", missing)], &["kb", "list"]);
        if (f.code, m.code) != (3, 3) || f.stderr.replace(foreign, "<T>") != m.stderr.replace(missing, "<T>") {
            failures.push(format!(
                "LRT_TENANT kb list: exit {} {:?} vs exit {} {:?}",
                f.code, f.stderr, m.code, m.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "foreign vs missing tenant:\n{}",
        failures.join("\n")
    );
    assert_eq!(w.lrt.snapshot(), before, "alice changed something in B");
    // B is still whole, for its own members.
    assert_eq!(
        w.lrt.json_as("bob", &["kb", "show", "--tenant", "beta", "b-docs"])["kb_id"],
        w.b_kb.as_str()
    );
    assert_eq!(w.lrt.json_as("alice", &["whoami"])["context"], serde_json::Value::Null);
}

#[test]
fn a_foreign_tenant_by_name_is_not_found_exactly_like_a_missing_one() {
    let w = world();
    check_indistinguishable(&w, "beta", "gamma", true);
}

#[test]
fn a_foreign_tenant_by_id_or_in_another_case_is_not_found_exactly_like_a_missing_one() {
    let w = world();
    check_indistinguishable(&w, &w.b, "6b1c2b6e-1d2f-4c3b-9a4e-5f6a7b8c9d0e", true);
    check_indistinguishable(&w, "BETA", "GAMMA", false);
}

#[test]
fn foreign_tenants_are_not_found_by_id_or_in_any_case() {
    // The exit code half of the test above, which holds today.
    let w = world();
    let before = w.lrt.snapshot();
    for ident in [w.b.as_str(), "BETA", "Beta"] {
        for template in TENANT_COMMANDS {
            let run = w.lrt.run_as("alice", &args(template, ident));
            assert_eq!(run.code, 3, "`{template}` with {ident}: {}", run.stderr);
        }
    }
    assert_eq!(w.lrt.snapshot(), before);
}

#[test]
fn a_deactivated_foreign_tenant_is_still_not_found() {
    let w = world();
    w.lrt.json_as(ROOT, &["tenant", "deactivate", "beta"]);
    for template in TENANT_COMMANDS {
        let f = w.lrt.run_as("alice", &args(template, "beta"));
        assert_eq!(f.code, 3, "`{template}`: {}", f.stderr);
        assert!(!f.stderr.contains("deactivated"), "{}", f.stderr);
    }
    // Its members are told it is deactivated.
    assert_eq!(w.lrt.code_as("carol", &["kb", "list", "--tenant", "beta"]), 5);
}

#[test]
fn tenant_list_and_whoami_show_members_only_their_tenants() {
    let w = world();
    w.lrt.tenant("gamma", None);
    let list = w.lrt.json_as("alice", &["tenant", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["tenant_id"], w.a.as_str());
    let text = w.lrt.run_as("alice", &["tenant", "list"]);
    assert!(
        !text.stdout.contains("beta") && !text.stdout.contains(&w.b),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("(1 tenants)"), "{}", text.stdout);
    assert_eq!(w.lrt.run_as("alice", &["tenant", "list", "-q"]).stdout.trim(), w.a);
    assert_eq!(
        w.lrt
            .json_as("alice", &["tenant", "list", "--page", "2", "--page-size", "1"]),
        serde_json::json!([])
    );

    let bob = w.lrt.json_as("bob", &["tenant", "list"]);
    assert_eq!(bob.as_array().unwrap().len(), 1);
    assert_eq!(bob[0]["tenant_id"], w.b.as_str());
    assert_eq!(w.lrt.json_as("nobody", &["tenant", "list"]), serde_json::json!([]));
    assert_eq!(w.lrt.json_as(ROOT, &["tenant", "list"]).as_array().unwrap().len(), 3);

    let me = w.lrt.json_as("alice", &["whoami"]);
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me["memberships"][0]["tenant_name"], "alpha");

    // The audit log of a tenant admin never shows B's rows.
    let rows = w.lrt.json_as("alice", &["audit", "list", "--limit", "1000"]);
    assert!(rows.as_array().unwrap().iter().all(|e| e["tenant_id"] == w.a.as_str()));
}

#[test]
fn a_kb_of_another_tenant_is_not_found_through_your_own_tenant() {
    let w = world();
    let before = w.lrt.snapshot();
    let k = w.b_kb.as_str();
    for user in ["alice", ROOT] {
        for a in [w.a.as_str(), "alpha"] {
            for cmd in [
                vec!["kb", "show", "--tenant", a, k],
                vec!["kb", "show", "--tenant", a, "--kb", k],
                vec!["kb", "show", "--tenant", a, "b-docs"],
                vec!["kb", "update", "--tenant", a, k, "--description", "pwned"],
                vec!["kb", "update", "--tenant", a, k, "--name", "mine"],
                vec!["kb", "delete", "--tenant", a, k, "--yes"],
                vec!["kb", "delete", "--tenant", a, k, "--dry-run"],
                vec!["use", a, k],
                vec!["auth", "can-i", "kb:create", "--tenant", a, "--kb", k],
            ] {
                let run = w.lrt.run_as(user, &cmd);
                assert_eq!(run.code, 3, "{user} {cmd:?}: {}", run.stderr);
                assert!(run.stderr.contains("not found"), "{}", run.stderr);
            }
            let run = w
                .lrt
                .run(Some(user), &[("LRT_TENANT", a), ("LRT_KB", k)], &["kb", "show"]);
            assert_eq!(run.code, 3, "{user}: {}", run.stderr);
        }
    }
    assert_eq!(w.lrt.snapshot(), before);
    assert!(w.lrt.kb_dir(&w.b, &w.b_kb).is_dir());
    // The context was not set to B's KB either.
    assert_eq!(w.lrt.json_as("alice", &["use"]), serde_json::Value::Null);
}

#[test]
fn a_context_in_your_tenant_never_reaches_into_another() {
    let w = world();
    w.lrt.json_as("alice", &["use", "alpha", "a-docs"]);
    // With the context set, naming B's KB still looks inside A.
    assert_eq!(w.lrt.code_as("alice", &["kb", "show", &w.b_kb]), 3);
    assert_eq!(w.lrt.code_as("alice", &["kb", "show", "b-docs"]), 3);
    // Removing alice from A leaves her context pointing at a tenant she cannot see.
    w.lrt.member("alpha", "root-admin", "admin");
    w.lrt
        .json_as(ROOT, &["member", "remove", "--tenant", "alpha", "alice", "--yes"]);
    assert_eq!(w.lrt.code_as("alice", &["kb", "show"]), 3);
    assert_eq!(w.lrt.json_as("alice", &["use"]), serde_json::Value::Null);
}

/// Every path below the data directory must be the catalog or part of
/// `tenants/<uuid>/kbs/<uuid>`, and every folder a tenant or KB id the catalog knows.
fn assert_layout(lrt: &Lrt) {
    let tenants = lrt.json_as(ROOT, &["tenant", "list", "--page-size", "1000"]);
    let mut known: Vec<String> = Vec::new();
    for t in tenants.as_array().unwrap() {
        let id = t["tenant_id"].as_str().unwrap();
        known.push(id.to_string());
        if t["is_active"] == true {
            for k in lrt.json_as(ROOT, &["kb", "list", "--tenant", id]).as_array().unwrap() {
                known.push(k["kb_id"].as_str().unwrap().to_string());
            }
        }
    }
    for rel in lrt.tree() {
        let parts: Vec<&str> = rel.split('/').collect();
        let ok = match parts.as_slice() {
            ["tenants"] => true,
            ["tenants", t] => is_uuid(t) && known.iter().any(|k| k == t),
            ["tenants", t, "kbs"] => is_uuid(t),
            ["tenants", t, "kbs", k] => is_uuid(t) && is_uuid(k) && known.iter().any(|x| x == k),
            _ => false,
        };
        assert!(ok, "unexpected path in the data dir: {rel}");
    }
    // Nothing next to the data dir either (lrt runs with cwd <tmp>/home).
    let mut top: Vec<String> = std::fs::read_dir(lrt.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["config.toml", "data", "home"]);
    assert_eq!(std::fs::read_dir(lrt.root().join("home")).unwrap().count(), 0);
}

#[test]
fn path_like_names_and_ids_never_escape_the_data_layout() {
    let lrt = Lrt::new();
    let a = lrt.tenant("alpha", Some("alice"));
    lrt.kb("alpha", "docs");
    let long = "x".repeat(300);
    let evil = [
        "../x",
        "../../escaped",
        "a/b",
        "/etc",
        "/tmp",
        ".",
        "..",
        "..%2F",
        "..%2F..%2Fetc",
        "..\\..\\x",
        "~",
        "~/x",
        "$HOME",
        "tenants",
        "catalog.db",
        long.as_str(),
        "",
        " ",
    ];
    for name in evil {
        // As names of new tenants and KBs: accepted (they are only names) or refused as usage.
        let run = lrt.run_as(ROOT, &["tenant", "create", name, "-q"]);
        assert!(
            matches!(run.code, 0 | 2),
            "tenant create {name:?}: {} {}",
            run.code,
            run.stderr
        );
        if run.code == 0 {
            let id = run.stdout.trim();
            assert!(lrt.tenant_dir(id).is_dir());
            assert_eq!(lrt.json_as(ROOT, &["tenant", "show", name])["tenant_id"], id);
            let k = lrt.run_as(ROOT, &["kb", "create", "--tenant", id, name, "-q"]);
            assert_eq!(k.code, 0, "kb create {name:?}: {}", k.stderr);
            assert!(lrt.kb_dir(id, k.stdout.trim()).is_dir());
        }
        let run = lrt.run_as(ROOT, &["kb", "create", "--tenant", "alpha", name]);
        assert!(
            matches!(run.code, 0 | 2),
            "kb create {name:?}: {} {}",
            run.code,
            run.stderr
        );
        // As idents: not found (or refused as usage), never anything else.
        for (user, cmd) in [
            ("alice", vec!["tenant", "show", name]),
            ("alice", vec!["kb", "list", "--tenant", name]),
            ("alice", vec!["kb", "show", "--tenant", &a, &format!("{name}-nope")]),
            ("alice", vec!["use", name]),
            (ROOT, vec!["tenant", "delete", &format!("{name}-nope"), "--yes"]),
            (
                ROOT,
                vec!["kb", "delete", "--tenant", &a, &format!("{name}-nope"), "--yes"],
            ),
        ] {
            let run = lrt.run_as(user, &cmd);
            assert!(matches!(run.code, 2 | 3), "{user} {cmd:?}: {} {}", run.code, run.stderr);
        }
    }
    assert_layout(&lrt);

    // Deleting them removes exactly their folders.
    let tenants = lrt.json_as(ROOT, &["tenant", "list", "--page-size", "1000"]);
    for t in tenants.as_array().unwrap() {
        let id = t["tenant_id"].as_str().unwrap();
        if id != a {
            lrt.json_as(ROOT, &["tenant", "delete", id, "--yes"]);
            assert!(!lrt.tenant_dir(id).exists());
        }
    }
    assert_layout(&lrt);
    assert!(lrt.tenant_dir(&a).is_dir());
}

#[test]
fn empty_and_blank_idents_are_usage_errors() {
    let w = world();
    for ident in ["", "   "] {
        for cmd in [
            vec!["tenant", "show", ident],
            vec!["kb", "list", "--tenant", ident],
            vec!["kb", "show", "--tenant", "alpha", "--kb", ident],
        ] {
            let run = w.lrt.run_as("alice", &cmd);
            assert_eq!(run.code, 2, "{cmd:?}: {}", run.stderr);
        }
    }
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_data_dir_are_never_followed() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", None);
    let outside = lrt.root().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("canary"), "canary").unwrap();
    std::fs::remove_dir(lrt.tenant_dir(&t)).unwrap();
    std::os::unix::fs::symlink(&outside, lrt.tenant_dir(&t)).unwrap();

    let run = lrt.run_as(ROOT, &["kb", "create", "-t", "acme", "docs"]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(
        lrt.json_as(ROOT, &["kb", "list", "-t", "acme"]),
        serde_json::json!([]),
        "rolled back"
    );

    let run = lrt.run_as(ROOT, &["tenant", "delete", "acme", "--yes"]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    let mut left: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["canary"], "lrt wrote or deleted through the symlink");
    assert_eq!(std::fs::read_to_string(outside.join("canary")).unwrap(), "canary");
}

/// A KB folder swapped for a symbolic link (say, to another tenant's data) is refused by every
/// command that opens the KB, reading or writing, and nothing is read or written through it.
#[cfg(unix)]
#[test]
fn a_symlinked_kb_folder_is_refused_by_query_ingest_and_reads() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", None);
    let k = lrt.kb("acme", "docs");
    let doc = lrt.root().join("doc.txt");
    std::fs::write(&doc, "Ada Lovelace wrote the first program for the Analytical Engine.").unwrap();
    assert!(
        lrt.run_as(ROOT, &["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()])
            .ok()
    );

    let outside = lrt.root().join("outside");
    std::fs::rename(lrt.kb_dir(&t, &k), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, lrt.kb_dir(&t, &k)).unwrap();
    // kb.db on SQLite, the vector indexes on both backends.
    let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else {
                    out.push((entry.path().display().to_string(), std::fs::read(entry.path()).unwrap()));
                }
            }
        }
        out.sort();
        out
    };
    let before = files(&outside);
    assert!(!before.is_empty());

    let other = lrt.root().join("other.txt");
    std::fs::write(&other, "Charles Babbage designed the Analytical Engine.").unwrap();
    for args in [
        vec!["query", "-t", "acme", "--kb", "docs", "Who wrote the first program?"],
        vec!["query", "-t", "acme", "--kb", "docs", "--no-cache", "Who?"],
        vec!["ingest", "-t", "acme", "--kb", "docs", other.to_str().unwrap()],
        vec!["doc", "list", "-t", "acme", "--kb", "docs"],
        vec!["graph", "entities", "-t", "acme", "--kb", "docs"],
    ] {
        let run = lrt.run_as(ROOT, &args);
        assert_eq!(run.code, 9, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("symbolic link"), "{args:?}: {}", run.stderr);
    }
    assert!(files(&outside) == before, "written through the symlink");
}

#[test]
fn a_tenant_admin_cannot_probe_other_tenant_names_by_renaming() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.tenant("secret-corp", None);
    let taken = lrt.run_as("alice", &["tenant", "update", "acme", "--name", "secret-corp"]);
    let free = lrt.run_as("alice", &["tenant", "update", "acme", "--name", "nobody-has-this"]);
    assert_eq!((taken.code, free.code), (5, 5), "{} / {}", taken.stderr, free.stderr);
    assert!(!taken.stderr.contains("secret-corp"), "{}", taken.stderr);
    // A change of case stays the admin's; a super-admin renames.
    assert_eq!(
        lrt.run_as("alice", &["tenant", "update", "acme", "--name", "ACME"])
            .code,
        0
    );
    assert_eq!(
        lrt.run_as(ROOT, &["tenant", "update", "ACME", "--name", "acme-2"]).code,
        0
    );
}

/// Look-alike names (Cyrillic letters, full-width forms) are the same name: a duplicate
/// (exit 6), found by lookup; invisible characters are refused (exit 2); the reserved name's
/// look-alikes are reserved too.
#[test]
fn look_alike_and_invisible_names_are_refused() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    for alike in ["\u{430}\u{441}me", "ａｃｍｅ"] {
        let run = lrt.run_as(ROOT, &["tenant", "create", alike]);
        assert_eq!(run.code, 6, "{alike:?}: {}", run.stderr);
    }
    for hidden in ["ac\u{200B}me", "acme\u{3164}", "ac\u{FE0F}me"] {
        let run = lrt.run_as(ROOT, &["tenant", "create", hidden]);
        assert_eq!(run.code, 2, "{hidden:?}: {}", run.stderr);
    }
    let run = lrt.run_as(ROOT, &["tenant", "create", "d\u{435}fault"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("reserved"), "{}", run.stderr);
    lrt.kb("acme", "docs");
    let run = lrt.run_as("alice", &["kb", "create", "--tenant", "acme", "D\u{43E}CS"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
}

#[test]
fn tenant_import_cannot_take_the_builtin_name() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    let file = lrt.root().join("acme.lrtt");
    let export = lrt.run_as(ROOT, &["tenant", "export", "acme", "-O", file.to_str().unwrap()]);
    assert!(export.ok(), "{}", export.stderr);
    for name in ["default", "DEFAULT"] {
        let run = lrt.run_as(ROOT, &["tenant", "import", file.to_str().unwrap(), "--name", name]);
        assert_eq!(run.code, 6, "{}", run.stderr);
        assert!(run.stderr.contains("reserved"), "{}", run.stderr);
    }
}
