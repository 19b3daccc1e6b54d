//! The set-up the adapters' tests and benchmarks share, written once: a verifier with static
//! keys at the fixed time [`NOW`] for tests, and an HS256 issuer with a valid token
//! for benchmarks (so that adapter overheads are measured against the same verification).
//!
//! ```
//! use tokengate::StandardClaims;
//! use tokengate_testkit::fixture::{self, Fixture};
//!
//! let bench = Fixture::hs256();
//! let verified = fixture::verified_now::<StandardClaims>(&bench.verifier, &bench.token);
//! assert_eq!(verified.subject(), Some("alice"));
//!
//! let (key, verifier) = fixture::static_verifier();
//! let token = key.mint(&tokengate_testkit::claims_at(fixture::ISSUER, fixture::AUDIENCE, tokengate_testkit::NOW));
//! assert!(fixture::verified_now::<StandardClaims>(&verifier, &token).scopes().contains("messages:read"));
//! ```

use tokengate::clock::FixedClock;
use tokengate::{Algorithm, Issuer, KeySource, Verified, Verifier, verifier::Attempt};

use crate::{NOW, TestKey, claims_for, jwks, now};

/// The issuer every fixture's tokens come from.
pub const ISSUER: &str = "https://issuer.test/";
/// The audience every fixture's tokens are for.
pub const AUDIENCE: &str = "api";

/// The shared ES256 key and a verifier trusting it for [`ISSUER`] and [`AUDIENCE`], with its
/// clock fixed at [`NOW`]: the adapters' tests start from it.
#[must_use]
pub fn static_verifier() -> (TestKey, Verifier) {
    let key = TestKey::shared(Algorithm::ES256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(ISSUER)
                .audience(AUDIENCE)
                .keys(KeySource::jwks_json(jwks(&[&key]))),
        )
        .clock(FixedClock::at(NOW))
        .build()
        .expect("a valid configuration");
    (key, verifier)
}

/// A key, a verifier trusting it (no cache) and a token valid for a day.
#[derive(Debug)]
pub struct Fixture {
    /// The signing key.
    pub key: TestKey,
    /// A verifier for [`ISSUER`] and [`AUDIENCE`] with the key's secret.
    pub verifier: Verifier,
    /// A valid token with `messages:read`.
    pub token: String,
    /// `Bearer <token>`.
    pub bearer: String,
}

/// [`ISSUER`] for [`AUDIENCE`] with an HMAC key's secret (HS256 only): the benchmarks' issuer,
/// for a verifier with settings of its own (a cache, say).
///
/// # Panics
/// If `key` is not an HMAC key.
pub fn hs256_issuer(key: &TestKey) -> Issuer {
    Issuer::new(ISSUER)
        .audience(AUDIENCE)
        .algorithms([Algorithm::HS256])
        .keys(KeySource::secret(key.secret().expect("an HMAC key")))
}

impl Fixture {
    /// The HS256 fixture the adapter benchmarks use.
    #[must_use]
    pub fn hs256() -> Fixture {
        let key = TestKey::generate(Algorithm::HS256);
        let verifier = Verifier::builder()
            .issuer(hs256_issuer(&key))
            .build()
            .expect("a valid configuration");
        let mut claims = claims_for(ISSUER, AUDIENCE);
        claims["exp"] = serde_json::json!(now() + 24 * 3600);
        let token = key.mint(&claims);
        let bearer = format!("Bearer {token}");
        Fixture {
            key,
            verifier,
            token,
            bearer,
        }
    }
}

/// Polls `future` once: for benchmarks of work that never waits (loaded keys, a cache hit).
///
/// # Panics
/// When the future is not ready after one poll.
pub fn poll_once<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::noop();
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the future did not complete on the first poll"),
    }
}

/// Verifies `token` with the keys loaded now; panics unless it is valid without waiting.
///
/// # Panics
/// When the token is refused or keys must be fetched.
#[must_use]
pub fn verified_now<T>(verifier: &Verifier, token: &str) -> Verified<T>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    match verifier.try_verify::<T>(token) {
        Attempt::Done(Ok(verified)) => verified,
        Attempt::Done(Err(error)) => panic!("the token was refused: {error}"),
        Attempt::NeedsIo(_) => panic!("keys must be fetched (or a token introspected) first"),
    }
}

/// The time `with` takes beyond `without`, summed over `iters` runs of each, the two alternating
/// in one loop so that whatever drifts on the machine (clock frequency, neighbours) hits both
/// alike. For criterion's `iter_custom`: an adapter's own cost of a few hundred nanoseconds is
/// `with` = a request through the adapter, `without` = the same request without it plus the
/// verification alone, which two separately measured medians cannot resolve. Negative totals
/// (noise around zero) count as zero.
pub fn interleaved_difference(
    iters: u64,
    mut with: impl FnMut(),
    mut without: impl FnMut(),
) -> std::time::Duration {
    use std::time::{Duration, Instant};
    let (mut spent_with, mut spent_without) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..iters {
        let start = Instant::now();
        with();
        let middle = Instant::now();
        without();
        let end = Instant::now();
        spent_with += middle - start;
        spent_without += end - middle;
    }
    spent_with.saturating_sub(spent_without)
}

/// The loop `bench/instructions.sh` counts: callgrind runs with `--toggle-collect=*measured*`,
/// so set-up (key generation, routers, runtimes) stays out and only these calls count.
#[inline(never)]
pub fn measured(run: &mut dyn FnMut(), iterations: u64) {
    for _ in 0..iterations {
        run();
    }
}

/// For benchmarks that `bench/instructions.sh` also counts: when the process was started as
/// `<bench> --count <case> <iterations>`, runs `cases(case)` `iterations` times in
/// [`measured`] and returns `true` (the caller then returns instead of starting criterion);
/// otherwise returns `false` and runs nothing.
///
/// # Panics
/// When `--count` is given without a known case or a number of iterations.
pub fn count_if_asked<'a>(cases: impl FnOnce(&str) -> Option<Box<dyn FnMut() + 'a>>) -> bool {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("--count") {
        return false;
    }
    let (Some(case), Some(iterations)) = (args.next(), args.next()) else {
        panic!("usage: --count <case> <iterations>");
    };
    let iterations: u64 = iterations.parse().expect("iterations is a number");
    let mut run = cases(&case).unwrap_or_else(|| panic!("unknown case {case}"));
    measured(&mut *run, iterations);
    true
}

/// The driver the adapters' benchmarks share. `cases` runs one request per call for every name
/// in `requests` (the adapter's, `with`, and its baseline, `without`, among them); the driver
/// adds `verify` ([`verified_now`] of the fixture's token into `StandardClaims`). Under
/// `--count <case> <iterations>` it runs one case for `bench/instructions.sh`
/// ([`count_if_asked`]); otherwise it benchmarks every case with criterion, then `own_cost`:
/// `with − (without + verify)`, interleaved ([`interleaved_difference`]). `extra` adds
/// benchmarks of the adapter's own to the group.
///
/// # Panics
/// When `cases` has no closure for one of `requests`.
#[cfg(feature = "bench")]
pub fn adapter_bench<'a>(
    group: &str,
    fixture: &'a Fixture,
    requests: &[&str],
    (with, without): (&str, &str),
    cases: impl Fn(&str) -> Option<Box<dyn FnMut() + 'a>>,
    extra: impl FnOnce(&mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>),
) {
    use std::hint::black_box;
    let case = |name: &str| -> Option<Box<dyn FnMut() + 'a>> {
        match name {
            "verify" => Some(Box::new(move || {
                drop(verified_now::<tokengate::StandardClaims>(
                    &fixture.verifier,
                    black_box(&fixture.token),
                ));
            })),
            _ => cases(name),
        }
    };
    if count_if_asked(case) {
        return;
    }
    let known = |name: &str| case(name).unwrap_or_else(|| panic!("no case {name}"));
    let mut c = criterion::Criterion::default().configure_from_args();
    let mut benchmarks = c.benchmark_group(group);
    for &name in requests.iter().chain(&["verify"]) {
        let mut run = known(name);
        benchmarks.bench_function(name, |b| b.iter(&mut run));
    }
    extra(&mut benchmarks);
    let (mut with, mut without, mut verify) = (known(with), known(without), known("verify"));
    benchmarks.bench_function("own_cost", |b| {
        b.iter_custom(|iters| {
            interleaved_difference(iters, &mut with, || {
                without();
                verify();
            })
        })
    });
    benchmarks.finish();
    c.final_summary();
}
