//! `/health`: liveness, and whether the catalog's database answers (backend, reachable,
//! latency). Unauthenticated, so it must stay cheap and never hang: one probe at a time, its
//! answer reused for [`REUSE`], and a probe that does not finish within [`PROBE_TIMEOUT`]
//! counts as unreachable (its blocking work is not started again until it returns). No
//! detail of the failure is shown (the log has it): only that the database is unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::Settings;

/// How long one probe's answer is reused.
const REUSE: Duration = Duration::from_secs(1);
/// The longest `/health` waits for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a probe waits for a pooled connection (below `PROBE_TIMEOUT`).
const CONNECTION_WAIT: Duration = Duration::from_millis(1500);

/// What `/health` says about the database.
#[derive(Debug, Clone, Serialize)]
pub(super) struct DbStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub reachable: bool,
    /// The probe's round trip, when reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
}

#[derive(Default)]
pub(super) struct DbHealth {
    last: tokio::sync::Mutex<Option<(Instant, DbStatus)>>,
    /// A probe's blocking work is still running (a hung connection): do not start another.
    in_flight: Arc<AtomicBool>,
}

impl DbHealth {
    /// The database's status, probed at most once per [`REUSE`].
    pub(super) async fn status(&self, settings: &Settings) -> DbStatus {
        let mut last = self.last.lock().await;
        if let Some((at, status)) = last.as_ref()
            && at.elapsed() < REUSE
        {
            return status.clone();
        }
        let status = self.probe(settings).await;
        *last = Some((Instant::now(), status.clone()));
        status
    }

    async fn probe(&self, settings: &Settings) -> DbStatus {
        let backend = settings.storage.backend.value.as_str();
        let down = DbStatus {
            backend,
            reachable: false,
            latency_ms: None,
        };
        if self.in_flight.swap(true, Ordering::SeqCst) {
            return down;
        }
        let in_flight = self.in_flight.clone();
        let settings = settings.clone();
        let task = tokio::task::spawn_blocking(move || {
            let result = Catalog::ping(&settings, CONNECTION_WAIT);
            in_flight.store(false, Ordering::SeqCst);
            result
        });
        match tokio::time::timeout(PROBE_TIMEOUT, task).await {
            Ok(Ok(Ok(latency))) => DbStatus {
                backend,
                reachable: true,
                latency_ms: Some((latency.as_secs_f64() * 1e5).round() / 100.0),
            },
            Ok(Ok(Err(e))) => {
                tracing::warn!(target: "lrt::serve", "health: the database is unreachable: {e}");
                down
            }
            Ok(Err(e)) => {
                tracing::error!(target: "lrt::serve", "health: the probe failed: {e}");
                down
            }
            Err(_) => {
                tracing::warn!(target: "lrt::serve", "health: the database did not answer within {PROBE_TIMEOUT:?}");
                down
            }
        }
    }
}
