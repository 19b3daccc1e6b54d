//! Added latency of the shared store against a loopback `redis-server` (started here): one
//! replay record (`SET NX EXAT`), one revocation check (`MGET` of the jti and subject keys),
//! and a whole DPoP request through `Verifier::decide` with both — named one by one (two
//! commands in flight together) and as one `shared_store` (one pipeline) — against the same
//! request with the in-memory stores. Prints p50 and p99 of 20,000 sequential calls each (a latency
//! distribution, which criterion's means do not give).
//!
//! Run: `cargo bench -p tokengate-redis --bench latency` (needs `redis-server`).

use std::time::{Duration, Instant};

use tokengate::adapter::{Decision, Policy, RequestView};
use tokengate::{
    Algorithm, Issuer, KeySource, StandardClaims, Verifier, cache::TokenCache, dpop::Dpop,
    store::FirstUse, store::Lookup, store::MemoryRevocationList, store::Recorded,
    store::ReplayStore, store::RevocationList, store::TokenIdentity,
};
use tokengate_redis::RedisStore;
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::redis_server::RedisServer;
use tokengate_testkit::{TestKey, claims_for, jwks};

const ROUNDS: usize = 20_000;
const ISS: &str = "https://issuer.bench/";

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{name:<44} p50 {:>7.1} us   p99 {:>7.1} us",
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
}

async fn decide_dpop(verifier: &Verifier, client: &DpopKey, token: &str) -> Duration {
    let proof = client.proof("GET", "http://api.bench/me", token);
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("DPoP {token}").parse().unwrap());
    headers.insert("dpop", proof.parse().unwrap());
    headers.insert("host", "api.bench".parse().unwrap());
    let start = Instant::now();
    let request = RequestView::new("GET", "/me", None, &headers);
    let admitted = match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
        Decision::Admit(_) => true,
        Decision::Deny(_) => false,
        Decision::Pending(pending) => pending.resolve().await.is_ok(),
    };
    let elapsed = start.elapsed();
    assert!(admitted);
    elapsed
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let redis = RedisServer::start();
        let store = RedisStore::open(&redis.url()).unwrap();
        store.ping().await.unwrap();

        let mut samples = Vec::with_capacity(ROUNDS);
        for n in 0..ROUNDS as u64 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&n.to_le_bytes());
            let start = Instant::now();
            let Recorded::Later(future) = store.record(key, tokengate_testkit::now() + 120, 0)
            else {
                unreachable!()
            };
            assert_eq!(future.await, Ok(FirstUse::Yes));
            samples.push(start.elapsed());
        }
        percentiles("replay record (SET NX EXAT)", samples);

        let mut samples = Vec::with_capacity(ROUNDS);
        for n in 0..ROUNDS {
            let jti = format!("jti-{n}");
            let token = TokenIdentity::new(ISS, Some(&jti), Some("alice"), Some(1));
            let start = Instant::now();
            let Lookup::Later(future) = store.status(&token, 0) else {
                unreachable!()
            };
            assert!(future.await.is_ok());
            samples.push(start.elapsed());
        }
        percentiles("revocation check (MGET jti, subject)", samples);

        let issuer = TestKey::shared(Algorithm::ES256);
        let client = DpopKey::shared(Algorithm::ES256);
        let token = issuer.mint(&client.bind(claims_for(ISS, "api")));
        let build = |redis: Option<&RedisStore>, shared: bool| {
            let builder = Verifier::builder()
                .issuer(
                    Issuer::new(ISS)
                        .audience("api")
                        .keys(KeySource::jwks_json(jwks(&[&issuer]))),
                )
                .cache(TokenCache::new());
            match redis {
                Some(store) if shared => builder.shared_store(store.clone()),
                Some(store) => builder
                    .dpop(Dpop::new().replay_store(store.clone()))
                    .revocation(store.clone()),
                None => builder.revocation(MemoryRevocationList::default()),
            }
            .build()
            .unwrap()
        };
        for (name, verifier) in [
            ("DPoP request, in-memory stores", build(None, false)),
            (
                "DPoP request, Redis replay + revocation",
                build(Some(&store), false),
            ),
            (
                "DPoP request, Redis shared_store (1 pipeline)",
                build(Some(&store), true),
            ),
        ] {
            let mut samples = Vec::with_capacity(ROUNDS / 4);
            for _ in 0..ROUNDS / 4 {
                samples.push(decide_dpop(&verifier, &client, &token).await);
            }
            percentiles(name, samples);
        }
    });
}
