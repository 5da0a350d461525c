//! `lrt serve` and `lrt token issue|revoke`.

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::output::print_line;
use crate::error::{Error, Result};
use crate::server::{self, ServeOptions, TokenKeys};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  TOKEN_SECRET=$(openssl rand -hex 32) lrt serve\n  lrt serve --bind 127.0.0.1:0    # any free port; the address is printed\n  LIGHTRAG_REQUIRE_USER_AUTH=false lrt serve    # local development: no token, your identity\n  LRT_LOG=debug lrt serve 2>serve.log             # log filter (else RUST_LOG, else info)\n  lrt serve --metrics-bind 127.0.0.1:9464         # Prometheus metrics at http://127.0.0.1:9464/metrics\n\nPrints `listening on http://ADDR` (then `metrics on http://ADDR/metrics`) on stdout once ready; stops on SIGINT/SIGTERM after in-flight requests.\nLogs (one access line per request, errors with their error id) go to stderr."
)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port)
    #[arg(long, env = "LRT_BIND", default_value = "127.0.0.1:9621", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// Open knowledge bases kept in memory (LRU)
    #[arg(long, env = "LRT_MAX_CACHED_INSTANCES", default_value_t = NonZeroUsize::new(server::DEFAULT_MAX_CACHED_INSTANCES).expect("non-zero"), value_name = "N")]
    pub max_cached_instances: NonZeroUsize,
    /// Largest request body in bytes, file uploads aside (413 beyond)
    #[arg(long, env = "LRT_MAX_BODY_BYTES", default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Largest file upload in bytes (413 beyond); the default is the largest input `lrt ingest`
    /// reads
    #[arg(long, env = "LRT_MAX_UPLOAD_BYTES", default_value_t = crate::extract::Limits::default().max_input as usize, value_name = "BYTES")]
    pub max_upload_bytes: usize,
    /// Knowledge bases the background ingest worker processes at once
    #[arg(long, env = "LRT_INGEST_WORKERS", default_value_t = NonZeroUsize::new(server::DEFAULT_INGEST_WORKERS).expect("non-zero"), value_name = "N")]
    pub ingest_workers: NonZeroUsize,
    /// Answer 504 to a request still running after this long (e.g. 90s, 5m)
    #[arg(long, env = "LRT_REQUEST_TIMEOUT", default_value = "5m", value_name = "DURATION", value_parser = request_timeout)]
    pub request_timeout: Duration,
    /// On SIGINT/SIGTERM, wait this long at most for in-flight requests (e.g. 30s)
    #[arg(long, env = "LRT_SHUTDOWN_GRACE", default_value = "30s", value_name = "DURATION", value_parser = shutdown_grace)]
    pub shutdown_grace: Duration,
    /// Close a connection whose request headers are not complete after this long (e.g. 10s)
    #[arg(long, env = "LRT_HEADER_TIMEOUT", default_value = "10s", value_name = "DURATION", value_parser = header_timeout)]
    pub header_timeout: Duration,
    /// Close a connection with no request running that sends and receives nothing for this long
    #[arg(long, env = "LRT_IDLE_TIMEOUT", default_value = "60s", value_name = "DURATION", value_parser = idle_timeout)]
    pub idle_timeout: Duration,
    /// Open connections at most; at the cap the longest idle one is closed for a newcomer
    /// [default: half the open-file limit, at most 1024]
    #[arg(long, env = "LRT_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<NonZeroUsize>,
    /// Do not serve the web console at / (the REST API is unchanged)
    #[arg(long)]
    pub no_console: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics, a listener of its own without
    /// authentication (no tenant, KB or user names in it) [default: no metrics]
    #[arg(long, env = "LRT_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
}

fn header_timeout(raw: &str) -> std::result::Result<Duration, String> {
    duration("--header-timeout", raw)
}

fn idle_timeout(raw: &str) -> std::result::Result<Duration, String> {
    duration("--idle-timeout", raw)
}

fn request_timeout(raw: &str) -> std::result::Result<Duration, String> {
    duration("--request-timeout", raw)
}

fn shutdown_grace(raw: &str) -> std::result::Result<Duration, String> {
    duration("--shutdown-grace", raw)
}

/// A `DURATION` flag's value (30s, 5m, 24h, 7d, 2w), for clap.
pub(super) fn duration(flag: &str, raw: &str) -> std::result::Result<Duration, String> {
    server::auth::parse_secs(flag, raw)
        .map(Duration::from_secs)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Mint a bearer token for a user (super-admins only; needs TOKEN_SECRET)
    #[command(
        after_help = "Examples:\n  lrt token issue --user alice\n  lrt token issue --user ci-bot --expires-in 7d --json\n\nThe token names the user only; roles come from the tenant memberships on every request."
    )]
    Issue(IssueArgs),
    /// Revoke every token of a user issued up to now (super-admins; any user for their own)
    #[command(
        after_help = "Examples:\n  lrt token revoke --user alice\n  lrt token revoke --user \"$(whoami)\" --json    # sign yourself out everywhere\n\n`lrt serve` answers 401 to the user's older tokens from the next request on (every replica:\nrevocations are kept in the catalog). Tokens issued afterwards are accepted. A token without\nan `iat` claim is refused once its user has a revocation. Tokens live at most 30 days."
    )]
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The user whose tokens are revoked
    #[arg(long, value_name = "USER")]
    pub user: String,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The user the token authenticates
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// Lifetime, e.g. 30m, 24h, 7d [default: TOKEN_EXPIRE_HOURS]
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
}

pub fn serve(ctx: &Ctx, args: ServeArgs) -> Result<i32> {
    let settings = ctx.settings()?;
    server::init_logging()?;
    let descriptors = server::conn::raise_descriptor_limit();
    let options = ServeOptions {
        bind: args.bind,
        max_cached_instances: server::conn::engine_cache_size(args.max_cached_instances, descriptors),
        body_limit: args.max_body_bytes,
        upload_limit: args.max_upload_bytes,
        ingest_workers: args.ingest_workers,
        request_timeout: args.request_timeout,
        shutdown_grace: args.shutdown_grace,
        connections: server::conn::ConnLimits {
            header_timeout: args.header_timeout,
            idle_timeout: args.idle_timeout,
            max_connections: args
                .max_connections
                .map_or_else(|| server::conn::default_max_connections(descriptors), NonZeroUsize::get),
        },
        console: !args.no_console,
        metrics_bind: args.metrics_bind,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(server::serve(settings, options, |addr, metrics| {
        // Tests and scripts read these lines to find the ports.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        if let Some(metrics) = metrics {
            let _ = writeln!(out, "metrics on http://{metrics}/metrics");
        }
        let _ = out.flush();
    }));
    match served {
        // Work a request left on the blocking pool past the grace period is not waited for:
        // what it had committed stays, the rest is as after a crash, which every write
        // survives. The runtime is left running for the process's exit to end, since shutting
        // it down under that work made its model calls panic.
        Ok(server::Stopped::Abandoned) => {
            std::mem::forget(runtime);
            Ok(0)
        }
        Ok(server::Stopped::Drained) => {
            runtime.shutdown_timeout(Duration::from_secs(1));
            Ok(0)
        }
        Err(e) => {
            runtime.shutdown_timeout(Duration::from_secs(1));
            Err(e)
        }
    }
}

pub fn token(ctx: &Ctx, cmd: TokenCmd) -> Result<i32> {
    match cmd {
        TokenCmd::Issue(args) => issue(ctx, args),
        TokenCmd::Revoke(args) => revoke(ctx, args),
    }
}

fn revoke(ctx: &Ctx, args: RevokeArgs) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let done = svc.revoke_tokens(&actor, &args.user)?;
    if ctx.out.is_json() {
        print_line(&serde_json::to_string_pretty(&done).expect("json"));
    } else {
        print_line(&format!(
            "revoked the tokens of {} issued before {}",
            done.user, done.not_before
        ));
    }
    Ok(0)
}

fn issue(ctx: &Ctx, args: IssueArgs) -> Result<i32> {
    let svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let keys = TokenKeys::from_settings(svc.settings())?;
    let ttl = match &args.expires_in {
        Some(raw) => server::auth::parse_ttl(raw)?,
        None => u64::from(svc.settings().token_expire_hours.value).saturating_mul(3600),
    };
    svc.authorize_token_issue(&actor, &args.user)?;
    let floor = svc.token_issue_floor(&args.user)?;
    let (token, exp) = keys.issue(&args.user, ttl, floor)?;
    if ctx.out.is_json() {
        let expires_at = jiff::Timestamp::from_second(exp as i64)
            .map(crate::time::format)
            .unwrap_or_default();
        print_line(
            &serde_json::to_string_pretty(&json!({"token": token, "user": args.user, "expires_at": expires_at}))
                .expect("json"),
        );
    } else {
        print_line(&token);
    }
    Ok(0)
}
