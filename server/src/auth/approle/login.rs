//! `login` (`role_id`, `secret_id`): finds the role by its role ID, checks the role's and
//! the secret ID's address bindings, spends one use of the secret ID (under the engine's
//! lock) and grants a token with the role's token fields, bound to the secret ID's
//! `token_bound_cidrs` (the core refuses a login from outside them). The token's metadata is the
//! secret ID's metadata plus `role_name`. Unknown, expired and used-up secret IDs all get
//! Vault's "invalid role or secret ID".

use serde_json::Value;

use super::secret_id::{self, Refusal};
use super::{role, AppRole};
use crate::cidr;
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

const INVALID: &str = "invalid role or secret ID";

pub(super) async fn login(
    engine: &AppRole,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let storage = &ctx.storage;
    let role_id = field(req, "role_id")?;
    let name = role::name_by_role_id(engine, storage, &role_id)
        .await?
        .ok_or_else(|| RequestError::invalid(INVALID))?;
    let role = role::load(storage, &name)
        .await?
        .ok_or_else(|| RequestError::invalid(INVALID))?;
    let addr = req.remote_addr;
    if !cidr::allows(&role.secret_id_bound_cidrs, addr) {
        return Err(unauthorized_address(addr, "role"));
    }
    // The core would refuse the token anyway; refusing here spends no secret ID use.
    if !role.token.allows_address(addr) {
        return Err(RequestError::PermissionDenied);
    }
    let mut metadata = serde_json::Map::new();
    let mut grant = role.token.grant("", serde_json::Map::new());
    if role.bind_secret_id {
        let secret_id = zeroize::Zeroizing::new(field(req, "secret_id")?);
        let hash = engine.hmac(storage, &secret_id).await?;
        match secret_id::spend(engine, storage, &name, &hash, addr).await? {
            Ok(entry) => {
                metadata = entry.metadata;
                // The secret ID's own binding (never wider than the role's) wins.
                grant.bound_cidrs = entry.token_bound_cidrs;
            }
            Err(Refusal::Unknown) => return Err(RequestError::invalid(INVALID)),
            Err(Refusal::Address) => return Err(unauthorized_address(addr, "secret ID")),
            Err(Refusal::TokenAddress) => return Err(RequestError::PermissionDenied),
        }
    }
    metadata.insert("role_name".into(), Value::from(name));
    grant.metadata = metadata;
    Ok(Response {
        login: Some(Box::new(grant)),
        ..Response::default()
    })
}

fn field(req: &Request, name: &str) -> Result<String, RequestError> {
    req.str_field(name)?
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| RequestError::invalid(format!("missing {name}")))
}

/// Vault's wording: "by ... on the role", "through ... on the secret ID".
fn unauthorized_address(addr: Option<std::net::IpAddr>, on: &str) -> RequestError {
    let shown = addr.map(|a| a.to_string()).unwrap_or_default();
    let how = if on == "role" { "by" } else { "through" };
    RequestError::invalid(format!(
        "source address {shown:?} unauthorized {how} CIDR restrictions on the {on}"
    ))
}
