//! API keys (`api_keys`). The catalog stores a SHA-256 of each key, never the key: a key is
//! 312 random bits, so a fast hash is as good as a password KDF here and costs nothing per
//! request. `prefix` (the key's first characters) finds the one row whose hash is compared.

use rusqlite::{OptionalExtension, Row, ToSql, params};
use uuid::Uuid;

use super::{NewAudit, SqliteCatalog, db_error, is_unique_violation, parse_uuid};
use crate::error::{Error, Result};
use crate::model::ApiKey;

/// One stored key: what `key list` shows, and the hash to check a presented key against.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub info: ApiKey,
    pub hash: [u8; 32],
}

/// Which keys to list (both filters optional), newest first.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter<'a> {
    pub tenant: Option<Uuid>,
    pub created_by: Option<&'a str>,
}

const SELECT: &str = "SELECT key_id, prefix, key_hash, name, tenant_id, kb_id, role, created_by, created_at, \
                      expires_at, last_used_at, revoked_at, revoked_by FROM api_keys";

type Raw = (
    String,
    String,
    Vec<u8>,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn from_row(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

fn finish(raw: Raw) -> Result<KeyRecord> {
    let (id, prefix, hash, name, tenant, kb, role, created_by, created_at, expires_at, last_used, revoked, by) = raw;
    Ok(KeyRecord {
        info: ApiKey {
            key_id: parse_uuid(&id)?,
            name,
            prefix,
            tenant_id: parse_uuid(&tenant)?,
            kb_id: kb.as_deref().map(parse_uuid).transpose()?,
            role: role
                .parse()
                .map_err(|_| Error::Internal(format!("catalog holds an unknown role {role:?}")))?,
            created_by,
            created_at,
            expires_at,
            last_used_at: last_used,
            revoked_at: revoked,
            revoked_by: by,
        },
        hash: hash
            .try_into()
            .map_err(|_| Error::Internal("catalog holds a malformed key hash".into()))?,
    })
}

impl SqliteCatalog {
    /// Stores a new key with its audit row. A prefix already taken (a 72-bit collision, so in
    /// practice never) is a conflict the caller can retry with a fresh key.
    pub fn create_key(&mut self, key: &KeyRecord, audit: &NewAudit) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO api_keys (key_id, prefix, key_hash, name, tenant_id, kb_id, role, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    key.info.key_id.to_string(),
                    key.info.prefix,
                    key.hash.as_slice(),
                    key.info.name,
                    key.info.tenant_id.to_string(),
                    key.info.kb_id.map(|k| k.to_string()),
                    key.info.role.as_str(),
                    key.info.created_by,
                    key.info.created_at,
                    key.info.expires_at,
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict("an API key with this prefix exists already".into())
                } else {
                    db_error("cannot store the API key", e)
                }
            })?;
            audit.insert(tx)
        })
    }

    fn key_where(&self, clause: &str, arg: &dyn ToSql) -> Result<Option<KeyRecord>> {
        let read = |e| db_error("cannot read the API key", e);
        self.conn
            .prepare_cached(&format!("{SELECT} WHERE {clause}"))
            .map_err(read)?
            .query_row([arg], from_row)
            .optional()
            .map_err(read)?
            .map(finish)
            .transpose()
    }

    /// The key whose first characters are `prefix`.
    pub fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>> {
        self.key_where("prefix = ?1", &prefix)
    }

    pub fn key(&self, id: Uuid) -> Result<Option<KeyRecord>> {
        self.key_where("key_id = ?1", &id.to_string())
    }

    pub fn keys(&self, filter: &KeyFilter<'_>) -> Result<Vec<KeyRecord>> {
        let mut sql = format!("{SELECT} WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(t) = filter.tenant {
            args.push(t.to_string());
            sql.push_str(&format!(" AND tenant_id = ?{}", args.len()));
        }
        if let Some(user) = filter.created_by {
            args.push(user.to_string());
            sql.push_str(&format!(" AND created_by = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, key_id");
        let read = |e| db_error("cannot list API keys", e);
        let mut stmt = self.conn.prepare(&sql).map_err(read)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), from_row)
            .map_err(read)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(read)?;
        rows.into_iter().map(finish).collect()
    }

    /// Revokes a key with its audit row; revoking it twice is a conflict.
    pub fn revoke_key(&mut self, id: Uuid, by: &str, audit: &NewAudit) -> Result<KeyRecord> {
        let now = crate::time::now();
        self.write(|tx, _| {
            let changed = tx
                .execute(
                    "UPDATE api_keys SET revoked_at = ?2, revoked_by = ?3 WHERE key_id = ?1 AND revoked_at IS NULL",
                    params![id.to_string(), now, by],
                )
                .map_err(|e| db_error("cannot revoke the API key", e))?;
            if changed == 0 {
                return Err(Error::Conflict(format!("API key {id} is already revoked")));
            }
            audit.insert(tx)?;
            tx.query_row(&format!("{SELECT} WHERE key_id = ?1"), [id.to_string()], from_row)
                .map_err(|e| db_error("cannot read the API key", e))
                .and_then(finish)
        })
    }

    /// Records a use of the key, at most once per `since` (an RFC 3339 bound): `last_used_at`
    /// is informative, and a write on every request would serialize the server on the catalog.
    pub fn touch_key(&self, id: Uuid, now: &str, since: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE api_keys SET last_used_at = ?2 WHERE key_id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
            )
            .and_then(|mut s| s.execute(params![id.to_string(), now, since]))
            .map_err(|e| db_error("cannot record the API key's use", e))?;
        Ok(())
    }
}
