//! Opaque tokens by RFC 7662 introspection, against the testkit's endpoint on loopback.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::AUD;
use tokengate::adapter::{Admission, Decision, Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::{
    ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier, error::ConfigErrorKind,
    introspection::Introspection,
};
use tokengate_testkit::{
    Fault, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer, NOW, claims_at,
};

fn introspection(server: &IssuerServer) -> Introspection {
    Introspection::endpoint(server.introspection_url())
        .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET)
}

fn verifier_with(server: &IssuerServer, clock: &FixedClock, config: Introspection) -> Verifier {
    Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .keys(KeySource::jwks_url(server.jwks_url()))
                .introspection(config),
        )
        .clock(clock.clone())
        .fetch_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn opaque(server: &IssuerServer, scope: &str) -> String {
    let mut claims = claims_at(&server.issuer(), AUD, NOW);
    claims["scope"] = json!(scope);
    server.issue_opaque(&claims)
}

async fn verify(
    verifier: &Verifier,
    token: &str,
) -> Result<tokengate::Verified<StandardClaims>, ErrorKind> {
    verifier
        .verify::<StandardClaims>(token)
        .await
        .map_err(|e| e.kind())
}

#[tokio::test]
async fn an_active_opaque_token_gives_the_same_claims_as_a_jwt() {
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let token = opaque(&server, "openid messages:read");
    let verified = verify(&verifier, &token).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert!(verified.scopes().contains("messages:read"));
    assert_eq!(verified.claims.client_id.as_deref(), Some("demo-client"));
    assert_eq!(verified.issuer(), server.issuer());
    assert_eq!(verified.expires_at(), (NOW + 300) as f64);
    // Through the request pipeline, with a requirement, as every adapter runs it.
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/messages", None, &headers);
    let policy = Policy::new().require(Requirement::all(["messages:read"]));
    let admitted = match verifier.decide::<StandardClaims, _>(&request, &policy, None) {
        Decision::Admit(admission) => admission,
        Decision::Pending(pending) => pending.resolve().await.unwrap(),
        Decision::Deny(answer) => panic!("{answer}"),
    };
    assert!(matches!(admitted, Admission::Verified(_)));
    // Signed tokens keep verifying locally.
    let calls = server.introspection_requests();
    let jwt = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert!(verify(&verifier, &jwt).await.is_ok());
    assert_eq!(server.introspection_requests(), calls);
}

#[tokio::test]
async fn inactive_revoked_and_unknown_tokens_are_invalid_token() {
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let revoked = opaque(&server, "openid");
    server.revoke(&revoked);
    for token in [revoked.as_str(), "not-a-token-the-provider-knows", "a.b.c"] {
        let error = verifier.verify::<StandardClaims>(token).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InactiveToken, "{token}");
        let answer = verifier.answer(&error);
        assert_eq!(answer.status(), 401);
        assert_eq!(
            answer.www_authenticate().unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
        );
    }
}

#[tokio::test]
async fn a_missing_scope_is_403_as_for_jwts() {
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let token = opaque(&server, "openid");
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/messages", None, &headers);
    let policy = Policy::new().require(Requirement::all(["messages:read"]));
    let answer = match verifier.decide::<StandardClaims, _>(&request, &policy, None) {
        Decision::Pending(pending) => pending.resolve().await.unwrap_err(),
        other => panic!("introspection waits for I/O: {other:?}"),
    };
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:read""#
    );
}

#[tokio::test]
async fn results_are_cached_until_max_age_then_a_revocation_takes_effect() {
    let server = IssuerServer::start().await;
    let clock = FixedClock::at(NOW);
    let config = introspection(&server).max_age(Duration::from_secs(60));
    let verifier = verifier_with(&server, &clock, config);
    let token = opaque(&server, "openid");
    assert!(verify(&verifier, &token).await.is_ok());
    assert!(verify(&verifier, &token).await.is_ok());
    assert_eq!(
        server.introspection_requests(),
        1,
        "the second answer is cached"
    );
    server.revoke(&token);
    clock.advance(Duration::from_secs(59));
    assert!(verify(&verifier, &token).await.is_ok(), "within max_age");
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        verify(&verifier, &token).await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    assert_eq!(server.introspection_requests(), 2);
    // The refusal is cached too (negative cache).
    assert_eq!(
        verify(&verifier, &token).await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    assert_eq!(server.introspection_requests(), 2);
    let health = verifier.health()[0].introspection.clone().unwrap();
    assert_eq!((health.calls, health.active, health.refused), (2, 1, 1));
    assert!(health.cache_hits >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_token_share_one_call() {
    let server = IssuerServer::start().await;
    // Slow answers, so that every request arrives while the call is in flight.
    server
        .set_fault(Fault::Delay(Duration::from_millis(200)))
        .await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let token: Arc<str> = opaque(&server, "openid").into();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), Arc::clone(&token));
            tokio::spawn(async move { verify(&verifier, &token).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap());
    }
    assert_eq!(server.introspection_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_garbage_tokens_is_bounded_and_remembered() {
    let server = IssuerServer::start().await;
    let config = introspection(&server).max_in_flight(4);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .keys(KeySource::jwks_url(server.jwks_url()))
                .introspection(config),
        )
        .clock(FixedClock::at(NOW))
        .fetch_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let garbage: Vec<String> = (0..1000).map(|i| format!("garbage-{i:04}")).collect();
    let run = |verifier: Verifier, garbage: Vec<String>| async move {
        let tasks: Vec<_> = garbage
            .into_iter()
            .map(|token| {
                let verifier = verifier.clone();
                tokio::spawn(async move { verify(&verifier, &token).await.unwrap_err() })
            })
            .collect();
        let mut kinds = Vec::new();
        for task in tasks {
            kinds.push(task.await.unwrap());
        }
        kinds
    };
    let kinds = run(verifier.clone(), garbage.clone()).await;
    assert!(kinds.iter().all(|k| *k == ErrorKind::InactiveToken));
    // One call per distinct token, never more than 4 at once.
    assert_eq!(server.introspection_requests(), 1000);
    assert!(
        server.introspections_peak() <= 4,
        "{}",
        server.introspections_peak()
    );
    // The same garbage again: answered from the negative cache.
    let kinds = run(verifier, garbage).await;
    assert!(kinds.iter().all(|k| *k == ErrorKind::InactiveToken));
    assert_eq!(server.introspection_requests(), 1000);
}

#[tokio::test]
async fn outages_are_503_with_retry_after_never_admitted_never_cached() {
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let token = opaque(&server, "openid");
    for fault in [
        Fault::Status(500),
        Fault::InvalidJson,
        Fault::Delay(Duration::from_secs(2)),
        Fault::Refuse,
    ] {
        server.set_fault(fault.clone()).await;
        let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::IntrospectionUnavailable,
            "{fault:?}"
        );
        let answer = verifier.answer(&error);
        assert_eq!(answer.status(), 503);
        assert!(answer.www_authenticate().is_none());
        assert_eq!(answer.retry_after().unwrap(), "1");
    }
    let health = verifier.health()[0].introspection.clone().unwrap();
    assert_eq!(health.failures, 4);
    let message = health.last_failure_message.unwrap();
    assert!(!message.contains(INTROSPECTION_CLIENT_SECRET) && !message.contains(&token));
    server.set_fault(Fault::None).await;
    assert!(
        verify(&verifier, &token).await.is_ok(),
        "failures are not cached"
    );
}

#[tokio::test]
async fn wrong_client_credentials_fail_closed() {
    let server = IssuerServer::start().await;
    let config = Introspection::endpoint(server.introspection_url())
        .client_secret_basic(INTROSPECTION_CLIENT_ID, "wrong");
    let verifier = verifier_with(&server, &FixedClock::at(NOW), config);
    let token = opaque(&server, "openid");
    assert_eq!(
        verify(&verifier, &token).await.unwrap_err(),
        ErrorKind::IntrospectionUnavailable
    );
    // client_secret_post works as well as basic.
    let config = Introspection::endpoint(server.introspection_url())
        .client_secret_post(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET);
    let verifier = verifier_with(&server, &FixedClock::at(NOW), config);
    assert!(verify(&verifier, &token).await.is_ok());
}

#[tokio::test]
async fn active_responses_are_still_checked() {
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let issue = |changes: serde_json::Value| {
        let mut claims = claims_at(&server.issuer(), AUD, NOW);
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        server.issue_opaque(&claims)
    };
    for (changes, kind) in [
        (json!({"aud": "another-api"}), ErrorKind::InvalidAudience),
        (json!({"exp": NOW - 3600}), ErrorKind::Expired),
        (
            json!({"iss": "https://someone-else.example"}),
            ErrorKind::InvalidIssuer,
        ),
        (json!({"nbf": NOW + 3600}), ErrorKind::NotYetValid),
        (
            json!({"scope": ["not", "a", "string"]}),
            ErrorKind::InvalidClaim,
        ),
    ] {
        let token = issue(changes.clone());
        assert_eq!(
            verify(&verifier, &token).await.unwrap_err(),
            kind,
            "{changes}"
        );
    }
    // A response without aud or exp is the provider's word that the token is active for us.
    let mut claims = claims_at(&server.issuer(), AUD, NOW);
    claims.as_object_mut().unwrap().remove("aud");
    claims.as_object_mut().unwrap().remove("exp");
    assert!(
        verify(&verifier, &server.issue_opaque(&claims))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn introspect_jwts_sends_signed_tokens_too() {
    let server = IssuerServer::start().await;
    let config = introspection(&server).introspect_jwts();
    let verifier = verifier_with(&server, &FixedClock::at(NOW), config);
    let jwt = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    // The provider did not issue this JWT as one it tracks: inactive, whatever its signature.
    assert_eq!(
        verify(&verifier, &jwt).await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    assert_eq!(server.introspection_requests(), 1);
}

#[test]
fn configuration_is_checked_and_secrets_are_redacted() {
    let build = |issuers: Vec<Issuer>| {
        issuers
            .into_iter()
            .fold(Verifier::builder(), |b, i| b.issuer(i))
            .build()
            .map(|_| ())
            .unwrap_err()
            .kind()
    };
    let plain = Introspection::endpoint("http://idp.example.com/introspect");
    assert_eq!(
        build(vec![
            Issuer::new("https://idp.example.com/")
                .audience("api")
                .introspection(plain)
        ]),
        ConfigErrorKind::InsecureUrl
    );
    let at = |iss: &str| {
        Issuer::new(iss)
            .audience("api")
            .introspection(Introspection::endpoint(
                "https://idp.example.com/introspect",
            ))
    };
    assert_eq!(
        build(vec![at("https://a.example/"), at("https://b.example/")]),
        ConfigErrorKind::InvalidSetting
    );
    let secret = Introspection::endpoint("https://idp.example.com/introspect")
        .client_secret_basic("api", "very-secret-value");
    let debug = format!(
        "{:?}",
        Issuer::new("https://idp.example.com/").introspection(secret)
    );
    assert!(!debug.contains("very-secret-value"), "{debug}");
}

#[tokio::test]
async fn the_endpoint_can_come_from_discovery() {
    let server = IssuerServer::start().await;
    let config = Introspection::discover()
        .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET);
    let verifier = verifier_with(&server, &FixedClock::at(NOW), config);
    let token = opaque(&server, "openid");
    assert!(verify(&verifier, &token).await.is_ok());
    let health = verifier.health()[0].introspection.clone().unwrap();
    assert_eq!(health.endpoint, server.introspection_url());
    // A provider that advertises none: an outage the health snapshot explains.
    let server = IssuerServer::start().await;
    server.set_advertise_introspection(false);
    let config = Introspection::discover()
        .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET);
    let verifier = verifier_with(&server, &FixedClock::at(NOW), config);
    let token = opaque(&server, "openid");
    assert_eq!(
        verify(&verifier, &token).await.unwrap_err(),
        ErrorKind::IntrospectionUnavailable
    );
    let health = verifier.health()[0].introspection.clone().unwrap();
    assert!(
        health
            .last_failure_message
            .unwrap()
            .contains("advertises no introspection_endpoint")
    );
}

#[tokio::test]
async fn private_key_jwt_authenticates_without_a_shared_secret() {
    use tokengate::{Algorithm, introspection::ClientKey};
    let server = IssuerServer::start().await;
    let client_key = tokengate_testkit::TestKey::generate(Algorithm::ES256);
    server.register_client_key("orders-api", &client_key);
    let key = ClientKey::from_pkcs8(client_key.private_pkcs8_der(), Algorithm::ES256)
        .unwrap()
        .with_kid(client_key.kid());
    assert!(!format!("{key:?}").contains("PRIVATE"));
    // The assertion is judged by the provider's clock (the system's here).
    let now = FixedClock::at(tokengate_testkit::now());
    let config =
        Introspection::endpoint(server.introspection_url()).private_key_jwt("orders-api", key);
    let verifier = verifier_with(&server, &now, config);
    let mut claims = claims_at(&server.issuer(), AUD, tokengate_testkit::now());
    claims["scope"] = json!("openid");
    let token = server.issue_opaque(&claims);
    assert!(verify(&verifier, &token).await.is_ok());
    // Another key under the same client id: the provider refuses the client, we fail closed.
    let impostor = ClientKey::from_pkcs8(
        tokengate_testkit::TestKey::generate(Algorithm::ES256).private_pkcs8_der(),
        Algorithm::ES256,
    )
    .unwrap();
    let config =
        Introspection::endpoint(server.introspection_url()).private_key_jwt("orders-api", impostor);
    let verifier = verifier_with(&server, &now, config);
    assert_eq!(
        verify(&verifier, &token).await.unwrap_err(),
        ErrorKind::IntrospectionUnavailable
    );
    // RSA and Ed25519 client keys too.
    for alg in [Algorithm::RS256, Algorithm::EdDSA] {
        let client_key = tokengate_testkit::TestKey::shared(alg);
        let id = format!("client-{alg}");
        server.register_client_key(&id, &client_key);
        let key = ClientKey::from_pkcs8(client_key.private_pkcs8_der(), alg).unwrap();
        let config = Introspection::endpoint(server.introspection_url()).private_key_jwt(id, key);
        let verifier = verifier_with(&server, &now, config);
        assert!(verify(&verifier, &token).await.is_ok(), "{alg}");
    }
    // Keys that cannot sign client assertions are refused at setup.
    let weak = ClientKey::from_pkcs8(b"not a key", Algorithm::RS256).unwrap_err();
    assert_eq!(weak.kind(), ConfigErrorKind::InvalidKey);
    let hmac = ClientKey::from_pkcs8(client_key.private_pkcs8_der(), Algorithm::HS256).unwrap_err();
    assert_eq!(hmac.kind(), ConfigErrorKind::UnknownAlgorithm);
}

#[tokio::test]
async fn google_and_facebook_profiles_map_onto_the_same_claims() {
    use tokengate_testkit::{FACEBOOK_APP_ID, FACEBOOK_APP_SECRET};
    let server = IssuerServer::start().await;
    let profile = |introspection: Introspection, audience: &str| {
        Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience(audience)
                    .introspection(introspection),
            )
            .clock(FixedClock::at(NOW))
            .build()
            .unwrap()
    };
    let issue = |aud: &str| {
        let mut claims = claims_at(&server.issuer(), aud, NOW);
        claims["scope"] = json!("openid email");
        server.issue_opaque(&claims)
    };
    // Google: the audience is the OAuth client id.
    let google = profile(
        Introspection::google().at(server.google_url()),
        "web-client-id",
    );
    let token = issue("web-client-id");
    let verified = verify(&google, &token).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert!(verified.scopes().contains("email"));
    assert_eq!(verified.claims.client_id.as_deref(), Some("demo-client"));
    assert_eq!(verified.expires_at(), (NOW + 300) as f64);
    assert_eq!(
        verify(&google, "unknown").await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    let other_client = issue("another-client-id");
    assert_eq!(
        verify(&google, &other_client).await.unwrap_err(),
        ErrorKind::InvalidAudience
    );
    // Facebook: the audience is the app id.
    let facebook = profile(
        Introspection::facebook(FACEBOOK_APP_ID, FACEBOOK_APP_SECRET).at(server.facebook_url()),
        FACEBOOK_APP_ID,
    );
    let token = issue(FACEBOOK_APP_ID);
    let verified = verify(&facebook, &token).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert!(verified.scopes().contains("openid"));
    assert_eq!(
        verify(&facebook, "unknown").await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    // A wrong app secret: Facebook refuses the app, we fail closed, the secret stays hidden.
    let wrong = profile(
        Introspection::facebook(FACEBOOK_APP_ID, "wrong-secret").at(server.facebook_url()),
        FACEBOOK_APP_ID,
    );
    assert_eq!(
        verify(&wrong, &token).await.unwrap_err(),
        ErrorKind::IntrospectionUnavailable
    );
    let message = wrong.health()[0]
        .introspection
        .clone()
        .unwrap()
        .last_failure_message
        .unwrap();
    assert!(
        !message.contains("wrong-secret") && !message.contains(&token),
        "{message}"
    );
    assert!(
        !format!("{:?}", Introspection::facebook("1", "hidden-secret")).contains("hidden-secret")
    );
}

#[tokio::test]
async fn an_outage_can_be_answered_401_like_key_outages() {
    let server = IssuerServer::start().await;
    server.set_fault(Fault::Status(502)).await;
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .introspection(introspection(&server)),
        )
        .clock(FixedClock::at(NOW))
        .keys_unavailable_as_unauthorized()
        .build()
        .unwrap();
    let token = opaque(&server, "openid");
    let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::IntrospectionUnavailable);
    let answer = verifier.answer(&error);
    assert_eq!(answer.status(), 401);
    assert!(answer.retry_after().is_none());
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );
}

#[tokio::test]
async fn an_introspected_token_bound_to_a_key_is_refused_as_bearer() {
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let mut claims = claims_at(&server.issuer(), AUD, NOW);
    claims["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let token = server.issue_opaque(&claims);
    assert_eq!(
        verify(&verifier, &token).await.unwrap_err(),
        ErrorKind::BoundToken
    );
}

#[tokio::test]
async fn a_jws_from_a_configured_issuer_keeps_its_local_answer() {
    // Only tokens that are not a compact JWS from a configured issuer are introspected: a JWS
    // of ours that breaks a header rule is refused locally, with its own error, at no call.
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let key = server.signing_key();
    let claims = claims_at(&server.issuer(), AUD, NOW);
    let crit = key.mint_with_header(
        &json!({"alg": key.alg().as_str(), "kid": key.kid(), "crit": ["exp"]}),
        &claims,
    );
    assert_eq!(
        verify(&verifier, &crit).await.unwrap_err(),
        ErrorKind::UnsupportedToken
    );
    let none = format!(
        "{}.{}.",
        tokengate_testkit::b64(r#"{"alg":"none"}"#),
        tokengate_testkit::b64(claims.to_string())
    );
    assert_eq!(
        verify(&verifier, &none).await.unwrap_err(),
        ErrorKind::DisallowedAlgorithm
    );
    // A signed payload that breaks the strict JSON rules — a duplicate member, nesting past
    // the limit — is refused here too, never handed to the provider's parser.
    let header = json!({"alg": key.alg().as_str(), "kid": key.kid()}).to_string();
    let claims_text = claims.to_string();
    let duplicate = format!(r#"{{"iss":"{}",{}"#, server.issuer(), &claims_text[1..]);
    let deep = format!(
        r#"{{"iss":"{}","x":{}{}}}"#,
        server.issuer(),
        "[".repeat(200),
        "]".repeat(200)
    );
    for payload in [&duplicate, &deep] {
        let token = key.sign_raw(&header, payload);
        assert_eq!(
            verify(&verifier, &token).await.unwrap_err(),
            ErrorKind::MalformedToken,
            "{payload}"
        );
    }
    assert_eq!(server.introspection_requests(), 0);
    // A JWS naming another issuer is not ours to judge locally: the provider is asked.
    let mut foreign = claims.clone();
    foreign["iss"] = json!("https://someone-else.example/");
    let foreign = key.mint(&foreign);
    assert_eq!(
        verify(&verifier, &foreign).await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    assert_eq!(server.introspection_requests(), 1);
}

/// A provider whose check is its own: answers active for one magic token.
#[derive(Debug)]
struct MagicWord;

#[async_trait::async_trait]
impl tokengate::introspection::TokenCheck for MagicWord {
    async fn check(
        &self,
        request: tokengate::introspection::CheckRequest<'_>,
    ) -> Result<Vec<u8>, tokengate::fetch::FetchError> {
        assert!(!format!("{request:?}").contains(request.token));
        let answer = if request.token == "open-sesame" {
            json!({"active": true, "sub": "ali-baba", "scope": "cave:enter", "exp": NOW + 60})
        } else {
            json!({"active": false})
        };
        Ok(answer.to_string().into_bytes())
    }
}

#[tokio::test]
async fn a_custom_token_check_gets_the_same_cache_and_rules() {
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://caves.example/")
                .insecure_skip_audience_check()
                .introspection(Introspection::custom(
                    "https://caves.example/check",
                    MagicWord,
                )),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    let verified = verify(&verifier, "open-sesame").await.unwrap();
    assert_eq!(verified.subject(), Some("ali-baba"));
    assert!(verified.scopes().contains("cave:enter"));
    assert_eq!(
        verify(&verifier, "close-sesame").await.unwrap_err(),
        ErrorKind::InactiveToken
    );
    assert!(verify(&verifier, "open-sesame").await.is_ok());
    let health = verifier.health()[0].introspection.clone().unwrap();
    assert_eq!((health.calls, health.cache_hits), (2, 1));
}

#[tokio::test]
async fn an_introspected_dpop_binding_needs_its_proof() {
    use tokengate_testkit::dpop::DpopKey;
    let server = IssuerServer::start().await;
    let verifier = verifier_with(&server, &FixedClock::at(NOW), introspection(&server));
    let client = DpopKey::generate(tokengate::Algorithm::ES256);
    // The provider's introspection response carries `cnf.jkt`.
    let token = server.issue_opaque(&client.bind(claims_at(&server.issuer(), AUD, NOW)));
    let decide = |headers: &http::HeaderMap| {
        let request = RequestView::new("GET", "/me", None, headers);
        match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
            Decision::Pending(pending) => Some(pending),
            Decision::Admit(_) => None,
            Decision::Deny(answer) => panic!("refused before introspection: {answer}"),
        }
    };
    let mut bearer = http::HeaderMap::new();
    bearer.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let answer = decide(&bearer).unwrap().resolve().await.unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::BoundToken);
    let proof = client
        .proof_for("GET", "http://api.test/me")
        .issued_at(NOW)
        .access_token(&token)
        .sign();
    let mut dpop = http::HeaderMap::new();
    dpop.insert("authorization", format!("DPoP {token}").parse().unwrap());
    dpop.insert("dpop", proof.parse().unwrap());
    dpop.insert("host", "api.test".parse().unwrap());
    // The introspection result is cached now: no wait.
    let request = RequestView::new("GET", "/me", None, &dpop);
    match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
        Decision::Admit(Admission::Verified(verified)) => assert!(verified.is_dpop_bound()),
        other => panic!("expected admission: {other:?}"),
    }
}

/// The RFC 9068 profile is about JWT access tokens: an introspection answer follows RFC 7662,
/// where every member but `active` is optional. Real providers answer without `sub` (client
/// credentials) or without `iss`/`jti`; with the profile on, every such opaque token was
/// refused. The issuer's own `require_claims` still apply to both kinds, and name the claim.
#[tokio::test]
async fn the_rfc_9068_profile_applies_to_jwts_not_to_introspection_answers() {
    let server = IssuerServer::start().await;
    let build = |required: &[&str]| {
        Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience(AUD)
                    .rfc9068()
                    .require_claims(required.iter().copied())
                    .keys(KeySource::jwks_url(server.jwks_url()))
                    .introspection(introspection(&server)),
            )
            .clock(FixedClock::at(NOW))
            .build()
            .unwrap()
    };
    let verifier = build(&[]);
    let mut answer = claims_at(&server.issuer(), AUD, NOW);
    for member in ["sub", "jti", "iss", "client_id", "iat"] {
        answer.as_object_mut().unwrap().remove(member);
    }
    let token = server.issue_opaque(&answer);
    let verified = verify(&verifier, &token).await.unwrap();
    assert_eq!(verified.subject(), None);
    // A JWT under the same profile still needs every RFC 9068 claim, and the error names it.
    let mut claims = claims_at(&server.issuer(), AUD, NOW);
    claims.as_object_mut().unwrap().remove("sub");
    let key = server.signing_key();
    let jwt = key.mint_with_header(
        &json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": "at+jwt"}),
        &claims,
    );
    let error = verifier.verify::<StandardClaims>(&jwt).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingClaim);
    assert_eq!(error.claim(), Some("sub"));
    assert_eq!(error.to_string(), "missing_claim: sub is missing");
    let answer_401 = verifier.answer(&error);
    assert_eq!(answer_401.status(), 401);
    assert_eq!(
        answer_401.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );
    // A claim the user requires applies to introspection answers too, named.
    let strict = build(&["tenant"]);
    let token = server.issue_opaque(&answer);
    let error = strict.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingClaim);
    assert_eq!(error.claim(), Some("tenant"));
}
