//! Leases (`sys/leases/*`): look up, renew and revoke the leases of dynamic secrets such
//! as database credentials.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::Body;
use crate::{Client, Error, Secret};

/// The `sys/leases` API; get it with [`Client::leases`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let creds = client.read("database/creds/readonly").await?.expect("a credential");
/// let renewed = client.leases().renew(&creds.lease_id, Some("1h")).await?;
/// println!("valid for {} more seconds", renewed.lease_duration);
/// client.leases().revoke(&creds.lease_id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Leases<'a> {
    client: &'a Client,
}

/// What `sys/leases/lookup` tells about a lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The lease id (`database/creds/readonly/<random>`).
    pub id: String,
    /// The path that issued it (`database/creds/readonly`).
    #[serde(default)]
    pub path: String,
    /// RFC 3339.
    pub issue_time: String,
    /// RFC 3339.
    pub expire_time: String,
    /// RFC 3339, or `None` when never renewed.
    #[serde(default)]
    pub last_renewal: Option<String>,
    /// Whether `renew` may extend it.
    pub renewable: bool,
    /// Seconds left.
    pub ttl: i64,
}

/// What `sys/leases/count` tells: live leases in all, per mount and per lease path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeaseCounts {
    /// Every live lease.
    pub lease_count: u64,
    /// Per mount path (`database/`).
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Per lease path (`database/creds/readonly`).
    #[serde(default)]
    pub counts_by_path: std::collections::BTreeMap<String, u64>,
    /// Failed revocation attempts since the server unsealed.
    #[serde(default)]
    pub revocation_failures: u64,
}

impl LeaseCounts {
    /// Live leases under `prefix` (a path, matched whole segments at a time, as
    /// `revoke-prefix` matches it).
    ///
    /// ```
    /// # use cofre_client::LeaseCounts;
    /// let counts = LeaseCounts {
    ///     counts_by_path: [("database/creds/ro".to_string(), 3), ("database/creds/row".into(), 1)].into(),
    ///     ..LeaseCounts::default()
    /// };
    /// assert_eq!(counts.under("database/creds/ro"), 3);
    /// assert_eq!(counts.under("database/"), 4);
    /// ```
    pub fn under(&self, prefix: &str) -> u64 {
        let prefix = prefix.trim().trim_matches('/');
        self.counts_by_path
            .iter()
            .filter(|(path, _)| {
                prefix.is_empty()
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(_, n)| n)
            .sum()
    }
}

impl<'a> Leases<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Looks a lease up; an unknown lease is an error (400 "invalid lease").
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let info = client.leases().lookup("database/creds/ro/abc").await?;
    /// println!("{} s left", info.ttl);
    /// # Ok(()) }
    /// ```
    pub async fn lookup(&self, lease_id: &str) -> Result<LeaseInfo, Error> {
        let body = json!({ "lease_id": lease_id });
        let response = self
            .client
            .send(Method::PUT, "sys/leases/lookup", &[], Body::Json(&body))
            .await?;
        crate::sys::decode_payload(response)
    }

    /// Renews a lease by `increment` (a duration such as `"1h"`; `None`: by its original
    /// TTL). The server caps it at the lease's max TTL and says so in `warnings`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.leases().renew("database/creds/ro/abc", Some("30m")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn renew(&self, lease_id: &str, increment: Option<&str>) -> Result<Secret, Error> {
        let mut body = json!({ "lease_id": lease_id });
        if let Some(increment) = increment {
            body["increment"] = json!(increment);
        }
        let response = self
            .client
            .send(Method::PUT, "sys/leases/renew", &[], Body::Json(&body))
            .await?;
        crate::sys::decode_payload(response)
    }

    /// Revokes a lease now (its credential is dropped in the backend).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.leases().revoke("database/creds/ro/abc").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, lease_id: &str) -> Result<(), Error> {
        self.client
            .write("sys/leases/revoke", &json!({ "lease_id": lease_id }))
            .await
            .map(drop)
    }

    /// Revokes every lease under `prefix` (needs `sudo`). With `force`, leases are removed
    /// without revoking their secrets in the backend (for a backend that is gone); the
    /// server answers with a warning then.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.leases().revoke_prefix("database/creds/readonly", false).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_prefix(&self, prefix: &str, force: bool) -> Result<Option<Secret>, Error> {
        let action = if force {
            "revoke-force"
        } else {
            "revoke-prefix"
        };
        let prefix = prefix.trim().trim_matches('/');
        self.client
            .write(&format!("sys/leases/{action}/{prefix}"), &json!({}))
            .await
    }

    /// Live lease counts (`sys/leases/count`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let counts = client.leases().count().await?;
    /// println!("{} leases, {} under database/", counts.lease_count, counts.under("database"));
    /// # Ok(()) }
    /// ```
    pub async fn count(&self) -> Result<LeaseCounts, Error> {
        match self.client.read("sys/leases/count").await? {
            Some(secret) => secret.data_as(),
            None => Ok(LeaseCounts::default()),
        }
    }

    /// Lease ids and sub-paths one level below `prefix` (needs `sudo`); empty when none.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// for key in client.leases().list("database/creds/readonly").await? { println!("{key}") }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let prefix = prefix.trim().trim_matches('/');
        let secret = self
            .client
            .list(&format!("sys/leases/lookup/{prefix}/"))
            .await?;
        Ok(secret
            .and_then(|s| s.data)
            .and_then(|d| d.get("keys").cloned())
            .and_then(|k| serde_json::from_value(k).ok())
            .unwrap_or_default())
    }
}
