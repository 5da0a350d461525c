//! `lrt doc list|show` (needs document:read) and `lrt doc delete` (needs document:delete).

use clap::{Args, Subcommand, ValueEnum};

use super::confirm::DryRun;
use super::output::{kv_table, list_table, opt};
use super::{Ctx, PageArgs, TenantArg, confirm, kb_or_env};
use crate::error::{Error, Result};
use crate::rag::engine::{DeleteOptions, DeleteReport};
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
    /// Delete documents: their chunks, vectors and every entity or relation only they
    /// supported; shared ones are rebuilt from the remaining chunks without extraction calls
    /// (needs document:delete)
    #[command(
        after_help = "Examples:\n  lrt doc delete --tenant acme --kb docs DOC_ID --dry-run\n  lrt doc delete --tenant acme --kb docs DOC_ID1 DOC_ID2 --yes\n  lrt doc list --status failed -q | xargs lrt doc delete --yes\n\nThe LLM cache is kept (as LightRAG does), so ingesting the same text again costs no\nextraction calls; --drop-llm-cache removes the deleted chunks' extraction answers from it.\nCached query answers are always dropped: any of them may quote the deleted text."
    )]
    Delete(DeleteArgs),
}

/// `--tenant T --kb K`: the knowledge base a `doc` or `graph` command reads.
#[derive(Debug, Clone, Args)]
pub struct KbScope {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]
    #[arg(long, value_name = "KB", add = super::complete::kbs())]
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
    #[command(flatten)]
    pub paging: PageArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Document id (`doc-…`, as `lrt doc list` prints it)
    pub doc_id: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Document ids (`doc-…`, as `lrt doc list` prints them)
    #[arg(value_name = "DOC_ID", required = true)]
    pub doc_ids: Vec<String>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Say what would be deleted and rebuilt, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the deleted chunks' extraction answers in the LLM cache (the default)
    #[arg(long, conflicts_with = "drop_llm_cache")]
    pub keep_llm_cache: bool,
    /// Also remove the deleted chunks' extraction answers from the LLM cache
    #[arg(long)]
    pub drop_llm_cache: bool,
}

pub fn exec(ctx: &Ctx, cmd: DocCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        DocCmd::List(args) => {
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let status = args.status.map(DocStatus::from);
            let paging = args.paging.paging()?;
            let page = svc.list_documents(&actor, tenant.as_deref(), kb.as_deref(), status, paging)?;
            let what = match status {
                Some(s) => format!("{} documents", s.as_str()),
                None => "documents".to_string(),
            };
            out.emit_page(
                &page,
                &what,
                &["ID", "STATUS", "FILE", "CHUNKS", "UPDATED"],
                |d| {
                    vec![
                        d.doc_id.clone(),
                        d.status.as_str().to_string(),
                        d.file_path.clone(),
                        d.chunks_count.to_string(),
                        d.updated_at.clone(),
                    ]
                },
                |d| d.doc_id.clone(),
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
        DocCmd::Delete(args) => {
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let (handle, plan) = svc.plan_document_delete(&actor, tenant.as_deref(), kb.as_deref(), &args.doc_ids)?;
            if args.dry_run {
                render_delete(ctx, &plan);
                return Ok(0);
            }
            let what = format!(
                "delete {} document(s) from knowledge base '{}' of tenant '{}' (removing {} entities and {} relations, \
                 rebuilding {} entities and {} relations)",
                plan.documents_deleted,
                handle.kb_name,
                handle.tenant_name,
                plan.entities_removed,
                plan.relations_removed,
                plan.entities_rebuilt,
                plan.relations_rebuilt
            );
            confirm::destructive(ctx, args.yes, &what, None, DryRun::Offered)?;
            let options = DeleteOptions {
                drop_llm_cache: args.drop_llm_cache,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
            // The KB is named by id now: the plan resolved it, and a rename in between must
            // not redirect the delete.
            let (tenant_id, kb_id) = (handle.tenant_id.to_string(), handle.kb_id.to_string());
            let report = runtime.block_on(svc.delete_documents(
                &actor,
                Some(&tenant_id),
                Some(&kb_id),
                &args.doc_ids,
                options,
                || {
                    out.note("waiting for an ingest or delete on this knowledge base to finish…");
                    Ok(())
                },
            ))?;
            render_delete(ctx, &report);
        }
    }
    Ok(0)
}

fn render_delete(ctx: &Ctx, report: &DeleteReport) {
    ctx.out.emit(
        report,
        || report.documents.iter().map(|d| d.doc_id.clone()).collect(),
        || {
            let rows = report
                .documents
                .iter()
                .map(|d| {
                    vec![
                        d.doc_id.clone(),
                        d.status.as_str().to_string(),
                        d.file_path.clone(),
                        d.chunks.to_string(),
                    ]
                })
                .collect();
            let mut text = list_table(&["ID", "STATUS", "FILE", "CHUNKS"], rows);
            if report.dry_run {
                text.push_str(&format!(
                    "\nwould delete {} documents and {} chunks; remove {} entities and {} relations; rebuild {} \
                     entities and {} relations (dry run: nothing changed)",
                    report.documents_deleted,
                    report.chunks_deleted,
                    report.entities_removed,
                    report.relations_removed,
                    report.entities_rebuilt,
                    report.relations_rebuilt
                ));
            } else {
                text.push_str(&format!(
                    "\ndeleted {} documents and {} chunks; removed {} entities and {} relations; rebuilt {} entities \
                     and {} relations; {} LLM calls, {} cache hits, {} embedding calls; {:.2} s",
                    report.documents_deleted,
                    report.chunks_deleted,
                    report.entities_removed,
                    report.relations_removed,
                    report.entities_rebuilt,
                    report.relations_rebuilt,
                    report.llm_calls,
                    report.cache_hits,
                    report.embedding_calls,
                    report.elapsed_ms as f64 / 1000.0
                ));
                if report.llm_cache_dropped > 0 {
                    text.push_str(&format!("; dropped {} LLM cache entries", report.llm_cache_dropped));
                }
                if report.answers_dropped > 0 {
                    text.push_str(&format!("; dropped {} cached answers", report.answers_dropped));
                }
            }
            text
        },
    );
}
