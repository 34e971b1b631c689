//! The shared end-to-end test helper: [`TestServer`] starts a real Cofre server on an
//! ephemeral port with its own temporary sled directory, initialised and unsealed, and
//! shuts it down when dropped. [`Api`] is a small raw-HTTP client so tests see exactly
//! what any Vault client sees (status codes and JSON bodies).
#![allow(dead_code)]

pub mod certs;
pub mod db;
pub mod private_pg;
pub mod relay;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A raw HTTP client for one server address.
#[derive(Clone)]
pub struct Api {
    pub addr: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: &str, token: &str) -> Self {
        Self {
            addr: addr.to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub fn with_token(&self, token: &str) -> Self {
        Self::new(&self.addr, token)
    }

    /// Sends `method path` with an optional JSON body; returns (status, JSON or Null).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        let mut req = self
            .http
            .request(method.clone(), format!("{}/v1/{}", self.addr, path));
        if !self.token.is_empty() {
            req = req.header("X-Vault-Token", &self.token);
        }
        if let Some(body) = body {
            let content_type = if method == reqwest::Method::PATCH {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            req = req
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        let resp = req.send().await.expect("server reachable");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }
    pub async fn list(&self, path: &str) -> (u16, Value) {
        self.call("LIST", path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PATCH", path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None).await
    }

    /// Mounts a KV engine of `version` ("1" or "2") at `path`, asserting success.
    pub async fn enable_kv(&self, path: &str, version: &str) {
        let (status, body) = self
            .post(
                &format!("sys/mounts/{path}"),
                json!({"type": "kv", "options": {"version": version}}),
            )
            .await;
        assert_eq!(
            status, 204,
            "mounting kv v{version} at {path} failed: {body}"
        );
    }

    /// Creates a token with exactly these policies (`default` only if listed); returns it.
    pub async fn token_with_policies(&self, policies: &[&str]) -> String {
        let no_default = !policies.contains(&"default");
        let (status, body) = self
            .post(
                "auth/token/create",
                json!({"policies": policies, "no_default_policy": no_default, "ttl": "1h"}),
            )
            .await;
        assert_eq!(status, 200, "token create failed: {body}");
        body["auth"]["client_token"].as_str().unwrap().to_string()
    }

    /// Writes a policy, asserting success.
    pub async fn write_policy(&self, name: &str, hcl: &str) {
        let (status, body) = self
            .put(
                &format!("sys/policies/acl/{name}"),
                json!({ "policy": hcl }),
            )
            .await;
        assert_eq!(status, 204, "policy write failed: {body}");
    }
}

/// A `cofre server` process with its own data directory.
pub struct TestServer {
    pub api: Api,
    pub dir: PathBuf,
    pub keys: Vec<String>,
    pub port: u16,
    /// Extra lines for the `listener "tcp"` block (TLS settings).
    pub listener_extra: String,
    /// Extra top-level HCL appended to the server config (e.g. `audit` blocks).
    pub extra_config: String,
    /// The `storage` block; `None`: sled in the server's own directory.
    pub storage: Option<String>,
    /// The listener's IP address (127.0.0.1 unless set; HA tests use 127.0.0.x).
    pub host: String,
    /// `log_level` of the config ("warn" unless set).
    pub log_level: String,
    /// Where the server's stderr (its log) goes; inherited when `None`.
    pub log_file: Option<PathBuf>,
    /// Where the server's stdout goes (a `file_path = "stdout"` audit device); discarded
    /// when `None`.
    pub stdout_file: Option<PathBuf>,
    child: Option<Child>,
}

impl TestServer {
    /// A fresh server, initialised with one key share and unsealed.
    pub async fn start() -> Self {
        Self::start_with_shares(1, 1).await
    }

    /// A fresh server whose config also holds `extra_config` (top-level HCL), initialised
    /// with one key share and unsealed.
    pub async fn start_with_config(extra_config: &str) -> Self {
        let mut server = Self::prepare();
        server.extra_config = extra_config.to_string();
        server.spawn().await;
        server.initialize(1, 1).await;
        server
    }

    /// A fresh server initialised with `shares`/`threshold` and unsealed.
    pub async fn start_with_shares(shares: u8, threshold: u8) -> Self {
        let mut server = Self::start_uninitialized().await;
        server.initialize(shares, threshold).await;
        server
    }

    /// Initialises with `shares`/`threshold`, keeps the keys and root token, and unseals.
    pub async fn initialize(&mut self, shares: u8, threshold: u8) {
        let server = self;
        let (status, body) = server
            .api
            .put(
                "sys/init",
                json!({"secret_shares": shares, "secret_threshold": threshold}),
            )
            .await;
        assert_eq!(status, 200, "init failed: {body}");
        server.keys = body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        server.api.token = body["root_token"].as_str().unwrap().to_string();
        server.unseal().await;
    }

    /// A fresh, uninitialised server.
    pub async fn start_uninitialized() -> Self {
        let mut server = Self::prepare();
        server.spawn().await;
        server
    }

    /// A server not yet started: set `listener_extra` and call [`TestServer::spawn`].
    pub fn prepare() -> Self {
        let dir = temp_dir("cofre-e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        TestServer {
            api: Api::new(&format!("http://127.0.0.1:{port}"), ""),
            dir,
            keys: Vec::new(),
            port,
            listener_extra: String::new(),
            extra_config: String::new(),
            storage: None,
            host: "127.0.0.1".into(),
            log_level: "warn".into(),
            log_file: None,
            stdout_file: None,
            child: None,
        }
    }

    /// A server on `host` over the `storage` block, not yet started.
    pub fn prepare_shared(host: &str, storage: &str) -> Self {
        let mut server = Self::prepare();
        server.host = host.to_string();
        server.api = Api::new(&format!("http://{host}:{}", server.port), "");
        server.storage = Some(storage.to_string());
        server
    }

    /// Another node of this server's vault (same `storage` block) on `host`, started and
    /// unsealed with this server's keys.
    pub async fn join(&self, host: &str) -> Self {
        let storage = self.storage.clone().expect("a shared storage block");
        let mut node = Self::prepare_shared(host, &storage);
        node.keys = self.keys.clone();
        node.api.token = self.api.token.clone();
        node.spawn().await;
        node.unseal().await;
        node
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("cofre.hcl")
    }

    /// Starts the process on the same port and data directory.
    pub async fn spawn(&mut self) {
        let listener = if self.listener_extra.is_empty() {
            "  tls_disable = true\n".to_string()
        } else {
            self.listener_extra.clone()
        };
        let storage = self.storage.clone().unwrap_or_else(|| {
            format!(
                "storage \"sled\" {{\n  path = \"{}\"\n}}",
                self.dir.join("data").display()
            )
        });
        let config = format!(
            "{storage}\nlistener \"tcp\" {{\n  address = \"{}:{}\"\n{listener}}}\nlog_level = \"{}\"\n{}",
            self.host, self.port, self.log_level, self.extra_config
        );
        let stderr = match &self.log_file {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("a log file")),
            None => Stdio::inherit(),
        };
        let stdout = match &self.stdout_file {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("a stdout file")),
            None => Stdio::null(),
        };
        std::fs::write(self.config_path(), config).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cofre"))
            .args(["server", "-config"])
            .arg(self.config_path())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("cofre binary starts");
        self.child = Some(child);
        if self.listener_extra.is_empty() {
            wait_for_http(&self.api.addr).await;
        } else {
            wait_for_port(&self.host, self.port).await;
        }
    }

    /// Unseals with every known key (stops when unsealed).
    pub async fn unseal(&self) {
        for key in &self.keys {
            let (status, body) = self.api.put("sys/unseal", json!({ "key": key })).await;
            assert_eq!(status, 200, "unseal failed: {body}");
            if body["sealed"] == false {
                return;
            }
        }
        panic!("not unsealed after every key");
    }

    /// The server process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGHUP to the process.
    pub fn hangup(&self) {
        let pid = self.pid().expect("a running server").to_string();
        let sent = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -HUP {pid}");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILLs the process (no chance to flush anything).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Stops (SIGTERM), starts again and unseals.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
        self.unseal().await;
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }
}

impl TestServer {
    /// The `cofre` binary as a client of this server with `token` (none when empty), a
    /// private HOME and none of the caller's COFRE_/VAULT_ settings.
    pub fn cofre(&self, token: &str) -> Command {
        let mut command = self.client_command(env!("CARGO_BIN_EXE_cofre"), "home");
        command
            .env("COFRE_ADDR", &self.api.addr)
            .env_remove("COFRE_TOKEN")
            .env_remove("COFRE_FORMAT")
            .env_remove("COFRE_WRAP_TTL")
            .env_remove("GITHUB_ENV");
        if !token.is_empty() {
            command.env("COFRE_TOKEN", token);
        }
        command
    }

    /// Runs `cofre args…` with `token` to completion.
    pub fn cofre_output(&self, token: &str, args: &[&str]) -> std::process::Output {
        self.cofre(token)
            .args(args)
            .output()
            .expect("the cofre binary runs")
    }

    /// Runs the real `bao` CLI against this server with `token`; returns (success,
    /// stdout+stderr), or `None` (skipped loudly) when `bao` is not installed, except
    /// with COFRE_REQUIRE_SERVICES=1, where that is a failure.
    pub fn bao(&self, token: &str, args: &[&str]) -> Option<(bool, String)> {
        let out = match self
            .client_command("bao", "bao-home")
            .args(args)
            .env("BAO_ADDR", &self.api.addr)
            .env("BAO_TOKEN", token)
            .output()
        {
            Ok(out) => out,
            Err(_) if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
                panic!("the bao CLI is required (COFRE_REQUIRE_SERVICES=1): run ../shared/tools/install-bao")
            }
            Err(_) => {
                eprintln!("\n*** SKIPPING bao scenario: no `bao` on PATH (run ../shared/tools/install-bao) ***\n");
                return None;
            }
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some((out.status.success(), text))
    }

    /// `program` with a private HOME (`home` under the server's directory) and without
    /// the Vault settings of the environment the tests run in.
    fn client_command(&self, program: &str, home: &str) -> Command {
        let home = self.data_dir().join(home);
        std::fs::create_dir_all(&home).expect("a home for the CLI");
        let mut command = Command::new(program);
        command
            .env("HOME", &home)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("VAULT_FORMAT")
            .env_remove("VAULT_WRAP_TTL");
        command
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A unique temporary directory path (not created).
pub fn temp_dir(prefix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(host: &str, port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect((host, port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing listens on port {port}");
}

async fn wait_for_http(addr: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{addr}/v1/sys/seal-status"))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server at {addr} did not come up");
}
