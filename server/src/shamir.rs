//! STUB
#[derive(Debug, thiserror::Error, PartialEq)] #[error("x")] pub struct ShamirError;
pub fn split(_s: &[u8], _n: u8, _t: u8) -> Result<Vec<zeroize::Zeroizing<Vec<u8>>>, ShamirError> { Err(ShamirError) }
pub fn combine(_p: &[&[u8]]) -> Result<zeroize::Zeroizing<Vec<u8>>, ShamirError> { Err(ShamirError) }
