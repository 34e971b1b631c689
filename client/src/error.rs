//! The SDK's error type: what went wrong talking to a Vault-API server, worded so the
//! reader knows what to try next.

/// Everything that can fail in the SDK.
///
/// ```no_run
/// # async fn demo() -> Result<(), cofre_client::Error> {
/// let client = cofre_client::Client::from_env()?;
/// match client.read("secret/data/app").await {
///     Err(cofre_client::Error::Api { status: 403, .. }) => eprintln!("check the token's policies"),
///     Err(other) => return Err(other),
///     Ok(secret) => println!("{secret:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status. `errors` holds the server's messages
    /// (the raw body when it was not Vault's `{"errors": [...]}` JSON).
    #[error("{}", api_error_text(.status, .errors, .method, .url, .raw_body))]
    Api {
        /// The HTTP status code (400, 403, 404, 503, …).
        status: u16,
        /// The server's error messages.
        errors: Vec<String>,
        /// The request method (`GET`, `PUT`, `LIST`, …).
        method: String,
        /// The full request URL.
        url: String,
        /// True when the body was not JSON and `errors` holds it verbatim.
        raw_body: bool,
    },
    /// The request never got an HTTP answer: refused connection, DNS, TLS, timeout.
    #[error("{method} \"{url}\": {detail}\nIs a Vault-API server listening there? Check the address (COFRE_ADDR, VAULT_ADDR or -address) and, for TLS, the CA certificate (COFRE_CACERT or -ca-cert).")]
    Transport {
        /// The request method.
        method: String,
        /// The full request URL.
        url: String,
        /// The underlying cause, flattened into one line.
        detail: String,
    },
    /// The server answered, but not with the JSON this call expects.
    #[error("cannot decode the response of {method} {url}: {detail}; is the address pointing at a Vault-API server?")]
    Decode {
        /// The request method.
        method: String,
        /// The full request URL.
        url: String,
        /// What did not parse.
        detail: String,
    },
    /// The client is misconfigured (bad address, unreadable CA file, bad environment value).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The HTTP status of an [`Error::Api`], `None` for every other kind.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) {
    /// if let Err(e) = client.write("secret/data/x", &serde_json::json!({})).await {
    ///     if e.status() == Some(400) { eprintln!("bad request: {e}") }
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Builds an [`Error::Api`] from a status and response body, decoding Vault's
    /// `{"errors": [...]}` shape when present.
    pub(crate) fn from_response(status: u16, method: &str, url: &str, body: &str) -> Error {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            #[serde(default)]
            errors: Option<Vec<String>>,
        }
        let (errors, raw_body) = match serde_json::from_str::<ErrorBody>(body) {
            Ok(decoded) => (decoded.errors.unwrap_or_default(), false),
            Err(_) => (vec![body.to_string()], true),
        };
        Error::Api {
            status,
            errors,
            method: method.to_string(),
            url: url.to_string(),
            raw_body,
        }
    }
}

/// Vault's wording for an API error, which scripts and people already recognise.
fn api_error_text(
    status: &u16,
    errors: &[String],
    method: &str,
    url: &str,
    raw_body: &bool,
) -> String {
    let kind = if *raw_body { "Raw Message" } else { "Errors" };
    let head =
        format!("Error making API request.\n\nURL: {method} {url}\nCode: {status}. {kind}:\n\n");
    if *raw_body {
        return head + errors.first().map(String::as_str).unwrap_or("");
    }
    let lines: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    head + &lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_reads_like_vault() {
        let err = Error::from_response(
            400,
            "PUT",
            "http://127.0.0.1:8200/v1/secret/data/x",
            r#"{"errors":["check-and-set parameter did not match the current version"]}"#,
        );
        assert_eq!(
            err.to_string(),
            "Error making API request.\n\nURL: PUT http://127.0.0.1:8200/v1/secret/data/x\n\
             Code: 400. Errors:\n\n* check-and-set parameter did not match the current version"
        );
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn several_errors_get_one_line_each() {
        let err = Error::from_response(400, "GET", "http://h/v1/x", r#"{"errors":["a","b"]}"#);
        assert!(err.to_string().ends_with("* a\n* b"), "{err}");
    }

    #[test]
    fn empty_errors_list_is_kept_empty() {
        let err = Error::from_response(404, "GET", "http://h/v1/x", r#"{"errors":[]}"#);
        match &err {
            Error::Api {
                errors, raw_body, ..
            } => {
                assert!(errors.is_empty());
                assert!(!raw_body);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().ends_with("Code: 404. Errors:\n\n"));
    }

    #[test]
    fn non_json_body_is_reported_raw() {
        let err = Error::from_response(502, "GET", "http://h/v1/x", "Bad Gateway");
        assert_eq!(
            err.to_string(),
            "Error making API request.\n\nURL: GET http://h/v1/x\nCode: 502. Raw Message:\n\nBad Gateway"
        );
    }

    #[test]
    fn transport_error_says_what_to_check() {
        let err = Error::Transport {
            method: "GET".into(),
            url: "http://127.0.0.1:1/v1/sys/health".into(),
            detail: "connection refused".into(),
        };
        let text = err.to_string();
        assert!(text.starts_with("GET \"http://127.0.0.1:1/v1/sys/health\": connection refused"));
        assert!(text.contains("COFRE_ADDR"));
        assert_eq!(err.status(), None);
    }
}
