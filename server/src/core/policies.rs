//! The policy store: ACL policies kept in the barrier under `sys/policy/<name>`, loaded and
//! compiled once at unseal and on every change, and the cache of combined ACLs per set of
//! policy names, so a request never parses or compiles a policy.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::barrier::StorageView;
use crate::policy::{self, Acl, Policy};

use super::RequestError;

#[derive(Serialize, Deserialize)]
struct StoredPolicy {
    name: String,
    policy: String,
}

/// Compiled policies and the ACL cache.
pub struct PolicyStore {
    view: StorageView,
    policies: RwLock<BTreeMap<String, Arc<Policy>>>,
    acls: RwLock<HashMap<Vec<String>, Arc<Acl>>>,
    root: Arc<Acl>,
    /// The built-in policy of wrapping tokens: never stored, listed or changed.
    response_wrapping: Arc<Policy>,
}

/// What a wrapping token may do (OpenBao's built-in `response-wrapping` policy).
const RESPONSE_WRAPPING_POLICY: &str = r#"path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

path "auth/token/revoke-self" {
    capabilities = ["update"]
}
"#;

/// Policies that exist without being stored, and cannot be changed or deleted.
fn is_builtin(name: &str) -> bool {
    name == "root" || name == super::wrapping::POLICY
}

impl PolicyStore {
    /// Loads every stored policy, creating `default` if it is missing.
    pub async fn open(view: StorageView) -> Result<Self, RequestError> {
        let store = Self {
            view,
            policies: RwLock::new(BTreeMap::new()),
            acls: RwLock::new(HashMap::new()),
            root: Arc::new(Acl::root()),
            response_wrapping: Arc::new(
                policy::parse(super::wrapping::POLICY, RESPONSE_WRAPPING_POLICY)
                    .expect("the built-in response-wrapping policy parses"),
            ),
        };
        for name in store.view.list("").await? {
            let Some(stored) = store.view.get_json::<StoredPolicy>(&name).await? else {
                continue;
            };
            match policy::parse(&stored.name, &stored.policy) {
                Ok(p) => store.insert(Arc::new(p)),
                Err(e) => {
                    tracing::error!(policy = %stored.name, error = %e, "stored policy no longer parses; ignored")
                }
            }
        }
        if store.get("default").is_none() {
            store.put("default", policy::default_policy_text()).await?;
        }
        Ok(store)
    }

    /// Re-reads one policy from storage (another node changed it).
    pub async fn reload(&self, name: &str) -> Result<(), RequestError> {
        match self.view.get_json::<StoredPolicy>(name).await? {
            Some(stored) => match policy::parse(&stored.name, &stored.policy) {
                Ok(p) => self.insert(Arc::new(p)),
                Err(e) => {
                    tracing::error!(policy = %stored.name, error = %e, "stored policy no longer parses; ignored")
                }
            },
            None => {
                self.policies
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(name);
                self.acls.write().unwrap_or_else(|e| e.into_inner()).clear();
            }
        }
        Ok(())
    }

    /// Re-reads every policy (after changes may have been missed).
    pub async fn reload_all(&self) -> Result<(), RequestError> {
        let stored = self.view.list("").await?;
        let known: Vec<String> = self
            .policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for name in stored.iter().chain(known.iter()) {
            self.reload(name).await?;
        }
        Ok(())
    }

    fn insert(&self, p: Arc<Policy>) {
        self.policies
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.name.clone(), p);
        self.acls.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn get(&self, name: &str) -> Option<Arc<Policy>> {
        match name {
            "root" => return None,
            super::wrapping::POLICY => return Some(self.response_wrapping.clone()),
            _ => {}
        }
        self.policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every policy name, plus `root`, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        names.push("root".into());
        names.sort();
        names
    }

    /// Parses, stores and activates a policy. `root` cannot be changed.
    pub async fn put(&self, name: &str, text: &str) -> Result<(), RequestError> {
        let name = normalize_name(name)?;
        if is_builtin(&name) {
            return Err(RequestError::invalid(format!(
                "cannot update \"{name}\" policy"
            )));
        }
        let parsed = policy::parse(&name, text)
            .map_err(|e| RequestError::invalid(format!("failed to parse policy: {e}")))?;
        self.view
            .put_json(
                &name,
                &StoredPolicy {
                    name: name.clone(),
                    policy: text.to_string(),
                },
            )
            .await?;
        self.insert(Arc::new(parsed));
        Ok(())
    }

    /// Deletes a policy; `root` and `default` cannot be deleted. Deleting a missing one is
    /// not an error (as Vault).
    pub async fn delete(&self, name: &str) -> Result<(), RequestError> {
        let name = normalize_name(name)?;
        if is_builtin(&name) || name == "default" {
            return Err(RequestError::invalid(format!(
                "cannot delete \"{name}\" policy"
            )));
        }
        self.view.delete(&name).await?;
        self.policies
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name);
        self.acls.write().unwrap_or_else(|e| e.into_inner()).clear();
        Ok(())
    }

    /// The combined ACL of a set of policy names (unknown names contribute nothing).
    pub fn acl(&self, names: &[String]) -> Arc<Acl> {
        if names.iter().any(|n| n == "root") {
            return self.root.clone();
        }
        if let Some(acl) = self
            .acls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(names)
        {
            return acl.clone();
        }
        let compiled: Vec<Arc<Policy>> = names.iter().filter_map(|n| self.get(n)).collect();
        let acl = Arc::new(Acl::new(&compiled));
        self.acls
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(names.to_vec(), acl.clone());
        acl
    }
}

/// Vault lower-cases policy names and refuses empty ones.
pub fn normalize_name(name: &str) -> Result<String, RequestError> {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return Err(RequestError::invalid("policy name must not be empty"));
    }
    if name.contains("..") || name.contains('/') {
        return Err(RequestError::invalid(format!(
            "invalid policy name {name:?}: must not contain '/' or '..'"
        )));
    }
    Ok(name)
}
