//! An application that gets its database credentials from Cofre and keeps them alive.
//!
//! 1. Log in: with AppRole when `APPROLE_ROLE_ID` (and `APPROLE_SECRET_ID`) are set,
//!    else with the token from `COFRE_TOKEN`/`VAULT_TOKEN` or `~/.cofre-token`.
//! 2. Read credentials from `database/creds/<DB_ROLE>` (default role `readonly`).
//! 3. Keep the token and the lease renewed with two [`Watcher`]s; when the lease can no
//!    longer be renewed (max TTL), fetch new credentials and hand them to the app through
//!    a `tokio::sync::watch` channel; when the token expires, log in again.
//!
//! ```text
//! COFRE_ADDR=http://127.0.0.1:8200 APPROLE_ROLE_ID=… APPROLE_SECRET_ID=… \
//!     cargo run -p cofre-client --example db_app
//! ```
//!
//! Stop it with Ctrl-C: the lease is revoked on the way out.
//!
//! Leases belong to the token that created them: when that token expires, the server
//! revokes its credentials too. Give the app a token that outlives the lease's max TTL
//! (an AppRole with a `token_period`, renewed here forever) so the credentials are only
//! ever replaced by the lease watcher.

use std::sync::Arc;

use cofre_client::database::{Credentials, Leased};
use cofre_client::watcher::{Event, Lifetime, Watcher};
use cofre_client::{Client, Error};
use tokio::sync::watch;

/// Logs in as configured; the client to use and its token's lifetime (`None` for a
/// token given directly, which the watcher then only renews).
async fn log_in(base: &Client) -> Result<(Client, Lifetime), Error> {
    match std::env::var("APPROLE_ROLE_ID") {
        Ok(role_id) => {
            let secret_id = std::env::var("APPROLE_SECRET_ID").unwrap_or_default();
            let login = base.auth().approle("").login(&role_id, &secret_id).await?;
            Ok((login.client.clone(), Lifetime::of_token(&login.auth)))
        }
        Err(_) => {
            let me = base.token().lookup_self().await?;
            let ttl = me.field("ttl").and_then(|v| v.as_i64()).unwrap_or(0);
            let renewable = me
                .field("renewable")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let auth = cofre_client::AuthInfo {
                lease_duration: ttl,
                renewable,
                ..Default::default()
            };
            Ok((base.clone(), Lifetime::of_token(&auth)))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let base = Client::from_env()?;
    let role = std::env::var("DB_ROLE").unwrap_or_else(|_| "readonly".into());

    let (client, token_lifetime) = log_in(&base).await?;
    let creds: Leased<Credentials> = client.database("database").creds(&role).await?;
    println!(
        "connected as {} (lease {:?})",
        creds.data.username, creds.lease_duration
    );
    let (publish, current) = watch::channel(Arc::new(creds.data.clone()));

    // The token: renewed, and replaced by a new login when it expires.
    let relogin_base = base.clone();
    let (token_watcher, mut token_events) = Watcher::builder(client.clone(), token_lifetime)
        .reauthenticate(move || {
            let base = relogin_base.clone();
            async move { log_in(&base).await }
        })
        .start();

    // The lease: renewed, and replaced by new credentials when it reaches its max TTL.
    let fetch_client = client.clone();
    let fetch_role = role.clone();
    let current_lease = Arc::new(std::sync::Mutex::new(creds.lease_id.clone()));
    let lease_slot = current_lease.clone();
    let (lease_watcher, mut lease_events) =
        Watcher::builder(client.clone(), Lifetime::of_lease(&creds))
            .reauthenticate(move || {
                let (client, role) = (fetch_client.clone(), fetch_role.clone());
                let (publish, slot) = (publish.clone(), lease_slot.clone());
                async move {
                    let creds: Leased<Credentials> =
                        client.database("database").creds(&role).await?;
                    if let Ok(mut id) = slot.lock() {
                        *id = creds.lease_id.clone();
                    }
                    let lifetime = Lifetime::of_lease(&creds);
                    // The application picks the new credentials up from `current`.
                    let _ = publish.send(Arc::new(creds.data));
                    Ok((client, lifetime))
                }
            })
            .start();

    loop {
        tokio::select! {
            Some(event) = token_events.recv() => report("token", event),
            Some(event) = lease_events.recv() => report("lease", event),
            _ = tokio::signal::ctrl_c() => break,
        }
        println!("database user now: {}", current.borrow().username);
    }

    token_watcher.stop().await;
    lease_watcher.stop().await;
    let lease_id = current_lease
        .lock()
        .map(|id| id.clone())
        .unwrap_or_default();
    client.leases().revoke(&lease_id).await?;
    println!("lease revoked; bye");
    Ok(())
}

fn report(what: &str, event: Event) {
    match event {
        Event::Renewed { ttl } => println!("{what} renewed for {} s", ttl.as_secs()),
        Event::Expiring { ttl } => println!("{what} expires in {} s; replacing it", ttl.as_secs()),
        Event::Reauthenticated => println!("{what} replaced"),
        Event::Error(e) => eprintln!("{what}: {e}"),
    }
}
