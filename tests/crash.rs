//! Durability: acknowledged writes survive `kill -9`. Sixteen concurrent writers write
//! KV v2 secrets to a sled-backed server; after enough acknowledgements the server is
//! SIGKILLed while requests are in flight; after restart and unseal every acknowledged
//! write must be readable with exactly the content that was written.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{Api, TestServer};
use serde_json::json;

const WRITERS: usize = 16;
const KILL_AFTER_ACKS: usize = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    let mut server = TestServer::start().await;
    let (status, body) = server
        .api
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let pid = server.pid().expect("server running");
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let next_key = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let api: Api = server.api.clone();
            let (acked, count, next_key) = (acked.clone(), count.clone(), next_key.clone());
            tokio::spawn(async move {
                loop {
                    let i = next_key.fetch_add(1, Ordering::SeqCst);
                    let key = format!("dur/k{i:05}");
                    let value = format!("value-{i}-{}", "x".repeat(150));
                    let result = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        try_write(&api, &key, &value),
                    )
                    .await;
                    match result {
                        Ok(Some(200)) => {
                            acked.lock().unwrap().insert(key, value);
                            if count.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER_ACKS {
                                let _ = std::process::Command::new("kill")
                                    .args(["-9", &pid.to_string()])
                                    .status();
                            }
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    server.kill9();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= KILL_AFTER_ACKS,
        "only {} writes acknowledged",
        acked.len()
    );

    server.spawn().await;
    server.unseal().await;
    let mut missing = Vec::new();
    for (key, value) in &acked {
        let (status, body) = server.api.get(&format!("secret/data/{key}")).await;
        if status != 200 || body["data"]["data"]["v"] != value.as_str() {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(10)]
    );
}

/// One write; `None` when the server is gone.
async fn try_write(api: &Api, key: &str, value: &str) -> Option<u16> {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/secret/data/{key}", api.addr))
        .header("X-Vault-Token", &api.token)
        .body(json!({"data": {"v": value}}).to_string())
        .send()
        .await
        .ok()?;
    Some(resp.status().as_u16())
}
