//! `lrt quickstart` on a fresh machine: no config file, no model server, network routed to a
//! dead proxy. It writes the config, sets up the demo tenant and KB, ingests the embedded
//! sample documents and answers the sample question with a reference to the right file;
//! a second run changes nothing.

mod common;

use std::path::Path;

use common::{Lrt, ROOT, Run, keys, sorted};
use serde_json::Value;

const FACT: &str = "The TideRunner T2 is assembled at the company's factory in Brest, France.";
const SOURCE: &str = "examples/docs/products.md";

/// `lrt ARGS` with nothing but a home, XDG folders, a user name and dead proxies.
fn fresh(root: &Path, args: &[&str]) -> Run {
    fresh_as(root, Some("tester"), args)
}

/// The same, with `USER` set to `user` or (None) no user variable at all, as in a container,
/// cron or CI job.
fn fresh_as(root: &Path, user: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(common::BIN);
    cmd.env_clear();
    if let Some(user) = user {
        cmd.env("USER", user);
    }
    let out = cmd
        .env("HOME", root.join("home"))
        .env("XDG_CONFIG_HOME", root.join("cfg"))
        .env("XDG_DATA_HOME", root.join("share"))
        .env("TERM", "dumb")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .current_dir(root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run lrt");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The reference id of `file` in a quickstart or query result.
fn ref_of(out: &Value, file: &str) -> String {
    out["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file_path"] == file)
        .unwrap_or_else(|| panic!("{file} is not a reference: {}", out["references"]))["reference_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_fresh_machine_gets_a_demo_that_answers_offline_and_a_rerun_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let run = fresh(dir.path(), &["quickstart", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        dir.path().join("cfg/lrt/config.toml").exists(),
        "the config was written"
    );
    let first = run.json();
    assert_eq!(
        keys(&first),
        sorted(&[
            "created",
            "tenant",
            "kb",
            "members",
            "context",
            "ingest",
            "question",
            "mode",
            "answer",
            "references",
        ])
    );
    assert_eq!(first["created"], true);
    assert_eq!(first["tenant"]["tenant_name"], "demo");
    assert_eq!(first["kb"]["kb_name"], "docs");
    assert_eq!(first["mode"], "mix");
    assert_eq!(first["question"], "Where is the TideRunner T2 assembled?");
    let ingest = &first["ingest"];
    assert_eq!(
        (
            ingest["added"].as_u64(),
            ingest["duplicates"].as_u64(),
            ingest["failed"].as_u64()
        ),
        (Some(5), Some(0), Some(0)),
        "{ingest}"
    );
    assert_eq!(first["kb"]["document_count"], 5);
    assert!(first["kb"]["entity_count"].as_u64().unwrap() > 0);
    let answer = first["answer"].as_str().unwrap();
    let n = ref_of(&first, SOURCE);
    assert!(answer.starts_with(&format!("{FACT} [{n}]")), "{answer}");
    assert!(answer.contains(&format!("* [{n}] {SOURCE}")), "{answer}");
    assert_eq!(first["tenant"]["usage"]["api_calls"], 2, "one ingest and one query");

    // Again: the same tenant and KB, the documents are duplicates, the same answer.
    let second = fresh(dir.path(), &["quickstart", "--json"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let second = second.json();
    assert_eq!(second["created"], false);
    assert_eq!(second["tenant"]["tenant_id"], first["tenant"]["tenant_id"]);
    assert_eq!(second["kb"]["kb_id"], first["kb"]["kb_id"]);
    assert_eq!(
        (
            second["ingest"]["added"].as_u64(),
            second["ingest"]["duplicates"].as_u64()
        ),
        (Some(0), Some(5))
    );
    assert_eq!(second["kb"]["document_count"], 5);
    assert_eq!(second["kb"]["entity_count"], first["kb"]["entity_count"]);
    assert_eq!(second["answer"], first["answer"]);
    let tenants = fresh(dir.path(), &["tenant", "list", "--json"]).json();
    assert_eq!(tenants.as_array().unwrap().len(), 1, "{tenants}");
    let kbs = fresh(dir.path(), &["kb", "list", "--tenant", "demo", "--json"]).json();
    assert_eq!(kbs.as_array().unwrap().len(), 1, "{kbs}");

    // The demo is the current context, so the suggested next command works as printed.
    let q = fresh(dir.path(), &["query", "--json", "Who founded Kestrel Tidal Systems?"]);
    assert_eq!(q.code, 0, "{}", q.stderr);
    let q = q.json();
    assert!(
        q["answer"].as_str().unwrap().contains("Isla Morven and Tomas Reyes"),
        "{}",
        q["answer"]
    );
    ref_of(&q, "examples/docs/history.md");
}

#[test]
fn human_output_shows_the_steps_the_answer_and_next_steps() {
    // An installation made by `lrt init --multi-tenant`: quickstart names its tenant and KB.
    let lrt = Lrt::new();
    lrt.tenant("acme", None);
    lrt.kb("acme", "docs");
    assert!(lrt.run_as(ROOT, &["use", "acme", "docs"]).ok());
    let run = lrt.run_as(ROOT, &["quickstart"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The switch of the current context is announced, with the way back.
    assert!(
        run.stderr
            .contains("current context changed from acme / docs to demo / docs; `lrt use acme docs` switches back"),
        "{}",
        run.stderr
    );
    let out = &run.stdout;
    assert!(
        out.contains("Created tenant 'demo' with knowledge base 'docs'"),
        "{out}"
    );
    assert!(out.contains("5 added, 0 already there"), "{out}");
    assert!(out.contains(FACT), "{out}");
    assert!(out.contains(&format!("] {SOURCE}")), "{out}");
    assert!(out.contains("Next steps:") && out.contains("lrt query"), "{out}");
    let again = lrt.run_as(ROOT, &["quickstart"]);
    assert!(again.stdout.contains("Reusing tenant 'demo'"), "{}", again.stdout);
    assert!(!again.stderr.contains("current context"), "{}", again.stderr);
    assert!(again.stdout.contains("0 added, 5 already there"), "{}", again.stdout);
    // -q prints the tenant and KB ids.
    let ids = lrt.run_as(ROOT, &["quickstart", "-q"]);
    assert_eq!(ids.stdout.lines().count(), 2, "{}", ids.stdout);
}

/// The OS account name of this process, as `id -un` prints it.
fn account_name() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("run id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn without_user_variables_the_os_account_is_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let me = account_name();
    let run = fresh_as(dir.path(), None, &["quickstart", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let who = fresh_as(dir.path(), None, &["whoami", "--json"]).json();
    assert_eq!(who["user"], me.as_str());
    assert_eq!(who["super_admin"], true);

    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join("home")).unwrap();
    let init = fresh_as(other.path(), None, &["init", "--json"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let config = std::fs::read_to_string(other.path().join("cfg/lrt/config.toml")).unwrap();
    assert!(config.contains(&format!("user = \"{me}\"")), "{config}");
}
