//! The HTTP routes of `lrt key`, `lrt audit list` and `lrt usage`: API keys (create, list,
//! revoke), the audit log and the token usage report of a tenant. Each handler calls the service method the CLI calls, with the same
//! inputs, so the rules are the CLI's: a key is created with a role up to the caller's own and
//! never through another key, members list their own keys and `tenant:manage_members` lists
//! (`all=true`) and revokes everyone's, and the audit log needs `tenant:manage`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::routes::{ApiResult, Authed, Body, InTenant, Params, S, to_json};
use crate::authz::Role;
use crate::service::{AuditQuery, KeyListing, NewKey, Paging, UsageQuery};

/// `POST /api/v1/tenants/{tenant_id}/keys`: `lrt key create`'s options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyBody {
    role: Role,
    kb: Option<String>,
    name: Option<String>,
    /// A lifetime as `--expires-in` takes it (`30d`, `24h`).
    expires_in: Option<String>,
}

pub(super) async fn create_key(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Body(b): Body<KeyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let expires_in_secs = b.expires_in.as_deref().map(super::auth::parse_ttl).transpose()?;
    let new = NewKey {
        tenant: Some(t),
        kb: b.kb,
        role: b.role,
        name: b.name,
        expires_in_secs,
    };
    let created = st.call(move |svc| svc.create_key(&actor, new)).await?;
    Ok((StatusCode::CREATED, to_json(created)?))
}

#[derive(Deserialize)]
pub(super) struct KeysQuery {
    #[serde(default)]
    all: bool,
    page: Option<u64>,
    #[serde(alias = "limit")]
    page_size: Option<u64>,
}

pub(super) async fn list_keys(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Params(q): Params<KeysQuery>,
) -> ApiResult {
    let paging = Paging::or_default(q.page, q.page_size)?;
    let listing = KeyListing {
        tenant: Some(t),
        all: q.all,
    };
    to_json(paging.slice(st.call(move |svc| svc.list_keys(&actor, listing)).await?))
}

pub(super) async fn revoke_key(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Path((_, key_id)): Path<(String, String)>,
) -> ApiResult {
    to_json(st.call(move |svc| svc.revoke_key_in(&actor, Some(&t), &key_id)).await?)
}

#[derive(Deserialize)]
pub(super) struct AuditParams {
    user: Option<String>,
    since: Option<String>,
    page: Option<u64>,
    /// `limit`: what this route took before paging.
    #[serde(alias = "limit")]
    page_size: Option<u64>,
}

pub(super) async fn list_audit(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Params(q): Params<AuditParams>,
) -> ApiResult {
    let query = AuditQuery {
        paging: Paging::or_default(q.page, q.page_size)?,
        tenant: Some(t),
        user: q.user,
        since: q.since.as_deref().map(crate::time::parse_since).transpose()?,
    };
    to_json(st.call(move |svc| svc.list_audit(&actor, query)).await?)
}

#[derive(Deserialize)]
pub(super) struct UsageParams {
    kb: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET …/usage`: `lrt usage --json` (tenant:manage_billing).
pub(super) async fn usage_report(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Params(q): Params<UsageParams>,
) -> ApiResult {
    let query = UsageQuery {
        tenant: Some(t),
        kb: q.kb,
        period: q.period,
        from: q.from,
        to: q.to,
    };
    to_json(st.call(move |svc| svc.usage_report(&actor, query)).await?)
}
