//! JSON written the way Python's `json.dumps(value, ensure_ascii=False)` writes it, because
//! upstream counts the tokens of that text when it budgets the query context: separators
//! `", "` and `": "`, keys in insertion order, non-ASCII raw, and Python's escape set.
//! (`serde_json::to_string` uses compact separators, which changes the token counts.)

use std::fmt::Write;

use serde_json::Value;

/// `json.dumps(value, ensure_ascii=False)`.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// `json.dumps` of an object whose values are all strings, written straight from the fields:
/// the context's entity, relation and chunk lines, without building a `Value` for each.
pub fn dumps_str_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(fields.iter().map(|(k, v)| k.len() + v.len() + 6).sum::<usize>() + 2);
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(&mut out, k);
        out.push_str(": ");
        write_str(&mut out, v);
    }
    out.push('}');
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Integers as digits; floats as Python's `repr` (`1.0`, not `1`).
fn write_number(out: &mut String, n: &serde_json::Number) {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or(0.0);
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
            let _ = write!(out, "{f:.1}");
        } else {
            let _ = write!(out, "{f}");
        }
    } else {
        let _ = write!(out, "{n}");
    }
}

/// A string with Python's escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\u00xx`
/// for the other C0 controls; everything else (DEL, U+2028, non-ASCII) is written raw.
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Only ASCII bytes are escaped, so the runs between them are whole characters, copied at once.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_separators_and_escapes() {
        let v = json!({"entity": "A \"q\" \\ é\u{2028}", "n": [1, 2.0, true, null], "c": "\u{1}\u{7f}\t\u{8}\u{c}"});
        assert_eq!(
            dumps(&v),
            "{\"entity\": \"A \\\"q\\\" \\\\ é\u{2028}\", \"n\": [1, 2.0, true, null], \"c\": \"\\u0001\u{7f}\\t\\b\\f\"}"
        );
        let fields = [("entity", "A \"q\"\n\u{1}é"), ("type", ""), ("description", "x\\y")];
        let value = json!({"entity": fields[0].1, "type": fields[1].1, "description": fields[2].1});
        assert_eq!(dumps_str_object(&fields), dumps(&value));
    }
}
