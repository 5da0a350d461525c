//! `query`: answering a question from one KB. Needs `query:run`; reads the KB without the
//! ingest lock, with the KB's effective settings (top_k, chunk_top_k, cosine_threshold,
//! enable_llm_cache, enable_rerank) under the caller's explicit flags.

use std::sync::Arc;
use std::time::Duration;

use super::Service;
use super::ingest::KbHandle;
use crate::authz::{Actor, Permission};
use crate::catalog::{KbRecord, TenantRecord};
use crate::error::{Error, Result};
use crate::llm::rerank::{RerankConfig, Reranker};
use crate::llm::usage::{TokenCounts, TokenMeter};
use crate::llm::{ModelProvider, Provider};
use crate::model;
use crate::rag::query::{QueryEngine, QueryOptions, QueryParams, QueryResult, Sink};

/// A question plus the settings the caller chose explicitly; `None` means "the KB's
/// effective configuration".
#[derive(Debug, Clone)]
pub struct QueryInput {
    pub params: QueryParams,
    pub top_k: Option<usize>,
    pub chunk_top_k: Option<usize>,
    /// Neither read nor write the LLM cache.
    pub no_cache: bool,
}

/// A query (or another data-plane request of the server) admitted by
/// [`Service::authorize_kb_call`]: the KB, and its tenant as read for this request, whose
/// quota [`Service::charge_query`] applies and whose settings an engine opened for it takes.
/// Only the service's access check makes one, and the [`TenantRagManager`] hands out engines
/// only for one.
///
/// [`TenantRagManager`]: super::TenantRagManager
#[derive(Debug, Clone)]
pub struct AuthorizedQuery {
    pub handle: KbHandle,
    tenant: TenantRecord,
    kb: KbRecord,
}

/// The configuration an engine is opened under: the tenant's and the KB's layers, as read
/// from the catalog. Compared on every request, so a change made through any replica (or the
/// CLI) reaches the next question everywhere.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSettings {
    tenant: model::Overrides,
    kb: model::Overrides,
}

impl AuthorizedQuery {
    /// The settings this request read.
    pub fn settings(&self) -> EngineSettings {
        EngineSettings {
            tenant: self.tenant.config.clone(),
            kb: self.kb.config.clone(),
        }
    }

    /// The tenant's effective `max_concurrent_queries` as read for this request, so a changed
    /// quota applies to the next query (the server enforces it; a CLI process runs one query).
    pub fn max_concurrent_queries(&self) -> Result<u64> {
        Ok(u64::from(
            model::effective_quota(&self.tenant.quota)?.max_concurrent_queries,
        ))
    }
}

/// A KB opened for queries under its effective settings. Opening (kb.db, index maps, provider
/// clients) is done once; the [`TenantRagManager`](super::TenantRagManager) keeps it for the
/// next questions, and the query benchmark asks many through [`OpenQuery::run`].
pub struct OpenQuery {
    pub handle: KbHandle,
    engine: QueryEngine,
    top_k: usize,
    chunk_top_k: usize,
    /// kb.db's generation when the engine was opened.
    generation: u64,
    /// The configuration it was opened under.
    settings: EngineSettings,
    /// The tokens its model calls spent, taken after each question (an engine answers one
    /// question at a time).
    meter: Arc<TokenMeter>,
}

impl OpenQuery {
    /// Answers one question, uncharged; `top_k`/`chunk_top_k` default to the KB's values.
    pub async fn run(
        &self,
        params: QueryParams,
        top_k: Option<usize>,
        chunk_top_k: Option<usize>,
        sink: Option<Sink<'_>>,
    ) -> Result<QueryResult> {
        self.answer(params, top_k, chunk_top_k, || Ok(()), sink).await
    }

    /// The steps of every admitted question, from the CLI or the server: the KB's defaults
    /// under the caller's `top_k`/`chunk_top_k`, validation, then `charge` (one API call,
    /// counted before any work and only for a valid question), then the answer.
    pub async fn answer(
        &self,
        mut params: QueryParams,
        top_k: Option<usize>,
        chunk_top_k: Option<usize>,
        charge: impl FnOnce() -> Result<()>,
        sink: Option<Sink<'_>>,
    ) -> Result<QueryResult> {
        params.top_k = top_k.unwrap_or(self.top_k);
        params.chunk_top_k = chunk_top_k.unwrap_or(self.chunk_top_k);
        params.validate()?;
        charge()?;
        crate::metrics::query(params.mode.as_str());
        self.engine.query(&params, sink).await
    }

    /// The tokens spent since the last call, for [`Service::record_tokens`].
    pub fn take_tokens(&self) -> TokenCounts {
        self.meter.take()
    }
}

impl super::KbEngine for OpenQuery {
    /// Whether nothing was committed to the KB since it was opened (a stale engine's vector
    /// index maps predate the commit) and its tenant's and KB's configuration is unchanged.
    fn is_current(&self, seen: &EngineSettings) -> Result<bool> {
        Ok(*seen == self.settings && self.engine.generation()? == self.generation)
    }
}

/// The KB's `cosine_threshold`: the tenant's or the KB's own setting when either sets one,
/// else what the embedder says its cosines mean, else the default.
fn cosine_threshold(t: &TenantRecord, k: &KbRecord, effective: &model::TenantConfig, embedder: &Provider) -> f32 {
    let explicit = [&t.config, &k.config]
        .iter()
        .any(|layer| layer.contains_key("cosine_threshold"));
    match embedder.default_cosine_threshold() {
        Some(own) if !explicit => own,
        _ => effective.cosine_threshold as f32,
    }
}

impl Service {
    /// Checks `query:run` on the KB and opens it for queries outside any cache, for a caller
    /// that asks many questions of one KB (the query benchmark).
    pub fn open_query(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        no_cache: bool,
    ) -> Result<OpenQuery> {
        let admitted = self.authorize_query(actor, tenant, kb)?;
        self.open_engine(&admitted, no_cache)
    }

    /// Opens an admitted KB for queries under its effective settings (kb.db, index maps,
    /// provider clients); with `no_cache` the LLM cache is neither read nor written. This is
    /// the `open` the [`TenantRagManager`](super::TenantRagManager) calls on a miss.
    pub fn open_engine(&self, admitted: &AuthorizedQuery, no_cache: bool) -> Result<OpenQuery> {
        let (t, k) = (&admitted.tenant, &admitted.kb);
        let effective = model::effective_config(&[&t.config, &k.config])?;
        let (llm, embedder) = self.providers(t, k, &effective)?;
        let rerank = &self.settings.rerank;
        // The KB's (or tenant's) own enable_rerank wins over RERANK_BY_DEFAULT.
        let kb_says = [&t.config, &k.config]
            .iter()
            .any(|layer| layer.contains_key("enable_rerank"));
        let meter = Arc::new(TokenMeter::default());
        let (llm, embedder) = (llm.metered(meter.clone()), embedder.metered(meter.clone()));
        let options = QueryOptions {
            cosine_threshold: cosine_threshold(t, k, &effective, &embedder),
            enable_llm_cache: effective.enable_llm_cache && !no_cache,
            enable_rerank: if kb_says {
                effective.enable_rerank
            } else {
                rerank.by_default.value
            },
            reranker: self.reranker(t, k)?,
            min_rerank_score: rerank.min_score.value,
            temperature: Some(effective.llm_temperature),
            max_tokens: Some(effective.llm_max_tokens),
            ..QueryOptions::default()
        };
        let dir = self.catalog.layout().existing_kb_dir(t.id, k.id)?;
        self.check_kb_intact(t, k, crate::store::intact::Depth::Presence)?;
        // A question writes (one API call counted in the catalog, the KB's caches): on a
        // read-only data directory say so, rather than SQLite's "unable to open database file".
        if let Some(why) = self.catalog.layout().unwritable() {
            return Err(Error::storage(
                format!("cannot query knowledge base '{}'", k.name),
                format!(
                    "the data directory is not writable ({why}): a query counts an API call in the catalog and opens the KB for writing (its caches); commands that only read work (kb list, doc list, graph, doctor)"
                ),
            ));
        }
        let engine = QueryEngine::open(&self.catalog.kb_location(t.id, k.id, dir), llm, embedder, options)?;
        let generation = engine.generation()?;
        Ok(OpenQuery {
            handle: admitted.handle.clone(),
            engine,
            top_k: effective.top_k as usize,
            chunk_top_k: effective.chunk_top_k as usize,
            generation,
            settings: admitted.settings(),
            meter,
        })
    }

    /// The KB's reranker under the `[rerank]` settings, with the tenant's or KB's
    /// `rerank_model` over `RERANK_MODEL`; `None` when reranking is off (`RERANK_BINDING=null`,
    /// or unset with a model server as chat provider).
    fn reranker(&self, t: &TenantRecord, k: &KbRecord) -> Result<Option<Reranker>> {
        let s = &self.settings.rerank;
        let binding = s.effective_binding(self.settings.llm.binding.value);
        let model = super::ingest::pick_string(
            "rerank_model",
            [&t.config, &k.config],
            &s.model.value,
            binding.default_model(),
        );
        let config = RerankConfig {
            binding,
            model: Some(model),
            host: s.host.value.clone(),
            api_key: s.api_key.value.clone(),
            timeout: Duration::from_secs(s.timeout_secs.value),
            max_retries: s.max_retries.value,
            backoff: Duration::from_millis(500),
            chunking: s.enable_chunking.value.then_some(s.max_tokens_per_doc.value),
        };
        Ok(Reranker::new(&config)?)
    }

    /// Checks `query:run` on the KB, on every question, whether or not its engine is already
    /// open: a cached engine is never a grant.
    pub fn authorize_query(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
    ) -> Result<AuthorizedQuery> {
        self.authorize_kb_call(actor, tenant, kb, Permission::QueryRun, "query.run")
    }

    /// Checks `permission` on a KB named by ids for one data-plane request of the server
    /// (documents, queries, the graph), so that [`charge_query`](Self::charge_query) can count
    /// it after access is decided and before any work. A denial is audited under `action`.
    pub fn authorize_kb_call(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        permission: Permission,
        action: &str,
    ) -> Result<AuthorizedQuery> {
        let (t, k) = self.kb_for(actor, tenant, kb, permission, action)?;
        let handle = KbHandle::of(&t, &k);
        Ok(AuthorizedQuery {
            handle,
            tenant: t,
            kb: k,
        })
    }

    /// Counts one API call of an admitted query (or other data-plane request) against the
    /// tenant's monthly quota, as read by this request's
    /// [`authorize_kb_call`](Self::authorize_kb_call) (so a quota changed since
    /// the engine was opened applies); the count and the limit check are one catalog write
    /// transaction, so other processes sharing the catalog are counted too.
    pub fn charge_query(&mut self, query: &AuthorizedQuery) -> Result<()> {
        self.charge_api_call(&query.tenant)
    }

    /// Checks `query:run` on the KB, takes its engine from this service's
    /// [`TenantRagManager`](super::TenantRagManager), counts one API call against the tenant's
    /// monthly quota (after the flags are validated, before any work) and answers the question;
    /// streamed answer pieces go to `sink`. `lrt serve` takes the same steps, with a
    /// concurrency permit and thread hops between them.
    pub async fn query(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        input: QueryInput,
        sink: Option<Sink<'_>>,
    ) -> Result<(KbHandle, QueryResult)> {
        let admitted = self.authorize_query(actor, tenant, kb)?;
        let engines = self.engines.clone();
        let engine = {
            let this = &*self;
            let admitted = &admitted;
            engines
                .engine(admitted, input.no_cache, || async move {
                    this.open_engine(admitted, input.no_cache)
                })
                .await?
        };
        let charge = || self.charge_query(&admitted);
        let result = engine
            .answer(input.params, input.top_k, input.chunk_top_k, charge, sink)
            .await;
        // Spent even when the answer failed half-way.
        self.record_tokens(&admitted.handle, engine.take_tokens())?;
        Ok((admitted.handle, result?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::quickstart::{DEMO_KB, DEMO_TENANT, DEMO_VIEWER};
    use super::super::testing::{service, user};
    use super::super::{KbUpdate, NewKb, SAMPLE_QUESTION};
    use super::*;
    use crate::error::Error;
    use crate::rag::query::QueryMode;

    fn question(mode: QueryMode) -> QueryInput {
        QueryInput {
            params: QueryParams::new(SAMPLE_QUESTION, mode),
            top_k: None,
            chunk_top_k: None,
            no_cache: false,
        }
    }

    /// The CLI's service answers through a manager of one engine, like the server's: the
    /// engine is reused, replaced by another KB's, forgotten when its KB changes, and never
    /// stands in for the access check.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cli_queries_through_a_manager_of_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = service(dir.path(), true);
        let root = user("root");
        svc.quickstart(&root).await.unwrap();
        assert_eq!(svc.engines().len(), 1, "the quickstart's question left its engine open");
        let (t, k) = (Some(DEMO_TENANT), Some(DEMO_KB));

        let viewer = user(DEMO_VIEWER);
        let (_, answer) = svc
            .query(&viewer, t, k, question(QueryMode::Local), None)
            .await
            .unwrap();
        assert!(!answer.references.is_empty());
        assert_eq!(svc.engines().len(), 1);

        // A no-cache question runs on an engine of its own, outside the manager.
        let mut uncached = question(QueryMode::Naive);
        uncached.no_cache = true;
        svc.query(&viewer, t, k, uncached, None).await.unwrap();
        assert_eq!(svc.engines().len(), 1);

        // A second KB takes the only place.
        let other = NewKb {
            name: "other".into(),
            description: None,
            set: vec![],
        };
        svc.create_kb(&root, t, other).unwrap();
        svc.query(&root, t, Some("other"), question(QueryMode::Naive), None)
            .await
            .unwrap();
        assert_eq!(svc.engines().len(), 1);

        // Updating the KB whose engine is open forgets it.
        let update = KbUpdate {
            description: Some("renamed settings".into()),
            ..Default::default()
        };
        svc.update_kb(&root, t, Some("other"), update).unwrap();
        assert!(svc.engines().is_empty());

        // The cached engine is no grant: a removed member is refused as a stranger.
        svc.query(&viewer, t, k, question(QueryMode::Mix), None).await.unwrap();
        assert_eq!(svc.engines().len(), 1);
        svc.remove_member(&root, t, DEMO_VIEWER).unwrap();
        let err = svc
            .query(&viewer, t, k, question(QueryMode::Mix), None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    }
}
