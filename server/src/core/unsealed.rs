//! [`Unsealed`]: everything that exists only while the vault is unsealed (the barrier, the
//! router over the mount tables, the policy and token stores, the audit broker, background
//! tasks), and how it is set up at init and loaded at unseal.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::mounts::{MountEntry, AUTH_PATH, MOUNTS_PATH};
use super::policies::PolicyStore;
use super::quotas::Quotas;
use super::router::{Handler, Route, Router};
use super::{now_unix, CoreSettings, RequestError};
use crate::audit::AuditBroker;
use crate::barrier::{Barrier, StorageView};
use crate::leases::LeaseStore;
use crate::tokens::{TokenEntry, TokenStore};

/// The unsealed vault.
pub struct Unsealed {
    pub barrier: Arc<Barrier>,
    pub router: Router,
    pub policies: PolicyStore,
    pub tokens: TokenStore,
    pub leases: LeaseStore,
    pub lease_metrics: super::LeaseMetrics,
    /// Rate-limit and lease-count rules, and every client's rate-limit buckets.
    pub quotas: Quotas,
    /// The enabled audit devices.
    pub audit: Arc<AuditBroker>,
    pub settings: CoreSettings,
    cluster: ClusterInfo,
    /// Serialises mount table changes (read-modify-write of the stored tables).
    pub(super) mount_lock: tokio::sync::Mutex<()>,
    /// Finished `sys/remount` moves: (migration id, from, to).
    pub(super) migrations: Mutex<Vec<(String, String, String)>>,
    pub(super) stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Unsealed {
    async fn open(barrier: Arc<Barrier>, settings: CoreSettings) -> Result<Self, RequestError> {
        let policies = PolicyStore::open(StorageView::new(barrier.clone(), "sys/policy/")).await?;
        let tokens = TokenStore::open(StorageView::new(barrier.clone(), "sys/token/")).await?;
        let cluster = ClusterInfo::load_or_create(&barrier).await?;
        let audit = Arc::new(
            AuditBroker::open(
                barrier.clone(),
                &settings.audit_devices,
                settings.metrics.clone(),
            )
            .await?,
        );
        let quotas = Quotas::load(StorageView::new(barrier.clone(), "sys/quotas/")).await?;
        let leases = LeaseStore::new(StorageView::new(barrier.clone(), "sys/expire/"));
        let (stop, _) = watch::channel(false);
        Ok(Self {
            cluster,
            audit,
            barrier,
            router: Router::default(),
            policies,
            tokens,
            leases,
            lease_metrics: super::LeaseMetrics::default(),
            quotas,
            settings,
            mount_lock: tokio::sync::Mutex::new(()),
            migrations: Mutex::new(Vec::new()),
            stop,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// A brand-new vault: default mounts, the default policy.
    pub async fn setup_new(
        barrier: Arc<Barrier>,
        settings: CoreSettings,
    ) -> Result<Self, RequestError> {
        let this = Self::open(barrier, settings).await?;
        let mut mounts = vec![
            MountEntry::new(
                "cubbyhole/",
                "cubbyhole",
                "per-token private secret storage",
                false,
            ),
            MountEntry::new(
                "sys/",
                "system",
                "system endpoints used for control, policy and debugging",
                false,
            ),
        ];
        mounts[0].local = true;
        mounts[1].seal_wrap = true;
        mounts[1].config.passthrough_request_headers = vec!["Accept".into()];
        if this.settings.dev {
            let mut kv = MountEntry::new("secret/", "kv", "key/value secret storage", false);
            kv.options = Some([("version".to_string(), "2".to_string())].into());
            mounts.push(kv);
        }
        let mut token = MountEntry::new("token/", "token", "token based credentials", true);
        token.config.token_type = Some("default-service".into());
        this.save_table(false, &mounts).await?;
        this.save_table(true, &[token]).await?;
        this.rebuild_routes().await?;
        Ok(this)
    }

    /// An existing vault at unseal: reads the mount tables.
    pub async fn load(barrier: Arc<Barrier>, settings: CoreSettings) -> Result<Self, RequestError> {
        let this = Self::open(barrier, settings).await?;
        this.rebuild_routes().await?;
        Ok(this)
    }

    pub fn cluster_name(&self) -> &str {
        &self.cluster.name
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster.id
    }

    /// One stored mount table.
    pub async fn table(&self, auth: bool) -> Result<Vec<MountEntry>, RequestError> {
        let path = if auth { AUTH_PATH } else { MOUNTS_PATH };
        let bytes = self
            .barrier
            .get(path)
            .await?
            .unwrap_or_else(|| b"[]".to_vec());
        serde_json::from_slice(&bytes).map_err(|_| {
            RequestError::internal(format!("the stored mount table {path} is malformed"))
        })
    }

    pub(super) async fn save_table(
        &self,
        auth: bool,
        entries: &[MountEntry],
    ) -> Result<(), RequestError> {
        let path = if auth { AUTH_PATH } else { MOUNTS_PATH };
        let bytes = serde_json::to_vec(entries).expect("mount entries always serialise");
        self.barrier.put(path, &bytes).await?;
        Ok(())
    }

    /// Rebuilds the router from the stored tables. Engines of mounts whose type and
    /// options did not change are kept (with their connection pools and caches).
    pub(super) async fn rebuild_routes(&self) -> Result<(), RequestError> {
        let previous = self.router.snapshot();
        let mut entries = self.table(false).await?;
        entries.extend(self.table(true).await?);
        let labels: Vec<(String, String)> = entries
            .iter()
            .map(|e| (e.api_path(), e.accessor.clone()))
            .collect();
        let stats = self.settings.metrics.set_mounts(&labels);
        let mut routes = Vec::new();
        for (entry, stats) in entries.into_iter().zip(stats) {
            let kept = previous.iter().find(|r| {
                r.entry.uuid == entry.uuid
                    && r.entry.kind == entry.kind
                    && r.entry.options == entry.options
            });
            let handler = match (entry.kind.as_str(), kept) {
                ("system", _) => Handler::System,
                ("token", _) => Handler::Token,
                (_, Some(route)) => route.handler.clone(),
                _ => Handler::Engine(crate::auth::create(&entry)?),
            };
            routes.push(Route {
                prefix: entry.api_path(),
                entry: Arc::new(entry),
                handler,
                stats,
            });
        }
        self.router.replace(routes);
        Ok(())
    }

    /// The storage view of a mount.
    pub fn mount_storage(&self, entry: &MountEntry) -> StorageView {
        StorageView::new(self.barrier.clone(), entry.storage_prefix())
    }

    /// What an engine of `route` gets with a request of `token` (None: background work).
    pub fn mount_context(
        &self,
        route: &Route,
        token: Option<Arc<TokenEntry>>,
    ) -> crate::engines::MountContext {
        crate::engines::MountContext {
            storage: self.mount_storage(&route.entry),
            mount: route.entry.clone(),
            token,
            system_default_ttl: self.settings.default_lease_ttl.as_secs(),
        }
    }

    /// The cubbyhole of the token stored under `hash`; `None` without a cubbyhole mount.
    pub(crate) fn cubbyhole_view(&self, hash: &str) -> Option<StorageView> {
        let mount = self.router.find("cubbyhole/")?;
        Some(crate::engines::cubbyhole::view_of(
            &self.mount_storage(&mount.entry),
            hash,
        ))
    }

    /// Creates the root token (with a chosen id in dev mode).
    pub async fn create_root_token(
        &self,
        id: Option<&str>,
    ) -> Result<Zeroizing<String>, RequestError> {
        let (generated, accessor) = TokenStore::generate_ids();
        let token = match id {
            Some(id) if !id.is_empty() => Zeroizing::new(id.to_string()),
            _ => generated,
        };
        let entry = TokenEntry {
            display_name: "root".into(),
            orphan: true,
            ..TokenEntry::new(
                self.tokens.hash(&token),
                accessor,
                vec!["root".into()],
                "auth/token/root",
            )
        };
        self.tokens.create(entry).await?;
        Ok(token)
    }

    /// Revokes a token and, depth first, every descendant; removes their cubbyholes.
    pub async fn revoke_tree(&self, hash: &str) -> Result<(), RequestError> {
        let mut stack = vec![hash.to_string()];
        let mut order = Vec::new();
        while let Some(h) = stack.pop() {
            stack.extend(self.tokens.children(&h).await?);
            order.push(h);
        }
        for h in order.into_iter().rev() {
            self.revoke_one(&h).await?;
        }
        Ok(())
    }

    /// Revokes one token; its children become orphans.
    pub async fn revoke_orphan(&self, hash: &str) -> Result<(), RequestError> {
        for child in self.tokens.children(hash).await? {
            if let Some(entry) = self.tokens.get_by_hash(&child).await? {
                let mut orphan = (*entry).clone();
                orphan.parent.clear();
                orphan.orphan = true;
                self.tokens.update(&entry, orphan).await?;
            }
        }
        self.revoke_one(hash).await
    }

    async fn revoke_one(&self, hash: &str) -> Result<(), RequestError> {
        let Some(entry) = self.tokens.get_by_hash(hash).await? else {
            return Ok(());
        };
        self.revoke_token_leases(hash).await?;
        if let Some(cubbyhole) = self.cubbyhole_view(hash) {
            cubbyhole.clear().await?;
        }
        self.tokens.remove(&entry).await?;
        Ok(())
    }

    /// Starts the background tasks (expired token and lease sweepers, engines' periodic
    /// work, audit SIGHUP reopening). They stop at seal.
    pub fn start_background(self: &Arc<Self>) {
        self.audit.start();
        self.start_change_listener();
        self.every(Duration::from_secs(1), |this| async move {
            if let Err(e) = this.sweep_expired_tokens().await {
                tracing::warn!(error = %e, "expired token sweep failed; retrying");
            }
        });
        self.every(Duration::from_secs(1), |this| async move {
            if let Err(e) = this.sweep_due_leases().await {
                tracing::warn!(error = %e, "lease expiry sweep failed; retrying");
            }
        });
        self.every(Duration::from_secs(5), |this| async move {
            this.tick_engines().await;
        });
    }

    /// Runs `work` every `period` on its own task until seal, on the leader only (every
    /// node is the leader unless several share an HA store).
    fn every<F, Fut>(self: &Arc<Self>, period: Duration, work: F)
    where
        F: Fn(Arc<Self>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let this = Arc::downgrade(self);
        let mut stop = self.stop.subscribe();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(period) => {}
                }
                let Some(this) = this.upgrade() else { return };
                if this.is_leader() {
                    work(this).await;
                }
            }
        });
        self.push_task(task);
    }

    /// Keeps a background task to stop at seal.
    pub(super) fn push_task(&self, task: JoinHandle<()>) {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Gives every mounted engine its periodic turn.
    async fn tick_engines(&self) {
        for route in self.router.snapshot().iter() {
            let Handler::Engine(engine) = &route.handler else {
                continue;
            };
            if let Err(e) = engine.tick(&self.mount_context(route, None)).await {
                tracing::warn!(mount = %route.prefix, error = %e, "periodic engine work failed");
            }
        }
    }

    async fn sweep_expired_tokens(&self) -> Result<(), RequestError> {
        loop {
            let due = self.tokens.due(now_unix(), 256).await?;
            if due.is_empty() {
                return Ok(());
            }
            for (expire_time, hash) in due {
                match self.tokens.get_by_hash(&hash).await? {
                    Some(entry) if entry.expire_time == expire_time => {
                        self.revoke_tree(&hash).await?
                    }
                    _ => self.tokens.drop_expiry(expire_time, &hash).await?,
                }
            }
        }
    }

    /// Stops background tasks and waits for them.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
        self.audit.shutdown().await;
    }
}

/// The vault's stable identity, as `sys/health` reports it.
#[derive(serde::Serialize, serde::Deserialize)]
struct ClusterInfo {
    name: String,
    id: String,
}

impl ClusterInfo {
    async fn load_or_create(barrier: &Barrier) -> Result<Self, RequestError> {
        const PATH: &str = "core/cluster";
        if let Some(bytes) = barrier.get(PATH).await? {
            if let Ok(info) = serde_json::from_slice(&bytes) {
                return Ok(info);
            }
        }
        let id = crate::crypto::uuid_v4();
        let info = ClusterInfo {
            name: format!("cofre-cluster-{}", &id[..8]),
            id,
        };
        let bytes = serde_json::to_vec(&info).expect("cluster info always serialises");
        barrier.put(PATH, &bytes).await?;
        Ok(info)
    }
}
