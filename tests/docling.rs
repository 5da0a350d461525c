//! `LRT_PARSER=docling`: PDFs and images go to a Docling-serve compatible endpoint (a mock on
//! 127.0.0.1 here) as a multipart `POST /v1/convert/file`, and its Markdown is what lrt
//! ingests, pages and all. Every failure of the endpoint fails the file with its reason.

mod common;

use common::{Lrt, ROOT};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BREAK: &str = "<!-- lrt:page-break -->";

fn fixture(lrt: &Lrt, name: &str) -> String {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/report.pdf");
    std::fs::copy(src, lrt.root().join("home").join(name)).unwrap();
    name.to_string()
}

fn converted(md: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "document": {"filename": "x", "md_content": md, "json_content": null},
        "status": "success",
        "errors": [],
        "processing_time": 0.1,
    }))
}

async fn docling(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/convert/file"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn env(server: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LRT_PARSER", "docling".into()),
        ("DOCLING_ENDPOINT", server.into()),
        ("LRT_DOCLING_MAX_RETRIES", "1".into()),
    ]
}

fn run(lrt: &Lrt, env: &[(&str, String)], args: &[&str]) -> common::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lrt.run(Some(ROOT), &env, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdfs_and_images_go_to_docling_as_multipart_and_come_back_as_markdown_with_pages() {
    let server = docling(converted(&format!(
        "# Report\n\nCosts fell.\n{BREAK}\n## Page two\n\nRadium."
    )))
    .await;
    let lrt = Lrt::with_init(&[]);
    let pdf = fixture(&lrt, "report.pdf");
    let mut env = env(&server.uri());
    env.push(("DOCLING_API_KEY", "sk-docling-secret".into()));

    let out = run(&lrt, &env, &["debug", "extract", &pdf, "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["parser"], "docling");
    assert_eq!(doc["format"], "pdf");
    assert_eq!(doc["text"], "# Report\n\nCosts fell.\n\n## Page two\n\nRadium.");
    let pages: Vec<u64> = doc["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(pages, [1, 2]);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.headers["x-api-key"], "sk-docling-secret");
    let content_type = req.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&req.body);
    for part in [
        "name=\"files\"; filename=\"report.pdf\"",
        "Content-Type: application/pdf",
        "name=\"to_formats\"\r\n\r\nmd\r\n",
        "name=\"image_export_mode\"\r\n\r\nplaceholder\r\n",
        &format!("name=\"md_page_break_placeholder\"\r\n\r\n{BREAK}\r\n"),
    ] {
        assert!(
            body.contains(part),
            "{part:?} missing from the request:\n{}",
            &body[..body.len().min(800)]
        );
    }
    let pdf_bytes = std::fs::read(lrt.root().join("home/report.pdf")).unwrap();
    assert!(
        req.body.windows(pdf_bytes.len()).any(|w| w == pdf_bytes),
        "the file is sent whole"
    );

    // The text output says which parser read it; an image goes to Docling too (the built-in
    // extractors refuse it), a text file stays with them.
    std::fs::write(lrt.root().join("home/scan.png"), b"\x89PNG\r\n\x1a\nrest").unwrap();
    let out = run(&lrt, &env, &["debug", "extract", "scan.png"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("scan.png: image read by the docling parser"),
        "{}",
        out.stderr
    );
    std::fs::write(lrt.root().join("home/notes.txt"), "plain words").unwrap();
    let out = run(&lrt, &env, &["debug", "extract", "notes.txt", "--json"]);
    assert_eq!(
        (out.json()["parser"].clone(), out.json()["text"].clone()),
        (json!("builtin"), json!("plain words"))
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "the text file made no request");
    assert!(String::from_utf8_lossy(&requests[1].body).contains("filename=\"scan.png\"\r\nContent-Type: image/png"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_ingested_through_docling_cite_their_pages() {
    let server = docling(converted(&format!(
        "Introduction to the harbor.\n{BREAK}\nThe lighthouse budget fell by four percent in the second year."
    )))
    .await;
    let lrt = Lrt::new();
    lrt.tenant("acme", None);
    lrt.kb("acme", "docs");
    let pdf = fixture(&lrt, "harbor.pdf");
    let env = env(&server.uri());
    let out = run(&lrt, &env, &["ingest", "-t", "acme", "--kb", "docs", &pdf]);
    assert_eq!(out.code, 0, "{} {}", out.stdout, out.stderr);
    let q = [
        "query",
        "-t",
        "acme",
        "--kb",
        "docs",
        "--mode",
        "naive",
        "--json",
        "How much did the lighthouse budget fall?",
    ];
    let out = run(&lrt, &env, &q);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let answer: Value = out.json();
    let reference = answer["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file_path"] == "harbor.pdf")
        .unwrap_or_else(|| panic!("no reference to harbor.pdf: {answer}"));
    assert_eq!(reference["pages"], json!([[1, 2]]), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_fails_the_file_with_its_reason() {
    let lrt = Lrt::new();
    lrt.tenant("acme", None);
    lrt.kb("acme", "docs");
    let pdf = fixture(&lrt, "report.pdf");
    let extract = |env: &[(&str, String)]| run(&lrt, env, &["debug", "extract", &pdf]);

    // Down: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = extract(&env(&format!("http://127.0.0.1:{port}")));
    assert_eq!(out.code, 8, "{}", out.stderr);
    assert!(
        out.stderr.contains("external parser failed") && out.stderr.contains("cannot connect"),
        "{}",
        out.stderr
    );

    // 5xx: retried (LRT_DOCLING_MAX_RETRIES=1), then the file fails.
    let server = docling(ResponseTemplate::new(503).set_body_string("overloaded")).await;
    let out = extract(&env(&server.uri()));
    assert_eq!(out.code, 8, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 503: overloaded"), "{}", out.stderr);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    // 401 without a key names the setting.
    let server = docling(ResponseTemplate::new(401).set_body_string("{\"detail\":\"bad key\"}")).await;
    let out = extract(&env(&server.uri()));
    assert_eq!(out.code, 8, "{}", out.stderr);
    assert!(out.stderr.contains("DOCLING_API_KEY"), "{}", out.stderr);

    // Not JSON, a failed conversion, no Markdown.
    for (answer, why) in [
        (ResponseTemplate::new(200).set_body_string("<html>proxy</html>"), "not a Docling convert answer"),
        (
            ResponseTemplate::new(200).set_body_json(json!({"document": {"md_content": null}, "status": "failure", "errors": [{"error_message": "PDF is damaged"}]})),
            "status \"failure\": PDF is damaged",
        ),
        (converted(" \n"), "md_content is empty"),
    ] {
        let server = docling(answer).await;
        let out = extract(&env(&server.uri()));
        assert_eq!(out.code, 8, "{}", out.stderr);
        assert!(out.stderr.contains(why), "{why:?}: {}", out.stderr);
    }

    // In an ingest run the file is skipped with the reason and the rest goes on.
    std::fs::write(lrt.root().join("home/notes.txt"), "The harbor council met on Monday.").unwrap();
    let server = docling(ResponseTemplate::new(500)).await;
    let out = run(
        &lrt,
        &env(&server.uri()),
        &["ingest", "-t", "acme", "--kb", "docs", &pdf, "notes.txt", "--json"],
    );
    let report = out.json();
    assert_eq!(report["skipped"][0]["file_path"], "report.pdf", "{report}");
    assert!(
        report["skipped"][0]["reason"].as_str().unwrap().contains("HTTP 500"),
        "{report}"
    );
    assert_eq!(report["documents"].as_array().unwrap().len(), 1, "{report}");

    // Misconfiguration is a usage error.
    let out = run(&lrt, &[("LRT_PARSER", "docling".into())], &["debug", "extract", &pdf]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("DOCLING_ENDPOINT"), "{}", out.stderr);
    let out = run(&lrt, &[("LRT_PARSER", "mineru".into())], &["debug", "extract", &pdf]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("expected builtin or docling"), "{}", out.stderr);
}
