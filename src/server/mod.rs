//! `lrt serve`: the guide's REST API over the same service layer as the CLI. Every handler
//! authenticates (bearer JWT, an `X-API-Key`, or the local identity when user auth is off),
//! checks the tenant headers, then calls one `Service` method, whose authorization and JSON
//! models are the CLI's. Nothing here decides access. Every request is logged (`access`).

mod access;
mod admin;
mod api;
pub mod auth;
mod chat;
pub mod conn;
mod console;
mod documents;
mod error;
mod graph_edit;
mod health;
mod limits;
pub mod mcp;
mod metrics;
mod ollama;
mod openai;
mod routes;
mod throttle;
mod worker;

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;

pub use crate::service::{DEFAULT_MAX_CACHED_INSTANCES, TenantRagManager};
pub use access::init_logging;
pub use api::{Access, openapi};
pub use auth::TokenKeys;
pub use console::CONSOLE_CSP;
pub use error::ApiError;
pub use worker::{DEFAULT_INGEST_WORKERS, IngestWorker};

use crate::authz::Actor;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::service::Service;

/// How often a replica on PostgreSQL looks for queued documents no process is working on
/// (uploads another replica accepted, documents a killed replica left behind).
const QUEUE_SCAN: Duration = Duration::from_secs(1);

/// How `lrt serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// Open KB engines kept in the LRU.
    pub max_cached_instances: NonZeroUsize,
    /// The largest request body accepted (413 beyond), file uploads aside.
    pub body_limit: usize,
    /// Largest file upload (`…/documents/file`) in bytes.
    pub upload_limit: usize,
    /// KBs the ingest worker processes at once.
    pub ingest_workers: NonZeroUsize,
    /// The longest a request may take before it is answered 504 (its blocking work, if any,
    /// still runs to its end, holding its quota permit).
    pub request_timeout: Duration,
    /// How long in-flight requests may run on after SIGINT/SIGTERM before the server stops
    /// anyway.
    pub shutdown_grace: Duration,
    /// Header-read timeout, idle timeout and connection cap.
    pub connections: conn::ConnLimits,
    /// Serve the web console at `/` (`--no-console` turns it off).
    pub console: bool,
    /// Where to serve Prometheus metrics (`/metrics`); `None`: not at all.
    pub metrics_bind: Option<SocketAddr>,
}

/// What every handler shares.
pub struct AppState {
    /// The catalog connection is not shareable between threads; catalog work is short and
    /// runs on the blocking pool under this lock.
    service: Mutex<Service>,
    /// The settings the service was opened with: work that needs a service of its own (the
    /// ingest worker, deletes) opens one with them.
    settings: Settings,
    keys: Option<TokenKeys>,
    pub(super) require_auth: bool,
    strict: bool,
    /// Whether `/` serves the web console.
    console: bool,
    manager: Arc<TenantRagManager>,
    /// `max_concurrent_queries` per tenant.
    limits: limits::QueryLimits,
    /// Failed authentications per client address.
    throttle: throttle::AuthThrottle,
    /// `/health`'s database probe.
    health: health::DbHealth,
    worker: IngestWorker,
    /// MCP's streamable HTTP transport, served at [`mcp::PATH`].
    mcp: mcp::HttpTransport,
    /// Reads uploaded files (`LRT_PARSER`): checked at start, so a bad endpoint fails `serve`.
    parser: crate::extract::Parser,
}

impl AppState {
    /// Checks the configuration (fail closed) and opens the catalog.
    pub fn new(settings: Settings, options: &ServeOptions) -> Result<AppState> {
        let require_auth = settings.require_user_auth.value;
        let keys = match TokenKeys::from_settings(&settings) {
            Ok(keys) => Some(keys),
            Err(e) if require_auth => return Err(e),
            // Without user auth a secret is optional, but a configured one must be sound.
            Err(e) if settings.token_secret.value.is_some() => return Err(e),
            Err(_) => None,
        };
        if !require_auth && !options.bind.ip().is_loopback() {
            return Err(Error::Usage(format!(
                "LIGHTRAG_REQUIRE_USER_AUTH=false is for local development only: refusing to listen on the non-loopback address {}",
                options.bind
            )));
        }
        let state = AppState::open(
            settings,
            keys,
            options.max_cached_instances,
            options.ingest_workers,
            options.body_limit,
            options.console,
        )?;
        if !require_auth {
            // Fail now rather than on every request.
            state.with_service(|svc| svc.local_actor(None))?;
        }
        Ok(state)
    }

    /// The state of `lrt mcp` over stdio: the server's engine cache, query limits and ingest
    /// worker in one local process, for one identity (the CLI's), with no HTTP and no tokens.
    pub fn local(
        settings: Settings,
        max_cached_instances: NonZeroUsize,
        ingest_workers: NonZeroUsize,
    ) -> Result<AppState> {
        AppState::open(
            settings,
            None,
            max_cached_instances,
            ingest_workers,
            mcp::DEFAULT_BODY_LIMIT,
            false,
        )
    }

    fn open(
        settings: Settings,
        keys: Option<TokenKeys>,
        max_cached_instances: NonZeroUsize,
        ingest_workers: NonZeroUsize,
        body_limit: usize,
        console: bool,
    ) -> Result<AppState> {
        let require_auth = settings.require_user_auth.value;
        let strict = settings.strict.value;
        let parser = settings.parser.build()?;
        let worker = IngestWorker::start(settings.clone(), ingest_workers)?;
        let manager = Arc::new(TenantRagManager::new(max_cached_instances));
        let service = Service::open(settings.clone())?.with_engines(manager.clone());
        let limits = limits::QueryLimits::for_settings(&settings)?;
        Ok(AppState {
            service: Mutex::new(service),
            settings,
            keys,
            require_auth,
            strict,
            console,
            manager,
            limits,
            throttle: throttle::AuthThrottle::default(),
            health: health::DbHealth::default(),
            worker,
            mcp: mcp::http_transport(body_limit),
            parser,
        })
    }

    /// Hands every KB with pending or interrupted documents to the ingest worker, in the
    /// background: with a service of its own, since the scan opens every KB and must not hold
    /// up requests.
    fn requeue(self: &Arc<Self>) {
        let recovering = self.clone();
        tokio::task::spawn_blocking(move || {
            match Service::open(recovering.settings.clone()).and_then(|svc| svc.queued_kbs()) {
                Ok(kbs) => kbs.into_iter().for_each(|(t, k)| recovering.worker.submit(t, k)),
                Err(e) => eprintln!("lrt: cannot look for queued documents: {e}"),
            }
        });
    }

    /// Stops the ingest worker (queued documents wait in kb.db for the next run) and closes
    /// the cached engines; blocks.
    pub fn close(&self) {
        self.worker.shutdown(Duration::from_secs(10));
        self.manager.cleanup_all();
    }

    /// Runs `f` with the service on the current thread (callers are on the blocking pool).
    fn with_service<T>(&self, f: impl FnOnce(&mut Service) -> Result<T>) -> Result<T> {
        let mut svc = self.service.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut svc)
    }

    /// Runs `f` with the service on the blocking pool.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Service) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.with_service(f))
            .await
            .map_err(|e| Error::Internal(format!("a request task failed: {e}")))?
    }

    /// [`run`](Self::run), with the error ready for the client.
    async fn call<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Service) -> Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.run(f).await.map_err(ApiError::from)
    }

    /// The actor of a request: the verified token's subject, the API key's (scoped) creator
    /// (from `X-API-Key` or `Authorization: Bearer lrt_…`), or without either (user auth off) the configured local identity. Both credentials at
    /// once is a client error, not a choice the server makes.
    async fn actor(self: &Arc<Self>, authorization: Option<&str>, api_key: Option<&str>) -> Result<Actor, ApiError> {
        let raw = match (authorization, api_key) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "send either an Authorization token or an X-API-Key, not both",
                ));
            }
            (None, Some(key)) => {
                let key = key.trim().to_string();
                // A malformed key is refused without waiting for the service.
                if !crate::service::key_well_formed(&key) {
                    return Err(ApiError::unauthenticated("invalid API key"));
                }
                return self.call(move |svc| svc.key_actor(&key)).await;
            }
            (Some(raw), None) => raw,
            (None, None) if self.require_auth => {
                return Err(ApiError::unauthenticated(
                    "missing credentials: send Authorization: Bearer <token> or X-API-Key: <key>",
                ));
            }
            (None, None) => return self.call(|svc| svc.local_actor(None)).await,
        };
        let token = raw
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        // An API key sent as a bearer (what OpenAI and Ollama clients, Open WebUI among them,
        // send): it has the key's shape, which no JWT has (a JWT has dots).
        if crate::service::key_well_formed(token) {
            let key = token.to_string();
            return self.call(move |svc| svc.key_actor(&key)).await;
        }
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| ApiError::unauthenticated("tokens are not accepted: TOKEN_SECRET is not configured"))?;
        let claims = keys.verify(token)?;
        // Revocation is in the catalog, so every replica refuses a revoked token at once.
        self.call(move |svc| svc.token_actor(&claims.sub, claims.iat)).await
    }
}

/// The application's routes on a state (for tests and embedding).
pub fn router(state: Arc<AppState>, options: &ServeOptions) -> Router {
    let timeout = options.request_timeout;
    api::router(options.upload_limit)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(axum::middleware::from_fn(move |req, next| deadline(timeout, req, next)))
        .layer(axum::middleware::from_fn(access::log))
        .with_state(state)
}

/// Answers 504 with a JSON error when the handler takes longer than `timeout` (the access log,
/// outside this layer, records it). A streamed answer is timed until its headers.
async fn deadline(
    timeout: Duration,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "the request took longer than the server's limit of {} s (lrt serve --request-timeout)",
                timeout.as_secs()
            ),
        )
        .into_response(),
    }
}

/// How [`serve`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every in-flight request finished within the grace period.
    Drained,
    /// Requests were still running when the grace period ended. Their blocking tasks drive
    /// model calls on the server's runtime: the caller must not shut that runtime down under
    /// them (a timer or socket polled on a runtime being shut down panics), but end the
    /// process, which leaves their uncommitted work as after a crash.
    Abandoned,
}

/// Serves until SIGINT/SIGTERM, then stops accepting, lets in-flight requests finish (for
/// `shutdown_grace` at most), stops the ingest worker (queued documents wait in kb.db for the
/// next start) and closes the cached engines. `ready` gets the bound address (the port may have been 0). Right after binding,
/// every KB with pending or interrupted documents is handed to the ingest worker.
pub async fn serve(
    settings: Settings,
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr, Option<SocketAddr>),
) -> Result<Stopped> {
    let state = Arc::new(AppState::new(settings, &options)?);
    let listener = TcpListener::bind(options.bind)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", options.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("no local address: {e}")))?;
    let metrics_listener = match options.metrics_bind {
        Some(at) => Some(metrics::bind(at).await?),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(|l| {
            l.local_addr()
                .map_err(|e| Error::Internal(format!("no local address: {e}")))
        })
        .transpose()?;
    ready(addr, metrics_addr);
    state.requeue();
    if matches!(state.settings.storage.backend.value, crate::config::Backend::Postgres) {
        // Replicas share the queue: uploads another replica accepted, and documents a replica
        // that died left, are picked up within a scan interval.
        let scanning = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(QUEUE_SCAN);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                scanning.requeue();
            }
        });
    }
    let app = router(state.clone(), &options);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    if let Some(listener) = metrics_listener {
        tokio::spawn(metrics::serve(listener, stop.subscribe()));
    }
    let server = conn::serve(listener, app, options.connections, stop.subscribe());
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let grace = options.shutdown_grace;
    let how = tokio::select! {
        () = server => Stopped::Drained,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(
                target: "lrt::serve",
                "requests still running {} s after the stop signal; stopping without them",
                grace.as_secs()
            );
            Stopped::Abandoned
        }
    };
    let stopping = state.clone();
    let _ = tokio::task::spawn_blocking(move || stopping.close()).await;
    Ok(how)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
