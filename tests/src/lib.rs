//! The conformance table: every adapter serves the reference API (`docs/architecture.md`, "Reference API") and must
//! answer each scenario with the same status, `WWW-Authenticate`, `Retry-After` and body.
//!
//! An adapter plugs in as a [`Serve`] function: given a [`Verifier`], serve the example router on
//! `127.0.0.1:0` and return its address.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use serde_json::{Value, json};
use tokengate::checks::{CheckContext, CheckFuture, Verdict};
use tokengate::{
    Issuer, KeySource, ProtectedResource, TokenSources, Verifier, introspection::Introspection,
    store::Lookup, store::MemoryReplayStore, store::MemoryRevocationList, store::ProofUse,
    store::Recorded, store::ReplayStore, store::RevocationList, store::SharedAnswer,
    store::SharedLookup, store::SharedStore, store::StoreWrite, store::TokenIdentity,
};
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::{
    Fault, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, IssuerServer, TestKey, b64, now,
};

/// Serves the reference API guarded by the given verifier; returns where.
pub type Serve = fn(Verifier) -> Pin<Box<dyn Future<Output = SocketAddr> + Send>>;

/// How a route of the reference API is guarded, for gRPC adapters (which serve one gRPC
/// service per route: tonic-health's `Check` behind the route's guard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// `/me`: a valid token.
    Required,
    /// `/messages`: scope `messages:read`.
    Scoped,
    /// `/greeting`: optional.
    Optional,
    /// `/health`: public.
    Public,
}

/// Serves tonic-health's `Check` behind `guard`; returns where.
pub type ServeGrpc = fn(Verifier, Guard) -> Pin<Box<dyn Future<Output = SocketAddr> + Send>>;

/// An adapter under test.
#[derive(Clone, Copy, Debug)]
pub enum Adapter {
    /// Serves the HTTP reference API.
    Http(Serve),
    /// Serves gRPC, one server per route guard.
    Grpc(ServeGrpc),
}

/// The audience every scenario's tokens are minted for.
pub const AUDIENCE: &str = "tokengate-conformance";

/// The resource every adapter serves (RFC 8707 identifier, RFC 9728 metadata).
pub const RESOURCE: &str = "https://api.conformance.test/";
/// Where its metadata document is, as every 401 and 403 challenge names it.
pub const RESOURCE_METADATA: &str =
    "https://api.conformance.test/.well-known/oauth-protected-resource";

const INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const EXPIRED: &str = r#"Bearer realm="api", error="invalid_token", error_description="the access token expired", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const TWO_CREDENTIALS: &str = r#"Bearer realm="api", error="invalid_request", error_description="the request carries more than one credential""#;
const MALFORMED: &str = r#"Bearer realm="api", error="invalid_request", error_description="the credentials in the request are malformed""#;
const NO_CREDENTIALS: &str = r#"Bearer realm="api", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const DPOP_INVALID_PROOF: &str = r#"DPoP realm="api", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA", error="invalid_dpop_proof", error_description="the DPoP proof is invalid", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const DPOP_NOT_BOUND: &str = r#"DPoP realm="api", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA", error="invalid_token", error_description="the access token is not bound to this client", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const DPOP_TWO_PROOFS: &str = r#"DPoP realm="api", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA", error="invalid_request", error_description="the credentials in the request are malformed""#;
const CERTIFICATE_MISMATCH: &str = r#"Bearer realm="api", error="invalid_token", error_description="the access token is not bound to this client", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
/// The shared secret the fixture's verifier decrypts JWE access tokens with (`A256KW`, `dir`).
const JWE_SECRET: &[u8] = b"conformance-jwe-secret-32-bytes!";

/// The fixture's API keys (`Authorization: ApiKey` or `X-API-Key`): one with `messages:read`,
/// one without scopes. Fixed (256-bit) test values, so every adapter's rows send the same.
const API_KEY_READER: &str = "tgk_0TzE8vK3mQpX7wLs2aYdNf5cHg9jRb1uVe6iOk4tZnA";
const API_KEY_NO_SCOPE: &str = "tgk_Wq3Lz8NcVb5Xm1Ks7Hd2Jf9Gt4Ry6Pe0Ua-Ti_Oo3Sl";
const INVALID_API_KEY: &str = r#"ApiKey realm="api", error="invalid_token", error_description="the API key is invalid", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const API_KEY_MISSING_SCOPE: &str = r#"ApiKey realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:read", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
/// The `jti` of the one revoked token.
const REVOKED_JTI: &str = "leaked-4711";
/// The URL DPoP proofs name for `/me`: the resource's origin.
const DPOP_HTU: &str = "https://api.conformance.test/me";
const STEP_UP: &str = r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a different or more recent authentication is required", acr_values="urn:tokengate:mfa", max_age="300", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const MISSING_ROLE: &str = r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required role", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const FORBIDDEN: &str = r#"Bearer realm="api", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;
const MISSING_SCOPE: &str = r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope", scope="messages:read", resource_metadata="https://api.conformance.test/.well-known/oauth-protected-resource""#;

/// What a scenario expects of the body.
#[derive(Debug)]
pub enum Body {
    /// Exactly this text.
    Text(&'static str),
    /// This JSON value.
    Json(Value),
}

/// One row of the table.
#[derive(Debug)]
pub struct Scenario {
    /// What the row checks.
    pub name: &'static str,
    /// The request to send.
    pub request: Request,
    /// Whether to send it to the server whose key endpoint is down.
    pub keys_down: bool,
    /// The expected status.
    pub status: u16,
    /// The expected `WWW-Authenticate`, exactly; `None` for none.
    pub www_authenticate: Option<&'static str>,
    /// Whether a `Retry-After` is expected.
    pub retry_after: bool,
    /// The expected body.
    pub body: Body,
}

/// A request: path, query and headers.
#[derive(Debug, Default)]
pub struct Request {
    /// The path, e.g. `/me`.
    pub path: &'static str,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// Headers, in order (repeated names are sent repeatedly).
    pub headers: Vec<(&'static str, String)>,
}

/// The issuers and verifiers every adapter is tested with.
#[derive(Debug)]
pub struct Fixture {
    issuer: IssuerServer,
    down: IssuerServer,
}

/// The revocation list and the DPoP replay store as one [`SharedStore`] that answers after a
/// yield, as a shared store (Redis) does: every adapter's revocation and replay rows go
/// through `VerifierBuilder::shared_store` and the pipeline's waiting path.
struct SharedMemory {
    revocations: MemoryRevocationList,
    replay: MemoryReplayStore,
}

impl RevocationList for SharedMemory {
    fn status(&self, token: &TokenIdentity<'_>, now: u64) -> Lookup {
        self.revocations.status(token, now)
    }
    fn revoke_jti(&self, issuer: &str, jti: &str, until: u64) -> StoreWrite {
        self.revocations.revoke_jti(issuer, jti, until)
    }
    fn revoke_subject(&self, issuer: &str, subject: &str, before: u64, until: u64) -> StoreWrite {
        self.revocations
            .revoke_subject(issuer, subject, before, until)
    }
}

impl ReplayStore for SharedMemory {
    fn record(&self, key: [u8; 32], expires_at: u64, now: u64) -> Recorded {
        self.replay.record(key, expires_at, now)
    }
}

impl SharedStore for SharedMemory {
    fn status_and_record(
        &self,
        token: &TokenIdentity<'_>,
        proof: Option<ProofUse>,
        now: u64,
    ) -> SharedLookup {
        let revocation = match self.revocations.status(token, now) {
            Lookup::Now(answer) => answer,
            Lookup::Later(_) => unreachable!("the in-memory list answers at once"),
        };
        let replay =
            proof.map(
                |proof| match self.replay.record(proof.key, proof.expires_at, now) {
                    Recorded::Now(answer) => answer,
                    Recorded::Later(_) => unreachable!("the in-memory store answers at once"),
                },
            );
        SharedLookup::Later(Box::pin(async move {
            tokio::task::yield_now().await;
            SharedAnswer { revocation, replay }
        }))
    }
}

impl Fixture {
    /// Starts the issuers: one healthy, one whose endpoint refuses connections.
    pub async fn start() -> Fixture {
        let issuer = IssuerServer::start().await;
        let down = IssuerServer::start().await;
        down.set_fault(Fault::Refuse).await;
        Fixture { issuer, down }
    }

    fn verifier_for(server: &IssuerServer) -> Verifier {
        let sources = TokenSources::new()
            .query("access_token")
            .expect("a valid parameter name")
            .websocket_protocol("access_token")
            .expect("a valid marker");
        let encrypted = tokengate::keys::DecryptionKey::secret(JWE_SECRET);
        Verifier::builder()
            .issuer(
                Issuer::new(server.issuer())
                    .audience(AUDIENCE)
                    .keys(KeySource::jwks_url(server.jwks_url()))
                    .introspection(
                        Introspection::endpoint(server.introspection_url()).client_secret_basic(
                            INTROSPECTION_CLIENT_ID,
                            INTROSPECTION_CLIENT_SECRET,
                        ),
                    ),
            )
            .token_sources(sources)
            .api_keys(
                tokengate::apikey::ApiKeys::new()
                    .key(
                        tokengate::apikey::ApiKey::from_key(
                            "reader",
                            "svc-reports",
                            API_KEY_READER,
                        )
                        .expect("a strong key")
                        .scopes(["messages:read"]),
                    )
                    .key(
                        tokengate::apikey::ApiKey::from_key("plain", "svc-plain", API_KEY_NO_SCOPE)
                            .expect("a strong key"),
                    )
                    .header("x-api-key")
                    .expect("a header name"),
            )
            .decryption_key(encrypted)
            .resource(ProtectedResource::new(RESOURCE))
            .shared_store(SharedMemory {
                revocations: Fixture::revocations(server),
                replay: MemoryReplayStore::default(),
            })
            .check(Fixture::suspensions)
            .check_timeout(std::time::Duration::from_millis(100))
            .build()
            .expect("a valid verifier")
    }

    /// The verifier's custom check: subject `suspended` is forbidden; `slow` never gets an
    /// answer (the check times out); `buggy` makes the check panic.
    fn suspensions(cx: &CheckContext<'_>) -> CheckFuture {
        match cx.subject() {
            Some("suspended") => Box::pin(async { Verdict::Forbidden }),
            Some("slow") => Box::pin(std::future::pending()),
            Some("buggy") => Box::pin(async { panic!("a bug in a custom check") }),
            _ => Box::pin(async { Verdict::Admit }),
        }
    }

    /// The revocation list: one leaked token (`jti` [`REVOKED_JTI`]).
    fn revocations(server: &IssuerServer) -> MemoryRevocationList {
        let list = MemoryRevocationList::default();
        futures_executor::block_on(list.revoke_jti(&server.issuer(), REVOKED_JTI, now() + 3600))
            .expect("room in the list");
        list
    }

    /// The verifier of the healthy issuer (query parameter `access_token` enabled).
    pub fn verifier(&self) -> Verifier {
        Fixture::verifier_for(&self.issuer)
    }

    /// The verifier of the issuer that is down.
    pub fn verifier_keys_down(&self) -> Verifier {
        Fixture::verifier_for(&self.down)
    }

    fn claims(&self, sub: &str, scope: &str) -> Value {
        let now = now();
        json!({"iss": self.issuer.issuer(), "sub": sub, "aud": AUDIENCE, "exp": now + 600, "iat": now, "scope": scope})
    }

    fn token(&self) -> String {
        self.issuer
            .mint(&self.claims("alice", "openid messages:read"))
    }

    fn token_with(&self, changes: Value) -> String {
        let mut claims = self.claims("alice", "openid messages:read");
        for (k, v) in changes.as_object().expect("an object") {
            claims[k] = v.clone();
        }
        self.issuer.mint(&claims)
    }

    /// Tokens of every shape a property test mixes into random requests: (token, whether a
    /// verifier must accept it as a bearer token).
    pub fn token_shapes(&self) -> Vec<(String, bool)> {
        let signer = self.issuer.signing_key();
        let stranger = TestKey::generate(signer.alg()).with_kid(signer.kid());
        let valid = self.token();
        let mut flipped = valid.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        vec![
            (valid.clone(), true),
            (self.token_with(json!({"scope": "openid"})), true),
            (self.token_with(json!({"exp": now() - 3600})), false),
            (self.token_with(json!({"aud": "another-api"})), false),
            (
                stranger.mint(&self.claims("alice", "openid messages:read")),
                false,
            ),
            (String::from_utf8(flipped).expect("ASCII"), false),
            (
                format!(
                    "{}.{}.",
                    b64(r#"{"alg":"none","typ":"JWT"}"#),
                    b64(self.claims("alice", "messages:read").to_string())
                ),
                false,
            ),
            (format!("{valid}=="), false),
            ("not-a-token".to_owned(), false),
        ]
    }

    /// The table. Building it rotates the healthy issuer's key once (for the rotation row).
    pub fn scenarios(&self) -> Vec<Scenario> {
        let bearer = |token: &str| vec![("authorization", format!("Bearer {token}"))];
        // A WebSocket opening handshake's headers (RFC 6455 section 4.1), plus `more`.
        let upgrade = |more: Vec<(&'static str, String)>| {
            let mut headers = vec![
                ("upgrade", "websocket".to_owned()),
                ("connection", "Upgrade".to_owned()),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==".to_owned()),
                ("sec-websocket-version", "13".to_owned()),
            ];
            headers.extend(more);
            headers
        };
        let get = |path: &'static str, headers: Vec<(&'static str, String)>| Request {
            path,
            query: None,
            headers,
        };
        let token = self.token();
        let signer = self.issuer.signing_key();
        let none_token = {
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(self.claims("alice", "messages:read").to_string())
            )
        };
        let rotated = {
            let fresh = self.issuer.rotate();
            self.issuer.publish(signer.clone()); // keep the old key too: other rows use it
            fresh.mint(&self.claims("alice", "openid messages:read"))
        };
        let oversized = self.token_with(json!({"padding": "x".repeat(17 * 1024)}));
        let opaque = |scope: &str| self.issuer.issue_opaque(&self.claims("alice", scope));
        let active_opaque = opaque("openid messages:read");
        let opaque_without_scope = opaque("openid");
        let revoked_opaque = opaque("openid messages:read");
        self.issuer.revoke(&revoked_opaque);
        let stranger = TestKey::generate(signer.alg()).with_kid(signer.kid());
        let client = DpopKey::generate(tokengate::Algorithm::ES256);
        let dpop_token = self.token_with(json!({"cnf": {"jkt": client.thumbprint()}}));
        let dpop = |token: &str, proof: String| {
            vec![("authorization", format!("DPoP {token}")), ("dpop", proof)]
        };
        let good_proof = client.proof("GET", DPOP_HTU, &dpop_token);
        let me = json!({"sub": "alice", "scopes": ["openid", "messages:read"]});
        let admin = |changes: Value| {
            let mut claims = self.claims("alice", "openid");
            claims["roles"] = json!(["admin"]);
            claims["acr"] = json!("urn:tokengate:mfa");
            claims["auth_time"] = json!(now() - 60);
            for (k, v) in changes.as_object().expect("an object") {
                claims[k] = v.clone();
            }
            self.issuer.mint(&claims)
        };
        let unauthorized = |name, request, www, body| Scenario {
            name,
            request,
            keys_down: false,
            status: 401,
            www_authenticate: Some(www),
            retry_after: false,
            body: Body::Text(body),
        };
        let encrypt = |secret: &[u8], jwt: &str| {
            tokengate_testkit::jwe::Recipient::from_secret(secret).encrypt(
                jwt,
                tokengate::keys::KeyManagement::A256Kw,
                tokengate::keys::ContentEncryption::A256Gcm,
            )
        };
        let encrypted = encrypt(JWE_SECRET, &token);
        let encrypted_for_another = encrypt(b"another-jwe-secret-of-32-bytes!!", &token);
        vec![
            Scenario {
                name: "encrypted token (JWE around the valid JWT)",
                request: get("/me", bearer(&encrypted)),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(me.clone()),
            },
            unauthorized(
                "encrypted token another key opens",
                get("/me", bearer(&encrypted_for_another)),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            Scenario {
                name: "valid token",
                request: get("/me", bearer(&token)),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!({"sub": "alice", "scopes": ["openid", "messages:read"]})),
            },
            unauthorized(
                "no credentials",
                get("/me", vec![]),
                NO_CREDENTIALS,
                "no bearer token in the request",
            ),
            Scenario {
                name: "lower-case scheme",
                request: get("/me", vec![("authorization", format!("bearer {token}"))]),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!({"sub": "alice", "scopes": ["openid", "messages:read"]})),
            },
            Scenario {
                name: "two Authorization headers",
                request: get(
                    "/me",
                    vec![
                        ("authorization", format!("Bearer {token}")),
                        ("authorization", format!("Bearer {token}")),
                    ],
                ),
                keys_down: false,
                status: 400,
                www_authenticate: Some(TWO_CREDENTIALS),
                retry_after: false,
                body: Body::Text("the request carries more than one credential"),
            },
            Scenario {
                name: "token in both header and query (upgrade)",
                request: Request {
                    path: "/me",
                    query: Some(format!("access_token={token}")),
                    headers: upgrade(bearer(&token)),
                },
                keys_down: false,
                status: 400,
                www_authenticate: Some(TWO_CREDENTIALS),
                retry_after: false,
                body: Body::Text("the request carries more than one credential"),
            },
            Scenario {
                name: "query token on a WebSocket upgrade",
                request: Request {
                    path: "/me",
                    query: Some(format!("access_token={token}")),
                    headers: upgrade(vec![]),
                },
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(me.clone()),
            },
            Scenario {
                name: "query token on a plain request (refused although enabled)",
                request: Request {
                    path: "/me",
                    query: Some(format!("access_token={token}")),
                    headers: vec![],
                },
                keys_down: false,
                status: 400,
                www_authenticate: Some(MALFORMED),
                retry_after: false,
                body: Body::Text("the credentials in the request are malformed"),
            },
            Scenario {
                name: "token in Sec-WebSocket-Protocol on an upgrade",
                request: get(
                    "/me",
                    upgrade(vec![(
                        "sec-websocket-protocol",
                        format!("chat, access_token, {token}"),
                    )]),
                ),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(me.clone()),
            },
            Scenario {
                name: "token in Sec-WebSocket-Protocol on a plain request (no credential)",
                request: get(
                    "/me",
                    vec![("sec-websocket-protocol", format!("access_token, {token}"))],
                ),
                keys_down: false,
                status: 401,
                www_authenticate: Some(NO_CREDENTIALS),
                retry_after: false,
                body: Body::Text("no bearer token in the request"),
            },
            Scenario {
                name: "Authorization and Sec-WebSocket-Protocol on an upgrade",
                request: get(
                    "/me",
                    upgrade(vec![
                        ("authorization", format!("Bearer {token}")),
                        ("sec-websocket-protocol", format!("access_token, {token}")),
                    ]),
                ),
                keys_down: false,
                status: 400,
                www_authenticate: Some(TWO_CREDENTIALS),
                retry_after: false,
                body: Body::Text("the request carries more than one credential"),
            },
            Scenario {
                name: "malformed Authorization header",
                request: get(
                    "/me",
                    vec![("authorization", "Bearer  two spaces".to_owned())],
                ),
                keys_down: false,
                status: 400,
                www_authenticate: Some(MALFORMED),
                retry_after: false,
                body: Body::Text("the credentials in the request are malformed"),
            },
            unauthorized(
                "expired",
                get(
                    "/me",
                    bearer(&self.token_with(json!({"exp": now() - 3600}))),
                ),
                EXPIRED,
                "the access token expired",
            ),
            unauthorized(
                "wrong audience",
                get(
                    "/me",
                    bearer(&self.token_with(json!({"aud": "another-api"}))),
                ),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            unauthorized(
                "wrong issuer",
                get(
                    "/me",
                    bearer(&self.token_with(json!({"iss": "https://evil.example"}))),
                ),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            unauthorized(
                "alg none",
                get("/me", bearer(&none_token)),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            unauthorized(
                "forged signature with a trusted kid",
                get(
                    "/me",
                    bearer(&stranger.mint(&self.claims("alice", "messages:read"))),
                ),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            Scenario {
                name: "unknown kid, then published by rotation",
                request: get("/me", bearer(&rotated)),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!({"sub": "alice", "scopes": ["openid", "messages:read"]})),
            },
            Scenario {
                name: "scoped route with the scope",
                request: get("/messages", bearer(&token)),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!([
                    {"id": 1, "to": "alice", "text": "Welcome to tokengate."},
                    {"id": 2, "to": "alice", "text": "Your token carried messages:read."},
                ])),
            },
            Scenario {
                name: "API key (Authorization: ApiKey)",
                request: get(
                    "/me",
                    vec![("authorization", format!("ApiKey {API_KEY_READER}"))],
                ),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!({"sub": "svc-reports", "scopes": ["messages:read"]})),
            },
            Scenario {
                name: "API key in X-API-Key, on a scoped route",
                request: get("/messages", vec![("x-api-key", API_KEY_READER.to_owned())]),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!([
                    {"id": 1, "to": "svc-reports", "text": "Welcome to tokengate."},
                    {"id": 2, "to": "svc-reports", "text": "Your token carried messages:read."},
                ])),
            },
            unauthorized(
                "unknown API key",
                get("/me", vec![("x-api-key", format!("{API_KEY_READER}x"))]),
                INVALID_API_KEY,
                "the API key is invalid",
            ),
            Scenario {
                name: "API key without the scope",
                request: get(
                    "/messages",
                    vec![("authorization", format!("ApiKey {API_KEY_NO_SCOPE}"))],
                ),
                keys_down: false,
                status: 403,
                www_authenticate: Some(API_KEY_MISSING_SCOPE),
                retry_after: false,
                body: Body::Text("the access token lacks the required scope"),
            },
            Scenario {
                name: "API key and a bearer token in one request",
                request: get(
                    "/me",
                    vec![
                        ("authorization", format!("Bearer {token}")),
                        ("x-api-key", API_KEY_READER.to_owned()),
                    ],
                ),
                keys_down: false,
                status: 400,
                www_authenticate: Some(TWO_CREDENTIALS),
                retry_after: false,
                body: Body::Text("the request carries more than one credential"),
            },
            Scenario {
                name: "missing scope",
                request: get(
                    "/messages",
                    bearer(&self.issuer.mint(&self.claims("bob", "openid"))),
                ),
                keys_down: false,
                status: 403,
                www_authenticate: Some(MISSING_SCOPE),
                retry_after: false,
                body: Body::Text("the access token lacks the required scope"),
            },
            Scenario {
                name: "optional route without a token",
                request: get("/greeting", vec![]),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Text("Hello, anonymous!"),
            },
            Scenario {
                name: "optional route with a valid token",
                request: get("/greeting", bearer(&token)),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Text("Hello, alice!"),
            },
            unauthorized(
                "optional route with a bad token",
                get(
                    "/greeting",
                    bearer(&self.token_with(json!({"aud": "another-api"}))),
                ),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            Scenario {
                name: "keys unavailable",
                request: get(
                    "/me",
                    bearer(&self.down.mint(&{
                        let mut claims = self.claims("alice", "openid");
                        claims["iss"] = json!(self.down.issuer());
                        claims
                    })),
                ),
                keys_down: true,
                status: 503,
                www_authenticate: None,
                retry_after: true,
                body: Body::Text("the keys to verify the token are unavailable"),
            },
            unauthorized(
                "oversized token",
                get("/me", bearer(&oversized)),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            unauthorized(
                "revoked token (jti on the revocation list)",
                get("/me", bearer(&self.token_with(json!({"jti": REVOKED_JTI})))),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            unauthorized(
                "DPoP-bound token presented as Bearer",
                get(
                    "/me",
                    bearer(&self.token_with(
                        json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
                    )),
                ),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            Scenario {
                name: "DPoP-bound token with a valid proof",
                request: get("/me", dpop(&dpop_token, good_proof.clone())),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(me.clone()),
            },
            unauthorized(
                "DPoP proof replayed",
                get("/me", dpop(&dpop_token, good_proof.clone())),
                DPOP_INVALID_PROOF,
                "the DPoP proof is invalid",
            ),
            unauthorized(
                "DPoP proof for another method",
                get(
                    "/me",
                    dpop(&dpop_token, client.proof("POST", DPOP_HTU, &dpop_token)),
                ),
                DPOP_INVALID_PROOF,
                "the DPoP proof is invalid",
            ),
            unauthorized(
                "DPoP proof for another URL",
                get(
                    "/me",
                    dpop(
                        &dpop_token,
                        client.proof("GET", "https://api.conformance.test/admin", &dpop_token),
                    ),
                ),
                DPOP_INVALID_PROOF,
                "the DPoP proof is invalid",
            ),
            unauthorized(
                "DPoP scheme without a proof",
                get("/me", vec![("authorization", format!("DPoP {dpop_token}"))]),
                DPOP_INVALID_PROOF,
                "the DPoP proof is invalid",
            ),
            unauthorized(
                "DPoP proof by another key than the token's",
                get(
                    "/me",
                    dpop(
                        &dpop_token,
                        DpopKey::generate(tokengate::Algorithm::ES256).proof(
                            "GET",
                            DPOP_HTU,
                            &dpop_token,
                        ),
                    ),
                ),
                DPOP_NOT_BOUND,
                "the access token is not bound to this client",
            ),
            unauthorized(
                "token without cnf under the DPoP scheme",
                get("/me", dpop(&token, client.proof("GET", DPOP_HTU, &token))),
                DPOP_NOT_BOUND,
                "the access token is not bound to this client",
            ),
            Scenario {
                name: "two DPoP headers",
                request: get("/me", {
                    let mut headers = dpop(&dpop_token, good_proof.clone());
                    headers.push(("dpop", good_proof.clone()));
                    headers
                }),
                keys_down: false,
                status: 400,
                www_authenticate: Some(DPOP_TWO_PROOFS),
                retry_after: false,
                body: Body::Text("the credentials in the request are malformed"),
            },
            unauthorized(
                "certificate-bound token without the certificate",
                get(
                    "/me",
                    bearer(&self.token_with(json!({"cnf": {
                        "x5t#S256": tokengate_testkit::dpop::certificate_thumbprint(b"certificate")
                    }}))),
                ),
                CERTIFICATE_MISMATCH,
                "the access token is not bound to this client",
            ),
            Scenario {
                name: "step-up route with role, acr and a recent login",
                request: get("/admin", bearer(&admin(json!({})))),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Text("admin ok"),
            },
            unauthorized(
                "step-up route without the acr",
                get("/admin", bearer(&admin(json!({"acr": "urn:password"})))),
                STEP_UP,
                "a different or more recent authentication is required",
            ),
            unauthorized(
                "step-up route with a login too old",
                get("/admin", bearer(&admin(json!({"auth_time": now() - 3600})))),
                STEP_UP,
                "a different or more recent authentication is required",
            ),
            Scenario {
                name: "step-up route without the role",
                request: get("/admin", bearer(&admin(json!({"roles": ["reader"]})))),
                keys_down: false,
                status: 403,
                www_authenticate: Some(MISSING_ROLE),
                retry_after: false,
                body: Body::Text("the access token lacks the required role"),
            },
            Scenario {
                name: "custom check forbids (suspended account)",
                request: get("/me", bearer(&self.token_with(json!({"sub": "suspended"})))),
                keys_down: false,
                status: 403,
                www_authenticate: Some(FORBIDDEN),
                retry_after: false,
                body: Body::Text("the access token does not allow this request"),
            },
            Scenario {
                name: "custom check times out",
                request: get("/me", bearer(&self.token_with(json!({"sub": "slow"})))),
                keys_down: false,
                status: 503,
                www_authenticate: None,
                retry_after: true,
                body: Body::Text("the request could not be checked right now"),
            },
            Scenario {
                name: "custom check panics",
                request: get("/me", bearer(&self.token_with(json!({"sub": "buggy"})))),
                keys_down: false,
                status: 503,
                www_authenticate: None,
                retry_after: true,
                body: Body::Text("the request could not be checked right now"),
            },
            Scenario {
                name: "active opaque token (introspection)",
                request: get("/me", bearer(&active_opaque)),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!({"sub": "alice", "scopes": ["openid", "messages:read"]})),
            },
            unauthorized(
                "revoked opaque token",
                get("/me", bearer(&revoked_opaque)),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            unauthorized(
                "opaque token the provider does not know",
                get("/me", bearer("c29tZS1vcGFxdWUtdG9rZW4")),
                INVALID_TOKEN,
                "the access token is invalid",
            ),
            Scenario {
                name: "opaque token without the scope",
                request: get("/messages", bearer(&opaque_without_scope)),
                keys_down: false,
                status: 403,
                www_authenticate: Some(MISSING_SCOPE),
                retry_after: false,
                body: Body::Text("the access token lacks the required scope"),
            },
            Scenario {
                name: "introspection endpoint down",
                request: get(
                    "/me",
                    bearer(&self.down.issue_opaque(&self.claims("alice", "openid"))),
                ),
                keys_down: true,
                status: 503,
                www_authenticate: None,
                retry_after: true,
                body: Body::Text("the token could not be checked right now"),
            },
            Scenario {
                name: "protected-resource metadata (RFC 9728)",
                request: get("/.well-known/oauth-protected-resource", vec![]),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Json(json!({
                    "resource": RESOURCE,
                    "authorization_servers": [self.issuer.issuer()],
                    "bearer_methods_supported": ["header", "query"],
                    "dpop_signing_alg_values_supported": [
                        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                        "ES512", "EdDSA"
                    ],
                    "dpop_bound_access_tokens_required": false,
                })),
            },
            Scenario {
                name: "public route",
                request: get("/health", vec![]),
                keys_down: false,
                status: 200,
                www_authenticate: None,
                retry_after: false,
                body: Body::Text("ok"),
            },
        ]
    }
}

/// Runs every scenario against one adapter; returns the failures (empty when it conforms).
pub async fn run(name: &str, adapter: Adapter) -> Vec<String> {
    match adapter {
        Adapter::Http(serve) => run_http(name, serve).await,
        Adapter::Grpc(serve) => run_grpc(name, serve).await,
    }
}

async fn run_http(name: &str, serve: Serve) -> Vec<String> {
    let fixture = Fixture::start().await;
    let healthy = serve(fixture.verifier()).await;
    let down = serve(fixture.verifier_keys_down()).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");
    let mut failures = Vec::new();
    for scenario in fixture.scenarios() {
        let addr = if scenario.keys_down { down } else { healthy };
        let mut url = format!("http://{addr}{}", scenario.request.path);
        if let Some(query) = &scenario.request.query {
            url.push('?');
            url.push_str(query);
        }
        let mut request = client.get(&url);
        for (header, value) in &scenario.request.headers {
            request = request.header(*header, value);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                failures.push(format!(
                    "{name}: {}: request failed: {error}",
                    scenario.name
                ));
                continue;
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let www = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        let mut problems = Vec::new();
        // Every challenge offers every scheme: the others follow, without an error, in the
        // order Bearer, DPoP, ApiKey.
        let all: Vec<&str> = headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if let Some(first) = scenario.www_authenticate {
            let scheme = first.split(' ').next().unwrap_or_default();
            let others: Vec<&str> = [
                r#"Bearer realm="api""#,
                r#"DPoP realm="api", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA""#,
                r#"ApiKey realm="api""#,
            ]
            .into_iter()
            .filter(|other| !other.starts_with(&format!("{scheme} ")))
            .collect();
            let rest_ok = all.len() == 1 + others.len()
                && all[1..]
                    .iter()
                    .zip(&others)
                    .all(|(got, other)| got.starts_with(other) && !got.contains("error="));
            if !rest_ok {
                problems.push(format!(
                    "challenges {all:?}, expected after the first: {others:?}"
                ));
            }
        }
        if status != scenario.status {
            problems.push(format!("status {status}, expected {}", scenario.status));
        }
        if www.as_deref() != scenario.www_authenticate {
            problems.push(format!(
                "WWW-Authenticate {www:?}, expected {:?}",
                scenario.www_authenticate
            ));
        }
        if headers.contains_key("retry-after") != scenario.retry_after {
            problems.push(format!(
                "Retry-After present: {}",
                headers.contains_key("retry-after")
            ));
        }
        let body_ok = match &scenario.body {
            Body::Text(text) => body == *text,
            Body::Json(value) => serde_json::from_str::<Value>(&body).ok().as_ref() == Some(value),
        };
        if !body_ok {
            problems.push(format!("body {body:?}, expected {:?}", scenario.body));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}: {}",
                scenario.name,
                problems.join("; ")
            ));
        }
    }
    failures
}

fn guard_of(path: &str) -> Guard {
    match path {
        "/messages" => Guard::Scoped,
        "/greeting" => Guard::Optional,
        "/health" => Guard::Public,
        _ => Guard::Required,
    }
}

/// The same table over gRPC: 200 rows must succeed; the others must answer the gRPC code of their
/// HTTP status (401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, 400 `INVALID_ARGUMENT`, 503
/// `UNAVAILABLE`) with the same `www-authenticate` and `retry-after` metadata and the
/// description as the message. Rows that need a query string do not apply to gRPC.
async fn run_grpc(name: &str, serve: ServeGrpc) -> Vec<String> {
    use tonic::Code;
    use tonic::metadata::MetadataValue;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let fixture = Fixture::start().await;
    let mut servers = Vec::new();
    for guard in [
        Guard::Required,
        Guard::Scoped,
        Guard::Optional,
        Guard::Public,
    ] {
        servers.push((guard, false, serve(fixture.verifier(), guard).await));
        servers.push((
            guard,
            true,
            serve(fixture.verifier_keys_down(), guard).await,
        ));
    }
    let mut failures = Vec::new();
    for scenario in fixture.scenarios() {
        let proves = scenario
            .request
            .headers
            .iter()
            .any(|(name, _)| *name == "dpop");
        let websocket = scenario
            .request
            .headers
            .iter()
            .any(|(name, _)| name.starts_with("sec-websocket-"));
        if scenario.request.query.is_some()
            || websocket
            || scenario.request.path.starts_with("/.well-known/")
            || scenario.request.path == "/admin"
            || proves
        {
            // gRPC has no query string, no WebSocket handshake, and serves no documents; a
            // DPoP proof names the HTTP
            // method and URL of the reference API, not a gRPC call's (the same pipeline checks
            // DPoP for gRPC: see the tower layer's tests).
            continue;
        }
        let guard = guard_of(scenario.request.path);
        let addr = servers
            .iter()
            .find(|(g, down, _)| *g == guard && *down == scenario.keys_down)
            .map(|(_, _, addr)| *addr)
            .expect("a server per guard");
        let channel = match tonic::transport::Channel::from_shared(format!("http://{addr}")) {
            Ok(endpoint) => match endpoint.connect().await {
                Ok(channel) => channel,
                Err(error) => {
                    failures.push(format!(
                        "{name}: {}: connect failed: {error}",
                        scenario.name
                    ));
                    continue;
                }
            },
            Err(error) => {
                failures.push(format!("{name}: {}: bad endpoint: {error}", scenario.name));
                continue;
            }
        };
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        for (header, value) in &scenario.request.headers {
            if let Ok(value) = value.parse::<MetadataValue<_>>() {
                request.metadata_mut().append(*header, value);
            }
        }
        let result = HealthClient::new(channel).check(request).await;
        let expected = match scenario.status {
            200 => None,
            400 => Some(Code::InvalidArgument),
            403 => Some(Code::PermissionDenied),
            503 => Some(Code::Unavailable),
            _ => Some(Code::Unauthenticated),
        };
        let mut problems = Vec::new();
        match (result, expected) {
            (Ok(_), None) => {}
            (Ok(_), Some(code)) => problems.push(format!("succeeded, expected {code:?}")),
            (Err(status), None) => {
                problems.push(format!("failed with {:?}, expected success", status.code()))
            }
            (Err(status), Some(code)) => {
                if status.code() != code {
                    problems.push(format!("code {:?}, expected {code:?}", status.code()));
                }
                let www = status
                    .metadata()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok());
                if www != scenario.www_authenticate {
                    problems.push(format!(
                        "www-authenticate {www:?}, expected {:?}",
                        scenario.www_authenticate
                    ));
                }
                if status.metadata().get("retry-after").is_some() != scenario.retry_after {
                    problems.push("retry-after metadata mismatch".to_owned());
                }
                if let Body::Text(text) = scenario.body {
                    if status.message() != text {
                        problems.push(format!("message {:?}, expected {text:?}", status.message()));
                    }
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}: {}",
                scenario.name,
                problems.join("; ")
            ));
        }
    }
    failures
}

/// The reference API's 200 bodies, for test servers that guard the routes in other modes than
/// the examples do (middleware only, extractors only): the same bodies as the examples.
pub mod bodies {
    use serde_json::{Value, json};
    use tokengate::{StandardClaims, Verified};

    /// `GET /me`.
    pub fn me(claims: &Verified<StandardClaims>) -> Value {
        json!({
            "sub": claims.subject(),
            "scopes": claims.scopes().iter().collect::<Vec<_>>(),
        })
    }

    /// `GET /messages`.
    pub fn messages(claims: &Verified<StandardClaims>) -> Value {
        let to = claims.subject().unwrap_or("you");
        json!([
            {"id": 1, "to": to, "text": "Welcome to tokengate."},
            {"id": 2, "to": to, "text": "Your token carried messages:read."},
        ])
    }

    /// `GET /greeting`.
    pub fn greeting(claims: Option<&Verified<StandardClaims>>) -> String {
        match claims.and_then(|c| c.subject()) {
            Some(sub) => format!("Hello, {sub}!"),
            None => "Hello, anonymous!".to_owned(),
        }
    }
}

/// Servers on loopback for the tests' own routers, each on a free port: the address to send
/// requests to. Shared by the conformance table and the nested-guard rows.
pub mod serve {
    use std::future::Future;
    use std::net::SocketAddr;
    use std::pin::Pin;

    /// A server being started; resolves to its address.
    pub type Served = Pin<Box<dyn Future<Output = SocketAddr> + Send>>;

    /// Serves an axum router on a Tokio task.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn axum(router: axum::Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr
    }

    /// Serves an actix app configured by `configure` from a thread of its own (actix-web runs
    /// its own single-threaded runtime).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn actix<F>(configure: F) -> Served
    where
        F: Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
    {
        Box::pin(async move {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
            let addr = listener.local_addr().expect("an address");
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    actix_web::HttpServer::new(move || {
                        actix_web::App::new().configure(configure.clone())
                    })
                    .workers(1)
                    .listen(listener)
                    .expect("listen")
                    .run()
                    .await
                })
            });
            addr
        })
    }
}

/// Every Rust snippet of the README and `docs/` compiles: rustdoc runs them as doctests of this
/// crate (which depends on every adapter).
#[cfg(doctest)]
mod documentation {
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/guide.md")]
    struct Guide;
    #[doc = include_str!("../../docs/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../../docs/providers.md")]
    struct Providers;
    #[doc = include_str!("../../docs/security.md")]
    struct Security;
    #[doc = include_str!("../../docs/architecture.md")]
    struct Architecture;
    #[doc = include_str!("../../docs/migrating-from-jwt-authorizer.md")]
    struct Migrating;
}
