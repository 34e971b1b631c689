//! Response wrapping (`sys/wrapping/*`): unwrap an answer someone wrapped for you, look
//! a wrapping token up without using it, rewrap, or wrap data of your own. Ask for a
//! wrapped answer with [`Client::with_wrap_ttl`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::Sys;
use crate::{Client, Error, Secret, WrapInfo};

/// What `sys/wrapping/lookup` tells about a wrapping token.
///
/// ```no_run
/// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
/// let info = client.sys().wrap_lookup("s.wrapping").await?;
/// println!("wraps {} for {}s", info.creation_path, info.creation_ttl);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WrapLookup {
    /// The path whose answer the token wraps.
    pub creation_path: String,
    /// When the token was created (RFC 3339).
    pub creation_time: String,
    /// The token's TTL in seconds.
    pub creation_ttl: i64,
}

impl Sys<'_> {
    /// Unwraps `token` and returns the answer's `data` as `T`. The wrapping token is sent
    /// as Vault's client does: in the body, or as the client's token when the client has
    /// none (an empty `token` unwraps the client's own token). A token unwraps once; a
    /// second try (or an expired token) is a 400 "wrapping token is not valid or does
    /// not exist".
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Kv2 { data: std::collections::BTreeMap<String, String> }
    /// let wrap = client.with_wrap_ttl("60").read("secret/data/app").await?
    ///     .and_then(|secret| secret.wrap_info).expect("a wrapped answer");
    /// let secret: Kv2 = client.sys().unwrap(&wrap.token).await?;
    /// println!("password = {}", secret.data["password"]);
    /// # Ok(()) }
    /// ```
    pub async fn unwrap<T: DeserializeOwned>(&self, token: &str) -> Result<T, Error> {
        self.unwrap_secret(token).await?.data_as()
    }

    /// Unwraps `token` and returns the whole answer (with `auth` when it wrapped a token,
    /// and the lease of a leased secret).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let answer = client.sys().unwrap_secret("s.wrapping").await?;
    /// if let Some(auth) = answer.auth { println!("new token {}", auth.accessor) }
    /// # Ok(()) }
    /// ```
    pub async fn unwrap_secret(&self, token: &str) -> Result<Secret, Error> {
        let (client, body) = self.wrapping_call(token);
        let secret = client.post("sys/wrapping/unwrap", &body).await?;
        Ok(secret.unwrap_or_default())
    }

    /// Looks a wrapping token up without using it.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let info = client.sys().wrap_lookup("s.wrapping").await?;
    /// # Ok(()) }
    /// ```
    pub async fn wrap_lookup(&self, token: &str) -> Result<WrapLookup, Error> {
        let unwrapped_answer = self.client.with_wrap_ttl("");
        let secret = unwrapped_answer
            .post("sys/wrapping/lookup", &json!({ "token": token }))
            .await?;
        secret.unwrap_or_default().data_as()
    }

    /// Moves a wrapped answer into a new wrapping token (same TTL and creation path);
    /// the old token stops working.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let fresh = client.sys().rewrap("s.wrapping").await?;
    /// # Ok(()) }
    /// ```
    pub async fn rewrap(&self, token: &str) -> Result<WrapInfo, Error> {
        let (client, body) = self.wrapping_call(token);
        wrap_info(client.post("sys/wrapping/rewrap", &body).await?)
    }

    /// Wraps `data` of your own for `ttl` (seconds or a duration such as `"5m"`).
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let wrap = client.sys().wrap(&serde_json::json!({"password": "s3cret"}), "10m").await?;
    /// println!("send {} to the recipient", wrap.token);
    /// # Ok(()) }
    /// ```
    pub async fn wrap(&self, data: &Value, ttl: &str) -> Result<WrapInfo, Error> {
        let wrapping = self.client.with_wrap_ttl(ttl);
        wrap_info(wrapping.post("sys/wrapping/wrap", data).await?)
    }

    /// The client and body that present `token` as the wrapping token, as Vault's
    /// client does.
    fn wrapping_call(&self, token: &str) -> (Client, Value) {
        let token = token.trim();
        // A wrapped answer to an unwrap would be wrapped again: never ask for it here.
        let client = self.client.with_wrap_ttl("");
        match self.client.client_token() {
            _ if token.is_empty() => (client, json!({})),
            None => (client.with_token(token), json!({})),
            Some(own) if own == token => (client, json!({})),
            Some(_) => (
                client,
                Value::Object(Map::from_iter([("token".into(), json!(token))])),
            ),
        }
    }
}

fn wrap_info(secret: Option<Secret>) -> Result<WrapInfo, Error> {
    secret
        .and_then(|secret| secret.wrap_info)
        .ok_or_else(|| Error::Decode {
            method: "POST".into(),
            url: String::new(),
            detail: "the answer carries no wrap_info".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(token: Option<&str>) -> Client {
        let builder = Client::builder().address("http://127.0.0.1:1");
        match token {
            Some(token) => builder.token(token).build().unwrap(),
            None => builder.build().unwrap(),
        }
    }

    #[test]
    fn the_wrapping_token_goes_where_vaults_client_puts_it() {
        let own = client(Some("s.own")).with_wrap_ttl("60");
        let (sent, body) = own.sys().wrapping_call("s.wrap");
        assert_eq!(
            (sent.client_token(), sent.wrap_ttl()),
            (Some("s.own"), None)
        );
        assert_eq!(body, json!({"token": "s.wrap"}));
        let (sent, body) = own.sys().wrapping_call("s.own");
        assert_eq!((sent.client_token(), body), (Some("s.own"), json!({})));
        let (sent, body) = own.sys().wrapping_call("");
        assert_eq!((sent.client_token(), body), (Some("s.own"), json!({})));
        let anonymous = client(None);
        let (sent, body) = anonymous.sys().wrapping_call("s.wrap");
        assert_eq!((sent.client_token(), body), (Some("s.wrap"), json!({})));
    }
}
