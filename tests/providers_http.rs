//! The HTTP providers (`openai`, `ollama`) against local mock servers: request shapes,
//! answers, streaming, retries and error mapping. Everything runs on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use lrt::llm::usage::TokenMeter;
use lrt::llm::{Binding, ChatRequest, LlmError, Message, ModelProvider, Provider, ProviderConfig, Task, TextStream};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "sk-test-secret-4242";
const MODEL: &str = "test-model";

fn config(binding: Binding, host: &str, api_key: Option<&str>) -> ProviderConfig {
    ProviderConfig {
        binding,
        model: MODEL.into(),
        host: Some(host.into()),
        api_key: api_key.map(Into::into),
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff: Duration::from_millis(5),
        dim: 3,
    }
}

fn provider(config: &ProviderConfig) -> Provider {
    Provider::new(config).expect("valid provider config")
}

fn request(json: bool) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("be brief"), Message::user("hello")],
        task: Task::Keywords { query: "hello".into() },
        json,
        temperature: Some(0.5),
        max_tokens: Some(64),
    }
}

fn messages_json() -> Value {
    json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}])
}

fn openai_answer(content: &str, finish_reason: &str) -> Value {
    json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}]})
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("request recording is on")
}

async fn collect(mut stream: TextStream) -> (Vec<String>, Result<(), LlmError>) {
    let mut pieces = Vec::new();
    while let Some(piece) = stream.recv().await {
        match piece {
            Ok(text) => pieces.push(text),
            Err(e) => return (pieces, Err(e)),
        }
    }
    (pieces, Ok(()))
}

/// Serves one HTTP response whose body goes out as separate chunks with `pause` between
/// them, so the client reads them separately (wiremock sends a body in one piece).
fn chunked_server(content_type: &'static str, pieces: Vec<&'static [u8]>, pause: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || -> std::io::Result<()> {
        let (mut conn, _) = listener.accept()?;
        read_request(&mut conn)?;
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n");
        conn.write_all(head.as_bytes())?;
        for piece in pieces {
            conn.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            conn.write_all(piece)?;
            conn.write_all(b"\r\n")?;
            conn.flush()?;
            std::thread::sleep(pause);
        }
        conn.write_all(b"0\r\n\r\n")
    });
    format!("http://{addr}")
}

/// Reads one request (head plus `content-length` body) so the reply is not cut by a reset.
fn read_request(conn: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = conn.read(&mut tmp)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            return Ok(());
        }
    }
}

/// A port with nothing listening on it.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------
// Chat and embeddings

#[tokio::test]
async fn openai_chat_sends_model_messages_json_format_and_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({
            "model": MODEL,
            "messages": messages_json(),
            "response_format": {"type": "json_object"},
            "temperature": 0.5,
            "max_tokens": 64,
            "stream": false,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(openai_answer(r#"{"a": 1}"#, "stop")))
        .expect(1)
        .mount(&server)
        .await;

    // A host without `/v1` gets it appended.
    let p = provider(&config(Binding::Openai, &server.uri(), Some(KEY)));
    let answer = p.chat(&request(true)).await.unwrap();
    assert_eq!(answer.text, r#"{"a": 1}"#);
    assert!(!answer.truncated);
    let identity = p.identity();
    assert_eq!((identity.binding.as_str(), identity.model.as_str()), ("openai", MODEL));
    assert_eq!(identity.host, Some(format!("{}/v1", server.uri())));
    assert!(!format!("{p:?}").contains(KEY), "Debug must not show the key");
}

#[tokio::test]
async fn openai_chat_without_key_or_json_sends_neither_and_reports_truncation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(openai_answer("cut sh", "length")))
        .mount(&server)
        .await;

    // A host already ending in `/v1` (with a trailing slash) is used as is.
    let p = provider(&config(Binding::Openai, &format!("{}/v1/", server.uri()), None));
    let answer = p.chat(&request(false)).await.unwrap();
    assert_eq!(answer.text, "cut sh");
    assert!(answer.truncated);

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].headers.get("authorization").is_none());
    let body: Value = sent[0].body_json().unwrap();
    assert!(body.get("response_format").is_none());
    assert_eq!(body["model"], MODEL);
}

#[tokio::test]
async fn openai_embed_orders_vectors_by_index() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({"model": MODEL, "input": ["a", "b"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.0, 1.0, 0.0]},
                {"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]},
            ],
        })))
        .expect(1)
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Openai, &server.uri(), Some(KEY)));
    let vectors = p.embed(&["a".into(), "b".into()]).await.unwrap();
    assert_eq!(vectors, vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]);
    assert_eq!(p.dim(), 3);
    assert!(p.embed(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn ollama_chat_sends_format_and_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .and(body_partial_json(json!({
            "model": MODEL,
            "messages": messages_json(),
            "stream": false,
            "format": "json",
            "options": {"temperature": 0.5, "num_predict": 64},
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": MODEL,
            "message": {"role": "assistant", "content": "{\"k\": [\"x\"]}"},
            "done": true,
            "done_reason": "length",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Ollama, &server.uri(), None));
    let answer = p.chat(&request(true)).await.unwrap();
    assert_eq!(answer.text, "{\"k\": [\"x\"]}");
    assert!(answer.truncated);
    assert!(requests(&server).await[0].headers.get("authorization").is_none());
    assert_eq!(p.identity().binding, "ollama");
    assert_eq!(p.identity().host, Some(server.uri()));
}

#[tokio::test]
async fn ollama_chat_without_json_sends_no_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message": {"role": "assistant", "content": "hi"}, "done": true, "done_reason": "stop",
        })))
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Ollama, &server.uri(), None));
    let answer = p.chat(&request(false)).await.unwrap();
    assert_eq!((answer.text.as_str(), answer.truncated), ("hi", false));
    let body: Value = requests(&server).await[0].body_json().unwrap();
    assert!(body.get("format").is_none());
}

#[tokio::test]
async fn ollama_embed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/embed"))
        .and(body_partial_json(json!({"model": MODEL, "input": ["a", "b"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "model": MODEL,
            "embeddings": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
        })))
        .expect(1)
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Ollama, &server.uri(), None));
    let vectors = p.embed(&["a".into(), "b".into()]).await.unwrap();
    assert_eq!(vectors, vec![vec![0.1, 0.2, 0.3], vec![0.4, 0.5, 0.6]]);
}

// ---------------------------------------------------------------------------------------
// Streaming

#[tokio::test]
async fn openai_stream_concatenates_sse_pieces() {
    let server = MockServer::start().await;
    let sse = [
        r#"data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}"#,
        ": keep-alive comment",
        r#"data: {"choices":[{"index":0,"delta":{"content":", world"},"finish_reason":null}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        "data: [DONE]",
    ]
    .map(|event| format!("{event}\n\n"))
    .concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"stream": true, "model": MODEL})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Openai, &server.uri(), Some(KEY)));
    let (pieces, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    end.unwrap();
    assert_eq!(pieces, ["Hello", ", world"]);
}

#[tokio::test]
async fn openai_stream_reassembles_events_split_across_chunks() {
    let host = chunked_server(
        "text/event-stream",
        vec![
            b"data: {\"choices\":[{\"delta\":{\"content\":\"H\\u00e9\"},\"finish_reason\":null}]}\n\ndata: {\"choi",
            b"ces\":[{\"delta\":{\"content\":\"llo w\xc3",
            b"\xa9rld\"},\"finish_reason\":null}]}\r\n",
            b"\r\ndata: [DONE]\n\n",
        ],
        Duration::from_millis(30),
    );
    let p = provider(&config(Binding::Openai, &host, None));
    let (pieces, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    end.unwrap();
    assert_eq!(pieces.concat(), "Héllo wérld");
}

#[tokio::test]
async fn ollama_stream_concatenates_ndjson_lines() {
    let server = MockServer::start().await;
    let ndjson = [
        r#"{"message":{"role":"assistant","content":"Hello"},"done":false}"#,
        r#"{"message":{"role":"assistant","content":", world"},"done":false}"#,
        r#"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#,
    ]
    .map(|line| format!("{line}\n"))
    .concat();
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(ndjson, "application/x-ndjson"))
        .expect(1)
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Ollama, &server.uri(), None));
    let (pieces, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    end.unwrap();
    assert_eq!(pieces.concat(), "Hello, world");
}

#[tokio::test]
async fn ollama_stream_reassembles_lines_split_across_chunks() {
    let host = chunked_server(
        "application/x-ndjson",
        vec![
            b"{\"message\":{\"content\":\"Hel\"},\"done\":false}\n{\"mess",
            b"age\":{\"content\":\"lo\"},\"done\":false}\n",
            b"{\"message\":{\"content\":\"\"},\"done\":true}",
        ],
        Duration::from_millis(30),
    );
    let p = provider(&config(Binding::Ollama, &host, None));
    let (pieces, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    end.unwrap();
    assert_eq!(pieces.concat(), "Hello");
}

#[tokio::test]
async fn stream_cut_before_the_end_is_an_error() {
    let server = MockServer::start().await;
    let sse = "data: {\"choices\":[{\"delta\":{\"content\":\"Hal\"},\"finish_reason\":null}]}\n\n";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Openai, &server.uri(), None));
    let (pieces, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    assert_eq!(pieces, ["Hal"]);
    assert!(matches!(end, Err(LlmError::BadResponse(_))), "{end:?}");
}

#[tokio::test]
async fn stalled_stream_times_out() {
    let host = chunked_server(
        "application/x-ndjson",
        vec![
            b"{\"message\":{\"content\":\"Hel\"},\"done\":false}\n",
            b"{\"done\":true}\n",
        ],
        Duration::from_secs(2),
    );
    let mut cfg = config(Binding::Ollama, &host, None);
    cfg.timeout = Duration::from_millis(200);
    let started = Instant::now();
    let (pieces, end) = collect(provider(&cfg).chat_stream(&request(false)).await.unwrap()).await;
    assert_eq!(pieces, ["Hel"]);
    assert!(matches!(end, Err(LlmError::Timeout(_))), "{end:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_trickling_stream_is_bounded_by_the_timeout_as_a_whole() {
    // A piece every 100 ms never trips a per-read timeout of 500 ms; 200 pieces last 20 s.
    let piece: &'static [u8] = b"{\"message\":{\"content\":\".\"},\"done\":false}\n";
    let host = chunked_server("application/x-ndjson", vec![piece; 200], Duration::from_millis(100));
    let mut cfg = config(Binding::Ollama, &host, None);
    cfg.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let (pieces, end) = collect(provider(&cfg).chat_stream(&request(false)).await.unwrap()).await;
    assert!(!pieces.is_empty());
    assert!(
        matches!(&end, Err(LlmError::Timeout(m)) if m.contains("LLM_TIMEOUT")),
        "{end:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------
// Retries and errors

#[tokio::test]
async fn rate_limit_then_success_is_retried_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(openai_answer("ok", "stop")))
        .mount(&server)
        .await;

    // A long backoff: only the `Retry-After: 0` keeps this test fast.
    let mut cfg = config(Binding::Openai, &server.uri(), None);
    cfg.backoff = Duration::from_secs(20);
    let started = Instant::now();
    let answer = provider(&cfg).chat(&request(false)).await.unwrap();
    assert_eq!(answer.text, "ok");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn rate_limit_on_every_attempt_is_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"message": "slow down"}})))
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Ollama, &server.uri(), None));
    let err = p.embed(&["a".into()]).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::RateLimited(m) if m.contains("slow down")),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "boom"}})))
        .mount(&server)
        .await;

    let cfg = config(Binding::Openai, &server.uri(), Some(KEY));
    let err = provider(&cfg).chat(&request(false)).await.unwrap_err();
    let LlmError::Server(message) = &err else {
        panic!("expected Server, got {err:?}");
    };
    assert!(message.contains("boom") && message.contains("3 attempts"), "{message}");
    assert_eq!(requests(&server).await.len(), cfg.max_retries as usize + 1);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_hides_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}})),
        )
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Openai, &server.uri(), Some(KEY)));
    let err = p.chat(&request(false)).await.unwrap_err();
    let LlmError::Unauthorized(message) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert!(!message.contains(KEY), "{message}");
    assert!(message.contains("LLM_BINDING_API_KEY"), "{message}");
    assert_eq!(requests(&server).await.len(), 1);

    // Embedding calls point at the embedding key.
    let err = p.embed(&["a".into()]).await.unwrap_err();
    assert!(err.to_string().contains("EMBEDDING_BINDING_API_KEY"), "{err}");
    assert!(!err.to_string().contains(KEY));
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn not_found_names_the_model_and_host() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "model 'test-model' not found, try pulling it first"})),
        )
        .mount(&server)
        .await;

    let p = provider(&config(Binding::Ollama, &server.uri(), None));
    let err = p.chat(&request(false)).await.unwrap_err();
    let LlmError::NotFound(message) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    for needle in [
        MODEL,
        server.uri().as_str(),
        "LLM_MODEL",
        "LLM_BINDING_HOST",
        "try pulling it",
    ] {
        assert!(message.contains(needle), "{needle:?} missing from {message}");
    }
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn other_client_errors_carry_the_server_message_without_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "response_format is not supported by this model", "type": "invalid_request_error"}}),
        ))
        .mount(&server)
        .await;

    let err = provider(&config(Binding::Openai, &server.uri(), None))
        .chat(&request(true))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::BadResponse(m) if m.contains("response_format is not supported")),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(openai_answer("late", "stop"))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;

    let mut cfg = config(Binding::Openai, &server.uri(), None);
    cfg.timeout = Duration::from_millis(150);
    cfg.max_retries = 1;
    let started = Instant::now();
    let err = provider(&cfg).chat(&request(false)).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Timeout(m) if m.contains("LLM_TIMEOUT")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.to_string().contains("not retried"), "{err}");
    // A hung server costs one timeout, not one per retry.
    assert_eq!(requests(&server).await.len(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn malformed_json_is_a_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"choices\": [", "application/json"))
        .mount(&server)
        .await;

    for binding in [Binding::Openai, Binding::Ollama] {
        let p = provider(&config(binding, &server.uri(), None));
        let err = p.chat(&request(false)).await.unwrap_err();
        assert!(matches!(err, LlmError::BadResponse(_)), "{binding:?}: {err:?}");
        let err = p.embed(&["a".into()]).await.unwrap_err();
        assert!(matches!(err, LlmError::BadResponse(_)), "{binding:?}: {err:?}");
    }
}

#[tokio::test]
async fn wrong_embedding_dimension_is_a_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/embed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"embeddings": [[0.1, 0.2, 0.3, 0.4]]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"index": 0, "embedding": [0.1]}]})))
        .mount(&server)
        .await;

    let ollama = provider(&config(Binding::Ollama, &server.uri(), None));
    let err = ollama.embed(&["a".into()]).await.unwrap_err();
    let LlmError::BadResponse(message) = &err else {
        panic!("expected BadResponse, got {err:?}");
    };
    assert!(
        message.contains('4') && message.contains("EMBEDDING_DIM is 3"),
        "{message}"
    );

    let openai = provider(&config(Binding::Openai, &server.uri(), None));
    let err = openai.embed(&["a".into()]).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::BadResponse(m) if m.contains("1-dimensional")),
        "{err:?}"
    );
    // One vector for two texts.
    let err = ollama.embed(&["a".into(), "b".into()]).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::BadResponse(m) if m.contains("1 vectors for 2 texts")),
        "{err:?}"
    );
}

#[tokio::test]
async fn closed_port_is_a_connection_error() {
    let host = format!("http://127.0.0.1:{}", closed_port());
    for binding in [Binding::Openai, Binding::Ollama] {
        let mut cfg = config(binding, &host, Some(KEY));
        cfg.max_retries = 1;
        let err = provider(&cfg).chat(&request(false)).await.unwrap_err();
        let LlmError::Connection(message) = &err else {
            panic!("expected Connection, got {err:?}");
        };
        assert!(
            message.contains("127.0.0.1") && message.contains("LLM_BINDING_HOST"),
            "{message}"
        );
        assert!(!message.contains(KEY));
    }
}

#[test]
fn bad_configuration_is_a_config_error() {
    let mut cfg = config(Binding::Openai, "localhost:8000", None);
    assert!(matches!(Provider::new(&cfg), Err(LlmError::Config(_))));
    cfg.host = Some("http://localhost:8000".into());
    cfg.model = " ".into();
    assert!(matches!(Provider::new(&cfg), Err(LlmError::Config(_))));
    // Unset hosts fall back to LightRAG's defaults.
    cfg.model = MODEL.into();
    cfg.host = None;
    assert_eq!(
        provider(&cfg).identity().host.as_deref(),
        Some("https://api.openai.com/v1")
    );
    cfg.binding = Binding::Ollama;
    assert_eq!(
        provider(&cfg).identity().host.as_deref(),
        Some("http://localhost:11434")
    );
}

// ---------------------------------------------------------------------------------------
// Token metering

fn metered(config: &ProviderConfig) -> (Provider, std::sync::Arc<TokenMeter>) {
    let meter = std::sync::Arc::new(TokenMeter::default());
    (provider(config).metered(meter.clone()), meter)
}

fn counted(text: &str) -> u64 {
    lrt::rag::tokenizer::Tokenizer::global().count(text) as u64
}

/// The tokens of `request(false)`'s messages as lrt's tokenizer counts them.
fn prompt_tokens() -> u64 {
    counted("be brief") + counted("hello")
}

#[tokio::test]
async fn ollama_reports_tokens_in_its_counts_and_streams() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .and(body_partial_json(json!({"stream": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message": {"role": "assistant", "content": "Hi"}, "done": true,
            "prompt_eval_count": 26, "eval_count": 4,
        })))
        .mount(&server)
        .await;
    let ndjson = [
        r#"{"message":{"content":"Hel"},"done":false}"#,
        r#"{"message":{"content":"lo"},"done":true,"prompt_eval_count":11,"eval_count":2}"#,
    ]
    .map(|line| format!("{line}\n"))
    .concat();
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(ndjson, "application/x-ndjson"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/embed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "embeddings": [[0.1, 0.2, 0.3]], "prompt_eval_count": 9,
        })))
        .mount(&server)
        .await;

    let (p, meter) = metered(&config(Binding::Ollama, &server.uri(), None));
    p.chat(&request(false)).await.unwrap();
    let (_, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    end.unwrap();
    p.embed(&["a".into()]).await.unwrap();
    let spent = meter.take();
    assert_eq!(
        (spent.prompt_tokens, spent.completion_tokens, spent.embedding_tokens),
        (26 + 11, 4 + 2, 9)
    );
}

#[tokio::test]
async fn tokens_are_counted_when_the_server_reports_none() {
    let server = MockServer::start().await;
    let sse = [
        r#"data: {"choices":[{"delta":{"content":"Hello"},"finish_reason":null}]}"#,
        r#"data: {"choices":[{"delta":{"content":", world"},"finish_reason":"stop"}]}"#,
        "data: [DONE]",
    ]
    .map(|event| format!("{event}\n\n"))
    .concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"stream": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(openai_answer("Hi there", "stop")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"index": 0, "embedding": [0.1, 0.2, 0.3]}, {"index": 1, "embedding": [0.3, 0.2, 0.1]}],
        })))
        .mount(&server)
        .await;

    let (p, meter) = metered(&config(Binding::Openai, &server.uri(), Some(KEY)));
    p.chat(&request(false)).await.unwrap();
    let (_, end) = collect(p.chat_stream(&request(false)).await.unwrap()).await;
    end.unwrap();
    let texts = ["a first text".to_string(), "and a second one".to_string()];
    p.embed(&texts).await.unwrap();
    let spent = meter.take();
    assert_eq!(spent.prompt_tokens, 2 * prompt_tokens());
    assert_eq!(spent.completion_tokens, counted("Hi there") + counted("Hello, world"));
    assert_eq!(spent.embedding_tokens, counted(&texts[0]) + counted(&texts[1]));
    // Taking the counts empties the meter.
    assert!(meter.take().is_zero());
}
