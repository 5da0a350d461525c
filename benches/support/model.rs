//! Pieces of the OpenAI-compatible mock models the benchmarks serve on 127.0.0.1.

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// The texts of an embedding request body.
pub fn embedding_texts(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

/// The answer to an embedding request: `vectors` as JSON arrays, or base64 of little-endian
/// f32 when the request asked for `encoding_format: base64`.
pub fn embeddings_response(body: &Value, vectors: Vec<Vec<f32>>) -> ResponseTemplate {
    let base64 = body["encoding_format"] == "base64";
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!({"index": i, "embedding": base64::engine::general_purpose::STANDARD.encode(bytes)})
            } else {
                json!({"index": i, "embedding": v})
            }
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"data": data}))
}

/// lrt's environment for a chat server and an embedding server of `dim` dimensions.
pub fn env(chat: &wiremock::MockServer, embeddings: &wiremock::MockServer, dim: usize) -> Vec<(&'static str, String)> {
    vec![
        ("LLM_BINDING", "openai".into()),
        ("LLM_BINDING_HOST", chat.uri()),
        ("LLM_BINDING_API_KEY", "sk-bench".into()),
        ("LLM_MODEL", "mock-chat".into()),
        ("EMBEDDING_BINDING", "openai".into()),
        ("EMBEDDING_BINDING_HOST", embeddings.uri()),
        ("EMBEDDING_MODEL", "mock-embed".into()),
        ("EMBEDDING_DIM", dim.to_string()),
    ]
}
