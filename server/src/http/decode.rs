//! Turns an HTTP request into a core [`Request`]: method → operation, path checks, the
//! token header, and the body (JSON object or form) or query as data. Bad input is a 4xx
//! with a clear message, never a panic.

use axum::http::{HeaderMap, Method, Uri};
use serde_json::{Map, Value};

use crate::core::{Operation, Request, RequestError};

/// Decodes everything but the body.
pub fn request_head(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Request, RequestError> {
    let raw_path = uri.path().strip_prefix("/v1/").ok_or_else(|| {
        RequestError::UnsupportedPath("unsupported path: API paths start with /v1/".into())
    })?;
    let mut path = percent_decode(raw_path)?;
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(RequestError::invalid(
            "invalid path: '.' and '..' segments are not allowed",
        ));
    }
    let query = parse_query(uri.query().unwrap_or(""))?;
    let list_query = query
        .get("list")
        .and_then(Value::as_str)
        .is_some_and(|v| v == "true" || v == "1");
    let operation = match *method {
        Method::GET | Method::HEAD if list_query => Operation::List,
        Method::GET | Method::HEAD => Operation::Read,
        Method::POST | Method::PUT => Operation::Update,
        Method::PATCH => Operation::Patch,
        Method::DELETE => Operation::Delete,
        ref m if m.as_str() == "LIST" => Operation::List,
        _ => return Err(RequestError::UnsupportedOperation),
    };
    if operation == Operation::List && !path.ends_with('/') {
        path.push('/');
    }
    let mut req = Request::new(operation, path);
    req.client_token = token(headers);
    // As Vault: any non-empty `help` value asks for help, whatever the method.
    req.help = query
        .get("help")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.is_empty());
    req.wrap_ttl = wrap_ttl(headers)?;
    if matches!(
        operation,
        Operation::Read | Operation::List | Operation::Delete
    ) {
        let mut data = query;
        data.remove("list");
        data.remove("help");
        req.data = data;
    }
    Ok(req)
}

/// Adds the body's fields to a write request.
pub fn add_body(req: &mut Request, headers: &HeaderMap, body: &[u8]) -> Result<(), RequestError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if req.operation == Operation::Patch
        && !content_type.starts_with("application/merge-patch+json")
    {
        return Err(RequestError::UnsupportedMediaType(format!(
            "PATCH requires Content-Type application/merge-patch+json, got {content_type:?}"
        )));
    }
    if !matches!(req.operation, Operation::Update | Operation::Patch) {
        return Ok(());
    }
    let trimmed = body.trim_ascii();
    req.empty_body = trimmed.is_empty();
    if trimmed.is_empty() {
        return Ok(());
    }
    // As Vault: a form content type with a JSON-looking body is JSON (`curl -d '{..}'`
    // sends the form type by default).
    let is_form =
        content_type.starts_with("application/x-www-form-urlencoded") && !trimmed.starts_with(b"{");
    req.data = if is_form {
        let text = std::str::from_utf8(trimmed)
            .map_err(|_| RequestError::invalid("form body is not valid UTF-8"))?;
        parse_query(text)?
    } else {
        parse_json_object(trimmed)?
    };
    Ok(())
}

fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, RequestError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(RequestError::invalid(
            "failed to parse JSON input: the request body must be a JSON object",
        )),
        Err(e) => Err(RequestError::invalid(format!(
            "failed to parse JSON input: {e}"
        ))),
    }
}

/// The client token: `X-Vault-Token`, or `Authorization: Bearer <token>`.
fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// `X-Vault-Wrap-TTL`: whole seconds or a duration ("5m"); zero asks for no wrapping
/// (as Vault), a negative or unreadable value is a 400.
fn wrap_ttl(headers: &HeaderMap) -> Result<Option<u64>, RequestError> {
    let Some(value) = headers.get("x-vault-wrap-ttl") else {
        return Ok(None);
    };
    let bad = |detail: &dyn std::fmt::Display| {
        RequestError::invalid(format!("error parsing X-Vault-Wrap-TTL header: {detail}"))
    };
    let text = value.to_str().map_err(|_| bad(&"the value is not text"))?;
    if text.trim().starts_with('-') {
        return Err(bad(&"requested wrap ttl cannot be negative"));
    }
    let ttl = crate::duration::parse_duration(text).map_err(|e| bad(&e))?;
    Ok(Some(ttl.as_secs()).filter(|&seconds| seconds > 0))
}

/// `a=1&b=x%20y` as a map of strings (the last value wins for repeated keys).
fn parse_query(query: &str) -> Result<Map<String, Value>, RequestError> {
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "))?;
        let v = percent_decode(&v.replace('+', " "))?;
        map.insert(k, Value::String(v));
    }
    Ok(map)
}

/// Decodes `%XX` escapes; malformed escapes or invalid UTF-8 are a 400.
fn percent_decode(s: &str) -> Result<String, RequestError> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bad = || RequestError::invalid("invalid percent-encoding in request");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, uri: &str) -> Result<Request, RequestError> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        request_head(&method, &uri.parse().unwrap(), &HeaderMap::new())
    }

    #[test]
    fn methods_map_to_operations() {
        assert_eq!(head("GET", "/v1/a/b").unwrap().operation, Operation::Read);
        assert_eq!(
            head("GET", "/v1/a/b?list=true").unwrap().operation,
            Operation::List
        );
        assert_eq!(head("LIST", "/v1/a/b").unwrap().path, "a/b/");
        assert_eq!(head("PUT", "/v1/a").unwrap().operation, Operation::Update);
        assert!(matches!(
            head("TRACE", "/v1/a"),
            Err(RequestError::UnsupportedOperation)
        ));
    }

    #[test]
    fn traversal_and_bad_escapes_are_rejected() {
        assert!(matches!(
            head("GET", "/v1/secret/../sys"),
            Err(RequestError::InvalidRequest(_))
        ));
        assert!(matches!(
            head("GET", "/v1/secret/%2e%2e/x"),
            Err(RequestError::InvalidRequest(_))
        ));
        assert!(matches!(
            head("GET", "/v1/a%zz"),
            Err(RequestError::InvalidRequest(_))
        ));
        assert!(head("GET", "/x/a").is_err());
    }

    #[test]
    fn wrap_ttl_header_is_seconds_or_a_duration() {
        let with_header = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-vault-wrap-ttl", value.parse().unwrap());
            request_head(&Method::GET, &"/v1/a".parse().unwrap(), &headers)
        };
        assert_eq!(with_header("60").unwrap().wrap_ttl, Some(60));
        assert_eq!(with_header("5m").unwrap().wrap_ttl, Some(300));
        assert_eq!(with_header("0").unwrap().wrap_ttl, None);
        assert_eq!(head("GET", "/v1/a").unwrap().wrap_ttl, None);
        for bad in ["-5", "abc"] {
            let Err(RequestError::InvalidRequest(message)) = with_header(bad) else {
                panic!("{bad:?} was accepted");
            };
            assert!(message.starts_with("error parsing X-Vault-Wrap-TTL header: "));
        }
    }

    #[test]
    fn query_becomes_data_for_reads() {
        let req = head("GET", "/v1/secret/data/a?version=2&x=a%20b").unwrap();
        assert_eq!(req.data["version"], "2");
        assert_eq!(req.data["x"], "a b");
    }

    #[test]
    fn bodies_json_form_and_errors() {
        let mut req = head("POST", "/v1/a").unwrap();
        add_body(&mut req, &HeaderMap::new(), br#"{"k":"v"}"#).unwrap();
        assert_eq!(req.data["k"], "v");
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        add_body(&mut req, &headers, b"a=1&b=two").unwrap();
        assert_eq!(req.data["b"], "two");
        add_body(&mut req, &headers, br#"{"json": "despite the form type"}"#).unwrap();
        assert_eq!(req.data["json"], "despite the form type");
        assert!(add_body(&mut req, &HeaderMap::new(), b"{not json").is_err());
        assert!(add_body(&mut req, &HeaderMap::new(), b"[1,2]").is_err());
        let mut patch = head("PATCH", "/v1/a").unwrap();
        assert!(matches!(
            add_body(&mut patch, &HeaderMap::new(), b"{}"),
            Err(RequestError::UnsupportedMediaType(_))
        ));
    }
}
