//! `lrt db migrate|status`

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Subcommand;

use super::Ctx;
use super::output::kv_table;
use crate::error::{ErrorKind, Result};
use crate::service::{CopyLimits, Endpoint, db_copy, db_migrate, db_status};

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
        after_help = "Examples:\n  lrt db copy --from sqlite:/var/lib/lrt --to postgres://lrt@db/lrt\n  lrt db copy --from postgres://lrt@db/lrt --to sqlite:/srv/lrt-copy --json\n\nThe destination must be empty: a database holding no tenant, or a directory that is new or empty.\nThe source's data is only read (the copy takes each KB's ingest lock, as an ingest does).\nEvery row is counted again on the destination at the end.\nA copy that stops (an error; Ctrl-C or SIGTERM, acted on between KBs) leaves nothing at the\ndestination: PostgreSQL gets the whole copy in one transaction; a directory is built beside its\nplace (.NAME.lrt-copy) and renamed into it at the end. If that clean-up cannot finish, the error\nsays what is left.\n\nThe source may stay in use. The catalog (tenants, KBs, members, keys, audit, usage) is read in one\ntransaction, at the time the summary shows: later changes to it are not copied. Each KB is copied\nunder its ingest lock from one snapshot: an ingest, deletion, curation or repair running on it is\nwaited for (Ctrl-C gives up; so does --busy-timeout, exit 6), and one starting meanwhile waits\n(`lrt serve` answers 409 busy). Each KB is therefore as of its own time, after the catalog's; its\ncounts are recounted from the copied rows. A KB deleted during the copy stops it (run it again). For one moment in time across\nall KBs, stop the services first.\nProgress goes to stderr; passwords are never shown.\nExit codes: 2 bad location, 3 no installation at --from, 6 destination not empty (or another copy\nwriting to it, a KB deleted during the copy, or one still busy after --busy-timeout), 9 storage\nerror, 130 interrupted."
    )]
    Copy {
        /// Where the installation is: sqlite:DIR or postgres://user@host/db
        #[arg(long, value_name = "LOCATION")]
        from: String,
        /// Where to copy it to (empty): sqlite:DIR or postgres://user@host/db
        #[arg(long, value_name = "LOCATION")]
        to: String,
        /// Give up (exit 6, nothing copied) on a KB still busy after this long, e.g. 30s, 10m
        /// [default: wait as long as it takes]
        #[arg(long, value_name = "DURATION", value_parser = busy_timeout)]
        busy_timeout: Option<std::time::Duration>,
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
        DbCmd::Copy { from, to, busy_timeout } => {
            let (from, to) = (Endpoint::parse(&from)?, Endpoint::parse(&to)?);
            let stop = stop_on_signal();
            let limits = CopyLimits {
                cancelled: &|| stop.load(Ordering::SeqCst),
                busy_timeout,
            };
            let report = db_copy(&settings, &from, &to, &limits, |step| ctx.out.note(step))?;
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
                        ("catalog as of".into(), report.catalog_read_at.clone()),
                        ("verified".into(), report.verified.to_string()),
                    ])
                },
            );
        }
    }
    Ok(0)
}

/// A flag set on the first SIGINT (Ctrl-C) or SIGTERM: the copy then stops at its next step
/// and removes what it wrote. A second signal ends the process at once (exit 130): a
/// PostgreSQL destination is rolled back by the server, and the staging directory of a data
/// directory is removed by the next copy. The handlers are in place when this returns.
fn stop_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let (ready, installed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async move {
            let mut first = std::pin::pin!(crate::server::shutdown_signal());
            // The first poll installs the handlers.
            let already = std::future::poll_fn(|cx| std::task::Poll::Ready(first.as_mut().poll(cx).is_ready())).await;
            let _ = ready.send(());
            if !already {
                first.await;
            }
            set.store(true, Ordering::SeqCst);
            eprintln!("stopping: removing what the copy wrote (a second Ctrl-C quits at once)…");
            crate::server::shutdown_signal().await;
            std::process::exit(ErrorKind::Interrupted.exit_code());
        });
    });
    let _ = installed.recv_timeout(std::time::Duration::from_secs(2));
    flag
}

/// `1, 2, 3`, or `none` when there are none.
fn versions(list: &[usize], none: &str) -> String {
    if list.is_empty() {
        return none.to_string();
    }
    list.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

fn busy_timeout(raw: &str) -> std::result::Result<std::time::Duration, String> {
    super::serve::duration("--busy-timeout", raw)
}
