//! Rule-based entity and relation extraction, answered in LightRAG's record format.
//!
//! Entities are proper-noun phrases (runs of capitalised words, with inner connectors as in
//! "Bank of England"), acronyms, and capitalised words away from a sentence start. A
//! capitalised first word counts only with evidence: it is capitalised elsewhere too, or it is
//! a known first name or place. Types come from cues: head nouns ("… University", "… River",
//! "… War"), titles and roles ("Dr.", "physicist Marie Curie", "X, a physicist"), verbs ("X
//! said", "joined X"), prepositions ("in X"), short lists of places and well-known
//! organisations. Without a cue the type is `Other`. A lone surname or first name ("Curie")
//! joins the full name of the same chunk. A chunk with hardly any names gets its repeated
//! content words as Concept entities instead, so that it still joins the graph.
//!
//! Relations are the pairs of entities that share a sentence, nearest pairs first, counting a
//! leading "she"/"he" as a mention of the previous sentence's subject; their keywords are the
//! content words between the two mentions, their description the sentence. An entity's
//! description is the sentences it occurs in.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::fmt::Write;
use std::ops::Range;

use super::{
    ANY_HEAD, BRAND, CALENDAR, COMPLETE, DEMONYM, FIRST_NAME, FastMap, FastSet, HEADS, LOC, LOC_PREP, ORG_VERB,
    PERSON_VERB, PLACE, ROLE, STARTER, STOP, TITLE, TUPLE, Token, acronym, cap_chars, class, key, sentences, squash,
    stem, tokens,
};

/// Upstream's caps on one answer.
const MAX_ENTITIES: usize = 40;
const MAX_RECORDS: usize = 100;
/// Relations per sentence: a sentence naming ten things does not make 45 relations.
const PAIRS_PER_SENTENCE: usize = 6;
const DESCRIPTION_CHARS: usize = 300;
const MAX_NAME_WORDS: usize = 6;
/// Keywords per relation.
const MAX_KEYWORDS: usize = 3;
/// Below this many names, repeated terms become entities too (at most `MAX_TERMS`).
const FEW_NAMES: usize = 3;
const MAX_TERMS: usize = 8;

/// The entity types cues point to: Person, then one per head-noun list of [`HEADS`].
const TYPES: [&str; 10] = [
    "Person",
    "Organization",
    "Location",
    "Event",
    "Concept",
    "Method",
    "Content",
    "Data",
    "Artifact",
    "NaturalObject",
];
const PERSON: usize = 0;
const ORGANIZATION: usize = 1;
const LOCATION: usize = 2;
const EVENT: usize = 3;
const CONCEPT: usize = 4;

/// Evidence for each of [`TYPES`].
type Cues = [f32; TYPES.len()];

/// A sentence and its tokens.
pub(super) struct Sentence<'a> {
    pub text: &'a str,
    pub toks: Vec<Token<'a>>,
}

impl<'a> Sentence<'a> {
    pub fn split(text: &'a str) -> Vec<Sentence<'a>> {
        sentences(text)
            .into_iter()
            .map(|text| Sentence {
                text,
                toks: tokens(text),
            })
            .collect()
    }
}

/// One mention of a named thing: tokens `first..=last` of sentence `sent`.
pub(super) struct Mention {
    pub name: String,
    pub sent: usize,
    pub first: usize,
    pub last: usize,
    cues: Cues,
}

/// The extraction answer for one chunk.
pub(super) fn extract(text: &str) -> String {
    let sents = Sentence::split(text);
    let mut mentions = mentions(&sents, false);
    if mentions.iter().map(|m| &m.name).collect::<FastSet<_>>().len() < FEW_NAMES {
        mentions.extend(terms(&sents));
        mentions.sort_by_key(|m| (m.sent, m.first));
    }
    let alias = aliases(&mentions);

    // Entities in order of first mention; `of[i]` is the entity of mention i.
    let mut index: FastMap<&str, usize> = FastMap::default();
    let mut ents: Vec<Entity> = Vec::new();
    let mut of = Vec::with_capacity(mentions.len());
    for m in &mentions {
        let name = alias.get(m.name.as_str()).copied().unwrap_or(&m.name);
        let e = *index.entry(name).or_insert_with(|| {
            ents.push(Entity::new(name));
            ents.len() - 1
        });
        let ent = &mut ents[e];
        ent.cues.iter_mut().zip(m.cues).for_each(|(a, b)| *a += b);
        ent.count += 1;
        if ent.sents.last() != Some(&m.sent) {
            ent.sents.push(m.sent);
        }
        of.push(e);
    }
    // "X discovered radium. She …": the subject of a sentence followed by he/she is a person.
    for (i, m) in mentions.iter().enumerate() {
        let opens = i == 0 || mentions[i - 1].sent != m.sent;
        let next = sents.get(m.sent + 1).and_then(|s| s.toks.first()).map(|t| &*t.lower);
        if opens && matches!(next, Some("he" | "she" | "his" | "her")) {
            ents[of[i]].cues[PERSON] += 1.0;
        }
    }

    // At most MAX_ENTITIES, the most mentioned first, written in order of first mention.
    let mut kept: Vec<usize> = (0..ents.len()).collect();
    kept.sort_by_key(|&e| (Reverse(ents[e].count), e));
    kept.truncate(MAX_ENTITIES);
    kept.sort_unstable();
    let keep: FastSet<usize> = kept.iter().copied().collect();

    let mut placed: Vec<Placed> = mentions
        .iter()
        .zip(&of)
        .map(|(m, &e)| Placed {
            sent: m.sent,
            ent: e,
            first: m.first,
            last: m.last,
        })
        .collect();
    resolve_pronouns(&sents, &mut placed, &mut ents);
    placed.retain(|p| keep.contains(&p.ent));
    let rels = relations(&sents, &placed);
    let texts: Vec<String> = sents.iter().map(|s| squash(s.text)).collect();

    let mut out = String::new();
    for &e in &kept {
        let ent = &ents[e];
        let desc = describe(&sents, &texts, &ent.sents);
        let _ = writeln!(
            out,
            "entity{TUPLE}{}{TUPLE}{}{TUPLE}{}",
            field(&ent.name),
            kind(&ent.cues),
            field(&desc)
        );
    }
    for r in rels.iter().take(MAX_RECORDS - kept.len()) {
        let _ = writeln!(
            out,
            "relation{TUPLE}{}{TUPLE}{}{TUPLE}{}{TUPLE}{}",
            field(&ents[r.src].name),
            field(&ents[r.tgt].name),
            field(&r.keywords.join(", ")),
            field(&describe(&sents, &texts, &r.sents))
        );
    }
    out.push_str(COMPLETE);
    out
}

struct Entity {
    name: String,
    cues: Cues,
    count: usize,
    sents: Vec<usize>,
}

impl Entity {
    fn new(name: &str) -> Self {
        Entity {
            name: name.to_string(),
            cues: [0.0; TYPES.len()],
            count: 0,
            sents: Vec::new(),
        }
    }
}

struct Relation {
    src: usize,
    tgt: usize,
    keywords: Vec<String>,
    sents: Vec<usize>,
}

/// A mention of entity `ent`: tokens `first..=last` of sentence `sent`.
#[derive(Debug, Clone, Copy)]
struct Placed {
    sent: usize,
    ent: usize,
    first: usize,
    last: usize,
}

/// Resolves "he", "she", "his", "her" and "him" to the person who was the subject (the first
/// person named) of one of the two previous sentences, when the pronoun comes before any person
/// named in its own sentence: "Marie Curie … In 1898 she and her husband Pierre Curie …" makes
/// Marie Curie a mention of the second sentence too. No gender is known, so "she" may pick a
/// man; the window keeps such mistakes local.
fn resolve_pronouns(sents: &[Sentence], placed: &mut Vec<Placed>, ents: &mut [Entity]) {
    let person = |e: usize| kind(&ents[e].cues) == TYPES[PERSON];
    let mut subject: Option<(usize, usize)> = None; // (entity, sentence)
    let mut added = Vec::new();
    for (si, s) in sents.iter().enumerate() {
        let here: Vec<Placed> = placed.iter().filter(|p| p.sent == si).copied().collect();
        let named = here.iter().filter(|p| person(p.ent)).min_by_key(|p| p.first);
        let pronoun = s
            .toks
            .iter()
            .position(|t| matches!(&*t.lower, "he" | "she" | "his" | "her" | "him"));
        let mut first_person = named.map(|p| (p.ent, p.first));
        if let (Some(at), Some((e, from))) = (pronoun, subject)
            && si - from <= 2
            && named.is_none_or(|p| at < p.first)
            && !here.iter().any(|p| p.ent == e)
        {
            added.push(Placed {
                sent: si,
                ent: e,
                first: at,
                last: at,
            });
            first_person = Some((e, at));
        }
        if let Some((e, _)) = first_person {
            subject = Some((e, si));
        }
    }
    for p in added {
        ents[p.ent].sents.push(p.sent);
        placed.push(p);
    }
    for e in ents.iter_mut() {
        e.sents.sort_unstable();
        e.sents.dedup();
    }
    placed.sort_by_key(|p| (p.sent, p.first));
}

/// The relations between the placed entities, one per pair, in order of first co-occurrence.
fn relations(sents: &[Sentence], placed: &[Placed]) -> Vec<Relation> {
    // Per sentence, each entity's first mention: (entity, first token, last token).
    let mut by_sentence: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); sents.len()];
    for p in placed {
        let list = &mut by_sentence[p.sent];
        if !list.iter().any(|x| x.0 == p.ent) {
            list.push((p.ent, p.first, p.last));
        }
    }
    let mut rels: Vec<Relation> = Vec::new();
    let mut index: FastMap<(usize, usize), usize> = FastMap::default();
    for (si, list) in by_sentence.iter().enumerate() {
        let mut pairs: Vec<_> = list
            .iter()
            .enumerate()
            .flat_map(|(i, a)| list[i + 1..].iter().map(move |b| (*a, *b)))
            .collect();
        pairs.sort_by_key(|(a, b)| (b.1.saturating_sub(a.2), a.1));
        for (a, b) in pairs.into_iter().take(PAIRS_PER_SENTENCE) {
            let words = relation_keywords(&sents[si].toks, (a.1, a.2), (b.1, b.2));
            let pair = (a.0.min(b.0), a.0.max(b.0));
            if let Some(&r) = index.get(&pair) {
                let rel = &mut rels[r];
                if rel.sents.last() != Some(&si) {
                    rel.sents.push(si);
                }
                for w in words {
                    if rel.keywords.len() < MAX_KEYWORDS + 2 && !rel.keywords.contains(&w) {
                        rel.keywords.push(w);
                    }
                }
            } else {
                index.insert(pair, rels.len());
                rels.push(Relation {
                    src: a.0,
                    tgt: b.0,
                    keywords: words,
                    sents: vec![si],
                });
            }
        }
    }
    for r in &mut rels {
        if r.keywords.is_empty() {
            r.keywords.push("co-occurrence".into());
        }
    }
    rels
}

/// Content words between two mentions (token spans `a` before `b`), else just around them.
fn relation_keywords(toks: &[Token], a: (usize, usize), b: (usize, usize)) -> Vec<String> {
    let take = |range: Range<usize>, words: &mut Vec<String>| {
        for t in &toks[range] {
            if words.len() == MAX_KEYWORDS {
                break;
            }
            if let Some(w) = content_word(t.text)
                && !words.contains(&w)
            {
                words.push(w);
            }
        }
    };
    let mut words = Vec::new();
    take(a.1 + 1..b.0.max(a.1 + 1), &mut words);
    if words.is_empty() {
        take(a.0.saturating_sub(3)..a.0, &mut words);
        take(b.1 + 1..(b.1 + 4).min(toks.len()), &mut words);
    }
    words
}

/// A chunk with few names is about things ("cells use ATP to store energy …"): its lowercase
/// content words that occur at least twice (plurals folded) become Concept entities, named in
/// title case after their first form, so such a chunk still joins the graph.
fn terms(sents: &[Sentence]) -> Vec<Mention> {
    let term = |t: &Token| {
        content_word(t.text).filter(|w| {
            w.chars().count() >= 4
                && class(w) & ROLE == 0
                && !w.ends_with("ed")
                && !w.ends_with("ing")
                && !w.ends_with("ly")
        })
    };
    let mut counts: FastMap<String, (usize, String)> = FastMap::default();
    let mut order = Vec::new();
    for s in sents {
        for w in s.toks.iter().filter_map(term) {
            let entry = counts.entry(stem(&w).to_string()).or_insert_with_key(|k| {
                order.push(k.clone());
                (0, w.clone())
            });
            entry.0 += 1;
        }
    }
    let chosen: FastMap<&str, String> = order
        .iter()
        .filter(|k| counts[*k].0 > 1)
        .take(MAX_TERMS)
        .map(|k| {
            let first = &counts[k].1;
            let mut name: String = first.chars().take(1).flat_map(char::to_uppercase).collect();
            name.extend(first.chars().skip(1));
            (k.as_str(), name)
        })
        .collect();
    let mut out = Vec::new();
    for (si, s) in sents.iter().enumerate() {
        for (i, t) in s.toks.iter().enumerate() {
            if let Some(name) = term(t).and_then(|w| chosen.get(stem(&w))) {
                let mut cues = [0.0; TYPES.len()];
                cues[CONCEPT] = 1.0;
                out.push(Mention {
                    name: name.clone(),
                    sent: si,
                    first: i,
                    last: i,
                    cues,
                });
            }
        }
    }
    out
}

/// A lowercase word that says something: not a stopword, not a name, at least 3 letters.
pub(super) fn content_word(w: &str) -> Option<String> {
    let wordy = w.chars().all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '’'));
    if !w.starts_with(char::is_lowercase) || w.chars().count() < 3 || !wordy {
        return None;
    }
    let k = key(w);
    (class(&k) & (STOP | STARTER) == 0).then(|| k.into_owned())
}

/// The sentences an entity or relation occurs in, joined and capped; headings and other
/// fragments of one or two words only when there is nothing else.
fn describe(sents: &[Sentence], texts: &[String], idx: &[usize]) -> String {
    let full: Vec<usize> = idx.iter().copied().filter(|&i| sents[i].toks.len() > 2).collect();
    let mut out = String::new();
    for &i in if full.is_empty() { idx } else { &full } {
        if out.chars().count() >= DESCRIPTION_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&texts[i]);
    }
    cap_chars(&out, DESCRIPTION_CHARS)
}

/// A record field: one line, never containing a delimiter.
fn field(s: &str) -> Cow<'_, str> {
    let clean = !s.contains("<|") && !s.contains("|>") && !s.contains(|c: char| c.is_whitespace() && c != ' ');
    if clean {
        return Cow::Borrowed(s);
    }
    let mut s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    while s.contains("<|") || s.contains("|>") {
        s = s.replace("<|", "<").replace("|>", ">");
    }
    Cow::Owned(s)
}

/// The type with the most evidence (earlier types win ties), or `Other` without any.
fn kind(cues: &Cues) -> &'static str {
    let mut best = ("Other", 0.0);
    for (t, &c) in TYPES.iter().zip(cues) {
        if c > best.1 {
            best = (t, c);
        }
    }
    best.0
}

/// Maps each lone word that is the first or last word of a full name in the same chunk to
/// that name: "Curie" → "Marie Curie" (a person), "Acme" → "Acme Corp" (a corporate suffix).
/// When several names qualify, the most mentioned wins, then the first mentioned.
fn aliases(mentions: &[Mention]) -> FastMap<&str, &str> {
    let mut totals: FastMap<&str, (Cues, usize, usize)> = FastMap::default();
    for (i, m) in mentions.iter().enumerate() {
        let t = totals.entry(&m.name).or_insert(([0.0; TYPES.len()], 0, i));
        t.0.iter_mut().zip(m.cues).for_each(|(a, b)| *a += b);
        t.1 += 1;
    }
    let mut out = FastMap::default();
    for &short in totals.keys() {
        if short.contains(' ') || acronym(short) {
            continue;
        }
        let best = totals
            .iter()
            .filter(|(full, (cues, _, _))| {
                let words: Vec<&str> = full.split(' ').collect();
                let proper = words.len() > 1 && words.iter().all(|w| w.starts_with(char::is_uppercase));
                let person = kind(cues) == "Person" && (words[0] == short || words.last() == Some(&short));
                let corporate = words[0] == short && words.last().is_some_and(|w| corporate(w));
                proper && (person || corporate)
            })
            .min_by_key(|(_, (_, count, first))| (Reverse(*count), *first));
        if let Some((full, _)) = best {
            out.insert(short, *full);
        }
    }
    out
}

fn corporate(word: &str) -> bool {
    matches!(
        key(word).trim_end_matches('.'),
        "inc" | "corp" | "corporation" | "ltd" | "llc" | "plc" | "co" | "company" | "group" | "holdings"
    )
}

/// The named things of the sentences, in text order. With `query`, a capitalised first word
/// needs no further evidence (queries are short; "Curie's discoveries?" names Curie).
pub(super) fn mentions(sents: &[Sentence], query: bool) -> Vec<Mention> {
    // Words seen in lowercase, and capitalised words seen inside a clause: the evidence for
    // judging a capitalised word that opens a sentence or a clause.
    let mut lower = FastSet::default();
    let mut capital = FastSet::default();
    let mut starts: FastMap<&str, usize> = FastMap::default();
    // Words seen in title case ("God"), so that a capitals form ("GOD") is the same name.
    let mut titled = FastSet::default();
    for s in sents {
        let start = opening(&s.toks);
        for (i, t) in s.toks.iter().enumerate() {
            if t.text.starts_with(char::is_uppercase) && t.text.chars().skip(1).any(char::is_lowercase) {
                titled.insert(&*t.lower);
            }
            if t.text.starts_with(char::is_lowercase) {
                lower.insert(&*t.lower);
            } else if i == start {
                *starts.entry(&*t.lower).or_default() += 1;
            } else if i > start && !t.gap && t.text.starts_with(char::is_uppercase) {
                capital.insert(&*t.lower);
            }
        }
    }
    let mut out = Vec::new();
    for (si, s) in sents.iter().enumerate() {
        let toks = &s.toks;
        let start = opening(toks);
        let mut k = 0;
        while k < toks.len() {
            if !name_word(&toks[k]) {
                k += 1;
                continue;
            }
            let last = phrase_end(s, k);
            let mut first = k;
            k = last + 1;
            let (t, w) = (toks[first].text, &*toks[first].lower);
            let listed = class(w) & (FIRST_NAME | PLACE | BRAND) != 0;
            let mixed = t.chars().skip(1).any(char::is_uppercase); // "LightRAG", "OpenAI"
            if first == start && !query {
                if last == first {
                    let repeated = starts.get(&w).is_some_and(|&n| n > 1) && !lower.contains(&w);
                    if !(acronym(t) || mixed || repeated || listed || capital.contains(&w)) {
                        continue;
                    }
                } else if class(w) & ANY_HEAD == 0
                    && (lower.contains(&w) || (!listed && !capital.contains(&w) && connector(toks[first + 1].text)))
                {
                    // A common word that only opens the sentence: "Yesterday Apple …",
                    // "Shares of Microsoft …".
                    first += 1;
                    while first < last && connector(toks[first].text) {
                        first += 1;
                    }
                }
            } else if toks[first].gap
                && last == first
                && !query
                && !(listed || mixed || acronym(t) || (capital.contains(&w) && !lower.contains(&w)))
            {
                // A single word that opens a clause or a quotation is a name only with
                // evidence: "and said, Go …", "saying, Arise …".
                continue;
            }
            // A word in capitals that the text also writes as a word is that word, not an
            // acronym: "the LORD" and "my lord", "GOD" and "God".
            let shouted = first == last
                && acronym(toks[first].text)
                && toks[first].text.chars().count() > 2
                && (titled.contains(&*toks[first].lower) || lower.contains(&*toks[first].lower));
            out.extend(mention(s, si, first, last, shouted));
        }
    }
    out
}

/// "GOD" → "God".
fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .into_iter()
        .chain(chars.flat_map(char::to_lowercase))
        .collect()
}

/// Where a sentence's words start: after the verse or list numbers that open it ("7 Go to").
fn opening(toks: &[Token]) -> usize {
    toks.iter()
        .take_while(|t| t.text.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '.'))
        .count()
}

/// A word that can be part of a name: capitalised, not a title or role, not a function word
/// (acronyms always count: "US", "IT"), not a lowercase compound ("X-ray").
fn name_word(t: &Token) -> bool {
    if !t.text.starts_with(char::is_uppercase) || t.class & (TITLE | ROLE) != 0 {
        return false;
    }
    let compound = t
        .text
        .split_once('-')
        .is_some_and(|(a, b)| a.chars().count() == 1 && b.starts_with(char::is_lowercase));
    !compound && (acronym(t.text) || t.class & (STOP | STARTER) == 0)
}

/// Lowercase words that may join capitalised words into one name.
fn connector(w: &str) -> bool {
    matches!(
        w,
        "of" | "for"
            | "the"
            | "and"
            | "de"
            | "la"
            | "le"
            | "du"
            | "des"
            | "van"
            | "von"
            | "der"
            | "den"
            | "del"
            | "da"
            | "di"
            | "y"
    )
}

/// The last token of the name that starts at token `k`.
fn phrase_end(s: &Sentence, k: usize) -> usize {
    let toks = &s.toks;
    // A person's name takes no connector: "Tim Cook of Apple" is two names.
    let person =
        toks[k].class & FIRST_NAME != 0 || k.checked_sub(1).is_some_and(|p| toks[p].class & (TITLE | ROLE) != 0);
    let (mut last, mut j, mut of) = (k, k + 1, false);
    while j < toks.len() && j - k < MAX_NAME_WORDS {
        if joined(s, j) && name_word(&toks[j]) {
            last = j;
            j += 1;
            continue;
        }
        // Connectors: "Bank of England", "Bank of the West", "Department of Health and Social
        // Care" ("and" only after "of"/"for", so "Alice and Bob" stay two names).
        let mut m = j;
        while m < toks.len() && !toks[m].gap && connector(toks[m].text) {
            m += 1;
        }
        // "and" joins one more word, never a name of its own ("X of Y and the Z of W").
        let opener = toks[j].text;
        let and_ok = of && m == j + 1 && !toks.get(m + 1).is_some_and(|t| connector(t.text));
        let ok = m > j && !person && opener != "the" && (opener != "and" || and_ok);
        if ok && m < toks.len() && !toks[m].gap && name_word(&toks[m]) {
            of |= toks[j..m].iter().any(|t| matches!(t.text, "of" | "for"));
            last = m;
            j = m + 1;
            continue;
        }
        break;
    }
    last
}

/// Whether token `j` continues the name of token `j - 1`: nothing but space between them, or
/// the dot of an initial ("John F. Kennedy").
fn joined(s: &Sentence, j: usize) -> bool {
    let (prev, t) = (&s.toks[j - 1], &s.toks[j]);
    let initial = prev.text.chars().count() == 1 && prev.text.starts_with(char::is_uppercase);
    !t.gap || (initial && s.text[prev.end..t.start].trim() == ".")
}

/// The mention of tokens `first..=last` of sentence `si`, with its type cues.
fn mention(s: &Sentence, si: usize, first: usize, last: usize, shouted: bool) -> Option<Mention> {
    let toks = &s.toks;
    let mut raw = s.text[toks[first].start..toks[last].end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if shouted {
        raw = title_case(&raw);
    }
    let name = raw
        .strip_suffix("'s")
        .or_else(|| raw.strip_suffix("’s"))
        .unwrap_or(&raw)
        .to_string();
    let words: Vec<&str> = toks[first..=last].iter().map(|t| &*t.lower).collect();
    let single = first == last;
    if single && (name.chars().count() < 2 || (!acronym(&name) && class(words[0]) & (CALENDAR | DEMONYM) != 0)) {
        return None;
    }

    let mut cues = [0.0; TYPES.len()];
    let whole = class(&name.to_lowercase());
    if whole & PLACE != 0 {
        cues[LOCATION] += 4.0;
    } else if whole & BRAND != 0 {
        cues[ORGANIZATION] += 4.0;
    } else if single && !shouted && acronym(&name) && !name.contains(|c: char| c.is_ascii_digit()) {
        cues[ORGANIZATION] += 2.0;
    }
    // The head noun: the word before "of"/"for" ("University of Cambridge"), else the last
    // word ("Cambridge University"); failing that the first ("Mount Everest").
    let head = words
        .iter()
        .position(|&w| w == "of" || w == "for")
        .map_or(words.len() - 1, |i| i.saturating_sub(1));
    if let Some(kind) = head_kind(class(words[head])) {
        cues[kind] += 3.0;
    } else if let Some(kind) = head_kind(class(words[0])).filter(|_| !single) {
        cues[kind] += 2.0;
    }
    if class(words[0]) & FIRST_NAME != 0 && !words.iter().any(|w| connector(w)) {
        cues[PERSON] += 2.0;
    }
    let before = first.checked_sub(1).map_or("", |i| &*toks[i].lower);
    let after_preposition =
        class(before) & LOC_PREP != 0 || matches!(before, "at" | "of" | "by" | "with" | "for" | "to" | "on");
    if first > 0 {
        let c = class(before);
        if c & TITLE != 0 || (c & ROLE != 0 && !toks[first].gap) {
            cues[PERSON] += 3.0;
        } else if c & LOC_PREP != 0 {
            cues[LOCATION] += 1.0;
        } else if c & ORG_VERB != 0 {
            cues[ORGANIZATION] += 1.0;
        } else if before == "during" {
            cues[EVENT] += 1.0;
        } else if before == "of" && first > 1 && toks[first - 2].class & LOC != 0 {
            cues[LOCATION] += 2.0; // "the city of Paris"
        }
    }
    // "X said"; not "analysts at X said".
    if !after_preposition && toks[last + 1..].iter().take(2).any(|t| t.class & PERSON_VERB != 0) {
        cues[PERSON] += 1.5;
    }
    if let Some((kind, weight)) = apposition(toks, first, last) {
        cues[kind] += weight;
    }
    Some(Mention {
        name,
        sent: si,
        first,
        last,
        cues,
    })
}

/// The type named right after a mention: "X, a French physicist", "X is a city in …".
fn apposition(toks: &[Token], first: usize, last: usize) -> Option<(usize, f32)> {
    let mut i = last + 1;
    let t = toks.get(i)?;
    let weight = if t.gap {
        // Not after a fronted phrase: "In Paris, the company …" says nothing about Paris.
        if first == 1 && toks[0].class & STOP != 0 {
            return None;
        }
        2.0
    } else if matches!(
        &*t.lower,
        "is" | "was" | "are" | "were" | "became" | "remains" | "remained"
    ) {
        i += 1;
        3.0
    } else {
        return None;
    };
    let article = toks.get(i)?;
    if !matches!(&*article.lower, "a" | "an" | "the") || (i > last + 1 && article.gap) {
        return None;
    }
    for t in toks[i + 1..].iter().take(4) {
        if t.gap {
            break;
        }
        let c = t.class;
        if c & ROLE != 0 {
            return Some((PERSON, weight));
        }
        if let Some(kind) = head_kind(c) {
            return Some((kind, weight));
        }
    }
    None
}

/// The type a head noun points to.
fn head_kind(c: u32) -> Option<usize> {
    HEADS.iter().position(|&f| c & f != 0).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAGRAPH: &str = "Marie Curie was a Polish physicist who worked at the University of Paris. \
In 1898 she and her husband Pierre Curie discovered polonium and radium in a laboratory in Paris. \
Curie later shared the Nobel Prize in Physics with Henri Becquerel, a French physicist. \
During the First World War, she organised mobile X-ray units for the French Red Cross. \
The Radium Institute was founded in 1914 with support from the Pasteur Institute. \
Her daughter Irène Joliot-Curie continued the work at the institute and later joined the CNRS. \
In 1995, President François Mitterrand said that the remains of Marie Curie would be moved to the \
Panthéon in Paris. Today the Curie Institute works with NASA and the Bank of England on research \
into radiation safety.";

    /// Parses records the way LightRAG does: one per line, fields split on the delimiter.
    fn records(answer: &str) -> (Vec<[String; 3]>, Vec<[String; 4]>) {
        let mut lines: Vec<&str> = answer.lines().collect();
        assert_eq!(lines.pop(), Some(COMPLETE), "the last line completes");
        let (mut ents, mut rels) = (Vec::new(), Vec::new());
        for line in lines {
            let f: Vec<String> = line.split(TUPLE).map(|f| f.trim().to_string()).collect();
            assert!(
                f.iter()
                    .all(|f| !f.is_empty() && !f.contains("<|") && !f.contains("|>")),
                "{line}"
            );
            match f[0].as_str() {
                "entity" => {
                    assert_eq!(f.len(), 4, "{line}");
                    assert!(rels.is_empty(), "entities come before relations");
                    assert!(TYPES.contains(&f[2].as_str()) || f[2] == "Other", "{line}");
                    ents.push([f[1].clone(), f[2].clone(), f[3].clone()]);
                }
                "relation" => {
                    assert_eq!(f.len(), 5, "{line}");
                    assert_ne!(f[1], f[2]);
                    rels.push([f[1].clone(), f[2].clone(), f[3].clone(), f[4].clone()]);
                }
                other => panic!("unknown record {other:?} in {line}"),
            }
        }
        (ents, rels)
    }

    fn type_of<'a>(ents: &'a [[String; 3]], name: &str) -> &'a str {
        &ents
            .iter()
            .find(|e| e[0] == name)
            .unwrap_or_else(|| panic!("no entity {name}"))[1]
    }

    #[test]
    fn extracts_a_useful_graph_from_prose() {
        let answer = extract(PARAGRAPH);
        println!("{answer}");
        let (ents, rels) = records(&answer);
        for (name, ty) in [
            ("Marie Curie", "Person"),
            ("Pierre Curie", "Person"),
            ("Henri Becquerel", "Person"),
            ("Irène Joliot-Curie", "Person"),
            ("François Mitterrand", "Person"),
            ("University of Paris", "Organization"),
            ("Radium Institute", "Organization"),
            ("Pasteur Institute", "Organization"),
            ("Curie Institute", "Organization"),
            ("Bank of England", "Organization"),
            ("CNRS", "Organization"),
            ("NASA", "Organization"),
            ("Paris", "Location"),
            ("First World War", "Event"),
            ("Nobel Prize", "Concept"),
        ] {
            assert_eq!(type_of(&ents, name), ty, "{name}");
        }
        // Not entities: sentence starters, pronouns, titles, nationalities, "Curie" on its own.
        for not in [
            "In",
            "The",
            "Her",
            "She",
            "Today",
            "President",
            "Polish",
            "French",
            "Curie",
            "X-ray",
        ] {
            assert!(ents.iter().all(|e| e[0] != not), "{not} is not an entity");
        }
        let curie = ents.iter().find(|e| e[0] == "Marie Curie").unwrap();
        assert!(
            curie[2].contains("Nobel Prize"),
            "the alias sentence describes Marie Curie too"
        );
        let has = |a: &str, b: &str| {
            rels.iter()
                .any(|r| (r[0] == a && r[1] == b) || (r[0] == b && r[1] == a))
        };
        assert!(has("Marie Curie", "University of Paris"));
        assert!(has("Pierre Curie", "Paris"));
        assert!(has("Radium Institute", "Pasteur Institute"));
        assert!(has("Marie Curie", "Henri Becquerel"));
        // Through "she and her husband Pierre Curie", "Her daughter Irène Joliot-Curie".
        assert!(has("Marie Curie", "Pierre Curie"));
        assert!(has("Marie Curie", "Irène Joliot-Curie"));
        let r = rels.iter().find(|r| r[0] == "Pierre Curie" && r[1] == "Paris").unwrap();
        assert!(r[2].contains("discovered") && r[2].contains("radium"), "{}", r[2]);
        assert_eq!(extract(PARAGRAPH), answer, "deterministic");
    }

    #[test]
    fn names_connectors_acronyms_and_sentence_starts() {
        let (ents, _) = records(&extract(
            "However, the Bank of England and the University of Cambridge met in London. Apple Inc. \
             hired Dr. John F. Kennedy of IBM. Apple said so. Yesterday Ada Lovelace wrote to Alice and Bob.",
        ));
        let names: Vec<&str> = ents.iter().map(|e| e[0].as_str()).collect();
        assert_eq!(
            names,
            [
                "Bank of England",
                "University of Cambridge",
                "London",
                "Apple Inc",
                "John F. Kennedy",
                "IBM",
                "Ada Lovelace",
                "Alice",
                "Bob"
            ]
        );
        assert_eq!(type_of(&ents, "John F. Kennedy"), "Person");
        assert_eq!(type_of(&ents, "London"), "Location");
    }

    #[test]
    fn clause_openers_are_not_names_and_capitals_forms_merge() {
        let (ents, _) = records(&extract(
            "7 And he said unto Elijah, Go forth and stand upon the mount before the LORD. \
             8 And Elijah said, Arise and eat, for the way is long. 9 Elijah went to go to the \
             mount of God; and he said, O Lord GOD, behold, I arise.",
        ));
        let names: Vec<&str> = ents.iter().map(|e| e[0].as_str()).collect();
        for not in ["Go", "Arise", "Behold", "GOD", "LORD", "O"] {
            assert!(!names.contains(&not), "{not} in {names:?}");
        }
        assert!(names.contains(&"Elijah") && names.contains(&"God"), "{names:?}");
    }

    #[test]
    fn edge_cases() {
        assert_eq!(extract(""), COMPLETE);
        assert_eq!(extract("nothing named here at all."), COMPLETE);
        // Fields never carry a delimiter or a newline.
        let (ents, rels) = records(&extract("Alice <|#|> met Bob\nin Rome <|COMPLETE|> today."));
        assert!(!ents.is_empty() && !rels.is_empty());
        // Caps hold on long text with many names.
        let many: String = (0..120)
            .map(|i| format!("Then Alpha{i} Person met Beta{i} Person and Gamma{i} Person in Rome. "))
            .collect();
        let answer = extract(&many);
        let (ents, rels) = records(&answer);
        assert!(ents.len() <= MAX_ENTITIES && ents.len() + rels.len() <= MAX_RECORDS);
    }

    #[test]
    fn fast_enough() {
        // About 1200 tokens.
        let chunk = PARAGRAPH.repeat(6);
        let start = std::time::Instant::now();
        for _ in 0..10 {
            extract(&chunk);
        }
        let each = start.elapsed() / 10;
        eprintln!("extracting {} bytes took {each:?}", chunk.len());
        // Generous for debug builds; a release build takes about 0.3 ms.
        assert!(each.as_millis() < 50, "{each:?}");
    }
}
