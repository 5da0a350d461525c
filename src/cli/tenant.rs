//! `lrt tenant …`

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::confirm::DryRun;
use super::output::{self, opt, rows_of, yes_no};
use super::{Ctx, PageArgs, TenantIdent, confirm};
use crate::error::{Error, Result};
use crate::model::Tenant;
use crate::service::validate::assignment;
use crate::service::{DeleteReport, NewTenant, TenantUpdate};

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant (super-admins only)
    #[command(
        after_help = "Examples:\n  lrt tenant create acme --admin alice@acme.com --metadata plan=enterprise\n  T=$(lrt tenant create acme -q)\n  lrt tenant create acme --config-file acme.toml --set top_k=50"
    )]
    Create(CreateArgs),
    /// List the tenants you can see
    #[command(after_help = "Examples:\n  lrt tenant list\n  lrt tenant list --page 2 --page-size 50 --json")]
    List(ListArgs),
    /// Show a tenant with its effective configuration and quota
    #[command(after_help = "Example:\n  lrt tenant show acme --json")]
    Show(TenantIdent),
    /// Rename, describe or reconfigure a tenant (quota keys: super-admins only)
    #[command(
        after_help = "Examples:\n  lrt tenant update acme --set top_k=50 --set llm_model=gpt-4o\n  lrt tenant update acme --set max_kb_per_tenant=100\n  lrt tenant update acme --unset top_k --name \"Acme Corp\""
    )]
    Update(UpdateArgs),
    /// Deactivate a tenant: it refuses everything until activated (super-admins only)
    Deactivate(TenantIdent),
    /// Activate a deactivated tenant (super-admins only)
    Activate(TenantIdent),
    /// Delete a tenant with all its knowledge bases and members (super-admins only)
    #[command(after_help = "Examples:\n  lrt tenant delete acme --dry-run\n  lrt tenant delete acme --yes")]
    Delete(DeleteArgs),
    /// Write a tenant, its settings, members and knowledge bases to an archive (super-admins only)
    #[command(
        after_help = "Examples:\n  lrt tenant export acme --out acme.lrtt\n  lrt tenant export acme -O acme.lrtt --force"
    )]
    Export(super::archive::TenantExportArgs),
    /// Restore a tenant archive as a new tenant with new ids (super-admins only)
    #[command(
        after_help = "Examples:\n  lrt tenant import acme.lrtt\n  lrt tenant import acme.lrtt --name acme-restored"
    )]
    Import(super::archive::TenantImportArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Tenant name (unique, case-insensitive)
    pub name: String,
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata entry (repeatable)
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// TOML file with `description`, `[config]`, `[quota]` and `[metadata]` tables
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Config or quota setting (repeatable), e.g. top_k=50, max_documents=5000
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Make this user the tenant's first admin
    #[arg(long, value_name = "USER")]
    pub admin: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub paging: PageArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub ident: TenantIdent,
    /// New name
    #[arg(long)]
    pub name: Option<String>,
    /// New description ("" clears it)
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata entry to set (repeatable)
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// Config or quota setting (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Drop an override so the default applies again (repeatable)
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub ident: TenantIdent,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Say what would be deleted, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// The `--config-file` format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TenantFile {
    description: Option<String>,
    config: Map<String, Value>,
    quota: Map<String, Value>,
    metadata: Map<String, Value>,
}

fn read_tenant_file(path: &PathBuf) -> Result<TenantFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read tenant file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| Error::Usage(format!("invalid tenant file {}: {e}", path.display())))
}

pub fn assignments(flag: &str, raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter().map(|r| assignment(flag, r)).collect()
}

pub fn exec(ctx: &Ctx, cmd: TenantCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        TenantCmd::Export(args) => return super::archive::tenant_export(&out, &mut svc, &actor, args),
        TenantCmd::Import(args) => return super::archive::tenant_import(&out, &mut svc, &actor, args),
        TenantCmd::Create(args) => {
            let file = match &args.config_file {
                Some(path) => read_tenant_file(path)?,
                None => TenantFile::default(),
            };
            let mut metadata = file.metadata;
            for (k, v) in assignments("--metadata", &args.metadata)? {
                metadata.insert(k, Value::String(v));
            }
            let new = NewTenant {
                name: args.name,
                description: args.description.or(file.description),
                metadata,
                settings: assignments("--set", &args.set)?,
                config: file.config,
                quota: file.quota,
                admin: args.admin,
            };
            let t = svc.create_tenant(&actor, new)?;
            show(&out, &t);
        }
        TenantCmd::List(args) => {
            let page = svc.list_tenants(&actor, args.paging.paging()?)?;
            out.emit_page(
                &page,
                "tenants",
                &["ID", "NAME", "ACTIVE", "KBS", "DOCUMENTS", "CREATED"],
                |t| {
                    vec![
                        t.tenant_id.clone(),
                        t.tenant_name.clone(),
                        yes_no(t.is_active),
                        t.kb_count.to_string(),
                        t.total_documents.to_string(),
                        t.created_at.clone(),
                    ]
                },
                |t| t.tenant_id.clone(),
            );
        }
        TenantCmd::Show(args) => show(&out, &svc.show_tenant(&actor, args.resolved().as_deref())?),
        TenantCmd::Update(args) => {
            let update = TenantUpdate {
                name: args.name,
                description: args.description,
                metadata: assignments("--metadata", &args.metadata)?,
                set: assignments("--set", &args.set)?,
                unset: args.unset,
            };
            show(&out, &svc.update_tenant(&actor, &args.ident.required()?, update)?);
        }
        TenantCmd::Deactivate(args) => show(&out, &svc.set_tenant_active(&actor, &args.required()?, false)?),
        TenantCmd::Activate(args) => show(&out, &svc.set_tenant_active(&actor, &args.required()?, true)?),
        TenantCmd::Delete(args) => {
            let plan = svc.plan_tenant_delete(&actor, &args.ident.required()?)?;
            if args.dry_run {
                delete_report(&out, &plan);
                return Ok(0);
            }
            confirm::destructive(
                ctx,
                args.yes,
                &format!(
                    "delete tenant '{}' with {} knowledge base(s) and {} member(s)",
                    plan.tenant_name, plan.kb_count, plan.member_count
                ),
                Some(&plan.tenant_name),
                DryRun::Offered,
            )?;
            delete_report(&out, &svc.delete_tenant(&actor, &plan.tenant_id)?);
        }
    }
    Ok(0)
}

fn show(out: &output::Out, t: &Tenant) {
    out.emit(
        t,
        || vec![t.tenant_id.clone()],
        || {
            let mut rows = vec![
                ("tenant_id".to_string(), t.tenant_id.clone()),
                ("tenant_name".to_string(), t.tenant_name.clone()),
                ("description".to_string(), opt(&t.description)),
                ("is_active".to_string(), yes_no(t.is_active)),
                ("created_at".to_string(), t.created_at.clone()),
                ("created_by".to_string(), opt(&t.created_by)),
                ("updated_at".to_string(), t.updated_at.clone()),
                ("kb_count".to_string(), t.kb_count.to_string()),
                ("total_documents".to_string(), t.total_documents.to_string()),
                ("total_storage_mb".to_string(), t.total_storage_mb.to_string()),
            ];
            rows.extend(rows_of(&t.metadata, "metadata."));
            rows.extend(rows_of(&t.config, "config."));
            rows.extend(rows_of(&t.quota, "quota."));
            if let Some(u) = &t.usage {
                rows.extend(rows_of(u, "usage.").into_iter().filter(|(k, _)| k != "usage.tokens"));
                rows.extend(rows_of(&u.tokens, "usage.tokens."));
            }
            output::kv_table(rows)
        },
    );
}

/// Renders what a delete removed (or would remove).
pub fn delete_report(out: &output::Out, r: &DeleteReport) {
    let id = r.kb_id.clone().unwrap_or_else(|| r.tenant_id.clone());
    out.emit(
        r,
        || vec![id],
        || {
            let what = match &r.kb_name {
                Some(kb) => format!("knowledge base '{kb}' of tenant '{}'", r.tenant_name),
                None => format!("tenant '{}'", r.tenant_name),
            };
            let verb = if r.dry_run { "Would delete" } else { "Deleted" };
            let mut text = format!(
                "{verb} {what}: {} document(s), {} entit(ies), {} relation(s), {} bytes",
                r.document_count, r.entity_count, r.relation_count, r.bytes
            );
            if r.kb_name.is_none() {
                text.push_str(&format!(
                    ", {} knowledge base(s), {} member(s)",
                    r.kb_count, r.member_count
                ));
            }
            text
        },
    );
}
