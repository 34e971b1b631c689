//! Cofre server library: storage, barrier, core (seal, mounts, router, request pipeline),
//! policies, tokens, engines and the HTTP API. The `cofre` binary enters through
//! [`run_from_cli`]; tests and embedders through [`run`].

pub mod audit;
pub mod auth;
pub mod barrier;
pub mod cidr;
pub mod config;
pub mod core;
pub mod crypto;
pub mod duration;
pub mod engines;
pub(crate) mod hcl1;
pub mod http;
pub mod leases;
pub mod metrics;
pub mod policy;
mod server;
pub mod shamir;
pub mod storage;
pub mod sys;
pub mod tokens;

pub use server::{run, run_from_cli, DevOptions, ServerOptions, StartError};

/// The server's version, as `sys/seal-status` and the mount table report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
