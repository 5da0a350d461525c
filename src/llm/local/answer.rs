//! Extractive answers: the sentences of the retrieved chunks that answer the question best,
//! best first, each cited with its chunk's `[n]` reference, then a `### References` list. No
//! generation, so every sentence of an answer is text of the knowledge base.
//!
//! A sentence scores the (rare) terms it shares with the question and its keywords: each
//! matched term weighs its inverse sentence frequency in the context (a term of a name the
//! question mentions, "Abraham", "TideRunner", twice that), the sum is scaled by the share of
//! the question's terms the sentence holds, and a sentence that holds the kind
//! of thing the question asks for (a quantity for "how many", a place for "where", a name for
//! "who") gets a bonus. Terms are roots, so "buried" answers "bury". Headings are not answers.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::extract::{Mention, Sentence, mentions};
use super::{Roots, STARTER, STOP, class, sentences, squash};

/// At most this many sentences in an answer.
const MAX_SENTENCES: usize = 3;
/// A sentence joins the best one only if it scores at least this share of the best score.
const MIN_SHARE: f64 = 0.5;
/// The weight of a term of a name the question mentions, against 1 for other terms.
const NAME_WEIGHT: f64 = 2.0;
/// What holding the kind of thing asked for adds to a sentence that shares a term.
const KIND_BONUS: f64 = 1.5;
/// How many sentences back an opening "he", "she" or "it" looks for what it stands for.
const ANTECEDENT_WINDOW: usize = 3;
/// Words that may come before a sentence's subject: "And he …", "But she …", "Then it …".
const CONNECTIVES: &str = "and but then so now yet also";

/// What the offline provider says when the context holds no sentence about the question.
pub(super) const NOT_FOUND: &str = "I could not find an answer to this question in the knowledge base.";

pub(super) fn answer(
    query: &str,
    keywords: &[String],
    chunks: &[(String, String)],
    references: &[(String, String)],
) -> String {
    let mut roots = Roots::default();
    let mut wanted: HashMap<String, f64> = roots.terms(query).into_iter().map(|t| (t, 1.0)).collect();
    for k in keywords {
        for t in roots.terms(k) {
            wanted.entry(t).or_insert(1.0);
        }
    }
    // The question's names: a sentence may name them itself or through an opening pronoun.
    let asked_sents = Sentence::split(query);
    let named = mentions(&asked_sents, true);
    let mut names = BTreeSet::new();
    for m in &named {
        for t in roots.terms(&m.name) {
            wanted.insert(t.clone(), NAME_WEIGHT);
            names.insert(t);
        }
    }
    // "What did Joseph leave …?" asks about leaving: the verb weighs like a name.
    if let Some(verb) = predicate(&asked_sents, &named) {
        for t in roots.terms(verb) {
            wanted.insert(t, NAME_WEIGHT);
        }
    }
    let asked = Asked::of(query);
    // "How long …" asks for a length: the measure's noun is a term of the question too.
    for noun in measures(query) {
        for t in roots.terms(noun) {
            wanted.insert(t, NAME_WEIGHT);
        }
    }
    let sents = candidates(chunks, &mut roots, &names);
    // Rarer terms say more about which sentence answers: weight by inverse sentence frequency.
    let mut df: HashMap<&str, usize> = HashMap::new();
    for c in &sents {
        for w in &c.terms {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    let n = sents.len() as f64;
    let score = |i: usize| -> f64 {
        let c = &sents[i];
        // A pronoun that stands for a name is a mention of it: its terms count as the name's.
        let matched: Vec<f64> = c
            .terms
            .iter()
            .chain(&c.resolved)
            .filter_map(|w| {
                wanted
                    .get(w)
                    .map(|weight| weight * (1.0 + n / df[w.as_str()] as f64).ln())
            })
            .collect();
        // A sentence holding more of the question's terms answers more of it.
        let shared = matched.iter().sum::<f64>() * matched.len() as f64 / wanted.len() as f64;
        if shared > 0.0 && asked.holds(&c.text, query) {
            shared + KIND_BONUS
        } else {
            shared
        }
    };
    let mut ranked: Vec<(f64, usize)> = (0..sents.len())
        .map(|i| (score(i), i))
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
        let Candidate { text, reference, .. } = &sents[i];
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

/// A sentence of the context that may answer.
struct Candidate<'a> {
    text: String,
    reference: &'a str,
    /// Its content terms ([`Roots::terms`]).
    terms: BTreeSet<String>,
    /// The terms of the question's names that its opening pronoun stands for ("And he had
    /// seven hundred wives" after a sentence naming Solomon), when it does not name them itself.
    resolved: BTreeSet<String>,
}

/// Every sentence of the chunks with its chunk's reference, in context order, each once;
/// headings are labels, not answers.
///
/// A sentence whose subject is "he", "she" or "it" speaks of something a sentence before it
/// named: the nearest one (of the [`ANTECEDENT_WINDOW`] before it, in the same chunk) that names
/// anything. The question's names that one holds are the pronoun's ([`Candidate::resolved`]).
/// Narratives name a person once and then say "he" for verses on end, so without this the
/// sentence that answers loses to any sentence that repeats the name.
fn candidates<'a>(chunks: &'a [(String, String)], roots: &mut Roots, names: &BTreeSet<String>) -> Vec<Candidate<'a>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (reference, content) in chunks {
        // Per sentence of this chunk: `Some(the question's names it holds)` if it names anything.
        let mut before: Vec<Option<BTreeSet<String>>> = Vec::new();
        for s in sentences(content) {
            if s.starts_with('#') {
                continue;
            }
            let text = squash(s);
            let terms = roots.terms(&text);
            let own: BTreeSet<String> = terms.intersection(names).cloned().collect();
            let resolved = if opens_with_pronoun(&text) {
                before
                    .iter()
                    .rev()
                    .take(ANTECEDENT_WINDOW)
                    .find_map(Option::as_ref)
                    .map(|named| named.difference(&own).cloned().collect())
                    .unwrap_or_default()
            } else {
                BTreeSet::new()
            };
            before.push(names_anything(&text).then_some(own));
            if text.is_empty() || !seen.insert(text.to_lowercase()) {
                continue;
            }
            out.push(Candidate {
                text,
                reference: reference.as_str(),
                terms,
                resolved,
            });
        }
    }
    out
}

/// Whether the subject of a sentence is a singular third-person pronoun: "He took up …",
/// "12 And she caught him …", "It employs …" (a verse number and connectives may come first).
fn opens_with_pronoun(sentence: &str) -> bool {
    let first = sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .find(|w| !CONNECTIVES.split_whitespace().any(|c| c == w));
    first.is_some_and(|w| matches!(w.as_str(), "he" | "she" | "it"))
}

/// Whether a sentence names something: a capitalised word that is not a function word.
fn names_anything(sentence: &str) -> bool {
    sentence
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.starts_with(char::is_uppercase) && class(&w.to_lowercase()) & (STOP | STARTER) == 0)
}

/// The verb of a question that opens with a question word, an auxiliary and a name: "What
/// did Joseph leave …?", "How did Absalom die?". It is the event the question asks about.
fn predicate<'a>(query: &[Sentence<'a>], named: &[Mention]) -> Option<&'a str> {
    let toks = &query.first()?.toks;
    let opens = toks.len() > 3
        && class(&toks[0].lower) & STARTER != 0
        && AUXILIARIES.split_whitespace().any(|a| a == toks[1].lower);
    let subject = named.iter().find(|m| m.sent == 0 && m.first == 2).filter(|_| opens)?;
    let verb = toks.get(subject.last + 1)?;
    verb.text.starts_with(char::is_lowercase).then_some(verb.text)
}

/// The kind of thing a question asks for, from its opening words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// "How many/much/long/old …": a number.
    Quantity,
    /// "Where …": a place, named after a preposition.
    Place,
    /// "Who/Whom/Whose …": a name the question does not mention.
    Name,
    /// "How did/does/was … ": the means, told after "by", "with" or "through".
    Manner,
    Other,
}

impl Asked {
    fn of(query: &str) -> Asked {
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(2)
            .map(str::to_lowercase)
            .collect();
        match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["how", w, ..] if QUANTITY_WORDS.split_whitespace().any(|q| q == w) => Asked::Quantity,
            ["where", ..] => Asked::Place,
            ["who" | "whom" | "whose", ..] => Asked::Name,
            ["how", w, ..] if AUXILIARIES.split_whitespace().any(|a| a == w) => Asked::Manner,
            _ => Asked::Other,
        }
    }

    /// Whether `sentence` holds what was asked for.
    fn holds(self, sentence: &str, query: &str) -> bool {
        if self == Asked::Other {
            return false; // nothing to look for: spare the tokenizing
        }
        // A verse or list number opening the sentence is not part of what it says.
        let body = sentence.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':' || c == ' ');
        let toks = Sentence::split(body);
        let words: Vec<&str> = toks.iter().flat_map(|s| s.toks.iter().map(|t| t.text)).collect();
        match self {
            Asked::Quantity => words.iter().enumerate().any(|(i, w)| {
                let number = w.starts_with(|c: char| c.is_ascii_digit()) && !year(&words, i);
                number || NUMBER_WORDS.split_whitespace().any(|n| w.eq_ignore_ascii_case(n))
            }),
            Asked::Place => words.windows(2).any(|p| {
                matches!(p[0], "in" | "at" | "near" | "from" | "to" | "into" | "of")
                    && p[1].starts_with(char::is_uppercase)
                    && !query.contains(p[1])
            }),
            Asked::Name => words.iter().skip(1).any(|w| {
                w.starts_with(char::is_uppercase)
                    && class(&w.to_lowercase()) & (STOP | STARTER) == 0
                    && !query.contains(w)
            }),
            Asked::Manner => words.windows(3).any(|p| {
                matches!(p[0], "by" | "with" | "through") && p[1..].iter().any(|w| class(&w.to_lowercase()) & STOP == 0)
            }),
            Asked::Other => false,
        }
    }
}

/// Whether word `i` is a year ("in 2017", "2017: The company …"), which dates a sentence
/// rather than counting what a "how many" question asks about.
fn year(words: &[&str], i: usize) -> bool {
    let w = words[i];
    let dated = i == 0
        || YEAR_PREPOSITIONS
            .split_whitespace()
            .any(|p| words[i - 1].eq_ignore_ascii_case(p));
    w.len() == 4 && w.parse::<u32>().is_ok_and(|y| (1000..2200).contains(&y)) && dated
}

/// The nouns of the measure a "how …" question asks for ("how long" → "length").
fn measures(query: &str) -> Vec<&'static str> {
    let lower = query.to_lowercase();
    let mut words = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty());
    if words.next() != Some("how") {
        return Vec::new();
    }
    let Some(adjective) = words.next() else {
        return Vec::new();
    };
    MEASURES
        .iter()
        .filter(|(a, _)| *a == adjective)
        .flat_map(|(_, nouns)| nouns.split_whitespace())
        .collect()
}

const MEASURES: &[(&str, &str)] = &[
    ("long", "length"),
    ("wide", "width breadth"),
    ("broad", "breadth"),
    ("high", "height"),
    ("tall", "height"),
    ("deep", "depth"),
    ("old", "age"),
    ("far", "distance"),
    ("heavy", "weight"),
    ("big", "size"),
    ("large", "size"),
    ("much", "price cost"),
];

const AUXILIARIES: &str = "did does do was were is are can could will would shall should had has have";
const YEAR_PREPOSITIONS: &str = "in since from until till by before after of";
const QUANTITY_WORDS: &str = "many much long old far big large tall wide deep high heavy often";
const NUMBER_WORDS: &str = "one two three four five six seven eight nine ten eleven twelve fifteen twenty \
    thirty forty fifty sixty seventy eighty ninety hundred thousand million billion half dozen score";

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
        // The sentence that also holds "discover" answers; the one naming her only does not
        // reach half its score (it holds two of the question's three terms).
        assert!(
            a.starts_with("In 1898 Marie Curie discovered polonium and radium. [1]\n\n"),
            "{a}"
        );
        assert!(a.ends_with("### References\n\n* [1] curie.md"), "{a}");
        assert!(!a.contains("NASA"), "{a}");

        let a = answer("When was NASA founded?", &[], &chunks(), &refs());
        assert!(a.starts_with("NASA was founded in 1958. [2]"), "{a}");
    }

    #[test]
    fn roots_measures_and_headings() {
        let chunks = vec![(
            "1".into(),
            "# Where Sarah lies\n\nAbraham went to Hebron. And Abraham buried Sarah his wife in the cave of \
             Machpelah. The length of the ark shall be three hundred cubits. Noah made an ark."
                .into(),
        )];
        let refs = vec![("1".to_string(), "kjv.txt".to_string())];
        let a = answer("Where did Abraham bury Sarah?", &[], &chunks, &refs);
        assert!(
            a.starts_with("And Abraham buried Sarah his wife in the cave of Machpelah. [1]"),
            "{a}"
        );
        assert!(!a.contains("Where Sarah lies"), "headings are not answers: {a}");
        let a = answer("How long was Noah's ark?", &[], &chunks, &refs);
        assert!(
            a.starts_with("The length of the ark shall be three hundred cubits. [1]"),
            "{a}"
        );
    }

    /// (reference, text) pairs: a context's chunks, or its references' files.
    type Pairs = Vec<(String, String)>;

    fn one_chunk(text: &str) -> (Pairs, Pairs) {
        (
            vec![("1".to_string(), text.to_string())],
            vec![("1".to_string(), "kjv.txt".to_string())],
        )
    }

    #[test]
    fn an_opening_pronoun_stands_for_the_name_before_it() {
        let (chunks, refs) = one_chunk(
            "1 But king Solomon loved many strange women. 3 And he had seven hundred wives, \
             princesses. 4 For when Solomon was old, his wives turned away his heart.",
        );
        let a = answer("How many wives did Solomon have?", &[], &chunks, &refs);
        assert!(
            a.starts_with("3 And he had seven hundred wives, princesses. [1]"),
            "{a}"
        );
        // Only a subject pronoun, and it stands for the nearest sentence that names anything.
        let (chunks, _) = one_chunk(
            "Solomon loved many women. Then the rain came. He had seven hundred wives. The queen \
             said that he had wives. The queen of Sheba came. She had wives. 9 And it was so.",
        );
        let mut roots = Roots::default();
        let names = roots.terms("Solomon");
        let sents = candidates(&chunks, &mut roots, &names);
        let resolved: Vec<(&str, bool)> = sents
            .iter()
            .map(|c| (&c.text[..c.text.find(' ').unwrap()], !c.resolved.is_empty()))
            .collect();
        assert_eq!(
            resolved,
            [
                ("Solomon", false),
                ("Then", false),
                ("He", true),
                ("The", false),
                ("The", false),
                ("She", false),
                ("9", false)
            ]
        );
    }

    #[test]
    fn the_verb_of_the_question_weighs_like_a_name() {
        let (chunks, refs) = one_chunk("Joseph served in the house of his master. Joseph left his cloak in the house.");
        let a = answer("What did Joseph leave in the house of his master?", &[], &chunks, &refs);
        assert!(a.starts_with("Joseph left his cloak in the house. [1]"), "{a}");
    }

    #[test]
    fn how_did_asks_for_the_means_and_a_year_is_not_a_count() {
        let (chunks, refs) =
            one_chunk("Elijah called fire down from heaven. And Elijah went up by a whirlwind into heaven.");
        let a = answer("How did Elijah go up into heaven?", &[], &chunks, &refs);
        assert!(
            a.starts_with("And Elijah went up by a whirlwind into heaven. [1]"),
            "{a}"
        );

        let (chunks, refs) = one_chunk(
            "The Brest factory opened in 2017 on the quay. Each year the factory assembles \
             twelve turbines.",
        );
        let a = answer("How many turbines does the Brest factory build?", &[], &chunks, &refs);
        assert!(
            a.starts_with("Each year the factory assembles twelve turbines. [1]"),
            "{a}"
        );
    }

    #[test]
    fn nothing_relevant_is_said_plainly() {
        assert_eq!(answer("Who painted the Mona Lisa?", &[], &chunks(), &refs()), NOT_FOUND);
        assert_eq!(answer("Anything?", &[], &[], &[]), NOT_FOUND);
    }
}
