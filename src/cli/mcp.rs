//! `lrt mcp`: the MCP server over stdio, for desktop agents (Claude Desktop and other MCP
//! clients start it and talk to it on stdin/stdout).

use clap::Args;

use super::Ctx;
use crate::error::Result;
use crate::server;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt mcp                  # started by an MCP client, which talks on stdin/stdout\n  lrt mcp --as alice       # a super-admin acting as alice (audited)\n\nActs as the local identity, like every other command (roles, quotas and audit apply).\nTools: list_knowledge_bases, query_knowledge_base, add_document, document_status,\nlist_documents, search_entities, get_entity. Documents added are ingested in the\nbackground by this process. Logs go to stderr (LRT_LOG); stdout carries MCP only.\n`lrt serve` offers the same tools over HTTP at /mcp, per request authenticated."
)]
pub struct McpArgs {}

pub fn exec(ctx: &Ctx, _args: McpArgs) -> Result<i32> {
    let settings = ctx.settings()?;
    server::init_logging()?;
    server::mcp::serve_stdio(settings, ctx.global.as_user.clone())?;
    Ok(0)
}
