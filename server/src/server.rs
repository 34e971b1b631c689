//! Starting and stopping a server: storage from the config, dev-mode initialisation,
//! auto-unseal with a static seal, listeners, audit devices from the config, logging,
//! TLS certificate reload on SIGHUP, and shutdown on SIGINT/SIGTERM.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;

use crate::config::{Config, LogFormat, LogLevel, Storage};
use crate::core::{Core, CoreSettings};
use crate::http::AppState;
use crate::storage::Backend;

/// What `cofre server` was asked to do, as parsed by the CLI.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `-dev`: in-memory storage, auto-initialised and unsealed, root token printed.
    pub dev: bool,
    /// `-config FILE`: the HCL server configuration.
    pub config_path: Option<PathBuf>,
    /// `-dev-root-token-id`: the root token to create in dev mode.
    pub dev_root_token_id: Option<String>,
    /// `-dev-listen-address`: where the dev server listens (default 127.0.0.1:8200).
    pub dev_listen_address: Option<String>,
}

/// Dev mode: initialise with one unseal key and stay unsealed.
#[derive(Debug, Clone, Default)]
pub struct DevOptions {
    pub root_token_id: Option<String>,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Tls(String),
    #[error("dev-mode initialisation failed: {0}")]
    DevInit(String),
    #[error("seal \"static\": {0}")]
    Seal(String),
    #[error("{0}")]
    Unsupported(String),
}

/// Runs the server until SIGINT/SIGTERM, as `cofre server` does.
pub async fn run_from_cli(options: ServerOptions) -> Result<(), StartError> {
    let mut config = match &options.config_path {
        Some(path) => crate::config::load_config(path)?,
        None if options.dev => Config::dev(),
        None => {
            return Err(StartError::Unsupported(
                "no configuration given: use -config FILE, or -dev for a development server".into(),
            ))
        }
    };
    if options.dev {
        if let Some(address) = &options.dev_listen_address {
            for listener in &mut config.listeners {
                listener.address = address.clone();
            }
        }
    }
    init_logging(&config);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let mut listeners = Vec::new();
    for listener in &config.listeners {
        let bound = std::net::TcpListener::bind(&listener.address).map_err(|source| {
            StartError::Listen {
                address: listener.address.clone(),
                source,
            }
        })?;
        listeners.push(bound);
    }
    let dev = options.dev.then(|| DevOptions {
        root_token_id: options.dev_root_token_id.clone(),
    });
    run(listeners, config, dev, shutdown_signal()).await
}

/// Runs a server on `listeners` (paired in order with the config's `listener` blocks, for
/// TLS and body limits) until `shutdown` completes. In dev mode the vault is initialised
/// and unsealed first, and the unseal key and root token printed.
pub async fn run(
    listeners: Vec<std::net::TcpListener>,
    config: Config,
    dev: Option<DevOptions>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    if listeners.is_empty() {
        return Err(StartError::Unsupported("no listener to serve on".into()));
    }
    // First: SIGHUP's default action ends the process, so it is caught before anything
    // else (it reloads certificates; audit devices also reopen their files while unsealed).
    let hangups = hangup_signals();
    check_audit_devices(&config)?;
    let static_seal = match &config.seal {
        Some(crate::config::Seal::Static(seal)) => Some(Arc::new(
            crate::core::static_seal::StaticKeys::resolve(seal).map_err(StartError::Seal)?,
        )),
        None => None,
    };
    let first_address = listeners[0]
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let api_addr = config
        .api_addr
        .clone()
        .unwrap_or_else(|| format!("http://{first_address}"));
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let backend: Arc<dyn Backend> = Arc::new(crate::storage::timed::Timed::new(
        open_storage(&config.storage, &api_addr).await?,
        metrics.clone(),
    ));
    let settings = CoreSettings {
        default_lease_ttl: config.default_lease_ttl,
        max_lease_ttl: config.max_lease_ttl,
        dev: dev.is_some(),
        audit_devices: config.audit_devices.clone(),
        unsafe_allow_api_audit_creation: config.unsafe_allow_api_audit_creation,
        metrics,
        unauthenticated_metrics_access: config.telemetry.unauthenticated_metrics_access,
        static_seal,
    };
    let core = Arc::new(Core::new(backend, settings));
    if let Some(dev) = &dev {
        dev_initialize(&core, dev, &first_address).await?;
    }
    if let Err(e) = core.auto_unseal().await {
        tracing::error!(error = %e, "the static seal could not unseal the vault; it stays sealed");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut servers = tokio::task::JoinSet::new();
    let mut reloadable = Vec::new();
    for (index, listener) in listeners.into_iter().enumerate() {
        let settings = config.listeners.get(index);
        let tls = match settings.and_then(|l| l.tls.as_ref()) {
            Some(tls) => {
                let rustls = crate::http::tls::server_config(tls)
                    .map_err(|e| StartError::Tls(e.to_string()))?;
                let live = axum_server::tls_rustls::RustlsConfig::from_config(rustls);
                reloadable.push((tls.clone(), live.clone()));
                Some(live)
            }
            None => None,
        };
        let max_request_size = settings
            .and_then(|l| l.max_request_size)
            .unwrap_or(config.max_request_size) as usize;
        let state = AppState {
            core: core.clone(),
            max_request_size,
        };
        let address = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(%address, tls = tls.is_some(), "cofre server listening");
        let mut stop = stop_rx.clone();
        servers.spawn(crate::http::serve(listener, state, tls, async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }));
    }
    let reloader = tokio::spawn(reload_on_hangup(hangups, reloadable, stop_rx.clone()));
    let mut result = Ok(());
    while let Some(done) = servers.join_next().await {
        if let Ok(Err(e)) = done {
            result = Err(StartError::Serve(e));
        }
    }
    let _ = reloader.await;
    core.seal().await;
    tracing::info!("cofre server stopped");
    result
}

/// Config typos in `audit` blocks stop the server at start, not at unseal.
fn check_audit_devices(config: &Config) -> Result<(), StartError> {
    for device in &config.audit_devices {
        let spec = crate::audit::DeviceSpec::from_config(device);
        crate::audit::Settings::parse(&spec).map_err(|e| {
            StartError::Unsupported(format!("audit \"{}\" \"{}\": {e}", spec.kind, device.path))
        })?;
    }
    Ok(())
}

async fn open_storage(storage: &Storage, api_addr: &str) -> Result<Arc<dyn Backend>, StartError> {
    match storage {
        Storage::Inmem => Ok(Arc::new(crate::storage::inmem::Inmem::new())),
        Storage::Sled { path } => Ok(Arc::new(crate::storage::sled::Sled::open(path)?)),
        Storage::Postgresql {
            connection_url,
            table,
            max_parallel,
            ha_enabled,
        } => {
            let ha = ha_enabled.then(|| crate::storage::postgres::HaOptions {
                node_id: crate::crypto::uuid_v4(),
                api_addr: api_addr.to_string(),
                notify_prefixes: crate::core::SHARED_CACHE_PREFIXES
                    .iter()
                    .map(|p| p.to_string())
                    .collect(),
            });
            let backend =
                crate::storage::postgres::Postgres::open(connection_url, table, *max_parallel, ha)
                    .await?;
            Ok(Arc::new(backend))
        }
    }
}

async fn dev_initialize(core: &Core, dev: &DevOptions, address: &str) -> Result<(), StartError> {
    let result = core
        .initialize(1, 1, dev.root_token_id.as_deref(), true)
        .await
        .map_err(|e| StartError::DevInit(e.to_string()))?;
    let unseal_key = base64::engine::general_purpose::STANDARD.encode(result.shares[0].as_slice());
    if let Err(e) = store_dev_token(&result.root_token) {
        tracing::warn!(error = %e, "could not write the root token to ~/.cofre-token");
    }
    println!(
        "WARNING! dev mode is enabled! In this mode, Cofre runs entirely in-memory\n\
         and starts unsealed with a single unseal key. The root token is already\n\
         authenticated to the CLI, so you can immediately begin using Cofre.\n\n\
         You may need to set the following environment variables:\n\n    \
         $ export VAULT_ADDR='http://{address}'\n\n\
         The unseal key and root token are displayed below in case you want to\n\
         seal/unseal the Vault or re-authenticate.\n\n\
         Unseal Key: {unseal_key}\n\
         Root Token: {}\n\n\
         Development mode should NOT be used in production installations!\n",
        result.root_token.as_str()
    );
    Ok(())
}

/// Dev mode logs the CLI in, as `vault server -dev` does: the root token goes to the token
/// helper file `~/.cofre-token` (mode 0600) that `cofre` reads.
fn store_dev_token(token: &str) -> std::io::Result<()> {
    let Some(home) = std::env::var_os("HOME") else {
        return Ok(());
    };
    let path = std::path::Path::new(&home).join(".cofre-token");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, token.as_bytes())
}

fn init_logging(config: &Config) {
    let level = match config.log_level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("COFRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},sled=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        // Fields at the top level, so `request_id` is one key away for log pipelines.
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Standard => builder.try_init(),
    };
}

/// SIGHUP as a stream, or `None` where there is no SIGHUP (or it cannot be caught).
#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

fn hangup_signals() -> Hangups {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(hangups) => Some(hangups),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; certificates will not reload");
                None
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// Until `stop`, reloads every TLS listener's certificate and key from their files at
/// each SIGHUP: new connections get the new certificate, open ones keep theirs. A file
/// that does not load leaves the listener's current certificate in place.
async fn reload_on_hangup(
    hangups: Hangups,
    listeners: Vec<(crate::config::Tls, axum_server::tls_rustls::RustlsConfig)>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    #[cfg(unix)]
    {
        let Some(mut hangups) = hangups else { return };
        loop {
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return,
                got = hangups.recv() => if got.is_none() { return },
            }
            tracing::info!("SIGHUP received: reloading TLS certificates");
            for (tls, live) in &listeners {
                match crate::http::tls::server_config(tls) {
                    Ok(config) => {
                        live.reload_from_config(config);
                        tracing::info!(cert_file = %tls.cert_file.display(), "TLS certificate reloaded");
                    }
                    Err(e) => tracing::error!(error = %e,
                        "TLS certificate not reloaded; the listener keeps its current one"),
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (hangups, listeners);
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown signal received");
}
