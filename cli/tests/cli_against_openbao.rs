//! The `cofre` binary against a real Vault-API server: the OpenBao dev server named by
//! `BAO_TEST_ADDR` (token `BAO_TEST_TOKEN`, default `root`). Checks what scripts rely
//! on: stdout, exit codes and error text. Pointing `BAO_TEST_ADDR` at a Cofre dev server
//! runs the same checks against Cofre; `scripts/test` runs them against both.
//!
//! Without `BAO_TEST_ADDR` each test prints a loud notice and passes. When it is set but
//! nothing listens there, the tests skip the same way, or fail under
//! `COFRE_REQUIRE_SERVICES=1`.
//!
//! ```text
//! BAO_TEST_ADDR=http://127.0.0.1:8200 cargo test -p cofre --test cli_against_openbao
//! ```

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The server to test against, with a private HOME for the token helper.
struct Target {
    address: String,
    token: String,
    home: PathBuf,
}

impl Target {
    /// `None` (after saying why, loudly) when no server is configured or reachable.
    fn connect() -> Option<Target> {
        let required = std::env::var("COFRE_REQUIRE_SERVICES").as_deref() == Ok("1");
        let skip = |why: String| {
            assert!(!required, "{why} (COFRE_REQUIRE_SERVICES=1)");
            eprintln!("\n!!!!! SKIPPING cofre CLI integration test: {why} !!!!!\n");
            None
        };
        let Ok(address) = std::env::var("BAO_TEST_ADDR") else {
            eprintln!("\n!!!!! SKIPPING cofre CLI integration test: BAO_TEST_ADDR is not set (e.g. http://127.0.0.1:8200) !!!!!\n");
            return None;
        };
        let host_port = address
            .split("://")
            .nth(1)
            .unwrap_or(&address)
            .trim_end_matches('/')
            .to_string();
        let reachable = host_port
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
        if !reachable {
            return skip(format!("nothing listens at {address}"));
        }
        let home = std::env::temp_dir().join(unique("cofre-cli-home"));
        std::fs::create_dir_all(&home).expect("temp HOME");
        Some(Target {
            address,
            token: std::env::var("BAO_TEST_TOKEN").unwrap_or_else(|_| "root".into()),
            home,
        })
    }

    /// Runs `cofre args…` with the target's address and token.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cofre"));
        command
            .args(args)
            .env("VAULT_ADDR", &self.address)
            .env("VAULT_TOKEN", &self.token)
            .env("HOME", &self.home)
            .env_remove("COFRE_ADDR")
            .env_remove("COFRE_TOKEN")
            .env_remove("COFRE_FORMAT")
            .env_remove("VAULT_FORMAT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the cofre binary runs");
        if let Some(mut pipe) = child.stdin.take() {
            if let Some(text) = stdin {
                pipe.write_all(text.as_bytes()).expect("write stdin");
            }
        }
        child.wait_with_output().expect("cofre finishes")
    }

    /// Runs and asserts exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            code(&out),
            0,
            "cofre {args:?} failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs with `-format=json` and parses stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["-format=json"];
        full.extend_from_slice(args);
        let stdout = self.ok(&full);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{full:?}: {e}\n{stdout}"))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
fn kv_put_get_field_json_and_missing() {
    let Some(t) = Target::connect() else { return };
    let path = format!("secret/{}", unique("cli-test/app"));
    let put = t.ok(&["kv", "put", &path, "username=app", "password=s3cret"]);
    assert!(put.contains("===== Secret Path ====="), "{put}");
    assert!(put.contains("version            1"), "{put}");

    let table = t.ok(&["kv", "get", &path]);
    assert!(table.contains("======= Metadata ======="), "{table}");
    assert!(table.contains("====== Data ======"), "{table}");
    assert!(table.contains("password    s3cret"), "{table}");

    // -field prints the raw value, without a newline when piped.
    assert_eq!(t.ok(&["kv", "get", "-field=password", &path]), "s3cret");
    assert_eq!(t.ok(&["kv", "get", "--field", "username", &path]), "app");

    let json = t.json(&["kv", "get", &path]);
    assert_eq!(json["data"]["data"]["password"], "s3cret");
    assert_eq!(json["data"]["metadata"]["version"], 1);
    for key in [
        "request_id",
        "lease_id",
        "lease_duration",
        "renewable",
        "warnings",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }

    let yaml = t.ok(&["kv", "get", "-format=yaml", &path]);
    assert!(yaml.contains("\n    password: s3cret\n"), "{yaml}");

    // CAS mismatch is a server error: exit 2 with vault's wording.
    let out = t.run(&["kv", "put", "-cas=0", &path, "a=b"]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("Error writing data to secret/data/{}", &path[7..])),
        "{err}"
    );
    assert!(
        err.contains("Error making API request.\n\nURL: PUT "),
        "{err}"
    );
    assert!(err.contains("Code: 400. Errors:\n\n* "), "{err}");

    // Stdin values and patch.
    let out = t.run_with_stdin(&["kv", "patch", &path, "password=-"], Some("from-stdin"));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(t.ok(&["kv", "get", "-field=password", &path]), "from-stdin");
    assert_eq!(t.ok(&["kv", "get", "-field=username", &path]), "app");

    let missing = format!("secret/{}", unique("cli-test/missing"));
    let out = t.run(&["kv", "get", &missing]);
    assert_eq!(code(&out), 2, "missing secrets exit 2");
    assert!(text(&out.stderr).starts_with("No value found at secret/data/"));

    let out = t.run(&["kv", "put", &path]);
    assert_eq!(code(&out), 1, "no data is a usage error");
    assert!(text(&out.stderr).contains("Must supply data"));

    t.ok(&["kv", "metadata", "delete", &path]);
}

#[test]
fn kv_list_delete_undelete() {
    let Some(t) = Target::connect() else { return };
    let folder = format!("secret/{}", unique("cli-test/list"));
    t.ok(&["kv", "put", &format!("{folder}/a"), "k=v"]);
    t.ok(&["kv", "put", &format!("{folder}/b/c"), "k=v"]);
    assert_eq!(t.ok(&["kv", "list", &folder]), "Keys\n----\na\nb/\n");
    assert_eq!(
        t.json(&["kv", "list", &folder]),
        serde_json::json!(["a", "b/"])
    );

    let secret = format!("{folder}/a");
    let deleted = t.ok(&["kv", "delete", &secret]);
    assert!(deleted.starts_with("Success! Data deleted (if it existed) at: secret/data/"));
    // A deleted version still shows its metadata (with deletion_time), as in vault.
    let deleted = t.ok(&["kv", "get", &secret]);
    assert!(
        deleted.contains("deletion_time") && !deleted.contains("== Data =="),
        "{deleted}"
    );
    assert_eq!(code(&t.run(&["kv", "get", "-field=k", &secret])), 2);
    t.ok(&["kv", "undelete", "-versions=1", &secret]);
    assert_eq!(t.ok(&["kv", "get", "-field=k", &secret]), "v");

    let out = t.run(&["kv", "list", &format!("{folder}/nothing")]);
    assert_eq!(code(&out), 2);
    t.ok(&["kv", "metadata", "delete", &secret]);
    t.ok(&["kv", "metadata", "delete", &format!("{folder}/b/c")]);
}

#[test]
fn kv_rollback_and_metadata_patch() {
    let Some(t) = Target::connect() else { return };
    let path = format!("secret/{}", unique("cli-test/rollback"));
    t.ok(&["kv", "put", &path, "password=one"]);
    t.ok(&["kv", "put", &path, "password=two"]);

    // The old data becomes version 3, written with CAS on version 2.
    let rolled = t.ok(&["kv", "rollback", "-version=1", &path]);
    assert!(rolled.contains("version            3"), "{rolled}");
    assert_eq!(t.ok(&["kv", "get", "-field=password", &path]), "one");
    let json = t.json(&["kv", "rollback", "-version=2", &path]);
    assert_eq!(json["data"]["version"], 4, "{json}");
    assert_eq!(t.ok(&["kv", "get", "-field=password", &path]), "two");

    for (args, exit, message) in [
        (
            vec!["kv", "rollback", &path],
            1,
            "Version flag must be specified",
        ),
        (
            vec!["kv", "rollback", "-version=0", &path],
            1,
            "Invalid value 0 for the version flag",
        ),
        (
            vec!["kv", "rollback", "-version=9", &path],
            2,
            "No value found at secret/data/",
        ),
    ] {
        let out = t.run(&args);
        assert_eq!(code(&out), exit, "{args:?}");
        assert!(
            text(&out.stderr).starts_with(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    t.ok(&["kv", "delete", "-versions=1", &path]);
    let out = t.run(&["kv", "rollback", "-version=1", &path]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("Cannot roll back to a version that has been deleted"));
    t.ok(&["kv", "destroy", "-versions=2", &path]);
    let out = t.run(&["kv", "rollback", "-version=2", &path]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("Cannot roll back to a version that has been destroyed"));

    // metadata patch changes only what it is given.
    t.ok(&[
        "kv",
        "metadata",
        "put",
        "-max-versions=7",
        "-custom-metadata=owner=a",
        "-custom-metadata=old=x",
        &path,
    ]);
    let patched = t.ok(&[
        "kv",
        "metadata",
        "patch",
        "-cas-required",
        "-custom-metadata=owner=b",
        "-remove-custom-metadata=old",
        &path,
    ]);
    assert!(
        patched.starts_with("Success! Data written to: secret/metadata/"),
        "{patched}"
    );
    let meta = t.json(&["kv", "metadata", "get", &path]);
    assert_eq!(meta["data"]["max_versions"], 7, "{meta}");
    assert_eq!(meta["data"]["cas_required"], true, "{meta}");
    assert_eq!(
        meta["data"]["custom_metadata"],
        serde_json::json!({"owner": "b"})
    );
    let missing = format!("secret/{}", unique("cli-test/nometa"));
    let out = t.run(&["kv", "metadata", "patch", "-max-versions=2", &missing]);
    assert_eq!(code(&out), 2, "patching absent metadata is a 404");
    assert!(
        text(&out.stderr).contains("Code: 404"),
        "{}",
        text(&out.stderr)
    );
    t.ok(&["kv", "metadata", "delete", &path]);
}

#[test]
fn policy_write_read_list_delete() {
    let Some(t) = Target::connect() else { return };
    let name = unique("cli-policy");
    let file = t.home.join("policy.hcl");
    let text_in = "path \"secret/data/cli-test/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";
    std::fs::write(&file, text_in).unwrap();
    let file = file.to_string_lossy().into_owned();
    let out = t.ok(&["policy", "write", &name, &file]);
    assert_eq!(out, format!("Success! Uploaded policy: {name}\n"));
    assert_eq!(t.ok(&["policy", "read", &name]), text_in);
    assert_eq!(t.json(&["policy", "read", &name])["policy"], text_in);
    assert!(t.ok(&["policy", "list"]).lines().any(|l| l == name));
    assert!(t
        .json(&["policy", "list"])
        .as_array()
        .is_some_and(|names| names.iter().any(|n| n == &Value::String(name.clone()))));

    // From stdin, with a name that gets lower-cased.
    let upper = name.to_uppercase();
    let out = t.run_with_stdin(&["policy", "write", &upper, "-"], Some(text_in));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Policy name was converted"));

    let bad = t.run_with_stdin(&["policy", "write", &name, "-"], Some("path {"));
    assert_eq!(code(&bad), 2, "an invalid policy is a server error");
    assert!(text(&bad.stderr).starts_with("Error uploading policy: "));

    t.ok(&["policy", "delete", &name]);
    let out = t.run(&["policy", "read", &name]);
    assert_eq!(code(&out), 2);
    assert_eq!(text(&out.stderr), format!("No policy named: {name}\n"));
}

#[test]
fn token_create_lookup_and_revoke() {
    let Some(t) = Target::connect() else { return };
    let table = t.ok(&[
        "token",
        "create",
        "-policy=default",
        "-ttl=1h",
        "-metadata=team=cli",
    ]);
    assert!(
        table.starts_with("Key                  Value\n---                  -----\ntoken "),
        "{table}"
    );
    assert!(table.contains("token_duration       1h\n"), "{table}");
    assert!(
        table.contains("token_policies       [\"default\"]\n"),
        "{table}"
    );
    assert!(table.contains("token_meta_team      cli\n"), "{table}");

    let created = t.json(&[
        "token",
        "create",
        "-ttl=30m",
        "-display-name=cli",
        "-use-limit=5",
    ]);
    let token = created["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let accessor = created["auth"]["accessor"].as_str().unwrap().to_string();
    assert_eq!(created["auth"]["lease_duration"], 1800);

    let lookup = t.json(&["token", "lookup", &token]);
    assert_eq!(lookup["data"]["display_name"], "token-cli");
    assert_eq!(lookup["data"]["accessor"], accessor.as_str());
    let by_accessor = t.ok(&[
        "token",
        "lookup",
        "-accessor",
        "-field=display_name",
        &accessor,
    ]);
    assert_eq!(by_accessor, "token-cli");

    let field = t.ok(&["token", "create", "-field=token", "-ttl=5m"]);
    assert!(!field.is_empty() && !field.contains('\n'), "{field:?}");

    assert_eq!(
        t.ok(&["token", "revoke", &token]),
        "Success! Revoked token (if it existed)\n"
    );
    let out = t.run(&["token", "lookup", &token]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).starts_with("Error looking up token: Error making API request."));
}

#[test]
fn secrets_enable_list_tune_disable() {
    let Some(t) = Target::connect() else { return };
    let mount = unique("cli-kv");
    let out = t.ok(&[
        "secrets",
        "enable",
        &format!("-path={mount}"),
        "-version=2",
        "-description=cli test",
        "kv",
    ]);
    assert_eq!(
        out,
        format!("Success! Enabled the kv secrets engine at: {mount}/\n")
    );

    let list = t.ok(&["secrets", "list"]);
    let header = list.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("Path ") && header.ends_with("Description"),
        "{list}"
    );
    let row = list
        .lines()
        .find(|l| l.starts_with(&format!("{mount}/ ")))
        .unwrap_or_else(|| panic!("{mount}/ not listed:\n{list}"));
    assert!(row.contains(" kv ") && row.ends_with("cli test"), "{row}");

    let json = t.json(&["secrets", "list"]);
    assert_eq!(json[format!("{mount}/")]["options"]["version"], "2");
    assert_eq!(json[format!("{mount}/")]["type"], "kv");

    // KV v2 detection on the new mount.
    t.ok(&["kv", "put", &format!("{mount}/x"), "a=b"]);
    assert_eq!(
        t.ok(&["kv", "get", &format!("-mount={mount}"), "-field=a", "x"]),
        "b"
    );

    t.ok(&["secrets", "tune", "-default-lease-ttl=1h", &mount]);
    let again = t.run(&["secrets", "enable", &format!("-path={mount}"), "kv"]);
    assert_eq!(code(&again), 2, "enabling twice is a server error");

    t.ok(&["secrets", "disable", &mount]);
    assert!(!t.ok(&["secrets", "list"]).contains(&format!("{mount}/ ")));
}

#[test]
fn status_generic_commands_and_usage_errors() {
    let Some(t) = Target::connect() else { return };
    let status = t.ok(&["status"]);
    assert!(status.contains("Sealed          false"), "{status}");
    assert_eq!(t.json(&["status"])["sealed"], false);
    assert_eq!(t.ok(&["status", "-field=initialized"]), "true");

    let path = format!("secret/data/{}", unique("cli-test/generic"));
    let out = t.run_with_stdin(&["write", &path, "-"], Some(r#"{"data": {"k": "v"}}"#));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("version"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        code(&t.run(&["write", &path])),
        1,
        "write without data needs -force"
    );
    assert_eq!(t.json(&["read", &path])["data"]["metadata"]["version"], 1);
    t.ok(&["delete", &path]);
    t.ok(&[
        "kv",
        "metadata",
        "delete",
        &path.replacen("secret/data/", "secret/", 1),
    ]);

    assert_eq!(code(&t.run(&["kv", "get"])), 1, "missing argument");
    assert_eq!(code(&t.run(&["kv", "get", "-no-such-flag", "x"])), 1);
    assert_eq!(code(&t.run(&["-format=xml", "status"])), 1);
    let help = t.run(&["kv", "get", "-help"]);
    assert_eq!(code(&help), 0);
    assert!(
        text(&help.stdout).contains("-field"),
        "{}",
        text(&help.stdout)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["kv", "get", "secret/x"])
        .env("VAULT_ADDR", "http://127.0.0.1:1")
        .env("VAULT_TOKEN", "x")
        .env_remove("COFRE_ADDR")
        .output()
        .expect("cofre runs");
    assert_eq!(code(&out), 2, "an unreachable server exits 2");
    assert!(
        text(&out.stderr).contains("COFRE_ADDR"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn login_stores_the_token_helper_file() {
    let Some(t) = Target::connect() else { return };
    let token = t.ok(&[
        "token",
        "create",
        "-field=token",
        "-ttl=10m",
        "-policy=default",
    ]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_cofre"));
    let out = command
        .args(["login", &token])
        .env("VAULT_ADDR", &t.address)
        .env("HOME", &t.home)
        .env_remove("VAULT_TOKEN")
        .env_remove("COFRE_TOKEN")
        .output()
        .expect("cofre runs");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Success! You are now authenticated."));
    let stored = std::fs::read_to_string(t.home.join(".cofre-token")).unwrap();
    assert_eq!(stored, token);
    let printed = Command::new(env!("CARGO_BIN_EXE_cofre"))
        .args(["print", "token"])
        .env("HOME", &t.home)
        .env_remove("VAULT_TOKEN")
        .env_remove("COFRE_TOKEN")
        .output()
        .expect("cofre runs");
    assert_eq!(text(&printed.stdout), format!("{token}\n"));
    let bad = t.run(&["login", "not-a-real-token"]);
    assert_eq!(code(&bad), 2);
}
