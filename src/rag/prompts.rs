//! Prompt texts, in lrt's own words, for upstream LightRAG's output contracts: extraction
//! records (`entity<|#|>…`, `relation<|#|>…`, `<|COMPLETE|>`) and plain-text summaries.

use crate::rag::extract::{COMPLETION_DELIMITER, TUPLE_DELIMITER};

/// LightRAG's default entity types.
pub const DEFAULT_ENTITY_TYPES: [&str; 11] = [
    "Person",
    "Creature",
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

/// Upstream's caps on one extraction answer.
pub const MAX_RECORDS: usize = 100;
pub const MAX_ENTITY_RECORDS: usize = 40;

/// The system prompt of both extraction passes.
pub fn extraction_system(language: &str, entity_types: &[&str]) -> String {
    let d = TUPLE_DELIMITER;
    let done = COMPLETION_DELIMITER;
    format!(
        "You build a knowledge graph from text. Read the input and list the named things it mentions \
and how they are connected.

Rules:
1. Entities. For each distinct entity write one line:
   entity{d}<name>{d}<type>{d}<description>
   - name: the entity's name as written, in title case when the language has case; use the same \
name every time the entity appears.
   - type: one of {types}; use Other when none fits.
   - description: what the text says about the entity, in the third person, without pronouns.
2. Relations. For each pair of entities that the text connects write one line:
   relation{d}<source name>{d}<target name>{d}<keywords>{d}<description>
   - both names must be entities you listed above;
   - keywords: a few comma-separated words naming the kind of connection;
   - description: how the two are connected, according to the text.
   Relations have no direction: never list the same pair twice. Break relations between three or \
more entities into pairs.
3. Write every entity line before the first relation line, one record per line, and nothing else: \
no numbering, no bullets, no headings, no code fences.
4. The separator {d} is exact: never abbreviate or alter it, and never use it inside a field.
5. Write at most {MAX_RECORDS} records, at most {MAX_ENTITY_RECORDS} of them entities.
6. Write in {language}; keep proper nouns in their original language.
7. End the answer with the line {done}",
        types = entity_types.join(", "),
    )
}

/// The user prompt of the first extraction pass.
pub fn extraction_user(text: &str) -> String {
    format!(
        "Extract the entities and relations of the following text, following the rules.\n\n\
Text:\n```\n{text}\n```\n\nRecords:"
    )
}

/// The chunk text inside an [`extraction_user`] prompt: its inverse, kept beside it so that
/// the mock models of tests and benches read the prompt lrt actually writes.
pub fn extraction_text(prompt: &str) -> Option<&str> {
    const OPEN: &str = "Text:\n```\n";
    let start = prompt.find(OPEN)? + OPEN.len();
    let end = prompt.rfind("\n```\n\nRecords:")?;
    prompt.get(start..end)
}

/// The user prompt of the gleaning pass (sent after the first answer, in the same chat).
pub fn gleaning_user() -> String {
    format!(
        "Some entities or relations of the text may be missing from your answer, or written in the wrong \
format. List only those, using the same record format and rules; do not repeat records that were \
already correct. End with {COMPLETION_DELIMITER}"
    )
}

/// The system prompt that merges description fragments into one description.
pub fn summary_system(kind: &str, language: &str, max_tokens: usize) -> String {
    format!(
        "You merge several descriptions of the same {kind} into one. Combine every fact they contain, \
resolve repetitions, and keep contradictory statements apart by saying who or what each applies to. \
Write plain prose in the third person, starting with the name, in {language}, in at most {max_tokens} tokens. \
Answer with the merged description only."
    )
}

/// The user prompt of a summary: the name and one JSON object per fragment.
pub fn summary_user(kind: &str, name: &str, descriptions: &[String]) -> String {
    let lines: Vec<String> = descriptions
        .iter()
        .map(|d| serde_json::json!({ "Description": d }).to_string())
        .collect();
    format!(
        "{kind} name: {name}\n\nDescriptions:\n```\n{}\n```\n\nMerged description:",
        lines.join("\n")
    )
}

/// What upstream answers when no context could be built (kept verbatim: clients match on it).
pub const NO_CONTEXT_ANSWER: &str = "Sorry, I'm not able to provide an answer to that question.[no-context]";

/// What the grounded answer may draw on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextKind {
    /// Knowledge-graph entities and relations plus document chunks.
    Graph,
    /// Document chunks only (naive mode).
    Chunks,
}

/// The system prompt of a grounded answer: the rules, then the context. `user_prompt` adds
/// the caller's own instructions ("n/a" when there are none, as upstream).
pub fn answer_system(kind: ContextKind, response_type: &str, user_prompt: Option<&str>, context: &str) -> String {
    let sources = match kind {
        ContextKind::Graph => "knowledge-graph entities and relationships and the document chunks",
        ContextKind::Chunks => "the document chunks",
    };
    let extra = match user_prompt.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => format!("\n\n{p}"),
        None => "n/a".to_string(),
    };
    format!(
        "You answer questions using only the material in the Context section below: {sources}. \
Earlier turns of the conversation, if any, are there to help you understand the question, not as \
a source of facts.

How to answer:
1. Work out what the user wants to know. Find the relevant facts in the Context, combine them into \
a coherent answer, and note the reference_id of every chunk you rely on.
2. Stay grounded: state nothing that the Context does not support. If the Context does not contain \
the answer, say that you do not know.
3. Write in the language of the question, using Markdown (headings, lists, emphasis) where it helps. \
Shape the answer as: {response_type}.
4. Finish with a section headed `### References` that lists at most 5 of the documents you used, \
one per line, as `* [n] document title`, with the number from the Reference Document List and the \
title in its original language. Write nothing after that list.

Additional instructions from the user: {extra}

---Context---

{context}"
    )
}

/// The whole prompt as `--only-prompt` shows it: the system prompt, then the question.
pub fn full_prompt(system: &str, query: &str) -> String {
    format!("{system}\n\n---User Query---\n\n{query}")
}
