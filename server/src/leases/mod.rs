//! The lease store: what the expiration manager (`core/expiration.rs`) keeps per leased
//! secret, and the indexes that let it work without loading every lease. Layout under the
//! barrier prefix `sys/expire/`:
//!
//! - `id/<lease id>` → [`LeaseEntry`] (lease ids are paths: `database/creds/ro/<random>`)
//! - `due/<unix seconds, 12 digits>/<lease id>` → empty: when the lease is next due for
//!   revocation (its expiry, or the next retry of a revocation that failed); walked in
//!   order by the sweeper
//! - `token/<token hmac>/<lease id>` → empty: the leases a token created, revoked with it
//!
//! Nothing is read at unseal. Per-path counts (for `sys/leases/count` and lease-count
//! quotas) are built from a key-only scan the first time they are needed, then kept up to
//! date in memory.

mod entry;
mod store;

pub use entry::{LeaseEntry, RevocationState};
pub use store::{lease_path, under, LeaseStore};
