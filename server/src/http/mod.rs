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

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::Router;

use crate::core::{Core, RequestError};

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

async fn handle(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let mut request_id = String::new();
    let result = async {
        let mut req = decode::request_head(&method, &uri, &headers)?;
        request_id = req.id.clone();
        req.remote_addr = Some(remote.ip());
        let bytes = axum::body::to_bytes(body, state.max_request_size)
            .await
            .map_err(|_| {
                RequestError::PayloadTooLarge(format!(
                    "request body too large: the limit is {} bytes",
                    state.max_request_size
                ))
            })?;
        decode::add_body(&mut req, &headers, &bytes)?;
        state.core.handle(req).await
    }
    .await;
    let response = encode::response(&request_id, result);
    tracing::debug!(
        method = %method,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// Serves the API on `listener` until `shutdown` completes, then drains connections.
/// With `tls`, connections are TLS (rustls) only.
pub async fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
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
            let config = axum_server::tls_rustls::RustlsConfig::from_config(config);
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
