//! Connections: one sqlx pool per config, and running statement lists on it.
//!
//! Pools live in [`Pools`], keyed by config name and tagged with the config's `generation`
//! (a random id renewed on every config write, reset and root rotation), so a stale pool
//! is never reused: it is closed and replaced. Driver errors are scrubbed of the URL and
//! password before they reach a message or a log line.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use super::config::ConnectionConfig;
use super::plugin::{driver_url, Kind};
use crate::core::RequestError;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long establishing one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a statement list that lost a race with a concurrent transaction is tried
/// in all before [`DbError::Conflict`] reaches the caller.
const ATTEMPTS: u32 = 6;

/// Why a database operation failed. Messages are already scrubbed of secrets.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection could not be set up (bad URL, unreachable, authentication).
    #[error("error connecting to the database: {0}")]
    Connect(String),
    /// The database rejected a statement.
    #[error("error running statement: {0}")]
    Statement(String),
    /// A statement lost a race with a concurrent transaction and was rolled back, on every
    /// try it was given: a deadlock, a serialization failure, or PostgreSQL's "tuple
    /// concurrently updated" when two transactions change one catalog row.
    #[error("error running statement: {0}")]
    Conflict(String),
}

impl DbError {
    /// A statement the operator wrote is a 400; an unreachable or contended database a 500.
    pub fn into_request_error(self) -> RequestError {
        match self {
            DbError::Statement(_) => RequestError::invalid(self.to_string()),
            DbError::Connect(_) | DbError::Conflict(_) => RequestError::internal(self.to_string()),
        }
    }
}

/// An open pool for one of the supported kinds.
#[derive(Clone)]
pub enum Pool {
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// Everything needed to connect, with the password filled in (wiped on drop).
struct Target {
    kind: Kind,
    url: Zeroizing<String>,
    /// Strings to scrub from driver messages.
    secrets: Vec<Zeroizing<String>>,
}

impl Target {
    fn of(config: &ConnectionConfig) -> Result<Self, DbError> {
        let kind = config.plugin().kind;
        let url = driver_url(
            kind,
            &config.connection_url,
            &config.username,
            &config.password,
            config.disable_escaping,
        )
        .map(Zeroizing::new)
        .map_err(DbError::Connect)?;
        let secrets = [config.password.as_str(), url.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| Zeroizing::new(s.to_string()))
            .collect();
        Ok(Self { kind, url, secrets })
    }

    fn scrub(&self, message: String) -> String {
        self.secrets.iter().fold(message, |m, secret| {
            m.replace(secret.as_str(), "[redacted]")
        })
    }

    fn connect_error(&self, err: sqlx::Error) -> DbError {
        DbError::Connect(self.scrub(err.to_string()))
    }

    fn pg_options(&self) -> Result<PgConnectOptions, DbError> {
        PgConnectOptions::from_str(&self.url)
            .map(|o| o.application_name("cofre").disable_statement_logging())
            .map_err(|e| self.connect_error(e))
    }

    fn mysql_options(&self) -> Result<MySqlConnectOptions, DbError> {
        MySqlConnectOptions::from_str(&self.url)
            .map(|o| o.disable_statement_logging())
            .map_err(|e| self.connect_error(e))
    }
}

/// Opens one connection and closes it: the config write's `verify_connection` check. Gives
/// the driver's own reason (a pool would retry until a timeout and lose it).
pub async fn verify(config: &ConnectionConfig) -> Result<(), DbError> {
    let target = Target::of(config)?;
    let attempt = async {
        match target.kind {
            Kind::Postgres => target.pg_options()?.connect().await.map(|c| c.close()),
            Kind::MySql => target.mysql_options()?.connect().await.map(|c| c.close()),
        }
        .map_err(|e| target.connect_error(e))
    };
    let close = tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| DbError::Connect("timed out connecting to the database".into()))??;
    let _ = close.await;
    Ok(())
}

/// A pool for `config`, connecting lazily (the first statement opens a connection).
fn open(config: &ConnectionConfig) -> Result<Pool, DbError> {
    let target = Target::of(config)?;
    let max_open = config.max_open_connections.max(1);
    let lifetime = (config.max_connection_lifetime > 0)
        .then(|| Duration::from_secs(config.max_connection_lifetime));
    Ok(match target.kind {
        Kind::Postgres => Pool::Postgres(
            PgPoolOptions::new()
                .max_connections(max_open)
                .acquire_timeout(CONNECT_TIMEOUT)
                .max_lifetime(lifetime)
                .connect_lazy_with(target.pg_options()?),
        ),
        Kind::MySql => Pool::MySql(
            MySqlPoolOptions::new()
                .max_connections(max_open)
                .acquire_timeout(CONNECT_TIMEOUT)
                .max_lifetime(lifetime)
                .connect_lazy_with(target.mysql_options()?),
        ),
    })
}

impl Pool {
    async fn close(&self) {
        match self {
            Pool::Postgres(pool) => pool.close().await,
            Pool::MySql(pool) => pool.close().await,
        }
    }

    /// Runs `statements` in order. PostgreSQL: in one transaction (all or nothing).
    /// MySQL: one by one, since its DDL commits implicitly anyway.
    ///
    /// Boxed so callers inside `async_trait` futures see a plain `Send` future rather
    /// than sqlx's higher-ranked executor bounds ("not general enough").
    pub fn execute<'a>(&'a self, statements: &'a [String]) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(self.execute_inner(statements))
    }

    async fn execute_inner(&self, statements: &[String]) -> Result<(), DbError> {
        match self {
            // A transaction that lost a race was rolled back whole: try it again whole.
            Pool::Postgres(pool) => {
                let mut retry = Retry::up_to(ATTEMPTS);
                loop {
                    let result = pg_transaction(pool, statements).await;
                    if !retry.again(&result).await {
                        return result;
                    }
                }
            }
            // Each statement commits on its own: try again only the one that lost. Not
            // when the statements manage a transaction themselves: a deadlock rolls back
            // the whole transaction, and repeating its last statement alone would then
            // commit only a part of it.
            Pool::MySql(pool) => {
                let attempts = if statements.iter().any(|s| controls_transactions(s)) {
                    1
                } else {
                    ATTEMPTS
                };
                let mut conn = pool.acquire().await.map_err(no_connection)?;
                for statement in statements {
                    let conn: &mut sqlx::MySqlConnection = &mut conn;
                    let mut retry = Retry::up_to(attempts);
                    loop {
                        let result = conn
                            .execute(sqlx::raw_sql(statement))
                            .await
                            .map_err(classify);
                        if !retry.again(&result).await {
                            result?;
                            break;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Runs each statement on its own, ignoring failures: best-effort cleanup.
    pub async fn execute_each_ignoring_errors(&self, statements: &[String]) {
        for statement in statements {
            if let Err(err) = self.execute(std::slice::from_ref(statement)).await {
                tracing::debug!(error = %err, "cleanup statement failed");
            }
        }
    }

    /// The values of a one-column text query (user hosts, session ids, schemas).
    pub fn query_strings<'a>(
        &'a self,
        sql: &'a str,
        binds: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<String>, DbError>> {
        Box::pin(self.query_strings_inner(sql, binds))
    }

    async fn query_strings_inner(&self, sql: &str, binds: &[&str]) -> Result<Vec<String>, DbError> {
        match self {
            Pool::Postgres(pool) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.fetch_all(pool).await.map_err(classify)
            }
            Pool::MySql(pool) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.fetch_all(pool).await.map_err(classify)
            }
        }
    }
}

/// Database errors are the statement's fault, unless it lost a race with a concurrent
/// transaction; everything else is the connection's. The pool's URL never appears in
/// sqlx's messages for these.
fn classify(err: sqlx::Error) -> DbError {
    match err {
        sqlx::Error::Database(db) => {
            let message = db.message().to_string();
            if lost_a_race(db.code().as_deref(), &message) {
                DbError::Conflict(message)
            } else {
                DbError::Statement(message)
            }
        }
        other => DbError::Connect(other.to_string()),
    }
}

/// Whether a database error means a concurrent transaction won and trying again may
/// succeed: SQLSTATE 40001 (a serialization failure on PostgreSQL, a deadlock on MySQL and
/// MariaDB), 40P01 (a PostgreSQL deadlock), or PostgreSQL's internal error when two
/// transactions update one catalog row (`GRANT`, `REVOKE`, `DROP OWNED` on shared objects).
fn lost_a_race(sqlstate: Option<&str>, message: &str) -> bool {
    match sqlstate {
        Some("40001" | "40P01") => true,
        Some("XX000") => message.starts_with("tuple concurrently"),
        _ => false,
    }
}

/// `statements` in one PostgreSQL transaction.
async fn pg_transaction(pool: &PgPool, statements: &[String]) -> Result<(), DbError> {
    let mut tx = pool.begin().await.map_err(no_connection)?;
    for statement in statements {
        let conn: &mut sqlx::PgConnection = &mut tx;
        conn.execute(sqlx::raw_sql(statement))
            .await
            .map_err(classify)?;
    }
    tx.commit().await.map_err(classify)
}

/// Whether `sql` begins, ends or shapes a transaction itself (a false positive only costs
/// the retries).
fn controls_transactions(sql: &str) -> bool {
    sql.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|word| {
            [
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "SAVEPOINT",
                "TRANSACTION",
                "AUTOCOMMIT",
                "XA",
            ]
            .iter()
            .any(|keyword| word.eq_ignore_ascii_case(keyword))
        })
}

/// Counts the tries of one operation against [`DbError::Conflict`].
struct Retry {
    tries: u32,
    attempts: u32,
}

impl Retry {
    /// At most `attempts` tries in all (1: a conflict is returned as it is).
    fn up_to(attempts: u32) -> Self {
        Self { tries: 0, attempts }
    }

    /// Whether to try again after `result`: it was a conflict and fewer tries were made
    /// than allowed. Waits a little longer after each conflict before saying yes.
    async fn again<T>(&mut self, result: &Result<T, DbError>) -> bool {
        self.tries += 1;
        let Err(DbError::Conflict(reason)) = result else {
            return false;
        };
        if self.tries >= self.attempts {
            return false;
        }
        tracing::debug!(%reason, tries = self.tries, "a statement lost a race with a concurrent transaction; trying again");
        tokio::time::sleep(backoff(self.tries)).await;
        true
    }
}

/// 20 ms after the first conflict, doubling, plus up to as much again at random so that
/// callers which collided do not collide again in step.
fn backoff(tries: u32) -> Duration {
    let base = 10u64 << tries.min(8);
    let mut jitter = [0u8; 2];
    crate::crypto::fill_random(&mut jitter);
    Duration::from_millis(base + u64::from(u16::from_le_bytes(jitter)) % base)
}

/// Getting a connection failed (even with a database error such as a bad password).
fn no_connection(err: sqlx::Error) -> DbError {
    DbError::Connect(err.to_string())
}

/// The engine's pools, by config name, each with the config generation it was built for.
#[derive(Default)]
pub struct Pools {
    pools: Mutex<HashMap<String, (String, Pool)>>,
}

impl Pools {
    /// The pool for `name` at `config`'s generation, opening it if needed (and closing
    /// one built for an older generation).
    pub async fn get(&self, name: &str, config: &ConnectionConfig) -> Result<Pool, DbError> {
        let mut pools = self.pools.lock().await;
        if let Some((generation, pool)) = pools.get(name) {
            if *generation == config.generation {
                return Ok(pool.clone());
            }
        }
        let pool = open(config)?;
        if let Some((_, old)) =
            pools.insert(name.to_string(), (config.generation.clone(), pool.clone()))
        {
            tokio::spawn(async move { old.close().await });
        }
        Ok(pool)
    }

    /// Closes and forgets the pool for `name` (config deleted, rewritten or reset).
    pub async fn drop_pool(&self, name: &str) {
        let old = self.pools.lock().await.remove(name);
        if let Some((_, pool)) = old {
            pool.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lost_races_are_conflicts() {
        assert!(lost_a_race(Some("40001"), "could not serialize access"));
        assert!(lost_a_race(Some("40P01"), "deadlock detected"));
        assert!(lost_a_race(Some("XX000"), "tuple concurrently updated"));
        assert!(lost_a_race(Some("XX000"), "tuple concurrently deleted"));
        assert!(!lost_a_race(
            Some("XX000"),
            "cache lookup failed for relation 1"
        ));
        assert!(!lost_a_race(Some("42P01"), "relation \"x\" does not exist"));
        assert!(!lost_a_race(None, "tuple concurrently updated"));
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_tried_again_a_bounded_number_of_times() {
        let mut retry = Retry::up_to(ATTEMPTS);
        let conflict: Result<(), DbError> =
            Err(DbError::Conflict("tuple concurrently updated".into()));
        let mut tries = 1;
        while retry.again(&conflict).await {
            tries += 1;
        }
        assert_eq!(tries, ATTEMPTS);
        assert!(!Retry::up_to(1).again(&conflict).await);

        let mut retry = Retry::up_to(ATTEMPTS);
        assert!(
            !retry
                .again(&Err::<(), _>(DbError::Statement("syntax error".into())))
                .await
        );
        assert!(
            !retry
                .again(&Err::<(), _>(DbError::Connect("refused".into())))
                .await
        );
        assert!(!Retry::up_to(ATTEMPTS).again(&Ok(())).await);
    }

    #[test]
    fn statements_that_manage_a_transaction_are_recognised() {
        for sql in [
            "START TRANSACTION",
            "begin",
            "INSERT INTO t VALUES (1); COMMIT",
            "SET autocommit=0",
            "SET @@AUTOCOMMIT = 0",
            "rollback to savepoint a",
        ] {
            assert!(controls_transactions(sql), "{sql}");
        }
        for sql in [
            "CREATE USER 'v-app'@'%' IDENTIFIED BY 'p'",
            "GRANT SELECT ON db.* TO 'committer'@'%'",
            "DROP USER IF EXISTS 'begin_x'@'%'",
        ] {
            assert!(!controls_transactions(sql), "{sql}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_below_the_next_step() {
        for tries in 1..ATTEMPTS {
            let base = Duration::from_millis(10 << tries);
            let wait = backoff(tries);
            assert!(wait >= base && wait < base * 2, "{tries}: {wait:?}");
        }
    }
}
