//! Shared storage on PostgreSQL, for several Cofre nodes serving one vault (HA). Values
//! are the barrier's ciphertext, stored under their keys in one table (created on first
//! start; `<table>_schema` holds its version for later migrations). Key order is byte
//! order (`COLLATE "C"`), so `scan` walks ordered indexes as on sled.
//!
//! For HA ([`HaOptions`]), each write under a cache-backed prefix also sends a
//! `NOTIFY` in the same transaction; every node `LISTEN`s and passes the keys other nodes
//! changed to the core ([`Backend::changes`]), which drops its cached copies. A listener
//! that reconnects sends [`Change::Resync`] (drop every cache: notifications may have been
//! missed). One node at a time holds the leader lock (`pg_try_advisory_lock` on its own
//! session) and runs the once-only background work; when it dies, PostgreSQL ends its
//! session, frees the lock, and another node takes it within about a second. Nodes
//! register in `<table>_nodes` with a heartbeat, for `sys/ha-status`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgPool, Row};
use tokio::sync::broadcast;

use super::{Backend, Change, HaNode, StorageError, TxnOp};

/// The NOTIFY channel nodes use for changed keys.
const CHANNEL: &str = "cofre_changes";
/// The advisory lock id of the leader lock (any constant; "cofre" in ASCII).
const LEADER_LOCK: i64 = 0x0063_6f66_7265;
/// Schema version this build writes.
const SCHEMA_VERSION: i32 = 1;
/// How long a statement waits for a pool connection before the request fails with 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Nodes whose heartbeat is older than this are listed as gone.
const NODE_TIMEOUT_SECS: i64 = 15;

/// HA settings: this node's identity, and which key prefixes other nodes cache.
#[derive(Clone, Debug)]
pub struct HaOptions {
    pub node_id: String,
    /// The address clients use for this node (`api_addr`), shown by `sys/ha-status`.
    pub api_addr: String,
    /// Writes under these prefixes are announced to the other nodes.
    pub notify_prefixes: Vec<String>,
}

/// A PostgreSQL-backed store.
pub struct Postgres {
    pool: PgPool,
    table: String,
    sql: Statements,
    ha: Option<HaState>,
}

/// The statements, with the table name filled in once.
struct Statements {
    get: String,
    put: String,
    create: String,
    delete: String,
    list: String,
    scan: String,
}

impl Statements {
    fn new(t: &str) -> Self {
        Self {
            get: format!("SELECT value FROM {t} WHERE key = $1"),
            put: format!(
                "INSERT INTO {t} (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            create: format!("INSERT INTO {t} (key, value) VALUES ($1, $2)"),
            delete: format!("DELETE FROM {t} WHERE key = $1"),
            // The part after the prefix up to and including the first '/', distinct.
            list: format!(
                "SELECT DISTINCT CASE WHEN strpos(rest, '/') > 0 THEN left(rest, strpos(rest, '/')) \
                 ELSE rest END COLLATE \"C\" AS child \
                 FROM (SELECT substr(key, $1) AS rest FROM {t} \
                       WHERE key >= $2 AND ($3::text IS NULL OR key < $3)) s \
                 WHERE rest <> '' ORDER BY child"
            ),
            scan: format!(
                "SELECT key FROM {t} WHERE key >= $1 AND ($2::text IS NULL OR key < $2) \
                 AND ($3::text IS NULL OR key > $3) ORDER BY key LIMIT $4"
            ),
        }
    }
}

struct HaState {
    options: HaOptions,
    changes: broadcast::Sender<Change>,
    leader: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for HaState {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Postgres {
    /// Connects, creates the table if needed and, with `ha`, starts listening for other
    /// nodes' changes and competing for the leader lock.
    pub async fn open(
        connection_url: &str,
        table: &str,
        max_parallel: u32,
        ha: Option<HaOptions>,
    ) -> Result<Self, StorageError> {
        let open_error = |reason: String| StorageError::Open {
            path: format!("postgresql table {table}"),
            reason,
        };
        let options: PgConnectOptions = connection_url
            .parse()
            .map_err(|e: sqlx::Error| open_error(redact(&e.to_string(), connection_url)))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_parallel.max(2))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(redact(&e.to_string(), connection_url)))?;
        let mut this = Self {
            pool,
            table: table.to_string(),
            sql: Statements::new(table),
            ha: None,
        };
        this.create_schema()
            .await
            .map_err(|e| open_error(e.to_string()))?;
        let Some(options_ha) = ha else {
            return Ok(this);
        };
        let (changes, _) = broadcast::channel(4096);
        let leader = Arc::new(AtomicBool::new(false));
        let (listening, ready) = tokio::sync::oneshot::channel();
        let tasks = vec![
            tokio::spawn(listen(
                this.pool.clone(),
                options_ha.node_id.clone(),
                changes.clone(),
                listening,
            )),
            tokio::spawn(hold_leader_lock(options.clone(), leader.clone())),
            tokio::spawn(heartbeat(
                this.pool.clone(),
                this.table.clone(),
                options_ha.clone(),
                leader.clone(),
            )),
        ];
        this.ha = Some(HaState {
            options: options_ha,
            changes,
            leader,
            tasks,
        });
        // Caches are filled after this returns: no change may slip by unheard before.
        tokio::time::timeout(Duration::from_secs(10), ready)
            .await
            .map_err(|_| open_error("could not LISTEN for other nodes' changes".into()))?
            .map_err(|_| open_error("the change listener stopped".into()))?;
        Ok(this)
    }

    async fn create_schema(&self) -> Result<(), sqlx::Error> {
        let t = &self.table;
        // Several nodes may start at once: serialise the DDL on an advisory lock.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LEADER_LOCK + 1)
            .execute(&mut *tx)
            .await?;
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {t} (key TEXT COLLATE \"C\" PRIMARY KEY, value BYTEA NOT NULL);
             CREATE TABLE IF NOT EXISTS {t}_schema (version INT NOT NULL);
             CREATE TABLE IF NOT EXISTS {t}_nodes (node_id TEXT PRIMARY KEY, api_addr TEXT NOT NULL,
                 leader BOOLEAN NOT NULL DEFAULT false, last_seen TIMESTAMPTZ NOT NULL DEFAULT now());"
        );
        sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
        let read_version = format!("SELECT max(version) FROM {t}_schema");
        let version: Option<i32> = sqlx::query_scalar(&read_version)
            .fetch_one(&mut *tx)
            .await?;
        match version {
            None => {
                let insert = format!("INSERT INTO {t}_schema (version) VALUES ($1)");
                sqlx::query(&insert)
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(sqlx::Error::Protocol(format!(
                    "table {t} has schema version {v}, newer than this build's {SCHEMA_VERSION}: upgrade Cofre"
                )));
            }
            Some(_) => {}
        }
        tx.commit().await
    }

    fn notify_key(&self, key: &str) -> bool {
        self.ha.as_ref().is_some_and(|ha| {
            ha.options
                .notify_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
        })
    }

    /// The payload announcing `key`: `<node id> <key>`.
    fn payload(&self, key: &str) -> String {
        let node = self
            .ha
            .as_ref()
            .map_or("", |ha| ha.options.node_id.as_str());
        format!("{node} {key}")
    }

    async fn apply(&self, ops: Vec<TxnOp>) -> Result<(), StorageError> {
        let Some(first) = ops.first().map(|op| op.key().to_string()) else {
            return Ok(());
        };
        let failed = |e: sqlx::Error| classify("transaction", &first, e);
        let mut tx = self.pool.begin().await.map_err(failed)?;
        for op in &ops {
            let result = match op {
                TxnOp::Put(key, value) => {
                    sqlx::query(&self.sql.put)
                        .bind(key)
                        .bind(value)
                        .execute(&mut *tx)
                        .await
                }
                TxnOp::Create(key, value) => {
                    sqlx::query(&self.sql.create)
                        .bind(key)
                        .bind(value)
                        .execute(&mut *tx)
                        .await
                }
                TxnOp::Delete(key) => {
                    sqlx::query(&self.sql.delete)
                        .bind(key)
                        .execute(&mut *tx)
                        .await
                }
            };
            if let Err(e) = result {
                if is_unique_violation(&e) {
                    return Err(StorageError::Conflict {
                        key: op.key().to_string(),
                    });
                }
                return Err(classify("transaction", op.key(), e));
            }
        }
        for op in ops.iter().filter(|op| self.notify_key(op.key())) {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(self.payload(op.key()))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    }
}

#[async_trait]
impl Backend for Postgres {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        sqlx::query_scalar(&self.sql.get)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| classify("get", key, e))
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        if self.notify_key(key) {
            return self.apply(vec![TxnOp::Put(key.to_string(), value)]).await;
        }
        sqlx::query(&self.sql.put)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| classify("put", key, e))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        if self.notify_key(key) {
            return self.apply(vec![TxnOp::Delete(key.to_string())]).await;
        }
        sqlx::query(&self.sql.delete)
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| classify("delete", key, e))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let rows = sqlx::query(&self.sql.list)
            .bind(prefix.len() as i32 + 1)
            .bind(prefix)
            .bind(upper_bound(prefix))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify("list", prefix, e))?;
        Ok(rows.iter().map(|r| r.get::<String, _>("child")).collect())
    }

    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        sqlx::query_scalar(&self.sql.scan)
            .bind(prefix)
            .bind(upper_bound(prefix))
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify("scan", prefix, e))
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), StorageError> {
        self.apply(ops).await
    }

    fn kind(&self) -> &'static str {
        "postgresql"
    }

    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        self.ha.as_ref().map(|ha| ha.changes.subscribe())
    }

    fn is_leader(&self) -> bool {
        self.ha
            .as_ref()
            .is_none_or(|ha| ha.leader.load(Ordering::Acquire))
    }

    async fn ha_nodes(&self) -> Result<Option<Vec<HaNode>>, StorageError> {
        let Some(ha) = &self.ha else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT node_id, api_addr, leader, \
             to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS seen \
             FROM {}_nodes WHERE last_seen > now() - make_interval(secs => $1) ORDER BY node_id",
            self.table
        );
        let rows = sqlx::query(&sql)
            .bind(NODE_TIMEOUT_SECS as f64)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| classify("ha_nodes", "", e))?;
        Ok(Some(
            rows.iter()
                .map(|r| {
                    let is_self = r.get::<String, _>("node_id") == ha.options.node_id;
                    HaNode {
                        node_id: r.get("node_id"),
                        api_addr: r.get("api_addr"),
                        // Our own flag is current; the others' are as of their last
                        // heartbeat (at most 2 s old).
                        leader: match is_self {
                            true => ha.leader.load(Ordering::Acquire),
                            false => r.get("leader"),
                        },
                        last_seen: r.get("seen"),
                        is_self,
                    }
                })
                .collect(),
        ))
    }
}

/// Forwards other nodes' NOTIFYs as [`Change`]s; after any reconnect (notifications may
/// have been lost meanwhile) it sends [`Change::Resync`].
async fn listen(
    pool: PgPool,
    node_id: String,
    changes: broadcast::Sender<Change>,
    listening: tokio::sync::oneshot::Sender<()>,
) {
    let mut listening = Some(listening);
    let mut first = true;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "HA change listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "HA change listener cannot LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if !first {
            let _ = changes.send(Change::Resync);
        }
        first = false;
        if let Some(ready) = listening.take() {
            let _ = ready.send(());
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => {
                    let Some((from, key)) = note.payload().split_once(' ') else {
                        continue;
                    };
                    if from != node_id {
                        let _ = changes.send(Change::Key(key.to_string()));
                    }
                }
                // The connection dropped (sqlx reconnects on the next call): resync.
                Ok(None) => {
                    let _ = changes.send(Change::Resync);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "HA change listener lost its connection");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
    }
}

/// Competes for the leader lock on a dedicated session; `leader` is true while this node
/// holds it. The session is checked every second so a lost connection (which frees the
/// lock on the server) is noticed.
async fn hold_leader_lock(options: PgConnectOptions, leader: Arc<AtomicBool>) {
    loop {
        let mut conn = match sqlx::PgConnection::connect_with(&options).await {
            Ok(c) => c,
            Err(_) => {
                leader.store(false, Ordering::Release);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            if !leader.load(Ordering::Acquire) {
                match sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_LOCK)
                    .fetch_one(&mut conn)
                    .await
                {
                    Ok(true) => {
                        tracing::info!("this node now holds the leader lock");
                        leader.store(true, Ordering::Release);
                    }
                    Ok(false) => {}
                    Err(_) => break,
                }
            } else if conn.ping().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if leader.swap(false, Ordering::AcqRel) {
            tracing::warn!("lost the leader lock's database session");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Keeps this node's row in `<table>_nodes` fresh (every 2 s).
async fn heartbeat(pool: PgPool, table: String, options: HaOptions, leader: Arc<AtomicBool>) {
    let upsert = format!(
        "INSERT INTO {table}_nodes (node_id, api_addr, leader, last_seen) VALUES ($1, $2, $3, now()) \
         ON CONFLICT (node_id) DO UPDATE SET api_addr = EXCLUDED.api_addr, \
         leader = EXCLUDED.leader, last_seen = now()"
    );
    // Node ids are new at every start: forget nodes not seen for a day.
    let forget = format!("DELETE FROM {table}_nodes WHERE last_seen < now() - interval '1 day'");
    loop {
        let _ = sqlx::query(&upsert)
            .bind(&options.node_id)
            .bind(&options.api_addr)
            .bind(leader.load(Ordering::Acquire))
            .execute(&pool)
            .await;
        let _ = sqlx::query(&forget).execute(&pool).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The smallest string above every string starting with `prefix` (None: no bound).
fn upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// Connection-level failures are [`StorageError::Unavailable`] (503, retry); the rest are
/// backend errors.
fn classify(op: &'static str, key: &str, e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StorageError::Unavailable {
            reason: format!("PostgreSQL: {e}"),
        },
        // 57P01..03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection.
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
        {
            StorageError::Unavailable {
                reason: format!("PostgreSQL: {e}"),
            }
        }
        _ => StorageError::backend(op, key, e),
    }
}

/// Removes the connection URL (which may hold a password) from a driver message.
fn redact(message: &str, url: &str) -> String {
    message.replace(url, "<connection_url>")
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    async fn fresh(ha: Option<HaOptions>) -> Option<Postgres> {
        let table = format!(
            "cofre_test_{}",
            crate::crypto::random_base62(10).to_lowercase()
        );
        match Postgres::open(URL, &table, 4, ha).await {
            Ok(pg) => Some(pg),
            Err(e) if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
                panic!("PostgreSQL is required: {e}")
            }
            Err(e) => {
                eprintln!("\n*** SKIPPING: no PostgreSQL ({e}) ***\n");
                None
            }
        }
    }

    async fn drop_tables(pg: &Postgres) {
        let t = &pg.table;
        let sql = format!(
            "DROP TABLE IF EXISTS {t}; DROP TABLE IF EXISTS {t}_schema; DROP TABLE IF EXISTS {t}_nodes"
        );
        let _ = sqlx::raw_sql(&sql).execute(&pg.pool).await;
    }

    #[tokio::test]
    async fn conforms() {
        let Some(pg) = fresh(None).await else { return };
        super::super::conformance::run_all(&pg).await;
        drop_tables(&pg).await;
    }

    #[test]
    fn upper_bounds_cover_the_prefix() {
        assert_eq!(upper_bound("sys/"), Some("sys0".into()));
        assert_eq!(upper_bound("a"), Some("b".into()));
        assert_eq!(upper_bound(""), None);
        assert!(*"sys/zzz" < *upper_bound("sys/").unwrap());
    }

    #[tokio::test]
    async fn other_nodes_hear_changes_and_one_holds_the_lock() {
        let options = |id: &str| HaOptions {
            node_id: id.into(),
            api_addr: format!("http://{id}"),
            notify_prefixes: vec!["core/".into()],
        };
        let Some(a) = fresh(Some(options("a"))).await else {
            return;
        };
        let b = Postgres::open(URL, &a.table, 4, Some(options("b")))
            .await
            .unwrap();
        let mut heard = b.changes().unwrap();
        let mut own = a.changes().unwrap();
        a.put("core/mounts", vec![1]).await.unwrap();
        a.put("logical/x", vec![1]).await.unwrap();
        let change = tokio::time::timeout(Duration::from_secs(5), heard.recv())
            .await
            .expect("b hears a's change in time")
            .unwrap();
        assert_eq!(change, Change::Key("core/mounts".into()));
        assert!(
            tokio::time::timeout(Duration::from_millis(300), own.recv())
                .await
                .is_err(),
            "a does not hear itself, and logical/ keys are not announced"
        );
        let mut nodes = vec![a, b];
        let mut holders = Vec::new();
        for _ in 0..50 {
            holders = (0..2).filter(|&i| nodes[i].is_leader()).collect::<Vec<_>>();
            if holders.len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(holders.len(), 1, "exactly one node holds the leader lock");
        // The holder goes away (its tasks stop, its session closes and frees the lock):
        // the other takes over within a few seconds.
        drop(nodes.remove(holders[0]));
        let other = &nodes[0];
        let mut took_over = false;
        for _ in 0..60 {
            if other.is_leader() {
                took_over = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(took_over, "the other node takes the leader lock");
        let listed = other.ha_nodes().await.unwrap().unwrap();
        assert!(listed.iter().any(|n| n.is_self), "{listed:?}");
        drop_tables(other).await;
    }
}
