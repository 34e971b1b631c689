//! [`Client`]: one server address and token, and the generic operations of Vault's
//! logical API (`read`, `write`, `list`, `delete`, `patch`) that every sub-API uses.

use reqwest::Method;
use serde_json::Value;

use crate::config::ClientBuilder;
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::{Error, Secret};

/// An async client for Cofre or any Vault-API server. Cheap to clone (clones share one
/// connection pool).
///
/// ```no_run
/// # async fn demo() -> Result<(), cofre_client::Error> {
/// let client = cofre_client::Client::from_env()?;
/// client.write("secret/data/app", &serde_json::json!({"data": {"password": "s3cret"}})).await?;
/// let secret = client.read("secret/data/app").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    address: String,
    token: Option<Token>,
    retry: RetryPolicy,
    /// Sent as `X-Vault-Wrap-TTL`: every answer comes back wrapped.
    wrap_ttl: Option<String>,
}

/// The client's token: wiped from memory on drop, never printed.
#[derive(Clone)]
struct Token(String);

impl Drop for Token {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("wrap_ttl", &self.wrap_ttl)
            .finish()
    }
}

/// A request body and how it is encoded.
pub(crate) enum Body<'a> {
    None,
    Json(&'a Value),
    MergePatch(&'a Value),
}

/// A response as received: status, body text and what was asked.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) method: String,
    pub(crate) url: String,
    /// The `Retry-After` header, when it held whole seconds.
    pub(crate) retry_after: Option<std::time::Duration>,
}

impl RawResponse {
    /// The error for a non-2xx status.
    pub(crate) fn to_error(&self) -> Error {
        Error::from_response(self.status, &self.method, &self.url, &self.body)
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as an envelope (`None` when empty).
    pub(crate) fn secret(&self) -> Result<Option<Secret>, Error> {
        Secret::parse(&self.body).map_err(|detail| self.decode_error(detail))
    }

    /// The body as JSON of the caller's shape.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.body).map_err(|e| self.decode_error(e.to_string()))
    }

    pub(crate) fn decode_error(&self, detail: String) -> Error {
        Error::Decode {
            method: self.method.clone(),
            url: self.url.clone(),
            detail,
        }
    }
}

impl Client {
    /// A builder for explicit settings.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), cofre_client::Error> {
    /// let client = cofre_client::Client::builder().address("http://127.0.0.1:8200").token("root").build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment; see [`ClientBuilder::from_env`].
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), cofre_client::Error> {
    /// let client = cofre_client::Client::from_env()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_parts(
        http: reqwest::Client,
        address: String,
        token: Option<String>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            address,
            token: token.map(Token),
            retry,
            wrap_ttl: None,
        }
    }

    /// The retry policy of this client (see [`ClientBuilder::retry_policy`]).
    ///
    /// ```no_run
    /// # fn demo(client: cofre_client::Client) { println!("{} retries", client.retry_policy().max_retries); }
    /// ```
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// A copy of this client with another retry policy.
    ///
    /// ```no_run
    /// # fn demo(client: cofre_client::Client) {
    /// let patient = client.with_retry_policy(cofre_client::RetryPolicy { max_retries: 5, ..Default::default() });
    /// # }
    /// ```
    pub fn with_retry_policy(&self, retry: RetryPolicy) -> Client {
        Client {
            retry,
            ..self.clone()
        }
    }

    /// The server's base URL, without a trailing slash.
    ///
    /// ```no_run
    /// # fn demo(client: cofre_client::Client) { println!("talking to {}", client.address()); }
    /// ```
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The token this client sends, if any.
    ///
    /// ```no_run
    /// # fn demo(client: cofre_client::Client) { let logged_in = client.client_token().is_some(); }
    /// ```
    pub fn client_token(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.0.as_str())
    }

    /// A copy of this client that sends `token` instead (an empty token sends none).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let as_app = client.with_token("s.app-token");
    /// let me = as_app.token().lookup_self().await?;
    /// # Ok(()) }
    /// ```
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        let token: String = token.into();
        Client {
            token: (!token.is_empty()).then_some(Token(token)),
            ..self.clone()
        }
    }

    /// A copy of this client whose requests ask for response wrapping: every answer is
    /// kept by the server in a single-use wrapping token that lives `ttl` (seconds or a
    /// duration such as `"5m"`; `"0"` asks for no wrapping), and the returned
    /// [`Secret`] carries only its [`wrap_info`](Secret::wrap_info). Hand the token to
    /// whoever should read the answer: they unwrap it once with
    /// [`Sys::unwrap`](crate::sys::Sys::unwrap).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let wrapped = client.with_wrap_ttl("5m").read("secret/data/app").await?;
    /// if let Some(wrap) = wrapped.and_then(|secret| secret.wrap_info) {
    ///     println!("unwrap within {}s with {}", wrap.ttl, wrap.token);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn with_wrap_ttl(&self, ttl: impl Into<String>) -> Client {
        let ttl: String = ttl.into();
        Client {
            wrap_ttl: (!ttl.trim().is_empty()).then_some(ttl),
            ..self.clone()
        }
    }

    /// The wrap TTL this client asks for, if any (see [`Client::with_wrap_ttl`]).
    ///
    /// ```no_run
    /// # fn demo(client: cofre_client::Client) { assert_eq!(client.with_wrap_ttl("60").wrap_ttl(), Some("60")); }
    /// ```
    pub fn wrap_ttl(&self) -> Option<&str> {
        self.wrap_ttl.as_deref()
    }

    /// Reads `path` (`GET /v1/<path>`). A 404 is `Ok(None)`, unless its body still
    /// carries data or warnings (a deleted KV v2 version keeps its metadata).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// match client.read("secret/data/app").await? {
    ///     Some(secret) => println!("{:?}", secret.data),
    ///     None => println!("nothing there"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn read(&self, path: &str) -> Result<Option<Secret>, Error> {
        self.read_with_query(path, &[]).await
    }

    /// [`Client::read`] with query parameters, such as `version` for KV v2.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let v1 = client.read_with_query("secret/data/app", &[("version", "1")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn read_with_query(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<Secret>, Error> {
        let response = self.send(Method::GET, path, query, Body::None).await?;
        secret_or_not_found(response)
    }

    /// Lists the keys under `path` (HTTP method `LIST`). A 404 (nothing there) is
    /// `Ok(None)`; see [`Secret::keys`].
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let keys = client.list("secret/metadata/").await?.map(|s| s.keys()).unwrap_or_default();
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, path: &str) -> Result<Option<Secret>, Error> {
        let response = self.send(list_method(), path, &[], Body::None).await?;
        secret_or_not_found(response)
    }

    /// Writes `body` as JSON to `path` (`PUT /v1/<path>`); `None` when the server
    /// answers with no content (204).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.write("kv/app", &serde_json::json!({"password": "s3cret"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write(&self, path: &str, body: &Value) -> Result<Option<Secret>, Error> {
        self.write_with_method(Method::PUT, path, body).await
    }

    /// Like [`Client::write`] with `POST`, for endpoints documented as `POST`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.post("auth/token/create", &serde_json::json!({"ttl": "1h"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn post(&self, path: &str, body: &Value) -> Result<Option<Secret>, Error> {
        self.write_with_method(Method::POST, path, body).await
    }

    async fn write_with_method(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Option<Secret>, Error> {
        let response = self.send(method, path, &[], Body::Json(body)).await?;
        success_secret(response)
    }

    /// Applies a JSON merge patch to `path` (`PATCH`, `Content-Type:
    /// application/merge-patch+json`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.patch("secret/data/app", &serde_json::json!({"data": {"password": "new"}})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Option<Secret>, Error> {
        let response = self
            .send(Method::PATCH, path, &[], Body::MergePatch(body))
            .await?;
        success_secret(response)
    }

    /// Deletes `path` (`DELETE /v1/<path>`); `None` when the server answers with no
    /// content.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.delete("kv/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, path: &str) -> Result<Option<Secret>, Error> {
        let response = self.send(Method::DELETE, path, &[], Body::None).await?;
        success_secret(response)
    }

    /// Sends a request and collects the answer, whatever its status, retrying as the
    /// client's [`RetryPolicy`] allows (transport errors, 5xx except 501, 429).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<RawResponse, Error> {
        let retried = self.retry.allows(&method);
        let mut attempt = 0;
        loop {
            let result = self.send_once(method.clone(), path, query, &body).await;
            let retry_after = match &result {
                Err(Error::Transport { .. }) => None,
                Ok(response) if RetryPolicy::retries_status(response.status) => {
                    response.retry_after
                }
                _ => return result,
            };
            let delay = retried
                .then(|| self.retry.delay(attempt, retry_after))
                .flatten();
            let Some(delay) = delay else { return result };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Sends one request and collects the answer, whatever its status (no retries).
    pub(crate) async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: &Body<'_>,
    ) -> Result<RawResponse, Error> {
        let mut url = format!("{}/v1/{}", self.address, path.trim_start_matches('/'));
        if !query.is_empty() {
            let encoded: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
                .collect();
            url = format!("{url}?{}", encoded.join("&"));
        }
        let method_name = method.as_str().to_string();
        let mut request = self
            .http
            .request(method, &url)
            .header("X-Vault-Request", "true");
        if let Some(token) = &self.token {
            request = request.header("X-Vault-Token", token.0.as_str());
        }
        if let Some(ttl) = &self.wrap_ttl {
            request = request.header("X-Vault-Wrap-TTL", ttl.as_str());
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(value.to_string()),
            Body::MergePatch(value) => request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/merge-patch+json",
                )
                .body(value.to_string()),
        };
        let transport = |e: reqwest::Error| Error::Transport {
            method: method_name.clone(),
            url: url.clone(),
            detail: error_chain(&e),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let body = response.text().await.map_err(transport)?;
        Ok(RawResponse {
            status,
            body,
            method: method_name,
            url,
            retry_after,
        })
    }
}

/// Vault's `LIST` verb.
pub(crate) fn list_method() -> Method {
    Method::from_bytes(b"LIST").expect("LIST is a valid HTTP token")
}

/// 2xx → the envelope; 404 → the envelope only if it still has content; else the error.
fn secret_or_not_found(response: RawResponse) -> Result<Option<Secret>, Error> {
    if response.status == 404 {
        let secret = response.secret().unwrap_or(None);
        return Ok(secret.filter(Secret::has_content));
    }
    success_secret(response)
}

fn success_secret(response: RawResponse) -> Result<Option<Secret>, Error> {
    if !response.is_success() {
        return Err(response.to_error());
    }
    response.secret()
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass through).
fn encode_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The most specific cause of a transport error ("Connection refused", "invalid peer
/// certificate: UnknownIssuer"), which is what a person can act on.
fn error_chain(error: &reqwest::Error) -> String {
    let mut innermost = error.to_string();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        innermost = cause.to_string();
        source = cause.source();
    }
    if error.is_timeout() {
        format!("the request timed out ({innermost})")
    } else {
        innermost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_encoded() {
        assert_eq!(encode_query("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_query("v-1.2_~"), "v-1.2_~");
    }

    #[test]
    fn not_found_without_content_is_none() {
        let response = RawResponse {
            status: 404,
            body: r#"{"errors":[]}"#.into(),
            method: "GET".into(),
            url: "http://h/v1/x".into(),
            retry_after: None,
        };
        assert_eq!(secret_or_not_found(response).unwrap(), None);
    }

    #[test]
    fn not_found_with_metadata_is_kept() {
        let response = RawResponse {
            status: 404,
            body: r#"{"request_id":"r","data":{"data":null,"metadata":{"version":2}}}"#.into(),
            method: "GET".into(),
            url: "http://h/v1/x".into(),
            retry_after: None,
        };
        let secret = secret_or_not_found(response).unwrap().unwrap();
        assert_eq!(secret.data.unwrap()["metadata"]["version"], 2);
    }

    #[test]
    fn other_statuses_are_api_errors() {
        let response = RawResponse {
            status: 403,
            body: r#"{"errors":["permission denied"]}"#.into(),
            method: "GET".into(),
            url: "http://h/v1/x".into(),
            retry_after: None,
        };
        let err = secret_or_not_found(response).unwrap_err();
        assert_eq!(err.status(), Some(403));
    }

    #[test]
    fn debug_hides_the_token() {
        let client = Client::builder().token("s.hidden").build().unwrap();
        assert!(!format!("{client:?}").contains("s.hidden"));
        assert_eq!(client.with_token("").client_token(), None);
    }

    #[test]
    fn wrap_ttl_survives_a_token_change() {
        let client = Client::builder().token("s.a").build().unwrap();
        assert_eq!(client.wrap_ttl(), None);
        let wrapping = client.with_wrap_ttl("5m").with_token("s.b");
        assert_eq!(wrapping.wrap_ttl(), Some("5m"));
        assert_eq!(wrapping.client_token(), Some("s.b"));
        assert_eq!(wrapping.with_wrap_ttl("").wrap_ttl(), None);
    }
}
