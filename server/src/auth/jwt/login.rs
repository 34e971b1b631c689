//! `login` (`role` or the config's `default_role`, `jwt`): verifies the signature with the
//! configured keys, the time claims with the role's leeways, then `iss`, `aud`, `sub` and
//! `bound_claims`, and grants the role's token fields. The token's metadata holds the
//! `claim_mappings` and `role`; its display name is the `user_claim`. Failures are 400s
//! with Vault's wording and write nothing.

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::config::{Config, KeySource};
use super::role::{self, Role};
use super::JwtAuth;
use crate::auth::jwt_verify::{glob_match, now, Jwt, JwtError, Leeway, PublicKey};
use crate::auth::records::load_config;
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

pub(super) async fn login(
    engine: &JwtAuth,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let config = load_config::<Config>(ctx, "jwt").await?;
    let role_name = match req.str_field("role")?.filter(|r| !r.is_empty()) {
        Some(name) => name.to_string(),
        None if !config.default_role.is_empty() => config.default_role.clone(),
        None => return Err(RequestError::invalid("missing role")),
    };
    let jwt = Zeroizing::new(
        req.str_field("jwt")?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RequestError::invalid("missing token"))?
            .to_string(),
    );
    let role = role::ROLES
        .load::<role::Role>(&ctx.storage, &role_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("role {role_name:?} could not be found")))?;
    if !role.token.allows_address(req.remote_addr) {
        return Err(RequestError::PermissionDenied);
    }
    let token = Jwt::parse(&jwt).map_err(|e| RequestError::invalid(e.to_string()))?;
    let algorithm = token.algorithm.as_str();
    if !config.jwt_supported_algs.is_empty()
        && !config.jwt_supported_algs.iter().any(|a| a == algorithm)
    {
        return Err(RequestError::invalid(format!(
            "error verifying token: signing algorithm {algorithm} is not in jwt_supported_algs"
        )));
    }
    verify_signature(engine, &config, &token).await?;
    validate_claims(&config, &role, &token)?;
    let user = claim_text(&token.claims, &role.user_claim).ok_or_else(|| {
        RequestError::invalid(format!("claim {:?} not found in token", role.user_claim))
    })?;
    let mut metadata = mapped_claims(&role, &token.claims)?;
    metadata.insert("role".into(), Value::from(role_name));
    Ok(Response {
        login: Some(Box::new(role.token.grant(&user, metadata))),
        ..Response::default()
    })
}

async fn verify_signature(
    engine: &JwtAuth,
    config: &Config,
    token: &Jwt,
) -> Result<(), RequestError> {
    let failed = |e: JwtError| RequestError::invalid(format!("error verifying token: {e}"));
    let source = config.key_source();
    if source == KeySource::Static {
        return token.verify(&config.static_keys()?).map_err(failed);
    }
    let kid = token.key_id.as_deref();
    let keys: Vec<PublicKey> = engine.keys.keys(&engine.clients, &source, kid).await?;
    token.verify(&keys).map_err(failed)
}

fn validate_claims(config: &Config, role: &Role, token: &Jwt) -> Result<(), RequestError> {
    let leeway = Leeway {
        clock_skew: role.clock_skew_leeway.max(0),
        expiry: role.expiration_leeway.max(0),
        not_before: role.not_before_leeway.max(0),
        require_expiry: true,
    };
    token
        .check_times(now(), &leeway)
        .map_err(|e| RequestError::invalid(format!("error validating token: {e}")))?;
    if !config.bound_issuer.is_empty() && token.str_claim("iss") != Some(&config.bound_issuer) {
        return Err(RequestError::invalid(
            "error validating claims: invalid issuer (iss) claim",
        ));
    }
    let audiences = token.audiences();
    if role.bound_audiences.is_empty() {
        if !audiences.is_empty() {
            return Err(RequestError::invalid(
                "audience claim found in JWT but no audiences bound to the role",
            ));
        }
    } else if !audiences.iter().any(|a| role.bound_audiences.contains(a)) {
        return Err(RequestError::invalid(
            "error validating claims: invalid audience (aud) claim: audience claim does not match any expected audience",
        ));
    }
    if !role.bound_subject.is_empty() && token.str_claim("sub") != Some(&role.bound_subject) {
        return Err(RequestError::invalid(
            "error validating claims: sub claim does not match bound subject",
        ));
    }
    check_bound_claims(role, &token.claims)
}

fn check_bound_claims(role: &Role, claims: &Map<String, Value>) -> Result<(), RequestError> {
    let glob = role.bound_claims_type == "glob";
    for (name, expected) in &role.bound_claims {
        let actual = claim_values(claims, name)
            .ok_or_else(|| RequestError::invalid(format!("claim {name:?} is missing")))?;
        let expected = values_of(expected);
        let matches = expected.iter().any(|want| {
            actual.iter().any(|have| {
                if glob {
                    glob_match(want, have)
                } else {
                    want == have
                }
            })
        });
        if !matches {
            return Err(RequestError::invalid(format!(
                "claim {name:?} does not match any associated bound claim values"
            )));
        }
    }
    Ok(())
}

/// `claim_mappings`: claim → metadata key, each value as text.
fn mapped_claims(
    role: &Role,
    claims: &Map<String, Value>,
) -> Result<Map<String, Value>, RequestError> {
    let mut metadata = Map::new();
    for (claim, target) in &role.claim_mappings {
        let Some(target) = target.as_str() else {
            continue;
        };
        match lookup(claims, claim) {
            None | Some(Value::Null) => {}
            Some(value) => {
                let text = scalar_text(value).ok_or_else(|| {
                    RequestError::invalid(format!(
                        "error converting claim {claim:?} to a string for claim_mappings"
                    ))
                })?;
                metadata.insert(target.to_string(), Value::from(text));
            }
        }
    }
    Ok(metadata)
}

/// A claim by name, or by JSON pointer when the name starts with `/` (Vault's rule).
fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        let mut current: Option<&Value> = None;
        for part in name.split('/').skip(1) {
            current = match current {
                None => claims.get(part),
                Some(Value::Object(map)) => map.get(part),
                Some(_) => None,
            };
            current?;
        }
        current
    } else {
        claims.get(name)
    }
}

fn claim_text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    lookup(claims, name)
        .and_then(scalar_text)
        .filter(|t| !t.is_empty())
}

fn claim_values(claims: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    lookup(claims, name).filter(|v| !v.is_null()).map(values_of)
}

fn values_of(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
