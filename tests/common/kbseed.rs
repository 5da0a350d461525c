//! The same KB rows written with plain SQL into either backend's tables (`kb.db` on SQLite,
//! the `kb_*` tables of the fixture's schema on PostgreSQL), so the conformance tests of the
//! read paths depend on no store write path. Keys are written as given on both backends (and
//! PostgreSQL's key sequences moved past them), so both stores hold identical rows.

use lrt::store::codec::encode_vector;

use super::kbstore::KbFixture;

/// A column value.
#[derive(Debug, Clone)]
pub enum V {
    T(String),
    I(i64),
    F(f64),
    B(Vec<u8>),
    NullText,
    NullInt,
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::T(s.to_string())
    }
}

impl From<String> for V {
    fn from(s: String) -> V {
        V::T(s)
    }
}

impl From<i64> for V {
    fn from(n: i64) -> V {
        V::I(n)
    }
}

impl From<f64> for V {
    fn from(x: f64) -> V {
        V::F(x)
    }
}

impl V {
    fn sqlite(&self) -> rusqlite::types::Value {
        use rusqlite::types::Value;
        match self {
            V::T(s) => Value::Text(s.clone()),
            V::I(n) => Value::Integer(*n),
            V::F(x) => Value::Real(*x),
            V::B(b) => Value::Blob(b.clone()),
            V::NullText | V::NullInt => Value::Null,
        }
    }

    fn postgres(&self) -> Box<dyn ::postgres::types::ToSql + Sync> {
        match self {
            V::T(s) => Box::new(s.clone()),
            V::I(n) => Box::new(*n),
            V::F(x) => Box::new(*x),
            V::B(b) => Box::new(b.clone()),
            V::NullText => Box::new(None::<String>),
            V::NullInt => Box::new(None::<i64>),
        }
    }
}

/// Rows to write, table by table (SQLite's table names; PostgreSQL's are `kb_` + them).
#[derive(Default)]
pub struct Seed {
    rows: Vec<(&'static str, Vec<(&'static str, V)>)>,
    pub generation: u64,
}

impl Seed {
    pub fn row(&mut self, table: &'static str, columns: Vec<(&'static str, V)>) -> &mut Seed {
        self.rows.push((table, columns));
        self
    }

    pub fn document(&mut self, doc_id: &str, file_path: &str, status: &str, updated_at: &str) -> &mut Seed {
        let content = format!("  The text of {doc_id}, {}", "long enough to be cut. ".repeat(20));
        self.row(
            "documents",
            vec![
                ("doc_id", doc_id.into()),
                ("file_path", file_path.into()),
                ("content_length", (content.len() as i64).into()),
                ("content", content.into()),
                ("content_hash", format!("hash-{doc_id}").into()),
                ("status", status.into()),
                (
                    "error",
                    if status == "failed" {
                        "it broke".into()
                    } else {
                        V::NullText
                    },
                ),
                ("chunks_count", 0i64.into()),
                ("created_at", "2026-01-01T00:00:00Z".into()),
                ("updated_at", updated_at.into()),
            ],
        )
    }

    pub fn chunk(
        &mut self,
        key: i64,
        chunk_id: &str,
        doc_id: &str,
        order: i64,
        pages: Option<(i64, i64)>,
    ) -> &mut Seed {
        self.row(
            "chunks",
            vec![
                ("chunk_key", key.into()),
                ("chunk_id", chunk_id.into()),
                ("doc_id", doc_id.into()),
                ("chunk_order", order.into()),
                ("tokens", (10 + order).into()),
                ("content", format!("Chunk {chunk_id}: some text.").into()),
                ("file_path", format!("{doc_id}.txt").into()),
                ("embedding", V::B(encode_vector(&[key as f32, 0.5, -1.0]))),
                ("page_first", pages.map_or(V::NullInt, |p| p.0.into())),
                ("page_last", pages.map_or(V::NullInt, |p| p.1.into())),
            ],
        )
    }

    /// An entity; `all` is the stored `all_source_ids` column (empty: same as `sources`).
    pub fn entity(&mut self, key: i64, name: &str, ty: &str, sources: &str, all: &str) -> &mut Seed {
        self.row(
            "entities",
            vec![
                ("entity_key", key.into()),
                ("name", name.into()),
                ("entity_id", format!("ent-{key}").into()),
                ("entity_type", ty.into()),
                ("description", format!("{name} is someone.<SEP>{name} again.").into()),
                ("source_ids", sources.into()),
                ("all_source_ids", all.into()),
                ("file_paths", "a.txt<SEP>b.txt".into()),
                ("truncate", "".into()),
                ("created_at", (100 + key).into()),
                ("embedding", V::B(encode_vector(&[1.0, key as f32]))),
            ],
        )
    }

    /// A relation (`src < tgt` in byte order).
    pub fn relation(&mut self, key: i64, src: &str, tgt: &str, weight: f64, sources: &str) -> &mut Seed {
        assert!(src < tgt, "{src} < {tgt}");
        self.row(
            "relations",
            vec![
                ("relation_key", key.into()),
                ("src", src.into()),
                ("tgt", tgt.into()),
                ("relation_id", format!("rel-{key}").into()),
                ("keywords", "knows,works with".into()),
                ("description", format!("{src} and {tgt}").into()),
                ("weight", weight.into()),
                ("source_ids", sources.into()),
                ("all_source_ids", "".into()),
                ("file_paths", "a.txt".into()),
                ("truncate", "".into()),
                ("created_at", (200 + key).into()),
                ("embedding", V::B(encode_vector(&[0.0, key as f32]))),
            ],
        )
    }

    /// Writes the rows into the fixture's KB (whose store must be open, so its tables exist).
    pub fn write(&self, f: &KbFixture) {
        match f.pg_client() {
            None => self.write_sqlite(f),
            Some(client) => self.write_postgres(f, client),
        }
    }

    fn write_sqlite(&self, f: &KbFixture) {
        let mut conn = rusqlite::Connection::open(f.location().dir.join("kb.db")).unwrap();
        let tx = conn.transaction().unwrap();
        for (table, columns) in &self.rows {
            let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let values: Vec<rusqlite::types::Value> = columns.iter().map(|c| c.1.sqlite()).collect();
            tx.execute(
                &format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                ),
                rusqlite::params_from_iter(values),
            )
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        }
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'generation'",
            [self.generation.to_string()],
        )
        .unwrap();
        tx.commit().unwrap();
    }

    fn write_postgres(&self, f: &KbFixture, mut client: ::postgres::Client) {
        let mut tx = client.transaction().unwrap();
        for (table, columns) in &self.rows {
            let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
            let marks: Vec<String> = (3..columns.len() + 3).map(|i| format!("${i}")).collect();
            let values: Vec<Box<dyn ::postgres::types::ToSql + Sync>> =
                columns.iter().map(|c| c.1.postgres()).collect();
            let mut params: Vec<&(dyn ::postgres::types::ToSql + Sync)> = vec![&f.tenant, &f.kb];
            params.extend(values.iter().map(|v| v.as_ref()));
            tx.execute(
                &format!(
                    "INSERT INTO kb_{table} (tenant_id, kb_id, {}) VALUES ($1, $2, {})",
                    names.join(", "),
                    marks.join(", ")
                ),
                &params,
            )
            .unwrap_or_else(|e| panic!("kb_{table}: {e}"));
        }
        tx.execute(
            "INSERT INTO kb_meta (tenant_id, kb_id, key, value) VALUES ($1, $2, 'generation', $3)
             ON CONFLICT (tenant_id, kb_id, key) DO UPDATE SET value = excluded.value",
            &[&f.tenant, &f.kb, &self.generation.to_string()],
        )
        .unwrap();
        for (table, key) in [
            ("kb_chunks", "chunk_key"),
            ("kb_entities", "entity_key"),
            ("kb_relations", "relation_key"),
        ] {
            tx.execute(
                &format!("SELECT setval(pg_get_serial_sequence('{table}', '{key}'), max({key})) FROM {table}"),
                &[],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
}
