//! `sys/metrics`: the metrics registry plus the gauges that need the core (seal status,
//! live leases per mount, failed revocations), as Prometheus text (`format=prometheus`)
//! or Vault's JSON shape. Needs `read` on `sys/metrics` unless the config's `telemetry`
//! block sets `unauthenticated_metrics_access`.

use crate::core::{Core, Request, RequestError, Response};
use crate::metrics::{exposition, Family, Kind, Series, Value};

/// The Prometheus text exposition format's content type.
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Answers a scrape.
pub async fn metrics(core: &Core, req: &Request) -> Result<Response, RequestError> {
    let prometheus = match req.str_field("format")? {
        None | Some("") | Some("json") => false,
        Some("prometheus") => true,
        Some(other) => {
            return Err(RequestError::invalid(format!(
                "unknown metrics format {other:?}: use \"prometheus\" or leave it out for JSON"
            )))
        }
    };
    let families = collect(core).await?;
    if prometheus {
        return Ok(Response::text(
            PROMETHEUS_CONTENT_TYPE,
            exposition::prometheus(&families),
        ));
    }
    let now = crate::duration::rfc3339_nanos(std::time::SystemTime::now());
    Ok(Response::raw(200, exposition::json(&families, &now)))
}

async fn collect(core: &Core) -> Result<Vec<Family>, RequestError> {
    let mut families = core.settings.metrics.families();
    let unsealed = core.unsealed().ok();
    families.push(Family::single(
        "cofre_core_unsealed",
        "1 when the vault is unsealed, 0 when sealed.",
        Kind::Gauge,
        if unsealed.is_some() { 1.0 } else { 0.0 },
    ));
    let Some(unsealed) = unsealed else {
        return Ok(families);
    };
    let mut leases = Family::new(
        "cofre_expire_num_leases",
        "Live leases, by mount.",
        Kind::Gauge,
    );
    for (mount, n) in super::leases::counts_by_mount(&unsealed).await? {
        leases.push(
            Series::default().label("mount", &mount),
            Value::Scalar(n as f64),
        );
    }
    families.push(leases);
    let failures = unsealed
        .lease_metrics
        .revocation_failures
        .load(std::sync::atomic::Ordering::Relaxed);
    families.push(Family::single(
        "cofre_expire_revocation_failures_total",
        "Failed lease revocation attempts since unseal.",
        Kind::Counter,
        failures as f64,
    ));
    Ok(families)
}
