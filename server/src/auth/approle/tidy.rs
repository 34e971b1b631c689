//! `tidy/secret-id`: removes expired secret IDs with their accessor entries, and accessor
//! entries whose secret ID is gone, as Vault does. It answers 202 at once and runs on its
//! own task: the walk reads every secret ID of every role, which can take a while. One
//! tidy runs at a time per mount (a second request while one runs just says so). Each
//! entry is re-read under its secret-ID lock, so a tidy never races a login.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::secret_id::{self, AccessorEntry, SecretIdEntry};
use super::{lock_for, AppRole};
use crate::barrier::StorageView;
use crate::core::{now_unix, RequestError, Response};
use crate::storage::TxnOp;

const STARTED: &str = "Tidy operation successfully started. Any information from the operation will be printed to Cofre's server logs.";
const RUNNING: &str = "Tidy operation already in progress.";

/// `tidy/secret-id`: starts a tidy in the background and answers 202.
pub(super) async fn start(
    engine: &AppRole,
    storage: &StorageView,
) -> Result<Response, RequestError> {
    let salt = engine.salt(storage).await?;
    let running = engine.tidying.clone();
    let warning = if running.swap(true, Ordering::SeqCst) {
        RUNNING
    } else {
        let storage = storage.clone();
        tokio::spawn(async move {
            let _done = Done(running);
            match tidy(&storage, &salt, now_unix()).await {
                Ok(removed) => tracing::info!(removed, "approle secret-ID tidy finished"),
                Err(e) => tracing::warn!(error = %e, "approle secret-ID tidy failed"),
            }
        });
        STARTED
    };
    Ok(Response {
        status: Some(202),
        ..Response::empty().with_warning(warning)
    })
}

/// Clears the running flag however the task ends.
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Removes what has expired at `now`; returns how many entries went.
pub(super) async fn tidy(
    storage: &StorageView,
    salt: &Zeroizing<Vec<u8>>,
    now: u64,
) -> Result<usize, RequestError> {
    let accessor_key = |accessor: &str| {
        format!(
            "accessor/{}",
            crate::crypto::hmac_sha256_hex(salt, accessor.as_bytes())
        )
    };
    let mut removed = 0;
    for role in storage.list("secret_id/").await? {
        let role = role.trim_end_matches('/');
        for hash in storage.list(&format!("secret_id/{role}/")).await? {
            let _guard = lock_for(&hash).await;
            let key = secret_id::entry_key(role, &hash);
            let Some(entry) = storage.get_json::<SecretIdEntry>(&key).await? else {
                continue;
            };
            if entry.expires_at == 0 || now < entry.expires_at {
                continue;
            }
            storage
                .transaction(vec![
                    TxnOp::Delete(key),
                    TxnOp::Delete(accessor_key(&entry.accessor)),
                ])
                .await?;
            removed += 1;
        }
    }
    for name in storage.list("accessor/").await? {
        let key = format!("accessor/{name}");
        let Some(index) = storage.get_json::<AccessorEntry>(&key).await? else {
            continue;
        };
        let _guard = lock_for(&index.secret_id_hash).await;
        let entry = secret_id::entry_key(&index.role_name, &index.secret_id_hash);
        if storage.get(&entry).await?.is_none() {
            storage.delete(&key).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
