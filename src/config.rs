//! Effective settings: command-line flag > environment > config file > default, with the
//! origin of every value kept so `lrt config show` can say where it came from.
//!
//! Environment names are the multi-tenancy guide's (`ENABLE_MULTI_TENANTS`,
//! `LIGHTRAG_SUPER_ADMIN_USERS`, `TOKEN_SECRET`, …) plus `LRT_*` for lrt's own settings.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, StorageContext};
use crate::extract::docling::{Docling, DoclingConfig};
use crate::extract::{Parser, ParserKind};
use crate::llm::Binding;
use crate::llm::rerank::RerankBinding;

mod storage;
pub use storage::{Backend, DEFAULT_MAX_CONNECTIONS, PgSettings, PgTls, RootCerts, SslMode, StorageSettings, mask_url};

/// Upstream's `DEFAULT_MAX_PARALLEL_INSERT`.
pub const DEFAULT_MAX_PARALLEL_INSERT: usize = 3;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env(&'static str),
    Flag(&'static str),
    /// Super-admins: the union of the config file's list and the environment's.
    FileAndEnv(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File => f.write_str("config file"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::FileAndEnv(name) => write!(f, "config file + env {name}"),
        }
    }
}

/// A value and its origin.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    fn new(value: T, source: Source) -> Self {
        Sourced { value, source }
    }
}

/// The TOML file written by `lrt init`. Unknown keys are refused so that a typo never
/// silently falls back to a default.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub identity: IdentitySection,
    pub storage: StorageSection,
    pub multi_tenancy: MultiTenancySection,
    pub auth: AuthSection,
    pub llm: ModelSection,
    pub embedding: ModelSection,
    pub rerank: RerankSection,
    pub ingest: IngestSection,
}

/// `[rerank]`: the reranker of retrieved chunks (upstream's `RERANK_*` variables).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RerankSection {
    /// `cohere`, `jina`, `aliyun`, `local` or `null`.
    pub binding: Option<String>,
    pub model: Option<String>,
    /// The endpoint URL, e.g. `http://127.0.0.1:8000/v1/rerank`.
    pub host: Option<String>,
    pub api_key_env: Option<String>,
    pub timeout_secs: Option<u64>,
    pub max_retries: Option<u32>,
    pub min_score: Option<f64>,
    pub by_default: Option<bool>,
    pub enable_chunking: Option<bool>,
    pub max_tokens_per_doc: Option<usize>,
}

/// `[ingest]`: how documents are processed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Documents chunked and extracted at once (upstream's `MAX_PARALLEL_INSERT`).
    pub max_parallel_insert: Option<usize>,
    /// `builtin` (the default) or `docling` (`LRT_PARSER`).
    pub parser: Option<String>,
    /// The Docling-serve endpoint (`DOCLING_ENDPOINT`).
    pub docling_endpoint: Option<String>,
    /// The environment variable holding Docling's API key (default `DOCLING_API_KEY`).
    pub docling_api_key_env: Option<String>,
    pub docling_timeout_secs: Option<u64>,
    pub docling_max_retries: Option<u32>,
}

/// `[llm]` and `[embedding]`: which model server to use. Secrets are not stored here:
/// `api_key_env` names the environment variable that holds the key.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// `local` (offline, the default), `openai` or `ollama`.
    pub binding: Option<String>,
    pub model: Option<String>,
    pub host: Option<String>,
    pub api_key_env: Option<String>,
    pub timeout_secs: Option<u64>,
    pub max_async: Option<usize>,
    pub max_retries: Option<u32>,
    /// Embedding dimension (`[embedding]` only).
    pub dim: Option<usize>,
    /// Texts per embedding request (`[embedding]` only).
    pub batch_size: Option<usize>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySection {
    pub user: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    pub data_dir: Option<PathBuf>,
    /// `sqlite` (default) or `postgres` (`LRT_STORAGE`).
    pub backend: Option<String>,
    /// `LRT_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `POSTGRES_MAX_CONNECTIONS`.
    pub max_connections: Option<u32>,
    /// `POSTGRES_SSL_MODE`.
    pub ssl_mode: Option<String>,
    /// `POSTGRES_SSL_ROOT_CERT` (a PEM file, or `system`).
    pub ssl_root_cert: Option<String>,
    /// `POSTGRES_SSL_CERT`.
    pub ssl_cert: Option<String>,
    /// `POSTGRES_SSL_KEY`.
    pub ssl_key: Option<String>,
    /// `POSTGRES_SSL_CRL`.
    pub ssl_crl: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiTenancySection {
    pub enabled: Option<bool>,
    pub strict: Option<bool>,
    pub require_user_auth: Option<bool>,
    pub open_workspace: Option<bool>,
    pub super_admins: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub token_secret: Option<String>,
    pub jwt_algorithm: Option<String>,
    pub token_expire_hours: Option<u32>,
}

/// What the command line says about configuration (the global flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

/// The effective settings of one invocation.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: Sourced<PathBuf>,
    pub config_file_found: bool,
    pub data_dir: Sourced<PathBuf>,
    pub user: Sourced<Option<String>>,
    pub multi_tenant: Sourced<bool>,
    pub strict: Sourced<bool>,
    pub require_user_auth: Sourced<bool>,
    /// `LRT_OPEN_WORKSPACE`: in single-workspace mode, `lrt serve` lets every authenticated
    /// caller in as admin of the built-in workspace. Off by default: over HTTP it takes a
    /// real membership (locally the data directory's permissions are the boundary).
    pub open_workspace: Sourced<bool>,
    pub super_admins: Sourced<Vec<String>>,
    pub token_secret: Sourced<Option<String>>,
    pub jwt_algorithm: Sourced<String>,
    pub token_expire_hours: Sourced<u32>,
    /// The chat model provider (`[llm]`, `LLM_*`).
    pub llm: ModelSettings,
    /// The embedding provider (`[embedding]`, `EMBEDDING_*`).
    pub embedding: ModelSettings,
    /// The chunk reranker (`[rerank]`, `RERANK_*`).
    pub rerank: RerankSettings,
    /// Documents one ingest run chunks and extracts at once (`[ingest]`,
    /// `MAX_PARALLEL_INSERT`; upstream's default, 3). They still merge one at a time, in the
    /// order given.
    pub max_parallel_insert: Sourced<usize>,
    /// Where the catalog lives (`[storage]`, `LRT_STORAGE`, `LRT_DATABASE_URL`, `POSTGRES_*`).
    pub storage: StorageSettings,
    /// The document parser (`[ingest] parser`, `LRT_PARSER`, `DOCLING_*`).
    pub parser: ParserSettings,
    /// `LRT_NOW`, for tests only: the instant usage accounting takes as "now", so a test can
    /// cross a month boundary. Unset, the system clock is used.
    pub clock: Option<jiff::Timestamp>,
}

/// Reads environment variables; a seam so tests can load settings without touching the
/// process environment.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment. Empty values count as unset.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "lrt", "lrt")
}

/// `~/.config/lrt/config.toml` on Linux.
pub fn default_config_path() -> PathBuf {
    project_dirs()
        .map(|d| d.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("lrt-config.toml"))
}

/// `~/.local/share/lrt` on Linux.
pub fn default_data_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("lrt-data"))
}

/// A boolean setting's value: 1/true/yes/on or 0/false/no/off; anything else is an error.
pub fn parse_bool(name: &str, raw: &str) -> Result<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Usage(format!("{name}: expected true or false, got {raw:?}"))),
    }
}

/// Splits a comma-separated user list, dropping blanks.
pub fn split_users(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// A value that can come from an environment variable.
pub trait FromEnv: Sized {
    fn from_env(var: &str, raw: &str) -> Result<Self>;
}

impl FromEnv for bool {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        parse_bool(var, raw)
    }
}

impl FromEnv for String {
    fn from_env(_: &str, raw: &str) -> Result<Self> {
        Ok(raw.to_string())
    }
}

impl<T: FromEnv> FromEnv for Option<T> {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        T::from_env(var, raw).map(Some)
    }
}

macro_rules! from_env_number {
    ($($t:ty),*) => {$(
        impl FromEnv for $t {
            fn from_env(var: &str, raw: &str) -> Result<Self> {
                raw.trim().parse().map_err(|_| Error::Usage(format!("{var}: expected a whole number, got {raw:?}")))
            }
        }
    )*};
}
from_env_number!(u16, u32, u64, usize);

impl FromEnv for f64 {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        raw.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| Error::Usage(format!("{var}: expected a number, got {raw:?}")))
    }
}

impl FromEnv for RerankBinding {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        raw.parse().map_err(|e: Error| Error::Usage(format!("{var}: {e}")))
    }
}

impl FromEnv for Binding {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        raw.parse().map_err(|e: Error| Error::Usage(format!("{var}: {e}")))
    }
}

/// environment variable > config file > default, remembering which one won.
fn layer<T: FromEnv>(env: &dyn Env, var: &'static str, file: Option<T>, default: T) -> Result<Sourced<T>> {
    Ok(match (env.get(var), file) {
        (Some(raw), _) => Sourced::new(T::from_env(var, &raw)?, Source::Env(var)),
        (None, Some(v)) => Sourced::new(v, Source::File),
        (None, None) => Sourced::new(default, Source::Default),
    })
}

/// Like [`layer`], trying several environment names in order (LightRAG has aliases).
fn layer_any<T: FromEnv>(env: &dyn Env, vars: &[&'static str], file: Option<T>, default: T) -> Result<Sourced<T>> {
    match vars.iter().find(|v| env.get(v).is_some()) {
        Some(var) => layer(env, var, file, default),
        None => layer(env, vars[0], file, default),
    }
}

/// Which model role a `[llm]`/`[embedding]` section configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRole {
    Llm,
    Embedding,
}

/// The effective model-server settings of one role. `model` and `dim` are `None` when
/// nothing global sets them: the KB's configuration (llm_model, embedding_model,
/// embedding_dim) decides then.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub binding: Sourced<Binding>,
    pub model: Sourced<Option<String>>,
    pub host: Sourced<Option<String>>,
    pub api_key: Sourced<Option<String>>,
    pub timeout_secs: Sourced<u64>,
    pub max_async: Sourced<usize>,
    pub max_retries: Sourced<u32>,
    pub dim: Sourced<Option<usize>>,
    pub batch_size: Sourced<usize>,
}

impl ModelSettings {
    fn load(env: &dyn Env, section: &ModelSection, role: ModelRole) -> Result<ModelSettings> {
        let llm = role == ModelRole::Llm;
        let pick = |llm_var: &'static str, emb_var: &'static str| if llm { llm_var } else { emb_var };
        let binding = match &section.binding {
            Some(b) => Some(
                b.parse::<Binding>()
                    .map_err(|e| Error::Usage(format!("invalid config file: {e}")))?,
            ),
            None => None,
        };
        let binding = layer(env, pick("LLM_BINDING", "EMBEDDING_BINDING"), binding, Binding::Local)?;
        let key_var = pick("LLM_BINDING_API_KEY", "EMBEDDING_BINDING_API_KEY");
        let api_key = match section.api_key_env.as_deref() {
            // The config names its own variable; an unset one is reported when a request needs it.
            Some(name) => Sourced::new(env.get(name), Source::Env(leak_name(name))),
            None if env.get(key_var).is_some() => Sourced::new(env.get(key_var), Source::Env(key_var)),
            None if binding.value == Binding::Openai && env.get("OPENAI_API_KEY").is_some() => {
                Sourced::new(env.get("OPENAI_API_KEY"), Source::Env("OPENAI_API_KEY"))
            }
            None => Sourced::new(None, Source::Default),
        };
        let max_async_vars: &[&'static str] = if llm {
            &["MAX_ASYNC_LLM", "MAX_ASYNC"]
        } else {
            &["EMBEDDING_FUNC_MAX_ASYNC"]
        };
        let settings = ModelSettings {
            binding,
            model: layer(
                env,
                pick("LLM_MODEL", "EMBEDDING_MODEL"),
                section.model.clone().map(Some),
                None,
            )?,
            host: layer(
                env,
                pick("LLM_BINDING_HOST", "EMBEDDING_BINDING_HOST"),
                section.host.clone().map(Some),
                None,
            )?,
            api_key,
            timeout_secs: layer(
                env,
                pick("LLM_TIMEOUT", "EMBEDDING_TIMEOUT"),
                section.timeout_secs,
                if llm { 240 } else { 30 },
            )?,
            max_async: layer_any(env, max_async_vars, section.max_async, if llm { 4 } else { 8 })?,
            max_retries: layer(
                env,
                pick("LRT_LLM_MAX_RETRIES", "LRT_EMBEDDING_MAX_RETRIES"),
                section.max_retries,
                3,
            )?,
            dim: if llm {
                Sourced::new(None, Source::Default)
            } else {
                layer(env, "EMBEDDING_DIM", section.dim.map(Some), None)?
            },
            batch_size: if llm {
                Sourced::new(1, Source::Default)
            } else {
                layer(env, "EMBEDDING_BATCH_NUM", section.batch_size, 10)?
            },
        };
        for (name, value) in [
            ("max_async", settings.max_async.value),
            ("batch_size", settings.batch_size.value),
        ] {
            if value == 0 {
                return Err(Error::Usage(format!("{name} must be at least 1")));
            }
        }
        if settings.dim.value == Some(0) {
            return Err(Error::Usage("EMBEDDING_DIM must be at least 1".into()));
        }
        Ok(settings)
    }

    fn entries(&self, prefix: &'static str) -> Vec<(String, serde_json::Value, String)> {
        use serde_json::json;
        let key = match &self.api_key.value {
            Some(k) => json!(format!("set ({} bytes, hidden)", k.len())),
            None => serde_json::Value::Null,
        };
        let mut rows = vec![
            (
                format!("{prefix}.binding"),
                json!(self.binding.value.as_str()),
                self.binding.source.to_string(),
            ),
            (
                format!("{prefix}.model"),
                json!(self.model.value),
                self.model.source.to_string(),
            ),
            (
                format!("{prefix}.host"),
                json!(self.host.value),
                self.host.source.to_string(),
            ),
            (format!("{prefix}.api_key"), key, self.api_key.source.to_string()),
            (
                format!("{prefix}.timeout_secs"),
                json!(self.timeout_secs.value),
                self.timeout_secs.source.to_string(),
            ),
            (
                format!("{prefix}.max_async"),
                json!(self.max_async.value),
                self.max_async.source.to_string(),
            ),
            (
                format!("{prefix}.max_retries"),
                json!(self.max_retries.value),
                self.max_retries.source.to_string(),
            ),
        ];
        if prefix == "embedding" {
            rows.push((
                format!("{prefix}.dim"),
                json!(self.dim.value),
                self.dim.source.to_string(),
            ));
            rows.push((
                format!("{prefix}.batch_size"),
                json!(self.batch_size.value),
                self.batch_size.source.to_string(),
            ));
        }
        rows
    }
}

/// The effective reranker settings. `binding` is `None` when nothing sets it: then the
/// `local` chat provider reranks with the offline reranker and the others do not rerank.
#[derive(Debug, Clone)]
pub struct RerankSettings {
    pub binding: Sourced<Option<RerankBinding>>,
    pub model: Sourced<Option<String>>,
    pub host: Sourced<Option<String>>,
    pub api_key: Sourced<Option<String>>,
    pub timeout_secs: Sourced<u64>,
    pub max_retries: Sourced<u32>,
    /// `MIN_RERANK_SCORE`: reranked chunks scoring below it leave the context (when above 0).
    pub min_score: Sourced<f64>,
    /// `RERANK_BY_DEFAULT`: whether a query reranks when neither it nor its KB says.
    pub by_default: Sourced<bool>,
    pub enable_chunking: Sourced<bool>,
    pub max_tokens_per_doc: Sourced<usize>,
}

impl RerankSettings {
    fn load(env: &dyn Env, section: &RerankSection) -> Result<RerankSettings> {
        let binding = match &section.binding {
            Some(b) => Some(
                b.parse::<RerankBinding>()
                    .map_err(|e| Error::Usage(format!("invalid config file: [rerank] {e}")))?,
            ),
            None => None,
        };
        let api_key = match section.api_key_env.as_deref() {
            Some(name) => Sourced::new(env.get(name), Source::Env(leak_name(name))),
            None => layer(env, "RERANK_BINDING_API_KEY", None, None)?,
        };
        let settings = RerankSettings {
            binding: layer(env, "RERANK_BINDING", binding.map(Some), None)?,
            model: layer(env, "RERANK_MODEL", section.model.clone().map(Some), None)?,
            host: layer(env, "RERANK_BINDING_HOST", section.host.clone().map(Some), None)?,
            api_key,
            timeout_secs: layer(env, "RERANK_TIMEOUT", section.timeout_secs, 30)?,
            max_retries: layer(env, "LRT_RERANK_MAX_RETRIES", section.max_retries, 2)?,
            min_score: layer(env, "MIN_RERANK_SCORE", section.min_score, 0.0)?,
            by_default: layer(env, "RERANK_BY_DEFAULT", section.by_default, true)?,
            enable_chunking: layer(env, "RERANK_ENABLE_CHUNKING", section.enable_chunking, false)?,
            max_tokens_per_doc: layer(env, "RERANK_MAX_TOKENS_PER_DOC", section.max_tokens_per_doc, 4096)?,
        };
        if !settings.min_score.value.is_finite() {
            return Err(Error::Usage("MIN_RERANK_SCORE must be a finite number".into()));
        }
        if settings.max_tokens_per_doc.value == 0 {
            return Err(Error::Usage("RERANK_MAX_TOKENS_PER_DOC must be at least 1".into()));
        }
        Ok(settings)
    }

    /// The binding in effect with chat provider `llm`: the configured one, else `local` for
    /// the offline chat provider and `null` for the others (so retrieval with a model server
    /// stays upstream's until a reranker is configured).
    pub fn effective_binding(&self, llm: Binding) -> RerankBinding {
        match self.binding.value {
            Some(b) => b,
            None if llm == Binding::Local => RerankBinding::Local,
            None => RerankBinding::Null,
        }
    }

    fn entries(&self) -> Vec<(String, serde_json::Value, String)> {
        use serde_json::json;
        let key = hidden(&self.api_key.value);
        let binding = match self.binding.value {
            Some(b) => json!(b.as_str()),
            None => json!("(local with the local chat provider, else null)"),
        };
        [
            ("binding", binding, &self.binding.source),
            ("model", json!(self.model.value), &self.model.source),
            ("host", json!(self.host.value), &self.host.source),
            ("api_key", key, &self.api_key.source),
            (
                "timeout_secs",
                json!(self.timeout_secs.value),
                &self.timeout_secs.source,
            ),
            ("max_retries", json!(self.max_retries.value), &self.max_retries.source),
            ("min_score", json!(self.min_score.value), &self.min_score.source),
            ("by_default", json!(self.by_default.value), &self.by_default.source),
            (
                "enable_chunking",
                json!(self.enable_chunking.value),
                &self.enable_chunking.source,
            ),
            (
                "max_tokens_per_doc",
                json!(self.max_tokens_per_doc.value),
                &self.max_tokens_per_doc.source,
            ),
        ]
        .into_iter()
        .map(|(k, v, s)| (format!("rerank.{k}"), v, s.to_string()))
        .collect()
    }
}

/// The document parser's settings. `docling` needs an endpoint; that is checked when the
/// parser is built ([`ParserSettings::build`]), so `lrt config show` still explains.
#[derive(Debug, Clone)]
pub struct ParserSettings {
    pub kind: Sourced<ParserKind>,
    pub docling_endpoint: Sourced<Option<String>>,
    pub docling_api_key: Sourced<Option<String>>,
    /// Docling converts with layout models and OCR: minutes per large PDF are normal.
    pub docling_timeout_secs: Sourced<u64>,
    pub docling_max_retries: Sourced<u32>,
}

impl FromEnv for ParserKind {
    fn from_env(var: &str, raw: &str) -> Result<Self> {
        raw.parse().map_err(|e: String| Error::Usage(format!("{var}: {e}")))
    }
}

impl ParserSettings {
    fn load(env: &dyn Env, section: &IngestSection) -> Result<ParserSettings> {
        let kind = match &section.parser {
            Some(p) => Some(
                p.parse::<ParserKind>()
                    .map_err(|e| Error::Usage(format!("invalid config file: [ingest] parser: {e}")))?,
            ),
            None => None,
        };
        let key_var = section.docling_api_key_env.as_deref().unwrap_or("DOCLING_API_KEY");
        Ok(ParserSettings {
            kind: layer(env, "LRT_PARSER", kind, ParserKind::Builtin)?,
            docling_endpoint: layer(
                env,
                "DOCLING_ENDPOINT",
                section.docling_endpoint.clone().map(Some),
                None,
            )?,
            docling_api_key: Sourced::new(env.get(key_var), Source::Env(leak_name(key_var))),
            docling_timeout_secs: layer(env, "DOCLING_TIMEOUT", section.docling_timeout_secs, 300)?,
            docling_max_retries: layer(env, "LRT_DOCLING_MAX_RETRIES", section.docling_max_retries, 2)?,
        })
    }

    /// The parser these settings name, ready to use.
    pub fn build(&self) -> Result<Parser> {
        match self.kind.value {
            ParserKind::Builtin => Ok(Parser::Builtin),
            ParserKind::Docling => {
                let endpoint = self.docling_endpoint.value.clone().ok_or_else(|| {
                    Error::Usage(
                        "LRT_PARSER=docling needs DOCLING_ENDPOINT (or [ingest] docling_endpoint), e.g. http://127.0.0.1:5001"
                            .into(),
                    )
                })?;
                let config = DoclingConfig {
                    endpoint,
                    api_key: self.docling_api_key.value.clone(),
                    timeout: std::time::Duration::from_secs(self.docling_timeout_secs.value),
                    max_retries: self.docling_max_retries.value,
                };
                Docling::new(&config)
                    .map(Parser::Docling)
                    .map_err(|e| Error::Usage(e.to_string()))
            }
        }
    }

    fn entries(&self) -> Vec<(String, serde_json::Value, String)> {
        use serde_json::json;
        let endpoint = self
            .docling_endpoint
            .value
            .as_deref()
            .map(crate::llm::http::display_url);
        [
            ("parser", json!(self.kind.value.as_str()), &self.kind.source),
            ("docling_endpoint", json!(endpoint), &self.docling_endpoint.source),
            (
                "docling_api_key",
                hidden(&self.docling_api_key.value),
                &self.docling_api_key.source,
            ),
            (
                "docling_timeout_secs",
                json!(self.docling_timeout_secs.value),
                &self.docling_timeout_secs.source,
            ),
            (
                "docling_max_retries",
                json!(self.docling_max_retries.value),
                &self.docling_max_retries.source,
            ),
        ]
        .into_iter()
        .map(|(k, v, s)| (format!("ingest.{k}"), v, s.to_string()))
        .collect()
    }
}

/// How `lrt config show` shows a secret: whether it is set and its length, never its value.
fn hidden(secret: &Option<String>) -> serde_json::Value {
    match secret {
        Some(s) => serde_json::json!(format!("set ({} bytes, hidden)", s.len())),
        None => serde_json::Value::Null,
    }
}

/// Source names are `&'static str`; a config-named variable is leaked once per process
/// (a handful of bytes) so it can be reported like the built-in names.
fn leak_name(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

impl Settings {
    /// Resolves every setting from flags, the environment, the config file and defaults.
    pub fn load(flags: &Overrides, env: &dyn Env) -> Result<Settings> {
        let config_path = config_path(flags, env);
        let explicit = config_path.source != Source::Default;
        let (file, found) = read_file_config(&config_path.value, explicit)?;

        let data_dir = match (&flags.data_dir, env.get("LRT_DATA_DIR"), &file.storage.data_dir) {
            (Some(p), _, _) => Sourced::new(p.clone(), Source::Flag("--data-dir")),
            (None, Some(p), _) => Sourced::new(PathBuf::from(p), Source::Env("LRT_DATA_DIR")),
            (None, None, Some(p)) => Sourced::new(p.clone(), Source::File),
            (None, None, None) => Sourced::new(default_data_dir(), Source::Default),
        };
        let data_dir = Sourced::new(absolute(data_dir.value), data_dir.source);
        let user = layer(env, "LRT_USER", file.identity.user.clone().map(Some), os_user(env))?;

        // The fork's alias is honoured when the guide's name is absent.
        let mt_var = if env.get("ENABLE_MULTI_TENANTS").is_some() || env.get("LIGHTRAG_MULTI_TENANT").is_none() {
            "ENABLE_MULTI_TENANTS"
        } else {
            "LIGHTRAG_MULTI_TENANT"
        };
        let mt = &file.multi_tenancy;
        let multi_tenant = layer(env, mt_var, mt.enabled, false)?;
        let strict = layer(env, "LIGHTRAG_MULTI_TENANT_STRICT", mt.strict, true)?;
        let require_user_auth = layer(env, "LIGHTRAG_REQUIRE_USER_AUTH", mt.require_user_auth, true)?;
        let open_workspace = layer(env, "LRT_OPEN_WORKSPACE", mt.open_workspace, false)?;

        const SA: &str = "LIGHTRAG_SUPER_ADMIN_USERS";
        let env_admins = env.get(SA).map(|raw| split_users(&raw));
        let super_admins = match (mt.super_admins.clone(), env_admins) {
            (Some(mut f), Some(e)) => {
                for u in e {
                    if !f.contains(&u) {
                        f.push(u);
                    }
                }
                Sourced::new(f, Source::FileAndEnv(SA))
            }
            (Some(f), None) => Sourced::new(f, Source::File),
            (None, Some(e)) => Sourced::new(e, Source::Env(SA)),
            (None, None) => Sourced::new(vec!["admin".to_string()], Source::Default),
        };

        let auth = &file.auth;
        let token_secret = layer(env, "TOKEN_SECRET", auth.token_secret.clone().map(Some), None)?;
        let jwt_algorithm = layer(env, "JWT_ALGORITHM", auth.jwt_algorithm.clone(), "HS256".to_string())?;
        let token_expire_hours = layer(env, "TOKEN_EXPIRE_HOURS", auth.token_expire_hours, 24)?;
        let llm = ModelSettings::load(env, &file.llm, ModelRole::Llm)?;
        let embedding = ModelSettings::load(env, &file.embedding, ModelRole::Embedding)?;
        let rerank = RerankSettings::load(env, &file.rerank)?;
        let max_parallel_insert = layer(
            env,
            "MAX_PARALLEL_INSERT",
            file.ingest.max_parallel_insert,
            DEFAULT_MAX_PARALLEL_INSERT,
        )?;
        if max_parallel_insert.value == 0 {
            return Err(Error::Usage("MAX_PARALLEL_INSERT must be at least 1".into()));
        }
        let storage = StorageSettings::load(env, &file.storage)?;
        let parser = ParserSettings::load(env, &file.ingest)?;
        let clock = env
            .get("LRT_NOW")
            .map(|raw| {
                raw.parse::<jiff::Timestamp>().map_err(|_| {
                    Error::Usage(format!(
                        "invalid LRT_NOW {raw:?}: expected an RFC 3339 timestamp such as 2026-11-30T23:59:00Z"
                    ))
                })
            })
            .transpose()?;

        Ok(Settings {
            config_path,
            config_file_found: found,
            data_dir,
            user,
            multi_tenant,
            strict,
            require_user_auth,
            open_workspace,
            super_admins,
            token_secret,
            jwt_algorithm,
            token_expire_hours,
            llm,
            embedding,
            rerank,
            max_parallel_insert,
            storage,
            parser,
            clock,
        })
    }

    /// Every setting as (key, display value, source), secrets masked.
    pub fn entries(&self) -> Vec<(String, serde_json::Value, String)> {
        use serde_json::json;
        let secret = match &self.token_secret.value {
            Some(s) => json!(format!("set ({} bytes, hidden)", s.len())),
            None => serde_json::Value::Null,
        };
        let config_file = if self.config_file_found {
            self.config_path.value.display().to_string()
        } else {
            format!("{} (not found)", self.config_path.value.display())
        };
        let mut rows: Vec<(String, serde_json::Value, String)> = vec![
            ("config_file", json!(config_file), self.config_path.source.to_string()),
            ("identity.user", json!(self.user.value), self.user.source.to_string()),
            (
                "storage.data_dir",
                json!(self.data_dir.value),
                self.data_dir.source.to_string(),
            ),
            (
                "multi_tenancy.enabled",
                json!(self.multi_tenant.value),
                self.multi_tenant.source.to_string(),
            ),
            (
                "multi_tenancy.strict",
                json!(self.strict.value),
                self.strict.source.to_string(),
            ),
            (
                "multi_tenancy.require_user_auth",
                json!(self.require_user_auth.value),
                self.require_user_auth.source.to_string(),
            ),
            (
                "multi_tenancy.open_workspace",
                json!(self.open_workspace.value),
                self.open_workspace.source.to_string(),
            ),
            (
                "multi_tenancy.super_admins",
                json!(self.super_admins.value),
                self.super_admins.source.to_string(),
            ),
            ("auth.token_secret", secret, self.token_secret.source.to_string()),
            (
                "auth.jwt_algorithm",
                json!(self.jwt_algorithm.value),
                self.jwt_algorithm.source.to_string(),
            ),
            (
                "auth.token_expire_hours",
                json!(self.token_expire_hours.value),
                self.token_expire_hours.source.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v, s)| (k.to_string(), v, s))
        .collect();
        rows.extend(self.llm.entries("llm"));
        rows.extend(self.embedding.entries("embedding"));
        rows.extend(self.rerank.entries());
        rows.push((
            "ingest.max_parallel_insert".to_string(),
            json!(self.max_parallel_insert.value),
            self.max_parallel_insert.source.to_string(),
        ));
        rows.extend(self.storage.entries());
        rows.extend(self.parser.entries());
        rows
    }
}

/// The config file: `--config` > `LRT_CONFIG` > the platform default.
pub fn config_path(flags: &Overrides, env: &dyn Env) -> Sourced<PathBuf> {
    match (&flags.config, env.get("LRT_CONFIG")) {
        (Some(p), _) => Sourced::new(p.clone(), Source::Flag("--config")),
        (None, Some(p)) => Sourced::new(PathBuf::from(p), Source::Env("LRT_CONFIG")),
        (None, None) => Sourced::new(default_config_path(), Source::Default),
    }
}

/// The login name of the OS user, the identity of last resort: `USER`, `USERNAME` or
/// `LOGNAME`, else the name the password database gives the effective uid (containers, cron
/// and CI jobs often run without those variables).
pub fn os_user(env: &dyn Env) -> Option<String> {
    env.get("USER")
        .or_else(|| env.get("USERNAME"))
        .or_else(|| env.get("LOGNAME"))
        .or_else(current_account_name)
}

/// The name of the process's effective uid in the password database, if it has one.
fn current_account_name() -> Option<String> {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        account_name(unsafe { libc::geteuid() })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The password database's name for `uid` (`getpwuid_r`, thread-safe), if it has one.
#[cfg(unix)]
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        // SAFETY: passwd is plain old data; getpwuid_r fills it with pointers into `buf`,
        // which outlives every read below.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name points to a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return name.to_str().ok().filter(|n| !n.is_empty()).map(str::to_string);
    }
}

/// The one error for "no identity could be found", whichever command needed it.
pub fn no_identity() -> Error {
    Error::Unauthenticated(
        "cannot tell who you are: LRT_USER, the config file's identity.user, USER and LOGNAME are \
         unset and the OS account has no name; run `lrt init --user NAME` or set LRT_USER"
            .into(),
    )
}

fn read_file_config(path: &Path, explicit: bool) -> Result<(FileConfig, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let config = toml::from_str(&text)
                .map_err(|e| Error::Usage(format!("invalid config file {}: {e}", path.display())))?;
            Ok((config, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok((FileConfig::default(), false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Usage(format!(
            "config file {} does not exist (run `lrt init --config {}` to create it)",
            path.display(),
            path.display()
        ))),
        Err(e) => Err(Error::storage(format!("cannot read config file {}", path.display()), e)),
    }
}

/// What `lrt init` writes.
#[derive(Debug, Clone)]
pub struct InitValues {
    pub user: String,
    pub super_admins: Vec<String>,
    pub data_dir: PathBuf,
    pub multi_tenant: bool,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The commented config file `lrt init` writes.
pub fn render_config(values: &InitValues) -> String {
    let admins: Vec<String> = values.super_admins.iter().map(|u| toml_str(u)).collect();
    format!(
        r#"# lrt configuration, written by `lrt init`.
# Precedence: command-line flag > environment variable > this file > built-in default.
# `lrt config show` prints the effective value of every setting and where it came from.

[identity]
# The user lrt acts as on this machine; LRT_USER overrides it. On a local machine the data
# directory's file permissions are the real security boundary: anyone who can write it can
# edit the catalog. `lrt serve` authenticates every request with a JWT instead.
user = {user}

[storage]
# catalog.db and every knowledge base live here (LRT_DATA_DIR, --data-dir). Mode 0700.
data_dir = {data_dir}
# Where the catalog and the knowledge bases live: "sqlite" (files under data_dir, the default)
# or "postgres" (LRT_STORAGE), at database_url (LRT_DATABASE_URL; upstream's POSTGRES_*
# variables work too). With postgres, data_dir keeps only this process's derived vector indexes.
# backend = "postgres"
# database_url = "postgres://lrt@localhost:5432/lrt"
# TLS (POSTGRES_SSL_MODE, libpq's modes: disable, allow, prefer (default), require, verify-ca,
# verify-full) and its files (POSTGRES_SSL_ROOT_CERT, _CERT, _KEY, _CRL):
# ssl_mode = "verify-full"
# ssl_root_cert = "/etc/lrt/postgres-ca.pem"

[multi_tenancy]
# ENABLE_MULTI_TENANTS. false: commands that need a knowledge base and name none use the
# built-in `default` tenant and KB, like a plain single-workspace LightRAG. true: every such
# command must name a tenant and KB (--tenant/--kb, LRT_TENANT/LRT_KB, or `lrt use`).
enabled = {enabled}
# LIGHTRAG_MULTI_TENANT_STRICT: `lrt serve` requires X-Tenant-ID/X-KB-ID headers matching the path.
strict = true
# LIGHTRAG_REQUIRE_USER_AUTH: `lrt serve` requires a token on every request.
require_user_auth = true
# LRT_OPEN_WORKSPACE: in single-workspace mode, let every caller `lrt serve` authenticates in
# as admin of the built-in workspace. Off: over HTTP it takes a membership (`lrt member add`).
open_workspace = false
# Super-admins may do everything, and only they create tenants.
# LIGHTRAG_SUPER_ADMIN_USERS (comma-separated) adds to this list.
super_admins = [{admins}]

[auth]
# Used by `lrt serve`. Prefer the TOKEN_SECRET environment variable to a secret in this file;
# it must be at least 32 bytes.
# token_secret = ""
jwt_algorithm = "HS256"
token_expire_hours = 24

[llm]
# The chat model: "local" (offline and rule-based, the default), "openai" (any
# OpenAI-compatible server) or "ollama". Environment: LLM_BINDING, LLM_MODEL,
# LLM_BINDING_HOST, LLM_BINDING_API_KEY, LLM_TIMEOUT, MAX_ASYNC.
binding = "local"
# model = "gpt-4o-mini"            # default: the KB's llm_model setting
# host = "http://127.0.0.1:11434"
# api_key_env = "OPENAI_API_KEY"   # the environment variable that holds the key
# timeout_secs = 240
# max_async = 4

[embedding]
# Environment: EMBEDDING_BINDING, EMBEDDING_MODEL, EMBEDDING_DIM, EMBEDDING_BINDING_HOST,
# EMBEDDING_BINDING_API_KEY, EMBEDDING_TIMEOUT, EMBEDDING_BATCH_NUM, EMBEDDING_FUNC_MAX_ASYNC.
binding = "local"
# model = "bge-m3:latest"          # default: the KB's embedding_model setting
# dim = 1024                       # default: the KB's embedding_dim setting
# batch_size = 10
# max_async = 8

[rerank]
# Reorders the retrieved chunks before the token budget: "cohere", "jina", "aliyun" (their
# wire formats; vLLM and LiteLLM speak Cohere's), "local" (offline, lexical) or "null".
# Unset: "local" with the local chat model, else none. Environment: RERANK_BINDING,
# RERANK_MODEL, RERANK_BINDING_HOST, RERANK_BINDING_API_KEY, RERANK_TIMEOUT,
# MIN_RERANK_SCORE, RERANK_BY_DEFAULT, RERANK_ENABLE_CHUNKING, RERANK_MAX_TOKENS_PER_DOC.
# binding = "cohere"
# host = "http://127.0.0.1:8000/v1/rerank"
# api_key_env = "RERANK_BINDING_API_KEY"
# min_score = 0.0

[ingest]
# Documents an ingest run chunks and extracts at once (MAX_PARALLEL_INSERT). They merge into
# the graph one at a time, in the order given, whatever this is.
# max_parallel_insert = 3
# The document parser: "builtin" (offline, the default) or "docling", which sends PDFs,
# images, DOCX, PPTX, XLSX and HTML to a Docling-serve endpoint and ingests its Markdown.
# Environment: LRT_PARSER, DOCLING_ENDPOINT, DOCLING_API_KEY, DOCLING_TIMEOUT.
# parser = "docling"
# docling_endpoint = "http://127.0.0.1:5001"
# docling_api_key_env = "DOCLING_API_KEY"
# docling_timeout_secs = 300
"#,
        user = toml_str(&values.user),
        data_dir = toml_str(&values.data_dir.display().to_string()),
        enabled = values.multi_tenant,
        admins = admins.join(", "),
    )
}

/// Writes the config file atomically (temp file + rename), mode 0600 as it may hold a secret.
pub fn write_config(path: &Path, contents: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::layout::create_private_dir(dir)?;
    let tmp = dir.join(format!(".config.toml.{}.tmp", std::process::id()));
    std::fs::write(&tmp, contents).storage_ctx(|| format!("cannot write {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .storage_ctx(|| format!("cannot set permissions of {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).storage_ctx(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);
    impl Env for MapEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|s| s.to_string())
        }
    }

    fn load(file: Option<&str>, env: &[(&'static str, &'static str)], data_dir_flag: Option<&str>) -> Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
        }
        let flags = Overrides {
            config: Some(path),
            data_dir: data_dir_flag.map(PathBuf::from),
        };
        Settings::load(&flags, &MapEnv(env.iter().cloned().collect()))
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let file = "[storage]\ndata_dir = \"/from/file\"\n[identity]\nuser = \"filer\"\n";
        let s = load(Some(file), &[], None).unwrap();
        assert_eq!(s.data_dir.value, PathBuf::from("/from/file"));
        assert_eq!(s.user.value.as_deref(), Some("filer"));
        let s = load(Some(file), &[("LRT_DATA_DIR", "/from/env"), ("LRT_USER", "envy")], None).unwrap();
        assert_eq!(s.data_dir.value, PathBuf::from("/from/env"));
        assert_eq!(s.user.value.as_deref(), Some("envy"));
        let s = load(Some(file), &[("LRT_DATA_DIR", "/from/env")], Some("/from/flag")).unwrap();
        assert_eq!(s.data_dir.value, PathBuf::from("/from/flag"));
        assert_eq!(s.data_dir.source, Source::Flag("--data-dir"));
    }

    #[test]
    fn guide_defaults_and_env_names() {
        let s = load(Some(""), &[], None).unwrap();
        assert!(!s.multi_tenant.value && s.strict.value && s.require_user_auth.value);
        assert_eq!(s.super_admins.value, vec!["admin"]);
        assert_eq!(
            (s.jwt_algorithm.value.as_str(), s.token_expire_hours.value),
            ("HS256", 24)
        );
        let s = load(
            Some("[multi_tenancy]\nsuper_admins = [\"root\"]\n"),
            &[
                ("ENABLE_MULTI_TENANTS", "true"),
                ("LIGHTRAG_SUPER_ADMIN_USERS", "a, b,,root"),
            ],
            None,
        )
        .unwrap();
        assert!(s.multi_tenant.value);
        assert_eq!(s.super_admins.value, vec!["root", "a", "b"]);
        assert!(load(Some(""), &[("ENABLE_MULTI_TENANTS", "maybe")], None).is_err());
        assert_eq!(s.max_parallel_insert.value, DEFAULT_MAX_PARALLEL_INSERT);
        assert!(
            load(Some(""), &[("LIGHTRAG_MULTI_TENANT", "1")], None)
                .unwrap()
                .multi_tenant
                .value
        );
    }

    #[test]
    fn max_parallel_insert_comes_from_env_file_or_upstreams_default() {
        let s = load(Some(""), &[], None).unwrap();
        assert_eq!(
            (s.max_parallel_insert.value, &s.max_parallel_insert.source),
            (3, &Source::Default)
        );
        let file = "[ingest]\nmax_parallel_insert = 1\n";
        let s = load(Some(file), &[], None).unwrap();
        assert_eq!(
            (s.max_parallel_insert.value, &s.max_parallel_insert.source),
            (1, &Source::File)
        );
        let s = load(Some(file), &[("MAX_PARALLEL_INSERT", "5")], None).unwrap();
        assert_eq!(s.max_parallel_insert.value, 5);
        assert_eq!(s.max_parallel_insert.source, Source::Env("MAX_PARALLEL_INSERT"));
        let entry = s
            .entries()
            .into_iter()
            .find(|(k, _, _)| k == "ingest.max_parallel_insert");
        assert_eq!(entry.map(|(_, v, _)| v), Some(serde_json::json!(5)));
        assert!(load(Some(""), &[("MAX_PARALLEL_INSERT", "0")], None).is_err());
        assert!(load(Some(""), &[("MAX_PARALLEL_INSERT", "two")], None).is_err());
    }

    #[test]
    fn the_parser_comes_from_ingest_or_lrt_parser_and_docling_needs_an_endpoint() {
        let s = load(Some(""), &[], None).unwrap();
        assert_eq!(s.parser.kind.value, ParserKind::Builtin);
        assert!(matches!(s.parser.build().unwrap(), Parser::Builtin));
        let file = "[ingest]\nparser = \"docling\"\ndocling_endpoint = \"http://u:p@127.0.0.1:5001\"\ndocling_api_key_env = \"MY_KEY\"\n";
        let s = load(Some(file), &[("MY_KEY", "k1")], None).unwrap();
        assert_eq!(
            (s.parser.kind.value, &s.parser.kind.source),
            (ParserKind::Docling, &Source::File)
        );
        assert_eq!(s.parser.docling_api_key.value.as_deref(), Some("k1"));
        assert!(matches!(s.parser.build().unwrap(), Parser::Docling(d) if d.endpoint() == "http://127.0.0.1:5001"));
        let shown: Vec<_> = s
            .entries()
            .into_iter()
            .filter(|(k, _, _)| k.starts_with("ingest.docling"))
            .collect();
        let text = format!("{shown:?}");
        assert!(!text.contains("k1") && !text.contains("u:p@"), "{text}");
        let s = load(Some(file), &[("LRT_PARSER", "builtin")], None).unwrap();
        assert_eq!(s.parser.kind.source, Source::Env("LRT_PARSER"));
        let s = load(Some(""), &[("LRT_PARSER", "docling")], None).unwrap();
        assert!(s.parser.build().unwrap_err().to_string().contains("DOCLING_ENDPOINT"));
        let s = load(
            Some(""),
            &[("LRT_PARSER", "docling"), ("DOCLING_ENDPOINT", "ftp://x")],
            None,
        )
        .unwrap();
        assert!(s.parser.build().is_err());
        assert!(load(Some(""), &[("LRT_PARSER", "ocr")], None).is_err());
        assert!(load(Some("[ingest]\nparser = \"ocr\"\n"), &[], None).is_err());
    }

    #[test]
    fn rerank_settings_take_upstreams_variables_and_refuse_bad_values() {
        let s = load(Some(""), &[], None).unwrap();
        let r = &s.rerank;
        assert_eq!(r.binding.value, None);
        assert_eq!(r.effective_binding(Binding::Local), RerankBinding::Local);
        assert_eq!(r.effective_binding(Binding::Openai), RerankBinding::Null);
        assert_eq!(
            (
                r.timeout_secs.value,
                r.min_score.value,
                r.by_default.value,
                r.enable_chunking.value,
                r.max_tokens_per_doc.value
            ),
            (30, 0.0, true, false, 4096)
        );
        let file = "[rerank]\nbinding = \"jina\"\nmin_score = 0.3\napi_key_env = \"MY_RERANK_KEY\"\n";
        let s = load(Some(file), &[("MY_RERANK_KEY", "k1")], None).unwrap();
        assert_eq!(s.rerank.binding.value, Some(RerankBinding::Jina));
        assert_eq!(
            (s.rerank.min_score.value, &s.rerank.min_score.source),
            (0.3, &Source::File)
        );
        assert_eq!(s.rerank.api_key.value.as_deref(), Some("k1"));
        let env = [
            ("RERANK_BINDING", "null"),
            ("MIN_RERANK_SCORE", "0.7"),
            ("RERANK_BY_DEFAULT", "false"),
        ];
        let s = load(Some(file), &env, None).unwrap();
        assert_eq!(s.rerank.effective_binding(Binding::Local), RerankBinding::Null);
        assert_eq!(s.rerank.min_score.source, Source::Env("MIN_RERANK_SCORE"));
        assert!(!s.rerank.by_default.value);
        let rows = s.entries();
        assert!(rows.iter().any(|(k, v, _)| k == "rerank.binding" && v == "null"));
        for (var, value) in [
            ("RERANK_BINDING", "voyage"),
            ("MIN_RERANK_SCORE", "nan"),
            ("MIN_RERANK_SCORE", "high"),
            ("RERANK_MAX_TOKENS_PER_DOC", "0"),
            ("RERANK_TIMEOUT", "-1"),
            ("RERANK_ENABLE_CHUNKING", "maybe"),
        ] {
            let err = load(Some(""), &[(var, value)], None).unwrap_err().to_string();
            assert!(err.contains(var), "{var}={value}: {err}");
        }
        assert!(load(Some("[rerank]\nbinding = \"x\"\n"), &[], None).is_err());
        assert!(load(Some("[rerank]\nmodle = \"x\"\n"), &[], None).is_err());
    }

    #[test]
    fn unknown_keys_and_missing_explicit_file_are_errors() {
        assert!(load(Some("[identity]\nusr = \"x\"\n"), &[], None).is_err());
        assert!(load(None, &[], None).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn os_account_names_come_from_the_password_database() {
        assert_eq!(account_name(0).as_deref(), Some("root"));
        assert_eq!(account_name(4_000_000_000), None);
        // With no variables set, the effective uid's account still names the user.
        let expected = account_name(unsafe { libc::geteuid() });
        assert_eq!(os_user(&MapEnv(HashMap::new())), expected);
        assert_eq!(
            os_user(&MapEnv([("LOGNAME", "logan")].into_iter().collect())).as_deref(),
            Some("logan")
        );
    }

    #[test]
    fn rendered_config_parses_back() {
        let v = InitValues {
            user: "al\"ice".into(),
            super_admins: vec!["al\"ice".into(), "bob".into()],
            data_dir: PathBuf::from("/tmp/x y"),
            multi_tenant: true,
        };
        let parsed: FileConfig = toml::from_str(&render_config(&v)).unwrap();
        assert_eq!(parsed.identity.user.as_deref(), Some("al\"ice"));
        assert_eq!(parsed.multi_tenancy.super_admins.unwrap().len(), 2);
        assert_eq!(parsed.multi_tenancy.enabled, Some(true));
        // Commented out: upstream's default applies.
        assert_eq!(parsed.ingest.max_parallel_insert, None);
        assert!(render_config(&v).contains("# max_parallel_insert = 3"));
    }
}
