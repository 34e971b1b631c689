//! Renders a core [`Response`] as Vault's JSON envelope (or a raw body, or a 204).

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use serde_json::Value;

use crate::core::{RequestError, Response};

/// The HTTP response for a handled request.
pub fn response(
    request_id: &str,
    result: Result<Response, RequestError>,
) -> axum::response::Response {
    match result {
        Ok(resp) => success(request_id, resp),
        Err(err) => {
            let mut resp = json_response(super::error::status(&err), &super::error::body(&err));
            if let Some(seconds) = super::error::retry_after(&err) {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            resp
        }
    }
}

fn success(request_id: &str, resp: Response) -> axum::response::Response {
    let status = resp
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    if let Some(raw) = resp.raw {
        return json_response(status, &raw);
    }
    if let Some((content_type, text)) = resp.text {
        let mut http = axum::response::Response::new(Body::from(text));
        *http.status_mut() = status;
        http.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        http.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return http;
    }
    if resp.is_empty() && resp.status.is_none() {
        return empty(StatusCode::NO_CONTENT);
    }
    json_bytes_response(status, resp.envelope_bytes(request_id))
}

/// A JSON body with Vault's headers.
pub fn json_response(status: StatusCode, body: &Value) -> axum::response::Response {
    let bytes =
        serde_json::to_vec(body).unwrap_or_else(|_| b"{\"errors\":[\"internal error\"]}".to_vec());
    json_bytes_response(status, bytes)
}

/// Serialised JSON with Vault's headers.
fn json_bytes_response(status: StatusCode, bytes: Vec<u8>) -> axum::response::Response {
    let mut resp = axum::response::Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn empty(status: StatusCode) -> axum::response::Response {
    let mut resp = axum::response::Response::new(Body::empty());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_success_is_204_and_data_gets_envelope() {
        assert_eq!(
            response("r", Ok(Response::empty())).status(),
            StatusCode::NO_CONTENT
        );
        let body = Response::json(json!({"a": 1})).envelope("r");
        for key in [
            "request_id",
            "lease_id",
            "renewable",
            "lease_duration",
            "data",
            "wrap_info",
            "warnings",
            "auth",
        ] {
            assert!(body.get(key).is_some(), "{key} missing");
        }
        assert_eq!(body["lease_id"], "");
        assert_eq!(body["data"]["a"], 1);
    }

    #[test]
    fn envelopes_keep_vaults_order_and_splice_serialised_data() {
        let raw = serde_json::value::RawValue::from_string(r#"{"pw":"a\"b"}"#.into()).unwrap();
        let resp = Response::data_json(raw);
        let text = String::from_utf8(resp.envelope_bytes("r")).unwrap();
        assert_eq!(
            text,
            r#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"pw":"a\"b"},"wrap_info":null,"warnings":null,"auth":null}"#
        );
        assert_eq!(resp.data_value(), Some(json!({"pw": "a\"b"})));
        assert_eq!(resp.envelope("r")["data"]["pw"], "a\"b");
    }

    #[test]
    fn legacy_responses_repeat_data() {
        let mut resp = Response::json(json!({"term": 1}));
        resp.data_at_top_level = true;
        let body = resp.envelope("r");
        assert_eq!(body["term"], 1);
        assert_eq!(body["data"]["term"], 1);
    }
}
