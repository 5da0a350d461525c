//! The `/api/v1` handlers of tenants, KBs, members, listings and queries (the route table is
//! `api.rs`). Each handler: authenticate (`Authed`), take the path's ids with the tenant headers checked
//! against them (`InTenant`, `InKb`), call one service method, answer with the CLI's JSON model.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::access::Caller;
use super::{ApiError, AppState};
use crate::authz::{Actor, Permission, Role};
use crate::error::Error;
use crate::llm::Message;
use crate::rag::query::{QueryMode, QueryParams, QueryResult};
use crate::service::{AuthorizedQuery, KbUpdate, NewKb, NewTenant, Service, TenantUpdate};
use crate::service::{EngineGuard, Paging};
use crate::store::kb::DocStatus;

pub(super) type S = State<Arc<AppState>>;
pub(super) type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// The authenticated actor of a request (from `Authorization` or `X-API-Key`), also handed to
/// the access log.
pub(super) struct Authed(pub(super) Actor);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let text = |name: &str| {
            let mut values = parts.headers.get_all(name).iter();
            let Some(v) = values.next() else { return Ok(None) };
            // Which of two credentials a proxy and the server would each pick is not a
            // guess the server makes.
            if values.next().is_some() {
                return Err(ApiError::bad_request(format!("send one {name} header, not several")));
            }
            v.to_str()
                .map(|v| Some(v.to_string()))
                .map_err(|_| ApiError::unauthenticated(format!("the {name} header is not text")))
        };
        let authorization = text(axum::http::header::AUTHORIZATION.as_str())?;
        let api_key = text("x-api-key")?;
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(secs) = state.throttle.blocked(addr) {
            let mut err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                crate::error::ErrorKind::RateLimited.as_str(),
                format!("too many failed authentications from this address; try again in {secs} s"),
            );
            err.retry_after = Some(secs);
            return Err(err);
        }
        if !state.require_auth && authorization.is_none() && api_key.is_none() {
            local_origin_only(&parts.headers)?;
        }
        let actor = state
            .actor(authorization.as_deref(), api_key.as_deref())
            .await
            .inspect_err(|e| {
                // Guesses present credentials; a request without any is not one.
                let presented = authorization.is_some() || api_key.is_some();
                if presented && e.status == StatusCode::UNAUTHORIZED {
                    state.throttle.failed(addr);
                }
            })?;
        if let Some(caller) = parts.extensions.get::<Caller>() {
            caller.record(&actor);
        }
        Ok(Authed(actor))
    }
}

/// Without user authentication a request acts as the local identity, so it must come from
/// this machine's own pages and tools: a `Host` naming a loopback address (a DNS-rebound
/// name is refused) and, when a browser sends one, an `Origin` on a loopback address too (a
/// cross-site form post is refused).
fn local_origin_only(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = |what: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            crate::error::ErrorKind::Forbidden.as_str(),
            format!(
                "without user authentication (LIGHTRAG_REQUIRE_USER_AUTH=false) only local requests are served: \
                 the {what} is not a loopback address"
            ),
        )
    };
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(is_loopback_authority) {
        return Err(refused("Host header"));
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let authority = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")));
        if !authority.is_some_and(is_loopback_authority) {
            return Err(refused("request's Origin"));
        }
    }
    Ok(())
}

/// `localhost`, `127.x.x.x` or `[::1]`, with an optional port.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A JSON body whose rejections (bad JSON, too large) are JSON errors too.
pub(super) struct Body<T>(pub(super) T);

impl<T, St> FromRequest<St> for Body<T>
where
    Json<T>: FromRequest<St, Rejection = axum::extract::rejection::JsonRejection>,
    St: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(ApiError::from)
    }
}

/// A query string whose rejections (an unknown mode, a number that is not one) are JSON
/// errors too, like every other bad request.
pub(super) struct Params<T>(pub(super) T);

impl<T, St> FromRequestParts<St> for Params<T>
where
    T: serde::de::DeserializeOwned,
    St: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))
    }
}

/// A path id: only UUIDs address tenants and KBs over HTTP (names are a CLI convenience).
/// Anything else is "not found", like an id that names nothing.
pub(super) fn path_id(raw: &str, what: &str) -> Result<String, ApiError> {
    Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| Error::NotFound(format!("{what} '{raw}' not found")).into())
}

/// `X-Tenant-ID`/`X-KB-ID`: required in strict mode, and when present they must name the
/// path's tenant and KB.
fn check_scope(state: &AppState, headers: &HeaderMap, tenant: &str, kb: Option<&str>) -> Result<(), ApiError> {
    let mut expected = vec![("X-Tenant-ID", tenant)];
    if let Some(kb) = kb {
        expected.push(("X-KB-ID", kb));
    }
    for (name, path_value) in expected {
        match headers.get(name) {
            None if state.strict => {
                return Err(ApiError::bad_request(format!(
                    "the {name} header is required (LIGHTRAG_MULTI_TENANT_STRICT)"
                )));
            }
            None => {}
            Some(v) => {
                let same = v
                    .to_str()
                    .ok()
                    .and_then(|v| Uuid::parse_str(v.trim()).ok())
                    .is_some_and(|h| h.to_string() == path_value);
                if !same {
                    return Err(ApiError::bad_request(format!(
                        "the {name} header does not match the id in the path"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A tenant-scoped route's tenant: the canonical id of its `{tenant_id}`, with the tenant
/// header checked against it.
pub(super) struct InTenant(pub(super) String);

/// A KB-scoped route's tenant and KB: the canonical ids of its `{tenant_id}` and `{kb_id}`,
/// with the tenant headers checked against them.
#[derive(Clone)]
pub(super) struct InKb(pub(super) String, pub(super) String);

impl FromRequestParts<Arc<AppState>> for InTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (t, _) = scope(parts, state, false).await?;
        Ok(InTenant(t))
    }
}

impl FromRequestParts<Arc<AppState>> for InKb {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (t, k) = scope(parts, state, true).await?;
        Ok(InKb(t, k.expect("a KB scope has a KB")))
    }
}

/// The path's tenant (and KB) ids after [`check_scope`]. Handlers list these extractors after
/// [`Authed`], so a request without valid credentials is 401 before its headers are judged.
async fn scope(parts: &mut Parts, state: &Arc<AppState>, with_kb: bool) -> Result<(String, Option<String>), ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let param = |name: &str| {
        params
            .get(name)
            .ok_or_else(|| ApiError::from(Error::Internal(format!("the route has no {{{name}}}"))))
    };
    let t = path_id(param("tenant_id")?, "tenant")?;
    let k = match with_kb {
        true => Some(path_id(param("kb_id")?, "knowledge base")?),
        false => None,
    };
    check_scope(state, &parts.headers, &t, k.as_deref())?;
    Ok((t, k))
}

/// A data-plane request's admission: `permission` on the KB is checked (denials audited under
/// `action`) and one API call is counted against the tenant's `max_monthly_api_calls` (429
/// with `Retry-After` over it), before any work. Every route under a KB's `documents`,
/// `query` and `graph` is charged once: these through here, uploads and queries by the
/// service functions they call.
pub(super) fn admit(
    svc: &mut Service,
    actor: &Actor,
    (t, k): (&str, &str),
    permission: Permission,
    action: &str,
) -> crate::error::Result<AuthorizedQuery> {
    let admitted = svc.authorize_kb_call(actor, Some(t), Some(k), permission, action)?;
    svc.charge_query(&admitted)?;
    Ok(admitted)
}

pub(super) fn to_json<T: serde::Serialize>(value: T) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| Error::Internal(format!("cannot serialize the response: {e}")).into())
}

/// Liveness and the database's reachability: 200 `ok`, or 503 `unavailable` (with
/// `Retry-After`) while the database cannot be reached, so a load balancer sends requests to
/// replicas that can serve them.
pub(super) async fn health(State(st): S) -> axum::response::Response {
    use axum::response::IntoResponse;
    let database = st.health.status(&st.settings).await;
    let (status, word) = if database.reachable {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let body = Json(json!({"status": word, "version": env!("CARGO_PKG_VERSION"), "database": database}));
    let mut response = (status, body).into_response();
    if !database.reachable {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(super::error::UNAVAILABLE_RETRY_AFTER_SECS),
        );
    }
    response
}

pub(super) async fn me(State(st): S, Authed(actor): Authed) -> ApiResult {
    to_json(st.call(move |svc| svc.whoami(&actor)).await?)
}

/// `page` and `page_size`, the paging of every list route (`limit`: an alias of `page_size`,
/// what the entity and audit lists took before).
#[derive(Deserialize)]
pub(super) struct PageQuery {
    page: Option<u64>,
    #[serde(alias = "limit")]
    page_size: Option<u64>,
}

impl PageQuery {
    /// The checked paging: a bad value is a 400 before any work.
    pub(super) fn paging(&self) -> Result<Paging, ApiError> {
        Ok(Paging::or_default(self.page, self.page_size)?)
    }
}

pub(super) async fn list_tenants(State(st): S, Authed(actor): Authed, Params(q): Params<PageQuery>) -> ApiResult {
    let paging = q.paging()?;
    to_json(st.call(move |svc| svc.list_tenants(&actor, paging)).await?)
}

/// A setting value as the CLI's `--set key=value` text (JSON strings as they are, other
/// values in their JSON form), so one parser types both.
fn settings_pairs(set: Map<String, Value>) -> Vec<(String, String)> {
    set.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

fn metadata_pairs(metadata: Map<String, Value>) -> Result<Vec<(String, String)>, ApiError> {
    metadata
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(ApiError::bad_request(format!(
                "metadata value of {k:?} must be a string"
            ))),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantBody {
    name: String,
    description: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    /// Config and quota settings, as `lrt tenant create --set`.
    #[serde(default)]
    set: Map<String, Value>,
    /// The tenant's first admin.
    admin: Option<String>,
}

pub(super) async fn create_tenant(
    State(st): S,
    Authed(actor): Authed,
    Body(b): Body<TenantBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    for (k, v) in &b.metadata {
        if !v.is_string() {
            return Err(ApiError::bad_request(format!(
                "metadata value of {k:?} must be a string"
            )));
        }
    }
    let new = NewTenant {
        name: b.name,
        description: b.description,
        metadata: b.metadata,
        settings: settings_pairs(b.set),
        admin: b.admin,
        ..Default::default()
    };
    let t = st.call(move |svc| svc.create_tenant(&actor, new)).await?;
    Ok((StatusCode::CREATED, to_json(t)?))
}

pub(super) async fn get_tenant(State(st): S, Authed(actor): Authed, InTenant(t): InTenant) -> ApiResult {
    to_json(st.call(move |svc| svc.show_tenant(&actor, Some(&t))).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantPatch {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    unset: Vec<String>,
}

pub(super) async fn update_tenant(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Body(b): Body<TenantPatch>,
) -> ApiResult {
    let update = TenantUpdate {
        name: b.name,
        description: b.description,
        metadata: metadata_pairs(b.metadata)?,
        set: settings_pairs(b.set),
        unset: b.unset,
    };
    let updated = st.call(move |svc| svc.update_tenant(&actor, &t, update)).await?;
    to_json(updated)
}

pub(super) async fn delete_tenant(State(st): S, Authed(actor): Authed, InTenant(t): InTenant) -> ApiResult {
    let report = st.call(move |svc| svc.delete_tenant(&actor, &t)).await?;
    to_json(report)
}

pub(super) async fn list_kbs(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Params(q): Params<PageQuery>,
) -> ApiResult {
    let paging = q.paging()?;
    to_json(paging.slice(st.call(move |svc| svc.list_kbs(&actor, Some(&t))).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KbBody {
    name: String,
    description: Option<String>,
    #[serde(default)]
    set: Map<String, Value>,
}

pub(super) async fn create_kb(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Body(b): Body<KbBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewKb {
        name: b.name,
        description: b.description,
        set: settings_pairs(b.set),
    };
    let kb = st.call(move |svc| svc.create_kb(&actor, Some(&t), new)).await?;
    Ok((StatusCode::CREATED, to_json(kb)?))
}

pub(super) async fn get_kb(State(st): S, Authed(actor): Authed, InKb(t, k): InKb) -> ApiResult {
    to_json(st.call(move |svc| svc.show_kb(&actor, Some(&t), Some(&k))).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KbPatch {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    unset: Vec<String>,
}

pub(super) async fn update_kb(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<KbPatch>,
) -> ApiResult {
    let update = KbUpdate {
        name: b.name,
        description: b.description,
        set: settings_pairs(b.set),
        unset: b.unset,
    };
    let updated = st
        .call(move |svc| svc.update_kb(&actor, Some(&t), Some(&k), update))
        .await?;
    to_json(updated)
}

pub(super) async fn delete_kb(State(st): S, Authed(actor): Authed, InKb(t, k): InKb) -> ApiResult {
    let report = st.call(move |svc| svc.delete_kb(&actor, Some(&t), Some(&k))).await?;
    to_json(report)
}

pub(super) async fn list_members(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Params(q): Params<PageQuery>,
) -> ApiResult {
    let paging = q.paging()?;
    to_json(paging.slice(st.call(move |svc| svc.list_members(&actor, Some(&t))).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MemberBody {
    user_id: String,
    role: Role,
}

pub(super) async fn add_member(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Body(b): Body<MemberBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = st
        .call(move |svc| svc.add_member(&actor, Some(&t), &b.user_id, b.role))
        .await?;
    Ok((StatusCode::CREATED, to_json(m)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleBody {
    role: Role,
}

pub(super) async fn update_member(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Path((_, user)): Path<(String, String)>,
    Body(b): Body<RoleBody>,
) -> ApiResult {
    to_json(
        st.call(move |svc| svc.update_member(&actor, Some(&t), &user, b.role))
            .await?,
    )
}

pub(super) async fn remove_member(
    State(st): S,
    Authed(actor): Authed,
    InTenant(t): InTenant,
    Path((_, user)): Path<(String, String)>,
) -> ApiResult {
    to_json(st.call(move |svc| svc.remove_member(&actor, Some(&t), &user)).await?)
}

#[derive(Deserialize)]
pub(super) struct DocumentsQuery {
    status: Option<String>,
    page: Option<u64>,
    #[serde(alias = "limit")]
    page_size: Option<u64>,
}

pub(super) async fn list_documents(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<DocumentsQuery>,
) -> ApiResult {
    let status = match q.status.as_deref() {
        None => None,
        Some("pending") => Some(DocStatus::Pending),
        Some("processing") => Some(DocStatus::Processing),
        Some("processed") => Some(DocStatus::Processed),
        Some("failed") => Some(DocStatus::Failed),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown status {other:?}; statuses are pending, processing, processed, failed"
            )));
        }
    };
    let paging = Paging::or_default(q.page, q.page_size)?;
    to_json(
        st.call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            svc.list_documents(&actor, Some(&t), Some(&k), status, paging)
        })
        .await?,
    )
}

#[derive(Deserialize)]
pub(super) struct EntitiesQuery {
    search: Option<String>,
    #[serde(rename = "type")]
    entity_type: Option<String>,
    page: Option<u64>,
    #[serde(alias = "limit")]
    page_size: Option<u64>,
}

pub(super) async fn list_entities(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<EntitiesQuery>,
) -> ApiResult {
    let paging = Paging::or_default(q.page, q.page_size)?;
    to_json(
        st.call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            svc.entities_page(&actor, Some(&t), Some(&k), q.search, q.entity_type, paging)
        })
        .await?,
    )
}

/// One earlier turn of `history`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Turn {
    role: String,
    content: String,
}

/// `lrt query`'s options as JSON (flag names in snake_case; `query` is accepted for
/// `question`, as in LightRAG).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryBody {
    #[serde(alias = "query")]
    question: String,
    mode: Option<String>,
    top_k: Option<usize>,
    chunk_top_k: Option<usize>,
    max_entity_tokens: Option<usize>,
    max_relation_tokens: Option<usize>,
    max_total_tokens: Option<usize>,
    response_type: Option<String>,
    user_prompt: Option<String>,
    #[serde(default)]
    hl_keywords: Vec<String>,
    #[serde(default)]
    ll_keywords: Vec<String>,
    #[serde(default)]
    history: Vec<Turn>,
    #[serde(default)]
    only_context: bool,
    #[serde(default)]
    only_prompt: bool,
    #[serde(default)]
    no_cache: bool,
    /// Upstream's `enable_rerank`; absent: the KB's setting.
    enable_rerank: Option<bool>,
}

impl QueryBody {
    pub(super) fn params(self) -> Result<(QueryParams, Option<usize>, Option<usize>, bool), ApiError> {
        let mode = match self.mode.as_deref().unwrap_or("mix") {
            "naive" => QueryMode::Naive,
            "local" => QueryMode::Local,
            "global" => QueryMode::Global,
            "hybrid" => QueryMode::Hybrid,
            "mix" => QueryMode::Mix,
            "bypass" => QueryMode::Bypass,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown mode {other:?}; modes are naive, local, global, hybrid, mix, bypass"
                )));
            }
        };
        if self.only_context && self.only_prompt {
            return Err(ApiError::bad_request("only_context and only_prompt exclude each other"));
        }
        let mut p = QueryParams::new(self.question, mode);
        if let Some(n) = self.max_entity_tokens {
            p.max_entity_tokens = n;
        }
        if let Some(n) = self.max_relation_tokens {
            p.max_relation_tokens = n;
        }
        if let Some(n) = self.max_total_tokens {
            p.max_total_tokens = n;
        }
        if let Some(r) = self.response_type {
            p.response_type = r;
        }
        p.user_prompt = self.user_prompt;
        let clean = |v: Vec<String>| {
            v.into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect()
        };
        p.hl_keywords = clean(self.hl_keywords);
        p.ll_keywords = clean(self.ll_keywords);
        p.history = self
            .history
            .into_iter()
            .map(|t| match t.role.as_str() {
                "user" => Ok(Message::user(t.content)),
                "assistant" => Ok(Message::assistant(t.content)),
                "system" => Ok(Message::system(t.content)),
                other => Err(ApiError::bad_request(format!(
                    "unknown history role {other:?}; roles are user, assistant, system"
                ))),
            })
            .collect::<Result<_, _>>()?;
        p.only_context = self.only_context;
        p.only_prompt = self.only_prompt;
        p.enable_rerank = self.enable_rerank;
        Ok((p, self.top_k, self.chunk_top_k, self.no_cache))
    }
}

/// `POST …/query`: the engine and a concurrency permit come from [`query_engine`], the
/// options are validated, one API call is charged (429 with `Retry-After` over the monthly
/// quota), and the answer is the CLI's `--json` object.
pub(super) async fn query(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<QueryBody>,
) -> ApiResult<Json<QueryResult>> {
    let (params, top_k, chunk_top_k, no_cache) = b.params()?;
    let run = query_engine(&st, actor, t, k, no_cache).await?;
    let result = tokio::task::spawn_blocking(move || run.answer(params, top_k, chunk_top_k, None))
        .await
        .map_err(|e| Error::Internal(format!("the query task failed: {e}")))??;
    Ok(Json(result))
}

/// A question admitted by [`query_engine`], to be answered on the blocking pool: the engine's
/// kb.db connection cannot cross threads while borrowed, so the answer is computed there,
/// driving its async model calls with the server's runtime.
pub(super) struct AdmittedQuery {
    state: Arc<AppState>,
    admitted: AuthorizedQuery,
    engine: EngineGuard,
    /// Held until the work ends, even if the client goes away meanwhile.
    _permit: super::limits::QueryPermit,
    runtime: tokio::runtime::Handle,
}

impl AdmittedQuery {
    /// The admitted KB.
    pub(super) fn handle(&self) -> &crate::service::KbHandle {
        &self.admitted.handle
    }

    /// [`OpenQuery::answer`](crate::service::OpenQuery::answer), charging the API call through
    /// the shared service; streamed pieces go to `sink`.
    pub(super) fn answer(
        self,
        params: QueryParams,
        top_k: Option<usize>,
        chunk_top_k: Option<usize>,
        sink: Option<crate::rag::query::Sink<'_>>,
    ) -> crate::error::Result<QueryResult> {
        let charge = || self.state.with_service(|svc| svc.charge_query(&self.admitted));
        let result = self
            .runtime
            .block_on(self.engine.answer(params, top_k, chunk_top_k, charge, sink));
        // Spent even when the answer failed half-way.
        let tokens = self.engine.take_tokens();
        self.state
            .with_service(|svc| svc.record_tokens(&self.admitted.handle, tokens))?;
        result
    }
}

/// A question to KB `k`, admitted: `query:run` is checked (on every request), a permit of the
/// tenant's `max_concurrent_queries` is taken (429 at once when none is free), and the engine
/// is the `TenantRagManager`'s, or with `no_cache` one of its own, since the cache setting is
/// part of the engine.
pub(super) async fn query_engine(
    st: &Arc<AppState>,
    actor: Actor,
    t: String,
    k: String,
    no_cache: bool,
) -> Result<AdmittedQuery, ApiError> {
    let admitted = {
        let (actor, t, k) = (actor.clone(), t.clone(), k.clone());
        st.call(move |svc| svc.authorize_query(&actor, Some(&t), Some(&k)))
            .await?
    };
    let slots = admitted.max_concurrent_queries()?;
    let handle = &admitted.handle;
    let permit = st.limits.acquire(handle.tenant_id, &handle.tenant_name, slots).await?;
    let open = || {
        let (st, admitted) = (st.clone(), admitted.clone());
        async move { st.run(move |svc| svc.open_engine(&admitted, no_cache)).await }
    };
    let engine = st.manager.engine(&admitted, no_cache, open).await?;
    Ok(AdmittedQuery {
        state: st.clone(),
        admitted,
        engine,
        _permit: permit,
        runtime: tokio::runtime::Handle::current(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> QueryBody {
        serde_json::from_value(v).expect("a valid query body")
    }

    #[test]
    fn enable_rerank_is_the_querys_choice_or_the_kbs() {
        for (given, expected) in [(Some(true), Some(true)), (Some(false), Some(false)), (None, None)] {
            let mut v = serde_json::json!({"question": "Who is Ada?"});
            if let Some(b) = given {
                v["enable_rerank"] = b.into();
            }
            let (p, ..) = body(v).params().ok().unwrap();
            assert_eq!(p.enable_rerank, expected);
        }
        let bad = serde_json::from_value::<QueryBody>(serde_json::json!({"question": "q?", "enable_rerank": "yes"}));
        assert!(bad.is_err());
    }
}
