//! Tokens for the tests of your own API (`docs/guide.md`, "Testing your API"): a
//! [`TestIssuer`] with keys of its own and a [`TokenBuilder`] for the claims a test needs.
//!
//! There is no switch that skips verification: the API under test verifies real signatures,
//! made with the test issuer's key, through the same code as in production. Only the keys are
//! the test's.
//!
//! ```
//! use tokengate::StandardClaims;
//! use tokengate_testkit::TestIssuer;
//!
//! let issuer = TestIssuer::new();
//! let verifier = issuer.verifier(); // trusts this issuer's keys, audience "api"
//! let token = issuer.token().subject("alice").scopes(["messages:read"]).sign();
//! let verified = tokengate_testkit::fixture::verified_now::<StandardClaims>(&verifier, &token);
//! assert!(verified.scopes().contains("messages:read"));
//! let expired = issuer.token().expired().sign();
//! assert!(matches!(
//!     verifier.try_verify::<StandardClaims>(&expired),
//!     tokengate::verifier::Attempt::Done(Err(_))
//! ));
//! ```

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokengate::{Algorithm, Issuer, KeySource, Verifier};

use crate::dpop::DpopKey;
use crate::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer, TestKey};

/// The issuer of a [`TestIssuer`] made by [`TestIssuer::new`].
pub const TEST_ISSUER: &str = "https://issuer.test/";
/// The audience of a [`TestIssuer`] unless [`TestIssuer::with_audience`] says another.
pub const TEST_AUDIENCE: &str = "api";
/// How long a token lives unless [`TokenBuilder::expires_in`] says otherwise.
pub const TEST_LIFETIME: Duration = Duration::from_secs(300);

/// An issuer for tests: its own signing key (ES256 unless [`with_algorithm`] says another) and,
/// from [`serve`], a loopback HTTP server with discovery, its key set and an introspection
/// endpoint for opaque tokens.
///
/// [`with_algorithm`]: TestIssuer::with_algorithm
/// [`serve`]: TestIssuer::serve
pub struct TestIssuer {
    iss: String,
    audience: String,
    key: TestKey,
    server: Option<IssuerServer>,
}

impl Default for TestIssuer {
    fn default() -> Self {
        TestIssuer::new()
    }
}

impl std::fmt::Debug for TestIssuer {
    /// The issuer, audience and algorithm; never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("iss", &self.iss)
            .field("audience", &self.audience)
            .field("alg", &self.key.alg())
            .field("served", &self.server.is_some())
            .finish()
    }
}

impl TestIssuer {
    /// An issuer with in-process keys (no server): `https://issuer.test/`, audience `api`, a
    /// shared ES256 key.
    #[must_use]
    pub fn new() -> TestIssuer {
        TestIssuer {
            iss: TEST_ISSUER.to_owned(),
            audience: TEST_AUDIENCE.to_owned(),
            key: TestKey::shared(Algorithm::ES256),
            server: None,
        }
    }

    /// The same issuer behind a loopback server (`127.0.0.1:0`): OpenID discovery, the key set,
    /// and introspection of the tokens [`TokenBuilder::opaque`] issues. For tests of what
    /// discovery or opaque tokens do; the verifier from [`verifier`](TestIssuer::verifier)
    /// then fetches keys as in production.
    pub async fn serve() -> TestIssuer {
        let server = IssuerServer::start().await;
        TestIssuer {
            iss: server.issuer(),
            audience: TEST_AUDIENCE.to_owned(),
            key: server.signing_key(),
            server: Some(server),
        }
    }

    /// Another `iss` (an issuer in memory only: a served one is named by its address).
    ///
    /// # Panics
    /// For a served issuer.
    #[must_use]
    pub fn with_issuer(mut self, iss: impl Into<String>) -> TestIssuer {
        assert!(
            self.server.is_none(),
            "a served issuer is named by its address"
        );
        self.iss = iss.into();
        self
    }

    /// Another audience for the tokens and the verifier.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> TestIssuer {
        self.audience = audience.into();
        self
    }

    /// Sign with a (shared, process-wide) key of this algorithm instead of ES256.
    ///
    /// # Panics
    /// For a served issuer (its key is the server's).
    #[must_use]
    pub fn with_algorithm(mut self, alg: Algorithm) -> TestIssuer {
        assert!(
            self.server.is_none(),
            "a served issuer signs with its own key"
        );
        self.key = if alg.is_symmetric() {
            TestKey::generate(alg).with_kid("test-secret")
        } else {
            TestKey::shared(alg)
        };
        self
    }

    /// The `iss` of its tokens.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.iss
    }

    /// The audience of its tokens.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Its signing key.
    #[must_use]
    pub fn key(&self) -> &TestKey {
        &self.key
    }

    /// The loopback server, when [`serve`](TestIssuer::serve)d (rotation, faults, revocation).
    #[must_use]
    pub fn server(&self) -> Option<&IssuerServer> {
        self.server.as_ref()
    }

    /// Its public keys as a JWK Set.
    #[must_use]
    pub fn jwks(&self) -> String {
        crate::jwks(&[&self.key])
    }

    /// The [`Issuer`] that trusts it, for the verifier of the API under test: the key set as
    /// JSON in memory, or discovery and introspection (client `tokengate-test`) when served.
    /// Add what the API's own configuration adds (roles claim, required claims, …).
    pub fn trusted(&self) -> Issuer {
        let issuer = Issuer::new(&self.iss).audience(&self.audience);
        let issuer = match self.key.alg().is_symmetric() {
            true => issuer.algorithms([self.key.alg()]),
            false => issuer,
        };
        match &self.server {
            None => issuer.keys(KeySource::jwks_json(self.jwks())),
            Some(server) => issuer.keys(KeySource::discover()).introspection(
                tokengate::introspection::Introspection::endpoint(server.introspection_url())
                    .client_secret_basic(INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET),
            ),
        }
    }

    /// A verifier that trusts this issuer and nothing else.
    ///
    /// # Panics
    /// Never for an issuer made here (its configuration is valid).
    #[must_use]
    pub fn verifier(&self) -> Verifier {
        Verifier::builder()
            .issuer(self.trusted())
            .build()
            .expect("a test issuer's verifier")
    }

    /// A token of this issuer: `sub` `alice`, for its audience, valid for five minutes,
    /// with `jti`, `iat`, `nbf` and `client_id` `test-client`; change what the test needs.
    pub fn token(&self) -> TokenBuilder<'_> {
        let now = crate::now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.iss));
        claims.insert("sub".into(), json!("alice"));
        claims.insert("aud".into(), json!(self.audience));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("exp".into(), json!(now + TEST_LIFETIME.as_secs()));
        claims.insert("jti".into(), json!(random_id()));
        claims.insert("client_id".into(), json!("test-client"));
        TokenBuilder {
            issuer: self,
            claims,
        }
    }
}

/// The claims of one test token, then its signed (or opaque) form. Made by
/// [`TestIssuer::token`].
#[must_use = "a token builder does nothing until signed"]
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    claims: Map<String, Value>,
}

impl std::fmt::Debug for TokenBuilder<'_> {
    /// The claims' names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("issuer", &self.issuer.iss)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenBuilder<'_> {
    /// The `sub` claim.
    pub fn subject(self, subject: &str) -> Self {
        self.claim("sub", subject)
    }

    /// The `scope` claim: these scopes, space-delimited.
    pub fn scopes<I: IntoIterator<Item = S>, S: AsRef<str>>(self, scopes: I) -> Self {
        let joined: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.claim("scope", joined.join(" "))
    }

    /// The `roles` claim (the verifier's default roles claim): an array of strings.
    pub fn roles<I: IntoIterator<Item = S>, S: AsRef<str>>(self, roles: I) -> Self {
        let roles: Vec<String> = roles.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.claim("roles", roles)
    }

    /// Any claim, replacing one of the same name.
    ///
    /// # Panics
    /// When `value` cannot be serialized to JSON.
    pub fn claim(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("a claim serializes to JSON");
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Leaves a claim out (`exp`, `aud`, …).
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Another audience.
    pub fn audience(self, audience: &str) -> Self {
        self.claim("aud", audience)
    }

    /// An audience the API does not accept.
    pub fn wrong_audience(self) -> Self {
        self.claim("aud", "https://another-api.test/")
    }

    /// Expires this long from now.
    pub fn expires_in(self, lifetime: Duration) -> Self {
        let exp = crate::now() + lifetime.as_secs();
        self.claim("exp", exp)
    }

    /// Expired ten minutes ago (past any leeway up to that).
    pub fn expired(self) -> Self {
        let now = crate::now();
        self.claim("exp", now - 600)
            .claim("iat", now - 900)
            .claim("nbf", now - 900)
    }

    /// Valid only from ten minutes on (`nbf`).
    pub fn not_yet_valid(self) -> Self {
        let now = crate::now();
        self.claim("nbf", now + 600).claim("exp", now + 900)
    }

    /// Bound to this DPoP key (`cnf.jkt`): present it with [`dpop`].
    pub fn dpop_bound(self, key: &DpopKey) -> Self {
        self.claim("cnf", json!({ "jkt": key.thumbprint() }))
    }

    /// The claims as they stand.
    #[must_use]
    pub fn claims(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    /// The signed JWT (`typ: at+jwt`).
    #[must_use]
    pub fn sign(self) -> String {
        self.issuer.key.mint_with_header(
            &json!({ "typ": "at+jwt", "alg": self.issuer.key.alg().as_str(), "kid": self.issuer.key.kid() }),
            &Value::Object(self.claims),
        )
    }

    /// `Bearer <the signed JWT>`: an `Authorization` header value.
    #[must_use]
    pub fn bearer(self) -> String {
        format!("Bearer {}", self.sign())
    }

    /// An opaque token (random, not a JWT) with these claims, answered by the issuer's
    /// introspection endpoint.
    ///
    /// # Panics
    /// Unless the issuer was [`serve`](TestIssuer::serve)d.
    #[must_use]
    pub fn opaque(self) -> String {
        let server = self
            .issuer
            .server
            .as_ref()
            .expect("opaque tokens need a served issuer (TestIssuer::serve)");
        server.issue_opaque(&Value::Object(self.claims))
    }
}

/// The `Authorization` and `DPoP` header values for presenting a DPoP-bound `token` in one
/// request: `DPoP <token>`, and a proof by `key` for `method` and `url` (the URL the API
/// sees: scheme, `Host` and path, e.g. `http://localhost/me`).
#[must_use]
pub fn dpop(token: &str, key: &DpopKey, method: &str, url: &str) -> (String, String) {
    (format!("DPoP {token}"), key.proof(method, url, token))
}

/// A random `jti`.
fn random_id() -> String {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random generator");
    crate::b64(bytes)
}
