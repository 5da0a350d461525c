//! Bad input is refused with the documented exit code before anything is written: the
//! catalog, the folders and the audit log are unchanged afterwards.

mod common;

use common::{Lrt, ROOT};

/// A tenant `acme` (admin alice, KB `docs`) and a tenant `beta`.
fn setup() -> Lrt {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    lrt.tenant("beta", None);
    lrt
}

/// Runs each command as `user` and checks that it exits with `code` and changes nothing.
fn refused(lrt: &Lrt, user: &str, code: i32, commands: &[Vec<String>]) {
    let before = lrt.snapshot();
    let audit_before = lrt.audit();
    let mut failures = Vec::new();
    for args in commands {
        let run = lrt.run_as(user, args);
        if run.code != code {
            failures.push(format!(
                "{args:?}: exit {} (expected {code}): {}",
                run.code,
                run.stderr.trim()
            ));
        } else if run.stderr.trim().is_empty() || !run.stdout.is_empty() {
            failures.push(format!("{args:?}: stdout {:?}, stderr {:?}", run.stdout, run.stderr));
        }
    }
    assert!(failures.is_empty(), "not refused as expected:\n{}", failures.join("\n"));
    assert_eq!(
        lrt.snapshot(),
        before,
        "a refused command changed the catalog or folders"
    );
    assert_eq!(lrt.audit(), audit_before, "a refused command wrote to the audit log");
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The same command for each value: `{}` in `template` is replaced by the value as one argument.
fn each(template: &[&str], values: &[&str]) -> Vec<Vec<String>> {
    values
        .iter()
        .map(|v| {
            template
                .iter()
                .map(|a| if *a == "{}" { v.to_string() } else { a.to_string() })
                .collect()
        })
        .collect()
}

fn bad_names() -> Vec<String> {
    vec![
        String::new(),
        "   ".into(),
        "\t".into(),
        "x".repeat(256),
        "é".repeat(256),
        "a\nb".into(),
        "line\n".into(),
        "a\u{7}b".into(),
        "tab\there".into(),
        " leading".into(),
        "trailing ".into(),
        "6f9619ff-8b86-d011-b42d-00cf4fc964ff".into(),
        "6F9619FF-8B86-D011-B42D-00CF4FC964FF".into(),
    ]
}

#[test]
fn invalid_tenant_names_are_usage_errors() {
    let lrt = setup();
    let names = bad_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut commands = each(&["tenant", "create", "{}"], &names);
    commands.extend(each(&["tenant", "update", "acme", "--name", "{}"], &names));
    refused(&lrt, ROOT, 2, &commands);
    refused(
        &lrt,
        "alice",
        2,
        &each(&["tenant", "update", "acme", "--name", "{}"], &names),
    );
    // The limits are inclusive: 255 characters is fine.
    lrt.tenant(&"x".repeat(255), None);
    lrt.tenant(&"é".repeat(255), None);
    lrt.tenant("Acme Corp 日本語", None);
}

#[test]
fn invalid_kb_names_are_usage_errors() {
    let lrt = setup();
    let names = bad_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut commands = each(&["kb", "create", "--tenant", "acme", "{}"], &names);
    commands.extend(each(
        &["kb", "update", "--tenant", "acme", "docs", "--name", "{}"],
        &names,
    ));
    refused(&lrt, "alice", 2, &commands);
    lrt.kb("acme", &"k".repeat(255));
}

#[test]
fn the_reserved_name_default_is_refused() {
    let lrt = setup();
    let commands = vec![
        cmd(&["tenant", "create", "default"]),
        cmd(&["tenant", "create", "DEFAULT"]),
        cmd(&["tenant", "update", "acme", "--name", "Default"]),
    ];
    refused(&lrt, ROOT, 6, &commands);
    let run = lrt.run_as(ROOT, &["tenant", "create", "default"]);
    assert!(run.stderr.contains("reserved"), "{}", run.stderr);
}

#[test]
fn other_invalid_values_are_usage_errors() {
    let lrt = setup();
    let long = "d".repeat(4097);
    let commands = vec![
        cmd(&["tenant", "create", "x", "--description", &long]),
        cmd(&["tenant", "update", "acme", "--description", &long]),
        cmd(&["kb", "create", "-t", "acme", "x", "--description", &long]),
        cmd(&["tenant", "create", "x", "--admin", "bad user"]),
        cmd(&["tenant", "create", "x", "--admin", ""]),
        cmd(&["tenant", "create", "x", "--metadata", "novalue"]),
        cmd(&["tenant", "create", "x", "--metadata", "=v"]),
        cmd(&["tenant", "update", "acme", "--metadata", "novalue"]),
        cmd(&["member", "add", "-t", "acme", "bad user", "--role", "viewer"]),
        cmd(&["member", "add", "-t", "acme", "", "--role", "viewer"]),
        cmd(&["member", "add", "-t", "acme", "new\nline", "--role", "viewer"]),
        cmd(&["tenant", "update", "acme"]),
        cmd(&["kb", "update", "-t", "acme", "docs"]),
        cmd(&["tenant", "list", "--page", "0"]),
        cmd(&["tenant", "list", "--page-size", "0"]),
        cmd(&["tenant", "list", "--page-size", "1001"]),
        cmd(&["tenant", "list", "--page", "-1"]),
        cmd(&["audit", "list", "--limit", "0"]),
        cmd(&["audit", "list", "--limit", "10001"]),
        cmd(&["audit", "list", "--since", "yesterday"]),
        cmd(&["audit", "list", "--since", "5y"]),
        cmd(&["auth", "can-i", "kb:update", "-t", "acme"]),
        cmd(&["--as", "bad user", "tenant", "list"]),
        // Unknown roles are refused by the parser.
        cmd(&["member", "add", "-t", "acme", "bob", "--role", "superuser"]),
        cmd(&["member", "add", "-t", "acme", "bob", "--role", "Admin"]),
        cmd(&["member", "add", "-t", "acme", "bob"]),
        cmd(&["member", "update", "-t", "acme", "alice", "--role", "owner"]),
    ];
    refused(&lrt, ROOT, 2, &commands);
    let run = lrt.run_as(ROOT, &["member", "add", "-t", "acme", "bob", "--role", "superuser"]);
    assert!(
        run.stderr.contains("viewer_readonly"),
        "lists the roles: {}",
        run.stderr
    );
}

#[test]
fn malformed_unknown_and_mistyped_settings_are_usage_errors() {
    let lrt = setup();
    let settings = [
        "top_k",
        "=5",
        " =5",
        "",
        "nope=1",
        "Top_K=5",
        "top_k=abc",
        "top_k=-1",
        "top_k=1.5",
        "top_k=0",
        "top_k=99999999999",
        "enable_rerank=maybe",
        "cosine_threshold=abc",
        "cosine_threshold=1.5",
        "cosine_threshold=-0.1",
        "llm_temperature=3",
        "embedding_dim=0",
        "embedding_dim=70000",
        "llm_model=",
        "llm_model_kwargs=[1]",
        "llm_model_kwargs=notjson",
        "chunk_overlap=5000",
        "chunk_overlap=1200",
        "chunk_size=100",
    ];
    let mut commands = each(&["tenant", "create", "x", "--set", "{}"], &settings);
    commands.extend(each(&["tenant", "update", "acme", "--set", "{}"], &settings));
    commands.extend(each(&["kb", "create", "-t", "acme", "x", "--set", "{}"], &settings));
    commands.extend(each(&["kb", "update", "-t", "acme", "docs", "--set", "{}"], &settings));
    let quota = [
        "max_documents=abc",
        "max_documents=-5",
        "max_kb_per_tenant=1.5",
        "max_storage_gb=nan",
        "max_storage_gb=-1",
        "max_storage_gb=inf",
    ];
    commands.extend(each(&["tenant", "create", "x", "--set", "{}"], &quota));
    commands.extend(each(&["tenant", "update", "acme", "--set", "{}"], &quota));
    // Quota keys belong to tenants, not KBs.
    commands.extend(each(
        &["kb", "create", "-t", "acme", "x", "--set", "{}"],
        &["max_documents=5", "max_kb_per_tenant=1"],
    ));
    commands.extend(each(
        &["kb", "update", "-t", "acme", "docs", "--set", "{}"],
        &["max_documents=5", "max_kb_per_tenant=1"],
    ));
    commands.extend(each(
        &["kb", "update", "-t", "acme", "docs", "--unset", "{}"],
        &["max_documents", "nope"],
    ));
    commands.extend(each(&["tenant", "update", "acme", "--unset", "{}"], &["nope", ""]));
    // One bad --set among good ones spoils the whole command.
    commands.push(cmd(&["tenant", "create", "x", "--set", "top_k=5", "--set", "nope=1"]));
    commands.push(cmd(&[
        "tenant", "update", "acme", "--set", "top_k=5", "--name", "renamed", "--set", "top_k=x",
    ]));
    commands.push(cmd(&[
        "kb",
        "update",
        "-t",
        "acme",
        "docs",
        "--name",
        "renamed",
        "--set",
        "chunk_overlap=5000",
    ]));
    refused(&lrt, ROOT, 2, &commands);

    let run = lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", "nope=1"]);
    assert!(
        run.stderr.contains("top_k") && run.stderr.contains("chunk_size"),
        "lists known keys: {}",
        run.stderr
    );
    let run = lrt.run_as(ROOT, &["kb", "create", "-t", "acme", "x", "--set", "max_documents=5"]);
    assert!(run.stderr.contains("quota"), "{}", run.stderr);
    let run = lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", "chunk_overlap=5000"]);
    assert!(run.stderr.contains("chunk_overlap"), "{}", run.stderr);
}

#[test]
fn a_tenant_setting_that_would_invalidate_a_kb_is_refused() {
    let lrt = setup();
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "chunk_size=2000"]);
    // Valid: overlap 1500 < inherited chunk_size 2000.
    lrt.json_as(
        ROOT,
        &["kb", "create", "-t", "acme", "big", "--set", "chunk_overlap=1500"],
    );
    refused(
        &lrt,
        ROOT,
        2,
        &[
            cmd(&["tenant", "update", "acme", "--set", "chunk_size=1000"]),
            cmd(&["tenant", "update", "acme", "--unset", "chunk_size"]),
        ],
    );
    assert_eq!(lrt.code_as(ROOT, &["kb", "list", "-t", "acme"]), 0);
    assert_eq!(lrt.code_as(ROOT, &["kb", "show", "-t", "acme", "big"]), 0);
}

#[test]
fn bad_config_files_are_usage_errors() {
    let lrt = setup();
    let write = |name: &str, text: &str| {
        let path = lrt.root().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let files = [
        write("unknown-top.toml", "descripton = \"typo\"\n"),
        write("unknown-config.toml", "[config]\ntop_kk = 5\n"),
        write("unknown-quota.toml", "[quota]\nmax_docs = 5\n"),
        write("config-key-in-quota.toml", "[quota]\ntop_k = 5\n"),
        write("wrong-type.toml", "[config]\ntop_k = \"many\"\n"),
        write("negative.toml", "[quota]\nmax_documents = -1\n"),
        write("cross-field.toml", "[config]\nchunk_overlap = 5000\n"),
        write("not-toml.toml", "this is not toml ["),
        write("bad-table.toml", "config = 5\n"),
    ];
    let commands: Vec<Vec<String>> = files
        .iter()
        .map(|f| cmd(&["tenant", "create", "x", "--config-file", f]))
        .collect();
    refused(&lrt, ROOT, 2, &commands);
}

#[test]
fn a_missing_config_file_for_tenant_create_is_a_usage_error() {
    let lrt = setup();
    let missing = lrt.root().join("missing.toml");
    refused(
        &lrt,
        ROOT,
        2,
        &[cmd(&[
            "tenant",
            "create",
            "x",
            "--config-file",
            missing.to_str().unwrap(),
        ])],
    );
}

#[test]
fn duplicate_names_are_conflicts_in_any_case() {
    let lrt = setup();
    lrt.kb("acme", "Notes");
    let commands = vec![
        cmd(&["tenant", "create", "acme"]),
        cmd(&["tenant", "create", "ACME"]),
        cmd(&["tenant", "create", "Acme"]),
        cmd(&["tenant", "update", "beta", "--name", "aCmE"]),
        cmd(&["kb", "create", "-t", "acme", "docs"]),
        cmd(&["kb", "create", "-t", "acme", "DOCS"]),
        cmd(&["kb", "update", "-t", "acme", "notes", "--name", "Docs"]),
        cmd(&["member", "add", "-t", "acme", "alice", "--role", "viewer"]),
    ];
    refused(&lrt, ROOT, 6, &commands);
    let run = lrt.run_as(ROOT, &["tenant", "create", "ACME"]);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    // KB names are unique per tenant only; renaming to your own name in another case is fine.
    lrt.kb("beta", "docs");
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--name", "ACME"]);
    lrt.json_as(ROOT, &["kb", "update", "-t", "acme", "docs", "--name", "Docs"]);
}

#[test]
fn max_kb_per_tenant_is_enforced() {
    let lrt = setup();
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "max_kb_per_tenant=2"]);
    lrt.json_as("alice", &["kb", "create", "-t", "acme", "second"]);
    let before = lrt.snapshot();
    let run = lrt.run_as("alice", &["kb", "create", "-t", "acme", "third"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("max_kb_per_tenant"), "{}", run.stderr);
    assert_eq!(lrt.snapshot(), before);
    let newest = &lrt.audit()[0];
    assert_eq!(
        (newest["action"].as_str(), newest["outcome"].as_str()),
        (Some("kb.create"), Some("denied"))
    );
    // Super-admins are held to the quota too.
    assert_eq!(lrt.code_as(ROOT, &["kb", "create", "-t", "acme", "third"]), 7);
    // Lowering the quota below the current count refuses new KBs but keeps the old ones.
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "max_kb_per_tenant=0"]);
    assert_eq!(lrt.code_as("alice", &["kb", "create", "-t", "acme", "third"]), 7);
    assert_eq!(
        lrt.json_as("alice", &["kb", "list", "-t", "acme"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Deleting one or raising the quota makes room.
    lrt.json_as(ROOT, &["tenant", "update", "acme", "--set", "max_kb_per_tenant=3"]);
    lrt.json_as("alice", &["kb", "create", "-t", "acme", "third"]);
    assert_eq!(lrt.code_as("alice", &["kb", "create", "-t", "acme", "fourth"]), 7);
    lrt.json_as("alice", &["kb", "delete", "-t", "acme", "third", "--yes"]);
    lrt.json_as("alice", &["kb", "create", "-t", "acme", "fourth"]);
    // Another tenant's KBs do not count.
    lrt.kb("beta", "b1");
}

#[test]
fn destructive_commands_without_a_terminal_need_yes() {
    let lrt = setup();
    lrt.member("acme", "bob", "viewer");
    let commands = vec![
        cmd(&["tenant", "delete", "acme"]),
        cmd(&["tenant", "delete", "beta", "--no-input"]),
        cmd(&["kb", "delete", "-t", "acme", "docs"]),
        cmd(&["kb", "delete", "-t", "acme", "docs", "--no-input"]),
        cmd(&["member", "remove", "-t", "acme", "bob"]),
    ];
    refused(&lrt, ROOT, 10, &commands);
    refused(&lrt, "alice", 10, &commands[2..]);
    let run = lrt.run_as(ROOT, &["tenant", "delete", "acme"]);
    assert!(
        run.stderr.contains("--yes") && run.stderr.contains("--dry-run"),
        "{}",
        run.stderr
    );
    // A command without --dry-run is not told to use it.
    let run = lrt.run_as(ROOT, &["kb", "reindex", "-t", "acme", "docs", "--reembed"]);
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert!(
        run.stderr.contains("--yes") && !run.stderr.contains("--dry-run"),
        "{}",
        run.stderr
    );
    let run = lrt.run(
        Some(ROOT),
        &[("LRT_NO_INPUT", "1")],
        &["kb", "delete", "-t", "acme", "docs"],
    );
    assert_eq!(run.code, 10);
    // Permission is checked before confirmation: a viewer is told "forbidden", not "add --yes".
    assert_eq!(lrt.code_as("bob", &["kb", "delete", "-t", "acme", "docs"]), 5);
    // With --yes they go through.
    lrt.json_as(ROOT, &["member", "remove", "-t", "acme", "bob", "-y"]);
    lrt.json_as(ROOT, &["kb", "delete", "-t", "acme", "docs", "-y"]);
    lrt.json_as(ROOT, &["tenant", "delete", "beta", "--yes"]);
}

#[test]
fn invalid_environment_and_config_files_are_usage_errors() {
    let lrt = setup();
    let before = lrt.snapshot();
    for (var, value) in [
        ("ENABLE_MULTI_TENANTS", "maybe"),
        ("ENABLE_MULTI_TENANTS", "2"),
        ("LIGHTRAG_MULTI_TENANT", "sure"),
        ("LIGHTRAG_MULTI_TENANT_STRICT", "strictish"),
        ("TOKEN_EXPIRE_HOURS", "soon"),
    ] {
        for args in [vec!["tenant", "list"], vec!["tenant", "create", "x"]] {
            let run = lrt.run(Some(ROOT), &[(var, value)], &args);
            assert_eq!(run.code, 2, "{var}={value} {args:?}: {}", run.stderr);
            assert!(run.stderr.contains(var), "{}", run.stderr);
        }
    }
    // A config file named explicitly must exist (flag or LRT_CONFIG).
    let missing = lrt.root().join("missing.toml");
    let run = lrt.run_as(ROOT, &["--config", missing.to_str().unwrap(), "tenant", "create", "x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    let run = lrt.run(
        Some(ROOT),
        &[("LRT_CONFIG", missing.to_str().unwrap())],
        &["tenant", "list"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!missing.exists());
    assert_eq!(lrt.snapshot(), before);

    // Unknown keys and bad values in config.toml are errors, never ignored.
    let good = std::fs::read_to_string(lrt.config_path()).unwrap();
    for broken in [
        format!("typo = 1\n{good}"),
        good.replace("[storage]", "[storage]\ndta_dir = \"/tmp/x\""),
        good.replace("[identity]", "[identity]\nusr = \"x\""),
        format!("{good}\n[unknown_section]\nx = 1\n"),
        good.replace("enabled = true", "enabled = \"yes\""),
        good.replace("binding = \"local\"", "binding = \"carrier-pigeon\""),
        format!("{good}\nthis is not toml ["),
    ] {
        std::fs::write(lrt.config_path(), &broken).unwrap();
        let run = lrt.run_as(ROOT, &["tenant", "create", "x"]);
        assert_eq!(run.code, 2, "{}\n---\n{broken}", run.stderr);
        assert!(run.stderr.contains("config"), "{}", run.stderr);
    }
    std::fs::write(lrt.config_path(), &good).unwrap();
    assert_eq!(lrt.snapshot(), before);
}

#[test]
fn with_no_user_variables_the_os_account_acts() {
    let lrt = setup();
    let text = std::fs::read_to_string(lrt.config_path()).unwrap();
    std::fs::write(lrt.config_path(), text.replace("user = \"root\"", "")).unwrap();
    let run = lrt.run(
        None,
        &[("USER", ""), ("USERNAME", ""), ("LOGNAME", "")],
        &["whoami", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let me = std::process::Command::new("id").arg("-un").output().unwrap();
    assert_eq!(run.json()["user"], String::from_utf8(me.stdout).unwrap().trim());
    let run = lrt.run(Some("has space"), &[], &["tenant", "list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn tenant_and_kb_commands_take_the_argument_and_the_flag_alike() {
    let lrt = setup();
    let by_arg = lrt.json_as(ROOT, &["tenant", "show", "acme"]);
    assert_eq!(lrt.json_as(ROOT, &["tenant", "show", "-t", "acme"]), by_arg);
    assert_eq!(lrt.json_as(ROOT, &["tenant", "show", "--tenant", "acme"]), by_arg);
    lrt.json_as(ROOT, &["tenant", "update", "-t", "acme", "--description", "d"]);
    lrt.json_as(ROOT, &["tenant", "deactivate", "--tenant", "beta"]);
    lrt.json_as(ROOT, &["tenant", "activate", "beta"]);
    let out = lrt.root().join("a.lrtkb");
    let out = out.to_str().unwrap();
    lrt.json_as(ROOT, &["kb", "export", "-t", "acme", "docs", "-O", out]);
    lrt.json_as(
        ROOT,
        &["kb", "export", "-t", "acme", "--kb", "docs", "-O", out, "--force"],
    );
    let t = lrt.root().join("t.lrtt");
    lrt.json_as(ROOT, &["tenant", "export", "-t", "acme", "-O", t.to_str().unwrap()]);
    lrt.json_as(ROOT, &["use", "-t", "acme", "--kb", "docs"]);
    // Both forms at once is a usage error; so is naming none where one is needed.
    assert_eq!(lrt.code_as(ROOT, &["tenant", "show", "acme", "-t", "beta"]), 2);
    assert_eq!(lrt.code_as(ROOT, &["tenant", "delete", "--yes"]), 2);
}

#[test]
fn malformed_output_and_prompt_settings_in_the_environment_are_usage_errors() {
    let lrt = setup();
    for (var, value) in [("LRT_OUTPUT", "yaml"), ("LRT_OUTPUT", "jsn"), ("LRT_NO_INPUT", "maybe")] {
        let run = lrt.run(Some(ROOT), &[(var, value)], &["tenant", "list"]);
        assert_eq!(run.code, 2, "{var}={value}: {}", run.stderr);
        assert!(run.stderr.contains(var) && run.stderr.contains(value), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    // -o tsv: a header line and one tab-separated line per row; --no-headers drops the header.
    let tsv = lrt.run_as(ROOT, &["kb", "list", "-t", "acme", "-o", "tsv"]);
    assert_eq!(tsv.code, 0, "{}", tsv.stderr);
    let lines: Vec<&str> = tsv.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", tsv.stdout);
    assert!(
        lines[0].starts_with("ID\t") && lines[1].contains("\tdocs\t"),
        "{}",
        tsv.stdout
    );
    let bare = lrt.run_as(ROOT, &["kb", "list", "-t", "acme", "-o", "tsv", "--no-headers"]);
    assert_eq!(bare.stdout.lines().collect::<Vec<_>>(), [lines[1]]);
    // Well-formed values work, whatever their case.
    for (var, value) in [("LRT_OUTPUT", "TSV"), ("LRT_NO_INPUT", "yes"), ("LRT_NO_INPUT", "0")] {
        assert_eq!(lrt.run(Some(ROOT), &[(var, value)], &["tenant", "list"]).code, 0);
    }
}

#[test]
fn conflicting_output_flags_are_usage_errors_and_a_file_for_o_gets_a_hint() {
    let lrt = setup();
    for args in [
        vec!["tenant", "list", "--json", "-q"],
        vec!["tenant", "list", "-o", "json", "--quiet"],
        vec!["tenant", "list", "-o", "tsv", "-q"],
        vec!["tenant", "list", "--json", "-o", "table"],
    ] {
        let run = lrt.run_as(ROOT, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    // -q beats LRT_OUTPUT=json: a flag wins over the environment.
    let run = lrt.run(Some(ROOT), &[("LRT_OUTPUT", "json")], &["tenant", "list", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(serde_json::from_str::<serde_json::Value>(&run.stdout).is_err());
    let run = lrt.run_as(ROOT, &["kb", "export", "-t", "acme", "docs", "-o", "docs.lrtkb"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--out FILE (-O FILE)"), "{}", run.stderr);
}

/// A data directory made read-only for the test: a read-only bind mount over itself when
/// running as root (where permission bits do not restrict), else mode 0500 on the folder and
/// 0400 on catalog.db. Undone on drop. `None`, with SKIPPED printed, where neither works.
struct ReadOnly {
    dir: std::path::PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn make(dir: &std::path::Path) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        if unsafe { libc::geteuid() } != 0 {
            std::fs::set_permissions(dir.join("catalog.db"), std::fs::Permissions::from_mode(0o400)).unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
            return Some(ReadOnly {
                dir: dir.to_path_buf(),
                mounted: false,
            });
        }
        let mount = |args: &[&str]| {
            std::process::Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success())
        };
        if !mount(&["--bind"]) {
            println!("read-only data directory: SKIPPED, cannot bind-mount as root here");
            return None;
        }
        let guard = ReadOnly {
            dir: dir.to_path_buf(),
            mounted: true,
        };
        if !mount(&["-o", "remount,ro,bind"]) {
            println!("read-only data directory: SKIPPED, cannot remount read-only here");
            return None;
        }
        Some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.mounted {
            let _ = std::process::Command::new("umount").arg(&self.dir).status();
        } else {
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
            let _ = std::fs::set_permissions(self.dir.join("catalog.db"), std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// On a read-only data directory (SQLite cannot create the -shm file a WAL database needs
/// even to read) the commands that only read work: `kb list`, `doc list`, `tenant list`,
/// `graph entities`, `doctor`; commands that write, `query` among them (it counts an API call),
/// fail saying the data directory is not writable, never SQLite's bare "unable to open
/// database file".
#[test]
fn a_read_only_data_dir_serves_reads_and_names_the_cause_of_writes() {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    let file = lrt.root().join("curie.txt");
    std::fs::write(
        &file,
        "Marie Curie discovered polonium in Paris. Pierre Curie worked with her.",
    )
    .unwrap();
    let run = lrt.run_as(
        ROOT,
        &["ingest", "--tenant", "acme", "--kb", "docs", file.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let Some(_ro) = ReadOnly::make(&lrt.data_dir()) else {
        return;
    };
    for (args, shows) in [
        (vec!["kb", "list", "--tenant", "acme"], "docs"),
        (vec!["doc", "list", "--tenant", "acme", "--kb", "docs"], "curie.txt"),
        (
            vec!["graph", "entities", "--tenant", "acme", "--kb", "docs"],
            "Marie Curie",
        ),
        (vec!["tenant", "list"], "acme"),
        (vec!["doctor"], "no problems"),
    ] {
        let run = lrt.run_as(ROOT, &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains(shows), "{args:?}: {}", run.stdout);
    }
    for args in [
        vec![
            "query",
            "--tenant",
            "acme",
            "--kb",
            "docs",
            "--no-cache",
            "Who discovered polonium?",
        ],
        vec!["kb", "create", "--tenant", "acme", "more"],
    ] {
        let run = lrt.run_as(ROOT, &args);
        assert_eq!(run.code, 9, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("not writable") && !run.stderr.contains("unable to open"),
            "{args:?}: {}",
            run.stderr
        );
    }
}
