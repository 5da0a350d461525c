//! `lrt ingest PATH…`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::output::list_table;
use super::{Ctx, TenantArg, kb_or_env};
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::sources;
use crate::rag::engine::{IngestReport, NewDocument, Progress};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt ingest --tenant acme --kb docs notes.md manual/\n  lrt ingest docs/ --glob '*.md'\n  lrt ingest report.pdf slides.pptx book.epub\n  cat report.txt | lrt ingest -\n  lrt ingest --retry-failed\n  lrt ingest --replace notes.md              # an edited file replaces its old version\n\nFormats: text, Markdown, code and config files, PDF, DOCX, PPTX, XLSX, ODT/ODS/ODP, HTML, EPUB,\nRTF (`lrt debug extract FILE` shows the text lrt would ingest). LRT_PARSER=docling with\nDOCLING_ENDPOINT sends PDFs, images and Office files to a Docling-serve endpoint instead.\n\nEach run is one API call against the tenant's max_monthly_api_calls (`lrt help quotas`)."
)]
pub struct IngestArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]
    #[arg(long, add = super::complete::kbs())]
    pub kb: Option<String>,
    /// Files, directories (read recursively) or `-` for standard input: text, Markdown, PDF,
    /// DOCX, PPTX, XLSX, ODT/ODS/ODP, EPUB, HTML, RTF (see `lrt debug extract`)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only files matching this glob inside directories (e.g. '*.md')
    #[arg(long)]
    pub glob: Option<String>,
    /// Process failed documents again too
    #[arg(long)]
    pub retry_failed: bool,
    /// A file whose path already holds a processed document with other content replaces it:
    /// the old document is deleted (as `lrt doc delete` does) before the new one is processed
    /// (needs document:delete too). Without it, changed content is added as another document.
    #[arg(long)]
    pub replace: bool,
}

pub fn exec(ctx: &Ctx, args: IngestArgs) -> Result<i32> {
    if args.paths.is_empty() && !args.retry_failed {
        return Err(Error::Usage(
            "nothing to ingest: name files, directories or `-` (or pass --retry-failed)".into(),
        ));
    }
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let parser = svc.settings().parser.build()?;
    let (sources, skipped) = sources::collect(&args.paths, args.glob.as_deref(), &mut std::io::stdin(), &parser)?;
    for s in &skipped {
        ctx.out.note(&format!("skipped {}: {}", s.file_path, s.reason));
    }
    let (tenant, kb) = (args.tenant.resolved(), kb_or_env(&args.kb));
    let job = svc.start_ingest_with(
        &actor,
        tenant.as_deref(),
        kb.as_deref(),
        sources.len() as u64,
        args.replace,
        || {
            ctx.out
                .note("waiting for another `lrt ingest` on this knowledge base to finish…")
        },
    )?;
    ctx.out.note(&format!(
        "Ingesting {} document(s) into {} / {}…",
        sources.len(),
        job.handle.tenant_name,
        job.handle.kb_name
    ));
    let docs = sources
        .into_iter()
        .map(|s| NewDocument {
            file_path: s.file_path,
            content: s.content,
            pages: s.pages,
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let interrupted = async {
        let _ = tokio::signal::ctrl_c().await;
        Error::Interrupted(
            "interrupted: committed documents are kept; run `lrt ingest --retry-failed` (or ingest again) to finish the rest".into(),
        )
    };
    let bar = progress_bar(ctx, job.progress());
    let result = runtime.block_on(async {
        let ticker = bar.clone().map(|(bar, update)| {
            tokio::spawn(async move {
                loop {
                    update(&bar);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            })
        });
        let result = svc.run_ingest(job, docs, args.retry_failed, interrupted).await;
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        result
    });
    if let Some((bar, _)) = bar {
        bar.finish_and_clear();
    }
    let report = result?;
    render(ctx, &report, &skipped);
    Ok(failure_kind(&report).map_or(0, ErrorKind::exit_code))
}

/// What the run's failed documents make its exit code: a quota's when every one of them
/// crossed a quota (nothing to retry before the quota changes), else an upstream failure's.
fn failure_kind(report: &IngestReport) -> Option<ErrorKind> {
    let mut failed = report.documents.iter().filter(|d| d.outcome == "failed").peekable();
    failed.peek()?;
    Some(match failed.all(|d| d.error_kind == Some(ErrorKind::Quota)) {
        true => ErrorKind::Quota,
        false => ErrorKind::Upstream,
    })
}

type Updater = Arc<dyn Fn(&ProgressBar) + Send + Sync>;

/// A progress bar on stderr for people watching a terminal: documents done of queued, with
/// chunks, LLM calls and cache hits. None in JSON or quiet mode, or when stderr is not a TTY
/// (scripts and logs get the final summary only).
fn progress_bar(ctx: &Ctx, progress: impl Fn() -> Progress + Send + Sync + 'static) -> Option<(ProgressBar, Updater)> {
    if ctx.out.is_json() || ctx.out.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} documents {pos}/{len} [{bar:30}] {elapsed_precise}  {msg}")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    let update: Updater = Arc::new(move |bar: &ProgressBar| {
        let p = progress();
        bar.set_length(p.documents_queued);
        bar.set_position(p.documents_done);
        bar.set_message(format!(
            "{} chunks, {} LLM calls, {} cache hits",
            p.chunks, p.llm_calls, p.cache_hits
        ));
    });
    Some((bar, update))
}

fn render(ctx: &Ctx, report: &IngestReport, skipped: &[sources::Skipped]) {
    let json = serde_json::json!({
        "added": report.added,
        "replaced": report.replaced,
        "duplicates": report.duplicates,
        "failed": report.failed,
        "skipped": skipped,
        "chunks": report.chunks,
        "entities": report.entities,
        "relations": report.relations,
        "llm_calls": report.llm_calls,
        "cache_hits": report.cache_hits,
        "embedding_calls": report.embedding_calls,
        "elapsed_ms": report.elapsed_ms,
        "documents": report.documents,
    });
    let ids = || report.documents.iter().map(|d| d.doc_id.clone()).collect();
    ctx.out.emit(&json, ids, || {
        let rows = report
            .documents
            .iter()
            .map(|d| {
                vec![
                    d.file_path.clone(),
                    d.outcome.to_string(),
                    d.chunks.to_string(),
                    d.entities.to_string(),
                    d.relations.to_string(),
                    d.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut text = list_table(&["FILE", "OUTCOME", "CHUNKS", "ENTITIES", "RELATIONS", "ERROR"], rows);
        text.push_str(&format!(
            "\nadded {}, replaced {}, duplicates {}, failed {}, skipped {}; {} chunks, {} entities, {} relations; \
             {} LLM calls, {} cache hits; {:.2} s",
            report.added,
            report.replaced,
            report.duplicates,
            report.failed,
            skipped.len(),
            report.chunks,
            report.entities,
            report.relations,
            report.llm_calls,
            report.cache_hits,
            report.elapsed_ms as f64 / 1000.0
        ));
        text
    });
}
