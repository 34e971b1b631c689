//! The `Key  Value` table of an envelope (lease, token, wrapping and data rows, in
//! `vault`'s order) and `-field` lookups in an envelope.

use cofre_client::Secret;
use serde_json::{Map, Value};

use super::table;
use super::value::{cell, human_duration, quoted_list};

/// The table for `secret`, or `None` when there is nothing to show.
pub fn render(secret: &Secret) -> Option<String> {
    let mut rows: Vec<(String, String)> = Vec::new();
    if secret.lease_duration > 0 {
        if secret.lease_id.is_empty() {
            // KV reports a refresh interval through the lease fields.
            rows.push(row(
                "refresh_interval",
                human_duration(secret.lease_duration),
            ));
        } else {
            rows.push(row("lease_id", secret.lease_id.clone()));
            rows.push(row("lease_duration", human_duration(secret.lease_duration)));
            rows.push(row("lease_renewable", secret.renewable.to_string()));
        }
    }
    if let Some(auth) = &secret.auth {
        let duration = match auth.lease_duration {
            0 => "∞".to_string(),
            seconds => human_duration(seconds),
        };
        rows.push(row("token", auth.client_token.clone()));
        rows.push(row("token_accessor", auth.accessor.clone()));
        rows.push(row("token_duration", duration));
        rows.push(row("token_renewable", auth.renewable.to_string()));
        rows.push(row(
            "token_policies",
            quoted_list(auth.token_policies.as_deref()),
        ));
        rows.push(row(
            "identity_policies",
            quoted_list(auth.identity_policies.as_deref()),
        ));
        rows.push(row("policies", quoted_list(auth.policies.as_deref())));
        for (key, value) in auth.metadata.iter().flatten() {
            rows.push((format!("token_meta_{key}"), value.clone()));
        }
    }
    if let Some(wrap) = &secret.wrap_info {
        rows.push(row("wrapping_token:", wrap.token.clone()));
        rows.push(row("wrapping_accessor:", wrap.accessor.clone()));
        rows.push(row("wrapping_token_ttl:", human_duration(wrap.ttl)));
        rows.push(row(
            "wrapping_token_creation_time:",
            go_time(&wrap.creation_time),
        ));
        rows.push(row(
            "wrapping_token_creation_path:",
            wrap.creation_path.clone(),
        ));
        if !wrap.wrapped_accessor.is_empty() {
            rows.push(row("wrapped_accessor:", wrap.wrapped_accessor.clone()));
        }
    }
    if let Some(Value::Object(data)) = &secret.data {
        rows.extend(data.iter().map(|(k, v)| (k.clone(), cell(k, v))));
    }
    (!rows.is_empty()).then(|| table::key_value(rows))
}

/// The table for a map (keys sorted), or `None` when it is empty.
pub fn map_table(map: &Map<String, Value>) -> Option<String> {
    let rows: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), cell(k, v))).collect();
    (!rows.is_empty()).then(|| table::key_value(rows))
}

/// The value `-field=NAME` selects in an envelope: token fields of `auth`, wrapping
/// fields, lease fields, else the `data` entry. `None` when absent or null.
pub fn raw_field(secret: &Secret, field: &str) -> Option<Value> {
    let data_field = || secret.field(field).cloned();
    let value = if let Some(auth) = &secret.auth {
        let list = |items: &Option<Vec<String>>| serde_json::to_value(items).ok();
        match field {
            "token" => Some(Value::String(auth.client_token.clone())),
            "token_accessor" => Some(Value::String(auth.accessor.clone())),
            "token_duration" => Some(Value::from(auth.lease_duration)),
            "token_renewable" => Some(Value::Bool(auth.renewable)),
            "token_policies" => list(&auth.token_policies),
            "identity_policies" => list(&auth.identity_policies),
            "policies" => list(&auth.policies),
            _ => data_field(),
        }
    } else if let Some(wrap) = &secret.wrap_info {
        match field {
            "wrapping_token" => Some(Value::String(wrap.token.clone())),
            "wrapping_accessor" => Some(Value::String(wrap.accessor.clone())),
            "wrapping_token_ttl" => Some(Value::from(wrap.ttl)),
            "wrapping_token_creation_time" => Some(Value::String(wrap.creation_time.clone())),
            "wrapping_token_creation_path" => Some(Value::String(wrap.creation_path.clone())),
            "wrapped_accessor" => Some(Value::String(wrap.wrapped_accessor.clone())),
            _ => data_field(),
        }
    } else {
        match field {
            "lease_duration" | "refresh_interval" => Some(Value::from(secret.lease_duration)),
            "lease_id" => Some(Value::String(secret.lease_id.clone())),
            "request_id" => Some(Value::String(secret.request_id.clone())),
            "renewable" => Some(Value::Bool(secret.renewable)),
            "data" => data_field().or_else(|| secret.data.clone()),
            _ => data_field(),
        }
    };
    value.filter(|v| !v.is_null())
}

/// An RFC 3339 UTC time as Go's `time.Time.String()` prints it (as `vault` shows the
/// wrapping token's creation time): `2024-05-01 10:00:00.5 +0000 UTC`.
fn go_time(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(utc) => format!("{} +0000 UTC", utc.replacen('T', " ", 1)),
        None => rfc3339.to_string(),
    }
}

fn row(key: &str, value: String) -> (String, String) {
    (key.to_string(), value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cofre_client::AuthInfo;
    use serde_json::json;

    #[test]
    fn token_table_matches_vault() {
        let secret = Secret {
            auth: Some(AuthInfo {
                client_token: "s.abc".into(),
                accessor: "acc".into(),
                policies: Some(vec!["default".into()]),
                token_policies: Some(vec!["default".into()]),
                identity_policies: None,
                metadata: Some([("a".to_string(), "b".to_string())].into()),
                lease_duration: 3600,
                renewable: true,
                ..AuthInfo::default()
            }),
            ..Secret::default()
        };
        assert_eq!(
            render(&secret).unwrap(),
            "Key                  Value\n\
             ---                  -----\n\
             token                s.abc\n\
             token_accessor       acc\n\
             token_duration       1h\n\
             token_renewable      true\n\
             token_policies       [\"default\"]\n\
             identity_policies    []\n\
             policies             [\"default\"]\n\
             token_meta_a         b"
        );
    }

    #[test]
    fn data_rows_are_sorted_and_durations_humanised() {
        let secret = Secret {
            lease_duration: 2_764_800,
            data: Some(json!({"ttl": 60, "b": null, "a": ""})),
            ..Secret::default()
        };
        assert_eq!(
            render(&secret).unwrap(),
            "Key                 Value\n\
             ---                 -----\n\
             refresh_interval    768h\n\
             a                   n/a\n\
             b                   <nil>\n\
             ttl                 1m"
        );
        assert_eq!(render(&Secret::default()), None);
    }

    #[test]
    fn wrap_table_matches_bao() {
        let secret = Secret {
            wrap_info: Some(cofre_client::WrapInfo {
                token: "s.gCEsY0Xs5FyJe1O1cShWPrqb".into(),
                accessor: "DB3WXJjUrqsrJ0E6Qn5ZeCf7".into(),
                ttl: 60,
                creation_time: "2026-11-23T15:18:56.427782008Z".into(),
                creation_path: "secret/data/app".into(),
                wrapped_accessor: String::new(),
            }),
            ..Secret::default()
        };
        // `bao read -wrap-ttl=60 secret/data/app` against OpenBao 2.7.2, verbatim.
        assert_eq!(
            render(&secret).unwrap(),
            "Key                              Value\n\
             ---                              -----\n\
             wrapping_token:                  s.gCEsY0Xs5FyJe1O1cShWPrqb\n\
             wrapping_accessor:               DB3WXJjUrqsrJ0E6Qn5ZeCf7\n\
             wrapping_token_ttl:              1m\n\
             wrapping_token_creation_time:    2026-11-23 15:18:56.427782008 +0000 UTC\n\
             wrapping_token_creation_path:    secret/data/app"
        );
        assert_eq!(
            raw_field(&secret, "wrapping_token"),
            Some(json!("s.gCEsY0Xs5FyJe1O1cShWPrqb"))
        );
    }

    #[test]
    fn fields_come_from_auth_then_data() {
        let secret = Secret {
            request_id: "r".into(),
            data: Some(json!({"password": "p", "nothing": null})),
            ..Secret::default()
        };
        assert_eq!(raw_field(&secret, "password"), Some(json!("p")));
        assert_eq!(raw_field(&secret, "request_id"), Some(json!("r")));
        assert_eq!(raw_field(&secret, "nothing"), None);
        assert_eq!(raw_field(&secret, "missing"), None);
        assert_eq!(
            raw_field(&secret, "data"),
            Some(json!({"password": "p", "nothing": null}))
        );
        let token = Secret {
            auth: Some(AuthInfo {
                client_token: "s.t".into(),
                ..AuthInfo::default()
            }),
            ..Secret::default()
        };
        assert_eq!(raw_field(&token, "token"), Some(json!("s.t")));
        assert_eq!(raw_field(&token, "policies"), None);
    }
}
