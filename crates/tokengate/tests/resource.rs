//! The protected resource: RFC 8707 identifier as an audience, RFC 9728 metadata and the
//! `resource_metadata` challenge parameter.

mod support;

use serde_json::json;
use support::*;
use tokengate::{Algorithm, Error, ErrorKind, Issuer, KeySource, ProtectedResource, Verifier};
use tokengate_testkit::jwks;

fn with_resource(resource: ProtectedResource) -> (tokengate_testkit::TestKey, Verifier) {
    let key = key(Algorithm::ES256);
    let verifier = Verifier::builder()
        // No audience of its own: the resource is the audience.
        .issuer(
            Issuer::new(ISS)
                .algorithms([Algorithm::ES256])
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(tokengate::clock::FixedClock::at(tokengate_testkit::NOW))
        .resource(resource)
        .build()
        .unwrap();
    (key, verifier)
}

#[test]
fn the_resource_is_an_audience_compared_canonically() {
    let (key, verifier) = with_resource(ProtectedResource::new("https://api.example.com/orders"));
    for aud in [
        json!("https://api.example.com/orders"),
        json!("HTTPS://API.EXAMPLE.COM:443/orders"),
        json!(["https://other.example/", "https://api.example.com/orders"]),
    ] {
        assert!(verify(&verifier, &key.mint(&claims_with(json!({ "aud": aud })))).is_ok());
    }
    for aud in [
        json!("https://api.example.com/orders/"),
        json!("https://api.example.com/Orders"),
        json!("https://api.example.com/"),
        json!("https://evil.example/orders"),
        json!(AUD),
    ] {
        let token = key.mint(&claims_with(json!({ "aud": aud })));
        assert_invalid_token_with_metadata(&verifier, &token, ErrorKind::InvalidAudience);
    }
}

#[track_caller]
fn assert_invalid_token_with_metadata(verifier: &Verifier, token: &str, kind: ErrorKind) {
    let error = futures_executor::block_on(verifier.verify::<tokengate::StandardClaims>(token))
        .unwrap_err();
    assert_eq!(error.kind(), kind);
    assert_eq!(
        verifier.answer(&error).www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/orders""#
    );
}

#[test]
fn the_metadata_document_and_the_challenges() {
    let (_, verifier) = with_resource(
        ProtectedResource::new("https://api.example.com/orders")
            .name("Orders")
            .documentation("https://docs.example.com/orders")
            .scopes_supported(["orders:read", "orders:write"]),
    );
    let (path, response) = verifier.resource_metadata().unwrap();
    assert_eq!(path, "/.well-known/oauth-protected-resource/orders");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let document: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        document,
        json!({
            "resource": "https://api.example.com/orders",
            "authorization_servers": [ISS],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["orders:read", "orders:write"],
            "resource_name": "Orders",
            "resource_documentation": "https://docs.example.com/orders",
            "dpop_signing_alg_values_supported": [
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                "EdDSA"
            ],
            "dpop_bound_access_tokens_required": false,
        })
    );
    let metadata = r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/orders""#;
    let challenge = |error: Error| {
        verifier
            .answer(&error)
            .www_authenticate()
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        challenge(Error::from(ErrorKind::MissingCredentials)).unwrap(),
        format!(r#"Bearer realm="api", {metadata}"#)
    );
    assert!(
        challenge(Error::insufficient_scope("orders:write"))
            .unwrap()
            .ends_with(&format!(r#"scope="orders:write", {metadata}"#))
    );
    // 400 invalid_request is about the request, not the resource's authorization servers.
    assert!(
        !challenge(Error::from(ErrorKind::MalformedRequest))
            .unwrap()
            .contains("resource_metadata")
    );
}

#[test]
fn without_a_resource_there_is_no_metadata_and_issuers_need_an_audience() {
    let verifier = verifier_for(&key(Algorithm::ES256));
    assert!(verifier.resource_metadata().is_none());
    let error = Verifier::builder()
        .issuer(Issuer::new(ISS).keys(KeySource::jwks_json(jwks(&[&key(Algorithm::ES256)]))))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), tokengate::error::ConfigErrorKind::NoAudience);
    let error = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&key(Algorithm::ES256)]))),
        )
        .resource(ProtectedResource::new("http://api.example.com/"))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), tokengate::error::ConfigErrorKind::InsecureUrl);
}

/// MCP 2026-07-28: every 401 names the scopes the route needs, as the 403 does, in the Bearer
/// and DPoP challenges alike; `offline_access` is in neither, nor in `scopes_supported`.
#[test]
fn a_401_names_the_route_scopes_and_offline_access_is_never_named() {
    use tokengate::adapter::{Decision, Policy, RequestView};
    let (key, verifier) = with_resource(
        ProtectedResource::new("https://api.example.com/orders").scopes_supported([
            "orders:read",
            "offline_access",
            "orders:write",
        ]),
    );
    let (_, document) = verifier.resource_metadata().unwrap();
    let document: serde_json::Value = serde_json::from_slice(document.body()).unwrap();
    assert_eq!(
        document["scopes_supported"],
        json!(["orders:read", "orders:write"])
    );
    let policy = Policy::new().require(tokengate::Requirement::all([
        "orders:write",
        "offline_access",
        "orders:read",
    ]));
    let challenge = |headers: &http::HeaderMap| {
        let request = RequestView::new("POST", "/orders", None, headers);
        let Decision::Deny(answer) =
            verifier.decide::<tokengate::StandardClaims, _>(&request, &policy, None)
        else {
            panic!("admitted")
        };
        (
            answer.status().as_u16(),
            answer
                .headers()
                .filter(|(name, _)| name == "www-authenticate")
                .map(|(_, v)| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    let metadata = r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/orders""#;
    // No credentials: 401, both challenges name the scopes.
    let (status, challenges) = challenge(&http::HeaderMap::new());
    assert_eq!(status, 401);
    assert_eq!(
        challenges[0],
        format!(r#"Bearer realm="api", scope="orders:write orders:read", {metadata}"#)
    );
    assert!(
        challenges[1].contains(r#"scope="orders:write orders:read""#),
        "{challenges:?}"
    );
    // A bad token: 401 invalid_token, the scopes too.
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer a.b.c".parse().unwrap());
    let (status, challenges) = challenge(&headers);
    assert_eq!(status, 401);
    assert_eq!(
        challenges[0],
        format!(
            r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid", scope="orders:write orders:read", {metadata}"#
        )
    );
    // A valid token without the scopes: 403 names them all, never offline_access.
    let token = key.mint(&claims_with(
        json!({ "aud": "https://api.example.com/orders", "scope": "orders:read offline_access" }),
    ));
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (status, challenges) = challenge(&headers);
    assert_eq!(status, 403);
    assert!(
        challenges[0].contains(r#"error="insufficient_scope""#)
            && challenges[0].contains(r#"scope="orders:write orders:read""#),
        "{challenges:?}"
    );
}

/// RFC 9728 / MCP 2026-07-28: the metadata names at least one authorization server, each an
/// https issuer without query or fragment; anything else is refused when the verifier is built.
#[test]
fn authorization_servers_in_the_metadata_are_checked_at_build() {
    let key = key(Algorithm::ES256);
    let build = |issuer: &str| {
        Verifier::builder()
            .issuer(
                Issuer::new(issuer)
                    .algorithms([Algorithm::ES256])
                    .keys(KeySource::jwks_json(jwks(&[&key]))),
            )
            .resource(ProtectedResource::new("https://api.example.com/orders"))
            .build()
    };
    assert!(build("https://login.example.com/").is_ok());
    assert!(build("http://127.0.0.1:9000/").is_ok());
    for bad in [
        "http://login.example.com/",
        "https://login.example.com/?tenant=a",
        "https://login.example.com/#x",
        "login.example.com",
    ] {
        assert!(build(bad).is_err(), "{bad}");
    }
}
