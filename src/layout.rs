//! The data directory's layout. Every path below `tenants/` is built from parsed UUIDs
//! only: no user-supplied text ever becomes part of a path.
//!
//! ```text
//! <data_dir>/catalog.db
//! <data_dir>/tenants/<tenant_uuid>/kbs/<kb_uuid>/
//! ```

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::error::{Error, Result, StorageContext};

/// The data directory, and the paths inside it.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Why the data directory (or catalog.db in it) cannot be written, `None` when it can.
    /// SQLite creates `-wal` and `-shm` files beside a WAL database even to read it, so on a
    /// read-only directory every command failed with SQLite's bare "unable to open database
    /// file"; this names the cause. Asks the kernel (`access(2)`), so a read-only mount counts
    /// for root too.
    pub fn unwritable(&self) -> Option<String> {
        for path in [self.root.clone(), self.catalog_path()] {
            if path != self.root && !path.exists() {
                continue;
            }
            if let Err(e) = writable(&path) {
                return Some(format!("{}: {e}", path.display()));
            }
        }
        None
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.root.join("catalog.db")
    }

    pub fn tenant_dir(&self, tenant: Uuid) -> PathBuf {
        self.root.join("tenants").join(tenant.hyphenated().to_string())
    }

    pub fn kb_dir(&self, tenant: Uuid, kb: Uuid) -> PathBuf {
        self.tenant_dir(tenant).join("kbs").join(kb.hyphenated().to_string())
    }

    /// Creates the data directory (mode 0700) if it does not exist, and takes group and other
    /// access away from one that does (a 0755 directory left `catalog.db` readable by every
    /// local user).
    pub fn ensure_root(&self) -> Result<()> {
        create_private_dir(&self.root)?;
        tighten(&self.root, 0o700);
        Ok(())
    }

    /// Creates a tenant's folder, refusing to follow symlinks inside the data directory.
    pub fn create_tenant_dir(&self, tenant: Uuid) -> Result<PathBuf> {
        let dir = self.tenant_dir(tenant);
        self.create_below_root(&dir)?;
        Ok(dir)
    }

    /// Creates a KB's folder, refusing to follow symlinks inside the data directory.
    pub fn create_kb_dir(&self, tenant: Uuid, kb: Uuid) -> Result<PathBuf> {
        let dir = self.kb_dir(tenant, kb);
        self.create_below_root(&dir)?;
        Ok(dir)
    }

    /// A KB's folder for reading, checked for symbolic links on the way; creates nothing.
    pub fn existing_kb_dir(&self, tenant: Uuid, kb: Uuid) -> Result<PathBuf> {
        let dir = self.kb_dir(tenant, kb);
        self.check_no_symlinks(&dir)?;
        Ok(dir)
    }

    /// Removes a folder made by this layout. A folder that is already gone is fine.
    pub fn remove_dir(&self, dir: &Path) -> Result<()> {
        self.check_no_symlinks(dir)?;
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::storage(format!("cannot remove {}", dir.display()), e)),
        }
    }

    fn create_below_root(&self, dir: &Path) -> Result<()> {
        self.ensure_root()?;
        let rel = dir
            .strip_prefix(&self.root)
            .map_err(|_| Error::Internal("path outside data dir".into()))?;
        let mut current = self.root.clone();
        for part in rel.components() {
            current.push(part);
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(symlink_error(&current)),
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(Error::storage(
                        format!("cannot create {}", current.display()),
                        "a file is in the way",
                    ));
                }
                Err(_) => create_private_dir(&current).map_err(|e| match self.unwritable() {
                    // On PostgreSQL the catalog accepts the write and the folder is where it
                    // fails: name the cause as SQLite's read-only catalog does.
                    Some(why) => Error::storage(
                        format!("cannot create {}", current.display()),
                        format!("the data directory is not writable ({why})"),
                    ),
                    None => e,
                })?,
            }
        }
        Ok(())
    }

    fn check_no_symlinks(&self, dir: &Path) -> Result<()> {
        let rel = dir
            .strip_prefix(&self.root)
            .map_err(|_| Error::Internal("path outside data dir".into()))?;
        let mut current = self.root.clone();
        for part in rel.components() {
            current.push(part);
            if let Ok(meta) = std::fs::symlink_metadata(&current)
                && meta.file_type().is_symlink()
            {
                return Err(symlink_error(&current));
            }
        }
        Ok(())
    }
}

fn symlink_error(path: &Path) -> Error {
    Error::storage(
        format!("refusing to follow the symbolic link {}", path.display()),
        "symbolic links are not allowed inside the data directory",
    )
}

/// Takes group and other access away from `path` (to `mode`), as far as the file system lets
/// its owner: best effort, as a read-only data directory must still be readable.
pub fn tighten(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && !meta.file_type().is_symlink()
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// Creates the database file `path` with mode 0600 if it does not exist (SQLite then gives its
/// `-wal` and `-shm` files the same mode), or tightens an existing one.
pub fn private_db_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .storage_ctx(|| format!("cannot create {}", path.display()))?;
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        tighten(Path::new(&name), 0o600);
    }
    Ok(())
}

/// Creates `dir` (and its parents) with mode 0700 where it creates them.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .storage_ctx(|| format!("cannot create directory {}", dir.display()))
}

/// Total size in bytes of the files below `dir` (symlinks are not followed), without SQLite's
/// transient files (the write-ahead log, its shared memory, a rollback journal), files being
/// written (`*.tmp.*`) and the disk reserve (`store::reserve`): a WAL holds pages kb.db already counts or soon will, and
/// counting it recorded 14–17 MB for a 6 MB KB, so doctor and storage quotas over-counted.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_size(&entry.path()),
            Ok(t) if t.is_file() && !is_transient(&entry.file_name()) => entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

fn is_transient(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    ["-wal", "-shm", "-journal"].iter().any(|s| name.ends_with(s))
        || name.contains(".tmp.")
        || name == crate::store::reserve::RESERVE_FILE
}

/// Opens a SQLite database (catalog.db or a kb.db) only to read it, wherever it lies.
///
/// SQLite reads a WAL database through its `-shm` index file, which it must create beside the
/// database when it is not there, even to read: in a read-only directory (a read-only mount, a
/// folder without write permission) a plain read-only open fails with "unable to open database
/// file". There, when no `-shm` exists, the database is opened `immutable` (read as a plain
/// file: no locks, no WAL index), which reads exactly what was committed when no `-wal` holds
/// changes not yet copied into it (a cleanly closed database has none). A non-empty `-wal`
/// without its `-shm` cannot be read that way, and the error says so. With both files present,
/// or in a writable directory, SQLite's ordinary read-only open is used.
pub fn open_sqlite_read_only(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    if writable(dir).is_ok() || beside("-shm").exists() {
        return rusqlite::Connection::open_with_flags(path, flags);
    }
    if std::fs::metadata(beside("-wal")).is_ok_and(|m| m.len() > 0) {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!(
                "{} has changes in its -wal file that only a writable directory lets SQLite read ({} is read-only): make it writable once, then read-only again",
                path.display(),
                dir.display()
            )),
        ));
    }
    let absolute = std::path::absolute(path).map_err(|e| rusqlite::Error::InvalidPath(path.join(e.to_string())))?;
    let mut uri = String::from("file:");
    for c in absolute.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    rusqlite::Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
}

/// Whether the process may write `path` (`access(2)`: a read-only mount counts for root too).
pub(crate) fn writable(path: &Path) -> std::result::Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_size_leaves_out_the_wal_and_files_being_written() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("kb.db"), [0u8; 100]).unwrap();
        std::fs::write(tmp.path().join("kb.db-wal"), [0u8; 1000]).unwrap();
        std::fs::write(tmp.path().join("kb.db-shm"), [0u8; 1000]).unwrap();
        std::fs::create_dir(tmp.path().join("vectors")).unwrap();
        std::fs::write(tmp.path().join("vectors/a.usearch"), [0u8; 10]).unwrap();
        std::fs::write(tmp.path().join("vectors/a.usearch.tmp.7.0"), [0u8; 1000]).unwrap();
        assert_eq!(dir_size(tmp.path()), 110);
    }

    #[test]
    fn kb_dir_is_built_from_uuids_and_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path().join("data"));
        let (t, k) = (Uuid::new_v4(), Uuid::new_v4());
        let dir = layout.create_kb_dir(t, k).unwrap();
        assert_eq!(
            dir,
            tmp.path()
                .join("data/tenants")
                .join(t.to_string())
                .join("kbs")
                .join(k.to_string())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        layout.remove_dir(&layout.tenant_dir(t)).unwrap();
        assert!(!dir.exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_tenant_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path().join("data"));
        let t = Uuid::new_v4();
        std::fs::create_dir_all(tmp.path().join("data/tenants")).unwrap();
        std::fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), layout.tenant_dir(t)).unwrap();
        assert!(layout.create_kb_dir(t, Uuid::new_v4()).is_err());
        assert!(layout.remove_dir(&layout.tenant_dir(t)).is_err());
        assert!(tmp.path().join("elsewhere").exists());
    }

    #[cfg(unix)]
    #[test]
    fn an_open_data_directory_and_its_databases_are_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let catalog = root.join("catalog.db");
        std::fs::write(&catalog, b"").unwrap();
        std::fs::set_permissions(&catalog, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(crate::catalog::SqliteCatalog::open(Layout::new(root.clone())).unwrap());
        assert_eq!((mode(&root), mode(&catalog)), (0o700, 0o600));

        // A new kb.db (and its WAL) is private from the start.
        let kb = tmp.path().join("kb");
        std::fs::create_dir(&kb).unwrap();
        let store = crate::store::kb::KbStore::open(&crate::store::KbLocation::sqlite(&kb)).unwrap();
        assert_eq!(mode(&kb.join("kb.db")), 0o600);
        assert_eq!(mode(&kb.join("kb.db-wal")), 0o600);
        drop(store);
    }
}
