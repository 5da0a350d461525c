//! Query keywords: the prompt (in lrt's own words) for upstream's JSON contract
//! `{"high_level_keywords": [...], "low_level_keywords": [...]}`, the tolerant reader of the
//! answer (upstream's `_parse_keywords_payload`, checked against `keywords_parse.jsonl`), and
//! upstream's rule for a query that yields no keywords.

use serde_json::Value;

use crate::rag::{normalize, repair};

/// Upstream's threshold: a query shorter than this that yields no keywords is used as its
/// own low-level keyword; a longer one gets the no-context answer.
pub const SHORT_QUERY_CHARS: usize = 50;

/// The two keyword lists of a query.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Keywords {
    /// Themes and concepts: matched against relation vectors (global retrieval).
    pub high: Vec<String>,
    /// Specific names and terms: matched against entity vectors (local retrieval).
    pub low: Vec<String>,
}

impl Keywords {
    pub fn is_empty(&self) -> bool {
        self.high.is_empty() && self.low.is_empty()
    }

    /// The answer JSON as upstream caches it (`json.dumps` with Python's separators).
    pub fn to_cache_json(&self) -> String {
        crate::rag::pyjson::dumps(&serde_json::json!({
            "high_level_keywords": self.high,
            "low_level_keywords": self.low,
        }))
    }
}

/// The single user message asking for the keywords of `query` (no system prompt, no history).
pub fn prompt(query: &str, language: &str) -> String {
    format!(
        "You pick search keywords for a question that will be answered from a knowledge graph.

Return two lists:
- \"high_level_keywords\": the broad themes, topics or kinds of question it asks about;
- \"low_level_keywords\": the specific things it names: people, organisations, places, products, \
terms, dates.

Guidelines:
1. Take keywords from the question only; add nothing it does not ask about.
2. Prefer a meaningful phrase (\"carbon pricing\") to its separate words; never list a keyword twice.
3. If the question is small talk or has no real topic (\"hi\", \"thanks\"), return both lists empty.
4. Write the keywords in {language}, but keep names exactly as written in the question.
5. Answer with one JSON object and nothing else: no prose, no code fence. It starts with {{ and \
ends with }}, for example {{\"high_level_keywords\": [\"theme\"], \"low_level_keywords\": [\"name\"]}}

Question: {query}

JSON:"
    )
}

/// Reads a keyword answer as upstream does: think tags removed, one markdown fence stripped,
/// strict JSON or else repaired JSON. Returns `None` when the payload is not a JSON object
/// (upstream's `valid == false`).
pub fn parse(llm_output: &str) -> Option<Keywords> {
    let text = normalize::remove_think_tags(llm_output);
    let body = strip_fence(&text);
    let payload: Value = serde_json::from_str(body).unwrap_or_else(|_| repair::loads(body));
    let Value::Object(map) = payload else {
        return None;
    };
    Some(Keywords {
        high: read_list(map.get("high_level_keywords")),
        low: read_list(map.get("low_level_keywords")),
    })
}

/// One keyword field: a list keeps its non-empty stripped strings; a string is split on
/// newlines, commas and semicolons; anything else is empty.
fn read_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s
            .split(['\n', ',', ';'])
            .map(normalize::py_strip)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(normalize::py_strip)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The inside of one surrounding markdown fence (```` ``` ```` or ```` ```json ````), else the
/// text unchanged.
fn strip_fence(text: &str) -> &str {
    let t = text.trim_start();
    let Some(inner) = t.strip_prefix("```") else {
        return text;
    };
    let Some(inner) = inner.trim_end().strip_suffix("```") else {
        return text;
    };
    let inner = inner
        .strip_prefix("json")
        .or_else(|| inner.strip_prefix("JSON"))
        .unwrap_or(inner);
    inner.trim()
}

/// What to retrieve with when the model found no keywords: upstream uses a short query as its
/// own low-level keyword and gives up on a long one (`None`).
pub fn fallback(query: &str, keywords: Keywords) -> Option<Keywords> {
    if !keywords.is_empty() {
        return Some(keywords);
    }
    (query.chars().count() < SHORT_QUERY_CHARS).then(|| Keywords {
        high: Vec::new(),
        low: vec![query.to_string()],
    })
}

/// Splits a `--hl-keywords`/`--ll-keywords` value on commas.
pub fn from_flag(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_follows_the_query_length() {
        let empty = Keywords::default();
        assert_eq!(fallback("who is Ada?", empty.clone()).unwrap().low, ["who is Ada?"]);
        assert_eq!(fallback(&"x".repeat(50), empty), None);
        let some = Keywords {
            high: vec!["a".into()],
            low: vec![],
        };
        assert_eq!(fallback(&"x".repeat(80), some.clone()), Some(some));
    }

    #[test]
    fn cache_json_uses_python_separators() {
        let k = Keywords {
            high: vec!["a".into()],
            low: vec!["b".into(), "c".into()],
        };
        assert_eq!(
            k.to_cache_json(),
            r#"{"high_level_keywords": ["a"], "low_level_keywords": ["b", "c"]}"#
        );
        assert_eq!(parse(&k.to_cache_json()), Some(k));
        assert_eq!(from_flag(" a, ,b c ,"), ["a", "b c"]);
    }
}
