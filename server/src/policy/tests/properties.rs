//! Property tests: the indexed ACL agrees with a naive reading of Vault's
//! rules, exact rules win, a deny on the deciding rule wins, and the order
//! of policies does not matter.

use std::cmp::Reverse;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use super::params;
use crate::policy::rules::{PathKind, Permissions};
use crate::policy::{format, parse, Acl, Capabilities, Capability, Policy};

type Rule = (String, Vec<&'static str>);

fn rule_path() -> impl Strategy<Value = String> {
    let segment = (
        prop::sample::select(vec!["a", "b", "ab", "c"]),
        prop::bool::weighted(0.3),
    );
    (prop::collection::vec(segment, 1..4), 0u8..3).prop_map(|(segments, glob)| {
        let parts: Vec<&str> = segments
            .iter()
            .map(|(s, plus)| if *plus { "+" } else { s })
            .collect();
        let mut path = parts.join("/");
        match glob {
            1 if !path.ends_with('+') => path.push('*'),
            1 | 2 => path.push_str("/*"),
            _ => {}
        }
        path
    })
}

fn query_path() -> impl Strategy<Value = String> {
    let first = prop::sample::select(vec!["a", "b", "ab"]);
    let rest = prop::collection::vec(
        prop::sample::select(vec!["a", "b", "ab", "abc", "c", ""]),
        0..4,
    );
    (first, rest, any::<bool>()).prop_map(|(first, rest, slash)| {
        let mut path = first.to_owned();
        for segment in rest {
            path.push('/');
            path.push_str(segment);
        }
        if slash {
            path.push('/');
        }
        path
    })
}

fn capabilities() -> impl Strategy<Value = Vec<&'static str>> {
    let granting = vec![
        "create", "read", "update", "patch", "delete", "list", "sudo",
    ];
    (
        prop::sample::subsequence(granting, 0..4),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(mut caps, deny)| {
            if deny {
                caps.push("deny");
            }
            caps
        })
}

fn policies() -> impl Strategy<Value = Vec<Vec<Rule>>> {
    prop::collection::vec(
        prop::collection::vec((rule_path(), capabilities()), 1..6),
        1..5,
    )
}

fn to_text(rules: &[Rule]) -> String {
    let mut text = String::new();
    for (path, caps) in rules {
        let caps: Vec<String> = caps.iter().map(|c| format!("\"{c}\"")).collect();
        text.push_str(&format!(
            "path \"{path}\" {{ capabilities = [{}] }}\n",
            caps.join(", ")
        ));
    }
    text
}

fn compile(policies: &[Vec<Rule>]) -> Vec<Arc<Policy>> {
    policies
        .iter()
        .enumerate()
        .filter_map(|(i, rules)| parse(&format!("p{i}"), &to_text(rules)).ok().map(Arc::new))
        .collect()
}

/// Vault's algorithm read literally: merge by path, then exact, then sort
/// every matching glob and segment rule by priority.
fn reference(policies: &[Arc<Policy>], path: &str) -> Capabilities {
    let mut merged: Vec<(PathKind, &str, Permissions)> = Vec::new();
    for rule in policies.iter().flat_map(|p| &p.rules) {
        match merged
            .iter_mut()
            .find(|(k, p, _)| *k == rule.kind && *p == rule.path)
        {
            Some((_, _, permissions)) => permissions.merge(&rule.permissions),
            None => merged.push((rule.kind, &rule.path, rule.permissions.clone())),
        }
    }
    let exact = |q: &str| {
        merged
            .iter()
            .find(|(k, p, _)| *k == PathKind::Exact && *p == q)
    };
    let trimmed = path.strip_suffix('/');
    let found = exact(path)
        .or_else(|| trimmed.and_then(exact))
        .or_else(|| best_non_exact(&merged, path))
        .or_else(|| trimmed.and_then(|q| best_non_exact(&merged, q)));
    found.map_or(Capabilities::NONE, |(_, _, permissions)| {
        permissions.capabilities
    })
}

type Merged<'a> = (PathKind, &'a str, Permissions);
type Priority = (usize, bool, Reverse<usize>, usize, String);

fn best_non_exact<'m, 'a>(merged: &'m [Merged<'a>], path: &str) -> Option<&'m Merged<'a>> {
    let mut candidates: Vec<(Priority, &Merged)> = Vec::new();
    for entry in merged {
        let (kind, rule, _) = entry;
        match kind {
            PathKind::Prefix if path.starts_with(rule) => {
                candidates.push((
                    (rule.len(), false, Reverse(0), rule.len(), rule.to_string()),
                    entry,
                ));
            }
            PathKind::Segments => {
                let is_prefix = rule.ends_with('*');
                let pattern = rule.trim_end_matches('*');
                let wanted: Vec<&str> = pattern.split('/').collect();
                let parts: Vec<&str> = path.split('/').collect();
                let ok = parts.len() >= wanted.len()
                    && (is_prefix || parts.len() == wanted.len())
                    && wanted.iter().zip(&parts).enumerate().all(|(i, (w, p))| {
                        *w == "+"
                            || w == p
                            || (is_prefix && i == wanted.len() - 1 && p.starts_with(w))
                    });
                if ok {
                    let wildcards = wanted.iter().filter(|w| **w == "+").count();
                    let first = rule.find('+').unwrap_or(0);
                    let key = (
                        first,
                        !is_prefix,
                        Reverse(wildcards),
                        pattern.len(),
                        pattern.to_string(),
                    );
                    candidates.push((key, entry));
                }
            }
            _ => {}
        }
    }
    candidates
        .into_iter()
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, entry)| entry)
}

fn cap_names(caps: &[&str]) -> Capabilities {
    caps.iter()
        .filter_map(|c| c.parse::<Capability>().ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn indexed_acl_agrees_with_naive_reading(
        policies in policies(),
        queries in prop::collection::vec(query_path(), 1..10),
    ) {
        let compiled = compile(&policies);
        let acl = Acl::new(&compiled);
        for query in &queries {
            prop_assert_eq!(acl.capabilities(query), reference(&compiled, query), "path {}", query);
        }
    }

    #[test]
    fn exact_rule_always_wins(
        policies in policies(),
        query in query_path(),
        granted in prop::sample::subsequence(vec!["create", "read", "update", "list"], 1..4),
    ) {
        let others: Vec<Vec<Rule>> = policies
            .into_iter()
            .map(|rules| rules.into_iter().filter(|(path, _)| *path != query).collect())
            .collect();
        let mut compiled = compile(&others);
        compiled.push(Arc::new(parse("exact", &to_text(&[(query.clone(), granted.clone())])).map_err(|e| TestCaseError::fail(e.to_string()))?));
        prop_assert_eq!(Acl::new(&compiled).capabilities(&query), cap_names(&granted));
    }

    #[test]
    fn deny_on_the_deciding_rule_yields_only_deny(
        policies in policies(),
        query in query_path(),
        at in 0usize..5,
    ) {
        let before = Acl::new(&compile(&policies)).capabilities(&query);
        let mut denied_somewhere = false;
        for (path, _) in policies.iter().flatten() {
            let mut with_deny = policies.clone();
            with_deny.insert(at.min(with_deny.len()), vec![(path.clone(), vec!["deny"])]);
            let after = Acl::new(&compile(&with_deny)).capabilities(&query);
            prop_assert!(after == before || after == Capabilities::DENY, "{} -> {:?}", path, after);
            denied_somewhere |= after == Capabilities::DENY;
        }
        // The deciding rule is one of the rules, so denying it must show.
        prop_assert!(before.is_empty() || denied_somewhere, "{:?}", before);
    }

    #[test]
    fn order_of_policies_does_not_matter(
        policies in policies().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        queries in prop::collection::vec(query_path(), 1..10),
    ) {
        let (original, shuffled) = policies;
        let a = Acl::new(&compile(&original));
        let b = Acl::new(&compile(&shuffled));
        let request = params(json!({"key": "value"}));
        for query in &queries {
            prop_assert_eq!(a.capabilities(query), b.capabilities(query));
            for cap in [Capability::Read, Capability::Update, Capability::List] {
                prop_assert_eq!(a.check(query, cap, true, &request), b.check(query, cap, true, &request));
            }
        }
    }

    #[test]
    fn explanations_agree_with_checks(
        policies in policies(),
        queries in prop::collection::vec(query_path(), 1..10),
    ) {
        let acl = Acl::new(&compile(&policies));
        let none = params(json!({}));
        for query in &queries {
            let listing = acl.explain(query, true);
            let granted = listing.deciding.as_ref().map_or(Capabilities::NONE, |r| r.capabilities);
            prop_assert_eq!(granted, acl.capabilities(query), "path {}", query);
            for cap in [Capability::Read, Capability::Update, Capability::List] {
                let explanation = acl.explain(query, cap == Capability::List);
                for sudo in [false, true] {
                    let decided = explanation.decide(cap, sudo).allowed;
                    prop_assert_eq!(decided, acl.check(query, cap, sudo, &none).is_ok(), "{} {:?}", query, cap);
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "path", "\"a/*\"", "\"", "{", "}", "[", "]", "=", ":", ",", " ", "\n", "#", "//", "/*", "*/",
        "capabilities", "\"read\"", "policy", "<<EOF", "EOF", "${", "+", "allowed_parameters", "1", "é",
    ]), 0..40)) {
        let text: String = tokens.concat();
        let _ = parse("fuzz", &text);
        let _ = format(&text);
    }
}
