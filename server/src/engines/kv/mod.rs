//! placeholder until the KV engines land
use super::Engine;
use crate::core::mounts::MountEntry;
use crate::core::RequestError;
use std::sync::Arc;
pub fn create(_entry: &MountEntry) -> Result<Arc<dyn Engine>, RequestError> {
    Err(RequestError::internal("kv not ready"))
}
