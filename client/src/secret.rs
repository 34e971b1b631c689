//! The response envelope every Vault-API call returns ([`Secret`]) and its `auth` and
//! `wrap_info` parts. Fields serialise in the order and shape the `vault` CLI prints them,
//! so `-format=json` output is the same from `cofre` and `vault`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::Error;

/// A response envelope: `{request_id, lease_id, lease_duration, renewable, data,
/// warnings, auth, wrap_info}`.
///
/// ```no_run
/// # async fn demo() -> Result<(), cofre_client::Error> {
/// let client = cofre_client::Client::from_env()?;
/// if let Some(secret) = client.read("secret/data/app").await? {
///     println!("request {} returned {:?}", secret.request_id, secret.data);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    /// The server's id for the request.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_id: String,
    /// The lease of a leased secret, empty otherwise.
    #[serde(default, deserialize_with = "null_as_default")]
    pub lease_id: String,
    /// The lease (or, for KV, refresh interval) in seconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub lease_duration: i64,
    /// Whether the lease can be renewed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub renewable: bool,
    /// The payload; its shape depends on the path.
    #[serde(default)]
    pub data: Option<Value>,
    /// Non-fatal remarks from the server.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// Set by authentication and token-creation endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthInfo>,
    /// Set when the response was wrapped in a single-use token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_info: Option<WrapInfo>,
    /// The type of the mount that answered, when the server says.
    #[serde(default, skip_serializing_if = "is_blank")]
    pub mount_type: Option<String>,
}

/// The `auth` block: a new token and what it may do.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let created = client.token().create(&Default::default()).await?;
/// if let Some(auth) = created.auth {
///     println!("token {} expires in {}s", auth.accessor, auth.lease_duration);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthInfo {
    /// The token itself.
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_token: String,
    /// The token's accessor (names it without granting its power).
    #[serde(default, deserialize_with = "null_as_default")]
    pub accessor: String,
    /// Every policy attached to the token.
    #[serde(default)]
    pub policies: Option<Vec<String>>,
    /// The policies attached to the token itself.
    #[serde(default)]
    pub token_policies: Option<Vec<String>>,
    /// Policies inherited from an identity.
    #[serde(default)]
    pub identity_policies: Option<Vec<String>>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
    /// True when the token has no parent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub orphan: bool,
    /// The identity entity, if any.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entity_id: String,
    /// The token's TTL in seconds (0 = never expires).
    #[serde(default, deserialize_with = "null_as_default")]
    pub lease_duration: i64,
    /// Whether the token can be renewed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub renewable: bool,
    /// A pending MFA requirement (not used by Cofre).
    #[serde(default)]
    pub mfa_requirement: Option<Value>,
}

/// The `wrap_info` block of a wrapped response.
///
/// ```no_run
/// # fn demo(secret: cofre_client::Secret) {
/// if let Some(wrap) = secret.wrap_info { println!("unwrap with {}", wrap.token) }
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WrapInfo {
    /// The single-use wrapping token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub token: String,
    /// The wrapping token's accessor.
    #[serde(default, deserialize_with = "null_as_default")]
    pub accessor: String,
    /// Seconds until the wrapping token expires.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ttl: i64,
    /// When the wrapping token was created (RFC 3339).
    #[serde(default, deserialize_with = "null_as_default")]
    pub creation_time: String,
    /// The path whose response was wrapped.
    #[serde(default, deserialize_with = "null_as_default")]
    pub creation_path: String,
    /// The accessor of a wrapped token, if a token was wrapped.
    #[serde(default, deserialize_with = "null_as_default")]
    pub wrapped_accessor: String,
}

impl Secret {
    /// Deserialises `data` into the caller's type.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Health { initialized: bool }
    /// if let Some(secret) = client.read("sys/seal-status").await? {
    ///     let health: Health = secret.data_as()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let data = self.data.clone().unwrap_or(Value::Null);
        serde_json::from_value(data).map_err(|e| Error::Decode {
            method: String::new(),
            url: String::new(),
            detail: format!("the response data does not have the expected shape: {e}"),
        })
    }

    /// One field of `data`, if `data` is an object holding it.
    ///
    /// ```no_run
    /// # fn demo(secret: cofre_client::Secret) {
    /// let version = secret.field("version").and_then(|v| v.as_u64());
    /// # }
    /// ```
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.data.as_ref()?.as_object()?.get(name)
    }

    /// The `data.keys` list of a LIST response (empty when absent).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// if let Some(list) = client.list("secret/metadata/").await? {
    ///     for key in list.keys() { println!("{key}") }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn keys(&self) -> Vec<String> {
        match self.field("keys") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// True when `data` is a non-empty object or there are warnings: what makes a 404
    /// answer still worth returning (a deleted KV v2 version carries its metadata).
    pub(crate) fn has_content(&self) -> bool {
        let has_data = match &self.data {
            Some(Value::Object(map)) => !map.is_empty(),
            _ => false,
        };
        has_data || self.warnings.as_ref().is_some_and(|w| !w.is_empty())
    }

    /// Parses a response body the way Vault's client does: an empty body is `None`; a
    /// body with none of the envelope's fields (`sys/health`, `sys/seal-status`, …) is
    /// returned whole as `data`.
    pub(crate) fn parse(body: &str) -> Result<Option<Secret>, String> {
        if body.trim().is_empty() {
            return Ok(None);
        }
        let mut secret: Secret = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let data_is_empty = matches!(secret.data, None | Some(Value::Null));
        if secret == Secret::default() || (is_bare(&secret) && data_is_empty) {
            let whole: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
            match whole {
                Value::Object(map) if map.len() == 1 && map.contains_key("errors") => {
                    return Ok(None)
                }
                Value::Object(map) if !map.is_empty() && !has_envelope_keys(&map) => {
                    secret.data = Some(Value::Object(map));
                }
                _ => {}
            }
        }
        Ok(Some(secret))
    }
}

/// True when nothing but `data` could carry information.
fn is_bare(secret: &Secret) -> bool {
    Secret {
        data: None,
        ..secret.clone()
    } == Secret::default()
}

fn has_envelope_keys(map: &serde_json::Map<String, Value>) -> bool {
    ["request_id", "lease_id", "data", "auth", "wrap_info"]
        .iter()
        .any(|k| map.contains_key(*k))
}

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// Reads `null` as the type's default, as Go's decoder does for plain fields.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_parses_and_reserialises_in_vault_order() {
        let body = r#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,
            "data":{"b":1,"a":2},"wrap_info":null,"warnings":null,"auth":null}"#;
        let secret = Secret::parse(body).unwrap().unwrap();
        assert_eq!(secret.request_id, "r");
        let text = serde_json::to_string(&secret).unwrap();
        assert_eq!(
            text,
            r#"{"request_id":"r","lease_id":"","lease_duration":0,"renewable":false,"data":{"a":2,"b":1},"warnings":null}"#
        );
    }

    #[test]
    fn nulls_in_plain_fields_are_defaults() {
        let secret = Secret::parse(
            r#"{"request_id":null,"lease_id":null,"lease_duration":null,"data":{"x":1}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(secret.lease_id, "");
        assert_eq!(secret.lease_duration, 0);
    }

    #[test]
    fn bare_json_becomes_data() {
        let secret = Secret::parse(r#"{"initialized":true,"sealed":false,"t":1}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            secret.data,
            Some(json!({"initialized": true, "sealed": false, "t": 1}))
        );
    }

    #[test]
    fn errors_only_and_empty_bodies_are_nothing() {
        assert_eq!(Secret::parse(r#"{"errors":[]}"#).unwrap(), None);
        assert_eq!(Secret::parse("").unwrap(), None);
        assert_eq!(Secret::parse("  \n").unwrap(), None);
        assert!(Secret::parse("not json").is_err());
    }

    #[test]
    fn auth_block_round_trips() {
        let body = json!({"request_id":"r","lease_id":"","lease_duration":0,"renewable":false,
            "data":null,"warnings":null,"auth":{"client_token":"s.x","accessor":"a",
            "policies":["default"],"token_policies":["default"],"identity_policies":null,
            "metadata":{"k":"v"},"orphan":false,"entity_id":"","lease_duration":3600,
            "renewable":true,"mfa_requirement":null,"token_type":"service"}});
        let secret = Secret::parse(&body.to_string()).unwrap().unwrap();
        let auth = secret.auth.clone().unwrap();
        assert_eq!(auth.client_token, "s.x");
        assert_eq!(auth.lease_duration, 3600);
        let back = serde_json::to_value(&secret).unwrap();
        assert_eq!(back["auth"]["metadata"], json!({"k":"v"}));
        assert!(back["auth"].get("token_type").is_none());
    }

    #[test]
    fn keys_and_fields() {
        let secret = Secret {
            data: Some(json!({"keys": ["a", "b/"], "n": 3})),
            ..Secret::default()
        };
        assert_eq!(secret.keys(), vec!["a", "b/"]);
        assert_eq!(secret.field("n"), Some(&json!(3)));
        assert!(secret.has_content());
        assert!(!Secret::default().has_content());
    }

    #[test]
    fn data_as_decodes_into_caller_types() {
        #[derive(Deserialize)]
        struct Db {
            password: String,
        }
        let secret = Secret {
            data: Some(json!({"password": "p"})),
            ..Secret::default()
        };
        assert_eq!(secret.data_as::<Db>().unwrap().password, "p");
        assert!(Secret::default().data_as::<Db>().is_err());
    }
}
