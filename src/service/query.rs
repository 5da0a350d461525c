//! `query`: answering a question from one KB. Needs `query:run`; reads the KB without the
//! ingest lock, with the KB's effective settings (top_k, chunk_top_k, cosine_threshold,
//! enable_llm_cache, enable_rerank) under the caller's explicit flags.

use super::Service;
use super::ingest::KbHandle;
use crate::authz::{Actor, Need, OnInactive, Permission};
use crate::catalog::TenantRecord;
use crate::error::Result;
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
/// quota [`Service::charge_query`] applies.
#[derive(Debug, Clone)]
pub struct AuthorizedQuery {
    pub handle: KbHandle,
    tenant: TenantRecord,
}

impl AuthorizedQuery {
    /// The tenant's effective `max_concurrent_queries` as read for this request, so a changed
    /// quota applies to the next query (the server enforces it; a CLI process runs one query).
    pub fn max_concurrent_queries(&self) -> Result<u64> {
        Ok(u64::from(
            model::effective_quota(&self.tenant.quota)?.max_concurrent_queries,
        ))
    }
}

/// A KB opened for queries under its effective settings. Opening (access check, catalog
/// lookups, index files) is done once; a long-lived caller (a server, the query benchmark)
/// then asks many questions through [`OpenQuery::run`].
pub struct OpenQuery {
    pub handle: KbHandle,
    tenant: TenantRecord,
    engine: QueryEngine,
    top_k: usize,
    chunk_top_k: usize,
    /// kb.db's generation when the engine was opened.
    generation: u64,
}

impl OpenQuery {
    /// Answers one question; `top_k`/`chunk_top_k` default to the KB's values.
    pub async fn run(
        &self,
        params: QueryParams,
        top_k: Option<usize>,
        chunk_top_k: Option<usize>,
        sink: Option<Sink<'_>>,
    ) -> Result<QueryResult> {
        let params = self.params(params, top_k, chunk_top_k)?;
        self.engine.query(&params, sink).await
    }

    /// Whether nothing was committed to the KB since it was opened; a cache must reopen a
    /// stale engine, whose vector index maps predate the commit.
    pub fn is_current(&self) -> Result<bool> {
        Ok(self.engine.generation()? == self.generation)
    }

    /// `params` with the KB's defaults filled in and validated, before any quota is charged.
    pub fn prepare(
        &self,
        params: QueryParams,
        top_k: Option<usize>,
        chunk_top_k: Option<usize>,
    ) -> Result<QueryParams> {
        self.params(params, top_k, chunk_top_k)
    }

    /// Answers a question already [`prepare`](Self::prepare)d.
    pub async fn run_prepared(&self, params: &QueryParams, sink: Option<Sink<'_>>) -> Result<QueryResult> {
        self.engine.query(params, sink).await
    }

    /// `params` with the KB's defaults filled in, validated.
    fn params(&self, mut params: QueryParams, top_k: Option<usize>, chunk_top_k: Option<usize>) -> Result<QueryParams> {
        params.top_k = top_k.unwrap_or(self.top_k);
        params.chunk_top_k = chunk_top_k.unwrap_or(self.chunk_top_k);
        params.validate()?;
        Ok(params)
    }
}

impl Service {
    /// Checks `query:run` on the KB and opens it for queries; with `no_cache` the LLM cache
    /// is neither read nor written.
    pub fn open_query(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        no_cache: bool,
    ) -> Result<OpenQuery> {
        let t = self.tenant_for(
            actor,
            tenant,
            Need::Permission(Permission::QueryRun),
            OnInactive::Refuse,
            "query.run",
        )?;
        let k = self.kb_in(actor, &t, kb)?;
        let effective = model::effective_config(&[&t.config, &k.config])?;
        let (llm, embedder) = self.providers(&t, &k, &effective)?;
        let options = QueryOptions {
            cosine_threshold: effective.cosine_threshold as f32,
            enable_llm_cache: effective.enable_llm_cache && !no_cache,
            enable_rerank: effective.enable_rerank,
            temperature: Some(effective.llm_temperature),
            max_tokens: Some(effective.llm_max_tokens),
            ..QueryOptions::default()
        };
        let dir = self.catalog.layout().kb_dir(t.id, k.id);
        let engine = QueryEngine::open(&dir, llm, embedder, options)?;
        let generation = engine.generation()?;
        Ok(OpenQuery {
            handle: KbHandle {
                tenant_id: t.id,
                kb_id: k.id,
                tenant_name: t.name.clone(),
                kb_name: k.name,
            },
            tenant: t,
            engine,
            top_k: effective.top_k as usize,
            chunk_top_k: effective.chunk_top_k as usize,
            generation,
        })
    }

    /// Checks `query:run` on a KB named by ids, on every request, whether or not a
    /// long-lived caller already holds the KB open: a cached engine is never a grant.
    pub fn authorize_query(&mut self, actor: &Actor, tenant: &str, kb: &str) -> Result<AuthorizedQuery> {
        self.authorize_kb_call(actor, tenant, kb, Permission::QueryRun, "query.run")
    }

    /// Checks `permission` on a KB named by ids for one data-plane request of the server
    /// (documents, queries, the graph), so that [`charge_query`](Self::charge_query) can count
    /// it after access is decided and before any work. A denial is audited under `action`.
    pub fn authorize_kb_call(
        &mut self,
        actor: &Actor,
        tenant: &str,
        kb: &str,
        permission: Permission,
        action: &str,
    ) -> Result<AuthorizedQuery> {
        let t = self.tenant_for(
            actor,
            Some(tenant),
            Need::Permission(permission),
            OnInactive::Refuse,
            action,
        )?;
        let k = self.kb_in(actor, &t, Some(kb))?;
        let handle = KbHandle {
            tenant_id: t.id,
            kb_id: k.id,
            tenant_name: t.name.clone(),
            kb_name: k.name,
        };
        Ok(AuthorizedQuery { handle, tenant: t })
    }

    /// Counts one API call of an admitted query (or other data-plane request) against the
    /// tenant's monthly quota, as read by this request's
    /// [`authorize_kb_call`](Self::authorize_kb_call) (so a quota changed since
    /// the engine was opened applies); the count and the limit check are one catalog write
    /// transaction, so other processes sharing the catalog are counted too.
    pub fn charge_query(&mut self, query: &AuthorizedQuery) -> Result<()> {
        self.charge_api_call(&query.tenant)
    }

    /// Checks `query:run` on the KB, counts one API call against the tenant's monthly quota
    /// (after the flags are validated, before any work) and answers the question; streamed
    /// answer pieces go to `sink`.
    pub async fn query(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        input: QueryInput,
        sink: Option<Sink<'_>>,
    ) -> Result<(KbHandle, QueryResult)> {
        let open = self.open_query(actor, tenant, kb, input.no_cache)?;
        let params = open.params(input.params, input.top_k, input.chunk_top_k)?;
        self.charge_api_call(&open.tenant)?;
        let result = open.engine.query(&params, sink).await?;
        Ok((open.handle, result))
    }
}
