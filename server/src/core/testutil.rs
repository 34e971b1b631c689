//! Test fixtures for the core: a vault on in-memory storage, unsealed with the dev root
//! token `root`, with a recording engine mounted at `dyn/` that issues leased secrets at
//! `creds/<ttl>` and records revocations and renewals. Requests go through the real pipeline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use crate::core::mounts::MountEntry;
use crate::core::router::{Handler, Route};
use crate::core::{
    Core, CoreSettings, Operation, Request, RequestError, Response, SecretLease, Unsealed,
};
use crate::engines::{Engine, LeasedSecret, MountContext};

/// Issues `{"user": <n>}` with a lease at `creds/<ttl>`; records revocations and renewals.
#[derive(Default)]
pub(crate) struct Recorder {
    issued: Mutex<u32>,
    pub(crate) revoked: Mutex<Vec<String>>,
    pub(crate) renewed: Mutex<Vec<u64>>,
    pub(crate) failing: AtomicBool,
}

static RECORDER_HELP: crate::engines::help::BackendHelp = crate::engines::help::BackendHelp {
    description: "A test engine that records requests.",
    paths: &[],
};

#[async_trait]
impl Engine for Recorder {
    fn help(&self) -> &'static crate::engines::help::BackendHelp {
        &RECORDER_HELP
    }

    async fn handle(&self, _ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let ttl: u64 = req
            .path
            .strip_prefix("creds/")
            .and_then(|t| t.parse().ok())
            .ok_or(RequestError::NotFound)?;
        let mut n = self.issued.lock().unwrap();
        *n += 1;
        let user = format!("user{n}");
        let mut internal = Map::new();
        internal.insert("user".into(), json!(user));
        Ok(Response {
            secret: Some(Box::new(SecretLease {
                ttl,
                max_ttl: 100,
                renewable: true,
                internal,
            })),
            ..Response::json(json!({ "username": user }))
        })
    }

    async fn revoke(
        &self,
        _ctx: &MountContext,
        lease: &LeasedSecret<'_>,
    ) -> Result<(), RequestError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(RequestError::internal("database unreachable"));
        }
        let user = lease.internal["user"].as_str().unwrap_or("").to_string();
        self.revoked.lock().unwrap().push(user);
        Ok(())
    }

    async fn renew(
        &self,
        _ctx: &MountContext,
        lease: &LeasedSecret<'_>,
    ) -> Result<(), RequestError> {
        self.renewed.lock().unwrap().push(lease.expire_time);
        Ok(())
    }
}

pub(crate) struct Fixture {
    pub(crate) core: Core,
    pub(crate) unsealed: Arc<Unsealed>,
    pub(crate) engine: Arc<Recorder>,
}

pub(crate) async fn fixture() -> Fixture {
    let backend = Arc::new(crate::storage::inmem::Inmem::new());
    let core = Core::new(backend, CoreSettings::default());
    core.initialize(1, 1, Some("root"), true).await.unwrap();
    let unsealed = core.unsealed().unwrap();
    let engine = Arc::new(Recorder::default());
    let mut routes: Vec<Route> = unsealed.router.snapshot().as_ref().clone();
    routes.push(Route {
        entry: Arc::new(MountEntry::new("dyn/", "recorder", "", false)),
        handler: Handler::Engine(engine.clone()),
        prefix: "dyn/".into(),
        stats: unsealed.settings.metrics.unrouted().clone(),
    });
    unsealed.router.replace(routes);
    Fixture {
        core,
        unsealed,
        engine,
    }
}

impl Fixture {
    pub(crate) async fn call(
        &self,
        token: &str,
        op: Operation,
        path: &str,
        data: Value,
    ) -> Result<Response, RequestError> {
        let data = match data {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.core
            .handle(Request::new(op, path).with_data(data).with_token(token))
            .await
    }

    /// A token created by `parent` through `auth/token/create` with `body`.
    pub(crate) async fn create_token(&self, parent: &str, body: Value) -> String {
        self.call(parent, Operation::Update, "auth/token/create", body)
            .await
            .unwrap()
            .auth
            .expect("token create answers with auth")
            .client_token
    }

    pub(crate) async fn issue(&self, token: &str, ttl: u64) -> String {
        let resp = self
            .call(
                token,
                Operation::Read,
                &format!("dyn/creds/{ttl}"),
                Value::Null,
            )
            .await
            .unwrap();
        let lease = resp.lease.expect("a leased secret carries a lease");
        assert!(
            resp.secret.is_none(),
            "the internal data never leaves the core"
        );
        lease.lease_id
    }

    pub(crate) async fn lookup(&self, id: &str) -> Result<Map<String, Value>, RequestError> {
        self.call(
            "root",
            Operation::Update,
            "sys/leases/lookup",
            json!({ "lease_id": id }),
        )
        .await
        .map(|r| r.data.unwrap_or_default())
    }

    pub(crate) fn revoked(&self) -> Vec<String> {
        self.engine.revoked.lock().unwrap().clone()
    }
}
