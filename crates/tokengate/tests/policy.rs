//! Policy beyond scopes: step-up (RFC 9470), claim rules, hierarchies and custom checks, through
//! the request pipeline, asserting kinds, statuses and challenges.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokengate::adapter::{Admission, Decision, Policy, RequestView};
use tokengate::checks::{CheckContext, Verdict};
use tokengate::clock::FixedClock;
use tokengate::{
    Algorithm, Answer, ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier,
    VerifierBuilder,
};
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};

const ISS: &str = "https://issuer.test/";
const MFA: &str = "urn:tokengate:mfa";

fn issuer() -> Issuer {
    Issuer::new(ISS)
        .audience("api")
        .keys(KeySource::jwks_json(jwks(&[&TestKey::shared(
            Algorithm::ES256,
        )])))
}

fn builder() -> VerifierBuilder {
    Verifier::builder()
        .issuer(issuer())
        .clock(FixedClock::at(NOW))
}

fn token(extra: Value) -> String {
    let mut claims = claims_at(ISS, "api", NOW);
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    TestKey::shared(Algorithm::ES256).mint(&claims)
}

fn admin() -> Requirement {
    Requirement::any_roles(["admin"])
        .and(Requirement::acr([MFA]))
        .and(Requirement::max_auth_age(Duration::from_secs(300)))
}

fn send(verifier: &Verifier, token: &str, path: &str, policy: &Policy) -> Result<(), Answer> {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", path, None, &headers);
    let decision = verifier.decide::<StandardClaims, _>(&request, policy, None);
    let admission = match decision {
        Decision::Admit(admission) => admission,
        Decision::Deny(answer) => return Err(answer),
        Decision::Pending(pending) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(pending.resolve())?
        }
    };
    assert!(matches!(admission, Admission::Verified(_)));
    Ok(())
}

#[test]
fn step_up_answers_exactly_as_rfc_9470_shows() {
    let verifier = builder().build().unwrap();
    let policy = Policy::new().require(admin());
    let fresh = json!({"roles": ["admin"], "acr": MFA, "auth_time": NOW - 60});
    assert!(send(&verifier, &token(fresh), "/admin", &policy).is_ok());
    // Within the leeway a clock ahead of ours is tolerated, as for `iat`.
    let ahead = json!({"roles": ["admin"], "acr": MFA, "auth_time": NOW + 60});
    assert!(send(&verifier, &token(ahead), "/admin", &policy).is_ok());
    let expected = format!(
        r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different or more recent authentication is required", acr_values="{MFA}", max_age="300""#
    );
    for (case, claims) in [
        ("no acr", json!({"roles": ["admin"], "auth_time": NOW - 60})),
        (
            "another acr",
            json!({"roles": ["admin"], "acr": "urn:pwd", "auth_time": NOW - 60}),
        ),
        (
            "stale",
            json!({"roles": ["admin"], "acr": MFA, "auth_time": NOW - 301}),
        ),
        ("no auth_time", json!({"roles": ["admin"], "acr": MFA})),
        // An `auth_time` past now + leeway (60 s) would meet every age for ever.
        (
            "auth_time in the future",
            json!({"roles": ["admin"], "acr": MFA, "auth_time": NOW + 61}),
        ),
        (
            "auth_time far in the future",
            json!({"roles": ["admin"], "acr": MFA, "auth_time": NOW + 100_000_000}),
        ),
    ] {
        let answer = send(&verifier, &token(claims), "/admin", &policy).unwrap_err();
        assert_eq!(
            answer.kind(),
            ErrorKind::InsufficientUserAuthentication,
            "{case}"
        );
        assert_eq!(answer.status(), 401, "{case}");
        assert_eq!(
            answer.www_authenticate().unwrap(),
            expected.as_str(),
            "{case}"
        );
    }
    // The role is checked first: without it, 403.
    let reader = json!({"roles": ["reader"], "acr": MFA, "auth_time": NOW});
    let answer = send(&verifier, &token(reader), "/admin", &policy).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InsufficientRole);
    // Only a max age: only max_age in the challenge.
    let age = Policy::new().require(Requirement::max_auth_age(Duration::from_secs(5)));
    let answer = send(&verifier, &token(json!({"auth_time": NOW - 6})), "/", &age).unwrap_err();
    assert!(
        answer
            .www_authenticate()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(r#", max_age="5""#)
    );
}

#[test]
fn require_on_verified_claims_judges_auth_age_by_the_verifiers_clock() {
    // The verifier's clock is fixed at NOW, months before the wall clock: `Verified::require`
    // must judge `max_auth_age` by the same clock as the pipeline.
    let verifier = builder().build().unwrap();
    let age = Requirement::max_auth_age(Duration::from_secs(300));
    let verify = |auth_time: u64| {
        let token = token(json!({"auth_time": auth_time}));
        futures_executor::block_on(verifier.verify::<StandardClaims>(&token)).unwrap()
    };
    assert!(verify(NOW - 10).require(&age).is_ok());
    let error = verify(NOW - 400).require(&age).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsufficientUserAuthentication);
    assert_eq!(verifier.answer(&error).status(), 401);
}

#[test]
fn claim_rules_are_403_without_an_error_code() {
    let verifier = builder().build().unwrap();
    let rules = [
        (
            Requirement::claim_present(&["tid"]),
            json!({"tid": "acme"}),
            json!({}),
        ),
        (
            Requirement::claim_one_of(&["tid"], ["acme", "globex"]),
            json!({"tid": "globex"}),
            json!({"tid": "initech"}),
        ),
        (
            Requirement::claim_contains(&["groups"], "ops"),
            json!({"groups": ["dev", "ops"]}),
            json!({"groups": ["dev"]}),
        ),
        (
            Requirement::claim_one_of(&["org", "plan"], ["pro"]),
            json!({"org": {"plan": "pro"}}),
            json!({"org": {"plan": "free"}}),
        ),
        (
            Requirement::claim_one_of(&["email_verified"], [true]),
            json!({"email_verified": true}),
            json!({"email_verified": "true"}),
        ),
    ];
    for (rule, good, bad) in rules {
        let policy = Policy::new().require(rule);
        assert!(send(&verifier, &token(good), "/", &policy).is_ok());
        let answer = send(&verifier, &token(bad), "/", &policy).unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::Forbidden);
        assert_eq!(answer.status(), 403);
        assert_eq!(answer.www_authenticate().unwrap(), r#"Bearer realm="api""#);
    }
}

#[test]
fn hierarchies_are_opt_in_and_transitive() {
    let plain = builder().build().unwrap();
    let policy = Policy::new().require(Requirement::all(["files:read"]));
    let files = token(json!({"scope": "files"}));
    assert_eq!(
        send(&plain, &files, "/", &policy).unwrap_err().kind(),
        ErrorKind::InsufficientScope
    );
    let verifier = Verifier::builder()
        .issuer(
            issuer()
                .scope_implies("files", ["files:read", "files:write"])
                .role_implies("admin", ["editor"])
                .role_implies("editor", ["reader"]),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    assert!(send(&verifier, &files, "/", &policy).is_ok());
    let reader_route = Policy::new().require(Requirement::any_roles(["reader"]));
    assert!(
        send(
            &verifier,
            &token(json!({"roles": ["admin"]})),
            "/",
            &reader_route
        )
        .is_ok()
    );
    let answer = send(
        &verifier,
        &token(json!({"roles": ["guest"]})),
        "/",
        &reader_route,
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InsufficientRole);
}

#[test]
fn custom_checks_answer_with_each_verdict() {
    // A verifier-level check with application state: suspended accounts.
    let suspended = Arc::new(vec!["mallory".to_owned()]);
    let state = Arc::clone(&suspended);
    let verifier = builder()
        .check(move |cx: &CheckContext<'_>| {
            let refused = cx.subject().is_some_and(|s| state.contains(&s.to_owned()));
            async move {
                if refused {
                    Verdict::InvalidToken
                } else {
                    Verdict::Admit
                }
            }
        })
        .check_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    assert!(send(&verifier, &token(json!({})), "/", &Policy::new()).is_ok());
    let answer = send(
        &verifier,
        &token(json!({"sub": "mallory"})),
        "/",
        &Policy::new(),
    )
    .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::CheckRefused);
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );

    // Route-level checks see the request.
    let tenant = Policy::new().check(|cx: &CheckContext<'_>| {
        let ok = cx
            .claim_str(&["tid"])
            .is_some_and(|tid| cx.path().starts_with(&format!("/tenants/{tid}/")));
        async move {
            if ok {
                Verdict::Admit
            } else {
                Verdict::Forbidden
            }
        }
    });
    let acme = token(json!({"tid": "acme"}));
    assert!(send(&verifier, &acme, "/tenants/acme/orders", &tenant).is_ok());
    let answer = send(&verifier, &acme, "/tenants/globex/orders", &tenant).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Forbidden);
    assert_eq!(answer.status(), 403);

    let scope = Policy::new().check(|_: &CheckContext<'_>| async { Verdict::InsufficientScope });
    let answer = send(&verifier, &acme, "/", &scope).unwrap_err();
    assert_eq!(
        (answer.kind(), answer.status().as_u16()),
        (ErrorKind::InsufficientScope, 403)
    );

    let down = Policy::new().check(|_: &CheckContext<'_>| async { Verdict::Unavailable });
    let answer = send(&verifier, &acme, "/", &down).unwrap_err();
    assert_eq!(
        (answer.kind(), answer.status().as_u16()),
        (ErrorKind::CheckUnavailable, 503)
    );
    assert!(answer.retry_after().is_some());
    assert!(answer.www_authenticate().is_none());
}

#[test]
fn a_check_that_times_out_or_panics_never_admits() {
    let verifier = builder()
        .check_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let acme = token(json!({}));
    let never = Policy::new().check(|_: &CheckContext<'_>| std::future::pending::<Verdict>());
    let answer = send(&verifier, &acme, "/", &never).unwrap_err();
    assert_eq!(
        (answer.kind(), answer.status().as_u16()),
        (ErrorKind::CheckUnavailable, 503)
    );

    let panics_later = Policy::new().check(|_: &CheckContext<'_>| async {
        panic!("a bug in the check");
        #[allow(unreachable_code)]
        Verdict::Admit
    });
    let answer = send(&verifier, &acme, "/", &panics_later).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::CheckUnavailable);

    let panics_now = Policy::new().check(|_: &CheckContext<'_>| -> std::future::Ready<Verdict> {
        panic!("a bug before the future")
    });
    let answer = send(&verifier, &acme, "/", &panics_now).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::CheckUnavailable);
}

#[test]
fn checks_run_in_order_and_the_first_refusal_answers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let verifier = builder()
        .check(|_: &CheckContext<'_>| async { Verdict::Forbidden })
        .build()
        .unwrap();
    let policy = Policy::new().check(move |_: &CheckContext<'_>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Verdict::Admit }
    });
    let answer = send(&verifier, &token(json!({})), "/", &policy).unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Forbidden);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the route's check never started"
    );
}
