//! Bearer tokens' revocation: `lrt token revoke` and the check every token request makes.
//!
//! Tokens are stateless JWTs, so revocation is per user: a not-before kept in the catalog
//! (either backend, so every replica sees it on the next request). A token issued before it,
//! or carrying no `iat` (it cannot prove when it was issued), is refused as revoked. Tokens
//! name a user, not a tenant, so revoking them is installation-level: super-admins may revoke
//! anyone's, and a user their own ("sign out everywhere"); a tenant admin removes a member
//! from the tenant instead. An API key never revokes tokens.

use serde::Serialize;

use super::Service;
use crate::authz::Actor;
use crate::error::{Error, Result};

/// What `lrt token revoke` did.
#[derive(Debug, Clone, Serialize)]
pub struct TokenRevocation {
    pub user: String,
    /// Tokens of `user` issued before this moment (RFC 3339) are refused.
    pub not_before: String,
    pub revoked_by: String,
}

impl Service {
    /// The actor of a verified token's subject, unless the user's tokens were revoked after
    /// this one was issued (`issued_at`: its `iat`, Unix seconds).
    pub fn token_actor(&self, subject: &str, issued_at: Option<u64>) -> Result<Actor> {
        let actor = super::token_actor(&self.settings, subject)?;
        if let Some(not_before) = self.catalog.tokens_not_before(subject)?
            && issued_at.is_none_or(|iat| iat < not_before)
        {
            return Err(Error::Unauthenticated("the token has been revoked".into()));
        }
        Ok(actor)
    }

    /// The earliest issue time (Unix seconds) a new token of `user` must carry to be
    /// accepted: a token minted in the second its user's tokens were revoked is stamped with
    /// the not-before, not refused.
    pub fn token_issue_floor(&self, user: &str) -> Result<Option<u64>> {
        self.catalog.tokens_not_before(user)
    }

    /// `lrt token revoke`: refuses every token of `user` issued up to now (this second
    /// included). Super-admins for anyone, a user for themselves; audited either way.
    pub fn revoke_tokens(&mut self, actor: &Actor, user: &str) -> Result<TokenRevocation> {
        super::validate::user_id(user)?;
        let own = actor.user == user && actor.key.is_none();
        if !actor.super_admin && !own {
            let err = Error::Forbidden(format!(
                "permission denied: only super-admins can revoke another user's tokens (you are '{}')",
                actor.user
            ));
            self.audit_denial(actor, "token.revoke", None, None, &err);
            return Err(err);
        }
        let not_before = jsonwebtoken::get_current_timestamp().saturating_add(1);
        let mut entry = self.audit_entry(actor, "token.revoke", None, None);
        entry.detail = Some(format!("user={user}"));
        let kept = self.catalog.revoke_tokens(user, not_before, &actor.user, &entry)?;
        Ok(TokenRevocation {
            user: user.to_string(),
            not_before: jiff::Timestamp::from_second(i64::try_from(kept).unwrap_or(i64::MAX))
                .map(crate::time::format)
                .unwrap_or_default(),
            revoked_by: actor.user.clone(),
        })
    }
}
