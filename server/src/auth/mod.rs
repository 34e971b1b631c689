//! Auth methods, mounted under `auth/`. The token method (`auth/token/`) is built in; the
//! others ([`userpass`], [`approle`], [`kubernetes`], [`jwt`]) are [`Engine`]s that [`create`] builds for `sys/auth`
//! mounts. Fields and checks they share live beside them: [`token_fields`], [`fields`],
//! [`jwt_verify`] and [`records`] (role/config storage and routing); CIDR blocks are the support module [`crate::cidr`] (token entries
//! carry them too).

pub mod approle;
pub mod fields;
pub mod jwt;
pub mod jwt_verify;
pub mod kubernetes;
pub(crate) mod records;
pub mod token;
pub mod token_fields;
pub mod userpass;

#[cfg(test)]
pub(crate) mod testutil;

use std::sync::Arc;

use crate::core::mounts::MountEntry;
use crate::core::RequestError;
use crate::engines::Engine;

/// Builds the handler of a mount: an auth method of this module for an auth mount of its
/// type, else whatever secrets engine [`crate::engines::create`] makes. It lives here, not
/// in `engines`, because engines sit below auth and must not name its types.
pub fn create(entry: &MountEntry) -> Result<Arc<dyn Engine>, RequestError> {
    match entry.kind.as_str() {
        "userpass" if entry.is_auth => Ok(Arc::new(userpass::Userpass::for_mount(entry)?)),
        "approle" if entry.is_auth => Ok(Arc::new(approle::AppRole::default())),
        "jwt" if entry.is_auth => Ok(Arc::new(jwt::JwtAuth::default())),
        "kubernetes" if entry.is_auth => Ok(Arc::new(kubernetes::Kubernetes::default())),
        _ => crate::engines::create(entry),
    }
}
