//! Where the catalog lives: `storage.backend` (`LRT_STORAGE`), SQLite under the data directory
//! by default, or PostgreSQL from `LRT_DATABASE_URL` / `storage.database_url` and upstream
//! LightRAG's `POSTGRES_*` variables, which override the URL's parts one by one. Passwords are
//! kept out of every display and message ([`PgSettings::location`] masks them).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde_json::json;

use super::{Env, FromEnv, Source, Sourced, StorageSection, layer};
use crate::error::{Error, Result};

/// Which database holds the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `catalog.db` in the data directory: the zero-set-up default.
    Sqlite,
    /// A PostgreSQL database (KB data stays in SQLite files under the data directory).
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(raw: &str) -> Result<Backend> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(Error::Usage(format!(
                "unknown storage backend {raw:?}: expected sqlite or postgres"
            ))),
        }
    }
}

impl FromEnv for Backend {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        raw.parse().map_err(|e: Error| Error::Usage(format!("{var}: {e}")))
    }
}

/// upstream's default pool size (`POSTGRES_MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 12;

/// The storage settings as configured (validated when the PostgreSQL backend is used).
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub backend: Sourced<Backend>,
    pub database_url: Sourced<Option<String>>,
    pub host: Sourced<Option<String>>,
    pub port: Sourced<Option<u16>>,
    pub user: Sourced<Option<String>>,
    pub password: Sourced<Option<String>>,
    pub database: Sourced<Option<String>>,
    pub max_connections: Sourced<u32>,
    pub ssl_mode: Sourced<Option<String>>,
    /// `POSTGRES_SSL_ROOT_CERT` (`storage.ssl_root_cert`, `sslrootcert=` in the URL).
    pub ssl_root_cert: Sourced<Option<String>>,
    /// `POSTGRES_SSL_CERT` (`storage.ssl_cert`, `sslcert=`): a client certificate.
    pub ssl_cert: Sourced<Option<String>>,
    /// `POSTGRES_SSL_KEY` (`storage.ssl_key`, `sslkey=`): the client certificate's key.
    pub ssl_key: Sourced<Option<String>>,
    /// `POSTGRES_SSL_CRL` (`storage.ssl_crl`, `sslcrl=`): revoked server certificates.
    pub ssl_crl: Sourced<Option<String>>,
}

/// libpq's `sslmode` values (upstream LightRAG's `POSTGRES_SSL_MODE`), with libpq's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain connections only.
    Disable,
    /// Plain first; TLS (unverified) only if the server refuses a plain connection.
    Allow,
    /// TLS (unverified) if the server offers it, plain otherwise: libpq's default.
    Prefer,
    /// TLS, certificate not checked (checked as `VerifyCa` when a root certificate is given).
    Require,
    /// TLS, the server's certificate chain checked against the root certificate.
    VerifyCa,
    /// `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate chain is checked.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl FromStr for SslMode {
    type Err = Error;
    fn from_str(raw: &str) -> Result<SslMode> {
        Ok(match raw.trim().to_ascii_lowercase().as_str() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(Error::Usage(format!(
                    "expected disable, allow, prefer, require, verify-ca or verify-full, got {raw:?}"
                )));
            }
        })
    }
}

/// Where the server's certificate is checked against (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's CA store.
    System,
}

/// How connections to PostgreSQL use TLS. Paths are not secrets (`config show` prints them);
/// the files are read when the pool is made, so a missing one fails at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTls {
    pub mode: SslMode,
    /// Required by `verify-ca`/`verify-full`; given with `require`, it makes it `verify-ca`.
    pub root_cert: Option<RootCerts>,
    /// A client certificate and its key (PEM), both or neither.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Certificate revocation lists (PEM) checked with the chain.
    pub crl: Option<PathBuf>,
}

impl PgTls {
    /// libpq's default: TLS when the server offers it, unverified.
    pub fn prefer() -> PgTls {
        PgTls {
            mode: SslMode::Prefer,
            root_cert: None,
            client_cert: None,
            crl: None,
        }
    }
}

/// A PostgreSQL connection as the catalog opens it.
#[derive(Clone)]
pub struct PgSettings {
    /// Host, port, user, password, database (its `ssl_mode` follows `tls.mode`).
    pub config: postgres::Config,
    pub max_connections: u32,
    pub tls: PgTls,
}

impl fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgSettings({})", self.location())
    }
}

impl PgSettings {
    /// Settings for `config` with libpq's default TLS (`prefer`, unverified).
    pub fn new(config: postgres::Config, max_connections: u32) -> PgSettings {
        PgSettings {
            config,
            max_connections,
            tls: PgTls::prefer(),
        }
    }

    /// `postgres://user:***@host:port/db`: where the catalog is, never the password.
    pub fn location(&self) -> String {
        let c = &self.config;
        let host = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(h) => h.clone(),
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        let port = c.get_ports().first().copied().unwrap_or(5432);
        let user = c.get_user().unwrap_or("");
        let password = if c.get_password().is_some() { ":***" } else { "" };
        let db = c.get_dbname().unwrap_or(user);
        format!("postgres://{user}{password}@{host}:{port}/{db}")
    }
}

/// The `ssl*` parameters of a `postgres://` URL lrt reads itself (the client library knows only
/// some of them, and only three modes), decoded; the URL without them.
#[derive(Debug, Default)]
struct UrlTls {
    mode: Option<String>,
    root_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    crl: Option<String>,
}

fn split_url_tls(url: &str) -> (String, UrlTls) {
    let mut tls = UrlTls::default();
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return (url.to_string(), tls);
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
        match k {
            "sslmode" => tls.mode = value(),
            "sslrootcert" => tls.root_cert = value(),
            "sslcert" => tls.cert = value(),
            "sslkey" => tls.key = value(),
            "sslcrl" => tls.crl = value(),
            _ => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rebuilt, tls)
}

/// A setting's value, else the URL's.
fn or_url(setting: &Sourced<Option<String>>, url: Option<String>) -> Option<String> {
    setting.value.clone().or(url).filter(|v| !v.trim().is_empty())
}

impl StorageSettings {
    pub(super) fn load(env: &dyn Env, file: &StorageSection) -> Result<StorageSettings> {
        let backend_file = file.backend.as_deref().map(str::parse::<Backend>).transpose()?;
        let max_connections = layer(
            env,
            "POSTGRES_MAX_CONNECTIONS",
            file.max_connections,
            DEFAULT_MAX_CONNECTIONS,
        )?;
        if max_connections.value == 0 {
            return Err(Error::Usage("POSTGRES_MAX_CONNECTIONS must be at least 1".into()));
        }
        let ssl_mode = layer(env, "POSTGRES_SSL_MODE", file.ssl_mode.clone().map(Some), None)?;
        let path = |var, value: &Option<String>| layer(env, var, value.clone().map(Some), None);
        Ok(StorageSettings {
            backend: layer(env, "LRT_STORAGE", backend_file, Backend::Sqlite)?,
            database_url: layer(env, "LRT_DATABASE_URL", file.database_url.clone().map(Some), None)?,
            host: layer(env, "POSTGRES_HOST", None, None)?,
            port: layer(env, "POSTGRES_PORT", None, None)?,
            user: layer(env, "POSTGRES_USER", None, None)?,
            password: layer(env, "POSTGRES_PASSWORD", None, None)?,
            database: layer(env, "POSTGRES_DATABASE", None, None)?,
            max_connections,
            ssl_mode,
            ssl_root_cert: path("POSTGRES_SSL_ROOT_CERT", &file.ssl_root_cert)?,
            ssl_cert: path("POSTGRES_SSL_CERT", &file.ssl_cert)?,
            ssl_key: path("POSTGRES_SSL_KEY", &file.ssl_key)?,
            ssl_crl: path("POSTGRES_SSL_CRL", &file.ssl_crl)?,
        })
    }

    /// The PostgreSQL connection these settings describe: the URL, then each `POSTGRES_*`
    /// variable set over it. Every refusal is a usage error naming the setting, never its
    /// value (a URL holds a password).
    pub fn postgres(&self) -> Result<PgSettings> {
        let (url, url_tls) = match &self.database_url.value {
            Some(url) => {
                let (rest, tls) = split_url_tls(url);
                (Some(rest), tls)
            }
            None => (None, UrlTls::default()),
        };
        let mut config = match &url {
            Some(url) => postgres::Config::from_str(url).map_err(|e| {
                Error::Usage(format!(
                    "{}: not a PostgreSQL connection URL ({}); expected postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                    self.database_url.source,
                    scrub(&e.to_string(), url)
                ))
            })?,
            None => postgres::Config::new(),
        };
        if let Some(host) = &self.host.value {
            config.host(host);
        } else if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if let Some(port) = self.port.value {
            config.port(port);
        }
        if let Some(user) = &self.user.value {
            config.user(user);
        }
        if let Some(password) = &self.password.value {
            config.password(password);
        }
        if let Some(db) = &self.database.value {
            config.dbname(db);
        }
        if config.get_user().is_none() {
            return Err(Error::Usage(
                "storage.backend is postgres but no database user is set: set LRT_DATABASE_URL \
                 (postgres://USER:PASSWORD@HOST:PORT/DATABASE) or POSTGRES_USER and POSTGRES_DATABASE"
                    .into(),
            ));
        }
        let tls = self.tls(url_tls)?;
        config.ssl_mode(match tls.mode {
            // `allow` starts plain; the pool retries with TLS if the server refuses.
            SslMode::Disable | SslMode::Allow => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => postgres::config::SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("lrt");
        Ok(PgSettings {
            config,
            max_connections: self.max_connections.value,
            tls,
        })
    }

    /// The TLS settings: each `POSTGRES_SSL_*` variable (or `[storage]` key) over the URL's
    /// `ssl*` parameter, with libpq's rules: `verify-*` needs a root certificate (given, or
    /// `~/.postgresql/root.crt`), and `require` with one checks the chain (`verify-ca`).
    fn tls(&self, url: UrlTls) -> Result<PgTls> {
        let mode = match or_url(&self.ssl_mode, url.mode.clone()) {
            Some(raw) => raw.parse::<SslMode>().map_err(|e| {
                let source = if self.ssl_mode.value.is_some() {
                    self.ssl_mode.source.to_string()
                } else {
                    "sslmode in the database URL".into()
                };
                Error::Usage(format!("{source}: {e}"))
            })?,
            None => SslMode::Prefer,
        };
        let root_cert = match or_url(&self.ssl_root_cert, url.root_cert) {
            Some(raw) if raw == "system" => Some(RootCerts::System),
            Some(raw) => Some(RootCerts::File(PathBuf::from(raw))),
            None => default_root_cert().map(RootCerts::File),
        };
        let mode = match mode {
            SslMode::Require if root_cert.is_some() => SslMode::VerifyCa,
            other => other,
        };
        if mode.verifies() && root_cert.is_none() {
            return Err(Error::Usage(format!(
                "POSTGRES_SSL_MODE={}: the server's certificate is checked against a CA certificate: \
                 set POSTGRES_SSL_ROOT_CERT (storage.ssl_root_cert, or sslrootcert= in the URL) to a PEM file, \
                 or to `system` for the system's CAs",
                mode.as_str()
            )));
        }
        let cert = or_url(&self.ssl_cert, url.cert);
        let key = or_url(&self.ssl_key, url.key);
        let client_cert = match (cert, key) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            _ => {
                return Err(Error::Usage(
                    "POSTGRES_SSL_CERT and POSTGRES_SSL_KEY go together: a client certificate needs its key".into(),
                ));
            }
        };
        let crl = or_url(&self.ssl_crl, url.crl).map(PathBuf::from);
        if mode == SslMode::Disable && (client_cert.is_some() || crl.is_some()) {
            return Err(Error::Usage(
                "POSTGRES_SSL_MODE=disable, yet TLS files are set (POSTGRES_SSL_CERT/KEY/CRL): choose a TLS mode or unset them"
                    .into(),
            ));
        }
        Ok(PgTls {
            mode,
            root_cert: root_cert.filter(|_| mode != SslMode::Disable),
            client_cert,
            crl,
        })
    }

    /// `config show`'s rows, passwords masked.
    pub(super) fn entries(&self) -> Vec<(String, serde_json::Value, String)> {
        let hidden = |set: bool| {
            if set {
                json!("set (hidden)")
            } else {
                serde_json::Value::Null
            }
        };
        let url = self.database_url.value.as_deref().map(mask_url);
        vec![
            (
                "storage.backend",
                json!(self.backend.value.as_str()),
                &self.backend.source,
            ),
            ("storage.database_url", json!(url), &self.database_url.source),
            ("postgres.host", json!(self.host.value), &self.host.source),
            ("postgres.port", json!(self.port.value), &self.port.source),
            ("postgres.user", json!(self.user.value), &self.user.source),
            (
                "postgres.password",
                hidden(self.password.value.is_some()),
                &self.password.source,
            ),
            ("postgres.database", json!(self.database.value), &self.database.source),
            (
                "postgres.max_connections",
                json!(self.max_connections.value),
                &self.max_connections.source,
            ),
            ("postgres.ssl_mode", json!(self.ssl_mode.value), &self.ssl_mode.source),
            (
                "postgres.ssl_root_cert",
                json!(self.ssl_root_cert.value),
                &self.ssl_root_cert.source,
            ),
            ("postgres.ssl_cert", json!(self.ssl_cert.value), &self.ssl_cert.source),
            ("postgres.ssl_key", json!(self.ssl_key.value), &self.ssl_key.source),
            ("postgres.ssl_crl", json!(self.ssl_crl.value), &self.ssl_crl.source),
        ]
        .into_iter()
        .map(|(k, v, s): (&str, serde_json::Value, &Source)| (k.to_string(), v, s.to_string()))
        .collect()
    }
}

/// libpq's default root certificate, `~/.postgresql/root.crt`, when it exists.
fn default_root_cert() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("HOME")?).join(".postgresql/root.crt");
    path.is_file().then_some(path)
}

/// A URL with its password (if any) replaced by `***`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(set, not a URL)".into();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            let tail = mask_query_password(tail);
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{}", mask_query_password(tail)),
    }
}

fn mask_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// An error text with any occurrence of the URL's password removed.
fn scrub(text: &str, url: &str) -> String {
    let mut out = text.to_string();
    if let Some(rest) = url.split_once("://").map(|(_, r)| r)
        && let Some((userinfo, _)) = rest.split_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
        && !password.is_empty()
    {
        out = out.replace(password, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(Vec<(&'static str, &'static str)>);
    impl Env for Vars {
        fn get(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        }
    }

    fn load(vars: &[(&'static str, &'static str)]) -> Result<StorageSettings> {
        StorageSettings::load(&Vars(vars.to_vec()), &StorageSection::default())
    }

    #[test]
    fn sqlite_is_the_default_and_bad_backends_are_usage_errors() {
        assert_eq!(load(&[]).unwrap().backend.value, Backend::Sqlite);
        assert_eq!(
            load(&[("LRT_STORAGE", "postgres")]).unwrap().backend.value,
            Backend::Postgres
        );
        let err = load(&[("LRT_STORAGE", "mysql")]).unwrap_err();
        assert!(
            matches!(err, Error::Usage(_)) && err.to_string().contains("LRT_STORAGE"),
            "{err}"
        );
        assert!(load(&[("POSTGRES_PORT", "99999")]).is_err());
        assert!(load(&[("POSTGRES_MAX_CONNECTIONS", "0")]).is_err());
    }

    #[test]
    fn upstream_variables_override_the_url_and_passwords_never_show() {
        let s = load(&[
            ("LRT_DATABASE_URL", "postgres://u:s3cret@db.example:6000/cat"),
            ("POSTGRES_DATABASE", "other"),
            ("POSTGRES_MAX_CONNECTIONS", "3"),
        ])
        .unwrap();
        let pg = s.postgres().unwrap();
        assert_eq!(pg.config.get_dbname(), Some("other"));
        assert_eq!(pg.config.get_ports(), [6000]);
        assert_eq!(pg.max_connections, 3);
        assert_eq!(pg.location(), "postgres://u:***@db.example:6000/other");
        let shown = serde_json::to_string(&s.entries()).unwrap();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!format!("{pg:?}").contains("s3cret"));
        let parts = load(&[
            ("POSTGRES_USER", "lrt"),
            ("POSTGRES_PASSWORD", "pw-42"),
            ("POSTGRES_HOST", "127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(
            parts.postgres().unwrap().location(),
            "postgres://lrt:***@127.0.0.1:5432/lrt"
        );
        assert!(!serde_json::to_string(&parts.entries()).unwrap().contains("pw-42"));
    }

    #[test]
    fn bad_urls_tls_and_missing_users_are_clear_errors_without_the_password() {
        let bad = load(&[("LRT_DATABASE_URL", "postgres://u:hunter2@h:notaport/db")]).unwrap();
        let err = bad.postgres().unwrap_err().to_string();
        assert!(err.contains("LRT_DATABASE_URL") && !err.contains("hunter2"), "{err}");
        assert!(load(&[("POSTGRES_SSL_MODE", "sometimes")]).unwrap().postgres().is_err());
        let err = load(&[]).unwrap().postgres().unwrap_err().to_string();
        assert!(err.contains("POSTGRES_USER"), "{err}");
        assert_eq!(
            mask_url("postgres://a:b@h/db?password=c&sslmode=disable"),
            "postgres://a:***@h/db?password=***&sslmode=disable"
        );
    }

    #[test]
    fn tls_modes_and_files_come_from_variables_or_the_url_with_libpq_rules() {
        let require = load(&[("POSTGRES_USER", "u"), ("POSTGRES_SSL_MODE", "require")]).unwrap();
        let pg = require.postgres().unwrap();
        assert_eq!(pg.tls.mode, SslMode::Require);
        assert_eq!(pg.config.get_ssl_mode(), postgres::config::SslMode::Require);
        // verify-* needs a CA to check against.
        let err = load(&[("POSTGRES_USER", "u"), ("POSTGRES_SSL_MODE", "verify-full")])
            .unwrap()
            .postgres();
        if std::env::var_os("HOME").is_none_or(|h| !std::path::Path::new(&h).join(".postgresql/root.crt").exists()) {
            let err = err.unwrap_err().to_string();
            assert!(err.contains("POSTGRES_SSL_ROOT_CERT"), "{err}");
        }
        // The URL's parameters, decoded; a variable overrides its parameter.
        let url = load(&[(
            "LRT_DATABASE_URL",
            "postgres://u:pw@h/db?sslmode=verify-ca&sslrootcert=/etc/my%20ca.pem&application_name=x",
        )])
        .unwrap()
        .postgres()
        .unwrap();
        assert_eq!(url.tls.mode, SslMode::VerifyCa);
        assert_eq!(url.tls.root_cert, Some(RootCerts::File("/etc/my ca.pem".into())));
        let over = load(&[
            (
                "LRT_DATABASE_URL",
                "postgres://u@h/db?sslmode=verify-ca&sslrootcert=/a.pem",
            ),
            ("POSTGRES_SSL_MODE", "verify-full"),
            ("POSTGRES_SSL_ROOT_CERT", "system"),
        ])
        .unwrap()
        .postgres()
        .unwrap();
        assert_eq!(
            (over.tls.mode, over.tls.root_cert),
            (SslMode::VerifyFull, Some(RootCerts::System))
        );
        // libpq: require with a root certificate checks the chain.
        let ca = load(&[
            ("POSTGRES_USER", "u"),
            ("POSTGRES_SSL_MODE", "require"),
            ("POSTGRES_SSL_ROOT_CERT", "/ca.pem"),
        ])
        .unwrap();
        assert_eq!(ca.postgres().unwrap().tls.mode, SslMode::VerifyCa);
        // allow starts plain; the pool retries with TLS.
        let allow = load(&[("POSTGRES_USER", "u"), ("POSTGRES_SSL_MODE", "allow")]).unwrap();
        let allow = allow.postgres().unwrap();
        assert_eq!(allow.tls.mode, SslMode::Allow);
        assert_eq!(allow.config.get_ssl_mode(), postgres::config::SslMode::Disable);
        let half = load(&[("POSTGRES_USER", "u"), ("POSTGRES_SSL_CERT", "/c.pem")]).unwrap();
        assert!(half.postgres().unwrap_err().to_string().contains("POSTGRES_SSL_KEY"));
        let bad = load(&[("LRT_DATABASE_URL", "postgres://u@h/db?sslmode=sometimes")]).unwrap();
        assert!(bad.postgres().unwrap_err().to_string().contains("sslmode"));
        // Paths show in `config show`.
        let shown = serde_json::to_string(&ca.entries()).unwrap();
        assert!(shown.contains("/ca.pem"), "{shown}");
    }
}
