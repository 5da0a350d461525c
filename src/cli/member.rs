//! `lrt member …`

use clap::{Args, Subcommand};

use super::confirm::DryRun;
use super::output::{self, opt};
use super::{Ctx, TenantArg, TenantPage, confirm};
use crate::authz::Role;
use crate::error::Result;
use crate::model::Member;

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// Add a user to a tenant with a role (needs tenant:manage_members)
    #[command(after_help = "Example:\n  lrt member add --tenant acme bob@acme.com --role editor")]
    Add(RoleArgs),
    /// List a tenant's members
    #[command(
        after_help = "Examples:\n  lrt member list --tenant acme\n  lrt member list -t acme --page 2 --page-size 50 --json"
    )]
    List(TenantPage),
    /// Change a member's role (the last admin cannot be demoted)
    #[command(after_help = "Example:\n  lrt member update --tenant acme bob@acme.com --role viewer")]
    Update(RoleArgs),
    /// Remove a member (the last admin cannot be removed)
    #[command(after_help = "Example:\n  lrt member remove --tenant acme bob@acme.com --yes")]
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// User id (login or e-mail)
    pub user: String,
    #[arg(long, value_enum)]
    pub role: Role,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// User id
    pub user: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Say what would be removed, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn exec(ctx: &Ctx, cmd: MemberCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        MemberCmd::Add(args) => show(
            &out,
            &svc.add_member(&actor, args.tenant.resolved().as_deref(), &args.user, args.role)?,
        ),
        MemberCmd::Update(args) => show(
            &out,
            &svc.update_member(&actor, args.tenant.resolved().as_deref(), &args.user, args.role)?,
        ),
        MemberCmd::List(args) => {
            let paging = args.paging.paging()?;
            let page = paging.slice(svc.list_members(&actor, args.tenant.resolved().as_deref())?);
            out.emit_page(
                &page,
                "members",
                &["USER", "ROLE", "SINCE", "ADDED BY"],
                |m| {
                    vec![
                        m.user_id.clone(),
                        m.role.to_string(),
                        m.created_at.clone(),
                        opt(&m.created_by),
                    ]
                },
                |m| m.user_id.clone(),
            );
        }
        MemberCmd::Remove(args) => {
            let tenant = args.tenant.resolved();
            let member = svc.plan_member_remove(&actor, tenant.as_deref(), &args.user)?;
            if args.dry_run {
                out.emit(
                    &serde_json::json!({"dry_run": true, "member": member}),
                    || vec![member.user_id.clone()],
                    || format!("Would remove '{}' ({}) from the tenant", member.user_id, member.role),
                );
                return Ok(0);
            }
            confirm::destructive(
                ctx,
                args.yes,
                &format!("remove '{}' ({}) from the tenant", member.user_id, member.role),
                None,
                DryRun::Offered,
            )?;
            let removed = svc.remove_member(&actor, Some(&member.tenant_id), &args.user)?;
            out.emit(
                &serde_json::json!({"dry_run": false, "member": removed}),
                || vec![removed.user_id.clone()],
                || format!("Removed '{}' ({}) from the tenant", removed.user_id, removed.role),
            );
        }
    }
    Ok(0)
}

fn show(out: &output::Out, m: &Member) {
    out.emit(
        m,
        || vec![m.user_id.clone()],
        || output::kv_table(output::rows_of(m, "")),
    );
}
