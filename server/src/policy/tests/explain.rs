//! Explanations: which rule of which policy decides, and why.

use super::{acl, policy};
use crate::policy::{Acl, Capabilities, Capability, MatchKind};

const APP: &str = r#"
path "secret/data/*" {
  capabilities = ["read", "list"]
}
path "secret/data/app/config" {
  capabilities = ["read", "update"]
  required_parameters = ["version"]
}
path "secret/data/+/db" {
  capabilities = ["create"]
}
"#;

#[test]
fn exact_beats_prefix_and_names_policy_and_line() {
    let acl = Acl::new(&[policy("app", APP)]);
    let explanation = acl.explain("secret/data/app/config", false);
    let deciding = explanation
        .deciding
        .clone()
        .expect("the exact rule decides");
    assert_eq!(deciding.pattern, "secret/data/app/config");
    assert_eq!(deciding.kind, MatchKind::Exact);
    assert_eq!(deciding.sources[0].policy, "app");
    assert_eq!(deciding.sources[0].line, Some(5));
    assert_eq!(deciding.conditions.required_parameters, ["version"]);
    let overruled: Vec<&str> = explanation
        .overruled
        .iter()
        .map(|r| r.pattern.as_str())
        .collect();
    assert_eq!(overruled, ["secret/data/*"]);
    assert!(explanation.decide(Capability::Update, false).allowed);
    let create = explanation.decide(Capability::Create, false);
    assert!(!create.allowed);
    assert!(create.reason.contains("not create"), "{}", create.reason);
}

#[test]
fn segment_glob_beats_an_earlier_prefix() {
    let acl = Acl::new(&[policy("app", APP)]);
    let explanation = acl.explain("secret/data/web/db", false);
    let deciding = explanation.deciding.clone().expect("a rule decides");
    assert_eq!(deciding.pattern, "secret/data/+/db");
    assert_eq!(deciding.kind, MatchKind::SegmentGlob);
    assert_eq!(explanation.overruled[0].kind, MatchKind::Prefix);
    assert!(explanation.decide(Capability::Create, false).allowed);
    assert!(!explanation.decide(Capability::Read, false).allowed);
}

#[test]
fn same_path_rules_merge_and_deny_wins() {
    let reader = policy("reader", r#"path "kv/team/*" { capabilities = ["read"] }"#);
    let writer = policy(
        "writer",
        r#"path "kv/team/*" { capabilities = ["update"] }"#,
    );
    let merged = Acl::new(&[reader.clone(), writer]).explain("kv/team/x", false);
    let rule = merged.deciding.clone().expect("the merged rule decides");
    let policies: Vec<&str> = rule.sources.iter().map(|s| s.policy.as_str()).collect();
    assert_eq!(policies, ["reader", "writer"]);
    assert!(merged.decide(Capability::Update, false).allowed);
    assert!(merged.notes.iter().any(|n| n.contains("merged")));

    let blocker = policy("blocker", r#"path "kv/team/*" { capabilities = ["deny"] }"#);
    let denied = Acl::new(&[reader, blocker]).explain("kv/team/x", false);
    assert_eq!(
        denied.deciding.as_ref().map(|r| r.capabilities),
        Some(Capabilities::DENY)
    );
    let decision = denied.decide(Capability::Read, false);
    assert!(!decision.allowed);
    assert!(decision.reason.contains("denies"));
    assert!(denied
        .notes
        .iter()
        .any(|n| n.contains("deny of policy blocker overrides")));
}

#[test]
fn a_losing_deny_is_noted() {
    let acl = acl(&[r#"
        path "kv/*" { capabilities = ["deny"] }
        path "kv/open" { capabilities = ["read"] }
    "#]);
    let explanation = acl.explain("kv/open", false);
    assert!(explanation.decide(Capability::Read, false).allowed);
    assert!(explanation
        .notes
        .iter()
        .any(|n| n.contains("\"kv/*\" denies but does not decide")));
}

#[test]
fn no_match_is_an_implicit_deny() {
    let acl = Acl::new(&[policy("app", APP)]);
    let explanation = acl.explain("sys/mounts", false);
    assert!(explanation.deciding.is_none());
    assert!(explanation.overruled.is_empty());
    let decision = explanation.decide(Capability::Read, false);
    assert!(!decision.allowed);
    assert!(decision.reason.contains("implicit deny"));
}

#[test]
fn sudo_and_root() {
    let acl = acl(&[r#"path "sys/seal" { capabilities = ["update"] }"#]);
    let decision = acl
        .explain("sys/seal", false)
        .decide(Capability::Update, true);
    assert!(!decision.allowed);
    assert!(decision.reason.contains("sudo"));
    let root = Acl::root().explain("sys/seal", false);
    assert!(root.root);
    assert!(root.decide(Capability::Update, true).allowed);
}

#[test]
fn list_falls_back_to_the_path_without_slash() {
    let acl = acl(&[r#"path "kv/metadata" { capabilities = ["list"] }"#]);
    let explanation = acl.explain("kv/metadata/", true);
    let rule = explanation
        .deciding
        .as_ref()
        .expect("the exact rule decides");
    assert_eq!(rule.matched_path, "kv/metadata");
    assert!(explanation.decide(Capability::List, false).allowed);
    assert!(explanation
        .notes
        .iter()
        .any(|n| n.contains("trailing slash")));
}
