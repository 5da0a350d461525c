//! The structured access log: one `tracing` event per request (target `lrt::access`) with the
//! method, the matched route (never the raw path), the tenant and KB ids from the path (UUIDs
//! only, so no client text reaches the log), who made it (user, and API key id), the status,
//! the latency and, for 5xx answers, the error id the client got. Headers, bodies and
//! credentials are never logged.
//!
//! Logging goes to stderr; the filter is `LRT_LOG`, else `RUST_LOG`, else `info`
//! (`LRT_LOG=warn` keeps only errors and 5xx lines, `LRT_LOG=lrt::access=off` drops the
//! access log).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

use super::error::ErrorId;
use crate::authz::Actor;
use crate::config::{Env, ProcessEnv};
use crate::error::{Error, Result};

/// Installs the stderr subscriber for `lrt serve`. An invalid filter is a usage error rather
/// than a silently quiet server.
pub fn init_logging() -> Result<()> {
    let (name, directives) = match (ProcessEnv.get("LRT_LOG"), ProcessEnv.get("RUST_LOG")) {
        (Some(v), _) if !v.trim().is_empty() => ("LRT_LOG", v),
        (_, Some(v)) if !v.trim().is_empty() => ("RUST_LOG", v),
        _ => ("the default", "info".to_string()),
    };
    let filter =
        EnvFilter::try_new(&directives).map_err(|e| Error::Usage(format!("invalid {name} {directives:?}: {e}")))?;
    // Already installed (the server embedded in a process that logs): keep that one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    Ok(())
}

/// The user and API key id of an authenticated request.
type Who = (String, Option<Uuid>);

/// Who made the request, filled in by the `Authed` extractor once authentication succeeded.
#[derive(Debug, Clone, Default)]
pub(super) struct Caller(Arc<Mutex<Option<Who>>>);

impl Caller {
    pub(super) fn record(&self, actor: &Actor) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some((actor.user.clone(), actor.key.map(|k| k.id)));
    }

    fn get(&self) -> (Option<String>, Option<Uuid>) {
        let slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some((user, key)) => (Some(user.clone()), *key),
            None => (None, None),
        }
    }
}

/// The tenant and KB a request was admitted to, for routes that name their KB elsewhere than
/// in the path (the Ollama and OpenAI APIs name it in the body): a response extension the
/// log reads when the path has no ids.
#[derive(Debug, Clone, Copy)]
pub(super) struct KbIds(pub Uuid, pub Uuid);

/// A path parameter that is a UUID (anything else is not logged).
fn id_param(params: Option<&RawPathParams>, name: &str) -> Option<Uuid> {
    params?
        .iter()
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| Uuid::parse_str(v).ok())
}

/// The middleware: times the request and logs one event when the response is ready.
pub(super) async fn log(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let (mut parts, body) = request.into_parts();
    let method = parts.method.clone();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(no route)".to_string());
    let params = RawPathParams::from_request_parts(&mut parts, &()).await.ok();
    let tenant = id_param(params.as_ref(), "tenant_id");
    let kb = id_param(params.as_ref(), "kb_id");
    let caller = Caller::default();
    parts.extensions.insert(caller.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status().as_u16();
    let elapsed = start.elapsed().as_secs_f64();
    // The route template, never the path: no tenant or KB id reaches a label.
    crate::metrics::http_request(method.as_str(), &route, status, elapsed);
    let latency_ms = elapsed * 1000.0;
    let error_id = response.extensions().get::<ErrorId>().map(|e| e.0);
    let (user, key) = caller.get();
    let (user, key) = (user.unwrap_or_else(|| "-".into()), key.map(|k| k.to_string()));
    let (tenant, kb) = match response.extensions().get::<KbIds>() {
        Some(ids) if tenant.is_none() => (Some(ids.0), Some(ids.1)),
        _ => (tenant, kb),
    };
    let (tenant, kb) = (tenant.map(|t| t.to_string()), kb.map(|k| k.to_string()));
    macro_rules! event {
        ($level:ident) => {
            tracing::$level!(
                target: "lrt::access",
                %method,
                route = %route,
                status,
                latency_ms = format_args!("{latency_ms:.1}"),
                user = %user,
                api_key = %key.as_deref().unwrap_or("-"),
                tenant = %tenant.as_deref().unwrap_or("-"),
                kb = %kb.as_deref().unwrap_or("-"),
                error_id = %error_id.map(|e| e.to_string()).as_deref().unwrap_or("-"),
                "request"
            )
        };
    }
    if status >= 500 {
        event!(error);
    } else {
        event!(info);
    }
    response
}
