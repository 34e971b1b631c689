//! `config`: where the Kubernetes API is and how to reach it (`kubernetes_host`,
//! `kubernetes_ca_cert`, `token_reviewer_jwt`), or the keys that verify tokens locally
//! (`pem_keys`), and the issuer check. A write replaces the whole configuration, as
//! Vault's does; a read never returns `token_reviewer_jwt`, only whether one is set.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::auth::fields::{pem_list, reject_unknown_fields, trimmed_text};
use crate::auth::jwt_verify::PublicKey;
use crate::auth::records::save_config;
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

/// The issuer of service-account tokens before projected tokens (Vault's default).
pub(super) const DEFAULT_ISSUER: &str = "kubernetes/serviceaccount";

const FIELDS: &[&str] = &[
    "kubernetes_host",
    "kubernetes_ca_cert",
    "token_reviewer_jwt",
    "pem_keys",
    "issuer",
    "disable_iss_validation",
    "disable_local_ca_jwt",
];

/// The stored configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Config {
    pub kubernetes_host: String,
    pub kubernetes_ca_cert: String,
    pub token_reviewer_jwt: SecretText,
    pub pem_keys: Vec<String>,
    pub issuer: String,
    pub disable_iss_validation: bool,
    pub disable_local_ca_jwt: bool,
}

/// A stored secret string: wiped on drop, `[redacted]` in `Debug`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct SecretText(pub String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Config {
    /// The verification keys of `pem_keys` (already checked when written).
    pub fn public_keys(&self) -> Result<Vec<PublicKey>, RequestError> {
        let mut keys = Vec::new();
        for pem in &self.pem_keys {
            keys.extend(PublicKey::from_pem(pem).map_err(|e| {
                RequestError::internal(format!("a stored pem_keys entry no longer parses: {e}"))
            })?);
        }
        Ok(keys)
    }

    /// The issuer tokens must carry.
    pub fn expected_issuer(&self) -> &str {
        if self.issuer.is_empty() {
            DEFAULT_ISSUER
        } else {
            &self.issuer
        }
    }
}

pub(super) fn to_api(config: &Config) -> Map<String, Value> {
    let mut data = Map::new();
    for (key, value) in [
        ("kubernetes_host", json!(config.kubernetes_host)),
        ("kubernetes_ca_cert", json!(config.kubernetes_ca_cert)),
        ("pem_keys", json!(config.pem_keys)),
        ("issuer", json!(config.issuer)),
        (
            "disable_iss_validation",
            json!(config.disable_iss_validation),
        ),
        ("disable_local_ca_jwt", json!(config.disable_local_ca_jwt)),
        (
            "token_reviewer_jwt_set",
            json!(!config.token_reviewer_jwt.0.is_empty()),
        ),
    ] {
        data.insert(key.into(), value);
    }
    data
}

pub(super) async fn write(ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
    reject_unknown_fields(req, FIELDS)?;
    let text = |name: &str| trimmed_text(req, name);
    let flag = |name: &str, default: bool| -> Result<bool, RequestError> {
        Ok(req.bool_field(name)?.unwrap_or(default))
    };
    let config = Config {
        kubernetes_host: text("kubernetes_host")?.trim_end_matches('/').to_string(),
        kubernetes_ca_cert: text("kubernetes_ca_cert")?,
        token_reviewer_jwt: SecretText(text("token_reviewer_jwt")?),
        pem_keys: pem_list(&req.data, "pem_keys")?,
        issuer: text("issuer")?,
        // Vault ≥ 1.9 defaults to not checking the issuer: projected tokens carry the
        // cluster's own issuer URL, which operators rarely know.
        disable_iss_validation: flag("disable_iss_validation", true)?,
        disable_local_ca_jwt: flag("disable_local_ca_jwt", false)?,
    };
    validate(&config)?;
    save_config(ctx, &config).await
}

fn validate(config: &Config) -> Result<(), RequestError> {
    if config.kubernetes_host.is_empty() {
        return Err(RequestError::invalid("no host provided"));
    }
    let url = reqwest::Url::parse(&config.kubernetes_host)
        .map_err(|e| RequestError::invalid(format!("kubernetes_host is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(RequestError::invalid(
            "kubernetes_host must be an https:// (or http://) URL",
        ));
    }
    if !config.kubernetes_ca_cert.is_empty() {
        super::review::parse_ca(&config.kubernetes_ca_cert)
            .map_err(|e| RequestError::invalid(format!("invalid kubernetes_ca_cert: {e}")))?;
    }
    for (i, pem) in config.pem_keys.iter().enumerate() {
        PublicKey::from_pem(pem)
            .map_err(|e| RequestError::invalid(format!("pem_keys[{i}]: {e}")))?;
    }
    Ok(())
}
