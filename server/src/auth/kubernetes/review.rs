//! The TokenReview call: `POST {host}/apis/authentication.k8s.io/v1/tokenreviews` with the
//! reviewer token as Bearer, over TLS verified with the configured CA (or the system
//! roots), answered by the API server's verdict. Plain reqwest and a few serde structs.
//! Every failure is logged at `warn` with its cause (never a token) and answered with a
//! message that says what to fix.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::core::RequestError;

/// Review answers larger than this are refused.
const MAX_BODY_BYTES: usize = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the API server says about a token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReviewStatus {
    authenticated: bool,
    user: ReviewUser,
    audiences: Vec<String>,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReviewUser {
    username: String,
    uid: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReviewResponse {
    status: ReviewStatus,
}

/// The service account a review vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reviewed {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub audiences: Vec<String>,
}

/// One HTTP client per trusted CA, kept while the CA does not change.
#[derive(Default)]
pub(crate) struct ClientCache(Mutex<Option<(String, reqwest::Client)>>);

impl ClientCache {
    /// A client trusting `ca_pem` (the system roots when empty).
    pub(crate) async fn get(&self, ca_pem: &str) -> Result<reqwest::Client, RequestError> {
        let mut cached = self.0.lock().await;
        if let Some((ca, client)) = cached.as_ref() {
            if ca == ca_pem {
                return Ok(client.clone());
            }
        }
        let client = build_client(ca_pem)?;
        *cached = Some((ca_pem.to_string(), client.clone()));
        Ok(client)
    }
}

/// The certificates of a PEM bundle.
pub(crate) fn parse_ca(pem: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

fn build_client(ca_pem: &str) -> Result<reqwest::Client, RequestError> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        // A redirect would carry the bearer token to another host.
        .redirect(reqwest::redirect::Policy::none());
    if !ca_pem.trim().is_empty() {
        let certs = parse_ca(ca_pem).map_err(|e| {
            RequestError::internal(format!("the Kubernetes CA certificate is invalid: {e}"))
        })?;
        builder = builder.tls_built_in_root_certs(false);
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| {
        tracing::warn!(error = %error_chain(&e), "cannot build the TokenReview HTTP client");
        RequestError::internal(format!("cannot build an HTTP client: {}", error_chain(&e)))
    })
}

/// Asks the API server at `host` whether `jwt` is a valid token (for `audience`, if set).
pub(super) async fn review(
    client: &reqwest::Client,
    host: &str,
    reviewer: &str,
    jwt: &str,
    audience: Option<&str>,
) -> Result<Reviewed, RequestError> {
    let mut spec = json!({ "token": jwt });
    if let Some(audience) = audience {
        spec["audiences"] = json!([audience]);
    }
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": spec,
    });
    let url = format!("{host}/apis/authentication.k8s.io/v1/tokenreviews");
    let response = client
        .post(&url)
        .bearer_auth(reviewer)
        .json(&body)
        .send()
        .await
        .map_err(|e| transport_error(host, &e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(status_error(host, status));
    }
    let bytes = read_bounded(response, MAX_BODY_BYTES)
        .await
        .map_err(|e| unreadable(host, &e))?;
    let answer: ReviewResponse =
        serde_json::from_slice(&bytes).map_err(|e| unreadable(host, &e.to_string()))?;
    reviewed(answer.status)
}

fn reviewed(status: ReviewStatus) -> Result<Reviewed, RequestError> {
    if !status.authenticated {
        tracing::info!(reason = %status.error, "TokenReview: the token is not authenticated");
        return Err(RequestError::PermissionDenied);
    }
    let Some(account) = status.user.username.strip_prefix("system:serviceaccount:") else {
        return Err(RequestError::Forbidden(
            "permission denied: the reviewed token does not belong to a service account".into(),
        ));
    };
    let (namespace, name) = account.split_once(':').ok_or_else(|| {
        RequestError::Forbidden("permission denied: malformed service account user name".into())
    })?;
    Ok(Reviewed {
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid: status.user.uid,
        audiences: status.audiences,
    })
}

/// Connection, TLS and timeout failures: a 500 naming the host and the cause.
fn transport_error(host: &str, err: &reqwest::Error) -> RequestError {
    let cause = error_chain(err);
    tracing::warn!(%host, error = %cause, "TokenReview request failed");
    let lower = cause.to_lowercase();
    let message = if lower.contains("certificate") || lower.contains("tls") {
        format!(
            "TLS error talking to the Kubernetes API at {host}: {cause} (check kubernetes_ca_cert: it must hold the CA that signed the API server's certificate)"
        )
    } else if err.is_timeout() {
        format!("the Kubernetes API at {host} did not answer the TokenReview in time")
    } else {
        format!("cannot reach the Kubernetes API at {host}: {cause} (check kubernetes_host)")
    };
    RequestError::internal(message)
}

/// A refusal of the review itself (not of the client's token).
fn status_error(host: &str, status: reqwest::StatusCode) -> RequestError {
    tracing::warn!(%host, %status, "the Kubernetes API refused the TokenReview");
    match status.as_u16() {
        401 => RequestError::Forbidden(
            "permission denied: the Kubernetes API rejected the token reviewer JWT (401): it is invalid or expired; set a current token_reviewer_jwt in the config".into(),
        ),
        403 => RequestError::Forbidden(
            "permission denied: the token reviewer is not allowed to create TokenReviews (grant system:auth-delegator to the reviewer service account)".into(),
        ),
        _ => RequestError::internal(format!(
            "the Kubernetes API at {host} answered the TokenReview with {status}"
        )),
    }
}

fn unreadable(host: &str, cause: &str) -> RequestError {
    tracing::warn!(%host, error = %cause, "unreadable TokenReview answer");
    RequestError::internal(format!(
        "the Kubernetes API at {host} sent an unreadable TokenReview answer: {cause}"
    ))
}

/// An error with its sources, e.g. "error sending request: …: invalid peer certificate".
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The body, refused when it grows past `limit` bytes.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(format!("the answer is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn review_verdicts() {
        let status = |value: Value| -> ReviewStatus {
            serde_json::from_value(value).expect("a review status")
        };
        assert!(matches!(
            reviewed(status(json!({"authenticated": false, "error": "expired"}))),
            Err(RequestError::PermissionDenied)
        ));
        assert!(matches!(
            reviewed(status(
                json!({"authenticated": true, "user": {"username": "alice"}})
            )),
            Err(RequestError::Forbidden(_))
        ));
        let ok = reviewed(status(
            json!({"authenticated": true, "audiences": ["vault"],
            "user": {"username": "system:serviceaccount:ns:app", "uid": "u-1"}}),
        ))
        .expect("a service account");
        assert_eq!(
            ok,
            Reviewed {
                namespace: "ns".into(),
                name: "app".into(),
                uid: "u-1".into(),
                audiences: vec!["vault".into()],
            }
        );
    }

    #[test]
    fn refusals_say_what_to_fix() {
        let forbidden = status_error("https://k8s", reqwest::StatusCode::FORBIDDEN).to_string();
        assert!(forbidden.contains("system:auth-delegator"), "{forbidden}");
        let expired = status_error("https://k8s", reqwest::StatusCode::UNAUTHORIZED).to_string();
        assert!(expired.contains("token_reviewer_jwt"), "{expired}");
        assert!(parse_ca("not a cert").is_err());
    }
}
