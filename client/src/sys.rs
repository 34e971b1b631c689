//! The system backend (`sys/`): health and seal lifecycle, mounts, ACL policies,
//! capabilities, key rotation and response wrapping ([`wrapping`]). Response types live
//! in [`types`].

pub mod types;
pub mod wrapping;

use std::collections::BTreeMap;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::client::{Body, RawResponse};
use crate::{Client, Error, Secret};
pub use types::*;
pub use wrapping::WrapLookup;

/// The `sys/` API; get it with [`Client::sys`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let sys = client.sys();
/// if sys.seal_status().await?.sealed { eprintln!("unseal first") }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sys<'a> {
    client: &'a Client,
}

impl<'a> Sys<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// `sys/health`. Answers for sealed, uninitialised and standby servers too (their
    /// non-200 statuses are reported in the fields, not as errors).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let health = client.sys().health().await?;
    /// println!("initialized={} sealed={}", health.initialized, health.sealed);
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<Health, Error> {
        let response = self
            .client
            // Not retried: 503 and 429 are answers here (sealed, standby), not failures.
            .send_once(Method::GET, "sys/health", &[], &Body::None)
            .await?;
        let answered = matches!(response.status, 200 | 429 | 472 | 473 | 501 | 503);
        if !answered || response.body.trim().is_empty() {
            return Err(response.to_error());
        }
        response.json()
    }

    /// `sys/seal-status`: initialised, sealed, unseal progress.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let status = client.sys().seal_status().await?;
    /// println!("{}/{} keys", status.progress, status.t);
    /// # Ok(()) }
    /// ```
    pub async fn seal_status(&self) -> Result<SealStatus, Error> {
        self.get("sys/seal-status").await
    }

    /// `sys/leader`: whether HA is enabled and who leads.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let leader = client.sys().leader().await?;
    /// # Ok(()) }
    /// ```
    pub async fn leader(&self) -> Result<Leader, Error> {
        self.get("sys/leader").await
    }

    /// `sys/init` (GET): whether the server is initialised.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let initialized = client.sys().init_status().await?;
    /// # Ok(()) }
    /// ```
    pub async fn init_status(&self) -> Result<bool, Error> {
        let status: Value = self.get("sys/init").await?;
        Ok(status["initialized"].as_bool().unwrap_or(false))
    }

    /// Initialises a new server: generates the root key, splits the unseal key into
    /// shares and returns them with the initial root token.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let init = client.sys().init(&cofre_client::sys::InitRequest::new(5, 3)).await?;
    /// println!("root token {}", init.root_token);
    /// # Ok(()) }
    /// ```
    pub async fn init(&self, request: &InitRequest) -> Result<InitResponse, Error> {
        self.put("sys/init", &to_value(request)?).await
    }

    /// Submits one unseal key share; returns the progress (or the unsealed status).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let status = client.sys().unseal("base64-share").await?;
    /// # Ok(()) }
    /// ```
    pub async fn unseal(&self, key: &str) -> Result<SealStatus, Error> {
        self.put("sys/unseal", &json!({ "key": key })).await
    }

    /// Discards the key shares submitted so far.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().unseal_reset().await?;
    /// # Ok(()) }
    /// ```
    pub async fn unseal_reset(&self) -> Result<SealStatus, Error> {
        self.put("sys/unseal", &json!({ "reset": true })).await
    }

    /// Seals the server (needs `sudo` on `sys/seal`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().seal().await?;
    /// # Ok(()) }
    /// ```
    pub async fn seal(&self) -> Result<(), Error> {
        self.client.write("sys/seal", &json!({})).await.map(drop)
    }

    /// Every secrets engine mount, keyed by path (`secret/`, `sys/`, …).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// for (path, mount) in client.sys().mounts().await? { println!("{path} {}", mount.mount_type) }
    /// # Ok(()) }
    /// ```
    pub async fn mounts(&self) -> Result<BTreeMap<String, MountInfo>, Error> {
        self.get("sys/mounts").await
    }

    /// Enables a secrets engine at `path`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let mut request = cofre_client::sys::MountRequest::new("kv");
    /// request.options = Some([("version".to_string(), "2".to_string())].into());
    /// client.sys().enable_mount("team", &request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn enable_mount(&self, path: &str, request: &MountRequest) -> Result<(), Error> {
        let path = format!("sys/mounts/{}", path.trim_matches('/'));
        self.client.post(&path, &to_value(request)?).await.map(drop)
    }

    /// Disables the mount at `path`, deleting its data.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().disable_mount("team").await?;
    /// # Ok(()) }
    /// ```
    pub async fn disable_mount(&self, path: &str) -> Result<(), Error> {
        let path = format!("sys/mounts/{}", path.trim_matches('/'));
        self.client.delete(&path).await.map(drop)
    }

    /// The tunable settings of the mount at `path`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let config = client.sys().mount_tune("secret").await?;
    /// # Ok(()) }
    /// ```
    pub async fn mount_tune(&self, path: &str) -> Result<MountConfig, Error> {
        self.get(&format!("sys/mounts/{}/tune", path.trim_matches('/')))
            .await
    }

    /// Changes the mount's settings; unset fields stay as they are.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let tune = cofre_client::sys::MountConfigInput {
    ///     default_lease_ttl: Some("1h".into()),
    ///     ..Default::default()
    /// };
    /// client.sys().tune_mount("secret", &tune).await?;
    /// # Ok(()) }
    /// ```
    pub async fn tune_mount(&self, path: &str, config: &MountConfigInput) -> Result<(), Error> {
        let path = format!("sys/mounts/{}/tune", path.trim_matches('/'));
        self.client.post(&path, &to_value(config)?).await.map(drop)
    }

    /// Moves a mount to a new path (`sys/remount`); returns the migration id when the
    /// server reports one.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().remount("team", "team-a").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remount(&self, from: &str, to: &str) -> Result<Option<String>, Error> {
        let body = json!({ "from": from, "to": to });
        let secret = self.client.post("sys/remount", &body).await?;
        Ok(secret
            .as_ref()
            .and_then(|s| s.field("migration_id"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// The state of a remount started by [`Sys::remount`] (`success`, `failure`,
    /// `in-progress`), or `None` when the server keeps no migration record.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let state = client.sys().remount_status("migration-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remount_status(&self, migration_id: &str) -> Result<Option<String>, Error> {
        let secret = self
            .client
            .read(&format!("sys/remount/status/{migration_id}"))
            .await?;
        Ok(secret
            .as_ref()
            .and_then(|s| s.field("migration_info"))
            .and_then(|info| info.get("status"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// The names of every ACL policy.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let names = client.sys().list_policies().await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_policies(&self) -> Result<Vec<String>, Error> {
        let secret = self.client.list("sys/policies/acl").await?;
        Ok(secret.map(|s| s.keys()).unwrap_or_default())
    }

    /// The text of the ACL policy `name`, or `None` if there is no such policy.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// if let Some(text) = client.sys().read_policy("default").await? { println!("{text}") }
    /// # Ok(()) }
    /// ```
    pub async fn read_policy(&self, name: &str) -> Result<Option<String>, Error> {
        let secret = self
            .client
            .read(&format!("sys/policies/acl/{name}"))
            .await?;
        Ok(secret
            .as_ref()
            .and_then(|s| s.field("policy"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// Creates or replaces the ACL policy `name` (HCL or JSON text).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().write_policy("reader", r#"path "secret/data/*" { capabilities = ["read"] }"#).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_policy(&self, name: &str, policy: &str) -> Result<(), Error> {
        let body = json!({ "policy": policy });
        self.client
            .write(&format!("sys/policies/acl/{name}"), &body)
            .await
            .map(drop)
    }

    /// Deletes the ACL policy `name`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().delete_policy("reader").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_policy(&self, name: &str) -> Result<(), Error> {
        self.client
            .delete(&format!("sys/policies/acl/{name}"))
            .await
            .map(drop)
    }

    /// What `token` may do on `path` (`["read", "list"]`, `["deny"]`, `["root"]`, …).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let caps = client.sys().capabilities("s.other", "secret/data/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn capabilities(&self, token: &str, path: &str) -> Result<Vec<String>, Error> {
        let body = json!({ "token": token, "paths": [path] });
        let secret = self.client.post("sys/capabilities", &body).await?;
        Ok(capabilities_for(secret, path))
    }

    /// What this client's own token may do on `path`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let caps = client.sys().capabilities_self("secret/data/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn capabilities_self(&self, path: &str) -> Result<Vec<String>, Error> {
        let body = json!({ "paths": [path] });
        let secret = self.client.post("sys/capabilities-self", &body).await?;
        Ok(capabilities_for(secret, path))
    }

    /// Adds a new encryption key term to the barrier's keyring (`sys/rotate`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.sys().rotate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn rotate(&self) -> Result<(), Error> {
        self.client.post("sys/rotate", &json!({})).await.map(drop)
    }

    /// The barrier's current key term and when it was installed (`sys/key-status`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// println!("term {}", client.sys().key_status().await?.term);
    /// # Ok(()) }
    /// ```
    pub async fn key_status(&self) -> Result<KeyStatus, Error> {
        self.get("sys/key-status").await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let response = self.client.send(Method::GET, path, &[], Body::None).await?;
        decode_payload(response)
    }

    async fn put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, Error> {
        let response = self
            .client
            .send(Method::PUT, path, &[], Body::Json(body))
            .await?;
        decode_payload(response)
    }
}

/// The response's payload: `data` of an envelope, or the whole body for the sys
/// endpoints that answer with bare JSON.
pub(crate) fn decode_payload<T: DeserializeOwned>(response: RawResponse) -> Result<T, Error> {
    if !response.is_success() {
        return Err(response.to_error());
    }
    let whole: Value = if response.body.trim().is_empty() {
        Value::Null
    } else {
        response.json()?
    };
    let payload = match whole.get("data") {
        Some(data @ Value::Object(_)) if whole.get("request_id").is_some() => data.clone(),
        _ => whole,
    };
    serde_json::from_value(payload).map_err(|e| response.decode_error(e.to_string()))
}

fn capabilities_for(secret: Option<Secret>, path: &str) -> Vec<String> {
    let Some(secret) = secret else {
        return Vec::new();
    };
    let list = secret
        .field(path)
        .or_else(|| secret.field("capabilities"))
        .and_then(Value::as_array);
    list.map(|items| {
        items
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

fn to_value(value: &impl serde::Serialize) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::Config(format!("cannot encode the request as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            body: body.into(),
            method: "GET".into(),
            url: "http://h/v1/sys/x".into(),
            retry_after: None,
        }
    }

    #[test]
    fn bare_and_enveloped_payloads_decode_alike() {
        let bare: KeyStatus = decode_payload(response(
            200,
            r#"{"term":2,"install_time":"t","encryptions":5}"#,
        ))
        .unwrap();
        let wrapped: KeyStatus = decode_payload(response(
            200,
            r#"{"term":9,"request_id":"r","data":{"term":2,"install_time":"t","encryptions":5}}"#,
        ))
        .unwrap();
        assert_eq!(bare, wrapped);
        assert_eq!(bare.term, 2);
    }

    #[test]
    fn error_statuses_stay_errors() {
        let err = decode_payload::<KeyStatus>(response(503, r#"{"errors":["Vault is sealed"]}"#))
            .unwrap_err();
        assert_eq!(err.status(), Some(503));
    }

    #[test]
    fn capabilities_prefer_the_path_entry() {
        let secret = Secret {
            data: Some(json!({"secret/x": ["read"], "capabilities": ["read"]})),
            ..Secret::default()
        };
        assert_eq!(capabilities_for(Some(secret), "secret/x"), vec!["read"]);
        assert!(capabilities_for(None, "x").is_empty());
    }
}
