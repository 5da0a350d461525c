//! Deleting documents from a KB (`lrt doc delete`). Needs `document:delete`, decided by the
//! one authorization path. The dry run reads kb.db read-only (no lock, no model); the delete
//! itself takes the KB's ingest lock, so it never interleaves with an ingest or another delete,
//! writes the KB's statistics back to the catalog and is audited.

use super::{KbHandle, Service};
use crate::authz::{Actor, Permission};
use crate::catalog::{KbRecord, TenantRecord};
use crate::error::{Error, Result};
use crate::rag::engine::{DeleteOptions, DeleteReport, plan_deletion};
use crate::store::kb::KbStore;

/// The most document ids one command takes (one transaction holds them all).
pub const MAX_DELETE_IDS: usize = 100_000;

fn check_ids(doc_ids: &[String]) -> Result<()> {
    if doc_ids.is_empty() {
        return Err(Error::Usage(
            "name at least one document id (see `lrt doc list`)".into(),
        ));
    }
    if doc_ids.len() > MAX_DELETE_IDS {
        return Err(Error::Usage(format!(
            "at most {MAX_DELETE_IDS} document ids per delete"
        )));
    }
    if let Some(bad) = doc_ids.iter().find(|id| id.trim().is_empty()) {
        return Err(Error::Usage(format!("invalid document id {bad:?}")));
    }
    Ok(())
}

impl Service {
    fn kb_for_delete(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
    ) -> Result<(TenantRecord, KbRecord)> {
        self.kb_for(actor, tenant, kb, Permission::DocumentDelete, "document.delete")
    }

    /// What deleting `doc_ids` would remove and rebuild (a dry run, also shown before the
    /// confirmation). Unknown ids are not found.
    pub fn plan_document_delete(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        doc_ids: &[String],
    ) -> Result<(KbHandle, DeleteReport)> {
        check_ids(doc_ids)?;
        let (t, k) = self.kb_for_delete(actor, tenant, kb)?;
        let dir = self.catalog.layout().existing_kb_dir(t.id, k.id)?;
        let handle = KbHandle::of(&t, &k);
        let report = match KbStore::open_read_only(&self.catalog.kb_location(t.id, k.id, dir))? {
            Some(mut store) => plan_deletion(&mut store, doc_ids)?,
            // Never ingested: no document exists.
            None => {
                return Err(Error::NotFound(format!(
                    "document{} not found: {} (see `lrt doc list`); nothing was deleted",
                    if doc_ids.len() == 1 { "" } else { "s" },
                    doc_ids.join(", ")
                )));
            }
        };
        Ok((handle, report))
    }

    /// Deletes `doc_ids` and everything only they supported, rebuilding what other documents
    /// still support (no extraction calls). All of it lands in one kb.db transaction or not
    /// at all; the statistics are written back and the delete is audited. `on_wait` is called
    /// once if an ingest or another delete holds the KB; its error gives up instead of waiting.
    pub async fn delete_documents(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        doc_ids: &[String],
        options: DeleteOptions,
        on_wait: impl FnOnce() -> Result<()>,
    ) -> Result<DeleteReport> {
        check_ids(doc_ids)?;
        let (t, k) = self.kb_for_delete(actor, tenant, kb)?;
        // Locked before the engine opens, so it sees every commit of the job it waited for.
        let lock = self.lock_kb(&KbHandle::of(&t, &k), on_wait)?;
        let (handle, engine) = self.engine_for(&t, &k, false, Some(&lock))?;
        let result = engine.delete_documents(doc_ids, options).await;
        // Written either way: a failure after the commit (saving the indexes) still changed
        // the counts, and the re-embedded rows' tokens were spent.
        self.record_kb_stats(&handle, &engine)?;
        let report = result?;
        let mut audit = self.audit_entry(actor, "document.delete", Some(t.id), Some(k.id));
        audit.detail = Some(format!(
            "documents={} entities_removed={} relations_removed={}",
            report.documents_deleted, report.entities_removed, report.relations_removed
        ));
        self.catalog.audit(&audit)?;
        Ok(report)
    }
}
