//! "Testing your API" (docs/guide.md), actix-web: the app under test verifies real tokens from a
//! `TestIssuer` — no verification switch, only test keys.

use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use tokengate::dpop::Dpop;
use tokengate_actix::{Auth, Claims, Verifier};
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::{TestIssuer, request::ActixWithToken};

/// The app under test: `/me` for any valid token, `/messages` for `messages:read`.
fn app(
    verifier: Verifier,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(verifier.clone())
        .route(
            "/me",
            web::get().to(|c: Claims| async move { c.subject().unwrap_or_default().to_owned() }),
        )
        .service(
            web::resource("/messages")
                .wrap(Auth::new(verifier).require_scopes(["messages:read"]))
                .route(web::get().to(|| async { "[]" })),
        )
}

/// `GET path` with `token` through the app that trusts `issuer`.
async fn call(
    issuer: &TestIssuer,
    path: &str,
    token: &str,
) -> actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody> {
    let app = test::init_service(app(issuer.verifier())).await;
    let request = test::TestRequest::get()
        .uri(path)
        .bearer(token)
        .to_request();
    test::call_service(&app, request).await
}

#[actix_web::test]
async fn a_token_with_the_scope_reads_messages() {
    let issuer = TestIssuer::new();
    let token = issuer
        .token()
        .subject("alice")
        .scopes(["messages:read"])
        .sign();
    let response = call(&issuer, "/messages", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_token_without_the_scope_is_forbidden() {
    let issuer = TestIssuer::new();
    let token = issuer.token().scopes(["profile"]).sign();
    let response = call(&issuer, "/messages", &token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
}

#[actix_web::test]
async fn expired_foreign_and_mistargeted_tokens_are_refused() {
    let issuer = TestIssuer::new();
    let other = TestIssuer::new().with_algorithm(tokengate::Algorithm::EdDSA);
    let app = test::init_service(app(issuer.verifier())).await;
    for token in [
        issuer.token().expired().sign(),
        issuer.token().not_yet_valid().sign(),
        issuer.token().wrong_audience().sign(),
        other.token().sign(),
    ] {
        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/me")
                .bearer(&token)
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
}

#[actix_web::test]
async fn the_handler_sees_the_subject() {
    let issuer = TestIssuer::new();
    let token = issuer.token().subject("bob").sign();
    let app = test::init_service(app(issuer.verifier())).await;
    let body = test::call_and_read_body(
        &app,
        test::TestRequest::get()
            .uri("/me")
            .bearer(&token)
            .to_request(),
    )
    .await;
    assert_eq!(&body[..], b"bob");
}

#[actix_web::test]
async fn a_dpop_bound_token_is_presented_with_its_proof() {
    let issuer = TestIssuer::new();
    let verifier = Verifier::builder()
        .issuer(issuer.trusted())
        .dpop(Dpop::new())
        .build()
        .unwrap();
    let key = DpopKey::generate(tokengate::Algorithm::ES256);
    let token = issuer.token().dpop_bound(&key).sign();
    let app = test::init_service(app(verifier)).await;
    let request = test::TestRequest::get()
        .uri("/me")
        .dpop(&token, &key, "GET", "/me")
        .to_request();
    assert_eq!(
        test::call_service(&app, request).await.status(),
        StatusCode::OK
    );
    let as_bearer = test::TestRequest::get()
        .uri("/me")
        .bearer(&token)
        .to_request();
    assert_eq!(
        test::call_service(&app, as_bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
