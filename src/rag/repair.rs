//! A forgiving JSON reader for model answers that strict parsing refused, covering the
//! repairs upstream gets from `json_repair` on keyword answers: prose before the JSON, single
//! quotes, unquoted keys, trailing commas, and an answer cut off mid-string or before its
//! closing brackets (what was read so far is kept). It never fails: text with no JSON value
//! in it reads as the empty string, as `json_repair` returns for it.

use serde_json::{Map, Value};

/// The JSON value in `text`, repaired.
pub fn loads(text: &str) -> Value {
    let chars: Vec<char> = text.chars().collect();
    let Some(start) = chars.iter().position(|&c| c == '{' || c == '[') else {
        return Value::String(String::new());
    };
    let mut p = Parser { s: &chars, i: start };
    p.value()
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    /// Skips whitespace and stray commas between items.
    fn skip_separators(&mut self) {
        while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Value {
        self.skip_ws();
        match self.peek() {
            Some('{') => self.object(),
            Some('[') => self.array(),
            Some(q @ ('"' | '\'')) => Value::String(self.string(q)),
            Some(_) => self.bare(),
            None => Value::String(String::new()),
        }
    }

    fn object(&mut self) -> Value {
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.skip_separators();
            let key = match self.peek() {
                None => break,
                Some('}') => {
                    self.i += 1;
                    break;
                }
                Some(q @ ('"' | '\'')) => self.string(q),
                Some(_) => self.bare_key(),
            };
            self.skip_ws();
            if self.peek() == Some(':') {
                self.i += 1;
            }
            self.skip_ws();
            let value = match self.peek() {
                None | Some('}') | Some(',') => Value::String(String::new()),
                _ => self.value(),
            };
            map.insert(key, value);
        }
        Value::Object(map)
    }

    fn array(&mut self) -> Value {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_separators();
            match self.peek() {
                None => break,
                Some(']') => {
                    self.i += 1;
                    break;
                }
                Some('}') => break, // a missing `]` before the object's end
                _ => items.push(self.value()),
            }
        }
        Value::Array(items)
    }

    /// A quoted string; an unterminated one ends at the end of the text.
    fn string(&mut self, quote: char) -> String {
        self.i += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                c if c == quote => return out,
                '\\' => match self.peek() {
                    Some('n') => {
                        self.i += 1;
                        out.push('\n');
                    }
                    Some('t') => {
                        self.i += 1;
                        out.push('\t');
                    }
                    Some('r') => {
                        self.i += 1;
                        out.push('\r');
                    }
                    Some('b') => {
                        self.i += 1;
                        out.push('\u{8}');
                    }
                    Some('f') => {
                        self.i += 1;
                        out.push('\u{c}');
                    }
                    Some('u') => {
                        self.i += 1;
                        out.push(self.unicode_escape());
                    }
                    Some(other) => {
                        self.i += 1;
                        out.push(other);
                    }
                    None => {}
                },
                c => out.push(c),
            }
        }
        out
    }

    /// The four hex digits after `\u` (and a low surrogate after a high one).
    fn unicode_escape(&mut self) -> char {
        let hex = |p: &mut Self| -> Option<u32> {
            let digits: String = p.s.get(p.i..p.i + 4)?.iter().collect();
            let v = u32::from_str_radix(&digits, 16).ok()?;
            p.i += 4;
            Some(v)
        };
        let Some(first) = hex(self) else { return '\u{FFFD}' };
        if (0xD800..0xDC00).contains(&first) && self.s.get(self.i..self.i + 2) == Some(&['\\', 'u']) {
            self.i += 2;
            if let Some(low) = hex(self).filter(|l| (0xDC00..0xE000).contains(l)) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(c).unwrap_or('\u{FFFD}');
            }
        }
        char::from_u32(first).unwrap_or('\u{FFFD}')
    }

    /// An unquoted key: everything up to the colon.
    fn bare_key(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| c != ':' && c != '}' && c != ',') {
            self.i += 1;
        }
        self.s[start..self.i].iter().collect::<String>().trim().to_string()
    }

    /// A number, `true`/`false`/`null`, or an unquoted word (kept as a string).
    fn bare(&mut self) -> Value {
        let start = self.i;
        while self.peek().is_some_and(|c| !matches!(c, ',' | '}' | ']')) {
            self.i += 1;
        }
        let word: String = self.s[start..self.i].iter().collect::<String>().trim().to_string();
        match word.as_str() {
            "true" | "True" => Value::Bool(true),
            "false" | "False" => Value::Bool(false),
            "null" | "None" => Value::Null,
            _ => serde_json::from_str::<serde_json::Number>(&word)
                .map(Value::Number)
                .unwrap_or(Value::String(word)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repairs_common_damage() {
        assert_eq!(loads("{\"a\": [1, 2,], }"), json!({"a": [1, 2]}));
        assert_eq!(loads("{'a': ['x']}"), json!({"a": ["x"]}));
        assert_eq!(loads("{a: \"x\"}"), json!({"a": "x"}));
        assert_eq!(loads("Sure: {\"a\": [\"x\", \"y"), json!({"a": ["x", "y"]}));
        assert_eq!(loads("{\"a\": \"\\u77e5\\ud83e\\udd80\"}"), json!({"a": "知🦀"}));
        assert_eq!(loads("{\"a\": [\"x\"]"), json!({"a": ["x"]}));
        assert_eq!(loads(""), json!(""));
        assert_eq!(loads("no json here"), json!(""));
    }
}
