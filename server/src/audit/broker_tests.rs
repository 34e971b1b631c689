//! Tests of the broker: fail-closed counting over several devices, enabling and disabling
//! with persistence in the barrier, and stable hashes across unseals.

use std::collections::BTreeMap;

use super::*;
use crate::core::Operation;
use crate::storage::inmem::Inmem;
use crate::storage::Backend;

async fn barrier() -> Arc<Barrier> {
    let backend: Arc<dyn Backend> = Arc::new(Inmem::new());
    let barrier = Barrier::initialize(backend, &[7u8; 32], "now".into())
        .await
        .expect("a fresh in-memory barrier initialises");
    Arc::new(barrier)
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cofre-broker-{}", crate::crypto::uuid_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn declared(path: &str, file: &std::path::Path) -> crate::config::AuditDevice {
    crate::config::AuditDevice {
        device_type: "file".into(),
        path: path.into(),
        description: String::new(),
        local: false,
        options: BTreeMap::from([("file_path".to_string(), file.display().to_string())]),
    }
}

async fn log_one(broker: &AuditBroker) -> Result<(), AuditError> {
    let req = crate::core::Request::new(Operation::Read, "secret/x").with_token("s.t");
    let record = Record::new(&req, "secret/x", None, None);
    let entry = Entry {
        record: &record,
        is_response: false,
        response: None,
        error: None,
    };
    broker.log(&entry).await
}

#[tokio::test]
async fn one_failing_device_is_skipped_all_failing_refuse() {
    let dir = temp_dir();
    let good = dir.join("good.log");
    let bad = dir.join("bad.log");
    std::fs::create_dir(&bad).unwrap();
    let devices = [declared("good", &good), declared("bad", &bad)];
    let broker = AuditBroker::open(barrier().await, &devices, Default::default())
        .await
        .unwrap();
    assert!(broker.is_enabled());
    log_one(&broker).await.unwrap();
    assert_eq!(std::fs::read_to_string(&good).unwrap().lines().count(), 1);
    std::fs::remove_file(&good).unwrap();
    std::fs::create_dir(&good).unwrap();
    assert!(matches!(
        log_one(&broker).await,
        Err(AuditError::NotRecorded)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn no_device_records_nothing_and_succeeds() {
    let broker = AuditBroker::open(barrier().await, &[], Default::default())
        .await
        .unwrap();
    assert!(!broker.is_enabled());
    log_one(&broker).await.unwrap();
    assert!(broker.list().is_empty());
}

#[tokio::test]
async fn api_devices_persist_and_hashes_are_stable() {
    let dir = temp_dir();
    let barrier = barrier().await;
    let config = [declared("cfg", &dir.join("cfg.log"))];
    let broker = AuditBroker::open(barrier.clone(), &config, Default::default())
        .await
        .unwrap();
    let spec = DeviceSpec {
        path: "api".into(),
        kind: "file".into(),
        description: "d".into(),
        local: false,
        options: BTreeMap::from([(
            "file_path".to_string(),
            dir.join("api.log").display().to_string(),
        )]),
        declared: false,
    };
    broker.enable(spec.clone()).await.unwrap();
    assert!(matches!(
        broker.enable(spec).await,
        Err(AuditError::PathInUse(_))
    ));
    let hash = broker.hash("api", "x").unwrap();
    assert!(hash.starts_with("hmac-sha256:"));
    assert_ne!(hash, broker.hash("cfg", "x").unwrap());
    assert!(matches!(
        broker.disable("cfg").await,
        Err(AuditError::Declared(_))
    ));

    let reopened = AuditBroker::open(barrier.clone(), &config, Default::default())
        .await
        .unwrap();
    let paths: Vec<String> = reopened.list().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["cfg/", "api/"]);
    assert_eq!(reopened.hash("api/", "x").unwrap(), hash);
    reopened.disable("api").await.unwrap();
    reopened.disable("never-enabled").await.unwrap();
    let again = AuditBroker::open(barrier, &config, Default::default())
        .await
        .unwrap();
    assert_eq!(again.list().len(), 1);
    assert!(matches!(
        again.hash("api", "x"),
        Err(AuditError::Unknown(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

fn socket_device(path: &str, address: &str, extra: &[(&str, &str)]) -> crate::config::AuditDevice {
    let mut options = BTreeMap::from([("address".to_string(), address.to_string())]);
    for (key, value) in extra {
        options.insert(key.to_string(), value.to_string());
    }
    crate::config::AuditDevice {
        device_type: "socket".into(),
        path: path.into(),
        description: String::new(),
        local: false,
        options,
    }
}

/// Logs one request whose data holds `size` bytes (in clear with `log_raw`).
async fn log_big(broker: &AuditBroker, size: usize) -> Result<(), AuditError> {
    let mut req = crate::core::Request::new(Operation::Update, "secret/x").with_token("s.t");
    req.data
        .insert("blob".into(), serde_json::json!("x".repeat(size)));
    let record = Record::new(&req, "secret/x", None, None);
    let entry = Entry {
        record: &record,
        is_response: false,
        response: None,
        error: None,
    };
    broker.log(&entry).await
}

#[tokio::test]
async fn socket_device_receives_hashed_lines() {
    use tokio::io::AsyncBufReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let devices = [socket_device("sock", &address, &[])];
    let broker = AuditBroker::open(barrier().await, &devices, Default::default())
        .await
        .unwrap();
    log_big(&broker, 12).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let mut lines = tokio::io::BufReader::new(stream).lines();
    let line = lines.next_line().await.unwrap().expect("one line");
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["type"], "request");
    assert_eq!(value["prev_hash"], "");
    let clear = "x".repeat(12);
    let hashed = value["request"]["data"]["blob"].as_str().unwrap();
    assert_eq!(hashed, broker.hash("sock", &clear).unwrap());
    assert!(!line.contains(&clear), "{line}");
}

#[tokio::test]
async fn a_stuck_socket_device_fails_alone_or_closed() {
    let dir = temp_dir();
    let file = dir.join("audit.log");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let options = [("log_raw", "true"), ("write_timeout", "300ms")];
    let metrics = Arc::new(Metrics::default());
    let devices = [
        declared("file", &file),
        socket_device("sock", &address, &options),
    ];
    let broker = AuditBroker::open(barrier().await, &devices, metrics.clone())
        .await
        .unwrap();
    // The peer accepted (backlog) but never reads: 32 MiB fills every buffer on the way.
    let started = std::time::Instant::now();
    log_big(&broker, 32 << 20).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(
        metrics
            .audit_device_failures("sock/")
            .load(Ordering::Relaxed),
        1
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);

    let alone = [socket_device("sock", &address, &options)];
    let broker = AuditBroker::open(barrier().await, &alone, Default::default())
        .await
        .unwrap();
    assert!(matches!(
        log_big(&broker, 32 << 20).await,
        Err(AuditError::NotRecorded)
    ));
    drop(listener);
    let _ = std::fs::remove_dir_all(&dir);
}
