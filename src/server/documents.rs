//! The data-plane handlers beyond listing: uploads (queued for the ingest worker, answered at
//! once), a document's status and its delete, the NDJSON query stream and the graph export.
//! As everywhere in the server, each handler checks the path and headers and calls the
//! service, which decides access.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::routes::{ApiResult, Authed, Body, InKb, Params, QueryBody, S, admit, query_engine, to_json};
use super::{ApiError, AppState};
use crate::authz::{Actor, Permission};
use crate::error::{Error, Result};
use crate::extract::{self, ExtractError, Parser};
use crate::rag::engine::DeleteOptions;
use crate::rag::query::QueryResult;
use crate::service::{ExportFormat, Service, Upload, ViewRequest};
use crate::store::kb::DocStatus;

impl AppState {
    /// Runs `f` on the blocking pool with a service of its own (its own catalog connection)
    /// and the server's runtime, for work that may take long (a delete re-embeds) and so must
    /// not hold the shared service every request needs.
    pub(super) async fn detached<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Service, &tokio::runtime::Handle) -> Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let settings = self.settings.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut svc = Service::open(settings)?;
            f(&mut svc, &runtime)
        })
        .await
        .map_err(|e| Error::Internal(format!("a request task failed: {e}")))?
        .map_err(ApiError::from)
    }

    /// Queues an upload through the service and hands its KB to the ingest worker: 202 with
    /// the pending document, or 200 for a duplicate (nothing added).
    pub(super) async fn upload(
        self: &Arc<Self>,
        actor: Actor,
        InKb(t, k): InKb,
        upload: Upload,
    ) -> ApiResult<(StatusCode, Json<Value>)> {
        let ids = (Uuid::parse_str(&t), Uuid::parse_str(&k));
        let up = self
            .call(move |svc| svc.upload_document(&actor, &t, &k, upload))
            .await?;
        if let (Ok(tenant), Ok(kb)) = ids
            && matches!(up.status, DocStatus::Pending | DocStatus::Processing)
        {
            // A duplicate still waiting is handed over too: its KB may not be queued (it was
            // uploaded while the tenant was suspended, say).
            self.worker.submit(tenant, kb);
        }
        let status = if up.duplicate {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        Ok((status, to_json(up)?))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TextBody {
    text: String,
    file_path: Option<String>,
}

/// `POST …/documents/text`.
pub(super) async fn upload_text(
    State(st): S,
    Authed(actor): Authed,
    kb: InKb,
    Body(b): Body<TextBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let upload = Upload {
        file_path: b.file_path,
        bytes: b.text.into_bytes(),
        pages: Vec::new(),
    };
    st.upload(actor, kb, upload).await
}

fn multipart_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(status, "payload_too_large", "the request body is too large");
    }
    ApiError::bad_request(format!("invalid multipart body: {text}"))
}

/// `POST …/documents/file`: one part named `file`; its file name is kept as the document's
/// `file_path` and never used to build a path.
pub(super) async fn upload_file(
    State(st): S,
    Authed(actor): Authed,
    kb: InKb,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut multipart = multipart.map_err(|e| multipart_error(e.status(), e.body_text()))?;
    let mut upload = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        if field.name() != Some("file") {
            return Err(ApiError::bad_request(format!(
                "unexpected multipart part {:?}; send the document as the part `file`",
                field.name().unwrap_or("")
            )));
        }
        if upload.is_some() {
            return Err(ApiError::bad_request("one document per request: send one `file` part"));
        }
        let file_path = field.file_name().map(str::to_string);
        let bytes: Bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?;
        upload = Some((file_path, bytes.to_vec()));
    }
    let (file_path, bytes) = upload.ok_or_else(|| ApiError::bad_request("no `file` part in the multipart body"))?;
    // Access first: extraction may take seconds, and is no one's to spend without the right.
    // The service checks again (and charges the call) when it queues the document.
    let (who, InKb(t, k)) = (actor.clone(), kb.clone());
    st.call(move |svc| {
        svc.authorize_kb_call(&who, Some(&t), Some(&k), Permission::DocumentCreate, "document.create")
            .map(|_| ())
    })
    .await?;
    let upload = extract_upload(&st.parser, file_path, bytes).await?;
    st.upload(actor, kb, upload).await
}

/// An uploaded file's text (PDF, Office, EPUB, HTML… as `lrt ingest` reads them), extracted
/// off the async threads. A file that cannot be read is 415 (a format lrt cannot read: an
/// image, an encrypted file) or 400 (corrupt, empty, too large or too costly), naming the
/// file and the reason; 502 when the external parser (Docling) fails.
async fn extract_upload(parser: &Parser, file_path: Option<String>, bytes: Vec<u8>) -> Result<Upload, ApiError> {
    let name = file_path.clone().unwrap_or_default();
    let extracted = parser
        .extract_async(bytes, name, extract::Limits::default())
        .await
        .map(|(doc, _)| doc);
    match extracted {
        Ok(doc) => Ok(Upload {
            file_path,
            bytes: doc.text.into_bytes(),
            pages: doc.pages,
        }),
        Err(e) => {
            let message = format!("cannot ingest {:?}: {e}", file_path.as_deref().unwrap_or("the upload"));
            Err(match e {
                ExtractError::Unsupported(_) | ExtractError::NoTextLayer(_) | ExtractError::Encrypted(_) => {
                    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
                }
                ExtractError::Parser(_) => ApiError::from(Error::Upstream(message)),
                _ => ApiError::bad_request(message),
            })
        }
    }
}

/// `GET …/documents/{doc_id}`: `lrt doc show --json`, plus the worker's `progress` of the
/// KB's current run while the document waits or is processed.
pub(super) async fn get_document(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Path((_, _, doc)): Path<(String, String, String)>,
) -> ApiResult {
    st.document_status(actor, t, k, doc).await.map(Json)
}

impl AppState {
    /// A document's `lrt doc show --json` (`document:read`, one API call), plus the worker's
    /// `progress` of its KB's current run while it waits or is processed.
    pub(super) async fn document_status(
        self: &Arc<Self>,
        actor: Actor,
        t: String,
        k: String,
        doc: String,
    ) -> Result<Value, ApiError> {
        let (kb_id, detail) = self
            .call(move |svc| {
                let admitted = admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
                let detail = svc.show_document(&actor, Some(&t), Some(&k), &doc)?;
                Ok((admitted.handle.kb_id, detail))
            })
            .await?;
        let waiting = matches!(detail.document.status, DocStatus::Pending | DocStatus::Processing);
        let progress = waiting.then(|| self.worker.progress(kb_id)).flatten();
        let Json(mut body) = to_json(detail)?;
        if let Some(p) = progress {
            body["progress"] = serde_json::to_value(p).unwrap_or(Value::Null);
        }
        Ok(body)
    }
}

/// `DELETE …/documents/{doc_id}`: `lrt doc delete --yes` of one document. While the KB is
/// being ingested (by the worker or the CLI) the answer is 409 at once rather than a request
/// held for the whole ingest.
pub(super) async fn delete_document(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Path((_, _, doc)): Path<(String, String, String)>,
) -> ApiResult {
    let report = st
        .detached(move |svc, runtime| {
            admit(svc, &actor, (&t, &k), Permission::DocumentDelete, "document.delete")?;
            runtime.block_on(
                svc.delete_documents(&actor, Some(&t), Some(&k), &[doc], DeleteOptions::default(), || {
                    Err(Error::Conflict(
                        "the knowledge base is being ingested or another delete runs; try again when its queue is done"
                            .into(),
                    ))
                }),
            )
        })
        .await?;
    to_json(report)
}

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    format: Option<String>,
}

/// `GET …/graph/export?format=graphml|json`: the bytes `lrt graph export` prints.
pub(super) async fn export_graph(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("json"))?;
    let bytes = st
        .call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            let graph = svc.export_graph(&actor, Some(&t), Some(&k))?;
            let mut out = Vec::new();
            graph
                .write(&mut out, format)
                .map_err(|e| Error::Internal(format!("cannot write the export: {e}")))?;
            Ok(out)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, format.media_type())], bytes).into_response())
}

#[derive(Deserialize)]
pub(super) struct ViewQuery {
    entity: Option<String>,
    depth: Option<u32>,
    max_nodes: Option<usize>,
}

/// `GET …/graph/view`: the explorer's data (`lrt graph view`'s, through the same service call).
pub(super) async fn graph_view(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<ViewQuery>,
) -> ApiResult {
    let defaults = ViewRequest::default();
    let request = ViewRequest {
        entity: q.entity.filter(|e| !e.trim().is_empty()),
        depth: q.depth.unwrap_or(defaults.depth),
        show: q.max_nodes.unwrap_or(defaults.show),
    };
    let view = st
        .call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            svc.graph_view(&actor, Some(&t), Some(&k), &request)
        })
        .await?;
    to_json(view)
}

/// One NDJSON line of a streamed query.
enum Event {
    /// A piece of the answer as the model writes it.
    Chunk(String),
    /// The query's object, whose `answer` is left out when pieces were streamed.
    Done(Box<QueryResult>),
    Failed(ApiError),
}

impl Event {
    /// The line, and whether answer text has been streamed so far.
    fn line(self, streamed: bool) -> (Bytes, bool) {
        let (value, streamed) = match self {
            Event::Chunk(text) => (json!({"type": "chunk", "text": text}), true),
            Event::Done(result) => {
                let mut result = serde_json::to_value(*result).unwrap_or(Value::Null);
                if streamed && let Some(obj) = result.as_object_mut() {
                    obj.remove("answer");
                }
                (json!({"type": "result", "result": result}), streamed)
            }
            Event::Failed(e) => (
                json!({"type": "error", "error": {"code": e.code, "message": e.message}}),
                streamed,
            ),
        };
        let mut line = value.to_string();
        line.push('\n');
        (Bytes::from(line), streamed)
    }
}

/// `POST …/query/stream`: the options of `POST …/query`, answered as NDJSON
/// (`application/x-ndjson`): `chunk` lines as the model writes (the provider's streaming;
/// one piece for `local`), then a `result` line, or an `error` line if it fails midway.
/// Failures before the first line (access, options, retrieval, a model that is down) are
/// plain JSON errors with their status. Streamed answers are never cached, as in the CLI.
pub(super) async fn query_stream(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<QueryBody>,
) -> Result<Response, ApiError> {
    let (mut params, top_k, chunk_top_k, no_cache) = b.params()?;
    params.stream = true;
    let run = query_engine(&st, actor, t, k, no_cache).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::task::spawn_blocking(move || {
        let pieces = tx.clone();
        let mut sink = move |piece: &str| {
            let _ = pieces.send(Event::Chunk(piece.to_string()));
        };
        let result = run.answer(params, top_k, chunk_top_k, Some(&mut sink));
        let _ = tx.send(match result {
            Ok(r) => Event::Done(Box::new(r)),
            Err(e) => Event::Failed(ApiError::from(e)),
        });
    });
    let first = rx
        .recv()
        .await
        .ok_or_else(|| ApiError::from(Error::Internal("the query task ended without an answer".into())))?;
    if let Event::Failed(e) = first {
        return Err(e);
    }
    let lines = futures_util::stream::unfold((Some(first), rx, false), |(next, mut rx, streamed)| async move {
        let event = match next {
            Some(e) => e,
            None => rx.recv().await?,
        };
        let (line, streamed) = event.line(streamed);
        Some((Ok::<_, Infallible>(line), (None, rx, streamed)))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(lines),
    )
        .into_response())
}
