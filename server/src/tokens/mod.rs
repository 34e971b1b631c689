//! The token store: tokens are stored by HMAC (never in clear) with accessors, a
//! parent/child index, TTLs, use limits and an expiry index the background sweeper walks.

mod entry;
mod store;

pub use entry::TokenEntry;
pub use store::{TokenRole, TokenStore, BATCH_PREFIX};
