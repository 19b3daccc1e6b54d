//! Bytes per entry of the verified-token cache: heap bytes still held after N distinct tokens
//! (the testkit's typical 11-claim access token, ~470 bytes with HS256) went into a verifier's
//! cache, divided by N. Counted by a global allocator that tracks live bytes; the tokens are
//! minted before the count starts and each `Verified` handed out is dropped, so what remains is
//! the cache: moka's bookkeeping, the entry, the claims and what tokengate read from the token.
//! Then 10,000 cache hits, counting the allocations they make; and, first, the allocations of one
//! full verification without a cache.
//!
//! Run: `cargo bench -p tokengate --bench cache_memory` (1 M entries take about 20 s and 2 GB).

use std::alloc::System;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokengate::{Algorithm, StandardClaims, Verifier, cache::TokenCache};
use tokengate_testkit::fixture::{AUDIENCE, Fixture, ISSUER, hs256_issuer, verified_now};
use tokengate_testkit::{TestKey, claims_for};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A claims type with only what a handler typically reads.
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde only: its size is what is measured
struct Lean {
    sub: String,
    client_id: Option<String>,
    email: Option<String>,
}

fn per_entry<T>(entries: usize, label: &str)
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let key = TestKey::shared(Algorithm::HS256);
    let verifier = Verifier::builder()
        .issuer(hs256_issuer(&key))
        .cache(
            TokenCache::new()
                .max_entries(entries as u64)
                .max_bytes(u64::MAX >> 8)
                .max_age(Duration::from_secs(3600)),
        )
        .build()
        .unwrap();
    let mut claims = claims_for(ISSUER, AUDIENCE);
    claims["exp"] = json!(tokengate_testkit::now() + 3600);
    let tokens: Vec<String> = (0..entries)
        .map(|n| {
            claims["jti"] = json!(format!("6c1f7d2e-6c4b-4f5e-9a51-{n:012}"));
            key.mint(&claims)
        })
        .collect();
    let token_bytes = tokens[0].len();
    // One entry first, so that what moka allocates once is not counted per entry.
    let _ = verified_now::<T>(&verifier, &tokens[0]);
    let _ = verifier.cache_stats();
    let region = Region::new(GLOBAL);
    for token in &tokens[1..] {
        drop(verified_now::<T>(&verifier, token));
    }
    let stats = verifier.cache_stats().unwrap();
    let change = region.change();
    assert_eq!(stats.entries, entries as u64, "every token stays cached");
    let live = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    let per = live as f64 / (entries - 1) as f64;

    // And a hit: allocations made while answering from the cache.
    let hits = Region::new(GLOBAL);
    for token in tokens.iter().take(10_000) {
        drop(verified_now::<T>(&verifier, token));
    }
    let allocations = hits.change().allocations as f64 / 10_000.0;
    println!(
        "{label:<16} {entries:>9} entries  {per:>7.0} bytes per entry  \
         {allocations:.2} allocations per hit  (token {token_bytes} bytes)"
    );
}

/// A claims type that allocates nothing itself.
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde only
struct Numbers {
    exp: u64,
    iat: u64,
}

/// Allocations of one full verification (no cache) into `T`.
fn allocations_per_verification<T>(label: &str)
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let Fixture {
        verifier, token, ..
    } = Fixture::hs256();
    drop(verified_now::<T>(&verifier, &token));
    let region = Region::new(GLOBAL);
    for _ in 0..1000 {
        drop(verified_now::<T>(&verifier, &token));
    }
    let change = region.change();
    println!(
        "{label:<16} no cache: {:.1} allocations, {:.0} bytes allocated per verification",
        change.allocations as f64 / 1000.0,
        change.bytes_allocated as f64 / 1000.0
    );
}

fn main() {
    allocations_per_verification::<Numbers>("2 numbers");
    allocations_per_verification::<Lean>("3-field struct");
    allocations_per_verification::<StandardClaims>("StandardClaims");
    for entries in [10_000, 1_000_000] {
        per_entry::<StandardClaims>(entries, "StandardClaims");
        per_entry::<Lean>(entries, "3-field struct");
    }
}
