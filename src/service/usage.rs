//! The monthly API-call quota (`max_monthly_api_calls`). One API call is one `lrt query` or
//! one `lrt ingest` run (whatever the number of documents), or one data-plane request of
//! `lrt serve` (documents, queries, graph), counted per tenant and calendar
//! month (UTC) when the command is admitted, after the access check and before any work, so
//! a call that later fails still counts, as on a metered API.

use jiff::Timestamp;

use super::Service;
use crate::catalog::{Charge, TenantRecord};
use crate::error::{Error, Result};
use crate::model::{self, ApiUsage};

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

    /// The tenant's API calls this month against its quota.
    pub(super) fn api_usage(&self, tenant: &TenantRecord) -> Result<ApiUsage> {
        let quota = model::effective_quota(&tenant.quota)?;
        let now = self.now();
        let period = crate::time::month_of(now);
        let api_calls = self.catalog.api_calls(tenant.id, &period)?;
        Ok(ApiUsage {
            period,
            api_calls,
            max_monthly_api_calls: quota.max_monthly_api_calls,
            remaining: quota.max_monthly_api_calls.saturating_sub(api_calls),
            resets_at: crate::time::format(crate::time::next_month_start(now)),
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
}
