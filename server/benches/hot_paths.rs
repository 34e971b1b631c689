//! Micro-benchmarks of the per-request hot paths, so regressions show in numbers:
//! the barrier's AES-256-GCM seal/open per value size, the ACL matcher with the
//! benchmark harness's 20-policy × 10-rule token, a cached token lookup, and what
//! metrics add to each request.
//!
//! ```text
//! cargo bench -p cofre-server --bench hot_paths
//! ```

use std::sync::Arc;

use cofre_server::barrier::aead::SealingKey;
use cofre_server::barrier::{Barrier, StorageView};
use cofre_server::policy::{self, Acl, Capability};
use cofre_server::storage::inmem::Inmem;
use cofre_server::tokens::{TokenEntry, TokenStore};
use divan::counter::BytesCount;
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

#[divan::bench(args = [256, 1024, 16 * 1024])]
fn barrier_seal(bencher: Bencher, size: usize) {
    let key = SealingKey::new(&[7u8; 32]);
    let value = vec![0x5au8; size];
    bencher
        .counter(BytesCount::new(size))
        .bench(|| key.seal(1, "logical/uuid/meta/app/db", black_box(&value)));
}

#[divan::bench(args = [256, 1024, 16 * 1024])]
fn barrier_open(bencher: Bencher, size: usize) {
    let key = SealingKey::new(&[7u8; 32]);
    let sealed = key.seal(1, "logical/uuid/meta/app/db", &vec![0x5au8; size]);
    bencher
        .counter(BytesCount::new(size))
        .bench(|| key.open("logical/uuid/meta/app/db", black_box(&sealed)));
}

/// The harness's ACL token: 20 policies of 8 globs and 2 `+` rules each; the read is
/// granted by `secret/data/k*` in the last policy.
fn harness_acl() -> Acl {
    let policies: Vec<Arc<policy::Policy>> = (0..20)
        .map(|p| {
            let mut text = String::new();
            for j in 0..8 {
                text.push_str(&format!(
                    "path \"secret/data/team{p:02}/app{j}/*\" {{ capabilities = [\"read\"] }}\n"
                ));
            }
            text.push_str(&format!(
                "path \"secret/data/team{p:02}/+/config\" {{ capabilities = [\"read\"] }}\n"
            ));
            text.push_str(&format!(
                "path \"secret/metadata/team{p:02}/+\" {{ capabilities = [\"list\"] }}\n"
            ));
            if p == 19 {
                text.push_str("path \"secret/data/k*\" { capabilities = [\"read\"] }\n");
            }
            Arc::new(policy::parse(&format!("p{p}"), &text).expect("benchmark policies parse"))
        })
        .collect();
    Acl::new(&policies)
}

#[divan::bench]
fn acl_check_granted(bencher: Bencher) {
    let acl = harness_acl();
    let params = serde_json::Map::new();
    bencher.bench(|| {
        acl.check(
            black_box("secret/data/k517"),
            Capability::Read,
            false,
            &params,
        )
        .is_ok()
    });
}

#[divan::bench]
fn acl_check_denied(bencher: Bencher) {
    let acl = harness_acl();
    let params = serde_json::Map::new();
    bencher.bench(|| {
        acl.check(
            black_box("secret/data/other/x"),
            Capability::Read,
            false,
            &params,
        )
        .is_ok()
    });
}

#[divan::bench]
fn token_lookup_cached(bencher: Bencher) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (store, token) = runtime.block_on(async {
        let barrier = Barrier::initialize(Arc::new(Inmem::new()), &[1u8; 32], "now".into())
            .await
            .expect("barrier");
        let store = TokenStore::open(StorageView::new(Arc::new(barrier), "sys/token/"))
            .await
            .expect("token store");
        let (token, accessor) = TokenStore::generate_ids();
        store
            .create(TokenEntry {
                orphan: true,
                ..TokenEntry::new(
                    store.hash(&token),
                    accessor,
                    vec!["default".into()],
                    "auth/token/create",
                )
            })
            .await
            .expect("token stored");
        (store, token.to_string())
    });
    bencher.bench(|| runtime.block_on(store.lookup(black_box(&token), 1)).is_ok());
}

/// What every request adds for metrics: one status counter, one histogram bucket, the sum.
#[divan::bench]
fn metrics_record_request(bencher: Bencher) {
    let metrics = cofre_server::metrics::Metrics::default();
    let stats = metrics
        .set_mounts(&[("secret/".into(), "kv_12345678".into())])
        .remove(0);
    bencher.bench(|| {
        stats.record(
            black_box(Some("read")),
            black_box(200),
            black_box(std::time::Duration::from_micros(180)),
        )
    });
}
