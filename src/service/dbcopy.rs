//! `lrt db copy`: moves a whole installation between storage backends (a data directory's
//! SQLite files and a PostgreSQL database, either way): the catalog's rows in one transaction,
//! then every KB's rows (one transaction each), then a count of everything on both sides.
//!
//! The destination must be empty (no tenant): nothing is merged. A copy that fails part-way
//! leaves a partial destination, which the error says to discard; the source is only read.
//! Like `lrt db migrate` this is an operator's command (whoever holds both databases'
//! credentials or directories), so no actor is taken. Locations are shown with passwords
//! masked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use uuid::Uuid;

use crate::catalog::{Catalog, KbStats};
use crate::config::{Backend, Settings};
use crate::error::{Error, Result};
use crate::store::KbStore;
use crate::store::copy;
use crate::store::transfer::SnapshotCounts;

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
}

/// What `lrt db copy` did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub from: String,
    pub to: String,
    /// Catalog rows copied, per table.
    pub catalog: BTreeMap<&'static str, u64>,
    pub knowledge_bases: Vec<CopiedKb>,
    /// Every count was read back from the destination and matched.
    pub verified: bool,
    pub elapsed_ms: u64,
}

/// Copies the installation at `from` into the empty one at `to`; `progress` hears each step.
pub fn db_copy(base: &Settings, from: &Endpoint, to: &Endpoint, mut progress: impl FnMut(&str)) -> Result<CopyReport> {
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
    let mut dest = Catalog::open(&to.settings(base))?;
    let rows = source.export_rows()?;
    progress(&format!(
        "catalog: {} tenants, {} knowledge bases",
        rows.tables[0].len(),
        rows.tables[1].len()
    ));
    dest.import_rows(&rows)?;
    let copied = (|| -> Result<Vec<CopiedKb>> {
        let mut kbs = Vec::new();
        for (tenant, kb) in rows.kbs() {
            let counts = copy_one(&source, &mut dest, tenant, kb)?;
            progress(&format!(
                "{tenant}/{kb}: {} documents, {} chunks, {} entities, {} relations",
                counts.documents, counts.chunks, counts.entities, counts.relations
            ));
            kbs.push(CopiedKb {
                tenant_id: tenant.to_string(),
                kb_id: kb.to_string(),
                counts,
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
        let found = dest.export_rows()?.counts();
        if found != expected {
            return Err(Error::Internal(format!(
                "the copied catalog does not match the source: {found:?} against {expected:?}"
            )));
        }
        Ok(kbs)
    })()
    .map_err(|e| {
        Error::storage(
            format!(
                "the copy stopped part-way; {} now holds a partial copy: discard it (drop the database or remove \
                 the directory) before copying again",
                to.describe()
            ),
            e,
        )
    })?;
    Ok(CopyReport {
        from: from.describe(),
        to: to.describe(),
        catalog: rows.counts().into_iter().collect(),
        knowledge_bases: copied,
        verified: true,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// One KB's rows from `source` into `dest`, read back and counted.
fn copy_one(source: &Catalog, dest: &mut Catalog, tenant: Uuid, kb: Uuid) -> Result<SnapshotCounts> {
    let from_dir = source.layout().kb_dir(tenant, kb);
    let from_at = source.kb_location(tenant, kb, from_dir);
    let from = if from_at.is_sqlite() {
        KbStore::open_read_only(&from_at)?
    } else {
        Some(KbStore::open(&from_at)?)
    };
    dest.layout().create_tenant_dir(tenant)?;
    let dir = dest.layout().create_kb_dir(tenant, kb)?;
    let at = dest.kb_location(tenant, kb, dir.clone());
    let Some(from) = from else {
        // A KB never ingested into has no kb.db: nothing to copy.
        return Ok(SnapshotCounts::default());
    };
    let rows = copy::read_rows(&from)?;
    drop(from);
    let mut to = KbStore::open(&at)?;
    copy::write_rows(&mut to, &rows)?;
    let found = copy::read_rows(&to)?;
    drop(to);
    if found != rows {
        return Err(Error::Internal(format!(
            "knowledge base {kb}: the copied rows do not match the source's"
        )));
    }
    if at.is_sqlite() {
        // On SQLite a KB's recorded size is its folder's.
        if let Some(rec) = dest.kb(tenant, kb)? {
            let stats = KbStats {
                storage_bytes: crate::layout::dir_size(&dir),
                ..rec.stats
            };
            dest.set_kb_stats(tenant, kb, stats)?;
        }
    }
    Ok(rows.counts())
}
