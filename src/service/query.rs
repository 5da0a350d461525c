//! `query`: answering a question from one KB. Needs `query:run`; reads the KB without the
//! ingest lock, with the KB's effective settings (top_k, chunk_top_k, cosine_threshold,
//! enable_llm_cache, enable_rerank) under the caller's explicit flags.

use super::Service;
use super::ingest::KbHandle;
use crate::authz::{Actor, Need, OnInactive, Permission};
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

impl Service {
    /// Checks `query:run` on the KB, counts one API call against the tenant's monthly quota
    /// and answers the question; streamed answer pieces go to `sink`.
    pub async fn query(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        input: QueryInput,
        sink: Option<Sink<'_>>,
    ) -> Result<(KbHandle, QueryResult)> {
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
        let mut params = input.params;
        params.top_k = input.top_k.unwrap_or(effective.top_k as usize);
        params.chunk_top_k = input.chunk_top_k.unwrap_or(effective.chunk_top_k as usize);
        let options = QueryOptions {
            cosine_threshold: effective.cosine_threshold as f32,
            enable_llm_cache: effective.enable_llm_cache && !input.no_cache,
            enable_rerank: effective.enable_rerank,
            temperature: Some(effective.llm_temperature),
            max_tokens: Some(effective.llm_max_tokens),
            ..QueryOptions::default()
        };
        params.validate()?;
        self.charge_api_call(&t)?;
        let dir = self.catalog.layout().kb_dir(t.id, k.id);
        let engine = QueryEngine::open(&dir, llm, embedder, options)?;
        let handle = KbHandle {
            tenant_id: t.id,
            kb_id: k.id,
            tenant_name: t.name,
            kb_name: k.name,
        };
        let result = engine.query(&params, sink).await?;
        Ok((handle, result))
    }
}
