//! The sink of a `socket` device: sends chained lines over TCP or a Unix socket, one JSON
//! line per entry as Vault's socket device does. It connects at the first write (or when
//! enabled), reconnects when the peer has gone away, and bounds connect and write by the
//! device's timeout, so a dead or stuck peer fails this device alone.
//!
//! The hash chain is per device, as for files, but kept in memory only: a peer cannot be
//! asked for the last line it received, so the first line after a restart has an empty
//! `prev_hash` (like the first line of a new device).

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::chain;
use super::options::SocketType;

/// One socket device's connection and chain. Lines are sent one at a time, in order.
pub struct SocketSink {
    address: String,
    socket_type: SocketType,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    stream: Option<Stream>,
    /// The hash of the last line sent; the next line's `prev_hash`.
    last_hash: Option<String>,
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out")
}

impl SocketSink {
    pub fn new(address: String, socket_type: SocketType) -> Self {
        SocketSink {
            address,
            socket_type,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Connects now, so a device enabled over the API with no peer is refused at once.
    pub async fn open(&self, timeout: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = tokio::time::timeout_at(deadline, self.state.lock())
            .await
            .map_err(|_| timed_out())?;
        state.stream = Some(self.connect(deadline).await?);
        Ok(())
    }

    /// Sends `head` completed with `prev_hash`, within `timeout` (waiting for the lock,
    /// connecting and writing included). A line that fails is not part of the chain.
    pub async fn append(&self, head: String, timeout: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = tokio::time::timeout_at(deadline, self.state.lock())
            .await
            .map_err(|_| timed_out())?;
        let (line, hash) = chain::complete(head, state.last_hash.as_deref());
        let reused = match state.stream.take() {
            Some(stream) if stream.peer_is_open() => Some(stream),
            _ => None,
        };
        let fresh = reused.is_none();
        let mut stream = match reused {
            Some(stream) => stream,
            None => self.connect(deadline).await?,
        };
        let mut sent = stream.send(line.as_bytes(), deadline).await;
        if matches!(&sent, Err(e) if e.kind() != std::io::ErrorKind::TimedOut) && !fresh {
            // The peer went away since the last line (restarted): one more try, anew.
            stream = self.connect(deadline).await?;
            sent = stream.send(line.as_bytes(), deadline).await;
        }
        // A failed or timed-out write may have sent part of the line: never reuse it.
        sent?;
        state.stream = Some(stream);
        state.last_hash = Some(hash);
        Ok(())
    }

    async fn connect(&self, deadline: Instant) -> std::io::Result<Stream> {
        let connect = async {
            match self.socket_type {
                SocketType::Tcp => {
                    let stream = tokio::net::TcpStream::connect(&self.address).await?;
                    // Lines are small and independent: send each at once.
                    stream.set_nodelay(true)?;
                    Ok(Stream::Tcp(stream))
                }
                #[cfg(unix)]
                SocketType::Unix => Ok(Stream::Unix(
                    tokio::net::UnixStream::connect(&self.address).await?,
                )),
                #[cfg(not(unix))]
                SocketType::Unix => Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "unix sockets are not supported on this platform",
                )),
            }
        };
        tokio::time::timeout_at(deadline, connect)
            .await
            .map_err(|_| timed_out())?
    }
}

impl Stream {
    /// Whether the peer has not closed its side. Audit peers never send, so a readable
    /// end of stream (or an error) means the connection is gone; stray bytes are dropped.
    fn peer_is_open(&self) -> bool {
        let mut buf = [0u8; 512];
        let probe = match self {
            Stream::Tcp(s) => s.try_read(&mut buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.try_read(&mut buf),
        };
        match probe {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        }
    }

    async fn send(&mut self, line: &[u8], deadline: Instant) -> std::io::Result<()> {
        let writer: &mut (dyn AsyncWrite + Unpin + Send) = match self {
            Stream::Tcp(s) => s,
            #[cfg(unix)]
            Stream::Unix(s) => s,
        };
        let write = async {
            writer.write_all(line).await?;
            writer.flush().await
        };
        tokio::time::timeout_at(deadline, write)
            .await
            .map_err(|_| timed_out())?
    }
}

#[cfg(test)]
#[path = "socket_tests.rs"]
mod tests;
