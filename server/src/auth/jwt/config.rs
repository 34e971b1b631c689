//! `config`: the key source (exactly one of `jwt_validation_pubkeys`, `jwks_url`,
//! `oidc_discovery_url`, as Vault), the CA for fetching (`jwks_ca_pem`,
//! `oidc_discovery_ca_pem`), `bound_issuer`, `default_role` and `jwt_supported_algs`.
//! A write replaces the whole configuration.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::auth::fields::{pem_list, reject_unknown_fields, trimmed_text};
use crate::auth::jwt_verify::PublicKey;
use crate::auth::records::save_config;
use crate::auth::token_fields::string_list;
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

const FIELDS: &[&str] = &[
    "jwks_url",
    "jwks_ca_pem",
    "jwt_validation_pubkeys",
    "oidc_discovery_url",
    "oidc_discovery_ca_pem",
    "bound_issuer",
    "default_role",
    "jwt_supported_algs",
];
const ALGORITHMS: &[&str] = &["RS256", "RS384", "RS512", "ES256", "ES384"];

/// The stored configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Config {
    pub jwks_url: String,
    pub jwks_ca_pem: String,
    pub jwt_validation_pubkeys: Vec<String>,
    pub oidc_discovery_url: String,
    pub oidc_discovery_ca_pem: String,
    pub bound_issuer: String,
    pub default_role: String,
    pub jwt_supported_algs: Vec<String>,
}

/// Where the verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeySource {
    Static,
    Jwks { url: String, ca: String },
    Discovery { url: String, ca: String },
}

impl Config {
    pub fn key_source(&self) -> KeySource {
        if !self.jwks_url.is_empty() {
            KeySource::Jwks {
                url: self.jwks_url.clone(),
                ca: self.jwks_ca_pem.clone(),
            }
        } else if !self.oidc_discovery_url.is_empty() {
            KeySource::Discovery {
                url: self.oidc_discovery_url.clone(),
                ca: self.oidc_discovery_ca_pem.clone(),
            }
        } else {
            KeySource::Static
        }
    }

    pub fn static_keys(&self) -> Result<Vec<PublicKey>, RequestError> {
        let mut keys = Vec::new();
        for pem in &self.jwt_validation_pubkeys {
            keys.extend(PublicKey::from_pem(pem).map_err(|e| {
                RequestError::internal(format!(
                    "a stored jwt_validation_pubkeys entry no longer parses: {e}"
                ))
            })?);
        }
        Ok(keys)
    }
}

pub(super) fn to_api(config: &Config) -> Map<String, Value> {
    let mut data = Map::new();
    for (key, value) in [
        ("jwks_url", json!(config.jwks_url)),
        ("jwks_ca_pem", json!(config.jwks_ca_pem)),
        (
            "jwt_validation_pubkeys",
            json!(config.jwt_validation_pubkeys),
        ),
        ("oidc_discovery_url", json!(config.oidc_discovery_url)),
        ("oidc_discovery_ca_pem", json!(config.oidc_discovery_ca_pem)),
        ("bound_issuer", json!(config.bound_issuer)),
        ("default_role", json!(config.default_role)),
        ("jwt_supported_algs", json!(config.jwt_supported_algs)),
    ] {
        data.insert(key.into(), value);
    }
    data
}

pub(super) async fn write(ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
    reject_unknown_fields(req, FIELDS)?;
    let text = |name: &str| trimmed_text(req, name);
    let config = Config {
        jwks_url: text("jwks_url")?,
        jwks_ca_pem: text("jwks_ca_pem")?,
        jwt_validation_pubkeys: pem_list(&req.data, "jwt_validation_pubkeys")?,
        oidc_discovery_url: text("oidc_discovery_url")?
            .trim_end_matches('/')
            .to_string(),
        oidc_discovery_ca_pem: text("oidc_discovery_ca_pem")?,
        bound_issuer: text("bound_issuer")?,
        default_role: text("default_role")?,
        jwt_supported_algs: string_list(&req.data, "jwt_supported_algs")?.unwrap_or_default(),
    };
    validate(&config)?;
    save_config(ctx, &config).await
}

fn validate(config: &Config) -> Result<(), RequestError> {
    let sources = [
        !config.jwt_validation_pubkeys.is_empty(),
        !config.jwks_url.is_empty(),
        !config.oidc_discovery_url.is_empty(),
    ];
    if sources.iter().filter(|set| **set).count() != 1 {
        return Err(RequestError::invalid(
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set",
        ));
    }
    for (field, url) in [
        ("jwks_url", &config.jwks_url),
        ("oidc_discovery_url", &config.oidc_discovery_url),
    ] {
        if url.is_empty() {
            continue;
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| RequestError::invalid(format!("{field} is not a valid URL: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(RequestError::invalid(format!(
                "{field} must be an https:// URL"
            )));
        }
    }
    for (field, pem) in [
        ("jwks_ca_pem", &config.jwks_ca_pem),
        ("oidc_discovery_ca_pem", &config.oidc_discovery_ca_pem),
    ] {
        if !pem.is_empty() {
            crate::auth::kubernetes::review::parse_ca(pem)
                .map_err(|e| RequestError::invalid(format!("invalid {field}: {e}")))?;
        }
    }
    for (i, pem) in config.jwt_validation_pubkeys.iter().enumerate() {
        PublicKey::from_pem(pem)
            .map_err(|e| RequestError::invalid(format!("jwt_validation_pubkeys[{i}]: {e}")))?;
    }
    if let Some(alg) = config
        .jwt_supported_algs
        .iter()
        .find(|a| !ALGORITHMS.contains(&a.as_str()))
    {
        return Err(RequestError::invalid(format!(
            "unsupported value {alg:?} in jwt_supported_algs: use {}",
            ALGORITHMS.join(", ")
        )));
    }
    Ok(())
}
