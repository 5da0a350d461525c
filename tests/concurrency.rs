//! Many `lrt` processes at once on one data directory: uniqueness and quotas hold, and no
//! process fails with anything but the documented conflict or quota error.

mod common;

use common::{Lrt, ROOT};

const RACERS: usize = 8;

/// Spawns every command before waiting for any; returns (exit code, stdout, stderr) each.
fn race(lrt: &Lrt, user: &str, commands: &[Vec<String>]) -> Vec<(i32, String, String)> {
    let children: Vec<_> = commands
        .iter()
        .map(|args| lrt.process(user, args).spawn().expect("spawn lrt"))
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wait for lrt");
            (
                out.status.code().expect("lrt exited by a signal"),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

fn codes(results: &[(i32, String, String)]) -> Vec<i32> {
    let mut c: Vec<i32> = results.iter().map(|r| r.0).collect();
    c.sort();
    c
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn racing_creates_of_one_tenant_make_exactly_one() {
    let lrt = Lrt::new();
    // Different cases of one name: still one tenant.
    let commands: Vec<Vec<String>> = (0..RACERS)
        .map(|i| {
            let name = if i % 2 == 0 { "acme" } else { "ACME" };
            argv(&["tenant", "create", name, "--admin", "alice", "-q"])
        })
        .collect();
    let results = race(&lrt, ROOT, &commands);
    let mut expected = vec![6; RACERS - 1];
    expected.insert(0, 0);
    assert_eq!(codes(&results), expected, "{results:#?}");
    for (code, _, stderr) in &results {
        if *code == 6 {
            assert!(stderr.contains("already exists"), "{stderr}");
        }
    }
    let winner = results.iter().find(|r| r.0 == 0).unwrap().1.trim().to_string();

    let list = lrt.json_as(ROOT, &["tenant", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["tenant_id"], winner.as_str());
    assert_eq!(
        lrt.json_as(ROOT, &["member", "list", "-t", &winner])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // One folder, the winner's: the losers left nothing behind.
    assert_eq!(lrt.tree(), ["tenants".to_string(), format!("tenants/{winner}")]);
    let creates = lrt
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "tenant.create" && e["outcome"] == "ok")
        .count();
    assert_eq!(creates, 1);
}

#[test]
fn racing_creates_of_different_tenants_all_succeed() {
    let lrt = Lrt::new();
    let commands: Vec<Vec<String>> = (0..RACERS)
        .map(|i| argv(&["tenant", "create", &format!("tenant-{i}"), "-q"]))
        .collect();
    let results = race(&lrt, ROOT, &commands);
    assert_eq!(codes(&results), vec![0; RACERS], "{results:#?}");
    let list = lrt.json_as(ROOT, &["tenant", "list"]);
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let want: Vec<String> = (0..RACERS).map(|i| format!("tenant-{i}")).collect();
    assert_eq!(names, want);
    for (_, id, _) in &results {
        assert!(lrt.tenant_dir(id.trim()).is_dir());
    }
    assert_eq!(lrt.tree().len(), RACERS + 1);
}

#[test]
fn racing_kb_creates_respect_the_quota() {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "max_kb_per_tenant=3"]);
    let commands: Vec<Vec<String>> = (0..RACERS)
        .map(|i| argv(&["kb", "create", "--tenant", "acme", &format!("kb-{i}"), "-q"]))
        .collect();
    let results = race(&lrt, "alice", &commands);
    let mut expected = vec![0; 3];
    expected.extend(vec![7; RACERS - 3]);
    assert_eq!(codes(&results), expected, "{results:#?}");
    for (code, _, stderr) in &results {
        if *code == 7 {
            assert!(stderr.contains("max_kb_per_tenant"), "{stderr}");
        }
    }
    let kbs = lrt.json_as("alice", &["kb", "list", "--tenant", "acme"]);
    let mut ids: Vec<String> = kbs
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kb_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut winners: Vec<String> = results
        .iter()
        .filter(|r| r.0 == 0)
        .map(|r| r.1.trim().to_string())
        .collect();
    winners.sort();
    assert_eq!(ids, winners);
    // Exactly the winners' folders exist.
    let mut dirs: Vec<String> = std::fs::read_dir(lrt.tenant_dir(&t).join("kbs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs, winners);
    assert_eq!(lrt.json_as(ROOT, &["tenant", "show", "acme"])["kb_count"], 3);
}

#[test]
fn racing_creates_of_one_kb_name_make_exactly_one() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    let commands: Vec<Vec<String>> = (0..RACERS)
        .map(|_| argv(&["kb", "create", "--tenant", "acme", "docs", "-q"]))
        .collect();
    let results = race(&lrt, "alice", &commands);
    let mut expected = vec![6; RACERS - 1];
    expected.insert(0, 0);
    assert_eq!(codes(&results), expected, "{results:#?}");
    assert_eq!(
        lrt.json_as("alice", &["kb", "list", "-t", "acme"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(lrt.tree().len(), 4, "{:?}", lrt.tree());
}

#[test]
fn racing_member_adds_and_role_changes_keep_one_membership_and_an_admin() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    let commands: Vec<Vec<String>> = (0..RACERS)
        .map(|_| argv(&["member", "add", "--tenant", "acme", "bob", "--role", "admin"]))
        .collect();
    let results = race(&lrt, "alice", &commands);
    let mut expected = vec![6; RACERS - 1];
    expected.insert(0, 0);
    assert_eq!(codes(&results), expected, "{results:#?}");

    // Two admins demoting each other at once: one must stay admin.
    let commands = vec![
        argv(&["member", "update", "--tenant", "acme", "alice", "--role", "viewer"]),
        argv(&["member", "update", "--tenant", "acme", "bob", "--role", "viewer"]),
    ];
    let results = race(&lrt, ROOT, &commands);
    assert_eq!(codes(&results), vec![0, 6], "{results:#?}");
    let members = lrt.json_as(ROOT, &["member", "list", "-t", "acme"]);
    let admins = members
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "admin")
        .count();
    assert_eq!(admins, 1);
}
