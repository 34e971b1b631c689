//! Token lookup, renewal and revocation (by token, by accessor, and the token itself).
//! Batch tokens can be looked up, not renewed nor revoked (400, OpenBao's wording).

use std::sync::Arc;

use super::{auth_info, lookup_data};
use crate::core::{now_unix, Operation, Request, RequestError, Response, Unsealed};
use crate::tokens::TokenEntry;

fn required<'a>(req: &'a Request, name: &str) -> Result<&'a str, RequestError> {
    req.str_field(name)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| RequestError::invalid(format!("missing {name}")))
}

pub fn lookup_entry(entry: &TokenEntry, token: Option<&str>) -> Result<Response, RequestError> {
    Ok(Response::data(lookup_data(entry, token.unwrap_or(""))))
}

pub async fn lookup(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    if req.operation == Operation::Read && req.str_field("token")?.is_none() {
        return Err(RequestError::invalid("missing token"));
    }
    let token = required(req, "token")?;
    let entry = unsealed
        .tokens
        .lookup(token, now_unix())
        .await?
        .ok_or_else(|| RequestError::Forbidden("bad token".into()))?;
    Ok(Response::data(lookup_data(&entry, token)))
}

pub async fn lookup_accessor(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    let entry = by_accessor(unsealed, req).await?;
    Ok(Response::data(lookup_data(&entry, "")))
}

async fn by_accessor(unsealed: &Unsealed, req: &Request) -> Result<Arc<TokenEntry>, RequestError> {
    let accessor = required(req, "accessor")?;
    unsealed
        .tokens
        .lookup_accessor(accessor, now_unix())
        .await?
        .ok_or_else(|| RequestError::invalid("invalid accessor"))
}

pub async fn renew_token(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    let token = required(req, "token")?;
    let entry = unsealed
        .tokens
        .lookup(token, now_unix())
        .await?
        .ok_or_else(|| RequestError::invalid("invalid token"))?;
    renew_with_token(unsealed, &entry, req, token).await
}

pub async fn renew_accessor(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    let entry = by_accessor(unsealed, req).await?;
    let mut response = renew_with_token(unsealed, &entry, req, "").await?;
    if let Some(auth) = response.auth.as_mut() {
        auth.client_token.clear();
    }
    Ok(response)
}

pub async fn renew(
    unsealed: &Unsealed,
    caller: &TokenEntry,
    req: &Request,
) -> Result<Response, RequestError> {
    let token = req.client_token.clone().unwrap_or_default();
    renew_with_token(unsealed, caller, req, &token).await
}

/// Extends a token's TTL by `increment` (or its original TTL), capped by its explicit max
/// TTL and the system max TTL counted from its creation. Periodic tokens renew to their
/// period.
async fn renew_with_token(
    unsealed: &Unsealed,
    entry: &TokenEntry,
    req: &Request,
    token: &str,
) -> Result<Response, RequestError> {
    if entry.is_batch() {
        return Err(RequestError::invalid("batch tokens cannot be renewed"));
    }
    if !entry.renewable || entry.expire_time == 0 {
        return Err(RequestError::invalid("lease is not renewable"));
    }
    let now = now_unix();
    let increment = req.duration_field("increment")?.filter(|i| *i > 0);
    let mut ttl = if entry.period > 0 {
        entry.period
    } else {
        increment.unwrap_or(entry.creation_ttl)
    };
    let mut warnings = Vec::new();
    let mut max_end = u64::MAX;
    if entry.explicit_max_ttl > 0 {
        max_end = entry.creation_time + entry.explicit_max_ttl;
    }
    if entry.period == 0 {
        max_end = max_end.min(entry.creation_time + unsealed.settings.max_lease_ttl.as_secs());
    }
    if now + ttl > max_end {
        let capped = max_end.saturating_sub(now);
        warnings.push(format!(
            "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly",
            crate::duration::format_go(std::time::Duration::from_secs(ttl)),
            crate::duration::format_go(std::time::Duration::from_secs(capped)),
        ));
        ttl = capped;
    }
    let mut renewed = entry.clone();
    renewed.expire_time = now + ttl;
    let renewed = unsealed.tokens.update(entry, renewed).await?;
    Ok(Response {
        auth: Some(Box::new(auth_info(token, &renewed))),
        warnings,
        ..Response::default()
    })
}

pub async fn revoke(
    unsealed: &Unsealed,
    req: &Request,
    orphan: bool,
) -> Result<Response, RequestError> {
    let token = required(req, "token")?;
    if let Some(entry) = unsealed.tokens.lookup(token, now_unix()).await? {
        refuse_batch(&entry)?;
    }
    let hash = unsealed.tokens.hash(token);
    revoke_hash(unsealed, &hash, orphan).await
}

/// Batch tokens end by expiring (as in Vault): nothing is stored to revoke.
pub fn refuse_batch(entry: &TokenEntry) -> Result<(), RequestError> {
    if entry.is_batch() {
        return Err(RequestError::invalid("batch tokens cannot be revoked"));
    }
    Ok(())
}

pub async fn revoke_hash(
    unsealed: &Unsealed,
    hash: &str,
    orphan: bool,
) -> Result<Response, RequestError> {
    if orphan {
        unsealed.revoke_orphan(hash).await?;
    } else {
        unsealed.revoke_tree(hash).await?;
    }
    Ok(Response::empty())
}

pub async fn revoke_accessor(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    let entry = by_accessor(unsealed, req).await?;
    revoke_hash(unsealed, &entry.id_hash, false).await
}
