//! Rerankers: a second opinion on the order of the retrieved chunks, after upstream's
//! `lightrag/rerank.py`. Three wire formats of hosted rerank APIs (`cohere`, `jina`,
//! `aliyun`; vLLM, LiteLLM and Xinference speak Cohere's) and the offline `local` one
//! ([`super::local::rerank`]).
//!
//! Every reranker answers `(index, relevance_score)` pairs, best first, for the documents it
//! was given; it may leave documents out (a `top_n` cut), which then leave the context, as
//! upstream's do. Long documents can be cut into windows first (`RERANK_ENABLE_CHUNKING`,
//! `RERANK_MAX_TOKENS_PER_DOC`), each scored alone, a document keeping its best window's score.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::http::{HttpClient, Purpose, checked_url};
use super::{LlmError, ModelIdentity};
use crate::error::Error;
use crate::rag::tokenizer::Tokenizer;

/// Tokens two neighbouring windows of a long document share (upstream's overlap).
const WINDOW_OVERLAP: usize = 32;

/// `RERANK_BINDING`: who reranks. `null` turns reranking off even where it would be on by
/// default (the `local` chat provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RerankBinding {
    Null,
    Cohere,
    Jina,
    Aliyun,
    Local,
}

impl RerankBinding {
    pub fn as_str(self) -> &'static str {
        match self {
            RerankBinding::Null => "null",
            RerankBinding::Cohere => "cohere",
            RerankBinding::Jina => "jina",
            RerankBinding::Aliyun => "aliyun",
            RerankBinding::Local => "local",
        }
    }

    /// Upstream's default model of a hosted binding.
    pub fn default_model(self) -> &'static str {
        match self {
            RerankBinding::Cohere => "rerank-v3.5",
            RerankBinding::Jina => "jina-reranker-v2-base-multilingual",
            RerankBinding::Aliyun => "gte-rerank-v2",
            RerankBinding::Local => LOCAL_MODEL,
            RerankBinding::Null => "",
        }
    }

    /// Upstream's default endpoint of a hosted binding (the full URL: rerank APIs have no
    /// common path below a base).
    pub fn default_host(self) -> Option<&'static str> {
        match self {
            RerankBinding::Cohere => Some("https://api.cohere.com/v2/rerank"),
            RerankBinding::Jina => Some("https://api.jina.ai/v1/rerank"),
            RerankBinding::Aliyun => {
                Some("https://dashscope.aliyuncs.com/api/v1/services/rerank/text-rerank/text-rerank")
            }
            RerankBinding::Local | RerankBinding::Null => None,
        }
    }
}

impl std::str::FromStr for RerankBinding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "null" | "none" | "off" => Ok(RerankBinding::Null),
            "cohere" => Ok(RerankBinding::Cohere),
            "jina" => Ok(RerankBinding::Jina),
            "aliyun" => Ok(RerankBinding::Aliyun),
            "local" => Ok(RerankBinding::Local),
            other => Err(Error::Usage(format!(
                "unknown rerank binding {other:?}; bindings are cohere, jina, aliyun, local, null"
            ))),
        }
    }
}

/// The model name of the offline reranker, in identities and cache keys.
pub const LOCAL_MODEL: &str = "lrt-bm25-v1";

/// Everything needed to build a reranker.
#[derive(Debug, Clone)]
pub struct RerankConfig {
    pub binding: RerankBinding,
    /// `None`: the binding's default model.
    pub model: Option<String>,
    /// The endpoint URL; `None`: the binding's default.
    pub host: Option<String>,
    pub api_key: Option<String>,
    /// Per-request timeout; zero means none.
    pub timeout: Duration,
    pub max_retries: u32,
    pub backoff: Duration,
    /// `Some(max_tokens)`: documents longer than this are scored by windows.
    pub chunking: Option<usize>,
}

/// One document's score, by its index in the request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Scored {
    pub index: usize,
    pub relevance_score: f64,
}

/// A reranker: hosted (one of the wire formats) or offline.
#[derive(Debug, Clone)]
pub enum Reranker {
    Http(HttpReranker),
    Local,
}

/// A hosted rerank API.
#[derive(Debug, Clone)]
pub struct HttpReranker {
    binding: RerankBinding,
    url: String,
    http: HttpClient,
    chunking: Option<usize>,
}

impl Reranker {
    /// The reranker of `config`; `None` for the `null` binding.
    pub fn new(config: &RerankConfig) -> Result<Option<Reranker>, LlmError> {
        let binding = config.binding;
        let Some(default_host) = binding.default_host() else {
            return Ok((binding == RerankBinding::Local).then_some(Reranker::Local));
        };
        let model = config
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(binding.default_model());
        let url = checked_url(config.host.as_deref(), default_host, "RERANK_BINDING_HOST")?;
        let http = HttpClient::with_limits(
            binding.as_str(),
            model,
            config.api_key.as_deref(),
            &url,
            config.timeout,
            config.max_retries,
            config.backoff,
        )?;
        if config.chunking == Some(0) {
            return Err(LlmError::Config("RERANK_MAX_TOKENS_PER_DOC must be at least 1".into()));
        }
        Ok(Some(Reranker::Http(HttpReranker {
            binding,
            url,
            http,
            chunking: config.chunking,
        })))
    }

    /// Who reranks, for cache keys and the result's metadata (never the API key).
    pub fn identity(&self) -> ModelIdentity {
        match self {
            Reranker::Local => ModelIdentity {
                binding: "local".into(),
                model: LOCAL_MODEL.into(),
                host: None,
            },
            Reranker::Http(h) => ModelIdentity {
                binding: h.binding.as_str().into(),
                model: h.http.model().into(),
                host: Some(h.http.host().into()),
            },
        }
    }

    /// [`identity`](Self::identity) as compact JSON, for cache keys.
    pub fn identity_json(&self) -> String {
        let id = self.identity();
        json!({"binding": id.binding, "host": id.host, "model": id.model}).to_string()
    }

    /// How long documents are handled, for cache keys: `whole` or `windows:<max tokens>`.
    pub fn chunking_label(&self) -> String {
        match self {
            Reranker::Http(HttpReranker { chunking: Some(n), .. }) => format!("windows:{n}"),
            _ => "whole".to_string(),
        }
    }

    /// Whether answers are worth caching: a hosted call costs time and money, the offline
    /// scoring costs less than a cache read.
    pub fn is_remote(&self) -> bool {
        matches!(self, Reranker::Http(_))
    }

    /// The scores of `documents` against `query`, best first, at most `top_n` of them.
    pub async fn rerank(&self, query: &str, documents: &[String], top_n: usize) -> Result<Vec<Scored>, LlmError> {
        match self {
            Reranker::Local => {
                let scores = super::local::rerank::scores(query, documents);
                let mut out: Vec<Scored> = scores
                    .into_iter()
                    .enumerate()
                    .map(|(index, relevance_score)| Scored { index, relevance_score })
                    .collect();
                best_first(&mut out);
                out.truncate(top_n);
                Ok(out)
            }
            Reranker::Http(h) => h.rerank(query, documents, top_n).await,
        }
    }
}

/// Sorts by score, highest first; equal scores keep their order (stable), as upstream's
/// Python sort does.
fn best_first(scored: &mut [Scored]) {
    scored.sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score));
}

impl HttpReranker {
    async fn rerank(&self, query: &str, documents: &[String], top_n: usize) -> Result<Vec<Scored>, LlmError> {
        let Some(max_tokens) = self.chunking else {
            let body = self.body(query, documents, Some(top_n));
            return self.call(&body, documents.len()).await;
        };
        // Every window is scored (no top_n at the API), so that each document's best window
        // is known; top_n then applies to documents.
        let (windows, owner) = windows(documents, max_tokens);
        let body = self.body(query, &windows, None);
        let scored = self.call(&body, windows.len()).await?;
        let mut best: Vec<Option<f64>> = vec![None; documents.len()];
        for s in scored {
            let slot = &mut best[owner[s.index]];
            *slot = Some(slot.map_or(s.relevance_score, |b| b.max(s.relevance_score)));
        }
        let mut out: Vec<Scored> = best
            .into_iter()
            .enumerate()
            .filter_map(|(index, score)| score.map(|relevance_score| Scored { index, relevance_score }))
            .collect();
        best_first(&mut out);
        out.truncate(top_n);
        Ok(out)
    }

    /// The request body in this binding's wire format.
    fn body(&self, query: &str, documents: &[String], top_n: Option<usize>) -> Value {
        let model = self.http.model();
        match self.binding {
            RerankBinding::Aliyun => {
                let mut parameters = json!({});
                if let Some(n) = top_n {
                    parameters["top_n"] = json!(n);
                }
                parameters["return_documents"] = json!(false);
                json!({"model": model, "input": {"query": query, "documents": documents}, "parameters": parameters})
            }
            _ => {
                let mut body = json!({"model": model, "query": query, "documents": documents});
                if let Some(n) = top_n {
                    body["top_n"] = json!(n);
                }
                // Cohere's API refuses the field; Jina's echoes every document without it.
                if self.binding == RerankBinding::Jina {
                    body["return_documents"] = json!(false);
                }
                body
            }
        }
    }

    /// Posts `body` (with retries) and reads the scores of a request of `count` documents.
    async fn call(&self, body: &Value, count: usize) -> Result<Vec<Scored>, LlmError> {
        let answer: Value = self.http.post_json(Purpose::Rerank, &self.url, body).await?;
        let results = match self.binding {
            RerankBinding::Aliyun => &answer["output"]["results"],
            _ => &answer["results"],
        };
        let field = if self.binding == RerankBinding::Aliyun {
            "output.results"
        } else {
            "results"
        };
        let Some(results) = results.as_array() else {
            return Err(LlmError::BadResponse(format!(
                "the rerank server at {} answered without a `{field}` list",
                self.http.host()
            )));
        };
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            let (Some(index), Some(score)) = (r["index"].as_u64(), r["relevance_score"].as_f64()) else {
                return Err(LlmError::BadResponse(format!(
                    "the rerank server at {} answered a result without `index` and `relevance_score`",
                    self.http.host()
                )));
            };
            // Upstream skips an index outside the request rather than failing the query.
            if let Ok(index) = usize::try_from(index)
                && index < count
            {
                out.push(Scored {
                    index,
                    relevance_score: score,
                });
            }
        }
        Ok(out)
    }
}

/// Documents longer than `max_tokens` cut into windows of that many tokens overlapping by
/// [`WINDOW_OVERLAP`] (less for tiny windows); each window with the index of its document.
fn windows(documents: &[String], max_tokens: usize) -> (Vec<String>, Vec<usize>) {
    let tokenizer = Tokenizer::global();
    let overlap = WINDOW_OVERLAP.min(max_tokens.saturating_sub(1));
    let (mut out, mut owner) = (Vec::new(), Vec::new());
    for (i, doc) in documents.iter().enumerate() {
        let tokens = tokenizer.encode(doc);
        if tokens.len() <= max_tokens {
            out.push(doc.clone());
            owner.push(i);
            continue;
        }
        let mut start = 0;
        loop {
            let end = (start + max_tokens).min(tokens.len());
            out.push(tokenizer.decode(&tokens[start..end]));
            owner.push(i);
            if end == tokens.len() {
                break;
            }
            start = end - overlap;
        }
    }
    (out, owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_parse_with_null_aliases_and_clear_errors() {
        for (raw, b) in [
            ("cohere", RerankBinding::Cohere),
            (" Jina ", RerankBinding::Jina),
            ("ALIYUN", RerankBinding::Aliyun),
            ("local", RerankBinding::Local),
            ("null", RerankBinding::Null),
            ("none", RerankBinding::Null),
        ] {
            assert_eq!(raw.parse::<RerankBinding>().unwrap(), b);
        }
        let err = "voyage".parse::<RerankBinding>().unwrap_err().to_string();
        assert!(err.contains("cohere, jina, aliyun, local, null"), "{err}");
    }

    #[test]
    fn long_documents_are_cut_into_overlapping_windows() {
        let long = (0..300).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let docs = vec!["short".to_string(), long.clone()];
        let (windows, owner) = windows(&docs, 100);
        assert_eq!(windows[0], "short");
        assert!(windows.len() > 3, "{}", windows.len());
        assert!(owner[1..].iter().all(|&o| o == 1));
        let t = Tokenizer::global();
        assert!(windows[1..].iter().all(|w| t.encode(w).len() <= 100));
        // Windows overlap: the end of one is the start of the next.
        let first = t.encode(&windows[1]);
        let second = t.encode(&windows[2]);
        assert_eq!(first[first.len() - WINDOW_OVERLAP..], second[..WINDOW_OVERLAP]);
        assert_eq!(t.decode(&t.encode(&long)[..100]), windows[1]);
        // A one-token window still advances.
        let (tiny, _) = super::windows(&["a b c".to_string()], 1);
        assert_eq!(tiny.len(), Tokenizer::global().encode("a b c").len());
    }

    #[tokio::test]
    async fn the_local_reranker_orders_by_lexical_relevance_and_cuts_at_top_n() {
        let r = Reranker::new(&RerankConfig {
            binding: RerankBinding::Local,
            model: None,
            host: None,
            api_key: None,
            timeout: Duration::ZERO,
            max_retries: 0,
            backoff: Duration::ZERO,
            chunking: None,
        })
        .unwrap()
        .unwrap();
        let docs: Vec<String> = [
            "Joseph was sold into Egypt.",
            "Nothing here.",
            "Abraham buried Sarah in the cave of Machpelah.",
            "Also nothing.",
        ]
        .map(String::from)
        .to_vec();
        let out = r.rerank("Where did Abraham bury Sarah?", &docs, 3).await.unwrap();
        let order: Vec<usize> = out.iter().map(|s| s.index).collect();
        // The answer first; unmatched chunks keep their retrieval order behind it.
        assert_eq!(order, [2, 0, 1]);
        assert_eq!(out[0].relevance_score, 1.0);
        assert_eq!(r.identity().model, LOCAL_MODEL);
        assert!(!r.is_remote());
    }
}
