//! Audit entries in Vault's shape. A [`Record`] is built once per request (values in clear)
//! when any device is enabled; each device renders its own line from it with [`render`],
//! hashing tokens, accessors and every string in `data` with its own key.

use serde_json::{json, Map, Value};

use super::options::Settings;
use crate::core::mounts::MountEntry;
use crate::core::{Request, Response};
use crate::tokens::TokenEntry;

/// What a request's audit lines share: the `auth` and `request` blocks, in clear.
pub struct Record {
    auth: Value,
    request: Value,
    mount: Value,
    non_hmac_request_keys: Vec<String>,
    non_hmac_response_keys: Vec<String>,
}

/// One line to write: a request or a response of a [`Record`].
pub struct Entry<'a> {
    pub record: &'a Record,
    /// A response line (else a request line).
    pub is_response: bool,
    /// The answer, for a response line of a request that succeeded.
    pub response: Option<&'a Response>,
    /// What the client was told when the request failed.
    pub error: Option<String>,
}

impl Record {
    /// `full_path` is the path below `/v1/`; `mount` and `token` as the pipeline found them.
    pub fn new(
        req: &Request,
        full_path: &str,
        mount: Option<&MountEntry>,
        token: Option<&TokenEntry>,
    ) -> Self {
        let auth = match token {
            Some(token) => json!({
                "client_token": req.client_token.as_deref().unwrap_or(""),
                "accessor": token.accessor,
                "display_name": token.display_name,
                "policies": token.policies,
                "token_policies": token.policies,
                "metadata": token.meta,
                "entity_id": token.entity_id,
                "token_type": token.token_type,
                "token_issue_time": token.issue_time,
            }),
            None => json!({}),
        };
        let mut request = json!({
            "id": req.id,
            "operation": req.operation.as_str(),
            "namespace": {"id": "root"},
            "path": full_path,
            "remote_address": req.remote_addr.map(|a| a.to_string()).unwrap_or_default(),
        });
        if let Some(token) = token {
            request["client_token"] = json!(req.client_token.as_deref().unwrap_or(""));
            request["client_token_accessor"] = json!(token.accessor);
        }
        if !req.data.is_empty() {
            request["data"] = Value::Object(req.data.clone());
        }
        let mount_block = match mount {
            Some(m) => json!({
                "mount_point": m.api_path(),
                "mount_type": m.kind,
                "mount_accessor": m.accessor,
            }),
            None => json!({}),
        };
        merge(&mut request, &mount_block);
        Record {
            auth,
            request,
            mount: mount_block,
            non_hmac_request_keys: mount
                .map(|m| m.config.audit_non_hmac_request_keys.clone())
                .unwrap_or_default(),
            non_hmac_response_keys: mount
                .map(|m| m.config.audit_non_hmac_response_keys.clone())
                .unwrap_or_default(),
        }
    }
}

/// The line a device writes for `entry`, without its closing brace (the sink appends
/// `prev_hash` under its lock), behind the device's prefix.
pub fn render(entry: &Entry<'_>, settings: &Settings, key: &[u8]) -> String {
    let hasher = Hasher {
        key,
        raw: settings.log_raw,
        hmac_accessor: settings.hmac_accessor,
    };
    let record = entry.record;
    let mut auth = record.auth.clone();
    hasher.token_fields(&mut auth, "client_token", "accessor");
    let mut request = record.request.clone();
    hasher.token_fields(&mut request, "client_token", "client_token_accessor");
    if let Some(data) = request.get_mut("data") {
        hasher.data(data, &record.non_hmac_request_keys);
    }
    let mut line = Map::new();
    line.insert(
        "time".into(),
        json!(crate::duration::rfc3339_nanos(std::time::SystemTime::now())),
    );
    let kind = if entry.is_response {
        "response"
    } else {
        "request"
    };
    line.insert("type".into(), json!(kind));
    line.insert("auth".into(), auth);
    line.insert("request".into(), request);
    if entry.is_response {
        let list = record.request["operation"] == "list";
        let block = match entry.response {
            Some(response) => response_block(record, response, &hasher, settings, list),
            None => record.mount.clone(),
        };
        line.insert("response".into(), block);
    }
    if let Some(error) = &entry.error {
        line.insert("error".into(), json!(error));
    }
    let body = serde_json::to_string(&Value::Object(line))
        .expect("audit entries are JSON values and always serialise");
    let mut head = settings.prefix.clone();
    head.push_str(body.strip_suffix('}').unwrap_or(&body));
    head
}

fn response_block(
    record: &Record,
    response: &Response,
    hasher: &Hasher<'_>,
    settings: &Settings,
    list: bool,
) -> Value {
    let mut block = record.mount.clone();
    let data = response.data_value().or_else(|| response.raw.clone());
    if let Some(mut data) = data {
        if settings.elide_list_responses && list {
            elide_list(&mut data);
        }
        hasher.data(&mut data, &record.non_hmac_response_keys);
        block["data"] = data;
    }
    if let Some(auth) = &response.auth {
        let mut auth = serde_json::to_value(auth).unwrap_or_else(|_| json!({}));
        hasher.token_fields(&mut auth, "client_token", "accessor");
        block["auth"] = auth;
    }
    if let Some(wrap_info) = &response.wrap_info {
        let mut wrap_info = serde_json::to_value(wrap_info).unwrap_or_else(|_| json!({}));
        hasher.token_fields(&mut wrap_info, "token", "accessor");
        block["wrap_info"] = wrap_info;
    }
    if let Some(lease) = response.lease.as_ref().filter(|l| !l.lease_id.is_empty()) {
        block["secret"] = json!({"lease_id": lease.lease_id});
    }
    if !response.warnings.is_empty() {
        block["warnings"] = json!(response.warnings);
    }
    block
}

/// `elide_list_responses`: list keys become their count (as Vault).
fn elide_list(data: &mut Value) {
    for field in ["keys", "key_info"] {
        let count = match data.get(field) {
            Some(Value::Array(items)) => items.len(),
            Some(Value::Object(map)) => map.len(),
            _ => continue,
        };
        data[field] = json!(count);
    }
}

fn merge(target: &mut Value, extra: &Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Hashes values as one device does.
pub struct Hasher<'a> {
    pub key: &'a [u8],
    pub raw: bool,
    pub hmac_accessor: bool,
}

impl Hasher<'_> {
    /// `hmac-sha256:<hex>` of `input` under the device's key.
    pub fn hash(&self, input: &str) -> String {
        format!(
            "hmac-sha256:{}",
            crate::crypto::hmac_sha256_hex(self.key, input.as_bytes())
        )
    }

    fn token_fields(&self, block: &mut Value, token: &str, accessor: &str) {
        if self.raw {
            return;
        }
        self.hash_field(block, token);
        if self.hmac_accessor {
            self.hash_field(block, accessor);
        }
    }

    fn hash_field(&self, block: &mut Value, field: &str) {
        if let Some(Value::String(s)) = block.get_mut(field) {
            if !s.is_empty() {
                *s = self.hash(s);
            }
        }
    }

    /// Every string in `data`, at any depth, except top-level keys the mount exempts.
    pub fn data(&self, data: &mut Value, exempt: &[String]) {
        if self.raw {
            return;
        }
        match data {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if !exempt.iter().any(|e| e == key) {
                        self.value(value);
                    }
                }
            }
            other => self.value(other),
        }
    }

    fn value(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.hash(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.value(v)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
#[path = "entry_tests.rs"]
mod tests;
