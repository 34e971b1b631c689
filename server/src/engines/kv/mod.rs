//! placeholder until the KV engines land
use std::sync::Arc;
use crate::core::mounts::MountEntry;
use crate::core::RequestError;
use super::Engine;
pub fn create(_entry: &MountEntry) -> Result<Arc<dyn Engine>, RequestError> { Err(RequestError::internal("kv not ready")) }
