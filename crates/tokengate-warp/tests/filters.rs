//! The warp filters in-process (`warp::test`), with static keys.

use bytes::Bytes;
use http::HeaderValue;
use serde::Deserialize;
use serde_json::json;
use tokengate_testkit::{NOW, TestKey, claims_at};
use tokengate_warp::{Algorithm, Requirement, StandardClaims, Verified, Verifier};
use warp::Filter;

use tokengate_testkit::fixture::{AUDIENCE as AUD, ISSUER as ISS};

fn setup() -> (TestKey, Verifier) {
    tokengate_testkit::fixture::static_verifier()
}

#[derive(Clone, Deserialize)]
struct Mine {
    email: String,
}

#[tokio::test]
async fn custom_claims_and_a_custom_body_that_keeps_status_and_challenge() {
    let (key, verifier) = setup();
    let problem = |answer: &tokengate_warp::Answer| {
        let body =
            json!({"status": answer.status().as_u16(), "code": answer.kind().code()}).to_string();
        (
            HeaderValue::from_static("application/problem+json"),
            Bytes::from(body),
        )
    };
    let routes = warp::path!("mine")
        .and(
            tokengate_warp::Auth::new(verifier)
                .claims::<Mine>()
                .answer_body(problem)
                .filter(),
        )
        .map(|v: Verified<Mine>| v.claims.email.clone())
        .recover(tokengate_warp::handle_rejection);
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let ok = warp::test::request()
        .path("/mine")
        .header("authorization", format!("Bearer {token}"))
        .reply(&routes)
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body().as_ref(), b"alice@example.com");

    let bad = warp::test::request()
        .path("/mine")
        .header("authorization", "Bearer a.b.c")
        .reply(&routes)
        .await;
    assert_eq!(bad.status(), 401);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    assert_eq!(
        bad.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );
    let body: serde_json::Value = serde_json::from_slice(bad.body()).unwrap();
    assert_eq!(body, json!({"status": 401, "code": "malformed_token"}));
}

#[tokio::test]
async fn rejections_that_are_not_ours_pass_through() {
    let (_, verifier) = setup();
    let routes = warp::path!("me")
        .and(warp::get())
        .and(tokengate_warp::claims::<StandardClaims>(verifier))
        .map(|_: Verified<StandardClaims>| "me")
        .recover(tokengate_warp::handle_rejection);
    let missing = warp::test::request()
        .path("/elsewhere")
        .reply(&routes)
        .await;
    assert_eq!(missing.status(), 404);
    let method = warp::test::request()
        .method("POST")
        .path("/me")
        .reply(&routes)
        .await;
    assert_eq!(method.status(), 405);
}

#[tokio::test]
async fn scoped_filters_answer_403_with_the_scope_and_optional_rejects_bad_tokens() {
    let (key, verifier) = setup();
    let scoped = warp::path!("admin")
        .and(tokengate_warp::scoped::<StandardClaims>(
            verifier.clone(),
            Requirement::any_roles(["admin"]),
        ))
        .map(|_: Verified<StandardClaims>| "admin");
    let optional = warp::path!("hi")
        .and(tokengate_warp::optional_claims::<StandardClaims>(verifier))
        .map(|v: Option<Verified<StandardClaims>>| if v.is_some() { "known" } else { "anonymous" });
    let routes = scoped
        .or(optional)
        .recover(tokengate_warp::handle_rejection);
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let denied = warp::test::request()
        .path("/admin")
        .header("authorization", format!("Bearer {token}"))
        .reply(&routes)
        .await;
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.headers()["www-authenticate"],
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required role""#
    );
    let anonymous = warp::test::request().path("/hi").reply(&routes).await;
    assert_eq!(anonymous.body().as_ref(), b"anonymous");
    let forged = TestKey::generate(Algorithm::ES256)
        .with_kid(key.kid())
        .mint(&claims_at(ISS, AUD, NOW));
    let rejected = warp::test::request()
        .path("/hi")
        .header("authorization", format!("Bearer {forged}"))
        .reply(&routes)
        .await;
    assert_eq!(rejected.status(), 401);
}

#[tokio::test]
async fn a_forgotten_recover_shows_only_status_and_code() {
    // Without `recover`, warp answers an unknown rejection with 500 and prints its `Debug`.
    let (key, verifier) = setup();
    let routes = warp::path!("me")
        .and(tokengate_warp::claims::<StandardClaims>(verifier))
        .map(|_: Verified<StandardClaims>| "me");
    let mut claims = claims_at(ISS, AUD, NOW);
    claims["exp"] = json!(NOW - 3600);
    let expired = key.mint(&claims);
    let response = warp::test::request()
        .path("/me")
        .header("authorization", format!("Bearer {expired}"))
        .reply(&routes)
        .await;
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(
        body.contains(r#"AuthRejection(Answer { code: "expired", status: 401, .. })"#),
        "{body}"
    );
    for part in expired.split('.') {
        assert!(!body.contains(part), "{body}");
    }
}

#[tokio::test]
async fn the_auth_builder_has_every_option() {
    let (key, verifier) = setup();
    let admin = warp::path!("admin")
        .and(
            tokengate_warp::Auth::new(verifier.clone())
                .claims::<Mine>()
                .require(Requirement::all(["messages:read"]))
                .require(Requirement::any_roles(["admin"]))
                .answer_body(tokengate_warp::ProblemJson)
                .filter(),
        )
        .map(|v: Verified<Mine>| v.claims.email.clone());
    let hello = warp::path!("hello")
        .and(
            tokengate_warp::Auth::new(verifier)
                .claims::<Mine>()
                .optional_filter(),
        )
        .map(|v: Option<Verified<Mine>>| {
            v.map_or("anonymous".to_owned(), |v| v.claims.email.clone())
        });
    let routes = admin.or(hello).recover(tokengate_warp::handle_rejection);
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let denied = warp::test::request()
        .path("/admin")
        .header("authorization", format!("Bearer {token}"))
        .reply(&routes)
        .await;
    assert_eq!(denied.status(), 403);
    assert_eq!(denied.headers()["content-type"], "application/problem+json");
    let hello = warp::test::request().path("/hello").reply(&routes).await;
    assert_eq!(hello.body().as_ref(), b"anonymous");
    let hello = warp::test::request()
        .path("/hello")
        .header("authorization", format!("Bearer {token}"))
        .reply(&routes)
        .await;
    assert_eq!(hello.body().as_ref(), b"alice@example.com");
}

#[tokio::test]
async fn a_guard_that_requires_dpop_refuses_bearer_tokens_and_admits_proven_ones() {
    use tokengate_testkit::dpop::DpopKey;
    let (key, verifier) = setup();
    let routes = warp::path!("me")
        .and(tokengate_warp::Auth::new(verifier).require_dpop().filter())
        .map(|v: Verified<tokengate_warp::StandardClaims>| format!("{}", v.is_dpop_bound()))
        .recover(tokengate_warp::handle_rejection);
    let bearer_token = key.mint(&claims_at(ISS, AUD, NOW));
    let denied = warp::test::request()
        .path("/me")
        .header("authorization", format!("Bearer {bearer_token}"))
        .reply(&routes)
        .await;
    assert_eq!(denied.status(), 401);
    assert!(
        denied.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with(r#"DPoP realm="api", algs=""#)
    );
    let client = DpopKey::generate(tokengate_warp::Algorithm::ES256);
    let bound = key.mint(&client.bind(claims_at(ISS, AUD, NOW)));
    let proof = client
        .proof_for("GET", "http://api.test/me")
        .issued_at(NOW)
        .access_token(&bound)
        .sign();
    let admitted = warp::test::request()
        .path("/me")
        .header("host", "api.test")
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", proof)
        .reply(&routes)
        .await;
    assert_eq!(admitted.status(), 200);
    assert_eq!(admitted.body().as_ref(), b"true");
}
