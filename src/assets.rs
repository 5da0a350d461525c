//! The front end compiled into the binary: the graph explorer (`assets/graph.js`, plain
//! JavaScript with its own canvas renderer, no dependencies) and the web console served by
//! `lrt serve` at `/`, and the self-contained HTML file `lrt graph view` writes. No build step
//! and no Node.js: the files under `assets/` are the sources and what is served.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::service::GraphView;

/// The explorer, shared by the console and `graph view` files.
pub const GRAPH_JS: &str = include_str!("../assets/graph.js");
pub const GRAPH_CSS: &str = include_str!("../assets/graph.css");
/// The console page and its script and style (no inline script or style: the server's
/// Content-Security-Policy allows `'self'` only).
pub const CONSOLE_HTML: &str = include_str!("../assets/console/index.html");
pub const CONSOLE_JS: &str = include_str!("../assets/console/console.js");
pub const CONSOLE_CSS: &str = include_str!("../assets/console/console.css");
pub const CONSOLE_ICON: &str = include_str!("../assets/console/favicon.svg");

const VIEW_HTML: &str = include_str!("../assets/graph-view.html");
const VIEW_CSS: &str = include_str!("../assets/graph-view.css");
const VIEW_JS: &str = include_str!("../assets/graph-view.js");

/// `'sha256-…'`: a CSP source allowing exactly this inline script or style.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// JSON that can sit inside a `<script>` element: no `<`, `>` or `&` (so no `</script>` or
/// `<!--` from an entity's text can end or change the element) and no U+2028/U+2029. The
/// escapes are JSON escapes, so the text parses back to the same value.
pub fn script_json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let raw = serde_json::to_string(value)?;
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Text for HTML element content and attribute values.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The `lrt graph view` file: one HTML page holding the explorer, its style and the view's
/// data. Its Content-Security-Policy allows only its own inline script and style (by hash)
/// and no source at all, so opening it makes no network request.
pub fn graph_html(view: &GraphView) -> serde_json::Result<String> {
    let style = format!("{GRAPH_CSS}{VIEW_CSS}");
    let csp = format!(
        "default-src 'none'; script-src {} {}; style-src {}; base-uri 'none'; form-action 'none'",
        csp_hash(GRAPH_JS),
        csp_hash(VIEW_JS),
        csp_hash(&style)
    );
    let title = match &view.focus {
        Some(f) => format!("{} / {}: around {f}", view.tenant, view.kb),
        None => format!("{} / {}: knowledge graph", view.tenant, view.kb),
    };
    let data = script_json(view)?;
    // One pass over the template, so no inserted text is ever searched for placeholders.
    let mut out = String::with_capacity(VIEW_HTML.len() + style.len() + GRAPH_JS.len() + data.len());
    let mut rest = VIEW_HTML;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map(|e| start + e + 2).unwrap_or(rest.len());
        match &rest[start..end] {
            "{{CSP}}" => out.push_str(&csp),
            "{{TITLE}}" => out.push_str(&html_text(&title)),
            "{{STYLE}}" => out.push_str(&style),
            "{{DATA}}" => out.push_str(&data),
            "{{GRAPH_JS}}" => out.push_str(GRAPH_JS),
            "{{BOOT_JS}}" => out.push_str(VIEW_JS),
            other => out.push_str(other),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{ViewEdge, ViewNode};

    fn view(name: &str) -> GraphView {
        GraphView {
            tenant: "acme <b>".into(),
            kb: "docs".into(),
            focus: None,
            depth: None,
            show: 10,
            kb_nodes: 1,
            kb_edges: 0,
            omitted_nodes: 0,
            nodes: vec![ViewNode {
                id: name.into(),
                entity_type: "person".into(),
                description: vec![format!("{name} says \u{2028} hi & bye")],
                degree: 0,
                files: vec![],
            }],
            edges: Vec::<ViewEdge>::new(),
        }
    }

    #[test]
    fn entity_text_cannot_end_the_data_script_and_parses_back() {
        let evil = "</script><script>alert(1)</script><!--";
        let html = graph_html(&view(evil)).unwrap();
        assert_eq!(html.matches("</script>").count(), 3, "only the page's own script ends");
        assert!(!html.contains("<!--"));
        assert!(html.contains("<title>acme &lt;b&gt; / docs: knowledge graph</title>"));
        let start = html.find("id=\"lrt-graph-data\">").unwrap() + "id=\"lrt-graph-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let back: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(back["nodes"][0]["id"], evil);
        assert_eq!(
            back["nodes"][0]["description"][0],
            format!("{evil} says \u{2028} hi & bye")
        );
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_script_and_style() {
        let html = graph_html(&view("a")).unwrap();
        let inline = |open: &str, close: &str| -> Vec<String> {
            html.split(open)
                .skip(1)
                .map(|s| s[..s.find(close).unwrap()].to_string())
                .collect()
        };
        let scripts = inline("<script>", "</script>");
        let styles = inline("<style>", "</style>");
        assert_eq!((scripts.len(), styles.len()), (2, 1));
        for s in scripts.iter().chain(&styles) {
            assert!(html.contains(&csp_hash(s)), "no hash for {}", &s[..40.min(s.len())]);
        }
        assert!(html.contains("default-src 'none'"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external source"
        );
        assert!(!html.contains("{{"), "every placeholder filled");
    }
}
