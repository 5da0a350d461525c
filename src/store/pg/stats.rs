//! Planner statistics of the KB tables, refreshed by the writer that made them stale.
//!
//! PostgreSQL plans a statement from its tables' statistics, which autovacuum gathers at its
//! next round (up to a minute away, `autovacuum_naptime`). Until then, tables just filled
//! look empty to the planner, and it walks a KB's whole relation index once per wanted key:
//! measured on a fresh database, the first ingest's merge reads took ~100 ms each instead of
//! ~1 ms, and queries right after it 7× their usual time. So an ingest that wrote enough rows
//! analyzes, at once, the tables autovacuum would analyze by its default rule.

use postgres::types::Type;

use super::PgKb;
use super::core::KB_TABLES;
use crate::catalog::pg::pg_error;
use crate::error::Result;

/// Rows a store writes between two looks at the statistics: a look is one cheap statement,
/// an analysis of a big table is not, and most commits change too little to matter.
pub(super) const CHECK_EVERY_ROWS: u64 = 2_000;

impl PgKb {
    /// Analyzes the KB tables ([`KB_TABLES`]) that were never analyzed, or in which more than 50 rows + 10%
    /// changed since their last analysis (autovacuum's default rule); returns their names.
    /// A table another session is analyzing is skipped (`SKIP_LOCKED`), and one this role does
    /// not own is skipped by PostgreSQL with a warning: this never blocks or fails a write.
    pub fn refresh_statistics(&self) -> Result<Vec<String>> {
        let tables: Vec<String> = KB_TABLES.iter().map(|t| t.to_string()).collect();
        self.with(|c| {
            let stale = c
                .query_prepared(
                    "SELECT c.relname::text FROM unnest($1::text[]) AS t(name)
                     JOIN pg_class c ON c.oid = to_regclass(t.name)
                     JOIN pg_stat_user_tables s ON s.relid = c.oid
                     WHERE (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL)
                        OR s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)",
                    &[(&tables, Type::TEXT_ARRAY)],
                )
                .map_err(|e| pg_error("cannot read the planner statistics", e))?;
            let stale: Vec<&str> = KB_TABLES
                .into_iter()
                .filter(|t| stale.iter().any(|r| r.get::<_, &str>(0) == *t))
                .collect();
            if !stale.is_empty() {
                c.batch_execute(&format!("ANALYZE (SKIP_LOCKED) {}", stale.join(", ")))
                    .map_err(|e| pg_error("cannot analyze the knowledge-base tables", e))?;
            }
            Ok(stale.into_iter().map(String::from).collect())
        })
    }
}
