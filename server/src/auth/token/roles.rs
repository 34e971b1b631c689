//! `auth/token/roles[/<name>]`: token roles that pre-set policies, TTLs, orphan-ness, the
//! token type and `token_bound_cidrs`.

use serde_json::json;

use crate::auth::token_fields::string_list;
use crate::cidr;
use crate::core::{fields, Operation, Request, RequestError, Response, Unsealed};
use crate::tokens::TokenRole;

pub async fn handle(
    unsealed: &Unsealed,
    req: &Request,
    name: &str,
) -> Result<Response, RequestError> {
    if name.is_empty() {
        return match req.operation {
            Operation::List => Response::list(unsealed.tokens.role_names().await?),
            _ => Err(RequestError::UnsupportedOperation),
        };
    }
    if name.contains('/') || name.contains("..") {
        return Err(RequestError::invalid(format!("invalid role name {name:?}")));
    }
    match req.operation {
        Operation::Read => {
            let role = unsealed
                .tokens
                .role(name)
                .await?
                .ok_or(RequestError::NotFound)?;
            Ok(Response::json(json!({
                "name": role.name,
                "allowed_policies": role.allowed_policies,
                "disallowed_policies": role.disallowed_policies,
                "orphan": role.orphan,
                "period": role.period,
                "token_period": role.period,
                "renewable": role.renewable,
                "path_suffix": role.path_suffix,
                "explicit_max_ttl": role.explicit_max_ttl,
                "token_explicit_max_ttl": role.explicit_max_ttl,
                "token_type": if role.token_type.is_empty() { "default-service" } else { &role.token_type },
                "token_bound_cidrs": role.bound_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })))
        }
        Operation::Create | Operation::Update => {
            let mut role = unsealed.tokens.role(name).await?.unwrap_or(TokenRole {
                name: name.to_string(),
                renewable: true,
                ..TokenRole::default()
            });
            if let Some(list) = req.string_list("allowed_policies")? {
                role.allowed_policies = list;
            }
            if let Some(list) = req.string_list("disallowed_policies")? {
                role.disallowed_policies = list;
            }
            if let Some(orphan) = req.bool_field("orphan")? {
                role.orphan = orphan;
            }
            if let Some(renewable) = req.bool_field("renewable")? {
                role.renewable = renewable;
            }
            if let Some(p) = req
                .duration_field("token_period")?
                .or(req.duration_field("period")?)
            {
                role.period = p;
            }
            if let Some(m) = req
                .duration_field("token_explicit_max_ttl")?
                .or(req.duration_field("explicit_max_ttl")?)
            {
                role.explicit_max_ttl = m;
            }
            if let Some(suffix) = req.str_field("path_suffix")? {
                role.path_suffix = suffix.to_string();
            }
            if let Some(kind) = req.str_field("token_type")? {
                if !matches!(
                    kind,
                    "" | "service" | "default-service" | "default" | "batch" | "default-batch"
                ) {
                    return Err(RequestError::invalid("invalid 'token_type' value"));
                }
                role.token_type = kind.to_string();
            }
            let cidrs_field = if req.data.contains_key("token_bound_cidrs") {
                "token_bound_cidrs"
            } else {
                "bound_cidrs"
            };
            if let Some(list) = string_list(&req.data, cidrs_field)? {
                role.bound_cidrs = cidr::parse_list(&list)
                    .map_err(|e| fields::conversion_error(cidrs_field, e))?;
            }
            // Batch tokens are not in the parent index, so only orphans may be batch by
            // default (OpenBao's rule and wording).
            if role.token_type == "batch" && !role.orphan {
                return Err(RequestError::invalid(
                    "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens",
                ));
            }
            unsealed.tokens.put_role(&role).await?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            unsealed.tokens.delete_role(name).await?;
            Ok(Response::empty())
        }
        _ => Err(RequestError::UnsupportedOperation),
    }
}
