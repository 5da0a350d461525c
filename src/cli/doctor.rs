//! `lrt doctor`

use clap::Args;

use super::confirm::DryRun;
use super::output::list_table;
use super::{Ctx, confirm, kb_or_env, tenant_or_env};
use crate::error::{Error, Result};
use crate::service::{DoctorReport, DoctorRequest, Severity};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Check only this tenant (id or name; needs tenant:manage there) [env: LRT_TENANT]
    /// [default: the whole data directory, super-admins only]
    #[arg(long, short = 't', value_name = "TENANT", add = super::complete::tenants())]
    pub tenant: Option<String>,
    /// Check only this knowledge base of the tenant [env: LRT_KB, with a tenant]
    #[arg(long, value_name = "KB", add = super::complete::kbs())]
    pub kb: Option<String>,
    /// Fix what can be fixed; orphaned folders are moved to lost+found (asks first)
    #[arg(long)]
    pub repair: bool,
    /// Do not ask before moving orphaned folders
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn exec(ctx: &Ctx, args: DoctorArgs) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let tenant = tenant_or_env(&args.tenant);
    // LRT_KB narrows a tenant-scoped check only: alone it must not turn a whole-directory
    // check into a usage error.
    let kb = if tenant.is_some() {
        kb_or_env(&args.kb)
    } else {
        args.kb.clone()
    };
    let req = DoctorRequest {
        tenant,
        kb,
        repair: args.repair,
    };
    let report = svc.doctor(&actor, &req, |what| {
        confirm::destructive(ctx, args.yes, what, None, DryRun::NotOffered)
    })?;
    let out = ctx.out;
    out.emit(
        &report,
        || {
            report
                .findings
                .iter()
                .filter(|f| !f.repaired)
                .map(|f| f.scope.clone())
                .collect()
        },
        || table(&report),
    );
    if report.problems > 0 {
        let err = Error::storage(
            format!("lrt doctor: {} problem(s) remain", report.problems),
            if req.repair {
                "see the findings for what to do by hand"
            } else {
                "run `lrt doctor --repair` to fix what can be fixed"
            },
        );
        return Ok(out.error(&err));
    }
    Ok(0)
}

fn table(report: &DoctorReport) -> String {
    let c = &report.checked;
    let mut text = String::new();
    if !report.findings.is_empty() {
        let rows = report
            .findings
            .iter()
            .map(|f| {
                let status = match (f.repaired, f.severity) {
                    (true, _) => "repaired",
                    (false, Severity::Error) => "problem",
                    (false, Severity::Warning) => "warning",
                };
                vec![
                    f.scope.clone(),
                    f.check.to_string(),
                    status.to_string(),
                    f.detail.clone(),
                ]
            })
            .collect();
        text.push_str(&list_table(&["SCOPE", "CHECK", "STATUS", "DETAIL"], rows));
        text.push('\n');
    }
    text.push_str(&format!(
        "Checked {} tenant(s), {} knowledge base(s), {} document(s), {} vector index(es): ",
        c.tenants, c.knowledge_bases, c.documents, c.vector_indexes
    ));
    text.push_str(&match (report.problems, report.repaired) {
        (0, 0) => "no problems.".to_string(),
        (0, r) => format!("{r} repaired, no problems remain."),
        (p, r) => format!("{p} problem(s), {r} repaired."),
    });
    if let Some(dir) = &report.lost_and_found {
        text.push_str(&format!(
            "\nOrphaned folders were moved to {dir} in the data directory."
        ));
    }
    text
}
