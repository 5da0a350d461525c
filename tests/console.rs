//! `lrt graph view` and the web console of `lrt serve`: the page's data and escaping from the
//! CLI, the console's headers and `--no-console`, `GET …/graph/view`'s access, and (with
//! `.ci/steps/30-browser.sh`'s chromium and playwright-core) both driven in a real browser by
//! the scripts of `tests/browser/`: the console end to end as an admin and as a viewer of
//! another tenant, and the `graph view` file offline with no network request at all.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::server::{Server, spawn, token};
use common::{Lrt, ROOT};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CURIE: &str = "# Curie\n\nMarie Curie discovered polonium and radium in Paris with Pierre Curie. \
Marie Curie won the Nobel Prize in Physics in 1903 with Henri Becquerel. She was born in Warsaw.\n";
/// Text that would end a `<script>` element if it were not escaped.
const EVIL: &str = "Evil </script><script>alert(1)</script> Corp sells lamps in Lyon.\n";
const SORBONNE: &str = "Pierre Curie taught physics at the Sorbonne in Paris. Henri Becquerel discovered \
radioactivity in Paris. Irene Joliot-Curie, daughter of Marie Curie, studied at the Sorbonne.\n";
/// Tenant B's content: nothing of it may reach A's users.
const FOREIGN: &str = "Zorblat Industries builds rockets in Quuxville with Hannelore Vexx.\n";

/// Tenant `acme` (admin alice, viewer carol, viewer_readonly rita) whose KB `docs` holds
/// CURIE and EVIL; tenant `globex` (admin bob) whose KB `vault` holds FOREIGN.
fn fixture() -> Lrt {
    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.tenant("globex", Some("bob"));
    lrt.kb("acme", "docs");
    lrt.kb("globex", "vault");
    lrt.member("acme", "carol", "viewer");
    lrt.member("acme", "rita", "viewer_readonly");
    for (tenant, kb, files) in [
        (
            "acme",
            "docs",
            vec![("curie.md", CURIE), ("sorbonne.md", SORBONNE), ("evil.md", EVIL)],
        ),
        ("globex", "vault", vec![("zorblat.md", FOREIGN)]),
    ] {
        let dir = lrt.root().join(format!("corpus-{tenant}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        // From the test's folder, so that documents are named `corpus-acme/curie.md`.
        let corpus = format!("corpus-{tenant}");
        let run = lrt
            .process(ROOT, &["ingest", "-t", tenant, "--kb", kb, &corpus])
            .current_dir(lrt.root())
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    }
    lrt
}

/// `lrt graph view -t acme --kb docs ARGS…` as `user`.
fn view_as(lrt: &Lrt, user: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["graph", "view", "-t", "acme", "--kb", "docs"];
    all.extend_from_slice(args);
    lrt.run_as(user, &all)
}

/// The JSON a `graph view` page embeds.
fn embedded(html: &str) -> Value {
    let open = "id=\"lrt-graph-data\">";
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn names(view: &Value) -> Vec<String> {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn graph_view_writes_one_escaped_offline_page() {
    let lrt = fixture();
    let out = lrt.root().join("graph.html");
    let out_s = out.to_str().unwrap();
    let run = view_as(&lrt, "carol", &["--out", out_s, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["file"], out_s);
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        html.matches("</script>").count(),
        3,
        "entity text cannot end a script element"
    );
    assert!(!html.contains("src=") && !html.contains("href="), "nothing to load");
    let view = embedded(&html);
    let all = names(&view);
    assert_eq!(all[0], "Marie Curie", "highest degree first: {all:?}");
    assert!(
        view.to_string().contains("</script><script>alert(1)"),
        "the text is kept as it is"
    );
    assert_eq!(view["kb_nodes"].as_u64().unwrap() as usize, all.len());
    assert!(!html.contains("Zorblat"));

    // Another file is not replaced without --force (exit 6), and is with it.
    let again = view_as(&lrt, "carol", &["--out", out_s]);
    assert_eq!(again.code, 6, "{}", again.stderr);
    let forced = view_as(
        &lrt,
        "carol",
        &["--entity", "warsaw", "--depth", "1", "--out", out_s, "--force"],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let view = embedded(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(view["focus"], "Warsaw");
    assert_eq!(names(&view), ["Warsaw", "Marie Curie"], "the neighbourhood to depth 1");
    let view = {
        let run = view_as(
            &lrt,
            "carol",
            &[
                "--entity",
                "Warsaw",
                "--depth",
                "2",
                "--max-nodes",
                "1",
                "--out",
                out_s,
                "--force",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        embedded(&std::fs::read_to_string(&out).unwrap())
    };
    assert!(
        names(&view).len() > 2 && view["show"] == 1,
        "depth 2 reaches further; one shown first"
    );

    // --open without --out: a temporary file, handed to the desktop's opener.
    let bin = lrt.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let opened = lrt.root().join("opened.txt");
    let opener = bin.join("xdg-open");
    std::fs::write(&opener, format!("#!/bin/sh\necho \"$1\" > '{}'\n", opened.display())).unwrap();
    std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = lrt.run(
        Some("carol"),
        &[("PATH", path.as_str())],
        &["graph", "view", "-t", "acme", "--kb", "docs", "--open", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = run.json()["file"].as_str().unwrap().to_string();
    assert_eq!(run.json()["opened"], true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !opened.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(std::fs::read_to_string(&opened).unwrap().trim(), file);
    assert!(std::fs::read_to_string(&file).unwrap().contains("lrt-graph-data"));
    std::fs::remove_file(&file).unwrap();

    // Bad input: usage errors (2); an unknown entity and other tenants 3; no document:read 5.
    let x = lrt.root().join("x.html");
    let x = x.to_str().unwrap();
    for (args, code) in [
        (vec!["--depth", "0", "--entity", "Paris", "--out", x], 2),
        (vec!["--max-nodes", "0", "--out", x], 2),
        (vec!["--depth", "2", "--out", x], 2),
        (vec![], 2),
        (vec!["--entity", "Nobody", "--out", x], 3),
    ] {
        let run = view_as(&lrt, "carol", &args);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
    }
    let y = lrt.root().join("y.html");
    let denied = view_as(&lrt, "rita", &["--out", y.to_str().unwrap()]);
    assert_eq!(denied.code, 5, "{}", denied.stderr);
    assert!(denied.stderr.contains("document:read"), "{}", denied.stderr);
    let stranger = view_as(&lrt, "bob", &["--out", y.to_str().unwrap()]);
    assert_eq!(stranger.code, 3, "{}", stranger.stderr);
    assert!(
        !x.is_empty() && !Path::new(x).exists() && !y.exists(),
        "nothing written on errors"
    );
}

struct Served {
    lrt: Lrt,
    srv: Server,
    acme: String,
    docs: String,
    globex: String,
    vault: String,
}

fn served(extra: &[&str]) -> Served {
    let lrt = fixture();
    let id = |args: &[&str]| lrt.id_as(ROOT, args);
    let (acme, globex) = (id(&["tenant", "show", "acme"]), id(&["tenant", "show", "globex"]));
    let (docs, vault) = (
        id(&["kb", "show", "-t", "acme", "docs"]),
        id(&["kb", "show", "-t", "globex", "vault"]),
    );
    let srv = spawn(&lrt, &[("LIGHTRAG_MULTI_TENANT_STRICT", "true")], extra).unwrap();
    Served {
        lrt,
        srv,
        acme,
        docs,
        globex,
        vault,
    }
}

async fn get(srv: &Server, path: &str) -> reqwest::Response {
    srv.http.get(format!("{}{path}", srv.base)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_carry_a_strict_policy_and_can_be_turned_off() {
    let s = served(&[]);
    for (path, kind) in [
        ("/", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/graph.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/graph.css", "text/css"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let r = get(&s.srv, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        assert_eq!(h["content-security-policy"], lrt::server::CONSOLE_CSP);
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
    }
    let page = get(&s.srv, "/").await.text().await.unwrap();
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "no inline script or style"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside source"
    );
    for path in ["/console/nope.js", "/console/..%2fCargo.toml", "/console/"] {
        assert_eq!(get(&s.srv, path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let openapi: Value = get(&s.srv, "/api/v1/openapi.json").await.json().await.unwrap();
    assert!(
        openapi["paths"].get("/").is_none(),
        "the console is not an API operation"
    );
    assert!(
        openapi["paths"]["/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/view"]["get"]["x-lrt-access"]
            == "document:read"
    );

    let off = served(&["--no-console"]);
    for path in ["/", "/console/console.js"] {
        assert_eq!(get(&off.srv, path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(get(&off.srv, "/health").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_view_route_needs_document_read_in_the_tenant() {
    let s = served(&[]);
    let path = |t: &str, k: &str, q: &str| format!("/api/v1/tenants/{t}/kbs/{k}/graph/view{q}");
    let call = |user: &'static str, t: String, k: String, q: &'static str| {
        let (srv, lrt) = (&s.srv, &s.lrt);
        async move {
            let tok = token(lrt, user);
            srv.send(
                Method::GET,
                &path(&t, &k, q),
                Some(&format!("Bearer {tok}")),
                &[("X-Tenant-ID", &t), ("X-KB-ID", &k)],
                None,
            )
            .await
        }
    };
    let r = call(
        "carol",
        s.acme.clone(),
        s.docs.clone(),
        "?entity=paris&depth=1&max_nodes=2",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["focus"], "Paris");
    assert_eq!(r.body["show"], 2);
    assert!(r.body["nodes"].as_array().unwrap().len() > 2);
    let r = call("rita", s.acme.clone(), s.docs.clone(), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call("carol", s.globex.clone(), s.vault.clone(), "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(!r.body.to_string().contains("Zorblat"));
    let r = call("carol", s.acme.clone(), s.docs.clone(), "?depth=9&entity=Paris").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = call("carol", s.acme.clone(), s.docs.clone(), "?entity=Nobody").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

/// Runs a script of `tests/browser/` with node; panics with its output when it fails.
fn node(script: &str, args: &[&str], chromium: &str, playwright: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let out = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .env("LRT_TEST_CHROMIUM", chromium)
        .env("LRT_TEST_PLAYWRIGHT", playwright)
        .output()
        .expect("run node");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    stdout
}

fn browser(test: &str) -> Option<(String, String)> {
    let chromium = common::external::component("LRT_TEST_CHROMIUM", test)?;
    let playwright = common::external::component("LRT_TEST_PLAYWRIGHT", test)?;
    Some((chromium, playwright))
}

/// Where the scripts save screenshots for the README (`LRT_SCREENSHOTS=docs/img`), if asked.
fn screenshots() -> Option<String> {
    std::env::var("LRT_SCREENSHOTS").ok().filter(|s| !s.is_empty())
}

#[test]
fn graph_view_file_in_chromium_offline() {
    let Some((chromium, playwright)) = browser("graph_view_file_in_chromium_offline") else {
        return;
    };
    let lrt = fixture();
    let out = lrt.root().join("graph.html");
    let run = view_as(&lrt, "carol", &["--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shot = screenshots().map(|d| format!("{d}/graph-view.png"));
    let mut args = vec![out.to_str().unwrap(), "Marie Curie", "polonium"];
    args.extend(shot.as_deref());
    let report = node("graph_view.js", &args, &chromium, &playwright);
    assert!(report.contains("\"ok\":true"), "{report}");

    // Two nodes drawn first: clicking the hub draws its neighbours.
    let run = view_as(
        &lrt,
        "carol",
        &["--max-nodes", "2", "--out", out.to_str().unwrap(), "--force"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = node(
        "graph_view.js",
        &[out.to_str().unwrap(), "Marie Curie", "polonium"],
        &chromium,
        &playwright,
    );
    assert!(report.contains("\"before\":2,"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_chromium() {
    let Some((chromium, playwright)) = browser("console_in_chromium") else {
        return;
    };
    let s = served(&[]);
    let key = s.lrt.run_as(
        "alice",
        &[
            "key", "create", "-t", "acme", "--kb", "docs", "--role", "viewer", "--json",
        ],
    );
    assert_eq!(key.code, 0, "{}", key.stderr);
    let kb_key = key.json()["key"].as_str().unwrap().to_string();
    let upload = s.lrt.root().join("joliot.md");
    std::fs::write(&upload, "Irene Joliot-Curie studied radium in Paris.\n").unwrap();
    let config = json!({
        "base": s.srv.base,
        "admin_token": token(&s.lrt, "alice"),
        "viewer_token": token(&s.lrt, "carol"),
        "kb_key": kb_key,
        "tenant_a": "acme",
        "kb_a": "docs",
        "tenant_a_id": s.acme,
        "kb_a_id": s.docs,
        "tenant_b_id": s.globex,
        "kb_b_id": s.vault,
        "foreign": ["globex", "vault", "Zorblat", "Quuxville"],
        "upload": upload,
        "entity": "Marie Curie",
        "entity_text": "polonium",
        "reference": "curie.md",
        "screenshots": screenshots(),
    });
    let config = config.to_string();
    let report = tokio::task::spawn_blocking(move || node("console.js", &[&config], &chromium, &playwright))
        .await
        .unwrap();
    assert!(report.contains("\"ok\":true"), "{report}");
}
