//! RFC 3339 timestamps in UTC with nanoseconds, as Go's `time.RFC3339Nano` writes them.
//!
//! The civil-date conversion is Howard Hinnant's days-from-civil algorithm, so no date crate
//! is needed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{with_fraction, DurationError};

const SECONDS_PER_DAY: i64 = 86_400;

/// Go's zero `time.Time`, which Vault prints for "never" in some responses.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// [`rfc3339_nanos`] of a time given in whole Unix seconds (stored expiry times).
pub fn rfc3339_unix(seconds: u64) -> String {
    rfc3339_nanos(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Formats a time as RFC 3339 in UTC with nanoseconds, trailing zeros of the fraction trimmed
/// (Go's `time.RFC3339Nano`): `"2018-03-22T02:24:06.945319214Z"`, `"2026-01-01T00:00:00Z"`.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let (seconds, nanos) = split_unix_time(t);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let fraction = with_fraction(0, u128::from(nanos), 9);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        &fraction[1..],
    )
}

/// Parses an RFC 3339 timestamp such as `"2018-03-22T02:24:06.945319214Z"` or
/// `"2018-03-22T04:24:06+02:00"`. Digits of the fraction beyond nanoseconds are truncated.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, DurationError> {
    let invalid = |reason| DurationError::InvalidTimestamp {
        input: s.to_owned(),
        reason,
    };
    let timestamp = Timestamp::parse(s.as_bytes()).map_err(invalid)?;
    let seconds = timestamp.unix_seconds();
    let since_epoch = Duration::new(seconds.unsigned_abs(), 0);
    let whole = if seconds >= 0 {
        UNIX_EPOCH.checked_add(since_epoch)
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)
    };
    whole
        .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(timestamp.nanos))))
        .ok_or_else(|| invalid("out of the range this system can represent"))
}

/// Seconds since the Unix epoch (negative before it) and the nanoseconds within that second.
fn split_unix_time(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => (after.as_secs() as i64, after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let seconds = -(before.as_secs() as i64);
            match before.subsec_nanos() {
                0 => (seconds, 0),
                nanos => (seconds - 1, 1_000_000_000 - nanos),
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The fields of "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)".
struct Timestamp {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    offset_seconds: i64,
}

impl Timestamp {
    fn parse(text: &[u8]) -> Result<Timestamp, &'static str> {
        let mut cursor = Cursor { text, position: 0 };
        let year = i64::from(cursor.number(4)?);
        cursor.literal(b'-')?;
        let month = cursor.number(2)?;
        cursor.literal(b'-')?;
        let day = cursor.number(2)?;
        cursor.literal(b'T')?;
        let hour = cursor.number(2)?;
        cursor.literal(b':')?;
        let minute = cursor.number(2)?;
        cursor.literal(b':')?;
        let second = cursor.number(2)?;
        let nanos = cursor.fraction()?;
        let offset_seconds = cursor.offset()?;
        if cursor.position != text.len() {
            return Err("unexpected text after the time zone");
        }
        let timestamp = Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset_seconds,
        };
        timestamp.check_ranges()?;
        Ok(timestamp)
    }

    fn check_ranges(&self) -> Result<(), &'static str> {
        if !(1..=12).contains(&self.month) {
            return Err("month out of range");
        }
        if self.day < 1 || self.day > days_in_month(self.year, self.month) {
            return Err("day out of range");
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 {
            return Err("time of day out of range");
        }
        Ok(())
    }

    fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let second_of_day = i64::from(self.hour * 3600 + self.minute * 60 + self.second);
        days * SECONDS_PER_DAY + second_of_day - self.offset_seconds
    }
}

struct Cursor<'a> {
    text: &'a [u8],
    position: usize,
}

impl Cursor<'_> {
    fn number(&mut self, digits: usize) -> Result<u32, &'static str> {
        let end = self.position + digits;
        let field = self.text.get(self.position..end).ok_or("too short")?;
        if !field.iter().all(u8::is_ascii_digit) {
            return Err("expected digits in the form YYYY-MM-DDTHH:MM:SSZ");
        }
        self.position = end;
        Ok(field
            .iter()
            .fold(0, |value, digit| value * 10 + u32::from(digit - b'0')))
    }

    fn literal(&mut self, wanted: u8) -> Result<(), &'static str> {
        match self.text.get(self.position) {
            Some(&found) if found == wanted => {
                self.position += 1;
                Ok(())
            }
            _ => Err("not in the form YYYY-MM-DDTHH:MM:SSZ"),
        }
    }

    /// An optional ".digits", as nanoseconds; digits past the ninth are truncated.
    fn fraction(&mut self) -> Result<u32, &'static str> {
        if self.text.get(self.position) != Some(&b'.') {
            return Ok(0);
        }
        self.position += 1;
        let start = self.position;
        while self.text.get(self.position).is_some_and(u8::is_ascii_digit) {
            self.position += 1;
        }
        let digits = &self.text[start..self.position];
        if digits.is_empty() {
            return Err("expected digits after the decimal point");
        }
        let kept = &digits[..digits.len().min(9)];
        let value = kept
            .iter()
            .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
        Ok(value * 10u32.pow(9 - kept.len() as u32))
    }

    /// "Z" or "±HH:MM", as seconds east of UTC.
    fn offset(&mut self) -> Result<i64, &'static str> {
        let sign = match self.text.get(self.position) {
            Some(b'Z') => {
                self.position += 1;
                return Ok(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err("expected a time zone: Z or an offset like +02:00"),
        };
        self.position += 1;
        let hours = self.number(2)?;
        self.literal(b':')?;
        let minutes = self.number(2)?;
        if hours > 23 || minutes > 59 {
            return Err("time zone offset out of range");
        }
        Ok(sign * i64::from(hours * 3600 + minutes * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_over_many_years() {
        for days in (-800_000..800_000).step_by(97) {
            let (year, month, day) = civil_from_days(days);
            assert!(day >= 1 && day <= days_in_month(year, month));
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
