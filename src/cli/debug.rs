//! `lrt debug chunk|parse-extraction`: what the chunker and the extraction parser make of an
//! input, in upstream's field names, to diagnose a model that breaks the record format.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::output::list_table;
use crate::error::{Error, Result};
use crate::ingest::sources;
use crate::rag::{chunk, extract, normalize, tokenizer::Tokenizer};

#[derive(Debug, Subcommand)]
pub enum DebugCmd {
    /// Split a file into chunks exactly as ingest does
    #[command(
        after_help = "Examples:\n  lrt debug chunk notes.md --json\n  lrt debug chunk notes.md --size 400 --overlap 50 --split-by $'\\n\\n'"
    )]
    Chunk(ChunkArgs),
    /// Parse a saved LLM extraction answer into entities and relations
    #[command(after_help = "Example:\n  lrt debug parse-extraction answer.txt --chunk-id chunk-1 --json")]
    ParseExtraction(ParseArgs),
    /// Show the text (and pages) `lrt ingest` would take from a file
    #[command(
        after_help = "Examples:\n  lrt debug extract report.pdf\n  lrt debug extract slides.pptx --json\n\nThe format is chosen by content (PDF, DOCX, PPTX, XLSX, ODT, ODS, ODP, EPUB, HTML, RTF, text);\na file that cannot be read exits 2 with the reason."
    )]
    Extract(ExtractArgs),
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A document file, or `-` for standard input
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ChunkArgs {
    /// A UTF-8 text file, or `-` for standard input
    pub file: PathBuf,
    /// Chunk size in tokens
    #[arg(long, default_value_t = 1200)]
    pub size: usize,
    /// Overlap between windows in tokens
    #[arg(long, default_value_t = 100)]
    pub overlap: usize,
    /// Split on this string first (each piece is one chunk, windowed if too long)
    #[arg(long, value_name = "STR")]
    pub split_by: Option<String>,
    /// With --split-by: fail instead of windowing a piece that is too long
    #[arg(long, requires = "split_by")]
    pub split_only: bool,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// A file holding the model's answer, or `-` for standard input
    pub file: PathBuf,
    /// The chunk id to record as each row's source_id
    #[arg(long, default_value = "chunk-debug")]
    pub chunk_id: String,
}

fn read(path: &PathBuf) -> Result<String> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| Error::storage("cannot read standard input", e))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?
    };
    String::from_utf8(bytes).map_err(|_| Error::Usage(format!("{} is not UTF-8 text", path.display())))
}

pub fn exec(ctx: &Ctx, cmd: DebugCmd) -> Result<i32> {
    match cmd {
        DebugCmd::Chunk(args) => {
            let text = read(&args.file)?;
            let chunks = chunk::chunk_by_token_size(
                Tokenizer::global(),
                &text,
                args.split_by.as_deref(),
                args.split_only,
                args.overlap,
                args.size,
            )?;
            let rows = chunks
                .iter()
                .map(|c| {
                    let preview: String = c.content.chars().take(60).collect();
                    vec![
                        c.chunk_order_index.to_string(),
                        c.tokens.to_string(),
                        preview.replace('\n', " "),
                    ]
                })
                .collect();
            ctx.out.emit(
                &chunks,
                || chunks.iter().map(|c| c.chunk_order_index.to_string()).collect(),
                || list_table(&["ORDER", "TOKENS", "CONTENT"], rows),
            );
        }
        DebugCmd::Extract(args) => {
            let parser = ctx.settings()?.parser.build()?;
            let source = sources::read_one(&args.file, &mut std::io::stdin(), &parser).map_err(|s| {
                let message = format!("cannot extract {}: {}", s.file_path, s.reason);
                match s.upstream {
                    true => Error::Upstream(message),
                    false => Error::Usage(message),
                }
            })?;
            let doc = json!({
                "file_path": source.file_path,
                "format": source.format.name(),
                "parser": source.parser,
                "chars": source.content.chars().count(),
                "text": source.content,
                "pages": source.pages,
            });
            ctx.out.note(&format!(
                "{}: {} read by the {} parser",
                source.file_path,
                source.format.name(),
                source.parser.as_str()
            ));
            ctx.out.emit(&doc, Vec::new, || {
                let mut text = source.content.clone();
                if !source.pages.is_empty() {
                    let ranges: Vec<String> = source
                        .pages
                        .iter()
                        .map(|p| format!("p. {}: bytes {}..{}", p.number, p.start, p.end))
                        .collect();
                    text.push_str(&format!("\n\n[{} pages] {}", source.pages.len(), ranges.join(", ")));
                }
                text
            });
        }
        DebugCmd::ParseExtraction(args) => {
            let text = normalize::remove_think_tags(&read(&args.file)?);
            let parsed = extract::parse_extraction(&text, &args.chunk_id, "debug");
            let entities: Vec<_> = parsed
                .entities
                .iter()
                .map(|e| json!({"entity_name": e.entity_name, "entity_type": e.entity_type, "description": e.description, "source_id": e.source_id}))
                .collect();
            let relations: Vec<_> = parsed
                .relations
                .iter()
                .map(|r| json!({"src_id": r.src_id, "tgt_id": r.tgt_id, "keywords": r.keywords, "description": r.description, "weight": r.weight, "source_id": r.source_id}))
                .collect();
            let doc = json!({"entities": entities, "relations": relations});
            ctx.out.emit(&doc, Vec::new, || {
                let mut rows: Vec<Vec<String>> = parsed
                    .entities
                    .iter()
                    .map(|e| {
                        vec![
                            "entity".into(),
                            e.entity_name.clone(),
                            e.entity_type.clone(),
                            e.description.clone(),
                        ]
                    })
                    .collect();
                rows.extend(parsed.relations.iter().map(|r| {
                    vec![
                        "relation".into(),
                        format!("{} — {}", r.src_id, r.tgt_id),
                        r.keywords.clone(),
                        r.description.clone(),
                    ]
                }));
                list_table(&["KIND", "NAME", "TYPE / KEYWORDS", "DESCRIPTION"], rows)
            });
        }
    }
    Ok(0)
}
