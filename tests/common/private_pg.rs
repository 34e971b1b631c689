//! A PostgreSQL server of the test's own (`initdb` into a temporary directory, started on a
//! free port), for tests that stop and start a real database server without disturbing
//! the machine's shared one, which other tests use at the same time. As root, PostgreSQL
//! runs as the `postgres` user (it refuses to run as root).

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::Command;

pub struct PrivatePg {
    dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

impl PrivatePg {
    /// Initialises and starts a cluster, or `None` (skip, or a failure under
    /// COFRE_REQUIRE_SERVICES=1) when PostgreSQL's server binaries are not installed.
    pub async fn start() -> Option<Self> {
        let Some(bin) = server_bin_dir() else {
            super::db::unavailable(
                "PostgreSQL's server binaries (initdb, pg_ctl)",
                "not found under /usr/lib/postgresql/*/bin",
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!("cofre-pg-{}", super::db::suffix()));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        let pg = Self {
            dir,
            port: super::free_port(),
            bin,
        };
        pg.chown_to_postgres();
        let data = pg.data_dir();
        pg.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        )
        .await;
        pg.start_server().await;
        Some(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub async fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        )
        .await;
    }

    /// `pg_ctl stop` in `mode`: `fast` (sessions ended, clean shutdown) or `immediate`
    /// (no shutdown checkpoint: a crash, recovered from the WAL at the next start).
    pub async fn stop_server(&self, mode: &str) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", mode, "-w", "stop"],
        )
        .await;
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn chown_to_postgres(&self) {
        if is_root() {
            let status = std::process::Command::new("chown")
                .args(["postgres:postgres", &self.dir.display().to_string()])
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
    }

    /// One of the server binaries, run as `postgres` when we are root.
    fn tool(&self, tool: &str) -> std::process::Command {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    /// Runs `tool` with `args`, asserting success.
    async fn run(&self, tool: &str, args: &[&str]) {
        let out = Command::from(self.tool(tool))
            .args(args)
            .output()
            .await
            .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .args(["-D", &self.data_dir(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb` and `pg_ctl`.
fn server_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uid = s.lines().find(|l| l.starts_with("Uid:"))?;
            uid.split_whitespace().nth(1).map(|u| u == "0")
        })
        .unwrap_or(false)
}
