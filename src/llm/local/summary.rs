//! Extractive summaries of description fragments.
//!
//! The fragments are deduplicated and cut into sentences; sentences are then picked greedily by
//! how many content words they add that earlier picks did not cover, until the length budget
//! is spent, and written in their original order. An entity summary starts with the entity's
//! name when its first sentence does not mention it.

use std::collections::HashSet;

use super::{cap_chars, is_stopword, sentences, squash, stem};
use crate::llm::SummaryKind;

/// The summary budget in characters (upstream recommends about 600 tokens; a few sentences
/// are enough for a graph description).
const SUMMARY_CHARS: usize = 600;

pub(super) fn summarize(kind: SummaryKind, name: &str, descriptions: &[String]) -> String {
    // Sentences of all fragments, each once (stored descriptions may still be `<SEP>`-joined).
    let mut seen = HashSet::new();
    let sents: Vec<String> = descriptions
        .iter()
        .flat_map(|d| d.split("<SEP>"))
        .flat_map(sentences)
        .map(squash)
        .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
        .collect();
    let prefix = match kind {
        SummaryKind::Entity if !name.trim().is_empty() => format!("{}: ", name.trim()),
        _ => String::new(),
    };
    let budget = SUMMARY_CHARS.saturating_sub(prefix.chars().count());
    let words: Vec<HashSet<String>> = sents.iter().map(|s| content_words(s)).collect();

    let mut chosen = Vec::new();
    let mut covered: HashSet<&str> = HashSet::new();
    let mut used = 0;
    let mut open: Vec<usize> = (0..sents.len()).collect();
    loop {
        // The sentence adding the most new words; the earliest wins ties.
        let best = open
            .iter()
            .copied()
            .map(|i| (words[i].iter().filter(|w| !covered.contains(w.as_str())).count(), i))
            .max_by_key(|&(gain, i)| (gain, std::cmp::Reverse(i)));
        let Some((gain, i)) = best else { break };
        if gain == 0 {
            break;
        }
        open.retain(|&j| j != i);
        let len = sents[i].chars().count() + usize::from(!chosen.is_empty());
        if used + len > budget {
            continue; // too long for what is left; a shorter one may still fit
        }
        used += len;
        covered.extend(words[i].iter().map(String::as_str));
        chosen.push(i);
    }
    chosen.sort_unstable();
    let mut text = chosen.iter().map(|&i| sents[i].as_str()).collect::<Vec<_>>().join(" ");
    if text.is_empty()
        && let Some(first) = sents.first()
    {
        text = cap_chars(first, budget); // a single sentence longer than the budget
    }
    let mentions_name = chosen
        .first()
        .is_none_or(|&i| sents[i].to_lowercase().contains(&name.trim().to_lowercase()));
    if text.is_empty() || mentions_name {
        text
    } else {
        prefix + &text
    }
}

fn content_words(s: &str) -> HashSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 2 && !is_stopword(w))
        .map(|w| stem(&w).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupes_covers_and_keeps_order() {
        let d = vec![
            "Marie Curie was a physicist. She discovered radium.".to_string(),
            "Marie Curie was a physicist.<SEP>She won two Nobel Prizes.".to_string(),
            "marie curie was a physicist.".to_string(),
        ];
        assert_eq!(
            summarize(SummaryKind::Entity, "Marie Curie", &d),
            "Marie Curie was a physicist. She discovered radium. She won two Nobel Prizes."
        );
        assert_eq!(
            summarize(SummaryKind::Entity, "Marie Curie", &d[..1]),
            summarize(SummaryKind::Entity, "Marie Curie", &d[..1])
        );
    }

    #[test]
    fn starts_with_the_name_and_respects_the_budget() {
        let d: Vec<String> = (0..40)
            .map(|i| format!("The laboratory number{i} studied isotope{i} and element{i} with care."))
            .collect();
        let s = summarize(SummaryKind::Entity, "Radium Institute", &d);
        assert!(s.starts_with("Radium Institute: The laboratory number0"), "{s}");
        assert!(s.chars().count() <= SUMMARY_CHARS, "{}", s.len());
        let r = summarize(SummaryKind::Relation, "(A, B)", &d);
        assert!(r.starts_with("The laboratory") && r.chars().count() <= SUMMARY_CHARS);
        let long = vec!["word ".repeat(400)];
        assert!(summarize(SummaryKind::Relation, "(A, B)", &long).chars().count() <= SUMMARY_CHARS);
        assert_eq!(summarize(SummaryKind::Entity, "X", &[]), "");
    }
}
