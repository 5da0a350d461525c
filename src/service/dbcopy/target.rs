//! Where `lrt db copy` writes, until the copy is complete: nothing of a copy that stops
//! part-way is left behind.
//!
//! - **PostgreSQL**: the whole installation in one transaction ([`PgInstall`]). A failure, an
//!   interruption, a killed process or a lost server all end in a rollback, with nothing to
//!   clean up; PostgreSQL has no limit on a transaction's size that a copy could reach.
//! - **SQLite**: the installation is built in a staging directory next to the target
//!   (`.NAME.lrt-copy`) and renamed into place at the end, so the target appears whole or not
//!   at all. A stopped copy removes the staging directory; one killed before it could is
//!   recognised by the next copy (its lock file is no longer held) and removed then.

use std::fs::File;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::catalog::copy::CatalogRows;
use crate::catalog::pg::PgInstall;
use crate::catalog::{Catalog, KbStats};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::store::copy::{self, KbRows};
use crate::store::kb::StoreStats;
use crate::store::{KbLocation, KbStore};

/// A copy being written.
pub(super) enum Target {
    Postgres {
        install: Box<PgInstall>,
        /// Kept open for the pool the transaction's connection came from.
        _catalog: Box<Catalog>,
    },
    Sqlite(Staging),
}

impl Target {
    /// A Postgres target: its transaction begun (the database checked to hold no tenant).
    pub fn postgres(settings: &Settings) -> Result<Target> {
        let catalog = Catalog::open(settings)?;
        let install = match &catalog {
            Catalog::Postgres(pg) => Box::new(pg.begin_install()?),
            Catalog::Sqlite(_) => return Err(Error::Internal("a PostgreSQL target on SQLite settings".into())),
        };
        Ok(Target::Postgres {
            install,
            _catalog: Box::new(catalog),
        })
    }

    /// A SQLite target: `dir`'s staging directory, with an empty catalog in it.
    pub fn sqlite(settings: &Settings, dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<Target> {
        Staging::open(settings, dir, progress).map(Target::Sqlite)
    }

    pub fn write_catalog(&mut self, rows: &CatalogRows) -> Result<()> {
        match self {
            Target::Postgres { install, .. } => install.write_catalog(rows),
            Target::Sqlite(s) => s.catalog()?.import_rows(rows),
        }
    }

    /// The catalog as written so far.
    pub fn read_catalog(&mut self) -> Result<CatalogRows> {
        match self {
            Target::Postgres { install, .. } => install.read_catalog(),
            Target::Sqlite(s) => s.catalog()?.export_rows(),
        }
    }

    /// Writes one KB's rows (`None`: a KB that never had a kb.db), reads them back to check
    /// them, and records `stats` (the rows' own) with the written KB's size in its catalog row.
    pub fn write_kb(&mut self, tenant: Uuid, kb: Uuid, rows: Option<&KbRows>, stats: StoreStats) -> Result<()> {
        let storage_bytes = match self {
            Target::Postgres { install, .. } => {
                if let Some(rows) = rows {
                    install.write_kb(tenant, kb, rows)?;
                    check_same(kb, rows, &install.read_kb(tenant, kb)?)?;
                }
                install.kb_storage_bytes(tenant, kb)?
            }
            Target::Sqlite(s) => s.write_kb(tenant, kb, rows)?,
        };
        let stats = KbStats {
            document_count: stats.documents,
            entity_count: stats.entities,
            relation_count: stats.relations,
            storage_bytes,
        };
        match self {
            Target::Postgres { install, .. } => install.set_kb_stats(tenant, kb, stats),
            Target::Sqlite(s) => s.catalog()?.set_kb_stats(tenant, kb, stats),
        }
    }

    /// Makes the copy visible: commits the transaction, or renames the staging directory
    /// into place. On an error the copy is gone, except where the error says otherwise.
    pub fn finish(self) -> Result<()> {
        match self {
            Target::Postgres { install, .. } => install.commit().map_err(|e| {
                super::prefixed(
                    e,
                    "the copy's last step (its commit) failed, so the destination holds either the whole copy or \
                     nothing: `lrt tenant list` on it tells which",
                )
            }),
            Target::Sqlite(s) => s.finish(),
        }
    }

    /// Throws away everything written. `Ok` says what happened; `Err` says what is left and
    /// how to remove it.
    pub fn discard(self) -> std::result::Result<String, String> {
        match self {
            Target::Postgres { install, .. } => {
                drop(install);
                Ok("its transaction was rolled back".into())
            }
            Target::Sqlite(mut s) => s.discard().map(|()| "its staging directory was removed".into()),
        }
    }
}

fn check_same(kb: Uuid, written: &KbRows, found: &KbRows) -> Result<()> {
    if found != written {
        return Err(Error::Internal(format!(
            "knowledge base {kb}: the copied rows do not match the source's"
        )));
    }
    Ok(())
}

/// The lock file a copy holds in its staging directory while it writes.
const MARKER: &str = ".lrt-copy.lock";

/// A data directory being built next to where it will be renamed to.
pub(super) struct Staging {
    target: PathBuf,
    dir: PathBuf,
    /// Held (locked) while the copy writes; unlocked, it marks a stopped copy's leftovers.
    marker: Option<File>,
    catalog: Option<Catalog>,
    /// The target's missing ancestors this copy created, outermost first.
    created: Vec<PathBuf>,
    /// Whether this copy created the staging directory (and so removes it when it stops).
    owned: bool,
    done: bool,
}

impl Staging {
    fn open(base: &Settings, target: &Path, progress: &mut dyn FnMut(&str)) -> Result<Staging> {
        match std::fs::read_dir(target) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(Error::Conflict(format!(
                        "{} is not empty: copy into a new or empty directory",
                        target.display()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::storage(format!("cannot read {}", target.display()), e)),
        }
        let name = target.file_name().ok_or_else(|| {
            Error::Usage(format!(
                "sqlite:{} names no directory to create: give its path, as in sqlite:/srv/lrt-copy",
                target.display()
            ))
        })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut created = Vec::new();
        let mut missing = Some(parent.as_path());
        while let Some(p) = missing.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            created.insert(0, p.to_path_buf());
            missing = p.parent();
        }
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::storage(format!("cannot create {}", parent.display()), e))?;
        let mut staged = format!(".{}.lrt-copy", name.to_string_lossy());
        staged.retain(|c| c != '/');
        let dir = parent.join(staged);
        let mut staging = Staging {
            target: target.to_path_buf(),
            dir,
            marker: None,
            catalog: None,
            created,
            owned: false,
            done: false,
        };
        staging.claim(progress)?;
        let mut settings = base.clone();
        settings.storage.backend.value = crate::config::Backend::Sqlite;
        settings.data_dir.value = staging.dir.clone();
        staging.catalog = Some(Catalog::open(&settings)?);
        Ok(staging)
    }

    /// Creates the staging directory and locks its marker, removing a stopped copy's
    /// leftovers first; refuses one a running copy holds, or a directory that is not a copy's.
    fn claim(&mut self, progress: &mut dyn FnMut(&str)) -> Result<()> {
        let dir = &self.dir;
        if dir.exists() {
            let marker = File::open(dir.join(MARKER)).map_err(|_| {
                Error::Conflict(format!(
                    "{} is in the way of the copy's staging directory: move or remove it",
                    dir.display()
                ))
            })?;
            if marker.try_lock().is_err() {
                return Err(Error::Conflict(format!(
                    "another `lrt db copy` is writing to {} (in {}); wait for it to finish",
                    self.target.display(),
                    dir.display()
                )));
            }
            std::fs::remove_dir_all(dir)
                .map_err(|e| Error::storage(format!("cannot remove the stopped copy in {}", dir.display()), e))?;
            progress(&format!(
                "removed the partial copy a stopped `lrt db copy` left in {}",
                dir.display()
            ));
        }
        crate::layout::create_private_dir(dir)?;
        self.owned = true;
        let marker =
            File::create(dir.join(MARKER)).map_err(|e| Error::storage("cannot create the copy's lock file", e))?;
        marker
            .try_lock()
            .map_err(|e| Error::storage("cannot lock the copy's staging directory", e.to_string()))?;
        self.marker = Some(marker);
        Ok(())
    }

    fn catalog(&mut self) -> Result<&mut Catalog> {
        self.catalog
            .as_mut()
            .ok_or_else(|| Error::Internal("the staged catalog is closed".into()))
    }

    /// Writes one KB into its staged folder; returns the folder's size.
    fn write_kb(&mut self, tenant: Uuid, kb: Uuid, rows: Option<&KbRows>) -> Result<u64> {
        let layout = self.catalog()?.layout().clone();
        layout.create_tenant_dir(tenant)?;
        let dir = layout.create_kb_dir(tenant, kb)?;
        if let Some(rows) = rows {
            let mut to = KbStore::open(&KbLocation::sqlite(dir.clone()))?;
            copy::write_rows(&mut to, rows)?;
            let found = copy::read_rows(&to)?;
            drop(to);
            check_same(kb, rows, &found)?;
        }
        Ok(crate::layout::dir_size(&dir))
    }

    /// Closes the staged catalog and renames the staging directory to the target.
    fn finish(mut self) -> Result<()> {
        // Closing the only connections folds the write-ahead logs into the databases.
        self.catalog = None;
        let renamed = std::fs::remove_file(self.dir.join(MARKER))
            .and_then(|()| std::fs::rename(&self.dir, &self.target))
            .map_err(|e| {
                Error::storage(
                    format!(
                        "cannot move the copy from {} to {}",
                        self.dir.display(),
                        self.target.display()
                    ),
                    e,
                )
            });
        if let Err(e) = renamed {
            return Err(match self.discard() {
                Ok(()) => super::prefixed(e, "nothing was written: "),
                Err(left) => super::prefixed(e, &format!("{left}: ")),
            });
        }
        self.done = true;
        self.marker = None;
        if let Some(parent) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename made durable (best effort: not every file system syncs directories).
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        Ok(())
    }

    /// Removes the staging directory and the ancestors this copy created.
    fn discard(&mut self) -> std::result::Result<(), String> {
        self.done = true;
        self.catalog = None;
        if self.owned
            && let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(format!(
                "the partial copy in {} could not be removed ({e}): remove that directory before copying again",
                self.dir.display()
            ));
        }
        self.marker = None;
        self.remove_created();
        Ok(())
    }

    /// Removes the ancestors this copy created, innermost first, where they are empty.
    fn remove_created(&mut self) {
        for dir in self.created.iter().rev() {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // A copy that ended without finish or discard (a panic) leaves nothing either.
        if !self.done {
            let _ = self.discard();
        }
    }
}
