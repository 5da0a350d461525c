//! `lrt kb export|import|import-lightrag` and `lrt tenant export|import`: argument parsing and
//! rendering only; the work is in `service::archive` and `service::lightrag`.

use std::path::PathBuf;

use clap::Args;

use super::TenantArg;
use super::output::{Out, kv_table};
use crate::authz::Actor;
use crate::error::Result;
use crate::service::{ExportReport, ImportedKb, ImportedTenant, LightragImport, Service};

#[derive(Debug, Args)]
pub struct KbExportArgs {
    #[command(flatten)]
    pub ident: super::kb::KbIdent,
    /// The archive to write (atomically)
    #[arg(long = "out", short = 'O', value_name = "FILE")]
    pub out: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct KbImportArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// An archive written by `lrt kb export`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Name of the new knowledge base [default: the archived name]
    #[arg(long)]
    pub name: Option<String>,
    /// Embed everything again when the archive's embedding model differs from the configured one
    #[arg(long)]
    pub reembed: bool,
}

#[derive(Debug, Args)]
pub struct TenantExportArgs {
    #[command(flatten)]
    pub ident: super::TenantIdent,
    /// The archive to write (atomically)
    #[arg(long = "out", short = 'O', value_name = "FILE")]
    pub out: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TenantImportArgs {
    /// An archive written by `lrt tenant export`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Name of the new tenant [default: the archived name]
    #[arg(long)]
    pub name: Option<String>,
    /// Embed everything again where an archived KB's embedding model differs from the configured one
    #[arg(long)]
    pub reembed: bool,
}

#[derive(Debug, Args)]
pub struct LightragArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// A LightRAG working directory (or workspace sub-directory) with kv_store_*.json,
    /// vdb_*.json and graph_chunk_entity_relation.graphml
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Name of the new knowledge base [default: the directory's name]
    #[arg(long)]
    pub name: Option<String>,
    /// The embedding model LightRAG used (its EMBEDDING_MODEL); its vectors are kept only when
    /// this equals the configured model and the dimensions match
    #[arg(long, value_name = "MODEL")]
    pub source_embedding_model: Option<String>,
    /// Embed everything again with the configured model, whatever the vdb files hold
    #[arg(long)]
    pub reembed: bool,
}

fn export_table(r: &ExportReport) -> String {
    let kbs: Vec<String> = r
        .kbs
        .iter()
        .map(|k| {
            format!(
                "{} ({} documents, {} entities, {} relations)",
                k.kb_name, k.counts.documents, k.counts.entities, k.counts.relations
            )
        })
        .collect();
    let mut rows = vec![
        ("file".to_string(), r.file.clone()),
        ("bytes".to_string(), r.bytes.to_string()),
        ("format".to_string(), format!("{} v{}", r.format, r.format_version)),
        ("tenant".to_string(), r.tenant_name.clone()),
        ("knowledge bases".to_string(), kbs.join("\n")),
    ];
    if r.format == crate::service::TENANT_FORMAT {
        rows.push(("members".to_string(), r.member_count.to_string()));
    }
    rows.push(("elapsed_ms".to_string(), r.elapsed_ms.to_string()));
    kv_table(rows)
}

fn kb_rows(k: &ImportedKb) -> Vec<(String, String)> {
    let vectors: Vec<String> = k.vectors.iter().map(|(name, n)| format!("{n} {name}")).collect();
    let mut rows = vec![
        ("kb_id".to_string(), k.kb_id.clone()),
        ("kb_name".to_string(), k.kb_name.clone()),
        ("tenant".to_string(), k.tenant_name.clone()),
        ("from".to_string(), format!("{} ({})", k.source_kb_name, k.source_kb_id)),
        ("documents".to_string(), k.counts.documents.to_string()),
        ("entities".to_string(), k.counts.entities.to_string()),
        ("relations".to_string(), k.counts.relations.to_string()),
        ("embeddings".to_string(), k.embeddings.clone()),
        ("vectors".to_string(), vectors.join(", ")),
    ];
    if let Some(v) = k.migrated_from {
        rows.push(("migrated_from_schema".to_string(), v.to_string()));
    }
    rows
}

pub fn kb_export(out: &Out, svc: &mut Service, actor: &Actor, args: KbExportArgs) -> Result<i32> {
    let report = svc.export_kb(
        actor,
        args.ident.tenant.resolved().as_deref(),
        args.ident.resolved().as_deref(),
        &args.out,
        args.force,
    )?;
    out.emit(&report, || vec![report.file.clone()], || export_table(&report));
    Ok(0)
}

pub fn kb_import(out: &Out, svc: &mut Service, actor: &Actor, args: KbImportArgs) -> Result<i32> {
    let report = svc.import_kb(
        actor,
        args.tenant.resolved().as_deref(),
        &args.file,
        args.name.as_deref(),
        args.reembed,
    )?;
    out.emit(&report, || vec![report.kb_id.clone()], || kv_table(kb_rows(&report)));
    Ok(0)
}

pub fn tenant_export(out: &Out, svc: &mut Service, actor: &Actor, args: TenantExportArgs) -> Result<i32> {
    let report = svc.export_tenant(actor, &args.ident.required()?, &args.out, args.force)?;
    out.emit(&report, || vec![report.file.clone()], || export_table(&report));
    Ok(0)
}

pub fn tenant_import(out: &Out, svc: &mut Service, actor: &Actor, args: TenantImportArgs) -> Result<i32> {
    let report: ImportedTenant = svc.import_tenant(actor, &args.file, args.name.as_deref(), args.reembed)?;
    out.emit(
        &report,
        || vec![report.tenant_id.clone()],
        || {
            let mut text = kv_table(vec![
                ("tenant_id".to_string(), report.tenant_id.clone()),
                ("tenant_name".to_string(), report.tenant_name.clone()),
                (
                    "from".to_string(),
                    format!("{} ({})", report.source_tenant_name, report.source_tenant_id),
                ),
                ("members".to_string(), report.member_count.to_string()),
                ("knowledge bases".to_string(), report.kbs.len().to_string()),
            ]);
            for kb in &report.kbs {
                text.push_str("\n\n");
                text.push_str(&kv_table(kb_rows(kb)));
            }
            text
        },
    );
    Ok(0)
}

pub fn kb_import_lightrag(out: &Out, svc: &mut Service, actor: &Actor, args: LightragArgs) -> Result<i32> {
    let report: LightragImport = svc.import_lightrag(
        actor,
        args.tenant.resolved().as_deref(),
        &args.dir,
        args.name.as_deref(),
        args.source_embedding_model.as_deref(),
        args.reembed,
    )?;
    for w in &report.warnings {
        out.note(&format!("warning: {w}"));
    }
    out.emit(
        &report,
        || vec![report.kb_id.clone()],
        || {
            kv_table(vec![
                ("kb_id".to_string(), report.kb_id.clone()),
                ("kb_name".to_string(), report.kb_name.clone()),
                ("tenant".to_string(), report.tenant_name.clone()),
                ("documents".to_string(), report.documents.to_string()),
                ("chunks".to_string(), report.chunks.to_string()),
                ("entities".to_string(), report.entities.to_string()),
                ("relations".to_string(), report.relations.to_string()),
                ("llm_cache".to_string(), report.llm_cache.to_string()),
                ("embeddings".to_string(), report.embeddings.clone()),
                ("why".to_string(), report.embeddings_reason.clone()),
                ("elapsed_ms".to_string(), report.elapsed_ms.to_string()),
            ])
        },
    );
    Ok(0)
}
