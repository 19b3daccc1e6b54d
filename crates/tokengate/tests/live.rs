//! Connections that outlive their request (`tokengate::live`): the deadline at `exp` without
//! leeway, re-checks against the revocation list and the introspection endpoint, fail closed,
//! and the stream combinator. Where the deadline meets the leeway, the clock and the caches.

mod support;

use std::time::Duration;

use serde_json::json;
use support::AUD;
use tokengate::adapter::{Decision, Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::live::{Deadline, Ended, RECHECK_WITHOUT_EXPIRY, Stream, until_expiry};
use tokengate::store::{
    Lookup, MemoryRevocationList, RevocationList, StoreUnavailable, StoreWrite,
};
use tokengate::{
    Algorithm, Issuer, KeySource, StandardClaims, TokenSources, Verified, Verifier,
    VerifierBuilder, introspection::Introspection,
};
use tokengate_testkit::{
    INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer, NOW, TestKey, claims_at,
    jwks,
};

const ISS: &str = "https://issuer.test/";

fn builder(clock: &FixedClock) -> VerifierBuilder {
    Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&TestKey::shared(
                    Algorithm::ES256,
                )]))),
        )
        .clock(clock.clone())
}

fn token(exp: u64) -> String {
    let mut claims = claims_at(ISS, AUD, NOW);
    claims["exp"] = json!(exp);
    claims["jti"] = json!("conn-1");
    TestKey::shared(Algorithm::ES256).mint(&claims)
}

fn bearer(token: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

/// Admits `headers` through the pipeline and builds the connection's deadline.
async fn admitted(
    verifier: &Verifier,
    headers: &http::HeaderMap,
) -> (Verified<StandardClaims>, Deadline) {
    let request = RequestView::new("GET", "/ws", None, headers);
    let verified = verifier
        .required_claims::<StandardClaims, _>(&request, &Policy::new(), None)
        .await
        .expect("admitted");
    let deadline = verifier.connection_deadline(&request, &verified);
    (verified, deadline)
}

/// Whether `deadline` has ended within `within` (virtual time when paused).
async fn ends_within(deadline: &mut Deadline, within: Duration) -> Option<Ended> {
    tokio::time::timeout(within, deadline.ended()).await.ok()
}

#[tokio::test(start_paused = true)]
async fn the_deadline_is_exp_without_leeway() {
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock)
        .leeway(Duration::from_secs(60))
        .build()
        .unwrap();
    let (_, mut deadline) = admitted(&verifier, &bearer(&token(NOW + 30))).await;
    assert_eq!(
        deadline.expires_at(),
        Some(std::time::UNIX_EPOCH + Duration::from_secs(NOW + 30))
    );
    assert_eq!(
        deadline.recheck_interval(),
        None,
        "a JWT with exp: no re-checks by default"
    );
    // Not before exp: 29 s on, the connection lives.
    clock.advance(Duration::from_secs(29));
    assert_eq!(
        ends_within(&mut deadline, Duration::from_millis(900)).await,
        None
    );
    // At exp it ends, although a request would still be admitted within the leeway.
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(2)).await,
        Some(Ended::Expired)
    );
    assert_eq!(deadline.has_ended(), Some(Ended::Expired));
    assert!(matches!(
        verifier.decide::<StandardClaims, _>(
            &RequestView::new("GET", "/", None, &bearer(&token(NOW + 30))),
            &Policy::new(),
            None
        ),
        Decision::Admit(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_token_admitted_within_the_leeway_ends_its_connection_at_once() {
    let clock = FixedClock::at(NOW + 40);
    let verifier = builder(&clock)
        .leeway(Duration::from_secs(60))
        .build()
        .unwrap();
    let (_, mut deadline) = admitted(&verifier, &bearer(&token(NOW + 30))).await;
    assert_eq!(
        ends_within(&mut deadline, Duration::from_millis(1)).await,
        Some(Ended::Expired)
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_revoked_mid_connection_ends_it_within_the_recheck_interval() {
    let clock = FixedClock::at(NOW);
    let list = MemoryRevocationList::default().clock(clock.clone());
    let verifier = builder(&clock)
        .revocation(list)
        .connection_recheck(Duration::from_secs(10))
        .build()
        .unwrap();
    let (_, mut deadline) = admitted(&verifier, &bearer(&token(NOW + 3600))).await;
    assert_eq!(deadline.recheck_interval(), Some(Duration::from_secs(10)));
    // Re-checks pass while the token is valid.
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(25)).await,
        None
    );
    verifier
        .revoke_jti(ISS, "conn-1", NOW + 3600)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(11)).await,
        Some(Ended::Revoked)
    );
    assert!(started.elapsed() <= Duration::from_secs(10));
}

/// A revocation list that answers until told to fail.
#[derive(Clone, Default)]
struct Flaky(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl RevocationList for Flaky {
    fn status(&self, _: &tokengate::store::TokenIdentity<'_>, _: u64) -> Lookup {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            Lookup::Now(Err(StoreUnavailable))
        } else {
            Lookup::Now(Ok(tokengate::store::RevocationStatus::Valid))
        }
    }
    fn revoke_jti(&self, _: &str, _: &str, _: u64) -> StoreWrite {
        Box::pin(async { Err(StoreUnavailable) })
    }
    fn revoke_subject(&self, _: &str, _: &str, _: u64, _: u64) -> StoreWrite {
        Box::pin(async { Err(StoreUnavailable) })
    }
}

#[tokio::test(start_paused = true)]
async fn a_recheck_that_cannot_be_made_ends_the_connection() {
    let clock = FixedClock::at(NOW);
    let flaky = Flaky::default();
    let verifier = builder(&clock)
        .revocation(flaky.clone())
        .connection_recheck(Duration::from_secs(5))
        .build()
        .unwrap();
    let (_, mut deadline) = admitted(&verifier, &bearer(&token(NOW + 3600))).await;
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(12)).await,
        None
    );
    flaky.0.store(true, std::sync::atomic::Ordering::SeqCst);
    let ended = ends_within(&mut deadline, Duration::from_secs(6)).await;
    assert_eq!(ended, Some(Ended::Unavailable));
    assert_eq!(Ended::Unavailable.websocket_close_code(), 1013);
    assert_eq!(Ended::Revoked.websocket_close_code(), 1008);
    assert_eq!(Ended::Expired.websocket_close_code(), 1008);
}

#[tokio::test(start_paused = true)]
async fn a_token_the_recheck_cannot_read_again_ends_at_the_first_recheck() {
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock)
        .connection_recheck(Duration::from_secs(5))
        .build()
        .unwrap();
    let (verified, _) = admitted(&verifier, &bearer(&token(NOW + 3600))).await;
    // A request that does not carry the token (the claims came from elsewhere).
    let empty = http::HeaderMap::new();
    let mut deadline =
        verifier.connection_deadline(&RequestView::new("GET", "/ws", None, &empty), &verified);
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(6)).await,
        Some(Ended::Refused)
    );
}

#[test]
fn the_recheck_interval_is_at_least_a_second() {
    let error = builder(&FixedClock::at(NOW))
        .connection_recheck(Duration::from_millis(500))
        .build()
        .unwrap_err();
    assert_eq!(
        error.kind(),
        tokengate::error::ConfigErrorKind::InvalidSetting
    );
}

#[tokio::test(start_paused = true)]
async fn until_expiry_ends_a_stream_with_one_last_item() {
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock).build().unwrap();
    let (_, deadline) = admitted(&verifier, &bearer(&token(NOW + 10))).await;
    let ticks = tokio_stream::iter(0..).then_every_second();
    let mut stream = Box::pin(until_expiry(ticks, deadline).then(|ended| match ended {
        Ended::Expired => -1,
        _ => -2,
    }));
    let mut seen = Vec::new();
    let clock2 = clock.clone();
    while let Some(item) = next(&mut stream).await {
        seen.push(item);
        if item == 2 {
            clock2.advance(Duration::from_secs(10));
        }
    }
    assert_eq!(seen, vec![0, 1, 2, -1]);
    assert_eq!(next(&mut stream).await, None, "ended for good");
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

/// A stream of `0, 1, 2, ...`, one item a second.
trait EverySecond: Sized {
    fn then_every_second(self) -> impl Stream<Item = i64> + Send;
}

impl<S: Stream<Item = i64> + Send + Unpin> EverySecond for S {
    fn then_every_second(self) -> impl Stream<Item = i64> + Send {
        struct Ticking<S> {
            inner: S,
            sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
        }
        impl<S: Stream<Item = i64> + Unpin> Stream for Ticking<S> {
            type Item = i64;
            fn poll_next(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<i64>> {
                std::task::ready!(self.sleep.as_mut().poll(cx));
                let next = tokio::time::Instant::now() + Duration::from_secs(1);
                self.sleep.as_mut().reset(next);
                std::pin::Pin::new(&mut self.inner).poll_next(cx)
            }
        }
        use std::future::Future;
        Ticking {
            inner: self,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }
}

/// A verifier for `server`'s signed tokens that introspects its opaque ones with `config`.
fn introspecting(server: &IssuerServer, config: Introspection) -> VerifierBuilder {
    Verifier::builder().issuer(
        Issuer::new(server.issuer())
            .audience(AUD)
            .keys(KeySource::jwks_url(server.jwks_url()))
            .introspection(config),
    )
}

fn introspection(server: &IssuerServer) -> Introspection {
    Introspection::endpoint(server.introspection_url())
        .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET)
}

/// Real time: the introspection endpoint is a real server on loopback. The answer is cached
/// for a minute; the re-check asks the provider again past the cache.
#[tokio::test]
async fn an_opaque_token_inactive_at_the_provider_ends_its_connection_past_the_cache() {
    let server = IssuerServer::start().await;
    let now = tokengate_testkit::now();
    let verifier = introspecting(
        &server,
        introspection(&server).max_age(Duration::from_secs(60)),
    )
    .connection_recheck(Duration::from_secs(1))
    .build()
    .unwrap();
    let opaque = server.issue_opaque(&claims_at(&server.issuer(), AUD, now));
    let (_, mut deadline) = admitted(&verifier, &bearer(&opaque)).await;
    assert_eq!(
        ends_within(&mut deadline, Duration::from_millis(1500)).await,
        None
    );
    let before = server.introspection_requests();
    server.revoke(&opaque);
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(3)).await,
        Some(Ended::Refused)
    );
    assert!(
        server.introspection_requests() > before,
        "asked the provider again"
    );
}

#[tokio::test]
async fn an_opaque_token_without_exp_is_rechecked_by_default() {
    let server = IssuerServer::start().await;
    let now = tokengate_testkit::now();
    let verifier = introspecting(&server, introspection(&server))
        .build()
        .unwrap();
    let mut claims = claims_at(&server.issuer(), AUD, now);
    claims.as_object_mut().unwrap().remove("exp");
    let opaque = server.issue_opaque(&claims);
    let (verified, deadline) = admitted(&verifier, &bearer(&opaque)).await;
    assert!(verified.expires_at().is_infinite());
    assert_eq!(deadline.expires_at(), None);
    assert_eq!(deadline.recheck_interval(), Some(RECHECK_WITHOUT_EXPIRY));
}

#[tokio::test]
async fn the_websocket_protocol_token_is_read_again_for_rechecks() {
    let clock = FixedClock::at(NOW);
    let list = MemoryRevocationList::default().clock(clock.clone());
    let verifier = builder(&clock)
        .revocation(list)
        .token_sources(
            TokenSources::new()
                .websocket_protocol("access_token")
                .unwrap(),
        )
        .connection_recheck(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("upgrade", "websocket".parse().unwrap());
    headers.insert("connection", "Upgrade".parse().unwrap());
    headers.insert("sec-websocket-version", "13".parse().unwrap());
    headers.insert(
        "sec-websocket-protocol",
        format!("access_token, {}", token(NOW + 3600))
            .parse()
            .unwrap(),
    );
    let (_, mut deadline) = admitted(&verifier, &headers).await;
    verifier
        .revoke_jti(ISS, "conn-1", NOW + 3600)
        .await
        .unwrap();
    assert_eq!(
        ends_within(&mut deadline, Duration::from_secs(3)).await,
        Some(Ended::Revoked)
    );
}

#[tokio::test]
async fn a_deadlines_debug_output_holds_no_claim_and_no_token() {
    let clock = FixedClock::at(NOW);
    let verifier = builder(&clock)
        .connection_recheck(Duration::from_secs(5))
        .build()
        .unwrap();
    let token = token(NOW + 3600);
    let (_, deadline) = admitted(&verifier, &bearer(&token)).await;
    let debug = format!("{deadline:?}");
    assert!(!debug.contains(&(NOW + 3600).to_string()), "{debug}");
    assert!(!debug.contains(&token), "{debug}");
    let stream = until_expiry(tokio_stream::iter([1]), deadline);
    assert!(!format!("{stream:?}").contains(&token));
}

/// Where encryption meets re-checks: an encrypted token's connection is re-checked as the JWT
/// it carries — not sent to the introspection endpoint as an opaque token (which would call it
/// inactive and end the connection).
#[tokio::test]
async fn an_encrypted_tokens_connection_is_rechecked_as_its_jwt() {
    use tokengate::keys::{ContentEncryption, KeyManagement};
    use tokengate_testkit::jwe::Recipient;

    let server = IssuerServer::start().await;
    let now = tokengate_testkit::now();
    let recipient = Recipient::secret(32);
    let verifier = introspecting(&server, introspection(&server))
        .decryption_key(recipient.decryption_key())
        .connection_recheck(Duration::from_secs(1))
        .build()
        .unwrap();
    let jwt = server.mint(&claims_at(&server.issuer(), AUD, now));
    let jwe = recipient.encrypt(&jwt, KeyManagement::A256Kw, ContentEncryption::A256Gcm);
    let before = server.introspection_requests();
    let (_, mut deadline) = admitted(&verifier, &bearer(&jwe)).await;
    assert_eq!(
        ends_within(&mut deadline, Duration::from_millis(2500)).await,
        None,
        "two re-checks passed"
    );
    assert_eq!(
        server.introspection_requests(),
        before,
        "nothing introspected"
    );
}
