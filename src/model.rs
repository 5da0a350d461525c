//! The data models of the multi-tenancy guide, with its JSON field names and defaults.
//!
//! Configuration is stored as *overrides* (a sparse JSON object) on each tenant and KB, so a
//! default changed in a later lrt release reaches every tenant that did not pin it. The
//! effective value is always `defaults ⊕ tenant overrides ⊕ KB overrides`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::authz::Role;
use crate::error::{Error, Result};

/// A JSON object of settings overrides, as stored in the catalog.
pub type Overrides = Map<String, Value>;

/// Model and query configuration of a tenant (the guide's `TenantConfig`, with its defaults).
/// A KB's `config` holds overrides of these same fields (the guide's `KBConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConfig {
    pub llm_model: String,
    pub embedding_model: String,
    pub rerank_model: Option<String>,
    pub llm_model_kwargs: Map<String, Value>,
    pub llm_temperature: f64,
    pub llm_max_tokens: u32,
    pub embedding_dim: u32,
    pub embedding_batch_num: u32,
    pub top_k: u32,
    pub chunk_top_k: u32,
    pub cosine_threshold: f64,
    pub enable_llm_cache: bool,
    pub enable_rerank: bool,
    pub chunk_size: u32,
    pub chunk_overlap: u32,
    pub custom_metadata: Map<String, Value>,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            llm_model: "gpt-4o-mini".into(),
            embedding_model: "bge-m3:latest".into(),
            rerank_model: None,
            llm_model_kwargs: Map::new(),
            llm_temperature: 1.0,
            llm_max_tokens: 4096,
            embedding_dim: 1024,
            embedding_batch_num: 10,
            top_k: 40,
            chunk_top_k: 20,
            cosine_threshold: 0.2,
            enable_llm_cache: true,
            enable_rerank: true,
            chunk_size: 1200,
            chunk_overlap: 100,
            custom_metadata: Map::new(),
        }
    }
}

impl TenantConfig {
    fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (name, value) in [
            ("llm_model", &self.llm_model),
            ("embedding_model", &self.embedding_model),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{name} must not be empty"));
            }
        }
        for (name, value, min) in [
            ("llm_max_tokens", self.llm_max_tokens, 1),
            ("embedding_dim", self.embedding_dim, 1),
            ("embedding_batch_num", self.embedding_batch_num, 1),
            ("top_k", self.top_k, 1),
            ("chunk_top_k", self.chunk_top_k, 1),
            ("chunk_size", self.chunk_size, 1),
        ] {
            if value < min {
                problems.push(format!("{name} must be at least {min}"));
            }
        }
        if self.embedding_dim > 65_536 {
            problems.push("embedding_dim must be at most 65536".into());
        }
        if !(0.0..=1.0).contains(&self.cosine_threshold) {
            problems.push("cosine_threshold must be between 0 and 1".into());
        }
        if !(0.0..=2.0).contains(&self.llm_temperature) {
            problems.push("llm_temperature must be between 0 and 2".into());
        }
        if self.chunk_overlap >= self.chunk_size {
            problems.push(format!(
                "chunk_overlap ({}) must be smaller than chunk_size ({})",
                self.chunk_overlap, self.chunk_size
            ));
        }
        problems_to_result("configuration", problems)
    }
}

/// Resource limits of a tenant (the guide's `ResourceQuota`, with its defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceQuota {
    pub max_documents: u64,
    pub max_storage_gb: f64,
    pub max_concurrent_queries: u32,
    pub max_monthly_api_calls: u64,
    pub max_kb_per_tenant: u32,
    pub max_entities_per_kb: u64,
    pub max_relationships_per_kb: u64,
    /// Model tokens (prompt + completion + embedding) per calendar month; 0: no limit. Not in
    /// the guide: lrt's own, for metered model servers.
    pub max_monthly_tokens: u64,
}

impl Default for ResourceQuota {
    fn default() -> Self {
        ResourceQuota {
            max_documents: 10_000,
            max_storage_gb: 100.0,
            max_concurrent_queries: 10,
            max_monthly_api_calls: 100_000,
            max_kb_per_tenant: 50,
            max_entities_per_kb: 100_000,
            max_relationships_per_kb: 500_000,
            max_monthly_tokens: 0,
        }
    }
}

impl ResourceQuota {
    fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if !(self.max_storage_gb.is_finite() && self.max_storage_gb >= 0.0) {
            problems.push("max_storage_gb must be a non-negative number".to_string());
        }
        problems_to_result("quota", problems)
    }
}

fn problems_to_result(what: &str, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(format!("invalid {what}: {}", problems.join("; "))))
    }
}

/// Which settings object a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSection {
    Config,
    Quota,
}

fn defaults_of(section: SettingsSection) -> Map<String, Value> {
    let value = match section {
        SettingsSection::Config => serde_json::to_value(TenantConfig::default()),
        SettingsSection::Quota => serde_json::to_value(ResourceQuota::default()),
    };
    match value {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("settings structs serialize to objects"),
    }
}

/// All keys accepted by `--set` for a section, for error messages and completions.
pub fn known_keys(section: SettingsSection) -> Vec<String> {
    defaults_of(section).keys().cloned().collect()
}

/// Which section a key belongs to, if any.
pub fn section_of(key: &str) -> Option<SettingsSection> {
    [SettingsSection::Config, SettingsSection::Quota]
        .into_iter()
        .find(|s| defaults_of(*s).contains_key(key))
}

/// Parses the text of a `--set key=value` into the JSON type of that key's default, so
/// `top_k=abc` is refused here, before anything is written.
pub fn parse_setting(section: SettingsSection, key: &str, raw: &str) -> Result<Value> {
    let defaults = defaults_of(section);
    let Some(default) = defaults.get(key) else {
        return Err(unknown_key(section, key));
    };
    let bad = |expected: &str| Error::Usage(format!("invalid value {raw:?} for {key}: expected {expected}"));
    let raw_trim = raw.trim();
    Ok(match default {
        Value::Bool(_) => match raw_trim.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Value::Bool(true),
            "false" | "no" | "off" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Value::Number(n) if n.is_u64() => {
            let v: u64 = raw_trim.parse().map_err(|_| bad("a non-negative whole number"))?;
            Value::from(v)
        }
        Value::Number(_) => {
            let v: f64 = raw_trim.parse().map_err(|_| bad("a number"))?;
            if !v.is_finite() {
                return Err(bad("a finite number"));
            }
            Value::from(v)
        }
        Value::Object(_) => match serde_json::from_str::<Value>(raw_trim) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err(bad("a JSON object, e.g. '{\"key\": \"value\"}'")),
        },
        // Strings and optional strings (`rerank_model`): "" or "none" clears an optional one.
        _ if key == "rerank_model" && (raw_trim.is_empty() || raw_trim.eq_ignore_ascii_case("none")) => Value::Null,
        _ => Value::String(raw.to_string()),
    })
}

fn unknown_key(section: SettingsSection, key: &str) -> Error {
    let what = match section {
        SettingsSection::Config => "configuration",
        SettingsSection::Quota => "quota",
    };
    Error::Usage(format!(
        "unknown {what} key {key:?}; known keys: {}",
        known_keys(section).join(", ")
    ))
}

/// Checks that every key of stored or proposed overrides is known and well-typed.
pub fn check_overrides(section: SettingsSection, overrides: &Overrides) -> Result<()> {
    let defaults = defaults_of(section);
    for key in overrides.keys() {
        if !defaults.contains_key(key) {
            return Err(unknown_key(section, key));
        }
    }
    match section {
        SettingsSection::Config => effective_config(&[overrides]).map(drop),
        SettingsSection::Quota => effective_quota(overrides).map(drop),
    }
}

fn layered<T: serde::de::DeserializeOwned>(section: SettingsSection, layers: &[&Overrides]) -> Result<T> {
    let mut merged = defaults_of(section);
    for layer in layers {
        for (k, v) in layer.iter() {
            merged.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(Value::Object(merged)).map_err(|e| Error::Usage(format!("invalid settings: {e}")))
}

/// `defaults ⊕ layers[0] ⊕ layers[1] …`, validated.
pub fn effective_config(layers: &[&Overrides]) -> Result<TenantConfig> {
    let config: TenantConfig = layered(SettingsSection::Config, layers)?;
    config.validate()?;
    Ok(config)
}

/// `defaults ⊕ overrides`, validated.
pub fn effective_quota(overrides: &Overrides) -> Result<ResourceQuota> {
    let quota: ResourceQuota = layered(SettingsSection::Quota, &[overrides])?;
    quota.validate()?;
    Ok(quota)
}

/// A tenant as the guide describes it; `config` and `quota` are effective values.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub tenant_id: String,
    pub tenant_name: String,
    pub description: Option<String>,
    pub config: TenantConfig,
    pub quota: ResourceQuota,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub metadata: Map<String, Value>,
    pub kb_count: u64,
    pub total_documents: u64,
    pub total_storage_mb: f64,
    /// This month's API calls against `max_monthly_api_calls`; on `tenant show` only (it is
    /// counted per month, so it is read separately from the tenant row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ApiUsage>,
}

/// A tenant's API calls in the current calendar month (UTC). One `lrt query` or one
/// `lrt ingest` run is one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiUsage {
    /// `YYYY-MM`, UTC.
    pub period: String,
    pub api_calls: u64,
    pub max_monthly_api_calls: u64,
    /// Calls left this month (0 when the quota is used up).
    pub remaining: u64,
    /// The first instant of next month (UTC), when the count starts again at 0.
    pub resets_at: String,
    /// This month's model tokens, all KBs together (cached answers cost none).
    pub tokens: crate::llm::usage::TokenCounts,
    /// The effective `max_monthly_tokens` (0: no limit).
    pub max_monthly_tokens: u64,
}

/// A knowledge base as the guide describes it. `config` holds only the KB's own overrides;
/// `effective_config` (on `kb show`) is what the engine will use.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeBase {
    pub kb_id: String,
    pub tenant_id: String,
    pub kb_name: String,
    pub description: Option<String>,
    pub config: Overrides,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_config: Option<TenantConfig>,
    /// Who answers for this KB (`kb show` only): the providers the configuration picks,
    /// which with the `local` binding are not the llm_model/embedding_model settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub providers: Option<KbProviders>,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub document_count: u64,
    pub entity_count: u64,
    pub relation_count: u64,
    pub storage_size_mb: f64,
}

/// The language model and the embedding model a KB's queries and ingests use.
#[derive(Debug, Clone, Serialize)]
pub struct KbProviders {
    pub llm: crate::llm::ModelIdentity,
    pub embedding: crate::llm::ModelIdentity,
}

/// One row of `tenant_memberships`.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub tenant_id: String,
    pub user_id: String,
    pub role: Role,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
}

/// The outcome recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
        }
    }
}

/// One row of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub user_id: String,
    /// The super-admin who ran the command with `--as user_id`, if any.
    pub real_user: Option<String>,
    pub action: String,
    pub tenant_id: Option<String>,
    pub kb_id: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
    /// The API key the request authenticated with (`user_id` is then its creator), if any.
    pub api_key_id: Option<String>,
}

/// An API key as `key list` shows it: never the secret, only the prefix that identifies it.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub key_id: uuid::Uuid,
    pub name: Option<String>,
    /// The key's first characters (`lrt_` and 12 more), enough to recognise it.
    pub prefix: String,
    pub tenant_id: uuid::Uuid,
    /// Set for a KB-scoped key.
    pub kb_id: Option<uuid::Uuid>,
    /// The ceiling; requests get the lower of it and the creator's current role.
    pub role: Role,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

/// Bytes to the guide's `*_storage_mb` figures.
pub fn bytes_to_mb(bytes: u64) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_by_type_of_default() {
        assert_eq!(
            parse_setting(SettingsSection::Config, "top_k", "50").unwrap(),
            Value::from(50u64)
        );
        assert!(parse_setting(SettingsSection::Config, "top_k", "-1").is_err());
        assert!(parse_setting(SettingsSection::Config, "top_k", "abc").is_err());
        assert_eq!(
            parse_setting(SettingsSection::Config, "enable_rerank", "false").unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            parse_setting(SettingsSection::Config, "rerank_model", "none").unwrap(),
            Value::Null
        );
        assert!(parse_setting(SettingsSection::Config, "llm_model_kwargs", "[1]").is_err());
        assert!(parse_setting(SettingsSection::Config, "nope", "1").is_err());
        assert_eq!(section_of("max_kb_per_tenant"), Some(SettingsSection::Quota));
        assert_eq!(section_of("top_k"), Some(SettingsSection::Config));
        assert_eq!(section_of("bogus"), None);
    }

    #[test]
    fn layers_override_in_order() {
        let mut tenant = Overrides::new();
        tenant.insert("top_k".into(), Value::from(10));
        tenant.insert("chunk_top_k".into(), Value::from(5));
        let mut kb = Overrides::new();
        kb.insert("top_k".into(), Value::from(7));
        let eff = effective_config(&[&tenant, &kb]).unwrap();
        assert_eq!((eff.top_k, eff.chunk_top_k, eff.chunk_size), (7, 5, 1200));
    }

    #[test]
    fn cross_field_rules_are_checked() {
        let mut o = Overrides::new();
        o.insert("chunk_overlap".into(), Value::from(1200));
        assert!(effective_config(&[&o]).is_err());
        o.insert("chunk_overlap".into(), Value::from(100));
        o.insert("cosine_threshold".into(), Value::from(1.5));
        assert!(effective_config(&[&o]).is_err());
    }
}
