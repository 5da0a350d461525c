//! `lrt kb …`

use clap::{Args, Subcommand};

use super::confirm::DryRun;
use super::output::{self, opt, yes_no};
use super::tenant::{assignments, delete_report};
use super::{Ctx, TenantArg, TenantPage, confirm, kb_or_env};
use crate::authz::Permission;
use crate::error::{Error, Result};
use crate::model::KnowledgeBase;
use crate::service::{KbUpdate, NewKb};

#[derive(Debug, Subcommand)]
pub enum KbCmd {
    /// Create a knowledge base (needs kb:create)
    #[command(
        after_help = "Examples:\n  lrt kb create --tenant acme docs --description \"Product docs\"\n  lrt kb create -t acme support --set chunk_size=800 --set top_k=20"
    )]
    Create(CreateArgs),
    /// List the knowledge bases of a tenant
    #[command(
        after_help = "Examples:\n  lrt kb list --tenant acme --json\n  lrt kb list -t acme --page 2 --page-size 50"
    )]
    List(TenantPage),
    /// Show a knowledge base, its statistics and effective configuration
    #[command(after_help = "Example:\n  lrt kb show --tenant acme docs")]
    Show(KbIdent),
    /// Rename, describe or reconfigure a knowledge base (needs kb:create)
    #[command(after_help = "Example:\n  lrt kb update --tenant acme docs --set top_k=10 --unset chunk_size")]
    Update(UpdateArgs),
    /// Rebuild the vector indexes from kb.db; --reembed embeds everything again with the
    /// configured model (needs document:update)
    #[command(
        after_help = "Examples:\n  lrt kb reindex --tenant acme docs\n  EMBEDDING_DIM=768 lrt kb reindex --tenant acme docs --reembed --yes"
    )]
    Reindex(ReindexArgs),
    /// Delete a knowledge base and its folder (needs kb:delete)
    #[command(
        after_help = "Examples:\n  lrt kb delete --tenant acme docs --dry-run\n  lrt kb delete --tenant acme docs --yes"
    )]
    Delete(DeleteArgs),
    /// Write a knowledge base to a portable archive: a consistent kb.db snapshot and a manifest
    /// (needs document:read)
    #[command(
        after_help = "The archive is a tar with manifest.json (format version, names, configuration overrides, embedding\nmodel, counts, SHA-256 checksums) and kb.db; vector indexes are rebuilt on import. It is written\natomically and never replaces a file without --force. Exporting does not wait for a running ingest.\n\nExamples:\n  lrt kb export --tenant acme --kb docs --out docs.lrtkb\n  lrt kb export -t acme --kb docs -O /backups/docs.lrtkb --force"
    )]
    Export(super::archive::KbExportArgs),
    /// Restore an archive as a new knowledge base (new id; needs kb:create)
    #[command(
        after_help = "The archive is verified (manifest, sizes, checksums, SQLite check) before anything is created.\nA taken name is a conflict (exit 6): choose another with --name.\n\nExamples:\n  lrt kb import --tenant acme docs.lrtkb\n  lrt kb import --tenant other docs.lrtkb --name docs-copy"
    )]
    Import(super::archive::KbImportArgs),
    /// Import a LightRAG working directory as a new knowledge base (needs kb:create)
    #[command(
        name = "import-lightrag",
        after_help = "Reads kv_store_full_docs.json, kv_store_doc_status.json, kv_store_text_chunks.json,\ngraph_chunk_entity_relation.graphml, kv_store_llm_response_cache.json and the vdb_*.json files.\nThe vdb vectors are kept when --source-embedding-model equals the configured embedding model and\nthe dimensions match; otherwise everything is embedded again with the configured model.\n\nExamples:\n  lrt kb import-lightrag --tenant acme ./rag_storage --name legacy\n  EMBEDDING_BINDING=openai EMBEDDING_MODEL=text-embedding-3-small EMBEDDING_DIM=1536 \\\n    lrt kb import-lightrag -t acme ./rag_storage --source-embedding-model text-embedding-3-small"
    )]
    ImportLightrag(super::archive::LightragArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base name (unique within the tenant, case-insensitive)
    pub name: String,
    #[arg(long)]
    pub description: Option<String>,
    /// Configuration override (repeatable), e.g. top_k=20
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KbIdent {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]
    #[arg(value_name = "KB", add = super::complete::kbs())]
    pub kb: Option<String>,
    /// Same as the KB argument
    #[arg(long = "kb", value_name = "KB", conflicts_with = "kb", add = super::complete::kbs())]
    pub kb_flag: Option<String>,
}

impl KbIdent {
    /// The KB argument or `--kb`, else `LRT_KB`.
    pub(super) fn resolved(&self) -> Option<String> {
        kb_or_env(&self.kb.clone().or_else(|| self.kb_flag.clone()))
    }
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub ident: KbIdent,
    #[arg(long)]
    pub name: Option<String>,
    /// New description ("" clears it)
    #[arg(long)]
    pub description: Option<String>,
    /// Configuration override (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Drop an override so the tenant's value applies again (repeatable)
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub ident: KbIdent,
    /// Embed every chunk, entity and relation again with the configured embedding model
    #[arg(long)]
    pub reembed: bool,
    /// Do not ask for confirmation (--reembed replaces every vector)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub ident: KbIdent,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Say what would be deleted, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn exec(ctx: &Ctx, cmd: KbCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        KbCmd::Export(args) => return super::archive::kb_export(&out, &mut svc, &actor, args),
        KbCmd::Import(args) => return super::archive::kb_import(&out, &mut svc, &actor, args),
        KbCmd::ImportLightrag(args) => return super::archive::kb_import_lightrag(&out, &mut svc, &actor, args),
        KbCmd::Create(args) => {
            let new = NewKb {
                name: args.name,
                description: args.description,
                set: assignments("--set", &args.set)?,
            };
            show(&out, &svc.create_kb(&actor, args.tenant.resolved().as_deref(), new)?);
        }
        KbCmd::List(args) => {
            let paging = args.paging.paging()?;
            let page = paging.slice(svc.list_kbs(&actor, args.tenant.resolved().as_deref())?);
            out.emit_page(
                &page,
                "knowledge bases",
                &["ID", "NAME", "DOCUMENTS", "ENTITIES", "RELATIONS", "CREATED"],
                |k| {
                    vec![
                        k.kb_id.clone(),
                        k.kb_name.clone(),
                        k.document_count.to_string(),
                        k.entity_count.to_string(),
                        k.relation_count.to_string(),
                        k.created_at.clone(),
                    ]
                },
                |k| k.kb_id.clone(),
            );
        }
        KbCmd::Show(ident) => {
            let kb = svc.show_kb(&actor, ident.tenant.resolved().as_deref(), ident.resolved().as_deref())?;
            show(&out, &kb);
        }
        KbCmd::Update(args) => {
            let update = KbUpdate {
                name: args.name,
                description: args.description,
                set: assignments("--set", &args.set)?,
                unset: args.unset,
            };
            let ident = args.ident;
            let kb = svc.update_kb(
                &actor,
                ident.tenant.resolved().as_deref(),
                ident.resolved().as_deref(),
                update,
            )?;
            show(&out, &kb);
        }
        KbCmd::Reindex(args) => {
            let (tenant, kb) = (args.ident.tenant.resolved(), args.ident.resolved());
            let (handle, engine, _lock) = svc.open_engine_locked(
                &actor,
                tenant.as_deref(),
                kb.as_deref(),
                Permission::DocumentUpdate,
                "kb.reindex",
                args.reembed,
                || {
                    out.note("waiting for an ingest or delete on this knowledge base to finish…");
                    Ok(())
                },
            )?;
            if args.reembed {
                let what = format!("re-embed every vector of knowledge base '{}'", handle.kb_name);
                confirm::destructive(ctx, args.yes, &what, None, DryRun::NotOffered)?;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
            let counts = runtime.block_on(engine.reindex(args.reembed))?;
            svc.record_kb_stats(&handle, &engine)?;
            let doc: serde_json::Map<String, serde_json::Value> =
                counts.iter().map(|(k, n)| (k.to_string(), (*n).into())).collect();
            let doc =
                serde_json::json!({"kb_id": handle.kb_id.to_string(), "reembedded": args.reembed, "vectors": doc});
            out.emit(
                &doc,
                || vec![handle.kb_id.to_string()],
                || {
                    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    format!(
                        "{} the vector indexes of '{}': {}",
                        if args.reembed {
                            "Re-embedded and rebuilt"
                        } else {
                            "Rebuilt"
                        },
                        handle.kb_name,
                        parts.join(", ")
                    )
                },
            );
        }
        KbCmd::Delete(args) => {
            let (tenant, kb) = (args.ident.tenant.resolved(), args.ident.resolved());
            let plan = svc.plan_kb_delete(&actor, tenant.as_deref(), kb.as_deref())?;
            if args.dry_run {
                delete_report(&out, &plan);
                return Ok(0);
            }
            let name = plan.kb_name.clone().unwrap_or_default();
            let what = format!(
                "delete knowledge base '{name}' of tenant '{}' ({} documents)",
                plan.tenant_name, plan.document_count
            );
            confirm::destructive(ctx, args.yes, &what, None, DryRun::Offered)?;
            delete_report(
                &out,
                &svc.delete_kb(&actor, Some(&plan.tenant_id), plan.kb_id.as_deref())?,
            );
        }
    }
    Ok(0)
}

fn show(out: &output::Out, kb: &KnowledgeBase) {
    out.emit(
        kb,
        || vec![kb.kb_id.clone()],
        || {
            let mut rows = vec![
                ("kb_id".to_string(), kb.kb_id.clone()),
                ("tenant_id".to_string(), kb.tenant_id.clone()),
                ("kb_name".to_string(), kb.kb_name.clone()),
                ("description".to_string(), opt(&kb.description)),
                ("is_active".to_string(), yes_no(kb.is_active)),
                ("created_at".to_string(), kb.created_at.clone()),
                ("created_by".to_string(), opt(&kb.created_by)),
                ("updated_at".to_string(), kb.updated_at.clone()),
                ("document_count".to_string(), kb.document_count.to_string()),
                ("entity_count".to_string(), kb.entity_count.to_string()),
                ("relation_count".to_string(), kb.relation_count.to_string()),
                ("storage_size_mb".to_string(), kb.storage_size_mb.to_string()),
            ];
            if let Some(p) = &kb.providers {
                for (role, id) in [("llm", &p.llm), ("embedding", &p.embedding)] {
                    let host = id.host.as_deref().map(|h| format!(" at {h}")).unwrap_or_default();
                    rows.push((
                        format!("providers.{role}"),
                        format!("{} {}{host} (answers now)", id.binding, id.model),
                    ));
                }
            }
            if let Some(eff) = &kb.effective_config {
                for (key, value) in output::rows_of(eff, "") {
                    let marker = if kb.config.contains_key(&key) {
                        " (kb override)"
                    } else {
                        ""
                    };
                    rows.push((format!("config.{key}"), format!("{value}{marker}")));
                }
            }
            output::kv_table(rows)
        },
    );
}
