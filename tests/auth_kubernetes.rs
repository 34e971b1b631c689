//! The `kubernetes` auth method end to end. No Kubernetes API server can run here, so the
//! tests run a small TokenReview server of their own: it answers
//! `POST /apis/authentication.k8s.io/v1/tokenreviews` over TLS (a CA and server
//! certificate made with openssl at test time), knows which service-account JWTs it
//! "issued" (real RS256 and ES256 tokens with projected or legacy claims, signed by the
//! tests), checks the reviewer's bearer token, can refuse reviews with 401/403, and counts
//! its calls. Covered: projected and legacy logins, name/namespace bindings with globs,
//! audience, expiry, issuer, `alg: none`, HS256 and malformed tokens, an unauthorized
//! reviewer (actionable 403), a wrong CA (clear TLS error), an unreachable host, local
//! `pem_keys` verification with no TokenReview call, the pod's service-account directory
//! (`COFRE_K8S_SA_DIR`, token rotation picked up), the client's JWT as reviewer, the
//! example policy `policies/k8s-app.hcl`, and the real `bao` CLI.

mod common;
mod jwt_support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{Api, TestServer};
use jwt_support::{hs256, now, unsigned, Signer};
use serde_json::{json, Value};

/// A service account the fake API server vouches for.
#[derive(Clone)]
struct Account {
    namespace: String,
    name: String,
    uid: String,
    audiences: Vec<String>,
}

/// The fake Kubernetes API's state.
#[derive(Default)]
struct FakeApi {
    calls: AtomicUsize,
    issued: Mutex<HashMap<String, Account>>,
    /// The bearer token a review must carry (None: any).
    reviewer: Mutex<Option<String>>,
    /// Refuse every review with this status (0: answer normally).
    refuse: AtomicU16,
}

async fn token_review(
    State(api): State<Arc<FakeApi>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    api.calls.fetch_add(1, Ordering::SeqCst);
    let refuse = api.refuse.load(Ordering::SeqCst);
    if refuse != 0 {
        let status = StatusCode::from_u16(refuse).expect("a status");
        return (
            status,
            json!({"kind": "Status", "code": refuse}).to_string(),
        );
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let expected = api.reviewer.lock().unwrap().clone();
    if expected.is_some_and(|e| e != bearer) || bearer.is_empty() {
        return (StatusCode::UNAUTHORIZED, "{}".into());
    }
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(review["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(review["kind"], "TokenReview");
    let token = review["spec"]["token"].as_str().unwrap_or_default();
    let wanted: Vec<String> = review["spec"]["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let account = api.issued.lock().unwrap().get(token).cloned();
    let status = match account {
        Some(sa) if wanted.is_empty() || wanted.iter().any(|a| sa.audiences.contains(a)) => {
            let audiences = if wanted.is_empty() {
                sa.audiences.clone()
            } else {
                wanted
            };
            json!({"authenticated": true, "audiences": audiences, "user": {
                "username": format!("system:serviceaccount:{}:{}", sa.namespace, sa.name),
                "uid": sa.uid, "groups": ["system:serviceaccounts"]}})
        }
        _ => json!({"authenticated": false, "error": "invalid bearer token"}),
    };
    let answer = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                        "status": status});
    (StatusCode::OK, answer.to_string())
}

/// A Cofre server with `auth/kubernetes/`, KV v2 at `secret/` holding
/// `secret/k8s/app/db`, the example policy `k8s-app`, and a fake API server over TLS.
struct Cluster {
    server: TestServer,
    api: Arc<FakeApi>,
    url: String,
    certs: PathBuf,
}

const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

impl Cluster {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let root = &server.api;
        let (status, body) = root
            .post("sys/auth/kubernetes", json!({"type": "kubernetes"}))
            .await;
        assert_eq!(status, 204, "{body}");
        let (status, body) = root
            .post(
                "sys/mounts/secret",
                json!({"type": "kv", "options": {"version": "2"}}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let (status, body) = root
            .post(
                "secret/data/k8s/app/db",
                json!({"data": {"password": "s3cret"}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        root.write_policy("k8s-app", include_str!("../policies/k8s-app.hcl"))
            .await;
        let certs = server.data_dir().join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        jwt_support::make_certificate(&certs, "k8s");
        jwt_support::make_certificate(&certs, "other");
        let api = Arc::new(FakeApi::default());
        let app = axum::Router::new()
            .route(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                post(token_review),
            )
            .with_state(api.clone());
        let url = jwt_support::serve(app, Some((&certs, "k8s"))).await;
        Cluster {
            server,
            api,
            url,
            certs,
        }
    }

    fn root(&self) -> &Api {
        &self.server.api
    }

    fn ca(&self, name: &str) -> String {
        std::fs::read_to_string(self.certs.join(format!("{name}-ca.pem"))).unwrap()
    }

    async fn configure(&self, extra: Value) {
        let mut body = json!({"kubernetes_host": self.url, "kubernetes_ca_cert": self.ca("k8s"),
                              "token_reviewer_jwt": "reviewer-token"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        body.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        let (status, resp) = self.root().post("auth/kubernetes/config", body).await;
        assert_eq!(status, 204, "{resp}");
    }

    async fn role(&self, name: &str, body: Value) {
        let (status, resp) = self
            .root()
            .post(&format!("auth/kubernetes/role/{name}"), body)
            .await;
        assert_eq!(status, 204, "{resp}");
    }

    /// A projected token for `ns/name` the fake API server will vouch for.
    fn issue(&self, signer: &Signer, ns: &str, name: &str, audiences: &[&str]) -> String {
        let token = signer.sign(Some("sa-key"), &projected(ns, name, audiences));
        self.register(&token, ns, name, audiences);
        token
    }

    fn register(&self, token: &str, ns: &str, name: &str, audiences: &[&str]) {
        let account = Account {
            namespace: ns.into(),
            name: name.into(),
            uid: format!("uid-{ns}-{name}"),
            audiences: audiences.iter().map(|a| a.to_string()).collect(),
        };
        self.api
            .issued
            .lock()
            .unwrap()
            .insert(token.to_string(), account);
    }

    async fn login(&self, role: &str, jwt: &str) -> (u16, Value) {
        self.root()
            .with_token("")
            .post("auth/kubernetes/login", json!({"role": role, "jwt": jwt}))
            .await
    }

    fn calls(&self) -> usize {
        self.api.calls.load(Ordering::SeqCst)
    }

    async fn token_count(&self) -> usize {
        let (_, body) = self.root().list("auth/token/accessors").await;
        body["data"]["keys"].as_array().map_or(0, Vec::len)
    }
}

fn projected(ns: &str, name: &str, audiences: &[&str]) -> Value {
    json!({
        "iss": API_AUDIENCE, "aud": audiences, "exp": now() + 3600, "iat": now(), "nbf": now(),
        "sub": format!("system:serviceaccount:{ns}:{name}"),
        "kubernetes.io": {"namespace": ns, "pod": {"name": "pod-1", "uid": "pod-uid"},
                          "serviceaccount": {"name": name, "uid": format!("uid-{ns}-{name}")}},
    })
}

fn legacy(ns: &str, name: &str) -> Value {
    json!({
        "iss": "kubernetes/serviceaccount", "sub": format!("system:serviceaccount:{ns}:{name}"),
        "kubernetes.io/serviceaccount/namespace": ns,
        "kubernetes.io/serviceaccount/secret.name": format!("{name}-token-x7k2p"),
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": format!("uid-{ns}-{name}"),
    })
}

fn errors(body: &Value) -> String {
    body["errors"].to_string()
}

#[tokio::test]
async fn token_review_logins_grant_the_roles_policies() {
    let cluster = Cluster::start().await;
    cluster.configure(json!({})).await;
    cluster
        .role(
            "app",
            json!({"bound_service_account_names": "app-*",
            "bound_service_account_namespaces": ["prod", "stage-*"],
            "token_policies": "k8s-app", "token_ttl": "15m"}),
        )
        .await;
    let rsa = Signer::rsa();
    let (status, body) = cluster
        .login(
            "app",
            &cluster.issue(&rsa, "prod", "app-web", &[API_AUDIENCE]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let auth = &body["auth"];
    assert_eq!(auth["policies"], json!(["default", "k8s-app"]));
    assert_eq!(auth["lease_duration"], 900);
    assert_eq!(auth["metadata"]["service_account_name"], "app-web");
    assert_eq!(auth["metadata"]["service_account_namespace"], "prod");
    assert_eq!(auth["metadata"]["service_account_uid"], "uid-prod-app-web");
    assert_eq!(auth["metadata"]["role"], "app");
    let app = cluster
        .root()
        .with_token(auth["client_token"].as_str().unwrap());
    let (status, secret) = app.get("secret/data/k8s/app/db").await;
    assert_eq!(
        (status, secret["data"]["data"]["password"].clone()),
        (200, json!("s3cret"))
    );
    assert_eq!(app.get("sys/mounts").await.0, 403);
    let (_, me) = app.get("auth/token/lookup-self").await;
    assert_eq!(me["data"]["display_name"], "kubernetes-prod-app-web");
    assert_eq!(cluster.calls(), 1);

    // A legacy (secret-based) ES256 token in a namespace matched by a glob.
    let ec = Signer::ec();
    let old = ec.sign(None, &legacy("stage-eu", "app-api"));
    cluster.register(&old, "stage-eu", "app-api", &[]);
    let (status, body) = cluster.login("app", &old).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["auth"]["metadata"]["service_account_secret_name"],
        "app-api-token-x7k2p"
    );
}

#[tokio::test]
async fn refused_logins_explain_themselves_and_create_nothing() {
    let cluster = Cluster::start().await;
    cluster.configure(json!({})).await;
    cluster
        .role(
            "app",
            json!({"bound_service_account_names": ["app-web"],
            "bound_service_account_namespaces": "prod", "audience": "cofre",
            "token_policies": "k8s-app"}),
        )
        .await;
    let signer = Signer::rsa();
    let before = cluster.token_count().await;
    let good = cluster.issue(&signer, "prod", "app-web", &["cofre"]);
    assert_eq!(cluster.login("app", &good).await.0, 200);
    let after_good = cluster.token_count().await;
    assert_eq!(after_good, before + 1);

    let calls = cluster.calls();
    let wrong_ns = cluster.issue(&signer, "dev", "app-web", &["cofre"]);
    let (status, body) = cluster.login("app", &wrong_ns).await;
    assert_eq!(
        (status, errors(&body)),
        (403, json!(["namespace not authorized"]).to_string())
    );
    let wrong_name = cluster.issue(&signer, "prod", "db", &["cofre"]);
    let (status, body) = cluster.login("app", &wrong_name).await;
    assert_eq!(
        (status, errors(&body)),
        (
            403,
            json!(["service account name not authorized"]).to_string()
        )
    );
    assert_eq!(
        cluster.calls(),
        calls,
        "bindings are checked before any TokenReview"
    );

    let wrong_audience = cluster.issue(&signer, "prod", "app-web", &[API_AUDIENCE]);
    let (status, body) = cluster.login("app", &wrong_audience).await;
    assert_eq!(
        (status, errors(&body)),
        (403, json!(["permission denied"]).to_string())
    );
    let mut claims = projected("prod", "app-web", &["cofre"]);
    claims["exp"] = json!(now() - 600);
    let expired = signer.sign(None, &claims); // the API server does not vouch for it
    assert_eq!(cluster.login("app", &expired).await.0, 403);

    let claims = projected("prod", "app-web", &["cofre"]);
    for (jwt, expected) in [
        (unsigned(&claims), "alg \\\"none\\\""),
        (hs256(signer.public_pem().as_bytes(), &claims), "HS256"),
        ("not-a-jwt".to_string(), "malformed"),
        ("e".repeat(20 * 1024), "larger than"),
    ] {
        let (status, body) = cluster.login("app", &jwt).await;
        assert_eq!(status, 400, "{body}");
        assert!(errors(&body).contains(expected), "{expected}: {body}");
    }
    assert_eq!(
        cluster.token_count().await,
        after_good,
        "failed logins created tokens"
    );
}

#[tokio::test]
async fn reviewer_refusals_and_tls_problems_are_actionable() {
    let cluster = Cluster::start().await;
    cluster.configure(json!({})).await;
    cluster
        .role(
            "app",
            json!({"bound_service_account_names": "*",
            "bound_service_account_namespaces": "*"}),
        )
        .await;
    let jwt = cluster.issue(&Signer::ec(), "prod", "app", &[API_AUDIENCE]);
    cluster.api.refuse.store(403, Ordering::SeqCst);
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        errors(&body).contains("grant system:auth-delegator"),
        "{body}"
    );
    cluster.api.refuse.store(401, Ordering::SeqCst);
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 403, "{body}");
    assert!(errors(&body).contains("token_reviewer_jwt"), "{body}");
    cluster.api.refuse.store(0, Ordering::SeqCst);

    cluster
        .configure(json!({"kubernetes_ca_cert": cluster.ca("other")}))
        .await;
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 500, "{body}");
    let message = errors(&body);
    assert!(
        message.contains("TLS error") && message.contains(&cluster.url),
        "{message}"
    );
    assert!(
        message.contains("kubernetes_ca_cert") && !message.contains(&jwt),
        "{message}"
    );

    let closed = format!("https://127.0.0.1:{}", common::free_port());
    cluster.configure(json!({"kubernetes_host": closed})).await;
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        errors(&body).contains("cannot reach the Kubernetes API"),
        "{body}"
    );
}

#[tokio::test]
async fn pem_keys_verify_locally_without_a_token_review() {
    let cluster = Cluster::start().await;
    let (rsa, ec) = (Signer::rsa(), Signer::ec());
    cluster
        .configure(json!({"pem_keys": [rsa.public_pem(), ec.public_pem()],
            "issuer": API_AUDIENCE, "disable_iss_validation": false}))
        .await;
    cluster
        .role(
            "app",
            json!({"bound_service_account_names": "app-*",
            "bound_service_account_namespaces": "prod", "audience": API_AUDIENCE,
            "alias_name_source": "serviceaccount_name"}),
        )
        .await;
    for signer in [&rsa, &ec] {
        let jwt = signer.sign(None, &projected("prod", "app-web", &[API_AUDIENCE]));
        let (status, body) = cluster.login("app", &jwt).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["auth"]["metadata"]["alias_name"], "prod/app-web");
    }
    let mut wrong_issuer = projected("prod", "app-web", &[API_AUDIENCE]);
    wrong_issuer["iss"] = json!("https://other-cluster");
    let (status, body) = cluster.login("app", &ec.sign(None, &wrong_issuer)).await;
    assert_eq!(status, 403, "{body}");
    assert!(errors(&body).contains("iss"), "{body}");
    let mut expired = projected("prod", "app-web", &[API_AUDIENCE]);
    expired["exp"] = json!(now() - 3600);
    let (status, body) = cluster.login("app", &rsa.sign(None, &expired)).await;
    assert!(status == 403 && errors(&body).contains("expired"), "{body}");
    let stranger = Signer::ec().sign(None, &projected("prod", "app-web", &[API_AUDIENCE]));
    assert_eq!(cluster.login("app", &stranger).await.0, 403);
    assert_eq!(cluster.calls(), 0, "pem_keys mode made a TokenReview call");
}

#[tokio::test]
async fn pod_service_account_directory_and_client_jwt_as_reviewer() {
    // Set before the server starts so its process inherits it; the other tests of this
    // binary configure a reviewer token and CA explicitly, so it does not affect them.
    let sa_dir = common::temp_dir("cofre-k8s-sa");
    std::fs::create_dir_all(&sa_dir).unwrap();
    std::env::set_var("COFRE_K8S_SA_DIR", &sa_dir);
    let cluster = Cluster::start().await;
    std::fs::write(sa_dir.join("ca.crt"), cluster.ca("k8s")).unwrap();
    std::fs::write(sa_dir.join("token"), "pod-token-1\n").unwrap();
    *cluster.api.reviewer.lock().unwrap() = Some("pod-token-1".into());
    cluster
        .configure(json!({"kubernetes_ca_cert": null, "token_reviewer_jwt": null}))
        .await;
    cluster
        .role(
            "app",
            json!({"bound_service_account_names": "app",
            "bound_service_account_namespaces": "prod"}),
        )
        .await;
    let signer = Signer::ec();
    let jwt = cluster.issue(&signer, "prod", "app", &[API_AUDIENCE]);
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 200, "the pod's token and CA are used: {body}");
    std::fs::write(sa_dir.join("token"), "pod-token-2").unwrap();
    *cluster.api.reviewer.lock().unwrap() = Some("pod-token-2".into());
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 200, "a rotated pod token is picked up: {body}");

    // No reviewer JWT and no local one: the client's own JWT reviews itself.
    cluster
        .configure(json!({"token_reviewer_jwt": null, "disable_local_ca_jwt": true}))
        .await;
    *cluster.api.reviewer.lock().unwrap() = Some(jwt.clone());
    let (status, body) = cluster.login("app", &jwt).await;
    assert_eq!(status, 200, "{body}");
    let _ = std::fs::remove_dir_all(&sa_dir);
}

// Multi-threaded: `bao` runs as a blocking child process while the fake API answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bao_cli_drives_kubernetes_auth() {
    let cluster = Cluster::start().await;
    let server = &cluster.server;
    let token = server.api.token.clone();
    let ca_file = cluster.certs.join("k8s-ca.pem");
    let host = format!("kubernetes_host={}", cluster.url);
    let ca = format!("kubernetes_ca_cert=@{}", ca_file.display());
    let steps: [&[&str]; 3] = [
        &["auth", "enable", "-path=k8s", "kubernetes"],
        &[
            "write",
            "auth/k8s/config",
            &host,
            &ca,
            "token_reviewer_jwt=reviewer-token",
        ],
        &[
            "write",
            "auth/k8s/role/app",
            "bound_service_account_names=app-*",
            "bound_service_account_namespaces=prod",
            "token_policies=k8s-app",
            "token_ttl=10m",
        ],
    ];
    for args in steps {
        let Some((ok, out)) = server.bao(&token, args) else {
            return;
        };
        assert!(ok, "bao {args:?}: {out}");
    }
    let Some((ok, out)) = server.bao(&token, &["read", "-format=json", "auth/k8s/config"]) else {
        return;
    };
    assert!(
        ok && out.contains("\"token_reviewer_jwt_set\": true") && !out.contains("reviewer-token"),
        "{out}"
    );
    let jwt = cluster.issue(&Signer::rsa(), "prod", "app-web", &[API_AUDIENCE]);
    let role = "role=app".to_string();
    let jwt_arg = format!("jwt={jwt}");
    let Some((ok, out)) = server.bao(
        "",
        &["write", "-format=json", "auth/k8s/login", &role, &jwt_arg],
    ) else {
        return;
    };
    assert!(ok, "{out}");
    let login: Value = serde_json::from_str(&out).expect("JSON from bao");
    assert_eq!(login["auth"]["metadata"]["service_account_name"], "app-web");
    let app_token = login["auth"]["client_token"].as_str().unwrap();
    let Some((ok, out)) = server.bao(
        app_token,
        &["kv", "get", "-field=password", "secret/k8s/app/db"],
    ) else {
        return;
    };
    assert!(ok && out.trim() == "s3cret", "{out}");
    let Some((ok, out)) = server.bao("", &["write", "auth/k8s/login", "role=app", "jwt=garbage"])
    else {
        return;
    };
    assert!(!ok && out.contains("malformed"), "{out}");

    // The cofre CLI: the JWT from a file (as a pod's projected token is), the token
    // stored by the helper and used by the next command.
    let jwt_file = server.data_dir().join("sa-token");
    std::fs::write(&jwt_file, format!("{jwt}\n")).unwrap();
    let out = server
        .cofre("")
        .args(["login", "-method=kubernetes", "-path=k8s", "role=app"])
        .arg(format!("jwt=@{}", jwt_file.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Success! You are now authenticated."),
        "{stdout}"
    );
    assert!(stdout.contains("service_account_name"), "{stdout}");
    let out = server
        .cofre("")
        .args(["kv", "get", "-field=password", "secret/k8s/app/db"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "s3cret");
    let out = server
        .cofre("")
        .args([
            "login",
            "-method=kubernetes",
            "-path=k8s",
            "role=app",
            "jwt=garbage",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a refused login exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed"));
}
