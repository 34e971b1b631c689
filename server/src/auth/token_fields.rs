//! The token fields every auth method's roles and users carry (Vault's `tokenutil`):
//! `token_policies`, `token_ttl`, `token_max_ttl`, `token_period`, `token_num_uses`,
//! `token_explicit_max_ttl`, `token_no_default_policy`, `token_bound_cidrs`, `token_type`,
//! with the legacy names (`policies`, `ttl`, `max_ttl`, `period`, `bound_cidrs`) still
//! accepted. Parsing, Vault's read-back shape and the [`LoginGrant`] they produce live here
//! so userpass, approle and later methods agree.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::cidr::{self, Cidr};
use crate::core::{fields, LoginGrant, RequestError};

/// The stored token fields of a user or role.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenFields {
    pub policies: Vec<String>,
    pub ttl: u64,
    pub max_ttl: u64,
    pub period: u64,
    pub explicit_max_ttl: u64,
    pub num_uses: u64,
    pub no_default_policy: bool,
    pub bound_cidrs: Vec<Cidr>,
    /// `default`, `service`, `batch`, `default-service` or `default-batch`.
    pub token_type: String,
    /// Legacy field names the values were written with; a read shows them too, as Vault.
    pub legacy_names: Vec<String>,
}

/// Every parameter [`TokenFields`] reads, current and legacy names: the known-field list
/// a method's role endpoint adds to its own (see [`super::fields::reject_unknown_fields`]).
pub const TOKEN_FIELD_NAMES: &[&str] = &[
    "token_policies",
    "token_ttl",
    "token_max_ttl",
    "token_period",
    "token_num_uses",
    "token_explicit_max_ttl",
    "token_no_default_policy",
    "token_bound_cidrs",
    "token_type",
    "policies",
    "ttl",
    "max_ttl",
    "period",
    "bound_cidrs",
];

/// Legacy name → current name.
const LEGACY: &[(&str, &str)] = &[
    ("policies", "token_policies"),
    ("ttl", "token_ttl"),
    ("max_ttl", "token_max_ttl"),
    ("period", "token_period"),
    ("bound_cidrs", "token_bound_cidrs"),
];

impl TokenFields {
    /// Fields for a new user or role: Vault's defaults, then whatever `data` sets.
    pub fn from_request(data: &Map<String, Value>) -> Result<Self, RequestError> {
        let mut fields = TokenFields {
            token_type: "default".into(),
            ..Self::default()
        };
        fields.update(data)?;
        Ok(fields)
    }

    /// Applies the fields present in `data`; absent fields keep their value. A current
    /// name wins over its legacy name when both are sent.
    pub fn update(&mut self, data: &Map<String, Value>) -> Result<(), RequestError> {
        let name = |current: &'static str| -> &'static str {
            if has(data, current) {
                return current;
            }
            LEGACY
                .iter()
                .find(|(legacy, now)| *now == current && has(data, legacy))
                .map_or(current, |(legacy, _)| *legacy)
        };
        for &(legacy, current) in LEGACY {
            if name(current) == legacy && !self.legacy_names.iter().any(|n| n == legacy) {
                self.legacy_names.push(legacy.to_string());
            }
        }
        if let Some(list) = string_list(data, name("token_policies"))? {
            self.policies = sanitize_policies(&list);
        }
        let duration = |field: &str, target: &mut u64| -> Result<(), RequestError> {
            if let Some(seconds) = fields::seconds(data, field)? {
                *target = seconds;
            }
            Ok(())
        };
        duration(name("token_ttl"), &mut self.ttl)?;
        duration(name("token_max_ttl"), &mut self.max_ttl)?;
        duration(name("token_period"), &mut self.period)?;
        duration("token_explicit_max_ttl", &mut self.explicit_max_ttl)?;
        if let Some(uses) = fields::count(data, "token_num_uses")? {
            self.num_uses = uses;
        }
        if let Some(flag) = fields::boolean(data, "token_no_default_policy")? {
            self.no_default_policy = flag;
        }
        let cidrs_field = name("token_bound_cidrs");
        if let Some(list) = string_list(data, cidrs_field)? {
            self.bound_cidrs =
                cidr::parse_list(&list).map_err(|e| fields::conversion_error(cidrs_field, e))?;
        }
        match data.get("token_type") {
            None | Some(Value::Null) => {}
            Some(Value::String(kind)) => self.token_type = parse_token_type(kind)?,
            Some(other) => {
                let detail = format!("expected a string, got {}", fields::type_name(other));
                return Err(fields::conversion_error("token_type", detail));
            }
        }
        self.validate()
    }

    fn validate(&self) -> Result<(), RequestError> {
        if self.max_ttl != 0 && self.ttl > self.max_ttl {
            return Err(RequestError::invalid(
                "'token_ttl' cannot be greater than 'token_max_ttl'",
            ));
        }
        if self.token_type == "batch" {
            if self.period != 0 {
                return Err(RequestError::invalid(
                    "'token_type' cannot be 'batch' when 'token_period' is set",
                ));
            }
            if self.num_uses != 0 {
                return Err(RequestError::invalid(
                    "'token_type' cannot be 'batch' when 'token_num_uses' is set",
                ));
            }
        }
        Ok(())
    }

    /// Vault's read-back shape, including legacy names the values were written with.
    pub fn to_api(&self) -> Map<String, Value> {
        let cidrs: Vec<String> = self.bound_cidrs.iter().map(ToString::to_string).collect();
        let mut map = Map::new();
        for (key, value) in [
            ("token_policies", json!(self.policies)),
            ("token_ttl", json!(self.ttl)),
            ("token_max_ttl", json!(self.max_ttl)),
            ("token_period", json!(self.period)),
            ("token_explicit_max_ttl", json!(self.explicit_max_ttl)),
            ("token_num_uses", json!(self.num_uses)),
            ("token_no_default_policy", json!(self.no_default_policy)),
            ("token_bound_cidrs", json!(cidrs)),
            ("token_type", json!(self.token_type)),
        ] {
            map.insert(key.into(), value);
        }
        for &(legacy, current) in LEGACY {
            if self.legacy_names.iter().any(|n| n == legacy) {
                let value = map.get(current).cloned().unwrap_or(Value::Null);
                map.insert(legacy.into(), value);
            }
        }
        map
    }

    /// Whether a login from `addr` may receive a token (`token_bound_cidrs`).
    pub fn allows_address(&self, addr: Option<IpAddr>) -> bool {
        cidr::allows(&self.bound_cidrs, addr)
    }

    /// What a successful login grants.
    pub fn grant(&self, display_name: &str, metadata: Map<String, Value>) -> LoginGrant {
        LoginGrant {
            policies: self.policies.clone(),
            no_default_policy: self.no_default_policy,
            display_name: display_name.to_string(),
            metadata,
            ttl: self.ttl,
            max_ttl: self.max_ttl,
            period: self.period,
            explicit_max_ttl: self.explicit_max_ttl,
            num_uses: self.num_uses,
            bound_cidrs: self.bound_cidrs.clone(),
            token_type: self.token_type.clone(),
        }
    }
}

/// A present, non-empty field.
fn has(data: &Map<String, Value>, name: &str) -> bool {
    !matches!(data.get(name), None | Some(Value::Null))
}

/// A comma-separated string or a list of strings (Vault's `TypeCommaStringSlice`).
pub fn string_list(
    data: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, RequestError> {
    let bad = |v: &Value| {
        fields::conversion_error(
            name,
            format!("cannot use {} as a list of strings", fields::type_name(v)),
        )
    };
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(split(s))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(split(s)),
                Value::Number(n) => Ok(vec![n.to_string()]),
                other => Err(bad(other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| Some(parts.concat())),
        Some(other) => Err(bad(other)),
    }
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lower-cased, trimmed, de-duplicated and sorted, as Vault's `SanitizePolicies`.
pub fn sanitize_policies(list: &[String]) -> Vec<String> {
    let mut policies: Vec<String> = list
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    policies.sort();
    policies.dedup();
    policies
}

fn parse_token_type(kind: &str) -> Result<String, RequestError> {
    match kind {
        "" => Ok("default".into()),
        "default" | "service" | "default-service" | "batch" | "default-batch" => Ok(kind.into()),
        other => Err(RequestError::invalid(format!(
            "invalid 'token_type' value {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn parses_every_field_and_reads_back_in_vaults_shape() {
        let fields = TokenFields::from_request(&data(json!({
            "token_policies": "B, a,a", "token_ttl": "1h", "token_max_ttl": 7200,
            "token_period": "0", "token_explicit_max_ttl": "3h", "token_num_uses": "3",
            "token_no_default_policy": "true", "token_bound_cidrs": ["10.0.0.0/8", "127.0.0.1/32"],
            "token_type": "service",
        })))
        .expect("valid fields");
        let api = Value::Object(fields.to_api());
        assert_eq!(
            api,
            json!({
                "token_policies": ["a", "b"], "token_ttl": 3600, "token_max_ttl": 7200,
                "token_period": 0, "token_explicit_max_ttl": 10800, "token_num_uses": 3,
                "token_no_default_policy": true,
                "token_bound_cidrs": ["10.0.0.0/8", "127.0.0.1"], "token_type": "service",
            })
        );
        let grant = fields.grant("bob", Map::new());
        assert_eq!(
            (grant.ttl, grant.num_uses, grant.no_default_policy),
            (3600, 3, true)
        );
        assert_eq!(grant.bound_cidrs, fields.bound_cidrs);
        assert_eq!(grant.token_type, "service");
        assert!(fields.allows_address("10.1.1.1".parse().ok()));
        assert!(!fields.allows_address("192.168.1.1".parse().ok()));
    }

    #[test]
    fn legacy_names_are_accepted_shown_and_lose_to_current_names() {
        let mut fields = TokenFields::from_request(&data(json!({"policies": "p", "ttl": "1m"})))
            .expect("valid fields");
        let api = fields.to_api();
        assert_eq!(api.get("policies"), Some(&json!(["p"])));
        assert_eq!(api.get("ttl"), Some(&json!(60)));
        assert_eq!(api.get("max_ttl"), None);
        fields
            .update(&data(json!({"token_ttl": "2m", "ttl": "5m"})))
            .expect("valid update");
        assert_eq!(fields.ttl, 120);
        assert_eq!(
            fields.policies,
            vec!["p".to_string()],
            "absent fields are kept"
        );
    }

    #[test]
    fn bad_input_is_a_clear_400() {
        let cases = [
            (
                json!({"token_ttl": "2h", "token_max_ttl": "1h"}),
                "cannot be greater",
            ),
            (json!({"token_type": "weird"}), "invalid 'token_type'"),
            (
                json!({"token_type": "batch", "token_period": "1h"}),
                "cannot be 'batch'",
            ),
            (
                json!({"token_type": "batch", "token_num_uses": 2}),
                "cannot be 'batch'",
            ),
            (json!({"token_type": 1}), "token_type"),
            (json!({"token_ttl": "soon"}), "token_ttl"),
            (json!({"token_num_uses": -1}), "token_num_uses"),
            (json!({"token_bound_cidrs": "bad"}), "invalid CIDR"),
            (json!({"token_policies": {"a": 1}}), "token_policies"),
        ];
        for (body, expected) in cases {
            match TokenFields::from_request(&data(body.clone())) {
                Err(RequestError::InvalidRequest(m)) => {
                    assert!(m.contains(expected), "{body}: {m}")
                }
                other => panic!("{body}: expected a 400, got {other:?}"),
            }
        }
    }
}
