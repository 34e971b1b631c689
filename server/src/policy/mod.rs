//! STUB (replaced by the real policy module)
use std::sync::Arc;
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)] pub enum Capability { Create, Read, Update, Patch, Delete, List, Sudo, Deny }
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)] pub struct Capabilities(u16);
impl Capabilities { pub fn contains(&self, _c: Capability) -> bool { false } pub fn is_empty(&self) -> bool { true } pub fn names(&self) -> Vec<&'static str> { vec![] } }
#[derive(Debug, Clone)] pub struct Policy { pub name: String, pub raw: String }
#[derive(Debug, thiserror::Error)] #[error("x")] pub struct ParseError;
pub fn parse(name: &str, text: &str) -> Result<Policy, ParseError> { Ok(Policy{name: name.into(), raw: text.into()}) }
pub fn default_policy_text() -> &'static str { "" }
pub struct Acl;
#[derive(Debug, thiserror::Error)] #[error("permission denied")] pub struct Denied;
impl Acl { pub fn new(_p: &[Arc<Policy>]) -> Acl { Acl } pub fn root() -> Acl { Acl } pub fn is_root(&self) -> bool { false }
 pub fn capabilities(&self, _p: &str) -> Capabilities { Capabilities(0) }
 pub fn check(&self, _p: &str, _c: Capability, _s: bool, _m: &serde_json::Map<String, serde_json::Value>) -> Result<(), Denied> { Err(Denied) } }
