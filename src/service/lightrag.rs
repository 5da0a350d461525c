//! `kb import-lightrag`: an upstream LightRAG working directory as a new KB.
//!
//! The directory is parsed completely (`import::lightrag`) before anything is created, so a
//! malformed file leaves nothing behind. The vectors of the vdb files are kept only when they
//! are known to come from the model this KB is configured with: the caller names upstream's
//! model (`--source-embedding-model`, since nano-vectordb files do not record it) and the
//! dimensions match. Otherwise every chunk, entity and relation is embedded again with the
//! configured model (the offline `local` provider by default); the report says which, and why.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::archive::{AuditNote, Fill};
use super::{Service, kbs};
use crate::authz::{Actor, Need, OnInactive, Permission};
use crate::error::{Error, Result};
use crate::import::lightrag;
use crate::llm::ModelProvider;
use crate::model;
use crate::store::KbLocation;
use crate::store::kb::{EmbeddingPin, KbStore};

/// What `kb import-lightrag` reports.
#[derive(Debug, Clone, Serialize)]
pub struct LightragImport {
    pub kb_id: String,
    pub kb_name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub documents: usize,
    pub chunks: usize,
    pub entities: usize,
    pub relations: usize,
    pub llm_cache: usize,
    /// `kept` (the vdb files' vectors) or `reembedded`.
    pub embeddings: String,
    pub embeddings_reason: String,
    pub vectors: Map<String, Value>,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
}

impl Service {
    /// Imports the LightRAG working directory `dir` as a new KB (needs `kb:create`).
    pub fn import_lightrag(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        dir: &Path,
        name: Option<&str>,
        source_model: Option<&str>,
        reembed: bool,
    ) -> Result<LightragImport> {
        let started = std::time::Instant::now();
        let t = self.tenant_for(
            actor,
            tenant,
            Need::Permission(Permission::KbCreate),
            OnInactive::Refuse,
            "kb.import",
        )?;
        let kb_name = match name {
            Some(n) => n.to_string(),
            None => dir
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
                .ok_or_else(|| {
                    Error::Usage("cannot name the knowledge base after the directory; pass --name".into())
                })?,
        };
        let mut parsed = lightrag::read(dir)?;
        let documents = parsed.rows.documents.len();
        self.precheck_new_kb(&t, &kb_name, documents as u64, name.is_some())?;
        let rec = kbs::new_record(actor, t.id, &kb_name, Some("Imported from LightRAG".into()));
        let effective = model::effective_config(&[&t.config, &rec.config])?;
        let (_, embedder) = self.providers(&t, &rec, &effective)?;
        let id = embedder.identity();
        let pin = EmbeddingPin {
            binding: id.binding,
            model: id.model,
            dim: embedder.dim(),
        };
        let keep = if reembed {
            Err("--reembed was given".to_string())
        } else {
            match source_model {
                None => Err(
                    "the vdb files do not record their embedding model; pass --source-embedding-model MODEL \
                             to keep vectors made by the configured model"
                        .to_string(),
                ),
                Some(m) if m != pin.model => Err(format!(
                    "LightRAG used {m}, this knowledge base is configured for {}",
                    pin.model
                )),
                Some(_) => parsed.take_vdb_vectors(pin.dim),
            }
        };
        let (reembedding, reason) = match keep {
            Ok(()) => (
                false,
                format!("the vdb vectors come from {} with {} dimensions", pin.model, pin.dim),
            ),
            Err(why) => {
                parsed.zero_vectors(pin.dim);
                (true, why)
            }
        };
        let warnings = std::mem::take(&mut parsed.warnings);
        let rows = &parsed.rows;
        let counts = (
            rows.chunks.len(),
            rows.entities.len(),
            rows.relations.len(),
            rows.cache.len(),
        );
        let detail = format!("name={kb_name} from=lightrag documents={documents}");
        let pin_for_build = pin.clone();
        let installed = self.install_kb(
            actor,
            &t,
            rec,
            Fill::Build(Box::new(move |at: &KbLocation| {
                let mut store = KbStore::open(at)?;
                store.import_rows(&parsed.rows, &pin_for_build)
            })),
            reembedding,
            AuditNote {
                action: "kb.import",
                detail,
            },
        )?;
        Ok(LightragImport {
            kb_id: installed.record.id.to_string(),
            kb_name: installed.record.name.clone(),
            tenant_id: t.id.to_string(),
            tenant_name: t.name.clone(),
            documents,
            chunks: counts.0,
            entities: counts.1,
            relations: counts.2,
            llm_cache: counts.3,
            embeddings: if reembedding { "reembedded" } else { "kept" }.into(),
            embeddings_reason: reason,
            vectors: installed.vectors,
            warnings,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}
