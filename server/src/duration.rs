//! STUB
#[derive(Debug, thiserror::Error)] #[error("x")] pub struct DurationError;
pub fn parse_duration_value(_v: &serde_json::Value) -> Result<std::time::Duration, DurationError> { Err(DurationError) }
pub fn format_go(_d: std::time::Duration) -> String { String::new() }
pub fn rfc3339_nanos(_t: std::time::SystemTime) -> String { String::new() }
