//! Response wrapping: an answer is kept in the cubbyhole of a new single-use token (the
//! wrapping token) and the client gets only that token (`wrap_info`). The token carries
//! the built-in `response-wrapping` policy, so it can do nothing but unwrap itself; its
//! one use is spent by the unwrap, and revoking it (after that use, or at expiry) clears
//! its cubbyhole, so an answer can be unwrapped once.
//!
//! The cubbyhole holds what Vault's does: `response` (the answer's JSON text, readable as
//! `cubbyhole/response` by the token itself) and `wrapinfo` (what `sys/wrapping/lookup`
//! shows).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::request::WrapInfo;
use super::{RequestError, Response, Unsealed};
use crate::barrier::StorageView;
use crate::engines::kv::v1::data_key;
use crate::tokens::{TokenEntry, TokenStore};

/// The policy every wrapping token carries (and nothing else).
pub const POLICY: &str = "response-wrapping";

/// OpenBao's answer for a wrapping token that was used, expired, revoked or never was one.
const INVALID: &str = "wrapping token is not valid or does not exist";

/// Cubbyhole paths of a wrapping token.
const RESPONSE: &str = "response";
const INFO: &str = "wrapinfo";

/// What `sys/wrapping/lookup` reports about a wrapping token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoredInfo {
    pub creation_path: String,
    pub creation_time: String,
    pub creation_ttl: u64,
}

/// A wrapped answer taken out of its token's cubbyhole.
pub struct Unwrapped {
    /// The answer as the client would have received it (Vault's envelope).
    pub body: Value,
    pub info: StoredInfo,
}

/// An answer that has a body to wrap: not a 204, not a text body, not wrapped already.
fn wrappable(resp: &Response) -> bool {
    resp.wrap_info.is_none() && resp.text.is_none() && !(resp.is_empty() && resp.status.is_none())
}

/// True for a live token that is a wrapping token.
fn is_wrapping_token(entry: &TokenEntry) -> bool {
    entry.policies.len() == 1 && entry.policies[0] == POLICY
}

fn invalid() -> RequestError {
    RequestError::invalid(INVALID)
}

impl Unsealed {
    /// Wraps `resp` for `ttl` seconds when it has a body (a 204 or an error stays as it
    /// is, as in Vault); `creation_path` is the full request path.
    pub(super) async fn wrap_response(
        &self,
        resp: Response,
        ttl: u64,
        creation_path: &str,
        request_id: &str,
    ) -> Result<Response, RequestError> {
        if !wrappable(&resp) {
            return Ok(resp);
        }
        let wrapped_accessor = resp
            .auth
            .as_ref()
            .map(|auth| auth.accessor.clone())
            .unwrap_or_default();
        let body = match resp.raw {
            Some(raw) => raw,
            None => resp.envelope(request_id),
        };
        let mut wrapped = self.wrap_body(&body, ttl, creation_path).await?;
        if let Some(info) = wrapped.wrap_info.as_mut() {
            info.wrapped_accessor = wrapped_accessor;
        }
        Ok(wrapped)
    }

    /// Stores `body` in the cubbyhole of a new wrapping token that lives `ttl` seconds
    /// and answers with its `wrap_info`.
    pub async fn wrap_body(
        &self,
        body: &Value,
        ttl: u64,
        creation_path: &str,
    ) -> Result<Response, RequestError> {
        let (token, accessor) = TokenStore::generate_ids();
        let base = TokenEntry::new(
            self.tokens.hash(&token),
            accessor,
            vec![POLICY.into()],
            creation_path,
        );
        let entry = TokenEntry {
            num_uses: 1,
            creation_ttl: ttl,
            expire_time: base.creation_time + ttl,
            explicit_max_ttl: ttl,
            orphan: true,
            ..base
        };
        let info = StoredInfo {
            creation_path: creation_path.to_string(),
            creation_time: entry.issue_time.clone(),
            creation_ttl: ttl,
        };
        let cubbyhole = self.wrapping_cubbyhole(&entry.id_hash)?;
        let entry = self.tokens.create(entry).await?;
        let stored = store(&cubbyhole, body, &info).await;
        if let Err(e) = stored {
            // Revoking clears whatever part of the cubbyhole was written.
            self.revoke_tree(&entry.id_hash).await?;
            return Err(e);
        }
        Ok(Response {
            wrap_info: Some(Box::new(WrapInfo {
                token: token.to_string(),
                accessor: entry.accessor.clone(),
                ttl,
                creation_time: info.creation_time,
                creation_path: info.creation_path,
                wrapped_accessor: String::new(),
            })),
            ..Response::default()
        })
    }

    /// What a live wrapping token keeps, without using it (`sys/wrapping/lookup`).
    pub async fn wrapping_info(&self, token: &str) -> Result<StoredInfo, RequestError> {
        let entry = self.live_wrapping_token(token).await?;
        self.wrapping_cubbyhole(&entry.id_hash)?
            .get_json(&data_key(INFO))
            .await?
            .ok_or_else(invalid)
    }

    /// Takes the answer out of a wrapping token and revokes the token, so the answer can
    /// be taken once. `token` is the wrapping token; pass `None` when the caller
    /// authenticated with it (the request spent its use, and the pipeline revokes it).
    pub async fn unwrap(
        &self,
        token: Option<&str>,
        caller: &TokenEntry,
    ) -> Result<Unwrapped, RequestError> {
        let Some(token) = token else {
            if !is_wrapping_token(caller) {
                return Err(invalid());
            }
            return self.read_wrapped(&caller.id_hash).await;
        };
        let entry = self.live_wrapping_token(token).await?;
        // The one use: a concurrent unwrap that spent it first wins.
        if self.tokens.spend_use(&entry.id_hash).await? != Some(0) {
            return Err(invalid());
        }
        let unwrapped = self.read_wrapped(&entry.id_hash).await;
        self.revoke_tree(&entry.id_hash).await?;
        unwrapped
    }

    async fn live_wrapping_token(&self, token: &str) -> Result<Arc<TokenEntry>, RequestError> {
        let entry = self.tokens.lookup(token, super::now_unix()).await?;
        entry
            .filter(|e| is_wrapping_token(e) && e.num_uses > 0)
            .ok_or_else(invalid)
    }

    async fn read_wrapped(&self, hash: &str) -> Result<Unwrapped, RequestError> {
        let cubbyhole = self.wrapping_cubbyhole(hash)?;
        let response: Option<serde_json::Map<String, Value>> =
            cubbyhole.get_json(&data_key(RESPONSE)).await?;
        let text = response
            .as_ref()
            .and_then(|r| r.get(RESPONSE))
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        let body = serde_json::from_str(text)
            .map_err(|_| RequestError::internal("the wrapped response is malformed"))?;
        let info = cubbyhole
            .get_json(&data_key(INFO))
            .await?
            .ok_or_else(invalid)?;
        Ok(Unwrapped { body, info })
    }

    fn wrapping_cubbyhole(&self, hash: &str) -> Result<StorageView, RequestError> {
        self.cubbyhole_view(hash).ok_or_else(|| {
            RequestError::internal("response wrapping needs the cubbyhole/ mount, which is missing")
        })
    }
}

async fn store(
    cubbyhole: &StorageView,
    body: &Value,
    info: &StoredInfo,
) -> Result<(), RequestError> {
    let text = body.to_string();
    cubbyhole
        .put_json(&data_key(RESPONSE), &json!({ RESPONSE: text }))
        .await?;
    cubbyhole.put_json(&data_key(INFO), info).await?;
    Ok(())
}

#[cfg(test)]
#[path = "wrapping_tests.rs"]
mod tests;
