//! The request and response types every layer between HTTP and the engines speaks.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What a request does, in Vault's terms (HTTP method → operation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Read,
    /// A write to a path that does not exist yet (decided by the engine's existence check).
    Create,
    /// A write (POST/PUT) to an existing path, or to any path of an engine without an
    /// existence check.
    Update,
    Patch,
    Delete,
    List,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::List => "list",
        }
    }

    /// The ACL capability a request of this operation needs.
    pub fn capability(self) -> crate::policy::Capability {
        use crate::policy::Capability;
        match self {
            Operation::Read => Capability::Read,
            Operation::Create => Capability::Create,
            Operation::Update => Capability::Update,
            Operation::Patch => Capability::Patch,
            Operation::Delete => Capability::Delete,
            Operation::List => Capability::List,
        }
    }
}

/// One API request after HTTP decoding.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: String,
    pub operation: Operation,
    /// Full path below `/v1/`, without leading or trailing slash except that list paths
    /// end in '/'.
    pub path: String,
    /// The body's fields (or the query's, for reads and lists).
    pub data: Map<String, Value>,
    /// The client token as sent, if any. Never logged.
    pub client_token: Option<String>,
    pub remote_addr: Option<IpAddr>,
    /// HTTP method was PUT/POST with no body at all (`vault write -f`).
    pub empty_body: bool,
    /// `?help=<non-empty>`: answer the path's help text instead (`vault path-help`).
    pub help: bool,
    /// `X-Vault-Wrap-TTL` in seconds: the answer is wrapped in a single-use token living
    /// this long. `None` (or 0) = not wrapped.
    pub wrap_ttl: Option<u64>,
}

impl Request {
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Self {
            id: crate::crypto::request_id(),
            operation,
            help: false,
            path: path.into(),
            data: Map::new(),
            client_token: None,
            remote_addr: None,
            empty_body: true,
            wrap_ttl: None,
        }
    }

    pub fn with_data(mut self, data: Map<String, Value>) -> Self {
        self.empty_body = data.is_empty();
        self.data = data;
        self
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// A string field, with a 400 naming the field when it has another type.
    pub fn str_field(&self, name: &str) -> Result<Option<&str>, super::RequestError> {
        match self.data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(super::RequestError::invalid(format!(
                "field {name:?} must be a string"
            ))),
        }
    }

    /// A field as a string list: accepts a JSON list of strings or a comma-separated string.
    pub fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, super::RequestError> {
        match self.data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            )),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_string()),
                    _ => Err(super::RequestError::invalid(format!(
                        "field {name:?} must be a list of strings"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(super::RequestError::invalid(format!(
                "field {name:?} must be a list of strings"
            ))),
        }
    }

    /// A boolean field (JSON bool, or "true"/"false"/"1"/"0" from forms and queries).
    pub fn bool_field(&self, name: &str) -> Result<Option<bool>, super::RequestError> {
        super::fields::boolean(&self.data, name)
    }

    /// An unsigned integer field (number or numeric string).
    pub fn uint_field(&self, name: &str) -> Result<Option<u64>, super::RequestError> {
        super::fields::count(&self.data, name)
    }

    /// A duration field in seconds: integer seconds or a Go duration string ("1h30m").
    pub fn duration_field(&self, name: &str) -> Result<Option<u64>, super::RequestError> {
        super::fields::seconds(&self.data, name)
    }
}

/// The lease attached to a secret in a response (`lease_id`, `lease_duration`, `renewable`).
#[derive(Clone, Debug, Default)]
pub struct LeaseInfo {
    pub lease_id: String,
    pub ttl_seconds: u64,
    pub renewable: bool,
}

/// A secret an engine hands out with a lease (dynamic credentials). The core registers the
/// lease, answers with `lease_id` / `lease_duration` / `renewable`, and later hands
/// `internal` back to the engine's `revoke` / `renew`.
#[derive(Clone, Debug, Default)]
pub struct SecretLease {
    /// Seconds; 0 = the mount's (or system's) default lease TTL.
    pub ttl: u64,
    /// Seconds after issue that renewals may not pass; 0 = the mount's (or system's) max.
    pub max_ttl: u64,
    pub renewable: bool,
    /// What revocation and renewal need (user name, role, connection name). Kept in the
    /// lease under the barrier and never returned to a client.
    pub internal: Map<String, Value>,
}

/// The `auth` block of a response (logins, token creation).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct AuthInfo {
    pub client_token: String,
    pub accessor: String,
    pub policies: Vec<String>,
    pub token_policies: Vec<String>,
    pub identity_policies: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
    pub lease_duration: u64,
    pub renewable: bool,
    pub entity_id: String,
    pub token_type: String,
    pub orphan: bool,
    pub mfa_requirement: Option<Value>,
    pub num_uses: u64,
}

/// What an auth method grants on a successful login. The core turns it into a token (an
/// orphan, whose path is the login path) and answers with the `auth` block.
#[derive(Clone, Debug, Default)]
pub struct LoginGrant {
    /// Policies from the role or user (`default` is added unless `no_default_policy`).
    pub policies: Vec<String>,
    pub no_default_policy: bool,
    /// Shown as `<mount>-<display_name>` in token lookups.
    pub display_name: String,
    /// Token metadata (role name, user name, service account …).
    pub metadata: Map<String, Value>,
    /// Seconds; 0 = the mount's (or system's) default.
    pub ttl: u64,
    /// Seconds; 0 = the mount's (or system's) max.
    pub max_ttl: u64,
    /// Periodic token: renews to this many seconds; 0 = not periodic.
    pub period: u64,
    /// Hard cap in seconds; 0 = none.
    pub explicit_max_ttl: u64,
    /// Uses allowed; 0 = unlimited.
    pub num_uses: u64,
    /// Addresses the token may be used from (and the login must come from); empty =
    /// anywhere.
    pub bound_cidrs: Vec<crate::cidr::Cidr>,
    /// The role's `token_type`: `service`, `batch`, or `default*` (the mount's tuning
    /// decides, see `core::login`). Empty = `default`.
    pub token_type: String,
}

/// The `wrap_info` block of a wrapped answer: the single-use token that unwraps it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WrapInfo {
    pub token: String,
    pub accessor: String,
    /// Seconds the wrapping token lives.
    pub ttl: u64,
    /// RFC 3339 with nanoseconds, as Vault prints it.
    pub creation_time: String,
    /// The path of the request whose answer was wrapped.
    pub creation_path: String,
    /// The accessor of the token inside, when the answer created one (logins, token
    /// creation).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wrapped_accessor: String,
}

/// What an engine answers. `raw` bodies (e.g. `sys/health`) skip the envelope.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// Overrides the status (e.g. 404 with an envelope for a deleted KV version).
    pub status: Option<u16>,
    pub data: Option<Map<String, Value>>,
    /// `data` already serialised as a JSON object, sent as is: a KV read splices the
    /// stored secret into its answer without building a `Value` tree and serialising it
    /// back. Takes the place of `data` (an answer sets one or the other).
    pub data_json: Option<Box<RawValue>>,
    pub lease: Option<LeaseInfo>,
    /// Set by engines issuing leased secrets; the core turns it into `lease`.
    /// (This and the other rarely set blocks are boxed: a response is moved through
    /// several layers, and a small one moves cheaply.)
    pub secret: Option<Box<SecretLease>>,
    pub auth: Option<Box<AuthInfo>>,
    /// Set by auth methods on login; the core issues the token and fills `auth`.
    pub login: Option<Box<LoginGrant>>,
    pub warnings: Vec<String>,
    /// A body sent as is, without the envelope.
    pub raw: Option<Value>,
    /// A non-JSON body sent as is: (content type, text), e.g. Prometheus metrics.
    pub text: Option<(&'static str, String)>,
    /// Repeat `data`'s keys at the top level of the envelope (`sys/mounts`,
    /// `sys/capabilities-self`, as Vault does for old clients).
    pub data_at_top_level: bool,
    /// Set on a wrapped answer (`data`, `auth` and the lease stay empty).
    pub wrap_info: Option<Box<WrapInfo>>,
}

impl Response {
    /// A 204: success with nothing to return.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn data(data: Map<String, Value>) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// An answer whose `data` is already serialised (a JSON object).
    pub fn data_json(data: Box<RawValue>) -> Self {
        Self {
            data_json: Some(data),
            ..Self::default()
        }
    }

    /// `data` as a JSON value, however the engine gave it; `None` when absent.
    pub fn data_value(&self) -> Option<Value> {
        match (&self.data, &self.data_json) {
            (Some(data), _) => Some(Value::Object(data.clone())),
            (None, Some(json)) => serde_json::from_str(json.get()).ok(),
            (None, None) => None,
        }
    }

    /// `data` from a `serde_json::json!` object; anything else is an empty object.
    pub fn json(value: Value) -> Self {
        match value {
            Value::Object(map) => Self::data(map),
            _ => Self::data(Map::new()),
        }
    }

    pub fn raw(status: u16, body: Value) -> Self {
        Self {
            status: Some(status),
            raw: Some(body),
            ..Self::default()
        }
    }

    /// A 200 with a non-JSON body.
    pub fn text(content_type: &'static str, body: String) -> Self {
        Self {
            text: Some((content_type, body)),
            ..Self::default()
        }
    }

    /// A list response: `{"keys": [...]}`, or 404 when there are none (as Vault).
    pub fn list(keys: Vec<String>) -> Result<Self, super::RequestError> {
        if keys.is_empty() {
            return Err(super::RequestError::NotFound);
        }
        let mut map = Map::new();
        map.insert("keys".into(), Value::from(keys));
        Ok(Self::data(map))
    }

    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }

    /// Nothing to put in an envelope (without an explicit status: a 204).
    pub fn is_empty(&self) -> bool {
        self.data.is_none()
            && self.data_json.is_none()
            && self.auth.is_none()
            && self.lease.is_none()
            && self.warnings.is_empty()
            && self.wrap_info.is_none()
    }

    /// Vault's envelope for this answer as a JSON value (what a wrapping token keeps).
    pub fn envelope(self, request_id: &str) -> Value {
        serde_json::to_value(Envelope::of(&self, request_id)).unwrap_or(Value::Null)
    }

    /// Vault's envelope for this answer, serialised (what the HTTP layer sends). Written
    /// straight from the response, without an intermediate `Value`.
    pub fn envelope_bytes(&self, request_id: &str) -> Vec<u8> {
        serde_json::to_vec(&Envelope::of(self, request_id))
            .unwrap_or_else(|_| b"{\"errors\":[\"internal error\"]}".to_vec())
    }
}

/// Vault's response envelope, fields in Vault's order. A wrapped answer has an empty
/// `request_id`, as OpenBao's.
#[derive(Serialize)]
struct Envelope<'a> {
    /// `data`'s keys repeated at the top level (legacy `sys/` answers).
    #[serde(flatten)]
    top_level: Option<&'a Map<String, Value>>,
    request_id: &'a str,
    lease_id: &'a str,
    renewable: bool,
    lease_duration: u64,
    data: EnvelopeData<'a>,
    wrap_info: Option<&'a WrapInfo>,
    warnings: Option<&'a [String]>,
    auth: Option<&'a AuthInfo>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EnvelopeData<'a> {
    Map(&'a Map<String, Value>),
    Json(&'a RawValue),
    Null(Option<()>),
}

impl<'a> Envelope<'a> {
    fn of(resp: &'a Response, request_id: &'a str) -> Self {
        let data = match (&resp.data, &resp.data_json) {
            (Some(map), _) => EnvelopeData::Map(map),
            (None, Some(json)) => EnvelopeData::Json(json),
            (None, None) => EnvelopeData::Null(None),
        };
        let lease = resp.lease.as_ref();
        Envelope {
            top_level: resp.data.as_ref().filter(|_| resp.data_at_top_level),
            request_id: if resp.wrap_info.is_some() {
                ""
            } else {
                request_id
            },
            lease_id: lease.map_or("", |l| &l.lease_id),
            renewable: lease.is_some_and(|l| l.renewable),
            lease_duration: lease.map_or(0, |l| l.ttl_seconds),
            data,
            wrap_info: resp.wrap_info.as_deref(),
            warnings: Some(resp.warnings.as_slice()).filter(|w| !w.is_empty()),
            auth: resp.auth.as_deref(),
        }
    }
}
