//! Test helpers for the auth methods: an auth mount of a given type built through
//! [`crate::auth::create`] over a real barrier on in-memory storage, served through
//! the KV tests' [`TestMount`] (whose `call`/`ok`/`invalid` helpers it reuses).

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;

use crate::barrier::StorageView;
use crate::core::mounts::MountEntry;
use crate::core::{LoginGrant, Operation, RequestError};
use crate::engines::kv::testutil::{request, TestMount};
use crate::engines::MountContext;

/// An auth mount of `kind` at `auth/<kind>/`, as the root token sees it.
pub(crate) async fn auth_mount(kind: &str) -> TestMount {
    auth_mount_with_options(kind, &[]).await
}

/// An auth mount of `kind` enabled with these mount options.
pub(crate) async fn auth_mount_with_options(kind: &str, options: &[(&str, &str)]) -> TestMount {
    let mut entry = MountEntry::new(&format!("{kind}/"), kind, "", true);
    if !options.is_empty() {
        let map = options.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        entry.options = Some(map.collect());
    }
    let engine = crate::auth::create(&entry).expect("test auth mounts are valid");
    let storage = StorageView::new(
        crate::barrier::in_memory_for_tests().await,
        entry.storage_prefix(),
    );
    TestMount {
        engine,
        ctx: MountContext {
            storage,
            mount: Arc::new(entry),
            token: None,
            system_default_ttl: crate::config::DEFAULT_LEASE_TTL.as_secs(),
        },
    }
}

/// Sends a login (an update) from `addr`; the grant on success.
pub(crate) async fn login(
    mount: &TestMount,
    path: &str,
    body: Value,
    addr: Option<&str>,
) -> Result<LoginGrant, RequestError> {
    let mut req = request(Operation::Update, path, body);
    req.remote_addr = addr.and_then(|a| a.parse::<IpAddr>().ok());
    let resp = mount.engine.handle(&mount.ctx, &req).await?;
    Ok(*resp.login.expect("a successful login carries a grant"))
}
