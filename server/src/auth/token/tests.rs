//! Unit tests of CIDR-bound and batch tokens through the real pipeline (in-memory vault).

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::core::testutil::{fixture, Fixture};
use crate::core::{Operation, Request, RequestError, Response};

async fn call_from(
    f: &Fixture,
    token: &str,
    op: Operation,
    path: &str,
    data: Value,
    addr: &str,
) -> Result<Response, RequestError> {
    let mut req = Request::new(op, path)
        .with_data(data.as_object().cloned().unwrap_or_default())
        .with_token(token);
    req.remote_addr = addr.parse::<IpAddr>().ok();
    f.core.handle(req).await
}

fn auth_of(resp: Response) -> (String, crate::core::AuthInfo) {
    let auth = resp.auth.expect("an auth block");
    (auth.client_token.clone(), *auth)
}

fn data(resp: Response) -> Map<String, Value> {
    resp.data.unwrap_or_default()
}

fn invalid(result: Result<Response, RequestError>) -> String {
    match result {
        Err(RequestError::InvalidRequest(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cidr_bound_token_works_only_from_inside_its_blocks() {
    let f = fixture().await;
    let created = f
        .call(
            "root",
            Operation::Update,
            "auth/token/create",
            json!({"policies": ["default"], "bound_cidrs": ["10.0.0.0/8", "127.0.0.1/32"]}),
        )
        .await
        .expect("created");
    let (token, _) = auth_of(created);
    let lookup = |addr: &'static str| {
        call_from(
            &f,
            &token,
            Operation::Read,
            "auth/token/lookup-self",
            json!({}),
            addr,
        )
    };
    let shown = data(lookup("10.1.2.3").await.expect("inside 10.0.0.0/8"));
    assert_eq!(shown["bound_cidrs"], json!(["10.0.0.0/8", "127.0.0.1"]));
    assert!(lookup("127.0.0.1").await.is_ok());
    assert!(matches!(
        lookup("192.168.1.1").await,
        Err(RequestError::PermissionDenied)
    ));
    assert!(matches!(
        lookup("").await,
        Err(RequestError::PermissionDenied)
    ));
    let root_bound = f
        .call(
            "root",
            Operation::Update,
            "auth/token/create",
            json!({"policies": ["root"], "bound_cidrs": "10.0.0.0/8"}),
        )
        .await;
    assert!(invalid(root_bound).contains("root tokens cannot be bound"));
    // The root token itself is never bound: it works from anywhere.
    assert!(call_from(
        &f,
        "root",
        Operation::Read,
        "auth/token/lookup-self",
        json!({}),
        "8.8.8.8"
    )
    .await
    .is_ok());
}

#[tokio::test]
async fn token_roles_bind_their_tokens() {
    let f = fixture().await;
    f.call(
        "root",
        Operation::Update,
        "auth/token/roles/far",
        json!({"token_bound_cidrs": "10.0.0.0/8", "allowed_policies": "default"}),
    )
    .await
    .expect("role written");
    let role = data(
        f.call("root", Operation::Read, "auth/token/roles/far", json!({}))
            .await
            .expect("role read"),
    );
    assert_eq!(role["token_bound_cidrs"], json!(["10.0.0.0/8"]));
    let (token, _) = auth_of(
        f.call(
            "root",
            Operation::Update,
            "auth/token/create/far",
            json!({}),
        )
        .await
        .expect("created"),
    );
    let from = |addr: &'static str| {
        call_from(
            &f,
            &token,
            Operation::Read,
            "auth/token/lookup-self",
            json!({}),
            addr,
        )
    };
    assert!(from("10.0.0.1").await.is_ok());
    assert!(matches!(
        from("127.0.0.1").await,
        Err(RequestError::PermissionDenied)
    ));
}

#[tokio::test]
async fn batch_tokens_are_sealed_not_stored_and_cannot_be_renewed_or_revoked() {
    let f = fixture().await;
    let before = f.unsealed.tokens.accessors().await.expect("accessors");
    let (token, auth) = auth_of(
        f.call(
            "root",
            Operation::Update,
            "auth/token/create",
            json!({"type": "batch", "policies": ["default"], "ttl": "1h"}),
        )
        .await
        .expect("created"),
    );
    assert!(token.starts_with("b."), "{token}");
    assert_eq!(
        (
            auth.accessor.as_str(),
            auth.renewable,
            auth.token_type.as_str()
        ),
        ("", false, "batch")
    );
    assert_eq!(auth.lease_duration, 3600);
    assert_eq!(
        f.unsealed.tokens.accessors().await.expect("accessors"),
        before,
        "nothing stored"
    );
    let me = data(
        f.call(&token, Operation::Read, "auth/token/lookup-self", json!({}))
            .await
            .expect("lookup-self"),
    );
    assert_eq!(
        (me["type"].clone(), me["id"].clone()),
        (json!("batch"), json!(token))
    );
    let looked = data(
        f.call(
            "root",
            Operation::Update,
            "auth/token/lookup",
            json!({"token": token}),
        )
        .await
        .expect("lookup"),
    );
    assert_eq!(looked["policies"], json!(["default"]));
    let renew = f
        .call(
            "root",
            Operation::Update,
            "auth/token/renew",
            json!({"token": token}),
        )
        .await;
    assert_eq!(invalid(renew), "batch tokens cannot be renewed");
    let renew_self = f
        .call(
            &token,
            Operation::Update,
            "auth/token/renew-self",
            json!({}),
        )
        .await;
    assert_eq!(invalid(renew_self), "batch tokens cannot be renewed");
    let revoke = f
        .call(
            "root",
            Operation::Update,
            "auth/token/revoke",
            json!({"token": token}),
        )
        .await;
    assert_eq!(invalid(revoke), "batch tokens cannot be revoked");
    let revoke_self = f
        .call(
            &token,
            Operation::Update,
            "auth/token/revoke-self",
            json!({}),
        )
        .await;
    assert_eq!(invalid(revoke_self), "batch tokens cannot be revoked");
    let cubbyhole = f
        .call(&token, Operation::Update, "cubbyhole/x", json!({"a": "b"}))
        .await;
    assert!(invalid(cubbyhole).contains("only supported by 'service'"));
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(
        f.call(
            &tampered,
            Operation::Read,
            "auth/token/lookup-self",
            json!({})
        )
        .await,
        Err(RequestError::PermissionDenied)
    ));
}

#[tokio::test]
async fn batch_tokens_follow_openbaos_limits() {
    let f = fixture().await;
    let create = |body: Value| f.call("root", Operation::Update, "auth/token/create", body);
    for (body, expected) in [
        (
            json!({"type": "batch"}),
            "batch tokens cannot be root tokens",
        ),
        (
            json!({"type": "batch", "policies": ["default"], "period": "1h"}),
            "batch tokens cannot have \"period\" set",
        ),
        (
            json!({"type": "batch", "policies": ["default"], "num_uses": 2}),
            "batch tokens cannot have \"num_uses\" set",
        ),
        (json!({"type": "bogus"}), "invalid 'token_type' value"),
    ] {
        assert_eq!(invalid(create(body.clone()).await), expected, "{body}");
    }
    f.call(
        "root",
        Operation::Update,
        "sys/policies/acl/maker",
        json!({"policy": "path \"auth/token/create\" { capabilities = [\"update\"] }"}),
    )
    .await
    .expect("policy written");
    let (batch, _) = auth_of(
        create(json!({"type": "batch", "policies": ["maker"]}))
            .await
            .expect("created"),
    );
    let child = f
        .call(&batch, Operation::Update, "auth/token/create", json!({}))
        .await;
    assert_eq!(invalid(child), "batch tokens cannot create more tokens");
    let non_orphan_role = f
        .call(
            "root",
            Operation::Update,
            "auth/token/roles/b",
            json!({"token_type": "batch"}),
        )
        .await;
    assert!(invalid(non_orphan_role).contains("non-orphan"));
    f.call(
        "root",
        Operation::Update,
        "auth/token/roles/b",
        json!({"token_type": "batch", "orphan": true, "allowed_policies": "default"}),
    )
    .await
    .expect("orphan batch role");
    let (from_role, auth) = auth_of(
        f.call("root", Operation::Update, "auth/token/create/b", json!({}))
            .await
            .expect("created"),
    );
    assert!(from_role.starts_with("b.") && auth.orphan);
}

#[tokio::test]
async fn a_batch_child_dies_with_its_parent_and_its_leases_outlive_it() {
    let f = fixture().await;
    let (parent, _) = auth_of(
        f.call(
            "root",
            Operation::Update,
            "auth/token/create",
            json!({"policies": ["root"]}),
        )
        .await
        .expect("parent"),
    );
    f.call(
        "root",
        Operation::Update,
        "sys/policies/acl/dyn",
        json!({"policy": "path \"dyn/*\" { capabilities = [\"read\"] }"}),
    )
    .await
    .expect("policy written");
    let (batch, _) = auth_of(
        f.call(
            &parent,
            Operation::Update,
            "auth/token/create",
            json!({"type": "batch", "policies": ["dyn"]}),
        )
        .await
        .expect("batch child"),
    );
    let lease = f.issue(&batch, 60).await;
    f.call(
        &parent,
        Operation::Update,
        "auth/token/revoke-self",
        json!({}),
    )
    .await
    .expect("parent revoked");
    assert!(matches!(
        f.call(&batch, Operation::Read, "auth/token/lookup-self", json!({}))
            .await,
        Err(RequestError::PermissionDenied)
    ));
    assert!(f.lookup(&lease).await.is_ok(), "the lease ends by its TTL");
}

#[tokio::test]
async fn an_expired_batch_token_is_refused() {
    let f = fixture().await;
    let mut entry = crate::tokens::TokenEntry::new(
        String::new(),
        String::new(),
        vec!["default".into()],
        "auth/token/create",
    );
    entry.token_type = "batch".into();
    entry.expire_time = entry.creation_time.saturating_sub(1);
    let (token, _) = f.unsealed.tokens.seal_batch(entry.clone());
    let now = crate::core::now_unix();
    assert!(f
        .unsealed
        .tokens
        .lookup(&token, now)
        .await
        .expect("lookup")
        .is_none());
    entry.expire_time = now + 60;
    let (token, sealed) = f.unsealed.tokens.seal_batch(entry);
    let opened = f.unsealed.tokens.lookup(&token, now).await.expect("lookup");
    assert_eq!(opened.as_deref(), Some(&*sealed));
}

#[tokio::test]
async fn logins_issue_batch_and_cidr_bound_tokens() {
    let f = fixture().await;
    let root = |op, path: &'static str, body: Value| f.call("root", op, path, body);
    root(
        Operation::Update,
        "sys/auth/up",
        json!({"type": "userpass"}),
    )
    .await
    .expect("mounted");
    root(
        Operation::Update,
        "auth/up/users/b",
        json!({"password": "pw", "token_type": "batch", "token_bound_cidrs": "127.0.0.1"}),
    )
    .await
    .expect("user written");
    let login = |addr: &'static str| {
        call_from(
            &f,
            "",
            Operation::Update,
            "auth/up/login/b",
            json!({"password": "pw"}),
            addr,
        )
    };
    assert!(matches!(
        login("10.0.0.1").await,
        Err(RequestError::PermissionDenied)
    ));
    let (token, auth) = auth_of(login("127.0.0.1").await.expect("logged in"));
    assert!(token.starts_with("b.") && auth.token_type == "batch" && !auth.renewable);
    let me = |addr: &'static str| {
        call_from(
            &f,
            &token,
            Operation::Read,
            "auth/token/lookup-self",
            json!({}),
            addr,
        )
    };
    assert_eq!(
        data(me("127.0.0.1").await.expect("usable"))["bound_cidrs"],
        json!(["127.0.0.1"])
    );
    assert!(matches!(
        me("127.0.0.2").await,
        Err(RequestError::PermissionDenied)
    ));
}
