//! `subkeys/<path>`: the shape of a version's data with every value replaced by null, down
//! to `depth` levels (0 = no limit), so a client can see which keys exist without reading
//! secrets.

use serde_json::{Map, Value};

use super::data::find_version;
use super::not_found_with;
use crate::barrier::StorageView;
use crate::core::fields;
use crate::core::{Request, RequestError, Response};

pub async fn read(
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let depth = fields::int(&req.data, "depth")?.unwrap_or(0);
    let found = find_version(storage, path, req)
        .await?
        .ok_or(RequestError::NotFound)?;
    let mut body = Map::new();
    body.insert("metadata".into(), Value::Object(found.metadata().to_map()));
    match found.data {
        Some(data) => {
            body.insert("subkeys".into(), skeleton(data.to_value()?, depth));
            Ok(Response::data(body))
        }
        None => {
            body.insert("subkeys".into(), Value::Null);
            Ok(not_found_with(body))
        }
    }
}

/// Replaces every leaf of `data` with null. Non-empty objects are walked while their depth
/// (the top level is 1) stays within `max_depth`; deeper objects, empty objects and lists
/// are leaves. As in Vault, a negative `max_depth` keeps only the top-level keys.
fn skeleton(data: Value, max_depth: i64) -> Value {
    fn walk(map: &mut Map<String, Value>, depth: i64, max_depth: i64) {
        for value in map.values_mut() {
            let child_depth = depth + 1;
            match value {
                Value::Object(child)
                    if !child.is_empty() && (max_depth == 0 || child_depth <= max_depth) =>
                {
                    walk(child, child_depth, max_depth)
                }
                leaf => *leaf = Value::Null,
            }
        }
    }
    match data {
        Value::Object(mut map) => {
            walk(&mut map, 1, max_depth);
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn skeleton_respects_depth_like_vault() {
        let data = json!({"a": {"b": {"c": 1}, "e": {}}, "d": [{"x": 1}]});
        assert_eq!(
            skeleton(data.clone(), 0),
            json!({"a": {"b": {"c": null}, "e": null}, "d": null})
        );
        assert_eq!(skeleton(data.clone(), 1), json!({"a": null, "d": null}));
        assert_eq!(
            skeleton(data.clone(), 2),
            json!({"a": {"b": null, "e": null}, "d": null})
        );
        assert_eq!(skeleton(data, -1), json!({"a": null, "d": null}));
        assert_eq!(skeleton(json!({}), 0), json!({}));
        assert_eq!(skeleton(Value::Null, 0), Value::Null);
    }
}
