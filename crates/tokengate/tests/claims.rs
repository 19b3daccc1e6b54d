//! Typed claims, scopes, roles, requirements, configuration errors, and what never appears in
//! `Debug` output or logs.

mod support;

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use support::*;
use tokengate::clock::FixedClock;
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier,
    error::ConfigErrorKind,
};
use tokengate_testkit::{NOW, TestKey};

#[derive(Clone, Debug, Deserialize)]
struct MyClaims {
    sub: String,
    email: String,
    roles: Vec<String>,
}

#[test]
fn claims_deserialize_into_the_callers_type() {
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let token = key.mint(&claims());
    let verified = verify_as::<MyClaims>(&verifier, &token).unwrap();
    assert_eq!(verified.claims.sub, "alice");
    assert_eq!(verified.claims.email, "alice@example.com");
    assert_eq!(verified.claims.roles, ["reader"]);
    // Claims that do not fit the type: invalid_claim, not a panic or a 500.
    let error = verify_as::<MyClaims>(&verifier, &key.mint(&claims_with(json!({"email": null}))))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidClaim);
    assert_eq!(verifier.answer(&error).status(), 401);
    // A forged token is a bad signature, whatever its claims look like: nothing about the
    // claims is reported before the signature holds.
    let forger = TestKey::generate(Algorithm::ES256).with_kid(key.kid());
    for forged in [
        forger.mint(&claims_with(json!({"email": null}))),
        forger.mint(&claims_with(json!({"exp": NOW - 9999}))),
    ] {
        let error = verify_as::<MyClaims>(&verifier, &forged).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidSignature);
    }
}

fn verify_as<T>(
    verifier: &Verifier,
    token: &str,
) -> Result<tokengate::Verified<T>, tokengate::Error>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    futures_executor::block_on(verifier.verify::<T>(token))
}

/// Every claims type is deserialized from the payload exactly as `serde_json::from_slice`
/// would: the same value, or a refusal (as `invalid_claim`) where serde_json refuses.
#[track_caller]
fn same_as_serde_json<T>(verifier: &Verifier, key: &TestKey, changes: serde_json::Value)
where
    T: serde::de::DeserializeOwned + Send + Sync + std::fmt::Debug + PartialEq + 'static,
{
    let claims = claims_with(changes);
    let expected = serde_json::from_value::<T>(claims.clone());
    let got = verify_as::<T>(verifier, &key.mint(&claims));
    match (expected, got) {
        (Ok(expected), Ok(got)) => assert_eq!(*got.claims, expected),
        (Err(_), Err(error)) => assert_eq!(error.kind(), ErrorKind::InvalidClaim),
        (expected, got) => panic!("serde_json: {expected:?}, tokengate: {got:?}"),
    }
}

#[test]
fn any_type_serde_json_accepts_works_identically() {
    use std::collections::BTreeMap;

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    struct Newtype(BTreeMap<String, serde_json::Value>);

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    struct Inner {
        sub: String,
    }

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    struct Flattened {
        #[serde(flatten)]
        who: Inner,
        #[serde(flatten)]
        rest: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum Either {
        Person { email: String },
        Service { client_id: String },
    }

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Tier {
        Gold,
        Silver,
    }

    #[derive(Clone, Debug, PartialEq, Deserialize)]
    struct Shapes {
        tier: Tier,
        pair: (u8, String),
        #[serde(default)]
        missing: Vec<String>,
        #[serde(default = "seven")]
        defaulted: u32,
        optional: Option<String>,
    }

    fn seven() -> u32 {
        7
    }

    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let none = json!({});
    same_as_serde_json::<Newtype>(&verifier, &key, none.clone());
    same_as_serde_json::<Option<Inner>>(&verifier, &key, none.clone());
    same_as_serde_json::<Option<MyClaimsEq>>(&verifier, &key, none.clone());
    same_as_serde_json::<Flattened>(&verifier, &key, none.clone());
    same_as_serde_json::<Either>(&verifier, &key, none.clone());
    same_as_serde_json::<Either>(&verifier, &key, json!({"email": null}));
    same_as_serde_json::<serde_json::Value>(
        &verifier,
        &key,
        json!({"nested": {"a": [1, {"b": null}]}}),
    );
    let shapes = json!({"tier": "gold", "pair": [3, "x"]});
    same_as_serde_json::<Shapes>(&verifier, &key, shapes);
    let shapes = json!({"tier": "silver", "pair": [3, "x"], "optional": "here", "defaulted": 1});
    same_as_serde_json::<Shapes>(&verifier, &key, shapes);
    // Where serde_json refuses, tokengate says invalid_claim (after the signature).
    same_as_serde_json::<Shapes>(&verifier, &key, json!({"tier": "bronze", "pair": [3, "x"]}));
    same_as_serde_json::<Shapes>(&verifier, &key, json!({"tier": "gold", "pair": [300, "x"]}));
    same_as_serde_json::<(String,)>(&verifier, &key, none);

    // The newtype and the Option see every claim.
    let token = key.mint(&claims());
    let newtype = verify_as::<Newtype>(&verifier, &token).unwrap();
    assert_eq!(newtype.claims.0["email"], "alice@example.com");
    let option = verify_as::<Option<Inner>>(&verifier, &token).unwrap();
    assert_eq!(
        *option.claims,
        Some(Inner {
            sub: "alice".into()
        })
    );
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct MyClaimsEq {
    sub: String,
    roles: Vec<String>,
}

#[test]
fn duplicate_members_are_refused_whatever_the_claims_type() {
    // Duplicates anywhere in the payload are refused before the signature is checked, for any
    // claims type — even one that ignores the duplicated member.
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let payload = serde_json::to_string(&claims()).unwrap();
    for extra in [
        r#","sub":"mallory""#,
        r#","deep":{"a":{"b":1,"b":2}}"#,
        r#","list":[{"x":1,"x":1}]"#,
    ] {
        let doubled = format!("{}{extra}}}", &payload[..payload.len() - 1]);
        let header = json!({"alg": key.alg().as_str(), "typ": "JWT", "kid": key.kid()});
        let token = key.sign_raw(&header.to_string(), &doubled);
        let error = verify_as::<serde_json::Value>(&verifier, &token).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedToken, "{extra}");
        let error = verify_as::<serde::de::IgnoredAny>(&verifier, &token).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedToken, "{extra}");
    }
}

#[test]
fn subject_and_jti_read_back_exactly_escaped_or_not() {
    // `sub` and `jti` are kept as places in the payload when spelled without escapes, and as
    // their own copies when not: both read back as the claim's value.
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    for (sub, jti) in [
        ("alice", "id-1"),
        ("zoë \u{1F600}", "j\"ti\\2"),
        ("line\nbreak", "tab\there"),
        ("", ""),
    ] {
        let token = key.mint(&claims_with(json!({"sub": sub, "jti": jti})));
        let verified = verify(&verifier, &token).unwrap();
        assert_eq!(verified.subject(), Some(sub));
        assert_eq!(verified.jti(), Some(jti));
    }
    assert_invalid_token(
        &verifier,
        &key.mint(&claims_with(json!({"sub": 7}))),
        ErrorKind::InvalidClaim,
    );
}

#[test]
fn tokens_of_any_size_in_any_order_and_verification_inside_a_claims_type() {
    // The decoded segments live in a per-thread scratch buffer: a short token after a long
    // one must not see the long one's bytes, and a claims type that verifies another token
    // while it is read (re-entering on the same thread) gets a buffer of its own.
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let long = key.mint(&claims_with(
        json!({"sub": "b".repeat(3000), "jti": "long"}),
    ));
    let short = key.mint(&claims_with(json!({"sub": "a", "jti": "short"})));
    for token in [&long, &short, &long, &short] {
        let verified = verify(&verifier, token).unwrap();
        assert_eq!(
            verified.jti(),
            Some(if token == &long { "long" } else { "short" })
        );
    }

    thread_local! {
        static INNER: std::cell::RefCell<Option<(Verifier, String)>> = const {
            std::cell::RefCell::new(None)
        };
    }
    struct Reentrant(String);
    impl<'de> Deserialize<'de> for Reentrant {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            serde::de::IgnoredAny::deserialize(deserializer)?;
            let (verifier, token) = INNER.with(|inner| inner.borrow().clone()).unwrap();
            let tokengate::verifier::Attempt::Done(inner) =
                verifier.try_verify::<StandardClaims>(&token)
            else {
                return Err(serde::de::Error::custom("static keys never wait"));
            };
            let inner = inner.map_err(serde::de::Error::custom)?;
            Ok(Reentrant(inner.subject().unwrap_or_default().to_owned()))
        }
    }
    // Tokens never verified before, so neither is a cache hit.
    let inner_token = key.mint(&claims_with(json!({"sub": "a", "jti": "inner"})));
    let outer_token = key.mint(&claims_with(
        json!({"sub": "b".repeat(3000), "jti": "outer"}),
    ));
    INNER.with(|inner| *inner.borrow_mut() = Some((verifier.clone(), inner_token)));
    let outer = verify_as::<Reentrant>(&verifier, &outer_token).unwrap();
    assert_eq!(outer.claims.0, "a");
    assert_eq!(outer.jti(), Some("outer"));
}

#[test]
fn standard_claims_carry_registered_and_extra_claims() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let verified = verify(
        &verifier,
        &key.mint(&claims_with(json!({"aud": ["x", AUD]}))),
    )
    .unwrap();
    let claims = &verified.claims;
    assert_eq!(claims.iss.as_deref(), Some(ISS));
    assert!(claims.aud.contains(AUD) && claims.aud.contains("x"));
    assert_eq!(claims.exp, Some((NOW + 300) as f64));
    assert_eq!(claims.client_id.as_deref(), Some("demo-client"));
    assert!(claims.scope.contains("messages:read"));
    assert_eq!(
        verified.claim(&["email"]),
        Some(serde_json::json!("alice@example.com"))
    );
    assert_eq!(verified.expires_at(), (NOW + 300) as f64);
}

#[test]
fn scopes_merge_scope_string_and_scp_array_or_string() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let scopes_of = |changes| {
        let verified = verify(&verifier, &key.mint(&claims_with(changes))).unwrap();
        verified
            .scopes()
            .iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(scopes_of(json!({"scope": "a b  c"})), ["a", "b", "c"]);
    assert_eq!(
        scopes_of(json!({"scope": null, "scp": ["okta.read", "okta.write"]})),
        ["okta.read", "okta.write"]
    );
    assert_eq!(
        scopes_of(json!({"scope": null, "scp": "User.Read Mail.Send"})),
        ["User.Read", "Mail.Send"]
    );
    assert_eq!(
        scopes_of(json!({"scope": "a b", "scp": ["b", "c"]})),
        ["a", "b", "c"]
    );
    assert!(scopes_of(json!({"scope": null})).is_empty());
    for bad in [
        json!({"scope": ["a"]}),
        json!({"scope": 1}),
        json!({"scp": 1}),
        json!({"scp": [1]}),
    ] {
        assert_invalid_token(
            &verifier,
            &key.mint(&claims_with(bad)),
            ErrorKind::InvalidClaim,
        );
    }
}

#[test]
fn requirements_use_exact_membership_and_render_403_with_scope() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let verified = verify(
        &verifier,
        &key.mint(&claims_with(json!({"scope": "messages:read profile"}))),
    )
    .unwrap();
    assert!(
        verified
            .require(&Requirement::all(["messages:read"]))
            .is_ok()
    );
    assert!(
        verified
            .require(&Requirement::any(["admin", "profile"]))
            .is_ok()
    );
    let error = verified
        .require(&Requirement::all(["messages:write", "messages:read"]))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsufficientScope);
    let rejection = verifier.answer(&error);
    assert_eq!(rejection.status(), 403);
    assert_eq!(
        rejection.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:write messages:read""#
    );
    for partial in ["messages", "read"] {
        let error = verified.require(&Requirement::all([partial])).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InsufficientScope, "{partial}");
    }
}

#[test]
fn roles_come_from_a_configurable_claim_path() {
    let key = key(Algorithm::RS256);
    let keycloak = verifier_with(issuer_for(&key).roles_claim(["realm_access", "roles"]));
    let token = key.mint(&claims_with(
        json!({"realm_access": {"roles": ["admin", "offline_access"]}, "roles": ["decoy"]}),
    ));
    let verified = verify(&keycloak, &token).unwrap();
    assert_eq!(
        verified.roles().iter().collect::<Vec<_>>(),
        ["admin", "offline_access"]
    );
    assert!(verified.require(&Requirement::any_roles(["admin"])).is_ok());
    // A missing role has its own kind and description, and no `scope` parameter.
    let error = verified
        .require(&Requirement::all_roles(["auditor"]))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsufficientRole);
    let answer = keycloak.answer(&error);
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required role""#
    );
    assert!(
        verified
            .require(&Requirement::any_roles(["decoy"]))
            .is_err()
    );

    let auth0 = verifier_with(issuer_for(&key).roles_claim(["https://example.com/roles"]));
    let token = key.mint(&claims_with(
        json!({"https://example.com/roles": ["editor"]}),
    ));
    assert_eq!(
        verify(&auth0, &token)
            .unwrap()
            .roles()
            .iter()
            .collect::<Vec<_>>(),
        ["editor"]
    );

    // Default path `roles`; missing or odd-typed role claims just mean no roles.
    let default = verifier_for(&key);
    assert_eq!(
        verify(&default, &key.mint(&claims()))
            .unwrap()
            .roles()
            .iter()
            .collect::<Vec<_>>(),
        ["reader"]
    );
    let verified = verify(
        &keycloak,
        &key.mint(&claims_with(json!({"realm_access": 5}))),
    )
    .unwrap();
    assert!(verified.roles().is_empty());
}

#[test]
fn required_claims_must_be_present() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_with(issuer_for(&key).require_claims(["sub", "tenant"]));
    assert!(verify(&verifier, &key.mint(&claims_with(json!({"tenant": "t1"})))).is_ok());
    assert_invalid_token(&verifier, &key.mint(&claims()), ErrorKind::MissingClaim);
    assert_invalid_token(
        &verifier,
        &key.mint(&claims_with(json!({"tenant": "t1", "sub": null}))),
        ErrorKind::MissingClaim,
    );
    assert_invalid_token(
        &verifier,
        &key.mint(&claims_with(json!({"tenant": "t1", "sub": 5}))),
        ErrorKind::InvalidClaim,
    );
}

#[test]
fn several_issuers_in_one_verifier() {
    let okta = TestKey::generate(Algorithm::RS256);
    let entra = TestKey::generate(Algorithm::RS256);
    let local = TestKey::generate(Algorithm::HS256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://okta.test/")
                .audience("api")
                .keys(KeySource::pem(okta.public_pem())),
        )
        .issuer(
            Issuer::new("https://entra.test/v2.0")
                .audiences(["api", "api2"])
                .keys(KeySource::jwk(entra.bare_jwk().to_string())),
        )
        .issuer(
            Issuer::new("local")
                .audience("api")
                .algorithms([Algorithm::HS256])
                .keys(KeySource::secret(local.secret().unwrap())),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    let head = |k: &TestKey| json!({"alg": k.alg().as_str()});
    let token = |k: &TestKey, iss: &str, aud: &str| {
        k.mint_with_header(&head(k), &claims_with(json!({"iss": iss, "aud": aud})))
    };
    assert_eq!(
        verify(&verifier, &token(&okta, "https://okta.test/", "api"))
            .unwrap()
            .issuer(),
        "https://okta.test/"
    );
    assert_eq!(
        verify(&verifier, &token(&entra, "https://entra.test/v2.0", "api2"))
            .unwrap()
            .issuer(),
        "https://entra.test/v2.0"
    );
    assert_eq!(
        verify(&verifier, &token(&local, "local", "api"))
            .unwrap()
            .issuer(),
        "local"
    );
    // Each issuer's keys verify only that issuer's tokens.
    assert_eq!(
        verify(&verifier, &token(&okta, "https://entra.test/v2.0", "api")).unwrap_err(),
        ErrorKind::InvalidSignature
    );
    assert_eq!(
        verify(&verifier, &token(&local, "https://okta.test/", "api")).unwrap_err(),
        ErrorKind::DisallowedAlgorithm
    );
    assert_eq!(
        verify(&verifier, &token(&okta, "https://okta.test/", "api2")).unwrap_err(),
        ErrorKind::InvalidAudience
    );
    assert_eq!(verifier.issuers().count(), 3);
}

#[test]
fn configuration_mistakes_fail_at_build() {
    let key = key(Algorithm::RS256);
    let pem = || KeySource::pem(key.public_pem());
    let build = |b: tokengate::VerifierBuilder| b.build().unwrap_err().kind();
    assert_eq!(build(Verifier::builder()), ConfigErrorKind::NoIssuer);
    assert_eq!(
        build(Verifier::builder().issuer(Issuer::new(ISS).keys(pem()))),
        ConfigErrorKind::NoAudience
    );
    assert_eq!(
        build(Verifier::builder().issuer(Issuer::new(ISS).audience(AUD))),
        ConfigErrorKind::NoKeys
    );
    assert_eq!(
        build(
            Verifier::builder().issuer(Issuer::new(ISS).audience(AUD).algorithms([]).keys(pem()))
        ),
        ConfigErrorKind::NoAlgorithm
    );
    assert_eq!(
        build(
            Verifier::builder().issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([Algorithm::ES256])
                    .keys(pem())
            )
        ),
        ConfigErrorKind::NoKeys,
        "an RSA key fits no ES256 allowlist"
    );
    assert_eq!(
        build(
            Verifier::builder().issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .keys(KeySource::secret([1u8; 64]))
            )
        ),
        ConfigErrorKind::NoKeys,
        "HMAC is not in the default allowlist"
    );
    assert_eq!(
        build(
            Verifier::builder()
                .issuer(Issuer::new(ISS).audience(AUD).keys(pem()))
                .issuer(Issuer::new(ISS).audience("b").keys(pem()))
        ),
        ConfigErrorKind::DuplicateIssuer
    );
    // An issuer identifier shows in logs, metric labels and health: no credentials in it.
    let error = Verifier::builder()
        .issuer(
            Issuer::new("https://user:hunter2@issuer.test/")
                .audience(AUD)
                .keys(pem()),
        )
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ConfigErrorKind::InvalidSetting);
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(
        Verifier::builder()
            .issuer(
                Issuer::new("https://issuer.test/users/a@b")
                    .audience(AUD)
                    .keys(pem())
            )
            .build()
            .is_ok(),
        "an @ in the path is not userinfo"
    );
    assert_eq!(
        build(
            Verifier::builder()
                .issuer(Issuer::new(ISS).audience(AUD).keys(pem()))
                .leeway(Duration::from_secs(301))
        ),
        ConfigErrorKind::LeewayTooLarge
    );
    assert_eq!(
        build(
            Verifier::builder()
                .issuer(Issuer::new(ISS).audience(AUD).keys(pem()))
                .realm("a\nb")
        ),
        ConfigErrorKind::InvalidSetting
    );
    assert_eq!(
        build(Verifier::builder().issuer(Issuer::new("").audience(AUD).keys(pem()))),
        ConfigErrorKind::InvalidSetting
    );
    assert_eq!(
        build(
            Verifier::builder().issuer(
                Issuer::new(ISS)
                    .audience(AUD)
                    .keys(KeySource::pem("not a pem"))
            )
        ),
        ConfigErrorKind::InvalidKey
    );
    assert!(
        Verifier::builder()
            .issuer(Issuer::new(ISS).audience(AUD).keys(pem()))
            .leeway(Duration::from_secs(300))
            .build()
            .is_ok()
    );
}

#[test]
fn skipping_the_audience_check_is_an_explicit_opt_in() {
    let key = key(Algorithm::ES256);
    let verifier = verifier_with(
        Issuer::new(ISS)
            .insecure_skip_audience_check()
            .keys(KeySource::jwk(key.public_jwk().to_string())),
    );
    assert!(verify(&verifier, &key.mint(&claims_with(json!({"aud": null})))).is_ok());
    assert!(
        verify(
            &verifier,
            &key.mint(&claims_with(json!({"aud": "anything"})))
        )
        .is_ok()
    );
}

#[test]
fn leeway_and_clock_are_configurable() {
    let key = key(Algorithm::HS256);
    let clock = FixedClock::at(NOW);
    let verifier = Verifier::builder()
        .issuer(issuer_for(&key))
        .clock(clock.clone())
        .leeway(Duration::from_secs(0))
        .build()
        .unwrap();
    let token = key.mint(&claims()); // exp = NOW + 300
    assert!(verify(&verifier, &token).is_ok());
    clock.advance(Duration::from_secs(299));
    assert!(verify(&verifier, &token).is_ok());
    clock.advance(Duration::from_secs(1));
    assert_eq!(verify(&verifier, &token).unwrap_err(), ErrorKind::Expired);
}

#[test]
fn custom_realm_and_token_cap() {
    let key = key(Algorithm::HS256);
    let verifier = Verifier::builder()
        .issuer(issuer_for(&key))
        .clock(FixedClock::at(NOW))
        .realm("orders")
        .max_token_bytes(256)
        .build()
        .unwrap();
    let error = futures_executor::block_on(verifier.verify::<StandardClaims>(&key.mint(&claims())))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TokenTooLarge);
    assert_eq!(
        verifier.answer(&error).www_authenticate().unwrap(),
        r#"Bearer realm="orders", error="invalid_token", error_description="the access token is invalid""#
    );
}

#[test]
fn debug_output_never_shows_keys_tokens_or_claims() {
    let key = key(Algorithm::HS256);
    let secret_text = tokengate_testkit::b64(key.secret().unwrap());
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::HS256])
            .keys(KeySource::secret(key.secret().unwrap())),
    );
    let token = key.mint(&claims());
    let verified = verify(&verifier, &token).unwrap();
    let shown = format!(
        "{verifier:?} {verified:?} {:?} {:?} {:?}",
        verified.claims,
        KeySource::secret(key.secret().unwrap()),
        key.verifying_key()
    );
    for secret in [
        "alice",
        "demo-client",
        "messages:read",
        "alice@example.com",
        &secret_text,
        key.kid(),
    ] {
        assert!(!shown.contains(secret), "Debug shows {secret}: {shown}");
    }
    assert!(
        shown.contains(ISS),
        "the issuer is configuration, shown for diagnosis"
    );
}

/// Delegation (RFC 8693 section 4.1): a token issued by a token exchange names its actors in
/// `act`, nested; `Verified::actor` reads the chain, `may_act` the allowed party, and
/// `Requirement::actor` admits only tokens used by one of the named actors.
#[test]
fn the_delegation_chain_is_read_and_required() {
    use tokengate::{Requirement, StandardClaims, Verifier};
    let key = TestKey::shared(tokengate::Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            tokengate::Issuer::new("https://issuer.test/")
                .audience("orders-api")
                .keys(tokengate::KeySource::jwks_json(tokengate_testkit::jwks(&[
                    &key,
                ]))),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    let mint = |extra: serde_json::Value| {
        let mut claims = tokengate_testkit::claims_at("https://issuer.test/", "orders-api", NOW);
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        key.mint(&claims)
    };
    let delegated = tokengate_testkit::fixture::verified_now::<StandardClaims>(
        &verifier,
        &mint(json!({
            "act": {"sub": "svc-mcp", "iss": "https://issuer.test/", "act": {"sub": "svc-gateway"}},
            "may_act": {"sub": "svc-reports"},
        })),
    );
    let actor = delegated.actor().expect("an act claim");
    let chain: Vec<_> = actor.chain().map(|a| a.sub.as_deref()).collect();
    assert_eq!(chain, [Some("svc-mcp"), Some("svc-gateway")]);
    assert_eq!(actor.iss.as_deref(), Some("https://issuer.test/"));
    assert_eq!(
        delegated.may_act().and_then(|m| m.sub),
        Some("svc-reports".to_owned())
    );
    assert!(
        !format!("{actor:?}").contains("svc-mcp"),
        "claims stay out of Debug"
    );
    assert!(delegated.require(&Requirement::actor(["svc-mcp"])).is_ok());
    // The earlier actor is not the current one.
    assert_eq!(
        delegated
            .require(&Requirement::actor(["svc-gateway"]))
            .unwrap_err()
            .kind(),
        tokengate::ErrorKind::Forbidden
    );
    // A token the subject uses directly has no actor and meets no actor requirement.
    let direct =
        tokengate_testkit::fixture::verified_now::<StandardClaims>(&verifier, &mint(json!({})));
    assert!(direct.actor().is_none() && direct.may_act().is_none());
    assert_eq!(
        direct
            .require(&Requirement::actor(["svc-mcp"]))
            .unwrap_err()
            .kind(),
        tokengate::ErrorKind::Forbidden
    );
    // An `act` that is not an object is no actor.
    let odd = tokengate_testkit::fixture::verified_now::<StandardClaims>(
        &verifier,
        &mint(json!({"act": "svc-mcp"})),
    );
    assert!(odd.actor().is_none());
    assert_eq!(
        odd.require(&Requirement::actor(["svc-mcp"]))
            .unwrap_err()
            .kind(),
        tokengate::ErrorKind::Forbidden
    );
}
