//! Kubernetes roles: `role/<name>` binds service-account names and namespaces (lists with
//! `*` globs), an optional `audience`, the alias name source and the shared token fields.
//! Unknown parameters are refused with a 400 that names them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::auth::records::{stored_or_new, RecordStore};
use crate::auth::token_fields::{string_list, TokenFields};
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

/// Roles, at `role/<name>`; names are case-insensitive.
pub(super) const ROLES: RecordStore = RecordStore::new("role/", true);

const ROLE_FIELDS: &[&str] = &[
    "bound_service_account_names",
    "bound_service_account_namespaces",
    "bound_service_account_namespace_selector",
    "audience",
    "alias_name_source",
];

pub(super) const ALIAS_UID: &str = "serviceaccount_uid";
pub(super) const ALIAS_NAME: &str = "serviceaccount_name";

/// A stored role.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Role {
    pub bound_service_account_names: Vec<String>,
    pub bound_service_account_namespaces: Vec<String>,
    pub bound_service_account_namespace_selector: String,
    pub audience: String,
    pub alias_name_source: String,
    pub token: TokenFields,
}

pub(super) fn to_api(role: &Role) -> Map<String, Value> {
    let mut data = role.token.to_api();
    for (key, value) in [
        (
            "bound_service_account_names",
            json!(role.bound_service_account_names),
        ),
        (
            "bound_service_account_namespaces",
            json!(role.bound_service_account_namespaces),
        ),
        (
            "bound_service_account_namespace_selector",
            json!(role.bound_service_account_namespace_selector),
        ),
        ("audience", json!(role.audience)),
        ("alias_name_source", json!(role.alias_name_source)),
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
        alias_name_source: ALIAS_UID.into(),
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
    let data = &req.data;
    if let Some(names) = string_list(data, "bound_service_account_names")? {
        role.bound_service_account_names = names;
    }
    if let Some(namespaces) = string_list(data, "bound_service_account_namespaces")? {
        role.bound_service_account_namespaces = namespaces;
    }
    if let Some(selector) = req.str_field("bound_service_account_namespace_selector")? {
        role.bound_service_account_namespace_selector = selector.trim().to_string();
    }
    if let Some(audience) = req.str_field("audience")? {
        role.audience = audience.trim().to_string();
    }
    if let Some(source) = req.str_field("alias_name_source")? {
        role.alias_name_source = match source {
            "" => ALIAS_UID.into(),
            ALIAS_UID | ALIAS_NAME => source.into(),
            other => {
                return Err(RequestError::invalid(format!(
                    "invalid alias_name_source {other:?}: use {ALIAS_UID:?} or {ALIAS_NAME:?}"
                )))
            }
        };
    }
    validate(&role)?;
    ROLES.save(&ctx.storage, name, &role).await?;
    Ok(Response::empty())
}

fn validate(role: &Role) -> Result<(), RequestError> {
    if role.bound_service_account_names.is_empty() {
        return Err(RequestError::invalid(
            "\"bound_service_account_names\" can not be empty",
        ));
    }
    if role.bound_service_account_namespaces.is_empty()
        && role.bound_service_account_namespace_selector.is_empty()
    {
        return Err(RequestError::invalid(
            "\"bound_service_account_namespaces\" can not be empty",
        ));
    }
    for (field, list) in [
        (
            "bound_service_account_names",
            &role.bound_service_account_names,
        ),
        (
            "bound_service_account_namespaces",
            &role.bound_service_account_namespaces,
        ),
    ] {
        if list.len() > 1 && list.iter().any(|v| v == "*") {
            return Err(RequestError::invalid(format!(
                "can not mix \"*\" with values in {field:?}"
            )));
        }
    }
    Ok(())
}
