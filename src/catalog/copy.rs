//! A whole catalog's rows out of one catalog and into another, either backend: `lrt db copy`
//! moves an installation with it (tenants, KBs, members, API keys, audit, usage, contexts).
//! The rows are the store's copy cells (`store::copy`), with the columns both schemas share.
//!
//! Where the schemas differ the rows are mapped: catalog.db's membership rows have an `id`
//! of their own (made afresh when written there); the audit trail's rows about no tenant have
//! a NULL tenant in catalog.db and the nil UUID in PostgreSQL; a `lrt use` context with no
//! tenant (PostgreSQL keeps none) is not copied there.

use rusqlite::TransactionBehavior;
use uuid::Uuid;

use super::{SqliteCatalog, db_error};
use crate::error::{Error, Result};
use crate::store::copy::Cell;
use crate::store::copy::Kind::{self, Blob, Bool, Int, Text, Uuid as Id};
use crate::store::copy::sqlite::{insert_table, read_table};

/// One catalog table: its name (the same in both schemas), shared columns, and read order.
pub(crate) struct CatalogTable {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub order: &'static str,
}

/// Every catalog table, parents before children.
pub(crate) const TABLES: &[CatalogTable] = &[
    CatalogTable {
        name: "tenants",
        columns: &[
            ("tenant_id", Id),
            ("name", Text),
            ("name_key", Text),
            ("description", Text),
            ("config", Text),
            ("quota", Text),
            ("metadata", Text),
            ("is_active", Bool),
            ("is_builtin", Bool),
            ("created_at", Text),
            ("updated_at", Text),
            ("created_by", Text),
        ],
        order: "created_at, tenant_id",
    },
    CatalogTable {
        name: "knowledge_bases",
        columns: &[
            ("tenant_id", Id),
            ("kb_id", Id),
            ("name", Text),
            ("name_key", Text),
            ("description", Text),
            ("config", Text),
            ("metadata", Text),
            ("is_active", Bool),
            ("created_at", Text),
            ("updated_at", Text),
            ("created_by", Text),
            ("document_count", Int),
            ("entity_count", Int),
            ("relation_count", Int),
            ("storage_bytes", Int),
            ("reserved_documents", Int),
        ],
        order: "created_at, kb_id",
    },
    CatalogTable {
        name: "tenant_memberships",
        columns: &[
            ("tenant_id", Id),
            ("user_id", Text),
            ("role", Text),
            ("created_at", Text),
            ("created_by", Text),
            ("updated_at", Text),
        ],
        order: "tenant_id, user_id",
    },
    CatalogTable {
        name: "api_keys",
        columns: &[
            ("tenant_id", Id),
            ("key_id", Id),
            ("prefix", Text),
            ("key_hash", Blob),
            ("name", Text),
            ("kb_id", Id),
            ("role", Text),
            ("created_by", Text),
            ("created_at", Text),
            ("expires_at", Text),
            ("last_used_at", Text),
            ("revoked_at", Text),
            ("revoked_by", Text),
        ],
        order: "created_at, key_id",
    },
    CatalogTable {
        name: "audit_log",
        columns: &[
            ("id", Int),
            ("at", Text),
            ("user_id", Text),
            ("real_user", Text),
            ("action", Text),
            ("tenant_id", Id),
            ("kb_id", Id),
            ("outcome", Text),
            ("detail", Text),
            ("api_key_id", Id),
        ],
        order: "id",
    },
    CatalogTable {
        name: "tenant_usage",
        columns: &[("tenant_id", Id), ("period", Text), ("api_calls", Int)],
        order: "tenant_id, period",
    },
    CatalogTable {
        name: "token_usage",
        columns: &[
            ("tenant_id", Id),
            ("kb_id", Id),
            ("period", Text),
            ("prompt_tokens", Int),
            ("completion_tokens", Int),
            ("embedding_tokens", Int),
        ],
        order: "tenant_id, kb_id, period",
    },
    CatalogTable {
        name: "user_contexts",
        columns: &[
            ("user_id", Text),
            ("tenant_id", Id),
            ("kb_id", Id),
            ("updated_at", Text),
        ],
        order: "user_id",
    },
];

impl CatalogTable {
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }
}

/// Every row of a catalog, table by table in [`TABLES`] order, as catalog.db holds them (a
/// NULL tenant for the audit trail's rows about none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogRows {
    pub tables: Vec<Vec<Vec<Cell>>>,
}

/// How many rows of each table, by name.
pub type RowCounts = Vec<(&'static str, u64)>;

impl CatalogRows {
    /// Rows per table.
    pub fn counts(&self) -> RowCounts {
        TABLES
            .iter()
            .zip(&self.tables)
            .map(|(t, rows)| (t.name, rows.len() as u64))
            .collect()
    }

    /// Each KB's tenant and id.
    pub fn kbs(&self) -> Vec<(Uuid, Uuid)> {
        let uuid = |c: &Cell| match c {
            Cell::Text(t) => Uuid::parse_str(t).ok(),
            _ => None,
        };
        self.tables
            .get(1)
            .into_iter()
            .flatten()
            .filter_map(|r| Some((uuid(&r[0])?, uuid(&r[1])?)))
            .collect()
    }

    /// `tenant/kb` by name, for messages (ids where a name is missing).
    pub fn kb_label(&self, tenant: Uuid, kb: Uuid) -> String {
        let text = |c: &Cell| match c {
            Cell::Text(t) => Some(t.clone()),
            _ => None,
        };
        let (t, k) = (Cell::Text(tenant.to_string()), Cell::Text(kb.to_string()));
        let find = |table: usize, key: &[&Cell], name: usize| {
            self.tables
                .get(table)
                .into_iter()
                .flatten()
                .find(|r| key.iter().enumerate().all(|(i, c)| r.get(i) == Some(*c)))
                .and_then(|r| r.get(name).and_then(text))
        };
        let tenant_name = find(0, &[&t], 1).unwrap_or_else(|| tenant.to_string());
        let kb_name = find(1, &[&t, &k], 2).unwrap_or_else(|| kb.to_string());
        format!("{tenant_name}/{kb_name}")
    }

    pub(crate) fn check_shape(&self) -> Result<()> {
        crate::store::copy::check_shape(&self.tables, TABLES.iter().map(|t| t.columns.len()), "catalog")
    }
}

/// The audit trail's tenant column as PostgreSQL keeps it (the nil UUID for none) from
/// catalog.db's (NULL), and back.
pub(crate) fn audit_tenant_to_pg(c: &Cell) -> Cell {
    match c {
        Cell::Null => Cell::Text(Uuid::nil().to_string()),
        other => other.clone(),
    }
}

pub(crate) fn audit_tenant_from_pg(c: Cell) -> Cell {
    match c {
        Cell::Text(t) if t == Uuid::nil().to_string() => Cell::Null,
        other => other,
    }
}

/// The position of `column` in `table`'s columns.
pub(crate) fn position(table: &str, column: &str) -> usize {
    TABLES
        .iter()
        .find(|t| t.name == table)
        .and_then(|t| t.columns.iter().position(|(c, _)| *c == column))
        .expect("a known catalog column")
}

/// The conflict a copy into a catalog that already has tenants is.
pub(crate) fn not_empty() -> Error {
    Error::Conflict("the destination already holds tenants; copy into an empty database or data directory".into())
}

impl SqliteCatalog {
    /// Every row of catalog.db, read in one read transaction.
    pub fn export_rows(&self) -> Result<CatalogRows> {
        let err = |e| db_error("cannot read the catalog", e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let mut out = CatalogRows::default();
        for t in TABLES {
            let sql = format!("SELECT {} FROM {} ORDER BY {}", t.column_list(), t.name, t.order);
            out.tables.push(read_table(&tx, &sql, t.columns.len()).map_err(err)?);
        }
        tx.finish().map_err(err)?;
        Ok(out)
    }

    /// Writes `rows` into this catalog, which must hold no tenant, in one transaction.
    pub fn import_rows(&mut self, rows: &CatalogRows) -> Result<()> {
        rows.check_shape()?;
        let err = |e| db_error("cannot write the catalog", e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let tenants: i64 = tx
            .query_row("SELECT count(*) FROM tenants", [], |r| r.get(0))
            .map_err(err)?;
        if tenants > 0 {
            return Err(not_empty());
        }
        for (t, table) in TABLES.iter().zip(&rows.tables) {
            let (mut columns, mut width) = (t.column_list(), t.columns.len());
            let rows: Vec<Vec<Cell>> = if t.name == "tenant_memberships" {
                // catalog.db's own row id.
                columns.push_str(", id");
                width += 1;
                table
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        r.push(Cell::Text(Uuid::new_v4().to_string()));
                        r
                    })
                    .collect()
            } else {
                table.clone()
            };
            insert_table(&tx, "INSERT", t.name, &columns, width, rows).map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    Error::Usage(format!("the copied catalog rows are inconsistent: {msg}"))
                }
                other => err(other),
            })?;
        }
        tx.commit().map_err(err)
    }
}
