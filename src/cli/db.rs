//! `lrt db migrate|status`

use clap::Subcommand;

use super::Ctx;
use super::output::kv_table;
use crate::error::Result;
use crate::service::{Endpoint, db_copy, db_migrate, db_status};

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
    /// Copy a whole installation (catalog and every knowledge base) to another backend
    #[command(
        after_help = "Examples:\n  lrt db copy --from sqlite:/var/lib/lrt --to postgres://lrt@db/lrt\n  lrt db copy --from postgres://lrt@db/lrt --to sqlite:/srv/lrt-copy --json\n\nThe destination must hold no tenant (an empty database or data directory); the source is only read.\nEvery row is counted again on the destination at the end. Progress goes to stderr; passwords are never shown.\nStop the services using the source first: rows written during the copy may be missed.\nExit codes: 2 bad location, 3 no installation at --from, 6 destination not empty, 9 storage error."
    )]
    Copy {
        /// Where the installation is: sqlite:DIR or postgres://user@host/db
        #[arg(long, value_name = "LOCATION")]
        from: String,
        /// Where to copy it to (empty): sqlite:DIR or postgres://user@host/db
        #[arg(long, value_name = "LOCATION")]
        to: String,
    },
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
        DbCmd::Copy { from, to } => {
            let (from, to) = (Endpoint::parse(&from)?, Endpoint::parse(&to)?);
            let quiet = ctx.out.is_json();
            let report = db_copy(&settings, &from, &to, |step| {
                if !quiet {
                    eprintln!("{step}");
                }
            })?;
            ctx.out.emit(
                &report,
                || vec![report.to.clone()],
                || {
                    let documents: u64 = report.knowledge_bases.iter().map(|k| k.counts.documents).sum();
                    kv_table(vec![
                        ("from".into(), report.from.clone()),
                        ("to".into(), report.to.clone()),
                        (
                            "tenants".into(),
                            report.catalog.get("tenants").copied().unwrap_or(0).to_string(),
                        ),
                        ("knowledge bases".into(), report.knowledge_bases.len().to_string()),
                        ("documents".into(), documents.to_string()),
                        (
                            "audit entries".into(),
                            report.catalog.get("audit_log").copied().unwrap_or(0).to_string(),
                        ),
                        ("verified".into(), report.verified.to_string()),
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
