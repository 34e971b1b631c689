//! Fetched key sets: the JWKS at `jwks_url`, or at the `jwks_uri` an OIDC discovery
//! document names, fetched with reqwest and cached per mount. A cached set is used for an
//! hour; a token naming an unknown `kid` forces one re-fetch (keys rotate), unless that
//! `kid` was already unknown within the last minute or a forced re-fetch happened in the
//! last few seconds, so made-up key IDs cannot make us hammer the JWKS host.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

use super::config::KeySource;
use crate::auth::jwt_verify::{JwtError, PublicKey};
use crate::auth::kubernetes::review::{error_chain, read_bounded, ClientCache};
use crate::core::RequestError;

const FRESH_FOR: Duration = Duration::from_secs(3600);
const UNKNOWN_KID_TTL: Duration = Duration::from_secs(60);
const FORCED_REFRESH_FLOOR: Duration = Duration::from_secs(5);
const MAX_UNKNOWN_KIDS: usize = 1024;
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Default)]
struct Cached {
    source: Option<KeySource>,
    keys: Vec<PublicKey>,
    fetched_at: Option<Instant>,
    forced_at: Option<Instant>,
    unknown_kids: HashMap<String, Instant>,
}

/// The mount's cached key set. The lock is held during a fetch, so concurrent logins
/// share one fetch instead of each making their own.
#[derive(Default)]
pub(super) struct KeyCache(Mutex<Cached>);

impl KeyCache {
    /// Forgets everything (the config changed).
    pub async fn clear(&self) {
        *self.0.lock().await = Cached::default();
    }

    /// Keys for a token whose key ID is `kid`: the cached set when fresh (and, when
    /// `kid` is given, when it holds that key or may not be re-fetched yet).
    pub async fn keys(
        &self,
        clients: &ClientCache,
        source: &KeySource,
        kid: Option<&str>,
    ) -> Result<Vec<PublicKey>, RequestError> {
        let mut cached = self.0.lock().await;
        let now = Instant::now();
        let fresh = cached.source.as_ref() == Some(source)
            && cached
                .fetched_at
                .is_some_and(|at| now.duration_since(at) < FRESH_FOR);
        if !fresh {
            *cached = Cached {
                source: Some(source.clone()),
                ..Cached::default()
            };
            cached.keys = fetch(clients, source).await?;
            cached.fetched_at = Some(now);
            return Ok(cached.keys.clone());
        }
        let Some(kid) = kid else {
            return Ok(cached.keys.clone());
        };
        let known = cached.keys.iter().any(|k| k.key_id.as_deref() == Some(kid));
        let recently_unknown = cached
            .unknown_kids
            .get(kid)
            .is_some_and(|at| now.duration_since(*at) < UNKNOWN_KID_TTL);
        let recently_forced = cached
            .forced_at
            .is_some_and(|at| now.duration_since(at) < FORCED_REFRESH_FLOOR);
        if known || recently_unknown || recently_forced {
            return Ok(cached.keys.clone());
        }
        cached.forced_at = Some(now);
        cached.keys = fetch(clients, source).await?;
        cached.fetched_at = Some(now);
        if !cached.keys.iter().any(|k| k.key_id.as_deref() == Some(kid)) {
            if cached.unknown_kids.len() >= MAX_UNKNOWN_KIDS {
                cached.unknown_kids.clear();
            }
            cached.unknown_kids.insert(kid.to_string(), now);
        }
        Ok(cached.keys.clone())
    }
}

async fn fetch(clients: &ClientCache, source: &KeySource) -> Result<Vec<PublicKey>, RequestError> {
    match source {
        KeySource::Static => Ok(Vec::new()),
        KeySource::Jwks { url, ca } => {
            let client = clients.get(ca).await?;
            let jwks = get_json(&client, url, "JWKS").await?;
            PublicKey::from_jwks(&jwks).map_err(|e| bad_document(url, &e))
        }
        KeySource::Discovery { url, ca } => {
            let client = clients.get(ca).await?;
            let discovery_url = format!("{url}/.well-known/openid-configuration");
            let document = get_json(&client, &discovery_url, "OIDC discovery document").await?;
            let issuer = document
                .get("issuer")
                .and_then(Value::as_str)
                .unwrap_or(url);
            if issuer.trim_end_matches('/') != url {
                return Err(RequestError::internal(format!(
                    "the OIDC discovery document at {discovery_url} names issuer {issuer:?}, not {url:?}"
                )));
            }
            let jwks_uri = document
                .get("jwks_uri")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    RequestError::internal(format!(
                        "the OIDC discovery document at {discovery_url} has no jwks_uri"
                    ))
                })?;
            let jwks = get_json(&client, jwks_uri, "JWKS").await?;
            PublicKey::from_jwks(&jwks).map_err(|e| bad_document(jwks_uri, &e))
        }
    }
}

async fn get_json(client: &reqwest::Client, url: &str, what: &str) -> Result<Value, RequestError> {
    let fail = |cause: String| {
        tracing::warn!(%url, error = %cause, "fetching the {what} failed");
        RequestError::internal(format!("cannot fetch the {what} from {url}: {cause}"))
    };
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let body = read_bounded(response, MAX_BODY_BYTES).await.map_err(fail)?;
    serde_json::from_slice(&body).map_err(|e| fail(format!("not JSON: {e}")))
}

fn bad_document(url: &str, err: &JwtError) -> RequestError {
    tracing::warn!(%url, error = %err, "unusable JWKS");
    RequestError::internal(format!("the JWKS at {url} is unusable: {err}"))
}
