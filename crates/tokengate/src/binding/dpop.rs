// Over 600 lines: one proof check, read top to bottom, with its unit tests (repeats, replay key).
//! [`Dpop`]: the settings of DPoP proof checking, and the check itself (RFC 9449 section 4.3).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::json::{Malformed, Name, read_object};
use crate::jws::{self, BASE64URL};
use crate::key::{VerifyingKey, jwk_thumbprint};
use crate::request::{RequestHeaders, RequestView};

#[allow(unused_imports)] // for the links above
use super::nonce::DpopNonces;
use super::nonce::NonceSource;
use crate::store::{MemoryReplayStore, ReplayStore};

/// The largest DPoP window a verifier accepts ([`Dpop::window`]).
pub const MAX_DPOP_WINDOW: Duration = Duration::from_secs(300);

/// The default window around the server's clock in which a proof's `iat` must fall: 60 s
/// either side.
pub const DEFAULT_DPOP_WINDOW: Duration = Duration::from_secs(60);

/// The largest `DPoP` header accepted (an RSA-4096 key and signature fit in about 2 KiB).
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// How DPoP proofs (RFC 9449) are checked. Accepted by default with these settings; see
/// [`VerifierBuilder::dpop`](crate::VerifierBuilder::dpop).
///
/// - algorithms: the asymmetric ones (RSA PKCS#1 and PSS, ECDSA, EdDSA), never HMAC or `none`;
/// - `iat` within [`DEFAULT_DPOP_WINDOW`] of the verifier's clock, either side;
/// - used proofs remembered in a [`MemoryReplayStore`] until they could no longer pass;
/// - no server nonces (see [`nonces`](Dpop::nonces));
/// - bearer tokens still accepted (see [`required`](Dpop::required)).
///
/// ```
/// use std::time::Duration;
/// use tokengate::{Algorithm, dpop::Dpop, dpop::DpopNonces};
/// let dpop = Dpop::new()
///     .algorithms([Algorithm::ES256, Algorithm::EdDSA]).unwrap()
///     .window(Duration::from_secs(30))
///     .nonces(DpopNonces::new([9u8; 32], Duration::from_secs(300)).unwrap());
/// # let _ = dpop;
/// ```
#[derive(Clone)]
#[must_use]
pub struct Dpop {
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) window: u64,
    pub(crate) nonces: Option<Arc<dyn NonceSource>>,
    pub(crate) replay: Arc<dyn ReplayStore>,
    /// Whether [`Dpop::replay_store`] named the store (the default is in memory).
    pub(crate) replay_named: bool,
    pub(crate) replay_fail_open: bool,
    pub(crate) required: bool,
    /// Proof keys already read, by their JWK text.
    pub(crate) keys: Arc<ProofKeys>,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("algorithms", &self.algorithms)
            .field("window_secs", &self.window)
            .field("nonces", &self.nonces.is_some())
            .field("required", &self.required)
            .field("replay_fail_open", &self.replay_fail_open)
            .finish_non_exhaustive()
    }
}

impl Default for Dpop {
    fn default() -> Self {
        Dpop {
            algorithms: Algorithm::ASYMMETRIC.into_iter().collect(),
            window: DEFAULT_DPOP_WINDOW.as_secs(),
            nonces: None,
            replay: Arc::new(MemoryReplayStore::default()),
            replay_named: false,
            replay_fail_open: false,
            required: false,
            keys: Arc::new(ProofKeys::default()),
        }
    }
}

/// A proof key read from its JWK, with its RFC 7638 thumbprint.
pub(crate) struct ProofKey {
    key: VerifyingKey,
    thumbprint: [u8; 32],
    /// SHA-256 over [`REPLAY_PREFIX`] and the thumbprint: the first block of every replay key
    /// of this key's proofs, compressed once (a proof then hashes its `jti` alone).
    replay: aws_lc_rs::digest::Context,
}

/// What a replay key's hash starts with: 32 bytes, so that with the 32-byte thumbprint it
/// fills SHA-256's first block exactly.
const REPLAY_PREFIX: &[u8; 32] = b"tokengate dpop replay key v2\0\0\0\0";

/// Proof keys already read, by their JWK text. A client signs every proof with the same key,
/// and reading it — RSA modulus, exponent and ROCA checks, EC point validation — and computing
/// its thumbprint cost more than the rest of a proof's own work (the DPoP benchmark in
/// `docs/benchmarks.md`). Content-addressed, so nothing can be poisoned: an entry is the key its
/// exact JWK text describes, read by the same rules. Looked up by the text itself under aHash
/// with random keys (a SHA-256 of an RSA JWK cost about 0.2 µs per proof), compared in full.
/// Bounded: 16 shards of 256 keys; a full shard is emptied, so a client sending a new key with
/// every proof only misses.
pub(crate) struct ProofKeys {
    shard_of: ahash::RandomState,
    shards: [std::sync::RwLock<ProofKeyShard>; 16],
}

type ProofKeyShard = std::collections::HashMap<Box<[u8]>, Arc<ProofKey>, ahash::RandomState>;

const PROOF_KEYS_PER_SHARD: usize = 256;

impl Default for ProofKeys {
    fn default() -> Self {
        ProofKeys {
            shard_of: ahash::RandomState::new(),
            shards: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl ProofKeys {
    /// The key of this JWK text, read (and remembered) if it was not already.
    fn get_or_read(&self, jwk: &[u8]) -> Result<Arc<ProofKey>, Error> {
        let shard = &self.shards[(self.shard_of.hash_one(jwk) & 15) as usize];
        if let Some(found) = shard.read().unwrap_or_else(|p| p.into_inner()).get(jwk) {
            return Ok(Arc::clone(found));
        }
        // The client chooses its proof key: an RSA key past 4096 bits costs up to five times a
        // refused garbage token's CPU per proof, so it is refused before it is read.
        if rsa_modulus_too_large(jwk) {
            return Err(invalid("the DPoP proof's RSA key is larger than 4096 bits"));
        }
        // A public key of a type fitting `alg`: private members, symmetric keys and weak keys
        // are refused by the same rules as an issuer's keys.
        let key = VerifyingKey::from_jwk_bytes(jwk, false)
            .map_err(|_| invalid("the DPoP proof's jwk is not an acceptable public key"))?;
        let thumbprint =
            jwk_thumbprint(jwk).ok_or_else(|| invalid("the DPoP proof's jwk has no thumbprint"))?;
        let mut replay = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        replay.update(REPLAY_PREFIX);
        replay.update(&thumbprint);
        let read = Arc::new(ProofKey {
            key,
            thumbprint,
            replay,
        });
        let mut map = shard.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PROOF_KEYS_PER_SHARD {
            map.clear();
        }
        map.insert(Box::from(jwk), Arc::clone(&read));
        Ok(read)
    }
}

impl Dpop {
    /// The default settings.
    pub fn new() -> Dpop {
        Dpop::default()
    }

    /// Accept proofs signed with these algorithms only.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for an empty list or an HMAC algorithm: a proof is
    /// signed with the client's private key, checked with the public key it carries.
    pub fn algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Dpop, ConfigError> {
        let set: AlgorithmSet = algorithms.into_iter().collect();
        if set.is_empty() || set.iter().any(Algorithm::is_symmetric) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "DPoP algorithms must be a non-empty set of asymmetric algorithms",
            ));
        }
        self.algorithms = set;
        Ok(self)
    }

    /// How far a proof's `iat` may be from the verifier's clock, either side (default 60 s;
    /// from 1 to [`MAX_DPOP_WINDOW`], 300 s: a longer window lets a proof made in advance live
    /// longer). Anything else is a [`ConfigError`] from
    /// [`VerifierBuilder::build`](crate::VerifierBuilder::build), never silently capped.
    pub fn window(mut self, window: Duration) -> Dpop {
        self.window = window.as_secs();
        self
    }

    /// The setup mistakes `build` reports.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.window == 0 || self.window > MAX_DPOP_WINDOW.as_secs() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "the DPoP window must be from 1 to 300 seconds",
            ));
        }
        Ok(())
    }

    /// Require the server's nonce in every proof (RFC 9449 section 8), from `nonces`
    /// ([`DpopNonces`], or your own [`NonceSource`]).
    pub fn nonces(mut self, nonces: impl NonceSource) -> Dpop {
        self.nonces = Some(Arc::new(nonces));
        self
    }

    /// Remember used proofs in `store` instead of the in-memory default (a shared store for
    /// several instances).
    pub fn replay_store(mut self, store: impl ReplayStore) -> Dpop {
        self.replay = Arc::new(store);
        self.replay_named = true;
        self
    }

    /// When the replay store cannot answer, admit the proof (with a warning and a counted
    /// store error) instead of answering 503. A captured proof can then be replayed within its
    /// window while the store is down.
    pub fn insecure_replay_fail_open(mut self) -> Dpop {
        self.replay_fail_open = true;
        self
    }

    /// Every token must be DPoP-bound: bearer tokens are refused (`dpop_required`). Per issuer
    /// see [`Issuer::require_dpop`](crate::Issuer::require_dpop), per route
    /// [`Policy::require_dpop`](crate::adapter::Policy::require_dpop).
    pub fn required(mut self) -> Dpop {
        self.required = true;
        self
    }

    /// The `algs` of the `DPoP` challenge, space-separated.
    pub(crate) fn algs(&self) -> String {
        let names: Vec<&str> = self.algorithms.iter().map(Algorithm::as_str).collect();
        names.join(" ")
    }
}

/// A proof that passed every check that does not need the token's claims.
#[derive(Clone, Copy)]
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint of the proof's key, compared with the token's `cnf.jkt`.
    pub(crate) thumbprint: [u8; 32],
    /// What the replay store remembers: SHA-256 over the thumbprint and `jti`.
    pub(crate) replay_key: [u8; 32],
    /// When the proof could no longer pass the `iat` check.
    pub(crate) expires_at: u64,
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Proof(..)")
    }
}

/// The proof's protected header, read strictly in one pass (`crate::json::Scan`).
#[derive(Default)]
struct ProofHeader<'a> {
    typ: Option<Cow<'a, str>>,
    alg: Option<Cow<'a, str>>,
    /// The `jwk` member's text.
    jwk: Option<&'a str>,
    /// `crit` or `b64` is present (with any value).
    crit_or_b64: bool,
}

impl<'a> ProofHeader<'a> {
    fn parse(bytes: &'a [u8]) -> Result<ProofHeader<'a>, Malformed> {
        let mut header = ProofHeader::default();
        read_object(bytes, |scan, name| {
            Ok(match &**name {
                "typ" => {
                    header.typ = scan.optional_string()?;
                    Name::Known(0)
                }
                "alg" => {
                    header.alg = scan.optional_string()?;
                    Name::Known(1)
                }
                "jwk" => {
                    header.jwk = Some(scan.raw()?).filter(|raw| *raw != "null");
                    Name::Known(2)
                }
                "crit" | "b64" => {
                    header.crit_or_b64 = true;
                    scan.value()?;
                    Name::Known(if &**name == "crit" { 3 } else { 4 })
                }
                _ => {
                    scan.value()?;
                    Name::Other
                }
            })
        })?;
        Ok(header)
    }
}

/// The proof's claims, read strictly in one pass; `null` reads as absent.
#[derive(Default)]
struct ProofClaims<'a> {
    jti: Option<Cow<'a, str>>,
    htm: Option<Cow<'a, str>>,
    htu: Option<Cow<'a, str>>,
    iat: Option<f64>,
    ath: Option<Cow<'a, str>>,
    nonce: Option<Cow<'a, str>>,
}

impl<'a> ProofClaims<'a> {
    fn parse(bytes: &'a [u8]) -> Result<ProofClaims<'a>, Malformed> {
        let mut claims = ProofClaims::default();
        read_object(bytes, |scan, name| {
            Ok(match &**name {
                "jti" => {
                    claims.jti = scan.optional_string()?;
                    Name::Known(0)
                }
                "htm" => {
                    claims.htm = scan.optional_string()?;
                    Name::Known(1)
                }
                "htu" => {
                    claims.htu = scan.optional_string()?;
                    Name::Known(2)
                }
                "iat" => {
                    claims.iat = scan.optional_number()?;
                    Name::Known(3)
                }
                "ath" => {
                    claims.ath = scan.optional_string()?;
                    Name::Known(4)
                }
                "nonce" => {
                    claims.nonce = scan.optional_string()?;
                    Name::Known(5)
                }
                _ => {
                    scan.value()?;
                    Name::Other
                }
            })
        })?;
        Ok(claims)
    }
}

/// The largest RSA modulus a DPoP proof key may have (an issuer's keys may have up to 8192
/// bits: the operator chose them; a proof key is the client's choice).
const MAX_PROOF_RSA_BITS: usize = 4096;

/// Whether a proof JWK's RSA modulus `n` is longer than [`MAX_PROOF_RSA_BITS`]: its base64url
/// text is longer than that many bits need (RFC 7518 section 6.3.1.1: no leading zeros).
fn rsa_modulus_too_large(jwk: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Modulus {
        n: Option<String>,
    }
    let most = MAX_PROOF_RSA_BITS.div_ceil(6);
    serde_json::from_slice::<Modulus>(jwk)
        .ok()
        .and_then(|m| m.n)
        .is_some_and(|n| n.trim_end_matches('=').len() > most)
}

fn invalid(detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidDpopProof, detail)
}

impl Dpop {
    /// Checks the request's proof for `token` (RFC 9449 section 4.3, steps 1–12; the key
    /// binding and the replay check follow once the token's claims are known). `target` is
    /// the normalized URI the client used; `token_hash` the token's SHA-256.
    pub(crate) fn check_proof<H: RequestHeaders + ?Sized>(
        &self,
        request: &RequestView<'_, H>,
        token_hash: &[u8; 32],
        target: Option<&super::origin::Target<'_>>,
        now: u64,
    ) -> Result<Proof, Error> {
        let mut values = request.headers().header_values("dpop");
        let proof = match (values.next(), values.next()) {
            (None, _) => return Err(invalid("the request has no DPoP proof")),
            (Some(_), Some(_)) => {
                return Err(Error::new(
                    ErrorKind::MalformedRequest,
                    "the request has two DPoP headers",
                ));
            }
            (Some(value), None) => value,
        };
        if proof.len() > MAX_PROOF_BYTES {
            return Err(invalid("the DPoP proof is too large"));
        }
        let proof =
            std::str::from_utf8(proof).map_err(|_| invalid("the DPoP proof is not a JWS"))?;
        let segments =
            jws::split(proof).map_err(|_| invalid("the DPoP proof is not a compact JWS"))?;
        // The three segments decoded into one buffer (decoded, they take less room than the
        // proof): one allocation.
        let mut buf = vec![0u8; proof.len() + 8];
        let not_base64 = |_| invalid("the DPoP proof is not base64url");
        let header_end = jws::decode_slice(segments.header, &mut buf).map_err(not_base64)?;
        let payload_end = header_end
            + jws::decode_slice(segments.payload, &mut buf[header_end..]).map_err(not_base64)?;
        let end = payload_end
            + jws::decode_slice(segments.signature, &mut buf[payload_end..]).map_err(not_base64)?;
        let (header_bytes, rest) = buf[..end].split_at(header_end);
        let (payload, signature) = rest.split_at(payload_end - header_end);

        let header = ProofHeader::parse(header_bytes)
            .map_err(|_| invalid("the DPoP proof header is not a strict JSON object"))?;
        if header.crit_or_b64 {
            return Err(invalid("the DPoP proof uses crit or b64"));
        }
        if !header
            .typ
            .as_deref()
            .is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"))
        {
            return Err(invalid("the DPoP proof's typ is not dpop+jwt"));
        }
        let alg = header
            .alg
            .as_deref()
            .and_then(Algorithm::from_name)
            .filter(|alg| self.algorithms.contains(*alg))
            .ok_or_else(|| {
                invalid("the DPoP proof's alg is not an allowed asymmetric algorithm")
            })?;
        let jwk = header
            .jwk
            .ok_or_else(|| invalid("the DPoP proof has no jwk"))?;
        let read = self.keys.get_or_read(jwk.as_bytes())?;
        let key = &read.key;
        if !key.algorithms().contains(alg) {
            return Err(invalid("the DPoP proof's jwk does not fit its alg"));
        }
        key.verify(alg, segments.signing_input.as_bytes(), signature)
            .map_err(|_| invalid("the DPoP proof's signature does not verify"))?;

        // Signed by the key it carries: now its claims.
        let claims = ProofClaims::parse(payload)
            .map_err(|_| invalid("the DPoP proof's claims are not a strict JSON object"))?;
        let jti = claims
            .jti
            .filter(|j| !j.is_empty())
            .ok_or_else(|| invalid("the DPoP proof has no jti"))?;
        let htm = claims
            .htm
            .ok_or_else(|| invalid("the DPoP proof has no htm"))?;
        let htu = claims
            .htu
            .ok_or_else(|| invalid("the DPoP proof has no htu"))?;
        let iat = claims
            .iat
            .ok_or_else(|| invalid("the DPoP proof has no iat"))?;
        if *htm != *request.method() {
            return Err(invalid("the DPoP proof is for another method"));
        }
        let target = target.ok_or_else(|| invalid("the request's URL cannot be known"))?;
        // `target` is normalized. A client sending the normalized URL (the usual case) is
        // compared as it is, without parsing `htu` or building the target: normalization is
        // idempotent (tested in `origin.rs`), so this is the same comparison, cheaper.
        // (`target` has no dot segments: a request path with them has no target at all. An
        // `htu` with them is normalized as RFC 9449 says, to the path the router saw.)
        if !target.matches(&htu) {
            return Err(invalid("the DPoP proof is for another URL"));
        }
        let window = self.window as f64;
        let now_f = now as f64;
        if !iat.is_finite() || iat < now_f - window || iat > now_f + window {
            return Err(invalid("the DPoP proof's iat is outside the window"));
        }
        // The token's hash in base64url, on the stack: 43 characters for 32 bytes.
        let mut ath = [0u8; 44];
        let ath = BASE64URL
            .encode_slice(token_hash, &mut ath)
            .map(|len| &ath[..len])
            .unwrap_or_default();
        if claims.ath.as_deref().map(str::as_bytes) != Some(ath) {
            return Err(invalid("the DPoP proof's ath does not match the token"));
        }
        if let Some(nonces) = &self.nonces {
            if !claims
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now))
            {
                return Err(Error::new(
                    ErrorKind::UseDpopNonce,
                    "the DPoP proof lacks the current nonce",
                ));
            }
        }
        let thumbprint = read.thumbprint;
        // SHA-256(prefix, thumbprint, jti), its first block already compressed.
        let mut context = read.replay.clone();
        context.update(jti.as_bytes());
        let mut replay_key = [0u8; 32];
        replay_key.copy_from_slice(context.finish().as_ref());
        Ok(Proof {
            thumbprint,
            replay_key,
            // `iat` passed within the window: past `iat + window` it never will again.
            expires_at: (iat.floor() as u64).saturating_add(self.window + 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn p256_jwk() -> String {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref();
        format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
            BASE64URL.encode(&point[1..33]),
            BASE64URL.encode(&point[33..65])
        )
    }

    /// An RSA modulus of `bits` bits (odd, top bit set) with e = 65537, as a JWK.
    fn rsa_jwk(bits: usize) -> String {
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0xc5;
        let last = n.len() - 1;
        n[last] |= 1;
        format!(
            r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#,
            BASE64URL.encode(&n)
        )
    }

    #[test]
    fn proof_keys_past_4096_bits_are_refused_before_they_are_read() {
        let keys = ProofKeys::default();
        for bits in [4104, 8192] {
            let error = keys.get_or_read(rsa_jwk(bits).as_bytes()).err().unwrap();
            assert_eq!(error.kind(), ErrorKind::InvalidDpopProof);
            assert_eq!(
                error.detail(),
                "the DPoP proof's RSA key is larger than 4096 bits"
            );
        }
        assert!(!rsa_modulus_too_large(rsa_jwk(4096).as_bytes()));
        assert!(!rsa_modulus_too_large(rsa_jwk(2048).as_bytes()));
        assert!(!rsa_modulus_too_large(p256_jwk().as_bytes()));
    }

    #[test]
    fn proof_keys_are_read_once_refused_keys_never_kept_and_shards_bounded() {
        let keys = ProofKeys::default();
        let jwk = p256_jwk();
        let first = keys.get_or_read(jwk.as_bytes()).unwrap();
        let again = keys.get_or_read(jwk.as_bytes()).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second proof reuses the key"
        );
        assert_eq!(
            Some(first.thumbprint),
            jwk_thumbprint(jwk.as_bytes()),
            "the remembered thumbprint is the key's"
        );
        // A private member makes a JWK unacceptable, every time, and it is never kept.
        let private = jwk.replacen('{', r#"{"d":"AAAA","#, 1);
        for _ in 0..2 {
            let error = keys.get_or_read(private.as_bytes()).err().unwrap();
            assert_eq!(error.kind(), ErrorKind::InvalidDpopProof);
            assert_eq!(
                error.detail(),
                "the DPoP proof's jwk is not an acceptable public key"
            );
        }
        let held: usize = keys.shards.iter().map(|s| s.read().unwrap().len()).sum();
        assert_eq!(held, 1, "only the acceptable key is remembered");
        // Many different keys: no shard ever holds more than its bound.
        for _ in 0..600 {
            keys.get_or_read(p256_jwk().as_bytes()).unwrap();
        }
        for shard in &keys.shards {
            assert!(shard.read().unwrap().len() <= PROOF_KEYS_PER_SHARD);
        }
    }

    #[test]
    fn a_proof_member_named_twice_is_refused_even_when_the_first_is_null() {
        for dup in [
            &br#"{"jti":null,"jti":"x","htm":"GET"}"#[..],
            br#"{"htu":"a","h\u0074u":"a"}"#,
            br#"{"iat":1,"iat":1}"#,
            br#"{"ath":"a","nonce":"n","ath":"a"}"#,
            br#"{"x":1,"x":2}"#,
        ] {
            assert!(ProofClaims::parse(dup).is_err(), "{dup:?}");
        }
        assert!(
            ProofClaims::parse(
                br#"{"jti":"j","htm":"GET","htu":"u","iat":1,"ath":"a","nonce":"n","x":1}"#
            )
            .is_ok()
        );
        for dup in [
            &br#"{"typ":"dpop+jwt","typ":"dpop+jwt"}"#[..],
            br#"{"jwk":null,"jwk":{}}"#,
            br#"{"crit":[],"crit":[]}"#,
            br#"{"alg":"ES256","\u0061lg":"ES256"}"#,
        ] {
            assert!(ProofHeader::parse(dup).is_err(), "{dup:?}");
        }
        assert!(
            ProofHeader::parse(br#"{"typ":"t","alg":"a","jwk":{},"crit":[],"b64":true}"#).is_ok()
        );
    }

    #[test]
    fn the_replay_key_hashes_prefix_thumbprint_and_jti_with_the_first_block_kept() {
        let keys = ProofKeys::default();
        let read = keys.get_or_read(p256_jwk().as_bytes()).unwrap();
        let mut context = read.replay.clone();
        context.update(b"a-jti");
        let direct = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &[&REPLAY_PREFIX[..], &read.thumbprint, b"a-jti"].concat(),
        );
        assert_eq!(context.finish().as_ref(), direct.as_ref());
        assert_eq!(REPLAY_PREFIX.len() + read.thumbprint.len(), 64, "one block");
    }
}
