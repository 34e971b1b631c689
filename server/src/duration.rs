//! Durations and timestamps in the text forms Vault reads and writes.
//!
//! Durations are parsed as Vault's `parseutil.ParseDurationSecond` does (Go's
//! `time.ParseDuration`, plus bare integers meaning seconds and a `d` suffix for days) and
//! printed as Go's `time.Duration.String()`. Timestamps (in `rfc3339`, re-exported here) are
//! RFC 3339 in UTC with up to nine fractional digits, trailing zeros trimmed, as Go's
//! `time.RFC3339Nano` prints them.

mod rfc3339;

use std::time::Duration;

pub use rfc3339::{parse_rfc3339, rfc3339_nanos, rfc3339_unix, ZERO_TIME};

/// Go's `time.Duration` is an `i64` of nanoseconds; longer durations are rejected like Go does.
const MAX_NANOS: u128 = i64::MAX as u128;
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Why a duration or a timestamp could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DurationError {
    /// The text is not a duration.
    #[error("invalid duration \"{input}\": {reason}")]
    Invalid {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The duration is negative; Vault's TTLs and periods cannot be.
    #[error("invalid duration \"{0}\": durations cannot be negative")]
    Negative(String),
    /// The duration is longer than Go's `time.Duration` can hold (about 292 years).
    #[error("invalid duration \"{0}\": too long (the maximum is about 292 years)")]
    TooLong(String),
    /// A JSON value of a type that cannot be a duration.
    #[error("a duration must be a number of seconds or a string like \"1h30m\", got {0}")]
    WrongType(&'static str),
    /// The text is not an RFC 3339 timestamp.
    #[error("invalid RFC 3339 timestamp \"{input}\": {reason}")]
    InvalidTimestamp {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Parses a duration as Vault accepts it: `"30s"`, `"10m"`, `"1h30m"`, `"768h"`, `"1.5h"`,
/// `"500ms"`, `"0"`, `"7d"`, or a bare integer meaning seconds (`"3600"`).
///
/// Surrounding whitespace is ignored and the empty string means zero, as in Vault.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let text = s.trim();
    if text.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Some(seconds) = parse_signed_integer(text, s)? {
        return Ok(Duration::from_secs(seconds));
    }
    if let Some(days) = text.strip_suffix('d') {
        return parse_days(days, s);
    }
    parse_go_duration(text, s)
}

/// Parses a duration from a JSON value: a number of seconds (fractions are truncated, as in
/// Vault), a string as for [`parse_duration`], or null for zero.
pub fn parse_duration_value(v: &serde_json::Value) -> Result<Duration, DurationError> {
    match v {
        serde_json::Value::Null => Ok(Duration::ZERO),
        serde_json::Value::String(text) => parse_duration(text),
        serde_json::Value::Number(number) => duration_from_number(number),
        serde_json::Value::Bool(_) => Err(DurationError::WrongType("a boolean")),
        serde_json::Value::Array(_) => Err(DurationError::WrongType("a list")),
        serde_json::Value::Object(_) => Err(DurationError::WrongType("an object")),
    }
}

/// Formats a duration as Go's `time.Duration.String()`: `"768h0m0s"`, `"1m30s"`, `"30s"`,
/// `"1.5s"`, `"500ms"`, `"0s"`.
pub fn format_go(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < NANOS_PER_SECOND {
        return format_below_one_second(nanos);
    }
    let whole_seconds = nanos / NANOS_PER_SECOND;
    let seconds = with_fraction(whole_seconds % 60, nanos % NANOS_PER_SECOND, 9);
    let total_minutes = whole_seconds / 60;
    match total_minutes {
        0 => format!("{seconds}s"),
        1..60 => format!("{total_minutes}m{seconds}s"),
        _ => format!("{}h{}m{seconds}s", total_minutes / 60, total_minutes % 60),
    }
}

/// A bare integer is a number of seconds; `None` if the text is not an integer at all.
fn parse_signed_integer(text: &str, input: &str) -> Result<Option<u64>, DurationError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let seconds: u64 = digits
        .parse()
        .map_err(|_| DurationError::TooLong(input.to_owned()))?;
    if negative && seconds != 0 {
        return Err(DurationError::Negative(input.to_owned()));
    }
    check_length(u128::from(seconds) * NANOS_PER_SECOND, input)?;
    Ok(Some(seconds))
}

fn parse_days(days: &str, input: &str) -> Result<Duration, DurationError> {
    match parse_signed_integer(days, input)? {
        Some(days) => {
            let seconds = u128::from(days) * 86_400;
            check_length(seconds * NANOS_PER_SECOND, input)?;
            Ok(Duration::from_secs(days * 86_400))
        }
        None => Err(invalid(
            input,
            "a day count must be a whole number, like \"7d\"",
        )),
    }
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers, each with an optional fraction
/// and a unit (ns, us, µs, ms, s, m, h), such as "1h30m" or "1.5h".
fn parse_go_duration(text: &str, input: &str) -> Result<Duration, DurationError> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid(
            input,
            "expected a number and a unit, like \"30s\" or \"1h30m\"",
        ));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, remaining) = parse_component(rest, input)?;
        total = total.saturating_add(nanos);
        check_length(total, input)?;
        rest = remaining;
    }
    if negative && total != 0 {
        return Err(DurationError::Negative(input.to_owned()));
    }
    Ok(duration_from_nanos(total))
}

/// One "<number>[.<fraction>]<unit>" component; returns its nanoseconds and the rest.
fn parse_component<'a>(text: &'a str, input: &str) -> Result<(u128, &'a str), DurationError> {
    let (whole, rest) = split_digits(text);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => split_digits(after_dot),
        None => ("", rest),
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(invalid(input, "expected a number before each unit"));
    }
    let unit_len = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let unit_nanos = unit_in_nanos(&rest[..unit_len]).ok_or_else(|| match unit_len {
        0 => invalid(input, "missing unit (use ns, us, ms, s, m or h)"),
        _ => invalid(input, "unknown unit (use ns, us, ms, s, m or h)"),
    })?;
    let whole_value: u128 = match whole {
        "" => 0,
        digits => digits
            .parse()
            .map_err(|_| DurationError::TooLong(input.to_owned()))?,
    };
    let nanos = whole_value.saturating_mul(unit_nanos) + fraction_nanos(fraction, unit_nanos);
    Ok((nanos, &rest[unit_len..]))
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// The value of ".<digits>" of a unit, truncated to whole nanoseconds as Go does.
fn fraction_nanos(digits: &str, unit_nanos: u128) -> u128 {
    // 18 digits keep the arithmetic inside u128 and are far below nanosecond precision.
    let digits = &digits[..digits.len().min(18)];
    let numerator: u128 = digits
        .bytes()
        .fold(0, |value, digit| value * 10 + u128::from(digit - b'0'));
    numerator * unit_nanos / 10u128.pow(digits.len() as u32)
}

fn unit_in_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3_600 * NANOS_PER_SECOND,
        _ => return None,
    })
}

fn duration_from_number(number: &serde_json::Number) -> Result<Duration, DurationError> {
    let text = number.to_string();
    if let Some(seconds) = number.as_u64() {
        check_length(u128::from(seconds) * NANOS_PER_SECOND, &text)?;
        return Ok(Duration::from_secs(seconds));
    }
    match number.as_f64() {
        Some(seconds) if seconds <= -1.0 => Err(DurationError::Negative(text)),
        Some(seconds) if seconds < (MAX_NANOS / NANOS_PER_SECOND) as f64 => {
            // Vault converts a float number of seconds with Go's truncating conversion.
            Ok(Duration::from_secs(seconds.max(0.0) as u64))
        }
        _ => Err(DurationError::TooLong(text)),
    }
}

fn check_length(nanos: u128, input: &str) -> Result<(), DurationError> {
    match nanos > MAX_NANOS {
        true => Err(DurationError::TooLong(input.to_owned())),
        false => Ok(()),
    }
}

fn duration_from_nanos(nanos: u128) -> Duration {
    // Callers have checked nanos <= i64::MAX, so both parts fit.
    let seconds = (nanos / NANOS_PER_SECOND) as u64;
    Duration::new(seconds, (nanos % NANOS_PER_SECOND) as u32)
}

fn invalid(input: &str, reason: &'static str) -> DurationError {
    DurationError::Invalid {
        input: input.to_owned(),
        reason,
    }
}

/// Below a second Go picks the largest unit that keeps the integer part non-zero.
fn format_below_one_second(nanos: u128) -> String {
    match nanos {
        0..1_000 => format!("{nanos}ns"),
        1_000..1_000_000 => format!("{}µs", with_fraction(nanos / 1_000, nanos % 1_000, 3)),
        _ => format!(
            "{}ms",
            with_fraction(nanos / 1_000_000, nanos % 1_000_000, 6)
        ),
    }
}

/// "<whole>.<fraction>" with `digits` fraction digits, trailing zeros and a bare point removed.
fn with_fraction(whole: u128, fraction: u128, digits: usize) -> String {
    let fraction = format!("{fraction:0digits$}");
    let fraction = fraction.trim_end_matches('0');
    match fraction.is_empty() {
        true => whole.to_string(),
        false => format!("{whole}.{fraction}"),
    }
}

#[cfg(test)]
mod tests;
