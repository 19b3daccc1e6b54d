//! API keys beside OAuth tokens (`docs/guide.md`, "API keys"): admitted through the same
//! pipeline with the key's principal, scopes and roles; refused with the `ApiKey` challenge;
//! and where API keys meet the other rules — scopes, DPoP-only routes, the revocation list,
//! the token-only API, another credential in the same request, open connections.

use http::HeaderMap;
use tokengate::adapter::{Admission, Decision, Policy, RequestView};
use tokengate::apikey::{API_KEY_ISSUER, ApiKey, ApiKeys, generate};
use tokengate::clock::FixedClock;
use tokengate::store::{MemoryRevocationList, RevocationList};
use tokengate::verifier::Attempt;
use tokengate::{
    Algorithm, Answer, ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verified,
    Verifier,
};
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};

const ISS: &str = "https://issuer.test/";
const INVALID_KEY: &str =
    r#"ApiKey realm="api", error="invalid_token", error_description="the API key is invalid""#;
const DPOP: &str =
    r#"DPoP realm="api", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA""#;

struct Keys {
    billing: String,
    reporting: String,
    rotated: String,
}

fn verifier_with(keys: &Keys, revocations: Option<MemoryRevocationList>) -> Verifier {
    let key = TestKey::shared(Algorithm::ES256);
    let api_keys = ApiKeys::new()
        .key(
            ApiKey::from_key("billing-2026", "svc-billing", &keys.billing)
                .unwrap()
                .scopes(["invoices:read", "invoices:write"])
                .roles(["service"]),
        )
        .key(ApiKey::from_key("reporting", "svc-reporting", &keys.reporting).unwrap())
        // A second key of the same principal (rotation).
        .key(
            ApiKey::from_hash(
                "billing-2027",
                "svc-billing",
                &tokengate::apikey::hash_of(&keys.rotated),
            )
            .unwrap()
            .scopes(["invoices:read"]),
        )
        .header("x-api-key")
        .unwrap();
    let mut builder = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .api_keys(api_keys);
    if let Some(list) = revocations {
        builder = builder.revocation(list);
    }
    builder.build().unwrap()
}

fn keys() -> Keys {
    Keys {
        billing: generate().key,
        reporting: generate().key,
        rotated: generate().key,
    }
}

fn decide(
    verifier: &Verifier,
    headers: &[(&str, String)],
    policy: &Policy,
) -> Result<Verified<StandardClaims>, Answer> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        map.append(name, value.parse().unwrap());
    }
    let request = RequestView::new("GET", "/invoices", None, &map);
    let admission = match verifier.decide::<StandardClaims, _>(&request, policy, None) {
        Decision::Admit(admission) => admission,
        Decision::Deny(answer) => return Err(answer),
        Decision::Pending(pending) => futures_executor::block_on(pending.resolve())?,
    };
    match admission {
        Admission::Verified(verified) => Ok(verified),
        _ => panic!("not verified"),
    }
}

fn challenges(answer: &Answer) -> Vec<String> {
    answer
        .headers()
        .filter(|(name, _)| name == "www-authenticate")
        .map(|(_, value)| value.to_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_configured_key_is_admitted_with_its_principal_scopes_and_roles() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    for headers in [
        vec![("authorization", format!("ApiKey {}", keys.billing))],
        vec![("authorization", format!("apikey {}", keys.billing))],
        vec![("x-api-key", keys.billing.clone())],
    ] {
        let verified = decide(&verifier, &headers, &Policy::new()).unwrap();
        assert_eq!(verified.subject(), Some("svc-billing"));
        assert_eq!(verified.issuer(), API_KEY_ISSUER);
        assert!(verified.scopes().contains("invoices:write"));
        assert!(verified.roles().contains("service"));
        assert_eq!(verified.claims.sub.as_deref(), Some("svc-billing"));
        assert_eq!(
            verified
                .claim(&["api_key"])
                .and_then(|v| v.as_str().map(str::to_owned))
                .as_deref(),
            Some("billing-2026")
        );
    }
    // The rotated key: the same principal, its own scopes.
    let verified = decide(
        &verifier,
        &[("x-api-key", keys.rotated.clone())],
        &Policy::new(),
    )
    .unwrap();
    assert_eq!(verified.subject(), Some("svc-billing"));
    assert!(!verified.scopes().contains("invoices:write"));
}

#[test]
fn a_wrong_key_is_401_in_the_api_key_challenge_and_tokens_still_work() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    for headers in [
        vec![("authorization", format!("ApiKey {}", generate().key))],
        vec![("x-api-key", format!("{}x", keys.billing))],
        vec![("x-api-key", "tgk_short".to_owned())],
    ] {
        let answer = decide(&verifier, &headers, &Policy::new()).unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::InvalidApiKey);
        assert_eq!(answer.status(), 401);
        assert_eq!(
            challenges(&answer),
            [INVALID_KEY, r#"Bearer realm="api""#, DPOP],
            "the key's error in its own challenge, the others offered without one"
        );
    }
    // No credential: every scheme offered, none with an error.
    let answer = decide(&verifier, &[], &Policy::new()).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::MissingCredentials);
    assert_eq!(
        challenges(&answer),
        [r#"Bearer realm="api""#, DPOP, r#"ApiKey realm="api""#]
    );
    // A token's error stays in the Bearer challenge.
    let answer = decide(
        &verifier,
        &[("authorization", "Bearer not.a.jwt".to_owned())],
        &Policy::new(),
    )
    .unwrap_err();
    assert!(challenges(&answer)[0].starts_with(r#"Bearer realm="api", error="invalid_token""#));
    assert_eq!(challenges(&answer)[2], r#"ApiKey realm="api""#);
    // And tokens are admitted as before.
    let token = TestKey::shared(Algorithm::ES256).mint(&claims_at(ISS, "api", NOW));
    let verified = decide(
        &verifier,
        &[("authorization", format!("Bearer {token}"))],
        &Policy::new(),
    )
    .unwrap();
    assert_eq!(verified.issuer(), ISS);
}

#[test]
fn scopes_roles_and_requirements_apply_to_keys_as_to_tokens() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    let writers = Policy::new().require(Requirement::all(["invoices:write"]));
    assert!(decide(&verifier, &[("x-api-key", keys.billing.clone())], &writers).is_ok());
    let answer = decide(
        &verifier,
        &[("x-api-key", keys.reporting.clone())],
        &writers,
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InsufficientScope);
    assert_eq!(answer.status(), 403);
    assert_eq!(
        challenges(&answer)[0],
        r#"ApiKey realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="invoices:write""#
    );
    let services = Policy::new().require(Requirement::any_roles(["service"]));
    assert!(decide(&verifier, &[("x-api-key", keys.billing.clone())], &services).is_ok());
    let answer = decide(
        &verifier,
        &[("x-api-key", keys.reporting.clone())],
        &services,
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InsufficientRole);
}

#[test]
fn a_dpop_only_route_refuses_keys() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    let answer = decide(
        &verifier,
        &[("x-api-key", keys.billing.clone())],
        &Policy::new().require_dpop(),
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::DpopRequired);
    assert_eq!(answer.status(), 401);
    assert!(
        challenges(&answer).iter().all(|c| !c.starts_with("ApiKey")),
        "a DPoP-only route offers DPoP alone"
    );
}

#[test]
fn a_key_and_a_token_in_one_request_are_refused() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    let token = TestKey::shared(Algorithm::ES256).mint(&claims_at(ISS, "api", NOW));
    for headers in [
        vec![
            ("authorization", format!("Bearer {token}")),
            ("x-api-key", keys.billing.clone()),
        ],
        vec![
            ("x-api-key", keys.billing.clone()),
            ("x-api-key", keys.reporting.clone()),
        ],
    ] {
        let answer = decide(&verifier, &headers, &Policy::new()).unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::MultipleCredentials);
        assert_eq!(answer.status(), 400);
    }
}

#[test]
fn without_api_keys_the_scheme_is_no_credential_and_no_challenge() {
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    let answer = decide(
        &verifier,
        &[("authorization", format!("ApiKey {}", generate().key))],
        &Policy::new(),
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::MissingCredentials);
    assert!(challenges(&answer).iter().all(|c| !c.starts_with("ApiKey")));
}

#[test]
fn the_token_api_never_takes_a_key_for_a_token() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    assert!(matches!(
        verifier.try_verify::<StandardClaims>(&keys.billing),
        Attempt::Done(Err(_))
    ));
}

#[test]
fn a_principal_revoked_in_the_list_is_refused_by_key_too() {
    let keys = keys();
    let list = MemoryRevocationList::default().clock(FixedClock::at(NOW));
    futures_executor::block_on(list.revoke_subject(API_KEY_ISSUER, "svc-billing", NOW, NOW + 600))
        .unwrap(); // a key has no `iat`: any revocation of its principal applies
    let verifier = verifier_with(&keys, Some(list));
    let answer = decide(
        &verifier,
        &[("x-api-key", keys.billing.clone())],
        &Policy::new(),
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Revoked);
    assert!(
        decide(
            &verifier,
            &[("x-api-key", keys.reporting.clone())],
            &Policy::new()
        )
        .is_ok()
    );
}

#[test]
fn keys_never_show_in_debug_output() {
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    let key = ApiKey::from_key("billing-2026", "svc-billing", &keys.billing).unwrap();
    for text in [format!("{verifier:?}"), format!("{key:?}")] {
        assert!(!text.contains(&keys.billing[4..]), "{text}");
    }
}

#[cfg(feature = "live")]
#[tokio::test(start_paused = true)]
async fn an_open_connection_by_key_is_rechecked_as_a_key() {
    use std::time::Duration;
    let keys = keys();
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience("api")
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .revocation(MemoryRevocationList::default().clock(FixedClock::at(NOW)))
        .connection_recheck(Duration::from_secs(5))
        .api_keys(
            ApiKeys::new()
                .key(ApiKey::from_key("billing", "svc-billing", &keys.billing).unwrap())
                .header("x-api-key")
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut map = HeaderMap::new();
    map.insert("x-api-key", keys.billing.parse().unwrap());
    let request = RequestView::new("GET", "/events", None, &map);
    let verified = verifier
        .required_claims::<StandardClaims, _>(&request, &Policy::new(), None)
        .await
        .unwrap();
    let mut deadline = verifier.connection_deadline(&request, &verified);
    // Still a configured key and not revoked at the first re-checks: the connection stays.
    assert!(
        tokio::time::timeout(Duration::from_secs(12), deadline.ended())
            .await
            .is_err()
    );
    verifier
        .revoke_subject_before(API_KEY_ISSUER, "svc-billing", NOW, NOW + 600)
        .await
        .unwrap();
    assert_eq!(deadline.ended().await, tokengate::live::Ended::Revoked);
}

/// MCP tool scopes hold for keys as for tokens: a key with the tool's scope calls it; one
/// without is 403 with the scope named in the `ApiKey` challenge.
#[cfg(feature = "mcp")]
#[test]
fn mcp_tool_scopes_apply_to_keys() {
    use tokengate::mcp::McpScopes;
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    let scopes = McpScopes::new().tool("send_invoice", ["invoices:write"]);
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_invoice","arguments":{}}}"#;
    let call = |key: &str| {
        let mut map = HeaderMap::new();
        map.insert("x-api-key", key.parse().unwrap());
        let view = RequestView::new("POST", "/mcp", None, &map);
        match verifier.decide_mcp::<StandardClaims, _>(
            &view,
            body.as_bytes(),
            &scopes,
            &Policy::new(),
            None,
        ) {
            Decision::Admit(_) => Ok(()),
            Decision::Deny(answer) => Err(answer),
            Decision::Pending(pending) => futures_executor::block_on(pending.resolve()).map(drop),
        }
    };
    assert!(call(&keys.billing).is_ok());
    let answer = call(&keys.reporting).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InsufficientScope);
    assert!(
        challenges(&answer)[0].starts_with(r#"ApiKey realm="api", error="insufficient_scope""#)
            && challenges(&answer)[0].contains(r#"scope="invoices:write""#),
        "{:?}",
        challenges(&answer)
    );
}

/// Metrics count key requests as their own token kind, never with the key as a value.
#[cfg(feature = "metrics")]
#[test]
fn key_requests_are_counted_as_their_own_kind() {
    use metrics_util::debugging::DebuggingRecorder;
    let keys = keys();
    let verifier = verifier_with(&keys, None);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        decide(
            &verifier,
            &[("x-api-key", keys.billing.clone())],
            &Policy::new(),
        )
        .unwrap();
        let _ = decide(&verifier, &[("x-api-key", generate().key)], &Policy::new());
    });
    let recorded: Vec<(String, Vec<(String, String)>)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, _)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels)
        })
        .collect();
    let kinds: Vec<&str> = recorded
        .iter()
        .filter(|(name, _)| name == "tokengate.requests")
        .flat_map(|(_, labels)| labels.iter())
        .filter(|(k, _)| k == "tokengate.token.kind")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(kinds, ["api_key", "api_key"]);
    assert!(
        recorded
            .iter()
            .any(|(name, labels)| name == "tokengate.requests"
                && labels.contains(&("error.type".to_owned(), "invalid_api_key".to_owned())))
    );
    for (_, labels) in &recorded {
        for (_, value) in labels {
            assert!(!value.contains(&keys.billing[4..]));
        }
    }
}
