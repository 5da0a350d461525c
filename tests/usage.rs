//! `max_monthly_api_calls`: one API call per `lrt query` and per `lrt ingest` run, counted
//! per tenant and UTC month (the clock fixed with `LRT_NOW`), refused over the quota with
//! exit code 7 and the reset time before anything is written, shown by `tenant show`, and
//! never exceeded by concurrent processes.

mod common;

use std::path::{Path, PathBuf};

use common::{Lrt, ROOT, Run};
use serde_json::Value;

const NOV: &str = "2026-11-15T10:00:00Z";
const NOV_END: &str = "2026-11-30T23:59:59.999Z";
const DEC: &str = "2026-12-01T00:00:00Z";
const RESET_NOV: &str = "2026-12-01T00:00:00.000Z";

fn setup() -> (Lrt, PathBuf) {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    let doc = lrt.root().join("curie.md");
    std::fs::write(
        &doc,
        "Marie Curie discovered radium in Paris. She won the Nobel Prize in Physics in 1903.",
    )
    .unwrap();
    (lrt, doc)
}

fn at(lrt: &Lrt, now: &str, user: &str, args: &[&str]) -> Run {
    lrt.run(Some(user), &[("LRT_NOW", now)], args)
}

fn set_quota(lrt: &Lrt, n: u64) {
    let set = format!("max_monthly_api_calls={n}");
    assert!(lrt.run_as(ROOT, &["tenant", "update", "acme", "--set", &set]).ok());
}

fn usage(lrt: &Lrt, now: &str) -> Value {
    let run = at(lrt, now, "alice", &["tenant", "show", "acme", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()["usage"].clone()
}

/// Every file below `dir` with its size and modification time.
fn files(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_query_over_the_quota_fails_with_the_reset_time_and_writes_nothing() {
    let (lrt, doc) = setup();
    set_quota(&lrt, 2);
    let ingest = at(
        &lrt,
        NOV,
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()],
    );
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let q = ["query", "-t", "acme", "--kb", "docs", "What did Marie Curie discover?"];
    assert_eq!(at(&lrt, NOV, "alice", &q).code, 0);
    let u = usage(&lrt, NOV);
    assert_eq!(
        (u["api_calls"].as_u64(), u["remaining"].as_u64()),
        (Some(2), Some(0)),
        "{u}"
    );
    assert_eq!(u["period"], "2026-11");
    assert_eq!(u["resets_at"], RESET_NOV);

    let tenant_id = lrt.json_as(ROOT, &["tenant", "show", "acme"])["tenant_id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = files(&lrt.tenant_dir(&tenant_id));
    let run = at(&lrt, NOV, "alice", &q);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("resets at {RESET_NOV}")), "{}", run.stderr);
    assert!(run.stderr.contains("max_monthly_api_calls"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let mut json_q = q.to_vec();
    json_q.push("--json");
    let run = at(&lrt, NOV, "alice", &json_q);
    assert_eq!(run.code, 7);
    assert_eq!(run.json_error()["error"]["kind"], "rate_limited");
    assert_eq!(
        files(&lrt.tenant_dir(&tenant_id)),
        before,
        "a refused query wrote to the KB"
    );
    assert_eq!(usage(&lrt, NOV)["api_calls"], 2, "refused calls are not counted");
}

#[test]
fn an_ingest_over_the_quota_fails_before_anything_is_written() {
    let (lrt, doc) = setup();
    set_quota(&lrt, 1);
    let args = ["ingest", "-t", "acme", "--kb", "docs", doc.to_str().unwrap()];
    assert_eq!(at(&lrt, NOV, "alice", &args).code, 0);
    let other = lrt.root().join("nasa.md");
    std::fs::write(&other, "NASA was founded in 1958 in Washington.").unwrap();
    let before = lrt.snapshot();
    let run = at(
        &lrt,
        NOV,
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", other.to_str().unwrap()],
    );
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("resets at {RESET_NOV}")), "{}", run.stderr);
    assert_eq!(lrt.snapshot(), before);
    let kb = lrt.json_as(ROOT, &["kb", "show", "-t", "acme", "docs"]);
    assert_eq!(kb["document_count"], 1);
    // Someone who cannot see the tenant is refused as "not found" and costs nothing.
    assert_eq!(
        at(&lrt, NOV, "mallory", &["query", "-t", "acme", "--kb", "docs", "x"]).code,
        3
    );
    assert_eq!(usage(&lrt, NOV)["api_calls"], 1);
}

#[test]
fn the_count_starts_again_on_the_first_of_the_month_utc() {
    let (lrt, _) = setup();
    set_quota(&lrt, 1);
    let q = ["query", "-t", "acme", "--kb", "docs", "Who discovered radium?"];
    assert_eq!(at(&lrt, NOV_END, "alice", &q).code, 0);
    let run = at(&lrt, NOV_END, "alice", &q);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains(RESET_NOV), "{}", run.stderr);

    assert_eq!(at(&lrt, DEC, "alice", &q).code, 0, "a new month has a fresh quota");
    let dec = usage(&lrt, DEC);
    assert_eq!(dec["period"], "2026-12");
    assert_eq!(dec["api_calls"], 1);
    assert_eq!(dec["resets_at"], "2027-01-01T00:00:00.000Z");
    assert_eq!(usage(&lrt, NOV_END)["api_calls"], 1, "November's count is kept apart");

    // The table shows it too; a malformed clock is a usage error.
    let table = at(&lrt, DEC, "alice", &["tenant", "show", "acme"]);
    assert!(table.stdout.contains("usage.resets_at") && table.stdout.contains("2027-01-01T00:00:00.000Z"));
    assert_eq!(at(&lrt, "next tuesday", "alice", &q).code, 2);
    let help = lrt.run_as(ROOT, &["help", "quotas"]);
    assert!(
        help.stdout
            .contains("One API call is one `lrt query` or one `lrt ingest` run"),
        "{}",
        help.stdout
    );
}

/// Runs `n` processes at once; their exit codes, and what the failed ones printed (so a
/// failure says why).
fn spawn_all(lrt: &Lrt, n: usize, args: &[&str]) -> (Vec<i32>, String) {
    let children: Vec<_> = (0..n)
        .map(|_| {
            lrt.process("alice", args)
                .env("LRT_NOW", NOV)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn lrt")
        })
        .collect();
    let mut errors = String::new();
    let codes = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let code = out.status.code().unwrap();
            if code != 0 && code != 7 {
                errors.push_str(&String::from_utf8_lossy(&out.stderr));
            }
            code
        })
        .collect();
    (codes, errors)
}

#[test]
fn concurrent_processes_neither_lose_counts_nor_pass_the_quota() {
    let (lrt, _) = setup();
    let q = ["query", "-t", "acme", "--kb", "docs", "Who discovered radium?"];
    // No limit in reach: every call is counted.
    let (codes, errors) = spawn_all(&lrt, 8, &q);
    assert!(codes.iter().all(|&c| c == 0), "{codes:?}\n{errors}");
    assert_eq!(usage(&lrt, NOV)["api_calls"], 8);
    // Four left: exactly four of ten racing processes get through.
    set_quota(&lrt, 12);
    let (codes, errors) = spawn_all(&lrt, 10, &q);
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 4, "{codes:?}\n{errors}");
    assert_eq!(codes.iter().filter(|&&c| c == 7).count(), 6, "{codes:?}\n{errors}");
    assert_eq!(usage(&lrt, NOV)["api_calls"], 12);
}
