//! Tests of the audit line format and of hashing.

use serde_json::{json, Value};

use super::*;
use crate::audit::options::{Output, Target, DEFAULT_TIMEOUT};
use crate::core::{AuthInfo, LeaseInfo, Operation};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn settings() -> Settings {
    Settings {
        output: Output::File(Target::Stdout),
        mode: None,
        prefix: String::new(),
        log_raw: false,
        hmac_accessor: true,
        elide_list_responses: false,
        timeout: DEFAULT_TIMEOUT,
    }
}

fn token() -> TokenEntry {
    serde_json::from_value(json!({
        "id_hash": "h", "accessor": "acc-1", "policies": ["default", "dev"],
        "path": "auth/token/create", "display_name": "token", "creation_time": 1,
        "token_type": "service"
    }))
    .unwrap()
}

fn request(op: Operation, data: Value) -> Request {
    let Value::Object(map) = data else {
        panic!("object expected")
    };
    let mut req = Request::new(op, "data/app")
        .with_data(map)
        .with_token("s.secret-token");
    req.remote_addr = Some("127.0.0.1".parse().unwrap());
    req
}

fn line(entry: &Entry<'_>, settings: &Settings) -> Value {
    let head = render(entry, settings, KEY);
    serde_json::from_str(&format!("{head}}}")).unwrap()
}

fn hash(input: &str) -> String {
    format!(
        "hmac-sha256:{}",
        crate::crypto::hmac_sha256_hex(KEY, input.as_bytes())
    )
}

#[test]
fn request_line_has_vaults_shape_and_hashes_nested_data() {
    let mount = MountEntry::new("secret/", "kv", "", false);
    let req = request(
        Operation::Update,
        json!({"data": {"password": "hunter2", "list": ["a", 1], "n": 5, "ok": true}}),
    );
    let record = Record::new(&req, "secret/data/app", Some(&mount), Some(&token()));
    let entry = Entry {
        record: &record,
        is_response: false,
        response: None,
        error: None,
    };
    let v = line(&entry, &settings());
    assert_eq!(v["type"], "request");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["auth"]["client_token"], hash("s.secret-token"));
    assert_eq!(v["auth"]["accessor"], hash("acc-1"));
    assert_eq!(v["auth"]["policies"], json!(["default", "dev"]));
    assert_eq!(v["auth"]["token_policies"], json!(["default", "dev"]));
    assert_eq!(v["auth"]["display_name"], "token");
    let r = &v["request"];
    assert_eq!(r["operation"], "update");
    assert_eq!(r["path"], "secret/data/app");
    assert_eq!(r["mount_type"], "kv");
    assert_eq!(r["mount_point"], "secret/");
    assert_eq!(r["remote_address"], "127.0.0.1");
    assert_eq!(r["client_token"], hash("s.secret-token"));
    assert_eq!(r["data"]["data"]["password"], hash("hunter2"));
    assert_eq!(r["data"]["data"]["list"], json!([hash("a"), 1]));
    assert_eq!(r["data"]["data"]["n"], 5);
    assert_eq!(r["data"]["data"]["ok"], true);
    assert!(v.get("response").is_none() && v.get("error").is_none());
    assert!(!render(&entry, &settings(), KEY).contains("hunter2"));
}

#[test]
fn response_line_hashes_data_and_issued_token() {
    let req = request(Operation::Read, json!({}));
    let record = Record::new(&req, "auth/token/create", None, Some(&token()));
    let response = Response {
        data: Some(json!({"value": "topsecret"}).as_object().unwrap().clone()),
        auth: Some(Box::new(AuthInfo {
            client_token: "s.new-token".into(),
            accessor: "acc-2".into(),
            ..AuthInfo::default()
        })),
        lease: Some(LeaseInfo {
            lease_id: "secret/x/123".into(),
            ttl_seconds: 60,
            renewable: true,
        }),
        ..Response::default()
    };
    let entry = Entry {
        record: &record,
        is_response: true,
        response: Some(&response),
        error: None,
    };
    let v = line(&entry, &settings());
    assert_eq!(v["type"], "response");
    assert_eq!(v["response"]["data"]["value"], hash("topsecret"));
    assert_eq!(v["response"]["auth"]["client_token"], hash("s.new-token"));
    assert_eq!(v["response"]["auth"]["accessor"], hash("acc-2"));
    assert_eq!(v["response"]["secret"]["lease_id"], "secret/x/123");
}

#[test]
fn raw_prefix_accessor_and_elision_options() {
    let req = request(Operation::List, json!({}));
    let record = Record::new(&req, "secret/metadata/", None, Some(&token()));
    let response = Response::list(vec!["a".into(), "b".into()]).unwrap();
    let entry = Entry {
        record: &record,
        is_response: true,
        response: Some(&response),
        error: None,
    };
    let mut s = settings();
    s.elide_list_responses = true;
    s.hmac_accessor = false;
    s.prefix = "AUDIT: ".into();
    let head = render(&entry, &s, KEY);
    assert!(head.starts_with("AUDIT: {"));
    let v: Value = serde_json::from_str(&format!("{}}}", &head[7..])).unwrap();
    assert_eq!(v["response"]["data"]["keys"], 2);
    assert_eq!(v["auth"]["accessor"], "acc-1");
    assert_eq!(v["auth"]["client_token"], hash("s.secret-token"));
    s.log_raw = true;
    s.prefix.clear();
    let v = line(&entry, &s);
    assert_eq!(v["auth"]["client_token"], "s.secret-token");
}

#[test]
fn error_and_exempt_keys() {
    let mut mount = MountEntry::new("secret/", "kv", "", false);
    mount.config.audit_non_hmac_request_keys = vec!["visible".into()];
    let req = request(Operation::Update, json!({"visible": "v", "hidden": "h"}));
    let record = Record::new(&req, "secret/x", Some(&mount), Some(&token()));
    let entry = Entry {
        record: &record,
        is_response: false,
        response: None,
        error: Some("permission denied".into()),
    };
    let v = line(&entry, &settings());
    assert_eq!(v["request"]["data"]["visible"], "v");
    assert_eq!(v["request"]["data"]["hidden"], hash("h"));
    assert_eq!(v["error"], "permission denied");
}
