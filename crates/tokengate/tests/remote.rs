//! Remote key sets over real loopback HTTP (testkit `IssuerServer`), with an injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokengate::clock::FixedClock;
use tokengate::fetch::{FetchError, FetchedDocument, Fetcher, HttpFetcher};
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, StandardClaims, Verifier, error::ConfigErrorKind,
    health::KeysState,
};
use tokengate_testkit::{Fault, IssuerServer, NOW, TestKey, claims_at};

const AUD: &str = "api://remote";
const TIMEOUT: Duration = Duration::from_millis(400);

struct Setup {
    server: IssuerServer,
    clock: FixedClock,
    verifier: Verifier,
}

fn verifier(server: &IssuerServer, source: KeySource, clock: &FixedClock) -> Verifier {
    Verifier::builder()
        .issuer(Issuer::new(server.issuer()).audience(AUD).keys(source))
        .clock(clock.clone())
        .fetch_timeout(TIMEOUT)
        .build()
        .unwrap()
}

async fn setup() -> Setup {
    let server = IssuerServer::start().await;
    let clock = FixedClock::at(NOW);
    let verifier = verifier(&server, KeySource::jwks_url(server.jwks_url()), &clock);
    Setup {
        server,
        clock,
        verifier,
    }
}

impl Setup {
    fn token(&self) -> String {
        self.server
            .mint(&claims_at(&self.server.issuer(), AUD, self.clock.now()))
    }

    fn token_by(&self, key: &TestKey) -> String {
        key.mint(&claims_at(&self.server.issuer(), AUD, self.clock.now()))
    }

    async fn verify(&self, token: &str) -> Result<(), ErrorKind> {
        self.verifier
            .verify::<StandardClaims>(token)
            .await
            .map(|_| ())
            .map_err(|e| e.kind())
    }

    fn health(&self) -> tokengate::health::IssuerHealth {
        self.verifier.health().remove(0)
    }

    /// Waits (bounded) until a background refresh has been counted.
    async fn settle(&self, fetches: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.server.jwks_requests() < fetches || self.health_busy() {
            assert!(
                Instant::now() < deadline,
                "the background refresh never happened"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn health_busy(&self) -> bool {
        let h = self.health();
        (h.fetches_ok + h.fetches_failed) < self.server.jwks_requests() as u64
    }
}

trait Now {
    fn now(&self) -> u64;
}

impl Now for FixedClock {
    fn now(&self) -> u64 {
        tokengate::clock::Clock::now_unix(self)
    }
}

#[tokio::test]
async fn cold_start_fetches_once_then_serves_from_cache() {
    let s = setup().await;
    assert_eq!(s.health().state, KeysState::Failing, "nothing fetched yet");
    for _ in 0..20 {
        assert_eq!(s.verify(&s.token()).await, Ok(()));
    }
    assert_eq!(s.server.jwks_requests(), 1);
    let health = s.health();
    assert_eq!(
        (health.state, health.key_count, health.fetches_ok),
        (KeysState::Fresh, 1, 1)
    );
    assert_eq!(health.last_success, Some(NOW));
}

#[tokio::test]
async fn a_freshly_published_key_verifies_on_its_first_request_and_a_retired_one_fails() {
    let s = setup().await;
    let old = s.server.signing_key();
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    let fresh = s.server.rotate(); // publishes a new key, retires the old one
    assert_eq!(
        s.verify(&s.token_by(&fresh)).await,
        Ok(()),
        "unknown kid -> refetch -> verified"
    );
    assert_eq!(s.server.jwks_requests(), 2);
    assert_eq!(s.health().kid_miss_refreshes, 1);
    // The retired key is gone from the set: its tokens fail at once, without another fetch.
    assert_eq!(
        s.verify(&s.token_by(&old)).await,
        Err(ErrorKind::UnknownKey)
    );
    assert_eq!(s.server.jwks_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_unknown_kids_cause_at_most_one_fetch_per_cooldown_window() {
    let s = Arc::new(setup().await);
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    assert_eq!(s.server.jwks_requests(), 1);
    for window in 1..=2 {
        let mut tasks = Vec::new();
        for i in 0..1000 {
            let s = Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                let key = s
                    .server
                    .signing_key()
                    .with_kid(format!("bogus-{window}-{i}"));
                s.verify(&s.token_by(&key)).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Err(ErrorKind::UnknownKey));
        }
        assert!(
            s.server.jwks_requests() <= 1 + window,
            "{} fetches",
            s.server.jwks_requests()
        );
        s.clock.advance(Duration::from_secs(31));
    }
    let health = s.health();
    assert!(
        health.kid_miss_refreshes <= 2 && health.cooldown_suppressed >= 1990,
        "{health:?}"
    );
    // Valid tokens were never disturbed.
    assert_eq!(s.verify(&s.token()).await, Ok(()));
}

#[tokio::test]
async fn valid_tokens_keep_verifying_from_cache_under_every_fault() {
    let faults = [
        Fault::Refuse,
        Fault::Delay(Duration::from_secs(2)),
        Fault::Status(500),
        Fault::InvalidJson,
        Fault::Oversized,
    ];
    for fault in faults {
        let s = setup().await;
        assert_eq!(s.verify(&s.token()).await, Ok(()));
        s.server.set_fault(fault.clone()).await;
        // Past the TTL (600 s by default): the keys are stale, a refresh is due and fails.
        s.clock.advance(Duration::from_secs(700));
        let started = Instant::now();
        assert_eq!(s.verify(&s.token()).await, Ok(()), "{fault:?}");
        assert!(
            started.elapsed() < TIMEOUT,
            "{fault:?}: a request waited for the fetch"
        );
        if fault != Fault::Refuse {
            s.settle(2).await;
        } else {
            let deadline = Instant::now() + Duration::from_secs(5);
            while s.health().fetches_failed == 0 {
                assert!(Instant::now() < deadline);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let health = s.health();
        assert_eq!(health.state, KeysState::Stale, "{fault:?}");
        assert!(
            health.fetches_failed >= 1 && health.stale_served >= 1,
            "{fault:?}: {health:?}"
        );
        // An unknown kid under the fault waits at most the fetch timeout.
        let stranger = TestKey::generate(Algorithm::ES256);
        s.clock.advance(Duration::from_secs(120));
        let started = Instant::now();
        assert_eq!(
            s.verify(&s.token_by(&stranger)).await,
            Err(ErrorKind::UnknownKey)
        );
        assert!(
            started.elapsed() < TIMEOUT + Duration::from_millis(300),
            "{fault:?}: {:?}",
            started.elapsed()
        );
        assert_eq!(s.verify(&s.token()).await, Ok(()), "{fault:?}");
    }
}

#[tokio::test]
async fn stale_keys_are_served_for_an_hour_past_expiry_then_503() {
    let s = setup().await;
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    s.server.set_fault(Fault::Status(503)).await;
    s.clock.set(NOW + 600 + 3599);
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    s.clock.set(NOW + 600 + 3600);
    let error = s
        .verifier
        .verify::<StandardClaims>(&s.token())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    let rejection = s.verifier.answer(&error);
    assert_eq!(rejection.status(), 503);
    assert!(rejection.www_authenticate().is_none());
    assert!(rejection.retry_after().is_some());
    assert_eq!(s.health().state, KeysState::Failing);
}

#[tokio::test]
async fn a_cold_start_with_the_endpoint_down_is_503_then_recovers_by_itself() {
    let s = setup().await;
    s.server.set_fault(Fault::Refuse).await;
    let error = s
        .verifier
        .verify::<StandardClaims>(&s.token())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    let rejection = s.verifier.answer(&error);
    assert_eq!(rejection.status(), 503);
    assert_eq!(rejection.retry_after().unwrap(), "1");
    assert_eq!(s.health().state, KeysState::Failing);
    // During the backoff, requests fail fast without fetching.
    let attempts = s.health().fetches_failed;
    assert_eq!(s.verify(&s.token()).await, Err(ErrorKind::KeysUnavailable));
    assert_eq!(s.health().fetches_failed, attempts);
    // The endpoint comes back; after the backoff the next request fetches and verifies.
    s.server.set_fault(Fault::None).await;
    s.clock.advance(Duration::from_secs(2));
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    assert_eq!(s.health().state, KeysState::Fresh);
}

#[tokio::test]
async fn keys_unavailable_can_answer_401_instead() {
    let server = IssuerServer::start().await;
    server.set_fault(Fault::Status(500)).await;
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .clock(FixedClock::at(NOW))
        .keys_unavailable_as_unauthorized()
        .build()
        .unwrap();
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    let rejection = verifier.answer(&error);
    assert_eq!(rejection.status(), 401);
    assert!(rejection.retry_after().is_none());
    assert_eq!(
        rejection.www_authenticate().unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#
    );
}

#[tokio::test]
async fn body_and_key_count_caps() {
    let s = setup().await;
    s.server.set_fault(Fault::Oversized).await;
    assert_eq!(s.verify(&s.token()).await, Err(ErrorKind::KeysUnavailable));
    assert_eq!(
        s.health().last_failure,
        Some(tokengate::fetch::FetchErrorKind::TooLarge)
    );

    let keys: Vec<TestKey> = (0..101)
        .map(|_| TestKey::generate(Algorithm::ES256))
        .collect();
    let server = IssuerServer::start_with(keys).await;
    let clock = FixedClock::at(NOW);
    let verifier = verifier(&server, KeySource::jwks_url(server.jwks_url()), &clock);
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    let error = verifier.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(
        verifier.health()[0].last_failure,
        Some(tokengate::fetch::FetchErrorKind::Invalid)
    );
    server.retire(server.signing_key().kid()); // 100 keys: fine
    clock.advance(Duration::from_secs(5));
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert!(verifier.verify::<StandardClaims>(&token).await.is_ok());
}

#[tokio::test]
async fn cache_control_sets_the_ttl_clamped_and_refresh_runs_ahead_in_the_background() {
    let s = setup().await;
    s.server.set_cache_control(Some("public, max-age=120"));
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    s.clock.advance(Duration::from_secs(95)); // < 80 % of 120 s
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    assert_eq!(s.server.jwks_requests(), 1);
    s.clock.advance(Duration::from_secs(2)); // 97 s >= 96 s: refresh ahead, request does not wait
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    s.settle(2).await;
    assert_eq!(s.health().state, KeysState::Fresh);

    // max-age below one minute is clamped to one minute.
    s.server.set_cache_control(Some("max-age=5"));
    s.clock.advance(Duration::from_secs(200));
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    s.settle(3).await;
    s.clock.advance(Duration::from_secs(30));
    assert_eq!(s.verify(&s.token()).await, Ok(()));
    tokio::task::yield_now().await;
    assert_eq!(
        s.server.jwks_requests(),
        3,
        "30 s is within the clamped 60 s TTL"
    );
}

#[tokio::test]
async fn discovery_finds_the_jwks_and_checks_the_issuer() {
    let server = IssuerServer::start().await;
    let clock = FixedClock::at(NOW);
    let v = verifier(&server, KeySource::discover(), &clock);
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert!(v.verify::<StandardClaims>(&token).await.is_ok());
    assert_eq!(
        (server.discovery_requests(), server.jwks_requests()),
        (1, 1)
    );

    // RFC 8414 when OIDC discovery is absent.
    let server = IssuerServer::start().await;
    server.set_oidc_discovery(false);
    let v = verifier(&server, KeySource::discover(), &clock);
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert!(v.verify::<StandardClaims>(&token).await.is_ok());
    assert_eq!(server.metadata_requests(), 1);

    // A discovery document naming another issuer is refused.
    let server = IssuerServer::start().await;
    server.set_fault(Fault::WrongIssuer).await;
    let v = verifier(&server, KeySource::discover(), &clock);
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert_eq!(
        v.verify::<StandardClaims>(&token).await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable
    );
    assert_eq!(server.jwks_requests(), 0);

    // A discovery document with a repeated member is refused like any other strict JSON input.
    let server = IssuerServer::start().await;
    server.set_fault(Fault::DuplicateMembers).await;
    let v = verifier(&server, KeySource::discover(), &clock);
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert_eq!(
        v.verify::<StandardClaims>(&token).await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable
    );
    assert_eq!(server.jwks_requests(), 0);
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_at_build() {
    let build = |source: KeySource, iss: &str| {
        Verifier::builder()
            .issuer(Issuer::new(iss).audience(AUD).keys(source))
            .build()
            .map(|_| ())
    };
    let kind = |r: Result<(), tokengate::ConfigError>| r.unwrap_err().kind();
    assert_eq!(
        kind(build(
            KeySource::jwks_url("http://idp.example.com/jwks"),
            "https://idp.example.com"
        )),
        ConfigErrorKind::InsecureUrl
    );
    assert_eq!(
        kind(build(
            KeySource::jwks_url("http://10.1.2.3/jwks"),
            "https://idp.example.com"
        )),
        ConfigErrorKind::InsecureUrl
    );
    assert_eq!(
        kind(build(KeySource::discover(), "http://idp.example.com")),
        ConfigErrorKind::InsecureUrl
    );
    assert_eq!(
        kind(build(
            KeySource::jwks_url("not a url"),
            "https://idp.example.com"
        )),
        ConfigErrorKind::InsecureUrl
    );
    assert!(
        build(
            KeySource::jwks_url("https://idp.example.com/jwks"),
            "https://idp.example.com"
        )
        .is_ok()
    );
    assert!(build(KeySource::discover(), "https://idp.example.com").is_ok());
    assert!(
        build(
            KeySource::jwks_url("http://127.0.0.1:1/jwks"),
            "https://idp.example.com"
        )
        .is_ok()
    );
}

#[tokio::test]
async fn hmac_keys_are_never_taken_from_a_remote_set() {
    let hs = TestKey::generate(Algorithm::HS256);
    let server = IssuerServer::start_with(vec![hs.clone()]).await;
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .algorithms([Algorithm::HS256])
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .unwrap();
    let token = hs.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert_eq!(
        verifier
            .verify::<StandardClaims>(&token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::KeysUnavailable
    );
}

/// A fetcher of the user's: counts calls and delegates to the default client.
struct Counting(HttpFetcher, Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Fetcher for Counting {
    async fn get(&self, url: &str, max_body: usize) -> Result<FetchedDocument, FetchError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.get(url, max_body).await
    }
}

#[tokio::test]
async fn a_custom_fetcher_serves_discovery_and_keys() {
    let server = IssuerServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .keys(KeySource::discover()),
        )
        .clock(FixedClock::at(NOW))
        .fetcher(Counting(
            HttpFetcher::new(TIMEOUT).unwrap(),
            Arc::clone(&calls),
        ))
        .build()
        .unwrap();
    verifier.ready().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "discovery + JWKS");
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    assert!(verifier.verify::<StandardClaims>(&token).await.is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn ready_fetches_before_serving_and_reports_failure() {
    let s = setup().await;
    s.verifier.ready().await.unwrap();
    assert_eq!(
        (s.server.jwks_requests(), s.health().state),
        (1, KeysState::Fresh)
    );
    let down = IssuerServer::start().await;
    down.set_fault(Fault::Refuse).await;
    let clock = FixedClock::at(NOW);
    let v = verifier(&down, KeySource::jwks_url(down.jwks_url()), &clock);
    assert_eq!(
        v.ready().await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable
    );
}

#[tokio::test]
async fn redirects_are_followed_only_to_the_same_host() {
    let server = IssuerServer::start().await;
    let clock = FixedClock::at(NOW);
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    let same = verifier(
        &server,
        KeySource::jwks_url(server.redirect_same_host_url()),
        &clock,
    );
    assert!(same.verify::<StandardClaims>(&token).await.is_ok());
    let other = verifier(
        &server,
        KeySource::jwks_url(server.redirect_other_host_url()),
        &clock,
    );
    let error = other.verify::<StandardClaims>(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(
        server.jwks_requests(),
        1,
        "the redirect to another host was not followed"
    );
}

#[tokio::test]
async fn an_issuer_mismatch_names_both_issuers_and_the_trailing_slash() {
    let server = IssuerServer::start().await;
    let clock = FixedClock::at(NOW);
    // Configured with a trailing slash the provider does not publish.
    let configured = format!("{}/", server.issuer());
    let slashed = Verifier::builder()
        .issuer(
            Issuer::new(&configured)
                .audience(AUD)
                .keys(KeySource::discover()),
        )
        .clock(clock.clone())
        .fetch_timeout(TIMEOUT)
        .build()
        .unwrap();
    let error = slashed.ready().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    // `ready()`'s own error names the mismatch with both strings (it said only "no usable key
    // for the issuer" before; the good message lived in each example).
    let reason = error.reason().unwrap();
    assert!(reason.starts_with(&format!("{configured}: ")), "{reason}");
    assert!(
        reason.contains(&format!("{:?}", server.issuer())),
        "{reason}"
    );
    assert!(reason.contains("trailing slash"), "{reason}");
    assert!(error.to_string().contains("trailing slash"), "{error}");
    let health = &slashed.health()[0];
    assert_eq!(
        health.last_failure,
        Some(tokengate::fetch::FetchErrorKind::IssuerMismatch)
    );
    let message = health.last_failure_message.as_deref().unwrap();
    assert!(
        message.contains(&format!("{:?}", server.issuer())),
        "{message}"
    );
    assert!(message.contains(&format!("{configured:?}")), "{message}");
    assert!(message.contains("trailing slash"), "{message}");
    assert_eq!(server.jwks_requests(), 0);

    // A connection failure says so.
    let down = IssuerServer::start().await;
    down.set_fault(Fault::Refuse).await;
    let refused = verifier(&down, KeySource::jwks_url(down.jwks_url()), &clock);
    assert_eq!(
        refused.ready().await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable
    );
    let health = &refused.health()[0];
    assert_eq!(
        health.last_failure,
        Some(tokengate::fetch::FetchErrorKind::Connect)
    );
    assert!(health.last_failure_message.is_some());
}

/// A fetcher that panics once armed: a bug in a user's fetcher, or in key parsing.
struct Panicking(HttpFetcher, Arc<std::sync::atomic::AtomicBool>);

#[async_trait::async_trait]
impl Fetcher for Panicking {
    async fn get(&self, url: &str, max_body: usize) -> Result<FetchedDocument, FetchError> {
        assert!(
            !self.1.load(Ordering::SeqCst),
            "the fetcher panicked on purpose"
        );
        self.0.get(url, max_body).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_background_refresh_is_counted_and_does_not_stop_refreshes() {
    let server = IssuerServer::start().await;
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clock = FixedClock::at(NOW);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(server.issuer())
                .audience(AUD)
                .keys(KeySource::jwks_url(server.jwks_url())),
        )
        .clock(clock.clone())
        .fetcher(Panicking(
            HttpFetcher::new(TIMEOUT).unwrap(),
            Arc::clone(&armed),
        ))
        .build()
        .unwrap();
    let token = server.mint(&claims_at(&server.issuer(), AUD, NOW));
    verifier.verify::<StandardClaims>(&token).await.unwrap();
    armed.store(true, Ordering::SeqCst);
    // Past 80 % of the default 10 min TTL: each verification starts a background refresh,
    // unless one is (believed to be) running.
    clock.advance(Duration::from_secs(9 * 60));
    for round in 1..=2 {
        let token = server.mint(&claims_at(&server.issuer(), AUD, NOW + 9 * 60));
        verifier.verify::<StandardClaims>(&token).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while verifier.health()[0].fetches_failed < round && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(verifier.health()[0].fetches_failed, round, "round {round}");
        // The backoff after a failure would delay the next attempt; let the clock pass it.
        clock.advance(Duration::from_secs(2));
    }
}

/// `required_claims_now`: waits only on a cold start (the keys are fetched), then decides at
/// once; a bad or missing token is answered at once, exactly as `required_claims` would.
#[tokio::test]
async fn required_claims_now_waits_only_for_io() {
    use tokengate::adapter::{Policy, RequestView};
    let setup = setup().await;
    let policy = Policy::new();
    let request = |authorization: Option<String>| {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert("authorization", value.parse().unwrap());
        }
        headers
    };
    let good = request(Some(format!("Bearer {}", setup.token())));
    let view = RequestView::new("GET", "/me", None, &good);
    // Cold: the keys must be fetched first.
    let pending = match setup
        .verifier
        .required_claims_now::<StandardClaims, _>(&view, &policy, None)
    {
        Err(pending) => pending,
        Ok(decided) => panic!(
            "decided before the keys were fetched: {:?}",
            decided.is_ok()
        ),
    };
    let verified = pending.resolve().await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    // Warm: decided at once.
    let now = setup
        .verifier
        .required_claims_now::<StandardClaims, _>(&view, &policy, None);
    assert_eq!(now.unwrap().unwrap().subject(), Some("alice"));
    // A token for another audience and no token: answered at once, with the exact status
    // and challenge.
    let other = setup
        .server
        .mint(&claims_at(&setup.server.issuer(), "api://other", NOW));
    let other = request(Some(format!("Bearer {other}")));
    let view = RequestView::new("GET", "/me", None, &other);
    let answer = setup
        .verifier
        .required_claims_now::<StandardClaims, _>(&view, &policy, None)
        .unwrap()
        .unwrap_err();
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.kind(), ErrorKind::InvalidAudience);
    let challenge = answer.www_authenticate().unwrap().to_str().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="invalid_token""#),
        "{challenge}"
    );
    let none = request(None);
    let view = RequestView::new("GET", "/me", None, &none);
    let answer = setup
        .verifier
        .required_claims_now::<StandardClaims, _>(&view, &policy.clone().optional(), None)
        .unwrap()
        .unwrap_err();
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.kind(), ErrorKind::MissingCredentials);
    assert_eq!(answer.www_authenticate().unwrap(), r#"Bearer realm="api""#);
}
