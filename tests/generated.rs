//! The committed completions/ and man/ files are generated from the clap definitions; this
//! fails when they are stale. Regenerate with:
//!   cargo run -- completions --dir completions && cargo run -- man --dir man

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;

fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn check_fresh(subcommand: &str, committed: &str) {
    let tmp = tempfile::tempdir().unwrap();
    Command::cargo_bin("lrt")
        .unwrap()
        .args([subcommand, "--dir"])
        .arg(tmp.path())
        .assert()
        .success();
    let fresh = files(tmp.path());
    let repo = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(committed));
    let fresh_names: Vec<_> = fresh.keys().collect();
    let repo_names: Vec<_> = repo.keys().collect();
    assert_eq!(
        fresh_names, repo_names,
        "{committed}/ is stale: run `cargo run -- {subcommand} --dir {committed}`"
    );
    for (name, text) in &fresh {
        assert!(
            repo[name] == *text,
            "{committed}/{name} is stale: run `cargo run -- {subcommand} --dir {committed}`"
        );
    }
}

#[test]
fn committed_completions_are_fresh() {
    check_fresh("completions", "completions");
}

#[test]
fn committed_man_pages_are_fresh() {
    check_fresh("man", "man");
}

#[test]
fn completions_for_one_shell_go_to_stdout() {
    let out = Command::cargo_bin("lrt")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // The script registers lrt: commands and names are completed by lrt itself (tests/completion.rs).
    assert!(text.contains("-F _clap_complete_lrt lrt"), "{text}");
}

#[test]
fn help_exit_codes_lists_every_code() {
    let out = Command::cargo_bin("lrt")
        .unwrap()
        .args(["help", "exit-codes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for kind in lrt::ErrorKind::ALL {
        assert!(
            text.contains(&format!("    {:<4} ", kind.exit_code())),
            "missing exit code {}",
            kind.exit_code()
        );
        assert!(text.contains(kind.as_str()));
    }
    let out = Command::cargo_bin("lrt")
        .unwrap()
        .args(["help", "tenant", "create"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("--admin"));
    Command::cargo_bin("lrt")
        .unwrap()
        .args(["help", "nonsense"])
        .assert()
        .code(2);
}

/// `lrt ARGS | head -0`: the reader is gone before lrt writes a byte.
fn into_closed_pipe(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lrt"))
        .args(args)
        .env("HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_ends_output_quietly_with_exit_0() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
        &["help", "exit-codes"],
        &["help", "tenant", "create"],
        &["--help"],
        &["kb", "--help"],
    ] {
        let out = into_closed_pipe(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "lrt {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "lrt {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_man_page_has_environment_files_and_exit_status() {
    let out = Command::cargo_bin("lrt").unwrap().arg("man").output().unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    for section in [
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"EXIT STATUS\"",
        "LRT_OUTPUT",
        "NO_COLOR",
        "catalog.db",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("lrt")
        .unwrap()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(dir.path().join("lrt.1")).unwrap(), page);
}
