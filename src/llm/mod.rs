//! Model providers: chat completion (optionally streamed) and embeddings, behind one trait.
//!
//! Rerankers (`rerank`) reorder the retrieved chunks; they have their own settings.
//!
//! Three providers: `local` (the offline default: deterministic, rule-based, no model
//! server), `openai` (any OpenAI-compatible server) and `ollama`. The engine holds one
//! provider for chat and one for embeddings; they may be of different kinds.
//!
//! Requests carry both the chat `messages` (what a real model reads) and a structured
//! [`Task`] (what the `local` provider works from, since it has no model to read prompts).

pub mod http;
pub mod local;
pub mod ollama;
pub mod openai;
pub mod rerank;
pub mod usage;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::error::Error;

/// The speaker of a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What a chat request is for, with its inputs in structured form.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// First extraction pass over a chunk: answer with LightRAG records
    /// (`entity<|#|>…`, `relation<|#|>…`, `<|COMPLETE|>`).
    Extract { text: String },
    /// The gleaning pass: records that `previous` (the first answer) missed.
    Glean { text: String, previous: String },
    /// Merge the description fragments of an entity (`name`) or relation (`"(a, b)"`) into
    /// one description.
    Summarize {
        kind: SummaryKind,
        name: String,
        descriptions: Vec<String>,
    },
    /// Query keywords as JSON `{"high_level_keywords": [...], "low_level_keywords": [...]}`.
    Keywords { query: String },
    /// A grounded answer to `query` from the retrieved `chunks` (`(reference_id, content)`),
    /// citing `references` (`(reference_id, file_path)`); `keywords` are the query's keywords.
    /// Both lists are empty when nothing was retrieved (bypass mode).
    Answer {
        query: String,
        keywords: Vec<String>,
        chunks: Vec<(String, String)>,
        references: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryKind {
    Entity,
    Relation,
}

/// A chat completion request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// System message first (if any), then the history, then the user prompt.
    pub messages: Vec<Message>,
    pub task: Task,
    /// Ask for a JSON object (`response_format: {"type": "json_object"}` / Ollama `format: json`).
    pub json: bool,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

/// A completed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    /// The model stopped at the token limit (`finish_reason == "length"`); such answers are
    /// never cached.
    pub truncated: bool,
}

/// Streamed answer pieces, in order; the channel closes at the end.
pub type TextStream = tokio::sync::mpsc::Receiver<Result<String, LlmError>>;

/// Who answers, for LLM cache keys (never includes the API key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelIdentity {
    pub binding: String,
    pub model: String,
    pub host: Option<String>,
}

/// Why a model call failed. Every variant is an upstream failure of one document or query,
/// never of the knowledge base.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LlmError {
    /// 401/403: wrong or missing API key.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: wrong model name or base URL.
    #[error("{0}")]
    NotFound(String),
    /// 429 after all retries.
    #[error("{0}")]
    RateLimited(String),
    /// 5xx after all retries.
    #[error("{0}")]
    Server(String),
    #[error("{0}")]
    Timeout(String),
    /// The server could not be reached (after all retries).
    #[error("{0}")]
    Connection(String),
    /// The server answered something that is not the expected shape (bad JSON, wrong
    /// embedding count or dimension, empty answer).
    #[error("{0}")]
    BadResponse(String),
    /// The provider is misconfigured (missing model, bad URL, unsupported request).
    #[error("{0}")]
    Config(String),
}

impl From<LlmError> for Error {
    fn from(e: LlmError) -> Self {
        match e {
            LlmError::Config(m) => Error::Usage(m),
            other => Error::Upstream(other.to_string()),
        }
    }
}

/// A model provider. Implemented by each provider and by [`Provider`], which dispatches.
pub trait ModelProvider: Send + Sync {
    /// One chat completion.
    fn chat(&self, req: &ChatRequest) -> impl Future<Output = Result<ChatResponse, LlmError>> + Send;
    /// A streamed chat completion.
    fn chat_stream(&self, req: &ChatRequest) -> impl Future<Output = Result<TextStream, LlmError>> + Send;
    /// Embeds each text; one vector of `dim()` floats per text, in order.
    fn embed(&self, texts: &[String]) -> impl Future<Output = Result<Vec<Vec<f32>>, LlmError>> + Send;
    /// The embedding dimension this provider produces.
    fn dim(&self) -> usize;
    fn identity(&self) -> ModelIdentity;
    /// The cosine below which this embedder's hits say nothing, for a KB that does not set
    /// `cosine_threshold` itself. `None` keeps the configured default (0.2), which suits real
    /// embedding models; lexical hashing scores related texts far lower.
    fn default_cosine_threshold(&self) -> Option<f32> {
        None
    }
}

/// Which provider to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    Local,
    Openai,
    Ollama,
}

impl Binding {
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Local => "local",
            Binding::Openai => "openai",
            Binding::Ollama => "ollama",
        }
    }
}

impl std::str::FromStr for Binding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Binding::Local),
            "openai" => Ok(Binding::Openai),
            "ollama" => Ok(Binding::Ollama),
            other => Err(Error::Usage(format!(
                "unknown provider {other:?}; providers are local, openai, ollama"
            ))),
        }
    }
}

/// Everything needed to build a provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub binding: Binding,
    pub model: String,
    /// Base URL, e.g. `http://127.0.0.1:11434` or `https://api.openai.com/v1`.
    pub host: Option<String>,
    pub api_key: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt on 429/5xx/connection errors/timeouts.
    pub max_retries: u32,
    /// Initial backoff; doubled each retry, with jitter.
    pub backoff: Duration,
    /// Embedding dimension (embedding providers).
    pub dim: usize,
}

/// The three providers behind one type, so the engine needs no generics or boxing.
#[derive(Debug, Clone)]
pub enum Provider {
    Local(local::LocalProvider),
    Openai(openai::OpenAiProvider),
    Ollama(ollama::OllamaProvider),
}

impl Provider {
    pub fn new(config: &ProviderConfig) -> Result<Provider, LlmError> {
        Ok(match config.binding {
            Binding::Local => Provider::Local(local::LocalProvider::new(config.dim)),
            Binding::Openai => Provider::Openai(openai::OpenAiProvider::new(config)?),
            Binding::Ollama => Provider::Ollama(ollama::OllamaProvider::new(config)?),
        })
    }

    /// This provider with its tokens counted on `meter` (see [`usage`]); the `local`
    /// provider calls no model server and counts nothing.
    pub fn metered(mut self, meter: Arc<usage::TokenMeter>) -> Provider {
        match &mut self {
            Provider::Local(_) => {}
            Provider::Openai(p) => p.set_meter(meter),
            Provider::Ollama(p) => p.set_meter(meter),
        }
        self
    }

    /// The tokens counted on this provider's meter since the last take (zero when it has
    /// none). Providers sharing a meter share its counts: the first take empties it.
    pub fn take_tokens(&self) -> usage::TokenCounts {
        match self {
            Provider::Local(_) => usage::TokenCounts::default(),
            Provider::Openai(p) => p.take_tokens(),
            Provider::Ollama(p) => p.take_tokens(),
        }
    }
}

impl ModelProvider for Provider {
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        match self {
            Provider::Local(p) => p.chat(req).await,
            Provider::Openai(p) => p.chat(req).await,
            Provider::Ollama(p) => p.chat(req).await,
        }
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<TextStream, LlmError> {
        match self {
            Provider::Local(p) => p.chat_stream(req).await,
            Provider::Openai(p) => p.chat_stream(req).await,
            Provider::Ollama(p) => p.chat_stream(req).await,
        }
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        match self {
            Provider::Local(p) => p.embed(texts).await,
            Provider::Openai(p) => p.embed(texts).await,
            Provider::Ollama(p) => p.embed(texts).await,
        }
    }

    fn dim(&self) -> usize {
        match self {
            Provider::Local(p) => p.dim(),
            Provider::Openai(p) => p.dim(),
            Provider::Ollama(p) => p.dim(),
        }
    }

    fn identity(&self) -> ModelIdentity {
        match self {
            Provider::Local(p) => p.identity(),
            Provider::Openai(p) => p.identity(),
            Provider::Ollama(p) => p.identity(),
        }
    }

    fn default_cosine_threshold(&self) -> Option<f32> {
        match self {
            Provider::Local(p) => p.default_cosine_threshold(),
            Provider::Openai(p) => p.default_cosine_threshold(),
            Provider::Ollama(p) => p.default_cosine_threshold(),
        }
    }
}
