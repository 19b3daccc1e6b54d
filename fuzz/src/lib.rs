//! tokengate's fuzz targets, as plain functions: the cargo-fuzz binaries in `cargo-fuzz/` call
//! them with the fuzzer's input, and `tests/replay.rs` calls them (on stable, in `cargo test`)
//! with every committed corpus and regression input. Each function panics when its oracle is
//! violated, and only then, and returns whether the input was accepted (the replay test checks
//! that valid seeds are). How to run them: `fuzz/README.md`.
//!
//! The keys are fixed (`keys/`), so a corpus token stays valid from run to run, and the clock
//! is fixed at [`NOW`].

use std::sync::OnceLock;

use aws_lc_rs::signature::{self, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokengate::adapter::{Admission, Decision, Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::fetch::{FetchError, FetchErrorKind, FetchedDocument, Fetcher};
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, StandardClaims, Verifier,
    introspection::Introspection, keys::VerifyingKey,
};
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::{TestKey, jwks};

pub use tokengate_testkit::NOW;

/// A target: panics on an oracle violation, returns whether the input was accepted.
pub type Target = fn(&[u8]) -> bool;

/// The targets, by name (the cargo-fuzz binaries and the corpus folders have these names).
pub const TARGETS: [(&str, Target); 8] = [
    ("verify", verify),
    ("extract", extract),
    ("jwk", jwk),
    ("json", json_layer),
    ("discovery", discovery),
    ("introspection", introspection),
    ("dpop", dpop),
    ("jwe", jwe),
];

const HMAC_ISS: &str = "https://hmac.fuzz/";
const KEYS_ISS: &str = "https://keys.fuzz/";
const AUD: &str = "api";
const HMAC_SECRET: &[u8] = b"tokengate-fuzz-hmac-secret-32-bytes-long!";
const DPOP_URL: &str = "https://api.fuzz/resource";
/// The shared secret encrypted tokens are wrapped with (`A256KW`) or encrypted under (`dir`).
const JWE_SECRET: &[u8] = b"tokengate-fuzz-jwe-secret-32-by!";

struct Fixture {
    hmac: TestKey,
    es: TestKey,
    ed: TestKey,
    rs: TestKey,
    dpop: DpopKey,
    /// Public keys for the independent signature check.
    es_public: Vec<u8>,
    ed_public: Vec<u8>,
    rs_public: Vec<u8>,
    dpop_public: Vec<u8>,
    verifier: Verifier,
    /// The same issuers, also decrypting JWE with [`JWE_SECRET`] and the EC key.
    jwe_verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let es = TestKey::from_pkcs8(Algorithm::ES256, include_bytes!("../keys/es256.pem"), "es");
        let ed = TestKey::from_pkcs8(
            Algorithm::EdDSA,
            include_bytes!("../keys/ed25519.pem"),
            "ed",
        );
        let rs = TestKey::from_pkcs8(Algorithm::RS256, include_bytes!("../keys/rs256.pem"), "rs");
        let dpop = DpopKey::from_key(TestKey::from_pkcs8(
            Algorithm::ES256,
            include_bytes!("../keys/dpop.pem"),
            "dpop",
        ));
        let hmac = TestKey::hmac(Algorithm::HS256, HMAC_SECRET).with_kid("hs");
        let builder = || {
            Verifier::builder()
                .issuer(
                    Issuer::new(HMAC_ISS)
                        .audience(AUD)
                        .algorithms([Algorithm::HS256])
                        .keys(KeySource::secret(HMAC_SECRET)),
                )
                .issuer(
                    Issuer::new(KEYS_ISS)
                        .audience(AUD)
                        .keys(KeySource::jwks_json(jwks(&[&es, &ed, &rs]))),
                )
                .clock(FixedClock::at(NOW))
        };
        let verifier = builder().build().expect("the fuzz verifier");
        let jwe_verifier = jwe_keys()
            .into_iter()
            .fold(builder(), |builder, key| builder.decryption_key(key))
            .build()
            .expect("the JWE fuzz verifier");
        Fixture {
            es_public: public_key(Algorithm::ES256, include_bytes!("../keys/es256.pem")),
            ed_public: public_key(Algorithm::EdDSA, include_bytes!("../keys/ed25519.pem")),
            rs_public: public_key(Algorithm::RS256, include_bytes!("../keys/rs256.pem")),
            dpop_public: public_key(Algorithm::ES256, include_bytes!("../keys/dpop.pem")),
            jwe_verifier,
            hmac,
            es,
            ed,
            rs,
            dpop,
            verifier,
        }
    })
}

/// The public key bytes aws-lc-rs verifies with, read from the private key file directly.
fn public_key(alg: Algorithm, pem_bytes: &[u8]) -> Vec<u8> {
    let der = pem::parse(pem_bytes).expect("a PEM key").into_contents();
    match alg {
        Algorithm::ES256 => {
            signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .expect("P-256")
                .public_key()
                .as_ref()
                .to_vec()
        }
        Algorithm::EdDSA => signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .expect("Ed25519")
            .public_key()
            .as_ref()
            .to_vec(),
        _ => signature::RsaKeyPair::from_pkcs8(&der)
            .expect("RSA")
            .public_key()
            .as_ref()
            .to_vec(),
    }
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Verifies a compact JWS's signature independently of tokengate's parser: the token's own
/// header names the algorithm; the key is the fixture's key of that issuer and type.
fn independently_signed(token: &str, iss: &str) -> bool {
    let f = fixture();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, sig] = parts[..] else {
        return false;
    };
    let (Some(header_json), Some(sig)) = (b64_decode(header), b64_decode(sig)) else {
        return false;
    };
    let Ok(header_json) = serde_json::from_slice::<Value>(&header_json) else {
        return false;
    };
    let input = format!("{header}.{payload}");
    let alg = header_json["alg"].as_str().unwrap_or_default();
    let checked = |algorithm: &'static dyn signature::VerificationAlgorithm, key: &[u8]| {
        signature::UnparsedPublicKey::new(algorithm, key)
            .verify(input.as_bytes(), &sig)
            .is_ok()
    };
    match (iss, alg) {
        (HMAC_ISS, "HS256") => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HMAC_SECRET);
            aws_lc_rs::hmac::verify(&key, input.as_bytes(), &sig).is_ok()
        }
        (KEYS_ISS, "ES256") => checked(&signature::ECDSA_P256_SHA256_FIXED, &f.es_public),
        (KEYS_ISS, "EdDSA") => checked(&signature::ED25519, &f.ed_public),
        (KEYS_ISS, "RS256") => checked(&signature::RSA_PKCS1_2048_8192_SHA256, &f.rs_public),
        (KEYS_ISS, "RS384") => checked(&signature::RSA_PKCS1_2048_8192_SHA384, &f.rs_public),
        (KEYS_ISS, "RS512") => checked(&signature::RSA_PKCS1_2048_8192_SHA512, &f.rs_public),
        (KEYS_ISS, "PS256") => checked(&signature::RSA_PSS_2048_8192_SHA256, &f.rs_public),
        (KEYS_ISS, "PS384") => checked(&signature::RSA_PSS_2048_8192_SHA384, &f.rs_public),
        (KEYS_ISS, "PS512") => checked(&signature::RSA_PSS_2048_8192_SHA512, &f.rs_public),
        _ => false,
    }
}

fn claims() -> Value {
    json!({"sub": "alice", "aud": AUD, "iat": NOW, "exp": NOW + 3600, "scope": "read"})
}

fn with_iss(iss: &str) -> Value {
    let mut claims = claims();
    claims["iss"] = json!(iss);
    claims
}

/// Full verification over every algorithm family. Oracle: an accepted token was really signed
/// by the issuer's key with the algorithm its header names, and its claims are in time and for
/// this audience.
pub fn verify(data: &[u8]) -> bool {
    let Ok(token) = std::str::from_utf8(data) else {
        return false;
    };
    let f = fixture();
    let Ok(verified) = verify_now(&f.verifier, token) else {
        return false;
    };
    let iss = verified.issuer().to_owned();
    assert!(
        independently_signed(token, &iss),
        "accepted a token its issuer's key did not sign: {token:?}"
    );
    let payload = token
        .split('.')
        .nth(1)
        .and_then(b64_decode)
        .expect("payload");
    let claims: Value = serde_json::from_slice(&payload).expect("accepted claims are JSON");
    assert_eq!(claims["iss"], json!(iss));
    let exp = claims["exp"].as_f64().expect("exp");
    assert!(exp + 60.0 > NOW as f64, "accepted an expired token");
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => aud == AUD,
        Value::Array(auds) => auds.iter().any(|a| a == AUD),
        _ => false,
    };
    assert!(aud_ok, "accepted a token for another audience");
    true
}

/// The decryption keys of the JWE target: the shared secret and the fixed EC key.
fn jwe_keys() -> Vec<tokengate::keys::DecryptionKey> {
    let ec = std::str::from_utf8(include_bytes!("../keys/es256.pem")).expect("PEM");
    vec![
        tokengate::keys::DecryptionKey::secret(JWE_SECRET),
        tokengate::keys::DecryptionKey::from_pem(ec).expect("the EC key decrypts"),
    ]
}

/// Encrypted tokens (JWE) through a verifier that decrypts them: never a panic; an accepted
/// JWE opens, with the configured keys alone, to a signed JWT the plain verifier accepts for
/// the same subject and issuer (an accepted compact JWS meets [`verify`]'s oracle).
pub fn jwe(data: &[u8]) -> bool {
    let Ok(token) = std::str::from_utf8(data) else {
        return false;
    };
    let f = fixture();
    let Ok(verified) = verify_now(&f.jwe_verifier, token) else {
        return false;
    };
    if token.matches('.').count() == 2 {
        return verify(data);
    }
    let inner = tokengate::dangerous::decrypt_without_verifying(token, &jwe_keys())
        .expect("an accepted JWE opens with the configured keys");
    let inner = String::from_utf8(inner).expect("an accepted JWE carries text");
    let plain = verify_now(&f.verifier, &inner).expect("an accepted JWE carries a valid JWT");
    assert_eq!(plain.subject(), verified.subject());
    assert_eq!(plain.issuer(), verified.issuer());
    assert!(
        verify(inner.as_bytes()),
        "the JWT inside meets verify's oracle"
    );
    true
}

fn verify_now(
    verifier: &Verifier,
    token: &str,
) -> Result<tokengate::Verified<StandardClaims>, ErrorKind> {
    match verifier.try_verify::<StandardClaims>(token) {
        tokengate::verifier::Attempt::Done(result) => result.map_err(|e| e.kind()),
        tokengate::verifier::Attempt::NeedsIo(_) => Err(ErrorKind::KeysUnavailable),
    }
}

/// `Authorization` extraction through the request pipeline. The input is one or more header
/// values separated by newlines. Oracle: a request is admitted only with exactly one
/// `Authorization: Bearer <b64token>` whose token is valid.
pub fn extract(data: &[u8]) -> bool {
    let f = fixture();
    let mut headers = http::HeaderMap::new();
    for value in data.split(|b| *b == b'\n') {
        let Ok(value) = http::HeaderValue::from_bytes(value) else {
            return false;
        };
        headers.append(http::header::AUTHORIZATION, value);
    }
    let request = RequestView::new("GET", "/", None, &headers);
    let admitted = match f
        .verifier
        .decide::<StandardClaims, _>(&request, &Policy::new(), None)
    {
        Decision::Admit(Admission::Verified(_)) => true,
        Decision::Pending(pending) => matches!(
            futures_executor::block_on(pending.resolve()),
            Ok(Admission::Verified(_))
        ),
        _ => false,
    };
    if !admitted {
        return false;
    }
    let values: Vec<&[u8]> = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .map(http::HeaderValue::as_bytes)
        .collect();
    assert_eq!(
        values.len(),
        1,
        "admitted with several Authorization headers"
    );
    let value = values[0];
    assert!(
        value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer "),
        "admitted without the Bearer scheme: {value:?}"
    );
    let token = &value[7..];
    let body_end = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    assert!(
        token[..body_end]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b)),
        "admitted a token with characters outside b64token: {value:?}"
    );
    true
}

/// JWK and JWKS loading. Oracle: nothing panics; a loaded JWK is a public key of a known type
/// with no private member in any form, and an RSA key meets the size and exponent rules.
pub fn jwk(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let _ = Verifier::builder()
        .issuer(
            Issuer::new(KEYS_ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(text)),
        )
        .build();
    let Ok(key) = VerifyingKey::from_jwk(text) else {
        return false;
    };
    let json: Value = serde_json::from_str(text).expect("a loaded JWK is JSON");
    let object = json.as_object().expect("a loaded JWK is an object");
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        assert!(!object.contains_key(private), "loaded a JWK with {private}");
    }
    let kty = object["kty"].as_str().expect("kty");
    assert!(["RSA", "EC", "OKP", "oct"].contains(&kty), "kty {kty}");
    if kty == "RSA" {
        let n = b64_decode(object["n"].as_str().expect("n")).expect("n decodes");
        let e = b64_decode(object["e"].as_str().expect("e")).expect("e decodes");
        assert!(n[0] != 0 && e[0] != 0, "leading zero octets");
        assert!(n.len() >= 256, "a modulus under 2048 bits");
        let e = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        assert!(e > 65536 && e < (1 << 32) && e % 2 == 1, "exponent {e}");
    }
    if let Some(kid) = object.get("kid").and_then(Value::as_str) {
        assert_eq!(key.kid(), Some(kid));
    }
    true
}

/// The strict JSON layer, differentially against serde_json plus an independent duplicate
/// check, in both directions: the input is a token payload, signed here with the HMAC key.
/// Oracle: the JSON layer lets a payload through exactly when it is a JSON object serde_json
/// reads, with no duplicate member at any depth (lone surrogates and other invalid strings are
/// serde_json errors); what it reads as `sub` and `jti` is what serde_json reads.
pub fn json_layer(data: &[u8]) -> bool {
    let f = fixture();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(data));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, HMAC_SECRET);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    if token.len() > tokengate::verifier::DEFAULT_MAX_TOKEN_BYTES {
        return false;
    }
    let outcome = match f.verifier.try_verify::<Value>(&token) {
        tokengate::verifier::Attempt::Done(result) => result.map_err(|e| e.kind()),
        tokengate::verifier::Attempt::NeedsIo(_) => return false,
    };
    let serde = serde_json::from_slice::<Value>(data)
        .ok()
        .filter(|value| value.is_object() && !has_duplicates(data));
    let Some(value) = serde else {
        assert!(
            matches!(outcome, Err(ErrorKind::MalformedToken)),
            "the JSON layer passed what serde_json refuses, or a duplicate member: {data:?}"
        );
        return false;
    };
    let verified = match outcome {
        Err(ErrorKind::MalformedToken) => {
            panic!("the JSON layer refused a strict JSON object serde_json reads: {data:?}")
        }
        Err(_) => return false,
        Ok(verified) => verified,
    };
    assert_eq!(verified.subject(), value["sub"].as_str());
    assert_eq!(verified.jti(), value["jti"].as_str());
    true
}

/// An independent duplicate-member check: serde_json's `Value` keeps the last of duplicates,
/// so this walks the text with serde's visitor and compares member counts.
fn has_duplicates(data: &[u8]) -> bool {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    struct Walk;
    impl<'de> Visitor<'de> for Walk {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut duplicate = false;
            while let Some(key) = map.next_key::<String>()? {
                duplicate |= !seen.insert(key);
                duplicate |= map.next_value_seed(WalkSeed)?;
            }
            Ok(duplicate)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut duplicate = false;
            while let Some(inner) = seq.next_element_seed(WalkSeed)? {
                duplicate |= inner;
            }
            Ok(duplicate)
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    struct WalkSeed;
    impl<'de> serde::de::DeserializeSeed<'de> for WalkSeed {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(Walk)
        }
    }
    let _ = IgnoredAny;
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    deserializer.deserialize_any(Walk).unwrap_or(true)
}

/// A fetcher answering every GET with one document and every POST with another.
struct Canned {
    get: Vec<Vec<u8>>,
    post: Vec<u8>,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Fetcher for Canned {
    async fn get(&self, _url: &str, max_body: usize) -> Result<FetchedDocument, FetchError> {
        let call = self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = self
            .get
            .get(call)
            .or(self.get.last())
            .cloned()
            .unwrap_or_default();
        document(body, max_body)
    }
    async fn post_form(
        &self,
        _url: &str,
        _authorization: Option<&str>,
        _form: &str,
        max_body: usize,
    ) -> Result<FetchedDocument, FetchError> {
        document(self.post.clone(), max_body)
    }
}

fn document(body: Vec<u8>, max_body: usize) -> Result<FetchedDocument, FetchError> {
    if body.len() > max_body {
        return Err(FetchError::new(FetchErrorKind::TooLarge, "too large"));
    }
    Ok(FetchedDocument {
        status: 200,
        cache_control: None,
        body,
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Discovery and remote key sets: the input is a discovery document, a NUL byte, and a JWKS.
/// Oracle: keys load only from a discovery document naming exactly this issuer and a key set
/// that is a JSON object with a `keys` array, and never more than 100 keys.
pub fn discovery(data: &[u8]) -> bool {
    let mut parts = data.splitn(2, |b| *b == 0);
    let discovery = parts.next().unwrap_or_default().to_vec();
    let keys = parts.next().unwrap_or_default().to_vec();
    let iss = "https://disc.fuzz";
    let Ok(verifier) = Verifier::builder()
        .issuer(Issuer::new(iss).audience(AUD).keys(KeySource::discover()))
        .fetcher(Canned {
            get: vec![discovery.clone(), keys.clone()],
            post: Vec::new(),
            calls: Default::default(),
        })
        .clock(FixedClock::at(NOW))
        .build()
    else {
        return false;
    };
    let loaded = runtime().block_on(verifier.ready()).is_ok();
    let health = verifier.health();
    assert!(health[0].key_count <= 100);
    if loaded {
        let document: Value = serde_json::from_slice(&discovery).expect("discovery is JSON");
        assert_eq!(
            document["issuer"],
            json!(iss),
            "keys from another issuer's document"
        );
        let set: Value = serde_json::from_slice(&keys).expect("the key set is JSON");
        assert!(set["keys"].is_array(), "keys without a keys array");
        assert!(health[0].key_count >= 1);
    }
    loaded
}

/// Introspection responses (RFC 7662): the input is the endpoint's answer. Oracle: a token is
/// admitted only when the answer is a JSON object with `"active": true`, its `iss` (when
/// present) is this issuer, and its `exp` (when present) is in the future.
pub fn introspection(data: &[u8]) -> bool {
    let iss = "https://introspect.fuzz/";
    let Ok(verifier) = Verifier::builder()
        .issuer(
            Issuer::new(iss)
                .audience(AUD)
                .introspection(Introspection::endpoint(
                    "https://introspect.fuzz/introspect",
                )),
        )
        .fetcher(Canned {
            get: Vec::new(),
            post: data.to_vec(),
            calls: Default::default(),
        })
        .clock(FixedClock::at(NOW))
        .build()
    else {
        return false;
    };
    let admitted = runtime()
        .block_on(verifier.verify::<Value>("an-opaque-token"))
        .is_ok();
    if admitted {
        let answer: Value = serde_json::from_slice(data).expect("an admitting answer is JSON");
        assert_eq!(
            answer["active"],
            json!(true),
            "admitted without active: true"
        );
        if let Some(answer_iss) = answer.get("iss") {
            assert_eq!(answer_iss, &json!(iss));
        }
        if let Some(exp) = answer.get("exp").and_then(Value::as_f64) {
            assert!(exp + 60.0 > NOW as f64, "admitted an expired token");
        }
    }
    admitted
}

/// DPoP proofs (RFC 9449): the input is the `DPoP` header sent with a token bound to the
/// fixture's DPoP key. Oracle: admitted only with a proof that key really signed, for this
/// method and URL, for this token, and in time.
pub fn dpop(data: &[u8]) -> bool {
    let f = fixture();
    let Ok(proof_value) = http::HeaderValue::from_bytes(data) else {
        return false;
    };
    let token = dpop_token();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("DPoP {token}").parse().expect("a header"),
    );
    headers.insert("dpop", proof_value);
    headers.insert(http::header::HOST, "api.fuzz".parse().expect("a host"));
    // A fresh verifier per input: the replay store must not carry state between inputs.
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new(KEYS_ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&f.es]))),
        )
        .clock(FixedClock::at(NOW))
        .resource(tokengate::ProtectedResource::new(
            "https://api.fuzz/resource",
        ))
        .build()
        .expect("the DPoP verifier");
    let request = RequestView::new("GET", "/resource", None, &headers)
        .origin(Some("https"), Some("api.fuzz"));
    let admitted = match verifier.decide::<StandardClaims, _>(&request, &Policy::new(), None) {
        Decision::Admit(Admission::Verified(_)) => true,
        Decision::Pending(pending) => matches!(
            runtime().block_on(pending.resolve()),
            Ok(Admission::Verified(_))
        ),
        _ => false,
    };
    if !admitted {
        return false;
    }
    let proof = std::str::from_utf8(data).expect("an admitted proof is text");
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3, "admitted a proof that is not a compact JWS");
    let input = format!("{}.{}", parts[0], parts[1]);
    let sig = b64_decode(parts[2]).expect("the signature decodes");
    assert!(
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &f.dpop_public)
            .verify(input.as_bytes(), &sig)
            .is_ok(),
        "admitted a proof the bound key did not sign"
    );
    let claims: Value =
        serde_json::from_slice(&b64_decode(parts[1]).expect("payload")).expect("payload JSON");
    assert_eq!(claims["htm"], json!("GET"));
    assert_eq!(claims["htu"], json!(DPOP_URL));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    assert_eq!(
        claims["ath"],
        json!(URL_SAFE_NO_PAD.encode(digest.as_ref()))
    );
    let iat = claims["iat"].as_f64().expect("iat");
    assert!(
        (iat - NOW as f64).abs() <= 60.0,
        "admitted a proof out of its window"
    );
    true
}

fn dpop_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let f = fixture();
        f.es.mint(&f.dpop.bind(with_iss(KEYS_ISS)))
    })
}

/// Inputs for each target made with the fixed keys, with whether the target must accept each:
/// the seeds of the corpora, and a check that no oracle is vacuous.
#[must_use]
pub fn seeds(target: &str) -> Vec<(Vec<u8>, bool)> {
    let accepted = |inputs: Vec<Vec<u8>>| inputs.into_iter().map(|i| (i, true)).collect::<Vec<_>>();
    let mut seeds = raw_seeds(target);
    match target {
        // The last seed of these is one the target refuses (a JWKS is not one JWK).
        "extract" | "json" | "introspection" | "jwk" | "jwe" => {
            let last = seeds.pop().expect("a refused seed");
            let mut seeds = accepted(seeds);
            seeds.push((last, false));
            seeds
        }
        _ => accepted(seeds),
    }
}

fn raw_seeds(target: &str) -> Vec<Vec<u8>> {
    let f = fixture();
    let tokens = || {
        vec![
            f.hmac.mint(&with_iss(HMAC_ISS)),
            f.es.mint(&with_iss(KEYS_ISS)),
            f.ed.mint(&with_iss(KEYS_ISS)),
            f.rs.mint(&with_iss(KEYS_ISS)),
        ]
    };
    match target {
        "verify" => tokens().into_iter().map(String::into_bytes).collect(),
        "jwe" => {
            use tokengate::keys::{ContentEncryption, KeyManagement};
            let recipient = tokengate_testkit::jwe::Recipient::from_secret(JWE_SECRET);
            let [hmac, es, ..] = <[String; 4]>::try_from(tokens()).expect("four tokens");
            let wrapped = recipient.encrypt(&hmac, KeyManagement::A256Kw, ContentEncryption::A256Gcm);
            let cbc = recipient.encrypt(&es, KeyManagement::A256Kw, ContentEncryption::A128CbcHs256);
            let direct = recipient.encrypt(&hmac, KeyManagement::Dir, ContentEncryption::A256Gcm);
            // Refused: the last tag character changed.
            let mut tampered = wrapped.clone();
            let last = tampered.pop().expect("a tag");
            tampered.push(if last == 'A' { 'Q' } else { 'A' });
            vec![wrapped, cbc, direct, tampered]
                .into_iter()
                .map(String::into_bytes)
                .collect()
        }
        "extract" => tokens()
            .into_iter()
            .map(|t| format!("Bearer {t}").into_bytes())
            .chain([b"bearer  x.y.z\nBearer a".to_vec()])
            .collect(),
        "jwk" => vec![
            f.es.public_jwk().to_string().into_bytes(),
            f.ed.public_jwk().to_string().into_bytes(),
            f.rs.public_jwk().to_string().into_bytes(),
            jwks(&[&f.es, &f.rs]).into_bytes(),
        ],
        "json" => vec![
            serde_json::to_vec(&with_iss(HMAC_ISS)).expect("json"),
            br#"{"iss":"https://hmac.fuzz/","aud":["api","x"],"exp":1767229200,"n":{"a":[1,2.5e3,null,true]}}"#.to_vec(),
            br#"{"a":1,"a":2}"#.to_vec(),
        ],
        "discovery" => {
            let mut input =
                br#"{"issuer":"https://disc.fuzz","jwks_uri":"https://disc.fuzz/keys"}"#.to_vec();
            input.push(0);
            input.extend_from_slice(jwks(&[&f.es]).as_bytes());
            vec![input]
        }
        "introspection" => vec![
            br#"{"active":true,"iss":"https://introspect.fuzz/","aud":"api","exp":1767229200,"scope":"read"}"#.to_vec(),
            br#"{"active":false}"#.to_vec(),
        ],
        "dpop" => vec![
            f.dpop
                .proof_for("GET", DPOP_URL)
                .access_token(dpop_token())
                .issued_at(NOW)
                .sign()
                .into_bytes(),
        ],
        _ => Vec::new(),
    }
}
