//! End-to-end tests of audit devices: config-declared file devices record hashed request
//! and response lines, `sys/audit-hash` matches them, enabling over the API needs the
//! unsafe flag, an unwritable audit file fails requests closed, and `cofre audit verify`
//! checks the hash chain; a socket device sends the same lines to a TCP peer, and a file
//! device with `file_path = "stdout"` writes them to the server's standard output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestServer;
use serde_json::{json, Value};

const SECRET: &str = "hunter2-do-not-log";

/// A fresh directory for audit files, and the config declaring a file device in it.
fn audit_config(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = common::temp_dir(&format!("cofre-audit-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.log");
    let config = format!(
        "audit \"file\" \"to-file\" {{\n  file_path = \"{}\"\n}}\n",
        file.display()
    );
    (dir, file, config)
}

fn lines(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every audit line is JSON"))
        .collect()
}

fn verify(file: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["audit", "verify"])
        .arg(file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn config_device_records_hashed_requests_and_responses() {
    let (dir, file, config) = audit_config("records");
    let server = TestServer::start_with_config(&config).await;
    server.api.enable_kv("secret", "2").await;
    let (status, body) = server
        .api
        .post("secret/data/app", json!({"data": {"password": SECRET}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.api.get("secret/data/app").await;
    assert_eq!(status, 200, "{body}");
    let token = server.api.token_with_policies(&["default"]).await;

    let all = lines(&file);
    let find = |kind: &str, op: &str| {
        all.iter()
            .find(|l| {
                l["type"] == kind
                    && l["request"]["path"] == "secret/data/app"
                    && l["request"]["operation"] == op
            })
            .unwrap_or_else(|| panic!("no {kind} line for {op}: {all:?}"))
            .clone()
    };
    let write = find("request", "create");
    let hashed = write["request"]["data"]["data"]["password"]
        .as_str()
        .unwrap();
    assert!(hashed.starts_with("hmac-sha256:"), "{write}");
    assert_eq!(write["request"]["mount_type"], "kv");
    assert!(write["auth"]["client_token"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));
    assert_eq!(write["auth"]["policies"], json!(["root"]));
    assert_eq!(write["request"]["remote_address"], "127.0.0.1");
    assert!(write["prev_hash"].is_string());
    let read = find("response", "read");
    assert_eq!(read["response"]["data"]["data"]["password"], hashed);
    let created = all
        .iter()
        .find(|l| l["type"] == "response" && l["request"]["path"] == "auth/token/create")
        .expect("a response line for the token creation");
    assert!(created["response"]["auth"]["client_token"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));

    let text = std::fs::read_to_string(&file).unwrap();
    for clear in [SECRET, server.api.token.as_str(), token.as_str()] {
        assert!(!text.contains(clear), "{clear:?} appears in the audit log");
    }

    let (status, body) = server
        .api
        .post("sys/audit-hash/to-file", json!({"input": SECRET}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["hash"], hashed);

    let (status, body) = server.api.get("sys/audit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["to-file/"]["type"], "file");
    assert_eq!(
        body["data"]["to-file/"]["options"]["file_path"],
        file.display().to_string()
    );
    let (status, _) = server.api.delete("sys/audit/to-file").await;
    assert_eq!(
        status, 400,
        "a declared device cannot be disabled over the API"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn verify_accepts_the_chain_and_names_an_edited_line() {
    let (dir, file, config) = audit_config("verify");
    let mut server = TestServer::start_with_config(&config).await;
    server.api.enable_kv("secret", "2").await;
    server.restart().await;
    // SIGHUP (logrotate) reopens the file; it must not stop the server.
    let pid = server.pid().expect("running").to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, _) = server.api.get("sys/mounts").await;
    assert_eq!(status, 200);
    let count = lines(&file).len();
    assert!(count >= 4, "{count} lines");
    let (code, out) = verify(&file);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("ok: {count} lines")), "{out}");

    let text = std::fs::read_to_string(&file).unwrap();
    let mut edited: Vec<String> = text.lines().map(str::to_owned).collect();
    edited[1] = edited[1].replacen("\"request\"", "\"request\" ", 1);
    std::fs::write(&file, edited.join("\n") + "\n").unwrap();
    let (code, out) = verify(&file);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("line 2"), "{out}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn api_enable_needs_the_unsafe_flag() {
    let (dir, file, _) = audit_config("api");
    let body = json!({"type": "file", "options": {"file_path": file.display().to_string()}});
    let server = TestServer::start().await;
    let (status, reply) = server.api.put("sys/audit/file", body.clone()).await;
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("audit \\\"file\\\""), "{reply}");
    drop(server);

    let mut server =
        TestServer::start_with_config("unsafe_allow_api_audit_creation = true\n").await;
    let (status, reply) = server.api.put("sys/audit/file", body.clone()).await;
    assert_eq!(status, 204, "{reply}");
    let (status, _) = server.api.put("sys/audit/file", body).await;
    assert_eq!(status, 400, "the path is in use");
    server.restart().await;
    let (status, reply) = server.api.get("sys/audit").await;
    assert_eq!(status, 200);
    assert_eq!(reply["data"]["file/"]["type"], "file", "{reply}");
    let (status, _) = server.api.delete("sys/audit/file").await;
    assert_eq!(status, 204);
    let (_, reply) = server.api.get("sys/audit").await;
    assert_eq!(reply["data"], json!({}));
    assert!(lines(&file)
        .iter()
        .any(|l| l["request"]["path"] == "sys/audit"));
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn unwritable_audit_file_fails_requests_closed() {
    let (dir, file, config) = audit_config("closed");
    let server = TestServer::start_with_config(&config).await;
    server.api.enable_kv("secret", "2").await;
    let (status, _) = server
        .api
        .post("secret/data/app", json!({"data": {"v": "1"}}))
        .await;
    assert_eq!(status, 200);

    // Deleted: the device notices and recreates the file, continuing the chain.
    std::fs::remove_file(&file).unwrap();
    let (status, _) = server.api.get("secret/data/app").await;
    assert_eq!(status, 200);
    assert!(file.exists(), "the deleted audit file was recreated");

    // Replaced by a directory: nothing can record, so nothing happens.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let (status, body) = server
        .api
        .post("secret/data/app", json!({"data": {"v": "2"}}))
        .await;
    assert_eq!(status, 500, "{body}");
    let (status, _) = server.api.get("secret/data/app").await;
    assert_eq!(status, 500);

    std::fs::remove_dir(&file).unwrap();
    let (status, body) = server.api.get("secret/data/app").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["data"]["v"], "1",
        "the refused write was not applied"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP peer that collects every line it receives, from any number of connections.
async fn line_collector() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::AsyncBufReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = sender.send(line);
                }
            });
        }
    });
    (address, receiver)
}

/// Waits until a received line is a `kind` line for `path`; every line seen is returned.
async fn wait_for_line(
    receiver: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: &mut Vec<String>,
    kind: &str,
    path: &str,
) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let line = tokio::time::timeout_at(deadline, receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} line for {path} in {seen:?}"))
            .expect("the collector runs");
        seen.push(line.clone());
        let value: Value = serde_json::from_str(&line).expect("every audit line is JSON");
        if value["type"] == kind && value["request"]["path"] == path {
            return value;
        }
    }
}

#[tokio::test]
async fn socket_device_sends_hashed_lines() {
    let (address, mut receiver) = line_collector().await;
    let config = format!(
        "audit \"socket\" \"to-socket\" {{\n  address = \"{address}\"\n  \
         socket_type = \"tcp\"\n  write_timeout = \"2s\"\n}}\n"
    );
    let server = TestServer::start_with_config(&config).await;
    server.api.enable_kv("secret", "2").await;
    let (status, body) = server
        .api
        .post("secret/data/app", json!({"data": {"password": SECRET}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut seen = Vec::new();
    let line = wait_for_line(&mut receiver, &mut seen, "response", "secret/data/app").await;
    let token = line["auth"]["client_token"].as_str().unwrap();
    let (status, body) = server
        .api
        .post(
            "sys/audit-hash/to-socket",
            json!({"input": server.api.token}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["hash"], token);
    assert!(line["prev_hash"].as_str().is_some_and(|h| h.len() == 64));
    for text in &seen {
        assert!(!text.contains(SECRET) && !text.contains(server.api.token.as_str()));
    }
    let (status, body) = server.api.get("sys/audit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["to-socket/"]["type"], "socket");
    assert_eq!(body["data"]["to-socket/"]["options"]["address"], address);
}

#[tokio::test]
async fn socket_device_can_be_enabled_over_the_api() {
    let (address, mut receiver) = line_collector().await;
    let server = TestServer::start_with_config("unsafe_allow_api_audit_creation = true\n").await;
    let options = json!({"address": address, "socket_type": "tcp", "write_timeout": "2s"});
    let (status, reply) = server
        .api
        .put(
            "sys/audit/sock",
            json!({"type": "socket", "options": options}),
        )
        .await;
    assert_eq!(status, 204, "{reply}");
    let (status, _) = server.api.get("sys/mounts").await;
    assert_eq!(status, 200);
    wait_for_line(&mut receiver, &mut Vec::new(), "response", "sys/mounts").await;
    let bad = json!({"type": "socket", "options": {"address": "127.0.0.1", "socket_type": "tcp"}});
    let (status, reply) = server.api.put("sys/audit/bad", bad).await;
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("host:port"), "{reply}");
}

#[tokio::test]
async fn stdout_device_writes_to_standard_output() {
    let mut server = TestServer::prepare();
    let out = server.dir.join("stdout.txt");
    server.stdout_file = Some(out.clone());
    server.extra_config = "audit \"file\" \"stdout\" {\n  file_path = \"stdout\"\n}\n".into();
    server.spawn().await;
    server.initialize(1, 1).await;
    server.api.enable_kv("secret", "2").await;
    let (status, body) = server
        .api
        .post("secret/data/app", json!({"data": {"password": SECRET}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("type").is_some())
        .collect();
    let write = lines
        .iter()
        .find(|l| l["type"] == "request" && l["request"]["path"] == "secret/data/app")
        .unwrap_or_else(|| panic!("no request line on stdout: {text}"));
    assert!(write["request"]["data"]["data"]["password"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));
    assert!(!text.contains(SECRET) && !text.contains(server.api.token.as_str()));
}

#[tokio::test]
async fn the_bao_cli_enables_and_lists_file_devices() {
    let (dir, file, _) = audit_config("bao");
    let server = TestServer::start_with_config("unsafe_allow_api_audit_creation = true\n").await;
    let token = server.api.token.clone();
    let path_arg = format!("file_path={}", file.display());
    let Some((ok, out)) = server.bao(&token, &["audit", "enable", "file", &path_arg]) else {
        return;
    };
    assert!(
        ok && out.contains("Success! Enabled the file audit device at: file/"),
        "{out}"
    );
    let (ok, out) = server.bao(&token, &["audit", "list"]).unwrap();
    assert!(ok && out.contains("file/") && out.contains("file"), "{out}");
    let (ok, out) = server
        .bao(&token, &["audit", "list", "-format=json"])
        .unwrap();
    assert!(ok, "{out}");
    let listed: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed["file/"]["type"], "file", "{listed}");
    assert!(
        !lines(&file).is_empty(),
        "the device records the bao CLI's requests"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_full_disk_refuses_every_request_with_a_500() {
    // /dev/full accepts opens and fails every write with ENOSPC, as a full disk does.
    let config = "audit \"file\" \"full\" {\n  file_path = \"/dev/full\"\n}\n";
    let server = TestServer::start_with_config(config).await;
    let (status, body) = server
        .api
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 500, "nothing can record the request: {body}");
    let (status, _) = server.api.get("sys/mounts").await;
    assert_eq!(status, 500);
    drop(server);
}
