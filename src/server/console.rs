//! The web console at `/` (on unless `lrt serve --no-console`): a static page, its script and
//! style, compiled into the binary ([`crate::assets`]). It holds no secret and no access rule
//! of its own: the page calls the REST API with the caller's credential, so the server decides
//! everything as for any client. Its responses carry a strict Content-Security-Policy (scripts,
//! styles and requests to this origin only, no inline code, no framing).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::assets;

/// The console's policy: nothing but this origin's own files and API.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn page(state: &AppState, content_type: &'static str, body: &'static str) -> Response {
    if !state.console {
        return not_found();
    }
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

/// `GET /`: the console page.
pub(super) async fn index(State(st): State<Arc<AppState>>) -> Response {
    page(&st, "text/html; charset=utf-8", assets::CONSOLE_HTML)
}

/// `GET /console/{file}`: the page's script and style files, by fixed name only.
pub(super) async fn asset(State(st): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "console.js" => ("text/javascript; charset=utf-8", assets::CONSOLE_JS),
        "graph.js" => ("text/javascript; charset=utf-8", assets::GRAPH_JS),
        "console.css" => ("text/css; charset=utf-8", assets::CONSOLE_CSS),
        "graph.css" => ("text/css; charset=utf-8", assets::GRAPH_CSS),
        "favicon.svg" => ("image/svg+xml", assets::CONSOLE_ICON),
        _ => return not_found(),
    };
    page(&st, content_type, body)
}
