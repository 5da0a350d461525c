//! `lrt serve --metrics-bind ADDR`: Prometheus metrics on a listener of their own, parsed by
//! `prometheus_client` (Prometheus' official Python client, from PyPI) as a scraper would:
//! the expected families are there, their values move with the requests, and no tenant, KB
//! or user name or id appears. Without the flag there is no `/metrics` on the API.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Lrt;
use common::server::{Server, spawn, token};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TENANT: &str = "secretcorp-q7x";
const KB: &str = "hidden-kb-z3";

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

async fn scrape(srv: &Server, addr: &str) -> (String, String) {
    let res = srv.http.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    (content_type, res.text().await.unwrap())
}

/// The value of the sample `name` with `labels` (a subset) in the exposition text, summed
/// over the samples that match.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap();
            let base = series.split('{').next().unwrap();
            base == name && labels.iter().all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum()
}

/// The families `prometheus_client` parses from the URL: name → (type, samples).
fn parsed(python: &str, url: &str) -> BTreeMap<String, (String, Vec<Value>)> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/metrics_parse.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["content_type"]
            .as_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{doc}"
    );
    doc["families"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (
                    v["type"].as_str().unwrap().to_string(),
                    v["samples"].as_array().unwrap().clone(),
                ),
            )
        })
        .collect()
}

fn total(families: &BTreeMap<String, (String, Vec<Value>)>, family: &str, sample: &str) -> f64 {
    families
        .get(family)
        .map(|(_, samples)| {
            samples
                .iter()
                .filter(|s| s[0] == sample)
                .map(|s| s[2].as_f64().unwrap())
                .sum()
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_requests_and_name_no_tenant() {
    let lrt = Lrt::new();
    let t = lrt.tenant(TENANT, Some("alice"));
    let k = lrt.kb(TENANT, KB);
    let model = common::model::server(0, 0).await;
    let env = common::model::env(&model);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let maddr = free_addr();
    let srv = spawn(&lrt, &env, &["--metrics-bind", &maddr]).unwrap();
    let python = common::external::component("LRT_TEST_PYTHON", "metrics_move_with_requests_and_name_no_tenant");
    let url = format!("http://{maddr}/metrics");
    let before_parsed = python.as_deref().map(|py| parsed(py, &url));
    let (content_type, before) = scrape(&srv, &maddr).await;
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );

    // Traffic: an upload the worker ingests through the mock model, a question, a 404.
    let alice = token(&lrt, "alice");
    let docs = format!("/api/v1/tenants/{t}/kbs/{k}");
    let up = srv
        .post(
            &format!("{docs}/documents/text"),
            &alice,
            json!({"text": "Ada Lovelace met Charles Babbage in London to discuss the engine."}),
        )
        .await;
    assert_eq!(up.status, StatusCode::ACCEPTED, "{}", up.body);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = srv.get(&format!("{docs}/documents?status=processed"), &alice).await;
        if r.body["total"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "not processed: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..2 {
        let q = srv
            .post(
                &format!("{docs}/query"),
                &alice,
                json!({"question": "Who met Ada Lovelace?", "mode": "naive"}),
            )
            .await;
        assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    }
    let missing = srv.get(&format!("/api/v1/tenants/{t}/nothing-here"), &alice).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // The API itself has no /metrics: the exposition is on its own listener only.
    let api_metrics = srv.http.get(format!("{}/metrics", srv.base)).send().await.unwrap();
    assert_eq!(api_metrics.status(), StatusCode::NOT_FOUND);

    let (_, after) = scrape(&srv, &maddr).await;
    for family in [
        "lrt_http_requests",
        "lrt_http_request_duration_seconds",
        "lrt_queries",
        "lrt_model_calls",
        // (lrt_model_errors has no sample until a call fails, and a family without samples
        // is not written.)
        "lrt_model_tokens",
        "lrt_ingest_queue_depth",
        "lrt_ingest_documents",
        "lrt_engine_cache_hits",
        "lrt_engine_cache_misses",
        "lrt_engine_cache_evictions",
        "lrt_open_connections",
    ] {
        assert!(
            after.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{after}"
        );
    }
    let route = "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/query";
    assert_eq!(
        value(
            &after,
            "lrt_http_requests_total",
            &[("route", route), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        value(&after, "lrt_http_request_duration_seconds_count", &[("route", route)]),
        2.0
    );
    assert_eq!(value(&after, "lrt_queries_total", &[("mode", "naive")]), 2.0);
    // The second question was served by the engine the first one opened.
    assert!(value(&after, "lrt_engine_cache_hits_total", &[]) >= 1.0, "{after}");
    assert!(value(&after, "lrt_engine_cache_misses_total", &[]) >= 1.0, "{after}");
    assert_eq!(
        value(&after, "lrt_ingest_documents_total", &[("outcome", "processed")]),
        1.0
    );
    for kind in ["chat", "embed"] {
        assert!(
            value(
                &after,
                "lrt_model_calls_total",
                &[("provider", "openai"), ("kind", kind)]
            ) > 0.0,
            "{kind}: {after}"
        );
    }
    for kind in ["prompt", "completion", "embedding"] {
        assert!(
            value(
                &after,
                "lrt_model_tokens_total",
                &[("provider", "openai"), ("kind", kind)]
            ) > 0.0,
            "{kind}: {after}"
        );
    }
    assert!(value(&after, "lrt_open_connections", &[]) >= 1.0, "{after}");
    assert!(value(&after, "lrt_http_requests_total", &[]) > value(&before, "lrt_http_requests_total", &[]));
    assert!(
        value(
            &after,
            "lrt_http_requests_total",
            &[("route", "(no route)"), ("status", "404")]
        ) >= 1.0,
        "{after}"
    );

    // Nothing names who uses the server.
    for secret in [TENANT, KB, t.as_str(), k.as_str(), "alice"] {
        assert!(!after.contains(secret), "{secret} in the metrics:\n{after}");
    }

    // What Prometheus' own client makes of it.
    let (Some(py), Some(before_parsed)) = (python, before_parsed) else {
        return;
    };
    let after_parsed = parsed(&py, &url);
    let types: BTreeMap<&str, &str> = after_parsed
        .iter()
        .map(|(k, (t, _))| (k.as_str(), t.as_str()))
        .collect();
    for (family, kind) in [
        ("lrt_http_requests", "counter"),
        ("lrt_http_request_duration_seconds", "histogram"),
        ("lrt_queries", "counter"),
        ("lrt_model_calls", "counter"),
        ("lrt_model_tokens", "counter"),
        ("lrt_ingest_queue_depth", "gauge"),
        ("lrt_ingest_documents", "counter"),
        ("lrt_engine_cache_hits", "counter"),
        ("lrt_engine_cache_evictions", "counter"),
        ("lrt_open_connections", "gauge"),
    ] {
        assert_eq!(types.get(family).copied(), Some(kind), "{family}: {types:?}");
    }
    let moved = |family: &str, sample: &str| {
        let (b, a) = (
            total(&before_parsed, family, sample),
            total(&after_parsed, family, sample),
        );
        assert!(a > b, "{sample}: {b} -> {a}");
    };
    moved("lrt_http_requests", "lrt_http_requests_total");
    moved(
        "lrt_http_request_duration_seconds",
        "lrt_http_request_duration_seconds_count",
    );
    moved("lrt_queries", "lrt_queries_total");
    moved("lrt_model_calls", "lrt_model_calls_total");
    moved("lrt_model_tokens", "lrt_model_tokens_total");
    moved("lrt_ingest_documents", "lrt_ingest_documents_total");
    moved("lrt_engine_cache_hits", "lrt_engine_cache_hits_total");
    let text = serde_json::to_string(&after_parsed.values().collect::<Vec<_>>()).unwrap();
    for secret in [TENANT, KB, t.as_str(), k.as_str(), "alice"] {
        assert!(!text.contains(secret), "{secret} in the parsed metrics");
    }
}
