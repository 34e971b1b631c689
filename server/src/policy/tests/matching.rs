//! Which rule decides a path, merging across policies, and request checks.
//! Expected answers were taken from an OpenBao 2.7 server.

use serde_json::json;

use super::{acl, caps, params};
use crate::policy::{default_policy_text, Acl, Capabilities, Capability, Denied};

const PRIORITY: &str = r#"
path "p1/*" { capabilities = ["read"] }
path "p1/+" { capabilities = ["update"] }
path "p2/bar/+/baz" { capabilities = ["read"] }
path "p2/+/bar/baz" { capabilities = ["update"] }
path "p3/+/bar/baz" { capabilities = ["read"] }
path "p3/+/+/baz" { capabilities = ["update"] }
path "p4/+/bar/ba*" { capabilities = ["read"] }
path "p4/+/bar/b*" { capabilities = ["update"] }
path "p5/foo" { capabilities = ["list"] }
path "p6/+/team/*" { capabilities = ["read"] }
path "p6/*" { capabilities = ["update"] }
path "p7/a/*" { capabilities = ["read"] }
path "p7/+/b" { capabilities = ["update"] }
path "p8/x" { capabilities = ["read"] }
path "p8/*" { capabilities = ["deny"] }
path "p9/+/+" { capabilities = [] }
path "p9/*" { capabilities = ["read"] }
path "p10/" { capabilities = ["read"] }
path "p10/a*" { capabilities = ["update"] }
path "secret/+/config" { capabilities = ["read"] }
path "secret/a*" { capabilities = ["create"] }
"#;

#[test]
fn priority_matches_openbao() {
    let acl = acl(&[PRIORITY]);
    let expected = [
        ("p1/x", "update"),         // `+` beats `*` at the same position
        ("p1/x/y", "read"),         // `+` needs exactly one segment
        ("p2/bar/bar/baz", "read"), // later first wildcard wins
        ("p3/x/bar/baz", "read"),   // fewer `+` segments win
        ("p4/x/bar/baz", "read"),   // longer prefix wins
        ("p5/foo/", "list"),        // list falls back to the path without `/`
        ("p5/foo", "list"),
        ("p6/a/team/x", "update"), // same first wildcard, both globs: fewer `+`
        ("p6/a/team", "update"),
        ("p7/a/b", "read"), // `*` at 5 is later than `+` at 3
        ("p7/a/c", "read"),
        ("p8/x", "read"), // exact beats a denying glob
        ("p8/y", "deny"),
        ("p9/a/b", "deny"), // an empty rule still wins and grants nothing
        ("p9/a", "read"),
        ("p9/a/b/c", "read"),
        ("p10/", "read"),
        ("p10/ab", "update"),
        ("p10", "deny"),
        ("secret/a/config", "create"),
        ("secret/ab/config", "create"),
        ("secret/b/config", "read"),
        ("/secret/b/config", "read"),
    ];
    for (path, want) in expected {
        assert_eq!(caps(&acl, path).join(","), want, "capabilities on {path}");
    }
}

#[test]
fn capabilities_of_different_matching_rules_are_not_combined() {
    let acl = acl(&[
        r#"path "kv/*" { capabilities = ["read"] }"#,
        r#"path "kv/team/*" { capabilities = ["list"] }"#,
    ]);
    assert_eq!(caps(&acl, "kv/team/x"), ["list"]);
    assert_eq!(caps(&acl, "kv/other"), ["read"]);
}

#[test]
fn same_path_in_several_policies_is_merged() {
    let a = r#"path "kv/data/*" { capabilities = ["read", "list"] }"#;
    let b = r#"path "kv/data/*" { capabilities = ["update"] }"#;
    assert_eq!(caps(&acl(&[a, b]), "kv/data/x"), ["list", "read", "update"]);
    let deny = r#"path "kv/data/*" { capabilities = ["deny"] }"#;
    assert_eq!(
        acl(&[a, deny, b]).capabilities("kv/data/x"),
        Capabilities::DENY
    );
}

#[test]
fn exact_glob_and_segment_rules_with_the_same_text_are_distinct() {
    let acl = acl(&[r#"
        path "kv/a" { capabilities = ["read"] }
        path "kv/a*" { capabilities = ["deny"] }
    "#]);
    assert_eq!(caps(&acl, "kv/a"), ["read"]);
    assert_eq!(caps(&acl, "kv/ab"), ["deny"]);
}

#[test]
fn nothing_matches_means_nothing_granted() {
    let acl = acl(&[r#"path "kv/*" { capabilities = ["read"] }"#]);
    assert!(acl.capabilities("sys/mounts").is_empty());
    assert_eq!(
        acl.check("sys/mounts", Capability::Read, false, &params(json!({}))),
        Err(Denied::Permission)
    );
    let empty = Acl::new(&[]);
    assert!(empty.capabilities("kv/x").is_empty());
    assert!(empty
        .check("kv/x", Capability::Read, false, &params(json!({})))
        .is_err());
}

#[test]
fn root_may_do_anything() {
    let root = Acl::root();
    assert!(root.is_root());
    assert_eq!(caps(&root, "sys/seal"), ["root"]);
    assert_eq!(
        root.check("sys/seal", Capability::Update, true, &params(json!({}))),
        Ok(())
    );
    assert!(!Acl::new(&[]).is_root());
}

#[test]
fn check_requires_capability_and_sudo() {
    let acl = acl(&[r#"
        path "sys/auth/*" { capabilities = ["read", "update", "sudo"] }
        path "sys/policy/*" { capabilities = ["read", "update"] }
        path "kv/*" { capabilities = ["deny"] }
    "#]);
    let none = params(json!({}));
    assert_eq!(
        acl.check("sys/auth/x", Capability::Update, true, &none),
        Ok(())
    );
    assert_eq!(
        acl.check("sys/auth/x", Capability::Delete, false, &none),
        Err(Denied::Permission)
    );
    assert_eq!(
        acl.check("sys/policy/x", Capability::Update, true, &none),
        Err(Denied::SudoRequired)
    );
    assert_eq!(
        acl.check("kv/x", Capability::Read, false, &none),
        Err(Denied::Permission)
    );
    assert_eq!(
        acl.check("sys/auth/x", Capability::Deny, false, &none),
        Err(Denied::Permission)
    );
}

#[test]
fn list_uses_the_path_without_trailing_slash() {
    let acl = acl(&[r#"
        path "kv/metadata" { capabilities = ["list"] }
        path "kv/team/" { capabilities = ["read"] }
        path "kv/team*" { capabilities = ["list"] }
    "#]);
    let none = params(json!({}));
    assert_eq!(
        acl.check("kv/metadata/", Capability::List, false, &none),
        Ok(())
    );
    assert_eq!(
        acl.check("kv/metadata/", Capability::Read, false, &none),
        Err(Denied::Permission)
    );
    // An exact rule for the path with its slash beats the fallback.
    assert_eq!(
        acl.check("kv/team/", Capability::List, false, &none),
        Err(Denied::Permission)
    );
}

const PARAMETERS: &str = r#"
path "kv/cfg" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
  required_parameters = ["Owner"]
  allowed_parameters = {
    "owner" = []
    "env"   = ["dev-*", "staging"]
  }
  denied_parameters = {
    "env" = ["dev-secret"]
  }
}
"#;

#[test]
fn parameters_are_checked_on_read_create_update_patch_only() {
    let acl = acl(&[PARAMETERS]);
    let ok = params(json!({"owner": "me", "ENV": "dev-1"}));
    for cap in [
        Capability::Create,
        Capability::Read,
        Capability::Update,
        Capability::Patch,
    ] {
        assert_eq!(acl.check("kv/cfg", cap, false, &ok), Ok(()), "{cap}");
        let missing = params(json!({"env": "staging"}));
        assert_eq!(
            acl.check("kv/cfg", cap, false, &missing),
            Err(Denied::MissingParameter("owner".into()))
        );
    }
    let bad = params(json!({"other": 1}));
    for cap in [Capability::Delete, Capability::List] {
        assert_eq!(acl.check("kv/cfg", cap, false, &bad), Ok(()), "{cap}");
    }
    let cases = [
        (
            json!({"owner": 1, "env": "dev-secret"}),
            Denied::DeniedParameter("env".into()),
        ),
        (
            json!({"owner": 1, "env": "prod"}),
            Denied::ValueNotAllowed("env".into()),
        ),
        (
            json!({"owner": 1, "team": "x"}),
            Denied::ParameterNotAllowed("team".into()),
        ),
    ];
    for (request, denied) in cases {
        assert_eq!(
            acl.check("kv/cfg", Capability::Update, false, &params(request)),
            Err(denied)
        );
    }
}

#[test]
fn parameter_maps_merge_across_policies() {
    let a = r#"path "kv/x" {
      capabilities = ["update"]
      allowed_parameters = { "env" = ["dev"] }
    }"#;
    let b = r#"path "kv/x" {
      capabilities = ["update"]
      allowed_parameters = { "env" = ["prod"], "team" = [] }
    }"#;
    let acl = acl(&[a, b]);
    for request in [json!({"env": "dev"}), json!({"env": "prod", "team": "any"})] {
        assert_eq!(
            acl.check("kv/x", Capability::Update, false, &params(request)),
            Ok(())
        );
    }
    assert!(acl
        .check(
            "kv/x",
            Capability::Update,
            false,
            &params(json!({"env": "qa"}))
        )
        .is_err());
}

#[test]
fn wrapping_ttl_bounds_require_wrapping() {
    let acl = acl(&[r#"path "pki/issue/*" {
      capabilities = ["update"]
      min_wrapping_ttl = "1m"
      max_wrapping_ttl = 3600
    }"#]);
    let none = params(json!({}));
    let check = |ttl: Option<u64>| {
        let ttl = ttl.map(std::time::Duration::from_secs);
        acl.check_wrapped("pki/issue/web", Capability::Update, false, &none, ttl)
    };
    assert_eq!(check(Some(300)), Ok(()));
    assert_eq!(check(None), Err(Denied::WrappingRequired));
    assert_eq!(check(Some(30)), Err(Denied::WrappingRequired));
    assert_eq!(check(Some(7200)), Err(Denied::WrappingRequired));
}

#[test]
fn default_policy_lets_a_token_manage_itself() {
    let acl = acl(&[default_policy_text()]);
    assert_eq!(caps(&acl, "auth/token/lookup-self"), ["read"]);
    assert_eq!(caps(&acl, "auth/token/renew-self"), ["update"]);
    assert_eq!(
        caps(&acl, "cubbyhole/a/b"),
        ["create", "delete", "list", "read", "update"]
    );
    assert_eq!(caps(&acl, "sys/wrapping/unwrap"), ["update"]);
    assert_eq!(caps(&acl, "sys/internal/ui/resultant-acl"), ["read"]);
    assert!(acl.capabilities("secret/data/x").is_empty());
    assert!(acl.capabilities("sys/policies/acl/default").is_empty());
}

#[test]
fn acl_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Acl>();
    shareable::<crate::policy::Policy>();
}

#[test]
fn mount_visibility_looks_below_the_mount() {
    let acl = acl(&[r#"
        path "kv/data/team/*" { capabilities = ["read"] }
        path "pki/issue/web" { capabilities = ["update"] }
        path "db/+/creds" { capabilities = ["read"] }
        path "hidden/*" { capabilities = ["deny"] }
        path "empty/x" { capabilities = [] }
    "#]);
    for mount in ["kv/", "pki/", "db/", "/kv"] {
        assert!(acl.grants_anything_under(mount), "{mount}");
    }
    for mount in ["hidden/", "empty/", "sys/", "k/"] {
        assert!(!acl.grants_anything_under(mount), "{mount}");
    }
    assert!(Acl::root().grants_anything_under("sys/"));
}
