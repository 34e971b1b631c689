//! How a command fails, and the exit code each failure maps to, as `vault` uses them:
//! 1 for local and usage errors, 2 for errors from the server.

use std::fmt;

/// A command's failure. Its message goes to stderr; its code becomes the exit status.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments, unreadable files, nothing to print (exit 1).
    Usage(String),
    /// The server refused or could not be reached (exit 2).
    Server(String),
    /// The output is already printed; exit with this code (e.g. `status` of a sealed
    /// server exits 2).
    Exit(u8),
}

/// What every command returns.
pub type CmdResult = Result<(), Failure>;

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::Usage(message.into())
    }

    pub fn server(message: impl Into<String>) -> Self {
        Failure::Server(message.into())
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 1,
            Failure::Server(_) => 2,
            Failure::Exit(code) => *code,
        }
    }

    /// The message for stderr, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Failure::Usage(m) | Failure::Server(m) => Some(m),
            Failure::Exit(_) => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().unwrap_or(""))
    }
}

/// "Error <doing something>: <the client's error>", exit 2.
pub fn server_error(context: &str, error: &cofre_client::Error) -> Failure {
    Failure::Server(format!("{context}: {error}"))
}

/// For `map_err` on a write: "Error writing data to <path>: <the client's error>", exit 2.
pub fn write_failed(path: &str) -> impl FnOnce(cofre_client::Error) -> Failure + '_ {
    move |e| server_error(&format!("Error writing data to {path}"), &e)
}
