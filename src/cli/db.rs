//! `lrt db migrate|status`

use clap::Subcommand;

use super::Ctx;
use super::output::kv_table;
use crate::error::Result;
use crate::service::{db_migrate, db_status};

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Apply the catalog's pending schema migrations (PostgreSQL or catalog.db)
    #[command(
        after_help = "Examples:\n  LRT_STORAGE=postgres LRT_DATABASE_URL=postgres://lrt@db/lrt lrt db migrate\n  lrt db migrate --json\n\nEvery lrt command also migrates at start-up; a schema newer than this lrt is refused (exit 9)."
    )]
    Migrate,
    /// Show the catalog's schema version against this lrt's, changing nothing
    #[command(after_help = "Examples:\n  lrt db status\n  lrt db status --json | jq .pending")]
    Status,
}

pub fn exec(ctx: &Ctx, cmd: DbCmd) -> Result<i32> {
    let settings = ctx.settings()?;
    match cmd {
        DbCmd::Status => {
            let status = db_status(&settings)?;
            ctx.out.emit(
                &status,
                || vec![status.current.to_string()],
                || {
                    let pending = versions(&status.pending, "none");
                    kv_table(vec![
                        ("backend".into(), status.backend.into()),
                        ("location".into(), status.location.clone()),
                        ("schema version".into(), status.current.to_string()),
                        ("this lrt writes".into(), status.latest.to_string()),
                        ("pending".into(), pending),
                    ])
                },
            );
        }
        DbCmd::Migrate => {
            let done = db_migrate(&settings)?;
            ctx.out.emit(
                &done,
                || vec![done.current.to_string()],
                || {
                    let applied = versions(&done.applied, "none (up to date)");
                    kv_table(vec![
                        ("backend".into(), done.backend.into()),
                        ("location".into(), done.location.clone()),
                        ("applied".into(), applied),
                        ("schema version".into(), done.current.to_string()),
                    ])
                },
            );
        }
    }
    Ok(0)
}

/// `1, 2, 3`, or `none` when there are none.
fn versions(list: &[usize], none: &str) -> String {
    if list.is_empty() {
        return none.to_string();
    }
    list.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}
