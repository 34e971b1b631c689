//! Tests of duration parsing and formatting and of RFC 3339 timestamps.

use super::*;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn at(seconds: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(seconds, nanos)
}

#[test]
fn parses_go_durations() {
    let cases = [
        ("30s", secs(30)),
        ("10m", secs(600)),
        ("1h30m", secs(5400)),
        ("768h", secs(768 * 3600)),
        ("1.5h", secs(5400)),
        ("500ms", Duration::from_millis(500)),
        ("1m30.5s", Duration::from_millis(90_500)),
        ("2h45m10s", secs(2 * 3600 + 45 * 60 + 10)),
        ("100ns", Duration::from_nanos(100)),
        ("15us", Duration::from_micros(15)),
        ("15µs", Duration::from_micros(15)),
        (".5s", Duration::from_millis(500)),
        ("5.s", secs(5)),
        ("+1h", secs(3600)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text), Ok(expected), "{text}");
    }
}

#[test]
fn parses_vault_extras() {
    assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    assert_eq!(parse_duration("3600"), Ok(secs(3600)));
    assert_eq!(parse_duration("7d"), Ok(secs(7 * 86_400)));
    assert_eq!(parse_duration(""), Ok(Duration::ZERO));
    assert_eq!(parse_duration("  1h "), Ok(secs(3600)));
    assert_eq!(parse_duration("-0"), Ok(Duration::ZERO));
}

#[test]
fn rejects_malformed_durations() {
    for text in [
        "h", "1x", "1h 30m", ".", "1.5", "abc", "1hh", "1d2h", "1.5d", "-", "--1s",
    ] {
        let result = parse_duration(text);
        assert!(
            matches!(result, Err(DurationError::Invalid { .. })),
            "{text}: {result:?}"
        );
    }
}

#[test]
fn error_messages_say_what_to_write() {
    let message = parse_duration("10x").unwrap_err();
    assert_eq!(
        message.to_string(),
        "invalid duration \"10x\": unknown unit (use ns, us, ms, s, m or h)"
    );
    let message = parse_duration("1.5").unwrap_err().to_string();
    assert!(message.contains("missing unit"), "{message}");
}

#[test]
fn rejects_negative_durations() {
    for text in ["-1s", "-5", "-1h30m", "-2d"] {
        assert!(
            matches!(parse_duration(text), Err(DurationError::Negative(_))),
            "{text}"
        );
    }
}

#[test]
fn rejects_durations_longer_than_go_allows() {
    assert_eq!(parse_duration("2562047h"), Ok(secs(2_562_047 * 3600)));
    for text in [
        "2562048h",
        "99999999999999999999s",
        "9223372037",
        "106752d",
        "99999999999999999999",
    ] {
        assert!(
            matches!(parse_duration(text), Err(DurationError::TooLong(_))),
            "{text}: {:?}",
            parse_duration(text)
        );
    }
}

#[test]
fn parses_json_values() {
    assert_eq!(parse_duration_value(&json!(3600)), Ok(secs(3600)));
    assert_eq!(parse_duration_value(&json!("1h")), Ok(secs(3600)));
    assert_eq!(parse_duration_value(&json!("3600")), Ok(secs(3600)));
    assert_eq!(parse_duration_value(&json!(1.9)), Ok(secs(1)));
    assert_eq!(parse_duration_value(&json!(null)), Ok(Duration::ZERO));
    assert!(matches!(
        parse_duration_value(&json!(-5)),
        Err(DurationError::Negative(_))
    ));
    assert_eq!(
        parse_duration_value(&json!(true)),
        Err(DurationError::WrongType("a boolean"))
    );
    assert!(matches!(
        parse_duration_value(&json!([1])),
        Err(DurationError::WrongType(_))
    ));
    assert!(matches!(
        parse_duration_value(&json!(1e30)),
        Err(DurationError::TooLong(_))
    ));
}

#[test]
fn formats_like_go() {
    let cases = [
        (Duration::ZERO, "0s"),
        (secs(30), "30s"),
        (secs(90), "1m30s"),
        (secs(60), "1m0s"),
        (secs(3600), "1h0m0s"),
        (secs(768 * 3600), "768h0m0s"),
        (secs(5400), "1h30m0s"),
        (Duration::from_millis(1500), "1.5s"),
        (Duration::from_millis(500), "500ms"),
        (Duration::from_micros(1500), "1.5ms"),
        (Duration::from_nanos(1500), "1.5µs"),
        (Duration::from_nanos(999), "999ns"),
        (Duration::new(3661, 1), "1h1m1.000000001s"),
    ];
    for (duration, expected) in cases {
        assert_eq!(format_go(duration), expected, "{duration:?}");
    }
}

#[test]
fn formatted_durations_parse_back() {
    for nanos in [
        1,
        999,
        1_500,
        2_000_000,
        1_000_000_000,
        90_500_000_000,
        3_600_000_000_123,
    ] {
        let duration = Duration::from_nanos(nanos);
        assert_eq!(
            parse_duration(&format_go(duration)),
            Ok(duration),
            "{nanos}"
        );
    }
}

#[test]
fn formats_timestamps_like_go_rfc3339_nano() {
    assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339_nanos(at(1_521_685_446, 945_319_214)),
        "2018-03-22T02:24:06.945319214Z"
    );
    assert_eq!(
        rfc3339_nanos(at(1_521_685_446, 945_000_000)),
        "2018-03-22T02:24:06.945Z"
    );
    assert_eq!(
        rfc3339_nanos(at(1_521_685_446, 10)),
        "2018-03-22T02:24:06.00000001Z"
    );
    assert_eq!(rfc3339_nanos(at(1_795_426_575, 0)), "2026-11-23T09:36:15Z");
}

#[test]
fn handles_leap_years() {
    // 2024-02-29 exists; 2000 is a leap year, 1900 and 2100 are not.
    let leap_day = parse_rfc3339("2024-02-29T12:00:00Z").expect("valid date");
    assert_eq!(rfc3339_nanos(leap_day), "2024-02-29T12:00:00Z");
    assert_eq!(
        rfc3339_nanos(leap_day + secs(86_400)),
        "2024-03-01T12:00:00Z"
    );
    assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
    assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_err());
    assert!(parse_rfc3339("2100-02-29T00:00:00Z").is_err());
    assert!(parse_rfc3339("1900-02-29T00:00:00Z").is_err());
    let end_of_2024 = parse_rfc3339("2024-12-31T23:59:59Z").expect("valid date");
    assert_eq!(rfc3339_nanos(end_of_2024 + secs(1)), "2025-01-01T00:00:00Z");
}

#[test]
fn timestamps_round_trip() {
    for (seconds, nanos) in [
        (0, 0),
        (1, 1),
        (951_782_400, 500),
        (4_102_444_800, 999_999_999),
    ] {
        let time = at(seconds, nanos);
        assert_eq!(parse_rfc3339(&rfc3339_nanos(time)), Ok(time));
    }
}

#[test]
fn zero_time_round_trips() {
    let zero = parse_rfc3339(ZERO_TIME).expect("the zero time is representable");
    assert_eq!(zero + secs(62_135_596_800), UNIX_EPOCH);
    assert_eq!(rfc3339_nanos(zero), ZERO_TIME);
    let just_before_epoch = UNIX_EPOCH - Duration::from_nanos(1);
    assert_eq!(
        rfc3339_nanos(just_before_epoch),
        "1969-12-31T23:59:59.999999999Z"
    );
}

#[test]
fn parses_offsets_and_long_fractions() {
    let utc = parse_rfc3339("2018-03-22T02:24:06Z").expect("valid");
    assert_eq!(parse_rfc3339("2018-03-22T04:24:06+02:00"), Ok(utc));
    assert_eq!(parse_rfc3339("2018-03-21T21:24:06-05:00"), Ok(utc));
    let truncated = parse_rfc3339("2018-03-22T02:24:06.1234567899Z").expect("valid");
    assert_eq!(rfc3339_nanos(truncated), "2018-03-22T02:24:06.123456789Z");
}

#[test]
fn rejects_malformed_timestamps() {
    for text in [
        "",
        "2018-03-22",
        "2018-03-22 02:24:06Z",
        "2018-03-22T02:24:06",
        "2018-13-01T00:00:00Z",
        "2018-04-31T00:00:00Z",
        "2018-03-22T24:00:00Z",
        "2018-03-22T23:60:00Z",
        "2018-03-22T23:59:60Z",
        "2018-03-22T02:24:06.Z",
        "2018-03-22T02:24:06+2:00",
        "2018-03-22T02:24:06Zjunk",
        "18-03-22T02:24:06Z",
    ] {
        assert!(
            matches!(
                parse_rfc3339(text),
                Err(DurationError::InvalidTimestamp { .. })
            ),
            "{text}"
        );
    }
    let message = parse_rfc3339("2018-13-01T00:00:00Z")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "invalid RFC 3339 timestamp \"2018-13-01T00:00:00Z\": month out of range"
    );
}
