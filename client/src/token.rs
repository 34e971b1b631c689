//! The token auth method (`auth/token/`): create, look up, renew and revoke tokens.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::{Client, Error, Secret};

/// The token API; get it with [`Client::token`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let request = cofre_client::token::CreateRequest {
///     policies: vec!["app-reader".into()],
///     ttl: Some("1h".into()),
///     ..Default::default()
/// };
/// let created = client.token().create(&request).await?;
/// let token = created.auth.map(|a| a.client_token).unwrap_or_default();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    client: &'a Client,
}

/// What to create; unset fields take the server's defaults.
///
/// ```no_run
/// let request = cofre_client::token::CreateRequest {
///     display_name: Some("ci".into()),
///     num_uses: Some(3),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateRequest {
    /// The token's value (needs `sudo`); generated when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Policies to attach (a subset of the parent's unless the parent is root).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Free-form metadata, shown in lookups and audit logs.
    #[serde(rename = "meta", skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Initial TTL (`"1h"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Hard upper bound on the token's life.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_max_ttl: Option<String>,
    /// Makes the token periodic: each renewal resets its TTL to this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Create without a parent (needs `sudo`), so it outlives its creator.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_parent: bool,
    /// Leave out the `default` policy.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_default_policy: bool,
    /// A non-secret name for the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Uses before the token is revoked (0 = unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_uses: Option<u64>,
    /// Whether the token may be renewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewable: Option<bool>,
    /// `service` or `batch`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a child of this client's token (`auth/token/create`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let created = client.token().create(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateRequest) -> Result<Secret, Error> {
        self.post("auth/token/create", &to_value(request)?).await
    }

    /// Creates a token with no parent (`auth/token/create-orphan`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let orphan = client.token().create_orphan(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_orphan(&self, request: &CreateRequest) -> Result<Secret, Error> {
        self.post("auth/token/create-orphan", &to_value(request)?)
            .await
    }

    /// Creates a token from the token role `role` (`auth/token/create/<role>`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let ci = client.token().create_with_role("ci", &Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_with_role(
        &self,
        role: &str,
        request: &CreateRequest,
    ) -> Result<Secret, Error> {
        self.post(&format!("auth/token/create/{role}"), &to_value(request)?)
            .await
    }

    /// Looks up another token's properties (`data` holds them).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let info = client.token().lookup("s.other").await?;
    /// let policies = info.field("policies");
    /// # Ok(()) }
    /// ```
    pub async fn lookup(&self, token: &str) -> Result<Secret, Error> {
        self.post("auth/token/lookup", &json!({ "token": token }))
            .await
    }

    /// Looks up this client's own token.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let me = client.token().lookup_self().await?;
    /// # Ok(()) }
    /// ```
    pub async fn lookup_self(&self) -> Result<Secret, Error> {
        let secret = self.client.read("auth/token/lookup-self").await?;
        required(secret, "auth/token/lookup-self")
    }

    /// Looks up a token by its accessor.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let info = client.token().lookup_accessor("accessor-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Secret, Error> {
        self.post(
            "auth/token/lookup-accessor",
            &json!({ "accessor": accessor }),
        )
        .await
    }

    /// Renews another token, optionally asking for a new TTL (`increment`, e.g. `"1h"`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let renewed = client.token().renew("s.other", Some("30m")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn renew(&self, token: &str, increment: Option<&str>) -> Result<Secret, Error> {
        let body = with_increment(json!({ "token": token }), increment);
        self.put("auth/token/renew", &body).await
    }

    /// Renews this client's own token.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.token().renew_self(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn renew_self(&self, increment: Option<&str>) -> Result<Secret, Error> {
        let body = with_increment(json!({}), increment);
        self.put("auth/token/renew-self", &body).await
    }

    /// Renews a token by its accessor.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.token().renew_accessor("accessor-id", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn renew_accessor(
        &self,
        accessor: &str,
        increment: Option<&str>,
    ) -> Result<Secret, Error> {
        let body = with_increment(json!({ "accessor": accessor }), increment);
        self.post("auth/token/renew-accessor", &body).await
    }

    /// Revokes a token and all its children (`auth/token/revoke`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.token().revoke("s.other").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, token: &str) -> Result<(), Error> {
        let body = json!({ "token": token });
        self.client
            .write("auth/token/revoke", &body)
            .await
            .map(drop)
    }

    /// Revokes this client's own token (and its children).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.token().revoke_self().await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_self(&self) -> Result<(), Error> {
        self.client
            .write("auth/token/revoke-self", &json!({}))
            .await
            .map(drop)
    }

    /// Revokes a token by its accessor.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.token().revoke_accessor("accessor-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_accessor(&self, accessor: &str) -> Result<(), Error> {
        let body = json!({ "accessor": accessor });
        self.client
            .post("auth/token/revoke-accessor", &body)
            .await
            .map(drop)
    }

    /// Revokes a token but not its children, which become orphans (needs `sudo`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.token().revoke_orphan("s.other").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_orphan(&self, token: &str) -> Result<(), Error> {
        let body = json!({ "token": token });
        self.client
            .write("auth/token/revoke-orphan", &body)
            .await
            .map(drop)
    }

    /// What `token` may do on `path`; `None` asks about this client's own token.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let mine = client.token().capabilities(None, "secret/data/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn capabilities(
        &self,
        token: Option<&str>,
        path: &str,
    ) -> Result<Vec<String>, Error> {
        match token {
            Some(token) => self.client.sys().capabilities(token, path).await,
            None => self.client.sys().capabilities_self(path).await,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Secret, Error> {
        required(self.client.post(path, body).await?, path)
    }

    async fn put(&self, path: &str, body: &Value) -> Result<Secret, Error> {
        required(self.client.write(path, body).await?, path)
    }
}

fn with_increment(mut body: Value, increment: Option<&str>) -> Value {
    if let (Some(increment), Some(map)) = (increment, body.as_object_mut()) {
        map.insert("increment".into(), Value::String(increment.to_string()));
    }
    body
}

fn required(secret: Option<Secret>, path: &str) -> Result<Secret, Error> {
    secret.ok_or_else(|| Error::Decode {
        method: "POST".into(),
        url: path.to_string(),
        detail: "the server returned no body where a token response was expected".into(),
    })
}

fn to_value(request: &CreateRequest) -> Result<Value, Error> {
    serde_json::to_value(request)
        .map_err(|e| Error::Config(format!("cannot encode the token request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_sends_only_what_is_set() {
        let request = CreateRequest {
            policies: vec!["a".into()],
            metadata: [("team".to_string(), "x".to_string())].into(),
            ttl: Some("1h".into()),
            renewable: Some(false),
            ..Default::default()
        };
        assert_eq!(
            to_value(&request).unwrap(),
            json!({"policies": ["a"], "meta": {"team": "x"}, "ttl": "1h", "renewable": false})
        );
        assert_eq!(to_value(&CreateRequest::default()).unwrap(), json!({}));
    }

    #[test]
    fn increments_are_added_when_given() {
        assert_eq!(
            with_increment(json!({"token": "t"}), Some("1h")),
            json!({"token": "t", "increment": "1h"})
        );
        assert_eq!(with_increment(json!({}), None), json!({}));
    }
}
