//! `sys/wrapping/{wrap,unwrap,lookup,rewrap}`: thin handlers over the core's response
//! wrapping (`core/wrapping.rs`). The wrapping token is the request's `token` field, or
//! the calling token itself; `lookup` needs no token of its own (the pipeline serves it
//! unauthenticated, so looking a wrapping token up does not spend its one use).

use super::{is_write, unsupported};
use crate::core::wrapping::Unwrapped;
use crate::core::{Operation, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;

/// Dispatches `wrapping/…` (paths relative to `sys/`).
pub async fn handle(
    unsealed: &Unsealed,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let action = req.path.trim_end_matches('/').strip_prefix("wrapping/");
    match action {
        Some("lookup") => lookup(unsealed, req).await,
        Some(_) if !is_write(req.operation) => unsupported(),
        Some("wrap") => wrap(req),
        Some("unwrap") => unwrap(unsealed, ctx, req).await,
        Some("rewrap") => rewrap(unsealed, ctx, req).await,
        _ => Err(RequestError::unsupported_path()),
    }
}

/// The data to wrap is the request's body; the pipeline wraps the answer.
fn wrap(req: &Request) -> Result<Response, RequestError> {
    if req.wrap_ttl.is_none() {
        return Err(RequestError::invalid(
            "endpoint requires response wrapping to be used",
        ));
    }
    Ok(Response::data(req.data.clone()))
}

/// The wrapped answer, exactly as it would have been sent.
async fn unwrap(
    unsealed: &Unsealed,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let unwrapped = take(unsealed, ctx, req).await?;
    Ok(Response::raw(200, unwrapped.body))
}

/// Moves a wrapped answer into a new wrapping token with the same TTL and creation path.
async fn rewrap(
    unsealed: &Unsealed,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let unwrapped = take(unsealed, ctx, req).await?;
    let info = unwrapped.info;
    unsealed
        .wrap_body(&unwrapped.body, info.creation_ttl, &info.creation_path)
        .await
}

/// Takes the answer out of the request's wrapping token (see [`Unsealed::unwrap`]).
async fn take(
    unsealed: &Unsealed,
    ctx: &MountContext,
    req: &Request,
) -> Result<Unwrapped, RequestError> {
    let caller = ctx.token.as_ref().ok_or(RequestError::PermissionDenied)?;
    unsealed.unwrap(body_token(req)?, caller).await
}

/// `sys/wrapping/lookup`: the token in the body (or query), else the one in the header.
pub async fn lookup(unsealed: &Unsealed, req: &Request) -> Result<Response, RequestError> {
    if !matches!(req.operation, Operation::Read) && !is_write(req.operation) {
        return unsupported();
    }
    let token = body_token(req)?
        .or(req.client_token.as_deref())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            RequestError::Forbidden("error validating wrapping token: token is empty".into())
        })?;
    let info = unsealed.wrapping_info(token).await?;
    let data = serde_json::to_value(info)
        .map_err(|_| RequestError::internal("the wrapping information is malformed"))?;
    Ok(Response::json(data))
}

/// The request's non-empty `token` field.
fn body_token(req: &Request) -> Result<Option<&str>, RequestError> {
    Ok(req
        .str_field("token")?
        .map(str::trim)
        .filter(|t| !t.is_empty()))
}
