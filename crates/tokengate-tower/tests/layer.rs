//! The layer and extractors in-process (tower `oneshot`), with static keys.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use serde_json::json;
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};
use tokengate_tower::{
    Algorithm, AuthLayer, Claims, Issuer, KeySource, ProblemJson, RequiredScopes, Scoped, Verified,
    Verifier,
};
use tower::{ServiceBuilder, ServiceExt};

use tokengate_testkit::fixture::{AUDIENCE as AUD, ISSUER as ISS};

fn setup() -> (TestKey, Verifier) {
    tokengate_testkit::fixture::static_verifier()
}

fn token(key: &TestKey, scope: &str) -> String {
    let mut claims = claims_at(ISS, AUD, NOW);
    claims["scope"] = json!(scope);
    key.mint(&claims)
}

fn request(path: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

async fn text<B: http_body::Body>(response: Response<B>) -> (StatusCode, Option<String>, String)
where
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let www = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, www, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_layer_guards_any_http_service_and_passes_verified_claims() {
    let (key, verifier) = setup();
    // A plain tower service, not axum.
    let service = ServiceBuilder::new()
        .layer(AuthLayer::new(verifier))
        .service_fn(|req: Request<Body>| async move {
            let verified = req
                .extensions()
                .get::<Verified<tokengate::StandardClaims>>()
                .expect("claims");
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                verified.subject().unwrap().to_owned(),
            ))))
        });
    let (status, _, body) = text(
        service
            .clone()
            .oneshot(request("/", Some(&token(&key, "a"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    let (status, www, body) = text(service.oneshot(request("/", None)).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(www.as_deref(), Some(r#"Bearer realm="api""#));
    assert_eq!(body, "no bearer token in the request");
}

#[tokio::test]
async fn a_custom_body_never_changes_status_or_challenge() {
    let (_, verifier) = setup();
    let app: Router = Router::new()
        .route("/", get(|| async { "hi" }))
        .layer(AuthLayer::new(verifier).answer_body(ProblemJson));
    let response = app.oneshot(request("/", Some("a.b.c"))).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (status, www, body) = text(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        www.as_deref(),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
        )
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "malformed_token");
    assert_eq!(body["status"], 401);
}

#[tokio::test]
async fn optional_layer_lets_anonymous_requests_through_but_rejects_bad_tokens() {
    let (key, verifier) = setup();
    let app: Router = Router::new()
        .route(
            "/",
            get(|claims: Option<Claims>| async move {
                claims.map_or("anonymous".to_owned(), |c| c.subject().unwrap().to_owned())
            }),
        )
        .layer(AuthLayer::new(verifier).optional());
    let (status, _, body) = text(app.clone().oneshot(request("/", None)).await.unwrap()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
    let (status, _, body) = text(
        app.clone()
            .oneshot(request("/", Some(&token(&key, "a"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    let forged = TestKey::generate(Algorithm::ES256)
        .with_kid(key.kid())
        .mint(&claims_at(ISS, AUD, NOW));
    let (status, _, _) = text(app.oneshot(request("/", Some(&forged))).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_extractor_without_any_verifier_is_a_500_wiring_bug() {
    let app: Router = Router::new().route(
        "/",
        get(|claims: Claims| async move { claims.subject().unwrap_or("").to_owned() }),
    );
    let (status, www, body) = text(app.oneshot(request("/", Some("a.b.c"))).await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(www, None);
    assert_eq!(body, "token verification is not configured");
}

#[derive(Clone, Deserialize)]
struct Mine {
    sub: String,
    email: String,
}

struct MessagesRead;
impl RequiredScopes for MessagesRead {
    const SCOPES: &'static [&'static str] = &["messages:read"];
}

#[tokio::test]
async fn extractor_only_mode_with_custom_claims_and_typed_scopes() {
    let (key, verifier) = setup();
    let app: Router = Router::new()
        .route(
            "/mine",
            get(|claims: Claims<Mine>| async move {
                format!("{} {}", claims.claims.sub, claims.claims.email)
            }),
        )
        .route(
            "/scoped",
            get(|claims: Scoped<MessagesRead>| async move { claims.subject().unwrap().to_owned() }),
        )
        .with_state(verifier);
    let (status, _, body) = text(
        app.clone()
            .oneshot(request("/mine", Some(&token(&key, "x"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "alice alice@example.com")
    );
    let (status, _, _) = text(
        app.clone()
            .oneshot(request("/scoped", Some(&token(&key, "messages:read"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, www, _) = text(
        app.oneshot(request("/scoped", Some(&token(&key, "messages"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        www.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:read""#
        )
    );
}

#[tokio::test]
async fn a_route_layer_requirement_reuses_the_outer_layers_verification() {
    let (key, verifier) = setup();
    let app: Router = Router::new()
        .route(
            "/admin",
            get(|| async { "admin" }).route_layer(
                AuthLayer::new(verifier.clone())
                    .require(tokengate::Requirement::any_roles(["admin"])),
            ),
        )
        .route(
            "/",
            get(|claims: Claims| async move { claims.subject().unwrap().to_owned() }),
        )
        .layer(AuthLayer::new(verifier));
    let (status, _, body) = text(
        app.clone()
            .oneshot(request("/", Some(&token(&key, "a"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    let (status, www, _) = text(
        app.clone()
            .oneshot(request("/admin", Some(&token(&key, "a"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        www.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required role""#
        )
    );
    let mut admin = claims_at(ISS, AUD, NOW);
    admin["roles"] = json!(["admin"]);
    let (status, _, _) = text(
        app.oneshot(request("/admin", Some(&key.mint(&admin))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_verifiers_body_reaches_layer_and_extractors_alike() {
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(tokengate::clock::FixedClock::at(NOW))
        .answer_body(ProblemJson)
        .build()
        .unwrap();
    let layered: Router = Router::new()
        .route("/", get(|| async { "hi" }))
        .layer(AuthLayer::new(verifier.clone()));
    let extracted: Router = Router::new()
        .route(
            "/",
            get(|c: Scoped<MessagesRead>| async move { c.subject().unwrap().to_owned() }),
        )
        .with_state(verifier);
    let no_scope = token(&key, "openid");
    for (app, token, status, code) in [
        (layered.clone(), None, 401, "missing_credentials"),
        (extracted.clone(), None, 401, "missing_credentials"),
        (layered, Some("a.b.c"), 401, "malformed_token"),
        (extracted.clone(), Some("a.b.c"), 401, "malformed_token"),
        (
            extracted,
            Some(no_scope.as_str()),
            403,
            "insufficient_scope",
        ),
    ] {
        let response = app.oneshot(request("/", token)).await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let (_, _, body) = text(response).await;
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], code);
    }
}

#[tokio::test]
async fn a_rejection_shows_only_its_status_and_code() {
    let (key, verifier) = setup();
    let mut claims = claims_at(ISS, AUD, NOW);
    claims["exp"] = json!(NOW - 3600);
    let expired = key.mint(&claims);
    let mut parts = request("/", Some(&expired)).into_parts().0;
    let rejection = <Claims as axum::extract::FromRequestParts<Verifier>>::from_request_parts(
        &mut parts, &verifier,
    )
    .await
    .unwrap_err();
    let error: &dyn std::error::Error = &rejection;
    assert_eq!(error.to_string(), "401 expired");
    let debug = format!("{rejection:?}");
    assert_eq!(
        debug,
        r#"AuthRejection(Answer { code: "expired", status: 401, .. })"#
    );
    for part in expired.split('.') {
        assert!(!debug.contains(part));
    }
}

#[derive(Clone, Deserialize)]
struct WithTenant {
    tenant: String,
}

#[tokio::test]
async fn handlers_read_claims_naturally_and_check_requirements_with_question_mark() {
    use tokengate_tower::{AuthRejection, Requirement};
    let (key, verifier) = setup();
    async fn orders(claims: Claims<WithTenant>) -> Result<String, AuthRejection> {
        claims.require(&Requirement::all(["orders:write"]))?;
        Ok(format!("orders of {}", claims.tenant))
    }
    let app: Router = Router::new()
        .route("/orders", get(orders))
        .with_state(verifier);
    let mut claims = claims_at(ISS, AUD, NOW);
    claims["tenant"] = json!("acme");
    claims["scope"] = json!("orders:write");
    let allowed = key.mint(&claims);
    let (status, _, body) = text(
        app.clone()
            .oneshot(request("/orders", Some(&allowed)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "orders of acme"));
    claims["scope"] = json!("orders:read");
    let denied = key.mint(&claims);
    let (status, www, _) = text(
        app.oneshot(request("/orders", Some(&denied)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        www.as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="orders:write""#
        )
    );
}

/// CORS preflights carry no credentials: the CORS layer must sit *outside* the auth layer (added
/// after it, so it runs first), or every preflight is answered 401.
#[tokio::test]
async fn cors_goes_outside_auth_so_preflights_are_answered() {
    use http::Method;
    use tower_http::cors::CorsLayer;
    let (key, verifier) = setup();
    let cors = CorsLayer::new()
        .allow_origin(http::HeaderValue::from_static("https://app.example"))
        .allow_methods([Method::GET])
        .allow_headers([http::header::AUTHORIZATION]);
    let preflight = || {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/me")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let me = get(|c: Claims| async move { c.subject().unwrap().to_owned() });
    // Right: CORS outside (the last layer added is the outermost).
    let right: Router = Router::new()
        .route("/me", me.clone())
        .layer(AuthLayer::new(verifier.clone()))
        .layer(cors.clone());
    let answer = right.clone().oneshot(preflight()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    // The actual request is still verified, and its answers carry the CORS headers too.
    let mut denied = request("/me", None);
    denied
        .headers_mut()
        .insert("origin", "https://app.example".parse().unwrap());
    let answer = right.clone().oneshot(denied).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let (status, _, body) = text(
        right
            .oneshot(request("/me", Some(&token(&key, "openid"))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    // Wrong: CORS inside auth — the preflight never reaches it.
    let wrong: Router = Router::new()
        .route("/me", me)
        .layer(cors)
        .layer(AuthLayer::new(verifier));
    let answer = wrong.oneshot(preflight()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn resource_metadata_answers_get_only_and_404_without_a_resource() {
    use tokengate_tower::ResourceMetadata;
    let (_, verifier) = setup();
    let none = ResourceMetadata::new(&verifier);
    assert_eq!(none.path(), tokengate_tower::METADATA_PATH);
    let answer = none.oneshot(request("/", None)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(Issuer::new(ISS).keys(KeySource::jwks_json(jwks(&[&key]))))
        .resource(tokengate_tower::ProtectedResource::new(
            "https://api.example.com/",
        ))
        .build()
        .unwrap();
    let metadata = ResourceMetadata::new(&verifier);
    let answer = metadata.clone().oneshot(request("/", None)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let post = Request::post("/").body(Body::empty()).unwrap();
    let answer = metadata.oneshot(post).await.unwrap();
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_layer_that_requires_dpop_refuses_bearer_tokens_and_admits_proven_ones() {
    use tokengate_testkit::dpop::DpopKey;
    let (key, verifier) = setup();
    let app = Router::new()
        .route(
            "/me",
            get(|c: Claims| async move { format!("{}", c.is_dpop_bound()) }),
        )
        .layer(AuthLayer::new(verifier).require_dpop());
    let bearer = token(&key, "openid");
    let (status, www, _) = text(
        app.clone()
            .oneshot(request("/me", Some(&bearer)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        www.unwrap().starts_with(r#"DPoP realm="api", algs=""#),
        "the DPoP challenge carries the error"
    );
    let client = DpopKey::generate(Algorithm::ES256);
    let bound = key.mint(&client.bind(claims_at(ISS, AUD, NOW)));
    let proof = client
        .proof_for("GET", "http://api.test/me")
        .issued_at(NOW)
        .access_token(&bound)
        .sign();
    let request = Request::get("/me")
        .header("host", "api.test")
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", proof)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = text(app.oneshot(request).await.unwrap()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "true"));
}
