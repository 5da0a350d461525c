//! Rule-based query keywords, answered as LightRAG's keyword JSON.
//!
//! Low-level keywords are the query's specific things: quoted phrases, proper nouns and
//! acronyms, then pairs of adjacent content words ("coral reefs") and the remaining content
//! words. High-level keywords are its themes: abstract nouns ("-tion", "-ment", "-ism", …) and
//! common verbs turned into nouns ("discovered" → "discovery"); a query without either gets its
//! content phrases as themes. Greetings and stopword-only queries give two empty lists.

use serde_json::json;

use super::extract::{Sentence, content_word, mentions};
use super::{STARTER, STOP, class};

const MAX_KEYWORDS: usize = 8;

const ABSTRACT_SUFFIXES: [&str; 14] = [
    "tion", "sion", "ment", "ism", "ity", "ance", "ence", "ness", "ship", "ogy", "ics", "ure", "acy", "ery",
];

const ABSTRACT_NOUNS: &str = "history role impact effect effects economy policy strategy trend trends theme \
    cause causes risk risks growth research science culture health power trade energy design security privacy \
    law rights education technology industry society environment impact influence benefit benefits purpose \
    origin origins future progress work legacy method methods approach";

/// Verbs and their nouns.
const NOMINALISED: &[(&str, &str)] = &[
    ("affect", "effect"),
    ("cause", "cause"),
    ("influence", "influence"),
    ("impact", "impact"),
    ("compare", "comparison"),
    ("relate", "relationship"),
    ("develop", "development"),
    ("discover", "discovery"),
    ("invent", "invention"),
    ("create", "creation"),
    ("produce", "production"),
    ("grow", "growth"),
    ("improve", "improvement"),
    ("reduce", "reduction"),
    ("decide", "decision"),
    ("fail", "failure"),
    ("succeed", "success"),
    ("govern", "governance"),
    ("regulate", "regulation"),
    ("found", "founding"),
    ("lead", "leadership"),
    ("manage", "management"),
    ("compete", "competition"),
    ("collaborate", "collaboration"),
    ("differ", "difference"),
    ("evolve", "evolution"),
    ("connect", "connection"),
    ("contribute", "contribution"),
    ("build", "construction"),
    ("explore", "exploration"),
    ("study", "research"),
    ("win", "achievement"),
    ("invest", "investment"),
    ("acquire", "acquisition"),
    ("merge", "merger"),
    ("expand", "expansion"),
    ("protect", "protection"),
    ("treat", "treatment"),
    ("teach", "education"),
    ("learn", "learning"),
    ("predict", "prediction"),
    ("analyze", "analysis"),
    ("analyse", "analysis"),
    ("solve", "solution"),
    ("interact", "interaction"),
    ("depend", "dependence"),
    ("fund", "funding"),
    ("migrate", "migration"),
    ("pollute", "pollution"),
];

/// Verbs that carry no topic ("What role did X play?").
const EMPTY_VERBS: &str = "play make get take happen become mean come go say know think see want look give \
    help need feel try call keep begin seem show hear run live believe bring provide include continue set \
    exist occur involve contain allow require";

pub(super) fn keywords(query: &str) -> String {
    let (high, low) = split(query);
    json!({"high_level_keywords": high, "low_level_keywords": low}).to_string()
}

/// The query's (high-level, low-level) keywords.
fn split(query: &str) -> (Vec<String>, Vec<String>) {
    let mut low = Vec::new();
    for q in quoted(query) {
        add(&mut low, q);
    }
    let sents = Sentence::split(query);
    let named = mentions(&sents, true);
    for m in &named {
        add(&mut low, &m.name);
    }

    // Themes with their place in the query, to keep the query's order.
    let mut themes: Vec<((usize, usize), String)> = Vec::new();
    let mut phrases = Vec::new();
    for (si, s) in sents.iter().enumerate() {
        let in_name = |i: usize| named.iter().any(|m| m.sent == si && (m.first..=m.last).contains(&i));
        // Content words (index, word); verbs go to the themes and split phrases.
        let mut words: Vec<(usize, String)> = Vec::new();
        for (i, t) in s.toks.iter().enumerate() {
            if in_name(i) {
                continue;
            }
            let Some(w) = content_word(&t.text.to_lowercase()).filter(|w| class(w) & (STOP | STARTER) == 0) else {
                continue;
            };
            if let Some(noun) = nominalise(&w) {
                themes.push(((si, i), noun.to_string()));
            } else if !is_empty_verb(&w) {
                words.push((i, w));
            }
        }
        // Adjacent content words pair up ("coral reefs"); the rest stand alone. A phrase with an
        // abstract word is a theme ("economic policies"); a lone abstract word only a theme.
        let mut j = 0;
        while j < words.len() {
            let (a, wa) = &words[j];
            match words.get(j + 1) {
                Some((b, wb)) if *b == a + 1 && !s.toks[*b].gap => {
                    let phrase = format!("{wa} {wb}");
                    if is_abstract(wa) || is_abstract(wb) {
                        themes.push(((si, *a), phrase.clone()));
                    }
                    phrases.push(phrase);
                    j += 2;
                }
                _ if is_abstract(wa) => {
                    themes.push(((si, *a), wa.clone()));
                    j += 1;
                }
                _ => {
                    phrases.push(wa.clone());
                    j += 1;
                }
            }
        }
    }
    for p in &phrases {
        add(&mut low, p);
    }
    themes.sort_by_key(|t| t.0);
    let mut high = Vec::new();
    for (_, t) in &themes {
        add(&mut high, t);
    }
    if high.is_empty() {
        for p in phrases.iter().take(3) {
            add(&mut high, p);
        }
    }
    high.truncate(MAX_KEYWORDS);
    low.truncate(MAX_KEYWORDS);
    (high, low)
}

/// Adds a keyword unless it is already there (case-insensitively).
fn add(list: &mut Vec<String>, k: &str) {
    let k = k.trim();
    if !k.is_empty() && !list.iter().any(|x| x.eq_ignore_ascii_case(k)) {
        list.push(k.to_string());
    }
}

/// Phrases in double quotes, straight or curly.
fn quoted(query: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = query;
    while let Some(open) = rest.find(['"', '“']) {
        let after = &rest[open + rest[open..].chars().next().map_or(1, char::len_utf8)..];
        let Some(close) = after.find(['"', '”']) else { break };
        let inner = after[..close].trim();
        if !inner.is_empty() && inner.chars().count() <= 80 {
            out.push(inner);
        }
        rest = &after[close + 1..];
    }
    out
}

/// The base forms a word may inflect: "discovered" → "discover", "studies" → "study".
fn bases(w: &str) -> Vec<String> {
    let mut out = vec![w.to_string()];
    for (suffix, repl) in [
        ("ies", "y"),
        ("ied", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("d", ""),
        ("ing", ""),
        ("ing", "e"),
    ] {
        if let Some(stem) = w.strip_suffix(suffix).filter(|s| s.len() > 2) {
            out.push(format!("{stem}{repl}"));
        }
    }
    out
}

fn nominalise(w: &str) -> Option<&'static str> {
    bases(w)
        .iter()
        .find_map(|b| NOMINALISED.iter().find(|(verb, _)| verb == b).map(|(_, noun)| *noun))
}

fn is_empty_verb(w: &str) -> bool {
    bases(w).iter().any(|b| EMPTY_VERBS.split_whitespace().any(|v| v == b))
}

fn is_abstract(w: &str) -> bool {
    let nouns = bases(w);
    ABSTRACT_NOUNS.split_whitespace().any(|n| nouns.iter().any(|b| b == n))
        || (w.chars().count() >= 6 && ABSTRACT_SUFFIXES.iter().any(|s| w.trim_end_matches('s').ends_with(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(q: &str) -> (Vec<String>, Vec<String>) {
        let v: serde_json::Value = serde_json::from_str(&keywords(q)).unwrap();
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        (list("high_level_keywords"), list("low_level_keywords"))
    }

    #[test]
    fn named_things_are_low_level_and_themes_high_level() {
        let (high, low) = kw("What role did Marie Curie play in the discovery of radium?");
        assert_eq!(high, ["role", "discovery"]);
        assert_eq!(low, ["Marie Curie", "radium"]);

        let (high, low) = kw("How does climate change affect coral reefs near Australia?");
        assert_eq!(high, ["effect"]);
        assert_eq!(low, ["Australia", "climate change", "coral reefs"]);

        let (high, low) = kw("Compare the economic policies of the \"Bank of England\" and the ECB");
        assert_eq!(high, ["economic policies"]);
        assert_eq!(low, ["Bank of England", "ECB", "economic policies"]);

        let (high, low) = kw("What are the main themes of the story and how do the characters interact?");
        assert_eq!(high, ["main themes", "interaction"]);
        assert_eq!(low, ["main themes", "story", "characters"]);

        let (high, low) = kw("who founded lightrag and why");
        assert_eq!(high, ["founding"]);
        assert_eq!(low, ["lightrag"]);
    }

    #[test]
    fn trivial_queries_give_empty_lists() {
        assert_eq!(
            keywords("hello"),
            r#"{"high_level_keywords":[],"low_level_keywords":[]}"#
        );
        assert_eq!(kw("What is it?"), (vec![], vec![]));
        assert_eq!(kw(""), (vec![], vec![]));
    }
}
