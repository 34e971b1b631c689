//! The HTTP API: one catch-all axum handler for `/v1/*` that decodes the request, hands it
//! to the core and encodes the answer; plus serving over plain TCP or rustls TLS with
//! graceful shutdown.

mod decode;
mod encode;
mod error;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::Method;
use axum::Router;

use crate::core::{Core, Operation, RequestError, RequestTrace};

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub max_request_size: usize,
}

/// The axum application.
pub fn app(state: AppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// Takes the request whole (separate `HeaderMap`, `Method` and `Uri` extractors would
/// clone each of them).
async fn handle(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let mut request_id = String::new();
    let mut operation = None;
    let mut trace = RequestTrace::default();
    let result = async {
        let mut req = decode::request_head(method, uri, headers)?;
        request_id = req.id.clone();
        operation = Some(req.operation);
        req.remote_addr = Some(remote.ip());
        let bytes = axum::body::to_bytes(body, state.max_request_size)
            .await
            .map_err(|_| {
                RequestError::PayloadTooLarge(format!(
                    "request body too large: the limit is {} bytes",
                    state.max_request_size
                ))
            })?;
        decode::add_body(&mut req, headers, &bytes)?;
        // Boxed: the core's future is large, and axum moves the handler's future a few
        // times before polling it.
        Box::pin(state.core.handle_traced(req, &mut trace)).await
    }
    .await;
    let response = encode::response(&request_id, result);
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let mount = trace
        .mount
        .as_ref()
        .unwrap_or_else(|| state.core.settings.metrics.unrouted());
    mount.record(operation.map(Operation::as_str), status, elapsed);
    log_request(&request_id, method, &mount.path, status, elapsed);
    response
}

/// One line per request: its id (as in the response envelope and the audit entry's
/// `request.id`), method, mount (never the full path), status and duration. Errors at
/// info, successes at debug; never a token or a body.
fn log_request(request_id: &str, method: &Method, mount: &str, status: u16, elapsed: Duration) {
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 400 {
        tracing::info!(request_id, method = %method, mount, status, duration_ms, "request");
    } else {
        tracing::debug!(request_id, method = %method, mount, status, duration_ms, "request");
    }
}

/// Serves the API on `listener` until `shutdown` completes, then drains connections.
/// With `tls`, connections are TLS (rustls) only; reloading that config (SIGHUP) changes
/// the certificate of new connections without touching open ones.
pub async fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    listener.set_nonblocking(true)?;
    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(app)
                .await
        }
    }
}
