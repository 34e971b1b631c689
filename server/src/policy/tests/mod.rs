//! Tests of the policy module as a whole: text in, access decisions out.

mod explain;
mod matching;
mod parsing;
mod properties;

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{parse, Acl, Policy};

/// Parses a policy that a test expects to be valid.
fn policy(name: &str, text: &str) -> Arc<Policy> {
    match parse(name, text) {
        Ok(policy) => Arc::new(policy),
        Err(error) => panic!("test policy {name} should parse: {error}"),
    }
}

fn acl(texts: &[&str]) -> Acl {
    let policies: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| policy(&format!("p{i}"), text))
        .collect();
    Acl::new(&policies)
}

fn caps(acl: &Acl, path: &str) -> Vec<&'static str> {
    acl.capabilities(path).names()
}

fn params(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
