//! Tests of response wrapping through the real request pipeline: wrap, unwrap once,
//! lookup without a token, rewrap, what a wrapping token may do, and policy wrap-TTL bounds.

use serde_json::{json, Map, Value};

use crate::core::testutil::{fixture, Fixture};
use crate::core::{Operation, Request, RequestError, Response, WrapInfo};

fn request(token: Option<&str>, op: Operation, path: &str, data: Value) -> Request {
    let data: Map<String, Value> = match data {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let req = Request::new(op, path).with_data(data);
    match token {
        Some(token) => req.with_token(token),
        None => req,
    }
}

async fn wrapped(f: &Fixture, op: Operation, path: &str, data: Value, ttl: u64) -> WrapInfo {
    let mut req = request(Some("root"), op, path, data);
    req.wrap_ttl = Some(ttl);
    let resp = f
        .core
        .handle(req)
        .await
        .expect("the wrapped request succeeds");
    assert!(resp.data.is_none() && resp.auth.is_none(), "only wrap_info");
    *resp.wrap_info.expect("the answer is wrapped")
}

/// Wraps `data` with `sys/wrapping/wrap`.
async fn wrap_data(f: &Fixture, data: Value, ttl: u64) -> WrapInfo {
    wrapped(f, Operation::Update, "sys/wrapping/wrap", data, ttl).await
}

async fn unwrap_as(f: &Fixture, token: &str, body: Value) -> Result<Response, RequestError> {
    let req = request(Some(token), Operation::Update, "sys/wrapping/unwrap", body);
    f.core.handle(req).await
}

fn invalid(result: Result<Response, RequestError>) -> bool {
    matches!(result, Err(RequestError::InvalidRequest(m))
        if m == "wrapping token is not valid or does not exist")
}

#[tokio::test]
async fn a_wrapped_answer_unwraps_once() {
    let f = fixture().await;
    let data = json!({"password": "s3cret"});
    let info = wrap_data(&f, data.clone(), 60).await;
    assert_eq!(info.ttl, 60);
    assert_eq!(info.creation_path, "sys/wrapping/wrap");
    assert!(info.token.starts_with("s.") && !info.accessor.is_empty());

    let first = unwrap_as(&f, &info.token, json!({})).await.unwrap();
    let body = first.raw.expect("the stored envelope is sent as is");
    assert_eq!(body["data"], data);
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    // The token is revoked with its one use: neither it nor anyone else can unwrap again.
    assert!(matches!(
        unwrap_as(&f, &info.token, json!({})).await,
        Err(RequestError::PermissionDenied)
    ));
    assert!(invalid(
        unwrap_as(&f, "root", json!({"token": info.token})).await
    ));
}

#[tokio::test]
async fn lookup_needs_no_token_and_spends_no_use() {
    let f = fixture().await;
    let info = wrap_data(&f, json!({"a": 1}), 90).await;
    for _ in 0..2 {
        let req = request(
            None,
            Operation::Update,
            "sys/wrapping/lookup",
            json!({"token": info.token}),
        );
        let data = f.core.handle(req).await.unwrap().data.unwrap();
        assert_eq!(data["creation_ttl"], 90);
        assert_eq!(data["creation_path"], "sys/wrapping/wrap");
        assert_eq!(data["creation_time"], info.creation_time);
    }
    let by_header = request(
        Some(&info.token),
        Operation::Update,
        "sys/wrapping/lookup",
        json!({}),
    );
    assert!(f.core.handle(by_header).await.is_ok());
    let nothing = request(None, Operation::Update, "sys/wrapping/lookup", json!({}));
    assert!(matches!(
        f.core.handle(nothing).await,
        Err(RequestError::Forbidden(m)) if m == "error validating wrapping token: token is empty"
    ));
    let root = request(
        None,
        Operation::Update,
        "sys/wrapping/lookup",
        json!({"token": "root"}),
    );
    assert!(invalid(f.core.handle(root).await));
    // Still unwrappable after the lookups.
    assert!(unwrap_as(&f, &info.token, json!({})).await.is_ok());
}

#[tokio::test]
async fn a_wrapping_token_may_only_unwrap() {
    let f = fixture().await;
    let info = wrapped(&f, Operation::Read, "sys/mounts", json!({}), 60).await;
    for (op, path) in [
        (Operation::Read, "sys/mounts"),
        (Operation::Read, "auth/token/lookup-self"),
        (Operation::Update, "sys/wrapping/rewrap"),
        (Operation::Update, "sys/wrapping/wrap"),
    ] {
        let req = request(Some(&info.token), op, path, json!({}));
        assert!(
            matches!(
                f.core.handle(req).await,
                Err(RequestError::PermissionDenied)
            ),
            "{path} was allowed"
        );
    }
    // Another token that is not a wrapping token is no wrapping token.
    assert!(invalid(unwrap_as(&f, "root", json!({})).await));
    let body = unwrap_as(&f, &info.token, json!({}))
        .await
        .unwrap()
        .raw
        .unwrap();
    assert!(body["data"]["cubbyhole/"].is_object());
}

#[tokio::test]
async fn rewrap_keeps_ttl_and_path_and_retires_the_old_token() {
    let f = fixture().await;
    let info = wrap_data(&f, json!({"k": "v"}), 120).await;
    let mut req = request(
        Some("root"),
        Operation::Update,
        "sys/wrapping/rewrap",
        json!({"token": info.token}),
    );
    req.wrap_ttl = Some(5);
    let new = f.core.handle(req).await.unwrap().wrap_info.unwrap();
    assert_eq!(
        (new.ttl, new.creation_path.as_str()),
        (120, "sys/wrapping/wrap")
    );
    assert_ne!(new.token, info.token);
    assert!(invalid(
        unwrap_as(&f, "root", json!({"token": info.token})).await
    ));
    let body = unwrap_as(&f, "root", json!({"token": new.token}))
        .await
        .unwrap();
    assert_eq!(body.raw.unwrap()["data"], json!({"k": "v"}));
}

#[tokio::test]
async fn token_answers_name_the_wrapped_accessor_and_empty_answers_stay_unwrapped() {
    let f = fixture().await;
    let info = wrapped(
        &f,
        Operation::Update,
        "auth/token/create",
        json!({"ttl": "1h"}),
        60,
    )
    .await;
    let body = unwrap_as(&f, &info.token, json!({}))
        .await
        .unwrap()
        .raw
        .unwrap();
    assert_eq!(body["auth"]["accessor"], info.wrapped_accessor.as_str());
    assert!(body["auth"]["client_token"].as_str().is_some());

    let mut write = request(
        Some("root"),
        Operation::Update,
        "cubbyhole/x",
        json!({"a": 1}),
    );
    write.wrap_ttl = Some(60);
    assert!(f.core.handle(write).await.unwrap().wrap_info.is_none());
    let unwrapped_wrap = request(
        Some("root"),
        Operation::Update,
        "sys/wrapping/wrap",
        json!({}),
    );
    assert!(matches!(
        f.core.handle(unwrapped_wrap).await,
        Err(RequestError::InvalidRequest(m)) if m == "endpoint requires response wrapping to be used"
    ));
}

#[tokio::test]
async fn the_builtin_policy_cannot_be_changed() {
    let f = fixture().await;
    let path = "sys/policies/acl/response-wrapping";
    let write = f
        .call(
            "root",
            Operation::Update,
            path,
            json!({"policy": "path \"x\" {}"}),
        )
        .await;
    assert!(matches!(write, Err(RequestError::InvalidRequest(_))));
    assert!(f
        .call("root", Operation::Delete, path, json!({}))
        .await
        .is_err());
}

#[tokio::test]
async fn policy_wrapping_ttl_bounds_apply_to_the_original_request() {
    let f = fixture().await;
    let policy = r#"path "cubbyhole/*" {
        capabilities = ["create", "read", "update"]
        max_wrapping_ttl = "5m"
    }"#;
    f.call(
        "root",
        Operation::Update,
        "sys/policies/acl/wrapped",
        json!({"policy": policy}),
    )
    .await
    .unwrap();
    let token = f
        .create_token("root", json!({"policies": ["wrapped"]}))
        .await;
    let read = |ttl: Option<u64>| {
        let mut req = request(Some(&token), Operation::Read, "cubbyhole/x", json!({}));
        req.wrap_ttl = ttl;
        f.core.handle(req)
    };
    assert!(matches!(
        read(None).await,
        Err(RequestError::PermissionDenied)
    ));
    assert!(matches!(
        read(Some(3600)).await,
        Err(RequestError::PermissionDenied)
    ));
    // Allowed by the policy, then a 404 from the engine (nothing stored there).
    assert!(matches!(read(Some(60)).await, Err(RequestError::NotFound)));
}

#[tokio::test]
async fn the_wrapping_token_reads_its_response_from_the_cubbyhole_once() {
    let f = fixture().await;
    let info = wrap_data(&f, json!({"k": "v"}), 60).await;
    let read = request(
        Some(&info.token),
        Operation::Read,
        "cubbyhole/response",
        json!({}),
    );
    let data = f.core.handle(read).await.unwrap().data.unwrap();
    let stored: Value = serde_json::from_str(data["response"].as_str().unwrap()).unwrap();
    assert_eq!(stored["data"], json!({"k": "v"}));
    assert!(matches!(
        unwrap_as(&f, &info.token, json!({})).await,
        Err(RequestError::PermissionDenied)
    ));
}
