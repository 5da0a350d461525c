//! `lrt db copy`: moves a whole installation between storage backends (a data directory's
//! SQLite files and a PostgreSQL database, either way): the catalog's rows read in one
//! transaction, then every KB's rows, each under the source KB's ingest lock and from one
//! read snapshot, then a count of everything on both sides.
//!
//! The destination must be empty: nothing is merged. Nothing of a copy that stops part-way
//! (an error, Ctrl-C) is left there ([`target`]): on PostgreSQL the whole copy is one
//! transaction; a data directory is built next to its place and renamed into it at the end.
//! The source is only read, and may stay in use: what a copy of a live installation holds is
//! in the command's help (`src/cli/db.rs`). Like `lrt db migrate` this is an operator's
//! command (whoever holds both databases' credentials or directories), so no actor is taken.
//! Locations are shown with passwords masked.

mod target;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use uuid::Uuid;

use self::target::Target;
use crate::catalog::Catalog;
use crate::config::{Backend, Settings};
use crate::error::{Error, Result};
use crate::store::copy::{self, KbRows};
use crate::store::lock::KbLock;
use crate::store::transfer::SnapshotCounts;
use crate::store::{KbLocation, KbStore};

/// One end of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `sqlite:DIR`: a data directory (catalog.db and a kb.db per KB).
    Sqlite(PathBuf),
    /// `postgres://…` (or `postgresql://…`): a database.
    Postgres(String),
}

impl Endpoint {
    /// `sqlite:DIR` or a `postgres://`/`postgresql://` URL.
    pub fn parse(text: &str) -> Result<Endpoint> {
        if let Some(dir) = text.strip_prefix("sqlite:") {
            if dir.is_empty() {
                return Err(Error::Usage(
                    "sqlite: needs a data directory, as in sqlite:/var/lib/lrt".into(),
                ));
            }
            return Ok(Endpoint::Sqlite(PathBuf::from(dir)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Endpoint::Postgres(text.to_string()));
        }
        let shown = if text.contains("://") {
            crate::config::mask_url(text)
        } else {
            text.to_string()
        };
        Err(Error::Usage(format!(
            "{shown} is not a storage location: use sqlite:DIR or postgres://user@host/db"
        )))
    }

    /// Where this is, with any password masked.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Sqlite(dir) => format!("sqlite:{}", dir.display()),
            Endpoint::Postgres(url) => crate::config::mask_url(url),
        }
    }

    /// `base` with its storage pointed here (a PostgreSQL end keeps `base`'s data directory
    /// for its derived index files).
    fn settings(&self, base: &Settings) -> Settings {
        let mut s = base.clone();
        match self {
            Endpoint::Sqlite(dir) => {
                s.storage.backend.value = Backend::Sqlite;
                s.data_dir.value = dir.clone();
            }
            Endpoint::Postgres(url) => {
                s.storage.backend.value = Backend::Postgres;
                s.storage.database_url.value = Some(url.clone());
            }
        }
        s
    }
}

/// One KB's copied rows.
#[derive(Debug, Clone, Serialize)]
pub struct CopiedKb {
    pub tenant_id: String,
    pub kb_id: String,
    pub counts: SnapshotCounts,
    /// When its rows were read (under its ingest lock, in one snapshot).
    pub read_at: String,
}

/// What `lrt db copy` did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub from: String,
    pub to: String,
    /// When the source's catalog was read: tenants, KBs, members, keys and audit entries
    /// added after this are not in the copy.
    pub catalog_read_at: String,
    /// Catalog rows copied, per table.
    pub catalog: BTreeMap<&'static str, u64>,
    pub knowledge_bases: Vec<CopiedKb>,
    /// Every count was read back from the destination and matched.
    pub verified: bool,
    pub elapsed_ms: u64,
}

/// How often a copy waiting for a KB's ingest lock tries again (and looks for Ctrl-C).
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// When a copy gives up before it is done, besides on an error.
pub struct CopyLimits<'a> {
    /// Asked between steps (and while waiting for a lock) whether to stop: Ctrl-C, SIGTERM.
    pub cancelled: &'a dyn Fn() -> bool,
    /// How long to wait for a KB that an ingest, deletion, curation or repair holds; `None`:
    /// as long as it takes.
    pub busy_timeout: Option<std::time::Duration>,
}

/// Copies the installation at `from` into the empty one at `to`; `progress` hears each step,
/// and `limits` say when to give up.
/// A copy that stops leaves nothing at `to` (the error says so, or what is left and how to
/// remove it) and keeps the cause's error kind: interrupted, storage, conflict…
pub fn db_copy(
    base: &Settings,
    from: &Endpoint,
    to: &Endpoint,
    limits: &CopyLimits,
    mut progress: impl FnMut(&str),
) -> Result<CopyReport> {
    let started = std::time::Instant::now();
    if from == to {
        return Err(Error::Usage("--from and --to name the same place".into()));
    }
    if let Endpoint::Sqlite(dir) = from
        && !dir.join("catalog.db").is_file()
    {
        return Err(Error::NotFound(format!(
            "{} holds no lrt installation (no catalog.db)",
            from.describe()
        )));
    }
    let source = Catalog::open(&from.settings(base))?;
    let mut target = match to {
        Endpoint::Postgres(_) => Target::postgres(&to.settings(base))?,
        Endpoint::Sqlite(dir) => Target::sqlite(&to.settings(base), dir, &mut progress)?,
    };
    let copied = match fill(&source, &mut target, to, limits, &mut progress) {
        Ok(copied) => copied,
        Err(e) => {
            let note = match target.discard() {
                Ok(what) => format!("the copy stopped, and {} holds nothing of it: {what}", to.describe()),
                Err(left) => format!("the copy stopped part-way: {left}"),
            };
            return Err(prefixed(e, &format!("{note}. What stopped it: ")));
        }
    };
    target.finish()?;
    Ok(CopyReport {
        from: from.describe(),
        to: to.describe(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        ..copied
    })
}

/// Writes the whole copy into `target` (not yet made visible); the report without its ends.
fn fill(
    source: &Catalog,
    target: &mut Target,
    to: &Endpoint,
    limits: &CopyLimits,
    progress: &mut dyn FnMut(&str),
) -> Result<CopyReport> {
    let mut rows = source.export_rows()?;
    let catalog_read_at = crate::time::now();
    // No ingest runs on the copy yet: nothing is reserved there.
    let reserved = crate::catalog::copy::position("knowledge_bases", "reserved_documents");
    for kb in rows.tables.get_mut(1).into_iter().flatten() {
        kb[reserved] = copy::Cell::Int(0);
    }
    progress(&format!(
        "catalog: {} tenants, {} knowledge bases (as of {catalog_read_at})",
        rows.tables[0].len(),
        rows.tables[1].len()
    ));
    target.write_catalog(&rows)?;
    let mut kbs = Vec::new();
    for (tenant, kb) in rows.kbs() {
        if (limits.cancelled)() {
            return Err(interrupted());
        }
        let name = rows.kb_label(tenant, kb);
        let (counts, read_at) = copy_one(source, target, tenant, kb, &name, limits, progress)?;
        progress(&format!(
            "{name}: {} documents, {} chunks, {} entities, {} relations",
            counts.documents, counts.chunks, counts.entities, counts.relations
        ));
        kbs.push(CopiedKb {
            tenant_id: tenant.to_string(),
            kb_id: kb.to_string(),
            counts,
            read_at,
        });
    }
    // The catalog read back: every table as many rows as the source's (PostgreSQL keeps
    // no `lrt use` context without a tenant).
    let mut expected = rows.counts();
    if matches!(to, Endpoint::Postgres(_)) {
        let at = crate::catalog::copy::position("user_contexts", "tenant_id");
        let kept = rows.tables[7].iter().filter(|r| r[at] != copy::Cell::Null).count();
        expected[7].1 = kept as u64;
    }
    let found = target.read_catalog()?.counts();
    if found != expected {
        return Err(Error::Internal(format!(
            "the copied catalog does not match the source: {found:?} against {expected:?}"
        )));
    }
    Ok(CopyReport {
        from: String::new(),
        to: String::new(),
        catalog_read_at,
        catalog: rows.counts().into_iter().collect(),
        knowledge_bases: kbs,
        verified: true,
        elapsed_ms: 0,
    })
}

/// One KB's rows from `source` into `target`, under the source KB's ingest lock (so no
/// ingest, deletion, curation or repair is half-done in them) and from one read snapshot;
/// read back and compared. Returns the counts and when the rows were read.
fn copy_one(
    source: &Catalog,
    target: &mut Target,
    tenant: Uuid,
    kb: Uuid,
    name: &str,
    limits: &CopyLimits,
    progress: &mut dyn FnMut(&str),
) -> Result<(SnapshotCounts, String)> {
    let from_at = source.kb_location(tenant, kb, source.layout().kb_dir(tenant, kb));
    let lock = lock_source(&from_at, name, limits, progress)?;
    let from = if from_at.is_sqlite() {
        KbStore::open_read_only(&from_at)?
    } else {
        Some(KbStore::open(&from_at)?)
    };
    // A KB never ingested into has no kb.db: nothing to copy.
    let rows = from.as_ref().map(copy::read_rows).transpose()?;
    let read_at = crate::time::now();
    drop(from);
    // Checked after the read: a KB still there now was there throughout it (its deletion
    // removes the catalog row first, or with its rows in one transaction).
    if source.kb(tenant, kb)?.is_none() {
        return Err(Error::Conflict(format!(
            "knowledge base {name} was deleted from the source during the copy; copy again"
        )));
    }
    drop(lock);
    let stats = rows.as_ref().map(KbRows::stats).unwrap_or_default();
    target.write_kb(tenant, kb, rows.as_ref(), stats)?;
    Ok((rows.map(|r| r.counts()).unwrap_or_default(), read_at))
}

/// The source KB's ingest lock; while another process holds it (an ingest, a deletion, a
/// curation, a repair) says so once and waits, trying again every [`LOCK_POLL`], until it is
/// free, the copy is cancelled, or the KB stayed busy past the limit (a conflict). `None` for
/// a SQLite KB without a folder (nothing to lock).
fn lock_source(
    at: &KbLocation,
    name: &str,
    limits: &CopyLimits,
    progress: &mut dyn FnMut(&str),
) -> Result<Option<KbLock>> {
    if at.is_sqlite() && !at.dir.is_dir() {
        // No folder, no kb.db: nothing to copy, and no ingest can run there (it needs the
        // folder for its lock).
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let mut told = false;
    loop {
        if let Some(lock) = KbLock::try_acquire(at)? {
            return Ok(Some(lock));
        }
        if !told {
            progress(&format!(
                "{name}: waiting for the ingest (or deletion, curation, repair) running on it to finish…"
            ));
            told = true;
        }
        if (limits.cancelled)() {
            return Err(interrupted());
        }
        if let Some(limit) = limits.busy_timeout
            && started.elapsed() >= limit
        {
            return Err(Error::Conflict(format!(
                "knowledge base {name} was still busy (an ingest, deletion, curation or repair holds it) after {}s (--busy-timeout); copy again when it is idle",
                limit.as_secs()
            )));
        }
        std::thread::sleep(LOCK_POLL);
    }
}

fn interrupted() -> Error {
    Error::Interrupted("interrupted".into())
}

/// `e` with `prefix` before its message, of the same kind (so the same exit code).
pub(crate) fn prefixed(e: Error, prefix: &str) -> Error {
    let p = |m: String| format!("{prefix}{m}");
    match e {
        Error::Usage(m) => Error::Usage(p(m)),
        Error::NotFound(m) => Error::NotFound(p(m)),
        Error::Unauthenticated(m) => Error::Unauthenticated(p(m)),
        Error::Forbidden(m) => Error::Forbidden(p(m)),
        Error::Conflict(m) => Error::Conflict(p(m)),
        Error::Quota(m) => Error::Quota(p(m)),
        Error::Upstream(m) => Error::Upstream(p(m)),
        Error::Storage { context, source } => Error::Storage {
            context: p(context),
            source,
        },
        Error::Unavailable(m) => Error::Unavailable(p(m)),
        Error::ConfirmationRequired(m) => Error::ConfirmationRequired(p(m)),
        Error::Interrupted(m) => Error::Interrupted(p(m)),
        Error::Internal(m) => Error::Internal(p(m)),
        other => other,
    }
}
