//! Citation numbering of answers: the context numbers its files by frequency (upstream's
//! order, which the model sees), so an answer citing one file may call it `[8]`. Readers
//! expect `[1]` first. [`Renumber`] rewrites `[n]` markers in order of first citation, also
//! while an answer streams, and the same mapping renumbers the result's references, which
//! are then marked cited or not.

use std::collections::HashMap;

/// Rewrites `[n]` citations of known reference ids as they appear: the first cited id
/// becomes 1, the next new one 2, and so on. Unknown numbers are left alone.
#[derive(Debug, Default)]
pub struct Renumber {
    known: Vec<String>,
    map: HashMap<String, String>,
    /// Ids in order of first citation.
    order: Vec<String>,
    /// A `[` and the digits after it, held until the `]` (or anything else) arrives.
    held: String,
}

/// Longest run of digits held back as a possible citation.
const MAX_DIGITS: usize = 6;

impl Renumber {
    /// A renumbering over the context's reference ids.
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        Renumber {
            known: ids.into_iter().map(str::to_string).collect(),
            ..Renumber::default()
        }
    }

    /// Feeds a piece of the answer; returns what can be written now.
    pub fn push(&mut self, piece: &str) -> String {
        let mut out = String::with_capacity(piece.len());
        for c in piece.chars() {
            self.step(c, &mut out);
        }
        out
    }

    /// The end of the answer: whatever was held back.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    fn step(&mut self, c: char, out: &mut String) {
        if self.held.is_empty() {
            if c == '[' {
                self.held.push(c);
            } else {
                out.push(c);
            }
            return;
        }
        if c.is_ascii_digit() && self.held.len() <= MAX_DIGITS {
            self.held.push(c);
            return;
        }
        if c == ']' && self.held.len() > 1 {
            let id = self.held[1..].to_string();
            self.held.clear();
            out.push('[');
            out.push_str(&self.resolve(&id));
            out.push(']');
            return;
        }
        out.push_str(&std::mem::take(&mut self.held));
        self.step(c, out);
    }

    fn resolve(&mut self, id: &str) -> String {
        if let Some(new) = self.map.get(id) {
            return new.clone();
        }
        if !self.known.iter().any(|k| k == id) {
            return id.to_string();
        }
        let new = (self.order.len() + 1).to_string();
        self.map.insert(id.to_string(), new.clone());
        self.order.push(id.to_string());
        new
    }

    /// The final mapping of every known id: cited ones in order of first citation, then the
    /// uncited ones in their context order. Each entry is (old id, new id, cited).
    pub fn mapping(&self) -> Vec<(String, String, bool)> {
        let mut all: Vec<(String, String, bool)> = self
            .order
            .iter()
            .map(|old| (old.clone(), self.map[old].clone(), true))
            .collect();
        for old in &self.known {
            if !self.map.contains_key(old) {
                all.push((old.clone(), (all.len() + 1).to_string(), false));
            }
        }
        all
    }
}

/// Renumbers a whole answer; returns the new text and the mapping.
pub fn renumber_text<'a>(
    answer: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> (String, Vec<(String, String, bool)>) {
    let mut r = Renumber::new(ids);
    let mut text = r.push(answer);
    text.push_str(&r.finish());
    (text, r.mapping())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_are_numbered_in_order_of_first_use() {
        let (text, map) = renumber_text(
            "Brest [3]. Also [1] and again [3]; not a citation [9] or [x] or [].\n* [3] a.md\n* [1] b.md",
            ["1", "2", "3"],
        );
        assert_eq!(
            text,
            "Brest [1]. Also [2] and again [1]; not a citation [9] or [x] or [].\n* [1] a.md\n* [2] b.md"
        );
        assert_eq!(
            map,
            vec![
                ("3".into(), "1".into(), true),
                ("1".into(), "2".into(), true),
                ("2".into(), "3".into(), false)
            ]
        );
    }

    #[test]
    fn streamed_pieces_split_anywhere_give_the_same_text() {
        let answer = "See [8] and [[2]] then [8]. Ends with [";
        let (whole, _) = renumber_text(answer, ["2", "8"]);
        for cut in 0..answer.len() {
            let mut r = Renumber::new(["2", "8"]);
            let mut text = r.push(&answer[..cut]);
            text.push_str(&r.push(&answer[cut..]));
            text.push_str(&r.finish());
            assert_eq!(text, whole, "cut at {cut}");
        }
        assert_eq!(whole, "See [1] and [[2]] then [1]. Ends with [");
    }
}
