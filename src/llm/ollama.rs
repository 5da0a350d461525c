//! The `ollama` provider: Ollama's native API (`/api/chat`, `/api/embed`).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{self, HttpClient, Purpose, StreamEvent};
use super::{ChatRequest, ChatResponse, LlmError, ModelIdentity, ModelProvider, ProviderConfig, TextStream};

/// LightRAG's default `LLM_BINDING_HOST` for this binding.
pub const DEFAULT_HOST: &str = "http://localhost:11434";

#[derive(Debug, Clone)]
pub struct OllamaProvider {
    http: HttpClient,
    base: String,
    dim: usize,
}

impl OllamaProvider {
    /// Checks the configuration; makes no request.
    pub fn new(config: &ProviderConfig) -> Result<Self, LlmError> {
        let base = http::base_url(config.host.as_deref(), DEFAULT_HOST)?;
        Ok(OllamaProvider {
            http: HttpClient::new(config, &base)?,
            base,
            dim: config.dim,
        })
    }

    pub(crate) fn set_meter(&mut self, meter: std::sync::Arc<super::usage::TokenMeter>) {
        self.http.set_meter(meter);
    }

    pub(crate) fn take_tokens(&self) -> super::usage::TokenCounts {
        self.http.take_tokens()
    }

    fn chat_body(&self, req: &ChatRequest, stream: bool) -> Value {
        let mut body = json!({
            "model": self.http.model(),
            "messages": req.messages,
            "stream": stream,
        });
        if req.json {
            body["format"] = json!("json");
        }
        let mut options = Map::new();
        if let Some(temperature) = req.temperature {
            options.insert("temperature".into(), json!(temperature));
        }
        if let Some(max_tokens) = req.max_tokens {
            options.insert("num_predict".into(), json!(max_tokens));
        }
        if !options.is_empty() {
            body["options"] = Value::Object(options);
        }
        body
    }
}

#[derive(Deserialize)]
struct ChatAnswer {
    message: AnswerMessage,
    #[serde(default)]
    done_reason: Option<String>,
    /// Prompt tokens evaluated (absent when Ollama reused a cached prompt).
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    /// Answer tokens generated.
    #[serde(default)]
    eval_count: Option<u64>,
}

/// Ollama's token counts, when it reports any.
fn reported(prompt: Option<u64>, completion: Option<u64>) -> Option<(u64, u64)> {
    (prompt.is_some() || completion.is_some()).then(|| (prompt.unwrap_or(0), completion.unwrap_or(0)))
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct Embeddings {
    embeddings: Vec<Vec<f32>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
}

impl ModelProvider for OllamaProvider {
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let url = format!("{}/api/chat", self.base);
        let answer: ChatAnswer = self
            .http
            .post_json(Purpose::Chat, &url, &self.chat_body(req, false))
            .await?;
        let truncated = answer.done_reason.as_deref() == Some("length");
        if answer.message.content.trim().is_empty() && !truncated {
            return Err(LlmError::BadResponse(format!(
                "the model at {} returned an empty answer",
                self.http.host()
            )));
        }
        self.http.record_chat(
            &req.messages,
            reported(answer.prompt_eval_count, answer.eval_count),
            &answer.message.content,
        );
        Ok(ChatResponse {
            text: answer.message.content,
            truncated,
        })
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<TextStream, LlmError> {
        let url = format!("{}/api/chat", self.base);
        let resp = self
            .http
            .send_with_retry(Purpose::Chat, &url, &self.chat_body(req, true))
            .await?;
        Ok(self
            .http
            .spawn_stream(Purpose::Chat, &req.messages, resp, parse_ndjson_line))
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let url = format!("{}/api/embed", self.base);
        let body = json!({"model": self.http.model(), "input": texts});
        let answer: Embeddings = self.http.post_json(Purpose::Embed, &url, &body).await?;
        self.http.record_embed(texts, answer.prompt_eval_count);
        http::check_embeddings(answer.embeddings, texts.len(), self.dim)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn identity(&self) -> ModelIdentity {
        ModelIdentity {
            binding: "ollama".into(),
            model: self.http.model().to_string(),
            host: Some(self.http.host().to_string()),
        }
    }
}

/// One line of Ollama's newline-delimited JSON stream: `message.content` is the next piece
/// and `done: true` marks the last line; `{"error": …}` reports a failure mid-stream.
fn parse_ndjson_line(line: &str) -> Result<Option<StreamEvent>, LlmError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let event: Value = serde_json::from_str(line)
        .map_err(|e| LlmError::BadResponse(format!("unreadable stream line ({e}): {line:.200}")))?;
    if !event["error"].is_null() {
        return Err(LlmError::Server(format!(
            "the server failed mid-stream: {}",
            http::server_message(line)
        )));
    }
    Ok(Some(StreamEvent {
        text: event["message"]["content"].as_str().unwrap_or_default().to_string(),
        done: event["done"].as_bool().unwrap_or(false),
        usage: reported(event["prompt_eval_count"].as_u64(), event["eval_count"].as_u64()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_lines() {
        let piece = parse_ndjson_line(r#"{"message":{"role":"assistant","content":"Hi"},"done":false}"#)
            .unwrap()
            .unwrap();
        assert_eq!((piece.text.as_str(), piece.done), ("Hi", false));
        let last = parse_ndjson_line(r#"{"message":{"content":""},"done":true,"done_reason":"stop"}"#)
            .unwrap()
            .unwrap();
        assert!(last.done && last.text.is_empty());
        assert!(parse_ndjson_line("  ").unwrap().is_none());
        assert!(matches!(parse_ndjson_line("{oops"), Err(LlmError::BadResponse(_))));
        assert!(matches!(
            parse_ndjson_line(r#"{"error":"model unloaded"}"#),
            Err(LlmError::Server(m)) if m.contains("model unloaded")
        ));
    }
}
