//! Curating a KB's graph by hand (`lrt graph entity|relation|merge`, the server's graph edit
//! routes). Edits need `document:update`, deletions `document:delete`, decided by the one
//! authorization path. An edit takes the KB's ingest lock (so it never interleaves with an
//! ingest or a document delete), is audited with the edited rows before and after, and
//! writes the KB's statistics back. A dry run plans under the same lock and writes nothing.
//! Open query engines of the KB are forgotten: the edit's commit moved kb.db's generation,
//! and its cached answers were dropped with it.

use super::{KbHandle, Service};
use crate::authz::{Actor, Permission};
use crate::error::Result;
use crate::rag::engine::{EditReport, GraphOp};
use crate::store::inspect::EntityFilter;

/// The most characters of `before`/`after` an audit row keeps (descriptions can be long).
const AUDIT_DETAIL_MAX: usize = 8192;

/// The audit detail of an edit: its rows before and after, cut to [`AUDIT_DETAIL_MAX`].
fn audit_detail(report: &EditReport) -> String {
    let detail = serde_json::json!({"before": report.before, "after": report.after}).to_string();
    if detail.chars().count() <= AUDIT_DETAIL_MAX {
        return detail;
    }
    let mut cut: String = detail.chars().take(AUDIT_DETAIL_MAX).collect();
    cut.push_str("…(truncated)");
    cut
}

/// The labels of a KB's graph: entity names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LabelList {
    pub labels: Vec<String>,
    pub total: u64,
}

/// How labels are listed: upstream's `label/list` (by name), `label/popular` (by degree) and
/// `label/search` (names containing the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOrder {
    Name,
    Degree,
}

impl Service {
    /// Applies one graph edit to a KB (or, with `dry_run`, reports what it would change).
    /// `on_wait` is called once if an ingest or a delete holds the KB; its error gives up.
    pub async fn edit_graph(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        op: &GraphOp,
        dry_run: bool,
        on_wait: impl FnOnce() -> Result<()>,
    ) -> Result<EditReport> {
        let (permission, checked) = match op.deletes() {
            true => (Permission::DocumentDelete, "document.delete"),
            false => (Permission::DocumentUpdate, "document.update"),
        };
        let (t, k) = self.kb_for(actor, tenant, kb, permission, checked)?;
        let lock = self.lock_kb(&KbHandle::of(&t, &k), on_wait)?;
        let (handle, engine) = self.engine_for(&t, &k, false, Some(&lock))?;
        let result = engine.curate(op, dry_run).await;
        if dry_run {
            return result;
        }
        // Written either way: a failure after the commit (saving the indexes) still changed
        // the counts.
        self.record_kb_stats(&handle, &engine)?;
        self.engines.cleanup_instance(k.id);
        let report = result?;
        let mut audit = self.audit_entry(actor, op.action(), Some(t.id), Some(k.id));
        audit.detail = Some(audit_detail(&report));
        self.catalog.audit(&audit)?;
        Ok(report)
    }

    /// Whether the KB's graph has an entity of exactly this name (upstream's
    /// `/graph/entity/exists`).
    pub fn entity_exists(&mut self, actor: &Actor, tenant: Option<&str>, kb: Option<&str>, name: &str) -> Result<bool> {
        let (_, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        Ok(match store {
            Some(store) => store.entity(name)?.is_some(),
            None => false,
        })
    }

    /// Entity names: all of them by name, the most connected first, or those containing
    /// `search` (ignoring case), at most `limit`.
    pub fn graph_labels(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        order: LabelOrder,
        search: Option<String>,
        limit: usize,
    ) -> Result<LabelList> {
        let filter = EntityFilter {
            search,
            entity_type: None,
            limit: super::inspect::MAX_ENTITY_LIMIT,
        };
        let list = self.list_entities(actor, tenant, kb, &filter)?;
        let mut labels: Vec<String> = list.items.into_iter().map(|e| e.name).collect();
        if order == LabelOrder::Name {
            labels.sort();
        }
        labels.truncate(limit);
        Ok(LabelList {
            labels,
            total: list.total,
        })
    }
}
