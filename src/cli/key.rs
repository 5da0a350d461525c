//! `lrt key create|list|revoke`: API keys for `lrt serve` (`X-API-Key`).

use clap::{Args, Subcommand};

use super::output::{self, opt};
use super::{Ctx, PageArgs, TenantArg, kb_or_env};
use crate::authz::Role;
use crate::error::Result;
use crate::model::ApiKey;
use crate::service::{KeyListing, NewKey};

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Create an API key for a tenant or one of its KBs; the key is printed once
    #[command(
        after_help = "Examples:\n  lrt key create --tenant acme --role viewer --name dashboards\n  \
        K=$(lrt key create -t acme --kb docs --role editor --expires-in 30d -q)\n  \
        curl -H \"X-API-Key: $K\" http://127.0.0.1:9621/api/v1/me\n\n\
        The role may not exceed yours in the tenant; requests get the lower of the key's role and your role at the\n\
        time of the request, and stop working if you leave the tenant. A KB-scoped key can only read, write and\n\
        query that KB's documents. Keys expire: after 90 days by default, 365 at most. lrt keeps only a SHA-256 of\n\
        the key: store it now, it cannot be shown again."
    )]
    Create(CreateArgs),
    /// List API keys (never the keys themselves): yours, or with --all every key of the tenant
    #[command(
        after_help = "Examples:\n  lrt key list\n  lrt key list --tenant acme --all --json\n\n\
        --all needs tenant:manage_members in the tenant (tenant admins), or super-admin without --tenant."
    )]
    List(ListArgs),
    /// Revoke an API key (its creator, or tenant:manage_members); effective on its next request
    #[command(after_help = "Example:\n  lrt key revoke 0b7e4c1e-3f0d-4a53-9d7a-5c2f1f1e2a10")]
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Limit the key to this knowledge base (id or name) [env: LRT_KB]
    #[arg(long, value_name = "KB", add = super::complete::kbs())]
    pub kb: Option<String>,
    /// The key's role (at most yours)
    #[arg(long, value_enum)]
    pub role: Role,
    /// Lifetime, e.g. 30m, 24h, 30d, 2w [default: 90d; at most 365d]
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
    /// A label for the key (what uses it)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Everyone's keys, not only yours
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub paging: PageArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key's id (from `lrt key list`)
    pub key_id: String,
}

pub fn exec(ctx: &Ctx, cmd: KeyCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        KeyCmd::Create(args) => {
            let new = NewKey {
                tenant: args.tenant.resolved(),
                kb: kb_or_env(&args.kb),
                role: args.role,
                name: args.name,
                expires_in_secs: args
                    .expires_in
                    .as_deref()
                    .map(crate::server::auth::parse_ttl)
                    .transpose()?,
            };
            let created = svc.create_key(&actor, new)?;
            out.emit(
                &created,
                || vec![created.key.clone()],
                || output::kv_table(output::rows_of(&created, "")),
            );
            out.note("Store the key now: lrt keeps only its hash and cannot show it again.");
        }
        KeyCmd::List(args) => {
            let paging = args.paging.paging()?;
            let listing = KeyListing {
                tenant: args.tenant.resolved(),
                all: args.all,
            };
            let page = paging.slice(svc.list_keys(&actor, listing)?);
            out.emit_page(
                &page,
                "keys",
                &[
                    "ID",
                    "NAME",
                    "PREFIX",
                    "SCOPE",
                    "ROLE",
                    "CREATED BY",
                    "CREATED",
                    "EXPIRES",
                    "LAST USED",
                    "REVOKED",
                ],
                row,
                |k| k.key_id.to_string(),
            );
        }
        KeyCmd::Revoke(args) => {
            let key = svc.revoke_key(&actor, &args.key_id)?;
            out.emit(
                &key,
                || vec![key.key_id.to_string()],
                || output::kv_table(output::rows_of(&key, "")),
            );
        }
    }
    Ok(0)
}

fn row(k: &ApiKey) -> Vec<String> {
    let scope = match &k.kb_id {
        Some(kb) => format!("tenant {} / kb {kb}", k.tenant_id),
        None => format!("tenant {}", k.tenant_id),
    };
    vec![
        k.key_id.to_string(),
        opt(&k.name),
        k.prefix.clone(),
        scope,
        k.role.to_string(),
        k.created_by.clone(),
        k.created_at.clone(),
        k.expires_at.clone(),
        opt(&k.last_used_at),
        opt(&k.revoked_at),
    ]
}
