//! AppRole roles: `role/<name>` (read, create/update, delete) and `role/<name>/role-id`
//! (read; write sets a custom role ID). Each role's ID is indexed by its HMAC at
//! `role_id/<hmac>` so a login finds the role without scanning.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::AppRole;
use crate::auth::records::RecordStore;
use crate::auth::token_fields::{string_list, TokenFields};
use crate::barrier::StorageView;
use crate::cidr::{self, Cidr};
use crate::core::{fields, Operation, Request, RequestError, Response};
use crate::engines::MountContext;

/// Roles, at `role/<name>`; names are case-sensitive.
pub(super) const ROLES: RecordStore = RecordStore::new("role/", false);
const ROLE_ID_PREFIX: &str = "role_id/";

/// A stored role.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Role {
    pub role_id: String,
    pub bind_secret_id: bool,
    /// Seconds; 0 = secret IDs never expire.
    pub secret_id_ttl: u64,
    /// 0 = unlimited.
    pub secret_id_num_uses: u64,
    #[serde(default)]
    pub secret_id_bound_cidrs: Vec<Cidr>,
    #[serde(default)]
    pub token: TokenFields,
}

/// The role, or `None`.
pub(super) async fn load(storage: &StorageView, name: &str) -> Result<Option<Role>, RequestError> {
    ROLES.load(storage, name).await
}

/// The role, or a 400 saying it does not exist.
pub(super) async fn require(storage: &StorageView, name: &str) -> Result<Role, RequestError> {
    load(storage, name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("role {name:?} does not exist")))
}

/// The name of the role whose ID is `role_id`.
pub(super) async fn name_by_role_id(
    engine: &AppRole,
    storage: &StorageView,
    role_id: &str,
) -> Result<Option<String>, RequestError> {
    let key = format!("{ROLE_ID_PREFIX}{}", engine.hmac(storage, role_id).await?);
    Ok(storage.get_json(&key).await?)
}

/// `role/<name>`.
pub(super) async fn handle(
    engine: &AppRole,
    ctx: &MountContext,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let storage = &ctx.storage;
    match req.operation {
        Operation::Read => {
            let role = load(storage, name).await?.ok_or(RequestError::NotFound)?;
            Ok(Response::data(to_api(&role)))
        }
        Operation::Create | Operation::Update => write(engine, storage, name, req).await,
        Operation::Delete => delete(engine, storage, name).await,
        _ => Err(RequestError::UnsupportedOperation),
    }
}

fn to_api(role: &Role) -> Map<String, Value> {
    let mut data = role.token.to_api();
    let cidrs: Vec<String> = role
        .secret_id_bound_cidrs
        .iter()
        .map(ToString::to_string)
        .collect();
    data.insert("bind_secret_id".into(), json!(role.bind_secret_id));
    data.insert("local_secret_ids".into(), json!(false));
    data.insert(
        "secret_id_bound_cidrs".into(),
        if cidrs.is_empty() {
            Value::Null
        } else {
            json!(cidrs)
        },
    );
    data.insert("secret_id_num_uses".into(), json!(role.secret_id_num_uses));
    data.insert("secret_id_ttl".into(), json!(role.secret_id_ttl));
    data
}

async fn write(
    engine: &AppRole,
    storage: &StorageView,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    crate::auth::userpass::validate_name(name)?;
    let existing = load(storage, name).await?;
    let mut role = match existing.clone() {
        Some(mut role) => {
            role.token.update(&req.data)?;
            role
        }
        None => Role {
            role_id: crate::crypto::uuid_v4(),
            bind_secret_id: true,
            secret_id_ttl: 0,
            secret_id_num_uses: 0,
            secret_id_bound_cidrs: Vec::new(),
            token: TokenFields::from_request(&req.data)?,
        },
    };
    let data = &req.data;
    if let Some(bind) = fields::boolean(data, "bind_secret_id")? {
        role.bind_secret_id = bind;
    }
    if let Some(ttl) = fields::seconds(data, "secret_id_ttl")? {
        role.secret_id_ttl = ttl;
    }
    if let Some(uses) = fields::count(data, "secret_id_num_uses")? {
        role.secret_id_num_uses = uses;
    }
    if let Some(list) = string_list(data, "secret_id_bound_cidrs")? {
        role.secret_id_bound_cidrs = cidr::parse_list(&list)
            .map_err(|e| fields::conversion_error("secret_id_bound_cidrs", e))?;
    }
    if !role.bind_secret_id
        && role.secret_id_bound_cidrs.is_empty()
        && role.token.bound_cidrs.is_empty()
    {
        return Err(RequestError::invalid(
            "at least one constraint should be enabled on the role",
        ));
    }
    if let Some(role_id) = req.str_field("role_id")?.filter(|id| !id.is_empty()) {
        role.role_id = role_id.to_string();
    }
    let old_role_id = existing.map(|r| r.role_id);
    save(engine, storage, name, &role, old_role_id.as_deref()).await?;
    Ok(Response::empty())
}

/// Stores the role and moves its role-ID index when the ID changed; a role ID that
/// another role uses is refused.
async fn save(
    engine: &AppRole,
    storage: &StorageView,
    name: &str,
    role: &Role,
    old_role_id: Option<&str>,
) -> Result<(), RequestError> {
    if old_role_id != Some(role.role_id.as_str()) {
        if let Some(owner) = name_by_role_id(engine, storage, &role.role_id).await? {
            if owner != name {
                return Err(RequestError::invalid("role_id already in use"));
            }
        }
        if let Some(old) = old_role_id {
            storage
                .delete(&index_key(engine, storage, old).await?)
                .await?;
        }
        storage
            .put_json(&index_key(engine, storage, &role.role_id).await?, &name)
            .await?;
    }
    ROLES.save(storage, name, role).await?;
    Ok(())
}

async fn index_key(
    engine: &AppRole,
    storage: &StorageView,
    role_id: &str,
) -> Result<String, RequestError> {
    Ok(format!(
        "{ROLE_ID_PREFIX}{}",
        engine.hmac(storage, role_id).await?
    ))
}

/// Deletes the role, its role-ID index and every secret ID it issued.
async fn delete(
    engine: &AppRole,
    storage: &StorageView,
    name: &str,
) -> Result<Response, RequestError> {
    let Some(role) = load(storage, name).await? else {
        return Ok(Response::empty());
    };
    super::secret_id::destroy_all(engine, storage, name).await?;
    storage
        .delete(&index_key(engine, storage, &role.role_id).await?)
        .await?;
    ROLES.delete(storage, name).await?;
    Ok(Response::empty())
}

/// `role/<name>/role-id`: read it, or set a custom one.
pub(super) async fn role_id(
    engine: &AppRole,
    ctx: &MountContext,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let storage = &ctx.storage;
    match req.operation {
        Operation::Read => {
            let role = load(storage, name).await?.ok_or(RequestError::NotFound)?;
            Ok(Response::json(json!({ "role_id": role.role_id })))
        }
        Operation::Create | Operation::Update => {
            let new_id = req
                .str_field("role_id")?
                .filter(|id| !id.is_empty())
                .ok_or_else(|| RequestError::invalid("missing role_id"))?;
            let mut role = require(storage, name).await?;
            let old = std::mem::replace(&mut role.role_id, new_id.to_string());
            save(engine, storage, name, &role, Some(&old)).await?;
            Ok(Response::empty())
        }
        _ => Err(RequestError::UnsupportedOperation),
    }
}
