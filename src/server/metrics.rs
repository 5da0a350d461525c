//! `lrt serve --metrics-bind ADDR`: the Prometheus metrics of [`crate::metrics`] on a listener
//! of their own, off by default. Keeping them off the API's address lets an operator expose
//! them to a scraper's network only; the exposition has no authentication and carries no
//! tenant, KB, user or key name or id (route templates only), so nothing a scraper reads
//! says who uses the server.

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::{Error, Result};

/// The content type of `prometheus-client`'s text encoding.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`.
pub(super) async fn handler() -> impl IntoResponse {
    ([(CONTENT_TYPE, OPENMETRICS)], crate::metrics::encode())
}

/// Binds the metrics address (before the server says it is ready, so a taken port fails the
/// start-up).
pub(super) async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Usage(format!("cannot listen on {addr} for --metrics-bind: {e}")))
}

/// Serves `/metrics` on `listener` until `stop` turns true.
pub(super) async fn serve(listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let app = super::api::metrics_router();
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        tracing::warn!(target: "lrt::serve", "the metrics listener failed: {e}");
    }
}
