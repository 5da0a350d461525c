//! `lrt usage`: a tenant's model tokens per KB and month (needs tenant:manage_billing).

use clap::Args;

use super::output::list_table;
use super::{Ctx, TenantArg};
use crate::error::Result;
use crate::service::UsageQuery;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt usage -t acme                      # this month\n  lrt usage -t acme --period 2026-11\n  lrt usage -t acme --from 2026-01 --to 2026-12 --kb docs --json\n\nTokens are what the model servers report (lrt's tokenizer counts them when a server reports none);\nanswers from the LLM cache cost none, and the offline `local` provider is not metered.\nMonths are calendar months in UTC. A deleted KB's tokens are still listed (KB name `-`)."
)]
pub struct UsageArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Only this knowledge base (id or name)
    #[arg(long, value_name = "KB", add = super::complete::kbs())]
    pub kb: Option<String>,
    /// One month, YYYY-MM [default: the current month]
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// First month of a range, YYYY-MM [default: --to]
    #[arg(long, value_name = "YYYY-MM")]
    pub from: Option<String>,
    /// Last month of a range, YYYY-MM [default: the current month]
    #[arg(long, value_name = "YYYY-MM")]
    pub to: Option<String>,
}

pub fn exec(ctx: &Ctx, args: UsageArgs) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let query = UsageQuery {
        tenant: args.tenant.resolved(),
        kb: args.kb,
        period: args.period,
        from: args.from,
        to: args.to,
    };
    let report = svc.usage_report(&actor, query)?;
    let mut rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.period.clone(),
                r.kb_name.clone().unwrap_or_else(|| "-".into()),
                r.kb_id.clone(),
                r.tokens.prompt_tokens.to_string(),
                r.tokens.completion_tokens.to_string(),
                r.tokens.embedding_tokens.to_string(),
                r.total_tokens.to_string(),
            ]
        })
        .collect();
    let months = if report.from == report.to {
        report.from.clone()
    } else {
        format!("{}..{}", report.from, report.to)
    };
    rows.push(vec![
        months,
        "(all)".into(),
        "-".into(),
        report.total.prompt_tokens.to_string(),
        report.total.completion_tokens.to_string(),
        report.total.embedding_tokens.to_string(),
        report.total_tokens.to_string(),
    ]);
    ctx.out.emit(
        &report,
        || {
            report
                .rows
                .iter()
                .map(|r| format!("{}\t{}", r.period, r.kb_id))
                .collect()
        },
        || {
            list_table(
                &["PERIOD", "KB", "KB_ID", "PROMPT", "COMPLETION", "EMBEDDING", "TOTAL"],
                rows,
            )
        },
    );
    Ok(0)
}
