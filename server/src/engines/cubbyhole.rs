//! placeholder
use super::{Engine, MountContext};
use crate::core::{Request, RequestError, Response};
use async_trait::async_trait;
pub struct Cubbyhole;
#[async_trait]
impl Engine for Cubbyhole {
    async fn handle(&self, _c: &MountContext, _r: &Request) -> Result<Response, RequestError> {
        Err(RequestError::NotFound)
    }
}
