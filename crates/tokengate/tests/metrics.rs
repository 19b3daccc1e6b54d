//! Metrics through the `metrics` facade: names, units, label keys, and that no label value
//! comes from a token, for every outcome (`docs/observability.md`).

#![cfg(feature = "metrics")]

use std::collections::BTreeSet;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;
use tokengate::adapter::{Decision, Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier,
    cache::TokenCache,
};
use tokengate_testkit::{IssuerServer, NOW, TestKey, claims_at, jwks};

const ISS: &str = "https://issuer.test/";

/// One recorded metric: name, labels, value.
type Recorded = (String, Vec<(String, String)>, DebugValue);

/// Every (name, labels, value) recorded.
fn snapshot(snapshotter: &Snapshotter) -> Vec<Recorded> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _unit, _description, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect()
}

fn decide(verifier: &Verifier, authorization: Option<&str>, policy: &Policy) {
    let mut headers = http::HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert("authorization", value.parse().unwrap());
    }
    let request = RequestView::new("GET", "/", None, &headers);
    if let Decision::Pending(pending) = verifier.decide::<StandardClaims, _>(&request, policy, None)
    {
        let _ = futures_executor::block_on(pending.resolve());
    }
}

#[test]
fn request_outcomes_are_counted_with_bounded_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .cache(TokenCache::new())
        .build()
        .unwrap();
    let mut claims = claims_at(ISS, "api", NOW);
    claims["jti"] = json!("jti-secret-value");
    let token = key.mint(&claims);
    let mut expired = claims_at(ISS, "api", NOW - 3600);
    expired["sub"] = json!("mallory-secret");
    let expired = key.mint(&expired);
    metrics::with_local_recorder(&recorder, || {
        tokengate::observe::describe();
        decide(&verifier, Some(&format!("Bearer {token}")), &Policy::new());
        decide(&verifier, Some(&format!("Bearer {token}")), &Policy::new());
        decide(
            &verifier,
            Some(&format!("Bearer {expired}")),
            &Policy::new(),
        );
        decide(&verifier, None, &Policy::new().optional());
        decide(&verifier, None, &Policy::new());
        decide(&verifier, Some("Bearer opaque-token-value"), &Policy::new());
        let scoped = Policy::new().require(Requirement::all(["admin:write"]));
        decide(&verifier, Some(&format!("Bearer {token}")), &scoped);
    });
    let recorded = snapshot(&snapshotter);
    let count = |outcome: &str, code: &str, kind: &str, issuer: &str| {
        // `error.type` only on failures (OpenTelemetry's rule).
        let mut expected = vec![("tokengate.outcome".to_owned(), outcome.to_owned())];
        if code != "none" {
            expected.push(("error.type".to_owned(), code.to_owned()));
        }
        expected.push(("tokengate.token.kind".to_owned(), kind.to_owned()));
        expected.push(("tokengate.issuer".to_owned(), issuer.to_owned()));
        recorded
            .iter()
            .find(|(name, labels, _)| name == "tokengate.requests" && labels == &expected)
            .map(|(_, _, value)| value)
    };
    assert_eq!(
        count("admitted", "none", "jwt", ISS),
        Some(&DebugValue::Counter(2))
    );
    assert_eq!(
        count("denied", ErrorKind::Expired.code(), "jwt", "none"),
        Some(&DebugValue::Counter(1))
    );
    assert_eq!(
        count("anonymous", "none", "none", "none"),
        Some(&DebugValue::Counter(1))
    );
    assert_eq!(
        count("denied", "missing_credentials", "none", "none"),
        Some(&DebugValue::Counter(1))
    );
    assert_eq!(
        count("denied", "malformed_token", "opaque", "none"),
        Some(&DebugValue::Counter(1))
    );
    assert_eq!(
        count("denied", "insufficient_scope", "jwt", "none"),
        Some(&DebugValue::Counter(1))
    );
    // Durations: one histogram per outcome, in seconds.
    let durations: Vec<_> = recorded
        .iter()
        .filter(|(name, _, _)| name == "tokengate.request.duration")
        .collect();
    assert!(!durations.is_empty());
    for (_, labels, value) in &durations {
        assert_eq!(
            labels.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["tokengate.outcome"]
        );
        let DebugValue::Histogram(samples) = value else {
            panic!("a histogram")
        };
        assert!(
            samples
                .iter()
                .all(|s| s.into_inner() >= 0.0 && s.into_inner() < 1.0)
        );
    }
    // The token cache: one miss, then hits.
    assert!(
        recorded
            .iter()
            .any(|(name, labels, _)| name == "tokengate.cache.requests"
                && labels.contains(&("tokengate.result".to_owned(), "hit".to_owned())))
    );
    assert_no_token_values(
        &recorded,
        &[
            &token,
            "jti-secret-value",
            "mallory-secret",
            "alice",
            key.kid(),
            "opaque-token-value",
        ],
    );
}

/// Every metric recorded is one of `observe::METRICS`, with only its attributes; label values
/// are fixed words, codes and configured issuers: nothing from a token.
fn assert_no_token_values(recorded: &[Recorded], forbidden: &[&str]) {
    for (name, labels, _) in recorded {
        let metric = tokengate::observe::METRICS
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is not in observe::METRICS"));
        let allowed_keys: BTreeSet<&str> = metric.labels.iter().copied().collect();
        for (key, value) in labels {
            assert!(allowed_keys.contains(key.as_str()), "{name}: label {key}");
            for secret in forbidden {
                assert!(
                    !value.contains(secret),
                    "{name}: {key}={value} comes from a token"
                );
            }
        }
    }
}

#[test]
fn cache_evictions_over_capacity_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let key = TestKey::shared(Algorithm::ES256);
    // Room for one entry: every further token evicts one (or is refused admission).
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .cache(TokenCache::new().max_entries(1).max_bytes(1))
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for n in 0..20 {
            let mut claims = claims_at(ISS, "api", NOW);
            claims["jti"] = json!(format!("jti-{n}"));
            let token = key.mint(&claims);
            decide(&verifier, Some(&format!("Bearer {token}")), &Policy::new());
        }
        // Pending maintenance (where moka reports removals) runs on this thread.
        let _ = verifier.cache_stats();
    });
    let recorded = snapshot(&snapshotter);
    let evicted = recorded.iter().find_map(|(name, labels, value)| {
        (name == "tokengate.cache.evictions"
            && labels
                == &vec![
                    ("tokengate.cache".to_owned(), "token".to_owned()),
                    ("tokengate.reason".to_owned(), "size".to_owned()),
                ])
            .then_some(value)
    });
    let Some(DebugValue::Counter(evicted)) = evicted else {
        panic!("no eviction counted: {recorded:?}")
    };
    assert!(
        *evicted >= 19,
        "{evicted} evictions for 20 tokens in room for 1"
    );
    assert_no_token_values(&recorded, &["jti-", "alice"]);
}

#[test]
fn key_fetches_are_counted_and_timed() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let server = IssuerServer::start().await;
            let verifier = Verifier::builder()
                .issuer(
                    Issuer::new(server.issuer())
                        .audience("api")
                        .keys(KeySource::jwks_url(server.jwks_url())),
                )
                .build()
                .unwrap();
            let token = server.mint(&claims_at(
                &server.issuer(),
                "api",
                tokengate_testkit::now(),
            ));
            assert!(verifier.verify::<StandardClaims>(&token).await.is_ok());
            let recorded = snapshot(&snapshotter);
            let issuer = server.issuer();
            let fetches = recorded.iter().find(|(name, labels, _)| {
                name == "tokengate.key_fetches"
                    && labels.contains(&("tokengate.issuer".to_owned(), issuer.clone()))
                    && labels.contains(&("tokengate.result".to_owned(), "ok".to_owned()))
            });
            assert_eq!(fetches.map(|(_, _, v)| v), Some(&DebugValue::Counter(1)));
            let loaded = recorded
                .iter()
                .find(|(name, _, _)| name == "tokengate.keys.loaded");
            assert!(matches!(
                loaded.map(|(_, _, v)| v),
                Some(DebugValue::Gauge(_))
            ));
            assert!(
                recorded
                    .iter()
                    .any(|(name, _, _)| name == "tokengate.key_fetch.duration")
            );
        });
    });
}

/// Connections ended by their token are counted by reason (four values), nothing from the
/// token in the labels.
#[cfg(feature = "live")]
#[test]
fn connections_ended_by_their_token_are_counted_by_reason() {
    use std::time::Duration;
    use tokengate::store::MemoryRevocationList;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let key = TestKey::shared(Algorithm::ES256);
    let clock = FixedClock::at(NOW);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(clock.clone())
        .revocation(MemoryRevocationList::default().clock(clock.clone()))
        .connection_recheck(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut claims = claims_at(ISS, "api", NOW);
    claims["jti"] = json!("conn");
    let token = key.mint(&claims);
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/ws", None, &headers);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let verified = verifier
                .required_claims::<StandardClaims, _>(&request, &Policy::new(), None)
                .await
                .unwrap();
            // Revoked at the first re-check.
            let mut revoked = verifier.connection_deadline(&request, &verified);
            verifier.revoke_jti(ISS, "conn", NOW + 600).await.unwrap();
            assert_eq!(revoked.ended().await, tokengate::live::Ended::Revoked);
            // Past exp.
            let mut expired = verifier.connection_deadline(&request, &verified);
            clock.advance(Duration::from_secs(600));
            assert_eq!(expired.ended().await, tokengate::live::Ended::Expired);
        });
    });
    let ended: Vec<_> = snapshot(&snapshotter)
        .into_iter()
        .filter(|(name, _, _)| name == "tokengate.connections.ended")
        .map(|(_, labels, value)| (labels, value))
        .collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    for (labels, value) in ended {
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].0, "tokengate.reason");
        assert!(["revoked", "expired"].contains(&labels[0].1.as_str()));
        assert_eq!(value, DebugValue::Counter(1));
    }
}

/// Every metric, with its name, unit and attributes: OpenTelemetry's naming (dot-separated,
/// lower case; a UCUM unit, `s` for durations and `{annotation}` for counts; attributes in the
/// `tokengate.` namespace or OpenTelemetry's `error.type`), and `describe` gives each its unit.
/// The list is the table of `docs/observability.md`.
#[test]
fn every_metric_is_named_and_described_as_opentelemetry_names_them() {
    use tokengate::observe::METRICS;
    let expected: &[(&str, &str, &str, &[&str], &str)] = &[
        (
            "tokengate.requests",
            "counter",
            "{request}",
            &[
                "tokengate.outcome",
                "error.type",
                "tokengate.token.kind",
                "tokengate.issuer",
            ],
            "tokengate_requests_total",
        ),
        (
            "tokengate.request.duration",
            "histogram",
            "s",
            &["tokengate.outcome"],
            "tokengate_request_duration_seconds",
        ),
        (
            "tokengate.key_fetches",
            "counter",
            "{fetch}",
            &["tokengate.issuer", "tokengate.result"],
            "tokengate_key_fetches_total",
        ),
        (
            "tokengate.key_fetch.duration",
            "histogram",
            "s",
            &["tokengate.issuer"],
            "tokengate_key_fetch_duration_seconds",
        ),
        (
            "tokengate.keys.loaded",
            "gauge",
            "{key}",
            &["tokengate.issuer"],
            "tokengate_keys_loaded",
        ),
        (
            "tokengate.stale_keys.served",
            "counter",
            "{verification}",
            &["tokengate.issuer"],
            "tokengate_stale_keys_served_total",
        ),
        (
            "tokengate.kid_refreshes",
            "counter",
            "{refresh}",
            &["tokengate.issuer", "tokengate.result"],
            "tokengate_kid_refreshes_total",
        ),
        (
            "tokengate.cache.requests",
            "counter",
            "{lookup}",
            &["tokengate.cache", "tokengate.result"],
            "tokengate_cache_requests_total",
        ),
        (
            "tokengate.cache.evictions",
            "counter",
            "{entry}",
            &["tokengate.cache", "tokengate.reason"],
            "tokengate_cache_evictions_total",
        ),
        (
            "tokengate.introspection.calls",
            "counter",
            "{call}",
            &["tokengate.issuer", "tokengate.result"],
            "tokengate_introspection_calls_total",
        ),
        (
            "tokengate.store.errors",
            "counter",
            "{error}",
            &["tokengate.store"],
            "tokengate_store_errors_total",
        ),
        (
            "tokengate.connections.ended",
            "counter",
            "{connection}",
            &["tokengate.reason"],
            "tokengate_connections_ended_total",
        ),
    ];
    let listed: Vec<_> = METRICS
        .iter()
        .map(|m| (m.name, m.kind, m.unit, m.labels, m.prometheus))
        .collect();
    assert_eq!(listed, expected);
    for metric in METRICS {
        assert!(
            metric.name.starts_with("tokengate.")
                && metric
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
            "{}",
            metric.name
        );
        assert!(
            metric.unit == "s" || (metric.unit.starts_with('{') && metric.unit.ends_with('}')),
            "{}: {}",
            metric.name,
            metric.unit
        );
        // Prometheus with OpenTelemetry's recommended naming keeps the old name.
        assert_eq!(metric.prometheus, metric.formerly, "{}", metric.name);
    }
    // `describe` registers every one, durations in seconds.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokengate::observe::describe();
        for metric in METRICS {
            let key = metrics::Key::from_static_name(metric.name);
            let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);
            metrics::with_recorder(|r| match metric.kind {
                "histogram" => r.register_histogram(&key, &meta).record(0.0),
                "gauge" => r.register_gauge(&key, &meta).set(0.0),
                _ => r.register_counter(&key, &meta).increment(0),
            });
        }
    });
    let described: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, unit, description, _)| {
            (key.key().name().to_owned(), unit, description.is_some())
        })
        .collect();
    for metric in METRICS {
        let (_, unit, has_description) = described
            .iter()
            .find(|(name, _, _)| name == metric.name)
            .unwrap_or_else(|| panic!("{} not described", metric.name));
        let expected_unit = if metric.unit == "s" {
            metrics::Unit::Seconds
        } else {
            metrics::Unit::Count
        };
        assert_eq!(*unit, Some(expected_unit), "{}", metric.name);
        assert!(has_description, "{}", metric.name);
    }
}
