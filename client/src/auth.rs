//! Logging in: the auth methods that turn credentials into a token (`userpass`,
//! `approle`, `kubernetes`, `jwt`), reached through [`Client::auth`].
//!
//! One design for every method: `login` posts to `auth/<mount>/login…` without sending
//! any token, and returns a [`Login`]: the server's `auth` block and a new [`Client`]
//! that carries the new token (the original client is left unchanged, as every other
//! client in the SDK is immutable). An empty mount means the method's default mount.

use std::path::Path;

use serde_json::{json, Value};

use crate::token::Tokens;
use crate::{AuthInfo, Client, Error};

/// Where Kubernetes mounts a pod's service account token.
///
/// ```no_run
/// assert!(cofre_client::auth::SERVICE_ACCOUNT_TOKEN_PATH.ends_with("/token"));
/// ```
pub const SERVICE_ACCOUNT_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The auth methods; get it with [`Client::auth`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let login = client.auth().approle("").login("role-id", "secret-id").await?;
/// let app = login.client; // sends the new token
/// println!("token valid for {} s", login.auth.lease_duration);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Auth<'a> {
    client: &'a Client,
}

/// A successful login: the `auth` block and a client that uses its token.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let cofre_client::auth::Login { auth, client: app, .. } =
///     client.auth().userpass("").login("bob", "hunter2").await?;
/// let secret = app.read("secret/data/app").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Login {
    /// The new token, its accessor, policies and TTL.
    pub auth: AuthInfo,
    /// Remarks from the server, if any.
    pub warnings: Vec<String>,
    /// A copy of the client that logged in, sending the new token.
    pub client: Client,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("accessor", &self.auth.accessor)
            .field("policies", &self.auth.policies)
            .field("lease_duration", &self.auth.lease_duration)
            .field("client_token", &"[redacted]")
            .finish()
    }
}

impl<'a> Auth<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The token method (create, look up, renew, revoke); the same as [`Client::token`].
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// client.auth().token().renew_self(None).await?;
    /// # Ok(()) }
    /// ```
    pub fn token(&self) -> Tokens<'a> {
        self.client.token()
    }

    /// The userpass method at `mount` (`""` = `userpass`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().userpass("").login("bob", "hunter2").await?;
    /// # Ok(()) }
    /// ```
    pub fn userpass(&self, mount: &str) -> Userpass<'a> {
        Userpass(Method::new(self.client, mount, "userpass"))
    }

    /// The AppRole method at `mount` (`""` = `approle`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().approle("").login("role-id", "secret-id").await?;
    /// # Ok(()) }
    /// ```
    pub fn approle(&self, mount: &str) -> AppRole<'a> {
        AppRole(Method::new(self.client, mount, "approle"))
    }

    /// The Kubernetes method at `mount` (`""` = `kubernetes`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().kubernetes("").login_with_pod_token("app").await?;
    /// # Ok(()) }
    /// ```
    pub fn kubernetes(&self, mount: &str) -> Kubernetes<'a> {
        Kubernetes(Method::new(self.client, mount, "kubernetes"))
    }

    /// The JWT/OIDC method at `mount` (`""` = `jwt`), with a signed JWT.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let jwt = std::env::var("CI_JOB_JWT").unwrap_or_default();
    /// let login = client.auth().jwt("").login("ci", &jwt).await?;
    /// # Ok(()) }
    /// ```
    pub fn jwt(&self, mount: &str) -> Jwt<'a> {
        Jwt(Method::new(self.client, mount, "jwt"))
    }
}

/// One mounted auth method: the client and the mount path.
#[derive(Debug, Clone)]
struct Method<'a> {
    client: &'a Client,
    mount: String,
}

impl<'a> Method<'a> {
    fn new(client: &'a Client, mount: &str, default: &str) -> Self {
        let mount = mount.trim().trim_matches('/');
        let mount = if mount.is_empty() { default } else { mount };
        Self {
            client,
            mount: mount.to_string(),
        }
    }

    /// Posts a login request without a token and turns the answer into a [`Login`].
    async fn login(&self, request: LoginRequest) -> Result<Login, Error> {
        let anonymous = self.client.with_token("");
        let secret = anonymous.post(&request.path, &request.body).await?;
        let secret = secret.unwrap_or_default();
        let auth = secret.auth.ok_or_else(|| Error::Decode {
            method: "POST".into(),
            url: request.path.clone(),
            detail: "the login answer has no auth block".into(),
        })?;
        Ok(Login {
            client: self.client.with_token(auth.client_token.clone()),
            auth,
            warnings: secret.warnings.unwrap_or_default(),
        })
    }
}

/// A login call: the API path and the JSON body (kept apart so tests can check it).
#[derive(Debug, PartialEq)]
pub(crate) struct LoginRequest {
    path: String,
    body: Value,
}

/// Username and password logins; get it with [`Auth::userpass`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let app = client.auth().userpass("people").login("bob", "hunter2").await?.client;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Userpass<'a>(Method<'a>);

impl Userpass<'_> {
    /// Logs in as `username` (`auth/<mount>/login/<username>`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().userpass("").login("bob", "hunter2").await?;
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, username: &str, password: &str) -> Result<Login, Error> {
        self.0.login(self.request(username, password)).await
    }

    fn request(&self, username: &str, password: &str) -> LoginRequest {
        LoginRequest {
            path: format!("auth/{}/login/{}", self.0.mount, username.trim()),
            body: json!({ "password": password }),
        }
    }
}

/// AppRole logins for machines and CI; get it with [`Auth::approle`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let app = client.auth().approle("").login("role-id", "secret-id").await?.client;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AppRole<'a>(Method<'a>);

impl AppRole<'_> {
    /// Logs in with a role id and secret id (`auth/<mount>/login`). An empty `secret_id`
    /// is left out, for roles that do not bind one.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().approle("").login("role-id", "secret-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, role_id: &str, secret_id: &str) -> Result<Login, Error> {
        self.0.login(self.request(role_id, secret_id)).await
    }

    fn request(&self, role_id: &str, secret_id: &str) -> LoginRequest {
        let mut body = json!({ "role_id": role_id });
        if !secret_id.is_empty() {
            body["secret_id"] = json!(secret_id);
        }
        LoginRequest {
            path: format!("auth/{}/login", self.0.mount),
            body,
        }
    }
}

/// Kubernetes logins with a service account token; get it with [`Auth::kubernetes`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let app = client.auth().kubernetes("").login_with_pod_token("app").await?.client;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Kubernetes<'a>(Method<'a>);

impl Kubernetes<'_> {
    /// Logs in to `role` with a service account token (`auth/<mount>/login`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client, jwt: String) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().kubernetes("").login("app", &jwt).await?;
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, role: &str, jwt: &str) -> Result<Login, Error> {
        self.0
            .login(role_jwt_request(&self.0.mount, role, jwt))
            .await
    }

    /// Logs in with the pod's own token, read from [`SERVICE_ACCOUNT_TOKEN_PATH`].
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().kubernetes("").login_with_pod_token("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn login_with_pod_token(&self, role: &str) -> Result<Login, Error> {
        self.login_with_token_file(role, SERVICE_ACCOUNT_TOKEN_PATH)
            .await
    }

    /// Logs in with a token read from `path` (a projected service account token).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().kubernetes("").login_with_token_file("app", "/var/run/secrets/tokens/cofre").await?;
    /// # Ok(()) }
    /// ```
    pub async fn login_with_token_file(
        &self,
        role: &str,
        path: impl AsRef<Path>,
    ) -> Result<Login, Error> {
        let jwt = read_token_file(path.as_ref())?;
        self.login(role, &jwt).await
    }
}

/// JWT logins (CI systems' OIDC tokens); get it with [`Auth::jwt`].
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client, jwt: String) -> Result<(), cofre_client::Error> {
/// let app = client.auth().jwt("").login("ci", &jwt).await?.client;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Jwt<'a>(Method<'a>);

impl Jwt<'_> {
    /// Logs in to `role` with a signed JWT (`auth/<mount>/login`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client, jwt: String) -> Result<(), cofre_client::Error> {
    /// let login = client.auth().jwt("gitlab").login("ci", &jwt).await?;
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, role: &str, jwt: &str) -> Result<Login, Error> {
        self.0
            .login(role_jwt_request(&self.0.mount, role, jwt))
            .await
    }
}

/// The `{role, jwt}` login that the Kubernetes and JWT methods share.
fn role_jwt_request(mount: &str, role: &str, jwt: &str) -> LoginRequest {
    LoginRequest {
        path: format!("auth/{mount}/login"),
        body: json!({ "role": role, "jwt": jwt.trim() }),
    }
}

/// A token file's contents, trimmed; unreadable or empty is a configuration error.
pub(crate) fn read_token_file(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Config(format!(
            "cannot read the service account token {}: {e}; is this running in a pod \
             with a mounted service account token?",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::Config(format!(
            "the service account token file {} is empty",
            path.display()
        )));
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::builder().token("s.root").build().unwrap()
    }

    #[test]
    fn mounts_default_and_are_trimmed() {
        let client = client();
        let auth = client.auth();
        assert_eq!(auth.userpass("").0.mount, "userpass");
        assert_eq!(auth.approle(" ").0.mount, "approle");
        assert_eq!(auth.kubernetes("").0.mount, "kubernetes");
        assert_eq!(auth.jwt("").0.mount, "jwt");
        assert_eq!(auth.jwt("/gitlab/").0.mount, "gitlab");
    }

    #[test]
    fn userpass_and_approle_requests() {
        let client = client();
        assert_eq!(
            client.auth().userpass("people").request("bob", "pw"),
            LoginRequest {
                path: "auth/people/login/bob".into(),
                body: json!({"password": "pw"})
            }
        );
        assert_eq!(
            client.auth().approle("").request("rid", "sid").body,
            json!({"role_id": "rid", "secret_id": "sid"})
        );
        assert_eq!(
            client.auth().approle("").request("rid", "").body,
            json!({"role_id": "rid"})
        );
    }

    #[test]
    fn kubernetes_and_jwt_send_role_and_jwt() {
        assert_eq!(
            role_jwt_request("kubernetes", "app", "eyJ.x.y\n"),
            LoginRequest {
                path: "auth/kubernetes/login".into(),
                body: json!({"role": "app", "jwt": "eyJ.x.y"})
            }
        );
    }

    #[test]
    fn token_files_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("cofre-sa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "eyJ.a.b\n").unwrap();
        assert_eq!(read_token_file(&file).unwrap(), "eyJ.a.b");
        std::fs::write(&file, "  \n").unwrap();
        assert!(read_token_file(&file)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let missing = read_token_file(&dir.join("missing")).unwrap_err();
        assert!(
            missing.to_string().contains("service account token"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn login_debug_hides_the_token() {
        let login = Login {
            auth: AuthInfo {
                client_token: "s.hidden".into(),
                ..AuthInfo::default()
            },
            warnings: Vec::new(),
            client: client(),
        };
        assert!(!format!("{login:?}").contains("s.hidden"));
    }
}
