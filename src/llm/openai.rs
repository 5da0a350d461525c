//! The `openai` provider: any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, LM Studio,
//! LiteLLM, …) through `/chat/completions` and `/embeddings`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{self, HttpClient, Purpose, StreamEvent};
use super::{ChatRequest, ChatResponse, LlmError, ModelIdentity, ModelProvider, ProviderConfig, TextStream};

/// LightRAG's default `LLM_BINDING_HOST` for this binding.
pub const DEFAULT_HOST: &str = "https://api.openai.com/v1";

#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    http: HttpClient,
    /// The API root, always ending in `/v1`.
    base: String,
    dim: usize,
}

impl OpenAiProvider {
    /// Checks the configuration; makes no request. Hosts are usually given with `/v1`
    /// (`http://localhost:8000/v1`) but often without, so `/v1` is appended when missing.
    pub fn new(config: &ProviderConfig) -> Result<Self, LlmError> {
        let base = http::base_url(config.host.as_deref(), DEFAULT_HOST)?;
        let base = if base.ends_with("/v1") {
            base
        } else {
            format!("{base}/v1")
        };
        Ok(OpenAiProvider {
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
        if let Some(temperature) = req.temperature {
            body["temperature"] = json!(temperature);
        }
        if let Some(max_tokens) = req.max_tokens {
            body["max_tokens"] = json!(max_tokens);
        }
        if req.json {
            body["response_format"] = json!({"type": "json_object"});
        }
        body
    }
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// The `usage` object of chat completions and embeddings (embeddings have no
/// `completion_tokens`).
#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl Usage {
    fn pair(&self) -> (u64, u64) {
        (self.prompt_tokens, self.completion_tokens)
    }
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Embeddings {
    data: Vec<EmbeddingItem>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    /// Position of the input; some compatible servers omit it and keep the input order.
    #[serde(default)]
    index: Option<usize>,
    embedding: EmbeddingData,
}

/// We ask for `encoding_format: "base64"` (little-endian f32s, as upstream's binding does):
/// a quarter of the bytes of a JSON float list and no float parsing. Servers that ignore the
/// option answer with a plain list, which is accepted too.
/// (Base64 first: serde tries variants in order, and a failed list attempt on a long string
/// formats the whole string into an error message.)
#[derive(Deserialize)]
#[serde(untagged)]
enum EmbeddingData {
    Base64(String),
    Floats(Vec<f32>),
}

impl EmbeddingData {
    fn into_vector(self) -> Result<Vec<f32>, LlmError> {
        use base64::Engine as _;
        match self {
            EmbeddingData::Floats(v) => Ok(v),
            EmbeddingData::Base64(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .map_err(|e| LlmError::BadResponse(format!("an embedding is not valid base64: {e}")))?;
                if bytes.len() % 4 != 0 {
                    return Err(LlmError::BadResponse(format!(
                        "a base64 embedding has {} bytes, not a whole number of f32 values",
                        bytes.len()
                    )));
                }
                Ok(bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect())
            }
        }
    }
}

impl ModelProvider for OpenAiProvider {
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let url = format!("{}/chat/completions", self.base);
        let completion: Completion = self
            .http
            .post_json(Purpose::Chat, &url, &self.chat_body(req, false))
            .await?;
        let reported = completion.usage.as_ref().map(Usage::pair);
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(LlmError::BadResponse(format!(
                "the answer from {} has no choices",
                self.http.host()
            )));
        };
        let truncated = choice.finish_reason.as_deref() == Some("length");
        let text = choice.message.content.unwrap_or_default();
        if text.trim().is_empty() && !truncated {
            return Err(LlmError::BadResponse(format!(
                "the model at {} returned an empty answer",
                self.http.host()
            )));
        }
        self.http.record_chat(&req.messages, reported, &text);
        Ok(ChatResponse { text, truncated })
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<TextStream, LlmError> {
        let url = format!("{}/chat/completions", self.base);
        let resp = self
            .http
            .send_with_retry(Purpose::Chat, &url, &self.chat_body(req, true))
            .await?;
        Ok(self
            .http
            .spawn_stream(Purpose::Chat, &req.messages, resp, parse_sse_line))
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let url = format!("{}/embeddings", self.base);
        let body = json!({"model": self.http.model(), "input": texts, "encoding_format": "base64"});
        let answer: Embeddings = self.http.post_json(Purpose::Embed, &url, &body).await?;
        self.http
            .record_embed(texts, answer.usage.as_ref().map(|u| u.prompt_tokens));
        let mut items: Vec<(usize, Vec<f32>)> = answer
            .data
            .into_iter()
            .enumerate()
            .map(|(position, item)| Ok((item.index.unwrap_or(position), item.embedding.into_vector()?)))
            .collect::<Result<_, LlmError>>()?;
        items.sort_by_key(|(index, _)| *index);
        if items.iter().enumerate().any(|(i, (index, _))| i != *index) {
            return Err(LlmError::BadResponse(format!(
                "the embedding indexes from {} do not match the {} inputs",
                self.http.host(),
                texts.len()
            )));
        }
        http::check_embeddings(items.into_iter().map(|(_, v)| v).collect(), texts.len(), self.dim)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn identity(&self) -> ModelIdentity {
        ModelIdentity {
            binding: "openai".into(),
            model: self.http.model().to_string(),
            host: Some(self.http.host().to_string()),
        }
    }
}

/// One line of a server-sent-events stream: `data: {json}` carries
/// `choices[0].delta.content`; `data: [DONE]` ends it; comments, `event:` lines and blank
/// separators carry nothing.
fn parse_sse_line(line: &str) -> Result<Option<StreamEvent>, LlmError> {
    let Some(data) = line.strip_prefix("data:").map(str::trim) else {
        return Ok(None);
    };
    if data == "[DONE]" {
        return Ok(Some(StreamEvent {
            text: String::new(),
            done: true,
            usage: None,
        }));
    }
    let event: Value = serde_json::from_str(data)
        .map_err(|e| LlmError::BadResponse(format!("unreadable stream event ({e}): {data:.200}")))?;
    if !event["error"].is_null() {
        return Err(LlmError::Server(format!(
            "the server failed mid-stream: {}",
            http::server_message(data)
        )));
    }
    let choice = &event["choices"][0];
    Ok(Some(StreamEvent {
        text: choice["delta"]["content"].as_str().unwrap_or_default().to_string(),
        // Some servers close without `[DONE]`; a finish reason already means the end.
        done: choice["finish_reason"].is_string(),
        // Servers that report usage in a stream without being asked put it beside the
        // finish reason.
        usage: event["usage"]["prompt_tokens"]
            .as_u64()
            .map(|p| (p, event["usage"]["completion_tokens"].as_u64().unwrap_or(0))),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_as_base64_or_floats() {
        use base64::Engine as _;
        let bytes: Vec<u8> = [1.5f32, -0.25].iter().flat_map(|x| x.to_le_bytes()).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        let item: EmbeddingItem = serde_json::from_value(json!({"index": 0, "embedding": text})).unwrap();
        assert_eq!(item.embedding.into_vector().unwrap(), vec![1.5, -0.25]);
        let item: EmbeddingItem = serde_json::from_value(json!({"embedding": [0.5, 2.0]})).unwrap();
        assert_eq!(item.embedding.into_vector().unwrap(), vec![0.5, 2.0]);
        let bad: EmbeddingItem = serde_json::from_value(json!({"embedding": "AAAA!"})).unwrap();
        assert!(matches!(bad.embedding.into_vector(), Err(LlmError::BadResponse(_))));
        let short: EmbeddingItem = serde_json::from_value(json!({"embedding": "AAA="})).unwrap();
        assert!(matches!(short.embedding.into_vector(), Err(LlmError::BadResponse(_))));
    }

    #[test]
    fn sse_lines() {
        let piece = parse_sse_line(r#"data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#)
            .unwrap()
            .unwrap();
        assert_eq!((piece.text.as_str(), piece.done), ("Hi", false));
        let last = parse_sse_line(r#"data:{"choices":[{"delta":{},"finish_reason":"stop"}]}"#)
            .unwrap()
            .unwrap();
        assert_eq!((last.text.as_str(), last.done), ("", true));
        assert!(parse_sse_line("data: [DONE]").unwrap().unwrap().done);
        assert!(parse_sse_line(": keep-alive").unwrap().is_none());
        assert!(parse_sse_line("").unwrap().is_none());
        assert!(matches!(parse_sse_line("data: {oops"), Err(LlmError::BadResponse(_))));
        assert!(matches!(
            parse_sse_line(r#"data: {"error":{"message":"overloaded"}}"#),
            Err(LlmError::Server(m)) if m.contains("overloaded")
        ));
    }
}
