//! Knowledge bases and tenants as portable units: `kb export|import`, `tenant export|import`.
//!
//! An archive is an uncompressed tar holding `manifest.json` first, then one consistent
//! `kb.db` snapshot per KB (taken with `VACUUM INTO`, so exporting never blocks or waits for
//! an ingest). Vector indexes are not archived: they are derived data and are rebuilt from
//! kb.db on import. The manifest records the format version, the lrt version, where the data
//! came from (names and ids), the KB configuration overrides, the pinned embedding model,
//! row counts, and the size and SHA-256 of every other entry.
//!
//! Reading never trusts the archive: entries are looked up by the names this module expects
//! (anything else, including `../` tricks, links and devices, is refused), every byte is
//! copied into files this module names inside a private staging folder, sizes and checksums
//! are compared before anything is created, and the snapshot passes SQLite's `quick_check`.
//! An import creates a *new* KB (new id, new folder from `layout.rs`) or a new tenant; if any
//! step fails, what was created is removed again.
//!
//! Permissions: `kb export` needs `document:read` (it discloses exactly what `doc show` and
//! `graph export` already show to the same roles); `kb import` needs `kb:create` (it creates
//! a KB, like `kb create`, and counts against `max_kb_per_tenant` and `max_documents`).
//! Tenant export and import are super-admin only, like creating tenants and reading members
//! of any tenant.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Service, kbs, tenants, validate};
use crate::authz::{Actor, Need, OnInactive, Permission, Role};
use crate::catalog::{KbRecord, KbStats, TenantRecord};
use crate::error::{Error, Result};
use crate::llm::usage::TokenCounts;
use crate::model::{self, Overrides, SettingsSection};
use crate::store::KbBackend;
use crate::store::kb::{EmbeddingPin, KbStore};
use crate::store::transfer::{self, SnapshotCounts};

/// `format` of a KB archive's manifest.
pub const KB_FORMAT: &str = "lrt-kb-archive";
/// `format` of a tenant archive's manifest.
pub const TENANT_FORMAT: &str = "lrt-tenant-archive";
/// The archive layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const MANIFEST: &str = "manifest.json";
/// A manifest larger than this is not one lrt wrote.
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// One data entry of an archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// Where a KB came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KbSource {
    pub tenant_id: String,
    pub tenant_name: String,
    pub kb_id: String,
    pub kb_name: String,
    pub description: Option<String>,
}

/// One KB inside an archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KbPart {
    pub source: KbSource,
    /// The KB's own configuration overrides (not the tenant's).
    pub config: Overrides,
    pub embedding: Option<EmbeddingPin>,
    pub kb_schema_version: u32,
    pub counts: SnapshotCounts,
    pub file: ArchiveFile,
}

/// `manifest.json` of `kb export`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KbManifest {
    pub format: String,
    pub format_version: u32,
    pub lrt_version: String,
    pub created_at: String,
    pub created_by: String,
    pub kb: KbPart,
}

/// A member as archived.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedMember {
    pub user_id: String,
    pub role: Role,
}

/// The tenant row as archived (overrides only, like the catalog stores them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedTenant {
    pub tenant_id: String,
    pub tenant_name: String,
    pub description: Option<String>,
    pub config: Overrides,
    pub quota: Overrides,
    pub metadata: Map<String, Value>,
    pub is_active: bool,
}

/// `manifest.json` of `tenant export`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantManifest {
    pub format: String,
    pub format_version: u32,
    pub lrt_version: String,
    pub created_at: String,
    pub created_by: String,
    pub tenant: ArchivedTenant,
    pub members: Vec<ArchivedMember>,
    pub kbs: Vec<KbPart>,
}

/// What `kb export` / `tenant export` report.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub file: String,
    pub bytes: u64,
    pub format: String,
    pub format_version: u32,
    pub tenant_id: String,
    pub tenant_name: String,
    /// The exported KBs (one for `kb export`).
    pub kbs: Vec<ExportedKb>,
    pub member_count: usize,
    pub elapsed_ms: u64,
}

/// One exported KB in a report.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedKb {
    pub kb_id: String,
    pub kb_name: String,
    #[serde(flatten)]
    pub counts: SnapshotCounts,
}

/// What `kb import` reports for each KB it created.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedKb {
    pub kb_id: String,
    pub kb_name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub source_kb_id: String,
    pub source_kb_name: String,
    #[serde(flatten)]
    pub counts: SnapshotCounts,
    /// `kept` (the archived vectors, indexes rebuilt) or `reembedded`.
    pub embeddings: String,
    /// Vectors per collection in the rebuilt indexes.
    pub vectors: Map<String, Value>,
    /// The kb.db schema was upgraded from this version (older archives).
    pub migrated_from: Option<u32>,
    pub elapsed_ms: u64,
}

/// What `tenant import` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedTenant {
    pub tenant_id: String,
    pub tenant_name: String,
    pub source_tenant_id: String,
    pub source_tenant_name: String,
    pub member_count: usize,
    pub kbs: Vec<ImportedKb>,
    pub elapsed_ms: u64,
}

fn invalid(file: &Path, why: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{} is not a valid lrt archive: {why}", file.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::storage("cannot read the snapshot", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::storage("cannot read the snapshot", e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}

/// The entry name of the i-th KB snapshot: fixed shapes only, so a manifest naming anything
/// else is refused.
fn kb_entry_name(index: Option<usize>) -> String {
    match index {
        None => "kb.db".into(),
        Some(i) => format!("kbs/{i}.db"),
    }
}

/// Refuses an export destination before any work: a directory, an existing file without
/// `force`, and anything inside the data directory `data_dir` (an export must never replace
/// lrt's own files, however it is named).
pub fn check_destination(path: &Path, force: bool, data_dir: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let (Ok(parent), Ok(root)) = (parent.canonicalize(), data_dir.canonicalize())
        && parent.starts_with(&root)
    {
        return Err(Error::Usage(format!(
            "{} is inside the data directory ({}); write the export somewhere else",
            path.display(),
            root.display()
        )));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(Error::Usage(format!("{} is a directory", path.display()))),
        Ok(_) if !force => Err(Error::Conflict(format!(
            "{} already exists; pass --force to replace it",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes `manifest` and the `(entry name, file)` pairs as a tar to a temporary file next to
/// `dest`, syncs it and moves it into place: readers never see half an archive, and without
/// `force` an existing file (even one that appeared meanwhile) is never replaced.
fn write_archive(dest: &Path, force: bool, manifest: &[u8], files: &[(String, PathBuf)]) -> Result<u64> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let context = || format!("cannot write {}", dest.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".lrt-archive-")
        .tempfile_in(dir)
        .map_err(|e| Error::storage(context(), e))?;
    {
        let mut builder = tar::Builder::new(BufWriter::new(tmp.as_file_mut()));
        let mtime = jiff::Timestamp::now().as_second().max(0) as u64;
        let header = |size: u64| {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(size);
            h.set_mode(0o600);
            h.set_mtime(mtime);
            h
        };
        builder
            .append_data(&mut header(manifest.len() as u64), MANIFEST, manifest)
            .map_err(|e| Error::storage(context(), e))?;
        for (name, path) in files {
            let file = std::fs::File::open(path).map_err(|e| Error::storage(context(), e))?;
            let size = file.metadata().map_err(|e| Error::storage(context(), e))?.len();
            builder
                .append_data(&mut header(size), name, BufReader::new(file))
                .map_err(|e| Error::storage(context(), e))?;
        }
        let mut w = builder.into_inner().map_err(|e| Error::storage(context(), e))?;
        w.flush().map_err(|e| Error::storage(context(), e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::storage(context(), e))?;
    let bytes = tmp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    let persisted = if force {
        tmp.persist(dest)
    } else {
        tmp.persist_noclobber(dest)
    };
    match persisted {
        Ok(_) => Ok(bytes),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Conflict(format!(
            "{} already exists; pass --force to replace it",
            dest.display()
        ))),
        Err(e) => Err(Error::storage(context(), e.error)),
    }
}

/// An archive read and verified: its manifest, and its data entries copied into `staging`
/// under names chosen here (`entry-<n>`), in the manifest's order.
struct ReadArchive {
    manifest: Value,
    staged: Vec<PathBuf>,
}

/// Reads `file`: the manifest first (its `format` must be `format`, its version known), then
/// exactly the entries the manifest lists, each checked for size and SHA-256.
fn read_archive(file: &Path, format: &str, staging: &Path) -> Result<ReadArchive> {
    let f = std::fs::File::open(file).map_err(|e| Error::storage(format!("cannot read {}", file.display()), e))?;
    let mut archive = tar::Archive::new(BufReader::new(f));
    let mut entries = archive.entries().map_err(|e| invalid(file, e))?;
    let first = entries
        .next()
        .ok_or_else(|| invalid(file, "it is empty"))?
        .map_err(|e| invalid(file, e))?;
    if first.path_bytes().as_ref() != MANIFEST.as_bytes() || !first.header().entry_type().is_file() {
        return Err(invalid(file, "the first entry is not manifest.json"));
    }
    if first.size() > MAX_MANIFEST {
        return Err(invalid(file, "manifest.json is too large"));
    }
    let mut text = Vec::new();
    first
        .take(MAX_MANIFEST)
        .read_to_end(&mut text)
        .map_err(|e| invalid(file, format!("cannot read manifest.json ({e})")))?;
    let manifest: Value =
        serde_json::from_slice(&text).map_err(|e| invalid(file, format!("manifest.json is not JSON ({e})")))?;
    let found = manifest.get("format").and_then(Value::as_str).unwrap_or("");
    if found != format {
        let other = if found == KB_FORMAT || found == TENANT_FORMAT {
            format!(
                "it is a {} archive; use `lrt {} import`",
                if found == KB_FORMAT { "knowledge-base" } else { "tenant" },
                if found == KB_FORMAT { "kb" } else { "tenant" }
            )
        } else {
            format!("unknown format {found:?} (expected {format:?})")
        };
        return Err(invalid(file, other));
    }
    let version = manifest.get("format_version").and_then(Value::as_u64).unwrap_or(0);
    if version != u64::from(FORMAT_VERSION) {
        return Err(invalid(
            file,
            format!("format version {version} is not supported (this lrt reads version {FORMAT_VERSION})"),
        ));
    }
    let expected: Vec<ArchiveFile> = match format {
        KB_FORMAT => {
            let m: KbManifest =
                serde_json::from_value(manifest.clone()).map_err(|e| invalid(file, format!("bad manifest ({e})")))?;
            if m.kb.file.name != kb_entry_name(None) {
                return Err(invalid(file, format!("unexpected entry name {:?}", m.kb.file.name)));
            }
            vec![m.kb.file]
        }
        _ => {
            let m: TenantManifest =
                serde_json::from_value(manifest.clone()).map_err(|e| invalid(file, format!("bad manifest ({e})")))?;
            for (i, kb) in m.kbs.iter().enumerate() {
                if kb.file.name != kb_entry_name(Some(i)) {
                    return Err(invalid(file, format!("unexpected entry name {:?}", kb.file.name)));
                }
            }
            m.kbs.into_iter().map(|kb| kb.file).collect()
        }
    };
    let mut staged: Vec<Option<PathBuf>> = vec![None; expected.len()];
    for entry in entries {
        let entry = entry.map_err(|e| invalid(file, format!("truncated or corrupt ({e})")))?;
        let name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let Some(index) = expected.iter().position(|f| f.name.as_bytes() == name.as_slice()) else {
            return Err(invalid(file, format!("unexpected entry {shown:?}")));
        };
        if staged[index].is_some() {
            return Err(invalid(file, format!("entry {shown:?} appears twice")));
        }
        if !entry.header().entry_type().is_file() {
            return Err(invalid(file, format!("entry {shown:?} is not a regular file")));
        }
        let want = &expected[index];
        if entry.size() != want.size {
            return Err(invalid(
                file,
                format!(
                    "entry {shown:?} has {} bytes, the manifest says {}",
                    entry.size(),
                    want.size
                ),
            ));
        }
        let path = staging.join(format!("entry-{index}"));
        let mut out = std::fs::File::create(&path).map_err(|e| Error::storage("cannot stage the archive", e))?;
        let mut hasher = Sha256::new();
        let mut reader = entry.take(want.size);
        let mut buf = vec![0u8; 1 << 16];
        let mut copied = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| invalid(file, format!("truncated or corrupt ({e})")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Error::storage("cannot stage the archive", e))?;
            copied += n as u64;
        }
        if copied != want.size {
            return Err(invalid(file, format!("entry {shown:?} is truncated")));
        }
        if hex(&hasher.finalize()) != want.sha256 {
            return Err(invalid(
                file,
                format!("entry {shown:?} does not match its SHA-256 checksum"),
            ));
        }
        staged[index] = Some(path);
    }
    let staged = staged
        .into_iter()
        .zip(&expected)
        .map(|(p, f)| p.ok_or_else(|| invalid(file, format!("entry {:?} is missing (truncated?)", f.name))))
        .collect::<Result<Vec<_>>>()?;
    Ok(ReadArchive { manifest, staged })
}

/// Checks a KB's archived configuration overrides: known KB settings only, valid together
/// with the tenant's.
fn check_kb_config(tenant: &TenantRecord, config: &Overrides) -> Result<()> {
    for key in config.keys() {
        if model::section_of(key) != Some(SettingsSection::Config) {
            return Err(Error::Usage(format!(
                "the archive's knowledge-base configuration has an unknown setting {key:?}"
            )));
        }
    }
    model::effective_config(&[&tenant.config, config]).map(drop)
}

/// A private staging folder inside the data directory (same file system as the KB folders,
/// so staged files are moved into place, not copied). Removed when dropped, on every return
/// path; a process killed meanwhile leaves it behind, so it holds a lock for as long as it is
/// in use, and the next one to create a staging folder (or `lrt doctor`) finds the stale ones.
pub(super) struct Staging {
    dir: tempfile::TempDir,
    _lock: std::fs::File,
}

impl Staging {
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
}

const STAGING_PREFIX: &str = ".staging-";
const STAGING_LOCK: &str = ".lock";

fn staging_dir(svc: &Service) -> Result<Staging> {
    let root = svc.catalog.layout().root();
    svc.catalog.layout().ensure_root()?;
    for stale in stale_staging(root) {
        let _ = std::fs::remove_dir_all(stale);
    }
    let err = |e| Error::storage("cannot create a staging folder in the data directory", e);
    let dir = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(root)
        .map_err(err)?;
    let lock = std::fs::File::create(dir.path().join(STAGING_LOCK)).map_err(err)?;
    lock.try_lock().map_err(|e| err(std::io::Error::other(e.to_string())))?;
    Ok(Staging { dir, _lock: lock })
}

/// Staging folders in `root` no running process holds: left by an import or export that was
/// killed (or one that died before it locked its folder, once that is a minute old).
pub(crate) fn stale_staging(root: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut stale = Vec::new();
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || !entry.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
            continue;
        }
        let path = entry.path();
        let held = match std::fs::File::open(path.join(STAGING_LOCK)) {
            Ok(lock) => lock.try_lock().is_err(),
            // Not locked yet: in use while young.
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < std::time::Duration::from_secs(60))),
        };
        if !held {
            stale.push(path);
        }
    }
    stale.sort();
    stale
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

/// Every document name of a new KB's kb.db under the rule of all document names
/// ([`validate::file_path`]): an archive or a LightRAG directory brings its own names, and
/// they are shown like an upload's. One bad name refuses the import (nothing is created).
fn check_document_names(at: &crate::store::KbLocation) -> Result<()> {
    let Some(store) = KbStore::open_read_only(at)? else {
        return Ok(());
    };
    let (documents, _) = store.list_documents(None, 0, u64::MAX)?;
    for d in documents {
        validate::file_path(&d.file_path).map_err(|e| {
            Error::Usage(format!(
                "cannot import document {}: {e}; nothing was imported",
                d.doc_id
            ))
        })?;
    }
    Ok(())
}

/// How a new KB's folder gets its kb.db.
pub(super) enum Fill<'a> {
    /// Move a verified snapshot file into place (schema migrations run on open).
    Snapshot(&'a Path),
    /// Fill the new KB with a closure (given where it lives).
    Build(BuildFn<'a>),
}

/// Fills a new KB's folder.
pub(super) type BuildFn<'a> = Box<dyn FnOnce(&crate::store::KbLocation) -> Result<()> + 'a>;

/// The audit action and detail recorded with a new KB's catalog row.
pub(super) struct AuditNote {
    pub action: &'static str,
    pub detail: String,
}

/// What `install_kb` did.
pub(super) struct Installed {
    pub record: KbRecord,
    pub vectors: Map<String, Value>,
    pub reembedded: bool,
}

impl Service {
    /// Creates a new KB from a filled kb.db: folder (from ids), data, vector indexes rebuilt
    /// (re-embedding everything first with `reembed`), then the catalog row and its audit entry,
    /// then statistics. Anything created is removed again when a step fails.
    pub(super) fn install_kb(
        &mut self,
        actor: &Actor,
        t: &TenantRecord,
        rec: KbRecord,
        fill: Fill<'_>,
        reembed: bool,
        note: AuditNote,
    ) -> Result<Installed> {
        let AuditNote { action, detail } = note;
        let layout = self.catalog.layout().clone();
        let dir = layout.create_kb_dir(t.id, rec.id)?;
        let at = self.catalog.kb_location(t.id, rec.id, dir.clone());
        // Removes what a failed install left: the folder, and the rows a database holds.
        let discard = || {
            let _ = crate::store::copy::remove_rows(&at);
            let _ = layout.remove_dir(&dir);
        };
        let built = (|| -> Result<(Map<String, Value>, KbStats, TokenCounts)> {
            match (fill, &at.backend) {
                (Fill::Snapshot(file), KbBackend::Sqlite) => std::fs::rename(file, dir.join("kb.db"))
                    .map_err(|e| Error::storage("cannot move the snapshot into place", e))?,
                // The database holds the rows: the snapshot's are copied in, in one transaction.
                (Fill::Snapshot(file), KbBackend::Postgres(_)) => {
                    crate::store::copy::fill_from_snapshot(file, &mut KbStore::open(&at)?)?;
                }
                (Fill::Build(build), _) => build(&at)?,
            }
            // No lock: the KB has no catalog row yet, so nothing else can reach it.
            let (_, engine) = self.engine_for(t, &rec, reembed, None)?;
            check_document_names(&self.catalog.kb_location(t.id, rec.id, dir.clone()))?;
            // Opening the engine rebuilt the indexes from kb.db (there were none); re-embedding
            // replaces every vector and rebuilds them again.
            if reembed {
                runtime()?.block_on(engine.reindex(true))?;
            }
            let stats = engine.stats()?;
            let tokens = engine.take_tokens();
            drop(engine);
            let vectors = [
                ("chunks", stats.chunks),
                ("entities", stats.entities),
                ("relations", stats.relations),
            ]
            .into_iter()
            .map(|(k, n)| (k.to_string(), n.into()))
            .collect();
            Ok((
                vectors,
                KbStats {
                    document_count: stats.documents,
                    entity_count: stats.entities,
                    relation_count: stats.relations,
                    storage_bytes: crate::layout::dir_size(&dir),
                },
                tokens,
            ))
        })();
        let (vectors, stats, tokens) = match built {
            Ok(v) => v,
            Err(e) => {
                discard();
                return Err(e);
            }
        };
        let quota = model::effective_quota(&t.quota)?;
        let mut audit = self.audit_entry(actor, action, Some(t.id), Some(rec.id));
        audit.detail = Some(detail);
        // On failure create_kb removes the folder itself (no row was written); rows a
        // database holds are removed here.
        self.catalog
            .create_kb(&rec, u64::from(quota.max_kb_per_tenant), &audit)
            .inspect_err(|err| {
                let _ = crate::store::copy::remove_rows(&at);
                if matches!(err, Error::Quota(_)) {
                    self.audit_denial(actor, action, Some(t.id), None, err);
                }
            })?;
        self.catalog.set_kb_stats(t.id, rec.id, stats)?;
        // A re-embedding import spent embedding tokens.
        self.record_tokens(&super::ingest::KbHandle::of(t, &rec), tokens)?;
        let record = self.catalog.kb(t.id, rec.id)?.unwrap_or(rec);
        Ok(Installed {
            record,
            vectors,
            reembedded: reembed,
        })
    }

    /// Refuses early (before any work) what `create_kb` would refuse at the end: a taken
    /// name, no room under `max_kb_per_tenant`, or more documents than `max_documents`.
    pub(super) fn precheck_new_kb(&self, t: &TenantRecord, name: &str, documents: u64, name_flag: bool) -> Result<()> {
        validate::name("knowledge base", name)?;
        if self.catalog.kb_by_name(t.id, name)?.is_some() {
            return Err(Error::Conflict(format!(
                "a knowledge base named '{name}' already exists in tenant '{}'{}",
                t.name,
                if name_flag {
                    ""
                } else {
                    "; choose another name with --name"
                }
            )));
        }
        let quota = model::effective_quota(&t.quota)?;
        if self.catalog.kbs(t.id)?.len() as u64 >= u64::from(quota.max_kb_per_tenant) {
            return Err(Error::Quota(format!(
                "quota exceeded: tenant '{}' already has {} knowledge base(s) (max_kb_per_tenant)",
                t.name, quota.max_kb_per_tenant
            )));
        }
        // Read again: a tenant import checks each KB after the ones it already installed.
        let now = self
            .catalog
            .tenant(t.id)?
            .ok_or_else(|| Error::NotFound("the tenant no longer exists".into()))?;
        self.check_document_quota(&now, documents)
    }

    /// Writes a snapshot of `kb` to `staging` and describes it.
    fn snapshot_kb(
        &self,
        t: &TenantRecord,
        kb: &KbRecord,
        staging: &Path,
        index: Option<usize>,
    ) -> Result<(KbPart, PathBuf)> {
        let sub = staging.join(format!("snap-{}", index.unwrap_or(0)));
        let file = sub.join("kb.db");
        let at = self
            .catalog
            .kb_location(t.id, kb.id, self.catalog.layout().kb_dir(t.id, kb.id));
        if let KbBackend::Postgres(_) = at.backend {
            // The rows, read in one snapshot, into a fresh kb.db: the same archive as SQLite's.
            std::fs::create_dir(&sub).map_err(|e| Error::storage("cannot stage the snapshot", e))?;
            crate::store::copy::snapshot_into(&KbStore::open(&at)?, &sub)?;
        } else {
            let dir = self.catalog.layout().existing_kb_dir(t.id, kb.id)?;
            // VACUUM INTO would copy a damaged file's readable rows, or an empty KB for a lost one.
            self.check_kb_intact(t, kb, crate::store::intact::Depth::Full)?;
            std::fs::create_dir(&sub).map_err(|e| Error::storage("cannot stage the snapshot", e))?;
            transfer::snapshot(&dir, &file)?;
        }
        let info = transfer::inspect(&file)?;
        let (size, sha256) = sha256_file(&file)?;
        let part = KbPart {
            source: KbSource {
                tenant_id: t.id.to_string(),
                tenant_name: t.name.clone(),
                kb_id: kb.id.to_string(),
                kb_name: kb.name.clone(),
                description: kb.description.clone(),
            },
            config: kb.config.clone(),
            embedding: info.embedding,
            kb_schema_version: info.schema_version,
            counts: info.counts,
            file: ArchiveFile {
                name: kb_entry_name(index),
                size,
                sha256,
            },
        };
        Ok((part, file))
    }

    /// `kb export`: a consistent snapshot of one KB in an archive at `dest` (needs
    /// `document:read`).
    pub fn export_kb(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        dest: &Path,
        force: bool,
    ) -> Result<ExportReport> {
        let started = std::time::Instant::now();
        let (t, k) = self.kb_for(actor, tenant, kb, Permission::DocumentRead, "kb.export")?;
        check_destination(dest, force, self.catalog.layout().root())?;
        let staging = staging_dir(self)?;
        let (part, file) = self.snapshot_kb(&t, &k, staging.path(), None)?;
        let manifest = KbManifest {
            format: KB_FORMAT.into(),
            format_version: FORMAT_VERSION,
            lrt_version: env!("CARGO_PKG_VERSION").into(),
            created_at: crate::time::now(),
            created_by: actor.user.clone(),
            kb: part.clone(),
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
        let bytes = write_archive(dest, force, &text, &[(part.file.name.clone(), file)])?;
        let mut audit = self.audit_entry(actor, "kb.export", Some(t.id), Some(k.id));
        audit.detail = Some(format!("name={} file={}", k.name, dest.display()));
        self.catalog.audit(&audit)?;
        Ok(ExportReport {
            file: dest.display().to_string(),
            bytes,
            format: KB_FORMAT.into(),
            format_version: FORMAT_VERSION,
            tenant_id: t.id.to_string(),
            tenant_name: t.name.clone(),
            kbs: vec![ExportedKb {
                kb_id: k.id.to_string(),
                kb_name: k.name.clone(),
                counts: part.counts,
            }],
            member_count: 0,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `kb import`: a KB archive restored as a new KB of the tenant (needs `kb:create`).
    /// `reembed` allows an archive embedded with another model than the one configured here:
    /// every vector is made again.
    pub fn import_kb(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        file: &Path,
        name: Option<&str>,
        reembed: bool,
    ) -> Result<ImportedKb> {
        let started = std::time::Instant::now();
        let t = self.tenant_for(
            actor,
            tenant,
            Need::Permission(Permission::KbCreate),
            OnInactive::Refuse,
            "kb.import",
        )?;
        let staging = staging_dir(self)?;
        let read = read_archive(file, KB_FORMAT, staging.path())?;
        let manifest: KbManifest =
            serde_json::from_value(read.manifest).map_err(|e| invalid(file, format!("bad manifest ({e})")))?;
        let mut imported = self.import_part(actor, &t, &manifest.kb, &read.staged[0], name, reembed, file)?;
        imported.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(imported)
    }

    /// Imports one verified KB snapshot into tenant `t`.
    #[allow(clippy::too_many_arguments)]
    fn import_part(
        &mut self,
        actor: &Actor,
        t: &TenantRecord,
        part: &KbPart,
        staged: &Path,
        name: Option<&str>,
        reembed: bool,
        file: &Path,
    ) -> Result<ImportedKb> {
        let started = std::time::Instant::now();
        let info = transfer::inspect(staged).map_err(|e| match e {
            Error::Usage(m) => invalid(file, m),
            other => other,
        })?;
        if info.counts != part.counts || info.embedding != part.embedding {
            return Err(invalid(
                file,
                "the snapshot does not match the manifest's counts or embedding model",
            ));
        }
        let kb_name = name.unwrap_or(&part.source.kb_name);
        self.precheck_new_kb(t, kb_name, info.counts.documents, name.is_some())?;
        check_kb_config(t, &part.config)?;
        if let Some(d) = &part.source.description {
            validate::description(d)?;
        }
        let mut rec = kbs::new_record(actor, t.id, kb_name, part.source.description.clone());
        rec.config = part.config.clone();
        // The archived vectors are only usable with the model configured here for this KB.
        let effective = model::effective_config(&[&t.config, &rec.config])?;
        let (_, embedder) = self.providers(t, &rec, &effective)?;
        let configured = {
            use crate::llm::ModelProvider;
            let id = embedder.identity();
            EmbeddingPin {
                binding: id.binding,
                model: id.model,
                dim: embedder.dim(),
            }
        };
        let needs_reembed = matches!(&part.embedding, Some(pin) if *pin != configured);
        if needs_reembed && !reembed {
            let pin = part.embedding.as_ref().expect("checked");
            return Err(Error::Conflict(format!(
                "the archive was embedded with {}/{} ({} dimensions), but this knowledge base would use {}/{} ({} \
                 dimensions); configure the same embedding model, or pass --reembed to embed everything again",
                pin.binding, pin.model, pin.dim, configured.binding, configured.model, configured.dim
            )));
        }
        let detail = format!(
            "name={kb_name} from={}/{} ({})",
            part.source.tenant_name, part.source.kb_name, part.source.kb_id
        );
        let installed = self.install_kb(
            actor,
            t,
            rec,
            Fill::Snapshot(staged),
            needs_reembed,
            AuditNote {
                action: "kb.import",
                detail,
            },
        )?;
        Ok(ImportedKb {
            kb_id: installed.record.id.to_string(),
            kb_name: installed.record.name.clone(),
            tenant_id: t.id.to_string(),
            tenant_name: t.name.clone(),
            source_kb_id: part.source.kb_id.clone(),
            source_kb_name: part.source.kb_name.clone(),
            counts: info.counts,
            embeddings: if installed.reembedded { "reembedded" } else { "kept" }.into(),
            vectors: installed.vectors,
            migrated_from: (info.schema_version < transfer::schema_version()).then_some(info.schema_version),
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `tenant export`: the tenant's settings, members and every KB (super-admin).
    pub fn export_tenant(&mut self, actor: &Actor, tenant: &str, dest: &Path, force: bool) -> Result<ExportReport> {
        let started = std::time::Instant::now();
        let t = self.tenant_for(
            actor,
            Some(tenant),
            Need::SuperAdmin,
            OnInactive::Allow,
            "tenant.export",
        )?;
        check_destination(dest, force, self.catalog.layout().root())?;
        let staging = staging_dir(self)?;
        let members: Vec<ArchivedMember> = self
            .catalog
            .members(t.id)?
            .into_iter()
            .map(|m| ArchivedMember {
                user_id: m.user_id,
                role: m.role,
            })
            .collect();
        let mut parts = Vec::new();
        let mut files = Vec::new();
        for (i, kb) in self.catalog.kbs(t.id)?.iter().enumerate() {
            let (part, file) = self.snapshot_kb(&t, kb, staging.path(), Some(i))?;
            files.push((part.file.name.clone(), file));
            parts.push(part);
        }
        let manifest = TenantManifest {
            format: TENANT_FORMAT.into(),
            format_version: FORMAT_VERSION,
            lrt_version: env!("CARGO_PKG_VERSION").into(),
            created_at: crate::time::now(),
            created_by: actor.user.clone(),
            tenant: ArchivedTenant {
                tenant_id: t.id.to_string(),
                tenant_name: t.name.clone(),
                description: t.description.clone(),
                config: t.config.clone(),
                quota: t.quota.clone(),
                metadata: t.metadata.clone(),
                is_active: t.is_active,
            },
            members,
            kbs: parts,
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
        let bytes = write_archive(dest, force, &text, &files)?;
        let mut audit = self.audit_entry(actor, "tenant.export", Some(t.id), None);
        audit.detail = Some(format!("name={} file={}", t.name, dest.display()));
        self.catalog.audit(&audit)?;
        Ok(ExportReport {
            file: dest.display().to_string(),
            bytes,
            format: TENANT_FORMAT.into(),
            format_version: FORMAT_VERSION,
            tenant_id: t.id.to_string(),
            tenant_name: t.name.clone(),
            kbs: manifest
                .kbs
                .iter()
                .map(|p| ExportedKb {
                    kb_id: p.source.kb_id.clone(),
                    kb_name: p.source.kb_name.clone(),
                    counts: p.counts,
                })
                .collect(),
            member_count: manifest.members.len(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `tenant import`: a new tenant (new ids) with the archive's settings, members and KBs
    /// (super-admin). If any KB fails, the new tenant is deleted again.
    pub fn import_tenant(
        &mut self,
        actor: &Actor,
        file: &Path,
        name: Option<&str>,
        reembed: bool,
    ) -> Result<ImportedTenant> {
        let started = std::time::Instant::now();
        if !actor.super_admin {
            let err = Error::Forbidden(format!(
                "permission denied: only super-admins can import tenants (you are '{}')",
                actor.user
            ));
            self.audit_denial(actor, "tenant.import", None, None, &err);
            return Err(err);
        }
        let staging = staging_dir(self)?;
        let read = read_archive(file, TENANT_FORMAT, staging.path())?;
        let manifest: TenantManifest =
            serde_json::from_value(read.manifest).map_err(|e| invalid(file, format!("bad manifest ({e})")))?;
        let src = &manifest.tenant;
        let tenant_name = name.unwrap_or(&src.tenant_name);
        super::tenants::check_new_tenant_name(tenant_name)?;
        if self.catalog.tenant_by_name(tenant_name)?.is_some() {
            return Err(Error::Conflict(format!(
                "a tenant named '{tenant_name}' already exists{}",
                if name.is_some() {
                    ""
                } else {
                    "; choose another name with --name"
                }
            )));
        }
        if let Some(d) = &src.description {
            validate::description(d)?;
        }
        validate::metadata(&src.metadata)?;
        for m in &manifest.members {
            validate::user_id(&m.user_id)?;
        }
        let mut rec = tenants::new_record(actor, tenant_name, src.description.clone());
        rec.metadata = src.metadata.clone();
        rec.is_active = src.is_active;
        for (overrides, section) in [
            (&src.config, SettingsSection::Config),
            (&src.quota, SettingsSection::Quota),
        ] {
            for key in overrides.keys() {
                if model::section_of(key) != Some(section) {
                    return Err(invalid(file, format!("unknown tenant setting {key:?}")));
                }
            }
        }
        rec.config = src.config.clone();
        rec.quota = src.quota.clone();
        model::effective_config(&[&rec.config])?;
        let quota = model::effective_quota(&rec.quota)?;
        if manifest.kbs.len() as u64 > u64::from(quota.max_kb_per_tenant) {
            return Err(invalid(
                file,
                "it holds more knowledge bases than its own max_kb_per_tenant",
            ));
        }
        let mut audit = self.audit_entry(actor, "tenant.import", Some(rec.id), None);
        audit.detail = Some(format!(
            "name={tenant_name} from={} ({}) kbs={} members={}",
            src.tenant_name,
            src.tenant_id,
            manifest.kbs.len(),
            manifest.members.len()
        ));
        // The tenant is created active so its KBs can be installed; deactivated again below.
        let was_active = rec.is_active;
        rec.is_active = true;
        self.catalog.create_tenant(&rec, None, &audit)?;
        let result = (|| -> Result<Vec<ImportedKb>> {
            for m in &manifest.members {
                let mut a = self.audit_entry(actor, "member.add", Some(rec.id), None);
                a.detail = Some(format!("user={} role={} (tenant import)", m.user_id, m.role));
                self.catalog.add_member(rec.id, &m.user_id, m.role, &actor.user, &a)?;
            }
            let t = self
                .catalog
                .tenant(rec.id)?
                .ok_or_else(|| Error::Internal("the new tenant vanished".into()))?;
            let mut kbs = Vec::new();
            for (part, staged) in manifest.kbs.iter().zip(&read.staged) {
                kbs.push(self.import_part(actor, &t, part, staged, None, reembed, file)?);
            }
            if !was_active {
                let a = self.audit_entry(actor, "tenant.deactivate", Some(rec.id), None);
                self.catalog.update_tenant(rec.id, &a, |t| {
                    t.is_active = false;
                    Ok(())
                })?;
            }
            Ok(kbs)
        })();
        let kbs = match result {
            Ok(kbs) => kbs,
            Err(e) => {
                let mut a = self.audit_entry(actor, "tenant.delete", Some(rec.id), None);
                a.detail = Some("rollback of a failed tenant import".into());
                let _ = self.catalog.delete_tenant(rec.id, &a);
                return Err(e);
            }
        };
        Ok(ImportedTenant {
            tenant_id: rec.id.to_string(),
            tenant_name: rec.name.clone(),
            source_tenant_id: src.tenant_id.clone(),
            source_tenant_name: src.tenant_name.clone(),
            member_count: manifest.members.len(),
            kbs,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_have_fixed_shapes() {
        assert_eq!(kb_entry_name(None), "kb.db");
        assert_eq!(kb_entry_name(Some(3)), "kbs/3.db");
    }
}
