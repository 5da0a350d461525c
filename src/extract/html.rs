//! HTML and XHTML: the text people read, without scripts, styles and navigation chrome
//! (`nav`, `aside`, `footer`, a page-level `header`, ARIA navigation/banner roles), headings
//! as Markdown, list items, tables as Markdown rows, `pre` kept verbatim. `html5ever`'s
//! tokenizer does the parsing (entities, raw text, broken markup); no tree is built, so
//! nesting depth costs nothing.

use std::cell::RefCell;

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

use super::text::{Builder, collapse};
use super::{ExtractError, Extracted, Extractor, Format, Limits};

pub struct Html;

impl Extractor for Html {
    fn extract(&self, bytes: &[u8], _limits: &Limits) -> Result<Extracted, ExtractError> {
        let text = super::text::decode(bytes)?;
        let mut out = Builder::default();
        render(&text, &mut out);
        Ok(out.finish(Format::Html))
    }
}

/// Appends the readable text of an HTML document to `out`.
pub fn render(html: &str, out: &mut Builder) {
    let sink = Sink::default();
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    while let TokenizerResult::Script(()) = tok.feed(&queue) {}
    tok.end();
    let mut state = tok.sink.state.into_inner();
    state.flush();
    let State { out: mine, .. } = state;
    out.raw(&mine.finish(Format::Html).text);
}

/// Elements whose content is never text a reader wants.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "head", "nav", "aside", "footer", "svg", "iframe", "object", "select",
    "button", "form",
];
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "address",
    "center",
    "body",
    "html",
    "hr",
    "br",
    "caption",
];

#[derive(Default)]
struct Sink {
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    out: Builder,
    buf: String,
    /// Names of the skipped elements open (their content is dropped).
    skipping: Vec<String>,
    heading: Option<usize>,
    in_item: bool,
    pre: usize,
    article: usize,
    /// Open tables: rows so far and the row being read.
    tables: Vec<(Vec<Vec<String>>, Vec<String>)>,
    in_cell: bool,
}

impl State {
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.buf);
        if self.in_cell {
            self.buf = text;
            return;
        }
        if self.pre > 0 {
            self.out.raw(&text);
        } else if let Some(level) = self.heading {
            self.out.heading(level, &text);
        } else if self.in_item {
            self.out.item(&text);
        } else {
            self.out.para(&text);
        }
    }

    fn tag(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name = &*tag.name;
        let start = tag.kind == TagKind::StartTag;
        if !self.skipping.is_empty() {
            if start && !tag.self_closing && self.skipping.last().is_some_and(|s| s == name) {
                self.skipping.push(name.to_string());
            } else if !start && self.skipping.last().is_some_and(|s| s == name) {
                self.skipping.pop();
            }
            return raw_kind(name, start);
        }
        if start && !tag.self_closing && !VOID.contains(&name) && self.skipped(tag) {
            self.flush();
            self.skipping.push(name.to_string());
            return raw_kind(name, start);
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                self.heading = start.then(|| (name.as_bytes()[1] - b'0') as usize);
            }
            "li" => {
                self.flush();
                self.in_item = start;
            }
            "pre" => {
                self.flush();
                self.pre = if start {
                    self.pre + 1
                } else {
                    self.pre.saturating_sub(1)
                };
            }
            "article" | "main" => {
                self.flush();
                self.article = if start {
                    self.article + 1
                } else {
                    self.article.saturating_sub(1)
                };
            }
            "table" if start => {
                self.flush();
                self.tables.push(Default::default());
            }
            "table" => {
                self.end_cell();
                if let Some((mut rows, row)) = self.tables.pop() {
                    if !row.is_empty() {
                        rows.push(row);
                    }
                    self.out.table(&rows);
                }
            }
            "tr" if !self.tables.is_empty() => {
                self.end_cell();
                if let Some((rows, row)) = self.tables.last_mut()
                    && !row.is_empty()
                {
                    rows.push(std::mem::take(row));
                }
            }
            "td" | "th" if !self.tables.is_empty() => {
                self.end_cell();
                self.in_cell = start;
            }
            _ if BLOCK.contains(&name) => {
                if self.in_cell {
                    self.buf.push(' ');
                } else {
                    self.flush();
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }

    fn end_cell(&mut self) {
        if self.in_cell {
            let cell = collapse(&std::mem::take(&mut self.buf));
            if let Some((_, row)) = self.tables.last_mut() {
                row.push(cell);
            }
            self.in_cell = false;
        }
    }

    /// Is this start tag chrome or code rather than content?
    fn skipped(&self, tag: &Tag) -> bool {
        let name = &*tag.name;
        let role = tag.attrs.iter().find(|a| &*a.name.local == "role").map(|a| &*a.value);
        SKIP.contains(&name)
            || (name == "header" && self.article == 0)
            || matches!(role, Some("navigation" | "banner" | "contentinfo" | "search"))
            || tag.attrs.iter().any(|a| &*a.name.local == "hidden")
    }
}

/// Tells the tokenizer to read the content of `script`/`style` as raw text, not markup.
fn raw_kind(name: &str, start: bool) -> TokenSinkResult<()> {
    match (name, start) {
        ("script", true) => TokenSinkResult::RawData(RawKind::ScriptData),
        ("style" | "noscript" | "iframe", true) => TokenSinkResult::RawData(RawKind::Rawtext),
        ("textarea" | "title", true) => TokenSinkResult::RawData(RawKind::Rcdata),
        _ => TokenSinkResult::Continue,
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.state.borrow_mut();
        match token {
            Token::TagToken(tag) => s.tag(&tag),
            Token::CharacterTokens(text) if s.skipping.is_empty() => {
                s.buf.push_str(&text);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        Html.extract(html.as_bytes(), &Limits::default()).unwrap().text
    }

    #[test]
    fn keeps_content_drops_chrome() {
        let html = r#"<!doctype html><html><head><title>T</title><style>p{color:red}</style>
            <script>var x = "<p>not text</p>";</script></head><body>
            <header><a href="/">Home</a></header><nav><ul><li>Menu</li></ul></nav>
            <main><article><header><h1>Title &amp; more</h1></header>
            <p>First   paragraph<br>continued.</p><ul><li>one</li><li>two</li></ul>
            <table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>3<b>0</b></td></tr></table>
            <pre>code
  indented</pre></article></main><footer>© site</footer><div hidden>secret</div></body></html>"#;
        assert_eq!(
            text(html),
            "# Title & more\n\nFirst paragraph\n\ncontinued.\n\n- one\n- two\n\n| Name | Age |\n| --- | --- |\n| Ann | 30 |\n\ncode\n  indented"
        );
    }

    #[test]
    fn deep_nesting_and_broken_markup_are_linear() {
        let html = format!(
            "{}deep{}<p>unclosed <b>bold",
            "<div>".repeat(100_000),
            "</div>".repeat(50)
        );
        assert_eq!(text(&html), "deep\n\nunclosed bold");
    }
}
