//! One paging scheme on every list, CLI and HTTP: `--page`/`--page-size` (`page`/`page_size`),
//! the same defaults, limits and errors, pages that follow each other without gaps or
//! repeats, and over HTTP the same `{items, page, page_size, total}` on every list route.

mod common;

use common::server::{start, token};
use common::{Lrt, ROOT};
use reqwest::StatusCode;
use serde_json::Value;

/// A tenant with five of everything a list shows (tenants, KBs, members, keys, documents,
/// entities, audit rows), each list given by its CLI arguments and its HTTP path.
struct Lists {
    lrt: Lrt,
    /// (name, CLI arguments, HTTP path, the item field that identifies a row)
    lists: Vec<(&'static str, Vec<String>, String, &'static str)>,
}

fn setup() -> Lists {
    let lrt = Lrt::new();
    let t = lrt.tenant("acme", Some("alice"));
    for name in ["b1", "b2", "b3", "b4"] {
        lrt.tenant(name, Some("alice"));
    }
    let k = lrt.kb("acme", "docs");
    for name in ["k2", "k3", "k4", "k5"] {
        lrt.kb("acme", name);
    }
    for user in ["m1", "m2", "m3", "m4"] {
        lrt.member("acme", user, "viewer");
    }
    for n in 0..5 {
        let made = lrt.run_as(
            "alice",
            &[
                "key",
                "create",
                "-t",
                "acme",
                "--role",
                "viewer",
                "--name",
                &format!("k{n}"),
            ],
        );
        assert!(made.ok(), "{}", made.stderr);
    }
    let corpus = lrt.root().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for (i, text) in [
        "Marie Curie discovered radium in Paris.",
        "NASA ran the Apollo program from Houston.",
        "Ada Lovelace wrote about the Analytical Engine in London.",
        "Alan Turing worked at Bletchley Park near Milton Keynes.",
        "Grace Hopper built the first compiler for the UNIVAC in Philadelphia.",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(corpus.join(format!("d{i}.txt")), text).unwrap();
    }
    let ingest = lrt.run_as(
        "alice",
        &["ingest", "-t", "acme", "--kb", "docs", corpus.to_str().unwrap()],
    );
    assert!(ingest.ok(), "{}", ingest.stderr);
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let tn = format!("/api/v1/tenants/{t}");
    let lists = vec![
        (
            "tenant list",
            s(&["tenant", "list"]),
            "/api/v1/tenants".to_string(),
            "tenant_id",
        ),
        (
            "kb list",
            s(&["kb", "list", "-t", "acme"]),
            format!("{tn}/kbs"),
            "kb_id",
        ),
        (
            "member list",
            s(&["member", "list", "-t", "acme"]),
            format!("{tn}/members"),
            "user_id",
        ),
        (
            "key list",
            s(&["key", "list", "-t", "acme", "--all"]),
            format!("{tn}/keys?all=true"),
            "key_id",
        ),
        (
            "doc list",
            s(&["doc", "list", "-t", "acme", "--kb", "docs"]),
            format!("{tn}/kbs/{k}/documents"),
            "doc_id",
        ),
        (
            "graph entities",
            s(&["graph", "entities", "-t", "acme", "--kb", "docs"]),
            format!("{tn}/kbs/{k}/graph/entities"),
            "name",
        ),
        (
            "audit list",
            s(&["audit", "list", "-t", "acme"]),
            format!("{tn}/audit"),
            "id",
        ),
    ];
    Lists { lrt, lists }
}

fn with(args: &[String], extra: &[&str]) -> Vec<String> {
    args.iter()
        .cloned()
        .chain(extra.iter().map(|a| a.to_string()))
        .collect()
}

fn ids(items: &Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|i| i[field].to_string())
        .collect()
}

/// `path` with `query` appended (after `?` or `&`).
fn query(path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_pages_alike_on_the_cli_and_over_http() {
    let Lists { lrt, lists } = setup();
    let srv = start(&lrt, &[]);
    let alice = token(&lrt, "alice");
    for (name, args, path, field) in &lists {
        // The whole list in one page; at least five rows to page through.
        let all = ids(&lrt.json_as("alice", &with(args, &["--page-size", "1000"])), field);
        assert!(all.len() >= 5, "{name}: {all:?}");
        // The default page is the first 20.
        let default = ids(&lrt.json_as("alice", args), field);
        assert_eq!(default, all[..all.len().min(20)], "{name}: default page");
        // Pages of two follow each other and end with an empty page.
        let mut paged = Vec::new();
        for page in 1.. {
            let p = page.to_string();
            let rows = ids(
                &lrt.json_as("alice", &with(args, &["--page", &p, "--page-size", "2"])),
                field,
            );
            assert!(rows.len() <= 2, "{name}: page {page}");
            if rows.is_empty() {
                break;
            }
            paged.extend(rows);
        }
        assert_eq!(paged, all, "{name}: the pages of two are the whole list");
        // The table says where it is; TSV and -q are the rows only.
        let table = lrt.run_as("alice", &with(args, &["--page", "2", "--page-size", "2"]));
        let pages = all.len().div_ceil(2);
        assert!(
            table.stdout.contains(&format!("page 2 of {pages} ({} ", all.len())),
            "{name}: {}",
            table.stdout
        );
        let tsv = lrt.run_as("alice", &with(args, &["--page-size", "2", "-o", "tsv", "--no-headers"]));
        assert_eq!(tsv.stdout.lines().count(), 2, "{name}: {}", tsv.stdout);
        // Bad paging is a usage error (exit 2), in JSON one error object.
        for bad in [
            ["--page", "0"],
            ["--page-size", "0"],
            ["--page-size", "1001"],
            ["--page", "x"],
        ] {
            let run = lrt.run_as("alice", &with(args, &[bad[0], bad[1], "--json"]));
            assert_eq!(run.code, 2, "{name} {bad:?}: {}", run.stderr);
            assert_eq!(run.json_error()["error"]["kind"], "usage", "{name} {bad:?}");
        }

        // HTTP: the same rows, in pages with their metadata.
        let mut http = Vec::new();
        for page in 1..=pages as u64 {
            let r = srv.get(&query(path, &format!("page={page}&page_size=2")), &alice).await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
            assert_eq!(r.body["page"], page, "{name}: {}", r.body);
            assert_eq!(r.body["page_size"], 2, "{name}: {}", r.body);
            assert_eq!(r.body["total"], all.len() as u64, "{name}: {}", r.body);
            http.extend(ids(&r.body["items"], field));
        }
        assert_eq!(http, all, "{name}: HTTP pages are the CLI's rows");
        let r = srv.get(path, &alice).await;
        assert_eq!(
            (r.body["page"].clone(), r.body["page_size"].clone()),
            (1.into(), 20.into()),
            "{name}"
        );
        for bad in ["page=0", "page_size=0", "page_size=1001", "page=x"] {
            let r = srv.get(&query(path, bad), &alice).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name} {bad}: {}", r.body);
            assert!(r.body["error"]["code"].is_string(), "{name} {bad}: {}", r.body);
            assert!(r.body["error"]["message"].is_string(), "{name} {bad}: {}", r.body);
        }
        // `limit`, what the entity and audit routes took before, is the page size on every route.
        let r = srv.get(&query(path, "limit=3"), &alice).await;
        assert_eq!(r.body["page_size"], 3, "{name}: {}", r.body);
    }
    // The old CLI flag still works where it existed.
    let two = lrt.json_as(ROOT, &["audit", "list", "--limit", "2"]);
    assert_eq!(two.as_array().unwrap().len(), 2);
}
