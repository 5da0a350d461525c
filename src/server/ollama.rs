//! The Ollama-compatible API (`/api/version`, `/api/tags`, `/api/show`, `/api/chat`,
//! `/api/generate`) in Ollama's wire format, so chat front ends such as Open WebUI can use a
//! KB as a model named `tenant/kb:latest`. Like upstream LightRAG's emulation, `chat` answers
//! from the KB (query-mode prefixes in the last message, earlier messages as history) and
//! `generate` goes to the KB's model without retrieval. Streams are NDJSON ending with a
//! `done` object carrying durations (ns) and token counts. The service decides access and
//! charges one API call per answer, as for every query.

use std::convert::Infallible;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::ApiError;
use super::chat::{self, Answer, CompatError, Dialect, Piece, TAG};
use super::routes::{Authed, S};
use crate::authz::Permission;
use crate::llm::Message;
use crate::rag::query::QueryParams;
use crate::service::QueryableKb;

const D: Dialect = Dialect::Ollama;

/// The Ollama version this API answers like (upstream's emulation reports the same).
pub(super) const OLLAMA_VERSION: &str = "0.9.3";

type Reply = Result<Response, CompatError>;

/// `GET /api/version`.
pub(super) async fn version() -> Json<Value> {
    Json(json!({"version": OLLAMA_VERSION}))
}

/// The `details` of a KB as a model (what Ollama says of a model's weights has no meaning
/// here; the fields are present because clients read them).
fn details() -> Value {
    json!({
        "parent_model": "",
        "format": "lrt",
        "family": "lrt",
        "families": ["lrt"],
        "parameter_size": "",
        "quantization_level": ""
    })
}

/// A stable digest per KB version: changes when the KB does.
fn digest(kb_id: &str, updated_at: &str) -> String {
    let mut h = Sha256::new();
    h.update(kb_id.as_bytes());
    h.update(b"\0");
    h.update(updated_at.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn tag_entry(kb: &QueryableKb) -> Value {
    let name = format!("{}:{TAG}", chat::model_name(kb));
    json!({
        "name": name,
        "model": name,
        "modified_at": kb.updated_at,
        "size": kb.storage_bytes,
        "digest": digest(&kb.kb_id.to_string(), &kb.updated_at),
        "details": details(),
    })
}

/// `GET /api/tags`: every KB the caller may query.
pub(super) async fn tags(State(st): S, auth: Result<Authed, ApiError>) -> Reply {
    let actor = chat::caller(auth, D)?;
    let kbs = st.call(move |svc| svc.queryable_kbs(&actor)).await.map_err(D.err())?;
    let models: Vec<Value> = kbs.iter().map(tag_entry).collect();
    Ok(Json(json!({"models": models})).into_response())
}

#[derive(Deserialize)]
pub(super) struct ShowBody {
    #[serde(alias = "name")]
    model: String,
}

/// `POST /api/show`: a KB the caller may query, as a model.
pub(super) async fn show(State(st): S, auth: Result<Authed, ApiError>, raw: Result<Bytes, BytesRejection>) -> Reply {
    let actor = chat::caller(auth, D)?;
    let b: ShowBody = chat::body(raw, D)?;
    let m = chat::model_ref(&b.model, D)?;
    let kb = st
        .call(move |svc| {
            svc.authorize_kb_call(&actor, Some(&m.tenant), Some(&m.kb), Permission::QueryRun, "query.run")?;
            svc.show_kb(&actor, Some(&m.tenant), Some(&m.kb))
        })
        .await
        .map_err(chat::for_model(&b.model))
        .map_err(D.err())?;
    let description = kb.description.clone().unwrap_or_default();
    let mut info = Map::new();
    info.insert("general.architecture".into(), json!("lrt"));
    info.insert("lrt.tenant_id".into(), json!(kb.tenant_id));
    info.insert("lrt.kb_id".into(), json!(kb.kb_id));
    info.insert("lrt.document_count".into(), json!(kb.document_count));
    Ok(Json(json!({
        "modelfile": format!("# lrt knowledge base {}\n# {description}\n", b.model),
        "parameters": "",
        "template": "",
        "details": details(),
        "model_info": info,
        "capabilities": ["completion"],
        "modified_at": kb.updated_at,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct ChatMessage {
    role: String,
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
pub(super) struct ChatBody {
    model: String,
    #[serde(default)]
    messages: Vec<ChatMessage>,
    /// Ollama streams unless told not to.
    #[serde(default = "yes")]
    stream: bool,
    /// A system prompt beside the messages (upstream's emulation takes one).
    system: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct GenerateBody {
    model: String,
    #[serde(default)]
    prompt: String,
    system: Option<String>,
    #[serde(default = "yes")]
    stream: bool,
}

fn yes() -> bool {
    true
}

/// How the two endpoints put text in a line: `message.content` or `response`.
#[derive(Clone, Copy)]
enum Shape {
    Chat,
    Generate,
}

impl Shape {
    fn line(self, model: &str, text: &str, done: bool) -> Value {
        let mut v = json!({"model": model, "created_at": crate::time::now()});
        match self {
            Shape::Chat => v["message"] = json!({"role": "assistant", "content": text}),
            Shape::Generate => v["response"] = json!(text),
        }
        v["done"] = json!(done);
        v
    }

    /// The final object: `done` with Ollama's statistics (durations in nanoseconds).
    fn done(self, model: &str, text: &str, answer: &Answer, usage: chat::Usage) -> Value {
        let end = Instant::now();
        let first = answer.first_text.unwrap_or(end);
        let mut v = self.line(model, text, true);
        let stats = json!({
            "done_reason": "stop",
            "total_duration": chat::nanos(answer.started, end),
            "load_duration": 0,
            "prompt_eval_count": usage.prompt,
            "prompt_eval_duration": chat::nanos(answer.started, first),
            "eval_count": usage.completion,
            "eval_duration": chat::nanos(first, end),
        });
        for (k, s) in stats.as_object().into_iter().flatten() {
            v[k] = s.clone();
        }
        if let Shape::Generate = self {
            v["context"] = json!([]);
        }
        v
    }
}

/// `POST /api/chat`.
pub(super) async fn chat(State(st): S, auth: Result<Authed, ApiError>, raw: Result<Bytes, BytesRejection>) -> Reply {
    let actor = chat::caller(auth, D)?;
    let b: ChatBody = chat::body(raw, D)?;
    let messages = b
        .messages
        .into_iter()
        .map(|m| {
            Ok(Message {
                role: chat::role(&m.role)?,
                content: m.content,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()
        .map_err(D.err())?;
    let params = chat::chat_params(messages, b.system).map_err(D.err())?;
    answer(st, actor, b.model, params, b.stream, Shape::Chat).await
}

/// `POST /api/generate`: the prompt to the KB's model, without retrieval; an empty prompt
/// only "loads" the model, as Ollama answers it.
pub(super) async fn generate(
    State(st): S,
    auth: Result<Authed, ApiError>,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let actor = chat::caller(auth, D)?;
    let b: GenerateBody = chat::body(raw, D)?;
    if b.prompt.trim().is_empty() {
        // Access is still the service's to decide, without a charge: nothing is asked.
        let m = chat::model_ref(&b.model, D)?;
        st.call(move |svc| {
            svc.authorize_kb_call(&actor, Some(&m.tenant), Some(&m.kb), Permission::QueryRun, "query.run")
                .map(|_| ())
        })
        .await
        .map_err(chat::for_model(&b.model))
        .map_err(D.err())?;
        let mut v = Shape::Generate.line(&b.model, "", true);
        v["done_reason"] = json!("load");
        return Ok(Json(v).into_response());
    }
    let params = chat::bypass_params(b.prompt, b.system);
    answer(st, actor, b.model, params, b.stream, Shape::Generate).await
}

/// Runs the question and answers in `shape`: one object, or NDJSON lines ending with `done`.
async fn answer(
    st: std::sync::Arc<super::AppState>,
    actor: crate::authz::Actor,
    model: String,
    params: QueryParams,
    stream: bool,
    shape: Shape,
) -> Reply {
    let m = chat::model_ref(&model, D)?;
    let (history, question) = (params.history.clone(), params.query.clone());
    let running = chat::ask(&st, actor, &m, params, stream)
        .await
        .map_err(chat::for_model(&model))
        .map_err(D.err())?;
    if !stream {
        let (answer, result) = running.collect().await.map_err(D.err())?;
        let usage = chat::usage(&history, &result, &answer.text, &question);
        let body = Json(shape.done(&model, &answer.text, &answer, usage));
        return Ok(chat::logged(body.into_response(), answer.kb));
    }
    let kb = running.kb;
    let lines = futures_util::stream::unfold(Some(running), move |state| {
        let (model, history, question) = (model.clone(), history.clone(), question.clone());
        async move {
            let mut answer = state?;
            let line = match answer.next().await? {
                Piece::Text(t) => shape.line(&model, &t, false),
                Piece::Done(result) => {
                    let usage = chat::usage(&history, &result, &answer.text, &question);
                    return Some((ndjson(&shape.done(&model, "", &answer, usage)), None));
                }
                // Ollama's way of failing midway: an `error` line ends the stream.
                Piece::Failed(e) => return Some((ndjson(&D.body(&e)), None)),
            };
            Some((ndjson(&line), Some(answer)))
        }
    });
    let response = (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(lines),
    );
    Ok(chat::logged(response.into_response(), kb))
}

fn ndjson(v: &Value) -> Result<Bytes, Infallible> {
    let mut line = v.to_string();
    line.push('\n');
    Ok(Bytes::from(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_ollamas_fields() {
        let line = Shape::Chat.line("acme/docs:latest", "Hi", false);
        assert_eq!(line["message"], json!({"role": "assistant", "content": "Hi"}));
        assert_eq!(line["done"], false);
        assert!(line["created_at"].as_str().unwrap().ends_with('Z'));
        let line = Shape::Generate.line("acme/docs:latest", "Hi", false);
        assert_eq!(line["response"], "Hi");
        assert!(line.get("message").is_none());
        assert_eq!(digest("a", "t").len(), 64);
        assert_ne!(digest("a", "t"), digest("a", "u"));
    }
}
