//! JWT roles: `role/<name>` with `role_type` (`jwt` only), the bindings a token must meet
//! (`bound_audiences`, `bound_subject`, `bound_claims` with `bound_claims_type` `string` or
//! `glob`), `user_claim`, `claim_mappings`, the leeways and the shared token fields.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::auth::records::{stored_or_new, RecordStore};
use crate::auth::token_fields::{string_list, TokenFields};
use crate::core::{fields, Request, RequestError, Response};
use crate::engines::MountContext;

/// Roles, at `role/<name>`; names are case-insensitive.
pub(super) const ROLES: RecordStore = RecordStore::new("role/", true);

const ROLE_FIELDS: &[&str] = &[
    "role_type",
    "bound_audiences",
    "bound_subject",
    "bound_claims",
    "bound_claims_type",
    "claim_mappings",
    "user_claim",
    "clock_skew_leeway",
    "expiration_leeway",
    "not_before_leeway",
];

/// Vault's defaults: a minute of clock skew, 150 s past `exp` and before `nbf`.
const DEFAULT_CLOCK_SKEW: i64 = 60;
const DEFAULT_EXPIRY_LEEWAY: i64 = 150;
const DEFAULT_NOT_BEFORE_LEEWAY: i64 = 150;

/// A stored role. Leeways are seconds; negative means none.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Role {
    pub role_type: String,
    pub bound_audiences: Vec<String>,
    pub bound_subject: String,
    pub bound_claims: Map<String, Value>,
    pub bound_claims_type: String,
    pub claim_mappings: Map<String, Value>,
    pub user_claim: String,
    pub clock_skew_leeway: i64,
    pub expiration_leeway: i64,
    pub not_before_leeway: i64,
    pub token: TokenFields,
}

pub(super) fn to_api(role: &Role) -> Map<String, Value> {
    let mut data = role.token.to_api();
    for (key, value) in [
        ("role_type", json!(role.role_type)),
        ("bound_audiences", json!(role.bound_audiences)),
        ("bound_subject", json!(role.bound_subject)),
        ("bound_claims", json!(role.bound_claims)),
        ("bound_claims_type", json!(role.bound_claims_type)),
        ("claim_mappings", json!(role.claim_mappings)),
        ("user_claim", json!(role.user_claim)),
        ("clock_skew_leeway", json!(role.clock_skew_leeway)),
        ("expiration_leeway", json!(role.expiration_leeway)),
        ("not_before_leeway", json!(role.not_before_leeway)),
    ] {
        data.insert(key.into(), value);
    }
    data
}

pub(super) async fn write(
    ctx: &MountContext,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let new = |token| Role {
        role_type: "jwt".into(),
        bound_claims_type: "string".into(),
        clock_skew_leeway: DEFAULT_CLOCK_SKEW,
        expiration_leeway: DEFAULT_EXPIRY_LEEWAY,
        not_before_leeway: DEFAULT_NOT_BEFORE_LEEWAY,
        token,
        ..Role::default()
    };
    let mut role = stored_or_new(
        &ROLES,
        &ctx.storage,
        name,
        req,
        ROLE_FIELDS,
        |r| &mut r.token,
        new,
    )
    .await?;
    apply(&mut role, req)?;
    validate(&role)?;
    ROLES.save(&ctx.storage, name, &role).await?;
    Ok(Response::empty())
}

fn apply(role: &mut Role, req: &Request) -> Result<(), RequestError> {
    let data = &req.data;
    match req.str_field("role_type")? {
        None | Some("") | Some("jwt") => {}
        Some("oidc") => {
            return Err(RequestError::invalid(
                "role_type \"oidc\" is not supported: Cofre's jwt method verifies JWTs only (no browser OIDC flow); use role_type \"jwt\"",
            ))
        }
        Some(other) => {
            return Err(RequestError::invalid(format!("invalid role_type {other:?}")))
        }
    }
    if let Some(list) = string_list(data, "bound_audiences")? {
        role.bound_audiences = list;
    }
    if let Some(subject) = req.str_field("bound_subject")? {
        role.bound_subject = subject.to_string();
    }
    if let Some(claims) = json_object(data, "bound_claims")? {
        role.bound_claims = claims;
    }
    if let Some(kind) = req.str_field("bound_claims_type")? {
        role.bound_claims_type = match kind {
            "" | "string" => "string".into(),
            "glob" => "glob".into(),
            other => {
                return Err(RequestError::invalid(format!(
                    "invalid bound_claims_type {other:?}: use \"string\" or \"glob\""
                )))
            }
        };
    }
    if let Some(mappings) = json_object(data, "claim_mappings")? {
        role.claim_mappings = mappings;
    }
    if let Some(claim) = req.str_field("user_claim")? {
        role.user_claim = claim.trim().to_string();
    }
    for (field, target, default) in [
        (
            "clock_skew_leeway",
            &mut role.clock_skew_leeway,
            DEFAULT_CLOCK_SKEW,
        ),
        (
            "expiration_leeway",
            &mut role.expiration_leeway,
            DEFAULT_EXPIRY_LEEWAY,
        ),
        (
            "not_before_leeway",
            &mut role.not_before_leeway,
            DEFAULT_NOT_BEFORE_LEEWAY,
        ),
    ] {
        // Vault: 0 means the default, a negative value means no leeway.
        if let Some(seconds) = fields::signed_seconds(data, field)? {
            *target = if seconds == 0 { default } else { seconds };
        }
    }
    Ok(())
}

/// A JSON object, or a string holding one (the CLI's `key=@file.json` and form bodies).
fn json_object(
    data: &Map<String, Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, RequestError> {
    match data.get(name) {
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Some(Map::new())),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            _ => Err(fields::conversion_error(name, "expected a JSON object")),
        },
        _ => Ok(fields::object(data, name)?.cloned()),
    }
}

fn validate(role: &Role) -> Result<(), RequestError> {
    if role.user_claim.is_empty() {
        return Err(RequestError::invalid(
            "a user claim must be defined on the role",
        ));
    }
    if role.bound_audiences.is_empty()
        && role.bound_subject.is_empty()
        && role.bound_claims.is_empty()
        && role.token.bound_cidrs.is_empty()
    {
        return Err(RequestError::invalid(
            "must have at least one bound constraint when creating/updating a role",
        ));
    }
    for (claim, expected) in &role.bound_claims {
        let ok = match expected {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => items
                .iter()
                .all(|i| matches!(i, Value::String(_) | Value::Number(_) | Value::Bool(_))),
            _ => false,
        };
        if !ok {
            return Err(RequestError::invalid(format!(
                "bound_claims[{claim:?}] must be a string or a list of strings"
            )));
        }
    }
    let mut targets: Vec<&str> = Vec::new();
    for (claim, target) in &role.claim_mappings {
        let Some(target) = target.as_str().filter(|t| !t.is_empty()) else {
            return Err(RequestError::invalid(format!(
                "claim_mappings[{claim:?}] must name a metadata key"
            )));
        };
        if targets.contains(&target) || target == "role" {
            return Err(RequestError::invalid(format!(
                "claim_mappings: metadata key {target:?} is used more than once (or is the reserved \"role\")"
            )));
        }
        targets.push(target);
    }
    Ok(())
}
