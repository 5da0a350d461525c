//! `lrt doctor`: checks that the catalog, the folders of the data directory, each kb.db, its
//! vector indexes and the catalog's statistics agree, and with `repair` fixes what can be
//! fixed without losing data.
//!
//! Decisions (documented in README.md):
//! - A KB (or tenant) row whose folder is missing gets an empty folder back; its data is gone
//!   and the finding says so (restore from an export if there is one).
//! - A folder with no catalog row is never deleted: it is moved to
//!   `<data>/lost+found/<timestamp>/tenants/…`, after a confirmation (the destructive-command
//!   convention), because data moves.
//! - Symbolic links, a corrupt kb.db, relations whose endpoints are missing, processed
//!   documents whose chunk count is wrong and embeddings of the wrong dimension are reported,
//!   never repaired: fixing them needs the documents again (`lrt doc delete` and a new ingest,
//!   or a restore from an export) or `lrt kb reindex --reembed`.
//! - Leftover chunks of unprocessed documents and link rows pointing at nothing are deleted,
//!   documents stuck in `processing` go back to `pending` (one transaction, under the KB's
//!   ingest lock); vector indexes are rebuilt from kb.db with [`VectorIndex::open`]; the
//!   catalog's statistics are rewritten from kb.db.
//!
//! The checks are read-only: kb.db is opened read-only, index files are verified without
//! rebuilding, and the ingest lock is only tried (never waited for) to see whether an ingest
//! is running. A KB whose ingest is running is skipped with a warning.

use std::path::{Path, PathBuf};

use serde::Serialize;
use uuid::Uuid;

use super::Service;
use crate::authz::{self, Actor, Need, OnInactive, Permission};
use crate::catalog::{KbRecord, KbStats, TenantRecord};
use crate::error::{Error, Result, StorageContext};
use crate::layout::{Layout, dir_size};
use crate::model::Outcome;
use crate::rag::engine::index_path;
use crate::store::doctor::{RefCheck, RefProblem};
use crate::store::kb::{KbStore, StoreStats, VectorKind};
use crate::store::lock::KbLock;
use crate::store::vectors::{Fingerprint, VectorIndex};

/// The folder that orphaned folders are moved to, below the data directory.
pub const LOST_AND_FOUND: &str = "lost+found";

/// A recorded storage size includes SQLite's write-ahead log of the moment it was recorded,
/// which is folded back into kb.db when the recording process exits; a difference below this
/// (or a quarter of the folder's size) is not a problem.
const STORAGE_SLACK_BYTES: u64 = 8 * 1024 * 1024;

/// What `lrt doctor` looks at.
#[derive(Debug, Clone, Default)]
pub struct DoctorRequest {
    /// Tenant id or name; `None` means the whole data directory (super-admins only).
    pub tenant: Option<String>,
    /// KB id or name inside `tenant`.
    pub kb: Option<String>,
    /// Fix what can be fixed.
    pub repair: bool,
}

/// How bad a finding is: errors are problems (non-zero exit), warnings are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing that is wrong (or could not be checked).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Human-readable: `tenant/kb`, a tenant name, or a path below the data directory.
    pub scope: String,
    pub tenant: Option<String>,
    pub kb: Option<String>,
    /// `folder`, `orphan`, `symlink`, `staging`, `integrity`, `schema`, `references`, `processing`,
    /// `vectors`, `stats`.
    pub check: &'static str,
    pub severity: Severity,
    pub detail: String,
    pub repaired: bool,
    #[serde(skip)]
    fix: Option<Fix>,
}

/// How many things were looked at.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Checked {
    pub tenants: u64,
    pub knowledge_bases: u64,
    pub documents: u64,
    pub vector_indexes: u64,
}

/// The result of one `lrt doctor` run.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub checked: Checked,
    pub findings: Vec<Finding>,
    /// Findings fixed by this run.
    pub repaired: u64,
    /// Error findings that remain (the exit code is non-zero when this is).
    pub problems: u64,
    /// Where orphaned folders were moved, if any were.
    pub lost_and_found: Option<String>,
}

/// What a repair does; findings with the same fix are fixed together.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fix {
    TenantFolder(Uuid),
    /// Moves `<data>/<relative path>` to lost+found; the path was read from the directory,
    /// made of UUID names only.
    Move {
        rel: PathBuf,
        bytes: u64,
    },
    Kb {
        tenant: Uuid,
        kb: Uuid,
        part: KbPart,
    },
}

/// Which part of a KB a repair touches, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KbPart {
    Folder,
    References,
    Vectors,
    Stats,
}

/// The KB's ingest lock for a repair; a conflict when an ingest holds it (no waiting).
fn repair_lock(at: &crate::store::KbLocation) -> Result<KbLock> {
    KbLock::try_acquire(at)?.ok_or_else(|| {
        Error::Conflict("an ingest is running on this knowledge base; run doctor again when it finishes".into())
    })
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Symbolic links below `dir` (not followed), relative to `root`.
fn symlinks_below(root: &Path, dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .filter(|e| e.path_is_symlink())
        .map(|e| rel(root, e.path()))
        .collect()
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// One entry of a `tenants/` or `kbs/` folder.
enum Entry {
    Dir(Uuid),
    Symlink,
    Unexpected,
}

/// The entries of a folder that holds UUID-named folders; nothing when it does not exist.
fn uuid_entries(dir: &Path) -> Result<Vec<(PathBuf, Entry)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::storage(format!("cannot read {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.storage_ctx(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry
            .file_type()
            .storage_ctx(|| format!("cannot read {}", dir.display()))?;
        let parsed = Uuid::parse_str(&name)
            .ok()
            .filter(|u| u.hyphenated().to_string() == name);
        let item = if kind.is_symlink() {
            Entry::Symlink
        } else {
            match parsed {
                Some(id) if kind.is_dir() => Entry::Dir(id),
                _ => Entry::Unexpected,
            }
        };
        out.push((entry.path(), item));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Collects findings for one run.
struct Run<'a> {
    layout: &'a Layout,
    /// Says where each KB's data lives.
    catalog: &'a crate::catalog::Catalog,
    checked: Checked,
    findings: Vec<Finding>,
}

impl Run<'_> {
    fn push(
        &mut self,
        scope: String,
        ids: (Option<Uuid>, Option<Uuid>),
        check: &'static str,
        detail: String,
        fix: Option<Fix>,
    ) {
        self.findings.push(Finding {
            scope,
            tenant: ids.0.map(|t| t.to_string()),
            kb: ids.1.map(|k| k.to_string()),
            check,
            severity: Severity::Error,
            detail,
            repaired: false,
            fix,
        });
    }

    fn warn(&mut self, scope: String, ids: (Option<Uuid>, Option<Uuid>), check: &'static str, detail: String) {
        self.push(scope, ids, check, detail, None);
        if let Some(last) = self.findings.last_mut() {
            last.severity = Severity::Warning;
        }
    }

    fn symlink(&mut self, path: &Path, ids: (Option<Uuid>, Option<Uuid>)) {
        let shown = rel(self.layout.root(), path);
        self.push(
            shown.clone(),
            ids,
            "symlink",
            format!("{shown} is a symbolic link; lrt never follows links in the data directory: replace it with the real folder"),
            None,
        );
    }

    fn unexpected(&mut self, path: &Path, ids: (Option<Uuid>, Option<Uuid>)) {
        let shown = rel(self.layout.root(), path);
        self.push(
            shown.clone(),
            ids,
            "orphan",
            format!(
                "{shown} is not a folder lrt made (not a UUID-named folder); move it out of the data directory by hand"
            ),
            None,
        );
    }

    fn orphan(&mut self, path: &Path, what: &str, ids: (Option<Uuid>, Option<Uuid>)) {
        let shown = rel(self.layout.root(), path);
        let bytes = dir_size(path);
        self.push(
            shown.clone(),
            ids,
            "orphan",
            format!("{what} folder with no catalog row ({bytes} bytes); --repair moves it to {LOST_AND_FOUND}/"),
            Some(Fix::Move {
                rel: PathBuf::from(&shown),
                bytes,
            }),
        );
    }

    /// The whole `tenants/` folder: orphan tenant folders.
    fn scan_tenants(&mut self, known: &[Uuid]) -> Result<()> {
        let tenants = self.layout.root().join("tenants");
        if is_symlink(&tenants) {
            self.symlink(&tenants, (None, None));
            return Ok(());
        }
        for (path, entry) in uuid_entries(&tenants)? {
            match entry {
                Entry::Symlink => self.symlink(&path, (None, None)),
                Entry::Unexpected => self.unexpected(&path, (None, None)),
                Entry::Dir(id) if !known.contains(&id) => self.orphan(&path, "tenant", (Some(id), None)),
                Entry::Dir(_) => {}
            }
        }
        Ok(())
    }

    /// A tenant's folder and its `kbs/` folder; `all_kbs` also looks for orphan KB folders.
    /// Returns whether the tenant's folder can be looked into.
    fn check_tenant(&mut self, t: &TenantRecord, kbs: &[KbRecord], all_kbs: bool) -> Result<bool> {
        let dir = self.layout.tenant_dir(t.id);
        let ids = (Some(t.id), None);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                self.symlink(&dir, ids);
                return Ok(false);
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                self.unexpected(&dir, ids);
                return Ok(false);
            }
            Err(_) => {
                self.push(
                    t.name.clone(),
                    ids,
                    "folder",
                    format!(
                        "the tenant's folder {} is missing; --repair recreates it",
                        rel(self.layout.root(), &dir)
                    ),
                    Some(Fix::TenantFolder(t.id)),
                );
                return Ok(true);
            }
        }
        let kbs_dir = dir.join("kbs");
        if is_symlink(&kbs_dir) {
            self.symlink(&kbs_dir, ids);
            return Ok(false);
        }
        if all_kbs {
            for (path, entry) in uuid_entries(&kbs_dir)? {
                match entry {
                    Entry::Symlink => self.symlink(&path, ids),
                    Entry::Unexpected => self.unexpected(&path, ids),
                    Entry::Dir(id) if !kbs.iter().any(|k| k.id == id) => {
                        self.orphan(&path, "knowledge base", (Some(t.id), Some(id)))
                    }
                    Entry::Dir(_) => {}
                }
            }
        }
        Ok(true)
    }

    /// One KB: folder, kb.db, references, vector indexes, statistics.
    fn check_kb(&mut self, t: &TenantRecord, k: &KbRecord) -> Result<()> {
        self.checked.knowledge_bases += 1;
        let scope = format!("{}/{}", t.name, k.name);
        let ids = (Some(t.id), Some(k.id));
        let fix = |part| {
            Some(Fix::Kb {
                tenant: t.id,
                kb: k.id,
                part,
            })
        };
        let dir = self.layout.kb_dir(t.id, k.id);
        if self.postgres() {
            // The rows are in the database; the local folder holds only derived index files,
            // which each process rebuilds when they are missing or behind.
            let at = self.catalog.kb_location(t.id, k.id, dir);
            if KbLock::is_held(&at)? {
                self.ingest_running(scope, ids);
                return Ok(());
            }
            if let Some(store) = KbStore::open_for_check(&at)? {
                self.check_store(scope, ids, k, store, None)?;
            }
            return Ok(());
        }
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                self.symlink(&dir, ids);
                return Ok(());
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                self.unexpected(&dir, ids);
                return Ok(());
            }
            Err(_) => {
                self.push(
                    scope.clone(),
                    ids,
                    "folder",
                    format!(
                        "the folder {} is missing: its documents, graph and vectors are lost; --repair recreates \
                         it empty (restore the KB from an export if you have one)",
                        rel(self.layout.root(), &dir)
                    ),
                    fix(KbPart::Folder),
                );
                self.check_stats(&scope, ids, k, StoreStats::default(), 0, fix(KbPart::Stats));
                return Ok(());
            }
        }
        let links = symlinks_below(self.layout.root(), &dir);
        if !links.is_empty() {
            for link in links {
                let path = self.layout.root().join(link);
                self.symlink(&path, ids);
            }
            return Ok(());
        }
        let at = self.catalog.kb_location(t.id, k.id, dir.clone());
        if KbLock::is_held(&at)? {
            self.ingest_running(scope, ids);
            return Ok(());
        }
        let store = match KbStore::open_for_check(&at) {
            Ok(store) => store,
            Err(e) if KbStore::schema_is_older(&at).unwrap_or(false) => {
                self.push(
                    scope,
                    ids,
                    "integrity",
                    format!(
                        "kb.db has an older schema ({e}); `lrt kb reindex` (or the next ingest or query) upgrades it, \
                         then run `lrt doctor` again"
                    ),
                    None,
                );
                return Ok(());
            }
            Err(e) => {
                self.push(
                    scope,
                    ids,
                    "integrity",
                    format!(
                        "kb.db cannot be opened ({e}); --repair cannot fix this: delete the KB and restore it from an \
                         export (`lrt kb import`), or re-ingest its documents"
                    ),
                    None,
                );
                return Ok(());
            }
        };
        let Some(store) = store else {
            if k.stats.document_count > 0 {
                self.lost(scope, ids, k, "is missing, empty or has no tables");
                return Ok(());
            }
            // Never ingested: nothing but statistics to agree on.
            self.check_stats(
                &scope,
                ids,
                k,
                StoreStats::default(),
                dir_size(&dir),
                fix(KbPart::Stats),
            );
            return Ok(());
        };
        self.check_store(scope, ids, k, store, Some(&dir))
    }

    /// One KB's stored data: integrity, schema (kb.db's; the database's is checked once per
    /// run), references, vector index files (`dir`: a SQLite KB's folder) and statistics.
    fn check_store(
        &mut self,
        scope: String,
        ids: (Option<Uuid>, Option<Uuid>),
        k: &KbRecord,
        store: KbStore,
        dir: Option<&Path>,
    ) -> Result<()> {
        let fix = |part| {
            Some(Fix::Kb {
                tenant: k.tenant_id,
                kb: k.id,
                part,
            })
        };
        let integrity = store.integrity_problems()?;
        if !integrity.is_empty() {
            self.push(
                scope,
                ids,
                "integrity",
                format!(
                    "kb.db is damaged ({}); --repair cannot fix this: delete the KB and restore it from an export \
                     (`lrt kb import`), or re-ingest its documents",
                    integrity.join("; ")
                ),
                None,
            );
            return Ok(());
        }
        let schema = if store.is_postgres() {
            Vec::new()
        } else {
            store.schema_problems()?
        };
        if !schema.is_empty() {
            self.push(
                scope,
                ids,
                "schema",
                format!(
                    "kb.db's schema is not lrt's ({}); such objects can copy, keep or hide data, so nothing else was \
                     checked and --repair cannot fix this: delete the KB and re-ingest its documents",
                    schema.join("; ")
                ),
                None,
            );
            return Ok(());
        }
        let pin = store.embedding_pin()?;
        let all = store.documents_with_status(&[
            crate::store::kb::DocStatus::Pending,
            crate::store::kb::DocStatus::Processing,
            crate::store::kb::DocStatus::Processed,
            crate::store::kb::DocStatus::Failed,
        ])?;
        self.checked.documents += all.len() as u64;
        for problem in store.reference_problems(pin.as_ref().map(|p| p.dim))? {
            let (check, detail) = describe(&problem);
            let repair = problem.check.repairable().then(|| fix(KbPart::References)).flatten();
            self.push(scope.clone(), ids, check, detail, repair);
        }
        if let (Some(pin), Some(dir)) = (&pin, dir) {
            let generation = store.generation()?;
            for kind in VectorKind::ALL {
                self.checked.vector_indexes += 1;
                let expected = Fingerprint {
                    dim: pin.dim,
                    count: store.vector_count(kind)?,
                    generation,
                };
                if let Some(reason) = VectorIndex::verify(&index_path(dir, kind), &expected)? {
                    self.push(
                        scope.clone(),
                        ids,
                        "vectors",
                        format!(
                            "the {} index ({}/{}, {} dimensions): {reason}; --repair rebuilds it from kb.db",
                            kind.name(),
                            pin.binding,
                            pin.model,
                            pin.dim
                        ),
                        fix(KbPart::Vectors),
                    );
                }
            }
        }
        let stats = store.stats()?;
        drop(store);
        if stats.documents == 0 && k.stats.document_count > 0 {
            self.lost(scope, ids, k, "holds no documents");
            return Ok(());
        }
        // On PostgreSQL the folder is a replica's derived files: its size is not the KB's.
        let bytes = dir.map_or(k.stats.storage_bytes, dir_size);
        self.check_stats(&scope, ids, k, stats, bytes, fix(KbPart::Stats));
        Ok(())
    }

    /// A KB an ingest is working on right now: nothing of it is checked.
    fn ingest_running(&mut self, scope: String, ids: (Option<Uuid>, Option<Uuid>)) {
        self.warn(
            scope,
            ids,
            "processing",
            "an ingest is running: documents, vectors and statistics were not checked; run doctor again when it \
             finishes"
                .into(),
        );
    }

    /// Whether the installation keeps its data in PostgreSQL.
    fn postgres(&self) -> bool {
        matches!(self.catalog, crate::catalog::Catalog::Postgres(_))
    }

    /// Where a KB's rows are, as findings name it.
    fn store_name(&self) -> &'static str {
        if self.postgres() { "the database" } else { "kb.db" }
    }

    /// PostgreSQL: the KB tables' schema, once for the whole database (see
    /// `PgKb::schema_problems`).
    fn check_database_schema(&mut self) -> Result<()> {
        let at = self
            .catalog
            .kb_location(Uuid::nil(), Uuid::nil(), self.layout.root().to_path_buf());
        let Some(store) = KbStore::open_for_check(&at)? else {
            return Ok(());
        };
        let schema = store.schema_problems()?;
        if !schema.is_empty() {
            self.push(
                "database".into(),
                (None, None),
                "schema",
                format!(
                    "the database's knowledge-base tables are not lrt's ({}); such objects can copy, keep or hide \
                     data, and --repair cannot fix this: remove them (or restore the database from a backup)",
                    schema.join("; ")
                ),
                None,
            );
        }
        Ok(())
    }

    /// A kb.db that lost everything the catalog counts. Not repairable, and the statistics are
    /// left as they are: rewriting them to 0 would make the loss look like an empty KB.
    fn lost(&mut self, scope: String, ids: (Option<Uuid>, Option<Uuid>), k: &KbRecord, what: &str) {
        self.push(
            scope,
            ids,
            "data",
            format!(
                "{} {what}, but the catalog records {} documents: the data is lost; --repair cannot fix this and \
                 leaves the statistics as they are: restore the KB from an export (`lrt kb delete`, then \
                 `lrt kb import`), or delete it and re-ingest its documents",
                self.store_name(),
                k.stats.document_count
            ),
            None,
        );
    }

    fn check_stats(
        &mut self,
        scope: &str,
        ids: (Option<Uuid>, Option<Uuid>),
        k: &KbRecord,
        actual: StoreStats,
        bytes: u64,
        fix: Option<Fix>,
    ) {
        let recorded = k.stats;
        let store = self.store_name();
        let mut wrong = Vec::new();
        for (what, have, want) in [
            ("documents", recorded.document_count, actual.documents),
            ("entities", recorded.entity_count, actual.entities),
            ("relations", recorded.relation_count, actual.relations),
        ] {
            if have != want {
                wrong.push(format!("{what} {have} ({store} has {want})"));
            }
        }
        if recorded.storage_bytes.abs_diff(bytes) > STORAGE_SLACK_BYTES.max(bytes / 4) {
            wrong.push(format!(
                "storage {} bytes (the folder has {bytes})",
                recorded.storage_bytes
            ));
        }
        if !wrong.is_empty() {
            self.push(
                scope.to_string(),
                ids,
                "stats",
                format!(
                    "the catalog's statistics are wrong: {}; --repair rewrites them",
                    wrong.join(", ")
                ),
                fix,
            );
        }
    }
}

/// A reference problem as a finding's check name and detail.
fn describe(p: &RefProblem) -> (&'static str, String) {
    let n = p.count;
    let e = format!(" (e.g. {})", p.samples.join(", "));
    match p.check {
        RefCheck::ChunksOfUnprocessed => (
            "references",
            format!(
                "{n} chunks belong to documents that are not processed{e}; --repair deletes them (the next ingest re-chunks those documents)"
            ),
        ),
        RefCheck::DanglingDocEntities => (
            "references",
            format!("{n} document→entity links point at a missing document or entity{e}; --repair deletes them"),
        ),
        RefCheck::DanglingDocRelations => (
            "references",
            format!("{n} document→relation links point at a missing document or relation{e}; --repair deletes them"),
        ),
        RefCheck::RelationEndpoints => (
            "references",
            format!(
                "{n} relations have an endpoint that is not an entity{e}; not repaired: delete the documents they came from with `lrt doc delete` and ingest them again"
            ),
        ),
        RefCheck::ChunkCounts => (
            "references",
            format!(
                "{n} processed documents have a chunk count that disagrees with their chunks{e}; not repaired: delete them with `lrt doc delete` and ingest them again"
            ),
        ),
        RefCheck::StuckProcessing => (
            "processing",
            format!(
                "{n} documents are stuck in 'processing' with no ingest running{e}; --repair sets them back to 'pending' (`lrt ingest --retry-failed` or the next ingest resumes them)"
            ),
        ),
        RefCheck::EmbeddingDims => (
            "vectors",
            format!(
                "{n} embeddings in kb.db do not have the pinned model's dimension{e}; not repaired: run `lrt kb reindex --reembed`"
            ),
        ),
    }
}

/// A lost+found folder name for this run: `lost+found/<UTC time>`, made unique.
fn lost_and_found_dir(root: &Path) -> PathBuf {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let base = root.join(LOST_AND_FOUND);
    let mut dir = base.join(&stamp);
    let mut n = 1;
    while std::fs::symlink_metadata(&dir).is_ok() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}

fn create_private_dirs(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .storage_ctx(|| format!("cannot create {}", dir.display()))
}

impl Service {
    /// Runs `lrt doctor`. Without a tenant it covers the whole data directory and needs a
    /// super-admin; with one it needs `tenant:manage` there (what `tenant update` needs), as
    /// repairs rewrite the tenant's data. `confirm` is called once, before anything is
    /// repaired, when a repair would move folders to lost+found; an error from it aborts the
    /// run with nothing changed.
    pub fn doctor(
        &mut self,
        actor: &Actor,
        req: &DoctorRequest,
        confirm: impl FnOnce(&str) -> Result<()>,
    ) -> Result<DoctorReport> {
        let action = if req.repair { "doctor.repair" } else { "doctor" };
        let (scope, whole) = match req.tenant.as_deref() {
            None => {
                if req.kb.is_some() {
                    return Err(Error::Usage("--kb needs --tenant".into()));
                }
                if let Err(err) = authz::require_super_admin(actor, "check the whole data directory (pass --tenant)") {
                    self.audit_denial(actor, action, None, None, &err);
                    return Err(err);
                }
                (self.catalog.all_tenants_with_kbs()?, true)
            }
            Some(ident) => {
                let need = Need::Permission(Permission::TenantManage);
                let t = self.tenant_for(actor, Some(ident), need, OnInactive::Allow, action)?;
                let kbs = match req.kb.as_deref() {
                    Some(kb) => vec![self.kb_in(actor, &t, Some(kb))?],
                    None => self.catalog.kbs(t.id)?,
                };
                (vec![(t, kbs)], false)
            }
        };
        let layout = self.catalog.layout().clone();
        let mut run = Run {
            layout: &layout,
            catalog: &self.catalog,
            checked: Checked::default(),
            findings: Vec::new(),
        };
        if run.postgres() {
            run.check_database_schema()?;
        }
        if whole {
            let known: Vec<Uuid> = scope.iter().map(|(t, _)| t.id).collect();
            if !run.postgres() {
                run.scan_tenants(&known)?;
            }
            for stale in super::archive::stale_staging(layout.root()) {
                let shown = rel(layout.root(), &stale);
                run.warn(
                    shown.clone(),
                    (None, None),
                    "staging",
                    format!("{shown} was left by an interrupted import or export; the next one removes it"),
                );
            }
        }
        for (t, kbs) in &scope {
            run.checked.tenants += 1;
            // On PostgreSQL the folders hold only derived files: not checked.
            if run.postgres() || run.check_tenant(t, kbs, req.kb.is_none())? {
                for k in kbs {
                    run.check_kb(t, k)?;
                }
            }
        }
        let Run {
            checked, mut findings, ..
        } = run;
        let mut lost_and_found = None;
        if req.repair && findings.iter().any(|f| f.fix.is_some()) {
            let moves: Vec<u64> = findings
                .iter()
                .filter_map(|f| match &f.fix {
                    Some(Fix::Move { bytes, .. }) => Some(*bytes),
                    _ => None,
                })
                .collect();
            if !moves.is_empty() {
                let target = lost_and_found_dir(layout.root());
                confirm(&format!(
                    "move {} orphaned folder(s) ({} bytes) to {}",
                    moves.len(),
                    moves.iter().sum::<u64>(),
                    rel(layout.root(), &target)
                ))?;
                lost_and_found = Some(target);
            }
            self.apply(&layout, &scope, &mut findings, lost_and_found.as_deref())?;
            let repaired = findings.iter().filter(|f| f.repaired).count();
            let mut entry = self.audit_entry(actor, action, scope.first().filter(|_| !whole).map(|(t, _)| t.id), None);
            entry.outcome = Outcome::Ok;
            entry.detail = Some(format!("{repaired} findings repaired"));
            self.catalog.audit(&entry)?;
        }
        let repaired = findings.iter().filter(|f| f.repaired).count() as u64;
        let problems = findings
            .iter()
            .filter(|f| f.severity == Severity::Error && !f.repaired)
            .count() as u64;
        Ok(DoctorReport {
            checked,
            findings,
            repaired,
            problems,
            lost_and_found: lost_and_found.map(|d| rel(layout.root(), &d)),
        })
    }

    /// Applies every distinct fix once and marks the findings it fixed; a fix that fails
    /// leaves its findings unrepaired, with the reason appended.
    fn apply(
        &mut self,
        layout: &Layout,
        scope: &[(TenantRecord, Vec<KbRecord>)],
        findings: &mut [Finding],
        lost_and_found: Option<&Path>,
    ) -> Result<()> {
        // Tenant folders and moves first, then each KB's parts in order.
        for f in findings.iter_mut() {
            let result = match &f.fix {
                Some(Fix::TenantFolder(t)) => layout.create_tenant_dir(*t).map(|_| ()),
                Some(Fix::Move { rel, .. }) => match lost_and_found {
                    Some(target) => move_folder(layout.root(), rel, target),
                    None => continue,
                },
                _ => continue,
            };
            settle(f, result);
        }
        let mut kbs: Vec<(Uuid, Uuid)> = findings
            .iter()
            .filter_map(|f| match f.fix {
                Some(Fix::Kb { tenant, kb, .. }) => Some((tenant, kb)),
                _ => None,
            })
            .collect();
        kbs.sort_unstable();
        kbs.dedup();
        for (tenant, kb) in kbs {
            let mut parts: Vec<KbPart> = findings
                .iter()
                .filter_map(|f| match f.fix {
                    Some(Fix::Kb { tenant: t, kb: k, part }) if (t, k) == (tenant, kb) => Some(part),
                    _ => None,
                })
                .collect();
            parts.sort();
            parts.dedup();
            let Some(record) = scope
                .iter()
                .flat_map(|(_, ks)| ks)
                .find(|k| k.id == kb && k.tenant_id == tenant)
            else {
                continue;
            };
            let result = self.repair_kb(layout, record, &parts);
            for f in findings.iter_mut() {
                if matches!(f.fix, Some(Fix::Kb { tenant: t, kb: k, .. }) if (t, k) == (tenant, kb)) {
                    settle(f, result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                }
            }
        }
        Ok(())
    }

    /// Repairs `parts` of one KB under its ingest lock, then rewrites its statistics.
    fn repair_kb(&mut self, layout: &Layout, k: &KbRecord, parts: &[KbPart]) -> Result<()> {
        if let crate::catalog::Catalog::Postgres(_) = self.catalog {
            return self.repair_pg_kb(layout, k, parts);
        }
        let dir = if parts.contains(&KbPart::Folder) {
            layout.create_kb_dir(k.tenant_id, k.id)?
        } else {
            layout.existing_kb_dir(k.tenant_id, k.id)?
        };
        let lock = repair_lock(&self.catalog.kb_location(k.tenant_id, k.id, dir.clone()))?;
        let at = lock.location();
        let mut rebuild = parts.contains(&KbPart::Vectors);
        if dir.join("kb.db").is_file() {
            if parts.contains(&KbPart::References) {
                let mut store = KbStore::open(at)?;
                rebuild |= store.repair_references()?.chunks_deleted > 0;
            }
            if rebuild {
                let store = KbStore::open(at)?;
                if let Some(pin) = store.embedding_pin()? {
                    let generation = store.generation()?;
                    for kind in VectorKind::ALL {
                        let expected = Fingerprint {
                            dim: pin.dim,
                            count: store.vector_count(kind)?,
                            generation,
                        };
                        VectorIndex::open(&index_path(&dir, kind), pin.dim, &expected, || store.vectors(kind))?;
                    }
                }
            }
        }
        let stats = match KbStore::open_for_check(at)? {
            Some(store) => store.stats()?,
            None => StoreStats::default(),
        };
        let kb_stats = KbStats {
            document_count: stats.documents,
            entity_count: stats.entities,
            relation_count: stats.relations,
            storage_bytes: dir_size(&dir),
        };
        self.catalog.set_kb_stats(k.tenant_id, k.id, kb_stats)?;
        // Under the ingest lock no run is going: what is still reserved was a killed run's.
        self.catalog.release_documents(k.tenant_id, k.id, None)
    }

    /// [`repair_kb`](Self::repair_kb) on PostgreSQL: references repaired in the database (one
    /// transaction, under the lock's fence; documents left `processing` are requeued), statistics
    /// rewritten. Index files are derived per process and rebuilt when behind the generation.
    fn repair_pg_kb(&mut self, layout: &Layout, k: &KbRecord, parts: &[KbPart]) -> Result<()> {
        let dir = layout.create_kb_dir(k.tenant_id, k.id)?;
        let lock = repair_lock(&self.catalog.kb_location(k.tenant_id, k.id, dir.clone()))?;
        let mut store = KbStore::open(lock.location())?;
        if parts.contains(&KbPart::References) {
            store.repair_references()?;
        }
        let stats = store.stats()?;
        // On PostgreSQL the size is the KB's rows' (the local folder holds only this process's
        // derived files).
        let kb_stats = KbStats {
            document_count: stats.documents,
            entity_count: stats.entities,
            relation_count: stats.relations,
            storage_bytes: store.storage_bytes()?,
        };
        drop(store);
        self.catalog.set_kb_stats(k.tenant_id, k.id, kb_stats)
    }
}

/// Marks a finding repaired, or says why the repair failed.
fn settle(f: &mut Finding, result: std::result::Result<(), impl std::fmt::Display>) {
    match result {
        Ok(()) => f.repaired = true,
        Err(e) => f.detail = format!("{} (repair failed: {e})", f.detail),
    }
}

/// Moves `<root>/<rel>` to `<target>/<rel>`, refusing symbolic links on the way.
fn move_folder(root: &Path, rel: &Path, target: &Path) -> Result<()> {
    let from = root.join(rel);
    let mut current = root.to_path_buf();
    for part in rel.components() {
        current.push(part);
        if is_symlink(&current) {
            return Err(Error::storage(
                format!("refusing to move {}", from.display()),
                "a symbolic link is in the way",
            ));
        }
    }
    let to = target.join(rel);
    if let Some(parent) = to.parent() {
        create_private_dirs(parent)?;
    }
    std::fs::rename(&from, &to).storage_ctx(|| format!("cannot move {} to {}", from.display(), to.display()))
}
