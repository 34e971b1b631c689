//! The one place a [`RequestError`] becomes an HTTP status and `{"errors": [...]}` body.

use axum::http::StatusCode;

use crate::core::RequestError;

/// The status code Vault uses for each kind of failure.
pub fn status(err: &RequestError) -> StatusCode {
    match err {
        RequestError::PermissionDenied | RequestError::Forbidden(_) => StatusCode::FORBIDDEN,
        RequestError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        RequestError::NotFound | RequestError::UnsupportedPath(_) => StatusCode::NOT_FOUND,
        RequestError::UnsupportedOperation => StatusCode::METHOD_NOT_ALLOWED,
        RequestError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
        RequestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        RequestError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        RequestError::TooManyRequests(_) | RequestError::QuotaExceeded { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        RequestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        RequestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `Retry-After` seconds of a refusal that has them.
pub fn retry_after(err: &RequestError) -> Option<u64> {
    match err {
        RequestError::QuotaExceeded { retry_after, .. } => Some(*retry_after),
        _ => None,
    }
}

/// The JSON body: a plain 404 carries an empty list, as Vault's does.
pub fn body(err: &RequestError) -> serde_json::Value {
    match err {
        RequestError::NotFound => serde_json::json!({ "errors": [] }),
        RequestError::UnsupportedOperation => {
            serde_json::json!({ "errors": ["1 error occurred:\n\t* unsupported operation\n\n"] })
        }
        RequestError::UnsupportedPath(msg) if msg == "unsupported path" => {
            serde_json::json!({ "errors": ["1 error occurred:\n\t* unsupported path\n\n"] })
        }
        other => serde_json::json!({ "errors": [other.to_string()] }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_vault() {
        assert_eq!(
            status(&RequestError::PermissionDenied),
            StatusCode::FORBIDDEN
        );
        assert_eq!(status(&RequestError::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            status(&RequestError::sealed()),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            body(&RequestError::NotFound),
            serde_json::json!({"errors": []})
        );
        assert_eq!(
            body(&RequestError::PermissionDenied),
            serde_json::json!({"errors": ["permission denied"]})
        );
    }

    #[test]
    fn quota_refusals_are_429_with_retry_after() {
        let err = RequestError::QuotaExceeded {
            message: "request path \"secret/x\": rate limit quota exceeded".into(),
            retry_after: 5,
        };
        assert_eq!(status(&err), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after(&err), Some(5));
        assert_eq!(retry_after(&RequestError::NotFound), None);
        assert_eq!(
            body(&err),
            serde_json::json!({"errors": ["request path \"secret/x\": rate limit quota exceeded"]})
        );
    }
}
