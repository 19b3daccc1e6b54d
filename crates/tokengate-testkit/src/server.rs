// Over 600 lines: one in-process issuer (discovery, JWKS, introspection, token exchange, faults) whose endpoints share one state.
//! A real issuer on `127.0.0.1:0`: OIDC discovery, RFC 8414 metadata, a JWKS and an RFC 7662
//! introspection endpoint, with key rotation, opaque tokens and revocation, a configurable
//! `Cache-Control`, fault injection and request counters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use serde_json::{Value, json};
use tokengate::Algorithm;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::TestKey;

/// A fault the server injects into every answer until cleared with [`Fault::None`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer normally.
    None,
    /// Stop listening: connections are refused.
    Refuse,
    /// Wait this long before answering (use more than the verifier's fetch timeout).
    Delay(Duration),
    /// Answer with this status and an empty JSON object.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    InvalidJson,
    /// Answer 200 with a JWKS body of about 300 KiB.
    Oversized,
    /// Discovery documents name another issuer.
    WrongIssuer,
    /// Discovery documents repeat a member (serde's derived structs refuse repeated known
    /// fields but skip repeated unknown ones; strict JSON refuses both).
    DuplicateMembers,
}

struct Shared {
    addr: SocketAddr,
    keys: Mutex<Vec<TestKey>>,
    cache_control: Mutex<Option<String>>,
    fault: Mutex<Fault>,
    oidc: AtomicBool,
    jwks_requests: AtomicUsize,
    discovery_requests: AtomicUsize,
    metadata_requests: AtomicUsize,
    /// Opaque tokens this issuer handed out, with their claims.
    opaque: Mutex<HashMap<String, Value>>,
    introspection_requests: AtomicUsize,
    introspections_in_flight: AtomicUsize,
    introspections_peak: AtomicUsize,
    advertise_introspection: AtomicBool,
    /// Clients authenticating with `private_key_jwt`: id → public JWK.
    client_keys: Mutex<HashMap<String, String>>,
    /// Tenants served under `/tenants/{name}` (a multi-tenant provider), each with its key.
    tenants: Mutex<HashMap<String, TestKey>>,
    tenant_requests: AtomicUsize,
    /// RFC 8693 token exchanges served.
    exchanges: AtomicUsize,
}

/// The app id the Facebook `debug_token` imitation accepts ([`IssuerServer::facebook_url`]).
pub const FACEBOOK_APP_ID: &str = "1234567890";
/// The app secret the Facebook `debug_token` imitation accepts.
pub const FACEBOOK_APP_SECRET: &str = "facebook-app-secret";

/// The client id the introspection endpoint accepts ([`IssuerServer::introspection_url`]).
pub const INTROSPECTION_CLIENT_ID: &str = "tokengate-test";
/// The client secret the introspection endpoint accepts.
pub const INTROSPECTION_CLIENT_SECRET: &str = "introspection-secret";

/// A test issuer served over real HTTP on loopback.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use tokengate::{Issuer, KeySource, StandardClaims, Verifier};
/// use tokengate_testkit::{IssuerServer, claims_for};
///
/// let server = IssuerServer::start().await;
/// let verifier = Verifier::builder()
///     .issuer(Issuer::new(server.issuer()).audience("api").keys(KeySource::discover()))
///     .build()
///     .unwrap();
/// let token = server.mint(&claims_for(&server.issuer(), "api"));
/// assert!(verifier.verify::<StandardClaims>(&token).await.is_ok());
/// assert_eq!(server.jwks_requests(), 1);
/// # }
/// ```
pub struct IssuerServer {
    shared: Arc<Shared>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for IssuerServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerServer")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl IssuerServer {
    /// Starts a server with one fresh ES256 key. Needs a tokio runtime.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> IssuerServer {
        IssuerServer::start_with(vec![TestKey::generate(Algorithm::ES256)]).await
    }

    /// Starts a server publishing `keys` (the last one signs by default).
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start_with(keys: Vec<TestKey>) -> IssuerServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            addr,
            keys: Mutex::new(keys),
            cache_control: Mutex::new(None),
            fault: Mutex::new(Fault::None),
            oidc: AtomicBool::new(true),
            jwks_requests: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            metadata_requests: AtomicUsize::new(0),
            opaque: Mutex::new(HashMap::new()),
            introspection_requests: AtomicUsize::new(0),
            introspections_in_flight: AtomicUsize::new(0),
            introspections_peak: AtomicUsize::new(0),
            advertise_introspection: AtomicBool::new(true),
            exchanges: AtomicUsize::new(0),
            client_keys: Mutex::new(HashMap::new()),
            tenants: Mutex::new(HashMap::new()),
            tenant_requests: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        IssuerServer {
            shared,
            listener: Mutex::new(Some(task)),
        }
    }

    /// The issuer URL (`http://127.0.0.1:PORT`), also the `iss` of minted tokens.
    #[must_use]
    pub fn issuer(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The JWKS URL.
    #[must_use]
    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks", self.shared.addr)
    }

    /// A URL that redirects (302) to the JWKS on the same host.
    #[must_use]
    pub fn redirect_same_host_url(&self) -> String {
        format!("http://{}/moved/jwks", self.shared.addr)
    }

    /// A URL that redirects (302) to the JWKS under another host name (`localhost`).
    #[must_use]
    pub fn redirect_other_host_url(&self) -> String {
        format!("http://{}/elsewhere/jwks", self.shared.addr)
    }

    /// The newest published key (the one that signs).
    ///
    /// # Panics
    /// If no key is published.
    #[must_use]
    pub fn signing_key(&self) -> TestKey {
        self.shared
            .keys
            .lock()
            .unwrap()
            .last()
            .expect("a published key")
            .clone()
    }

    /// A token signed by the newest key.
    #[must_use]
    pub fn mint(&self, claims: &Value) -> String {
        self.signing_key().mint(claims)
    }

    /// Publishes another key.
    pub fn publish(&self, key: TestKey) {
        self.shared.keys.lock().unwrap().push(key);
    }

    /// Removes the key with this kid.
    pub fn retire(&self, kid: &str) {
        self.shared.keys.lock().unwrap().retain(|k| k.kid() != kid);
    }

    /// Publishes a fresh key of the newest key's algorithm and retires the oldest key.
    /// Returns the new key.
    #[must_use]
    pub fn rotate(&self) -> TestKey {
        let mut keys = self.shared.keys.lock().unwrap();
        let alg = keys.last().map_or(Algorithm::ES256, TestKey::alg);
        let fresh = TestKey::generate(alg);
        keys.push(fresh.clone());
        keys.remove(0);
        fresh
    }

    /// The `Cache-Control` header of JWKS answers (none by default).
    pub fn set_cache_control(&self, value: Option<&str>) {
        *self.shared.cache_control.lock().unwrap() = value.map(str::to_owned);
    }

    /// Whether `/.well-known/openid-configuration` is served (otherwise only RFC 8414 is).
    pub fn set_oidc_discovery(&self, served: bool) {
        self.shared.oidc.store(served, Ordering::SeqCst);
    }

    /// Injects a fault. [`Fault::Refuse`] closes the listening socket; any other fault (or
    /// [`Fault::None`]) listens again on the same port.
    ///
    /// # Panics
    /// If the port cannot be bound again.
    pub async fn set_fault(&self, fault: Fault) {
        let refuse = fault == Fault::Refuse;
        *self.shared.fault.lock().unwrap() = fault;
        let running = self.listener.lock().unwrap().take();
        match (refuse, running) {
            (true, Some(task)) => {
                task.abort();
                let _ = task.await;
            }
            (false, None) => {
                let listener = TcpListener::bind(self.shared.addr)
                    .await
                    .expect("bind the same port again");
                let task = tokio::spawn(accept_loop(listener, Arc::clone(&self.shared)));
                *self.listener.lock().unwrap() = Some(task);
            }
            (_, running) => *self.listener.lock().unwrap() = running,
        }
    }

    /// How many JWKS requests the server has answered (or dropped).
    #[must_use]
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_requests.load(Ordering::SeqCst)
    }

    /// The RFC 7662 introspection endpoint. It authenticates the client with
    /// `client_secret_basic` or `client_secret_post` ([`INTROSPECTION_CLIENT_ID`],
    /// [`INTROSPECTION_CLIENT_SECRET`]; 401 `invalid_client` otherwise), answers
    /// `{"active": true, "token_type": "Bearer", ...claims}` for the opaque tokens it issued and
    /// did not revoke, `{"active": false}` for anything else, and honours the faults.
    #[must_use]
    pub fn introspection_url(&self) -> String {
        format!("http://{}/introspect", self.shared.addr)
    }

    /// An imitation of Google's `tokeninfo` (POST `access_token`) for the opaque tokens this
    /// server issued: 200 with `aud`, `azp` (the claims' `client_id`), `sub`, `scope`, `email`
    /// and `exp`/`expires_in` as strings, as Google documents; 400 `invalid_token` otherwise.
    #[must_use]
    pub fn google_url(&self) -> String {
        format!("http://{}/tokeninfo", self.shared.addr)
    }

    /// An imitation of Facebook's `debug_token` (GET `input_token`, `access_token` =
    /// `FACEBOOK_APP_ID|FACEBOOK_APP_SECRET`): `{"data": {"app_id", "type", "is_valid",
    /// "user_id", "scopes", "expires_at", ...}}` as Facebook documents; the app id is the
    /// claims' `aud`.
    #[must_use]
    pub fn facebook_url(&self) -> String {
        format!("http://{}/debug_token", self.shared.addr)
    }

    /// Registers a client that authenticates with `private_key_jwt`: its assertions must be
    /// signed by `key` (RS256, ES256 or EdDSA), name the client as `iss` and `sub` and the
    /// introspection endpoint as `aud`, and be valid now (system clock).
    pub fn register_client_key(&self, client_id: &str, key: &TestKey) {
        self.shared
            .client_keys
            .lock()
            .unwrap()
            .insert(client_id.to_owned(), key.public_jwk().to_string());
    }

    /// Whether the discovery documents advertise `introspection_endpoint` (default: yes).
    pub fn set_advertise_introspection(&self, advertised: bool) {
        self.shared
            .advertise_introspection
            .store(advertised, Ordering::SeqCst);
    }

    /// Issues an opaque access token (random, not a JWT) with these claims.
    #[must_use]
    pub fn issue_opaque(&self, claims: &Value) -> String {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random generator");
        let token = crate::b64(bytes);
        self.shared
            .opaque
            .lock()
            .unwrap()
            .insert(token.clone(), claims.clone());
        token
    }

    /// The RFC 8693 token endpoint (token exchange only): the same client credentials as the
    /// introspection endpoint; issued tokens carry `act` naming that client.
    #[must_use]
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.shared.addr)
    }

    /// How many token-exchange requests it has received.
    #[must_use]
    pub fn token_exchanges(&self) -> usize {
        self.shared.exchanges.load(Ordering::SeqCst)
    }

    /// Revokes an opaque token: from now on it introspects as inactive.
    pub fn revoke(&self, token: &str) {
        self.shared.opaque.lock().unwrap().remove(token);
    }

    /// How many introspection requests it has received.
    #[must_use]
    pub fn introspection_requests(&self) -> usize {
        self.shared.introspection_requests.load(Ordering::SeqCst)
    }

    /// The most introspection requests it has served at once.
    #[must_use]
    pub fn introspections_peak(&self) -> usize {
        self.shared.introspections_peak.load(Ordering::SeqCst)
    }

    /// How many OIDC discovery requests it has received.
    #[must_use]
    pub fn discovery_requests(&self) -> usize {
        self.shared.discovery_requests.load(Ordering::SeqCst)
    }

    /// Serves a tenant of a multi-tenant provider: issuer `{issuer}/tenants/{name}`, with OIDC
    /// discovery and a JWKS of its own key under that path. Returns the tenant's signing key.
    ///
    /// # Panics
    /// When the lock is poisoned.
    pub fn add_tenant(&self, name: &str) -> TestKey {
        let key = TestKey::generate(Algorithm::ES256).with_kid(format!("{name}-key"));
        self.shared
            .tenants
            .lock()
            .unwrap()
            .insert(name.to_owned(), key.clone());
        key
    }

    /// The issuer template of the tenants: `{issuer}/tenants/{tenantid}`.
    #[must_use]
    pub fn tenant_template(&self) -> String {
        format!("{}/tenants/{{tenantid}}", self.issuer())
    }

    /// The `iss` of tenant `name` (served or not).
    #[must_use]
    pub fn tenant_issuer(&self, name: &str) -> String {
        format!("{}/tenants/{name}", self.issuer())
    }

    /// How many requests under `/tenants/` it has received (discovery and keys, any tenant).
    #[must_use]
    pub fn tenant_requests(&self) -> usize {
        self.shared.tenant_requests.load(Ordering::SeqCst)
    }

    /// How many RFC 8414 metadata requests it has received.
    #[must_use]
    pub fn metadata_requests(&self) -> usize {
        self.shared.metadata_requests.load(Ordering::SeqCst)
    }
}

impl Drop for IssuerServer {
    fn drop(&mut self) {
        if let Some(task) = self.listener.lock().unwrap().take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve(stream, Arc::clone(&shared)));
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |p| p + 4);
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut words = text.split_whitespace();
    let method = words.next().unwrap_or("GET").to_owned();
    let path = words.next().unwrap_or("/").to_owned();
    let (status, body, cache) = if method == "GET" && path.starts_with("/debug_token?") {
        facebook_debug_token(&path, &shared)
    } else if method == "POST"
        && (path == "/introspect" || path == "/tokeninfo" || path == "/token")
    {
        let header = |name: &str| {
            text.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let length: usize = header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0)
            .min(64 * 1024);
        let mut body = head[end..].to_vec();
        while body.len() < length {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&buf[..n]),
            }
        }
        let in_flight = shared
            .introspections_in_flight
            .fetch_add(1, Ordering::SeqCst)
            + 1;
        shared
            .introspections_peak
            .fetch_max(in_flight, Ordering::SeqCst);
        let answered = if path == "/tokeninfo" {
            google_tokeninfo(&body, &shared)
        } else if path == "/token" {
            token_exchange(header("authorization").as_deref(), &body, &shared).await
        } else {
            introspect(header("authorization").as_deref(), &body, &shared).await
        };
        let fault = shared.fault.lock().unwrap().clone();
        if let Fault::Delay(delay) = fault {
            tokio::time::sleep(delay).await;
        }
        shared
            .introspections_in_flight
            .fetch_sub(1, Ordering::SeqCst);
        answered
    } else {
        answer(&path, &shared)
    };
    let location = match path.as_str() {
        "/moved/jwks" => Some(format!("http://{}/jwks", shared.addr)),
        "/elsewhere/jwks" => Some(format!("http://localhost:{}/jwks", shared.addr.port())),
        _ => None,
    };
    let (status, body) = if location.is_some() {
        (302, b"{}".to_vec())
    } else {
        (status, body)
    };
    let fault = shared.fault.lock().unwrap().clone();
    if let Fault::Delay(delay) = fault {
        tokio::time::sleep(delay).await;
    }
    let reason = match status {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        _ => "Error",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(location) = location {
        response.push_str(&format!("Location: {location}\r\n"));
    }
    if let Some(cache) = cache {
        response.push_str(&format!("Cache-Control: {cache}\r\n"));
    }
    response.push_str("\r\n");
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// RFC 7662: client authentication, then the token's state.
async fn introspect(
    authorization: Option<&str>,
    body: &[u8],
    shared: &Shared,
) -> (u16, Vec<u8>, Option<String>) {
    shared.introspection_requests.fetch_add(1, Ordering::SeqCst);
    match shared.fault.lock().unwrap().clone() {
        Fault::Status(code) => return (code, b"{}".to_vec(), None),
        Fault::InvalidJson => return (200, b"{\"active\": tru".to_vec(), None),
        _ => {}
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let audience = format!("http://{}/introspect", shared.addr);
    if !client_authenticated(authorization, &form, &audience, shared).await {
        return (401, br#"{"error":"invalid_client"}"#.to_vec(), None);
    }
    let claims = form
        .get("token")
        .and_then(|token| shared.opaque.lock().unwrap().get(token).cloned());
    let answer = match claims {
        Some(Value::Object(mut claims)) => {
            claims.insert("active".into(), Value::Bool(true));
            claims.insert("token_type".into(), Value::from("Bearer"));
            Value::Object(claims)
        }
        _ => json!({"active": false}),
    };
    (200, answer.to_string().into_bytes(), None)
}

/// Google's `tokeninfo` format for the opaque tokens this server issued.
fn google_tokeninfo(body: &[u8], shared: &Shared) -> (u16, Vec<u8>, Option<String>) {
    shared.introspection_requests.fetch_add(1, Ordering::SeqCst);
    if let Fault::Status(code) = shared.fault.lock().unwrap().clone() {
        return (code, b"{}".to_vec(), None);
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let claims = form
        .get("access_token")
        .and_then(|token| shared.opaque.lock().unwrap().get(token).cloned());
    let Some(claims) = claims else {
        let error = json!({"error": "invalid_token", "error_description": "Invalid Value"});
        return (400, error.to_string().into_bytes(), None);
    };
    let exp = claims["exp"].as_u64().unwrap_or(0);
    let info = json!({
        "azp": claims["client_id"], "aud": claims["aud"], "sub": claims["sub"],
        "scope": claims["scope"], "email": claims["email"], "email_verified": "true",
        "exp": exp.to_string(), "expires_in": "3599", "access_type": "online",
    });
    (200, info.to_string().into_bytes(), None)
}

/// Facebook's `debug_token` format for the opaque tokens this server issued.
fn facebook_debug_token(path: &str, shared: &Shared) -> (u16, Vec<u8>, Option<String>) {
    shared.introspection_requests.fetch_add(1, Ordering::SeqCst);
    if let Fault::Status(code) = shared.fault.lock().unwrap().clone() {
        return (code, b"{}".to_vec(), None);
    }
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let app_token = format!("{FACEBOOK_APP_ID}|{FACEBOOK_APP_SECRET}");
    if params.get("access_token") != Some(&app_token) {
        let error = json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}});
        return (400, error.to_string().into_bytes(), None);
    }
    let claims = params
        .get("input_token")
        .and_then(|token| shared.opaque.lock().unwrap().get(token).cloned());
    let data = match claims {
        Some(claims) => {
            let scopes: Vec<&str> = claims["scope"]
                .as_str()
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .collect();
            json!({
                "app_id": claims["aud"], "type": "USER", "application": "tokengate test app",
                "data_access_expires_at": claims["exp"], "expires_at": claims["exp"],
                "is_valid": true, "scopes": scopes, "user_id": claims["sub"],
            })
        }
        None => json!({
            "error": {"code": 190, "message": "Invalid OAuth access token."},
            "is_valid": false, "scopes": [],
        }),
    };
    (200, json!({"data": data}).to_string().into_bytes(), None)
}

/// A `private_key_jwt` client assertion from a registered client, verified by tokengate itself.
/// The client (`INTROSPECTION_CLIENT_ID`) by `client_secret_basic`, `client_secret_post`, or a
/// `private_key_jwt` assertion for `audience` (the endpoint's URL).
async fn client_authenticated(
    authorization: Option<&str>,
    form: &HashMap<String, String>,
    audience: &str,
    shared: &Shared,
) -> bool {
    let basic = authorization
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .is_some_and(|pair| {
            pair == format!("{INTROSPECTION_CLIENT_ID}:{INTROSPECTION_CLIENT_SECRET}")
        });
    let post = form.get("client_id").map(String::as_str) == Some(INTROSPECTION_CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(INTROSPECTION_CLIENT_SECRET);
    basic || post || assertion_is_valid(form, audience, shared).await
}

/// RFC 8693 token exchange: the client authenticates; the `subject_token` must be a token this
/// issuer signed (valid now) or an opaque token it issued; the answer is a new JWT for the
/// requested `audience` (or `resource`), with the subject's `sub`, the requested `scope` (or
/// the subject token's), and `act` naming the client — the subject token's own `act` nested
/// inside it. `invalid_grant` for a subject token it does not accept.
async fn token_exchange(
    authorization: Option<&str>,
    body: &[u8],
    shared: &Shared,
) -> (u16, Vec<u8>, Option<String>) {
    shared.exchanges.fetch_add(1, Ordering::SeqCst);
    if let Fault::Status(code) = shared.fault.lock().unwrap().clone() {
        return (code, b"{}".to_vec(), None);
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let audience = format!("http://{}/token", shared.addr);
    if !client_authenticated(authorization, &form, &audience, shared).await {
        return (401, br#"{"error":"invalid_client"}"#.to_vec(), None);
    }
    let error = |code: &str| (400, json!({ "error": code }).to_string().into_bytes(), None);
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:token-exchange")
    {
        return error("unsupported_grant_type");
    }
    let Some(subject_token) = form.get("subject_token") else {
        return error("invalid_request");
    };
    if !matches!(
        form.get("subject_token_type").map(String::as_str),
        Some(
            "urn:ietf:params:oauth:token-type:access_token"
                | "urn:ietf:params:oauth:token-type:jwt"
        )
    ) {
        return error("invalid_request");
    }
    let Some(audience) = form.get("audience").or_else(|| form.get("resource")) else {
        return error("invalid_target");
    };
    let issuer = format!("http://{}", shared.addr);
    let subject = accepted_token(subject_token, &issuer, shared).await;
    let Some(subject) = subject else {
        return error("invalid_grant");
    };
    let now = crate::now();
    let scope = form
        .get("scope")
        .cloned()
        .or_else(|| subject["scope"].as_str().map(str::to_owned))
        .unwrap_or_default();
    // The actor: the `actor_token`'s subject when one is sent (it must be a token of this
    // issuer), else the authenticated client.
    let actor = match form.get("actor_token") {
        Some(token) => match accepted_token(token, &issuer, shared).await {
            Some(claims) => claims["sub"].clone(),
            None => return error("invalid_request"),
        },
        None => json!(INTROSPECTION_CLIENT_ID),
    };
    let mut act = json!({ "sub": actor });
    if let Some(prior) = subject.get("act") {
        act["act"] = prior.clone();
    }
    let claims = json!({
        "iss": issuer,
        "sub": subject["sub"],
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": format!("exchanged-{}", shared.exchanges.load(Ordering::SeqCst)),
        "client_id": INTROSPECTION_CLIENT_ID,
        "scope": scope,
        "act": act,
    });
    let signer = shared.keys.lock().unwrap()[0].clone();
    let token = signer.mint(&claims);
    let answer = json!({
        "access_token": token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": scope,
    });
    (200, answer.to_string().into_bytes(), None)
}

/// The claims of `token` if this issuer issued it: an opaque token it handed out, or a JWT
/// signed with one of its keys and valid now.
async fn accepted_token(token: &str, issuer: &str, shared: &Shared) -> Option<Value> {
    if let Some(claims) = shared.opaque.lock().unwrap().get(token).cloned() {
        return Some(claims);
    }
    let keys = shared.keys.lock().unwrap().clone();
    let verifier = tokengate::Verifier::builder()
        .issuer(
            tokengate::Issuer::new(issuer)
                .insecure_skip_audience_check()
                .keys(tokengate::KeySource::jwks_json(crate::jwks(
                    &keys.iter().collect::<Vec<_>>(),
                ))),
        )
        .without_dpop()
        .build()
        .ok()?;
    verifier
        .verify::<Value>(token)
        .await
        .ok()
        .map(|verified| (*verified.claims).clone())
}

async fn assertion_is_valid(
    form: &HashMap<String, String>,
    audience: &str,
    shared: &Shared,
) -> bool {
    let kind = form.get("client_assertion_type").map(String::as_str);
    let (Some(assertion), Some(client_id)) = (form.get("client_assertion"), form.get("client_id"))
    else {
        return false;
    };
    if kind != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        return false;
    }
    let Some(jwk) = shared.client_keys.lock().unwrap().get(client_id).cloned() else {
        return false;
    };
    let verifier = tokengate::Verifier::builder()
        .issuer(
            tokengate::Issuer::new(client_id.as_str())
                .audience(audience)
                .keys(tokengate::KeySource::jwk(jwk)),
        )
        .build();
    let Ok(verifier) = verifier else {
        return false;
    };
    match verifier.verify::<Value>(assertion).await {
        Ok(verified) => verified.subject() == Some(client_id.as_str()),
        Err(_) => false,
    }
}

/// A tenant's discovery document or JWKS (`/tenants/{name}/...`); 404 for a tenant not served.
fn tenant_answer(path: &str, shared: &Shared) -> (u16, Vec<u8>, Option<String>) {
    shared.tenant_requests.fetch_add(1, Ordering::SeqCst);
    let base = format!("http://{}", shared.addr);
    let rest = &path["/tenants/".len()..];
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let tenants = shared.tenants.lock().unwrap();
    let Some(key) = tenants.get(name) else {
        return (404, b"{}".to_vec(), None);
    };
    let issuer = format!("{base}/tenants/{name}");
    match tail {
        ".well-known/openid-configuration" => (
            200,
            json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")})
                .to_string()
                .into_bytes(),
            None,
        ),
        "jwks" => (
            200,
            json!({"keys": [key.public_jwk()]}).to_string().into_bytes(),
            None,
        ),
        _ => (404, b"{}".to_vec(), None),
    }
}

fn answer(path: &str, shared: &Shared) -> (u16, Vec<u8>, Option<String>) {
    if path.starts_with("/tenants/") {
        return tenant_answer(path, shared);
    }
    let base = format!("http://{}", shared.addr);
    let fault = shared.fault.lock().unwrap().clone();
    let advertise = shared.advertise_introspection.load(Ordering::SeqCst);
    let metadata = |issuer: &str| {
        let mut document = json!({"issuer": issuer, "jwks_uri": format!("{base}/jwks")});
        if advertise {
            document["introspection_endpoint"] = json!(format!("{base}/introspect"));
        }
        document["token_endpoint"] = json!(format!("{base}/token"));
        document["grant_types_supported"] =
            json!(["urn:ietf:params:oauth:grant-type:token-exchange"]);
        document.to_string()
    };
    let is_metadata = path == "/.well-known/openid-configuration"
        || path.starts_with("/.well-known/oauth-authorization-server");
    match path {
        "/.well-known/openid-configuration" => {
            shared.discovery_requests.fetch_add(1, Ordering::SeqCst);
        }
        "/jwks" => {
            shared.jwks_requests.fetch_add(1, Ordering::SeqCst);
        }
        p if p.starts_with("/.well-known/oauth-authorization-server") => {
            shared.metadata_requests.fetch_add(1, Ordering::SeqCst);
        }
        _ => return (404, b"{}".to_vec(), None),
    }
    match fault {
        Fault::Status(code) => return (code, b"{}".to_vec(), None),
        Fault::InvalidJson => return (200, b"{\"keys\": [oops".to_vec(), None),
        Fault::DuplicateMembers if is_metadata => {
            let body = format!(
                r#"{{"issuer":"{base}","jwks_uri":"{base}/jwks","scopes_supported":["a"],"scopes_supported":["b"]}}"#
            );
            return (200, body.into_bytes(), None);
        }
        Fault::WrongIssuer if is_metadata => {
            return (
                200,
                metadata("https://someone-else.example").into_bytes(),
                None,
            );
        }
        _ => {}
    }
    if path == "/.well-known/openid-configuration" && !shared.oidc.load(Ordering::SeqCst) {
        return (404, b"{}".to_vec(), None);
    }
    if is_metadata {
        return (200, metadata(&base).into_bytes(), None);
    }
    let cache = shared.cache_control.lock().unwrap().clone();
    if fault == Fault::Oversized {
        let padding = "x".repeat(300 * 1024);
        return (
            200,
            json!({"keys": [], "padding": padding})
                .to_string()
                .into_bytes(),
            cache,
        );
    }
    let keys: Vec<Value> = shared
        .keys
        .lock()
        .unwrap()
        .iter()
        .map(TestKey::public_jwk)
        .collect();
    (200, json!({"keys": keys}).to_string().into_bytes(), cache)
}
