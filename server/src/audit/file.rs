//! The file sink of a `file` device: appends chained lines to a file (or stdout), reopens
//! the file on request (SIGHUP, for logrotate) and by itself when the path no longer names
//! the open file (deleted or moved), and bounds every write by the device's timeout.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::chain;
use super::options::Target;

/// One device's output. Lines are written one at a time, in the chain's order.
pub struct FileSink {
    target: Target,
    mode: Option<u32>,
    reopen: AtomicBool,
    state: Arc<tokio::sync::Mutex<State>>,
}

#[derive(Default)]
struct State {
    file: Option<File>,
    /// (device, inode) of the open file, to notice when the path names another file.
    identity: Option<(u64, u64)>,
    /// The hash of the last line written (or found at open); the next line's `prev_hash`.
    last_hash: Option<String>,
}

impl FileSink {
    pub fn new(target: Target, mode: Option<u32>) -> Self {
        FileSink {
            target,
            mode,
            reopen: AtomicBool::new(false),
            state: Arc::new(tokio::sync::Mutex::new(State::default())),
        }
    }

    /// Opens the file now (blocking), so a device that cannot write fails when enabled.
    pub async fn open(&self) -> std::io::Result<()> {
        let Target::File(path) = self.target.clone() else {
            return Ok(());
        };
        let mut state = self.state.clone().lock_owned().await;
        let mode = self.mode;
        tokio::task::spawn_blocking(move || state.open(&path, mode))
            .await
            .map_err(std::io::Error::other)?
    }

    /// Makes the next write reopen the file by its path (after logrotate moved it).
    pub fn request_reopen(&self) {
        self.reopen.store(true, Ordering::Release);
    }

    /// Appends `head` (the prefix and the JSON object without its closing brace) completed
    /// with `prev_hash`, within `timeout`.
    pub async fn append(&self, head: String, timeout: Duration) -> std::io::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out");
        let mut state = tokio::time::timeout_at(deadline, self.state.clone().lock_owned())
            .await
            .map_err(|_| timed_out())?;
        let reopen = self.reopen.swap(false, Ordering::AcqRel);
        let target = self.target.clone();
        let mode = self.mode;
        let write = tokio::task::spawn_blocking(move || state.append(&target, mode, reopen, head));
        match tokio::time::timeout_at(deadline, write).await {
            Err(_) => {
                // The blocked write keeps the lock, so later lines wait (and time out) instead
                // of skipping ahead in the chain.
                self.request_reopen();
                Err(timed_out())
            }
            Ok(joined) => joined.map_err(std::io::Error::other)?,
        }
    }
}

impl State {
    fn append(
        &mut self,
        target: &Target,
        mode: Option<u32>,
        reopen: bool,
        head: String,
    ) -> std::io::Result<()> {
        if let Target::File(path) = target {
            if reopen || self.file.is_none() || self.moved(path) {
                self.open(path, mode)?;
            }
        }
        let (line, hash) = chain::complete(head, self.last_hash.as_deref());
        let written = match (target, self.file.as_mut()) {
            (Target::Stdout, _) => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes()).and_then(|()| out.flush())
            }
            (Target::File(_), Some(file)) => file.write_all(line.as_bytes()),
            (Target::File(_), None) => Err(std::io::Error::other("the audit file is not open")),
        };
        match written {
            Ok(()) => {
                self.last_hash = Some(hash);
                Ok(())
            }
            Err(e) => {
                self.file = None;
                Err(e)
            }
        }
    }

    fn open(&mut self, path: &Path, mode: Option<u32>) -> std::io::Result<()> {
        self.file = None;
        let last = chain::last_line_hash(path)?;
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode.unwrap_or(0o600));
        let file = options.open(path)?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        self.identity = identity(&file.metadata()?);
        // An empty new file (rotation) continues the chain of the file it replaces.
        if last.is_some() {
            self.last_hash = last;
        }
        self.file = Some(file);
        Ok(())
    }

    /// Whether the path no longer names the open file (deleted, moved or replaced).
    fn moved(&self, path: &Path) -> bool {
        match std::fs::metadata(path) {
            Ok(meta) => identity(&meta) != self.identity,
            Err(_) => true,
        }
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cofre-sink-{}", crate::crypto::uuid_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn lines_chain_across_reopen_and_restart() {
        let dir = temp();
        let path = dir.join("audit.log");
        let sink = FileSink::new(Target::File(path.clone()), Some(0o600));
        sink.open().await.unwrap();
        let second = Duration::from_secs(1);
        sink.append("{\"n\":1".into(), second).await.unwrap();
        std::fs::rename(&path, dir.join("audit.log.1")).unwrap();
        sink.append("{\"n\":2".into(), second).await.unwrap();
        let restarted = FileSink::new(Target::File(path.clone()), None);
        restarted.open().await.unwrap();
        restarted.append("{\"n\":3".into(), second).await.unwrap();
        let old = std::fs::read_to_string(dir.join("audit.log.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!(old.lines().count(), 1);
        let new_lines: Vec<&str> = new.lines().collect();
        assert_eq!(new_lines.len(), 2);
        assert!(new_lines[0].contains(&chain::line_hash(old.trim_end().as_bytes())));
        assert_eq!(chain::verify(new.as_bytes()).unwrap(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn unwritable_path_fails_without_panicking() {
        let dir = temp();
        let path = dir.join("audit.log");
        std::fs::create_dir_all(&path).unwrap();
        let sink = FileSink::new(Target::File(path), None);
        assert!(sink.open().await.is_err());
        assert!(sink
            .append("{\"n\":1".into(), Duration::from_secs(1))
            .await
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
