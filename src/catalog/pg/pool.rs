//! The process's PostgreSQL connections: one pool per database (connection settings), shared by
//! every catalog and KB store the process opens, bounded by `POSTGRES_MAX_CONNECTIONS`, over
//! TLS as `POSTGRES_SSL_MODE` says.
//!
//! Outages: a connection known to be closed is never handed out, so when the database comes back
//! the next request gets a fresh connection and the process recovers by itself. The client only
//! notices a closed socket when it uses it, so for [`SUSPECT_FOR`] after a connection was lost or
//! refused, connections are checked with a round trip before use (on check-out, and a catalog's
//! kept connection in `run_on`): connections left over from before a restart are replaced instead
//! of failing a request. While connections are failing, a check-out waits [`DOWN_WAIT`] rather
//! than the pool's full timeout, so requests fail fast with an [`Error::Unavailable`] (503)
//! instead of queueing behind a dead server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use postgres::Client;
use postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls;
use crate::config::{PgSettings, SslMode};
use crate::error::{Error, Result};

/// How long a check-out waits for a free connection when the database is reachable.
const CHECKOUT_WAIT: Duration = Duration::from_secs(15);
/// How long a check-out waits while connections are failing: long enough for a database that
/// is back to accept one, short enough that requests are refused promptly during an outage.
pub(crate) const DOWN_WAIT: Duration = Duration::from_secs(1);
/// How long after trouble (a lost or refused connection) connections are checked before use.
const SUSPECT_FOR: Duration = Duration::from_secs(60);
/// Client-side TCP keepalives (idle, interval, probes), unless the connection settings chose
/// their own: a replica notices a server that vanished without closing its connections (a
/// network cut, a frozen machine) in about 25 s, not the system's default two hours. The lock's
/// session asks the server for the same in the other direction (`store/pg/lock.rs`).
const KEEPALIVE: (Duration, Duration, u32) = (Duration::from_secs(10), Duration::from_secs(5), 3);
/// libpq's and the client's default idle time before the first keepalive probe.
const DEFAULT_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

/// `config` with [`KEEPALIVE`]'s probes where it keeps the defaults.
fn with_keepalives(config: &postgres::Config) -> postgres::Config {
    let mut config = config.clone();
    let (idle, interval, retries) = KEEPALIVE;
    if config.get_keepalives() && config.get_keepalives_idle() == DEFAULT_KEEPALIVE_IDLE {
        config.keepalives_idle(idle);
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(interval);
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(retries);
        }
    }
    config
}

/// A pool of connections to one database. Cheap to clone (all clones share the connections).
#[derive(Clone)]
pub(crate) struct Pool {
    inner: r2d2::Pool<Manager>,
    link: Arc<Link>,
}

/// A connection checked out of a [`Pool`]; back to the pool on drop (dropped if broken).
pub(crate) type Conn = r2d2::PooledConnection<Manager>;

/// What the pool knows about its database's reachability.
#[derive(Debug)]
struct Link {
    /// `postgres://user:***@host:port/db`.
    location: String,
    /// Since when connections have been failing (`None`: the last attempt worked).
    failing_since: Mutex<Option<Instant>>,
    /// When a connection was last lost or refused.
    troubled_at: Mutex<Option<Instant>>,
}

impl Link {
    fn failing(&self) -> bool {
        self.failing_since.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Whether connections made before now may be dead without knowing it.
    fn suspect(&self) -> bool {
        self.troubled_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < SUSPECT_FOR)
    }

    fn record(&self, ok: bool) {
        if !ok {
            *self.troubled_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        let mut since = self.failing_since.lock().unwrap_or_else(|p| p.into_inner());
        match (ok, *since) {
            (true, _) => *since = None,
            (false, None) => *since = Some(Instant::now()),
            (false, Some(_)) => {}
        }
    }
}

/// Makes connections with the settings' TLS mode, and libpq's `allow` (plain first, TLS if
/// the server refuses plain).
pub(crate) struct Manager {
    config: postgres::Config,
    tls: MakeRustlsConnect,
    allow: bool,
    link: Arc<Link>,
    /// The connection made when the pool was, handed out as the pool's first.
    spare: Mutex<Option<Client>>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Manager({})", self.link.location)
    }
}

impl Manager {
    fn connect_once(&self) -> Result<Client, postgres::Error> {
        let plain = self.config.connect(self.tls.clone());
        match plain {
            // The server answered and refused (pg_hba.conf's `hostssl`): try TLS.
            Err(e) if self.allow && e.as_db_error().is_some() => {
                let mut config = self.config.clone();
                config.ssl_mode(postgres::config::SslMode::Require);
                config.connect(self.tls.clone())
            }
            other => other,
        }
    }
}

/// How many prepared statements a connection keeps (lrt's statements are a fixed set, far
/// fewer; the cap only guards against a statement built with a varying text).
const STATEMENTS_KEPT: usize = 512;

/// A pooled connection: the client, and the statements it has prepared (by their text), so a
/// statement run again on it is one round trip with no parsing or planning (after a few runs
/// the server keeps a generic plan). Derefs to the client for everything else.
pub(crate) struct PgClient {
    client: Client,
    statements: std::collections::HashMap<String, postgres::Statement>,
}

impl std::ops::Deref for PgClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for PgClient {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl PgClient {
    fn new(client: Client) -> PgClient {
        PgClient {
            client,
            statements: std::collections::HashMap::new(),
        }
    }

    /// [`Client::query_typed`] through this connection's prepared statement for `sql` (prepared
    /// with the parameters' types on first use).
    pub(crate) fn query_prepared(
        &mut self,
        sql: &str,
        params: &[(&(dyn postgres::types::ToSql + Sync), postgres::types::Type)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let statement = match self.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let types: Vec<postgres::types::Type> = params.iter().map(|(_, t)| t.clone()).collect();
                let s = self.client.prepare_typed(sql, &types)?;
                if self.statements.len() >= STATEMENTS_KEPT {
                    self.statements.clear();
                }
                self.statements.insert(sql.to_string(), s.clone());
                s
            }
        };
        let values: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        self.client.query(&statement, &values)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgClient;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgClient, postgres::Error> {
        let spare = self.spare.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(client) = spare.filter(|c| !c.is_closed()) {
            return Ok(PgClient::new(client));
        }
        let result = self.connect_once().map(PgClient::new);
        match &result {
            Ok(_) => self.link.record(true),
            Err(e) if is_outage(e) => self.link.record(false),
            Err(_) => {}
        }
        result
    }

    /// A connection the server closed (a restart, an idle kill) is refused here: the pool then
    /// makes a new one. A round trip only while connections are suspect.
    fn is_valid(&self, conn: &mut PgClient) -> Result<(), postgres::Error> {
        if conn.is_closed() || self.link.suspect() {
            return conn.simple_query("").map(drop);
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgClient) -> bool {
        if conn.is_closed() {
            // Possibly the start of an outage: the next check-outs wait only briefly.
            self.link.record(false);
            return true;
        }
        false
    }
}

impl Pool {
    /// A connection from the pool. When the database cannot be reached this is
    /// [`Error::Unavailable`]. Call it where the client may block ([`off_runtime`]).
    pub(crate) fn get(&self) -> Result<Conn> {
        let wait = if self.link.failing() { DOWN_WAIT } else { CHECKOUT_WAIT };
        self.get_within(wait)
    }

    /// Whether `conn`, kept by its user between calls, may be used: not closed, and answering
    /// while connections are suspect.
    pub(crate) fn usable(&self, conn: &mut Client) -> bool {
        !conn.is_closed() && (!self.link.suspect() || conn.simple_query("").is_ok())
    }

    fn get_within(&self, wait: Duration) -> Result<Conn> {
        self.inner.get_timeout(wait).map_err(|e| {
            Error::Unavailable(format!(
                "cannot reach the PostgreSQL database at {}: {e}; retry shortly",
                self.link.location
            ))
        })
    }

    /// `/health`'s probe: one round trip on a pooled connection, waiting at most `wait` for
    /// it; returns the round trip's time.
    pub(crate) fn ping(&self, wait: Duration) -> Result<Duration> {
        off_runtime(|| {
            let mut conn = self.get_within(wait)?;
            let start = Instant::now();
            conn.simple_query("SELECT 1")
                .map_err(|e| pg_error("cannot reach the PostgreSQL database", e))?;
            Ok(start.elapsed())
        })
    }
}

/// The process's pool for `settings`, made on first use. The first connection is made at
/// once, so an unreachable or refusing server (or a TLS mismatch) is reported with its reason.
pub(crate) fn pool(settings: &PgSettings) -> Result<Pool> {
    static POOLS: OnceLock<Mutex<HashMap<String, Pool>>> = OnceLock::new();
    let key = format!(
        "{:?}|{:?}|{}|{:?}",
        settings.config,
        settings.config.get_password(),
        settings.max_connections,
        settings.tls
    );
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = pools.get(&key) {
        return Ok(pool.clone());
    }
    let link = Arc::new(Link {
        location: settings.location(),
        failing_since: Mutex::new(None),
        troubled_at: Mutex::new(None),
    });
    let manager = Manager {
        config: with_keepalives(&settings.config),
        tls: tls::connector(&settings.tls)?,
        allow: settings.tls.mode == SslMode::Allow,
        link: link.clone(),
        spare: Mutex::new(None),
    };
    let first = off_runtime(|| manager.connect_once()).map_err(|e| {
        let context = format!("cannot connect to the PostgreSQL database at {}", settings.location());
        pg_error(context, e)
    })?;
    // The connection just made becomes the pool's first: opening a catalog costs one.
    *manager.spare.lock().unwrap_or_else(|p| p.into_inner()) = Some(first);
    let inner = r2d2::Pool::builder()
        .max_size(settings.max_connections)
        .min_idle(Some(0))
        .connection_timeout(CHECKOUT_WAIT)
        .test_on_check_out(true)
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(manager);
    let pool = Pool { inner, link };
    pools.insert(key, pool.clone());
    Ok(pool)
}

/// Runs `f` where the `postgres` client may block: here, or on a scoped thread when this
/// thread is inside a tokio runtime (whose tasks must not start the client's own runtime).
pub(crate) fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Maps a PostgreSQL error to lrt's: a lost or refused connection (server down, restarting,
/// out of connection slots) is [`Error::Unavailable`] (503, retryable); anything else a
/// storage error with `context`. Never includes the connection settings' password.
pub(crate) fn pg_error(context: impl Into<String>, e: postgres::Error) -> Error {
    let context = context.into();
    if is_outage(&e) {
        return Error::Unavailable(format!(
            "{context}: the PostgreSQL database is unavailable ({}); retry shortly",
            pg_reason(&e)
        ));
    }
    Error::storage(context, pg_reason(&e))
}

/// Whether `e` says the database cannot be reached now (rather than that a statement failed).
pub(crate) fn is_outage(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
            ]
            .contains(code);
    }
    // No server answer: an I/O failure (refused, reset, timed out), unless it is TLS's.
    let mut cause = std::error::Error::source(e);
    while let Some(err) = cause {
        if tls::is_tls(err) {
            return false;
        }
        if err.is::<std::io::Error>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// What went wrong, in words (never the connection settings, which may hold a password).
pub(crate) fn pg_reason(e: &postgres::Error) -> String {
    if e.is_closed() {
        return "the connection to the PostgreSQL database was lost; try again".into();
    }
    if let Some(db) = e.as_db_error() {
        let hint = if db.code() == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().contains("no encryption")
        {
            " (the server accepts only TLS connections here: set POSTGRES_SSL_MODE=require, verify-ca or verify-full)"
        } else {
            ""
        };
        return format!("PostgreSQL: {}{hint}", db.message());
    }
    if let Some(tls) = tls::explain(e) {
        return tls;
    }
    let mut text = format!("PostgreSQL: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(err) = cause {
        text.push_str(&format!(": {err}"));
        cause = err.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_probe_a_silent_server_within_seconds_unless_configured_otherwise() {
        let plain: postgres::Config = "postgres://lrt@db.example/lrt".parse().unwrap();
        let config = with_keepalives(&plain);
        assert_eq!(config.get_keepalives_idle(), KEEPALIVE.0);
        assert_eq!(config.get_keepalives_interval(), Some(KEEPALIVE.1));
        assert_eq!(config.get_keepalives_retries(), Some(KEEPALIVE.2));
        let chosen: postgres::Config = "postgres://lrt@db.example/lrt?keepalives_idle=60".parse().unwrap();
        assert_eq!(with_keepalives(&chosen).get_keepalives_idle(), Duration::from_secs(60));
        assert_eq!(with_keepalives(&chosen).get_keepalives_interval(), None);
    }
}
