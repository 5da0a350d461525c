//! The `TenantRagManager` LRU under load: a server caching 2 engines, 6 KBs (each with its own
//! distinctive fact, ingested with the offline `local` provider) and rounds of concurrent
//! queries spread over all of them, so engines are evicted while other requests are in flight.
//! Every answer must come from the KB asked; at rest the server process holds files of at most
//! 2 KBs; its open files do not grow from round to round; and an evicted or deleted KB's files
//! are released (nothing of it stays open or mapped once it is gone).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::server::{Server, spawn, token};
use common::{Lrt, ROOT};
use reqwest::StatusCode;
use serde_json::json;

const CACHED: usize = 2;
const KBS: usize = 3 * CACHED;
const ROUNDS: usize = 3;
const PER_ROUND: usize = 48;

/// What the server process has open or mapped: regular files (fd links and file mappings),
/// which holds each KB's kb.db and vector indexes while its engine lives.
#[derive(Debug)]
struct Held {
    fds: Vec<String>,
    maps: BTreeSet<String>,
}

impl Held {
    fn of(pid: u32) -> Held {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("the server's fd table")
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| p.starts_with('/'))
            .collect();
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .expect("the server's mappings")
            .lines()
            .filter_map(|l| l.find(" /").map(|at| l[at + 1..].trim().to_string()))
            .collect();
        Held { fds, maps }
    }

    /// [`Held::of`] once no KB file is held, or after 5 s, whatever is held then.
    fn settled(pid: u32) -> Held {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let held = Held::of(pid);
            if held.kbs().is_empty() || std::time::Instant::now() > deadline {
                return held;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.fds.iter().chain(&self.maps)
    }

    /// The KB ids whose files are open or mapped.
    fn kbs(&self) -> BTreeSet<String> {
        self.all()
            .filter_map(|p| p.split("/kbs/").nth(1))
            .filter_map(|rest| rest.split('/').next())
            .map(str::to_string)
            .collect()
    }

    /// Open or mapped files that were deleted (a released file never shows up here).
    fn deleted(&self) -> Vec<&String> {
        self.all().filter(|p| p.ends_with("(deleted)")).collect()
    }
}

/// The server's holdings once `settled` holds (engines evicted by a request are closed on the
/// server's blocking pool, just after that request's answer), or after 2 s as they are.
async fn settle(pid: u32, settled: impl Fn(&Held) -> bool) -> Held {
    for _ in 0..40 {
        let held = Held::of(pid);
        if settled(&held) {
            return held;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Held::of(pid)
}

struct Kbs {
    tenant: String,
    ids: Vec<String>,
}

impl Kbs {
    fn path(&self, i: usize) -> String {
        format!("/api/v1/tenants/{}/kbs/{}/query", self.tenant, self.ids[i])
    }
}

/// Asks KB `i` for its secret word; the answer must carry KB `i`'s canary and nobody else's.
async fn ask(srv: &Server, token: &str, kbs: &Kbs, i: usize, mode: &str) {
    let q =
        json!({"question": "What is the secret word of the observatory archive?", "mode": mode, "only_context": true});
    let r = srv.post(&kbs.path(i), token, q).await;
    assert_eq!(r.status, StatusCode::OK, "KB {i} ({mode}): {}", r.body);
    let context = r.body["context"].as_str().expect("a context");
    assert!(
        context.contains(&canary(i)),
        "KB {i} ({mode}) lacks its fact: {context}"
    );
    for other in (0..KBS).filter(|&o| o != i) {
        assert!(
            !context.contains(&canary(other)),
            "KB {i} ({mode}) shows KB {other}'s fact: {context}"
        );
    }
}

fn canary(i: usize) -> String {
    format!("CANARY-{i}-{}", 7100 + 13 * i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eviction_under_concurrent_queries_keeps_answers_isolated_and_releases_files() {
    let lrt = Lrt::new();
    let tenant = lrt.tenant("acme", None);
    // All the test's queries run at once (the default allows 10 per tenant).
    let quota = lrt.run_as(
        ROOT,
        &["tenant", "update", "acme", "--set", "max_concurrent_queries=100"],
    );
    assert!(quota.ok(), "{}", quota.stderr);
    let mut ids = Vec::new();
    for i in 0..KBS {
        let kb = lrt.kb(&tenant, &format!("kb{i}"));
        let doc = lrt.root().join(format!("archive-{i}.txt"));
        std::fs::write(
            &doc,
            format!(
                "The observatory archive of Valley {i} keeps star charts. \
                 The secret word of the observatory archive is {}.",
                canary(i)
            ),
        )
        .unwrap();
        let run = lrt.run_as(ROOT, &["ingest", "-t", "acme", "--kb", &kb, doc.to_str().unwrap()]);
        assert!(run.ok(), "ingest kb{i}: {}", run.stderr);
        ids.push(kb);
    }
    let kbs = Kbs { tenant, ids };
    let srv = spawn(&lrt, &[], &["--max-cached-instances", &CACHED.to_string()]).expect("lrt serve");
    let pid = srv.pid();
    let root = token(&lrt, ROOT);
    // The start-up scan for pending uploads opens each kb.db briefly; then nothing is held.
    let at_start = Held::settled(pid);
    assert!(at_start.kbs().is_empty(), "{at_start:?}");

    let mut steady: Option<Vec<String>> = None;
    for round in 0..ROUNDS {
        let requests = (0..PER_ROUND).map(|j| {
            let (srv, root, kbs) = (&srv, &root, &kbs);
            let mode = if j % 3 == 0 { "mix" } else { "naive" };
            async move { ask(srv, root, kbs, (j * 5 + round) % KBS, mode).await }
        });
        futures_util::future::join_all(requests).await;
        let held = settle(pid, |h| h.kbs().len() <= CACHED).await;
        assert!(
            held.kbs().len() <= CACHED,
            "round {round}: files of {} KBs held with {CACHED} cached: {held:#?}",
            held.kbs().len()
        );
        assert!(held.deleted().is_empty(), "{held:#?}");
        // The same KBs cached (the last two asked, in order) give the same open files.
        ask(&srv, &root, &kbs, 0, "mix").await;
        ask(&srv, &root, &kbs, 1, "mix").await;
        let expected: BTreeSet<String> = kbs.ids[..2].iter().cloned().collect();
        let held = settle(pid, |h| h.kbs() == expected).await;
        assert_eq!(held.kbs(), expected, "round {round}: {held:#?}");
        let mut fds = held.fds.clone();
        fds.sort();
        match &steady {
            None => steady = Some(fds),
            Some(before) => assert_eq!(&fds, before, "round {round}: the open files changed"),
        }
    }

    // Deleting a cached KB and an evicted one releases everything of theirs.
    for i in [0, KBS - 1] {
        let r = srv
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/tenants/{}/kbs/{}", kbs.tenant, kbs.ids[i]),
                Some(&format!("Bearer {root}")),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "delete kb{i}: {}", r.body);
        let dir: PathBuf = lrt.kb_dir(&kbs.tenant, &kbs.ids[i]);
        assert!(!dir.exists(), "{}", dir.display());
    }
    let held = Held::of(pid);
    assert!(held.deleted().is_empty(), "deleted files still open: {held:#?}");
    let expected: BTreeSet<String> = [kbs.ids[1].clone()].into();
    assert_eq!(held.kbs(), expected, "{held:#?}");
}
