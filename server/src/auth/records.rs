//! Storage and routing plumbing shared by the auth methods that keep named roles and a
//! single `config` record ([`super::jwt`], [`super::kubernetes`], and [`super::approle`]
//! for its roles): [`RecordStore`], named JSON records under a prefix (load, save, list,
//! delete, existence); [`stored_or_new`], the common start of a role write; the `config`
//! record ([`load_config`], [`save_config`]); and [`dispatch`], which routes the requests
//! of a `login` + `config` + `role/<name>` method laid out as a [`Layout`] and answers
//! LIST, the reads and deletes of `role/<name>` and `config` reads itself.
//! Each method keeps its own fields, defaults and validation.

use crate::engines::help::PathHelp;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::fields::reject_unknown_fields;
use crate::auth::token_fields::{TokenFields, TOKEN_FIELD_NAMES};
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::MountContext;

/// The storage key of a method's single configuration record.
const CONFIG_KEY: &str = "config";

/// Help for the `role` list path every role-based auth method serves.
pub(crate) const LIST_ROLES_HELP: PathHelp = PathHelp {
    pattern: "role",
    synopsis: "List the roles.",
    description: "LIST names the roles of this mount.",
};

/// Named JSON records stored at `<prefix><name>`.
pub(crate) struct RecordStore {
    prefix: &'static str,
    /// Whether names are case-insensitive (stored lowercased).
    fold_case: bool,
}

impl RecordStore {
    /// Records under `prefix`; `fold_case` stores names lowercased.
    pub(crate) const fn new(prefix: &'static str, fold_case: bool) -> Self {
        Self { prefix, fold_case }
    }

    /// The storage key of the record `name`.
    fn key(&self, name: &str) -> String {
        if self.fold_case {
            format!("{}{}", self.prefix, name.to_lowercase())
        } else {
            format!("{}{name}", self.prefix)
        }
    }

    /// The record `name`, or `None`.
    pub(crate) async fn load<T: DeserializeOwned>(
        &self,
        storage: &StorageView,
        name: &str,
    ) -> Result<Option<T>, RequestError> {
        Ok(storage.get_json(&self.key(name)).await?)
    }

    /// Stores `record` as `name`.
    pub(crate) async fn save<T: Serialize + Sync>(
        &self,
        storage: &StorageView,
        name: &str,
        record: &T,
    ) -> Result<(), RequestError> {
        Ok(storage.put_json(&self.key(name), record).await?)
    }

    /// Removes the record `name` (absent is fine).
    pub(crate) async fn delete(
        &self,
        storage: &StorageView,
        name: &str,
    ) -> Result<(), RequestError> {
        Ok(storage.delete(&self.key(name)).await?)
    }

    /// The LIST answer: the stored names, or a 404 when there are none.
    pub(crate) async fn list(&self, storage: &StorageView) -> Result<Response, RequestError> {
        Response::list(storage.list(self.prefix).await?)
    }

    /// [`crate::engines::Engine::exists`] for `<prefix><name>` paths: whether that record
    /// is stored, or `None` for any other path.
    pub(crate) async fn exists_at(
        &self,
        storage: &StorageView,
        path: &str,
    ) -> Result<Option<bool>, RequestError> {
        match path.trim_end_matches('/').strip_prefix(self.prefix) {
            Some(name) if !name.contains('/') => {
                Ok(Some(storage.get(&self.key(name)).await?.is_some()))
            }
            _ => Ok(None),
        }
    }
}

/// Answers `<prefix><name>`: a read gives `to_api` of the record (404 when absent), a
/// create/update runs `write`, a delete removes the record.
async fn handle_record<T, W, F>(
    store: &RecordStore,
    storage: &StorageView,
    name: &str,
    req: &Request,
    to_api: fn(&T) -> Map<String, Value>,
    write: W,
) -> Result<Response, RequestError>
where
    T: DeserializeOwned,
    W: FnOnce() -> F,
    F: Future<Output = Result<Response, RequestError>>,
{
    match req.operation {
        Operation::Read => {
            let record: T = store
                .load(storage, name)
                .await?
                .ok_or(RequestError::NotFound)?;
            Ok(Response::data(to_api(&record)))
        }
        Operation::Create | Operation::Update => write().await,
        Operation::Delete => {
            store.delete(storage, name).await?;
            Ok(Response::empty())
        }
        _ => Err(RequestError::UnsupportedOperation),
    }
}

/// The start of a role write (jwt, kubernetes): checks `name`, refuses parameters that
/// are neither in `role_fields` nor token fields (a 400 naming them), then gives the
/// stored role with its token fields updated from the request, or `new` of token fields
/// read from it. The caller applies its own fields, validates and saves.
pub(crate) async fn stored_or_new<R: DeserializeOwned>(
    store: &RecordStore,
    storage: &StorageView,
    name: &str,
    req: &Request,
    role_fields: &[&str],
    token: fn(&mut R) -> &mut TokenFields,
    new: impl FnOnce(TokenFields) -> R,
) -> Result<R, RequestError> {
    crate::auth::userpass::validate_name(name)?;
    let known: Vec<&str> = role_fields
        .iter()
        .chain(TOKEN_FIELD_NAMES)
        .copied()
        .collect();
    reject_unknown_fields(req, &known)?;
    match store.load::<R>(storage, name).await? {
        Some(mut role) => {
            token(&mut role).update(&req.data)?;
            Ok(role)
        }
        None => Ok(new(TokenFields::from_request(&req.data)?)),
    }
}

/// The mount's configuration, or a 400 saying the `method` mount needs one.
pub(crate) async fn load_config<T: DeserializeOwned>(
    ctx: &MountContext,
    method: &str,
) -> Result<T, RequestError> {
    ctx.storage.get_json(CONFIG_KEY).await?.ok_or_else(|| {
        RequestError::invalid(format!(
            "the {method} auth method at auth/{} is not configured: write its config first",
            ctx.mount.path
        ))
    })
}

/// A `config` read: `to_api` of the stored configuration, or a 404.
async fn read_config<T: DeserializeOwned>(
    ctx: &MountContext,
    to_api: fn(&T) -> Map<String, Value>,
) -> Result<Response, RequestError> {
    let Some(config) = ctx.storage.get_json::<T>(CONFIG_KEY).await? else {
        return Err(RequestError::NotFound);
    };
    Ok(Response::data(to_api(&config)))
}

/// Stores a (validated) configuration, replacing the old one; the empty write answer.
pub(crate) async fn save_config<T: Serialize + Sync>(
    ctx: &MountContext,
    config: &T,
) -> Result<Response, RequestError> {
    ctx.storage.put_json(CONFIG_KEY, config).await?;
    Ok(Response::empty())
}

/// What a method with `login`, `config` and `role/<name>` paths stores and how it shows
/// it: the roles' store and the read answers of its configuration and of a role.
pub(crate) struct Layout<C, R> {
    pub roles: RecordStore,
    pub config_api: fn(&C) -> Map<String, Value>,
    pub role_api: fn(&R) -> Map<String, Value>,
}

/// Answers a request to a method laid out as `layout`: a write to `login` runs `login`;
/// `config` is read here and written by `write_config`; LIST `role/` and the reads and
/// deletes of `role/<name>` are answered here, its writes by `write_role`. A known path
/// with the wrong operation is a 405, any other path a 404.
pub(crate) async fn dispatch<'a, C, R, L, LF, W, WF, V, VF>(
    layout: &Layout<C, R>,
    ctx: &'a MountContext,
    req: &'a Request,
    login: L,
    write_config: W,
    write_role: V,
) -> Result<Response, RequestError>
where
    C: DeserializeOwned,
    R: DeserializeOwned,
    L: FnOnce() -> LF,
    LF: Future<Output = Result<Response, RequestError>>,
    W: FnOnce() -> WF,
    WF: Future<Output = Result<Response, RequestError>>,
    V: FnOnce(&'a str) -> VF,
    VF: Future<Output = Result<Response, RequestError>>,
{
    let parts: Vec<&'a str> = req.path.trim_end_matches('/').split('/').collect();
    let write = matches!(req.operation, Operation::Create | Operation::Update);
    match (parts.as_slice(), req.operation) {
        (["login"], _) if write => login().await,
        (["config"], Operation::Read) => read_config(ctx, layout.config_api).await,
        (["config"], _) if write => write_config().await,
        (["role"], Operation::List) => layout.roles.list(&ctx.storage).await,
        (&["role", name], _) if !name.is_empty() => {
            let storage = &ctx.storage;
            handle_record(&layout.roles, storage, name, req, layout.role_api, || {
                write_role(name)
            })
            .await
        }
        (["login" | "config" | "role"], _) => Err(RequestError::UnsupportedOperation),
        _ => Err(RequestError::unsupported_path()),
    }
}
