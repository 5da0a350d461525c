//! The monthly API-call quota (`max_monthly_api_calls`). One API call is one `lrt query` or
//! one `lrt ingest` run (whatever the number of documents), or one data-plane request of
//! `lrt serve` (documents, queries, graph), counted per tenant and calendar
//! month (UTC) when the command is admitted, after the access check and before any work, so
//! a call that later fails still counts, as on a metered API.
//!
//! Model tokens (see [`crate::llm::usage`]) are recorded per tenant, KB and month after each
//! query or ingest run, and the optional `max_monthly_tokens` is checked at the same
//! admission as the API call: a call admitted under it runs to its end. `lrt usage` reports
//! them and needs `tenant:manage_billing`.

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::Service;
use super::ingest::KbHandle;
use crate::authz::{Actor, Need, OnInactive, Permission};
use crate::catalog::{Charge, TenantRecord};
use crate::error::{Error, Result};
use crate::llm::usage::TokenCounts;
use crate::model::{self, ApiUsage};

/// `lrt usage` options: the tenant, optionally one KB, and one month (`period`) or a range of
/// months (`YYYY-MM`, both ends included; the current month when none is given).
#[derive(Debug, Clone, Default)]
pub struct UsageQuery {
    pub tenant: Option<String>,
    pub kb: Option<String>,
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One KB's tokens in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    pub period: String,
    pub kb_id: String,
    /// `None` for a KB deleted since: its tokens stay billed.
    pub kb_name: Option<String>,
    #[serde(flatten)]
    pub tokens: TokenCounts,
    pub total_tokens: u64,
}

/// The `lrt usage` report of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    pub tenant_id: String,
    pub tenant_name: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<UsageRow>,
    /// The rows added up.
    pub total: TokenCounts,
    pub total_tokens: u64,
}

/// Checks a `YYYY-MM` month.
fn period(flag: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    let ok = raw.len() == 7
        && raw.as_bytes()[4] == b'-'
        && raw[..4].bytes().all(|b| b.is_ascii_digit())
        && raw[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if !ok {
        return Err(Error::Usage(format!(
            "{flag} must be a month as YYYY-MM (e.g. 2026-11), not {raw:?}"
        )));
    }
    Ok(raw.to_string())
}

impl Service {
    /// The instant usage is accounted at: `LRT_NOW` in tests, else the system clock.
    fn now(&self) -> Timestamp {
        self.settings.clock.unwrap_or_else(Timestamp::now)
    }

    /// Counts one API call against the tenant's `max_monthly_api_calls`, or refuses it (with
    /// the time the quota resets) when this month's calls are used up.
    pub(super) fn charge_api_call(&mut self, tenant: &TenantRecord) -> Result<()> {
        let quota = model::effective_quota(&tenant.quota)?;
        let now = self.now();
        let period = crate::time::month_of(now);
        self.check_token_quota(tenant, quota.max_monthly_tokens, now, &period)?;
        match self
            .catalog
            .charge_api_call(tenant.id, &period, quota.max_monthly_api_calls)?
        {
            Charge::Counted(_) => Ok(()),
            Charge::Refused(used) => {
                let reset = crate::time::next_month_start(now);
                Err(Error::RateLimited {
                    message: format!(
                        "quota exceeded: tenant '{}' has used {used} of its {} API calls for {period} \
                         (max_monthly_api_calls); the quota resets at {}",
                        tenant.name,
                        quota.max_monthly_api_calls,
                        crate::time::format(reset),
                    ),
                    retry_after_secs: crate::time::secs_until(now, reset),
                })
            }
        }
    }

    /// Refuses a call, as a rate quota, when the tenant's tokens this month reached a
    /// non-zero `max_monthly_tokens`.
    fn check_token_quota(&self, tenant: &TenantRecord, max: u64, now: Timestamp, period: &str) -> Result<()> {
        if max == 0 {
            return Ok(());
        }
        let used = self.catalog.tenant_tokens(tenant.id, period)?.total();
        if used < max {
            return Ok(());
        }
        let reset = crate::time::next_month_start(now);
        Err(Error::RateLimited {
            message: format!(
                "quota exceeded: tenant '{}' has used {used} model tokens of its {max} for {period} \
                 (max_monthly_tokens); the quota resets at {}",
                tenant.name,
                crate::time::format(reset),
            ),
            retry_after_secs: crate::time::secs_until(now, reset),
        })
    }

    /// Adds the tokens a query or ingest run of `kb` spent to this month's row.
    pub fn record_tokens(&mut self, kb: &KbHandle, tokens: TokenCounts) -> Result<()> {
        let period = crate::time::month_of(self.now());
        self.catalog.add_tokens(kb.tenant_id, kb.kb_id, &period, tokens)
    }

    /// The tenant's API calls and tokens this month against its quotas.
    pub(super) fn api_usage(&self, tenant: &TenantRecord) -> Result<ApiUsage> {
        let quota = model::effective_quota(&tenant.quota)?;
        let now = self.now();
        let period = crate::time::month_of(now);
        let api_calls = self.catalog.api_calls(tenant.id, &period)?;
        let tokens = self.catalog.tenant_tokens(tenant.id, &period)?;
        Ok(ApiUsage {
            period,
            api_calls,
            max_monthly_api_calls: quota.max_monthly_api_calls,
            remaining: quota.max_monthly_api_calls.saturating_sub(api_calls),
            resets_at: crate::time::format(crate::time::next_month_start(now)),
            tokens,
            max_monthly_tokens: quota.max_monthly_tokens,
        })
    }

    /// `lrt usage`: the tenant's tokens per KB and month. Needs `tenant:manage_billing` (tenant
    /// admins and super-admins); a deactivated tenant's usage stays readable by super-admins.
    pub fn usage_report(&mut self, actor: &Actor, query: UsageQuery) -> Result<UsageReport> {
        let current = crate::time::month_of(self.now());
        let (from, to) = match (&query.period, &query.from, &query.to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(Error::Usage("--period cannot be combined with --from or --to".into()));
            }
            (Some(raw), None, None) => {
                let p = period("--period", raw)?;
                (p.clone(), p)
            }
            (None, from, to) => {
                let to = match to {
                    Some(raw) => period("--to", raw)?,
                    None => current,
                };
                let from = match from {
                    Some(raw) => period("--from", raw)?,
                    None => to.clone(),
                };
                (from, to)
            }
        };
        if from > to {
            return Err(Error::Usage(format!("--from {from} is after --to {to}")));
        }
        let on_inactive = if actor.super_admin {
            OnInactive::Allow
        } else {
            OnInactive::Refuse
        };
        let need = Need::Permission(Permission::TenantManageBilling);
        let t = self.tenant_for(actor, query.tenant.as_deref(), need, on_inactive, "usage.report")?;
        let only: Option<Uuid> = match &query.kb {
            Some(kb) => Some(self.kb_in(actor, &t, Some(kb))?.id),
            None => None,
        };
        let names: std::collections::HashMap<Uuid, String> =
            self.catalog.kbs(t.id)?.into_iter().map(|k| (k.id, k.name)).collect();
        let mut total = TokenCounts::default();
        let rows: Vec<UsageRow> = self
            .catalog
            .token_usage(t.id, &from, &to)?
            .into_iter()
            .filter(|r| only.is_none_or(|kb| r.kb_id == kb))
            .map(|r| {
                total.prompt_tokens += r.tokens.prompt_tokens;
                total.completion_tokens += r.tokens.completion_tokens;
                total.embedding_tokens += r.tokens.embedding_tokens;
                UsageRow {
                    kb_name: names.get(&r.kb_id).cloned(),
                    kb_id: r.kb_id.to_string(),
                    total_tokens: r.tokens.total(),
                    tokens: r.tokens,
                    period: r.period,
                }
            })
            .collect();
        Ok(UsageReport {
            tenant_id: t.id.to_string(),
            tenant_name: t.name,
            from,
            to,
            rows,
            total_tokens: total.total(),
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{service, user};
    use super::super::{NewTenant, TenantUpdate};
    use super::*;

    #[test]
    fn calls_are_refused_with_the_reset_time_and_counted_per_month() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = service(dir.path(), true);
        let root = user("root");
        let new = NewTenant {
            name: "acme".into(),
            ..Default::default()
        };
        svc.create_tenant(&root, new).unwrap();
        let set = TenantUpdate {
            set: vec![("max_monthly_api_calls".into(), "1".into())],
            ..Default::default()
        };
        svc.update_tenant(&root, "acme", set).unwrap();
        let t = svc.catalog.tenant_by_name("acme").unwrap().unwrap();
        svc.settings.clock = Some("2026-11-30T23:59:59Z".parse().unwrap());
        svc.charge_api_call(&t).unwrap();
        let err = svc.charge_api_call(&t).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RateLimited {
                    retry_after_secs: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("resets at 2026-12-01T00:00:00.000Z"), "{err}");
        let shown = svc.show_tenant(&root, Some("acme")).unwrap().usage.unwrap();
        assert_eq!(
            (shown.api_calls, shown.remaining, shown.period.as_str()),
            (1, 0, "2026-11")
        );
        svc.settings.clock = Some("2026-12-01T00:00:00Z".parse().unwrap());
        svc.charge_api_call(&t).unwrap();
        assert_eq!(svc.api_usage(&t).unwrap().api_calls, 1);
    }

    #[test]
    fn usage_reports_months_of_one_tenant_and_checks_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = service(dir.path(), true);
        let root = user("root");
        let new = NewTenant {
            name: "acme".into(),
            ..Default::default()
        };
        svc.create_tenant(&root, new).unwrap();
        let t = svc.catalog.tenant_by_name("acme").unwrap().unwrap();
        let kb = Uuid::new_v4();
        let some = |n| TokenCounts {
            prompt_tokens: n,
            completion_tokens: 1,
            embedding_tokens: 2,
        };
        svc.catalog.add_tokens(t.id, kb, "2026-10", some(10)).unwrap();
        svc.catalog.add_tokens(t.id, kb, "2026-11", some(20)).unwrap();
        svc.settings.clock = Some("2026-11-15T00:00:00Z".parse().unwrap());
        let ask = |period: Option<&str>, from: Option<&str>, to: Option<&str>| UsageQuery {
            tenant: Some("acme".into()),
            kb: None,
            period: period.map(str::to_string),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
        };
        let this_month = svc.usage_report(&root, ask(None, None, None)).unwrap();
        assert_eq!((this_month.from.as_str(), this_month.total_tokens), ("2026-11", 23));
        assert_eq!(this_month.rows[0].kb_name, None, "a KB the catalog does not hold");
        let both = svc.usage_report(&root, ask(None, Some("2026-01"), None)).unwrap();
        assert_eq!((both.rows.len(), both.total.prompt_tokens), (2, 30));
        let one = svc.usage_report(&root, ask(Some("2026-10"), None, None)).unwrap();
        assert_eq!(one.total_tokens, 13);
        for bad in [
            ask(Some("2026-10"), Some("2026-01"), None),
            ask(Some("2026-1"), None, None),
            ask(None, Some("2026-12"), Some("2026-11")),
        ] {
            assert!(matches!(svc.usage_report(&root, bad), Err(Error::Usage(_))));
        }
    }
}
