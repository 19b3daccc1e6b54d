//! The set-up every adapter benchmark shares: one HS256 issuer, a verifier without cache and a
//! valid token, so that adapter overheads are measured against the same verification.
//!
//! ```
//! use tokengate::StandardClaims;
//! let fixture = tokengate_testkit::bench::Fixture::hs256();
//! let verified = tokengate_testkit::bench::verified_now::<StandardClaims>(&fixture.verifier, &fixture.token);
//! assert_eq!(verified.subject(), Some("alice"));
//! ```

use tokengate::{Algorithm, Attempt, Issuer, KeySource, Verified, Verifier};

use crate::{TestKey, claims_for, now};

/// The issuer every benchmark's tokens come from.
pub const ISSUER: &str = "https://issuer.bench/";
/// The audience every benchmark's tokens are for.
pub const AUDIENCE: &str = "api";

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

impl Fixture {
    /// The HS256 fixture the adapter benchmarks use.
    #[must_use]
    pub fn hs256() -> Fixture {
        let key = TestKey::generate(Algorithm::HS256);
        let verifier = Verifier::builder()
            .issuer(
                Issuer::new(ISSUER)
                    .audience(AUDIENCE)
                    .algorithms([Algorithm::HS256])
                    .keys(KeySource::secret(key.secret().expect("an HMAC key"))),
            )
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

/// Verifies `token` with the keys loaded now; panics unless it is valid without waiting.
///
/// # Panics
/// When the token is refused or keys must be fetched.
#[must_use]
pub fn verified_now<T>(verifier: &Verifier, token: &str) -> Verified<T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    match verifier.try_verify::<T>(token) {
        Attempt::Done(Ok(verified)) => verified,
        Attempt::Done(Err(error)) => panic!("the token was refused: {error}"),
        Attempt::NeedsKeys(_) => panic!("keys must be fetched first"),
    }
}
