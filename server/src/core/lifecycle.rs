//! Initialise, unseal and seal: the transitions of the core's seal state.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::seal::{SealConfig, SEAL_CONFIG_PATH};
use super::static_seal::STATIC_SEAL_TYPE;
use super::{Core, RequestError, Unsealed};
use crate::barrier::{Barrier, BarrierError};
use crate::shamir;

/// What `sys/init` hands out once: the unseal key shares and the root token.
pub struct InitResult {
    pub shares: Vec<Zeroizing<Vec<u8>>>,
    pub root_token: Zeroizing<String>,
}

impl Core {
    /// The stored seal configuration; `None` when not initialised.
    pub async fn seal_config(&self) -> Result<Option<SealConfig>, RequestError> {
        let Some(bytes) = self.backend.get(SEAL_CONFIG_PATH).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| RequestError::internal("the stored seal configuration is malformed"))
    }

    pub async fn is_initialized(&self) -> Result<bool, RequestError> {
        Ok(self.seal_config().await?.is_some())
    }

    /// Initialises a new vault and leaves it sealed (or unsealed with `stay_unsealed`,
    /// for `-dev`). `root_token_id` fixes the root token (dev mode only).
    pub async fn initialize(
        &self,
        shares: u8,
        threshold: u8,
        root_token_id: Option<&str>,
        stay_unsealed: bool,
    ) -> Result<InitResult, RequestError> {
        validate_shares(shares, threshold)?;
        let unseal_key = crate::crypto::random_key::<32>();
        let config = SealConfig {
            kind: "shamir".into(),
            secret_shares: shares,
            secret_threshold: threshold,
        };
        let root_token = self
            .create_vault(&unseal_key, config, root_token_id, stay_unsealed)
            .await?;
        let shares = if shares == 1 {
            vec![Zeroizing::new(unseal_key.to_vec())]
        } else {
            shamir::split(unseal_key.as_ref(), shares, threshold)
                .map_err(|e| RequestError::internal(format!("splitting the unseal key: {e}")))?
        };
        Ok(InitResult { shares, root_token })
    }

    /// Initialises a new vault sealed by the static seal's current key and leaves it
    /// unsealed, as auto-unseal does; returns the root token (there are no key shares).
    pub async fn initialize_static(&self) -> Result<Zeroizing<String>, RequestError> {
        let keys = self
            .settings
            .static_seal
            .clone()
            .ok_or_else(|| RequestError::invalid("this server has no seal \"static\" block"))?;
        let config = SealConfig {
            kind: STATIC_SEAL_TYPE.into(),
            secret_shares: 0,
            secret_threshold: 0,
        };
        self.create_vault(&keys.current.key, config, None, true)
            .await
    }

    /// Creates the barrier under `unseal_key`, the default mounts and the root token, and
    /// stores the seal configuration last (it marks the vault initialised).
    async fn create_vault(
        &self,
        unseal_key: &[u8; 32],
        config: SealConfig,
        root_token_id: Option<&str>,
        stay_unsealed: bool,
    ) -> Result<Zeroizing<String>, RequestError> {
        let _guard = self.progress.lock().await;
        if self.is_initialized().await? {
            return Err(RequestError::invalid("Vault is already initialized"));
        }
        let barrier = Barrier::initialize(
            self.backend.clone(),
            unseal_key,
            crate::duration::rfc3339_nanos(std::time::SystemTime::now()),
        )
        .await?;
        let unsealed = Unsealed::setup_new(Arc::new(barrier), self.settings.clone()).await?;
        let root_token = unsealed.create_root_token(root_token_id).await?;
        let config_bytes =
            serde_json::to_vec(&config).expect("the seal configuration always serialises");
        self.backend.put(SEAL_CONFIG_PATH, config_bytes).await?;
        if stay_unsealed {
            let unsealed = Arc::new(unsealed);
            unsealed.start_background();
            self.set_state(Some(unsealed));
        } else {
            unsealed.shutdown().await;
        }
        Ok(root_token)
    }

    /// Submits one unseal key share; unseals once the threshold is reached.
    pub async fn submit_unseal_key(&self, share: Zeroizing<Vec<u8>>) -> Result<(), RequestError> {
        let config = self
            .seal_config()
            .await?
            .ok_or_else(|| RequestError::invalid("Vault is not initialized"))?;
        let mut progress = self.progress.lock().await;
        if !self.is_sealed() {
            return Ok(());
        }
        if config.kind == STATIC_SEAL_TYPE {
            return Err(RequestError::invalid(
                "this vault uses a static seal: it unseals itself at start with the key in \
                 the server's seal \"static\" block; restart the server to unseal it",
            ));
        }
        progress.add(share).map_err(RequestError::invalid)?;
        if progress.shares.len() < config.secret_threshold as usize {
            return Ok(());
        }
        let key = if config.secret_threshold == 1 {
            Zeroizing::new(progress.shares[0].to_vec())
        } else {
            let parts: Vec<&[u8]> = progress.shares.iter().map(|s| s.as_slice()).collect();
            shamir::combine(&parts).map_err(|e| {
                RequestError::invalid(format!("failed to recombine unseal key shares: {e}"))
            })?
        };
        progress.reset();
        let barrier = Barrier::unseal(self.backend.clone(), &key)
            .await
            .map_err(|e| match e {
                BarrierError::WrongUnsealKey => {
                    RequestError::invalid("Error unsealing: cipher: message authentication failed")
                }
                other => other.into(),
            })?;
        let unsealed = Arc::new(Unsealed::load(Arc::new(barrier), self.settings.clone()).await?);
        unsealed.start_background();
        self.set_state(Some(unsealed));
        tracing::info!("vault unsealed");
        Ok(())
    }

    /// Forgets the unseal shares submitted so far (`sys/unseal` with `reset`).
    pub async fn reset_unseal(&self) {
        self.progress.lock().await.reset();
    }

    /// (shares submitted, nonce) of the current unseal attempt.
    pub async fn unseal_progress(&self) -> (usize, String) {
        let progress = self.progress.lock().await;
        (progress.shares.len(), progress.nonce.clone())
    }

    /// Seals: stops background work and drops every key. Requests in flight finish with
    /// the state they started with.
    pub async fn seal(&self) {
        let _guard = self.progress.lock().await;
        if let Some(unsealed) = self.set_state(None) {
            unsealed.shutdown().await;
            tracing::info!("vault sealed");
        }
    }
}

fn validate_shares(shares: u8, threshold: u8) -> Result<(), RequestError> {
    if shares == 0 || threshold == 0 {
        return Err(RequestError::invalid(
            "secret shares and secret threshold must be at least 1",
        ));
    }
    if threshold > shares {
        return Err(RequestError::invalid(
            "invalid seal configuration: threshold must be less than or equal to shares",
        ));
    }
    if shares > 1 && threshold == 1 {
        return Err(RequestError::invalid(
            "invalid seal configuration: threshold must be greater than one for multiple shares",
        ));
    }
    Ok(())
}
