//! Token exchange (RFC 8693) as a downstream API sees it: the testkit issuer's token endpoint
//! trades a verified token for one issued to the downstream, with `act` naming the caller; the
//! downstream (a tokengate verifier) accepts the exchanged token, reads the delegation, and
//! refuses the original token (its audience is the calling API's).

#![cfg(feature = "remote")]

use serde_json::{Value, json};
use tokengate::{ErrorKind, Issuer, KeySource, Requirement, StandardClaims, Verifier};
use tokengate_testkit::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn exchange(
    server: &IssuerServer,
    secret: &str,
    subject: &str,
    audience: &str,
) -> (u16, Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(server.token_url())
        .basic_auth(INTROSPECTION_CLIENT_ID, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", GRANT),
                    ("subject_token", subject),
                    ("subject_token_type", ACCESS_TOKEN),
                    ("audience", audience),
                    ("scope", "orders:read"),
                ])
                .finish(),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn downstream(server: &IssuerServer) -> Verifier {
    Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience("orders-api")
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchanged_token_is_the_downstreams_and_names_its_actor() {
    let server = IssuerServer::start().await;
    let mut claims = tokengate_testkit::claims_for(&server.issuer(), "api");
    claims["sub"] = json!("alice");
    let incoming = server.mint(&claims);
    let (status, answer) = exchange(
        &server,
        INTROSPECTION_CLIENT_SECRET,
        &incoming,
        "orders-api",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["issued_token_type"], ACCESS_TOKEN);
    let exchanged = answer["access_token"].as_str().unwrap();
    let orders = downstream(&server);
    let verified = orders.verify::<StandardClaims>(exchanged).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert!(verified.scopes().contains("orders:read"));
    let actor = verified.actor().expect("act");
    assert_eq!(actor.sub.as_deref(), Some(INTROSPECTION_CLIENT_ID));
    assert!(
        verified
            .require(&Requirement::actor([INTROSPECTION_CLIENT_ID]))
            .is_ok()
    );
    // The incoming token is not the downstream's: forwarding it would be refused.
    let refused = orders
        .verify::<StandardClaims>(&incoming)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidAudience);
    assert_eq!(server.token_exchanges(), 1);

    // A second hop nests the first actor inside the new one (RFC 8693 section 4.1).
    let (_, again) = exchange(
        &server,
        INTROSPECTION_CLIENT_SECRET,
        exchanged,
        "billing-api",
    )
    .await;
    let billing = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience("billing-api")
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .build()
        .unwrap();
    let verified = billing
        .verify::<StandardClaims>(again["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(verified.actor().unwrap().chain().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_it_did_not_issue_or_a_wrong_client_is_refused() {
    let server = IssuerServer::start().await;
    let foreign = tokengate_testkit::TestKey::generate(tokengate::Algorithm::ES256)
        .mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
    let (status, answer) =
        exchange(&server, INTROSPECTION_CLIENT_SECRET, &foreign, "orders-api").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, answer) = exchange(
        &server,
        INTROSPECTION_CLIENT_SECRET,
        "not-a-token",
        "orders-api",
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let valid = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
    let (status, answer) = exchange(&server, "wrong-secret", &valid, "orders-api").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_client"))
    );
}
