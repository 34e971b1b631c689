//! Cofre's Rust SDK: an async client for Cofre and any other server that speaks Vault's
//! HTTP API (OpenBao, Vault).
//!
//! - [`Client`] holds the address and token; build it with [`Client::builder`] or from
//!   the environment with [`Client::from_env`] (`COFRE_ADDR`/`VAULT_ADDR`,
//!   `COFRE_TOKEN`/`VAULT_TOKEN` or `~/.cofre-token`, `*_CACERT`, `*_SKIP_VERIFY`).
//! - Generic calls return the raw envelope, [`Secret`]: [`Client::read`],
//!   [`Client::write`], [`Client::list`], [`Client::delete`], [`Client::patch`].
//! - Typed sub-APIs: [`Client::kv1`], [`Client::kv2`], [`Client::sys`], [`Client::token`],
//!   [`Client::leases`], [`Client::database`], and logins with [`Client::auth`].
//! - [`watcher::Watcher`] keeps a token or lease renewed and re-authenticates when it
//!   can no longer be renewed.
//! - Response wrapping: [`Client::with_wrap_ttl`] asks for wrapped answers;
//!   [`sys::Sys::unwrap`] and its siblings in [`sys::wrapping`] unwrap, look up and rewrap.
//! - Reads are retried on 5xx, 429 and connection errors ([`RetryPolicy`]).
//! - Errors are one [`Error`] enum; server errors keep the status and messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cofre_client::Error> {
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Db { username: String, password: String }
//!
//! let client = cofre_client::Client::from_env()?;
//! let kv = client.kv2("secret");
//! kv.put("app/db", &Db { username: "app".into(), password: "s3cret".into() }, None).await?;
//! let db: Option<Db> = kv.read("app/db").await?;
//! # Ok(()) }
//! ```
//!
//! A whole application (AppRole login, database credentials, both kept renewed by
//! watchers) is in `examples/db_app.rs`: `cargo run -p cofre-client --example db_app`.
//!
//! The crate knows nothing of Cofre's server internals: it only speaks HTTP.

#![warn(missing_docs)]

pub mod auth;
mod client;
mod config;
pub mod database;
mod error;
mod help;
pub mod kv1;
pub mod kv2;
pub mod leases;
mod paths;
mod retry;
mod secret;
pub mod sys;
pub mod token;
pub mod token_helper;
pub mod watcher;

pub use client::Client;
pub use config::{ClientBuilder, DEFAULT_ADDRESS, DEFAULT_TIMEOUT};
pub use error::Error;
pub use help::Help;
pub use leases::LeaseCounts;
pub use retry::RetryPolicy;
pub use secret::{AuthInfo, Secret, WrapInfo};

impl Client {
    /// The KV version 1 engine mounted at `mount`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.kv1("kv").put("app", &serde_json::json!({"password": "s3cret"})).await?;
    /// # Ok(()) }
    /// ```
    pub fn kv1(&self, mount: &str) -> kv1::Kv1<'_> {
        kv1::Kv1::new(self, mount)
    }

    /// The KV version 2 engine mounted at `mount`.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let meta = client.kv2("secret").put("app", &serde_json::json!({"password": "s3cret"}), None).await?;
    /// println!("version {}", meta.version);
    /// # Ok(()) }
    /// ```
    pub fn kv2(&self, mount: &str) -> kv2::Kv2<'_> {
        kv2::Kv2::new(self, mount)
    }

    /// The system backend: seal, mounts, policies, capabilities, key rotation.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let status = client.sys().seal_status().await?;
    /// println!("sealed: {}", status.sealed);
    /// # Ok(()) }
    /// ```
    pub fn sys(&self) -> sys::Sys<'_> {
        sys::Sys::new(self)
    }

    /// Leases of dynamic secrets: look up, renew, revoke (also by prefix).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.leases().revoke_prefix("database/creds/readonly", false).await?;
    /// # Ok(()) }
    /// ```
    pub fn leases(&self) -> leases::Leases<'_> {
        leases::Leases::new(self)
    }

    /// The token auth method: create, look up, renew and revoke tokens.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let me = client.token().lookup_self().await?;
    /// # Ok(()) }
    /// ```
    pub fn token(&self) -> token::Tokens<'_> {
        token::Tokens::new(self)
    }

    /// Auth methods: log in with userpass, AppRole, Kubernetes or JWT and get a client
    /// that sends the new token.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let app = client.auth().userpass("").login("bob", "hunter2").await?.client;
    /// # Ok(()) }
    /// ```
    pub fn auth(&self) -> auth::Auth<'_> {
        auth::Auth::new(self)
    }

    /// The database secrets engine mounted at `mount` (`""` = `database`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// use cofre_client::database::Credentials;
    /// let creds = client.database("database").creds::<Credentials>("readonly").await?;
    /// # Ok(()) }
    /// ```
    pub fn database(&self, mount: &str) -> database::Database<'_> {
        database::Database::new(self, mount)
    }
}
