//! Prometheus metrics of this process, exposed by `lrt serve --metrics-bind ADDR`.
//!
//! Built on `prometheus-client`, Prometheus' own Rust client: typed families, atomic updates
//! from any thread, and its text encoder (OpenMetrics text, which Prometheus and its client
//! parsers read), so nothing here formats exposition text by hand. The registry is global
//! because the code that counts (model clients, the engine cache, the ingest worker) runs
//! below the server and knows nothing of it; recording is a few atomic operations whether or
//! not anything is exposed.
//!
//! *Invariant:* no label carries a tenant, KB, user or key name or id: routes are templates
//! (`/api/v1/tenants/{tenant_id}/…`), so an unauthenticated scraper learns nothing about who
//! uses the server.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::llm::usage::TokenCounts;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric of the process.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    queries: Family<ModeLabels, Counter>,
    model_calls: Family<CallLabels, Counter>,
    model_errors: Family<CallLabels, Counter>,
    model_tokens: Family<CallLabels, Counter>,
    ingest_queue: Gauge<i64, std::sync::atomic::AtomicI64>,
    documents: Family<OutcomeLabels, Counter>,
    cache_hits: Counter<u64, AtomicU64>,
    cache_misses: Counter<u64, AtomicU64>,
    cache_evictions: Counter<u64, AtomicU64>,
    connections: Gauge<i64, std::sync::atomic::AtomicI64>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("lrt");
    let m = Metrics {
        requests: Family::default(),
        latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        queries: Family::default(),
        model_calls: Family::default(),
        model_errors: Family::default(),
        model_tokens: Family::default(),
        ingest_queue: Gauge::default(),
        documents: Family::default(),
        cache_hits: Counter::default(),
        cache_misses: Counter::default(),
        cache_evictions: Counter::default(),
        connections: Gauge::default(),
        registry: Registry::default(),
    };
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route template and status",
        m.requests.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by method and route template",
        m.latency.clone(),
    );
    registry.register("queries", "Questions answered, by query mode", m.queries.clone());
    registry.register(
        "model_calls",
        "Completed model calls, by provider and kind (chat, embed)",
        m.model_calls.clone(),
    );
    registry.register(
        "model_errors",
        "Model calls that failed for good (after retries), by provider and kind",
        m.model_errors.clone(),
    );
    registry.register(
        "model_tokens",
        "Tokens spent on model calls, by provider and kind (prompt, completion, embedding)",
        m.model_tokens.clone(),
    );
    registry.register(
        "ingest_queue_depth",
        "Knowledge bases with queued ingest work not yet started",
        m.ingest_queue.clone(),
    );
    registry.register(
        "ingest_documents",
        "Documents the ingest worker finished, by outcome (processed, duplicate, failed)",
        m.documents.clone(),
    );
    registry.register(
        "engine_cache_hits",
        "Questions served by an already open engine",
        m.cache_hits.clone(),
    );
    registry.register(
        "engine_cache_misses",
        "Questions that had to open their knowledge base's engine",
        m.cache_misses.clone(),
    );
    registry.register(
        "engine_cache_evictions",
        "Open engines evicted from the LRU to make room",
        m.cache_evictions.clone(),
    );
    registry.register("open_connections", "HTTP connections open", m.connections.clone());
    Metrics { registry, ..m }
});

/// The metrics in the text exposition format (`# EOF`-terminated OpenMetrics text).
pub fn encode() -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).expect("writing to a String cannot fail");
    out
}

/// One answered request; `route` is the route's template, never the request path.
pub fn http_request(method: &str, route: &str, status: u16, seconds: f64) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            method: method.to_string(),
            route: route.to_string(),
            status,
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels {
            method: method.to_string(),
            route: route.to_string(),
        })
        .observe(seconds);
}

pub fn query(mode: &str) {
    METRICS
        .queries
        .get_or_create(&ModeLabels { mode: mode.to_string() })
        .inc();
}

fn call(provider: &str, kind: &str) -> CallLabels {
    CallLabels {
        provider: provider.to_string(),
        kind: kind.to_string(),
    }
}

pub fn model_call(provider: &str, kind: &str) {
    METRICS.model_calls.get_or_create(&call(provider, kind)).inc();
}

pub fn model_error(provider: &str, kind: &str) {
    METRICS.model_errors.get_or_create(&call(provider, kind)).inc();
}

pub fn model_tokens(provider: &str, counts: TokenCounts) {
    let kinds = [
        ("prompt", counts.prompt_tokens),
        ("completion", counts.completion_tokens),
        ("embedding", counts.embedding_tokens),
    ];
    for (kind, n) in kinds {
        if n > 0 {
            METRICS.model_tokens.get_or_create(&call(provider, kind)).inc_by(n);
        }
    }
}

/// The number of KBs waiting for an ingest slot.
pub fn set_ingest_queue_depth(depth: usize) {
    METRICS.ingest_queue.set(depth as i64);
}

pub fn ingest_documents(outcome: &str, n: u64) {
    if n > 0 {
        METRICS
            .documents
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc_by(n);
    }
}

pub fn engine_cache_hit() {
    METRICS.cache_hits.inc();
}

pub fn engine_cache_miss() {
    METRICS.cache_misses.inc();
}

pub fn engine_cache_eviction() {
    METRICS.cache_evictions.inc();
}

pub fn connection_opened() {
    METRICS.connections.inc();
}

pub fn connection_closed() {
    METRICS.connections.dec();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_encoded_with_their_labels() {
        http_request("GET", "/api/v1/tenants/{tenant_id}", 200, 0.004);
        query("mix");
        model_tokens(
            "openai",
            TokenCounts {
                prompt_tokens: 5,
                ..Default::default()
            },
        );
        let text = encode();
        assert!(text.contains("# TYPE lrt_http_requests counter"), "{text}");
        assert!(
            text.contains(r#"lrt_http_requests_total{method="GET",route="/api/v1/tenants/{tenant_id}",status="200"}"#),
            "{text}"
        );
        assert!(text.contains(r#"lrt_queries_total{mode="mix"}"#), "{text}");
        assert!(
            text.contains(r#"lrt_model_tokens_total{provider="openai",kind="prompt"}"#),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }
}
