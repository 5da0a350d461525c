//! An OpenAI-compatible model server on 127.0.0.1 for tests that need a real HTTP model:
//! it answers like the local provider (extraction records for the chunk in lrt's prompt,
//! an empty gleaning pass, a fixed summary, feature-hashed embeddings) after a chosen delay,
//! and classifies the requests it saw. Also a small corpus whose documents share entities.

use std::path::Path;
use std::time::Duration;

use futures_util::FutureExt;
use lrt::llm::local::LocalProvider;
use lrt::llm::{ModelProvider, Task};
use lrt::rag::prompts;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PEOPLE: [&str; 6] = [
    "Ada Lovelace",
    "Charles Babbage",
    "Grace Hopper",
    "Alan Turing",
    "Mary Somerville",
    "John von Neumann",
];
const PLACES: [&str; 5] = ["London", "Cambridge", "Princeton", "Manchester", "Arlington"];

/// `n` documents of one to three chunks sharing people and places, so that most entities and
/// relations are supported by several documents.
pub fn write_corpus(dir: &Path, n: usize, sentences: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for d in 0..n {
        let mut text = format!("# Notes {d}\n\n");
        for s in 0..sentences {
            let p = PEOPLE[(d + s) % PEOPLE.len()];
            let q = PEOPLE[(d * 3 + s + 1) % PEOPLE.len()];
            let place = PLACES[(d + 2 * s) % PLACES.len()];
            text.push_str(&format!(
                "In year {}, {p} met {q} in {place} to discuss engine number {s} of series {d}. ",
                1800 + s
            ));
        }
        std::fs::write(dir.join(format!("notes{d:02}.md")), text).unwrap();
    }
}

pub const DIM: usize = 16;

/// An OpenAI-compatible server answering like the local provider, after a delay.
struct Model {
    chat_delay: Duration,
    embed_delay: Duration,
}

impl Respond for Model {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path().ends_with("/embeddings") {
            return embeddings(&embedding_inputs(request)).set_delay(self.embed_delay);
        }
        ResponseTemplate::new(200)
            .set_delay(self.chat_delay)
            .set_body_json(completion(&chat_answer(request)))
    }
}

/// What the mock answers to a chat request: extraction records for the chunk in lrt's
/// extraction prompt, an empty gleaning pass, else a fixed summary.
pub fn chat_answer(request: &Request) -> String {
    match request_kind(request) {
        Kind::Extract(text) => LocalProvider::answer(&Task::Extract { text }),
        Kind::Glean => "<|COMPLETE|>".to_string(),
        Kind::Summary => "A merged description.".to_string(),
        Kind::Embed => unreachable!("not a chat request"),
    }
}

/// An OpenAI chat completion answering `answer` (no `usage`).
pub fn completion(answer: &str) -> Value {
    json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]
    })
}

/// The texts of an embedding request.
pub fn embedding_inputs(request: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// The local provider's embeddings of `texts`, as an OpenAI-compatible answer.
pub fn embeddings(texts: &[String]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(embedding_body(texts))
}

/// The body of [`embeddings`] (no `usage`).
pub fn embedding_body(texts: &[String]) -> Value {
    let vectors = LocalProvider::new(DIM).embed(texts).now_or_never().unwrap().unwrap();
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"index": i, "embedding": v}))
        .collect();
    json!({"data": data})
}

pub enum Kind {
    Extract(String),
    Glean,
    Summary,
    Embed,
}

pub fn request_kind(request: &Request) -> Kind {
    if request.url.path().ends_with("/embeddings") {
        return Kind::Embed;
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let messages = body["messages"].as_array().unwrap();
    let last = messages.last().unwrap()["content"].as_str().unwrap();
    let chunk = prompts::extraction_text(last);
    match chunk {
        Some(text) => Kind::Extract(text.to_string()),
        None if messages.len() > 2 => Kind::Glean,
        None => Kind::Summary,
    }
}

/// A started server answering chat calls after `chat_ms` and embeddings after `embed_ms`.
pub async fn server(chat_ms: u64, embed_ms: u64) -> MockServer {
    let server = MockServer::start().await;
    for route in ["/v1/chat/completions", "/v1/embeddings"] {
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(Model {
                chat_delay: Duration::from_millis(chat_ms),
                embed_delay: Duration::from_millis(embed_ms),
            })
            .mount(&server)
            .await;
    }
    server
}

/// The environment that points lrt's LLM and embedding bindings at `server`.
pub fn env(server: &MockServer) -> Vec<(&'static str, String)> {
    env_with_dim(server, DIM)
}

/// [`env`] for embeddings of `dim` dimensions.
pub fn env_with_dim(server: &MockServer, dim: usize) -> Vec<(&'static str, String)> {
    vec![
        ("LLM_BINDING", "openai".into()),
        ("LLM_BINDING_HOST", server.uri()),
        ("LLM_BINDING_API_KEY", "sk-test".into()),
        ("LLM_MODEL", "mock-chat".into()),
        ("EMBEDDING_BINDING", "openai".into()),
        ("EMBEDDING_BINDING_HOST", server.uri()),
        ("EMBEDDING_MODEL", "mock-embed".into()),
        ("EMBEDDING_DIM", dim.to_string()),
    ]
}

/// Embeddings that count how often each of `terms` occurs in each text (plus a small
/// constant, so no vector is zero): texts about different things are orthogonal, so every
/// search result is known.
pub fn term_embeddings(request: &Request, terms: &[&str]) -> ResponseTemplate {
    let data: Vec<Value> = embedding_inputs(request)
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let text = text.to_lowercase();
            let mut v: Vec<f32> = terms.iter().map(|t| text.matches(t).count() as f32).collect();
            v.push(0.01);
            json!({"index": i, "embedding": v})
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"data": data}))
}

/// (extraction and gleaning, summary, embedding) requests the server has seen.
pub async fn requests(server: &MockServer) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for r in server.received_requests().await.unwrap() {
        match request_kind(&r) {
            Kind::Extract(_) | Kind::Glean => counts.0 += 1,
            Kind::Summary => counts.1 += 1,
            Kind::Embed => counts.2 += 1,
        }
    }
    counts
}
