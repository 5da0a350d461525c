//! Where the catalog lives: `storage.backend` (`LRT_STORAGE`), SQLite under the data directory
//! by default, or PostgreSQL from `LRT_DATABASE_URL` / `storage.database_url` and upstream
//! LightRAG's `POSTGRES_*` variables, which override the URL's parts one by one. Passwords are
//! kept out of every display and message ([`PgSettings::location`] masks them).

use std::fmt;
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
    /// `POSTGRES_SSL_CERT`, `POSTGRES_SSL_KEY`, `POSTGRES_SSL_ROOT_CERT`, `POSTGRES_SSL_CRL`:
    /// the names of those set (TLS is refused, so they are only checked for).
    pub ssl_files: Vec<&'static str>,
}

/// A PostgreSQL connection as the catalog opens it.
#[derive(Clone)]
pub struct PgSettings {
    pub config: postgres::Config,
    pub max_connections: u32,
}

impl fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgSettings({})", self.location())
    }
}

impl PgSettings {
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

const SSL_FILE_VARS: [&str; 4] = [
    "POSTGRES_SSL_CERT",
    "POSTGRES_SSL_KEY",
    "POSTGRES_SSL_ROOT_CERT",
    "POSTGRES_SSL_CRL",
];

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
            ssl_files: SSL_FILE_VARS.into_iter().filter(|v| env.get(v).is_some()).collect(),
        })
    }

    /// The PostgreSQL connection these settings describe: the URL, then each `POSTGRES_*`
    /// variable set over it. Every refusal is a usage error naming the setting, never its
    /// value (a URL holds a password).
    pub fn postgres(&self) -> Result<PgSettings> {
        let mut config = match &self.database_url.value {
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
        if let Some(mode) = &self.ssl_mode.value {
            config.ssl_mode(ssl_mode(mode)?);
        }
        if matches!(config.get_ssl_mode(), postgres::config::SslMode::Require) {
            return Err(tls_unsupported("sslmode=require"));
        }
        if let Some(var) = self.ssl_files.first() {
            return Err(tls_unsupported(var));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("lrt");
        Ok(PgSettings {
            config,
            max_connections: self.max_connections.value,
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
        ]
        .into_iter()
        .map(|(k, v, s): (&str, serde_json::Value, &Source)| (k.to_string(), v, s.to_string()))
        .collect()
    }
}

fn tls_unsupported(what: &str) -> Error {
    Error::Usage(format!(
        "{what}: TLS connections to PostgreSQL are not supported by this lrt yet; \
         use POSTGRES_SSL_MODE=disable or prefer (for example through a local socket or an SSH tunnel)"
    ))
}

/// upstream's `POSTGRES_SSL_MODE` values; those needing TLS are refused (no TLS client here).
fn ssl_mode(raw: &str) -> Result<postgres::config::SslMode> {
    use postgres::config::SslMode;
    match raw.trim().to_ascii_lowercase().as_str() {
        "disable" => Ok(SslMode::Disable),
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" | "verify-ca" | "verify-full" => Err(tls_unsupported(&format!("POSTGRES_SSL_MODE={raw}"))),
        _ => Err(Error::Usage(format!(
            "POSTGRES_SSL_MODE: expected disable, allow, prefer, require, verify-ca or verify-full, got {raw:?}"
        ))),
    }
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
        let tls = load(&[("POSTGRES_USER", "u"), ("POSTGRES_SSL_MODE", "require")]).unwrap();
        assert!(tls.postgres().unwrap_err().to_string().contains("TLS"));
        assert!(load(&[("POSTGRES_SSL_MODE", "sometimes")]).unwrap().postgres().is_err());
        let err = load(&[]).unwrap().postgres().unwrap_err().to_string();
        assert!(err.contains("POSTGRES_USER"), "{err}");
        assert_eq!(
            mask_url("postgres://a:b@h/db?password=c&sslmode=disable"),
            "postgres://a:***@h/db?password=***&sslmode=disable"
        );
    }
}
