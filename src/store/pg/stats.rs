//! Planner statistics of the KB tables, refreshed by the writer that made them stale.
//!
//! PostgreSQL plans a statement from its tables' statistics, which autovacuum gathers at its
//! next round (up to a minute away, `autovacuum_naptime`). Until then, tables just filled
//! look empty to the planner, and it walks a KB's whole relation index once per wanted key:
//! measured on a fresh database, the first ingest's merge reads took ~100 ms each instead of
//! ~1 ms, and queries right after it 7× their usual time. So an ingest that wrote enough rows
//! analyzes, at once, the key columns of the tables whose statistics are missing or off by
//! more than half: what the plans of its reads and of queries depend on. The rest (text
//! widths, the wide columns) is left to autovacuum, which costs an ingest nothing.

use postgres::types::Type;

use super::PgKb;
use crate::catalog::pg::pg_error;
use crate::error::Result;

/// The tables whose row estimates decide the plans of a KB's reads (found by keys, joined
/// with arrays of keys), with the columns their statements filter and join on. Fixed names:
/// nothing here comes from input.
const KEYED: [(&str, &str); 6] = [
    ("kb_documents", "tenant_id, kb_id, doc_id, status"),
    ("kb_chunks", "tenant_id, kb_id, chunk_id, chunk_key, doc_id"),
    ("kb_entities", "tenant_id, kb_id, name, entity_key"),
    ("kb_relations", "tenant_id, kb_id, src, tgt, relation_key"),
    ("kb_doc_entities", "tenant_id, kb_id, doc_id, name"),
    ("kb_doc_relations", "tenant_id, kb_id, doc_id, src, tgt"),
];

/// Rows a store writes between two looks at the statistics: a look is one cheap statement,
/// an analysis is not, and most commits change too little to matter.
pub(super) const CHECK_EVERY_ROWS: u64 = 2_000;

impl PgKb {
    /// Analyzes the key columns (`KEYED`) of the tables never analyzed, or changed by more
    /// rows than they held at their last analysis (at least 1,000): their row estimates are
    /// then off by more than half, which is when plans go wrong.
    /// A table another session is analyzing is skipped (`SKIP_LOCKED`), and one this role does
    /// not own is skipped by PostgreSQL with a warning: this never blocks or fails a write.
    pub fn refresh_statistics(&self) -> Result<()> {
        let tables: Vec<String> = KEYED.iter().map(|(t, _)| t.to_string()).collect();
        self.with(|c| {
            let stale = c
                .query_prepared(
                    "SELECT c.relname::text FROM unnest($1::text[]) AS t(name)
                     JOIN pg_class c ON c.oid = to_regclass(t.name)
                     JOIN pg_stat_user_tables s ON s.relid = c.oid
                     WHERE (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL)
                        OR s.n_mod_since_analyze > greatest(1000, c.reltuples)",
                    &[(&tables, Type::TEXT_ARRAY)],
                )
                .map_err(|e| pg_error("cannot read the planner statistics", e))?;
            let stale: Vec<(&str, &str)> = KEYED
                .into_iter()
                .filter(|(t, _)| stale.iter().any(|r| r.get::<_, &str>(0) == *t))
                .collect();
            if !stale.is_empty() {
                let list: Vec<String> = stale.iter().map(|(t, columns)| format!("{t} ({columns})")).collect();
                c.batch_execute(&format!("ANALYZE (SKIP_LOCKED) {}", list.join(", ")))
                    .map_err(|e| pg_error("cannot analyze the knowledge-base tables", e))?;
            }
            Ok(())
        })
    }
}
