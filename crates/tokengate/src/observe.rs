//! Metrics through the `metrics` facade (feature `metrics`): names, units and labels are a
//! stable interface, listed in `docs/observability.md`. Label values are fixed words, stable
//! error codes and configured issuer names — never anything read from a token.

use std::sync::OnceLock;
use std::time::Duration;

#[cfg(feature = "remote")]
use metrics::gauge;
use metrics::{
    Counter, Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram,
    histogram,
};

use crate::error::ErrorKind;

/// Histogram bucket bounds (seconds) fitting tokengate's durations, from a cache hit (about a
/// microsecond) to a slow key fetch or introspection call (seconds). Exporters that aggregate
/// histograms into buckets (Prometheus) need them for `histogram_quantile`, e.g.
/// `PrometheusBuilder::set_buckets_for_metric(Matcher::Prefix("tokengate.".into()), SECONDS_BUCKETS)`.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.000_002, 0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001,
    0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// One of tokengate's metrics, as [`METRICS`] lists them: OpenTelemetry's naming
/// (dot-separated, the unit in `unit`, attributes in the `tokengate.` namespace or OpenTelemetry's
/// own such as `error.type`), and the name a Prometheus exporter with OpenTelemetry's
/// recommended naming prints (`PrometheusBuilder::with_recommended_naming(true)`: dots become
/// underscores, counters end in `_total`, seconds in `_seconds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metric {
    /// The name, as recorded.
    pub name: &'static str,
    /// `counter`, `histogram` or `gauge`.
    pub kind: &'static str,
    /// The UCUM unit (`s`, or an annotation such as `{request}`).
    pub unit: &'static str,
    /// Its attributes (labels); every value is bounded (fixed words, error codes, configured
    /// issuers).
    pub labels: &'static [&'static str],
    /// The Prometheus name with OpenTelemetry's recommended naming.
    pub prometheus: &'static str,
    /// Its name before OpenTelemetry naming (`docs/observability.md`, "Migrating").
    pub formerly: &'static str,
    /// What it counts.
    pub description: &'static str,
}

pub(crate) const REQUESTS: &str = "tokengate.requests";
pub(crate) const DURATION: &str = "tokengate.request.duration";
pub(crate) const KEY_FETCHES: &str = "tokengate.key_fetches";
pub(crate) const KEY_FETCH_DURATION: &str = "tokengate.key_fetch.duration";
pub(crate) const KEYS_LOADED: &str = "tokengate.keys.loaded";
pub(crate) const STALE_KEYS: &str = "tokengate.stale_keys.served";
pub(crate) const KID_REFRESHES: &str = "tokengate.kid_refreshes";
pub(crate) const CACHE: &str = "tokengate.cache.requests";
pub(crate) const CACHE_EVICTIONS: &str = "tokengate.cache.evictions";
pub(crate) const INTROSPECTIONS: &str = "tokengate.introspection.calls";
pub(crate) const STORE_ERRORS: &str = "tokengate.store.errors";
pub(crate) const CONNECTIONS_ENDED: &str = "tokengate.connections.ended";

/// The attributes.
pub(crate) const OUTCOME: &str = "tokengate.outcome";
pub(crate) const ERROR_TYPE: &str = "error.type";
pub(crate) const TOKEN_KIND: &str = "tokengate.token.kind";
pub(crate) const ISSUER: &str = "tokengate.issuer";
pub(crate) const RESULT: &str = "tokengate.result";
pub(crate) const CACHE_NAME: &str = "tokengate.cache";
pub(crate) const REASON: &str = "tokengate.reason";
pub(crate) const STORE: &str = "tokengate.store";

/// Every metric tokengate records, with its unit and attributes (a test holds the recorded
/// metrics to this list, and `docs/observability.md` prints it).
pub const METRICS: &[Metric] = &[
    Metric {
        name: REQUESTS,
        kind: "counter",
        unit: "{request}",
        labels: &[OUTCOME, ERROR_TYPE, TOKEN_KIND, ISSUER],
        prometheus: "tokengate_requests_total",
        formerly: "tokengate_requests_total",
        description: "Requests decided, by outcome, error code (denied only), token kind and issuer",
    },
    Metric {
        name: DURATION,
        kind: "histogram",
        unit: "s",
        labels: &[OUTCOME],
        prometheus: "tokengate_request_duration_seconds",
        formerly: "tokengate_request_duration_seconds",
        description: "Time to decide a request, I/O included",
    },
    Metric {
        name: KEY_FETCHES,
        kind: "counter",
        unit: "{fetch}",
        labels: &[ISSUER, RESULT],
        prometheus: "tokengate_key_fetches_total",
        formerly: "tokengate_key_fetches_total",
        description: "Key set fetches, by issuer and result",
    },
    Metric {
        name: KEY_FETCH_DURATION,
        kind: "histogram",
        unit: "s",
        labels: &[ISSUER],
        prometheus: "tokengate_key_fetch_duration_seconds",
        formerly: "tokengate_key_fetch_duration_seconds",
        description: "Time of one key set fetch",
    },
    Metric {
        name: KEYS_LOADED,
        kind: "gauge",
        unit: "{key}",
        labels: &[ISSUER],
        prometheus: "tokengate_keys_loaded",
        formerly: "tokengate_keys_loaded",
        description: "Keys loaded per issuer",
    },
    Metric {
        name: STALE_KEYS,
        kind: "counter",
        unit: "{verification}",
        labels: &[ISSUER],
        prometheus: "tokengate_stale_keys_served_total",
        formerly: "tokengate_stale_keys_served_total",
        description: "Verifications served with keys past their freshness",
    },
    Metric {
        name: KID_REFRESHES,
        kind: "counter",
        unit: "{refresh}",
        labels: &[ISSUER, RESULT],
        prometheus: "tokengate_kid_refreshes_total",
        formerly: "tokengate_kid_refreshes_total",
        description: "Unknown-kid refreshes, fetched or suppressed by the cooldown",
    },
    Metric {
        name: CACHE,
        kind: "counter",
        unit: "{lookup}",
        labels: &[CACHE_NAME, RESULT],
        prometheus: "tokengate_cache_requests_total",
        formerly: "tokengate_cache_requests_total",
        description: "Token and introspection cache lookups, hit or miss",
    },
    Metric {
        name: CACHE_EVICTIONS,
        kind: "counter",
        unit: "{entry}",
        labels: &[CACHE_NAME, REASON],
        prometheus: "tokengate_cache_evictions_total",
        formerly: "tokengate_cache_evictions_total",
        description: "Cache entries removed before use: over capacity (size) or past their lifetime (expired)",
    },
    Metric {
        name: INTROSPECTIONS,
        kind: "counter",
        unit: "{call}",
        labels: &[ISSUER, RESULT],
        prometheus: "tokengate_introspection_calls_total",
        formerly: "tokengate_introspection_calls_total",
        description: "Introspection calls by result",
    },
    Metric {
        name: STORE_ERRORS,
        kind: "counter",
        unit: "{error}",
        labels: &[STORE],
        prometheus: "tokengate_store_errors_total",
        formerly: "tokengate_store_errors_total",
        description: "Shared store failures by store",
    },
    Metric {
        name: CONNECTIONS_ENDED,
        kind: "counter",
        unit: "{connection}",
        labels: &[REASON],
        prometheus: "tokengate_connections_ended_total",
        formerly: "tokengate_connections_ended_total",
        description: "Open connections (WebSocket, SSE, gRPC streams) ended by their token: expired, revoked, refused or unavailable",
    },
];

/// Registers descriptions and units (call once; recorders that ignore them lose nothing). The
/// `metrics` facade knows seconds and counts: histograms are described in seconds (so a
/// Prometheus exporter with unit suffixes names them `_seconds`), the rest as counts (no
/// suffix); [`METRICS`] has each UCUM unit.
pub fn describe() {
    for metric in METRICS {
        let unit = if metric.unit == "s" {
            Unit::Seconds
        } else {
            Unit::Count
        };
        match metric.kind {
            "histogram" => describe_histogram!(metric.name, unit, metric.description),
            "gauge" => describe_gauge!(metric.name, unit, metric.description),
            _ => describe_counter!(metric.name, unit, metric.description),
        }
    }
}

/// The token kind label: the scheme of the credential found (any token source), and for a
/// bearer token whether it is a compact JWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Jwt,
    Opaque,
    Dpop,
    ApiKey,
    None,
}

impl Kind {
    const COUNT: usize = 5;

    fn label(self) -> &'static str {
        match self {
            Kind::Jwt => "jwt",
            Kind::Opaque => "opaque",
            Kind::Dpop => "dpop",
            Kind::ApiKey => "api_key",
            Kind::None => "none",
        }
    }
}

/// How a request was decided, for the outcome counter.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Judged<'a> {
    /// Admitted; the configured `iss` of the issuer that verified the token, if one did.
    Admitted(Option<&'a str>),
    Anonymous,
    Denied(ErrorKind),
}

/// The request metrics of one verifier: a handle per label combination, registered with the
/// recorder at its first use and reused after.
///
/// Registering through the macros on every request builds a label vector and an owned issuer
/// string; the `layer` benchmark measured 0.3–0.6 µs per request that way against a no-op
/// recorder, over the 0.1 µs budget. A slot lookup is index arithmetic and a `OnceLock` read.
pub(crate) struct Meters {
    /// The configured issuers, in the verifier's order: the `issuer` label values.
    issuers: Box<[Box<str>]>,
    /// `[outcome and code][kind][issuer]`: outcome and code are 0 admitted, 1 anonymous,
    /// 2 + `ErrorKind` denied; issuer 0 is `none`, 1 + the issuer's position.
    requests: Box<[OnceLock<Counter>]>,
    /// Per outcome: admitted, anonymous, denied.
    durations: [OnceLock<Histogram>; 3],
}

impl std::fmt::Debug for Meters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meters").finish_non_exhaustive()
    }
}

impl Meters {
    pub(crate) fn new<'a>(issuers: impl IntoIterator<Item = &'a str>) -> Meters {
        let issuers: Box<[Box<str>]> = issuers.into_iter().map(Box::from).collect();
        let slots = (2 + ErrorKind::COUNT) * Kind::COUNT * (issuers.len() + 1);
        Meters {
            requests: (0..slots).map(|_| OnceLock::new()).collect(),
            issuers,
            durations: Default::default(),
        }
    }

    /// Counts and times one decided request.
    pub(crate) fn request(&self, judged: Judged<'_>, kind: Kind, elapsed: Duration) {
        let (row, outcome, code, issuer) = match judged {
            Judged::Admitted(iss) => {
                let issuer = iss.and_then(|iss| self.issuers.iter().position(|i| **i == *iss));
                (0, "admitted", "none", issuer.map_or(0, |i| i + 1))
            }
            Judged::Anonymous => (1, "anonymous", "none", 0),
            Judged::Denied(error) => (2 + error as usize, "denied", error.code(), 0),
        };
        let columns = self.issuers.len() + 1;
        let slot = (row * Kind::COUNT + kind as usize) * columns + issuer;
        let issuer_label = match issuer {
            0 => "none",
            i => &self.issuers[i - 1],
        };
        self.requests[slot]
            .get_or_init(|| match judged {
                // OpenTelemetry's `error.type`: present on failures only.
                Judged::Denied(_) => counter!(REQUESTS, OUTCOME => outcome, ERROR_TYPE => code,
                    TOKEN_KIND => kind.label(), ISSUER => issuer_label.to_owned()),
                _ => counter!(REQUESTS, OUTCOME => outcome,
                    TOKEN_KIND => kind.label(), ISSUER => issuer_label.to_owned()),
            })
            .increment(1);
        let (index, outcome) = match judged {
            Judged::Admitted(_) => (0, "admitted"),
            Judged::Anonymous => (1, "anonymous"),
            Judged::Denied(_) => (2, "denied"),
        };
        self.durations[index]
            .get_or_init(|| histogram!(DURATION, OUTCOME => outcome))
            .record(elapsed.as_secs_f64());
    }
}

/// The token cache's hit and miss counters, registered at first use.
#[cfg(feature = "cache")]
#[derive(Default)]
pub(crate) struct CacheMeters {
    hit: OnceLock<Counter>,
    miss: OnceLock<Counter>,
}

#[cfg(feature = "cache")]
impl CacheMeters {
    pub(crate) fn count(&self, cache: &'static str, hit: bool) {
        let (slot, result) = if hit {
            (&self.hit, "hit")
        } else {
            (&self.miss, "miss")
        };
        slot.get_or_init(|| counter!(CACHE, CACHE_NAME => cache, RESULT => result))
            .increment(1);
    }
}

#[cfg(feature = "remote")]
pub(crate) fn key_fetch(issuer: &str, ok: bool, elapsed: Duration, keys: Option<usize>) {
    let result = if ok { "ok" } else { "error" };
    counter!(KEY_FETCHES, ISSUER => issuer.to_owned(), RESULT => result).increment(1);
    histogram!(KEY_FETCH_DURATION, ISSUER => issuer.to_owned()).record(elapsed.as_secs_f64());
    if let Some(keys) = keys {
        gauge!(KEYS_LOADED, ISSUER => issuer.to_owned()).set(keys as f64);
    }
}

#[cfg(feature = "remote")]
pub(crate) fn stale_served(issuer: &str) {
    counter!(STALE_KEYS, ISSUER => issuer.to_owned()).increment(1);
}

#[cfg(feature = "remote")]
pub(crate) fn kid_refresh(issuer: &str, fetched: bool) {
    let result = if fetched { "fetched" } else { "cooldown" };
    counter!(KID_REFRESHES, ISSUER => issuer.to_owned(), RESULT => result).increment(1);
}

#[cfg(feature = "remote")]
pub(crate) fn cache(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    counter!(CACHE, CACHE_NAME => cache, RESULT => result).increment(1);
}

/// An eviction listener for a moka cache named `cache`: counts removals over capacity and past
/// the entry's lifetime (explicit removals and replacements are not evictions).
#[cfg(any(feature = "remote", feature = "cache"))]
pub(crate) fn eviction_listener<K, V>(
    cache: &'static str,
) -> impl Fn(std::sync::Arc<K>, V, moka::notification::RemovalCause) + Send + Sync + 'static {
    move |_key, _value, cause| {
        let reason = match cause {
            moka::notification::RemovalCause::Size => "size",
            moka::notification::RemovalCause::Expired => "expired",
            _ => return,
        };
        counter!(CACHE_EVICTIONS, CACHE_NAME => cache, REASON => reason).increment(1);
    }
}

#[cfg(feature = "remote")]
pub(crate) fn introspection(issuer: &str, result: &'static str) {
    counter!(INTROSPECTIONS, ISSUER => issuer.to_owned(), RESULT => result).increment(1);
}

/// An open connection ended by its deadline; `reason` is `live::Ended::code` (four values).
#[cfg(feature = "live")]
pub(crate) fn connection_ended(reason: &'static str) {
    counter!(CONNECTIONS_ENDED, REASON => reason).increment(1);
}

pub(crate) fn store_error(store: &'static str) {
    counter!(STORE_ERRORS, STORE => store).increment(1);
}
