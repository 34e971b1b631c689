//! Unit tests of the kubernetes engine on an in-memory barrier: config and role
//! validation and read-back, and logins verified locally with `pem_keys` (RS256 and ES256,
//! projected and legacy claims, bindings with globs, audience, issuer, expiry and refused
//! token shapes). TokenReview logins are tested end to end (`tests/auth_kubernetes.rs`).

use serde_json::{json, Value};

use crate::auth::jwt_verify::now;
use crate::auth::jwt_verify::testkeys::{hs256, unsigned, TestSigner};
use crate::auth::testutil::{auth_mount, login};
use crate::core::{LoginGrant, Operation, RequestError};
use crate::engines::kv::testutil::{data_of, TestMount};

fn projected(ns: &str, name: &str) -> Value {
    json!({
        "iss": "https://kubernetes.default.svc", "aud": ["https://kubernetes.default.svc"],
        "exp": now() + 600, "iat": now(), "nbf": now(),
        "sub": format!("system:serviceaccount:{ns}:{name}"),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": "uid-1"},
                          "pod": {"name": "p", "uid": "pod-uid"}},
    })
}

fn legacy(ns: &str, name: &str) -> Value {
    json!({
        "iss": "kubernetes/serviceaccount",
        "sub": format!("system:serviceaccount:{ns}:{name}"),
        "kubernetes.io/serviceaccount/namespace": ns,
        "kubernetes.io/serviceaccount/secret.name": format!("{name}-token-abcde"),
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": "uid-legacy",
    })
}

/// A mount verifying with `signer`'s key, and a role `app` for `app-*` in `prod`.
async fn local_mount(signer: &TestSigner, config: Value, role: Value) -> TestMount {
    let m = auth_mount("kubernetes").await;
    let mut body = json!({"kubernetes_host": "https://k8s.invalid:6443",
                          "pem_keys": [signer.public_pem()]});
    merge(&mut body, config);
    m.ok(Operation::Update, "config", body).await;
    let mut role_body = json!({"bound_service_account_names": "app-*",
        "bound_service_account_namespaces": ["prod"], "token_policies": "k8s-app",
        "token_ttl": "10m"});
    merge(&mut role_body, role);
    m.ok(Operation::Update, "role/app", role_body).await;
    m
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

async fn try_login(m: &TestMount, jwt: &str) -> Result<LoginGrant, RequestError> {
    login(m, "login", json!({"role": "app", "jwt": jwt}), None).await
}

fn forbidden(result: Result<LoginGrant, RequestError>) -> String {
    match result {
        Err(RequestError::Forbidden(message)) => message,
        other => panic!("expected a 403, got {other:?}"),
    }
}

fn invalid(result: Result<LoginGrant, RequestError>) -> String {
    match result {
        Err(RequestError::InvalidRequest(message)) => message,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn config_reads_back_without_the_reviewer_token() {
    let m = auth_mount("kubernetes").await;
    assert!(matches!(
        m.call(Operation::Read, "config", json!({})).await,
        Err(RequestError::NotFound)
    ));
    m.ok(
        Operation::Update,
        "config",
        json!({"kubernetes_host": "https://10.0.0.1:443/",
        "token_reviewer_jwt": "secret-reviewer"}),
    )
    .await;
    let read = data_of(&m.ok(Operation::Read, "config", json!({})).await);
    assert_eq!(read["kubernetes_host"], "https://10.0.0.1:443");
    assert_eq!(read["token_reviewer_jwt_set"], true);
    assert_eq!(read["disable_iss_validation"], true);
    assert_eq!(read["disable_local_ca_jwt"], false);
    assert!(!read.to_string().contains("secret-reviewer"));
    for (body, expected) in [
        (json!({}), "no host provided"),
        (json!({"kubernetes_host": "not a url"}), "kubernetes_host"),
        (
            json!({"kubernetes_host": "https://h", "kubernetes_ca_cert": "junk"}),
            "kubernetes_ca_cert",
        ),
        (
            json!({"kubernetes_host": "https://h", "pem_keys": ["junk"]}),
            "pem_keys[0]",
        ),
        (
            json!({"kubernetes_host": "https://h", "bogus": 1}),
            "unknown parameters: bogus",
        ),
    ] {
        let message = m.invalid(Operation::Update, "config", body.clone()).await;
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn roles_validate_and_read_back() {
    let m = auth_mount("kubernetes").await;
    m.ok(
        Operation::Update,
        "role/web",
        json!({"bound_service_account_names": "web",
        "bound_service_account_namespaces": "a,b", "audience": "vault",
        "bound_service_account_namespace_selector": "{\"matchLabels\":{\"team\":\"x\"}}",
        "token_policies": "p"}),
    )
    .await;
    let read = data_of(&m.ok(Operation::Read, "role/web", json!({})).await);
    assert_eq!(read["bound_service_account_namespaces"], json!(["a", "b"]));
    assert_eq!(read["alias_name_source"], "serviceaccount_uid");
    assert_eq!(read["audience"], "vault");
    assert_eq!(read["token_policies"], json!(["p"]));
    assert_eq!(
        data_of(&m.ok(Operation::List, "role/", json!({})).await),
        json!({"keys": ["web"]})
    );
    for (body, expected) in [
        (
            json!({"bound_service_account_namespaces": "a"}),
            "\"bound_service_account_names\" can not be empty",
        ),
        (
            json!({"bound_service_account_names": "a"}),
            "\"bound_service_account_namespaces\" can not be empty",
        ),
        (
            json!({"bound_service_account_names": "a,*", "bound_service_account_namespaces": "a"}),
            "can not mix",
        ),
        (
            json!({"bound_service_account_names": "a", "bound_service_account_namespaces": "a",
                "alias_name_source": "pod"}),
            "alias_name_source",
        ),
        (
            json!({"bound_service_account_names": "a", "bound_service_account_namespaces": "a",
                "bound_sa_names": "x", "token_polices": "p"}),
            "unknown parameters: bound_sa_names, token_polices",
        ),
    ] {
        let message = m.invalid(Operation::Update, "role/new", body.clone()).await;
        assert!(message.contains(expected), "{body}: {message}");
    }
    m.ok(Operation::Delete, "role/web", json!({})).await;
    assert!(matches!(
        m.call(Operation::Read, "role/web", json!({})).await,
        Err(RequestError::NotFound)
    ));
}

#[tokio::test]
async fn local_keys_accept_projected_and_legacy_tokens() {
    for signer in [TestSigner::rsa(), TestSigner::ec()] {
        let m = local_mount(&signer, json!({}), json!({})).await;
        let grant = try_login(&m, &signer.sign(Some("k"), &projected("prod", "app-web")))
            .await
            .expect("a projected token logs in");
        assert_eq!(grant.policies, vec!["k8s-app".to_string()]);
        assert_eq!(grant.ttl, 600);
        assert_eq!(grant.display_name, "prod-app-web");
        assert_eq!(
            Value::Object(grant.metadata),
            json!({"role": "app", "service_account_name": "app-web",
                   "service_account_namespace": "prod", "service_account_uid": "uid-1",
                   "service_account_secret_name": "", "alias_name": "uid-1"})
        );
        let grant = try_login(&m, &signer.sign(None, &legacy("prod", "app-api")))
            .await
            .expect("a legacy token logs in");
        assert_eq!(
            grant.metadata["service_account_secret_name"],
            "app-api-token-abcde"
        );
        assert_eq!(grant.metadata["service_account_uid"], "uid-legacy");
    }
}

#[tokio::test]
async fn bindings_audience_issuer_and_expiry_are_enforced() {
    let signer = TestSigner::ec();
    let m = local_mount(
        &signer,
        json!({"disable_iss_validation": false,
        "issuer": "https://kubernetes.default.svc"}),
        json!({"audience": "vault",
        "alias_name_source": "serviceaccount_name"}),
    )
    .await;
    let sign = |claims: &Value| signer.sign(None, claims);
    let mut good = projected("prod", "app-web");
    good["aud"] = json!(["vault"]);
    let grant = try_login(&m, &sign(&good)).await.expect("valid");
    assert_eq!(grant.metadata["alias_name"], "prod/app-web");
    let cases = [
        (projected("dev", "app-web"), "namespace not authorized"),
        (
            projected("prod", "web"),
            "service account name not authorized",
        ),
        (
            projected("prod", "app-web"),
            "permission denied: invalid aud claim",
        ),
    ];
    for (claims, expected) in cases {
        assert_eq!(
            forbidden(try_login(&m, &sign(&claims)).await),
            expected,
            "{claims}"
        );
    }
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil");
    assert!(forbidden(try_login(&m, &sign(&wrong_issuer)).await).contains("iss"));
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    assert!(forbidden(try_login(&m, &sign(&expired)).await).contains("expired"));
    let stranger = TestSigner::ec().sign(None, &good);
    assert!(forbidden(try_login(&m, &stranger).await).contains("signature"));
}

#[tokio::test]
async fn refused_token_shapes_never_reach_a_key() {
    let signer = TestSigner::rsa();
    let m = local_mount(&signer, json!({}), json!({})).await;
    let claims = projected("prod", "app-web");
    assert!(invalid(try_login(&m, &unsigned(&claims)).await).contains("alg \"none\""));
    let confused = hs256(signer.public_pem().as_bytes(), &claims);
    assert!(invalid(try_login(&m, &confused).await).contains("HS256"));
    assert!(invalid(try_login(&m, "not.a.jwt").await).contains("malformed"));
    assert!(invalid(try_login(&m, &"x".repeat(17 * 1024)).await).contains("larger"));
    assert!(
        invalid(try_login(&m, &signer.sign(None, &json!({"sub": "x"}))).await)
            .contains("not a Kubernetes service account token")
    );
    assert_eq!(
        invalid(login(&m, "login", json!({"jwt": "x"}), None).await),
        "missing role"
    );
    assert_eq!(
        invalid(login(&m, "login", json!({"role": "app"}), None).await),
        "missing jwt"
    );
    assert_eq!(
        invalid(login(&m, "login", json!({"role": "nope", "jwt": "x"}), None).await),
        "invalid role name \"nope\""
    );
}
