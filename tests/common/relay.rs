//! A TCP relay the tests can cut and restore on the same port: a database "goes away" for
//! the server under test only (every connection dropped, the port refusing), without
//! touching the real server other tests use.

use std::sync::{Arc, Mutex};

/// A relay from a local port to a target address.
pub struct Relay {
    pub port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    /// Listens on `port` and forwards every connection to `target`.
    pub async fn start(port: u16, target: &str) -> Self {
        let relay = Self {
            port,
            target: target.to_string(),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        relay.up().await;
        relay
    }

    /// Accepts and forwards again, on the same port.
    pub async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("relay port free");
        let tasks = self.tasks.clone();
        let target = self.target.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                let pump = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(pump);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Drops every connection and stops listening.
    pub fn down(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}
