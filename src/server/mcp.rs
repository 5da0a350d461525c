//! MCP (the Model Context Protocol) for agents: lrt's tools over stdio (`lrt mcp`, acting as
//! the CLI's local identity) and over MCP's streamable HTTP transport at [`PATH`] in
//! `lrt serve`, where every HTTP request is authenticated like any other route (a bearer
//! token or an `X-API-Key`).
//!
//! Built on the official Rust SDK (`rmcp`), which speaks every protocol revision up to
//! 2026-07-28 and whose HTTP transport is a plain service mounted in the axum router. The HTTP
//! transport is stateless (no MCP session outlives a request), so a request is never served
//! on the strength of an earlier one's credentials.
//!
//! The tools are thin: each calls the service methods and server helpers its REST route calls
//! (access decided by the service, one API call charged per data-plane call, uploads queued
//! for the ingest worker, engines from the cache, the per-tenant query limits), so isolation,
//! roles, quotas and audit are the REST API's. A failure is a tool result with `isError` and
//! the REST error's code and message (bad arguments included, so an agent can correct them);
//! a KB the caller cannot see is `not_found`, exactly like a missing one.

use std::num::NonZeroUsize;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::routes::{Authed, InKb, S, admit, query_engine, to_json};
use super::{ApiError, AppState};
use crate::authz::{Actor, Permission};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::rag::query::{QueryMode, QueryParams, QueryResult};
use crate::service::{DEFAULT_MAX_CACHED_INSTANCES, Service, Upload};
use crate::store::inspect::EntityFilter;
use crate::store::kb::DocStatus;

/// Where `lrt serve` serves MCP's streamable HTTP transport.
pub const PATH: &str = "/mcp";

/// The largest MCP message `lrt mcp` accepts (`lrt serve` uses `--max-body-bytes`).
pub(super) const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The entities `search_entities` lists when the caller names no limit.
const DEFAULT_ENTITY_LIMIT: usize = 20;

/// What the server tells an agent when it connects.
const INSTRUCTIONS: &str = "lrt holds knowledge bases (KBs) built from documents as a knowledge graph \
(entities and the relations between them) plus text chunks. KBs live inside tenants. Call \
list_knowledge_bases first to learn the tenant and KB names and ids you may use; then answer \
questions with query_knowledge_base, look things up with search_entities and get_entity, and add \
text with add_document (processed in the background: follow it with document_status). Errors say \
what was wrong; a tenant or KB you cannot see is reported as not found.";

/// MCP's streamable HTTP transport as `lrt serve` mounts it.
pub(super) type HttpTransport = StreamableHttpService<LrtTools, NeverSessionManager>;

/// The HTTP transport: stateless (each POST is one exchange, authenticated on its own) and
/// answering with plain JSON.
pub(super) fn http_transport(body_limit: usize) -> HttpTransport {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        // Host and Origin are checked by lrt itself where they matter: without user
        // authentication only loopback hosts and origins are served (`routes::Authed`); with
        // it, every request carries a credential, and a deployment's host name is its own.
        .disable_allowed_hosts()
        .with_max_request_body_bytes(body_limit);
    StreamableHttpService::new(
        || Ok(LrtTools { local: None }),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

/// The state and the authenticated actor a tool call runs with.
#[derive(Clone)]
struct Bound {
    state: Arc<AppState>,
    actor: Actor,
}

/// `ANY /mcp`: authenticates the request like every route (401 before any MCP message is
/// read), then hands it to the transport with the actor in its extensions, where the tools
/// find it.
pub(super) async fn endpoint(State(st): S, Authed(actor): Authed, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(Bound {
        state: st.clone(),
        actor,
    });
    st.mcp
        .handle(Request::from_parts(parts, body))
        .await
        .map(axum::body::Body::new)
}

/// lrt's MCP tools, for one local identity (stdio) or for each HTTP request's actor.
#[derive(Clone)]
pub struct LrtTools {
    /// `lrt mcp`: the process's state and identity. `None` over HTTP, where each request
    /// carries its own.
    local: Option<Bound>,
}

impl LrtTools {
    fn bound(&self, ctx: &RequestContext<RoleServer>) -> Option<Bound> {
        self.local.clone().or_else(|| {
            ctx.extensions
                .get::<Parts>()
                .and_then(|parts| parts.extensions.get::<Bound>())
                .cloned()
        })
    }
}

impl ServerHandler for LrtTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("lrt", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        if !TOOLS.contains(&name.as_str()) {
            // The one protocol error: the spec's answer to a tool that does not exist.
            return Err(ErrorData::invalid_params(
                format!("unknown tool {name:?}; the tools are {}", TOOLS.join(", ")),
                None,
            ));
        }
        let bound = self
            .bound(&ctx)
            .ok_or_else(|| ErrorData::internal_error("the request carries no authenticated caller", None))?;
        let args = request.arguments.unwrap_or_default();
        let result = match call(&name, bound, args).await {
            Ok(output) => output.into_result(),
            Err(e) => failure(e),
        };
        Ok(result.into())
    }
}

/// `lrt mcp`: serves the tools on stdin/stdout as the local identity (`as_user`: a
/// super-admin's `--as`) until the client closes stdin. Uploads are ingested by a worker in
/// this process, which first takes up the documents an earlier run left queued; those still
/// queued when it ends wait in kb.db for the next run, ingest or `lrt serve`. Nothing but MCP
/// messages is written to stdout.
pub fn serve_stdio(settings: Settings, as_user: Option<String>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let cache = NonZeroUsize::new(DEFAULT_MAX_CACHED_INSTANCES).expect("non-zero");
    let state = Arc::new(AppState::local(settings, cache, NonZeroUsize::MIN)?);
    let served = runtime.block_on(async {
        let actor = state.run(move |svc| svc.local_actor(as_user.as_deref())).await?;
        state.requeue();
        let tools = LrtTools {
            local: Some(Bound {
                state: state.clone(),
                actor,
            }),
        };
        let running = tools
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::Usage(format!("no MCP session on stdin/stdout: {e}")))?;
        running
            .waiting()
            .await
            .map_err(|e| Error::Internal(format!("the MCP session failed: {e}")))?;
        Ok(())
    });
    state.close();
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

/// What a tool produced: text for the model, and the same as structured JSON.
struct Output {
    text: String,
    structured: Value,
}

impl Output {
    /// `value` as both: pretty JSON text and the structured object.
    fn json(value: Value) -> Output {
        Output {
            text: serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string()),
            structured: value,
        }
    }

    fn into_result(self) -> CallToolResult {
        let mut result = CallToolResult::success(vec![ContentBlock::text(self.text)]);
        result.structured_content = Some(self.structured);
        result
    }
}

/// A failed call as a tool error: the REST API's error code and message.
fn failure(e: ApiError) -> CallToolResult {
    let mut text = format!("{}: {}", e.code, e.message);
    if let Some(secs) = e.retry_after {
        text.push_str(&format!(" (retry in {secs} s)"));
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({"error": {
        "code": e.code,
        "message": e.message,
        "retry_after": e.retry_after,
    }}));
    result
}

/// The tools' names, in the order `tools/list` gives them.
const TOOLS: &[&str] = &[
    "list_knowledge_bases",
    "query_knowledge_base",
    "add_document",
    "document_status",
    "list_documents",
    "search_entities",
    "get_entity",
];

/// The tools with their descriptions and input schemas (derived from the argument types).
fn tools() -> Vec<Tool> {
    let read = || {
        ToolAnnotations::new()
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(false)
    };
    let tool = |name: &'static str, title: &str, description: &'static str| {
        Tool::new(name, description, Arc::new(JsonObject::new())).with_title(title)
    };
    vec![
        tool(
            "list_knowledge_bases",
            "List knowledge bases",
            "List the knowledge bases you may use, with their tenant: tenant and KB names and ids, \
             description, and how many documents, entities and relations each holds. Call this first \
             to find the `tenant` and `kb` the other tools need.",
        )
        .with_input_schema::<ListKbsArgs>()
        .annotate(read()),
        tool(
            "query_knowledge_base",
            "Ask a knowledge base",
            "Answer a question from one knowledge base (graph-RAG): the answer cites its sources as [n], \
             listed under References. With only_context=true, returns the retrieved context (entities, \
             relations, text chunks) instead of an answer, for you to reason over. Counts one API call \
             against the tenant's quota.",
        )
        .with_input_schema::<QueryArgs>()
        .annotate(read().idempotent(false)),
        tool(
            "add_document",
            "Add a text document",
            "Add a text document to a knowledge base. It is queued and processed in the background \
             (chunked, entities and relations extracted, embedded); the result gives its doc_id and \
             status `pending`. Follow it with document_status until the status is `processed` (or \
             `failed`, with the error). Adding the same text again changes nothing (duplicate=true).",
        )
        .with_input_schema::<AddDocumentArgs>()
        .annotate(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        ),
        tool(
            "document_status",
            "Document status",
            "Show one document of a knowledge base by its doc_id: status (pending, processing, \
             processed, failed), the error of a failed one, its size, chunk count, how many entities \
             and relations it contributed, and the background run's progress while it is queued.",
        )
        .with_input_schema::<DocumentStatusArgs>()
        .annotate(read()),
        tool(
            "list_documents",
            "List documents",
            "List a knowledge base's documents, most recently updated first, with their doc_id, \
             file_path, status and error; optionally only those with one status.",
        )
        .with_input_schema::<ListDocumentsArgs>()
        .annotate(read()),
        tool(
            "search_entities",
            "Search entities",
            "Find entities (people, places, organisations, concepts…) in a knowledge base's graph \
             whose name contains a text, ignoring case, and/or of one type; the best-connected first, \
             with their type and number of relations. Use get_entity for one entity's details.",
        )
        .with_input_schema::<SearchEntitiesArgs>()
        .annotate(read()),
        tool(
            "get_entity",
            "Show an entity",
            "Show one entity of a knowledge base's graph by name (exact, else ignoring case): its type \
             and description, every relation to another entity (with the relation's description, \
             keywords and weight, strongest first) and the documents it comes from.",
        )
        .with_input_schema::<GetEntityArgs>()
        .annotate(read()),
    ]
}

/// Runs the tool `name` for `b` with the client's arguments.
async fn call(name: &str, b: Bound, args: JsonObject) -> std::result::Result<Output, ApiError> {
    match name {
        "list_knowledge_bases" => list_kbs(b, parse(name, args)?).await,
        "query_knowledge_base" => query(b, parse(name, args)?).await,
        "add_document" => add_document(b, parse(name, args)?).await,
        "document_status" => document_status(b, parse(name, args)?).await,
        "list_documents" => list_documents(b, parse(name, args)?).await,
        "search_entities" => search_entities(b, parse(name, args)?).await,
        "get_entity" => get_entity(b, parse(name, args)?).await,
        other => Err(Error::Internal(format!("the tool {other:?} has no handler")).into()),
    }
}

/// A tool's arguments, typed; what does not fit is the caller's error, said in full.
fn parse<T: DeserializeOwned>(tool: &str, args: JsonObject) -> std::result::Result<T, ApiError> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| ApiError::bad_request(format!("invalid arguments for {tool}: {e}")))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListKbsArgs {
    /// Only this tenant's knowledge bases (tenant name or id). Omit to list all you may use.
    tenant: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct QueryArgs {
    /// The tenant (name or id), as list_knowledge_bases shows it.
    tenant: String,
    /// The knowledge base (name or id) inside that tenant.
    kb: String,
    /// The question, in natural language.
    question: String,
    /// How to retrieve (default mix, the best in general): naive searches text chunks only;
    /// local, entities matching the question's specific terms; global, relations matching its
    /// themes; hybrid, both; mix, hybrid plus text chunks; bypass asks the model directly.
    mode: Option<QueryMode>,
    /// How many entities (local) or relations (global) to retrieve (default 40).
    top_k: Option<usize>,
    /// How many text chunks to keep in the context (default 20).
    chunk_top_k: Option<usize>,
    /// Return the retrieved context instead of an answer (default false).
    #[serde(default)]
    only_context: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddDocumentArgs {
    /// The tenant (name or id).
    tenant: String,
    /// The knowledge base (name or id) inside that tenant.
    kb: String,
    /// The document's full text (UTF-8, not blank).
    text: String,
    /// A name for the document, kept as metadata and shown in references (default unknown_source).
    file_path: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DocumentStatusArgs {
    /// The tenant (name or id).
    tenant: String,
    /// The knowledge base (name or id) inside that tenant.
    kb: String,
    /// The document's id (`doc-…`), as add_document or list_documents gives it.
    doc_id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListDocumentsArgs {
    /// The tenant (name or id).
    tenant: String,
    /// The knowledge base (name or id) inside that tenant.
    kb: String,
    /// Only documents with this status: pending (queued), processing, processed (searchable)
    /// or failed (the document's error says why).
    status: Option<DocStatus>,
    /// Page number, from 1 (default 1).
    page: Option<u64>,
    /// Documents per page, 1 to 1000 (default 20).
    page_size: Option<u64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchEntitiesArgs {
    /// The tenant (name or id).
    tenant: String,
    /// The knowledge base (name or id) inside that tenant.
    kb: String,
    /// Only entities whose name contains this text, ignoring case.
    search: Option<String>,
    /// Only entities of this type (e.g. person, organization, location), ignoring case.
    entity_type: Option<String>,
    /// At most this many entities, 1 to 100000 (default 20).
    limit: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GetEntityArgs {
    /// The tenant (name or id).
    tenant: String,
    /// The knowledge base (name or id) inside that tenant.
    kb: String,
    /// The entity's name, as search_entities shows it.
    name: String,
}

async fn list_kbs(b: Bound, a: ListKbsArgs) -> std::result::Result<Output, ApiError> {
    let Bound { state, actor } = b;
    let kbs = state
        .call(move |svc| match a.tenant.as_deref() {
            Some(tenant) => svc.queryable_kbs_of(&actor, tenant),
            None => svc.queryable_kbs(&actor),
        })
        .await?;
    let items: Vec<Value> = kbs
        .into_iter()
        .map(|v| {
            json!({
                "tenant": v.tenant,
                "tenant_id": v.tenant_id,
                "kb": v.kb,
                "kb_id": v.kb_id,
                "description": v.description,
                "document_count": v.document_count,
            })
        })
        .collect();
    Ok(Output::json(json!({"knowledge_bases": items})))
}

async fn query(b: Bound, a: QueryArgs) -> std::result::Result<Output, ApiError> {
    let mut params = QueryParams::new(a.question, a.mode.unwrap_or(QueryMode::Mix));
    params.only_context = a.only_context;
    let run = query_engine(&b.state, b.actor, a.tenant, a.kb, false).await?;
    let (top_k, chunk_top_k) = (a.top_k, a.chunk_top_k);
    let result = tokio::task::spawn_blocking(move || run.answer(params, top_k, chunk_top_k, None))
        .await
        .map_err(|e| Error::Internal(format!("the query task failed: {e}")))??;
    Ok(query_output(result))
}

/// The answer (whose prompt has it end with its references) or the context as text; the
/// structured copy adds the references and keywords, and leaves out the retrieval details an
/// agent does not need (the REST route returns them).
fn query_output(r: QueryResult) -> Output {
    let mut text = r.answer.clone().or_else(|| r.context.clone()).unwrap_or_default();
    if text.is_empty() {
        text = "Nothing in the knowledge base matches this question (no context was found).".into();
    }
    let structured = json!({
        "answer": r.answer,
        "context": r.context,
        "mode": r.mode,
        "no_context": r.no_context,
        "references": r.references,
        "keywords": r.keywords,
        "warnings": r.warnings,
    });
    Output { text, structured }
}

async fn add_document(b: Bound, a: AddDocumentArgs) -> std::result::Result<Output, ApiError> {
    let Bound { state, actor } = b;
    // The ids the upload and the ingest worker need, after the same check the upload makes.
    let (who, t, k) = (actor.clone(), a.tenant, a.kb);
    let kb = state
        .call(move |svc| {
            let admitted =
                svc.authorize_kb_call(&who, Some(&t), Some(&k), Permission::DocumentCreate, "document.create")?;
            Ok(InKb(
                admitted.handle.tenant_id.to_string(),
                admitted.handle.kb_id.to_string(),
            ))
        })
        .await?;
    let upload = Upload {
        file_path: a.file_path,
        bytes: a.text.into_bytes(),
        pages: Vec::new(),
    };
    let (_, axum::Json(uploaded)) = state.upload(actor, kb, upload).await?;
    Ok(Output::json(uploaded))
}

async fn document_status(b: Bound, a: DocumentStatusArgs) -> std::result::Result<Output, ApiError> {
    let mut detail = b.state.document_status(b.actor, a.tenant, a.kb, a.doc_id).await?;
    // Chunk ids say nothing to an agent, and a long document has thousands.
    if let Some(obj) = detail.as_object_mut() {
        obj.remove("chunks");
    }
    Ok(Output::json(detail))
}

/// A `document:read` call on tenant `t`'s KB `k`, admitted and charged one API call as its
/// REST route is, then `read` with the service; its result as the tool's output.
async fn read_kb<T: serde::Serialize + Send + 'static>(
    b: Bound,
    t: String,
    k: String,
    read: impl FnOnce(&mut Service, &Actor, &str, &str) -> Result<T> + Send + 'static,
) -> std::result::Result<Output, ApiError> {
    let Bound { state, actor } = b;
    let value = state
        .call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            read(svc, &actor, &t, &k)
        })
        .await?;
    Ok(Output::json(to_json(value)?.0))
}

async fn list_documents(b: Bound, a: ListDocumentsArgs) -> std::result::Result<Output, ApiError> {
    let paging = crate::service::Paging::or_default(a.page, a.page_size)?;
    read_kb(b, a.tenant, a.kb, move |svc, actor, t, k| {
        svc.list_documents(actor, Some(t), Some(k), a.status, paging)
    })
    .await
}

async fn search_entities(b: Bound, a: SearchEntitiesArgs) -> std::result::Result<Output, ApiError> {
    let filter = EntityFilter {
        search: a.search,
        entity_type: a.entity_type,
        limit: a.limit.unwrap_or(DEFAULT_ENTITY_LIMIT),
    };
    read_kb(b, a.tenant, a.kb, move |svc, actor, t, k| {
        svc.list_entities(actor, Some(t), Some(k), &filter)
    })
    .await
}

async fn get_entity(b: Bound, a: GetEntityArgs) -> std::result::Result<Output, ApiError> {
    read_kb(b, a.tenant, a.kb, move |svc, actor, t, k| {
        svc.show_entity(actor, Some(t), Some(k), &a.name)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_is_listed_once_with_a_described_object_schema() {
        let listed = tools();
        let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, TOOLS);
        for tool in &listed {
            let schema = &tool.input_schema;
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
            for (field, spec) in schema["properties"].as_object().unwrap() {
                let described =
                    spec.get("description").is_some() || spec.get("$ref").is_some() || spec.get("anyOf").is_some();
                assert!(described, "{}.{field} has no description", tool.name);
            }
            assert!(tool.description.as_ref().is_some_and(|d| d.len() > 60), "{}", tool.name);
        }
    }

    #[test]
    fn bad_arguments_are_the_callers_error_naming_the_tool() {
        let args = json!({"tenant": "t", "kb": "k", "question": "q", "mode": "fast"});
        let Value::Object(args) = args else { unreachable!() };
        let err = parse::<QueryArgs>("query_knowledge_base", args).err().unwrap();
        assert_eq!(err.code, "usage");
        assert!(
            err.message.contains("query_knowledge_base") && err.message.contains("fast"),
            "{}",
            err.message
        );
        let result = failure(err);
        assert_eq!(result.is_error, Some(true));
    }
}
