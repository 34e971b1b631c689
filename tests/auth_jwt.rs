//! The `jwt` auth method end to end, with GitHub-Actions-shaped tokens the tests sign
//! (RS256 and ES256) and a tiny local HTTP server of the test's own serving the JWKS and an
//! OIDC discovery document, counting fetches: key sets are cached, re-fetched once when a
//! token names a new `kid` (rotation), and made-up `kid`s do not cause a fetch each. Bad
//! input (expired, wrong audience, wrong issuer, unbound claim, unknown kid, malformed,
//! `alg: none`) is refused with a 400 and creates no token. The example policy
//! `policies/ci-deployer.hcl` is what the CI role grants; the real `bao` CLI configures and
//! uses the method.

mod common;
mod jwt_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use common::{Api, TestServer};
use jwt_support::{now, unsigned, Signer};
use serde_json::{json, Value};

/// The fake identity provider: its JWKS and discovery document, with fetch counters.
#[derive(Default)]
struct Provider {
    keys: Mutex<Vec<Value>>,
    issuer: Mutex<String>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

async fn jwks(State(p): State<Arc<Provider>>) -> String {
    p.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    json!({ "keys": *p.keys.lock().unwrap() }).to_string()
}

async fn discovery(State(p): State<Arc<Provider>>) -> String {
    p.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = p.issuer.lock().unwrap().clone();
    json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks"),
           "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
    .to_string()
}

async fn provider() -> (Arc<Provider>, String) {
    let p = Arc::new(Provider::default());
    let app = axum::Router::new()
        .route("/jwks", get(jwks))
        .route("/.well-known/openid-configuration", get(discovery))
        .with_state(p.clone());
    let url = jwt_support::serve(app, None).await;
    *p.issuer.lock().unwrap() = url.clone();
    (p, url)
}

const AUDIENCE: &str = "https://github.com/acme";

fn github(issuer: &str, repository: &str, git_ref: &str) -> Value {
    json!({
        "iss": issuer, "aud": AUDIENCE, "sub": format!("repo:{repository}:ref:{git_ref}"),
        "repository": repository, "repository_owner": "acme", "ref": git_ref,
        "job_workflow_ref": format!("{repository}/.github/workflows/deploy.yml@{git_ref}"),
        "event_name": "push", "run_id": "1234", "exp": now() + 300, "iat": now(), "nbf": now(),
    })
}

/// A server with `auth/jwt/`, KV v2 at `secret/` holding `secret/ci/deploy-key`, and the
/// example policy `ci-deployer`.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    let root = &server.api;
    assert_eq!(
        root.post("sys/auth/jwt", json!({"type": "jwt"})).await.0,
        204
    );
    let (status, body) = root
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = root
        .post(
            "secret/data/ci/deploy-key",
            json!({"data": {"key": "ssh-ed25519 AAAA"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    root.write_policy("ci-deployer", include_str!("../policies/ci-deployer.hcl"))
        .await;
    server
}

async fn deploy_role(api: &Api) {
    let (status, body) = api
        .post(
            "auth/jwt/role/deploy",
            json!({
            "role_type": "jwt", "user_claim": "repository", "bound_audiences": AUDIENCE,
            "bound_claims_type": "glob",
            "bound_claims": {"repository": "acme/app", "ref": ["refs/heads/main", "refs/tags/v*"],
                             "job_workflow_ref": "acme/app/.github/workflows/*@refs/*"},
            "claim_mappings": {"repository": "repository", "ref": "ref", "run_id": "run_id"},
            "token_policies": "ci-deployer", "token_ttl": "10m"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

async fn login(api: &Api, jwt: &str) -> (u16, Value) {
    api.with_token("")
        .post("auth/jwt/login", json!({"role": "deploy", "jwt": jwt}))
        .await
}

async fn token_count(api: &Api) -> usize {
    let (_, body) = api.list("auth/token/accessors").await;
    body["data"]["keys"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn jwks_is_cached_refetched_on_rotation_and_bad_tokens_are_refused() {
    let (provider, issuer) = provider().await;
    let (first, second) = (Signer::rsa(), Signer::ec());
    provider.keys.lock().unwrap().push(first.jwk("key-1"));
    let server = server().await;
    let api = &server.api;
    let (status, body) = api
        .post(
            "auth/jwt/config",
            json!({"jwks_url": format!("{issuer}/jwks"), "bound_issuer": issuer}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    deploy_role(api).await;

    let claims = github(&issuer, "acme/app", "refs/heads/main");
    for _ in 0..3 {
        let (status, body) = login(api, &first.sign(Some("key-1"), &claims)).await;
        assert_eq!(status, 200, "{body}");
        let auth = &body["auth"];
        assert_eq!(auth["policies"], json!(["ci-deployer", "default"]));
        assert_eq!(
            auth["metadata"],
            json!({"repository": "acme/app", "ref": "refs/heads/main",
                                            "run_id": "1234", "role": "deploy"})
        );
        let ci = api.with_token(auth["client_token"].as_str().unwrap());
        assert_eq!(ci.get("secret/data/ci/deploy-key").await.0, 200);
        assert_eq!(ci.get("secret/data/ci/prod/root").await.0, 403);
        assert_eq!(
            ci.get("auth/token/lookup-self").await.1["data"]["display_name"],
            "jwt-acme/app"
        );
    }
    assert_eq!(
        provider.jwks_fetches.load(Ordering::SeqCst),
        1,
        "the JWKS is cached"
    );

    // Rotation: the provider publishes a new key; a token naming it forces one re-fetch.
    provider.keys.lock().unwrap().push(second.jwk("key-2"));
    let tag = github(&issuer, "acme/app", "refs/tags/v1.2.0");
    let (status, body) = login(api, &second.sign(Some("key-2"), &tag)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 2);

    let before = token_count(api).await;
    for i in 0..10 {
        let (status, body) = login(api, &first.sign(Some(&format!("made-up-{i}")), &claims)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"][0]
            .as_str()
            .unwrap()
            .contains("no key with the token's key ID"));
    }
    assert!(
        provider.jwks_fetches.load(Ordering::SeqCst) <= 3,
        "unknown key IDs hammered the JWKS host"
    );

    let with = |key: &str, value: Value| {
        let mut c = claims.clone();
        c[key] = value;
        first.sign(Some("key-1"), &c)
    };
    let cases = [
        (with("exp", json!(now() - 3600)), "expired"),
        (
            with("aud", json!("https://github.com/evil")),
            "invalid audience",
        ),
        (with("iss", json!("https://evil.example")), "invalid issuer"),
        (
            with("repository", json!("acme/other")),
            "claim \"repository\" does not match",
        ),
        (
            with("ref", json!("refs/heads/feature")),
            "claim \"ref\" does not match",
        ),
        (
            Signer::ec().sign(Some("key-2"), &claims),
            "failed to verify the JWT signature",
        ),
        (unsigned(&claims), "alg \"none\""),
        ("e30.e30".to_string(), "malformed"),
    ];
    for (jwt, expected) in cases {
        let (status, body) = login(api, &jwt).await;
        assert_eq!(status, 400, "{expected}: {body}");
        assert!(
            body["errors"][0].as_str().unwrap().contains(expected),
            "{expected}: {body}"
        );
    }
    assert_eq!(
        token_count(api).await,
        before,
        "refused logins created tokens"
    );
}

#[tokio::test]
async fn oidc_discovery_finds_the_jwks() {
    let (provider, issuer) = provider().await;
    let signer = Signer::ec();
    provider.keys.lock().unwrap().push(signer.jwk("k"));
    let server = server().await;
    let api = &server.api;
    let (status, body) = api
        .post(
            "auth/jwt/config",
            json!({"oidc_discovery_url": issuer, "bound_issuer": issuer,
                                        "default_role": "deploy"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    deploy_role(api).await;
    let jwt = signer.sign(Some("k"), &github(&issuer, "acme/app", "refs/heads/main"));
    let (status, body) = api
        .with_token("")
        .post("auth/jwt/login", json!({"jwt": jwt}))
        .await;
    assert_eq!(status, 200, "default_role is used: {body}");
    assert_eq!(provider.discovery_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 1);
    let (status, body) = api.post("auth/jwt/config", json!({})).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("exactly one of"),
        "{body}"
    );
    let (status, body) = api
        .post(
            "auth/jwt/role/web",
            json!({"role_type": "oidc", "user_claim": "sub", "bound_subject": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("not supported"),
        "{body}"
    );
}

// Multi-threaded: `bao` runs as a blocking child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bao_cli_configures_and_uses_jwt_auth() {
    let server = server().await;
    let token = server.api.token.clone();
    let signer = Signer::rsa();
    let dir = server.data_dir().to_path_buf();
    std::fs::write(dir.join("key.pem"), signer.public_pem()).unwrap();
    std::fs::write(
        dir.join("claims.json"),
        json!({"repository": "acme/app"}).to_string(),
    )
    .unwrap();
    let issuer = "https://token.actions.githubusercontent.com";
    let key_arg = format!("jwt_validation_pubkeys=@{}", dir.join("key.pem").display());
    let claims_arg = format!("bound_claims=@{}", dir.join("claims.json").display());
    let issuer_arg = format!("bound_issuer={issuer}");
    let audience_arg = format!("bound_audiences={AUDIENCE}");
    let steps: [&[&str]; 3] = [
        &["auth", "enable", "-path=gha", "jwt"],
        &["write", "auth/gha/config", &key_arg, &issuer_arg],
        &[
            "write",
            "auth/gha/role/deploy",
            "role_type=jwt",
            "user_claim=repository",
            &audience_arg,
            &claims_arg,
            "token_policies=ci-deployer",
        ],
    ];
    for args in steps {
        let Some((ok, out)) = server.bao(&token, args) else {
            return;
        };
        assert!(ok, "bao {args:?}: {out}");
    }
    let jwt = format!(
        "jwt={}",
        signer.sign(None, &github(issuer, "acme/app", "refs/heads/main"))
    );
    let Some((ok, out)) = server.bao(
        "",
        &[
            "write",
            "-format=json",
            "auth/gha/login",
            "role=deploy",
            &jwt,
        ],
    ) else {
        return;
    };
    assert!(ok, "{out}");
    let login: Value = serde_json::from_str(&out).expect("JSON from bao");
    let ci_token = login["auth"]["client_token"].as_str().unwrap();
    let Some((ok, out)) = server.bao(
        ci_token,
        &["kv", "get", "-field=key", "secret/ci/deploy-key"],
    ) else {
        return;
    };
    assert!(ok && out.trim() == "ssh-ed25519 AAAA", "{out}");
    let other = format!(
        "jwt={}",
        signer.sign(None, &github(issuer, "acme/other", "refs/heads/main"))
    );
    let Some((ok, out)) = server.bao("", &["write", "auth/gha/login", "role=deploy", &other])
    else {
        return;
    };
    assert!(!ok && out.contains("does not match"), "{out}");

    // The cofre CLI logs in the same way (`jwt=-` reads the token from stdin).
    let mut child = server
        .cofre("")
        .args([
            "login",
            "-method=jwt",
            "-path=gha",
            "role=deploy",
            "jwt=-",
            "-format=json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let token = jwt.trim_start_matches("jwt=");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(token.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert!(printed["auth"]["client_token"].is_string(), "{printed}");
    let out = server
        .cofre("")
        .args(["kv", "get", "-field=key", "secret/ci/deploy-key"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ssh-ed25519 AAAA");
}
