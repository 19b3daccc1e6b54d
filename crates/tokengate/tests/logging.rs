//! What verification logs: the failure's code and fixed detail, never the token or its claims.
//!
//! Its own test binary: tracing caches per-callsite interest process-wide, so a scoped
//! subscriber must not race other tests through the same callsites.

mod support;

use std::sync::{Arc, Mutex};

use serde_json::json;
use support::*;
use tokengate::Algorithm;
use tokengate_testkit::{NOW, TestKey};

/// The tests here install scoped subscribers: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_name_the_failure_but_never_the_token() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let attacker = TestKey::generate(Algorithm::ES256).with_kid(key.kid());
    let bad_tokens = [
        attacker.mint(&claims()),
        key.mint(&claims_with(json!({"exp": NOW - 3600}))),
        key.mint(&claims_with(json!({"aud": "api://secret-other-audience"}))),
        key.mint_with_header(
            &json!({"alg": "ES256", "kid": "kid-of-the-attacker"}),
            &claims(),
        ),
        key.mint(&claims_with(
            json!({"iss": "https://secret-other-issuer.example/"}),
        )),
    ];
    tracing::subscriber::with_default(subscriber, || {
        for token in &bad_tokens {
            assert!(verify(&verifier, token).is_err());
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("invalid_signature")
            && logs.contains("expired")
            && logs.contains("unknown_key"),
        "{logs}"
    );
    // A mismatch names the configured values it was compared with: configuration, not secrets.
    assert!(
        logs.contains(&format!("configured_audiences=[{AUD:?}]")),
        "{logs}"
    );
    assert!(
        logs.contains(&format!("configured_issuers=[{ISS:?}]")),
        "{logs}"
    );
    for token in &bad_tokens {
        for part in token.split('.') {
            assert!(!logs.contains(part), "a token segment was logged");
        }
    }
    for secret in [
        "alice",
        "api://secret-other-audience",
        "secret-other-issuer",
        "kid-of-the-attacker",
        key.kid(),
    ] {
        assert!(!logs.contains(secret), "logged {secret}: {logs}");
    }
}

#[test]
fn each_decision_has_a_span_with_its_outcome_and_code_but_no_token() {
    use tokengate::adapter::{Decision, Policy, RequestView};
    use tracing_subscriber::fmt::format::FmtSpan;
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());

    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    let good = key.mint(&claims());
    let expired = key.mint(&claims_with(json!({"exp": NOW - 3600})));
    let decide = |token: Option<&str>| {
        let mut headers = http::HeaderMap::new();
        if let Some(token) = token {
            headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let request = RequestView::new("GET", "/things", None, &headers);
        let policy = Policy::new();
        match verifier.decide::<tokengate::StandardClaims, _>(&request, &policy, None) {
            Decision::Admit(_) => "admit",
            Decision::Deny(_) => "deny",
            Decision::Pending(_) => "pending",
        }
    };
    let outcomes = tracing::subscriber::with_default(subscriber, || {
        [decide(Some(&good)), decide(Some(&expired)), decide(None)]
    });
    assert_eq!(outcomes, ["admit", "deny", "deny"]);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let spans: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("tokengate::verify") && line.contains("close"))
        .collect();
    assert_eq!(spans.len(), 3, "{logs}");
    assert!(
        spans[0].contains("decide{method=\"GET\" outcome=\"admitted\"}"),
        "{logs}"
    );
    assert!(
        spans[1].contains("decide{method=\"GET\" outcome=\"denied\" code=\"expired\"}"),
        "{logs}"
    );
    assert!(
        spans[2].contains("decide{method=\"GET\" outcome=\"denied\" code=\"missing_credentials\"}"),
        "{logs}"
    );
    for token in [&good, &expired] {
        for part in token.split('.') {
            assert!(!logs.contains(part), "a token segment was logged");
        }
    }
    assert!(!logs.contains("alice"), "a claim value was logged: {logs}");
}
