//! The token helper file, `~/.cofre-token`: where `cofre login` stores a token and where
//! clients look when no `COFRE_TOKEN`/`VAULT_TOKEN` is set (Vault's `~/.vault-token`).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// The helper file's name inside the home directory.
///
/// ```no_run
/// assert_eq!(cofre_client::token_helper::FILE_NAME, ".cofre-token");
/// ```
pub const FILE_NAME: &str = ".cofre-token";

/// The helper file's path: `$HOME/.cofre-token`, or `None` when `HOME` is unset.
///
/// ```no_run
/// if let Some(path) = cofre_client::token_helper::path() {
///     println!("tokens are stored in {}", path.display());
/// }
/// ```
pub fn path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(FILE_NAME))
}

/// The stored token, or `None` when there is no helper file or it is empty.
///
/// ```no_run
/// let token = cofre_client::token_helper::read();
/// ```
pub fn read() -> Option<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    read_from(&home)
}

/// The token stored under `home`.
pub(crate) fn read_from(home: &Path) -> Option<String> {
    let text = std::fs::read_to_string(home.join(FILE_NAME)).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// Stores `token` in the helper file, readable only by its owner.
///
/// ```no_run
/// # fn demo() -> Result<(), cofre_client::Error> {
/// cofre_client::token_helper::store("s.example")?;
/// # Ok(()) }
/// ```
pub fn store(token: &str) -> Result<PathBuf, Error> {
    let path = path().ok_or_else(|| {
        Error::Config("HOME is not set, so there is no place for the token helper file".into())
    })?;
    let failed = |e: std::io::Error| {
        Error::Config(format!(
            "cannot write the token helper file {}: {e}",
            path.display()
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(failed)?;
    file.write_all(token.as_bytes()).map_err(failed)?;
    Ok(path)
}

/// Removes the helper file; a missing file is not an error.
///
/// ```no_run
/// # fn demo() -> Result<(), cofre_client::Error> {
/// cofre_client::token_helper::erase()?;
/// # Ok(()) }
/// ```
pub fn erase() -> Result<(), Error> {
    let Some(path) = path() else { return Ok(()) };
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Config(format!(
            "cannot remove the token helper file {}: {e}",
            path.display()
        ))),
    }
}
