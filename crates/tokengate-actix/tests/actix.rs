//! The actix-web middleware and extractors, in-process (`actix_web::test`) and over real HTTP.

use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, test, web};
use serde_json::json;
use tokengate_actix::{Auth, Claims, Issuer, KeySource, OptionalClaims, Requirement, Verifier};
use tokengate_testkit::{Fault, IssuerServer, NOW, TestKey, claims_at, jwks};

use tokengate_testkit::fixture::{AUDIENCE as AUD, ISSUER as ISS};

fn setup() -> (TestKey, Verifier) {
    tokengate_testkit::fixture::static_verifier()
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

#[actix_web::test]
async fn an_extractor_without_any_verifier_is_a_500_wiring_bug() {
    let app = test::init_service(App::new().route(
        "/",
        web::get().to(|c: Claims| async move { c.subject().unwrap_or_default().to_owned() }),
    ))
    .await;
    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/")
            .insert_header(bearer("a.b.c"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(
        test::read_body(response).await,
        "token verification is not configured"
    );
}

#[actix_web::test]
async fn optional_claims_reject_bad_tokens_where_option_claims_would_not() {
    let (key, verifier) = setup();
    let forged = TestKey::generate(tokengate_actix::Algorithm::ES256)
        .with_kid(key.kid())
        .mint(&claims_at(ISS, AUD, NOW));
    let app = test::init_service(
        App::new()
            .app_data(verifier)
            .route(
                "/right",
                web::get().to(|c: OptionalClaims| async move { format!("{}", c.0.is_some()) }),
            )
            .route(
                "/trap",
                web::get().to(|c: Option<Claims>| async move { format!("{}", c.is_some()) }),
            ),
    )
    .await;
    let right = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/right")
            .insert_header(bearer(&forged))
            .to_request(),
    )
    .await;
    assert_eq!(right.status(), 401);
    // The trap this crate documents: actix-web's Option<T> swallows the error.
    let trap = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/trap")
            .insert_header(bearer(&forged))
            .to_request(),
    )
    .await;
    assert_eq!(
        (trap.status().as_u16(), test::read_body(trap).await),
        (200, "false".into())
    );
    let anonymous =
        test::call_service(&app, test::TestRequest::get().uri("/right").to_request()).await;
    assert_eq!(test::read_body(anonymous).await, "false");
    let valid = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/right")
            .insert_header(bearer(&key.mint(&claims_at(ISS, AUD, NOW))))
            .to_request(),
    )
    .await;
    assert_eq!(test::read_body(valid).await, "true");
}

#[actix_web::test]
async fn middleware_requirements_and_optional_mode() {
    let (key, verifier) = setup();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/admin")
                    .wrap(Auth::new(verifier.clone()).require(Requirement::any_roles(["admin"])))
                    .route("", web::get().to(|| async { "admin" })),
            )
            .service(
                web::scope("/open")
                    .wrap(Auth::new(verifier).optional())
                    .route(
                        "",
                        web::get()
                            .to(|c: OptionalClaims| async move { format!("{}", c.0.is_some()) }),
                    ),
            ),
    )
    .await;
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let denied = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/admin")
            .insert_header(bearer(&token))
            .to_request(),
    )
    .await;
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.headers().get("www-authenticate").unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required role""#
    );
    let mut admin = claims_at(ISS, AUD, NOW);
    admin["roles"] = json!(["admin"]);
    let allowed = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/admin")
            .insert_header(bearer(&key.mint(&admin)))
            .to_request(),
    )
    .await;
    assert_eq!(allowed.status(), 200);
    let open = test::call_service(&app, test::TestRequest::get().uri("/open").to_request()).await;
    assert_eq!(
        (open.status().as_u16(), test::read_body(open).await),
        (200, "false".into())
    );
    let bad = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/open")
            .insert_header(bearer("a.b.c"))
            .to_request(),
    )
    .await;
    assert_eq!(bad.status(), 401);
}

/// A key fetch waits on I/O without blocking the worker: with one worker and a slow issuer, a
/// request that triggers a fetch does not hold up a request with a cached key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_fetch_does_not_stall_other_requests_on_the_same_worker() {
    let issuer = IssuerServer::start().await;
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(issuer.issuer())
                .audience(AUD)
                .keys(KeySource::jwks_url(issuer.jwks_url())),
        )
        .fetch_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    verifier.ready().await.unwrap();
    issuer.set_fault(Fault::Delay(Duration::from_secs(3))).await;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = verifier.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || {
                App::new().app_data(served.clone()).route(
                    "/me",
                    web::get().to(|c: Claims| async move {
                        HttpResponse::Ok().body(c.subject().unwrap_or_default().to_owned())
                    }),
                )
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{addr}/me");
    let stranger = TestKey::generate(tokengate_actix::Algorithm::ES256).mint(&claims_at(
        &issuer.issuer(),
        AUD,
        tokengate_testkit::now(),
    ));
    let valid = issuer.mint(&claims_at(&issuer.issuer(), AUD, tokengate_testkit::now()));
    // Warm the connection path.
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(&valid)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let slow_started = Instant::now();
    let slow = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .get(&url)
                .bearer_auth(&stranger)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // the unknown-kid fetch is now waiting
    let fast_started = Instant::now();
    let fast = client.get(&url).bearer_auth(&valid).send().await.unwrap();
    let fast_took = fast_started.elapsed();
    assert_eq!(fast.status(), 200);
    assert!(
        fast_took < Duration::from_millis(500),
        "the cached-key request waited {fast_took:?}"
    );
    assert_eq!(slow.await.unwrap(), 401);
    assert!(
        slow_started.elapsed() >= Duration::from_millis(1400),
        "the fetch really was waiting"
    );
}

#[actix_web::test]
async fn answer_bodies_reach_middleware_and_extractors() {
    let key = TestKey::shared(tokengate_actix::Algorithm::ES256);
    // The verifier's body serves the extractors (and any middleware without its own).
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(tokengate::clock::FixedClock::at(NOW))
        .answer_body(tokengate_actix::ProblemJson)
        .build()
        .unwrap();
    let custom = |_: &tokengate_actix::Answer| {
        (
            tokengate_actix::tokengate::http::HeaderValue::from_static("text/x-custom"),
            tokengate_actix::tokengate::bytes::Bytes::from_static(b"custom"),
        )
    };
    let app = test::init_service(
        App::new()
            .app_data(verifier.clone())
            .route(
                "/extracted",
                web::get()
                    .to(|c: Claims| async move { c.subject().unwrap_or_default().to_owned() }),
            )
            .service(
                web::resource("/guarded")
                    .wrap(Auth::new(verifier).answer_body(custom))
                    .route(web::get().to(|| async { "ok" })),
            ),
    )
    .await;
    for (uri, content_type, body) in [
        ("/extracted", "application/problem+json", None),
        ("/guarded", "text/x-custom", Some("custom")),
    ] {
        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(uri)
                .insert_header(bearer("a.b.c"))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            content_type
        );
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
        );
        let read = test::read_body(response).await;
        match body {
            Some(body) => assert_eq!(read, body),
            None => {
                let json: serde_json::Value = serde_json::from_slice(&read).unwrap();
                assert_eq!(json["code"], "malformed_token");
            }
        }
    }
}

#[derive(Clone, serde::Deserialize)]
struct WithTenant {
    tenant: String,
}

#[actix_web::test]
async fn handlers_read_claims_naturally_and_check_requirements_with_question_mark() {
    let (key, verifier) = setup();
    async fn orders(claims: Claims<WithTenant>) -> Result<String, tokengate_actix::AuthRejection> {
        claims.require(&Requirement::all(["orders:write"]))?;
        Ok(format!("orders of {}", claims.tenant))
    }
    let app = test::init_service(
        App::new()
            .app_data(verifier)
            .route("/orders", web::get().to(orders)),
    )
    .await;
    let mut claims = claims_at(ISS, AUD, NOW);
    claims["tenant"] = json!("acme");
    claims["scope"] = json!("orders:write");
    let allowed = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/orders")
            .insert_header(bearer(&key.mint(&claims)))
            .to_request(),
    )
    .await;
    assert_eq!(test::read_body(allowed).await, "orders of acme");
    claims["scope"] = json!("orders:read");
    let denied = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/orders")
            .insert_header(bearer(&key.mint(&claims)))
            .to_request(),
    )
    .await;
    assert_eq!(denied.status(), 403);
}

#[actix_web::test]
async fn middleware_that_requires_dpop_refuses_bearer_tokens_and_admits_proven_ones() {
    use tokengate_testkit::dpop::DpopKey;
    let (key, verifier) = setup();
    let app = test::init_service(
        App::new().service(
            web::scope("/me")
                .wrap(Auth::new(verifier).require_dpop())
                .route("", web::get().to(|| async { "ok" })),
        ),
    )
    .await;
    let bearer_token = key.mint(&claims_at(ISS, AUD, NOW));
    let denied = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/me")
            .insert_header(bearer(&bearer_token))
            .to_request(),
    )
    .await;
    assert_eq!(denied.status(), 401);
    let challenges: Vec<_> = denied.headers().get_all("www-authenticate").collect();
    assert_eq!(challenges.len(), 1, "only DPoP is offered");
    assert!(
        challenges[0]
            .to_str()
            .unwrap()
            .starts_with(r#"DPoP realm="api", algs=""#)
    );
    let client = DpopKey::generate(tokengate_actix::Algorithm::ES256);
    let bound = key.mint(&client.bind(claims_at(ISS, AUD, NOW)));
    let proof = client
        .proof_for("GET", "http://api.test/me")
        .issued_at(NOW)
        .access_token(&bound)
        .sign();
    let admitted = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/me")
            .insert_header(("host", "api.test"))
            .insert_header(("authorization", format!("DPoP {bound}")))
            .insert_header(("dpop", proof))
            .to_request(),
    )
    .await;
    assert_eq!(admitted.status(), 200);
}
