//! Extractive answers: the sentences of the retrieved chunks that share the most (rare)
//! terms with the question and its keywords, best first, each cited with its chunk's `[n]`
//! reference, then a `### References` list. No generation, so every sentence of an answer is
//! text of the knowledge base.

use std::collections::{HashMap, HashSet};

use super::{STARTER, STOP, class, sentences, squash};

/// At most this many sentences in an answer.
const MAX_SENTENCES: usize = 3;
/// A sentence joins the best one only if it scores at least this share of the best score.
const MIN_SHARE: f64 = 0.5;

/// What the offline provider says when the context holds no sentence about the question.
pub(super) const NOT_FOUND: &str = "I could not find an answer to this question in the knowledge base.";

pub(super) fn answer(
    query: &str,
    keywords: &[String],
    chunks: &[(String, String)],
    references: &[(String, String)],
) -> String {
    let mut wanted: HashSet<String> = terms(query);
    for k in keywords {
        wanted.extend(terms(k));
    }
    // Every sentence with its chunk's reference, in context order.
    let mut seen = HashSet::new();
    let sents: Vec<(String, &str)> = chunks
        .iter()
        .flat_map(|(reference, content)| {
            sentences(content)
                .into_iter()
                .map(move |s| (squash(s), reference.as_str()))
        })
        .filter(|(s, _)| !s.is_empty() && seen.insert(s.to_lowercase()))
        .collect();
    let sent_terms: Vec<HashSet<String>> = sents.iter().map(|(s, _)| terms(s)).collect();
    // Rarer terms say more about which sentence answers: weight by inverse sentence frequency.
    let mut df: HashMap<&str, usize> = HashMap::new();
    for t in &sent_terms {
        for w in t {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    let n = sents.len() as f64;
    let score = |t: &HashSet<String>| -> f64 {
        t.iter()
            .filter(|w| wanted.contains(*w))
            .map(|w| (1.0 + n / df[w.as_str()] as f64).ln())
            .sum()
    };
    let mut ranked: Vec<(f64, usize)> = sent_terms
        .iter()
        .enumerate()
        .map(|(i, t)| (score(t), i))
        .filter(|(s, _)| *s > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let Some(&(best, _)) = ranked.first() else {
        return NOT_FOUND.to_string();
    };
    let chosen: Vec<usize> = ranked
        .iter()
        .take_while(|(s, _)| *s >= best * MIN_SHARE)
        .take(MAX_SENTENCES)
        .map(|&(_, i)| i)
        .collect();

    let mut lines = Vec::new();
    let mut cited: Vec<&str> = Vec::new();
    for &i in &chosen {
        let (text, reference) = &sents[i];
        if reference.is_empty() {
            lines.push(text.clone());
        } else {
            lines.push(format!("{text} [{reference}]"));
            if !cited.contains(reference) {
                cited.push(reference);
            }
        }
    }
    let mut out = lines.join("\n");
    let listed: Vec<String> = cited
        .iter()
        .filter_map(|r| references.iter().find(|(id, _)| id == r))
        .map(|(id, path)| format!("* [{id}] {path}"))
        .collect();
    if !listed.is_empty() {
        out.push_str("\n\n### References\n\n");
        out.push_str(&listed.join("\n"));
    }
    out
}

/// The distinct content terms of a text: lowercase words of three or more letters that are
/// not function words, reduced to a rough root ("discovered" → "discover").
fn terms(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 2 && class(w) & (STOP | STARTER) == 0)
        .map(|w| root(&w).to_string())
        .collect()
}

fn root(w: &str) -> &str {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = w.strip_suffix(suffix)
            && stem.chars().count() >= 4
        {
            return stem;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks() -> Vec<(String, String)> {
        vec![
            (
                "1".into(),
                "Marie Curie was a physicist. In 1898 Marie Curie discovered polonium and radium.".into(),
            ),
            (
                "2".into(),
                "NASA was founded in 1958. It ran the Apollo program.".into(),
            ),
        ]
    }

    fn refs() -> Vec<(String, String)> {
        vec![("1".into(), "curie.md".into()), ("2".into(), "nasa.txt".into())]
    }

    #[test]
    fn the_best_sentence_comes_first_with_its_reference() {
        let a = answer(
            "What did Marie Curie discover?",
            &["Marie Curie".into()],
            &chunks(),
            &refs(),
        );
        assert!(
            a.starts_with(
                "In 1898 Marie Curie discovered polonium and radium. [1]\nMarie Curie was a physicist. [1]\n"
            ),
            "{a}"
        );
        assert!(a.ends_with("### References\n\n* [1] curie.md"), "{a}");
        assert!(!a.contains("NASA"), "{a}");

        let a = answer("When was NASA founded?", &[], &chunks(), &refs());
        assert!(a.starts_with("NASA was founded in 1958. [2]"), "{a}");
    }

    #[test]
    fn nothing_relevant_is_said_plainly() {
        assert_eq!(answer("Who painted the Mona Lisa?", &[], &chunks(), &refs()), NOT_FOUND);
        assert_eq!(answer("Anything?", &[], &[], &[]), NOT_FOUND);
    }
}
