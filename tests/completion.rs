//! Dynamic shell completion: the completion entry point (`COMPLETE=SHELL lrt -- WORDS…`, what
//! the registered scripts run at each TAB) completes commands, and tenant and KB names as the
//! user may see them: a member gets their own tenants and their KBs, never another tenant's.

mod common;

use common::{Lrt, ROOT};

/// The candidates `user` gets for the last of `words` (fish's format: one per line, then an
/// optional tab and help), and the exit code.
fn complete(lrt: &Lrt, user: &str, words: &[&str]) -> (Vec<String>, i32) {
    let mut args = vec!["--", "lrt"];
    args.extend_from_slice(words);
    let run = lrt.run(Some(user), &[("COMPLETE", "fish")], &args);
    assert_eq!(run.stderr, "", "completion prints nothing on stderr");
    // With an empty word the engine offers the flags too; only values are checked here.
    let names = run
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .filter(|n| !n.starts_with('-'))
        .collect();
    (names, run.code)
}

#[test]
fn tenant_and_kb_names_are_completed_as_the_user_may_see_them() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.tenant("acorn", Some("bob"));
    lrt.tenant("zeta", Some("alice"));
    lrt.kb("acme", "docs");
    lrt.kb("acme", "data");
    lrt.kb("acorn", "dump");
    let names = |user: &str, words: &[&str]| {
        let (names, code) = complete(&lrt, user, words);
        assert_eq!(code, 0, "{words:?}");
        names
    };
    // Tenants: a member's own, as an argument or as the value of -t/--tenant.
    assert_eq!(names("alice", &["tenant", "show", "a"]), ["acme"]);
    assert_eq!(names("alice", &["doc", "list", "-t", "a"]), ["acme"]);
    assert_eq!(names("alice", &["kb", "list", "--tenant", ""]), ["acme", "zeta"]);
    assert_eq!(names("bob", &["tenant", "show", "a"]), ["acorn"]);
    assert_eq!(
        names(ROOT, &["tenant", "show", "a"]),
        ["acme", "acorn"],
        "super-admins see all"
    );
    // KBs of the tenant the command line names, only where the user is a member.
    assert_eq!(names("alice", &["kb", "show", "-t", "acme", "d"]), ["data", "docs"]);
    assert_eq!(names("alice", &["query", "--tenant=acme", "--kb", "do"]), ["docs"]);
    assert_eq!(names("alice", &["use", "acme", "da"]), ["data"]);
    assert!(
        names("alice", &["kb", "show", "-t", "acorn", "d"]).is_empty(),
        "not alice's tenant"
    );
    let outsider = names("mallory", &["tenant", "show", ""]);
    assert!(
        !["acme", "acorn", "zeta"]
            .iter()
            .any(|t| outsider.contains(&t.to_string())),
        "in no tenant: {outsider:?}"
    );
    // Commands are completed from the same definition.
    assert!(names("alice", &["ten"]).contains(&"tenant".to_string()));
}

#[test]
fn completion_without_an_installation_offers_nothing_and_creates_nothing() {
    let lrt = Lrt::new();
    std::fs::remove_dir_all(lrt.data_dir()).unwrap();
    let (names, code) = complete(&lrt, "alice", &["tenant", "show", ""]);
    assert_eq!((names, code), (Vec::<String>::new(), 0));
    assert!(!lrt.data_dir().exists(), "a completion created the data directory");
}

#[test]
fn the_completion_scripts_register_lrt_with_the_shell() {
    let lrt = Lrt::new();
    for (shell, call) in [
        ("bash", "COMPLETE=\"bash\""),
        ("zsh", "COMPLETE=\"zsh\""),
        ("fish", "COMPLETE=fish"),
    ] {
        let run = lrt.run_as(ROOT, &["completions", shell]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains(call) && run.stdout.contains("lrt"),
            "{shell}: {}",
            run.stdout
        );
    }
}
