//! The key tenant and KB names are unique on, and looked up by: one function for both catalog
//! backends. NFKC (compatibility forms: full-width letters, ligatures, superscripts fold into
//! plain ones), lower case character by character, then UTS #39's confusable skeleton, so names
//! that *look* alike get one key: `асme` with Cyrillic letters, `ACME` and `acme` collide, and
//! so do `paypal` and `paypa1`. Names cannot hold the invisible characters the skeleton would
//! drop (`service::validate` refuses them first).
//!
//! The key depends on the Unicode tables of the pinned `unicode-security` and
//! `unicode-normalization` versions: changing them changes keys, and needs a migration that
//! re-keys the stored rows as [`rekey_sqlite`] (and PostgreSQL's migration) do.

use std::collections::HashSet;

use rusqlite::{Transaction, params};
use unicode_normalization::UnicodeNormalization;

use super::{NewAudit, db_error};
use crate::error::Result;
use crate::model::Outcome;

/// The uniqueness and lookup key of a tenant or KB name.
pub fn name_key(name: &str) -> String {
    let folded: String = name.nfkc().flat_map(char::to_lowercase).collect();
    // A prototype may be a capital (the skeleton of Cyrillic `А` is Latin `A`): fold once more.
    let once: String = unicode_security::skeleton(&folded)
        .flat_map(char::to_lowercase)
        .collect();
    unicode_security::skeleton(&once).nfc().collect()
}

/// The key a row keeps when its name's key is taken by an older row (two names that were
/// distinct under an older key rule): made unique by the row's id after a separator no name
/// key holds (names have no control characters), so the row stays, reachable by its id.
pub(crate) fn displaced_key(key: &str, id: &str) -> String {
    format!("{key}\u{1}{id}")
}

/// One row to re-key: its id, scope (the tenant, for KBs; empty for tenants) and name, oldest
/// first.
pub(crate) struct Named {
    pub id: String,
    pub scope: String,
    pub name: String,
}

/// A name that now collides with an older one's: kept, under [`displaced_key`], and reported.
pub(crate) struct Collision {
    pub kind: &'static str,
    pub id: String,
    pub scope: String,
    pub name: String,
    pub key: String,
}

/// New keys for rows listed oldest first: the oldest of look-alike names keeps the key.
pub(crate) fn assign(kind: &'static str, rows: &[Named]) -> (Vec<(String, String)>, Vec<Collision>) {
    let mut taken = HashSet::new();
    let mut keys = Vec::with_capacity(rows.len());
    let mut collisions = Vec::new();
    for row in rows {
        let key = name_key(&row.name);
        if taken.insert((row.scope.clone(), key.clone())) {
            keys.push((row.id.clone(), key));
        } else {
            keys.push((row.id.clone(), displaced_key(&key, &row.id)));
            collisions.push(Collision {
                kind,
                id: row.id.clone(),
                scope: row.scope.clone(),
                name: row.name.clone(),
                key,
            });
        }
    }
    (keys, collisions)
}

/// The audit row and warning of a collision found while re-keying.
pub(crate) fn report(c: &Collision) -> NewAudit {
    let detail = format!(
        "{} '{}' ({}) looks like an older {} and keeps its name, but is found by id only until renamed",
        c.kind, c.name, c.id, c.kind
    );
    eprintln!("lrt: warning: catalog migration: {detail}");
    NewAudit {
        user: "lrt".into(),
        real_user: None,
        action: "catalog.rekey".into(),
        // A tenant's own log, or the KB's tenant's: its admins are the ones to rename it.
        tenant_id: uuid::Uuid::parse_str(if c.scope.is_empty() { &c.id } else { &c.scope }).ok(),
        kb_id: if c.scope.is_empty() {
            None
        } else {
            uuid::Uuid::parse_str(&c.id).ok()
        },
        outcome: Outcome::Ok,
        detail: Some(format!("{detail} (its name's key is {:?})", c.key)),
        api_key_id: None,
    }
}

/// The SQLite catalog's re-keying conversion: every tenant and KB name key recomputed with
/// [`name_key`], in the migration's transaction. Keys are first set to unique placeholders
/// so that no intermediate state breaks a UNIQUE constraint.
pub(super) fn rekey_sqlite(tx: &Transaction<'_>) -> Result<()> {
    let read = |sql: &str| -> Result<Vec<Named>> {
        let mut stmt = tx
            .prepare(sql)
            .map_err(|e| db_error("cannot read names to re-key", e))?;
        stmt.query_map([], |r| {
            Ok(Named {
                id: r.get(0)?,
                scope: r.get(1)?,
                name: r.get(2)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| db_error("cannot read names to re-key", e))
    };
    let tenants = read("SELECT tenant_id, '', name FROM tenants ORDER BY created_at, tenant_id")?;
    let kbs = read("SELECT kb_id, tenant_id, name FROM knowledge_bases ORDER BY created_at, kb_id")?;
    let (tenant_keys, mut collisions) = assign("tenant", &tenants);
    let (kb_keys, kb_collisions) = assign("knowledge base", &kbs);
    collisions.extend(kb_collisions);
    let fail = |e| db_error("cannot re-key names", e);
    tx.execute_batch(
        "UPDATE tenants SET name_key = char(1) || tenant_id; UPDATE knowledge_bases SET name_key = char(1) || kb_id;",
    )
    .map_err(fail)?;
    for (id, key) in &tenant_keys {
        tx.execute(
            "UPDATE tenants SET name_key = ?2 WHERE tenant_id = ?1",
            params![id, key],
        )
        .map_err(fail)?;
    }
    for (id, key) in &kb_keys {
        tx.execute(
            "UPDATE knowledge_bases SET name_key = ?2 WHERE kb_id = ?1",
            params![id, key],
        )
        .map_err(fail)?;
    }
    for c in &collisions {
        report(c).insert(tx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_names_share_a_key() {
        let acme = name_key("acme");
        // Case, Cyrillic а and с, full-width forms.
        for same in ["ACME", "Acme", "\u{430}\u{441}me", "ａｃｍｅ"] {
            assert_eq!(name_key(same), acme, "{same:?}");
        }
        assert_eq!(name_key("paypal"), name_key("paypa1"));
        assert_eq!(name_key("ﬁle"), name_key("file"));
        for other in ["acne", "acme2", "acme corp"] {
            assert_ne!(name_key(other), acme, "{other:?}");
        }
        // Distinct scripts that do not look alike stay distinct.
        assert_ne!(name_key("日本"), name_key("中国"));
    }

    #[test]
    fn the_oldest_of_look_alikes_keeps_the_key() {
        let row = |id: &str, name: &str| Named {
            id: id.into(),
            scope: String::new(),
            name: name.into(),
        };
        let (keys, collisions) = assign("tenant", &[row("1", "acme"), row("2", "асme"), row("3", "globex")]);
        assert_eq!(keys[0].1, name_key("acme"));
        assert_eq!(keys[1].1, displaced_key(&name_key("acme"), "2"));
        assert_eq!(keys[2].1, name_key("globex"));
        assert_eq!(collisions.len(), 1);
        assert_eq!(collisions[0].id, "2");
    }
}
