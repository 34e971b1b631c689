//! Where a device's lines go: one [`Sink`] per device, a file (or stdout) or a socket. Both
//! take the same rendered line and chain it with [`super::chain::complete`].

use std::time::Duration;

use super::file::FileSink;
use super::options::{Output, Settings};
use super::socket::SocketSink;

pub enum Sink {
    File(FileSink),
    Socket(SocketSink),
}

impl Sink {
    pub fn new(settings: &Settings) -> Self {
        match &settings.output {
            Output::File(target) => Sink::File(FileSink::new(target.clone(), settings.mode)),
            Output::Socket {
                address,
                socket_type,
            } => Sink::Socket(SocketSink::new(address.clone(), *socket_type)),
        }
    }

    /// Opens the file or connects now, so a device that cannot write fails when enabled.
    pub async fn open(&self, timeout: Duration) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.open().await,
            Sink::Socket(socket) => socket.open(timeout).await,
        }
    }

    /// SIGHUP: a file is reopened by its path at the next write; a socket is left alone.
    pub fn request_reopen(&self) {
        if let Sink::File(file) = self {
            file.request_reopen();
        }
    }

    /// Writes one line (`head` completed with its `prev_hash`) within `timeout`.
    pub async fn append(&self, head: String, timeout: Duration) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.append(head, timeout).await,
            Sink::Socket(socket) => socket.append(head, timeout).await,
        }
    }
}
