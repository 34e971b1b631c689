//! The KV version 1 engine: one unversioned value per path.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::paths::join;
use crate::{Client, Error, Secret};

/// A KV v1 mount; get one with [`Client::kv1`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let kv = client.kv1("kv");
/// kv.put("app", &serde_json::json!({"password": "s3cret"})).await?;
/// let keys = kv.list("").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Kv1<'a> {
    client: &'a Client,
    mount: String,
}

impl<'a> Kv1<'a> {
    pub(crate) fn new(client: &'a Client, mount: &str) -> Self {
        Self {
            client,
            mount: mount.trim_matches('/').to_string(),
        }
    }

    fn path(&self, path: &str) -> String {
        join(&[&self.mount, path])
    }

    /// The envelope at `path`, or `None` when nothing is stored there.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let secret = client.kv1("kv").get("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, path: &str) -> Result<Option<Secret>, Error> {
        self.client.read(&self.path(path)).await
    }

    /// The value at `path` deserialised into the caller's type.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct App { password: String }
    /// let app: Option<App> = client.kv1("kv").read("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn read<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        match self.get(path).await? {
            Some(secret) if secret.data.is_some() => secret.data_as().map(Some),
            _ => Ok(None),
        }
    }

    /// Stores `data` (any serialisable map) at `path`, replacing what was there.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv1("kv").put("app", &serde_json::json!({"password": "s3cret"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, path: &str, data: &impl Serialize) -> Result<(), Error> {
        let body = crate::kv2::to_json(data)?;
        self.client.write(&self.path(path), &body).await.map(drop)
    }

    /// Deletes the value at `path`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv1("kv").delete("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, path: &str) -> Result<(), Error> {
        self.client.delete(&self.path(path)).await.map(drop)
    }

    /// The keys under `path` (folders end in `/`); empty when there are none.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// for key in client.kv1("kv").list("team/").await? { println!("{key}") }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, path: &str) -> Result<Vec<String>, Error> {
        let path = format!("{}/", self.path(path));
        Ok(self
            .client
            .list(&path)
            .await?
            .map(|s| s.keys())
            .unwrap_or_default())
    }
}
