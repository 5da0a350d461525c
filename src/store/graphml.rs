//! Writes a KB's graph as GraphML in the shape of upstream's
//! `graph_chunk_entity_relation.graphml` (a networkx undirected graph): the same node and
//! edge attribute names and types, so Gephi, yEd, networkx and LightRAG's own tools read it.
//!
//! XML 1.0 cannot carry most control characters even as character references, and parsers
//! normalise line breaks and tabs inside attribute values; [`xml_text`] and [`xml_attr`]
//! handle both so every stored string survives a round trip (control characters other than
//! tab, newline and carriage return become U+FFFD).

use std::borrow::Cow;
use std::io::{self, Write};

use super::inspect::{GraphEdge, GraphNode};

/// `(key id, attribute name, GraphML type)` of node attributes, in upstream's order.
const NODE_KEYS: [(&str, &str, &str); 7] = [
    ("d0", "entity_id", "string"),
    ("d1", "entity_type", "string"),
    ("d2", "description", "string"),
    ("d3", "source_id", "string"),
    ("d4", "file_path", "string"),
    ("d5", "created_at", "long"),
    ("d6", "truncate", "string"),
];

/// Edge attributes, in upstream's order.
const EDGE_KEYS: [(&str, &str, &str); 7] = [
    ("d7", "weight", "double"),
    ("d8", "description", "string"),
    ("d9", "keywords", "string"),
    ("d10", "source_id", "string"),
    ("d11", "file_path", "string"),
    ("d12", "created_at", "long"),
    ("d13", "truncate", "string"),
];

/// Replaces characters XML 1.0 forbids (C0 controls other than tab, LF and CR; U+FFFE and
/// U+FFFF) with U+FFFD.
fn xml_chars(s: &str) -> Cow<'_, str> {
    let bad = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
    if s.contains(bad) {
        Cow::Owned(s.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Escapes element text. A carriage return is written as a character reference, since
/// parsers turn a literal CR (LF) into LF.
pub fn xml_text(s: &str) -> String {
    htmlize::escape_text(xml_chars(s).as_ref()).replace('\r', "&#13;")
}

/// Escapes a double-quoted attribute value, keeping tabs and line breaks (which attribute
/// value normalisation would turn into spaces).
pub fn xml_attr(s: &str) -> String {
    htmlize::escape_attribute(xml_chars(s).as_ref())
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// A float the way Python's `repr` (and so networkx) writes it: always with a decimal point.
fn float_text(x: f64) -> String {
    format!("{x:?}")
}

/// Writes `nodes` and `edges` as one GraphML document.
pub fn write<W: Write>(out: &mut W, nodes: &[GraphNode], edges: &[GraphEdge]) -> io::Result<()> {
    writeln!(out, "<?xml version='1.0' encoding='utf-8'?>")?;
    writeln!(
        out,
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">"
    )?;
    for (keys, domain) in [(&NODE_KEYS, "node"), (&EDGE_KEYS, "edge")] {
        for (id, name, ty) in keys {
            writeln!(
                out,
                "  <key id=\"{id}\" for=\"{domain}\" attr.name=\"{name}\" attr.type=\"{ty}\" />"
            )?;
        }
    }
    writeln!(out, "  <graph edgedefault=\"undirected\">")?;
    for n in nodes {
        writeln!(out, "    <node id=\"{}\">", xml_attr(&n.entity_id))?;
        let values = [
            xml_text(&n.entity_id),
            xml_text(&n.entity_type),
            xml_text(&n.description),
            xml_text(&n.source_id),
            xml_text(&n.file_path),
            n.created_at.to_string(),
            xml_text(&n.truncate),
        ];
        for ((id, _, _), value) in NODE_KEYS.iter().zip(values) {
            writeln!(out, "      <data key=\"{id}\">{value}</data>")?;
        }
        writeln!(out, "    </node>")?;
    }
    for e in edges {
        writeln!(
            out,
            "    <edge source=\"{}\" target=\"{}\">",
            xml_attr(&e.source),
            xml_attr(&e.target)
        )?;
        let values = [
            float_text(e.weight),
            xml_text(&e.description),
            xml_text(&e.keywords),
            xml_text(&e.source_id),
            xml_text(&e.file_path),
            e.created_at.to_string(),
            xml_text(&e.truncate),
        ];
        for ((id, _, _), value) in EDGE_KEYS.iter().zip(values) {
            writeln!(out, "      <data key=\"{id}\">{value}</data>")?;
        }
        writeln!(out, "    </edge>")?;
    }
    writeln!(out, "  </graph>")?;
    writeln!(out, "</graphml>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_for_xml() {
        assert_eq!(xml_text("a<b & \"c\"\r\n"), "a&lt;b &amp; \"c\"&#13;\n");
        assert_eq!(xml_attr("x\"y\t\n<"), "x&quot;y&#9;&#10;&lt;");
        assert_eq!(xml_text("bell\u{7}"), "bell\u{FFFD}");
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(2.5), "2.5");
    }

    #[test]
    fn a_graph_is_written_with_upstream_keys() {
        let node = |name: &str| GraphNode {
            entity_id: name.into(),
            entity_type: "person".into(),
            description: "d".into(),
            source_id: "c1".into(),
            file_path: "a.txt".into(),
            created_at: 1,
            truncate: String::new(),
        };
        let edge = GraphEdge {
            source: "A&B".into(),
            target: "C".into(),
            weight: 2.0,
            description: "rel".into(),
            keywords: "k1,k2".into(),
            source_id: "c1".into(),
            file_path: "a.txt".into(),
            created_at: 1,
            truncate: String::new(),
        };
        let mut buf = Vec::new();
        write(&mut buf, &[node("A&B"), node("C")], &[edge]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains("<node id=\"A&amp;B\">"), "{text}");
        assert!(text.contains("attr.name=\"entity_id\""));
        assert!(text.contains("<edge source=\"A&amp;B\" target=\"C\">"));
        assert!(text.contains("<data key=\"d7\">2.0</data>"));
        assert_eq!(text.matches("<node ").count(), 2);
    }
}
