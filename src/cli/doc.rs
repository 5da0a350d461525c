//! `lrt doc list|show`: a KB's documents, their status and chunks (needs document:read).

use clap::{Args, Subcommand, ValueEnum};

use super::output::{kv_table, list_table, opt};
use super::{Ctx, TenantArg, kb_or_env};
use crate::error::Result;
use crate::store::kb::DocStatus;

#[derive(Debug, Subcommand)]
pub enum DocCmd {
    /// List a knowledge base's documents, most recently updated first (needs document:read)
    #[command(
        after_help = "Examples:\n  lrt doc list --tenant acme --kb docs\n  lrt doc list --status failed --json\n  lrt doc list --page 2 --page-size 50"
    )]
    List(ListArgs),
    /// Show a document: status, error, chunks and graph contribution (needs document:read)
    #[command(
        after_help = "Examples:\n  lrt doc show doc-8f14e45fceea167a5a36dedd4bea2543\n  lrt doc show --tenant acme --kb docs DOC_ID --json"
    )]
    Show(ShowArgs),
}

/// `--tenant T --kb K`: the knowledge base a `doc` or `graph` command reads.
#[derive(Debug, Clone, Args)]
pub struct KbScope {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]
    #[arg(long, value_name = "KB")]
    pub kb: Option<String>,
}

impl KbScope {
    pub fn tenant(&self) -> Option<String> {
        self.tenant.resolved()
    }

    pub fn kb(&self) -> Option<String> {
        kb_or_env(&self.kb)
    }
}

/// A document status, as `--status` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Pending,
    Processing,
    Processed,
    Failed,
}

impl From<StatusArg> for DocStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => DocStatus::Pending,
            StatusArg::Processing => DocStatus::Processing,
            StatusArg::Processed => DocStatus::Processed,
            StatusArg::Failed => DocStatus::Failed,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Only documents with this status
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Page number, from 1
    #[arg(long, default_value_t = 1)]
    pub page: u64,
    /// Documents per page (1–1000)
    #[arg(long, default_value_t = 20)]
    pub page_size: u64,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Document id (`doc-…`, as `lrt doc list` prints it)
    pub doc_id: String,
}

pub fn exec(ctx: &Ctx, cmd: DocCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        DocCmd::List(args) => {
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let status = args.status.map(DocStatus::from);
            let page = svc.list_documents(
                &actor,
                tenant.as_deref(),
                kb.as_deref(),
                status,
                args.page,
                args.page_size,
            )?;
            let rows = page
                .items
                .iter()
                .map(|d| {
                    vec![
                        d.doc_id.clone(),
                        d.status.as_str().to_string(),
                        d.file_path.clone(),
                        d.chunks_count.to_string(),
                        d.updated_at.clone(),
                    ]
                })
                .collect();
            out.emit(
                &page.items,
                || page.items.iter().map(|d| d.doc_id.clone()).collect(),
                || {
                    let mut text = list_table(&["ID", "STATUS", "FILE", "CHUNKS", "UPDATED"], rows);
                    let pages = page.total.div_ceil(page.page_size).max(1);
                    let what = status.map(|s| format!("{} ", s.as_str())).unwrap_or_default();
                    text.push_str(&format!(
                        "\npage {} of {pages} ({} {what}documents)",
                        page.page, page.total
                    ));
                    text
                },
            );
        }
        DocCmd::Show(args) => {
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let doc = svc.show_document(&actor, tenant.as_deref(), kb.as_deref(), &args.doc_id)?;
            out.emit(
                &doc,
                || vec![doc.document.doc_id.clone()],
                || {
                    let d = &doc.document;
                    let mut rows = vec![
                        ("doc_id".to_string(), d.doc_id.clone()),
                        ("status".to_string(), d.status.as_str().to_string()),
                        ("file_path".to_string(), d.file_path.clone()),
                        ("content_hash".to_string(), d.content_hash.clone()),
                        ("content_length".to_string(), d.content_length.to_string()),
                        ("chunks_count".to_string(), d.chunks_count.to_string()),
                        ("entity_count".to_string(), doc.entity_count.to_string()),
                        ("relation_count".to_string(), doc.relation_count.to_string()),
                        ("created_at".to_string(), d.created_at.clone()),
                        ("updated_at".to_string(), d.updated_at.clone()),
                    ];
                    if d.status == DocStatus::Failed || d.error.is_some() {
                        rows.push(("error".to_string(), opt(&d.error)));
                    }
                    rows.push(("content_summary".to_string(), doc.content_summary.clone()));
                    let chunks = doc
                        .chunks
                        .iter()
                        .map(|c| vec![c.chunk_id.clone(), c.chunk_order.to_string(), c.tokens.to_string()])
                        .collect();
                    format!(
                        "{}\n\nChunks:\n{}",
                        kv_table(rows),
                        list_table(&["CHUNK", "ORDER", "TOKENS"], chunks)
                    )
                },
            );
        }
    }
    Ok(0)
}
