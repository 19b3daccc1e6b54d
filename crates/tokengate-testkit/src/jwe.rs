//! Encrypted tokens for tests: a recipient key (RSA, EC P-256, X25519 or a shared secret) that
//! encrypts a signed JWT into a compact JWE, and the [`DecryptionKey`] a verifier needs for it.
//!
//! ```
//! use tokengate::keys::{ContentEncryption, KeyManagement};
//! use tokengate_testkit::jwe::Recipient;
//!
//! let recipient = Recipient::rsa();
//! let jwe = recipient.encrypt("a.b.c", KeyManagement::RsaOaep256, ContentEncryption::A256Gcm);
//! assert_eq!(jwe.matches('.').count(), 4);
//! // Verifier::builder().decryption_key(recipient.decryption_key())...
//! ```

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::cipher::{
    AES_128, AES_256, EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::key_wrap::{self, KeyEncryptionKey, KeyWrap};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey,
    PrivateDecryptingKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokengate::keys::{ContentEncryption, DecryptionKey, KeyManagement};

/// Who a token is encrypted for: the key pair (or secret) and its `kid`.
pub struct Recipient {
    key: Key,
    kid: Option<String>,
}

enum Key {
    Rsa(PrivateDecryptingKey),
    Ec(&'static agreement::Algorithm, PrivateKey),
    /// The key and its scalar (aws-lc-rs exports no X25519 PKCS#8).
    X25519(PrivateKey, Vec<u8>),
    Secret(Vec<u8>),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn random(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut out).expect("randomness");
    out
}

impl Recipient {
    /// A fresh RSA-2048 key pair.
    #[must_use]
    pub fn rsa() -> Recipient {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).expect("an RSA key");
        Recipient {
            key: Key::Rsa(key),
            kid: None,
        }
    }

    /// The RSA key in `pkcs8` (DER), for a benchmark that also decrypts with the bare primitive.
    ///
    /// # Panics
    /// When `pkcs8` is not an RSA private key of 2048 bits or more.
    #[must_use]
    pub fn from_rsa_pkcs8(pkcs8: &[u8]) -> Recipient {
        let key = PrivateDecryptingKey::from_pkcs8(pkcs8).expect("an RSA private key");
        Recipient {
            key: Key::Rsa(key),
            kid: None,
        }
    }

    /// A fresh P-256 key pair.
    #[must_use]
    pub fn ec_p256() -> Recipient {
        let key = PrivateKey::generate(&agreement::ECDH_P256).expect("a P-256 key");
        Recipient {
            key: Key::Ec(&agreement::ECDH_P256, key),
            kid: None,
        }
    }

    /// A fresh X25519 key pair.
    #[must_use]
    pub fn x25519() -> Recipient {
        let scalar = random(32);
        let key = PrivateKey::from_private_key(&agreement::X25519, &scalar).expect("an X25519 key");
        Recipient {
            key: Key::X25519(key, scalar),
            kid: None,
        }
    }

    /// A random shared secret of `len` bytes (16 or 32 for `A128KW`/`A256KW`; the content
    /// key's length for `dir`).
    #[must_use]
    pub fn secret(len: usize) -> Recipient {
        Recipient {
            key: Key::Secret(random(len)),
            kid: None,
        }
    }

    /// The shared secret `bytes` (fixed keys for fuzz seeds and golden files).
    #[must_use]
    pub fn from_secret(bytes: &[u8]) -> Recipient {
        Recipient {
            key: Key::Secret(bytes.to_vec()),
            kid: None,
        }
    }

    /// The `kid` put in every token's header and on the decryption key.
    #[must_use]
    pub fn with_kid(mut self, kid: &str) -> Recipient {
        self.kid = Some(kid.to_owned());
        self
    }

    /// The key a verifier decrypts with (its kind's default algorithms; `RSA-OAEP` added for
    /// RSA so both OAEP variants can be tested).
    ///
    /// # Panics
    /// Never for keys made here.
    #[must_use]
    pub fn decryption_key(&self) -> DecryptionKey {
        let key = match &self.key {
            Key::Rsa(rsa) => {
                let der = rsa.as_der().expect("PKCS#8");
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
                DecryptionKey::from_pem(&pem)
                    .expect("a valid key")
                    .algorithms([KeyManagement::RsaOaep256, KeyManagement::RsaOaep])
            }
            Key::X25519(_, scalar) => {
                let jwk = json!({"kty": "OKP", "crv": "X25519", "d": b64(scalar)});
                DecryptionKey::from_jwk(&jwk.to_string()).expect("a valid key")
            }
            Key::Ec(_, private) => {
                let der =
                    AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(private).expect("PKCS#8");
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
                DecryptionKey::from_pem(&pem).expect("a valid key")
            }
            Key::Secret(secret) => DecryptionKey::secret(secret.clone()),
        };
        match &self.kid {
            Some(kid) => key.kid(kid.clone()),
            None => key,
        }
    }

    /// `jwt` encrypted for this recipient: a compact JWE with `cty: JWT`.
    ///
    /// # Panics
    /// When `alg` does not fit the key (RSA for `RSA-OAEP*`, EC for `ECDH-ES*`, a secret for
    /// `A*KW`/`dir`).
    #[must_use]
    pub fn encrypt(&self, jwt: &str, alg: KeyManagement, enc: ContentEncryption) -> String {
        self.encrypt_with(jwt, alg, enc, &json!({}))
    }

    /// As [`encrypt`](Recipient::encrypt), with `extra` members in the protected header (to
    /// test refusals: `zip`, `crit`, another `cty`, another `kid`).
    ///
    /// # Panics
    /// As [`encrypt`](Recipient::encrypt).
    #[must_use]
    pub fn encrypt_with(
        &self,
        jwt: &str,
        alg: KeyManagement,
        enc: ContentEncryption,
        extra: &Value,
    ) -> String {
        let mut header = json!({"alg": alg.name(), "enc": enc.name(), "cty": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        let (cek, encrypted_key) = self.content_key(alg, enc, &mut header);
        if let (Some(header), Some(extra)) = (header.as_object_mut(), extra.as_object()) {
            for (name, value) in extra {
                header.insert(name.clone(), value.clone());
            }
        }
        let header_b64 = b64(header.to_string().as_bytes());
        let (iv, ciphertext, tag) = seal(enc, &cek, header_b64.as_bytes(), jwt.as_bytes());
        format!(
            "{header_b64}.{}.{}.{}.{}",
            b64(&encrypted_key),
            b64(&iv),
            b64(&ciphertext),
            b64(&tag)
        )
    }

    fn content_key(
        &self,
        alg: KeyManagement,
        enc: ContentEncryption,
        header: &mut Value,
    ) -> (Vec<u8>, Vec<u8>) {
        let ec = match &self.key {
            Key::Ec(curve, private) => Some((*curve, private)),
            Key::X25519(private, _) => Some((&agreement::X25519, private)),
            _ => None,
        };
        match (&self.key, alg) {
            (Key::Rsa(rsa), KeyManagement::RsaOaep256 | KeyManagement::RsaOaep) => {
                let cek = random(enc.key_len());
                let public = OaepPublicEncryptingKey::new(rsa.public_key()).expect("a public key");
                let oaep = if alg == KeyManagement::RsaOaep256 {
                    &OAEP_SHA256_MGF1SHA256
                } else {
                    &OAEP_SHA1_MGF1SHA1
                };
                let mut out = vec![0u8; public.ciphertext_size()];
                let wrapped = public
                    .encrypt(oaep, &cek, &mut out, None)
                    .expect("encrypted")
                    .to_vec();
                (cek, wrapped)
            }
            (
                Key::Ec(..) | Key::X25519(..),
                KeyManagement::EcdhEs | KeyManagement::EcdhEsA128Kw | KeyManagement::EcdhEsA256Kw,
            ) => {
                let (curve, private) = ec.expect("an ECDH key");
                let ephemeral = PrivateKey::generate(curve).expect("an ephemeral key");
                let public = ephemeral.compute_public_key().expect("its public key");
                let point = public.as_ref();
                header["epk"] = if curve == &agreement::X25519 {
                    json!({"kty": "OKP", "crv": "X25519", "x": b64(point)})
                } else {
                    let len = (point.len() - 1) / 2;
                    let crv = match len {
                        32 => "P-256",
                        48 => "P-384",
                        _ => "P-521",
                    };
                    json!({"kty": "EC", "crv": crv, "x": b64(&point[1..=len]), "y": b64(&point[1 + len..])})
                };
                let recipient = private
                    .compute_public_key()
                    .expect("the recipient's public key");
                let wrap_len = match alg {
                    KeyManagement::EcdhEsA128Kw => Some(16),
                    KeyManagement::EcdhEsA256Kw => Some(32),
                    _ => None,
                };
                let (algorithm_id, len) = match wrap_len {
                    Some(len) => (alg.name(), len),
                    None => (enc.name(), enc.key_len()),
                };
                let derived = agreement::agree(
                    &ephemeral,
                    UnparsedPublicKey::new(curve, recipient.as_ref()),
                    (),
                    |z| Ok(concat_kdf(z, algorithm_id, len)),
                )
                .expect("agreed");
                match wrap_len {
                    None => (derived, Vec::new()),
                    Some(_) => {
                        let cek = random(enc.key_len());
                        (cek.clone(), wrap(&derived, &cek))
                    }
                }
            }
            (Key::Secret(secret), KeyManagement::A128Kw | KeyManagement::A256Kw) => {
                let cek = random(enc.key_len());
                (cek.clone(), wrap(secret, &cek))
            }
            (Key::Secret(secret), KeyManagement::Dir) => (secret.clone(), Vec::new()),
            _ => panic!("{} does not fit this recipient's key", alg.name()),
        }
    }
}

/// RFC 7518 section 4.6.2's Concat KDF, without PartyUInfo and PartyVInfo.
fn concat_kdf(z: &[u8], algorithm_id: &str, len: usize) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend((algorithm_id.len() as u32).to_be_bytes());
    info.extend(algorithm_id.as_bytes());
    info.extend(0u32.to_be_bytes());
    info.extend(0u32.to_be_bytes());
    info.extend(((len * 8) as u32).to_be_bytes());
    let digest =
        aws_lc_rs::kdf::get_sskdf_digest_algorithm(aws_lc_rs::kdf::SskdfDigestAlgorithmId::Sha256)
            .expect("SHA-256");
    let mut out = vec![0u8; len];
    aws_lc_rs::kdf::sskdf_digest(digest, z, &info, &mut out).expect("derived");
    out
}

fn wrap(kek: &[u8], cek: &[u8]) -> Vec<u8> {
    let cipher = if kek.len() == 16 {
        &key_wrap::AES_128
    } else {
        &key_wrap::AES_256
    };
    let kek = KeyEncryptionKey::new(cipher, kek).expect("a key-wrap key");
    let mut out = vec![0u8; cek.len() + 8];
    kek.wrap(cek, &mut out).expect("wrapped").to_vec()
}

/// Authenticated encryption: IV, ciphertext, tag.
fn seal(
    enc: ContentEncryption,
    cek: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    match enc {
        ContentEncryption::A128Gcm | ContentEncryption::A256Gcm => {
            let algorithm = if enc == ContentEncryption::A128Gcm {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            let key = LessSafeKey::new(UnboundKey::new(algorithm, cek).expect("a GCM key"));
            let iv = random(12);
            let mut in_out = plaintext.to_vec();
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::try_assume_unique_for_key(&iv).expect("12 bytes"),
                    Aad::from(aad),
                    &mut in_out,
                )
                .expect("sealed");
            (iv, in_out, tag.as_ref().to_vec())
        }
        _ => {
            let half = cek.len() / 2;
            let (mac_key, enc_key) = cek.split_at(half);
            let iv = random(16);
            let cipher = if half == 16 { &AES_128 } else { &AES_256 };
            let key = PaddedBlockEncryptingKey::cbc_pkcs7(
                UnboundCipherKey::new(cipher, enc_key).expect("an AES key"),
            )
            .expect("a CBC key");
            let mut in_out = plaintext.to_vec();
            let iv_array: [u8; 16] = iv.clone().try_into().expect("16 bytes");
            key.less_safe_encrypt(
                &mut in_out,
                EncryptionContext::Iv128(FixedLength::from(iv_array)),
            )
            .expect("encrypted");
            let hmac = if half == 16 {
                aws_lc_rs::hmac::HMAC_SHA256
            } else {
                aws_lc_rs::hmac::HMAC_SHA512
            };
            let mut context =
                aws_lc_rs::hmac::Context::with_key(&aws_lc_rs::hmac::Key::new(hmac, mac_key));
            context.update(aad);
            context.update(&iv);
            context.update(&in_out);
            context.update(&(aad.len() as u64 * 8).to_be_bytes());
            let tag = context.sign().as_ref()[..half].to_vec();
            (iv, in_out, tag)
        }
    }
}
