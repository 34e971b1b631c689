//! Auth methods, mounted under `auth/`. The token method (`auth/token/`) is built in.

pub mod token;
