//! [`RequestError`]: how a request can fail, by kind. The HTTP layer maps each kind to a
//! status in one place (`http/error.rs`); messages never contain secret values.

use crate::barrier::BarrierError;
use crate::storage::StorageError;

/// A request's failure, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// 403: no token, a bad token, or the ACL denies.
    #[error("permission denied")]
    PermissionDenied,
    /// 403 with a specific reason (e.g. a parameter the policy forbids).
    #[error("{0}")]
    Forbidden(String),
    /// 400: the request is wrong; the message says how.
    #[error("{0}")]
    InvalidRequest(String),
    /// 404 with an empty `errors` list (missing secret, empty list).
    #[error("not found")]
    NotFound,
    /// 404 with a message (unknown path).
    #[error("{0}")]
    UnsupportedPath(String),
    /// 405: the path exists but not for this operation.
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// 412: a check-and-set or version precondition failed.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 415: e.g. PATCH without `application/merge-patch+json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413: the body exceeds the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429: a quota or rate limit.
    #[error("{0}")]
    TooManyRequests(String),
    /// 429 from a resource quota, with the whole seconds until a request would pass
    /// (sent as `Retry-After`).
    #[error("{message}")]
    QuotaExceeded { message: String, retry_after: u64 },
    /// 503: sealed or not initialised.
    #[error("{0}")]
    Unavailable(String),
    /// 500: our fault. The message is safe to show; details go to the log.
    #[error("{0}")]
    Internal(String),
}

impl RequestError {
    pub fn invalid(message: impl Into<String>) -> Self {
        RequestError::InvalidRequest(message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        RequestError::Internal(message.into())
    }

    pub fn sealed() -> Self {
        RequestError::Unavailable("Vault is sealed".into())
    }

    pub fn unsupported_path() -> Self {
        RequestError::UnsupportedPath("unsupported path".into())
    }
}

impl From<BarrierError> for RequestError {
    fn from(err: BarrierError) -> Self {
        match err {
            BarrierError::Storage(storage) => storage.into(),
            other => {
                tracing::error!(error = %other, "barrier failure");
                RequestError::Internal("internal error: storage or decryption failure".into())
            }
        }
    }
}

impl From<StorageError> for RequestError {
    fn from(err: StorageError) -> Self {
        match err {
            // A shared store restarting: 503, so clients and load balancers retry.
            StorageError::Unavailable { reason } => {
                tracing::warn!(%reason, "storage unavailable");
                RequestError::Unavailable(format!("storage unavailable: {reason}"))
            }
            StorageError::Conflict { key } => {
                tracing::info!(%key, "concurrent write lost");
                RequestError::Unavailable(
                    "the value was changed concurrently by another request; retry".into(),
                )
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                RequestError::Internal("internal error: storage failure".into())
            }
        }
    }
}
