//! The tolerant parser for the entity-extraction answer in LightRAG's text format (upstream
//! 1.5.7 `operate._process_extraction_result`), checked against
//! `tests/fixtures/lightrag/extraction_parse.jsonl`.
//!
//! The answer is one record per line, `entity<|#|>name<|#|>type<|#|>description` or
//! `relation<|#|>source<|#|>target<|#|>keywords<|#|>description`, ending with `<|COMPLETE|>`.
//! Small models break this format in predictable ways, so the parser, like upstream, repairs
//! what it can and silently drops what it cannot: records glued together with the tuple
//! delimiter are split apart, about a dozen corrupted delimiter spellings (`<|##|>`, `<|>`,
//! `|#|>`, …) are repaired, a five-field `entity` row is read as a relation, and every field
//! goes through [`normalize`](crate::rag::normalize).
//!
//! **One deliberate divergence.** When upstream splits a line on `<|#|>entity<|#|>`, it
//! prefixes any piece that does not start with `entity`/`relation` with the literal
//! `entity<|`, evidently a typo for `entity<|#|>`. We use `entity<|#|>`
//! ([`MISSING_ENTITY_PREFIX`]): entities glued together on one line are then all kept instead
//! of all but the first being lost, and lines with a stray prefix (`1. entity…`, `Entity…`,
//! `("entity"…`) are no longer accepted by accident. The fixtures' `quirk_alternative` records
//! pin down exactly this behaviour; every other record is reproduced as upstream has it.
//!
//! [`parse_extraction`] returns rows in the order they were emitted. It does not remove
//! `<think>` blocks: the LLM layer does that once, with
//! [`remove_think_tags`](crate::rag::normalize::remove_think_tags), before the answer is cached.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::rag::normalize::{
    normalize_entity_name, py_strip, sanitize_and_normalize_extracted_text, truncate_entity_name,
};

/// Separates the fields of a record (upstream `DEFAULT_TUPLE_DELIMITER`).
pub const TUPLE_DELIMITER: &str = "<|#|>";
/// Ends the answer (upstream `DEFAULT_COMPLETION_DELIMITER`); its lowercase form is accepted too.
pub const COMPLETION_DELIMITER: &str = "<|COMPLETE|>";
/// Put in front of a glued-on record piece that lacks a record type (see the module doc).
pub const MISSING_ENTITY_PREFIX: &str = "entity<|#|>";
/// Put in front of a piece split off at `<|#|>relation<|#|>` that lacks a record type.
const MISSING_RELATION_PREFIX: &str = "relation<|#|>";
/// Entity types that would be dangerous as JavaScript object keys in the web UI.
const RESERVED_ENTITY_TYPES: [&str; 3] = ["__proto__", "constructor", "prototype"];
/// Characters that make an entity type invalid.
const FORBIDDEN_TYPE_CHARS: [char; 8] = ['\'', '(', ')', '<', '>', '|', '/', '\\'];

/// One entity row of an extraction answer, cleaned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedEntity {
    pub entity_name: String,
    /// Lowercased with spaces removed (`Natural Object` → `naturalobject`).
    pub entity_type: String,
    pub description: String,
    /// The chunk the row came from.
    pub source_id: String,
    pub file_path: String,
}

/// One relation row of an extraction answer, cleaned, in the direction it was emitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractedRelation {
    pub src_id: String,
    pub tgt_id: String,
    /// Comma-separated; may be empty.
    pub keywords: String,
    pub description: String,
    /// Always 1.0: text rows carry no weight.
    pub weight: f64,
    /// The chunk the row came from.
    pub source_id: String,
    pub file_path: String,
}

/// The rows parsed from one extraction answer, each list in emission order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub entities: Vec<ExtractedEntity>,
    pub relations: Vec<ExtractedRelation>,
}

/// Entity rows grouped by name: upstream's `maybe_nodes`.
pub type EntityGroups = Vec<(String, Vec<ExtractedEntity>)>;
/// Relation rows grouped by the directed `(src_id, tgt_id)` pair: upstream's `maybe_edges`.
pub type RelationGroups = Vec<((String, String), Vec<ExtractedRelation>)>;

impl Extraction {
    /// Groups the rows as upstream's `maybe_nodes`/`maybe_edges` dicts do: keys in order of
    /// first appearance, the rows under a key in emission order. `(A,B)` and `(B,A)` are
    /// different keys.
    pub fn into_groups(self) -> (EntityGroups, RelationGroups) {
        let entities = group_in_order(self.entities, |e| e.entity_name.clone());
        let relations = group_in_order(self.relations, |r| (r.src_id.clone(), r.tgt_id.clone()));
        (entities, relations)
    }

    /// The rows reordered so that those sharing a key are adjacent (the groups flattened).
    pub fn grouped(self) -> Extraction {
        let (entities, relations) = self.into_groups();
        Extraction {
            entities: entities.into_iter().flat_map(|(_, rows)| rows).collect(),
            relations: relations.into_iter().flat_map(|(_, rows)| rows).collect(),
        }
    }
}

fn group_in_order<T, K: Eq + Hash + Clone>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<(K, Vec<T>)> {
    let mut groups: Vec<(K, Vec<T>)> = Vec::new();
    let mut index: HashMap<K, usize> = HashMap::new();
    for item in items {
        let k = key(&item);
        match index.get(&k) {
            Some(&i) => groups[i].1.push(item),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![item]));
            }
        }
    }
    groups
}

/// Parses an extraction answer (think tags already removed) into entity and relation rows,
/// tagging each with `chunk_key` and `file_path`. Never fails: unusable records are dropped.
pub fn parse_extraction(llm_output: &str, chunk_key: &str, file_path: &str) -> Extraction {
    let mut extraction = Extraction::default();
    for record in split_records(llm_output) {
        let record = repair_delimiters(py_strip(&record));
        let mut fields = split_by_markers(&record, &[TUPLE_DELIMITER]);
        if is_mislabelled_relation(&fields) {
            fields[0] = "relation";
        }
        if let Some(entity) = parse_entity(&fields, chunk_key, file_path) {
            extraction.entities.push(entity);
        } else if let Some(relation) = parse_relation(&fields, chunk_key, file_path) {
            extraction.relations.push(relation);
        }
    }
    extraction
}

/// Splits the answer into records: on newlines and the completion marker, then apart where the
/// model glued records together with the tuple delimiter.
fn split_records(text: &str) -> Vec<String> {
    let completion_lower = COMPLETION_DELIMITER.to_lowercase();
    let entity_glue = format!("{TUPLE_DELIMITER}entity{TUPLE_DELIMITER}");
    let relationship_glue = format!("{TUPLE_DELIMITER}relationship{TUPLE_DELIMITER}");
    let relation_glue = format!("{TUPLE_DELIMITER}relation{TUPLE_DELIMITER}");
    let mut records = Vec::new();
    for line in split_by_markers(text, &["\n", COMPLETION_DELIMITER, &completion_lower]) {
        for piece in split_by_markers(line, &[&entity_glue]) {
            let piece = with_record_type(piece, MISSING_ENTITY_PREFIX);
            for part in split_by_markers(&piece, &[&relationship_glue, &relation_glue]) {
                records.push(with_record_type(part, MISSING_RELATION_PREFIX).into_owned());
            }
        }
    }
    records
}

fn with_record_type<'a>(piece: &'a str, prefix: &str) -> Cow<'a, str> {
    if piece.starts_with("entity") || piece.starts_with("relation") {
        Cow::Borrowed(piece)
    } else {
        Cow::Owned(format!("{prefix}{piece}"))
    }
}

/// Upstream `split_string_by_multi_markers`: split wherever a marker occurs (the first listed
/// wins at a position), strip each piece and drop the empty ones.
fn split_by_markers<'a>(text: &'a str, markers: &[&str]) -> Vec<&'a str> {
    let bytes = text.as_bytes();
    // A marker can only start at one of these bytes: every other position is passed over
    // without comparing (this split runs over every byte of every extraction answer).
    let firsts: Vec<u8> = markers.iter().filter_map(|m| m.as_bytes().first().copied()).collect();
    let mut pieces = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if !firsts.contains(&bytes[i]) {
            i += 1;
            continue;
        }
        match markers
            .iter()
            .find(|m| !m.is_empty() && bytes[i..].starts_with(m.as_bytes()))
        {
            // A match of a whole UTF-8 marker starts and ends on character boundaries.
            Some(marker) => {
                pieces.push(&text[start..i]);
                i += marker.len();
                start = i;
            }
            None => i += 1,
        }
    }
    pieces.push(&text[start..]);
    pieces.into_iter().map(py_strip).filter(|p| !p.is_empty()).collect()
}

/// A five-field row labelled `entity` is a relation with the wrong label (a common
/// small-model mistake).
fn is_mislabelled_relation(fields: &[&str]) -> bool {
    let Some(label) = fields.first().filter(|_| fields.len() == 5) else {
        return false;
    };
    let label = py_strip(label).to_lowercase();
    label.contains("entity") && !label.contains("relation")
}

fn parse_entity(fields: &[&str], chunk_key: &str, file_path: &str) -> Option<ExtractedEntity> {
    let &[label, name, entity_type, description] = fields else {
        return None;
    };
    if !label.contains("entity") {
        return None;
    }
    let name = normalize_entity_name(name);
    if py_strip(&name).is_empty() {
        return None;
    }
    let entity_type = clean_entity_type(entity_type)?;
    let description = sanitize_and_normalize_extracted_text(description, false);
    if py_strip(&description).is_empty() {
        return None;
    }
    Some(ExtractedEntity {
        entity_name: truncate_entity_name(&name).to_string(),
        entity_type,
        description,
        source_id: chunk_key.to_string(),
        file_path: file_path.to_string(),
    })
}

/// Upstream `_normalize_and_validate_entity_type`: reject delimiter-like characters, keep the
/// first of comma-separated types, remove spaces, lowercase, reject reserved names.
fn clean_entity_type(raw: &str) -> Option<String> {
    let cleaned = sanitize_and_normalize_extracted_text(raw, true);
    if py_strip(&cleaned).is_empty() || cleaned.contains(FORBIDDEN_TYPE_CHARS) {
        return None;
    }
    let first = if cleaned.contains(',') {
        cleaned.split(',').map(py_strip).find(|t| !t.is_empty())?
    } else {
        &cleaned
    };
    let entity_type = first.replace(' ', "").to_lowercase();
    (!RESERVED_ENTITY_TYPES.contains(&entity_type.as_str())).then_some(entity_type)
}

fn parse_relation(fields: &[&str], chunk_key: &str, file_path: &str) -> Option<ExtractedRelation> {
    let &[label, source, target, keywords, description] = fields else {
        return None;
    };
    if !label.contains("relation") {
        return None;
    }
    let source = normalize_entity_name(source);
    let target = normalize_entity_name(target);
    if source.is_empty() || target.is_empty() || source == target {
        return None;
    }
    let keywords = sanitize_and_normalize_extracted_text(keywords, true).replace('，', ",");
    let description = sanitize_and_normalize_extracted_text(description, false);
    if py_strip(&description).is_empty() {
        return None;
    }
    Some(ExtractedRelation {
        src_id: truncate_entity_name(&source).to_string(),
        tgt_id: truncate_entity_name(&target).to_string(),
        keywords,
        description,
        weight: 1.0,
        source_id: chunk_key.to_string(),
        file_path: file_path.to_string(),
    })
}

/// Upstream `fix_tuple_delimiter_corruption` for the core `#`: thirteen regex substitutions,
/// applied in order to the whole record (so a look-alike inside a description becomes a real
/// delimiter, as upstream). Each pattern is written out as a matcher below.
fn repair_delimiters(record: &str) -> String {
    const REPAIRS: [Matcher; 13] = [
        doubled_core,
        escaped_core,
        glued_empty,
        stray_outer_char,
        missing_pipes,
        replaced_pipe,
        missing_close_angle,
        colon_close,
        double_pipe_open,
        glued_open_double_pipe,
        missing_open_angle,
        trailing_pipe,
        double_pipes_no_angles,
    ];
    if record.is_empty() {
        return String::new();
    }
    let delimiter: Vec<char> = TUPLE_DELIMITER.chars().collect();
    let mut chars: Vec<char> = record.chars().collect();
    for matcher in REPAIRS {
        chars = replace_matches(&chars, matcher, &delimiter);
    }
    chars.into_iter().collect()
}

/// The length of a match starting at an index, like a compiled regex with its lookarounds
/// evaluated against the whole input of the pass.
type Matcher = fn(&[char], usize) -> Option<usize>;

/// `re.sub` with a pattern that never matches the empty string: scan left to right, replace
/// each match and continue after it.
fn replace_matches(chars: &[char], matcher: Matcher, replacement: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match matcher(chars, i).filter(|&len| len > 0) {
            Some(len) => {
                out.extend_from_slice(replacement);
                i += len;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn at(chars: &[char], i: usize) -> Option<char> {
    chars.get(i).copied()
}

fn literal(chars: &[char], i: usize, pattern: &str) -> bool {
    pattern.chars().enumerate().all(|(k, p)| at(chars, i + k) == Some(p))
}

fn pipes_from(chars: &[char], i: usize) -> usize {
    chars
        .get(i..)
        .map_or(0, |rest| rest.iter().take_while(|&&c| c == '|').count())
}

/// `.` without DOTALL.
fn any_but_newline(c: Option<char>) -> bool {
    c.is_some_and(|c| c != '\n')
}

/// `\S` (a character exists there and is not a Python space).
fn non_space(c: Option<char>) -> bool {
    c.is_some_and(|c| !crate::rag::normalize::is_py_space(c))
}

fn before(chars: &[char], i: usize) -> Option<char> {
    i.checked_sub(1).and_then(|j| at(chars, j))
}

/// `<\|#\|*?#\|>`: `<|##|>`, `<|#||#|>`.
fn doubled_core(chars: &[char], i: usize) -> Option<usize> {
    if !literal(chars, i, "<|#") {
        return None;
    }
    let j = i + 3 + pipes_from(chars, i + 3);
    literal(chars, j, "#|>").then_some(j + 3 - i)
}

/// `<\|\\#\|>`: `<|\#|>`.
fn escaped_core(chars: &[char], i: usize) -> Option<usize> {
    literal(chars, i, "<|\\#|>").then_some(6)
}

/// `(?<=\S)<\|+>(?=\S)`: `<|>` and `<||>` glued between words (spaced ones are free text).
fn glued_empty(chars: &[char], i: usize) -> Option<usize> {
    if !non_space(before(chars, i)) || at(chars, i) != Some('<') {
        return None;
    }
    let pipes = pipes_from(chars, i + 1);
    let close = i + 1 + pipes;
    (pipes > 0 && at(chars, close) == Some('>') && non_space(at(chars, close + 1))).then_some(pipes + 2)
}

/// `<.?\|#\|.?>`: one stray character inside either angle, `<x|#|y>`, `<||#||>`.
fn stray_outer_char(chars: &[char], i: usize) -> Option<usize> {
    if at(chars, i) != Some('<') {
        return None;
    }
    // Greedy optionals backtrack in this order: both present, only the first, only the second, neither.
    for lead in [1, 0] {
        if lead == 1 && !any_but_newline(at(chars, i + 1)) {
            continue;
        }
        let core = i + 1 + lead;
        if !literal(chars, core, "|#|") {
            continue;
        }
        for trail in [1, 0] {
            if trail == 1 && !any_but_newline(at(chars, core + 3)) {
                continue;
            }
            if at(chars, core + 3 + trail) == Some('>') {
                return Some(core + 3 + trail + 1 - i);
            }
        }
    }
    None
}

/// `<\|?#\|?>`: `<#>`, `<#|>`, `<|#>`.
fn missing_pipes(chars: &[char], i: usize) -> Option<usize> {
    if at(chars, i) != Some('<') {
        return None;
    }
    let core = i + 1 + usize::from(at(chars, i + 1) == Some('|'));
    if at(chars, core) != Some('#') {
        return None;
    }
    let close = core + 1 + usize::from(at(chars, core + 1) == Some('|'));
    if at(chars, close) == Some('>') {
        Some(close + 1 - i)
    } else {
        // Without the optional closing pipe.
        (at(chars, core + 1) == Some('>')).then_some(core + 2 - i)
    }
}

/// `<[^|]#\|>|<\|#[^|]>`: one pipe replaced by another character, `<!#|>`, `<|#!>`.
fn replaced_pipe(chars: &[char], i: usize) -> Option<usize> {
    let not_pipe = |c: Option<char>| c.is_some_and(|c| c != '|');
    let first = at(chars, i) == Some('<') && not_pipe(at(chars, i + 1)) && literal(chars, i + 2, "#|>");
    let second = literal(chars, i, "<|#") && not_pipe(at(chars, i + 3)) && at(chars, i + 4) == Some('>');
    (first || second).then_some(5)
}

/// `<\|#\|+(?!>)`: a missing closing angle, `<|#|`, `<|#||`.
fn missing_close_angle(chars: &[char], i: usize) -> Option<usize> {
    if !literal(chars, i, "<|#") {
        return None;
    }
    let pipes = pipes_from(chars, i + 3);
    if pipes == 0 {
        None
    } else if at(chars, i + 3 + pipes) != Some('>') {
        Some(3 + pipes)
    } else {
        // Backtracking one pipe leaves a `|` (not `>`) after the match.
        (pipes >= 2).then_some(3 + pipes - 1)
    }
}

/// `<\|#:(?!>)`: `<|#:`.
fn colon_close(chars: &[char], i: usize) -> Option<usize> {
    (literal(chars, i, "<|#:") && at(chars, i + 4) != Some('>')).then_some(4)
}

/// `<\|+#>`: `<||#>`.
fn double_pipe_open(chars: &[char], i: usize) -> Option<usize> {
    if at(chars, i) != Some('<') {
        return None;
    }
    let pipes = pipes_from(chars, i + 1);
    (pipes > 0 && literal(chars, i + 1 + pipes, "#>")).then_some(pipes + 3)
}

/// `(?<=\S)<\|\|(?!>)`: `<||` glued to the previous word.
fn glued_open_double_pipe(chars: &[char], i: usize) -> Option<usize> {
    (non_space(before(chars, i)) && literal(chars, i, "<||") && at(chars, i + 3) != Some('>')).then_some(3)
}

/// `(?<!<)\|#\|>`: a missing opening angle, `|#|>`.
fn missing_open_angle(chars: &[char], i: usize) -> Option<usize> {
    (before(chars, i) != Some('<') && literal(chars, i, "|#|>")).then_some(4)
}

/// `<\|#\|>\|`: `<|#|>|`.
fn trailing_pipe(chars: &[char], i: usize) -> Option<usize> {
    literal(chars, i, "<|#|>|").then_some(6)
}

/// `\|\|#\|\|`: `||#||`.
fn double_pipes_no_angles(chars: &[char], i: usize) -> Option<usize> {
    literal(chars, i, "||#||").then_some(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_group_by_directed_pair() {
        let out = parse_extraction(
            "relation<|#|>A<|#|>B<|#|>k<|#|>one\nrelation<|#|>B<|#|>A<|#|>k<|#|>two\n\
             relation<|#|>A<|#|>B<|#|>k<|#|>three\n<|COMPLETE|>",
            "chunk",
            "f",
        );
        let (_, relations) = out.into_groups();
        let keys: Vec<_> = relations
            .iter()
            .map(|(k, rows)| (k.0.as_str(), k.1.as_str(), rows.len()))
            .collect();
        assert_eq!(keys, [("A", "B", 2), ("B", "A", 1)]);
    }

    #[test]
    fn glued_entities_are_all_kept() {
        let out = parse_extraction("entity<|#|>A<|#|>T<|#|>a<|#|>entity<|#|>B<|#|>T<|#|>b", "c", "f");
        let names: Vec<_> = out.entities.iter().map(|e| e.entity_name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
    }

    #[test]
    fn repairs_match_upstream_regex_backtracking() {
        // `<|#||>`: the missing-angle repair backtracks one pipe, leaving `|>` behind.
        assert_eq!(repair_delimiters("a<|#||>b"), "a<|#|>b");
        assert_eq!(repair_delimiters("a<|#|>>b"), "a<|#|>b");
        assert_eq!(repair_delimiters("a <|> b"), "a <|> b");
        assert_eq!(repair_delimiters("a<|>b"), "a<|#|>b");
    }

    /// A tiny deterministic generator so the property test needs no extra crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        const PIECES: [&str; 16] = [
            "<|#|>",
            "<|COMPLETE|>",
            "entity",
            "relation",
            "<",
            "|",
            "#",
            ">",
            "\n",
            "&",
            "&#",
            ";",
            "知",
            " ",
            "\u{202f}",
            "\"",
        ];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut inputs: Vec<String> = Vec::new();
        for _ in 0..300 {
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
            inputs.push((0..rng.below(60)).map(|_| PIECES[rng.below(PIECES.len())]).collect());
        }
        inputs.push(TUPLE_DELIMITER.repeat(10_000));
        inputs.push(format!("entity{}", "<|#|>|".repeat(5_000)));
        inputs.push(format!("entity<|#|>{}<|#|>T<|#|>d", "名".repeat(100_000)));
        inputs.push("&".repeat(50_000) + &"&#99999999999999999999999".repeat(100));
        inputs.push("|".repeat(100_000));
        for input in &inputs {
            let out = parse_extraction(input, "chunk", "file");
            for e in &out.entities {
                assert!(e.entity_name.chars().count() <= 256 && e.entity_name.len() <= 512);
                assert!(!e.description.is_empty() && !e.entity_name.is_empty());
            }
            for r in &out.relations {
                assert!(!r.src_id.is_empty() && !r.tgt_id.is_empty() && !r.description.is_empty());
            }
        }
    }
}
