//! The database secrets engine (`database/`): leased dynamic credentials, static
//! credentials, and typed writers for connections and roles. Reached through
//! [`Client::database`]; leases are renewed with [`crate::watcher`] and revoked with
//! [`Client::leases`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Client, Error};

/// The database engine at one mount; get it with [`Client::database`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let creds = client.database("database").creds::<cofre_client::database::Credentials>("readonly").await?;
/// println!("user {} for {:?}", creds.data.username, creds.lease_duration);
/// client.leases().revoke(&creds.lease_id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Database<'a> {
    client: &'a Client,
    mount: String,
}

/// A leased secret: its data and the lease that bounds its life.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let creds: cofre_client::database::Leased<cofre_client::database::Credentials> =
///     client.database("database").creds("readonly").await?;
/// if creds.renewable { client.leases().renew(&creds.lease_id, None).await?; }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Leased<T> {
    /// The lease id (`database/creds/<role>/<random>`).
    pub lease_id: String,
    /// How long the secret is valid from issue.
    pub lease_duration: Duration,
    /// Whether the lease may be renewed.
    pub renewable: bool,
    /// The secret itself.
    pub data: T,
}

/// A database username and password. The password is wiped from memory on drop and
/// never printed by `Debug`.
///
/// ```no_run
/// # fn demo(creds: cofre_client::database::Credentials) {
/// let url = format!("postgres://{}:{}@db/app", creds.username, creds.password.expose());
/// # }
/// ```
#[derive(Clone, PartialEq, Deserialize)]
pub struct Credentials {
    /// The database user.
    pub username: String,
    /// Its password.
    pub password: Password,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// A password: zeroized on drop, `[redacted]` in `Debug`; [`Password::expose`] reads it.
///
/// ```
/// let password = cofre_client::database::Password::from("s3cret".to_string());
/// assert_eq!(password.expose(), "s3cret");
/// assert_eq!(format!("{password:?}"), "[redacted]");
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// The password in clear.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Password(text)
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A static role's current credentials (`static-creds/<role>`), rotated by the server.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let creds = client.database("database").static_creds("reporting").await?;
/// println!("{} rotates in {} s", creds.username, creds.ttl);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StaticCredentials {
    /// The database user the role manages.
    pub username: String,
    /// Its current password.
    pub password: Password,
    /// Seconds until the next rotation.
    #[serde(default)]
    pub ttl: u64,
    /// Seconds between rotations.
    #[serde(default)]
    pub rotation_period: u64,
    /// When the password was last rotated (RFC 3339).
    #[serde(default)]
    pub last_vault_rotation: String,
}

/// A connection (`config/<name>`): how the engine reaches one database.
///
/// ```no_run
/// let config = cofre_client::database::ConnectionConfig {
///     plugin_name: "postgresql-database-plugin".into(),
///     connection_url: "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres".into(),
///     username: "cofre".into(),
///     password: "admin-password".into(),
///     allowed_roles: vec!["readonly".into()],
///     ..Default::default()
/// };
/// ```
#[derive(Clone, Default, Serialize)]
pub struct ConnectionConfig {
    /// `postgresql-database-plugin` or `mysql-database-plugin`.
    pub plugin_name: String,
    /// The URL, with `{{username}}`/`{{password}}` placeholders.
    pub connection_url: String,
    /// The engine's own (administrative) user.
    pub username: String,
    /// Its password (sent once; the server never returns it).
    pub password: String,
    /// Roles allowed to use this connection (`*` for all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_roles: Vec<String>,
    /// Whether the server checks the connection before saving (server default: yes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_connection: Option<bool>,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("plugin_name", &self.plugin_name)
            .field("connection_url", &self.connection_url)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("allowed_roles", &self.allowed_roles)
            .finish()
    }
}

/// A dynamic role (`roles/<name>`): the SQL that creates and drops its users.
///
/// ```no_run
/// let role = cofre_client::database::Role {
///     db_name: "pg".into(),
///     creation_statements: vec!["CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';".into()],
///     default_ttl: Some("1h".into()),
///     max_ttl: Some("24h".into()),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct Role {
    /// The connection this role uses.
    pub db_name: String,
    /// SQL run to create a user (`{{name}}`, `{{password}}`, `{{expiration}}`).
    pub creation_statements: Vec<String>,
    /// SQL run to drop it (the plugin's default when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocation_statements: Vec<String>,
    /// The lease's initial TTL (`"1h"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ttl: Option<String>,
    /// The longest the lease may be renewed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<String>,
}

/// A static role (`static-roles/<name>`): an existing user whose password the engine
/// rotates.
///
/// ```no_run
/// let role = cofre_client::database::StaticRole {
///     db_name: "pg".into(),
///     username: "reporting".into(),
///     rotation_period: "24h".into(),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct StaticRole {
    /// The connection this role uses.
    pub db_name: String,
    /// The existing database user.
    pub username: String,
    /// How often the password is rotated (`"24h"`).
    pub rotation_period: String,
    /// SQL that sets the new password (the plugin's default when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rotation_statements: Vec<String>,
}

impl<'a> Database<'a> {
    pub(crate) fn new(client: &'a Client, mount: &str) -> Self {
        let mount = mount.trim().trim_matches('/');
        let mount = if mount.is_empty() { "database" } else { mount };
        Self {
            client,
            mount: mount.to_string(),
        }
    }

    /// New credentials for `role` (`creds/<role>`), with their lease. `T` is the data's
    /// shape, usually [`Credentials`].
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// use cofre_client::database::Credentials;
    /// let creds = client.database("database").creds::<Credentials>("readonly").await?;
    /// # Ok(()) }
    /// ```
    pub async fn creds<T: DeserializeOwned>(&self, role: &str) -> Result<Leased<T>, Error> {
        let path = self.path("creds", role);
        let secret = self
            .client
            .read(&path)
            .await?
            .ok_or_else(|| not_found(&path))?;
        Ok(Leased {
            data: secret.data_as()?,
            lease_id: secret.lease_id,
            lease_duration: Duration::from_secs(secret.lease_duration.max(0) as u64),
            renewable: secret.renewable,
        })
    }

    /// The current credentials of a static role (`static-creds/<role>`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let creds = client.database("database").static_creds("reporting").await?;
    /// # Ok(()) }
    /// ```
    pub async fn static_creds(&self, role: &str) -> Result<StaticCredentials, Error> {
        let path = self.path("static-creds", role);
        let secret = self
            .client
            .read(&path)
            .await?
            .ok_or_else(|| not_found(&path))?;
        secret.data_as()
    }

    /// Writes a connection (`config/<name>`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client, config: cofre_client::database::ConnectionConfig) -> Result<(), cofre_client::Error> {
    /// client.database("database").write_connection("pg", &config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_connection(
        &self,
        name: &str,
        config: &ConnectionConfig,
    ) -> Result<(), Error> {
        self.write(self.path("config", name), config).await
    }

    /// Writes a dynamic role (`roles/<name>`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client, role: cofre_client::database::Role) -> Result<(), cofre_client::Error> {
    /// client.database("database").write_role("readonly", &role).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_role(&self, name: &str, role: &Role) -> Result<(), Error> {
        self.write(self.path("roles", name), role).await
    }

    /// Writes a static role (`static-roles/<name>`); the server rotates its password now.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client, role: cofre_client::database::StaticRole) -> Result<(), cofre_client::Error> {
    /// client.database("database").write_static_role("reporting", &role).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_static_role(&self, name: &str, role: &StaticRole) -> Result<(), Error> {
        self.write(self.path("static-roles", name), role).await
    }

    /// Deletes a dynamic role (its issued credentials live until their leases end).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.database("database").delete_role("readonly").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_role(&self, name: &str) -> Result<(), Error> {
        self.client
            .delete(&self.path("roles", name))
            .await
            .map(drop)
    }

    fn path(&self, section: &str, name: &str) -> String {
        format!("{}/{section}/{}", self.mount, name.trim().trim_matches('/'))
    }

    async fn write(&self, path: String, body: &impl Serialize) -> Result<(), Error> {
        let body = crate::kv2::to_json(body)?;
        self.client.post(&path, &body).await.map(drop)
    }
}

fn not_found(path: &str) -> Error {
    Error::Api {
        status: 404,
        errors: vec![format!("nothing at {path}")],
        method: "GET".into(),
        url: path.to_string(),
        raw_body: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_the_mount_or_its_default() {
        let client = Client::builder().build().unwrap();
        assert_eq!(client.database("").path("creds", "ro"), "database/creds/ro");
        assert_eq!(client.database("/db/").path("roles", "/x/"), "db/roles/x");
    }

    #[test]
    fn role_and_connection_send_only_what_is_set() {
        let role = Role {
            db_name: "pg".into(),
            creation_statements: vec!["CREATE".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&role).unwrap(),
            serde_json::json!({"db_name": "pg", "creation_statements": ["CREATE"]})
        );
        let config = ConnectionConfig {
            password: "admin-pw".into(),
            ..Default::default()
        };
        assert!(!format!("{config:?}").contains("admin-pw"));
    }

    #[test]
    fn credentials_hide_the_password() {
        let creds: Credentials =
            serde_json::from_value(serde_json::json!({"username": "u", "password": "pw"})).unwrap();
        assert_eq!(creds.password.expose(), "pw");
        assert!(!format!("{creds:?}").contains("pw\""));
    }
}
