//! The benchmark's physical ceiling: the smallest axum server answering every request with
//! a short JSON body, on the same runtime and HTTP stack as Cofre. `bench/ceiling.sh` runs
//! it pinned to the server core to show how close Cofre's KV read gets to the bare stack.
//!
//! ```text
//! cargo run --release -p cofre-server --example hello -- 127.0.0.1:8499
//! ```

use axum::http::header;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8499".into());
    let app = axum::Router::new().fallback(|| async {
        (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"data\":{\"hello\":\"world\"}}",
        )
    });
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await
}
