//! Path help: what `GET /v1/<path>?help=1` answers (`vault path-help`).

use reqwest::Method;
use serde_json::Value;

use crate::client::Body;
use crate::{Client, Error};

/// A path's help, as `GET /v1/<path>?help=1` answers it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Help {
    /// The text `vault path-help` prints.
    pub help: String,
    /// An OpenAPI document for the path (Cofre's is minimal: paths and synopses).
    #[serde(default)]
    pub openapi: Option<Value>,
}

impl Client {
    /// The help text of `path` (`GET /v1/<path>?help=1`, what `vault path-help` prints).
    /// An unknown path is an [`Error::Api`] with status 404.
    ///
    /// ```no_run
    /// # async fn demo(client: cofre_client::Client) -> Result<(), cofre_client::Error> {
    /// let help = client.help("secret/data/app").await?;
    /// println!("{}", help.help);
    /// # Ok(()) }
    /// ```
    pub async fn help(&self, path: &str) -> Result<Help, Error> {
        let response = self
            .send(Method::GET, path, &[("help", "1")], Body::None)
            .await?;
        crate::sys::decode_payload(response)
    }
}
