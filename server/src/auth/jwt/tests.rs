//! Unit tests of the jwt engine on an in-memory barrier with static keys: config and role
//! validation, GitHub-Actions-shaped logins (RS256 and ES256) with bound claims, globs,
//! claim mappings and leeways, and every refusal. JWKS fetching and caching are tested end
//! to end (`tests/auth_jwt.rs`).

use serde_json::{json, Value};

use crate::auth::jwt_verify::now;
use crate::auth::jwt_verify::testkeys::{unsigned, TestSigner};
use crate::auth::testutil::{auth_mount, login};
use crate::core::{LoginGrant, Operation, RequestError};
use crate::engines::kv::testutil::{data_of, TestMount};

const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn github(repository: &str, git_ref: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": "https://github.com/acme", "sub": format!("repo:{repository}:ref:{git_ref}"),
        "repository": repository, "ref": git_ref, "repository_owner": "acme", "run_id": 42,
        "job_workflow_ref": format!("{repository}/.github/workflows/deploy.yml@{git_ref}"),
        "exp": now() + 300, "iat": now(), "nbf": now(),
    })
}

async fn mount(signer: &TestSigner, role: Value) -> TestMount {
    let m = auth_mount("jwt").await;
    m.ok(
        Operation::Update,
        "config",
        json!({"jwt_validation_pubkeys": [signer.public_pem()],
        "bound_issuer": ISSUER, "default_role": "deploy"}),
    )
    .await;
    let mut body = json!({"role_type": "jwt", "user_claim": "repository",
        "bound_audiences": ["https://github.com/acme"],
        "bound_claims": {"repository": "acme/app", "ref": ["refs/heads/main", "refs/tags/v1"]},
        "claim_mappings": {"repository": "repository", "ref": "ref", "run_id": "run"},
        "token_policies": "ci-deployer", "token_ttl": "5m"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), role) {
        body.extend(extra);
    }
    m.ok(Operation::Update, "role/deploy", body).await;
    m
}

async fn try_login(m: &TestMount, jwt: &str) -> Result<LoginGrant, RequestError> {
    login(m, "login", json!({"role": "deploy", "jwt": jwt}), None).await
}

fn invalid(result: Result<LoginGrant, RequestError>) -> String {
    match result {
        Err(RequestError::InvalidRequest(message)) => message,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn config_needs_exactly_one_key_source() {
    let m = auth_mount("jwt").await;
    let pem = TestSigner::ec().public_pem();
    for (body, expected) in [
        (json!({}), "exactly one of"),
        (
            json!({"jwks_url": "https://x/jwks", "jwt_validation_pubkeys": [pem]}),
            "exactly one of",
        ),
        (json!({"jwks_url": "ftp://x"}), "https://"),
        (
            json!({"jwt_validation_pubkeys": ["junk"]}),
            "jwt_validation_pubkeys[0]",
        ),
        (
            json!({"jwks_url": "https://x", "jwks_ca_pem": "junk"}),
            "jwks_ca_pem",
        ),
        (
            json!({"jwks_url": "https://x", "jwt_supported_algs": "HS256"}),
            "jwt_supported_algs",
        ),
        (
            json!({"jwks_url": "https://x", "oidc_client_id": "c"}),
            "unknown parameters: oidc_client_id",
        ),
    ] {
        let message = m.invalid(Operation::Update, "config", body.clone()).await;
        assert!(message.contains(expected), "{body}: {message}");
    }
    m.ok(
        Operation::Update,
        "config",
        json!({"oidc_discovery_url": "https://issuer/",
        "bound_issuer": "https://issuer"}),
    )
    .await;
    let read = data_of(&m.ok(Operation::Read, "config", json!({})).await);
    assert_eq!(read["oidc_discovery_url"], "https://issuer");
    assert_eq!(read["jwks_url"], "");
}

#[tokio::test]
async fn roles_validate_and_read_back_with_vaults_defaults() {
    let m = mount(&TestSigner::ec(), json!({})).await;
    let read = data_of(&m.ok(Operation::Read, "role/deploy", json!({})).await);
    assert_eq!(read["role_type"], "jwt");
    assert_eq!(read["bound_claims_type"], "string");
    assert_eq!(
        (
            read["clock_skew_leeway"].clone(),
            read["expiration_leeway"].clone()
        ),
        (json!(60), json!(150))
    );
    assert_eq!(read["claim_mappings"]["run_id"], "run");
    let base = json!({"user_claim": "sub", "bound_subject": "x"});
    for (extra, expected) in [
        (json!({"role_type": "oidc"}), "not supported"),
        (json!({"user_claim": ""}), "a user claim must be defined"),
        (
            json!({"bound_subject": ""}),
            "at least one bound constraint",
        ),
        (json!({"bound_claims_type": "regex"}), "bound_claims_type"),
        (
            json!({"bound_claims": {"a": {"b": 1}}}),
            "bound_claims[\"a\"]",
        ),
        (
            json!({"claim_mappings": {"a": "x", "b": "x"}}),
            "more than once",
        ),
        (
            json!({"bound_claim": {"a": "b"}}),
            "unknown parameters: bound_claim",
        ),
    ] {
        let mut body = base.clone();
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let message = m.invalid(Operation::Update, "role/new", body.clone()).await;
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn github_actions_tokens_log_in_with_mapped_metadata() {
    for signer in [TestSigner::rsa(), TestSigner::ec()] {
        let m = mount(&signer, json!({})).await;
        let grant = try_login(
            &m,
            &signer.sign(None, &github("acme/app", "refs/heads/main")),
        )
        .await
        .expect("a bound token logs in");
        assert_eq!(grant.policies, vec!["ci-deployer".to_string()]);
        assert_eq!(grant.display_name, "acme/app");
        assert_eq!(grant.ttl, 300);
        assert_eq!(
            Value::Object(grant.metadata),
            json!({"repository": "acme/app", "ref": "refs/heads/main", "run": "42", "role": "deploy"})
        );
        let by_default = login(
            &m,
            "login",
            json!({"jwt": signer.sign(None, &github("acme/app", "refs/tags/v1"))}),
            None,
        )
        .await;
        assert!(by_default.is_ok(), "default_role is used: {by_default:?}");
    }
}

#[tokio::test]
async fn every_binding_is_enforced() {
    let signer = TestSigner::ec();
    let m = mount(&signer, json!({})).await;
    let good = github("acme/app", "refs/heads/main");
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        signer.sign(None, &claims)
    };
    let cases = [
        (with("exp", json!(now() - 3600)), "expired"),
        (with("nbf", json!(now() + 3600)), "not valid yet"),
        (
            with("aud", json!("https://github.com/evil")),
            "invalid audience",
        ),
        (with("iss", json!("https://evil")), "invalid issuer"),
        (
            with("ref", json!("refs/heads/feature")),
            "claim \"ref\" does not match",
        ),
        (
            with("repository", json!("acme/other")),
            "claim \"repository\" does not match",
        ),
        (with("exp", Value::Null), "no exp claim"),
        (
            TestSigner::ec().sign(None, &good),
            "failed to verify the JWT signature",
        ),
        (unsigned(&good), "alg \"none\""),
        ("a.b".to_string(), "malformed"),
    ];
    for (jwt, expected) in cases {
        let message = invalid(try_login(&m, &jwt).await);
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let mut unbound = good.clone();
    unbound.as_object_mut().map(|c| c.remove("ref"));
    assert!(invalid(try_login(&m, &signer.sign(None, &unbound)).await)
        .contains("claim \"ref\" is missing"));
    // Within the expiration leeway (150 s by default) a just-expired token still passes.
    assert!(try_login(&m, &with("exp", json!(now() - 30))).await.is_ok());
}

#[tokio::test]
async fn glob_claims_subject_and_audience_rules() {
    let signer = TestSigner::rsa();
    let m = mount(
        &signer,
        json!({"bound_claims_type": "glob",
        "bound_claims": {"job_workflow_ref": "acme/app/.github/workflows/*@refs/heads/main"},
        "bound_subject": "repo:acme/app:ref:refs/heads/main", "expiration_leeway": -1}),
    )
    .await;
    assert!(try_login(
        &m,
        &signer.sign(None, &github("acme/app", "refs/heads/main"))
    )
    .await
    .is_ok());
    let message = invalid(
        try_login(
            &m,
            &signer.sign(None, &github("acme/app", "refs/heads/dev")),
        )
        .await,
    );
    assert!(message.contains("sub claim does not match"), "{message}");
    let mut no_leeway = github("acme/app", "refs/heads/main");
    no_leeway["exp"] = json!(now() - 90);
    assert!(invalid(try_login(&m, &signer.sign(None, &no_leeway)).await).contains("expired"));
    // Vault's rule: a token with `aud` needs a role with bound_audiences.
    m.ok(
        Operation::Update,
        "role/open",
        json!({"user_claim": "sub",
        "bound_subject": "repo:acme/app:ref:refs/heads/main"}),
    )
    .await;
    let result = login(
        &m,
        "login",
        json!({"role": "open",
        "jwt": signer.sign(None, &github("acme/app", "refs/heads/main"))}),
        None,
    )
    .await;
    assert!(invalid(result).contains("no audiences bound to the role"));
    let result = login(&m, "login", json!({"role": "ghost", "jwt": "x"}), None).await;
    assert_eq!(invalid(result), "role \"ghost\" could not be found");
}
