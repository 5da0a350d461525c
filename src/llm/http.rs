//! HTTP machinery shared by the remote providers (`openai`, `ollama`): one client per
//! provider, retries with exponential backoff, streamed-line reading, and error messages that
//! name the setting to fix.
//!
//! The API key is sent only as a header. It never appears in an error or in `Debug` output,
//! and any server message that echoes it is redacted.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

use super::usage::{self, TokenCounts, TokenMeter};
use super::{LlmError, Message, ProviderConfig, TextStream};

/// The longest wait a `Retry-After` header can impose, so a hostile or confused server cannot
/// stall a job for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The longest computed backoff before jitter.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How much of a server's error body goes into a message.
const MAX_DETAIL_CHARS: usize = 300;
/// Streamed pieces buffered ahead of a slow reader.
const STREAM_BUFFER: usize = 64;

/// What a request is for. The same provider type serves chat and embeddings, so this picks
/// which settings an error message points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Chat,
    Embed,
    Rerank,
    /// The external document parser (Docling), see `crate::extract::docling`.
    Parser,
}

/// The settings (environment names) behind one purpose.
struct Vars {
    model: &'static str,
    host: &'static str,
    key: &'static str,
    timeout: &'static str,
    retries: &'static str,
    concurrency: &'static str,
}

impl Purpose {
    fn vars(self) -> Vars {
        match self {
            Purpose::Chat => Vars {
                model: "LLM_MODEL",
                host: "LLM_BINDING_HOST",
                key: "LLM_BINDING_API_KEY",
                timeout: "LLM_TIMEOUT",
                retries: "LRT_LLM_MAX_RETRIES",
                concurrency: "MAX_ASYNC",
            },
            Purpose::Embed => Vars {
                model: "EMBEDDING_MODEL",
                host: "EMBEDDING_BINDING_HOST",
                key: "EMBEDDING_BINDING_API_KEY",
                timeout: "EMBEDDING_TIMEOUT",
                retries: "LRT_EMBEDDING_MAX_RETRIES",
                concurrency: "EMBEDDING_FUNC_MAX_ASYNC",
            },
            Purpose::Rerank => Vars {
                model: "RERANK_MODEL",
                host: "RERANK_BINDING_HOST",
                key: "RERANK_BINDING_API_KEY",
                timeout: "RERANK_TIMEOUT",
                retries: "LRT_RERANK_MAX_RETRIES",
                concurrency: "MAX_ASYNC_RERANK",
            },
            Purpose::Parser => Vars {
                model: "LRT_PARSER",
                host: "DOCLING_ENDPOINT",
                key: "DOCLING_API_KEY",
                timeout: "DOCLING_TIMEOUT",
                retries: "LRT_DOCLING_MAX_RETRIES",
                concurrency: "MAX_PARALLEL_INSERT",
            },
        }
    }
}

/// Checks and normalizes a base URL: `default` when unset, no trailing slash, http(s) only.
pub(crate) fn base_url(host: Option<&str>, default: &str) -> Result<String, LlmError> {
    checked_url(host, default, "LLM_BINDING_HOST / EMBEDDING_BINDING_HOST")
}

/// [`base_url`] for the settings named `vars`, which an error message points at.
pub(crate) fn checked_url(host: Option<&str>, default: &str, vars: &str) -> Result<String, LlmError> {
    let raw = host.map(str::trim).filter(|h| !h.is_empty()).unwrap_or(default);
    let base = raw.trim_end_matches('/');
    let bad = |why: &str| {
        LlmError::Config(format!(
            "invalid host URL '{}' ({why}): check {vars}",
            display_url(base)
        ))
    };
    let url = Url::parse(base).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("expected http:// or https:// and a host name"));
    }
    Ok(base.to_string())
}

/// A URL without any `user:password@` part, for messages and cache identities.
pub(crate) fn display_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_string()
        }
        _ => url.to_string(),
    }
}

/// A reqwest client plus what is needed to retry requests and explain failures.
#[derive(Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    api_key: Option<String>,
    /// The base URL as shown in messages (no credentials).
    host: String,
    model: String,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    /// The binding's name, the `provider` label of the model-call metrics.
    binding: &'static str,
    /// Where this provider's tokens are counted (set by [`Provider::metered`]).
    ///
    /// [`Provider::metered`]: super::Provider::metered
    meter: Option<Arc<TokenMeter>>,
}

/// Manual, so the API key can never reach a log through `{:?}`.
impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("host", &self.host)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "(set)"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// One failed attempt: whether another attempt may help, and how long the server asked us
/// to wait.
enum Failure {
    Retry(LlmError, Option<Duration>),
    Fatal(LlmError),
}

impl HttpClient {
    /// `host` is the provider's normalized base URL (see [`base_url`]).
    pub(crate) fn new(config: &ProviderConfig, host: &str) -> Result<Self, LlmError> {
        if config.model.trim().is_empty() {
            return Err(LlmError::Config(format!(
                "no model set for the {} provider: set LLM_MODEL / EMBEDDING_MODEL",
                config.binding.as_str()
            )));
        }
        Self::with_limits(
            config.binding.as_str(),
            &config.model,
            config.api_key.as_deref(),
            host,
            config.timeout,
            config.max_retries,
            config.backoff,
        )
    }

    /// A client for `binding`'s `model` at `host` (normalized, see [`checked_url`]) under these limits;
    /// `timeout` zero means no limit.
    pub(crate) fn with_limits(
        binding: &'static str,
        model: &str,
        api_key: Option<&str>,
        host: &str,
        timeout: Duration,
        max_retries: u32,
        backoff: Duration,
    ) -> Result<Self, LlmError> {
        let mut builder = reqwest::Client::builder();
        // Zero means "no limit". The connect and read limits also catch a stalled stream,
        // which a total deadline would cut off mid-answer.
        if !timeout.is_zero() {
            builder = builder.connect_timeout(timeout).read_timeout(timeout);
        }
        let client = builder
            .build()
            .map_err(|e| LlmError::Config(format!("cannot set up the HTTP client: {}", root_cause(&e))))?;
        Ok(HttpClient {
            client,
            api_key: api_key.filter(|k| !k.is_empty()).map(str::to_string),
            host: display_url(host),
            model: model.to_string(),
            timeout,
            max_retries,
            backoff,
            binding,
            meter: None,
        })
    }

    /// Counts this client's tokens on `meter` from now on.
    pub(crate) fn set_meter(&mut self, meter: Arc<TokenMeter>) {
        self.meter = Some(meter);
    }

    /// The tokens counted on this client's meter since the last take (none without one).
    pub(crate) fn take_tokens(&self) -> TokenCounts {
        self.meter.as_ref().map(|m| m.take()).unwrap_or_default()
    }

    /// Records a finished chat call: the server's `(prompt, completion)` usage when it gave
    /// one, else the tokenizer's count of `messages` and `answer`.
    pub(crate) fn record_chat(&self, messages: &[Message], reported: Option<(u64, u64)>, answer: &str) {
        crate::metrics::model_call(self.binding, "chat");
        let (prompt, completion) = match reported {
            Some(pair) => pair,
            None if self.meter.is_some() => (usage::count_prompt(messages), usage::count_text(answer)),
            None => return,
        };
        self.record(TokenCounts {
            prompt_tokens: prompt,
            completion_tokens: completion,
            embedding_tokens: 0,
        });
    }

    /// Records a finished embedding call: the server's token count, else the tokenizer's.
    pub(crate) fn record_embed(&self, texts: &[String], reported: Option<u64>) {
        crate::metrics::model_call(self.binding, "embed");
        let tokens = match reported {
            Some(n) => n,
            None if self.meter.is_some() => texts.iter().map(|t| usage::count_text(t)).sum(),
            None => return,
        };
        self.record(TokenCounts {
            embedding_tokens: tokens,
            ..Default::default()
        });
    }

    fn record(&self, counts: TokenCounts) {
        crate::metrics::model_tokens(self.binding, counts);
        if let Some(meter) = &self.meter {
            meter.add(counts);
        }
    }

    /// Counts a failed call in the metrics.
    pub(crate) fn record_error(&self, purpose: Purpose) {
        let kind = match purpose {
            Purpose::Chat => "chat",
            Purpose::Embed => "embed",
            Purpose::Rerank => "rerank",
            Purpose::Parser => "parser",
        };
        crate::metrics::model_error(self.binding, kind);
    }

    /// The base URL as shown in messages and identities.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    /// POSTs `body`, retrying as needed, and parses the whole answer as `T`.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        purpose: Purpose,
        url: &str,
        body: &Value,
    ) -> Result<T, LlmError> {
        let bytes = self
            .retry(purpose, move || async move {
                let resp = self.send_once(purpose, url, body, true).await?;
                resp.bytes().await.map_err(|e| self.transport_failure(purpose, &e))
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            self.record_error(purpose);
            LlmError::BadResponse(format!(
                "unexpected answer from {} ({e}): {}",
                self.host,
                self.redact(&snippet(&String::from_utf8_lossy(&bytes)))
            ))
        })
    }

    /// POSTs `body` and returns the response once its status is a success, retrying on 429,
    /// 5xx, connection errors and timeouts. The body is left unread, for streaming.
    pub(crate) async fn send_with_retry(
        &self,
        purpose: Purpose,
        url: &str,
        body: &Value,
    ) -> Result<Response, LlmError> {
        self.retry(purpose, move || self.send_once(purpose, url, body, false))
            .await
    }

    /// POSTs the multipart form `form` makes (once per attempt: a form is consumed by its
    /// request) and returns the response once its status is a success, retrying as
    /// [`send_with_retry`](Self::send_with_retry) does. The whole exchange is bounded by the
    /// timeout. The body is left unread, so the caller can cap what it reads.
    pub(crate) async fn post_multipart(
        &self,
        purpose: Purpose,
        url: &str,
        form: impl Fn() -> reqwest::multipart::Form,
    ) -> Result<Response, LlmError> {
        self.retry(purpose, || {
            self.send_request(purpose, self.client.post(url).multipart(form()), true)
        })
        .await
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are used up; a call
    /// that fails for good is counted in the metrics.
    async fn retry<T, F, Fut>(&self, purpose: Purpose, attempt: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let result = self.retry_until_done(purpose, attempt).await;
        if result.is_err() {
            self.record_error(purpose);
        }
        result
    }

    async fn retry_until_done<T, F, Fut>(&self, purpose: Purpose, mut attempt: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut retries = 0;
        loop {
            let (error, retry_after) = match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry(error, retry_after)) => (error, retry_after),
            };
            // A server that let the whole timeout pass is hung, not briefly overloaded: trying
            // again would multiply the wait (3 retries of 240 s cost 16 minutes per call).
            if matches!(error, LlmError::Timeout(_)) {
                return Err(with_note(error, " (a timed-out call is not retried)"));
            }
            if retries >= self.max_retries {
                return Err(if retries == 0 {
                    error
                } else {
                    let note = format!(
                        " (gave up after {} attempts; retries are set by {})",
                        retries + 1,
                        purpose.vars().retries
                    );
                    with_note(error, &note)
                });
            }
            let delay = match retry_after {
                Some(wait) => wait.min(MAX_RETRY_AFTER),
                None => backoff_delay(self.backoff, retries),
            };
            tokio::time::sleep(delay).await;
            retries += 1;
        }
    }

    /// One request. `deadline` bounds the whole exchange by the timeout (non-streamed
    /// answers); streams rely on the client's per-read timeout instead.
    async fn send_once(&self, purpose: Purpose, url: &str, body: &Value, deadline: bool) -> Result<Response, Failure> {
        self.send_request(purpose, self.client.post(url).json(body), deadline)
            .await
    }

    /// Sends one prepared request with the API key (docling-serve reads it from `X-Api-Key`,
    /// the others from a bearer token) and maps a failure.
    async fn send_request(
        &self,
        purpose: Purpose,
        mut request: reqwest::RequestBuilder,
        deadline: bool,
    ) -> Result<Response, Failure> {
        if let Some(key) = &self.api_key {
            request = match purpose {
                Purpose::Parser => request.header("X-Api-Key", key.as_str()),
                _ => request.bearer_auth(key),
            };
        }
        if deadline && !self.timeout.is_zero() {
            request = request.timeout(self.timeout);
        }
        let resp = request.send().await.map_err(|e| self.transport_failure(purpose, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = retry_after(&resp);
        // A failure to read the error body only loses detail; the status says enough.
        let text = resp.text().await.unwrap_or_default();
        Err(self.status_failure(purpose, status, &server_message(&text), retry_after))
    }

    /// Maps an unsuccessful status to an error that says what to do.
    fn status_failure(
        &self,
        purpose: Purpose,
        status: StatusCode,
        detail: &str,
        retry_after: Option<Duration>,
    ) -> Failure {
        let vars = purpose.vars();
        let host = &self.host;
        let code = status.as_u16();
        let detail = self.redact(detail);
        match code {
            401 | 403 if self.api_key.is_none() => Failure::Fatal(LlmError::Unauthorized(format!(
                "the server at {host} requires an API key (HTTP {code}: {detail}): set {}",
                vars.key
            ))),
            401 | 403 => Failure::Fatal(LlmError::Unauthorized(format!(
                "the server at {host} rejected the API key (HTTP {code}: {detail}): check {}",
                vars.key
            ))),
            404 => Failure::Fatal(LlmError::NotFound(format!(
                "model '{}' or URL not found at {host} (HTTP 404: {detail}): check {} / {}",
                self.model, vars.model, vars.host
            ))),
            429 => Failure::Retry(
                LlmError::RateLimited(format!(
                    "rate limited by {host} (HTTP 429: {detail}): lower {} or try again later",
                    vars.concurrency
                )),
                retry_after,
            ),
            500..=599 => Failure::Retry(
                LlmError::Server(format!("the server at {host} failed (HTTP {code}: {detail})")),
                retry_after,
            ),
            _ => Failure::Fatal(LlmError::BadResponse(format!(
                "the server at {host} refused the request (HTTP {code}: {detail})"
            ))),
        }
    }

    /// Maps a transport error (no usable HTTP answer). Both kinds are worth retrying.
    fn transport_failure(&self, purpose: Purpose, err: &reqwest::Error) -> Failure {
        Failure::Retry(self.transport_error(purpose, err), None)
    }

    fn transport_error(&self, purpose: Purpose, err: &reqwest::Error) -> LlmError {
        let vars = purpose.vars();
        if err.is_timeout() {
            LlmError::Timeout(format!(
                "no answer from {} within {:?}: raise {} or check the server",
                self.host, self.timeout, vars.timeout
            ))
        } else if err.is_connect() {
            LlmError::Connection(format!(
                "cannot connect to {} ({}): is the server running? check {}",
                self.host,
                self.redact(&root_cause(err)),
                vars.host
            ))
        } else {
            LlmError::Connection(format!(
                "the connection to {} failed ({}): check {}",
                self.host,
                self.redact(&root_cause(err)),
                vars.host
            ))
        }
    }

    fn stream_timeout(&self, purpose: Purpose) -> LlmError {
        LlmError::Timeout(format!(
            "the streamed answer from {} was not complete within {:?}: raise {} or check the server",
            self.host,
            self.timeout,
            purpose.vars().timeout
        ))
    }

    /// Removes the API key from text that came from elsewhere.
    fn redact(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) => text.replace(key.as_str(), "[redacted]"),
            None => text.to_string(),
        }
    }

    /// Reads a streamed answer line by line on a spawned task, forwarding the text pieces
    /// that `parse` finds. The channel closes after the last piece, after an error, or when
    /// the receiver is dropped (which also drops the connection).
    /// The answer's tokens are recorded once it is complete (`messages` are the prompt, counted
    /// when the stream reports no usage).
    pub(crate) fn spawn_stream(
        &self,
        purpose: Purpose,
        messages: &[Message],
        mut resp: Response,
        parse: fn(&str) -> Result<Option<StreamEvent>, LlmError>,
    ) -> TextStream {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let http = self.clone();
        let messages = if self.meter.is_some() {
            messages.to_vec()
        } else {
            Vec::new()
        };
        let mut answer = String::new();
        // The timeout bounds the whole stream, not only each read: a server that trickles a
        // byte now and then would otherwise keep the answer (and, in `lrt serve`, the KB's
        // engine) busy for ever.
        let deadline = (!self.timeout.is_zero()).then(|| tokio::time::Instant::now() + self.timeout);
        tokio::spawn(async move {
            let mut lines = LineBuffer::default();
            loop {
                let next = match deadline {
                    Some(at) => match tokio::time::timeout_at(at, resp.chunk()).await {
                        Ok(next) => next,
                        Err(_) => {
                            http.record_error(purpose);
                            let _ = tx.send(Err(http.stream_timeout(purpose))).await;
                            return;
                        }
                    },
                    None => resp.chunk().await,
                };
                let (batch, eof) = match next {
                    Ok(Some(chunk)) => (lines.push(&chunk), false),
                    Ok(None) => (lines.finish().into_iter().collect(), true),
                    Err(e) => {
                        http.record_error(purpose);
                        let _ = tx.send(Err(http.transport_error(purpose, &e))).await;
                        return;
                    }
                };
                for line in batch {
                    let event = match parse(&line) {
                        Ok(Some(event)) => event,
                        Ok(None) => continue,
                        Err(e) => {
                            http.record_error(purpose);
                            let _ = tx.send(Err(http.redact_error(e))).await;
                            return;
                        }
                    };
                    if http.meter.is_some() {
                        answer.push_str(&event.text);
                    }
                    if event.done {
                        // Recorded before the last piece is handed over, so a reader that
                        // finishes with it finds the tokens counted.
                        http.record_chat(&messages, event.usage, &answer);
                    }
                    if !event.text.is_empty() && tx.send(Ok(event.text)).await.is_err() {
                        return; // the reader went away
                    }
                    if event.done {
                        return;
                    }
                }
                if eof {
                    http.record_error(purpose);
                    let _ = tx
                        .send(Err(LlmError::BadResponse(format!(
                            "the stream from {} ended before the answer was complete",
                            http.host
                        ))))
                        .await;
                    return;
                }
            }
        });
        rx
    }

    fn redact_error(&self, e: LlmError) -> LlmError {
        map_message(e, |m| self.redact(&m))
    }
}

/// One parsed line of a streamed answer.
pub(crate) struct StreamEvent {
    /// The next piece of the answer (may be empty).
    pub text: String,
    /// The answer is complete.
    pub done: bool,
    /// `(prompt, completion)` tokens, when the server reports them (on the last event).
    pub usage: Option<(u64, u64)>,
}

/// Splits a byte stream into lines. Lines are cut on bytes, so a multi-byte character or an
/// event split across network chunks is reassembled before decoding.
#[derive(Default)]
pub(crate) struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Adds a chunk; returns the lines it completed (without `\n` or `\r\n`).
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let Some(last_newline) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.pending, rest);
        complete[..last_newline]
            .split(|&b| b == b'\n')
            .map(decode_line)
            .collect()
    }

    /// The last line, if the stream ended without a newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.iter().all(u8::is_ascii_whitespace)).then(|| decode_line(&rest))
    }
}

fn decode_line(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Checks embedding vectors against the request: one per text, each of `dim` floats.
pub(crate) fn check_embeddings(vectors: Vec<Vec<f32>>, texts: usize, dim: usize) -> Result<Vec<Vec<f32>>, LlmError> {
    if vectors.len() != texts {
        return Err(LlmError::BadResponse(format!(
            "the embedding server returned {} vectors for {texts} texts",
            vectors.len()
        )));
    }
    if let Some(bad) = vectors.iter().find(|v| v.len() != dim) {
        return Err(LlmError::BadResponse(format!(
            "the embedding server returned {}-dimensional vectors but EMBEDDING_DIM is {dim}: \
             set EMBEDDING_DIM to the model's dimension or pick a matching EMBEDDING_MODEL",
            bad.len()
        )));
    }
    Ok(vectors)
}

/// The error message in a server's error body: OpenAI `{"error":{"message"}}`, Ollama
/// `{"error":"…"}`, FastAPI-style `{"detail"}` / `{"message"}`, else the raw text.
pub(crate) fn server_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let error = &v["error"];
        let message = error["message"]
            .as_str()
            .or(error.as_str())
            .or(v["message"].as_str())
            .or(v["detail"].as_str());
        if let Some(message) = message {
            return snippet(message);
        }
    }
    match body.trim() {
        "" => "no details".to_string(),
        text => snippet(text),
    }
}

/// At most [`MAX_DETAIL_CHARS`] characters of `text`, on one line.
fn snippet(text: &str) -> String {
    let text = text.trim().replace(['\n', '\r'], " ");
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The wait a `Retry-After: <seconds>` header asks for (the HTTP-date form is ignored).
fn retry_after(resp: &Response) -> Option<Duration> {
    let seconds: f64 = resp.headers().get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())))
}

/// `base × 2^retry` (capped), plus up to half of that again as jitter so that parallel
/// workers hit by the same failure do not retry in lockstep.
fn backoff_delay(base: Duration, retry: u32) -> Duration {
    let delay = base.saturating_mul(1 << retry.min(20)).min(MAX_BACKOFF);
    delay + delay.mul_f64(jitter() / 2.0)
}

/// A number in [0, 1) from a shared xorshift64 generator seeded from the clock and pid. Races
/// between threads only make it more random, which is all jitter needs.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        x = (nanos ^ (u64::from(std::process::id()) << 32)) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The innermost cause of an error (e.g. "Connection refused (os error 111)"), which is
/// more useful than reqwest's outer "error sending request".
fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn with_note(e: LlmError, note: &str) -> LlmError {
    map_message(e, |m| m + note)
}

/// Rewrites an error's message, keeping its kind.
fn map_message(e: LlmError, f: impl FnOnce(String) -> String) -> LlmError {
    use LlmError::*;
    match e {
        Unauthorized(m) => Unauthorized(f(m)),
        NotFound(m) => NotFound(f(m)),
        RateLimited(m) => RateLimited(f(m)),
        Server(m) => Server(f(m)),
        Timeout(m) => Timeout(f(m)),
        Connection(m) => Connection(f(m)),
        BadResponse(m) => BadResponse(f(m)),
        Config(m) => Config(f(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_reassembled_across_chunks() {
        let mut buf = LineBuffer::default();
        assert!(buf.push(b"data: {\"a\"").is_empty());
        assert_eq!(buf.push(b": 1}\r\n\ndata: x"), vec!["data: {\"a\": 1}", ""]);
        // A multi-byte character split between chunks survives.
        let e_acute = "é".as_bytes();
        assert!(buf.push(&e_acute[..1]).is_empty());
        assert_eq!(buf.push(&[e_acute[1], b'\n']), vec!["data: xé"]);
        assert!(buf.push(b"tail").is_empty());
        assert_eq!(buf.finish().as_deref(), Some("tail"));
        assert_eq!(buf.finish(), None);
    }

    #[test]
    fn server_messages_are_extracted() {
        assert_eq!(server_message(r#"{"error":{"message":"bad model"}}"#), "bad model");
        assert_eq!(
            server_message(r#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(server_message(r#"{"detail":"nope"}"#), "nope");
        assert_eq!(server_message("plain\ntext"), "plain text");
        assert_eq!(server_message(""), "no details");
        assert_eq!(server_message(r#"[1, 2]"#), "[1, 2]");
        assert!(server_message(&"x".repeat(1000)).chars().count() <= MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        for retry in 0..4 {
            let expected = base * (1 << retry);
            let delay = backoff_delay(base, retry);
            assert!(delay >= expected && delay <= expected + expected / 2, "{delay:?}");
        }
        assert!(backoff_delay(base, 1000) <= MAX_BACKOFF + MAX_BACKOFF / 2);
    }

    #[test]
    fn base_urls_are_checked_and_normalized() {
        assert_eq!(base_url(Some(" http://h:1/v1/ "), "x").unwrap(), "http://h:1/v1");
        assert_eq!(base_url(None, "http://d").unwrap(), "http://d");
        assert_eq!(base_url(Some(""), "http://d").unwrap(), "http://d");
        assert!(matches!(
            base_url(Some("localhost:11434"), "x"),
            Err(LlmError::Config(_))
        ));
        assert!(matches!(base_url(Some("ftp://h"), "x"), Err(LlmError::Config(_))));
        assert_eq!(display_url("https://u:secret@h/v1"), "https://h/v1");
    }
}
