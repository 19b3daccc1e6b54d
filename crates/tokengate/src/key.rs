// Over 600 lines: every key format (JWK, PEM, DER, raw secret) and its strength rules next to each other; a third of it is tests.
//! Verification keys: parsed and checked once when loaded, bound to the algorithms their type
//! allows, and never printed.
//!
//! ```
//! use tokengate::{Algorithm, keys::VerifyingKey};
//!
//! let key = VerifyingKey::hmac([7u8; 32]).unwrap();
//! assert!(key.algorithms().contains(Algorithm::HS256));
//! assert!(!key.algorithms().contains(Algorithm::HS512)); // 32 bytes is too short for HS512
//! assert!(VerifyingKey::hmac(b"short secret").is_err());
//! ```

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use der::Decode;
use der::Encode;
use serde::Deserialize;
use serde_json::value::RawValue;
use spki::ObjectIdentifier;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{ConfigError, ConfigErrorKind, Error, ErrorKind};
use crate::jws::BASE64URL;

/// The type of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// An HMAC shared secret.
    Hmac,
    /// An RSA public key.
    Rsa,
    /// An ECDSA P-256 public key.
    EcP256,
    /// An ECDSA P-384 public key.
    EcP384,
    /// An ECDSA P-521 public key.
    EcP521,
    /// An Ed25519 public key.
    Ed25519,
}

#[derive(Clone)]
enum Primitive {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
}

/// A key that verifies signatures: parsed once, checked for weakness, bound to the algorithms
/// its type allows (and to a JWK's `alg`, when it names one).
///
/// Its `Debug` output shows the key type and algorithms, never key material.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<Box<str>>,
    key_type: KeyType,
    primitives: Vec<(Algorithm, Primitive)>,
}

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

fn invalid(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, message)
}

fn weak(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::WeakKey, message)
}

fn forbidden(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::KeyUseForbidden, message)
}

impl VerifyingKey {
    /// An HMAC key for HS256, HS384 and HS512, each only if the secret is at least as long as
    /// the hash output (32, 48, 64 bytes).
    ///
    /// # Errors
    /// [`ConfigErrorKind::WeakKey`] for a secret shorter than 32 bytes;
    /// [`ConfigErrorKind::InvalidKey`] for bytes that are a public key (PEM, DER or JWK): using
    /// a public key as an HMAC secret is the classic algorithm-confusion mistake.
    pub fn hmac(secret: impl AsRef<[u8]>) -> Result<VerifyingKey, ConfigError> {
        let secret = secret.as_ref();
        if looks_like_public_key(secret) {
            return Err(invalid("an HMAC secret must not be a public key"));
        }
        if secret.len() < 32 {
            return Err(weak("an HMAC secret must be at least 32 bytes"));
        }
        let mut primitives = vec![(
            Algorithm::HS256,
            Primitive::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
        )];
        if secret.len() >= 48 {
            let key = hmac::Key::new(hmac::HMAC_SHA384, secret);
            primitives.push((Algorithm::HS384, Primitive::Hmac(Box::new(key))));
        }
        if secret.len() >= 64 {
            let key = hmac::Key::new(hmac::HMAC_SHA512, secret);
            primitives.push((Algorithm::HS512, Primitive::Hmac(Box::new(key))));
        }
        Ok(VerifyingKey {
            kid: None,
            key_type: KeyType::Hmac,
            primitives,
        })
    }

    /// A public key from PEM: `PUBLIC KEY` (SubjectPublicKeyInfo) for RSA, P-256, P-384, P-521
    /// and Ed25519, or `RSA PUBLIC KEY` (PKCS#1).
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidKey`] for anything else (certificates and private keys
    /// included); [`ConfigErrorKind::WeakKey`] for a weak key.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<VerifyingKey, ConfigError> {
        let pem = pem::parse(pem.as_ref()).map_err(|_| invalid("not a PEM document"))?;
        match pem.tag() {
            "PUBLIC KEY" => VerifyingKey::from_spki(pem.contents()),
            "RSA PUBLIC KEY" => VerifyingKey::rsa_from_pkcs1(pem.contents()),
            tag if tag.contains("PRIVATE") => {
                Err(invalid("a private key was given: give the public key"))
            }
            "CERTIFICATE" => Err(invalid(
                "certificates are not supported: give the public key",
            )),
            _ => Err(invalid(
                "unsupported PEM label: expected PUBLIC KEY or RSA PUBLIC KEY",
            )),
        }
    }

    /// A public key from DER: SubjectPublicKeyInfo, or a PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    /// As [`from_pem`](VerifyingKey::from_pem).
    pub fn from_der(der: impl AsRef<[u8]>) -> Result<VerifyingKey, ConfigError> {
        let der = der.as_ref();
        match spki::SubjectPublicKeyInfoRef::from_der(der) {
            Ok(_) => VerifyingKey::from_spki(der),
            Err(_) => VerifyingKey::rsa_from_pkcs1(der),
        }
    }

    /// A key from one JWK (RFC 7517). `kty` `RSA`, `EC` (P-256, P-384, P-521), `OKP` (Ed25519)
    /// and `oct` are understood; `kid` is kept; `alg`, `use` and `key_ops` are honoured.
    ///
    /// # Errors
    /// [`ConfigErrorKind::KeyUseForbidden`] when `use` is not `sig`, `key_ops` lacks `verify`,
    /// or `alg` names an algorithm this key cannot do; [`ConfigErrorKind::InvalidKey`] or
    /// [`ConfigErrorKind::WeakKey`] for a malformed or weak key.
    pub fn from_jwk(jwk: &str) -> Result<VerifyingKey, ConfigError> {
        VerifyingKey::from_jwk_bytes(jwk.as_bytes(), true)
    }

    /// Every usable key of a JWKS (`{"keys": [...]}`), as [`KeySource::jwks_json`] loads it:
    /// an unusable key is dropped (and logged at debug), HMAC keys are allowed.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidKey`] for a document that is not a strict JSON JWKS, or a set
    /// mixing HMAC secrets and public keys.
    ///
    /// [`KeySource::jwks_json`]: crate::KeySource::jwks_json
    pub fn from_jwks(jwks: &str) -> Result<Vec<VerifyingKey>, ConfigError> {
        parse_jwks(jwks.as_bytes(), true).map(|(keys, _)| keys)
    }

    pub(crate) fn from_jwk_bytes(
        jwk: &[u8],
        allow_symmetric: bool,
    ) -> Result<VerifyingKey, ConfigError> {
        if !crate::json::is_strict_json(jwk) {
            return Err(invalid(
                "a JWK must be a JSON object without duplicate members",
            ));
        }
        // Private members in any form (`"d": null`, or CRT members without `d`) mean private
        // material was published: refuse the key rather than pick the public half.
        let members: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(jwk).map_err(|_| invalid("malformed JWK"))?;
        if ["d", "p", "q", "dp", "dq", "qi", "oth"]
            .iter()
            .any(|name| members.contains_key(*name))
        {
            return Err(invalid(
                "the JWK holds private key members: publish only the public part",
            ));
        }
        let jwk: JwkFields = serde_json::from_slice(jwk).map_err(|_| invalid("malformed JWK"))?;
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(forbidden("the JWK's use is not sig"));
        }
        if jwk
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
        {
            return Err(forbidden("the JWK's key_ops do not include verify"));
        }
        let mut key = match jwk.kty.as_str() {
            "RSA" => {
                let n = b64_member(jwk.n.as_deref())?;
                let e = b64_member(jwk.e.as_deref())?;
                // RFC 7518 section 6.3.1: the minimal big-endian encoding, no leading zeros.
                if n.first() == Some(&0) || e.first() == Some(&0) {
                    return Err(invalid(
                        "an RSA JWK's n and e must not have leading zero octets",
                    ));
                }
                VerifyingKey::rsa_from_components(&n, &e)?
            }
            "EC" => {
                let (key_type, len) = match jwk.crv.as_deref() {
                    Some("P-256") => (KeyType::EcP256, 32),
                    Some("P-384") => (KeyType::EcP384, 48),
                    Some("P-521") => (KeyType::EcP521, 66),
                    _ => return Err(invalid("unsupported EC curve")),
                };
                let x = b64_member(jwk.x.as_deref())?;
                let y = b64_member(jwk.y.as_deref())?;
                if x.len() != len || y.len() != len {
                    return Err(invalid(
                        "EC coordinates have the wrong length for the curve",
                    ));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                VerifyingKey::ec_from_point(key_type, &point)?
            }
            "OKP" => {
                if jwk.crv.as_deref() != Some("Ed25519") {
                    return Err(invalid("unsupported OKP curve"));
                }
                VerifyingKey::ed25519(&b64_member(jwk.x.as_deref())?)?
            }
            "oct" if allow_symmetric => VerifyingKey::hmac(b64_member(jwk.k.as_deref())?)?,
            "oct" => {
                return Err(forbidden(
                    "symmetric keys are never taken from a remote key set",
                ));
            }
            _ => return Err(invalid("unsupported JWK kty")),
        };
        if let Some(alg) = jwk.alg.as_deref() {
            let alg = Algorithm::from_name(alg)
                .ok_or_else(|| forbidden("the JWK's alg is not a supported signature algorithm"))?;
            if !key.algorithms().contains(alg) {
                return Err(forbidden("the JWK's alg does not fit its key"));
            }
            key.primitives.retain(|(a, _)| *a == alg);
        }
        key.kid = jwk.kid.map(String::into_boxed_str);
        Ok(key)
    }

    /// The same key with key id `kid`, matched exactly against a token's `kid` header.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> VerifyingKey {
        self.kid = Some(kid.into().into_boxed_str());
        self
    }

    /// The key id, if any.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key type.
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The algorithms this key verifies.
    #[must_use]
    pub fn algorithms(&self) -> AlgorithmSet {
        self.primitives.iter().map(|(alg, _)| *alg).collect()
    }

    /// Keeps only the algorithms in `allowed`; `None` if none remains.
    pub(crate) fn restricted_to(mut self, allowed: AlgorithmSet) -> Option<VerifyingKey> {
        self.primitives.retain(|(alg, _)| allowed.contains(*alg));
        (!self.primitives.is_empty()).then_some(self)
    }

    /// Verifies `signature` over `message` with `alg`.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        let Some((_, primitive)) = self.primitives.iter().find(|(a, _)| *a == alg) else {
            return Err(Error::new(
                ErrorKind::DisallowedAlgorithm,
                "the key does not allow the algorithm",
            ));
        };
        let verified = match primitive {
            Primitive::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Primitive::Public(key) => key.verify_sig(message, signature).is_ok(),
        };
        if verified {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidSignature,
                "the signature does not verify",
            ))
        }
    }

    fn from_spki(der: &[u8]) -> Result<VerifyingKey, ConfigError> {
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| invalid("not a SubjectPublicKeyInfo"))?;
        let bits = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| invalid("the public key bit string is not whole bytes"))?;
        let oid = info.algorithm.oid;
        if oid == OID_RSA {
            VerifyingKey::rsa_from_pkcs1(bits)
        } else if oid == OID_EC {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| invalid("an EC key must name its curve"))?;
            let key_type = match curve {
                c if c == OID_P256 => KeyType::EcP256,
                c if c == OID_P384 => KeyType::EcP384,
                c if c == OID_P521 => KeyType::EcP521,
                _ => return Err(invalid("unsupported EC curve")),
            };
            VerifyingKey::ec_from_point(key_type, bits)
        } else if oid == OID_ED25519 {
            VerifyingKey::ed25519(bits)
        } else {
            Err(invalid("unsupported public key algorithm"))
        }
    }

    fn rsa_from_pkcs1(der: &[u8]) -> Result<VerifyingKey, ConfigError> {
        let key =
            pkcs1::RsaPublicKey::from_der(der).map_err(|_| invalid("not an RSA public key"))?;
        VerifyingKey::rsa_from_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    fn rsa_from_components(n: &[u8], e: &[u8]) -> Result<VerifyingKey, ConfigError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        // After stripping, the first byte is non-zero (at most 7 leading zero bits); an empty
        // modulus (`"n": ""`, or only zero bytes) has no bits at all.
        let bits = match n.first() {
            Some(first) => n.len() * 8 - first.leading_zeros() as usize,
            None => 0,
        };
        if bits < 2048 {
            return Err(weak("an RSA modulus must have at least 2048 bits"));
        }
        if bits > 8192 {
            return Err(invalid("an RSA modulus may have at most 8192 bits"));
        }
        // FIPS 186-5 section A.1.1: odd, and above 2^16 (e = 3 and friends invite attacks on
        // padding and low-exponent mistakes). Also below 2^32: FIPS allows up to 2^256, but no
        // provider uses more than 65537 and common verifiers (Go, Windows CNG) refuse them.
        let exponent = match e.len() {
            0..=4 => e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            _ => u64::MAX,
        };
        if exponent <= 1 << 16 || exponent >= 1 << 32 || exponent % 2 == 0 {
            return Err(weak(
                "the RSA public exponent must be odd, above 65536 and below 2^32",
            ));
        }
        if roca_fingerprint(n) {
            return Err(weak(
                "the RSA modulus has the ROCA fingerprint (CVE-2017-15361): it can be factored",
            ));
        }
        let encoded = pkcs1::RsaPublicKey {
            modulus: pkcs1::UintRef::new(n).map_err(|_| invalid("bad RSA modulus"))?,
            public_exponent: pkcs1::UintRef::new(e).map_err(|_| invalid("bad RSA exponent"))?,
        }
        .to_der()
        .map_err(|_| invalid("bad RSA public key"))?;
        let mut primitives = Vec::with_capacity(Algorithm::RSA.len());
        for alg in Algorithm::RSA {
            let parsed = ParsedPublicKey::new(verification_algorithm(alg), &encoded)
                .map_err(|_| invalid("the RSA public key was rejected"))?;
            primitives.push((alg, Primitive::Public(parsed)));
        }
        Ok(VerifyingKey {
            kid: None,
            key_type: KeyType::Rsa,
            primitives,
        })
    }

    fn ec_from_point(key_type: KeyType, point: &[u8]) -> Result<VerifyingKey, ConfigError> {
        let alg = match key_type {
            KeyType::EcP256 => Algorithm::ES256,
            KeyType::EcP384 => Algorithm::ES384,
            _ => Algorithm::ES512,
        };
        let parsed = ParsedPublicKey::new(verification_algorithm(alg), point)
            .map_err(|_| invalid("the EC point is not on the curve"))?;
        Ok(VerifyingKey {
            kid: None,
            key_type,
            primitives: vec![(alg, Primitive::Public(parsed))],
        })
    }

    fn ed25519(bytes: &[u8]) -> Result<VerifyingKey, ConfigError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("an Ed25519 public key has 32 bytes"))?;
        // RFC 8032 section 5.1.3: y (the low 255 bits, little-endian) must be below
        // p = 2^255 - 19; the 19 non-canonical encodings are refused.
        let top = bytes[31] & 0x7f;
        if top == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed {
            return Err(invalid("the Ed25519 public key is not canonically encoded"));
        }
        let point = curve25519_dalek::edwards::CompressedEdwardsY(bytes)
            .decompress()
            .ok_or_else(|| invalid("the Ed25519 public key is not a curve point"))?;
        if point.is_small_order() {
            return Err(weak("the Ed25519 public key has small order"));
        }
        let parsed = ParsedPublicKey::new(&sig::ED25519, bytes)
            .map_err(|_| invalid("the Ed25519 public key was rejected"))?;
        Ok(VerifyingKey {
            kid: None,
            key_type: KeyType::Ed25519,
            primitives: vec![(Algorithm::EdDSA, Primitive::Public(parsed))],
        })
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("key_type", &self.key_type)
            .field("algorithms", &self.algorithms())
            .field("has_kid", &self.kid.is_some())
            .finish_non_exhaustive()
    }
}

fn verification_algorithm(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            unreachable!("HMAC algorithms have no public-key verification algorithm")
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn b64_member(value: Option<&str>) -> Result<Vec<u8>, ConfigError> {
    let value = value.ok_or_else(|| invalid("a JWK member the key type needs is missing"))?;
    BASE64URL
        .decode(value)
        .map_err(|_| invalid("a JWK member is not unpadded base64url"))
}

/// Whether `secret` is really a public key: PEM, SubjectPublicKeyInfo / PKCS#1 DER, or a JWK.
fn looks_like_public_key(secret: &[u8]) -> bool {
    let trimmed = secret.trim_ascii_start();
    trimmed.starts_with(b"-----BEGIN")
        || spki::SubjectPublicKeyInfoRef::from_der(secret).is_ok()
        || pkcs1::RsaPublicKey::from_der(secret).is_ok()
        || (trimmed.starts_with(b"{")
            && serde_json::from_slice::<JwkFields>(trimmed).is_ok_and(|jwk| jwk.kty != "oct"))
}

#[derive(Deserialize)]
struct JwkFields {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK already accepted by
/// [`VerifyingKey::from_jwk_bytes`]: the required members, in lexicographic order, without
/// white space. Their values are base64url or fixed names (checked when the key was read), so
/// none needs escaping.
pub(crate) fn jwk_thumbprint(jwk: &[u8]) -> Option<[u8; 32]> {
    let jwk: JwkFields = serde_json::from_slice(jwk).ok()?;
    let canonical = match jwk.kty.as_str() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, jwk.e?, jwk.n?),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.crv?, jwk.x?, jwk.y?
        ),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, jwk.crv?, jwk.x?),
        _ => return None,
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    Some(out)
}

/// Whether a modulus (big-endian, no leading zeros) has the ROCA fingerprint
/// (CVE-2017-15361): the Infineon library built primes as `k * M + (65537^a mod M)` with `M` a
/// primorial, so for every small prime `r` dividing `M`, `n mod r` lies in the subgroup
/// generated by 65537 modulo `r`. Each subgroup is computed here from first principles (no
/// tables); a random modulus passes all 38 tests with a probability far below 2^-40.
pub(crate) fn roca_fingerprint(n: &[u8]) -> bool {
    // The odd primes up to 167: those of the primorial for 512- to 4096-bit keys that the
    // published detector tests.
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&r| {
        let residue = n
            .iter()
            .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % r);
        // Walk the powers of 65537 mod r until they cycle back to 1.
        let generator = 65537 % r;
        let mut power = 1u32;
        loop {
            if power == residue {
                return true;
            }
            power = power * generator % r;
            if power == 1 {
                return false;
            }
        }
    })
}

/// The keys of one issuer, as loaded at one moment. Readers hold it through an `Arc` swapped
/// lock-free when a remote source refreshes.
#[derive(Debug, Default)]
#[cfg_attr(not(feature = "remote"), allow(dead_code))] // static sets never expire
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
    /// Unique per set ever built: a cached verification is valid only for the set it used.
    pub(crate) generation: u64,
    /// Clock second from which a background refresh is due (~80 % of the TTL).
    refresh_at: u64,
    /// Clock second until which the keys are fresh (the TTL).
    fresh_until: u64,
    /// Clock second until which the keys may still be served (TTL plus the stale window).
    usable_until: u64,
}

impl KeySet {
    /// Every algorithm some key of the set verifies.
    pub(crate) fn algorithms(&self) -> AlgorithmSet {
        self.keys
            .iter()
            .flat_map(|key| key.algorithms().iter())
            .collect()
    }

    /// A static set: never refreshed, never stale.
    pub(crate) fn new(keys: Vec<VerifyingKey>) -> KeySet {
        KeySet {
            keys,
            generation: next_generation(),
            refresh_at: u64::MAX,
            fresh_until: u64::MAX,
            usable_until: u64::MAX,
        }
    }

    /// A fetched set, valid for `ttl` seconds from `now` and servable `max_stale` beyond.
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn timed(keys: Vec<VerifyingKey>, now: u64, ttl: u64, max_stale: u64) -> KeySet {
        KeySet {
            keys,
            generation: next_generation(),
            refresh_at: now + ttl * 4 / 5,
            fresh_until: now + ttl,
            usable_until: now + ttl + max_stale,
        }
    }

    /// An empty remote set that has never been fetched.
    #[cfg(feature = "remote")]
    pub(crate) fn unfetched() -> KeySet {
        KeySet {
            keys: Vec::new(),
            generation: next_generation(),
            refresh_at: 0,
            fresh_until: 0,
            usable_until: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn usable_at(&self, now: u64) -> bool {
        !self.keys.is_empty() && now < self.usable_until
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn fresh_at(&self, now: u64) -> bool {
        now < self.fresh_until
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn refresh_due(&self, now: u64) -> bool {
        now >= self.refresh_at
    }

    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// The keys other than `first` that carry `kid` and fit `alg` (duplicate kids).
    pub(crate) fn others_with_kid<'k>(
        &'k self,
        kid: &'k str,
        alg: Algorithm,
        first: &'k VerifyingKey,
    ) -> impl Iterator<Item = &'k VerifyingKey> + 'k {
        self.keys.iter().filter(move |k| {
            k.kid() == Some(kid) && k.algorithms().contains(alg) && !std::ptr::eq(*k, first)
        })
    }

    /// The key for a token:
    /// - with a `kid`: the key with exactly that kid; if no key has it, the one key *without* a
    ///   kid (a static PEM, DER or secret) that fits `alg`;
    /// - without a `kid`: the one key that fits `alg`.
    ///
    /// Either way the signature must still verify with a configured key.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&VerifyingKey, Error> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
                if named.peek().is_none() {
                    let unnamed = self.keys.iter().filter(|k| k.kid().is_none());
                    return only_one(unnamed, alg, "no key has the token's kid");
                }
                named.find(|k| k.algorithms().contains(alg)).ok_or_else(|| {
                    Error::new(
                        ErrorKind::DisallowedAlgorithm,
                        "the key does not allow the algorithm",
                    )
                })
            }
            None => only_one(self.keys.iter(), alg, "no key fits the algorithm"),
        }
    }
}

fn next_generation() -> u64 {
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The single key among `keys` that fits `alg`.
fn only_one<'k>(
    keys: impl Iterator<Item = &'k VerifyingKey>,
    alg: Algorithm,
    none: &'static str,
) -> Result<&'k VerifyingKey, Error> {
    let mut fitting = keys.filter(|k| k.algorithms().contains(alg));
    match (fitting.next(), fitting.next()) {
        (Some(key), None) => Ok(key),
        (None, _) => Err(Error::new(ErrorKind::UnknownKey, none)),
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::UnknownKey,
            "several keys fit the token's algorithm and no kid tells them apart",
        )),
    }
}

/// Parses a JWKS document. Keys that are malformed, weak or not for signatures are dropped one
/// by one (and logged at debug level without their material); the rest are returned.
///
/// # Errors
/// When the document itself is not a JWKS.
pub(crate) fn parse_jwks(
    json: &[u8],
    allow_symmetric: bool,
) -> Result<(Vec<VerifyingKey>, usize), ConfigError> {
    #[derive(Deserialize)]
    struct Jwks<'a> {
        #[serde(borrow)]
        keys: Vec<&'a RawValue>,
    }
    if !crate::json::is_strict_json(json) {
        return Err(invalid(
            "a JWKS must be a JSON object without duplicate members",
        ));
    }
    let jwks: Jwks<'_> = serde_json::from_slice(json)
        .map_err(|_| invalid("not a JWKS: expected {\"keys\": [...]}"))?;
    let mut keys = Vec::with_capacity(jwks.keys.len());
    let mut dropped = 0;
    #[derive(Deserialize)]
    struct Named<'a> {
        #[serde(borrow)]
        kid: Option<std::borrow::Cow<'a, str>>,
    }
    for raw in jwks.keys {
        match VerifyingKey::from_jwk_bytes(raw.get().as_bytes(), allow_symmetric) {
            Ok(key) => keys.push(key),
            Err(error) => {
                dropped += 1;
                // A published key's id is public metadata, never material: it says which key.
                let kid = serde_json::from_str::<Named<'_>>(raw.get())
                    .ok()
                    .and_then(|named| named.kid)
                    .unwrap_or_default();
                tracing::debug!(target: "tokengate::keys", kid = %kid, reason = %error, "dropped a key from a JWKS");
            }
        }
    }
    // HMAC secrets next to public keys in one set: which kind a token's `kid` meant is
    // ambiguous (Wycheproof's mixed-key-set vectors), and one issuer never needs both.
    let hmac = keys.iter().filter(|k| k.key_type == KeyType::Hmac).count();
    if hmac > 0 && hmac < keys.len() {
        return Err(invalid(
            "a JWKS mixes HMAC secrets and public keys: give each kind to its own issuer",
        ));
    }
    Ok((keys, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roca_fingerprint_is_rare_in_ordinary_moduli() {
        // 2,000 pseudo-random odd 2048-bit numbers: none has the fingerprint (a random number
        // passes each prime's test with probability |subgroup| / r, all 38 far below 2^-40).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let n: Vec<u8> = (0..256)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let mut n = n;
            n[0] |= 0x80;
            n[255] |= 1;
            assert!(!roca_fingerprint(&n));
        }
    }

    #[test]
    fn hmac_algorithms_follow_secret_length() {
        assert_eq!(
            VerifyingKey::hmac([1u8; 31]).unwrap_err().kind(),
            ConfigErrorKind::WeakKey
        );
        let algs = |n: usize| VerifyingKey::hmac(vec![1u8; n]).unwrap().algorithms();
        assert_eq!(algs(32).iter().collect::<Vec<_>>(), [Algorithm::HS256]);
        assert_eq!(
            algs(48).iter().collect::<Vec<_>>(),
            [Algorithm::HS256, Algorithm::HS384]
        );
        assert_eq!(algs(64).iter().count(), 3);
    }

    #[test]
    fn debug_shows_no_material() {
        let key = VerifyingKey::hmac(b"0123456789abcdef0123456789abcdef-secret")
            .unwrap()
            .with_kid("k1");
        let debug = format!("{key:?}");
        assert!(
            !debug.contains("0123456789") && !debug.contains("k1"),
            "{debug}"
        );
        assert!(debug.contains("Hmac"));
    }

    #[test]
    fn kid_lookup_is_exact() {
        let set = KeySet::new(vec![
            VerifyingKey::hmac([1u8; 32]).unwrap().with_kid("a"),
            VerifyingKey::hmac([2u8; 32]).unwrap().with_kid("b"),
        ]);
        assert_eq!(
            set.select(Some("a"), Algorithm::HS256).unwrap().kid(),
            Some("a")
        );
        for kid in ["A", "a ", "../a", "a\0", "", "a' OR '1'='1"] {
            assert_eq!(
                set.select(Some(kid), Algorithm::HS256).unwrap_err().kind(),
                ErrorKind::UnknownKey
            );
        }
        assert_eq!(
            set.select(Some("a"), Algorithm::HS512).unwrap_err().kind(),
            ErrorKind::DisallowedAlgorithm
        );
        assert_eq!(
            set.select(None, Algorithm::HS256).unwrap_err().kind(),
            ErrorKind::UnknownKey
        );
        let single = KeySet::new(vec![VerifyingKey::hmac([1u8; 32]).unwrap().with_kid("a")]);
        assert!(single.select(None, Algorithm::HS256).is_ok());
        // A key without kid serves any kid, but only when it is the one kid-less key that fits.
        let unnamed = KeySet::new(vec![VerifyingKey::hmac([1u8; 32]).unwrap()]);
        assert!(unnamed.select(Some("anything"), Algorithm::HS256).is_ok());
        let two_unnamed = KeySet::new(vec![
            VerifyingKey::hmac([1u8; 32]).unwrap(),
            VerifyingKey::hmac([2u8; 32]).unwrap(),
        ]);
        assert_eq!(
            two_unnamed
                .select(Some("anything"), Algorithm::HS256)
                .unwrap_err()
                .kind(),
            ErrorKind::UnknownKey
        );
        let mixed = KeySet::new(vec![
            VerifyingKey::hmac([1u8; 32]).unwrap().with_kid("a"),
            VerifyingKey::hmac([2u8; 32]).unwrap(),
        ]);
        assert!(std::ptr::eq(
            mixed.select(Some("zzz"), Algorithm::HS256).unwrap(),
            &mixed.keys[1]
        ));
    }
}
