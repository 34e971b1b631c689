//! The CLI in CI pipelines, end to end with the real binary: `cofre kv export` as dotenv
//! (escaped), JSON and GitHub Actions (masks on stdout, `$GITHUB_ENV` entries with
//! heredocs for multi-line values), and `cofre login -method=userpass|approle` (default
//! and `-path` mounts) storing the token in the token helper file like `vault login`.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{Api, TestServer};
use serde_json::{json, Value};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs cofre with `stdin` piped in.
fn run_with_stdin(mut command: Command, args: &[&str], stdin: &str) -> Output {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cofre starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("cofre exits")
}

const MULTI_LINE: &str = "-----BEGIN KEY-----\nabc%\n-----END KEY-----";

async fn server_with_secret() -> TestServer {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, body) = api
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let data = json!({"password": "p\"w$1\\x", "port": 5432, "tls-key": MULTI_LINE});
    let (status, body) = api.post("secret/data/ci", json!({ "data": data })).await;
    assert_eq!(status, 200, "{body}");
    server
}

#[tokio::test]
async fn kv_export_prints_dotenv_and_json() {
    let server = server_with_secret().await;
    let token = server.api.token.clone();
    let out = server
        .cofre(&token)
        .args(["kv", "export", "secret/ci"])
        .output()
        .expect("cofre runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "PASSWORD=\"p\\\"w\\$1\\\\x\"\nPORT=\"5432\"\n\
         TLS_KEY=\"-----BEGIN KEY-----\\nabc%\\n-----END KEY-----\"\n"
    );

    let out = server
        .cofre(&token)
        .args(["kv", "export", "-format=json", "secret/ci"])
        .output()
        .expect("cofre runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(value["password"], "p\"w$1\\x");
    assert_eq!(value["port"], 5432);

    let out = server
        .cofre(&token)
        .args(["kv", "export", "-format=yaml", "secret/ci"])
        .output()
        .expect("cofre runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown export format is a usage error"
    );
}

#[tokio::test]
async fn kv_export_for_github_masks_values_and_appends_to_github_env() {
    let server = server_with_secret().await;
    let github_env = server.dir.join("github_env");
    std::fs::write(&github_env, "EARLIER=1\n").unwrap();
    let out = server
        .cofre(&server.api.token)
        .args([
            "kv",
            "export",
            "-format=github",
            "-env-prefix=APP_",
            "secret/ci",
        ])
        .env("GITHUB_ENV", &github_env)
        .output()
        .expect("cofre runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for mask in [
        "::add-mask::p\"w$1\\x",
        "::add-mask::5432",
        "::add-mask::-----BEGIN KEY-----",
        "::add-mask::abc%25",
    ] {
        assert!(
            stdout.lines().any(|l| l == mask),
            "{mask} missing in {stdout}"
        );
    }
    assert!(!stdout.contains("APP_"), "only masks on stdout: {stdout}");

    let written = std::fs::read_to_string(&github_env).unwrap();
    let mut lines = written.lines();
    assert_eq!(lines.next(), Some("EARLIER=1"), "appended, not replaced");
    assert_eq!(lines.next(), Some("APP_PASSWORD=p\"w$1\\x"));
    assert_eq!(lines.next(), Some("APP_PORT=5432"));
    let heredoc = lines.next().expect("the multi-line entry");
    let delimiter = heredoc.strip_prefix("APP_TLS_KEY<<").expect("heredoc form");
    assert!(delimiter.starts_with("ghadelimiter_"), "{delimiter}");
    let body: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
    assert_eq!(body.join("\n"), MULTI_LINE);

    let out = server
        .cofre(&server.api.token)
        .args(["kv", "export", "-format=github", "secret/ci"])
        .output()
        .expect("cofre runs");
    assert_eq!(out.status.code(), Some(1), "no GITHUB_ENV: a local error");
    assert!(text(&out.stderr).contains("GITHUB_ENV is not set"));
}

/// The token stored by `cofre login` works and carries `policy`.
async fn assert_stored_token_has(server: &TestServer, policy: &str) {
    let stored = std::fs::read_to_string(server.dir.join("home/.cofre-token"))
        .expect("the token helper file");
    let (status, body) = Api::new(&server.api.addr, stored.trim())
        .get("auth/token/lookup-self")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["policies"]
            .as_array()
            .unwrap()
            .contains(&json!(policy)),
        "{body}"
    );
}

#[tokio::test]
async fn login_with_userpass_stores_the_token() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.write_policy("app", "path \"secret/*\" { capabilities = [\"read\"] }")
        .await;
    assert_eq!(
        api.post("sys/auth/userpass", json!({"type": "userpass"}))
            .await
            .0,
        204
    );
    let (status, body) = api
        .post(
            "auth/userpass/users/bob",
            json!({"password": "hunter2", "token_policies": "app"}),
        )
        .await;
    assert!(status == 204 || status == 200, "{body}");

    let out = run_with_stdin(
        server.cofre(""),
        &["login", "-method=userpass", "username=bob", "password=-"],
        "hunter2\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Success! You are now authenticated."),
        "{stdout}"
    );
    assert!(
        stdout.contains("token_policies") && stdout.contains("app"),
        "{stdout}"
    );
    assert_stored_token_has(&server, "app").await;

    let out = run_with_stdin(
        server.cofre(""),
        &["login", "-method=userpass", "username=bob", "password=-"],
        "wrong\n",
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused login is a server error"
    );
    assert!(text(&out.stderr).contains("Error authenticating"));
}

#[tokio::test]
async fn login_with_approle_at_a_custom_path() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.write_policy("ci", "path \"secret/*\" { capabilities = [\"read\"] }")
        .await;
    assert_eq!(
        api.post("sys/auth/pipelines", json!({"type": "approle"}))
            .await
            .0,
        204
    );
    let (status, body) = api
        .post("auth/pipelines/role/build", json!({"token_policies": "ci"}))
        .await;
    assert!(status == 204 || status == 200, "{body}");
    let (_, body) = api.get("auth/pipelines/role/build/role-id").await;
    let role_id = body["data"]["role_id"]
        .as_str()
        .expect("a role id")
        .to_string();
    let (_, body) = api
        .post("auth/pipelines/role/build/secret-id", json!({}))
        .await;
    let secret_id = body["data"]["secret_id"]
        .as_str()
        .expect("a secret id")
        .to_string();

    let out = run_with_stdin(
        server.cofre(""),
        &[
            "login",
            "-method=approle",
            "-path=pipelines",
            &format!("role_id={role_id}"),
            "secret_id=-",
            "-format=json",
        ],
        &secret_id,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert!(printed["auth"]["client_token"].is_string(), "{printed}");
    assert_stored_token_has(&server, "ci").await;

    let out = server
        .cofre("")
        .args([
            "login",
            "-method=approle",
            &format!("role_id={role_id}"),
            "secret_id=x",
        ])
        .output()
        .expect("cofre runs");
    assert_eq!(out.status.code(), Some(2), "nothing is mounted at approle/");
    let out = server
        .cofre("")
        .args(["login", "-method=approle"])
        .output()
        .expect("cofre runs");
    assert_eq!(out.status.code(), Some(1), "role_id is required");
}

#[tokio::test]
async fn auth_commands_enable_list_tune_and_disable_methods() {
    let server = TestServer::start().await;
    let cofre = |args: &[&str]| {
        let out = server.cofre_output(&server.api.token, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = cofre(&["auth", "enable", "-path=people", "userpass"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Success! Enabled userpass auth method at: people/"),
        "{out}"
    );
    let (code, out) = cofre(&["auth", "list"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("people/") && out.contains("userpass") && out.contains("token/"),
        "{out}"
    );
    let (code, out) = cofre(&["auth", "tune", "-default-lease-ttl=30m", "people"]);
    assert_eq!(code, Some(0), "{out}");
    let (_, tuned) = server.api.get("sys/auth/people/tune").await;
    assert_eq!(tuned["data"]["default_lease_ttl"], 1800, "{tuned}");
    let (code, out) = cofre(&["auth", "enable", "nosuchmethod"]);
    assert_eq!(code, Some(2), "{out}");
    let (code, out) = cofre(&["auth", "disable", "auth/people/"]);
    assert_eq!(code, Some(0), "{out}");
    let (_, listed) = server.api.get("sys/auth").await;
    assert!(listed["data"].get("people/").is_none(), "{listed}");
}

#[test]
fn policy_check_reports_each_file_locally() {
    let dir = common::temp_dir("cofre-policy-check");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.hcl");
    let bad = dir.join("bad.hcl");
    std::fs::write(
        &good,
        "path \"secret/data/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    std::fs::write(
        &bad,
        "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n\npath \"x\" {\n  capabilities = [\"fly\"]\n}\n",
    )
    .unwrap();
    let run = |files: &[&std::path::Path]| {
        Command::new(env!("CARGO_BIN_EXE_cofre"))
            .args(["policy", "check"])
            .args(files)
            .env_remove("VAULT_ADDR")
            .output()
            .expect("cofre runs")
    };
    let ok = run(&[&good]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("OK (1 path rules)"));
    let both = run(&[&good, &bad]);
    assert_eq!(both.status.code(), Some(1));
    let err = String::from_utf8_lossy(&both.stderr);
    assert!(
        err.contains("bad.hcl") && err.contains("line 6") && err.contains("fly"),
        "{err}"
    );
    assert!(err.contains("1 of 2 policy files have problems"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
