//! The KV version 2 engine: versioned values (`data/`), soft delete and undelete,
//! destroy, metadata and subkeys.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::paths::join;
use crate::secret::null_as_default;
use crate::{Client, Error, Secret};

/// A KV v2 mount; get one with [`Client::kv2`]. Paths are relative to the mount, without
/// the `data/` or `metadata/` segment.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let kv = client.kv2("secret");
/// kv.put("app/db", &serde_json::json!({"password": "s3cret"}), None).await?;
/// let value: Option<serde_json::Value> = kv.read("app/db").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Kv2<'a> {
    client: &'a Client,
    mount: String,
}

/// What the server records about one version.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let version = client.kv2("secret").put("app", &serde_json::json!({"k": "v"}), None).await?;
/// assert!(!version.destroyed);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionMetadata {
    /// When the version was written (RFC 3339).
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_time: String,
    /// The secret's custom metadata at the time.
    #[serde(default)]
    pub custom_metadata: Option<BTreeMap<String, String>>,
    /// When the version was soft-deleted; empty if it was not.
    #[serde(default, deserialize_with = "null_as_default")]
    pub deletion_time: String,
    /// True once the version's data is destroyed for good.
    #[serde(default, deserialize_with = "null_as_default")]
    pub destroyed: bool,
    /// The version number (1, 2, …).
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: u64,
}

/// A secret's metadata: its settings and every version's [`VersionMetadata`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// if let Some(meta) = client.kv2("secret").read_metadata("app").await? {
///     println!("current version {}", meta.current_version);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KvMetadata {
    /// Whether every write must pass `cas`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cas_required: bool,
    /// When the secret was first written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_time: String,
    /// The newest version number.
    #[serde(default, deserialize_with = "null_as_default")]
    pub current_version: u64,
    /// Free-form string metadata.
    #[serde(default)]
    pub custom_metadata: Option<BTreeMap<String, String>>,
    /// How long versions live before soft deletion (`"0s"` = forever).
    #[serde(default, deserialize_with = "null_as_default")]
    pub delete_version_after: String,
    /// How many versions are kept (0 = the mount's setting).
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_versions: u64,
    /// The oldest version still kept.
    #[serde(default, deserialize_with = "null_as_default")]
    pub oldest_version: u64,
    /// When the secret was last written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub updated_time: String,
    /// Every kept version, keyed by its number as a string.
    #[serde(default)]
    pub versions: BTreeMap<String, VersionMetadata>,
}

/// Changes to a secret's metadata; `None` fields are left alone.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let update = cofre_client::kv2::MetadataUpdate { max_versions: Some(5), ..Default::default() };
/// client.kv2("secret").write_metadata("app", &update).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetadataUpdate {
    /// Versions to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_versions: Option<u64>,
    /// Require `cas` on every write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cas_required: Option<bool>,
    /// A duration such as `"720h"` after which versions are soft-deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_version_after: Option<String>,
    /// Replaces the custom metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_metadata: Option<BTreeMap<String, String>>,
}

impl<'a> Kv2<'a> {
    pub(crate) fn new(client: &'a Client, mount: &str) -> Self {
        Self {
            client,
            mount: mount.trim_matches('/').to_string(),
        }
    }

    fn path(&self, section: &str, path: &str) -> String {
        join(&[&self.mount, section, path])
    }

    /// The latest version's envelope (`data.data` and `data.metadata`), or `None`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let secret = client.kv2("secret").get("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, path: &str) -> Result<Option<Secret>, Error> {
        self.client.read(&self.path("data", path)).await
    }

    /// One version's envelope. A deleted version comes back with `data.data` null and
    /// its metadata.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let first = client.kv2("secret").get_version("app", 1).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_version(&self, path: &str, version: u64) -> Result<Option<Secret>, Error> {
        let version = version.to_string();
        self.client
            .read_with_query(&self.path("data", path), &[("version", &version)])
            .await
    }

    /// The latest version's data deserialised into the caller's type; `None` when the
    /// secret does not exist or its latest version is deleted.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Db { username: String, password: String }
    /// let db: Option<Db> = client.kv2("secret").read("app/db").await?;
    /// # Ok(()) }
    /// ```
    pub async fn read<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        inner_data(self.get(path).await?)
    }

    /// [`Kv2::read`] for one version.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let old: Option<serde_json::Value> = client.kv2("secret").read_version("app", 1).await?;
    /// # Ok(()) }
    /// ```
    pub async fn read_version<T: DeserializeOwned>(
        &self,
        path: &str,
        version: u64,
    ) -> Result<Option<T>, Error> {
        inner_data(self.get_version(path, version).await?)
    }

    /// Writes a new version. With `cas`, the write only succeeds if the current version
    /// is `cas` (0 = only if the secret does not exist yet).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let kv = client.kv2("secret");
    /// let v = kv.put("app", &serde_json::json!({"k": "v1"}), Some(0)).await?;
    /// kv.put("app", &serde_json::json!({"k": "v2"}), Some(v.version)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(
        &self,
        path: &str,
        data: &impl Serialize,
        cas: Option<u64>,
    ) -> Result<VersionMetadata, Error> {
        let body = json!({"data": to_json(data)?, "options": cas_options(cas)});
        let secret = self.client.write(&self.path("data", path), &body).await?;
        version_metadata(secret)
    }

    /// Merges `data` into the latest version (JSON merge patch: `null` removes a key),
    /// writing a new version.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv2("secret").patch("app", &serde_json::json!({"password": "rotated"}), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch(
        &self,
        path: &str,
        data: &impl Serialize,
        cas: Option<u64>,
    ) -> Result<VersionMetadata, Error> {
        let body = json!({"data": to_json(data)?, "options": cas_options(cas)});
        let secret = self.client.patch(&self.path("data", path), &body).await?;
        version_metadata(secret)
    }

    /// Soft-deletes the latest version (undo with [`Kv2::undelete`]).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv2("secret").delete("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, path: &str) -> Result<(), Error> {
        self.client.delete(&self.path("data", path)).await.map(drop)
    }

    /// Soft-deletes the given versions.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv2("secret").delete_versions("app", &[1, 2]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_versions(&self, path: &str, versions: &[u64]) -> Result<(), Error> {
        let body = json!({ "versions": versions });
        self.client
            .post(&self.path("delete", path), &body)
            .await
            .map(drop)
    }

    /// Restores soft-deleted versions.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv2("secret").undelete("app", &[2]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn undelete(&self, path: &str, versions: &[u64]) -> Result<(), Error> {
        let body = json!({ "versions": versions });
        self.client
            .post(&self.path("undelete", path), &body)
            .await
            .map(drop)
    }

    /// Destroys versions' data for good (their metadata stays).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv2("secret").destroy("app", &[1]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn destroy(&self, path: &str, versions: &[u64]) -> Result<(), Error> {
        let body = json!({ "versions": versions });
        self.client
            .write(&self.path("destroy", path), &body)
            .await
            .map(drop)
    }

    /// The keys under `path` (folders end in `/`); empty when there are none.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// for key in client.kv2("secret").list("app/").await? { println!("{key}") }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, path: &str) -> Result<Vec<String>, Error> {
        let path = format!("{}/", self.path("metadata", path));
        Ok(self
            .client
            .list(&path)
            .await?
            .map(|s| s.keys())
            .unwrap_or_default())
    }

    /// The secret's metadata and version history, or `None` if it does not exist.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let meta = client.kv2("secret").read_metadata("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn read_metadata(&self, path: &str) -> Result<Option<KvMetadata>, Error> {
        match self.client.read(&self.path("metadata", path)).await? {
            Some(secret) => secret.data_as().map(Some),
            None => Ok(None),
        }
    }

    /// Replaces the settings named in `update` (creating the metadata if needed).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let update = cofre_client::kv2::MetadataUpdate { cas_required: Some(true), ..Default::default() };
    /// client.kv2("secret").write_metadata("app", &update).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_metadata(&self, path: &str, update: &MetadataUpdate) -> Result<(), Error> {
        let body = to_json(update)?;
        self.client
            .post(&self.path("metadata", path), &body)
            .await
            .map(drop)
    }

    /// Merges `update` into existing metadata (JSON merge patch).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let update = cofre_client::kv2::MetadataUpdate { max_versions: Some(3), ..Default::default() };
    /// client.kv2("secret").patch_metadata("app", &update).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch_metadata(&self, path: &str, update: &MetadataUpdate) -> Result<(), Error> {
        let body = to_json(update)?;
        self.client
            .patch(&self.path("metadata", path), &body)
            .await
            .map(drop)
    }

    /// Deletes the secret: its metadata and every version.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv2("secret").delete_metadata("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_metadata(&self, path: &str) -> Result<(), Error> {
        self.client
            .delete(&self.path("metadata", path))
            .await
            .map(drop)
    }

    /// The secret's keys without their values (`data.subkeys`, values replaced by
    /// null), down to `depth` levels (`None` = all).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let shape = client.kv2("secret").subkeys("app", Some(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn subkeys(&self, path: &str, depth: Option<u32>) -> Result<Option<Value>, Error> {
        let depth = depth.map(|d| d.to_string());
        let query: Vec<(&str, &str)> = depth.iter().map(|d| ("depth", d.as_str())).collect();
        let secret = self
            .client
            .read_with_query(&self.path("subkeys", path), &query)
            .await?;
        Ok(secret.and_then(|s| s.field("subkeys").cloned()))
    }
}

/// Serialises a caller's value, which must become a JSON object.
pub(crate) fn to_json(data: &impl Serialize) -> Result<Value, Error> {
    let value = serde_json::to_value(data)
        .map_err(|e| Error::Config(format!("the data cannot be encoded as JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::Config(
            "the data must serialise to a JSON object (a map of keys to values)".into(),
        ));
    }
    Ok(value)
}

fn cas_options(cas: Option<u64>) -> Value {
    match cas {
        Some(cas) => json!({ "cas": cas }),
        None => json!({}),
    }
}

fn inner_data<T: DeserializeOwned>(secret: Option<Secret>) -> Result<Option<T>, Error> {
    let Some(secret) = secret else {
        return Ok(None);
    };
    match secret.field("data") {
        None | Some(Value::Null) => Ok(None),
        Some(data) => serde_json::from_value(data.clone())
            .map(Some)
            .map_err(|e| Error::Decode {
                method: "GET".into(),
                url: String::new(),
                detail: format!("the secret's data does not fit the requested type: {e}"),
            }),
    }
}

fn version_metadata(secret: Option<Secret>) -> Result<VersionMetadata, Error> {
    match secret {
        Some(secret) => secret.data_as(),
        None => Ok(VersionMetadata::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_versions_read_as_none() {
        let secret = Secret {
            data: Some(json!({"data": null, "metadata": {"version": 2}})),
            ..Secret::default()
        };
        assert_eq!(inner_data::<Value>(Some(secret)).unwrap(), None);
        assert_eq!(inner_data::<Value>(None).unwrap(), None);
    }

    #[test]
    fn data_decodes_into_caller_types() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Db {
            password: String,
        }
        let secret = Secret {
            data: Some(json!({"data": {"password": "p"}, "metadata": {}})),
            ..Secret::default()
        };
        assert_eq!(
            inner_data::<Db>(Some(secret.clone())).unwrap(),
            Some(Db {
                password: "p".into()
            })
        );
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Other {
            missing: u32,
        }
        assert!(inner_data::<Other>(Some(secret)).is_err());
    }

    #[test]
    fn only_objects_can_be_written() {
        assert!(to_json(&json!({"a": 1})).is_ok());
        assert!(to_json(&json!(["a"])).is_err());
        assert!(to_json(&"text").is_err());
    }

    #[test]
    fn metadata_updates_send_only_what_is_set() {
        let update = MetadataUpdate {
            max_versions: Some(3),
            ..Default::default()
        };
        assert_eq!(to_json(&update).unwrap(), json!({"max_versions": 3}));
    }
}
