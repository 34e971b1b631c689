//! The expiration manager: registers the leases engines hand out, renews them (capped at
//! their max TTL), revokes them through the issuing engine (on request, with their token,
//! by prefix, or when due), and retries failed revocations with exponential backoff so
//! nothing is dropped silently. State lives in the [`LeaseStore`](crate::leases::LeaseStore);
//! the sweeper walks its `due/` index in order, so unseal loads nothing.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::router::Handler;
use super::{now_unix, LeaseInfo, RequestError, Response, SecretLease, Unsealed};
use crate::barrier::BarrierError;
use crate::engines::{Engine, LeasedSecret, MountContext};
use crate::leases::{lease_path, LeaseEntry, RevocationState};
use crate::tokens::TokenEntry;

/// How long one engine revocation or renewal may take before it counts as failed.
const ENGINE_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Leases taken from the `due/` index per sweep batch.
const SWEEP_BATCH: usize = 128;
/// Revocations the sweeper runs at once.
const SWEEP_PARALLEL: usize = 16;

/// What happened to a revocation attempt.
enum Revoked {
    Done,
    /// Failed; the lease stays, scheduled for another attempt.
    Retrying(String),
}

impl Unsealed {
    /// Registers the lease of a secret an engine just issued at `full_path` for `token`,
    /// and returns what the response shows. The TTL is the engine's, else the mount's,
    /// else the system default, capped at the max TTL (the engine's capped by the mount's,
    /// else the system max).
    pub async fn register_lease(
        &self,
        mount_uuid: &str,
        mount_config: &super::mounts::MountConfig,
        full_path: &str,
        relative_path: &str,
        token: Option<&TokenEntry>,
        secret: SecretLease,
    ) -> Result<(LeaseInfo, Option<String>), RequestError> {
        let system_max = self.settings.max_lease_ttl.as_secs();
        let mount_max = nonzero_or(mount_config.max_lease_ttl, system_max);
        let max_ttl = match secret.max_ttl {
            0 => mount_max,
            role => role.min(mount_max),
        };
        let default = nonzero_or(
            mount_config.default_lease_ttl,
            self.settings.default_lease_ttl.as_secs(),
        );
        let wanted = nonzero_or(secret.ttl, default);
        let ttl = wanted.min(max_ttl);
        let warning = (wanted > max_ttl).then(|| capped_warning(wanted, max_ttl));
        let now = now_unix();
        let entry = LeaseEntry {
            lease_id: format!(
                "{}/{}",
                full_path.trim_end_matches('/'),
                crate::crypto::random_base62(24)
            ),
            mount_uuid: mount_uuid.to_string(),
            path: relative_path.to_string(),
            internal: secret.internal,
            token_hash: token.map(|t| t.id_hash.clone()).unwrap_or_default(),
            issue_time: now,
            expire_time: now + ttl,
            last_renewal: 0,
            max_expire_time: now + max_ttl,
            ttl,
            renewable: secret.renewable,
            revocation: None,
        };
        self.leases.create(&entry).await?;
        Ok((
            LeaseInfo {
                lease_id: entry.lease_id,
                ttl_seconds: ttl,
                renewable: secret.renewable,
            },
            warning,
        ))
    }

    /// Revokes a secret whose lease could not be stored, so no credential is left behind.
    pub async fn revoke_unregistered(
        &self,
        mount_uuid: &str,
        relative_path: &str,
        secret: &SecretLease,
    ) {
        let Some((engine, ctx)) = self.engine_for(mount_uuid) else {
            return;
        };
        let lease = LeasedSecret {
            lease_id: "",
            path: relative_path,
            internal: &secret.internal,
            expire_time: now_unix(),
        };
        if let Err(e) = engine.revoke(&ctx, &lease).await {
            tracing::error!(error = %e, path = relative_path,
                "revoking a secret whose lease could not be stored failed");
        }
    }

    /// The lease's lookup data (`sys/leases/lookup`); 400 "invalid lease" when unknown.
    pub async fn lookup_lease(&self, lease_id: &str) -> Result<Map<String, Value>, RequestError> {
        let entry = self
            .leases
            .get(lease_id)
            .await?
            .ok_or_else(|| RequestError::invalid("invalid lease"))?;
        let mut data = Map::new();
        data.insert("id".into(), json!(entry.lease_id));
        data.insert("path".into(), json!(lease_path(&entry.lease_id)));
        data.insert(
            "issue_time".into(),
            json!(crate::duration::rfc3339_unix(entry.issue_time)),
        );
        data.insert(
            "expire_time".into(),
            json!(crate::duration::rfc3339_unix(entry.expire_time)),
        );
        data.insert(
            "last_renewal".into(),
            match entry.last_renewal {
                0 => Value::Null,
                t => json!(crate::duration::rfc3339_unix(t)),
            },
        );
        data.insert("renewable".into(), json!(entry.renewable));
        data.insert("ttl".into(), json!(entry.ttl_remaining(now_unix())));
        if let Some(r) = &entry.revocation {
            data.insert(
                "revocation".into(),
                json!({
                    "state": "retrying",
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "next_attempt": crate::duration::rfc3339_unix(r.next_attempt),
                }),
            );
        }
        Ok(data)
    }

    /// Renews a lease by `increment` seconds from now (0: by its original TTL), capped at
    /// its max TTL; the engine is asked first and may refuse.
    pub async fn renew_lease(
        &self,
        lease_id: &str,
        increment: u64,
    ) -> Result<Response, RequestError> {
        let not_found = || RequestError::invalid("lease not found");
        let old = self.leases.get(lease_id).await?.ok_or_else(not_found)?;
        let now = now_unix();
        if old.revocation.is_some() || now >= old.expire_time {
            return Err(not_found());
        }
        if !old.renewable {
            return Err(RequestError::invalid("lease is not renewable"));
        }
        let wanted = nonzero_or(increment, old.ttl);
        let allowed = old.max_expire_time.saturating_sub(now);
        let ttl = wanted.min(allowed);
        let warning = (wanted > allowed)
            .then(|| capped_warning(wanted, old.max_expire_time.saturating_sub(old.issue_time)));
        let mut new = old.clone();
        new.expire_time = now + ttl;
        new.last_renewal = now;
        let (engine, ctx) = self
            .engine_for(&old.mount_uuid)
            .ok_or_else(|| RequestError::invalid("the mount that issued this lease is gone"))?;
        let secret = LeasedSecret {
            lease_id: &new.lease_id,
            path: &new.path,
            internal: &new.internal,
            expire_time: new.expire_time,
        };
        match tokio::time::timeout(ENGINE_CALL_TIMEOUT, engine.renew(&ctx, &secret)).await {
            Ok(result) => result?,
            Err(_) => return Err(RequestError::internal("lease renewal timed out")),
        }
        self.leases.update(&old, &new).await?;
        let mut resp = Response {
            lease: Some(LeaseInfo {
                lease_id: new.lease_id,
                ttl_seconds: ttl,
                renewable: true,
            }),
            ..Response::default()
        };
        resp.warnings.extend(warning);
        Ok(resp)
    }

    /// Revokes one lease now. A failing engine leaves it scheduled for retries and
    /// answers the failure.
    pub async fn revoke_lease(&self, lease_id: &str) -> Result<(), RequestError> {
        let Some(entry) = self.leases.get(lease_id).await? else {
            // As Vault: revoking an unknown lease succeeds.
            return Ok(());
        };
        match self.try_revoke(entry).await? {
            Revoked::Done => Ok(()),
            Revoked::Retrying(error) => Err(RequestError::internal(format!(
                "failed to revoke lease {lease_id:?}: {error}; it stays registered and \
                 revocation is retried with backoff"
            ))),
        }
    }

    /// Revokes every lease under `prefix`, and under `auth/` every token a path there
    /// created (as Vault, whose tokens are leases of their login path). `force` removes
    /// secrets' leases without asking their engines (`revoke-force`, for a backend that
    /// is gone for good). Returns warnings.
    pub async fn revoke_lease_prefix(
        &self,
        prefix: &str,
        force: bool,
    ) -> Result<Vec<String>, RequestError> {
        let prefix = match prefix.trim_end_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let mut failed = Vec::new();
        let mut forced = 0usize;
        for id in self.leases.ids_with_prefix(&prefix).await? {
            let Some(entry) = self.leases.get(&id).await? else {
                continue;
            };
            if force {
                self.leases.remove(&entry).await?;
                forced += 1;
            } else if let Revoked::Retrying(e) = self.try_revoke(entry).await? {
                failed.push(format!("{id}: {e}"));
            }
        }
        if is_auth_path(&prefix) {
            // Tokens are the leases of logins: revoked with their children and leases.
            for hash in self.tokens.created_under(&prefix, usize::MAX).await? {
                self.revoke_tree(&hash).await?;
            }
        }
        if !failed.is_empty() {
            return Err(RequestError::internal(format!(
                "failed to revoke {} lease(s) under {prefix:?}; they stay registered and \
                 revocation is retried with backoff: {}",
                failed.len(),
                failed.join("; ")
            )));
        }
        let mut warnings = Vec::new();
        if forced > 0 {
            tracing::warn!(prefix = %prefix, leases = forced,
                "revoke-force removed leases without revoking their secrets");
            warnings.push(format!(
                "{forced} lease(s) under {prefix:?} were removed without revoking their \
                 secrets in the backend; remove those credentials by hand"
            ));
        }
        Ok(warnings)
    }

    /// Reserves a lease-count slot for a request on `path` that may create a lease (a
    /// secret or, under `auth/`, a login's token); 429 when its quota is reached.
    pub(super) async fn reserve_lease_slot(
        &self,
        path: &str,
    ) -> Result<Option<super::quotas::Reservation>, RequestError> {
        self.quotas
            .reserve_lease(path, None, |prefix, limit| async move {
                self.live_leases_under(&prefix, limit).await
            })
            .await
    }

    /// Live leases under `prefix` for lease-count quotas, counting at most `limit`: under
    /// `auth/`, the tokens that paths there created (a token is a login's lease, as in
    /// Vault); elsewhere, secrets engines' leases.
    pub async fn live_leases_under(&self, prefix: &str, limit: u64) -> Result<u64, BarrierError> {
        if is_auth_path(prefix) {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let tokens = self.tokens.created_under(prefix, limit).await?;
            return Ok(tokens.len() as u64);
        }
        self.leases.count_under(prefix).await
    }

    /// Revokes the leases a token created (on token revocation). A failure leaves the lease
    /// scheduled for retries rather than blocking the token's revocation.
    pub(super) async fn revoke_token_leases(&self, token_hash: &str) -> Result<(), RequestError> {
        for id in self.leases.by_token(token_hash).await? {
            match self.leases.get(&id).await? {
                Some(entry) => {
                    if let Revoked::Retrying(e) = self.try_revoke(entry).await? {
                        tracing::warn!(lease_id = %id, error = %e,
                            "lease of a revoked token not revoked yet; retrying with backoff");
                    }
                }
                None => self.leases.drop_token_index(token_hash, &id).await?,
            }
        }
        Ok(())
    }

    /// Revokes every due lease (expired, or a failed revocation's retry time reached).
    pub(super) async fn sweep_due_leases(&self) -> Result<(), RequestError> {
        use futures_util::stream::{self, TryStreamExt};
        loop {
            let due = self.leases.due(now_unix(), SWEEP_BATCH).await?;
            if due.is_empty() {
                return Ok(());
            }
            // Up to SWEEP_PARALLEL revocations at once: one slow database does not hold
            // up the others, and a mass expiry drains at the engines' pace.
            stream::iter(due.into_iter().map(Ok))
                .try_for_each_concurrent(SWEEP_PARALLEL, |(time, id)| async move {
                    match self.leases.get(&id).await? {
                        Some(entry) if entry.due_time() == time => {
                            if let Revoked::Retrying(e) = self.try_revoke(entry).await? {
                                tracing::warn!(lease_id = %id, error = %e,
                                    "lease revocation failed; retrying with backoff");
                            }
                        }
                        _ => self.leases.drop_due(time, &id).await?,
                    }
                    Ok::<(), RequestError>(())
                })
                .await?;
        }
    }

    /// Removes index entries whose lease is gone and revokes leases whose token is gone
    /// (`sys/leases/tidy`). Returns (stale index entries dropped, orphaned leases revoked).
    pub async fn tidy_leases(&self) -> Result<(usize, usize), RequestError> {
        let mut dropped = 0;
        let mut revoked = 0;
        for id in self.leases.ids_with_prefix("").await? {
            let Some(entry) = self.leases.get(&id).await? else {
                continue;
            };
            if !entry.token_hash.is_empty()
                && self.tokens.get_by_hash(&entry.token_hash).await?.is_none()
                && matches!(self.try_revoke(entry).await?, Revoked::Done)
            {
                revoked += 1;
            }
        }
        for (time, id) in self.leases.due(u64::MAX, usize::MAX).await? {
            if self.leases.get(&id).await?.is_none() {
                self.leases.drop_due(time, &id).await?;
                dropped += 1;
            }
        }
        Ok((dropped, revoked))
    }

    /// One revocation attempt: the engine revokes the secret, then the lease is removed;
    /// on failure the lease records the error and its next attempt.
    async fn try_revoke(&self, entry: LeaseEntry) -> Result<Revoked, RequestError> {
        let outcome = match self.engine_for(&entry.mount_uuid) {
            None => {
                tracing::warn!(lease_id = %entry.lease_id,
                    "the mount that issued this lease is gone; removing the lease");
                Ok(())
            }
            Some((engine, ctx)) => {
                let secret = LeasedSecret {
                    lease_id: &entry.lease_id,
                    path: &entry.path,
                    internal: &entry.internal,
                    expire_time: entry.expire_time,
                };
                match tokio::time::timeout(ENGINE_CALL_TIMEOUT, engine.revoke(&ctx, &secret)).await
                {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err("the engine did not answer in time".to_string()),
                }
            }
        };
        match outcome {
            Ok(()) => {
                self.leases.remove(&entry).await?;
                Ok(Revoked::Done)
            }
            Err(error) => {
                self.lease_metrics
                    .revocation_failures
                    .fetch_add(1, Ordering::Relaxed);
                let attempts = entry.revocation.as_ref().map_or(0, |r| r.attempts) + 1;
                let mut retry = entry.clone();
                retry.revocation = Some(RevocationState {
                    attempts,
                    last_error: error.clone(),
                    next_attempt: now_unix() + LeaseEntry::backoff(attempts),
                });
                self.leases.update(&entry, &retry).await?;
                Ok(Revoked::Retrying(error))
            }
        }
    }

    /// The engine serving the mount with this UUID, with a token-less context.
    fn engine_for(&self, mount_uuid: &str) -> Option<(std::sync::Arc<dyn Engine>, MountContext)> {
        let routes = self.router.snapshot();
        let route = routes.iter().find(|r| r.entry.uuid == mount_uuid)?;
        let Handler::Engine(engine) = &route.handler else {
            return None;
        };
        Some((engine.clone(), self.mount_context(route, None)))
    }
}

/// Counters about leases, for `sys/leases/count` and metrics.
#[derive(Default)]
pub struct LeaseMetrics {
    /// Failed revocation attempts since unseal.
    pub revocation_failures: std::sync::atomic::AtomicU64,
}

fn nonzero_or(value: u64, fallback: u64) -> u64 {
    if value == 0 {
        fallback
    } else {
        value
    }
}

fn capped_warning(wanted: u64, max: u64) -> String {
    format!(
        "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
        short_duration(wanted),
        short_duration(max),
    )
}

/// A Go duration without trailing zero units, as Vault words warnings ("2h", "1m30s").
fn short_duration(seconds: u64) -> String {
    let mut s = crate::duration::format_go(Duration::from_secs(seconds));
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if s.ends_with("h0m") {
        s.truncate(s.len() - 2);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_read_like_vault() {
        assert_eq!(
            capped_warning(99_999, 7200),
            "TTL of \"27h46m39s\" exceeded the effective max_ttl of \"2h\"; TTL value is capped accordingly"
        );
        assert_eq!(short_duration(90), "1m30s");
        assert_eq!(short_duration(10), "10s");
        assert_eq!(short_duration(3660), "1h1m");
    }
}

#[cfg(test)]
#[path = "expiration_tests.rs"]
mod expiration_tests;

/// Whether a lease path or prefix lies under `auth/`, where tokens are the leases.
fn is_auth_path(path: &str) -> bool {
    crate::leases::under(path, "auth")
}
