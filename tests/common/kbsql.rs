//! Plain SQL over one KB's rows on either backend, for tests that check what a command stored:
//! `kb.db` on SQLite; on PostgreSQL the `kb_*` tables of the installation's database seen
//! through temporary views named like kb.db's tables (`documents`, `entities`, …) and limited
//! to the KB, so the same query reads the same rows on both.

use serde_json::Value;

use super::Lrt;

/// kb.db's tables, each `kb_<name>` on PostgreSQL.
const TABLES: &[&str] = &[
    "meta",
    "documents",
    "chunks",
    "extractions",
    "entities",
    "relations",
    "doc_entities",
    "doc_relations",
    "llm_cache",
    "graph_overrides",
    "entity_aliases",
];

/// One KB's rows.
pub enum KbSql {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, tenant: String, kb: String },
}

impl KbSql {
    /// The KB `kb` of tenant `tenant` (ids) in `lrt`, on whichever backend it uses.
    pub fn open(lrt: &Lrt, tenant: &str, kb: &str) -> KbSql {
        match lrt.database() {
            None => KbSql::Sqlite(lrt.kb_dir(tenant, kb).join("kb.db")),
            Some(db) => KbSql::Postgres {
                url: db.url.clone(),
                tenant: tenant.to_string(),
                kb: kb.to_string(),
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, KbSql::Postgres { .. })
    }

    /// Every row `sql` returns, each column as JSON (text, integer, real, null; blobs as
    /// arrays of bytes). On PostgreSQL the KB's own `tenant_id`/`kb_id` columns are left out.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Value>> {
        self.rows_with(sql, &[])
    }

    /// The same with text parameters `?1`, `?2`, … (`$1`, … on PostgreSQL).
    pub fn rows_with(&self, sql: &str, params: &[&str]) -> Vec<Vec<Value>> {
        match self {
            KbSql::Sqlite(path) => sqlite_rows(path, sql, params),
            KbSql::Postgres { url, tenant, kb } => std::thread::scope(|s| {
                s.spawn(|| pg_rows(url, tenant, kb, &sql.replace('?', "$"), params))
                    .join()
                    .unwrap()
            }),
        }
    }

    /// The first row as `T` (a tuple for several columns), or `None` when there is none.
    pub fn one<T: serde::de::DeserializeOwned>(&self, sql: &str, params: &[&str]) -> Option<T> {
        let mut row = self.rows_with(sql, params).into_iter().next()?;
        let value = if row.len() == 1 {
            row.remove(0)
        } else {
            Value::Array(row)
        };
        Some(serde_json::from_value(value).unwrap_or_else(|e| panic!("{sql}: {e}")))
    }

    /// Every row as `T`.
    pub fn all<T: serde::de::DeserializeOwned>(&self, sql: &str) -> Vec<T> {
        self.rows(sql)
            .into_iter()
            .map(|mut row| {
                let value = if row.len() == 1 {
                    row.remove(0)
                } else {
                    Value::Array(row)
                };
                serde_json::from_value(value).unwrap_or_else(|e| panic!("{sql}: {e}"))
            })
            .collect()
    }

    /// The one integer `sql` returns.
    pub fn count(&self, sql: &str) -> i64 {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
        rows[0][0]
            .as_i64()
            .unwrap_or_else(|| panic!("{sql}: not an integer: {:?}", rows[0][0]))
    }

    /// Runs one statement that returns nothing (an `UPDATE`, say), with parameters as in
    /// [`KbSql::rows_with`]; on PostgreSQL the KB's views write through to its rows.
    pub fn execute(&self, sql: &str, params: &[&str]) {
        let rows = self.rows_with(sql, params);
        assert!(rows.is_empty(), "{sql} returned rows");
    }
}

fn sqlite_rows(path: &std::path::Path, sql: &str, params: &[&str]) -> Vec<Vec<Value>> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let columns = stmt.column_count();
    stmt.query_map(rusqlite::params_from_iter(params), |r| {
        (0..columns)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(f) => f.into(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    ValueRef::Blob(b) => b.to_vec().into(),
                })
            })
            .collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A connection whose `documents`, `entities`, … are the KB's rows (temporary views).
fn pg_connect(url: &str, tenant: &str, kb: &str) -> postgres::Client {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect to the installation's database");
    let mut views = String::new();
    for table in TABLES {
        let columns: Vec<String> = c
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                   AND column_name NOT IN ('tenant_id', 'kb_id')
                 ORDER BY ordinal_position",
                &[&format!("kb_{table}")],
            )
            .unwrap()
            .iter()
            .map(|r| {
                let (name, ty): (String, String) = (r.get(0), r.get(1));
                match ty.as_str() {
                    "text" | "bigint" | "integer" | "smallint" | "double precision" | "real" | "boolean" | "bytea" => {
                        format!("\"{name}\"")
                    }
                    // Timestamps and the like as text, as kb.db keeps them.
                    _ => format!("\"{name}\"::text AS \"{name}\""),
                }
            })
            .collect();
        assert!(!columns.is_empty(), "no table kb_{table}");
        views.push_str(&format!(
            "CREATE TEMPORARY VIEW {table} AS SELECT {} FROM kb_{table} WHERE tenant_id = '{tenant}' AND kb_id = '{kb}';",
            columns.join(", ")
        ));
    }
    c.batch_execute(&views).unwrap();
    c
}

fn pg_rows(url: &str, tenant: &str, kb: &str, sql: &str, params: &[&str]) -> Vec<Vec<Value>> {
    use postgres::types::{ToSql, Type};
    let mut c = pg_connect(url, tenant, kb);
    let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let rows = c.query(sql, &params).unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    let ty = r.columns()[i].type_();
                    let v: Option<Value> = match *ty {
                        Type::INT8 => r.get::<_, Option<i64>>(i).map(Into::into),
                        Type::INT4 => r.get::<_, Option<i32>>(i).map(Into::into),
                        Type::INT2 => r.get::<_, Option<i16>>(i).map(Into::into),
                        Type::FLOAT8 => r.get::<_, Option<f64>>(i).map(Into::into),
                        Type::FLOAT4 => r.get::<_, Option<f32>>(i).map(Into::into),
                        Type::BOOL => r.get::<_, Option<bool>>(i).map(|b| i64::from(b).into()),
                        Type::BYTEA => r.get::<_, Option<Vec<u8>>>(i).map(Into::into),
                        Type::NUMERIC => panic!("{sql}: cast NUMERIC columns (sum(), avg()) to bigint or float8"),
                        _ => r.get::<_, Option<String>>(i).map(Into::into),
                    };
                    v.unwrap_or(Value::Null)
                })
                .collect()
        })
        .collect()
}
