//! Encrypted access tokens: compact JWE (RFC 7516) wrapping a signed JWT, decrypted with the
//! configured keys and then verified like any JWT (`docs/security.md`, "Encrypted tokens").
//!
//! Strict like the JWS path: five segments of canonical unpadded base64url, a protected header
//! of strict JSON; `zip`, `crit`, `RSA1_5`, `PBES2-*` and anything not configured are refused
//! before any key is used. A failure to decrypt — a key that does not open it, a wrong tag, bad
//! padding — is one error ([`ErrorKind::UndecryptableToken`]) whatever step failed, and an RSA
//! key that does not unwrap goes on with a random content key (RFC 7516 section 11.5), so the
//! answer and its timing do not tell an attacker which step failed.

mod keys;

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, UnparsedPublicKey};
use aws_lc_rs::cipher::{
    AES_128, AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::key_wrap::{self, KeyEncryptionKey, KeyWrap};
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256};
use base64::Engine;
use serde::Deserialize;

pub use keys::DecryptionKey;
use keys::Material;

use crate::error::{Error, ErrorKind};
use crate::jws::BASE64URL;

/// A JWE key management algorithm (`alg`). `RSA1_5`, `PBES2-*` and the AES-GCM key wraps are
/// not among them: they are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyManagement {
    /// `RSA-OAEP-256`: RSAES-OAEP with SHA-256 and MGF1 with SHA-256.
    RsaOaep256,
    /// `RSA-OAEP`: RSAES-OAEP with SHA-1 (what some providers still send).
    RsaOaep,
    /// `ECDH-ES`: the content key agreed directly (P-256, P-384, P-521, X25519).
    EcdhEs,
    /// `ECDH-ES+A128KW`.
    EcdhEsA128Kw,
    /// `ECDH-ES+A256KW`.
    EcdhEsA256Kw,
    /// `A128KW`: AES key wrap with a 128-bit shared key.
    A128Kw,
    /// `A256KW`: AES key wrap with a 256-bit shared key.
    A256Kw,
    /// `dir`: the shared key is the content key.
    Dir,
}

impl KeyManagement {
    /// The `alg` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            KeyManagement::RsaOaep256 => "RSA-OAEP-256",
            KeyManagement::RsaOaep => "RSA-OAEP",
            KeyManagement::EcdhEs => "ECDH-ES",
            KeyManagement::EcdhEsA128Kw => "ECDH-ES+A128KW",
            KeyManagement::EcdhEsA256Kw => "ECDH-ES+A256KW",
            KeyManagement::A128Kw => "A128KW",
            KeyManagement::A256Kw => "A256KW",
            KeyManagement::Dir => "dir",
        }
    }

    /// The algorithm named `name`, if it is one tokengate decrypts.
    #[must_use]
    pub fn from_name(name: &str) -> Option<KeyManagement> {
        [
            KeyManagement::RsaOaep256,
            KeyManagement::RsaOaep,
            KeyManagement::EcdhEs,
            KeyManagement::EcdhEsA128Kw,
            KeyManagement::EcdhEsA256Kw,
            KeyManagement::A128Kw,
            KeyManagement::A256Kw,
            KeyManagement::Dir,
        ]
        .into_iter()
        .find(|alg| alg.name() == name)
    }

    /// The AES key-wrap key length after ECDH-ES (bytes), or `None` for direct agreement.
    fn ecdh_wrap_len(self) -> Option<usize> {
        match self {
            KeyManagement::EcdhEsA128Kw => Some(16),
            KeyManagement::EcdhEsA256Kw => Some(32),
            _ => None,
        }
    }
}

/// A JWE content encryption algorithm (`enc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentEncryption {
    /// `A128GCM`.
    A128Gcm,
    /// `A256GCM`.
    A256Gcm,
    /// `A128CBC-HS256`: AES-128-CBC with HMAC-SHA-256, tag compared before decrypting.
    A128CbcHs256,
    /// `A256CBC-HS512`: AES-256-CBC with HMAC-SHA-512, tag compared before decrypting.
    A256CbcHs512,
}

impl ContentEncryption {
    /// Every content encryption tokengate decrypts (the default set).
    pub const ALL: [ContentEncryption; 4] = [
        ContentEncryption::A128Gcm,
        ContentEncryption::A256Gcm,
        ContentEncryption::A128CbcHs256,
        ContentEncryption::A256CbcHs512,
    ];

    /// The `enc` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ContentEncryption::A128Gcm => "A128GCM",
            ContentEncryption::A256Gcm => "A256GCM",
            ContentEncryption::A128CbcHs256 => "A128CBC-HS256",
            ContentEncryption::A256CbcHs512 => "A256CBC-HS512",
        }
    }

    /// The encryption named `name`, if it is one tokengate decrypts.
    #[must_use]
    pub fn from_name(name: &str) -> Option<ContentEncryption> {
        ContentEncryption::ALL
            .into_iter()
            .find(|enc| enc.name() == name)
    }

    /// The content key's length in bytes.
    #[must_use]
    pub fn key_len(self) -> usize {
        match self {
            ContentEncryption::A128Gcm => 16,
            ContentEncryption::A256Gcm | ContentEncryption::A128CbcHs256 => 32,
            ContentEncryption::A256CbcHs512 => 64,
        }
    }
}

/// The decryption a verifier is configured with: its keys (tried by `kid`) and the content
/// encryptions it accepts.
#[derive(Clone, Debug)]
pub(crate) struct Decryption {
    pub(crate) keys: Vec<DecryptionKey>,
    pub(crate) encryptions: Vec<ContentEncryption>,
}

/// The protected header members a JWE is judged by. Unknown members are ignored, as for a JWS;
/// those that change how it must be read (`zip`, `crit`) are refused.
#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    #[serde(default)]
    zip: Option<serde_json::Value>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    cty: Option<String>,
    #[serde(default)]
    epk: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    apu: Option<String>,
    #[serde(default)]
    apv: Option<String>,
}

fn malformed(detail: &'static str) -> Error {
    Error::new(ErrorKind::MalformedToken, detail)
}

fn undecryptable() -> Error {
    Error::new(
        ErrorKind::UndecryptableToken,
        "no configured key decrypts the token",
    )
}

fn decode(segment: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    crate::jws::decode_into(segment, &mut out)
        .map(|()| out)
        .map_err(|_| malformed("a segment is not canonical unpadded base64url"))
}

/// Whether `token` is shaped as a compact JWE (exactly five segments).
pub(crate) fn is_jwe(token: &str) -> bool {
    memchr::memchr_iter(b'.', token.as_bytes()).count() == 4
}

impl Decryption {
    /// Decrypts the compact JWE `token` into the signed JWT it carries.
    ///
    /// # Errors
    /// [`ErrorKind::MalformedToken`] for the shape, the encoding or the header;
    /// [`ErrorKind::UnsupportedToken`] for `zip`, `crit` or a payload that is not a JWT;
    /// [`ErrorKind::DisallowedAlgorithm`] for an `alg` or `enc` not configured (or never
    /// supported: `RSA1_5`, `PBES2-*`); [`ErrorKind::UndecryptableToken`] when no key opens it.
    pub(crate) fn decrypt(&self, token: &str) -> Result<String, Error> {
        let plaintext = self.open_token(token, true)?;
        let jwt = String::from_utf8(plaintext)
            .map_err(|_| malformed("the decrypted payload is not text"))?;
        if memchr::memchr_iter(b'.', jwt.as_bytes()).count() != 2 {
            return Err(Error::new(
                ErrorKind::UnsupportedToken,
                "the encrypted payload is not a signed JWT",
            ));
        }
        Ok(jwt)
    }

    /// The decrypted payload of `token`, whatever it is; with `require_jwt`, a header without
    /// `cty: JWT` is refused before any key is used.
    pub(crate) fn open_token(&self, token: &str, require_jwt: bool) -> Result<Vec<u8>, Error> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(key_b64), Some(iv_b64), Some(ciphertext_b64), Some(tag_b64)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(malformed("a compact JWE has exactly five segments"));
        };
        if parts.next().is_some()
            || header_b64.is_empty()
            || iv_b64.is_empty()
            || ciphertext_b64.is_empty()
            || tag_b64.is_empty()
        {
            return Err(malformed(
                "a compact JWE has five segments, four never empty",
            ));
        }
        let header_bytes = decode(header_b64)?;
        if !crate::json::is_strict_json(&header_bytes) {
            return Err(malformed(
                "the header is not a JSON object without duplicate members",
            ));
        }
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|_| malformed("the JWE header lacks alg or enc, or has the wrong types"))?;
        if header.zip.is_some() {
            return Err(Error::new(
                ErrorKind::UnsupportedToken,
                "compressed (zip) tokens are refused",
            ));
        }
        if header.crit.is_some() {
            return Err(Error::new(
                ErrorKind::UnsupportedToken,
                "header member crit is not supported",
            ));
        }
        let disallowed = |detail| Error::new(ErrorKind::DisallowedAlgorithm, detail);
        let alg = KeyManagement::from_name(&header.alg)
            .ok_or_else(|| disallowed("the JWE alg is not one tokengate decrypts"))?;
        let enc = ContentEncryption::from_name(&header.enc)
            .filter(|enc| self.encryptions.contains(enc))
            .ok_or_else(|| disallowed("the JWE enc is not configured"))?;
        if require_jwt
            && !header
                .cty
                .as_deref()
                .is_some_and(|cty| cty.eq_ignore_ascii_case("JWT"))
        {
            return Err(Error::new(
                ErrorKind::UnsupportedToken,
                "the encrypted payload is not a signed JWT (cty JWT)",
            ));
        }
        let candidates: Vec<&DecryptionKey> = self
            .keys
            .iter()
            .filter(|key| key.allows(alg))
            .filter(|key| match (&header.kid, key.kid_str()) {
                (Some(wanted), Some(kid)) => wanted == kid,
                (Some(_), None) | (None, _) => true,
            })
            .collect();
        if candidates.is_empty() {
            // No key for this alg or kid: the same answer as a key that does not open it.
            return Err(undecryptable());
        }
        let encrypted_key = decode(key_b64)?;
        let iv = decode(iv_b64)?;
        let ciphertext = decode(ciphertext_b64)?;
        let tag = decode(tag_b64)?;
        // The additional authenticated data is the encoded protected header (RFC 7516 5.2).
        let aad = header_b64.as_bytes();
        for key in candidates {
            let Ok(cek) = content_key(key, alg, enc, &header, &encrypted_key) else {
                continue;
            };
            if let Ok(plaintext) = open(enc, &cek, &iv, aad, &ciphertext, &tag) {
                return Ok(plaintext);
            }
        }
        Err(undecryptable())
    }
}

/// The content encryption key `key` yields for this token. An RSA key that does not unwrap
/// yields a random key of the right length (RFC 7516 section 11.5): decryption then fails at
/// the tag, as for any other wrong key.
fn content_key(
    key: &DecryptionKey,
    alg: KeyManagement,
    enc: ContentEncryption,
    header: &Header,
    encrypted_key: &[u8],
) -> Result<Vec<u8>, ()> {
    match (alg, key.material()) {
        (KeyManagement::RsaOaep256 | KeyManagement::RsaOaep, Material::Rsa(rsa)) => {
            let oaep = if alg == KeyManagement::RsaOaep256 {
                &OAEP_SHA256_MGF1SHA256
            } else {
                &OAEP_SHA1_MGF1SHA1
            };
            let mut out = vec![0u8; rsa.min_output_size()];
            match rsa.decrypt(oaep, encrypted_key, &mut out, None) {
                Ok(cek) if cek.len() == enc.key_len() => Ok(cek.to_vec()),
                _ => {
                    let mut random = vec![0u8; enc.key_len()];
                    aws_lc_rs::rand::fill(&mut random).map_err(|_| ())?;
                    Ok(random)
                }
            }
        }
        (
            KeyManagement::EcdhEs | KeyManagement::EcdhEsA128Kw | KeyManagement::EcdhEsA256Kw,
            Material::Ec(private),
        ) => {
            let epk = header.epk.as_ref().ok_or(())?;
            let public = ephemeral_public_key(epk, private.algorithm())?;
            let (algorithm_id, key_len) = match alg.ecdh_wrap_len() {
                Some(len) => (alg.name(), len),
                None => (enc.name(), enc.key_len()),
            };
            let apu = optional_b64(header.apu.as_deref())?;
            let apv = optional_b64(header.apv.as_deref())?;
            let derived = agreement::agree(
                private,
                UnparsedPublicKey::new(private.algorithm(), public),
                (),
                |z| concat_kdf(z, algorithm_id, &apu, &apv, key_len),
            )?;
            match alg.ecdh_wrap_len() {
                None if encrypted_key.is_empty() => Ok(derived),
                None => Err(()),
                Some(_) => unwrap_key(&derived, encrypted_key, enc),
            }
        }
        (KeyManagement::A128Kw | KeyManagement::A256Kw, Material::Secret(secret)) => {
            let expected = if alg == KeyManagement::A128Kw { 16 } else { 32 };
            if secret.len() != expected {
                return Err(());
            }
            unwrap_key(secret, encrypted_key, enc)
        }
        (KeyManagement::Dir, Material::Secret(secret)) => {
            if !encrypted_key.is_empty() || secret.len() != enc.key_len() {
                return Err(());
            }
            Ok(secret.to_vec())
        }
        _ => Err(()),
    }
}

/// The ephemeral public key of an ECDH-ES header, in the encoding aws-lc-rs parses (an
/// uncompressed point, or X25519's 32 bytes) — on the private key's curve, with coordinates of
/// exactly the curve's length. aws-lc-rs then checks the point is on the curve (invalid-curve
/// attacks).
fn ephemeral_public_key(
    epk: &serde_json::Map<String, serde_json::Value>,
    curve: &'static agreement::Algorithm,
) -> Result<Vec<u8>, ()> {
    let text = |name: &str| epk.get(name).and_then(serde_json::Value::as_str).ok_or(());
    let coordinate = |name: &str, len: usize| {
        let bytes = BASE64URL.decode(text(name)?).map_err(|_| ())?;
        if bytes.len() == len {
            Ok(bytes)
        } else {
            Err(())
        }
    };
    let (kty, crv) = (text("kty")?, text("crv")?);
    let (expected_crv, len) = if curve == &agreement::ECDH_P256 {
        ("P-256", 32)
    } else if curve == &agreement::ECDH_P384 {
        ("P-384", 48)
    } else if curve == &agreement::ECDH_P521 {
        ("P-521", 66)
    } else {
        ("X25519", 32)
    };
    if crv != expected_crv {
        return Err(());
    }
    if expected_crv == "X25519" {
        if kty != "OKP" {
            return Err(());
        }
        return coordinate("x", 32);
    }
    if kty != "EC" {
        return Err(());
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(4);
    point.extend(coordinate("x", len)?);
    point.extend(coordinate("y", len)?);
    Ok(point)
}

fn optional_b64(value: Option<&str>) -> Result<Vec<u8>, ()> {
    value.map_or(Ok(Vec::new()), |v| BASE64URL.decode(v).map_err(|_| ()))
}

/// The Concat KDF of RFC 7518 section 4.6.2 (NIST SP 800-56A single-step, SHA-256): aws-lc-rs's
/// SSKDF over `AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo`.
fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Result<Vec<u8>, ()> {
    let mut info = Vec::with_capacity(16 + algorithm_id.len() + apu.len() + apv.len());
    for part in [algorithm_id.as_bytes(), apu, apv] {
        info.extend(u32::try_from(part.len()).map_err(|_| ())?.to_be_bytes());
        info.extend(part);
    }
    info.extend(u32::try_from(key_len * 8).map_err(|_| ())?.to_be_bytes());
    let digest =
        aws_lc_rs::kdf::get_sskdf_digest_algorithm(aws_lc_rs::kdf::SskdfDigestAlgorithmId::Sha256)
            .ok_or(())?;
    let mut out = vec![0u8; key_len];
    aws_lc_rs::kdf::sskdf_digest(digest, z, &info, &mut out).map_err(|_| ())?;
    Ok(out)
}

/// AES key unwrap (RFC 3394) of `wrapped` with `kek`, into a content key for `enc`.
fn unwrap_key(kek: &[u8], wrapped: &[u8], enc: ContentEncryption) -> Result<Vec<u8>, ()> {
    if wrapped.len() != enc.key_len() + 8 {
        return Err(());
    }
    let cipher = match kek.len() {
        16 => &key_wrap::AES_128,
        32 => &key_wrap::AES_256,
        _ => return Err(()),
    };
    let kek = KeyEncryptionKey::new(cipher, kek).map_err(|_| ())?;
    let mut out = vec![0u8; wrapped.len()];
    let cek = kek.unwrap(wrapped, &mut out).map_err(|_| ())?;
    Ok(cek.to_vec())
}

/// Authenticated decryption of the content.
fn open(
    enc: ContentEncryption,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, ()> {
    if cek.len() != enc.key_len() {
        return Err(());
    }
    match enc {
        ContentEncryption::A128Gcm | ContentEncryption::A256Gcm => {
            // A 96-bit IV and a full 128-bit tag, nothing shorter.
            if iv.len() != 12 || tag.len() != 16 {
                return Err(());
            }
            let algorithm = if enc == ContentEncryption::A128Gcm {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            let key = LessSafeKey::new(UnboundKey::new(algorithm, cek).map_err(|_| ())?);
            let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| ())?;
            let mut in_out = Vec::with_capacity(ciphertext.len() + tag.len());
            in_out.extend_from_slice(ciphertext);
            in_out.extend_from_slice(tag);
            let plaintext = key
                .open_in_place(nonce, Aad::from(aad), &mut in_out)
                .map_err(|_| ())?;
            let len = plaintext.len();
            in_out.truncate(len);
            Ok(in_out)
        }
        ContentEncryption::A128CbcHs256 | ContentEncryption::A256CbcHs512 => {
            let half = cek.len() / 2;
            let (mac_key, enc_key) = cek.split_at(half);
            if iv.len() != 16 || tag.len() != half {
                return Err(());
            }
            let hmac = if enc == ContentEncryption::A128CbcHs256 {
                aws_lc_rs::hmac::HMAC_SHA256
            } else {
                aws_lc_rs::hmac::HMAC_SHA512
            };
            let mut context =
                aws_lc_rs::hmac::Context::with_key(&aws_lc_rs::hmac::Key::new(hmac, mac_key));
            context.update(aad);
            context.update(iv);
            context.update(ciphertext);
            context.update(&(aad.len() as u64 * 8).to_be_bytes());
            let mac = context.sign();
            // The tag first, in constant time; nothing is decrypted for a wrong one.
            aws_lc_rs::constant_time::verify_slices_are_equal(&mac.as_ref()[..half], tag)
                .map_err(|_| ())?;
            let cipher = if half == 16 { &AES_128 } else { &AES_256 };
            let key = PaddedBlockDecryptingKey::cbc_pkcs7(
                UnboundCipherKey::new(cipher, enc_key).map_err(|_| ())?,
            )
            .map_err(|_| ())?;
            let iv: [u8; 16] = iv.try_into().map_err(|_| ())?;
            let mut in_out = ciphertext.to_vec();
            let len = key
                .decrypt(&mut in_out, DecryptionContext::Iv128(FixedLength::from(iv)))
                .map_err(|_| ())?
                .len();
            in_out.truncate(len);
            Ok(in_out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7516 appendix A.3: `A128KW` with `A128CBC-HS256`, plaintext
    /// "Live long and prosper.".
    const RFC7516_A3: &str = "eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ.AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.U0m_YmjN04DJvceFICbCVQ";

    fn a3_parts() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, &'static str) {
        let parts: Vec<&str> = RFC7516_A3.split('.').collect();
        (
            decode(parts[1]).unwrap(),
            decode(parts[2]).unwrap(),
            decode(parts[3]).unwrap(),
            decode(parts[4]).unwrap(),
            parts[0],
        )
    }

    fn header(json: &str) -> Header {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_rfc_7516_a3_example_decrypts() {
        let key = DecryptionKey::secret(decode("GawgguFyGrWKav7AX4VKUg").unwrap());
        let (wrapped, iv, ciphertext, tag, aad) = a3_parts();
        let h = header(r#"{"alg":"A128KW","enc":"A128CBC-HS256"}"#);
        let cek = content_key(
            &key,
            KeyManagement::A128Kw,
            ContentEncryption::A128CbcHs256,
            &h,
            &wrapped,
        )
        .unwrap();
        let plaintext = open(
            ContentEncryption::A128CbcHs256,
            &cek,
            &iv,
            aad.as_bytes(),
            &ciphertext,
            &tag,
        )
        .unwrap();
        assert_eq!(plaintext, b"Live long and prosper.");
        // A flipped tag bit, or another header as the AAD: nothing is decrypted.
        let mut bad_tag = tag.clone();
        bad_tag[0] ^= 1;
        assert!(
            open(
                ContentEncryption::A128CbcHs256,
                &cek,
                &iv,
                aad.as_bytes(),
                &ciphertext,
                &bad_tag
            )
            .is_err()
        );
        assert!(
            open(
                ContentEncryption::A128CbcHs256,
                &cek,
                &iv,
                b"eyJ9",
                &ciphertext,
                &tag
            )
            .is_err()
        );
        // A short tag is never compared.
        assert!(
            open(
                ContentEncryption::A128CbcHs256,
                &cek,
                &iv,
                aad.as_bytes(),
                &ciphertext,
                &tag[..8]
            )
            .is_err()
        );
    }

    #[test]
    fn the_example_is_refused_as_a_token_it_carries_no_signed_jwt() {
        let decryption = Decryption {
            keys: vec![DecryptionKey::secret(
                decode("GawgguFyGrWKav7AX4VKUg").unwrap(),
            )],
            encryptions: ContentEncryption::ALL.to_vec(),
        };
        let error = decryption.decrypt(RFC7516_A3).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnsupportedToken, "no cty: JWT");
    }

    #[test]
    fn gcm_needs_a_96_bit_iv_and_a_full_tag() {
        let cek = [1u8; 16];
        assert!(
            open(
                ContentEncryption::A128Gcm,
                &cek,
                &[0; 16],
                b"a",
                b"x",
                &[0; 16]
            )
            .is_err()
        );
        assert!(
            open(
                ContentEncryption::A128Gcm,
                &cek,
                &[0; 12],
                b"a",
                b"x",
                &[0; 12]
            )
            .is_err()
        );
        assert!(
            open(
                ContentEncryption::A128Gcm,
                &[1u8; 32],
                &[0; 12],
                b"a",
                b"x",
                &[0; 16]
            )
            .is_err()
        );
    }

    #[test]
    fn the_concat_kdf_matches_rfc_7518_appendix_c() {
        // RFC 7518 appendix C: ECDH-ES with A128GCM, apu "Alice", apv "Bob".
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 16).unwrap();
        assert_eq!(
            key,
            [
                86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26
            ]
        );
    }
}
