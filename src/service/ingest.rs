//! Opening a KB's engine for a use-case: the access check, the model providers resolved
//! from settings and the KB's effective configuration, and the statistics written back.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::Service;
use crate::authz::{Actor, Need, OnInactive, Permission};
use crate::catalog::{KbRecord, KbStats, TenantRecord};
use crate::config::ModelSettings;
use crate::error::{Error, Result};
use crate::llm::usage::TokenMeter;
use crate::llm::{Binding, Provider, ProviderConfig};
use crate::model::{self, Overrides, TenantConfig};
use crate::rag::engine::{Engine, EngineOptions, IngestReport, NewDocument};
pub use crate::store::lock::KbLock;

/// Which KB an engine belongs to, for writing its statistics back.
#[derive(Debug, Clone)]
pub struct KbHandle {
    pub tenant_id: Uuid,
    pub kb_id: Uuid,
    pub tenant_name: String,
    pub kb_name: String,
}

impl KbHandle {
    pub(super) fn of(t: &TenantRecord, k: &KbRecord) -> KbHandle {
        KbHandle {
            tenant_id: t.id,
            kb_id: k.id,
            tenant_name: t.name.clone(),
            kb_name: k.name.clone(),
        }
    }
}

/// An ingest that passed its checks and holds the KB's ingest lock (released on drop).
pub struct IngestJob {
    pub handle: KbHandle,
    engine: Arc<Engine>,
    /// `ingest --replace`: checked for `document:delete` when the job started.
    replace: bool,
    /// Documents reserved under `max_documents` at admission, given back when the run's
    /// statistics are written.
    reserved: u64,
    _lock: KbLock,
}

impl IngestJob {
    /// The running engine's progress, for a progress display to poll.
    pub fn progress(&self) -> impl Fn() -> crate::rag::engine::Progress + Send + 'static {
        let engine = Arc::clone(&self.engine);
        move || engine.progress()
    }
}

/// A KB/tenant override wins over the global setting, which wins over the effective default.
pub(super) fn pick_string(key: &str, layers: [&Overrides; 2], global: &Option<String>, default: &str) -> String {
    layers
        .iter()
        .rev()
        .find_map(|l| l.get(key).and_then(|v| v.as_str()).map(str::to_string))
        .or_else(|| global.clone())
        .unwrap_or_else(|| default.to_string())
}

fn provider_config(settings: &ModelSettings, model: String, dim: usize) -> ProviderConfig {
    ProviderConfig {
        binding: settings.binding.value,
        model,
        host: settings.host.value.clone(),
        api_key: settings.api_key.value.clone(),
        timeout: Duration::from_secs(settings.timeout_secs.value),
        max_retries: settings.max_retries.value,
        backoff: Duration::from_millis(500),
        dim,
    }
}

impl Service {
    /// Checks `permission` on the KB and opens its engine for maintenance such as reindex
    /// (not an API call); with `reembed`, the pinned embedding model is not checked (the
    /// caller is about to replace every vector). The KB's ingest lock is taken first
    /// (`on_wait` is called once if an ingest or delete holds it) and returned with the
    /// engine, so the job never saves indexes that another job's commits made stale.
    #[allow(clippy::too_many_arguments)]
    pub fn open_engine_locked(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        permission: Permission,
        action: &str,
        reembed: bool,
        on_wait: impl FnOnce() -> Result<()>,
    ) -> Result<(KbHandle, Engine, KbLock)> {
        let (t, k) = self.kb_for(actor, tenant, kb, permission, action)?;
        let lock = self.lock_kb(&KbHandle::of(&t, &k), on_wait)?;
        let (handle, engine) = self.engine_for(&t, &k, reembed, Some(&lock))?;
        Ok((handle, engine, lock))
    }

    /// Starts an ingest of `new_documents` inputs: checks `document:create`, the tenant's
    /// `max_documents` and `max_storage_gb`, counts one API call against
    /// `max_monthly_api_calls` (all refusals come before anything is written), opens the
    /// engine and takes the KB's ingest lock, so only one ingest runs per KB across
    /// processes. `on_wait` is called once if another ingest holds the lock.
    pub fn start_ingest(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        new_documents: u64,
        on_wait: impl FnOnce(),
    ) -> Result<IngestJob> {
        self.start_ingest_with(actor, tenant, kb, new_documents, false, on_wait)
    }

    /// [`start_ingest`](Self::start_ingest); with `replace` (`ingest --replace`, which deletes
    /// older versions of changed files) `document:delete` is needed too.
    pub fn start_ingest_with(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        new_documents: u64,
        replace: bool,
        on_wait: impl FnOnce(),
    ) -> Result<IngestJob> {
        if replace {
            self.tenant_for(
                actor,
                tenant,
                Need::Permission(Permission::DocumentDelete),
                OnInactive::Refuse,
                "document.delete",
            )?;
        }
        let (t, k) = self.kb_for(actor, tenant, kb, Permission::DocumentCreate, "document.create")?;
        // Checked and reserved in one catalog transaction: concurrent ingests and uploads
        // of the tenant cannot pass max_documents between them.
        self.catalog.admit_documents(t.id, k.id, new_documents, |usage| {
            check_capacity(&t, usage.documents, new_documents, usage.storage_bytes, 0)
        })?;
        let job = self.charge_api_call(&t).and_then(|()| {
            self.job(&t, &k, replace, || {
                on_wait();
                Ok(())
            })
        });
        match job {
            Ok(job) => Ok(IngestJob {
                reserved: new_documents,
                ..job
            }),
            Err(e) => {
                let _ = self.catalog.release_documents(t.id, k.id, Some(new_documents));
                Err(e)
            }
        }
    }

    /// An ingest of a KB: its ingest lock (`on_wait` is called once if another ingest or
    /// delete holds it), then its engine, opened once the lock is held.
    fn job(
        &self,
        t: &TenantRecord,
        k: &KbRecord,
        replace: bool,
        on_wait: impl FnOnce() -> Result<()>,
    ) -> Result<IngestJob> {
        // The lock comes first: an engine opened before it would hold the vector indexes as
        // they were before the other job's commits, and save them stale when this job ends.
        let lock = self.lock_kb(&KbHandle::of(t, k), on_wait)?;
        let (handle, engine) = self.engine_for(t, k, false, Some(&lock))?;
        Ok(IngestJob {
            handle,
            engine: Arc::new(engine),
            replace,
            reserved: 0,
            _lock: lock,
        })
    }

    /// Starts processing a KB's queue (its pending and interrupted documents) for the
    /// server's ingest worker. There is no actor: every queued document was authorized and
    /// charged when it was uploaded. Takes the KB's ingest lock, waiting for a CLI ingest or
    /// delete to end (on PostgreSQL `None` at once when another process holds it). `None` when the KB or its tenant is gone, or the tenant is suspended
    /// (its documents stay pending until it is active and the server starts again or gets an
    /// upload).
    pub fn start_queue(&mut self, tenant: Uuid, kb: Uuid) -> Result<Option<IngestJob>> {
        let Some(t) = self.catalog.tenant(tenant)?.filter(|t| t.is_active) else {
            return Ok(None);
        };
        let Some(k) = self.catalog.kb(tenant, kb)? else {
            return Ok(None);
        };
        if matches!(self.catalog, crate::catalog::Catalog::Postgres(_)) {
            // Another process holds the KB (another replica processing it, or a CLI run): not
            // waiting keeps this worker's slot free; the server's periodic scan
            // (`queued_kbs`) hands the KB back once the lock is free, if documents still wait.
            return match self.job(&t, &k, false, || {
                Err(Error::Conflict("the knowledge base is busy".into()))
            }) {
                Ok(job) => Ok(Some(job)),
                Err(Error::Conflict(_)) => Ok(None),
                Err(e) => Err(e),
            };
        }
        self.job(&t, &k, false, || Ok(())).map(Some)
    }

    /// Takes the KB's ingest lock (held until the guard is dropped), so that ingests and
    /// document deletes of one KB never interleave across processes (on PostgreSQL, across
    /// replicas: see [`KbLock`]). `on_wait` is called once if another ingest or delete holds
    /// it; its error gives up instead of waiting (the server answers 409 rather than holding a
    /// request for a whole ingest).
    pub(super) fn lock_kb(&self, handle: &KbHandle, on_wait: impl FnOnce() -> Result<()>) -> Result<KbLock> {
        // Taken before the engine opens, which re-creates a missing folder the same way.
        let dir = self.catalog.layout().create_kb_dir(handle.tenant_id, handle.kb_id)?;
        KbLock::acquire(&self.catalog.kb_location(handle.tenant_id, handle.kb_id, dir), on_wait)
    }

    /// Runs a started ingest until it is done or `cancel` yields an error (returned as the
    /// result), and writes the KB's statistics to the catalog either way, so documents
    /// committed before an interruption are counted.
    pub async fn run_ingest(
        &mut self,
        job: IngestJob,
        docs: Vec<NewDocument>,
        retry_failed: bool,
        cancel: impl Future<Output = Error>,
    ) -> Result<IngestReport> {
        let (result, interrupted) = tokio::select! {
            report = job.engine.ingest_replacing(docs, retry_failed, job.replace) => (report, false),
            err = cancel => (Err(err), true),
        };
        if interrupted {
            // The run's tasks are dropped with it; the KB is left as a finished run leaves it.
            if let Err(e) = job.engine.settle_interrupted() {
                tracing::warn!(target: "lrt::ingest", "after the interruption: {e}");
            }
        }
        let recorded = self.record_kb_stats(&job.handle, &job.engine);
        if let Ok(report) = &result {
            crate::metrics::ingest_documents("processed", (report.added + report.replaced) as u64);
            crate::metrics::ingest_documents("duplicate", report.duplicates as u64);
            crate::metrics::ingest_documents("failed", report.failed as u64);
        }
        let released = if job.reserved > 0 {
            self.catalog
                .release_documents(job.handle.tenant_id, job.handle.kb_id, Some(job.reserved))
        } else {
            Ok(())
        };
        // The run's own failure says what went wrong (a full disk fails the statistics too).
        let report = result?;
        recorded?;
        released?;
        Ok(report)
    }

    /// The engine of a resolved KB, with providers and options from its effective settings;
    /// its model calls' tokens are counted for [`record_kb_stats`](Self::record_kb_stats).
    /// Work under the KB's ingest lock passes it: the engine's writes are then fenced by it
    /// (see [`KbLock::location`]). Without it (a KB an import is installing, which no one else
    /// can see yet) nothing is fenced.
    pub(super) fn engine_for(
        &self,
        t: &TenantRecord,
        k: &KbRecord,
        reembed: bool,
        lock: Option<&KbLock>,
    ) -> Result<(KbHandle, Engine)> {
        let effective = model::effective_config(&[&t.config, &k.config])?;
        let (llm, embedder) = self.providers(t, k, &effective)?;
        let meter = Arc::new(TokenMeter::default());
        let (llm, embedder) = (llm.metered(meter.clone()), embedder.metered(meter));
        let quota = model::effective_quota(&t.quota)?;
        let options = EngineOptions {
            chunk_size: effective.chunk_size as usize,
            chunk_overlap: effective.chunk_overlap as usize,
            enable_llm_cache: effective.enable_llm_cache,
            temperature: Some(effective.llm_temperature),
            max_tokens: Some(effective.llm_max_tokens),
            max_parallel_insert: self.settings.max_parallel_insert.value,
            llm_max_async: self.settings.llm.max_async.value,
            embed_max_async: self.settings.embedding.max_async.value,
            embed_batch: self
                .settings
                .embedding
                .batch_size
                .value
                .min(effective.embedding_batch_num.max(1) as usize),
            max_entities: quota.max_entities_per_kb,
            max_relations: quota.max_relationships_per_kb,
            ..EngineOptions::default()
        };
        self.check_kb_intact(t, k, crate::store::intact::Depth::Full)?;
        // A KB's folder is re-created if it went missing, never followed through a symlink.
        let dir = self.catalog.layout().create_kb_dir(t.id, k.id)?;
        let at = match lock {
            Some(lock) => lock.location().clone(),
            None => self.catalog.kb_location(t.id, k.id, dir),
        };
        let engine = if reembed {
            Engine::open_for_reembed(&at, llm, embedder, options)?
        } else {
            Engine::open(&at, llm, embedder, options)?
        };
        Ok((KbHandle::of(t, k), engine))
    }

    /// Refuses a lost or damaged kb.db (see [`crate::store::intact`]) before anything writes
    /// into it, re-creates it or reads it (SQLite only). The catalog's count is read again: `k` may have been
    /// read before the caller waited for the KB's ingest lock, while a delete emptied the KB.
    /// A KB an import is installing has no row yet: `k`'s count (none) applies.
    pub(super) fn check_kb_intact(
        &self,
        t: &TenantRecord,
        k: &KbRecord,
        depth: crate::store::intact::Depth,
    ) -> Result<()> {
        if matches!(self.catalog, crate::catalog::Catalog::Postgres(_)) {
            // No kb.db: the KB's rows are in the database, whose integrity is its own job.
            return Ok(());
        }
        let recorded = match self.catalog.kb(t.id, k.id)? {
            Some(now) => now.stats.document_count,
            None => k.stats.document_count,
        };
        let dir = self.catalog.layout().existing_kb_dir(t.id, k.id)?;
        crate::store::intact::check(&dir, recorded, depth)
    }

    pub(super) fn providers(
        &self,
        t: &TenantRecord,
        k: &KbRecord,
        effective: &TenantConfig,
    ) -> Result<(Provider, Provider)> {
        let s = &self.settings;
        let layers = [&t.config, &k.config];
        let llm_model = pick_string("llm_model", layers, &s.llm.model.value, &effective.llm_model);
        let dim = layers
            .iter()
            .rev()
            .find_map(|l| l.get("embedding_dim").and_then(|v| v.as_u64()).map(|d| d as usize))
            .or(s.embedding.dim.value)
            .unwrap_or(effective.embedding_dim as usize);
        let embedding_model = pick_string(
            "embedding_model",
            layers,
            &s.embedding.model.value,
            &effective.embedding_model,
        );
        let llm = Provider::new(&provider_config(&s.llm, llm_model, dim))?;
        let embedder = Provider::new(&provider_config(&s.embedding, embedding_model, dim))?;
        if s.embedding.binding.value == Binding::Local && dim > 65_536 {
            return Err(Error::Usage("embedding_dim must be at most 65536".into()));
        }
        Ok((llm, embedder))
    }

    /// Refuses an ingest of `new_documents` that would pass the tenant's `max_documents`.
    pub(super) fn check_document_quota(&self, tenant: &TenantRecord, new_documents: u64) -> Result<()> {
        check_capacity(
            tenant,
            tenant.total_documents,
            new_documents,
            tenant.total_storage_bytes,
            0,
        )
    }

    /// Writes the engine's current counts and the KB folder's size to the catalog, and the
    /// model tokens it spent since the last call to this month's usage.
    pub fn record_kb_stats(&mut self, handle: &KbHandle, engine: &Engine) -> Result<()> {
        let tokens = engine.take_tokens();
        let stats = engine.stats()?;
        let dir = self.catalog.layout().kb_dir(handle.tenant_id, handle.kb_id);
        let storage_bytes = match self.catalog.kb_location(handle.tenant_id, handle.kb_id, dir.clone()) {
            // The KB's folder: kb.db and its index files.
            at if at.is_sqlite() => crate::layout::dir_size(&dir),
            // The KB's rows in the database: the folder holds only indexes derived from them,
            // one copy per replica.
            at => crate::store::KbStore::open(&at)?.storage_bytes()?,
        };
        let kb_stats = KbStats {
            document_count: stats.documents,
            entity_count: stats.entities,
            relation_count: stats.relations,
            storage_bytes,
        };
        self.catalog.set_kb_stats(handle.tenant_id, handle.kb_id, kb_stats)?;
        self.record_tokens(handle, tokens)
    }
}

/// The capacity quotas of adding `new_documents` of `new_bytes` to tenant `t`, which holds
/// `documents` documents of `bytes` bytes.
pub(super) fn check_capacity(
    t: &TenantRecord,
    documents: u64,
    new_documents: u64,
    bytes: u64,
    new_bytes: u64,
) -> Result<()> {
    let quota = model::effective_quota(&t.quota)?;
    if documents + new_documents > quota.max_documents {
        return Err(Error::Quota(format!(
            "quota exceeded: tenant '{}' has {} documents, this would add up to {}, and max_documents is {}",
            t.name, documents, new_documents, quota.max_documents
        )));
    }
    let max_bytes = (quota.max_storage_gb * 1024.0 * 1024.0 * 1024.0) as u64;
    if bytes.saturating_add(new_bytes) > max_bytes {
        return Err(Error::Quota(format!(
            "quota exceeded: tenant '{}' uses {} bytes, this would add {}, and max_storage_gb is {}",
            t.name, bytes, new_bytes, quota.max_storage_gb
        )));
    }
    Ok(())
}
