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

/// `TokenExchange`: the verified incoming token goes to the token endpoint and nowhere else.
#[cfg(feature = "exchange")]
mod client {
    use std::sync::Arc;

    use tokengate::adapter::{Admission, Decision, Policy, RequestView};
    use tokengate::exchange::{Downstream, ExchangeError, TokenExchange};
    use tokengate::{Issuer, KeySource, StandardClaims, Verified, Verifier};
    use tokengate_testkit::{
        Fault, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer,
    };

    /// The calling API's verifier (audience `api`), keeping tokens for exchanges.
    fn api(server: &IssuerServer) -> Verifier {
        Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience("api")
                    .keys(KeySource::jwks_url(server.jwks_url())),
            )
            .keep_tokens_for_exchange()
            .build()
            .unwrap()
    }

    async fn admitted(verifier: &Verifier, token: &str) -> Verified<StandardClaims> {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let request = RequestView::new("GET", "/", None, &headers);
        let admission = match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
            Decision::Admit(admission) => admission,
            Decision::Pending(pending) => pending.resolve().await.unwrap(),
            Decision::Deny(answer) => panic!("{answer:?}"),
        };
        match admission {
            Admission::Verified(verified) => verified,
            _ => panic!("verified"),
        }
    }

    fn exchange(server: &IssuerServer) -> TokenExchange {
        TokenExchange::endpoint(server.token_url())
            .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET)
            .downstream(
                "orders",
                Downstream::audience("orders-api").scope(["orders:read"]),
            )
            .build()
            .unwrap()
    }

    fn downstream(server: &IssuerServer) -> Verifier {
        super::downstream(server)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_downstream_accepts_the_exchanged_token_and_sees_who_acts() {
        let server = IssuerServer::start().await;
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let verified = admitted(&api(&server), &incoming).await;
        let exchanged = exchange(&server)
            .for_downstream(&verified, "orders")
            .await
            .unwrap();
        assert_ne!(exchanged.access_token(), incoming);
        assert!(!format!("{exchanged:?}").contains(exchanged.access_token()));
        let at_orders = downstream(&server)
            .verify::<StandardClaims>(exchanged.access_token())
            .await
            .unwrap();
        assert_eq!(at_orders.subject(), verified.subject());
        assert_eq!(
            at_orders.actor().and_then(|a| a.sub).as_deref(),
            Some(INTROSPECTION_CLIENT_ID)
        );
        assert!(
            downstream(&server)
                .verify::<StandardClaims>(&incoming)
                .await
                .is_err(),
            "the original token is not the downstream's"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_hundred_concurrent_calls_make_one_exchange_and_later_ones_hit_the_cache() {
        let server = IssuerServer::start().await;
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let verified = Arc::new(admitted(&api(&server), &incoming).await);
        let exchange = exchange(&server);
        let calls = (0..100).map(|_| {
            let (exchange, verified) = (exchange.clone(), Arc::clone(&verified));
            tokio::spawn(async move { exchange.for_downstream(&verified, "orders").await })
        });
        let tokens: Vec<String> = futures_util_join(calls).await;
        assert_eq!(server.token_exchanges(), 1);
        assert!(tokens.iter().all(|t| *t == tokens[0]));
        exchange.for_downstream(&verified, "orders").await.unwrap();
        assert_eq!(server.token_exchanges(), 1, "served from the cache");
        // Another caller's token is another exchange.
        let other = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let other = admitted(&api(&server), &other).await;
        exchange.for_downstream(&other, "orders").await.unwrap();
        assert_eq!(server.token_exchanges(), 2);
    }

    async fn futures_util_join(
        calls: impl Iterator<
            Item = tokio::task::JoinHandle<
                Result<tokengate::exchange::ExchangedToken, ExchangeError>,
            >,
        >,
    ) -> Vec<String> {
        let mut tokens = Vec::new();
        for call in calls {
            tokens.push(call.await.unwrap().unwrap().access_token().to_owned());
        }
        tokens
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_another_issuer_signed_is_invalid_grant_at_its_endpoint() {
        let server = IssuerServer::start().await;
        let elsewhere = IssuerServer::start().await;
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let verified = admitted(&api(&server), &incoming).await;
        let error = exchange(&elsewhere)
            .for_downstream(&verified, "orders")
            .await
            .unwrap_err();
        assert_eq!(error, ExchangeError::Refused("invalid_grant".to_owned()));
        assert_eq!(error.status(), 403);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_outages_and_wiring_errors_are_errors_never_the_incoming_token() {
        let server = IssuerServer::start().await;
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let verified = admitted(&api(&server), &incoming).await;
        // A client the server does not know: refused (401 from the endpoint: a refusal).
        let stranger = TokenExchange::endpoint(server.token_url())
            .client_secret_basic(INTROSPECTION_CLIENT_ID, "wrong")
            .downstream("orders", Downstream::audience("orders-api"))
            .build()
            .unwrap();
        let error = stranger
            .for_downstream(&verified, "orders")
            .await
            .unwrap_err();
        assert_eq!(error, ExchangeError::Refused("invalid_client".to_owned()));
        assert_eq!(error.status(), 403);
        // The refusal is remembered briefly: no second call.
        let calls = server.token_exchanges();
        assert_eq!(
            stranger
                .for_downstream(&verified, "orders")
                .await
                .unwrap_err(),
            ExchangeError::Refused("invalid_client".to_owned())
        );
        assert_eq!(server.token_exchanges(), calls);
        // The endpoint down: 503, nothing cached.
        server.set_fault(Fault::Status(500)).await;
        let exchange = exchange(&server);
        let error = exchange
            .for_downstream(&verified, "orders")
            .await
            .unwrap_err();
        assert_eq!(
            (error.clone(), error.status().as_u16()),
            (ExchangeError::Unavailable, 503)
        );
        server.set_fault(Fault::None).await;
        assert!(exchange.for_downstream(&verified, "orders").await.is_ok());
        // Wiring errors.
        assert_eq!(
            exchange
                .for_downstream(&verified, "billing")
                .await
                .unwrap_err(),
            ExchangeError::UnknownDownstream
        );
        let without_keeping = Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience("api")
                    .keys(KeySource::jwks_url(server.jwks_url())),
            )
            .build()
            .unwrap();
        let claims_only = admitted(&without_keeping, &incoming).await;
        assert_eq!(
            exchange
                .for_downstream(&claims_only, "orders")
                .await
                .unwrap_err(),
            ExchangeError::NoSubjectToken
        );
    }

    /// A downstream that records every request it receives, raw.
    async fn recording_downstream() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/orders", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = vec![0u8; 16 * 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]",
                    )
                    .await;
            }
        });
        (url, seen)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_request_to_the_downstream_ever_carries_the_incoming_token() {
        let server = IssuerServer::start().await;
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let verified = admitted(&api(&server), &incoming).await;
        let exchange = exchange(&server);
        let (url, seen) = recording_downstream().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        // The handler's call: one line attaches a token exchanged for the downstream.
        let request = exchange
            .authorize(client.get(&url), &verified, "orders")
            .await
            .unwrap();
        assert_eq!(request.send().await.unwrap().status(), 200);
        let exchanged = exchange.for_downstream(&verified, "orders").await.unwrap();
        // The endpoint goes down and the cache is past: the call fails before any request.
        server.set_fault(Fault::Status(503)).await;
        let fresh = TokenExchange::endpoint(server.token_url())
            .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET)
            .downstream("orders", Downstream::audience("orders-api"))
            .build()
            .unwrap();
        assert_eq!(
            fresh.for_downstream(&verified, "orders").await.unwrap_err(),
            ExchangeError::Unavailable
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "one request, after the one exchange");
        for request in &seen {
            assert!(
                !request.contains(&incoming),
                "the incoming token was forwarded"
            );
            assert!(request.contains(&format!("Bearer {}", exchanged.access_token())));
        }
    }

    /// The endpoint from the issuer's discovery document (the default way to configure it),
    /// a `private_key_jwt` client, and an `actor_token` naming the calling service in `act`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn discovery_private_key_jwt_and_an_actor_token() {
        use tokengate::introspection::ClientKey;
        let server = IssuerServer::start().await;
        let client_key = tokengate_testkit::TestKey::generate(tokengate::Algorithm::ES256);
        server.register_client_key("svc-mcp", &client_key);
        let key =
            ClientKey::from_pkcs8(client_key.private_pkcs8_der(), tokengate::Algorithm::ES256)
                .unwrap();
        let mut service = tokengate_testkit::claims_for(&server.issuer(), "token-exchange");
        service["sub"] = serde_json::json!("svc-mcp");
        let actor_token = server.mint(&service);
        let exchange = TokenExchange::discover(server.issuer())
            .private_key_jwt("svc-mcp", key)
            .actor_token(actor_token, tokengate::exchange::ACCESS_TOKEN_TYPE)
            .downstream("orders", Downstream::audience("orders-api"))
            .build()
            .unwrap();
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let verified = admitted(&api(&server), &incoming).await;
        let exchanged = exchange.for_downstream(&verified, "orders").await.unwrap();
        let at_orders = downstream(&server)
            .verify::<StandardClaims>(exchanged.access_token())
            .await
            .unwrap();
        assert_eq!(
            at_orders.actor().and_then(|a| a.sub).as_deref(),
            Some("svc-mcp")
        );
        // Discovery naming another issuer: no endpoint is believed.
        let wrong = TokenExchange::discover(format!("{}/", server.issuer()))
            .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET)
            .downstream("orders", Downstream::audience("orders-api"))
            .build()
            .unwrap();
        assert_eq!(
            wrong.for_downstream(&verified, "orders").await.unwrap_err(),
            ExchangeError::Unavailable
        );
    }

    /// Where API keys meet the exchange: a request that presented an API key has no token to
    /// exchange — the key is never sent to the token endpoint as a `subject_token`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_api_key_request_has_no_token_to_exchange() {
        use tokengate::apikey::{ApiKey, ApiKeys, generate};
        let server = IssuerServer::start().await;
        let key = generate();
        let verifier = Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience("api")
                    .keys(KeySource::jwks_url(server.jwks_url())),
            )
            .api_keys(ApiKeys::new().key(ApiKey::from_hash("job", "svc-job", &key.hash).unwrap()))
            .keep_tokens_for_exchange()
            .build()
            .unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "authorization",
            format!("ApiKey {}", key.key).parse().unwrap(),
        );
        let request = RequestView::new("GET", "/", None, &headers);
        let Decision::Admit(Admission::Verified(verified)) =
            verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None)
        else {
            panic!("the key is admitted");
        };
        assert_eq!(
            exchange(&server)
                .for_downstream(&verified, "orders")
                .await
                .unwrap_err(),
            ExchangeError::NoSubjectToken
        );
        assert_eq!(server.token_exchanges(), 0);
    }

    /// Where the verified-token cache meets the exchange: a request answered from the cache
    /// still carries its own token for the exchange (kept per request, never in the cache,
    /// so a cached entry holds no token another request could use).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cache_hit_keeps_the_requests_own_token_for_the_exchange() {
        let server = IssuerServer::start().await;
        let verifier = Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience("api")
                    .keys(KeySource::jwks_url(server.jwks_url())),
            )
            .cache(tokengate::cache::TokenCache::new())
            .keep_tokens_for_exchange()
            .build()
            .unwrap();
        let incoming = server.mint(&tokengate_testkit::claims_for(&server.issuer(), "api"));
        let first = admitted(&verifier, &incoming).await;
        let second = admitted(&verifier, &incoming).await;
        assert!(
            verifier.cache_stats().unwrap().hits >= 1,
            "the second came from the cache"
        );
        let exchange = exchange(&server);
        let from_first = exchange.for_downstream(&first, "orders").await.unwrap();
        let from_second = exchange.for_downstream(&second, "orders").await.unwrap();
        assert_eq!(from_first.access_token(), from_second.access_token());
        assert_eq!(server.token_exchanges(), 1);
        // The token-only API (no request) keeps no token, cached or not.
        let plain = verifier.verify::<StandardClaims>(&incoming).await.unwrap();
        assert_eq!(
            exchange.for_downstream(&plain, "orders").await.unwrap_err(),
            ExchangeError::NoSubjectToken
        );
    }
}
