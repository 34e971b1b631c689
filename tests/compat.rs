//! Compatibility scenarios driven by the real `bao` CLI (OpenBao's client, installed by
//! `../shared/tools/install-bao`). Each scenario runs against Cofre by default, and against
//! `bao server -dev` itself with `COFRE_COMPAT_TARGET=openbao`, which proves the
//! expectations are OpenBao's behaviour and not our assumptions:
//!
//! ```text
//! cargo test -p cofre --test compat_bao                                  # against Cofre
//! COFRE_COMPAT_TARGET=openbao cargo test -p cofre --test compat_bao      # against OpenBao
//! ```
//!
//! Without a `bao` binary the scenarios are skipped with a loud message, unless
//! `COFRE_REQUIRE_SERVICES=1` (CI), where that is a failure.

mod common;

use std::process::{Child, Command, Stdio};

use common::{free_port, temp_dir};
use serde_json::Value;

const ROOT: &str = "compat-root-token";

/// A server under test: Cofre or OpenBao, dev-mode or fresh (uninitialised).
struct Target {
    addr: String,
    token: String,
    child: Child,
    dir: std::path::PathBuf,
}

fn against_openbao() -> bool {
    std::env::var("COFRE_COMPAT_TARGET").is_ok_and(|v| v == "openbao")
}

/// Whether the `bao` CLI is available; panics in CI when it is not.
fn bao_available() -> bool {
    let ok = Command::new("bao")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("the bao CLI is required (COFRE_REQUIRE_SERVICES=1): run ../shared/tools/install-bao");
        }
        eprintln!("\n*** SKIPPING bao compatibility scenario: no `bao` on PATH (run ../shared/tools/install-bao) ***\n");
    }
    ok
}

impl Target {
    /// A dev-mode server (in memory, unsealed, root token [`ROOT`], `secret/` is KV v2).
    async fn dev() -> Target {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let dir = temp_dir("cofre-compat");
        std::fs::create_dir_all(&dir).unwrap();
        let (program, _) = server_program();
        let child = Command::new(program)
            .args(["server", "-dev"])
            .arg(format!("-dev-root-token-id={ROOT}"))
            .arg(format!("-dev-listen-address={addr}"))
            .current_dir(&dir)
            .env("HOME", &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let target = Target {
            addr: format!("http://{addr}"),
            token: ROOT.into(),
            child,
            dir,
        };
        target.wait_until_unsealed().await;
        target
    }

    /// An uninitialised server with a config file (OpenBao: inmem; Cofre: sled).
    async fn fresh() -> Target {
        let port = free_port();
        let dir = temp_dir("cofre-compat");
        std::fs::create_dir_all(&dir).unwrap();
        let storage = if against_openbao() {
            "storage \"inmem\" {}\ndisable_mlock = true\n".to_string()
        } else {
            format!(
                "storage \"sled\" {{\n  path = \"{}\"\n}}\n",
                dir.join("data").display()
            )
        };
        let config = format!(
            "{storage}listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\n"
        );
        let config_path = dir.join("server.hcl");
        std::fs::write(&config_path, config).unwrap();
        let (program, _) = server_program();
        let child = Command::new(program)
            .args(["server", "-config"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let target = Target {
            addr: format!("http://127.0.0.1:{port}"),
            token: String::new(),
            child,
            dir,
        };
        for _ in 0..200 {
            if reqwest::get(format!("{}/v1/sys/seal-status", target.addr))
                .await
                .is_ok()
            {
                return target;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("server did not start");
    }

    async fn wait_until_unsealed(&self) {
        for _ in 0..400 {
            if let Ok(resp) = reqwest::get(format!("{}/v1/sys/health", self.addr)).await {
                if resp.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("server at {} never became healthy", self.addr);
    }

    /// The `bao` CLI pointed at this server with its current token.
    fn cli(&self) -> Cli<'_> {
        self.cli_as(&self.token)
    }

    /// The `bao` CLI pointed at this server with another token.
    fn cli_as(&self, token: &str) -> Cli<'_> {
        Cli {
            addr: &self.addr,
            token: token.to_string(),
            home: &self.dir,
        }
    }

    fn bao(&self, args: &[&str]) -> (i32, String, String) {
        self.cli().bao(args)
    }

    fn bao_json(&self, words: &[&str], rest: &[&str]) -> Value {
        self.cli().bao_json(words, rest)
    }

    fn bao_ok(&self, args: &[&str]) -> String {
        self.cli().bao_ok(args)
    }
}

/// The `bao` CLI with an address and token.
struct Cli<'a> {
    addr: &'a str,
    token: String,
    home: &'a std::path::Path,
}

impl Cli<'_> {
    /// Runs `bao ARGS` against this server; returns (exit code, stdout, stderr).
    fn bao(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new("bao")
            .args(args)
            .env("BAO_ADDR", self.addr)
            .env("BAO_TOKEN", &self.token)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .env("HOME", self.home)
            .output()
            .expect("bao runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `bao WORDS -format=json REST`, asserts exit 0, returns the parsed output.
    fn bao_json(&self, words: &[&str], rest: &[&str]) -> Value {
        let mut full: Vec<&str> = words.to_vec();
        full.push("-format=json");
        full.extend_from_slice(rest);
        let args = &full;
        let (code, out, err) = self.bao(args);
        assert_eq!(code, 0, "bao {args:?} failed: {err}{out}");
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("bao {args:?} printed non-JSON ({e}): {out}"))
    }

    /// Runs `bao ARGS` and asserts exit 0.
    fn bao_ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.bao(args);
        assert_eq!(code, 0, "bao {args:?} failed: {err}{out}");
        out
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn server_program() -> (&'static str, bool) {
    if against_openbao() {
        ("bao", true)
    } else {
        (env!("CARGO_BIN_EXE_cofre"), false)
    }
}

#[tokio::test]
async fn status_and_operator_lifecycle() {
    if !bao_available() {
        return;
    }
    let mut target = Target::fresh().await;
    let (code, out, _) = target.bao(&["status", "-format=json"]);
    assert_eq!(
        code, 2,
        "status of a sealed/uninitialised server exits 2: {out}"
    );
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["initialized"], false);

    let init = target.bao_json(
        &["operator", "init"],
        &["-key-shares=5", "-key-threshold=3"],
    );
    let keys: Vec<String> = init["unseal_keys_b64"]
        .as_array()
        .expect("unseal_keys_b64")
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 5);
    target.token = init["root_token"].as_str().unwrap().to_string();

    let out = target.bao_json(&["operator", "unseal"], &[&keys[0]]);
    assert_eq!(
        (out["sealed"].clone(), out["progress"].clone()),
        (Value::Bool(true), Value::from(1))
    );
    target.bao_json(&["operator", "unseal"], &[&keys[3]]);
    let out = target.bao_json(&["operator", "unseal"], &[&keys[4]]);
    assert_eq!(out["sealed"], false);

    let (code, out, _) = target.bao(&["status", "-format=json"]);
    assert_eq!(code, 0, "{out}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            status["sealed"].clone(),
            status["t"].clone(),
            status["n"].clone()
        ),
        (Value::Bool(false), Value::from(3), Value::from(5))
    );

    target.bao_ok(&["operator", "seal"]);
    let (code, _, _) = target.bao(&["kv", "list", "secret/"]);
    assert_eq!(code, 2, "a sealed server refuses");
    let (code, out, _) = target.bao(&["status", "-format=json"]);
    assert_eq!(code, 2);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["sealed"], true);
}

#[tokio::test]
async fn kv_v2_round_trip() {
    if !bao_available() {
        return;
    }
    let t = Target::dev().await;
    let put = t.bao_json(
        &["kv", "put"],
        &["secret/app/db", "user=admin", "password=s3cret"],
    );
    assert_eq!(put["data"]["version"], 1);
    let got = t.bao_json(&["kv", "get"], &["secret/app/db"]);
    assert_eq!(got["data"]["data"]["password"], "s3cret");
    assert_eq!(got["data"]["metadata"]["version"], 1);
    let field = t.bao_ok(&["kv", "get", "-field=password", "secret/app/db"]);
    assert_eq!(field.trim_end(), "s3cret");

    let patched = t.bao_json(&["kv", "patch"], &["secret/app/db", "password=rotated"]);
    assert_eq!(patched["data"]["version"], 2);
    let got = t.bao_json(&["kv", "get"], &["secret/app/db"]);
    assert_eq!(
        (
            got["data"]["data"]["user"].clone(),
            got["data"]["data"]["password"].clone()
        ),
        ("admin".into(), "rotated".into())
    );
    let v1 = t.bao_json(&["kv", "get"], &["-version=1", "secret/app/db"]);
    assert_eq!(v1["data"]["data"]["password"], "s3cret");

    t.bao_ok(&["kv", "put", "secret/app/cache", "url=redis://x"]);
    let list = t.bao_json(&["kv", "list"], &["secret/app"]);
    assert_eq!(list, serde_json::json!(["cache", "db"]));

    let meta = t.bao_json(&["kv", "metadata", "get"], &["secret/app/db"]);
    assert_eq!(meta["data"]["current_version"], 2);
    assert!(meta["data"]["versions"]["1"].is_object());
    t.bao_ok(&[
        "kv",
        "metadata",
        "put",
        "-max-versions=5",
        "-custom-metadata=owner=team-a",
        "secret/app/db",
    ]);
    let meta = t.bao_json(&["kv", "metadata", "get"], &["secret/app/db"]);
    assert_eq!(meta["data"]["max_versions"], 5);
    assert_eq!(meta["data"]["custom_metadata"]["owner"], "team-a");

    t.bao_ok(&["kv", "delete", "secret/app/db"]);
    // OpenBao answers a deleted version with 404 plus its metadata; the CLI prints it
    // and exits 0.
    let deleted = t.bao_json(&["kv", "get"], &["secret/app/db"]);
    assert!(deleted["data"]["data"].is_null(), "{deleted}");
    assert!(
        deleted["data"]["metadata"]["deletion_time"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{deleted}"
    );
    t.bao_ok(&["kv", "undelete", "-versions=2", "secret/app/db"]);
    let got = t.bao_json(&["kv", "get"], &["secret/app/db"]);
    assert_eq!(got["data"]["data"]["password"], "rotated");
    t.bao_ok(&["kv", "destroy", "-versions=1", "secret/app/db"]);
    let meta = t.bao_json(&["kv", "metadata", "get"], &["secret/app/db"]);
    assert_eq!(meta["data"]["versions"]["1"]["destroyed"], true);
    t.bao_ok(&["kv", "metadata", "delete", "secret/app/db"]);
    let (code, _, _) = t.bao(&["kv", "get", "secret/app/db"]);
    assert_eq!(code, 2);
    let (code, _, _) = t.bao(&["kv", "get", "secret/app/never-written"]);
    assert_eq!(code, 2);
}

#[tokio::test]
async fn kv_v1_and_secrets_engines() {
    if !bao_available() {
        return;
    }
    let t = Target::dev().await;
    t.bao_ok(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    t.bao_ok(&[
        "secrets",
        "enable",
        "-path=kv2",
        "-version=2",
        "-description=team store",
        "kv",
    ]);
    let mounts = t.bao_json(&["secrets", "list"], &[]);
    assert_eq!(mounts["kv1/"]["type"], "kv");
    assert_eq!(mounts["kv2/"]["options"]["version"], "2");
    assert_eq!(mounts["kv2/"]["description"], "team store");
    t.bao_ok(&["kv", "put", "kv1/app", "k=v"]);
    let got = t.bao_json(&["kv", "get"], &["kv1/app"]);
    assert_eq!(got["data"]["k"], "v");
    t.bao_ok(&["write", "kv1/other", "a=b"]);
    let read = t.bao_json(&["read"], &["kv1/other"]);
    assert_eq!(read["data"]["a"], "b");
    let (code, _, _) = t.bao(&["secrets", "enable", "-path=kv1", "kv"]);
    assert_eq!(code, 2, "path in use");
    t.bao_ok(&["secrets", "tune", "-default-lease-ttl=1h", "kv2/"]);
    t.bao_ok(&["secrets", "move", "kv2/", "kv3/"]);
    let mounts = t.bao_json(&["secrets", "list"], &[]);
    assert!(mounts["kv3/"].is_object() && mounts["kv2/"].is_null());
    t.bao_ok(&["secrets", "disable", "kv3/"]);
}

#[tokio::test]
async fn policies_and_tokens() {
    if !bao_available() {
        return;
    }
    let t = Target::dev().await;
    let policy_file = t.dir.join("reader.hcl");
    std::fs::write(
        &policy_file,
        "path \"secret/data/app/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    t.bao_ok(&["policy", "write", "reader", policy_file.to_str().unwrap()]);
    let list = t.bao_json(&["policy", "list"], &[]);
    assert!(
        list.as_array().unwrap().contains(&Value::from("reader")),
        "{list}"
    );
    let read = t.bao_ok(&["policy", "read", "reader"]);
    assert!(read.contains("secret/data/app/*"), "{read}");

    t.bao_ok(&["kv", "put", "secret/app/cfg", "x=1"]);
    t.bao_ok(&["kv", "put", "secret/other/cfg", "x=2"]);
    let created = t.bao_json(&["token", "create"], &["-policy=reader", "-ttl=1h"]);
    let token = created["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        created["auth"]["policies"],
        serde_json::json!(["default", "reader"])
    );

    let user = t.cli_as(&token);
    let got = user.bao_json(&["kv", "get"], &["secret/app/cfg"]);
    assert_eq!(got["data"]["data"]["x"], "1");
    let (code, _, err) = user.bao(&["kv", "get", "secret/other/cfg"]);
    assert_eq!(code, 2, "denied: {err}");
    assert!(
        err.contains("permission denied") || err.contains("403"),
        "{err}"
    );
    let caps = t.bao_ok(&["token", "capabilities", &token, "secret/data/app/cfg"]);
    assert_eq!(caps.trim(), "read");

    let lookup = t.bao_json(&["token", "lookup"], &[&token]);
    assert_eq!(
        lookup["data"]["policies"],
        serde_json::json!(["default", "reader"])
    );
    t.bao_ok(&["token", "renew", &token]);
    t.bao_ok(&["token", "revoke", &token]);
    let (code, _, _) = user.bao(&["kv", "get", "secret/app/cfg"]);
    assert_eq!(code, 2, "revoked token refused");

    t.bao_ok(&["policy", "delete", "reader"]);
    let list = t.bao_json(&["policy", "list"], &[]);
    assert!(!list.as_array().unwrap().contains(&Value::from("reader")));
}
