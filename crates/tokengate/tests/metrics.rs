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
        recorded
            .iter()
            .find(|(name, labels, _)| {
                name == "tokengate_requests_total"
                    && labels
                        == &vec![
                            ("outcome".to_owned(), outcome.to_owned()),
                            ("code".to_owned(), code.to_owned()),
                            ("kind".to_owned(), kind.to_owned()),
                            ("issuer".to_owned(), issuer.to_owned()),
                        ]
            })
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
        .filter(|(name, _, _)| name == "tokengate_request_duration_seconds")
        .collect();
    assert!(!durations.is_empty());
    for (_, labels, value) in &durations {
        assert_eq!(
            labels.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["outcome"]
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
            .any(|(name, labels, _)| name == "tokengate_cache_requests_total"
                && labels.contains(&("result".to_owned(), "hit".to_owned())))
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

/// Label values are fixed words, codes and configured issuers: nothing from a token.
fn assert_no_token_values(recorded: &[Recorded], forbidden: &[&str]) {
    let allowed_keys: BTreeSet<&str> = [
        "outcome", "code", "kind", "issuer", "result", "cache", "store", "reason",
    ]
    .into();
    for (name, labels, _) in recorded {
        assert!(name.starts_with("tokengate_"), "{name}");
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
        (name == "tokengate_cache_evictions_total"
            && labels
                == &vec![
                    ("cache".to_owned(), "token".to_owned()),
                    ("reason".to_owned(), "size".to_owned()),
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
                name == "tokengate_key_fetches_total"
                    && labels.contains(&("issuer".to_owned(), issuer.clone()))
                    && labels.contains(&("result".to_owned(), "ok".to_owned()))
            });
            assert_eq!(fetches.map(|(_, _, v)| v), Some(&DebugValue::Counter(1)));
            let loaded = recorded
                .iter()
                .find(|(name, _, _)| name == "tokengate_keys_loaded");
            assert!(matches!(
                loaded.map(|(_, _, v)| v),
                Some(DebugValue::Gauge(_))
            ));
            assert!(
                recorded
                    .iter()
                    .any(|(name, _, _)| name == "tokengate_key_fetch_duration_seconds")
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
        .filter(|(name, _, _)| name == "tokengate_connections_ended_total")
        .map(|(_, labels, value)| (labels, value))
        .collect();
    assert_eq!(ended.len(), 2, "{ended:?}");
    for (labels, value) in ended {
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].0, "reason");
        assert!(["revoked", "expired"].contains(&labels[0].1.as_str()));
        assert_eq!(value, DebugValue::Counter(1));
    }
}
