//! The same layer guards a tonic gRPC server: a real tonic client and server on loopback
//! (tonic-health's generated service; no protoc needed).

use tokengate_testkit::{NOW, TestKey, claims_at, jwks};
use tokengate_tower::{Algorithm, AuthLayer, Issuer, KeySource, Verifier};
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const ISS: &str = "https://issuer.test/";
const AUD: &str = "grpc-api";

async fn serve(verifier: Verifier) -> String {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = AuthLayer::new(verifier).require_scopes(["health:read"]);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

async fn check(url: &str, token: Option<&str>) -> Result<(), tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    if let Some(token) = token {
        let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    client.check(request).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_requests_get_grpc_statuses_with_the_challenge_in_metadata() {
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(tokengate::clock::FixedClock::at(NOW))
        .build()
        .unwrap();
    let url = serve(verifier).await;
    let token = |scope: &str| {
        let mut claims = claims_at(ISS, AUD, NOW);
        claims["scope"] = serde_json::json!(scope);
        key.mint(&claims)
    };

    assert!(check(&url, Some(&token("health:read"))).await.is_ok());

    let status = check(&url, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        status.metadata().get("www-authenticate").unwrap(),
        r#"Bearer realm="api", scope="health:read""#
    );

    let status = check(&url, Some("not.a.token")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        status.metadata().get("www-authenticate").unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid", scope="health:read""#
    );

    let status = check(&url, Some(&token("openid"))).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        status.metadata().get("www-authenticate").unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="health:read""#
    );
    assert_eq!(
        status.message(),
        "the access token lacks the required scope"
    );
}

/// "Testing your API" (docs/guide.md), tonic: a `TestIssuer` token in the request's metadata
/// (`TonicWithToken`), against the real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_issuers_token_reaches_a_tonic_service() {
    use tokengate_testkit::{TestIssuer, request::TonicWithToken};
    let issuer = TestIssuer::new().with_audience(AUD);
    let url = serve(issuer.verifier()).await;
    let channel = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let ask = || tonic::Request::new(HealthCheckRequest::default());
    let allowed = issuer.token().scopes(["health:read"]).sign();
    assert!(client.check(ask().bearer(&allowed)).await.is_ok());
    let expired = issuer.token().scopes(["health:read"]).expired().sign();
    let status = client.check(ask().bearer(&expired)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let without_scope = issuer.token().sign();
    let status = client
        .check(ask().bearer(&without_scope))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
