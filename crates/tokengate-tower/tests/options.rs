//! Every route option of the core `Guard` on `AuthLayer` and `McpAuthLayer` (this file does
//! not build when one is missing), and each one taking effect on a request.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use tokengate::adapter::{Guard, Policy};
use tokengate::checks::{CheckContext, Verdict};
use tokengate_testkit::fixture::{AUDIENCE as AUD, ISSUER as ISS};
use tokengate_testkit::{NOW, claims_at};
use tokengate_tower::{AuthLayer, ProblemJson, Requirement, Verifier};
use tower::ServiceExt;

fn forbid(_: &CheckContext<'_>) -> std::future::Ready<Verdict> {
    std::future::ready(Verdict::Forbidden)
}

async fn status(layer: AuthLayer<serde_json::Value>, token: Option<&str>) -> (u16, String, String) {
    let app: Router = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(layer);
    let mut request = Request::get("/");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
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

#[tokio::test]
async fn every_option_exists_and_takes_effect() {
    let (key, verifier) = tokengate_testkit::fixture::static_verifier();
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let all = AuthLayer::new(verifier.clone())
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
    let _: AuthLayer<serde_json::Value> = AuthLayer::from(Guard::new(verifier.clone()).claims());

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
    let checked = AuthLayer::new(verifier.clone()).check(forbid).claims();
    assert_eq!(status(checked, Some(&token)).await.0, 403);

    // require_scopes: a scope the token lacks.
    let scoped = AuthLayer::new(verifier.clone())
        .require_scopes(["admin"])
        .claims();
    let (code, challenge, _) = status(scoped, Some(&token)).await;
    assert_eq!(code, 403);
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );

    // optional: anonymous passes, a bad token does not.
    let optional = AuthLayer::new(verifier).optional().claims();
    assert_eq!(status(optional.clone(), None).await.0, 200);
    assert_eq!(status(optional.clone(), Some(&token)).await.0, 200);
    assert_eq!(status(optional, Some("a.b.c")).await.0, 401);
}

#[cfg(feature = "mcp")]
#[tokio::test]
async fn the_mcp_layer_has_every_option_too() {
    use tokengate_tower::mcp::{McpAuthLayer, McpScopes};

    let (key, verifier) = tokengate_testkit::fixture::static_verifier();
    let token = key.mint(&claims_at(ISS, AUD, NOW));
    let layer = McpAuthLayer::new(verifier.clone(), McpScopes::new())
        .optional()
        .require(Requirement::all(["messages:read"]))
        .require_scopes(["messages:read"])
        .require_dpop()
        .answer_body(ProblemJson)
        .policy(Policy::new())
        .check(forbid)
        .claims::<serde_json::Value>();
    let _: &Verifier = layer.verifier();
    let _: &Guard<serde_json::Value> = layer.guard();
    let app: Router = Router::new()
        .route("/mcp", axum::routing::post(|| async { "ok" }))
        .layer(layer);
    let request = Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        ))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}
