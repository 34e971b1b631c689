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
    let broker = AuditBroker::open(barrier().await, &devices).await.unwrap();
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
    let broker = AuditBroker::open(barrier().await, &[]).await.unwrap();
    assert!(!broker.is_enabled());
    log_one(&broker).await.unwrap();
    assert!(broker.list().is_empty());
}

#[tokio::test]
async fn api_devices_persist_and_hashes_are_stable() {
    let dir = temp_dir();
    let barrier = barrier().await;
    let config = [declared("cfg", &dir.join("cfg.log"))];
    let broker = AuditBroker::open(barrier.clone(), &config).await.unwrap();
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

    let reopened = AuditBroker::open(barrier.clone(), &config).await.unwrap();
    let paths: Vec<String> = reopened.list().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["cfg/", "api/"]);
    assert_eq!(reopened.hash("api/", "x").unwrap(), hash);
    reopened.disable("api").await.unwrap();
    reopened.disable("never-enabled").await.unwrap();
    let again = AuditBroker::open(barrier, &config).await.unwrap();
    assert_eq!(again.list().len(), 1);
    assert!(matches!(
        again.hash("api", "x"),
        Err(AuditError::Unknown(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
