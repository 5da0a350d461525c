//! `lrt whoami`, `lrt use`, `lrt audit list`, `lrt auth can-i`.

use clap::{Args, Subcommand};

use super::output::{self, kv_table, list_table, opt, yes_no};
use super::{Ctx, PageArgs, TenantArg, kb_or_env};
use crate::authz::Permission;
use crate::error::{Error, Result};
use crate::service::{AuditQuery, ContextView};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt use acme docs\n  lrt use            # show the current context\n  lrt use --clear"
)]
pub struct UseArgs {
    /// Tenant id or name
    #[arg(add = super::complete::tenants())]
    pub tenant: Option<String>,
    /// Knowledge base id or name
    #[arg(add = super::complete::kbs())]
    pub kb: Option<String>,
    /// Same as the TENANT argument
    #[arg(long = "tenant", short = 't', value_name = "TENANT", conflicts_with = "tenant", add = super::complete::tenants())]
    pub tenant_flag: Option<String>,
    /// Same as the KB argument
    #[arg(long = "kb", value_name = "KB", conflicts_with = "kb", add = super::complete::kbs())]
    pub kb_flag: Option<String>,
    /// Forget the current context
    #[arg(long, conflicts_with_all = ["tenant", "kb", "tenant_flag", "kb_flag"])]
    pub clear: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List audit entries, newest first (tenant admins: their tenants; super-admins: all)
    #[command(
        after_help = "Examples:\n  lrt audit list --tenant acme --since 24h\n  lrt audit list --user bob --page-size 100 --json\n  lrt audit list --page 2"
    )]
    List(AuditArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this tenant (id or name)
    #[arg(long, short = 't', add = super::complete::tenants())]
    pub tenant: Option<String>,
    /// Only this user's actions
    #[arg(long)]
    pub user: Option<String>,
    /// Only entries since a time: 2026-11-01T09:00:00Z, 2026-11-01, or an age (30m, 24h, 7d)
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub paging: PageArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// May this user do PERMISSION in the tenant? Prints yes/no; exit 0 for yes, 1 for no
    #[command(
        after_help = "Permissions: tenant:manage, tenant:manage_members, tenant:manage_billing, kb:create, kb:delete,\n\
        document:create, document:update, document:delete, document:read, query:run\n\n\
        Examples:\n  lrt auth can-i kb:create --tenant acme\n  lrt auth can-i document:read --tenant acme --as bob@acme.com\n  lrt auth can-i --list --tenant acme --as bob@acme.com"
    )]
    CanI(CanIArgs),
}

#[derive(Debug, Args)]
pub struct CanIArgs {
    /// The permission to check
    #[arg(required_unless_present = "list")]
    pub permission: Option<String>,
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name (checked to exist in the tenant)
    #[arg(long, add = super::complete::kbs())]
    pub kb: Option<String>,
    /// Answer for every permission
    #[arg(long, conflicts_with = "permission")]
    pub list: bool,
}

pub fn whoami(ctx: &Ctx) -> Result<i32> {
    let svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let me = svc.whoami(&actor)?;
    ctx.out.emit(
        &me,
        || vec![me.user.clone()],
        || {
            let mut text = kv_table(vec![
                ("user".into(), me.user.clone()),
                ("acting for".into(), opt(&me.real_user)),
                ("super-admin".into(), yes_no(me.super_admin)),
                ("multi-tenant".into(), yes_no(me.multi_tenant)),
                (
                    "context".into(),
                    me.context.as_ref().map(context_text).unwrap_or_else(|| "-".into()),
                ),
            ]);
            let rows = me
                .memberships
                .iter()
                .map(|m| vec![m.tenant_name.clone(), m.tenant_id.clone(), m.role.to_string()])
                .collect();
            text.push_str("\nMemberships:\n");
            text.push_str(&list_table(&["TENANT", "ID", "ROLE"], rows));
            text
        },
    );
    Ok(0)
}

pub(super) fn context_text(c: &ContextView) -> String {
    match &c.kb_name {
        Some(kb) => format!("{} / {kb}", c.tenant_name),
        None => c.tenant_name.clone(),
    }
}

pub fn use_context(ctx: &Ctx, args: UseArgs) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    if args.clear {
        svc.clear_context(&actor)?;
        out.emit(&serde_json::Value::Null, Vec::new, || "Context cleared.".into());
        return Ok(0);
    }
    let kb = args.kb.or(args.kb_flag);
    let view = match args.tenant.or(args.tenant_flag) {
        Some(t) => Some(svc.use_context(&actor, &t, kb.as_deref())?),
        None if kb.is_some() => {
            return Err(crate::error::Error::Usage(
                "name the tenant of the knowledge base: lrt use TENANT KB (or -t TENANT --kb KB)".into(),
            ));
        }
        None => svc.context(&actor)?,
    };
    let ids = || {
        view.iter()
            .map(|c| c.kb_id.clone().unwrap_or_else(|| c.tenant_id.clone()))
            .collect()
    };
    out.emit(&view, ids, || match &view {
        Some(c) => format!("Current context: {}", context_text(c)),
        None => "No current context (commands use --tenant/--kb or LRT_TENANT/LRT_KB).".into(),
    });
    Ok(0)
}

pub fn audit(ctx: &Ctx, cmd: AuditCmd) -> Result<i32> {
    let AuditCmd::List(args) = cmd;
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let paging = args.paging.paging()?;
    let query = AuditQuery {
        tenant: args.tenant,
        user: args.user,
        since: args.since.as_deref().map(crate::time::parse_since).transpose()?,
        paging,
    };
    let page = svc.list_audit(&actor, query)?;
    ctx.out.emit_page(
        &page,
        "entries",
        &["TIME", "USER", "ACTION", "OUTCOME", "TENANT", "DETAIL"],
        |e| {
            let user = match &e.real_user {
                Some(real) => format!("{} (as, by {real})", e.user_id),
                None => e.user_id.clone(),
            };
            vec![
                e.at.clone(),
                user,
                e.action.clone(),
                e.outcome.as_str().into(),
                opt(&e.tenant_id),
                opt(&e.detail),
            ]
        },
        |e| e.id.to_string(),
    );
    Ok(0)
}

pub fn auth(ctx: &Ctx, cmd: AuthCmd) -> Result<i32> {
    let AuthCmd::CanI(args) = cmd;
    let mut svc = ctx.service()?;
    // `--as` here names whom the question is about; the asker stays the local user.
    let asker = svc.local_actor(None)?;
    let permissions: Vec<Permission> = match &args.permission {
        Some(p) => vec![p.parse()?],
        None => Permission::ALL.to_vec(),
    };
    let tenant = args.tenant.resolved();
    let kb = kb_or_env(&args.kb);
    let answers = permissions
        .into_iter()
        .map(|p| {
            svc.can_i(
                &asker,
                ctx.global.as_user.as_deref(),
                p,
                tenant.as_deref(),
                kb.as_deref(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let out = ctx.out;
    if args.list {
        let rows = answers
            .iter()
            .map(|a| vec![a.permission.clone(), yes_no(a.allowed), a.reason.clone()])
            .collect();
        out.emit(
            &answers,
            || {
                answers
                    .iter()
                    .filter(|a| a.allowed)
                    .map(|a| a.permission.clone())
                    .collect()
            },
            || list_table(&["PERMISSION", "ALLOWED", "WHY"], rows),
        );
        return Ok(0);
    }
    let answer = answers
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("no answer".into()))?;
    if out.is_json() {
        out.emit(&answer, Vec::new, String::new);
    } else if !out.quiet {
        output::print_line(&yes_no(answer.allowed));
        out.note(&format!("({})", answer.reason));
    }
    Ok(if answer.allowed { 0 } else { 1 })
}
