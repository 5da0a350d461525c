//! One error type for the library, and the one table that maps each kind to a CLI exit code
//! and an HTTP status, so that adapters never decide on their own how a failure looks.

use std::fmt;

/// What went wrong, independent of how it is reported. Stable: scripts rely on the exit codes
/// and on the `kind` string printed in `--json` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Internal,
    Usage,
    NotFound,
    Unauthenticated,
    Forbidden,
    Conflict,
    /// A capacity quota (documents, storage, KBs, entities, relations): retrying will not help
    /// until something is deleted or the quota raised, so HTTP says 403.
    Quota,
    /// A rate quota (concurrent queries, monthly API calls): retrying later will help, so HTTP
    /// says 429 with `Retry-After`. Same exit code as `Quota`.
    RateLimited,
    Upstream,
    Storage,
    /// The database cannot be reached now (PostgreSQL down, restarting, out of connection
    /// slots): retrying later will help, so HTTP says 503 with `Retry-After`. Same exit code as
    /// `Storage`.
    Unavailable,
    ConfirmationRequired,
    Interrupted,
}

impl ErrorKind {
    /// Every kind, in exit-code order (used by `lrt help exit-codes` and the docs).
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::Internal,
        ErrorKind::Usage,
        ErrorKind::NotFound,
        ErrorKind::Unauthenticated,
        ErrorKind::Forbidden,
        ErrorKind::Conflict,
        ErrorKind::Quota,
        ErrorKind::RateLimited,
        ErrorKind::Upstream,
        ErrorKind::Storage,
        ErrorKind::Unavailable,
        ErrorKind::ConfirmationRequired,
        ErrorKind::Interrupted,
    ];

    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Unauthenticated => 4,
            ErrorKind::Forbidden => 5,
            ErrorKind::Conflict => 6,
            ErrorKind::Quota | ErrorKind::RateLimited => 7,
            ErrorKind::Upstream => 8,
            ErrorKind::Storage | ErrorKind::Unavailable => 9,
            ErrorKind::ConfirmationRequired => 10,
            ErrorKind::Interrupted => 130,
        }
    }

    /// The HTTP status `lrt serve` answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Internal => 500,
            ErrorKind::Usage => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::Conflict => 409,
            ErrorKind::Quota => 403,
            ErrorKind::RateLimited => 429,
            ErrorKind::Upstream => 502,
            ErrorKind::Storage => 500,
            ErrorKind::Unavailable => 503,
            ErrorKind::ConfirmationRequired => 400,
            ErrorKind::Interrupted => 503,
        }
    }

    /// The snake_case name printed as `error.kind` in JSON errors.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Internal => "internal",
            ErrorKind::Usage => "usage",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Quota => "quota_exceeded",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Storage => "storage",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::ConfirmationRequired => "confirmation_required",
            ErrorKind::Interrupted => "interrupted",
        }
    }

    /// One line for `lrt help exit-codes`.
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::Internal => "internal error (a bug: please report it)",
            ErrorKind::Usage => "invalid command line, flag value, name or setting",
            ErrorKind::NotFound => "tenant, knowledge base, member or document not found (or not visible to you)",
            ErrorKind::Unauthenticated => "no usable identity or credentials",
            ErrorKind::Forbidden => "permission denied, or the tenant is deactivated",
            ErrorKind::Conflict => {
                "already exists, would remove a tenant's last admin, or another process has the knowledge base"
            }
            ErrorKind::Quota => "a tenant capacity quota is exhausted (KBs, documents, storage, entities, relations)",
            ErrorKind::RateLimited => {
                "a tenant rate quota is exhausted (monthly API calls or tokens, concurrent queries)"
            }
            ErrorKind::Upstream => "the LLM or embedding server failed (retryable)",
            ErrorKind::Storage => "the data directory or a database could not be read or written",
            ErrorKind::Unavailable => "the database server cannot be reached now (retryable; HTTP 503)",
            ErrorKind::ConfirmationRequired => "a destructive command needs --yes (or was cancelled)",
            ErrorKind::Interrupted => "interrupted (Ctrl-C)",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The library's error. Messages say what was wrong and, where there is one, what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Quota(String),
    /// Refused for now; `retry_after_secs` says when trying again can succeed.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    #[error("{0}")]
    Upstream(String),
    #[error("{context}: {source}")]
    Storage {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database cannot be reached now; the message says where (password masked) and why.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    ConfirmationRequired(String),
    #[error("{0}")]
    Interrupted(String),
    /// The KB's ingest lock was lost while this process worked under it (on PostgreSQL: its
    /// session ended, and another process may hold the KB now); the write was refused and
    /// nothing of it was stored. A [`Conflict`](ErrorKind::Conflict): another process has the KB.
    #[error("{0}")]
    LockLost(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_) => ErrorKind::Usage,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Conflict(_) | Error::LockLost(_) => ErrorKind::Conflict,
            Error::Quota(_) => ErrorKind::Quota,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Upstream(_) => ErrorKind::Upstream,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::ConfirmationRequired(_) => ErrorKind::ConfirmationRequired,
            Error::Interrupted(_) => ErrorKind::Interrupted,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Wraps an I/O or database failure with what lrt was doing when it happened.
    pub fn storage(context: impl Into<String>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Storage {
            context: context.into(),
            source: source.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches "what lrt was doing" to I/O and SQLite errors.
pub trait StorageContext<T> {
    fn storage_ctx<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E> StorageContext<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn storage_ctx<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::storage(context(), e))
    }
}
