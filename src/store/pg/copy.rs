//! A whole KB's rows in and out of PostgreSQL: the PostgreSQL side of `store/copy.rs`.
//! Reads run in one snapshot; writes are one transaction of multi-row statements (`unnest`
//! over one array per column, a few thousand rows a statement).
//!
//! Keys are kept. The key columns are identities shared by every KB of the database, and
//! keys need only be unique within a KB, so after writing explicit keys the identity is moved
//! past the largest one (never back: under an advisory lock, so two imports finishing at once
//! cannot move it below each other's keys); later commits in this KB then get fresh keys.

use postgres::Client;
use postgres::types::ToSql;
use uuid::Uuid;

use super::PgKb;
use crate::catalog::pg::pg_error;
use crate::error::{Error, Result};
use crate::store::copy::{Cell, KbRows, Kind, TABLES, TableSpec, not_empty};

/// Rows per insert statement.
const BATCH: usize = 2000;

/// The advisory lock that orders moving the key identities ("lrt" + "keys").
const KEYS_LOCK: i64 = 0x006c_7274_6b65_7973;

/// The identity columns whose values a copy writes explicitly.
const KEY_COLUMNS: [(&str, &str); 3] = [
    ("kb_chunks", "chunk_key"),
    ("kb_entities", "entity_key"),
    ("kb_relations", "relation_key"),
];

impl PgKb {
    /// Every row of this KB, read in one snapshot.
    pub(crate) fn copy_out(&self) -> Result<KbRows> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.read_snapshot(|| self.with(|c| read_kb(c, tenant, kb)))
    }

    /// Writes `rows` into this KB, which must hold no documents, graph or cache, in one
    /// transaction.
    pub(crate) fn copy_in(&mut self, rows: &KbRows) -> Result<()> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.in_tx(|c| write_kb(c, tenant, kb, rows))
    }

    /// Deletes every row of this KB (the clean-up of an import that failed after its rows
    /// were written).
    pub(crate) fn delete_all(&mut self) -> Result<()> {
        let (tenant, kb) = (self.tenant, self.kb);
        self.in_tx(|c| {
            super::delete_rows(c, tenant, Some(kb)).map_err(|e| pg_error("cannot remove the knowledge base's rows", e))
        })
    }
}

/// Every row of one KB, on `c` (in whatever transaction it has open).
pub(crate) fn read_kb(c: &mut Client, tenant: Uuid, kb: Uuid) -> Result<KbRows> {
    let mut out = KbRows::default();
    for spec in TABLES {
        let order = if spec.order == "rowid" { "seq" } else { spec.order };
        let rows = c
            .query(
                &format!(
                    "SELECT {} FROM kb_{} WHERE tenant_id = $1 AND kb_id = $2 ORDER BY {order}",
                    spec.column_list(),
                    spec.name
                ),
                &[&tenant, &kb],
            )
            .map_err(|e| pg_error("cannot read the knowledge base", e))?;
        out.tables.push(rows.iter().map(|r| decode(spec, r)).collect());
    }
    Ok(out)
}

/// Writes `rows` into one KB, which must hold no documents, graph or cache, on `c`, inside
/// the caller's transaction (keys kept, the key identities moved past them).
pub(crate) fn write_kb(c: &mut Client, tenant: Uuid, kb: Uuid, rows: &KbRows) -> Result<()> {
    let err = |e| pg_error("cannot write the knowledge base", e);
    let used: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM kb_documents WHERE tenant_id = $1 AND kb_id = $2)
                  + (SELECT count(*) FROM kb_entities WHERE tenant_id = $1 AND kb_id = $2)
                  + (SELECT count(*) FROM kb_llm_cache WHERE tenant_id = $1 AND kb_id = $2)",
            &[&tenant, &kb],
        )
        .map_err(err)?
        .get(0);
    if used > 0 {
        return Err(not_empty());
    }
    for (spec, table) in TABLES.iter().zip(&rows.tables) {
        for batch in table.chunks(BATCH) {
            insert(c, tenant, kb, spec, batch)?;
        }
    }
    advance_keys(c, tenant, kb).map_err(err)
}

fn decode(spec: &TableSpec, r: &postgres::Row) -> Vec<Cell> {
    decode_row(spec.columns, r)
}

/// A row read by `SELECT columns…` as cells.
pub(crate) fn decode_row(columns: &[(&str, Kind)], r: &postgres::Row) -> Vec<Cell> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| match kind {
            Kind::Int => r.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
            Kind::Real => r.get::<_, Option<f64>>(i).map_or(Cell::Null, Cell::Real),
            Kind::Text => r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
            Kind::Blob => r.get::<_, Option<Vec<u8>>>(i).map_or(Cell::Null, Cell::Blob),
            Kind::Uuid => r
                .get::<_, Option<Uuid>>(i)
                .map_or(Cell::Null, |u| Cell::Text(u.to_string())),
            Kind::Bool => r.get::<_, Option<bool>>(i).map_or(Cell::Null, |b| Cell::Int(b.into())),
        })
        .collect()
}

/// One column of a batch as a typed array (SQLite's loose typing folded into the column's
/// type: an integer in a REAL column is a real).
fn column(kind: Kind, rows: &[Vec<Cell>], i: usize, table: &str, name: &str) -> Result<Box<dyn ToSql + Sync>> {
    let wrong = |cell: &Cell| Error::Usage(format!("{table}.{name} holds a value of the wrong type ({cell:?})"));
    Ok(match kind {
        Kind::Int => Box::new(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Null => Ok(None),
                    Cell::Int(v) => Ok(Some(*v)),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<Option<i64>>>>()?,
        ),
        Kind::Real => Box::new(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Null => Ok(None),
                    Cell::Real(v) => Ok(Some(*v)),
                    Cell::Int(v) => Ok(Some(*v as f64)),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<Option<f64>>>>()?,
        ),
        Kind::Text => Box::new(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Null => Ok(None),
                    Cell::Text(v) => Ok(Some(v.clone())),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<Option<String>>>>()?,
        ),
        Kind::Blob => Box::new(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Null => Ok(None),
                    Cell::Blob(v) => Ok(Some(v.clone())),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<Option<Vec<u8>>>>>()?,
        ),
        Kind::Uuid => Box::new(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Null => Ok(None),
                    Cell::Text(v) => Uuid::parse_str(v).map(Some).map_err(|_| wrong(&r[i])),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<Option<Uuid>>>>()?,
        ),
        Kind::Bool => Box::new(
            rows.iter()
                .map(|r| match &r[i] {
                    Cell::Null => Ok(None),
                    Cell::Int(v) => Ok(Some(*v != 0)),
                    other => Err(wrong(other)),
                })
                .collect::<Result<Vec<Option<bool>>>>()?,
        ),
    })
}

fn insert(c: &mut Client, tenant: Uuid, kb: Uuid, spec: &TableSpec, rows: &[Vec<Cell>]) -> Result<()> {
    let conflict = if spec.name == "meta" {
        " ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = excluded.value"
    } else {
        ""
    };
    let table = format!("kb_{}", spec.name);
    insert_rows(
        c,
        &table,
        &[("tenant_id", &tenant), ("kb_id", &kb)],
        spec.columns,
        rows,
        conflict,
    )
}

/// Inserts `rows` (cells of `columns`) into `table` in one statement (`unnest` over one array
/// per column, in the rows' order), each row preceded by the `fixed` values; `tail` ends the
/// statement (an `ON CONFLICT` clause). A row breaking a constraint is a usage error.
pub(crate) fn insert_rows(
    c: &mut Client,
    table: &str,
    fixed: &[(&str, &(dyn ToSql + Sync))],
    columns: &[(&str, Kind)],
    rows: &[Vec<Cell>],
    tail: &str,
) -> Result<()> {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| column(*kind, rows, i, table, name))
        .collect::<Result<Vec<_>>>()?;
    let casts = columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            let ty = match kind {
                Kind::Int => "bigint",
                Kind::Real => "float8",
                Kind::Text => "text",
                Kind::Blob => "bytea",
                Kind::Uuid => "uuid",
                Kind::Bool => "boolean",
            };
            format!("${}::{ty}[]", i + fixed.len() + 1)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let names = columns.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    let (fixed_names, fixed_marks): (Vec<&str>, Vec<String>) = fixed
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, format!("${}", i + 1)))
        .unzip();
    let lead = |v: &[String]| v.iter().map(|x| format!("{x}, ")).collect::<String>();
    // Identities written as they are: `OVERRIDING SYSTEM VALUE` lets explicit keys in.
    let sql = format!(
        "INSERT INTO {table} ({}{names}) OVERRIDING SYSTEM VALUE
         SELECT {}{names} FROM unnest({casts}) WITH ORDINALITY AS u ({names}, copy_order)
         ORDER BY copy_order{tail}",
        lead(&fixed_names.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        lead(&fixed_marks),
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = fixed.iter().map(|(_, v)| *v).collect();
    params.extend(arrays.iter().map(|a| a.as_ref()));
    c.execute(&sql, &params).map_err(|e| match e.code() {
        Some(code) if code.code().starts_with("23") => Error::Usage(format!(
            "the copied rows are inconsistent: {}",
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        )),
        _ => pg_error(format!("cannot write {table}"), e),
    })?;
    Ok(())
}

/// Moves each key identity past the largest key this KB now holds (never back).
fn advance_keys(c: &mut Client, tenant: Uuid, kb: Uuid) -> std::result::Result<(), postgres::Error> {
    for (table, column) in KEY_COLUMNS {
        let max: Option<i64> = c
            .query_one(
                &format!("SELECT max({column}) FROM {table} WHERE tenant_id = $1 AND kb_id = $2"),
                &[&tenant, &kb],
            )?
            .get(0);
        if let Some(max) = max {
            advance_identity(c, table, column, max)?;
        }
    }
    Ok(())
}

/// Moves the identity of `table.column` past `max` if it is not already (under an advisory
/// lock held to the end of the transaction, so concurrent copies never move it back).
pub(crate) fn advance_identity(
    c: &mut Client,
    table: &str,
    column: &str,
    max: i64,
) -> std::result::Result<(), postgres::Error> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&KEYS_LOCK])?;
    // The sequence's name as PostgreSQL quotes it, so it can stand in the statement.
    let seq: String = c
        .query_one("SELECT pg_get_serial_sequence($1, $2)", &[&table, &column])?
        .get(0);
    let row = c.query_one(&format!("SELECT last_value, is_called FROM {seq}"), &[])?;
    let (last, called): (i64, bool) = (row.get(0), row.get(1));
    let handed_out = if called { last } else { last - 1 };
    if max > handed_out {
        c.execute("SELECT setval($1::text::regclass, $2)", &[&seq, &max])?;
    }
    Ok(())
}
