//! API keys for scripts and services (`lrt key create|list|revoke`, `X-API-Key` in `lrt serve`).
//!
//! A key is `lrt_` + 52 base64url characters (39 random bytes). Its first 16 characters are
//! the stored `prefix` that finds its row; only a SHA-256 of the whole key is stored, compared
//! in constant time. A key acts as its creator, limited to its tenant (or one KB) and capped at
//! its role: `authz::decide` gives it the lower of that role and the creator's role *now*, and
//! authentication refuses it once revoked, expired, or when its creator has left the tenant.
//!
//! Who manages keys: any member may create keys in their tenant with a role up to their own
//! (super-admins: any role) and list and revoke their own; members with
//! `tenant:manage_members` (tenant admins) list and revoke every key of their tenant;
//! super-admins list every key. A request made with a key cannot create keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{Service, validate};
use crate::authz::{self, Actor, KeyScope, Need, OnInactive, Permission, Role};
use crate::catalog::{KeyFilter, KeyRecord};
use crate::error::{Error, Result};
use crate::model::ApiKey;

/// Every key starts with this, so secret scanners and people recognise it.
pub const KEY_PREFIX: &str = "lrt_";
/// Random bytes per key (312 bits): 52 base64url characters.
const KEY_BYTES: usize = 39;
/// `lrt_` and the first 12 random characters (72 bits): the stored, listed prefix.
const PREFIX_CHARS: usize = KEY_PREFIX.len() + 12;
/// Lifetime when `--expires-in` is not given: 90 days.
pub const DEFAULT_KEY_TTL_SECS: u64 = 90 * 86_400;
/// The longest lifetime accepted: 365 days. Keys always expire.
pub const MAX_KEY_TTL_SECS: u64 = 365 * 86_400;
/// `last_used_at` is written at most once a minute per key.
const TOUCH_INTERVAL_SECS: u64 = 60;

/// `lrt key create`.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub tenant: Option<String>,
    /// Limit the key to this KB of the tenant.
    pub kb: Option<String>,
    pub role: Role,
    pub name: Option<String>,
    /// Lifetime in seconds; `None`: [`DEFAULT_KEY_TTL_SECS`].
    pub expires_in_secs: Option<u64>,
}

/// A new key: the only time its secret exists outside the caller's hands.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedKey {
    /// The key itself; it is not stored and cannot be shown again.
    pub key: String,
    #[serde(flatten)]
    pub info: ApiKey,
}

/// `lrt key list` options.
#[derive(Debug, Clone, Default)]
pub struct KeyListing {
    pub tenant: Option<String>,
    /// Everyone's keys, not only the actor's.
    pub all: bool,
}

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A fresh random key.
fn generate() -> Result<String> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness for the API key: {e}")))?;
    Ok(format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether `key` has the shape of an lrt key (checked before any lookup).
/// Whether `key` has the shape of an lrt API key (checked before any lookup).
pub fn well_formed(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == KEY_BYTES * 4 / 3
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

impl Service {
    /// Creates a key; needs at least `role` in the tenant (`Need::IssueKey`), and the KB, if
    /// given, must be one of the tenant's. The create is audited with the new key's id.
    pub fn create_key(&mut self, actor: &Actor, new: NewKey) -> Result<CreatedKey> {
        let t = self.tenant_for(
            actor,
            new.tenant.as_deref(),
            Need::IssueKey(new.role),
            OnInactive::Refuse,
            "key.create",
        )?;
        let kb = new.kb.as_deref().map(|k| self.kb_in(actor, &t, Some(k))).transpose()?;
        if let Some(name) = &new.name {
            validate::name("key", name)?;
        }
        let ttl = new.expires_in_secs.unwrap_or(DEFAULT_KEY_TTL_SECS);
        if ttl == 0 || ttl > MAX_KEY_TTL_SECS {
            return Err(Error::Usage(format!(
                "--expires-in must be between 1 second and {} days",
                MAX_KEY_TTL_SECS / 86_400
            )));
        }
        let now = Timestamp::now();
        // A prefix collision is a 72-bit coincidence; one retry with a new key settles it.
        let mut attempt = 0;
        loop {
            let secret = generate()?;
            let info = ApiKey {
                key_id: Uuid::new_v4(),
                name: new.name.clone(),
                prefix: secret[..PREFIX_CHARS].to_string(),
                tenant_id: t.id,
                kb_id: kb.as_ref().map(|k| k.id),
                role: new.role,
                created_by: actor.user.clone(),
                created_at: crate::time::format(now),
                expires_at: crate::time::format(crate::time::plus_secs(now, ttl)),
                last_used_at: None,
                revoked_at: None,
                revoked_by: None,
            };
            let mut audit = self.audit_entry(actor, "key.create", Some(t.id), info.kb_id);
            audit.detail = Some(format!(
                "key_id={} role={} expires_at={}",
                info.key_id, info.role, info.expires_at
            ));
            let record = KeyRecord {
                hash: hash(&secret),
                info,
            };
            match self.catalog.create_key(&record, &audit) {
                Ok(()) => {
                    return Ok(CreatedKey {
                        key: secret,
                        info: record.info,
                    });
                }
                Err(Error::Conflict(_)) if attempt == 0 => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Lists keys (never their secrets): by default the actor's own, in one tenant or all;
    /// with `all`, every key of the tenant (`tenant:manage_members`) or, without a tenant,
    /// every key (super-admins).
    pub fn list_keys(&mut self, actor: &Actor, listing: KeyListing) -> Result<Vec<ApiKey>> {
        let filter = match (listing.tenant.as_deref(), listing.all) {
            (None, false) => KeyFilter {
                tenant: None,
                created_by: Some(&actor.user),
            },
            (None, true) => {
                if let Err(err) = authz::require_super_admin(actor, "list every API key (pass --tenant)") {
                    self.audit_denial(actor, "key.list", None, None, &err);
                    return Err(err);
                }
                KeyFilter::default()
            }
            (Some(ident), all) => {
                let need = if all {
                    Need::Permission(Permission::TenantManageMembers)
                } else {
                    Need::Member
                };
                let t = self.tenant_for(actor, Some(ident), need, OnInactive::Allow, "key.list")?;
                KeyFilter {
                    tenant: Some(t.id),
                    created_by: (!all).then_some(actor.user.as_str()),
                }
            }
        };
        Ok(self.catalog.keys(&filter)?.into_iter().map(|k| k.info).collect())
    }

    /// Revokes a key: its creator may, and so may whoever has `tenant:manage_members` in its
    /// tenant. Takes effect on the key's next request. A key the actor cannot see is "not
    /// found", like a missing one.
    pub fn revoke_key(&mut self, actor: &Actor, key_id: &str) -> Result<ApiKey> {
        self.revoke_key_in(actor, None, key_id)
    }

    /// [`revoke_key`](Self::revoke_key) of a key that must belong to the tenant `tenant` (id
    /// or name) when one is given, as `DELETE /api/v1/tenants/{tenant_id}/keys/{key_id}`
    /// asks: another tenant's key is "not found".
    pub fn revoke_key_in(&mut self, actor: &Actor, in_tenant: Option<&str>, key_id: &str) -> Result<ApiKey> {
        let not_found = || Error::NotFound(format!("API key '{key_id}' not found"));
        let id = Uuid::parse_str(key_id.trim()).map_err(|_| not_found())?;
        let key = self.catalog.key(id)?.ok_or_else(not_found)?.info;
        let tenant = self.catalog.tenant(key.tenant_id)?.ok_or_else(not_found)?;
        if let Some(ident) = in_tenant {
            let named = Uuid::parse_str(ident.trim()).map_or_else(
                |_| crate::catalog::name_key(ident.trim()) == crate::catalog::name_key(&tenant.name),
                |named| named == tenant.id,
            );
            if !named {
                return Err(not_found());
            }
        }
        let need = if key.created_by == actor.user {
            Need::Member
        } else {
            Need::Permission(Permission::TenantManageMembers)
        };
        self.authorize(actor, &tenant, key.kb_id, need, OnInactive::Allow, "key.revoke")
            .map_err(|e| match e {
                Error::NotFound(_) => not_found(),
                other => other,
            })?;
        let mut audit = self.audit_entry(actor, "key.revoke", Some(tenant.id), key.kb_id);
        audit.detail = Some(format!("key_id={id}"));
        Ok(self.catalog.revoke_key(id, &actor.user, &audit)?.info)
    }

    /// The actor of a request made with `X-API-Key`: the key's creator, carrying the key's
    /// scope for `authz::decide`. Unknown, revoked and expired keys, and keys whose creator is
    /// no longer a member of the tenant (nor a super-admin), are unauthenticated.
    pub fn key_actor(&self, presented: &str) -> Result<Actor> {
        let invalid = || Error::Unauthenticated("invalid API key".into());
        if !well_formed(presented) {
            return Err(invalid());
        }
        let stored = self
            .catalog
            .key_by_prefix(&presented[..PREFIX_CHARS])?
            .ok_or_else(invalid)?;
        if !bool::from(hash(presented).ct_eq(&stored.hash)) {
            return Err(invalid());
        }
        let key = stored.info;
        if key.revoked_at.is_some() {
            return Err(Error::Unauthenticated("the API key has been revoked".into()));
        }
        let now = Timestamp::now();
        let now_text = crate::time::format(now);
        if now_text >= key.expires_at {
            return Err(Error::Unauthenticated(format!(
                "the API key expired at {}",
                key.expires_at
            )));
        }
        let creator_super_admin = self.is_super_admin(&key.created_by);
        if !creator_super_admin {
            let tenant = self.catalog.tenant(key.tenant_id)?.ok_or_else(invalid)?;
            if self.role_of(&key.created_by, &tenant, true)?.is_none() {
                return Err(Error::Unauthenticated(
                    "the API key is disabled: its creator is no longer a member of its tenant".into(),
                ));
            }
        }
        let since = crate::time::format(
            now.checked_sub(jiff::SignedDuration::from_secs(TOUCH_INTERVAL_SECS as i64))
                .unwrap_or(now),
        );
        // `last_used_at` is informative: a busy catalog must not turn a valid key away.
        let _ = self.catalog.touch_key(key.key_id, &now_text, &since);
        Ok(Actor {
            key: Some(KeyScope {
                id: key.key_id,
                tenant: key.tenant_id,
                kb: key.kb_id,
                role: key.role,
                creator_super_admin,
            }),
            remote: true,
            ..Actor::user(key.created_by, false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::NewKb;
    use super::super::testing::{acme, user};
    use super::*;

    fn new_key(role: Role, kb: Option<&str>) -> NewKey {
        NewKey {
            tenant: Some("acme".into()),
            kb: kb.map(str::to_string),
            role,
            name: Some("ci".into()),
            expires_in_secs: None,
        }
    }

    #[test]
    fn keys_are_hashed_capped_scoped_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = acme(dir.path());
        let alice = user("alice");
        let kb = NewKb {
            name: "docs".into(),
            description: None,
            set: vec![],
        };
        svc.create_kb(&alice, Some("acme"), kb).unwrap();
        svc.add_member(&alice, Some("acme"), "bob", Role::Viewer).unwrap();

        let bob = user("bob");
        let e = svc.create_key(&bob, new_key(Role::Editor, None)).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e}");
        let created = svc.create_key(&bob, new_key(Role::Viewer, Some("docs"))).unwrap();
        assert!(well_formed(&created.key) && created.key.starts_with(&created.info.prefix));
        let stored = svc.catalog.key_by_prefix(&created.info.prefix).unwrap().unwrap();
        assert_eq!(stored.hash, hash(&created.key));

        let actor = svc.key_actor(&created.key).unwrap();
        assert_eq!(actor.user, "bob");
        assert!(!actor.super_admin);
        let e = svc.create_key(&actor, new_key(Role::Viewer, None)).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "keys cannot mint keys: {e}");
        let mut forged = created.key.clone();
        forged.replace_range(PREFIX_CHARS.., &"A".repeat(created.key.len() - PREFIX_CHARS));
        assert!(matches!(svc.key_actor(&forged), Err(Error::Unauthenticated(_))));

        // Bob sees his key, not alice's; alice (admin) sees all and revokes bob's.
        svc.create_key(&alice, new_key(Role::Admin, None)).unwrap();
        let mine = KeyListing {
            tenant: Some("acme".into()),
            all: false,
        };
        assert_eq!(svc.list_keys(&bob, mine.clone()).unwrap().len(), 1);
        let all = KeyListing {
            tenant: Some("acme".into()),
            all: true,
        };
        assert!(matches!(svc.list_keys(&bob, all.clone()), Err(Error::Forbidden(_))));
        assert_eq!(svc.list_keys(&alice, all).unwrap().len(), 2);
        let id = created.info.key_id.to_string();
        let e = svc.revoke_key(&user("mallory"), &id).unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{e}");
        svc.revoke_key(&alice, &id).unwrap();
        assert!(matches!(svc.revoke_key(&bob, &id), Err(Error::Conflict(_))));
        let e = svc.key_actor(&created.key).unwrap_err();
        assert!(e.to_string().contains("revoked"), "{e}");
    }
}
