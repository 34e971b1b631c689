//! Building a [`Client`]: explicit settings through [`ClientBuilder`], or the environment
//! (`COFRE_*`, falling back to `VAULT_*`) and the token helper file through
//! [`ClientBuilder::from_env`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::Client;
use crate::{Error, RetryPolicy};

/// The address used when neither the builder nor the environment names one.
///
/// ```no_run
/// assert_eq!(cofre_client::DEFAULT_ADDRESS, "http://127.0.0.1:8200");
/// ```
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:8200";

/// How long a request may take unless configured otherwise (Vault's CLI default).
///
/// ```no_run
/// let client = cofre_client::Client::builder().timeout(cofre_client::DEFAULT_TIMEOUT * 2);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings for a [`Client`]; start with [`Client::builder`] or [`ClientBuilder::from_env`].
///
/// ```no_run
/// # fn demo() -> Result<(), cofre_client::Error> {
/// let client = cofre_client::Client::builder()
///     .address("https://vault.example.com:8200")
///     .token("s.example")
///     .timeout(std::time::Duration::from_secs(10))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    address: Option<String>,
    token: Option<String>,
    ca_cert_pem: Option<Vec<u8>>,
    ca_cert_file: Option<PathBuf>,
    skip_verify: bool,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("ca_cert_file", &self.ca_cert_file)
            .field("skip_verify", &self.skip_verify)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl ClientBuilder {
    /// An empty builder: default address, no token, system CA roots.
    ///
    /// ```no_run
    /// let builder = cofre_client::ClientBuilder::new().address("http://127.0.0.1:8200");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the environment: `COFRE_ADDR`/`VAULT_ADDR`,
    /// `COFRE_TOKEN`/`VAULT_TOKEN` (else the token helper file `~/.cofre-token`),
    /// `COFRE_CACERT`/`VAULT_CACERT`, `COFRE_SKIP_VERIFY`/`VAULT_SKIP_VERIFY` and
    /// `COFRE_CLIENT_TIMEOUT`/`VAULT_CLIENT_TIMEOUT` and `COFRE_MAX_RETRIES`/
    /// `VAULT_MAX_RETRIES`. Later builder calls override it.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), cofre_client::Error> {
    /// let client = cofre_client::ClientBuilder::from_env()?
    ///     .address("http://127.0.0.1:8201")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::from_lookup(|name| std::env::var(name).ok(), home.as_deref())
    }

    /// [`ClientBuilder::from_env`] with the environment and home directory supplied by
    /// the caller (used by tests; `lookup` returns a variable's value).
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Self, Error> {
        let var = |suffix: &str| {
            ["COFRE_", "VAULT_"]
                .iter()
                .map(|prefix| format!("{prefix}{suffix}"))
                .find_map(|name| {
                    lookup(&name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (name, v))
                })
        };
        let mut builder = Self::new();
        if let Some((_, address)) = var("ADDR") {
            builder.address = Some(address.trim().to_string());
        }
        builder.token = match var("TOKEN") {
            Some((_, token)) => Some(token.trim().to_string()),
            None => home.and_then(crate::token_helper::read_from),
        };
        if let Some((_, path)) = var("CACERT") {
            builder.ca_cert_file = Some(PathBuf::from(path));
        }
        if let Some((name, value)) = var("SKIP_VERIFY") {
            builder.skip_verify = parse_bool(&value).ok_or_else(|| {
                Error::Config(format!(
                    "{name}={value:?} is not a boolean; use true or false"
                ))
            })?;
        }
        if let Some((name, value)) = var("CLIENT_TIMEOUT") {
            builder.timeout = Some(parse_timeout(&value).ok_or_else(|| {
                Error::Config(format!(
                    "{name}={value:?} is not a duration; use seconds (\"30\") or a unit (\"30s\", \"2m\")"
                ))
            })?);
        }
        if let Some((name, value)) = var("MAX_RETRIES") {
            builder.retry.max_retries = value.trim().parse().map_err(|_| {
                Error::Config(format!(
                    "{name}={value:?} is not a number of retries; use 0, 1, 2, …"
                ))
            })?;
        }
        Ok(builder)
    }

    /// The server's base URL, such as `https://127.0.0.1:8200`.
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().address("https://127.0.0.1:8200");
    /// ```
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// The token sent as `X-Vault-Token` with every request.
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().token("s.example");
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A PEM CA certificate (or bundle) to trust for the server's TLS certificate, in
    /// addition to the system roots.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let pem = std::fs::read("/etc/cofre/ca.pem")?;
    /// let client = cofre_client::Client::builder().ca_cert_pem(pem).build()?;
    /// # Ok(()) }
    /// ```
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_cert_pem = Some(pem.into());
        self.ca_cert_file = None;
        self
    }

    /// Like [`ClientBuilder::ca_cert_pem`], reading the PEM file when the client is built.
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().ca_cert_file("/etc/cofre/ca.pem");
    /// ```
    pub fn ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_cert_file = Some(path.into());
        self.ca_cert_pem = None;
        self
    }

    /// Accept any server certificate. Only for development: it disables TLS's
    /// protection against impostors.
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().skip_verify(true);
    /// ```
    pub fn skip_verify(mut self, skip: bool) -> Self {
        self.skip_verify = skip;
        self
    }

    /// The time limit for each request (default 60 seconds).
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times a failed read is retried (default 2; 0 disables retries). See
    /// [`RetryPolicy`] for what is retried and how long the client waits.
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().max_retries(5);
    /// ```
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The whole retry policy: retries, base and maximum delay, and whether writes are
    /// retried too.
    ///
    /// ```no_run
    /// let builder = cofre_client::Client::builder().retry_policy(cofre_client::RetryPolicy {
    ///     retry_writes: true,
    ///     ..Default::default()
    /// });
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client, checking the address and loading the CA certificate.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), cofre_client::Error> {
    /// let client = cofre_client::Client::builder().build()?;
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let address = normalize_address(self.address.as_deref().unwrap_or(DEFAULT_ADDRESS))?;
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .danger_accept_invalid_certs(self.skip_verify);
        let pem = match (&self.ca_cert_pem, &self.ca_cert_file) {
            (Some(pem), _) => Some(pem.clone()),
            (None, Some(path)) => Some(std::fs::read(path).map_err(|e| {
                Error::Config(format!(
                    "cannot read the CA certificate {}: {e}; check COFRE_CACERT / -ca-cert",
                    path.display()
                ))
            })?),
            (None, None) => None,
        };
        if let Some(pem) = pem {
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::Config(format!("the CA certificate is not valid PEM: {e}")))?;
            if certificates.is_empty() {
                return Err(Error::Config(
                    "the CA certificate file holds no PEM certificate".into(),
                ));
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        let token = self.token.filter(|t| !t.is_empty());
        Ok(Client::from_parts(http, address, token, self.retry))
    }
}

/// Checks that `raw` is an http(s) URL and drops any trailing slash.
fn normalize_address(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).map_err(|e| {
        Error::Config(format!(
            "invalid server address {raw:?}: {e}; use a URL such as https://127.0.0.1:8200 \
             (COFRE_ADDR, VAULT_ADDR or -address)"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "invalid server address {raw:?}: it must start with http:// or https:// and name a host"
        )));
    }
    Ok(trimmed.to_string())
}

/// Go's `strconv.ParseBool`, which Vault uses for its boolean environment variables.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Seconds (`"30"`) or one number with a unit (`"500ms"`, `"30s"`, `"2m"`, `"1h"`).
fn parse_timeout(value: &str) -> Option<Duration> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit {
        "" | "s" => Some(Duration::from_secs(number)),
        "ms" => Some(Duration::from_millis(number)),
        "m" => Some(Duration::from_secs(number.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(number.checked_mul(3600)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn builder_from(vars: &[(&str, &str)], home: Option<&Path>) -> Result<ClientBuilder, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientBuilder::from_lookup(|name| vars.get(name).cloned(), home)
    }

    #[test]
    fn cofre_variables_win_over_vault_ones() {
        let b = builder_from(
            &[
                ("COFRE_ADDR", "https://cofre:8200"),
                ("VAULT_ADDR", "https://vault:8200"),
                ("COFRE_TOKEN", "s.cofre"),
                ("VAULT_TOKEN", "s.vault"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(b.address.as_deref(), Some("https://cofre:8200"));
        assert_eq!(b.token.as_deref(), Some("s.cofre"));
    }

    #[test]
    fn vault_variables_are_the_fallback() {
        let b = builder_from(
            &[
                ("VAULT_ADDR", "https://vault:8200"),
                ("VAULT_TOKEN", "s.vault"),
                ("VAULT_CACERT", "/tmp/ca.pem"),
                ("VAULT_SKIP_VERIFY", "true"),
                ("VAULT_CLIENT_TIMEOUT", "2m"),
                ("VAULT_MAX_RETRIES", "5"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(b.address.as_deref(), Some("https://vault:8200"));
        assert_eq!(b.token.as_deref(), Some("s.vault"));
        assert_eq!(b.ca_cert_file, Some(PathBuf::from("/tmp/ca.pem")));
        assert!(b.skip_verify);
        assert_eq!(b.timeout, Some(Duration::from_secs(120)));
        assert_eq!(b.retry.max_retries, 5);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let b = builder_from(&[("COFRE_ADDR", " "), ("VAULT_ADDR", "http://v:1")], None).unwrap();
        assert_eq!(b.address.as_deref(), Some("http://v:1"));
    }

    #[test]
    fn nothing_set_means_defaults() {
        let b = builder_from(&[], None).unwrap();
        assert!(b.address.is_none() && b.token.is_none() && !b.skip_verify);
        let client = b.build().unwrap();
        assert_eq!(client.address(), DEFAULT_ADDRESS);
        assert_eq!(client.client_token(), None);
    }

    #[test]
    fn token_helper_file_is_used_without_a_token_variable() {
        let home = std::env::temp_dir().join(format!("cofre-client-home-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join(".cofre-token"), "s.fromfile\n").unwrap();
        let b = builder_from(&[], Some(&home)).unwrap();
        assert_eq!(b.token.as_deref(), Some("s.fromfile"));
        let b = builder_from(&[("VAULT_TOKEN", "s.env")], Some(&home)).unwrap();
        assert_eq!(b.token.as_deref(), Some("s.env"));
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn bad_booleans_and_timeouts_are_named() {
        let err = builder_from(&[("COFRE_SKIP_VERIFY", "maybe")], None).unwrap_err();
        assert!(err.to_string().contains("COFRE_SKIP_VERIFY"), "{err}");
        let err = builder_from(&[("VAULT_CLIENT_TIMEOUT", "soon")], None).unwrap_err();
        assert!(err.to_string().contains("VAULT_CLIENT_TIMEOUT"), "{err}");
    }

    #[test]
    fn go_booleans_parse() {
        for yes in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(parse_bool(yes), Some(true));
        }
        for no in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(parse_bool(no), Some(false));
        }
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_timeout("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timeout("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("1d"), None);
        assert_eq!(parse_timeout(""), None);
    }

    #[test]
    fn addresses_are_checked_and_trimmed() {
        assert_eq!(
            normalize_address("http://127.0.0.1:8200/").unwrap(),
            "http://127.0.0.1:8200"
        );
        let err = normalize_address("127.0.0.1:8200").unwrap_err();
        assert!(err.to_string().contains("https://127.0.0.1:8200"), "{err}");
        assert!(normalize_address("not a url").is_err());
    }

    #[test]
    fn unreadable_ca_file_says_which_file() {
        let err = Client::builder()
            .ca_cert_file("/nonexistent/ca.pem")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_token() {
        let b = Client::builder().token("s.secret");
        assert!(!format!("{b:?}").contains("s.secret"));
    }
}
