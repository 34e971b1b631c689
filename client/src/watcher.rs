//! Keeping a token or a lease alive: [`Watcher`] renews it at about two thirds of its
//! TTL (`auth/token/renew-self` or `sys/leases/renew`) and, when renewing can no longer
//! help, says the secret is about to expire and, if given one, runs the caller's
//! re-authentication (or re-fetch) closure and watches what it returns.
//!
//! Renewal is over when the secret is not renewable, when the server grants less than
//! the requested increment (the max TTL caps it, so the TTL only shrinks from now on),
//! or when the server refuses the renewal (4xx). Transient errors (5xx, connection)
//! are reported and retried until the secret is about to expire.
//!
//! Events arrive on a [`tokio::sync::mpsc`] channel; the watcher stops when its handle
//! is dropped or [`Watcher::stop`] is called. It runs as a task of the current tokio
//! runtime.
//!
//! ```no_run
//! # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
//! use cofre_client::database::Credentials;
//! use cofre_client::watcher::{Event, Lifetime, Watcher};
//!
//! let creds = client.database("database").creds::<Credentials>("readonly").await?;
//! let (watcher, mut events) = Watcher::builder(client.clone(), Lifetime::of_lease(&creds)).start();
//! while let Some(event) = events.recv().await {
//!     match event {
//!         Event::Renewed { ttl } => println!("renewed for {ttl:?}"),
//!         Event::Expiring { .. } => break, // fetch new credentials here
//!         other => eprintln!("{other:?}"),
//!     }
//! }
//! watcher.stop().await;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::database::Leased;
use crate::{AuthInfo, Client, Error, Secret};

/// What a watcher keeps alive, and its TTL when it was issued or last renewed.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let login = client.auth().approle("").login("role-id", "secret-id").await?;
/// let lifetime = cofre_client::watcher::Lifetime::of_token(&login.auth);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Lifetime {
    lease_id: Option<String>,
    ttl: Duration,
    renewable: bool,
}

impl Lifetime {
    /// The token of a login or token-create answer (renewed with the watcher's client,
    /// which must send this token).
    ///
    /// ```no_run
    /// # fn demo(auth: cofre_client::AuthInfo) { let l = cofre_client::watcher::Lifetime::of_token(&auth); }
    /// ```
    pub fn of_token(auth: &AuthInfo) -> Self {
        Self {
            lease_id: None,
            ttl: seconds(auth.lease_duration),
            renewable: auth.renewable,
        }
    }

    /// A leased secret returned by a typed API, such as [`crate::database::Database::creds`].
    ///
    /// ```no_run
    /// # fn demo(creds: cofre_client::database::Leased<cofre_client::database::Credentials>) {
    /// let l = cofre_client::watcher::Lifetime::of_lease(&creds);
    /// # }
    /// ```
    pub fn of_lease<T>(leased: &Leased<T>) -> Self {
        Self::lease(&leased.lease_id, leased.lease_duration, leased.renewable)
    }

    /// A lease by id, TTL and renewability.
    ///
    /// ```no_run
    /// let l = cofre_client::watcher::Lifetime::lease("database/creds/ro/abc", std::time::Duration::from_secs(3600), true);
    /// ```
    pub fn lease(lease_id: &str, ttl: Duration, renewable: bool) -> Self {
        Self {
            lease_id: Some(lease_id.to_string()),
            ttl,
            renewable,
        }
    }

    /// What a raw envelope holds: its token (`auth`) or else its lease; `None` when it
    /// has neither.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let secret = client.read("database/creds/ro").await?.unwrap_or_default();
    /// let lifetime = cofre_client::watcher::Lifetime::of_secret(&secret);
    /// # Ok(()) }
    /// ```
    pub fn of_secret(secret: &Secret) -> Option<Self> {
        if let Some(auth) = &secret.auth {
            return Some(Self::of_token(auth));
        }
        (!secret.lease_id.is_empty()).then(|| {
            Self::lease(
                &secret.lease_id,
                seconds(secret.lease_duration),
                secret.renewable,
            )
        })
    }

    /// The TTL given at issue or last renewal.
    ///
    /// ```no_run
    /// # fn demo(l: cofre_client::watcher::Lifetime) { println!("{:?}", l.ttl()); }
    /// ```
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// What the watcher reports.
///
/// ```no_run
/// # fn demo(event: cofre_client::watcher::Event) {
/// use cofre_client::watcher::Event;
/// match event {
///     Event::Renewed { ttl } => println!("good for {ttl:?}"),
///     Event::Expiring { ttl } => println!("expires in {ttl:?}"),
///     Event::Reauthenticated => println!("new secret in use"),
///     Event::Error(e) => eprintln!("renewal failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
pub enum Event {
    /// The secret was renewed; it is now valid for `ttl`.
    Renewed {
        /// The TTL the server granted.
        ttl: Duration,
    },
    /// Renewal can no longer help: the secret expires in about `ttl`.
    Expiring {
        /// The time left, as far as the watcher knows.
        ttl: Duration,
    },
    /// The re-authentication closure succeeded; its secret is watched from now on.
    Reauthenticated,
    /// A renewal or re-authentication failed (transient failures are retried).
    Error(Error),
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Reauthenticate = Box<dyn FnMut() -> BoxFuture<Result<(Client, Lifetime), Error>> + Send>;

/// Settings for a [`Watcher`]; start with [`Watcher::builder`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// use cofre_client::watcher::{Lifetime, Watcher};
/// let login = client.auth().approle("").login("role-id", "secret-id").await?;
/// let base = client.clone();
/// let (watcher, events) = Watcher::builder(login.client.clone(), Lifetime::of_token(&login.auth))
///     .reauthenticate(move || {
///         let base = base.clone();
///         async move {
///             let login = base.auth().approle("").login("role-id", "secret-id").await?;
///             Ok((login.client.clone(), Lifetime::of_token(&login.auth)))
///         }
///     })
///     .start();
/// # Ok(()) }
/// ```
pub struct WatcherBuilder {
    client: Client,
    lifetime: Lifetime,
    increment: Option<Duration>,
    reauthenticate: Option<Reauthenticate>,
}

impl std::fmt::Debug for WatcherBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatcherBuilder")
            .field("lifetime", &self.lifetime)
            .field("increment", &self.increment)
            .field("reauthenticate", &self.reauthenticate.is_some())
            .finish()
    }
}

impl WatcherBuilder {
    /// The extension asked for at each renewal (default: the TTL first given).
    ///
    /// ```no_run
    /// # fn demo(b: cofre_client::watcher::WatcherBuilder) {
    /// let b = b.increment(std::time::Duration::from_secs(3600));
    /// # }
    /// ```
    pub fn increment(mut self, increment: Duration) -> Self {
        self.increment = Some(increment);
        self
    }

    /// What to run when the secret is about to expire: log in again (or fetch a new
    /// lease) and return the client to renew with and the new secret's [`Lifetime`].
    /// On failure it is retried with a growing pause (1 s to 30 s).
    ///
    /// ```no_run
    /// # fn demo(b: cofre_client::watcher::WatcherBuilder, client: cofre_client::Client) {
    /// use cofre_client::database::Credentials;
    /// use cofre_client::watcher::Lifetime;
    /// let b = b.reauthenticate(move || {
    ///     let client = client.clone();
    ///     async move {
    ///         let creds = client.database("database").creds::<Credentials>("ro").await?;
    ///         // hand `creds` to the application here
    ///         Ok((client, Lifetime::of_lease(&creds)))
    ///     }
    /// });
    /// # }
    /// ```
    pub fn reauthenticate<F, Fut>(mut self, mut reauthenticate: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(Client, Lifetime), Error>> + Send + 'static,
    {
        self.reauthenticate = Some(Box::new(move || Box::pin(reauthenticate())));
        self
    }

    /// Starts watching (a task on the current tokio runtime); returns the handle and the
    /// event channel.
    ///
    /// ```no_run
    /// # async fn demo(b: cofre_client::watcher::WatcherBuilder) {
    /// let (watcher, mut events) = b.start();
    /// # }
    /// ```
    pub fn start(self) -> (Watcher, mpsc::UnboundedReceiver<Event>) {
        let (events, receiver) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        let state = State {
            increment: self.increment,
            client: self.client,
            lifetime: self.lifetime,
            events,
        };
        let task = tokio::spawn(run(state, self.reauthenticate, stopped));
        let watcher = Watcher {
            stop: Some(stop),
            task: Some(task),
        };
        (watcher, receiver)
    }
}

/// A running renewal task; dropping it stops the task.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client, auth: cofre_client::AuthInfo) {
/// use cofre_client::watcher::{Lifetime, Watcher};
/// let (watcher, _events) = Watcher::builder(client, Lifetime::of_token(&auth)).start();
/// // ... the application runs ...
/// watcher.stop().await;
/// # }
/// ```
#[derive(Debug)]
pub struct Watcher {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Watcher {
    /// A builder watching `lifetime`, renewing with `client` (for a token, a client that
    /// sends that token).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client, auth: cofre_client::AuthInfo) {
    /// let (watcher, events) = cofre_client::watcher::Watcher::builder(client, cofre_client::watcher::Lifetime::of_token(&auth)).start();
    /// # }
    /// ```
    pub fn builder(client: Client, lifetime: Lifetime) -> WatcherBuilder {
        WatcherBuilder {
            client,
            lifetime,
            increment: None,
            reauthenticate: None,
        }
    }

    /// Stops the task and waits for it to end.
    ///
    /// ```no_run
    /// # async fn demo(watcher: cofre_client::watcher::Watcher) { watcher.stop().await; }
    /// ```
    pub async fn stop(mut self) {
        self.stop.take();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// True once the task has ended (stopped, or expired with no closure to call).
    ///
    /// ```no_run
    /// # fn demo(watcher: cofre_client::watcher::Watcher) { if watcher.is_finished() { println!("done"); } }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // Dropping the sender wakes the task, which ends at once.
        self.stop.take();
    }
}

/// The watched secret and where to report.
struct State {
    client: Client,
    lifetime: Lifetime,
    increment: Option<Duration>,
    events: mpsc::UnboundedSender<Event>,
}

/// How a renewal attempt ended.
enum Renewal {
    Granted { ttl: Duration, renewable: bool },
    Refused(Error),
    Failed(Error),
}

/// The task: watch, and on expiry re-authenticate (or end); stop when told.
async fn run(
    mut state: State,
    mut reauthenticate: Option<Reauthenticate>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            () = state.watch() => {}
        }
        let Some(reauthenticate) = reauthenticate.as_mut() else {
            return;
        };
        tokio::select! {
            _ = &mut stopped => return,
            () = state.replace(reauthenticate) => {}
        }
    }
}

impl State {
    fn report(&self, event: Event) {
        // A caller that dropped the receiver does not want events; renewal goes on.
        let _ = self.events.send(event);
    }

    /// Renews until renewing no longer helps; returns after reporting `Expiring`.
    async fn watch(&mut self) {
        let mut ttl = self.lifetime.ttl;
        let mut renewable = self.lifetime.renewable;
        let increment = self.increment.unwrap_or(self.lifetime.ttl);
        if ttl.is_zero() {
            // A token without TTL (root) never expires: nothing to do.
            return std::future::pending().await;
        }
        loop {
            let deadline = Instant::now() + ttl;
            tokio::time::sleep(ttl.mul_f64(2.0 / 3.0)).await;
            if !renewable {
                return self.expiring(deadline);
            }
            match self.renew_until_answered(increment, deadline).await {
                Some(Renewal::Granted {
                    ttl: granted,
                    renewable: still,
                }) => {
                    self.report(Event::Renewed { ttl: granted });
                    if granted.as_secs() < increment.as_secs() {
                        // Capped at the max TTL: later renewals cannot extend it.
                        tokio::time::sleep(granted.mul_f64(2.0 / 3.0)).await;
                        return self.expiring(Instant::now() + granted.mul_f64(1.0 / 3.0));
                    }
                    (ttl, renewable) = (granted, still);
                }
                Some(Renewal::Refused(error)) => {
                    self.report(Event::Error(error));
                    return self.expiring(deadline);
                }
                Some(Renewal::Failed(_)) | None => return self.expiring(deadline),
            }
        }
    }

    /// Renews, retrying transient failures (each reported) until less than half a second
    /// is left before `deadline`; `None` when time ran out.
    async fn renew_until_answered(
        &self,
        increment: Duration,
        deadline: Instant,
    ) -> Option<Renewal> {
        loop {
            match self.renew(increment).await {
                Renewal::Failed(error) => self.report(Event::Error(error)),
                answered => return Some(answered),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(500) {
                return None;
            }
            tokio::time::sleep((left / 3).max(Duration::from_millis(100))).await;
        }
    }

    async fn renew(&self, increment: Duration) -> Renewal {
        let increment = format!("{}s", increment.as_secs().max(1));
        let result = match &self.lifetime.lease_id {
            None => self.client.token().renew_self(Some(&increment)).await,
            Some(id) => self.client.leases().renew(id, Some(&increment)).await,
        };
        match result {
            Ok(secret) => {
                let (ttl, renewable) = match &secret.auth {
                    Some(auth) => (auth.lease_duration, auth.renewable),
                    None => (secret.lease_duration, secret.renewable),
                };
                Renewal::Granted {
                    ttl: seconds(ttl),
                    renewable,
                }
            }
            Err(error) if error.status().is_some_and(|s| (400..500).contains(&s)) => {
                Renewal::Refused(error)
            }
            Err(error) => Renewal::Failed(error),
        }
    }

    fn expiring(&self, deadline: Instant) {
        let ttl = deadline.saturating_duration_since(Instant::now());
        self.report(Event::Expiring { ttl });
    }

    /// Runs the closure until it succeeds, then watches what it returned.
    async fn replace(&mut self, reauthenticate: &mut Reauthenticate) {
        let mut pause = Duration::from_secs(1);
        loop {
            match reauthenticate().await {
                Ok((client, lifetime)) => {
                    self.client = client;
                    self.lifetime = lifetime;
                    self.report(Event::Reauthenticated);
                    return;
                }
                Err(error) => self.report(Event::Error(error)),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
    }
}

fn seconds(value: i64) -> Duration {
    Duration::from_secs(value.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_come_from_envelopes() {
        let lease = Secret {
            lease_id: "database/creds/ro/x".into(),
            lease_duration: 60,
            renewable: true,
            ..Secret::default()
        };
        assert_eq!(
            Lifetime::of_secret(&lease),
            Some(Lifetime::lease(
                "database/creds/ro/x",
                Duration::from_secs(60),
                true
            ))
        );
        let login = Secret {
            auth: Some(AuthInfo {
                lease_duration: 30,
                renewable: true,
                ..AuthInfo::default()
            }),
            ..Secret::default()
        };
        let token = Lifetime::of_secret(&login).unwrap();
        assert_eq!((token.lease_id, token.ttl), (None, Duration::from_secs(30)));
        assert_eq!(Lifetime::of_secret(&Secret::default()), None);
    }

    #[tokio::test]
    async fn a_non_renewable_secret_expires_without_a_request() {
        // The address is never contacted: a non-renewable lease is only waited on.
        let client = Client::builder()
            .address("http://127.0.0.1:9")
            .build()
            .unwrap();
        let lifetime = Lifetime::lease("x/y", Duration::from_secs(1), false);
        let (watcher, mut events) = Watcher::builder(client, lifetime).start();
        match events.recv().await {
            Some(Event::Expiring { ttl }) => assert!(ttl <= Duration::from_millis(400)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(events.recv().await.is_none(), "ends without a closure");
        watcher.stop().await;
    }

    #[tokio::test]
    async fn dropping_the_handle_stops_the_task() {
        let client = Client::builder()
            .address("http://127.0.0.1:9")
            .build()
            .unwrap();
        let lifetime = Lifetime::lease("x/y", Duration::from_secs(3600), true);
        let (watcher, mut events) = Watcher::builder(client, lifetime).start();
        drop(watcher);
        assert!(
            events.recv().await.is_none(),
            "the task ended and closed the channel"
        );
    }
}
