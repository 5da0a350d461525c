//! The route table: every route of `lrt serve` is one [`Route`] here, which carries both the
//! axum handler and its OpenAPI description. The router and `GET /api/v1/openapi.json` are
//! built from this one list, so they cannot drift apart (`tests/serve_documents.rs` checks
//! the served routes against the document from the outside too).

use std::sync::{Arc, OnceLock};

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{ApiError, AppState, admin, console, documents, graph_edit, mcp, ollama, openai, routes};
use crate::authz::Permission;

/// How a route takes its request body.
#[derive(Clone, Copy)]
enum RequestBody {
    None,
    /// A JSON object with this schema.
    Json(fn() -> Value),
    /// `multipart/form-data` with one `file` part.
    Multipart,
}

/// Who may call a route, as the service decides it (the table documents it; the OpenAPI
/// document carries it as `x-lrt-access`, which `tests/serve_matrix.rs` derives its
/// expectations from, with the role table of [`crate::authz`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No authentication.
    Public,
    /// Any authenticated caller; the answer covers what they can see.
    User,
    /// Super-admins only.
    SuperAdmin,
    /// Any member of the path's tenant (not a KB-scoped API key).
    Member,
    /// Any member of the path's tenant, and a KB-scoped API key for the path's KB.
    KbMember,
    /// This permission in the path's tenant.
    Needs(Permission),
    /// Any member of the path's tenant, for a role up to their own (super-admins: any), in
    /// person: never through an API key (creating API keys).
    IssueKey,
}

impl Access {
    /// Whether this is work on one KB's content (its record, documents, queries, graph): all
    /// that a KB-scoped API key may be allowed, on its own KB.
    pub fn kb_level(self) -> bool {
        match self {
            Access::KbMember => true,
            Access::Needs(p) => p.is_kb_level(),
            _ => false,
        }
    }

    /// The `x-lrt-access` value: `public`, `user`, `super_admin`, `member`, `kb_member` or a
    /// permission (`document:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::User => "user",
            Access::SuperAdmin => "super_admin",
            Access::Member => "member",
            Access::KbMember => "kb_member",
            Access::Needs(p) => p.as_str(),
            Access::IssueKey => "issue_key",
        }
    }

    fn description(self) -> String {
        match self {
            Access::Public => "No authentication.".into(),
            Access::User => "Any authenticated caller.".into(),
            Access::SuperAdmin => "Super-admins only.".into(),
            Access::Member => "Any member of the tenant (not a KB-scoped API key).".into(),
            Access::KbMember => "Any member of the tenant, or an API key scoped to this KB.".into(),
            Access::Needs(p) => format!("Needs the `{p}` permission in the tenant."),
            Access::IssueKey => "Any member of the tenant, for a role up to their own; not through an API key.".into(),
        }
    }
}

impl std::str::FromStr for Access {
    type Err = crate::error::Error;
    /// An `x-lrt-access` value back (what a client of the OpenAPI document reads).
    fn from_str(s: &str) -> crate::error::Result<Access> {
        Ok(match s {
            "public" => Access::Public,
            "user" => Access::User,
            "super_admin" => Access::SuperAdmin,
            "member" => Access::Member,
            "kb_member" => Access::KbMember,
            "issue_key" => Access::IssueKey,
            p => Access::Needs(p.parse()?),
        })
    }
}

/// One route: the handler and what the OpenAPI document says of it.
pub(super) struct Route {
    pub method: Method,
    pub path: &'static str,
    summary: &'static str,
    /// Who may call it (documentation only: the service decides); every route declares it.
    access: Option<Access>,
    /// Query parameters: name, JSON type, description.
    query: &'static [(&'static str, &'static str, &'static str)],
    /// A listing: takes `page`/`page_size` and answers `{items, page, page_size, total}`.
    paged: bool,
    body: RequestBody,
    /// Success status, description and content type.
    ok: (u16, &'static str, &'static str),
    /// A page of the web console rather than an API operation: served, but not in the
    /// OpenAPI document.
    page: bool,
    handler: MethodRouter<Arc<AppState>>,
}

fn route<H, T>(method: Method, path: &'static str, summary: &'static str, handler: H) -> Route
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
    Route {
        method,
        path,
        summary,
        access: None,
        query: &[],
        paged: false,
        body: RequestBody::None,
        ok: (200, "OK", "application/json"),
        page: false,
        handler: on(filter, handler),
    }
}

impl Route {
    fn access(mut self, access: Access) -> Route {
        self.access = Some(access);
        self
    }
    fn needs(self, permission: Permission) -> Route {
        self.access(Access::Needs(permission))
    }
    /// Needs a bearer token or an API key (or the local identity when user auth is off).
    fn auth(&self) -> bool {
        !matches!(self.access, Some(Access::Public))
    }
    fn query(mut self, params: &'static [(&'static str, &'static str, &'static str)]) -> Route {
        self.query = params;
        self
    }
    fn paged(mut self) -> Route {
        self.paged = true;
        self
    }
    fn json(mut self, schema: fn() -> Value) -> Route {
        self.body = RequestBody::Json(schema);
        self
    }
    fn multipart(mut self) -> Route {
        self.body = RequestBody::Multipart;
        self
    }
    fn ok(mut self, status: u16, description: &'static str) -> Route {
        self.ok = (status, description, self.ok.2);
        self
    }
    fn content(mut self, content_type: &'static str) -> Route {
        self.ok.2 = content_type;
        self
    }
    fn page(mut self) -> Route {
        self.page = true;
        self
    }
}

/// The paging of every listing ([`crate::service::Paging`]).
const PAGE: &[(&str, &str, &str)] = &[
    ("page", "integer", "Page number, from 1 (default 1)"),
    ("page_size", "integer", "Items per page, 1–1000 (default 20)"),
];
const DOCUMENTS: &[(&str, &str, &str)] = &[(
    "status",
    "string",
    "Only documents with this status: pending, processing, processed, failed",
)];
const ENTITIES: &[(&str, &str, &str)] = &[
    ("search", "string", "Only names containing this text (ignoring case)"),
    ("type", "string", "Only entities of this type (ignoring case)"),
];
const EXPORT: &[(&str, &str, &str)] = &[("format", "string", "graphml or json (default json)")];
const VIEW: &[(&str, &str, &str)] = &[
    (
        "entity",
        "string",
        "Only this entity's neighbourhood (exact name, else ignoring case)",
    ),
    ("depth", "integer", "Hops from `entity`, 1–5 (default 2)"),
    (
        "max_nodes",
        "integer",
        "Nodes the viewer draws first, 1–5000 (default 150)",
    ),
];
const EXISTS: &[(&str, &str, &str)] = &[("name", "string", "The entity's exact name")];
const LABELS: &[(&str, &str, &str)] = &[
    ("q", "string", "Only names containing this text (ignoring case)"),
    (
        "limit",
        "integer",
        "At most this many names (default 1000 for list, 300 otherwise)",
    ),
];
const KEYS: &[(&str, &str, &str)] = &[(
    "all",
    "boolean",
    "Every key of the tenant, not only the caller's (needs tenant:manage_members)",
)];
const USAGE: &[(&str, &str, &str)] = &[
    ("kb", "string", "Only this KB (id or name)"),
    ("period", "string", "One month, YYYY-MM (default: the current month)"),
    ("from", "string", "First month of a range, YYYY-MM (default: to)"),
    (
        "to",
        "string",
        "Last month of a range, YYYY-MM (default: the current month)",
    ),
];
const AUDIT: &[(&str, &str, &str)] = &[
    ("user", "string", "Only this user's actions"),
    (
        "since",
        "string",
        "Only entries since a time: 2026-11-01T09:00:00Z, 2026-11-01, or an age (30m, 24h, 7d)",
    ),
];

const TENANT: &str = "/api/v1/tenants/{tenant_id}";
const KB: &str = "/api/v1/tenants/{tenant_id}/kbs/{kb_id}";

/// Every route the server serves.
pub(super) fn table() -> Vec<Route> {
    use Method as M;
    vec![
        route(
            M::GET,
            "/health",
            "Liveness and database reachability (no authentication; 503 while the database is unreachable)",
            routes::health,
        ).access(Access::Public),
        route(M::GET, "/api/v1/openapi.json", "This OpenAPI document", openapi_handler).access(Access::Public),
        route(M::GET, "/api/v1/me", "The caller: user, super-admin flag, memberships", routes::me).access(Access::User),
        route(M::GET, "/api/v1/tenants", "List the tenants the caller can see", routes::list_tenants)
            .access(Access::User)
            .paged(),
        route(M::POST, "/api/v1/tenants", "Create a tenant (super-admin)", routes::create_tenant)
            .access(Access::SuperAdmin)
            .json(schemas::tenant)
            .ok(201, "Created"),
        route(M::GET, TENANT, "Show a tenant", routes::get_tenant).access(Access::Member),
        route(M::PUT, TENANT, "Update a tenant", routes::update_tenant)
            .needs(Permission::TenantManage)
            .json(schemas::tenant_patch),
        route(M::DELETE, TENANT, "Delete a tenant and all its KBs", routes::delete_tenant).access(Access::SuperAdmin),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs", "List a tenant's KBs", routes::list_kbs)
            .access(Access::Member)
            .paged(),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs", "Create a KB", routes::create_kb)
            .needs(Permission::KbCreate)
            .json(schemas::kb)
            .ok(201, "Created"),
        route(M::GET, KB, "Show a KB", routes::get_kb).access(Access::KbMember),
        route(M::PUT, KB, "Update a KB", routes::update_kb)
            .needs(Permission::KbCreate)
            .json(schemas::kb_patch),
        route(M::DELETE, KB, "Delete a KB", routes::delete_kb).needs(Permission::KbDelete),
        route(M::GET, "/api/v1/tenants/{tenant_id}/members", "List members", routes::list_members)
            .access(Access::Member)
            .paged(),
        route(M::POST, "/api/v1/tenants/{tenant_id}/members", "Add a member", routes::add_member)
            .needs(Permission::TenantManageMembers)
            .json(schemas::member)
            .ok(201, "Created"),
        route(
            M::PUT,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            "Change a member's role",
            routes::update_member,
        )
        .needs(Permission::TenantManageMembers)
        .json(schemas::role),
        route(
            M::DELETE,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            "Remove a member",
            routes::remove_member,
        )
        .needs(Permission::TenantManageMembers),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/query", "Answer a question (the CLI's `query --json` object)", routes::query)
            .needs(Permission::QueryRun)
            .json(schemas::query),
        route(
            M::POST,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/query/stream",
            "Answer a question as NDJSON events: `chunk` lines of answer text, then one `result` line (the query object without the streamed answer) or an `error` line",
            documents::query_stream,
        )
        .needs(Permission::QueryRun)
        .json(schemas::query)
        .content("application/x-ndjson"),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents", "List documents, most recently updated first", routes::list_documents)
            .needs(Permission::DocumentRead)
            .query(DOCUMENTS)
            .paged(),
        route(
            M::POST,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/text",
            "Queue a text document; the ingest worker processes it (202 with status pending; 200 with duplicate=true when the KB already has this content)",
            documents::upload_text,
        )
        .needs(Permission::DocumentCreate)
        .json(schemas::text)
        .ok(202, "Queued"),
        route(
            M::POST,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/file",
            "Queue an uploaded document (multipart part `file`: text, PDF, DOCX, PPTX, XLSX, ODT/ODS/ODP, EPUB, HTML or RTF; its text is extracted at once, its file name is metadata only; 415 for a format lrt cannot read)",
            documents::upload_file,
        )
        .needs(Permission::DocumentCreate)
        .multipart()
        .ok(202, "Queued"),
        route(
            M::GET,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/{doc_id}",
            "A document's status, error, chunks and timestamps, with the worker's progress while it is queued or processed",
            documents::get_document,
        )
        .needs(Permission::DocumentRead),
        route(
            M::DELETE,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/documents/{doc_id}",
            "Delete a document as `lrt doc delete` does (409 while the KB is being ingested)",
            documents::delete_document,
        )
        .needs(Permission::DocumentDelete),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entities", "List entities by degree", routes::list_entities)
            .needs(Permission::DocumentRead)
            .query(ENTITIES)
            .paged(),
        route(
            M::GET,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/export",
            "The whole graph, as `lrt graph export` writes it (GraphML or JSON)",
            documents::export_graph,
        )
        .needs(Permission::DocumentRead)
        .query(EXPORT),
        route(
            M::GET,
            "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/view",
            "The graph explorer's data, as `lrt graph view` embeds it: nodes by degree (at most 5000, `omitted_nodes` counts the rest) with descriptions and source files, and the relations between them",
            documents::graph_view,
        )
        .needs(Permission::DocumentRead)
        .query(VIEW),
        // The web console (not API operations; `--no-console` answers 404).
        route(M::GET, "/", "The web console", console::index)
            .access(Access::Public)
            .content("text/html")
            .page(),
        route(M::GET, "/console/{file}", "The web console's script and style files", console::asset)
            .access(Access::Public)
            .content("text/javascript")
            .page(),
        // The Ollama- and OpenAI-compatible APIs (`ollama.rs`, `openai.rs`): a KB is a model
        // named `tenant/kb` in the body; errors take each API's own shape.
        route(M::GET, "/api/version", "Ollama API: the Ollama version this API answers like", ollama::version).access(Access::Public),
        route(M::GET, "/api/tags", "Ollama API: the KBs the caller may query, as models `tenant/kb:latest`", ollama::tags).access(Access::User),
        route(M::POST, "/api/show", "Ollama API: a KB as a model", ollama::show)
            .needs(Permission::QueryRun)
            .json(schemas::ollama_show),
        route(
            M::POST,
            "/api/chat",
            "Ollama API: answer the last user message from the model's KB (prefixes /local, /global, /hybrid, /naive, /mix, /bypass, /context pick the mode; earlier messages are history); NDJSON unless stream is false",
            ollama::chat,
        )
        .needs(Permission::QueryRun)
        .json(schemas::ollama_chat)
        .content("application/x-ndjson"),
        route(
            M::POST,
            "/api/generate",
            "Ollama API: the prompt to the KB's model without retrieval; NDJSON unless stream is false",
            ollama::generate,
        )
        .needs(Permission::QueryRun)
        .json(schemas::ollama_generate)
        .content("application/x-ndjson"),
        route(M::GET, "/v1/models", "OpenAI API: the KBs the caller may query, as models `tenant/kb`", openai::models).access(Access::User),
        route(
            M::POST,
            "/v1/chat/completions",
            "OpenAI API: answer the last user message from the model's KB (the prefixes of /api/chat), as JSON or server-sent events; usage filled in, references appended to the text and in `references`",
            openai::completions,
        )
        .needs(Permission::QueryRun)
        .json(schemas::openai_chat),
        // Curating the graph (`lrt graph entity|relation|merge`); every edit takes
        // `dry_run` and answers the edit's report.
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/create", "Create an entity by hand (kept as a curated row)", graph_edit::create_entity)
            .needs(Permission::DocumentUpdate)
            .json(schemas::entity),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/edit", "Edit an entity's description or type (a curated override), or rename it with `new_name` (`allow_merge`: onto an existing entity)", graph_edit::edit_entity)
            .needs(Permission::DocumentUpdate)
            .json(schemas::entity_edit),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/delete", "Delete an entity and its relations", graph_edit::delete_entity)
            .needs(Permission::DocumentDelete)
            .json(schemas::entity_name),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entity/exists", "Whether an entity of this exact name exists", graph_edit::entity_exists)
            .needs(Permission::DocumentRead)
            .query(EXISTS),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/entities/merge", "Merge entities into a target; their relations follow, colliding ones merge, the merged names become aliases", graph_edit::merge_entities)
            .needs(Permission::DocumentUpdate)
            .json(schemas::merge),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/relation/create", "Create a relation between two existing entities", graph_edit::create_relation)
            .needs(Permission::DocumentUpdate)
            .json(schemas::relation),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/relation/edit", "Edit a relation's description, keywords or weight (a curated override)", graph_edit::edit_relation)
            .needs(Permission::DocumentUpdate)
            .json(schemas::relation_edit),
        route(M::POST, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/relation/delete", "Delete a relation", graph_edit::delete_relation)
            .needs(Permission::DocumentDelete)
            .json(schemas::relation_pair),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/label/list", "Entity names in name order", graph_edit::label_list)
            .needs(Permission::DocumentRead)
            .query(LABELS),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/label/popular", "Entity names, most connected first", graph_edit::label_popular)
            .needs(Permission::DocumentRead)
            .query(LABELS),
        route(M::GET, "/api/v1/tenants/{tenant_id}/kbs/{kb_id}/graph/label/search", "Entity names containing `q`, most connected first", graph_edit::label_search)
            .needs(Permission::DocumentRead)
            .query(LABELS),
        // API keys and the audit log, as `lrt key` and `lrt audit list`.
        route(M::POST, "/api/v1/tenants/{tenant_id}/keys", "Create an API key (`lrt key create`); the key is in this answer only", admin::create_key)
            .access(Access::IssueKey)
            .json(schemas::key)
            .ok(201, "Created"),
        route(M::GET, "/api/v1/tenants/{tenant_id}/keys", "List API keys, never the keys themselves: the caller's, or with all=true every key of the tenant", admin::list_keys)
            .access(Access::Member)
            .query(KEYS)
            .paged(),
        route(
            M::DELETE,
            "/api/v1/tenants/{tenant_id}/keys/{key_id}",
            "Revoke an API key (its creator, or tenant:manage_members); effective on its next request",
            admin::revoke_key,
        )
        .needs(Permission::TenantManageMembers),
        route(M::GET, "/api/v1/tenants/{tenant_id}/audit", "The tenant's audit log, newest first (`lrt audit list`)", admin::list_audit)
            .needs(Permission::TenantManage)
            .query(AUDIT)
            .paged(),
        route(M::GET, "/api/v1/tenants/{tenant_id}/usage", "Model tokens per KB and month (`lrt usage --json`)", admin::usage_report)
            .needs(Permission::TenantManageBilling)
            .query(USAGE),
    ]
}

/// The application's router: every route of [`table`], MCP at [`mcp::PATH`], and JSON 404s
/// for the rest.
/// The routes of the table; file uploads may be as large as `upload_limit` (the body limit
/// the caller layers over everything else is for JSON bodies).
pub(super) fn router(upload_limit: usize) -> Router<Arc<AppState>> {
    table()
        .into_iter()
        .fold(Router::new(), |router, r| {
            let handler = if r.path.ends_with("/documents/file") {
                r.handler.layer(DefaultBodyLimit::max(upload_limit))
            } else {
                r.handler
            };
            router.route(r.path, handler)
        })
        // MCP's streamable HTTP transport: JSON-RPC messages, not an operation of the OpenAPI
        // document (its tools call the services the documented routes call).
        .route(mcp::PATH, axum::routing::any(mcp::endpoint))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
}

/// The router of `--metrics-bind`'s own listener: `GET /metrics` only (Prometheus' text
/// exposition), outside the API's table and its authentication.
pub(super) fn metrics_router() -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(super::metrics::handler))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; metrics are at /metrics",
            )
        })
}

/// Error statuses a route can answer with.
fn errors(r: &Route) -> Vec<u16> {
    // 504: past `--request-timeout`, on every route.
    let mut codes = vec![500, 504];
    if r.auth() {
        codes.extend([401, 403, 404, 429]);
    }
    if r.path.contains('{') || !r.query.is_empty() {
        codes.push(400);
    }
    if !matches!(r.body, RequestBody::None) {
        codes.extend([400, 413]);
    }
    if matches!(r.method, Method::POST | Method::PUT | Method::DELETE) && r.auth() {
        codes.push(409);
    }
    if r.path.contains("/query") || r.path.contains("/chat") || r.path.ends_with("/generate") {
        codes.push(502);
    }
    if r.path.ends_with("/documents/file") {
        codes.push(415);
    }
    codes.sort_unstable();
    codes.dedup();
    codes
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if name.ends_with("_id") && name != "user_id" && name != "doc_id" {
                json!({"type": "string", "format": "uuid"})
            } else {
                json!({"type": "string"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    let paging: &[_] = if r.paged { PAGE } else { &[] };
    params.extend(
        r.query
            .iter()
            .chain(paging)
            .map(|(name, ty, doc)| json!({"name": name, "in": "query", "required": false, "description": doc, "schema": {"type": ty}})),
    );
    if r.path.starts_with(TENANT) {
        params.push(json!({"name": "X-Tenant-ID", "in": "header", "required": false, "description": "Must equal tenant_id (required with LIGHTRAG_MULTI_TENANT_STRICT=true)", "schema": {"type": "string", "format": "uuid"}}));
    }
    if r.path.starts_with(KB) {
        params.push(json!({"name": "X-KB-ID", "in": "header", "required": false, "description": "Must equal kb_id (required with LIGHTRAG_MULTI_TENANT_STRICT=true)", "schema": {"type": "string", "format": "uuid"}}));
    }
    let (status, description, content_type) = r.ok;
    let mut responses = Map::new();
    responses.insert(
        status.to_string(),
        json!({"description": description, "content": {content_type: {"schema": {"type": if content_type == "application/json" { "object" } else { "string" }}}}}),
    );
    if r.path.ends_with("/documents/text") || r.path.ends_with("/documents/file") {
        responses.insert("200".into(), json!({"description": "Duplicate: the KB already has this content; nothing was queued", "content": {"application/json": {"schema": {"type": "object"}}}}));
    }
    if r.path.ends_with("/graph/export") {
        responses.insert(
            "200".into(),
            json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}, "application/graphml+xml": {"schema": {"type": "string"}}}}),
        );
    }
    for code in errors(r) {
        responses.insert(code.to_string(), json!({"$ref": "#/components/responses/Error"}));
    }
    let mut op = json!({
        "operationId": operation_id(r),
        "summary": r.summary,
        "parameters": params,
        "responses": responses,
    });
    if let Some(access) = r.access {
        op["description"] = json!(access.description());
        op["x-lrt-access"] = json!(access.as_str());
    }
    if !r.auth() {
        op["security"] = json!([]);
    }
    match r.body {
        RequestBody::None => {}
        RequestBody::Json(schema) => {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema()}}});
        }
        RequestBody::Multipart => {
            op["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {"schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "description": "UTF-8 text; the part's file name becomes the document's file_path"}}
            }}}});
        }
    }
    op
}

/// `get_tenants_tenant_id_kbs`-style ids, unique per method and path.
fn operation_id(r: &Route) -> String {
    let path: String = r
        .path
        .trim_start_matches("/api/v1")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = path.split('_').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("_");
    format!("{}_{path}", r.method.as_str().to_ascii_lowercase())
}

/// The OpenAPI 3 document of [`table`].
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for r in table().into_iter().filter(|r| !r.page) {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_ascii_lowercase()] = operation(&r);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "lrt",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "lrt serve: the multi-tenant graph-RAG REST API. Errors are {\"error\": {\"code\", \"message\"}}."
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
                }}
            }},
            "responses": {"Error": {
                "description": "An error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }}
        }
    })
}

async fn openapi_handler() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(openapi).clone())
}

/// JSON schemas of the request bodies (the handlers refuse unknown fields).
mod schemas {
    use serde_json::{Value, json};

    fn object(required: &[&str], properties: Value) -> Value {
        json!({"type": "object", "required": required, "additionalProperties": false, "properties": properties})
    }

    fn settings() -> Value {
        json!({"type": "object", "description": "Config and quota settings, as the CLI's --set key=value", "additionalProperties": true})
    }

    fn dry_run() -> Value {
        json!({"type": "boolean", "description": "Report what would change; change nothing"})
    }

    pub fn entity() -> Value {
        object(
            &["name", "description"],
            json!({"name": {"type": "string"}, "description": {"type": "string"}, "entity_type": {"type": "string"}, "dry_run": dry_run()}),
        )
    }

    pub fn entity_edit() -> Value {
        object(
            &["name"],
            json!({
                "name": {"type": "string"},
                "description": {"type": "string"},
                "entity_type": {"type": "string"},
                "new_name": {"type": "string", "description": "Rename the entity; the old name becomes an alias"},
                "allow_merge": {"type": "boolean", "description": "With new_name: merge into an existing entity of that name"},
                "dry_run": dry_run()
            }),
        )
    }

    pub fn key() -> Value {
        object(
            &["role"],
            json!({
                "role": {"type": "string", "enum": ["admin", "editor", "viewer", "viewer_readonly"], "description": "At most the caller's role"},
                "kb": {"type": "string", "description": "Limit the key to this KB (id or name)"},
                "name": {"type": "string", "description": "A label for the key"},
                "expires_in": {"type": "string", "description": "Lifetime, e.g. 30d, 24h (default 90d, at most 365d)"}
            }),
        )
    }

    pub fn entity_name() -> Value {
        object(&["name"], json!({"name": {"type": "string"}, "dry_run": dry_run()}))
    }

    pub fn merge() -> Value {
        object(
            &["sources", "target"],
            json!({
                "sources": {"type": "array", "items": {"type": "string"}},
                "target": {"type": "string"},
                "description": {"type": "string"},
                "entity_type": {"type": "string"},
                "dry_run": dry_run()
            }),
        )
    }

    fn relation_fields(required: &[&str]) -> Value {
        object(
            required,
            json!({
                "source": {"type": "string"},
                "target": {"type": "string"},
                "description": {"type": "string"},
                "keywords": {"type": "string", "description": "Comma-separated"},
                "weight": {"type": "number", "minimum": 0},
                "dry_run": dry_run()
            }),
        )
    }

    pub fn relation() -> Value {
        relation_fields(&["source", "target", "description"])
    }

    pub fn relation_edit() -> Value {
        relation_fields(&["source", "target"])
    }

    pub fn relation_pair() -> Value {
        object(
            &["source", "target"],
            json!({"source": {"type": "string"}, "target": {"type": "string"}, "dry_run": dry_run()}),
        )
    }

    pub fn tenant() -> Value {
        object(
            &["name"],
            json!({
                "name": {"type": "string"},
                "description": {"type": "string"},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "set": settings(),
                "admin": {"type": "string", "description": "The tenant's first admin"}
            }),
        )
    }

    pub fn tenant_patch() -> Value {
        object(
            &[],
            json!({
                "name": {"type": "string"},
                "description": {"type": "string"},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "set": settings(),
                "unset": {"type": "array", "items": {"type": "string"}}
            }),
        )
    }

    pub fn kb() -> Value {
        object(
            &["name"],
            json!({"name": {"type": "string"}, "description": {"type": "string"}, "set": settings()}),
        )
    }

    pub fn kb_patch() -> Value {
        object(
            &[],
            json!({
                "name": {"type": "string"},
                "description": {"type": "string"},
                "set": settings(),
                "unset": {"type": "array", "items": {"type": "string"}}
            }),
        )
    }

    fn role_enum() -> Value {
        json!({"type": "string", "enum": ["admin", "editor", "viewer", "viewer_readonly"]})
    }

    pub fn member() -> Value {
        object(
            &["user_id", "role"],
            json!({"user_id": {"type": "string"}, "role": role_enum()}),
        )
    }

    pub fn role() -> Value {
        object(&["role"], json!({"role": role_enum()}))
    }

    pub fn text() -> Value {
        object(
            &["text"],
            json!({
                "text": {"type": "string", "description": "The document (not blank, no NUL)"},
                "file_path": {"type": "string", "description": "A name kept as metadata (default unknown_source)"}
            }),
        )
    }

    pub fn query() -> Value {
        let strings = json!({"type": "array", "items": {"type": "string"}});
        object(
            &["question"],
            json!({
                "question": {"type": "string", "description": "Also accepted as `query`"},
                "mode": {"type": "string", "enum": ["naive", "local", "global", "hybrid", "mix", "bypass"]},
                "top_k": {"type": "integer"},
                "chunk_top_k": {"type": "integer"},
                "max_entity_tokens": {"type": "integer"},
                "max_relation_tokens": {"type": "integer"},
                "max_total_tokens": {"type": "integer"},
                "response_type": {"type": "string"},
                "user_prompt": {"type": "string"},
                "hl_keywords": strings,
                "ll_keywords": strings,
                "history": {"type": "array", "items": {
                    "type": "object",
                    "required": ["role", "content"],
                    "properties": {"role": {"type": "string", "enum": ["user", "assistant", "system"]}, "content": {"type": "string"}}
                }},
                "only_context": {"type": "boolean"},
                "only_prompt": {"type": "boolean"},
                "no_cache": {"type": "boolean"},
                "enable_rerank": {"type": "boolean", "description": "Rerank the chunks with the configured reranker (default: the KB's enable_rerank, else RERANK_BY_DEFAULT)"}
            }),
        )
    }

    /// A message of the Ollama or OpenAI chat APIs.
    fn messages() -> Value {
        json!({"type": "array", "items": {
            "type": "object",
            "required": ["role"],
            "properties": {
                "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
                "content": {"description": "Text (OpenAI: or an array of parts, whose text parts are read)"}
            }
        }})
    }

    fn model() -> Value {
        json!({"type": "string", "description": "The KB as `tenant/kb` (`:latest` optional), as the model lists name it"})
    }

    /// The fields lrt reads; the clients' other fields are accepted and ignored.
    fn open(required: &[&str], properties: Value) -> Value {
        json!({"type": "object", "required": required, "additionalProperties": true, "properties": properties})
    }

    pub fn ollama_show() -> Value {
        open(&["model"], json!({"model": model()}))
    }

    pub fn ollama_chat() -> Value {
        open(
            &["model", "messages"],
            json!({
                "model": model(),
                "messages": messages(),
                "stream": {"type": "boolean", "description": "Default true"},
                "system": {"type": "string"}
            }),
        )
    }

    pub fn ollama_generate() -> Value {
        open(
            &["model"],
            json!({
                "model": model(),
                "prompt": {"type": "string", "description": "Empty: only checks the model (done_reason load)"},
                "system": {"type": "string"},
                "stream": {"type": "boolean", "description": "Default true"}
            }),
        )
    }

    pub fn openai_chat() -> Value {
        open(
            &["model", "messages"],
            json!({
                "model": model(),
                "messages": messages(),
                "stream": {"type": "boolean"},
                "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}}
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_body_documents_enable_rerank() {
        assert_eq!(schemas::query()["properties"]["enable_rerank"]["type"], "boolean");
    }

    #[test]
    fn every_route_is_documented_once_with_its_path_parameters() {
        let doc = openapi();
        for page in table().iter().filter(|r| r.page) {
            assert_eq!(
                page.access,
                Some(Access::Public),
                "{}: console pages are public",
                page.path
            );
            assert!(
                !page.path.starts_with("/api/"),
                "{}: an API route in the OpenAPI document",
                page.path
            );
        }
        let table: Vec<Route> = table().into_iter().filter(|r| !r.page).collect();
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, table.len(), "a method and path twice in the table");
        let mut ids = std::collections::HashSet::new();
        for r in &table {
            let op = &doc["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()));
            let in_path = r.path.matches('{').count();
            let declared = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .count();
            assert_eq!(in_path, declared, "{} {}", r.method, r.path);
            let access = r
                .access
                .unwrap_or_else(|| panic!("{} {} declares no access", r.method, r.path));
            assert_eq!(op["x-lrt-access"].as_str().unwrap().parse::<Access>().unwrap(), access);
        }
    }
}
