//! Decryption keys for encrypted tokens: RSA and EC private keys (JWK, PEM) and shared
//! secrets, from configuration only — never from a token.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::agreement::{self, PrivateKey};
use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine;
use serde_json::Value;

use super::KeyManagement;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::jws::BASE64URL;

/// What a decryption key is.
pub(crate) enum Material {
    Rsa(OaepPrivateDecryptingKey),
    Ec(PrivateKey),
    Secret(Vec<u8>),
}

/// A key that decrypts encrypted access tokens (JWE): an RSA private key (`RSA-OAEP-256`, and
/// `RSA-OAEP` when named), an EC or X25519 private key (`ECDH-ES`, `ECDH-ES+A128KW`,
/// `ECDH-ES+A256KW`) or a shared secret (`A128KW`/`A256KW` by its length, and `dir`). A JWK's
/// `alg` narrows it to that algorithm; [`algorithms`](DecryptionKey::algorithms) names them
/// explicitly. Several keys rotate: a token's `kid` picks among them.
///
/// `Debug` shows the kind and `kid`, never key material.
///
/// ```
/// use tokengate::keys::{DecryptionKey, KeyManagement};
/// let key = DecryptionKey::secret(vec![7u8; 32]).kid("2026-12").algorithms([KeyManagement::A256Kw]);
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct DecryptionKey {
    material: Arc<Material>,
    kid: Option<String>,
    algorithms: Vec<KeyManagement>,
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &*self.material {
            Material::Rsa(_) => "RSA",
            Material::Ec(_) => "EC",
            Material::Secret(_) => "secret",
        };
        f.debug_struct("DecryptionKey")
            .field("kind", &kind)
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish()
    }
}

fn invalid(detail: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, detail)
}

impl DecryptionKey {
    fn new(material: Material) -> DecryptionKey {
        let algorithms = match &material {
            Material::Rsa(_) => vec![KeyManagement::RsaOaep256],
            Material::Ec(_) => vec![
                KeyManagement::EcdhEs,
                KeyManagement::EcdhEsA128Kw,
                KeyManagement::EcdhEsA256Kw,
            ],
            Material::Secret(secret) => match secret.len() {
                16 => vec![KeyManagement::A128Kw, KeyManagement::Dir],
                32 => vec![KeyManagement::A256Kw, KeyManagement::Dir],
                _ => vec![KeyManagement::Dir],
            },
        };
        DecryptionKey {
            material: Arc::new(material),
            kid: None,
            algorithms,
        }
    }

    /// A shared secret: `A128KW` (16 bytes), `A256KW` (32 bytes) and `dir` (the content key
    /// itself: 16, 32 or 64 bytes).
    #[must_use]
    pub fn secret(bytes: impl Into<Vec<u8>>) -> DecryptionKey {
        DecryptionKey::new(Material::Secret(bytes.into()))
    }

    /// A private key in PEM: PKCS#8 (`PRIVATE KEY`: RSA, or EC on P-256, P-384, P-521), PKCS#1
    /// (`RSA PRIVATE KEY`) or SEC 1 (`EC PRIVATE KEY`). RSA keys of at least 2048 bits.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidKey`] for anything else.
    pub fn from_pem(pem: &str) -> Result<DecryptionKey, ConfigError> {
        let block = pem::parse(pem).map_err(|_| invalid("not a PEM private key"))?;
        let der = block.contents();
        match block.tag() {
            "RSA PRIVATE KEY" => rsa_from_pkcs8(&pkcs8_from_pkcs1(der)),
            "PRIVATE KEY" => rsa_from_pkcs8(der).or_else(|_| ec_from_der(der)),
            "EC PRIVATE KEY" => ec_from_der(der),
            _ => Err(invalid(
                "a decryption key is a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
            )),
        }
    }

    /// A private JWK (`RSA` with its CRT parameters, `EC` on P-256/P-384/P-521, `OKP` X25519)
    /// or a secret one (`oct`). `use`, when present, must be `enc`; `alg`, when present, is the
    /// one algorithm the key serves; `kid` is kept.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidKey`] for a public key, a missing member or a weak key.
    pub fn from_jwk(jwk: &str) -> Result<DecryptionKey, ConfigError> {
        let value: Value = serde_json::from_str(jwk).map_err(|_| invalid("not a JSON JWK"))?;
        from_jwk_value(&value)
    }

    /// Every key of a JWK Set (`{"keys": [...]}`).
    ///
    /// # Errors
    /// As [`from_jwk`](DecryptionKey::from_jwk), for the first key that fails.
    pub fn from_jwks(jwks: &str) -> Result<Vec<DecryptionKey>, ConfigError> {
        let value: Value = serde_json::from_str(jwks).map_err(|_| invalid("not a JSON JWK Set"))?;
        value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("a JWK Set has a keys array"))?
            .iter()
            .map(from_jwk_value)
            .collect()
    }

    /// The keys of a key file, whatever it holds: a PEM private key, a JWK, or a JWK Set (told
    /// apart by content). For configuration files and the CLI.
    ///
    /// # Errors
    /// As [`from_pem`](DecryptionKey::from_pem), [`from_jwk`](DecryptionKey::from_jwk) and
    /// [`from_jwks`](DecryptionKey::from_jwks).
    pub fn from_file_text(text: &str) -> Result<Vec<DecryptionKey>, ConfigError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with("-----BEGIN") {
            DecryptionKey::from_pem(text).map(|key| vec![key])
        } else if serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("keys").is_some()) {
            DecryptionKey::from_jwks(text)
        } else {
            DecryptionKey::from_jwk(text).map(|key| vec![key])
        }
    }

    /// The key's `kid`: a token naming another `kid` is not tried with it.
    #[must_use]
    pub fn kid(mut self, kid: impl Into<String>) -> DecryptionKey {
        self.kid = Some(kid.into());
        self
    }

    /// The key management algorithms this key serves (instead of its kind's defaults).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = KeyManagement>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    pub(crate) fn allows(&self, alg: KeyManagement) -> bool {
        self.algorithms.contains(&alg)
    }

    pub(crate) fn kid_str(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn material(&self) -> &Material {
        &self.material
    }
}

fn rsa_from_pkcs8(der: &[u8]) -> Result<DecryptionKey, ConfigError> {
    let key =
        PrivateDecryptingKey::from_pkcs8(der).map_err(|_| invalid("not an RSA private key"))?;
    if key.key_size_bits() < 2048 {
        return Err(invalid("RSA decryption keys have at least 2048 bits"));
    }
    let oaep = OaepPrivateDecryptingKey::new(key).map_err(|_| invalid("not an RSA private key"))?;
    Ok(DecryptionKey::new(Material::Rsa(oaep)))
}

fn ec_from_der(der: &[u8]) -> Result<DecryptionKey, ConfigError> {
    for curve in [
        &agreement::ECDH_P256,
        &agreement::ECDH_P384,
        &agreement::ECDH_P521,
    ] {
        if let Ok(key) = PrivateKey::from_private_key_der(curve, der) {
            return Ok(DecryptionKey::new(Material::Ec(key)));
        }
    }
    Err(invalid(
        "not an RSA or EC (P-256, P-384, P-521) private key",
    ))
}

/// DER of one tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(content);
    out
}

/// A DER INTEGER of the unsigned big-endian `bytes`.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        if skip == bytes.len() {
            &[0]
        } else {
            &bytes[skip..]
        }
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend(trimmed);
    tlv(0x02, &content)
}

/// PKCS#8 `PrivateKeyInfo` around a PKCS#1 `RSAPrivateKey`.
fn pkcs8_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    // rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
    const RSA_ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut content = integer(&[0]);
    content.extend(RSA_ALGORITHM);
    content.extend(tlv(0x04, pkcs1));
    tlv(0x30, &content)
}

fn from_jwk_value(jwk: &Value) -> Result<DecryptionKey, ConfigError> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, ConfigError> {
        let value = text(name).ok_or_else(|| invalid("a private JWK member is missing"))?;
        BASE64URL
            .decode(value)
            .map_err(|_| invalid("a JWK member is not base64url"))
    };
    if text("use").is_some_and(|u| u != "enc") {
        return Err(invalid("a decryption JWK has use enc"));
    }
    let key = match text("kty") {
        Some("RSA") => {
            let mut rsa = integer(&[0]);
            for member in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
                rsa.extend(integer(&bytes(member)?));
            }
            rsa_from_pkcs8(&pkcs8_from_pkcs1(&tlv(0x30, &rsa)))?
        }
        Some("EC") | Some("OKP") => {
            let curve = match text("crv") {
                Some("P-256") => &agreement::ECDH_P256,
                Some("P-384") => &agreement::ECDH_P384,
                Some("P-521") => &agreement::ECDH_P521,
                Some("X25519") => &agreement::X25519,
                _ => return Err(invalid("ECDH keys are on P-256, P-384, P-521 or X25519")),
            };
            let private = PrivateKey::from_private_key(curve, &bytes("d")?)
                .map_err(|_| invalid("d is not a private key of the curve"))?;
            // The public part, when given, must be the private key's.
            if let Some(x) = text("x") {
                let public = private
                    .compute_public_key()
                    .map_err(|_| invalid("d is not a private key of the curve"))?;
                let mut expected = BASE64URL
                    .decode(x)
                    .map_err(|_| invalid("a JWK member is not base64url"))?;
                if curve != &agreement::X25519 {
                    let y = bytes("y")?;
                    expected.insert(0, 4);
                    expected.extend(y);
                }
                if public.as_ref() != expected.as_slice() {
                    return Err(invalid("x and y are not the public key of d"));
                }
            }
            DecryptionKey::new(Material::Ec(private))
        }
        Some("oct") => DecryptionKey::secret(bytes("k")?),
        _ => return Err(invalid("a decryption JWK is RSA, EC, OKP or oct")),
    };
    let key = match text("alg") {
        // A content encryption as a secret key's `alg`: the key is that content key (`dir`).
        Some(alg) if super::ContentEncryption::from_name(alg).is_some() => {
            key.algorithms([KeyManagement::Dir])
        }
        Some(alg) => {
            let alg = KeyManagement::from_name(alg)
                .ok_or_else(|| invalid("the JWK's alg is not one tokengate decrypts with"))?;
            key.algorithms([alg])
        }
        None => key,
    };
    Ok(match text("kid") {
        Some(kid) => key.kid(kid),
        None => key,
    })
}
