//! Retrying requests that are safe to repeat: which requests, on which answers, and how
//! long to wait between attempts (exponential backoff with jitter, at least the server's
//! `Retry-After`).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;

/// When and how the client retries a request that failed in a way that may pass on a
/// second try: a refused or broken connection, a 5xx (except 501) or a 429.
///
/// Reads (`GET`, `LIST`, `HEAD`) are retried; writes (`PUT`, `POST`, `PATCH`,
/// `DELETE`) only with [`RetryPolicy::retry_writes`], because a write whose answer was
/// lost may already have happened. Set it on the builder with
/// [`ClientBuilder::retry_policy`](crate::ClientBuilder::retry_policy) or
/// [`ClientBuilder::max_retries`](crate::ClientBuilder::max_retries).
///
/// ```
/// use std::time::Duration;
/// let policy = cofre_client::RetryPolicy {
///     max_retries: 4,
///     base_delay: Duration::from_millis(50),
///     ..Default::default()
/// };
/// // The first retry waits between half and all of the base delay.
/// let wait = policy.delay(0, None).expect("a retry is left");
/// assert!(wait >= Duration::from_millis(25) && wait <= Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2; 0 disables retrying).
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each later one (default 100 ms).
    pub base_delay: Duration,
    /// The longest wait between two attempts (default 10 s). A `Retry-After` longer than
    /// this is not waited for: the 429 is returned to the caller instead.
    pub max_delay: Duration,
    /// Also retry non-idempotent writes (default false).
    pub retry_writes: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            retry_writes: false,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    ///
    /// ```
    /// assert_eq!(cofre_client::RetryPolicy::none().max_retries, 0);
    /// ```
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Whether requests with this method may be retried at all.
    pub(crate) fn allows(&self, method: &Method) -> bool {
        let idempotent =
            *method == Method::GET || *method == Method::HEAD || method.as_str() == "LIST";
        idempotent || self.retry_writes
    }

    /// Whether an answer with this status is worth another try.
    pub(crate) fn retries_status(status: u16) -> bool {
        status == 429 || (500..600).contains(&status) && status != 501
    }

    /// How long to wait before retry number `attempt` (0 for the first retry), or `None`
    /// when no retry is left or the server asked for a longer wait than `max_delay`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = cofre_client::RetryPolicy::default();
    /// assert!(policy.delay(0, Some(Duration::from_secs(2))).unwrap() >= Duration::from_secs(2));
    /// assert_eq!(policy.delay(2, None), None); // two retries by default
    /// ```
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        self.delay_with(attempt, retry_after, random_unit())
    }

    /// [`RetryPolicy::delay`] with the jitter given: `unit` in `[0, 1]` picks a wait
    /// between half and all of the exponential delay.
    pub(crate) fn delay_with(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        if retry_after.is_some_and(|wait| wait > self.max_delay) {
            return None;
        }
        let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
        let exponential = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let jittered = exponential.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0));
        Some(jittered.max(retry_after.unwrap_or_default()))
    }
}

/// A number in `[0, 1]` that differs between calls and processes. Jitter needs no
/// cryptographic strength: the standard library's randomly keyed SipHash over a counter
/// is enough, and costs no dependency.
pub(crate) fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// 64 bits that differ between calls and processes (randomly keyed SipHash of a counter).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// The `Retry-After` header's value when it is whole seconds (an HTTP date is ignored).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_and_stay_within_the_jitter_band() {
        let policy = RetryPolicy {
            max_retries: 5,
            ..RetryPolicy::default()
        };
        for (attempt, full) in [(0, 100), (1, 200), (2, 400), (3, 800)] {
            assert_eq!(policy.delay_with(attempt, None, 0.0), Some(MS * full / 2));
            assert_eq!(policy.delay_with(attempt, None, 1.0), Some(MS * full));
            let random = policy.delay(attempt, None).unwrap();
            assert!(random >= MS * full / 2 && random <= MS * full, "{random:?}");
        }
    }

    #[test]
    fn delays_are_capped_and_retries_run_out() {
        let policy = RetryPolicy {
            max_retries: 40,
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        assert_eq!(
            policy.delay_with(30, None, 1.0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(RetryPolicy::default().delay_with(2, None, 0.5), None);
        assert_eq!(RetryPolicy::none().delay_with(0, None, 0.5), None);
    }

    #[test]
    fn retry_after_is_a_minimum_unless_too_long() {
        let policy = RetryPolicy::default();
        let two = Duration::from_secs(2);
        assert_eq!(policy.delay_with(0, Some(two), 1.0), Some(two));
        assert_eq!(
            policy.delay_with(0, Some(Duration::from_secs(11)), 1.0),
            None
        );
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn only_reads_are_retried_unless_writes_are_opted_in() {
        let policy = RetryPolicy::default();
        assert!(policy.allows(&Method::GET));
        assert!(policy.allows(&Method::from_bytes(b"LIST").unwrap()));
        assert!(!policy.allows(&Method::PUT));
        assert!(!policy.allows(&Method::POST));
        let writes = RetryPolicy {
            retry_writes: true,
            ..policy
        };
        assert!(writes.allows(&Method::POST));
    }

    #[test]
    fn retried_statuses() {
        for status in [429, 500, 502, 503, 504] {
            assert!(RetryPolicy::retries_status(status), "{status}");
        }
        for status in [200, 400, 403, 404, 412, 501] {
            assert!(!RetryPolicy::retries_status(status), "{status}");
        }
    }

    #[test]
    fn random_units_vary_within_bounds() {
        let values: Vec<f64> = (0..50).map(|_| random_unit()).collect();
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }
}
