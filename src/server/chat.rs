//! What the Ollama- and OpenAI-compatible APIs (`ollama.rs`, `openai.rs`) share: a KB named
//! as a model (`tenant/kb`, Ollama's `:latest` tag optional), upstream LightRAG's query-mode
//! prefixes in the last user message, the conversation as the query's history, one answer run
//! through the server's ordinary query path (`routes::query_engine`: the service admits it,
//! counts the API call, the tenant's concurrency permit is held), its references as readable
//! text, its token counts, and errors in each dialect's shape. Access is the service's
//! decision, as everywhere in the server: nothing here looks at who the caller is.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::access::KbIds;
use super::routes::{Authed, query_engine};
use super::{ApiError, AppState};
use crate::authz::Actor;
use crate::error::Error;
use crate::llm::Message;
use crate::rag::query::{QueryMode, QueryParams, QueryResult, Reference};
use crate::rag::tokenizer::Tokenizer;
use crate::service::QueryableKb;

/// The one tag a KB has as an Ollama model.
pub(super) const TAG: &str = "latest";

/// A KB named as a model: its tenant and KB, each a name or an id, as the service looks
/// them up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ModelRef {
    pub tenant: String,
    pub kb: String,
}

impl ModelRef {
    /// `tenant/kb` or `tenant/kb:latest`. The tenant ends at the first `/` (a tenant whose
    /// name holds one is listed by its id instead, see [`model_name`]); a KB name may hold
    /// `/` and `:`.
    pub(super) fn parse(model: &str) -> Option<ModelRef> {
        let model = model.trim();
        let model = model.strip_suffix(&format!(":{TAG}")).unwrap_or(model);
        let (tenant, kb) = model.split_once('/')?;
        (!tenant.is_empty() && !kb.is_empty()).then(|| ModelRef {
            tenant: tenant.to_string(),
            kb: kb.to_string(),
        })
    }
}

/// The KB a request's `model` names, or a 404 in the dialect's shape.
pub(super) fn model_ref(model: &str, dialect: Dialect) -> Result<ModelRef, CompatError> {
    ModelRef::parse(model).ok_or_else(|| CompatError(dialect, model_not_found(model)))
}

/// The model name a listing gives a KB: `tenant/kb`, with the tenant's id when its name
/// holds a `/` (so that every listed name resolves to the KB it lists).
pub(super) fn model_name(kb: &QueryableKb) -> String {
    if kb.tenant.contains('/') {
        format!("{}/{}", kb.tenant_id, kb.kb)
    } else {
        format!("{}/{}", kb.tenant, kb.kb)
    }
}

/// What the prefix of the last user message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Directive {
    pub query: String,
    pub mode: QueryMode,
    pub only_context: bool,
    pub user_prompt: Option<String>,
}

/// Upstream's prefixes: `/local`, `/global`, `/hybrid`, `/naive`, `/mix`, `/bypass` pick the
/// mode, `/context` (or `/<mode>context`) returns the retrieved context instead of an answer,
/// and `/<mode>[text]` adds `text` as the user prompt (`/[text]` with the default mode). A
/// prefix is a whole word at the very start; anything else is the question, in `mix` mode.
pub(super) fn parse_directive(message: &str) -> Directive {
    let plain = |query: &str| Directive {
        query: query.to_string(),
        mode: QueryMode::Mix,
        only_context: false,
        user_prompt: None,
    };
    let Some(rest) = message.strip_prefix('/') else {
        return plain(message);
    };
    let word_len = rest.find(|c: char| !c.is_ascii_lowercase()).unwrap_or(rest.len());
    let (word, mut after) = rest.split_at(word_len);
    let mut user_prompt = None;
    if let Some(bracketed) = after.strip_prefix('[') {
        let Some(end) = bracketed.find(']') else {
            return plain(message);
        };
        user_prompt = Some(bracketed[..end].to_string());
        after = &bracketed[end + 1..];
    }
    // The word must end where the prefix ends: `/localize` is a question.
    if !after.is_empty() && !after.starts_with(char::is_whitespace) {
        return plain(message);
    }
    let (mode_word, only_context) = match word {
        "context" => ("mix", true),
        w => match w.strip_suffix("context") {
            Some(m) if !m.is_empty() => (m, true),
            _ => (w, false),
        },
    };
    let mode = match mode_word {
        "" if user_prompt.is_some() => QueryMode::Mix,
        "local" => QueryMode::Local,
        "global" => QueryMode::Global,
        "hybrid" => QueryMode::Hybrid,
        "naive" => QueryMode::Naive,
        "mix" => QueryMode::Mix,
        "bypass" if !only_context => QueryMode::Bypass,
        _ => return plain(message),
    };
    Directive {
        query: after.trim_start().to_string(),
        mode,
        only_context,
        user_prompt,
    }
}

/// Open WebUI's own requests (a chat's title, tags, follow-ups) quote the conversation in a
/// `<chat_history>` block; like upstream they go to the model without retrieval.
fn is_front_end_task(query: &str) -> bool {
    query.contains("\n<chat_history>\nUSER:")
}

/// A chat as the query's parameters: the last message is the question (a user's, with its
/// prefix), the earlier ones its history. `system` is a system prompt given beside the
/// messages (Ollama's `system`).
pub(super) fn chat_params(mut messages: Vec<Message>, system: Option<String>) -> Result<QueryParams, ApiError> {
    let last = messages
        .pop()
        .ok_or_else(|| ApiError::bad_request("messages must not be empty"))?;
    if last.role != crate::llm::Role::User {
        return Err(ApiError::bad_request("the last message must be the user's"));
    }
    let d = parse_directive(&last.content);
    let mode = if is_front_end_task(&d.query) {
        QueryMode::Bypass
    } else {
        d.mode
    };
    let mut p = QueryParams::new(d.query, mode);
    p.only_context = d.only_context;
    p.user_prompt = d.user_prompt;
    if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
        messages.insert(0, Message::system(s));
    }
    p.history = messages;
    Ok(p)
}

/// A prompt for the model alone (Ollama's `generate`, as upstream's emulation does it): no
/// retrieval, the system prompt before it.
pub(super) fn bypass_params(prompt: String, system: Option<String>) -> QueryParams {
    let mut p = QueryParams::new(prompt, QueryMode::Bypass);
    p.history = system
        .filter(|s| !s.trim().is_empty())
        .map(Message::system)
        .into_iter()
        .collect();
    p
}

/// A message role as the dialects spell it (OpenAI's `developer` is a system message).
pub(super) fn role(name: &str) -> Result<crate::llm::Role, ApiError> {
    Ok(match name {
        "user" => crate::llm::Role::User,
        "assistant" => crate::llm::Role::Assistant,
        "system" | "developer" => crate::llm::Role::System,
        other => {
            return Err(ApiError::bad_request(format!(
                "unsupported message role {other:?}; roles are system, user, assistant"
            )));
        }
    })
}

/// One event of a running answer.
pub(super) enum Piece {
    /// Answer text as the model writes it.
    Text(String),
    Done(Box<QueryResult>),
    Failed(ApiError),
}

/// An admitted question being answered on the blocking pool.
pub(super) struct Answer {
    rx: UnboundedReceiver<Piece>,
    /// The first event, already received (the admission and retrieval went through).
    first: Option<Piece>,
    pub started: Instant,
    /// When the first text arrived (the model's first token, or the whole answer).
    pub first_text: Option<Instant>,
    /// Every piece of text given out so far.
    pub text: String,
    /// The references block was considered.
    closed: bool,
    /// The admitted KB, for the access log.
    pub kb: KbIds,
}

impl Answer {
    /// The next event: text pieces, then the result, or a failure. Text that was not
    /// streamed (a cached answer, the context of a `/context` question) and the references
    /// block of [`references_block`] come out as pieces before the result.
    pub(super) async fn next(&mut self) -> Option<Piece> {
        let piece = match self.first.take() {
            Some(p) => p,
            None => self.rx.recv().await?,
        };
        let piece = match piece {
            Piece::Done(mut result) => {
                let extra = match unstreamed(&result) {
                    Some(text) => {
                        result.streamed = true;
                        Some(text)
                    }
                    None if !self.closed => {
                        self.closed = true;
                        references_block(&self.text, &result)
                    }
                    None => None,
                };
                match extra.filter(|t| !t.is_empty()) {
                    Some(text) => {
                        self.first = Some(Piece::Done(result));
                        Piece::Text(text)
                    }
                    None => Piece::Done(result),
                }
            }
            other => other,
        };
        if let Piece::Text(t) = &piece {
            self.first_text.get_or_insert_with(Instant::now);
            self.text.push_str(t);
        }
        Some(piece)
    }

    /// The whole answer: its text and result.
    pub(super) async fn collect(mut self) -> Result<(Answer, Box<QueryResult>), ApiError> {
        loop {
            match self.next().await {
                Some(Piece::Text(_)) => {}
                Some(Piece::Done(result)) => return Ok((self, result)),
                Some(Piece::Failed(e)) => return Err(e),
                None => return Err(ended()),
            }
        }
    }
}

fn ended() -> ApiError {
    Error::Internal("the query task ended without an answer".into()).into()
}

/// The text of a result that was not streamed piece by piece: a cached or non-streamed
/// answer, or the context of a `/context` question.
fn unstreamed(result: &QueryResult) -> Option<String> {
    if result.streamed {
        return None;
    }
    result.answer.clone().or_else(|| result.context.clone())
}

/// Asks `model` the question through the server's query path: the service admits it (404 for
/// a KB the caller cannot see, as for one that does not exist), the tenant's concurrency
/// permit and one API call are taken, then the engine answers on the blocking pool, streaming
/// when `stream`. Errors before the first event (access, quotas, validation, retrieval, a
/// model that is down) come back here, with their status.
pub(super) async fn ask(
    st: &Arc<AppState>,
    actor: Actor,
    model: &ModelRef,
    mut params: QueryParams,
    stream: bool,
) -> Result<Answer, ApiError> {
    let started = Instant::now();
    params.stream = stream;
    let run = query_engine(st, actor, model.tenant.clone(), model.kb.clone(), false).await?;
    let kb = KbIds(run.handle().tenant_id, run.handle().kb_id);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::task::spawn_blocking(move || {
        let pieces = tx.clone();
        let mut sink = move |piece: &str| {
            let _ = pieces.send(Piece::Text(piece.to_string()));
        };
        let sink: Option<crate::rag::query::Sink<'_>> = if stream { Some(&mut sink) } else { None };
        let result = run.answer(params, None, None, sink);
        let _ = tx.send(match result {
            Ok(r) => Piece::Done(Box::new(r)),
            Err(e) => Piece::Failed(ApiError::from(e)),
        });
    });
    let first = rx.recv().await.ok_or_else(ended)?;
    if let Piece::Failed(e) = first {
        return Err(e);
    }
    Ok(Answer {
        rx,
        first: Some(first),
        started,
        first_text: None,
        text: String::new(),
        closed: false,
        kb,
    })
}

/// A response with the KB it answered from, for the access log.
pub(super) fn logged(mut response: Response, kb: KbIds) -> Response {
    response.extensions_mut().insert(kb);
    response
}

/// The references of an answer as a block to append to its text, for clients that show only
/// the text: none for a context (which lists its own), when there are none, or when the
/// answer already ends with its own `References` section (the answer prompt asks for one).
/// The cited files when the answer cites any, else every file of the context.
pub(super) fn references_block(text: &str, result: &QueryResult) -> Option<String> {
    if result.answer.is_none() || result.references.is_empty() || has_references_heading(text) {
        return None;
    }
    let cited: Vec<&Reference> = result.references.iter().filter(|r| r.cited == Some(true)).collect();
    let shown: Vec<&Reference> = if cited.is_empty() {
        result.references.iter().collect()
    } else {
        cited
    };
    let mut block = String::from("\n\n### References\n\n");
    for r in shown {
        block.push_str(&format!("* [{}] {}\n", r.reference_id, r.label()));
    }
    Some(block)
}

fn has_references_heading(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim();
        line.starts_with('#') && line.trim_start_matches('#').trim().eq_ignore_ascii_case("references")
    })
}

/// The references as a JSON array (the `references` field of OpenAI answers).
pub(super) fn references_json(result: &QueryResult) -> Value {
    serde_json::to_value(&result.references).unwrap_or(Value::Null)
}

/// Token counts of one exchange, counted with lrt's tokenizer (o200k_base): the prompt the
/// model was sent (system prompt with the context, the history and the question; for a
/// `/context` question only the question) and the text given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Usage {
    pub prompt: usize,
    pub completion: usize,
}

pub(super) fn usage(params_history: &[Message], result: &QueryResult, text: &str, question: &str) -> Usage {
    let tok = Tokenizer::global();
    let prompt = if result.answer.is_none() {
        tok.count(question)
    } else {
        result.tokens.prompt + params_history.iter().map(|m| tok.count(&m.content)).sum::<usize>()
    };
    Usage {
        prompt,
        completion: tok.count(text),
    }
}

/// The two wire dialects' error shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// `{"error": "message"}`
    Ollama,
    /// `{"error": {"message", "type", "param", "code"}}`
    OpenAi,
}

/// An error in a dialect's shape, with the status, `Retry-After` and error id of the
/// server's own.
pub(super) struct CompatError(pub Dialect, pub ApiError);

impl Dialect {
    pub(super) fn err(self) -> impl Fn(ApiError) -> CompatError {
        move |e| CompatError(self, e)
    }

    /// The error's body.
    pub(super) fn body(self, e: &ApiError) -> Value {
        match self {
            Dialect::Ollama => json!({"error": e.message}),
            Dialect::OpenAi => {
                let kind = match e.status {
                    StatusCode::UNAUTHORIZED => "authentication_error",
                    StatusCode::FORBIDDEN => "permission_error",
                    StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
                    s if s.is_server_error() => "server_error",
                    _ => "invalid_request_error",
                };
                json!({"error": {"message": e.message, "type": kind, "param": null, "code": e.code}})
            }
        }
    }
}

impl IntoResponse for CompatError {
    fn into_response(self) -> Response {
        let CompatError(dialect, e) = self;
        let body = dialect.body(&e).to_string();
        let (parts, _) = e.into_response().into_parts();
        Response::from_parts(parts, axum::body::Body::from(body))
    }
}

/// A model that does not resolve, in the words the client used (a KB the caller cannot see
/// reads exactly like a missing one, and the service's message naming the tenant is not
/// passed on).
pub(super) fn model_not_found(model: &str) -> ApiError {
    let mut e = ApiError::from(Error::NotFound(format!("model \"{model}\" not found")));
    e.code = "model_not_found";
    e
}

/// The service's error for a question to `model`, with a 404 in the dialect's words.
pub(super) fn for_model(model: &str) -> impl Fn(ApiError) -> ApiError + '_ {
    move |e| {
        if e.status == StatusCode::NOT_FOUND {
            model_not_found(model)
        } else {
            e
        }
    }
}

/// The caller, or the authentication error in the dialect's shape.
pub(super) fn caller(auth: Result<Authed, ApiError>, dialect: Dialect) -> Result<Actor, CompatError> {
    auth.map(|Authed(actor)| actor).map_err(dialect.err())
}

/// A JSON body read whatever its content type (Ollama clients send
/// `application/octet-stream` or none at all), unknown fields ignored (clients send options
/// lrt has no use for).
pub(super) fn body<T: DeserializeOwned>(
    raw: Result<Bytes, BytesRejection>,
    dialect: Dialect,
) -> Result<T, CompatError> {
    let bytes = raw.map_err(|e| {
        let api = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(e.status(), "payload_too_large", "the request body is too large")
        } else {
            ApiError::bad_request(format!("cannot read the request body: {}", e.body_text()))
        };
        CompatError(dialect, api)
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CompatError(dialect, ApiError::bad_request(format!("invalid JSON body: {e}"))))
}

/// Nanoseconds between two instants, as Ollama's durations are given.
pub(super) fn nanos(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(query: &str, mode: QueryMode, only_context: bool, user_prompt: Option<&str>) -> Directive {
        Directive {
            query: query.into(),
            mode,
            only_context,
            user_prompt: user_prompt.map(str::to_string),
        }
    }

    #[test]
    fn prefixes_pick_the_mode_as_upstream() {
        use QueryMode::*;
        let cases = [
            ("Who is Ada?", d("Who is Ada?", Mix, false, None)),
            ("/local Who is Ada?", d("Who is Ada?", Local, false, None)),
            ("/global  themes", d("themes", Global, false, None)),
            ("/hybrid x y", d("x y", Hybrid, false, None)),
            ("/naive x", d("x", Naive, false, None)),
            ("/mix x", d("x", Mix, false, None)),
            ("/bypass hello", d("hello", Bypass, false, None)),
            ("/context Ada", d("Ada", Mix, true, None)),
            ("/localcontext Ada", d("Ada", Local, true, None)),
            ("/naivecontext Ada", d("Ada", Naive, true, None)),
            ("/local[use a table] Ada", d("Ada", Local, false, Some("use a table"))),
            ("/[be brief] Ada", d("Ada", Mix, false, Some("be brief"))),
            // Not prefixes: the question as it is.
            ("/localize the bug", d("/localize the bug", Mix, false, None)),
            ("/unknown x", d("/unknown x", Mix, false, None)),
            ("/bypasscontext x", d("/bypasscontext x", Mix, false, None)),
            ("/local[unclosed x", d("/local[unclosed x", Mix, false, None)),
            ("a /local b", d("a /local b", Mix, false, None)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_directive(input), want, "{input:?}");
        }
    }

    #[test]
    fn the_last_user_message_is_the_question_and_the_rest_history() {
        let messages = vec![
            Message::system("be kind"),
            Message::user("hi"),
            Message::assistant("hello"),
            Message::user("/local Who is Ada?"),
        ];
        let p = chat_params(messages, None).unwrap();
        assert_eq!((p.query.as_str(), p.mode), ("Who is Ada?", QueryMode::Local));
        assert_eq!(p.history.len(), 3);
        assert!(chat_params(vec![Message::assistant("x")], None).is_err());
        assert!(chat_params(vec![], None).is_err());
        // Open WebUI's title task skips retrieval.
        let task = "### Task:\nGenerate a title.\n<chat_history>\nUSER: Who is Ada?\n</chat_history>";
        let p = chat_params(vec![Message::user(task)], Some("sys".into())).unwrap();
        assert_eq!(p.mode, QueryMode::Bypass);
        assert_eq!(p.history, vec![Message::system("sys")]);
    }

    #[test]
    fn model_names_resolve_with_or_without_the_tag() {
        let want = Some(ModelRef {
            tenant: "acme".into(),
            kb: "docs/v2".into(),
        });
        assert_eq!(ModelRef::parse("acme/docs/v2"), want);
        assert_eq!(ModelRef::parse("acme/docs/v2:latest"), want);
        assert_eq!(ModelRef::parse("llama3"), None);
        assert_eq!(ModelRef::parse("/kb"), None);
        assert_eq!(ModelRef::parse("acme/"), None);
        let kb = |tenant: &str| QueryableKb {
            tenant_id: uuid::Uuid::nil(),
            tenant: tenant.into(),
            kb_id: uuid::Uuid::nil(),
            kb: "docs".into(),
            description: None,
            updated_at: String::new(),
            document_count: 0,
            storage_bytes: 0,
        };
        assert_eq!(model_name(&kb("acme")), "acme/docs");
        let odd = model_name(&kb("a/b"));
        assert_eq!(odd, format!("{}/docs", uuid::Uuid::nil()));
        assert_eq!(ModelRef::parse(&odd).unwrap().tenant, uuid::Uuid::nil().to_string());
    }

    fn result(answer: Option<&str>, cited: &[(&str, Option<bool>)]) -> QueryResult {
        let mut r = empty();
        r.answer = answer.map(str::to_string);
        r.references = cited
            .iter()
            .enumerate()
            .map(|(i, (path, c))| Reference {
                reference_id: (i + 1).to_string(),
                file_path: path.to_string(),
                cited: *c,
                pages: vec![],
            })
            .collect();
        r
    }

    fn empty() -> QueryResult {
        QueryResult {
            answer: None,
            mode: QueryMode::Mix,
            keywords: Default::default(),
            no_context: false,
            entities: vec![],
            relations: vec![],
            chunks: vec![],
            references: vec![],
            tokens: Default::default(),
            llm_calls: 0,
            cache_hits: 0,
            timings_ms: Default::default(),
            warnings: vec![],
            rerank: None,
            context: None,
            prompt: None,
            streamed: false,
        }
    }

    #[test]
    fn references_are_appended_once_cited_first() {
        let r = result(Some("Polonium [2]."), &[("a.txt", Some(false)), ("b.pdf", Some(true))]);
        assert_eq!(
            references_block("Polonium [2].", &r).unwrap(),
            "\n\n### References\n\n* [2] b.pdf\n"
        );
        let uncited = result(Some("x"), &[("a.txt", Some(false))]);
        assert_eq!(
            references_block("x", &uncited).unwrap(),
            "\n\n### References\n\n* [1] a.txt\n"
        );
        // The answer's own section is not doubled; a context lists its own; none, nothing.
        assert!(references_block("x\n\n### References\n* [1] a.txt", &r).is_none());
        assert!(references_block("ctx", &result(None, &[("a.txt", None)])).is_none());
        assert!(references_block("x", &result(Some("x"), &[])).is_none());
    }

    #[test]
    fn errors_take_each_dialects_shape() {
        let e = model_not_found("acme/x");
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(Dialect::Ollama.body(&e), json!({"error": "model \"acme/x\" not found"}));
        let openai = Dialect::OpenAi.body(&e);
        assert_eq!(openai["error"]["type"], "invalid_request_error");
        assert_eq!(openai["error"]["code"], "model_not_found");
        let unauth = ApiError::unauthenticated("no");
        assert_eq!(Dialect::OpenAi.body(&unauth)["error"]["type"], "authentication_error");
        let quota = ApiError::from(Error::RateLimited {
            message: "slow down".into(),
            retry_after_secs: 3,
        });
        assert_eq!(quota.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(Dialect::OpenAi.body(&quota)["error"]["type"], "rate_limit_error");
        let response = CompatError(Dialect::OpenAi, quota).into_response();
        assert_eq!(response.headers()["retry-after"], "3");
    }
}
