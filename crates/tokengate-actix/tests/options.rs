//! Every route option of the core `Guard` on actix-web's `Auth` (this file does not build when
//! one is missing), and each one taking effect on a request.

use actix_web::{App, HttpResponse, test, web};
use tokengate::adapter::{Guard, Policy};
use tokengate::checks::{CheckContext, Verdict};
use tokengate_actix::{Auth, ProblemJson, Requirement, Verifier};
use tokengate_testkit::fixture::{AUDIENCE as AUD, ISSUER as ISS};
use tokengate_testkit::{NOW, claims_at};

fn forbid(_: &CheckContext<'_>) -> std::future::Ready<Verdict> {
    std::future::ready(Verdict::Forbidden)
}

async fn status(auth: Auth<serde_json::Value>, token: Option<&str>) -> (u16, String, String) {
    let app = test::init_service(
        App::new().route(
            "/",
            web::get()
                .to(|| async { HttpResponse::Ok().finish() })
                .wrap(auth),
        ),
    )
    .await;
    let mut request = test::TestRequest::get().uri("/");
    if let Some(token) = token {
        request = request.insert_header(("authorization", format!("Bearer {token}")));
    }
    let response = test::call_service(&app, request.to_request()).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    (
        response.status().as_u16(),
        header("www-authenticate"),
        header("content-type"),
    )
}

#[actix_web::test]
async fn every_option_exists_and_takes_effect() {
    let (key, verifier) = tokengate_testkit::fixture::static_verifier();
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let all = Auth::new(verifier.clone())
        .optional()
        .require(Requirement::all(["messages:read"]))
        .require_scopes(["messages:read"])
        .require_dpop()
        .answer_body(ProblemJson)
        .policy(Policy::new())
        .check(|_: &CheckContext<'_>| async { Verdict::Admit })
        .claims::<serde_json::Value>();
    let _: &Verifier = all.verifier();
    let _: &Guard<serde_json::Value> = all.guard();
    let _: Auth<serde_json::Value> = Auth::from(Guard::new(verifier.clone()).claims());

    // require_dpop: a bearer token is refused in the DPoP challenge; answer_body: problem JSON.
    let (code, challenge, content_type) = status(all, Some(&token)).await;
    assert_eq!(code, 401);
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(content_type, "application/problem+json");

    // check: the route's custom check decides after the built-in checks.
    let checked = Auth::new(verifier.clone()).check(forbid).claims();
    assert_eq!(status(checked, Some(&token)).await.0, 403);

    // require_scopes: a scope the token lacks.
    let scoped = Auth::new(verifier.clone())
        .require_scopes(["admin"])
        .claims();
    let (code, challenge, _) = status(scoped, Some(&token)).await;
    assert_eq!(code, 403);
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );

    // optional: anonymous passes, a bad token does not.
    let optional = Auth::new(verifier).optional().claims();
    assert_eq!(status(optional.clone(), None).await.0, 200);
    assert_eq!(status(optional.clone(), Some(&token)).await.0, 200);
    assert_eq!(status(optional, Some("a.b.c")).await.0, 401);
}
