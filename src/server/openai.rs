//! The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`): a KB is a model named
//! `tenant/kb`; a chat completion answers from it (the last user message is the question,
//! with the query-mode prefixes of `chat.rs`; earlier messages are its history), as JSON or
//! as server-sent events ending with `data: [DONE]`. `usage` is always filled in; the
//! references are appended to the text in a readable block and given structured as an extra
//! `references` field of the response (streaming: of the final chunk). Errors are OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` with the server's statuses.

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::chat::{self, CompatError, Dialect, Piece};
use super::routes::{Authed, S};
use crate::llm::Message;

const D: Dialect = Dialect::OpenAi;

type Reply = Result<Response, CompatError>;

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `GET /v1/models`: every KB the caller may query.
pub(super) async fn models(State(st): S, auth: Result<Authed, ApiError>) -> Reply {
    let actor = chat::caller(auth, D)?;
    let kbs = st.call(move |svc| svc.queryable_kbs(&actor)).await.map_err(D.err())?;
    let data: Vec<Value> = kbs
        .iter()
        .map(|kb| {
            let created = kb.updated_at.parse::<jiff::Timestamp>().map_or(0, |t| t.as_second());
            json!({"id": chat::model_name(kb), "object": "model", "created": created, "owned_by": kb.tenant})
        })
        .collect();
    Ok(Json(json!({"object": "list", "data": data})).into_response())
}

/// A message's content: a string, or parts of which the text ones count (images and audio
/// are not read), or null (an assistant's tool call).
#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct ChatMessage {
    role: String,
    content: Option<Content>,
}

#[derive(Deserialize, Default)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Deserialize)]
pub(super) struct CompletionBody {
    model: String,
    messages: Vec<ChatMessage>,
    #[serde(default)]
    stream: bool,
    stream_options: Option<StreamOptions>,
}

fn text_of(content: Option<Content>) -> String {
    match content {
        None => String::new(),
        Some(Content::Text(t)) => t,
        Some(Content::Parts(parts)) => parts
            .into_iter()
            .filter(|p| p.kind == "text")
            .map(|p| p.text)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The messages a question is made of; tool results are left out (lrt calls no tools).
fn messages(raw: Vec<ChatMessage>) -> Result<Vec<Message>, ApiError> {
    raw.into_iter()
        .filter(|m| !matches!(m.role.as_str(), "tool" | "function"))
        .map(|m| {
            Ok(Message {
                role: chat::role(&m.role)?,
                content: text_of(m.content),
            })
        })
        .collect()
}

fn usage_json(u: chat::Usage) -> Value {
    json!({"prompt_tokens": u.prompt, "completion_tokens": u.completion, "total_tokens": u.prompt + u.completion})
}

/// `POST /v1/chat/completions`.
pub(super) async fn completions(
    State(st): S,
    auth: Result<Authed, ApiError>,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let actor = chat::caller(auth, D)?;
    let b: CompletionBody = chat::body(raw, D)?;
    let m = chat::model_ref(&b.model, D)?;
    let params = chat::chat_params(messages(b.messages).map_err(D.err())?, None).map_err(D.err())?;
    let (history, question) = (params.history.clone(), params.query.clone());
    let running = chat::ask(&st, actor, &m, params, b.stream)
        .await
        .map_err(chat::for_model(&b.model))
        .map_err(D.err())?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = unix_now();
    let model = b.model;
    if !b.stream {
        let (answer, result) = running.collect().await.map_err(D.err())?;
        let usage = chat::usage(&history, &result, &answer.text, &question);
        let body = Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": usage_json(usage),
            "references": chat::references_json(&result),
        }));
        return Ok(chat::logged(body.into_response(), answer.kb));
    }
    let kb = running.kb;
    let include_usage = b.stream_options.unwrap_or_default().include_usage;
    let chunk = Chunk { id, created, model };
    let first = chunk.delta(json!({"role": "assistant", "content": ""}), None);
    let events = futures_util::stream::unfold(Stage::Start(first, running), move |stage| {
        let (chunk, history, question) = (chunk.clone(), history.clone(), question.clone());
        async move {
            let (event, next) = match stage {
                Stage::Start(first, answer) => (first, Stage::Running(answer)),
                Stage::Running(mut answer) => match answer.next().await? {
                    Piece::Text(t) => (chunk.delta(json!({"content": t}), None), Stage::Running(answer)),
                    Piece::Done(result) => {
                        let usage = chat::usage(&history, &result, &answer.text, &question);
                        let mut last = chunk.delta(json!({}), Some("stop"));
                        last["references"] = chat::references_json(&result);
                        if include_usage {
                            // As OpenAI sends it: one more chunk, with no choices.
                            let mut tail = chunk.base();
                            tail["choices"] = json!([]);
                            tail["usage"] = usage_json(usage);
                            (last, Stage::Tail(tail))
                        } else {
                            last["usage"] = usage_json(usage);
                            (last, Stage::Done)
                        }
                    }
                    // OpenAI's way of failing midway: an event with an `error` object.
                    Piece::Failed(e) => (D.body(&e), Stage::Done),
                },
                Stage::Tail(tail) => (tail, Stage::Done),
                Stage::Done => return Some((sse("[DONE]"), Stage::End)),
                Stage::End => return None,
            };
            Some((sse(&event.to_string()), next))
        }
    });
    let response = (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(events),
    );
    Ok(chat::logged(response.into_response(), kb))
}

/// Where a stream of chunks is.
enum Stage {
    Start(Value, chat::Answer),
    Running(chat::Answer),
    /// The usage chunk is still to be sent.
    Tail(Value),
    /// `[DONE]` is still to be sent.
    Done,
    End,
}

/// What every chunk of one completion shares.
#[derive(Clone)]
struct Chunk {
    id: String,
    created: i64,
    model: String,
}

impl Chunk {
    fn base(&self) -> Value {
        json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model})
    }

    fn delta(&self, delta: Value, finish: Option<&str>) -> Value {
        let mut v = self.base();
        v["choices"] = json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
        v
    }
}

fn sse(data: &str) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!("data: {data}\n\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_parts_and_roles() {
        let raw: Vec<ChatMessage> = serde_json::from_value(json!([
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null},
            {"role": "tool", "content": "42", "tool_call_id": "t"},
            {"role": "user", "content": "/naive Who?"}
        ]))
        .unwrap();
        let m = messages(raw).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0], Message::system("be brief"));
        assert_eq!(m[1], Message::user("a\nb"));
        assert_eq!(m[2], Message::assistant(""));
        let bad: Vec<ChatMessage> = serde_json::from_value(json!([{"role": "robot", "content": "x"}])).unwrap();
        assert!(messages(bad).is_err());
    }

    #[test]
    fn chunks_have_openais_fields() {
        let c = Chunk {
            id: "chatcmpl-1".into(),
            created: 7,
            model: "acme/docs".into(),
        };
        let v = c.delta(json!({"content": "Hi"}), None);
        assert_eq!(v["object"], "chat.completion.chunk");
        assert_eq!(v["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(v["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(sse("[DONE]").unwrap(), Bytes::from("data: [DONE]\n\n"));
        let u = usage_json(chat::Usage {
            prompt: 3,
            completion: 4,
        });
        assert_eq!(u["total_tokens"], 7);
    }
}
