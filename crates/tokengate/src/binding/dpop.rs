//! [`Dpop`]: the settings of DPoP proof checking, and the check itself (RFC 9449 section 4.3).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::adapter::{RequestHeaders, RequestView};
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::jws::{self, BASE64URL};
use crate::key::{VerifyingKey, jwk_thumbprint};

#[allow(unused_imports)] // for the links above
use super::nonce::DpopNonces;
use super::nonce::NonceSource;
use super::replay::{MemoryReplayStore, ReplayStore};

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
/// use tokengate::{Algorithm, Dpop, DpopNonces};
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
    pub(crate) replay_fail_open: bool,
    pub(crate) required: bool,
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
            replay_fail_open: false,
            required: false,
        }
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

    /// How far a proof's `iat` may be from the verifier's clock, either side (default 60 s,
    /// at most 300 s: a longer window lets a proof made in advance live longer).
    pub fn window(mut self, window: Duration) -> Dpop {
        self.window = window.as_secs().clamp(1, 300);
        self
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

#[derive(Deserialize)]
struct ProofHeader<'a> {
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    jwk: Option<&'a RawValue>,
    crit: Option<IgnoredAny>,
    b64: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ProofClaims<'a> {
    #[serde(borrow)]
    jti: Option<Cow<'a, str>>,
    #[serde(borrow)]
    htm: Option<Cow<'a, str>>,
    #[serde(borrow)]
    htu: Option<Cow<'a, str>>,
    iat: Option<f64>,
    #[serde(borrow)]
    ath: Option<Cow<'a, str>>,
    #[serde(borrow)]
    nonce: Option<Cow<'a, str>>,
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
        target: Option<&str>,
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
        let decode = |segment: &str| {
            let mut out = Vec::new();
            jws::decode_into(segment, &mut out)
                .map(|()| out)
                .map_err(|_| invalid("the DPoP proof is not base64url"))
        };
        let header_bytes = decode(segments.header)?;
        let payload = decode(segments.payload)?;
        let signature = decode(segments.signature)?;

        let header: ProofHeader<'_> = crate::json::from_strict_slice(&header_bytes)
            .map_err(|_| invalid("the DPoP proof header is not a strict JSON object"))?;
        if header.crit.is_some() || header.b64.is_some() {
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
        // A public key of a type fitting `alg`: private members, symmetric keys and weak keys
        // are refused by the same rules as an issuer's keys.
        let key = VerifyingKey::from_jwk_bytes(jwk.get().as_bytes(), false)
            .map_err(|_| invalid("the DPoP proof's jwk is not an acceptable public key"))?;
        if !key.algorithms().contains(alg) {
            return Err(invalid("the DPoP proof's jwk does not fit its alg"));
        }
        key.verify(alg, segments.signing_input.as_bytes(), &signature)
            .map_err(|_| invalid("the DPoP proof's signature does not verify"))?;

        // Signed by the key it carries: now its claims.
        let claims: ProofClaims<'_> = crate::json::from_strict_slice(&payload)
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
        if super::origin::normalize(&htu).as_deref() != Some(target) {
            return Err(invalid("the DPoP proof is for another URL"));
        }
        let window = self.window as f64;
        let now_f = now as f64;
        if !iat.is_finite() || iat < now_f - window || iat > now_f + window {
            return Err(invalid("the DPoP proof's iat is outside the window"));
        }
        let ath = BASE64URL.encode(token_hash);
        if claims.ath.as_deref() != Some(ath.as_str()) {
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
        let thumbprint = jwk_thumbprint(jwk.get().as_bytes())
            .ok_or_else(|| invalid("the DPoP proof's jwk has no thumbprint"))?;
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(b"tokengate dpop jti\0");
        context.update(&thumbprint);
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
