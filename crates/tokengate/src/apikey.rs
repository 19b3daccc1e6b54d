//! Static API keys beside OAuth tokens (`docs/guide.md`, "API keys"), for service-to-service
//! callers and MCP users: configured as SHA-256 hashes of high-entropy keys, each with a label,
//! a principal, scopes and roles; presented as `Authorization: ApiKey <key>` or in a configured
//! header; admitted through the same pipeline as tokens, so scopes, roles and requirements
//! work unchanged (`docs/architecture.md`, "API keys").
//!
//! ```
//! use tokengate::apikey::{ApiKey, ApiKeys, generate};
//!
//! let generated = generate(); // what `tokengate apikey new` prints
//! let keys = ApiKeys::new()
//!     .key(ApiKey::from_hash("billing-job", "svc-billing", &generated.hash)?.scopes(["invoices:read"]))
//!     .header("x-api-key")?;
//! # let _ = keys;
//! # Ok::<(), tokengate::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine;
use http::HeaderName;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::jws::BASE64URL;
use crate::scopes::Scopes;

/// The issuer a key's claims name (`Verified::issuer`): no OAuth issuer made them.
pub const API_KEY_ISSUER: &str = "urn:tokengate:api-key";

/// The prefix of the keys [`generate`] makes (so that a leaked key is recognizable by secret
/// scanners).
pub const KEY_PREFIX: &str = "tgk_";

/// The least entropy a key given in clear may have, in bits (estimated from its length and
/// the classes of characters it uses).
pub const MIN_KEY_BITS: f64 = 128.0;

/// How a hash is written in configuration: `sha256:` and the digest in unpadded base64url.
const HASH_PREFIX: &str = "sha256:";

/// One configured key: its hash, label (which key, for logs and rotation), principal (the
/// `sub` of its requests), scopes and roles. Its `Debug` shows the label only.
#[derive(Clone)]
pub struct ApiKey {
    label: Arc<str>,
    principal: Arc<str>,
    hash: [u8; 32],
    scopes: Scopes,
    roles: Scopes,
    /// The claims its requests carry, as JSON (made when the verifier is built).
    claims: Arc<str>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

fn invalid(message: &'static str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidSetting, message)
}

impl ApiKey {
    /// A key known by its hash (`sha256:<base64url>`, as [`generate`] and `tokengate apikey new`
    /// print it). The key itself never needs to be in the configuration.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for an empty label or principal, or a hash that is not
    /// `sha256:` and 32 bytes of unpadded base64url.
    pub fn from_hash(label: &str, principal: &str, hash: &str) -> Result<ApiKey, ConfigError> {
        let digest = hash
            .strip_prefix(HASH_PREFIX)
            .and_then(|b64| BASE64URL.decode(b64).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                invalid("an API key hash is sha256: and 32 bytes of unpadded base64url")
            })?;
        ApiKey::new(label, principal, digest)
    }

    /// A key given in clear (tests, or a key read from a secret store), kept as its hash.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for a key with less than [`MIN_KEY_BITS`] of
    /// estimated entropy, with characters an `Authorization` header cannot carry, or an empty
    /// label or principal.
    pub fn from_key(label: &str, principal: &str, key: &str) -> Result<ApiKey, ConfigError> {
        if !key.bytes().all(is_key_byte) {
            return Err(invalid(
                "an API key is made of letters, digits and - . _ ~ + / only",
            ));
        }
        if estimated_bits(key) < MIN_KEY_BITS {
            return Err(invalid(
                "an API key needs at least 128 bits of entropy (use tokengate apikey new)",
            ));
        }
        ApiKey::new(label, principal, sha256(key))
    }

    fn new(label: &str, principal: &str, hash: [u8; 32]) -> Result<ApiKey, ConfigError> {
        if label.trim().is_empty() || principal.trim().is_empty() {
            return Err(invalid("an API key needs a label and a principal"));
        }
        Ok(ApiKey {
            label: label.into(),
            principal: principal.into(),
            hash,
            scopes: Scopes::default(),
            roles: Scopes::default(),
            claims: Arc::from(""),
        })
    }

    /// The scopes its requests have.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, scopes: I) -> ApiKey {
        self.scopes = Scopes::new(scopes);
        self
    }

    /// The roles its requests have.
    #[must_use]
    pub fn roles<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, roles: I) -> ApiKey {
        self.roles = Scopes::new(roles);
        self
    }

    /// Its label.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Its principal (the `sub` of its requests).
    #[must_use]
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The claims of its requests: `iss` [`API_KEY_ISSUER`], `sub` the principal, `scope`,
    /// `roles` and `api_key` (the label) — what a claims type reads, as from a token.
    pub(crate) fn claims_json(&self) -> &str {
        &self.claims
    }

    pub(crate) fn granted_scopes(&self) -> &Scopes {
        &self.scopes
    }

    pub(crate) fn granted_roles(&self) -> &Scopes {
        &self.roles
    }
}

/// The keys a verifier accepts, and where besides `Authorization: ApiKey` they may come from.
/// Several keys may name one principal (rotation: add the new key, move callers, remove the
/// old one).
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    keys: Vec<ApiKey>,
    header: Option<HeaderName>,
}

impl ApiKeys {
    /// No keys yet.
    #[must_use]
    pub fn new() -> ApiKeys {
        ApiKeys::default()
    }

    /// Accept this key.
    #[must_use]
    pub fn key(mut self, key: ApiKey) -> ApiKeys {
        self.keys.push(key);
        self
    }

    /// Also read a key from this header (e.g. `X-API-Key`), besides `Authorization: ApiKey`.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for a name that is not a valid header name, or one
    /// tokengate reads for other purposes (`Authorization`, `DPoP`, `Cookie`).
    pub fn header(mut self, name: &str) -> Result<ApiKeys, ConfigError> {
        let name = HeaderName::try_from(name).map_err(|_| invalid("not a valid header name"))?;
        if matches!(name.as_str(), "authorization" | "dpop" | "cookie" | "host") {
            return Err(invalid("the API key header must be a header of its own"));
        }
        self.header = Some(name);
        Ok(self)
    }

    /// The keys, for a verifier. Two keys with one hash are refused (the same key twice
    /// would be two principals).
    pub(crate) fn build(self) -> Result<ApiKeySet, ConfigError> {
        let mut by_hash = HashMap::with_capacity(self.keys.len());
        for mut key in self.keys {
            key.claims = serde_json::json!({
                "iss": API_KEY_ISSUER,
                "sub": &*key.principal,
                "scope": key.scopes.as_str(),
                "roles": key.roles.iter().collect::<Vec<_>>(),
                "api_key": &*key.label,
            })
            .to_string()
            .into();
            if by_hash.insert(key.hash, key).is_some() {
                return Err(invalid("two API keys have the same hash"));
            }
        }
        Ok(ApiKeySet {
            by_hash,
            header: self.header,
        })
    }
}

/// A verifier's API keys, by hash.
pub(crate) struct ApiKeySet {
    by_hash: HashMap<[u8; 32], ApiKey>,
    pub(crate) header: Option<HeaderName>,
}

impl ApiKeySet {
    /// The key whose hash is the presented key's. The map finds the candidate by the digest
    /// (which says nothing about any configured key); the digests are then compared in constant
    /// time.
    pub(crate) fn find(&self, presented: &str) -> Option<&ApiKey> {
        let digest = sha256(presented);
        let candidate = self.by_hash.get(&digest)?;
        aws_lc_rs::constant_time::verify_slices_are_equal(&candidate.hash, &digest)
            .ok()
            .map(|()| candidate)
    }
}

/// A fresh key and its hash line.
#[derive(Clone)]
#[non_exhaustive]
pub struct GeneratedKey {
    /// The key, to hand to the caller once (`tgk_` and 256 random bits).
    pub key: String,
    /// Its hash, for the configuration (`sha256:…`).
    pub hash: String,
}

impl fmt::Debug for GeneratedKey {
    /// The hash only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// A new key: [`KEY_PREFIX`] and 32 random bytes in base64url (256 bits), with its hash.
///
/// # Panics
/// When the system random generator fails.
#[must_use]
pub fn generate() -> GeneratedKey {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random generator");
    let key = format!("{KEY_PREFIX}{}", BASE64URL.encode(bytes));
    let hash = hash_of(&key);
    GeneratedKey { key, hash }
}

/// The configuration form of `key`'s hash: `sha256:<base64url>`.
#[must_use]
pub fn hash_of(key: &str) -> String {
    format!("{HASH_PREFIX}{}", BASE64URL.encode(sha256(key)))
}

fn sha256(key: &str) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// RFC 6750 `b64token` characters (what `Authorization: ApiKey` can carry), without `=`.
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// The entropy of `key` if each character were drawn at random from the classes it uses:
/// length × log2(size of those classes). [`KEY_PREFIX`] counts nothing. A generated key is
/// 256 bits; `"password1234"` is 62.
fn estimated_bits(key: &str) -> f64 {
    let key = key.strip_prefix(KEY_PREFIX).unwrap_or(key);
    let bytes = key.as_bytes();
    let hex = bytes.iter().all(u8::is_ascii_hexdigit);
    let mut alphabet = 0u32;
    if hex && bytes.iter().any(u8::is_ascii_alphabetic) {
        alphabet = 16;
    } else {
        if bytes.iter().any(u8::is_ascii_lowercase) {
            alphabet += 26;
        }
        if bytes.iter().any(u8::is_ascii_uppercase) {
            alphabet += 26;
        }
        if bytes.iter().any(u8::is_ascii_digit) {
            alphabet += 10;
        }
        if bytes.iter().any(|b| !b.is_ascii_alphanumeric()) {
            alphabet += 6;
        }
    }
    // A run of one repeated character is no randomness whatever its length.
    let distinct = {
        let mut seen = [false; 256];
        bytes.iter().for_each(|&b| seen[usize::from(b)] = true);
        seen.iter().filter(|s| **s).count()
    };
    if distinct < 8 {
        return 0.0;
    }
    bytes.len() as f64 * f64::from(alphabet.max(1)).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_256_bits_and_found_by_their_hash_only() {
        let generated = generate();
        assert!(generated.key.starts_with(KEY_PREFIX) && generated.key.len() == 4 + 43);
        assert!(estimated_bits(&generated.key) >= 250.0);
        let set = ApiKeys::new()
            .key(ApiKey::from_hash("job", "svc", &generated.hash).unwrap())
            .build()
            .unwrap();
        assert_eq!(set.find(&generated.key).unwrap().principal(), "svc");
        assert!(set.find(&generate().key).is_none());
        assert!(
            set.find(&generated.key[..generated.key.len() - 1])
                .is_none()
        );
        assert!(!format!("{generated:?}").contains(&generated.key));
    }

    #[test]
    fn weak_or_malformed_keys_and_hashes_are_refused_at_load() {
        let kind = |r: Result<ApiKey, ConfigError>| r.map(drop).unwrap_err().kind();
        for weak in [
            "password1234",
            "0123456789abcdef0123", // 20 hex digits: 80 bits
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "tgk_short",
            "Correct-Horse-9",
        ] {
            let error = ApiKey::from_key("l", "p", weak).unwrap_err();
            assert_eq!(error.kind(), ConfigErrorKind::InvalidSetting, "{weak}");
        }
        assert_eq!(
            kind(ApiKey::from_key(
                "l",
                "p",
                "has space in it and is long enough 1234567890"
            )),
            ConfigErrorKind::InvalidSetting
        );
        assert!(ApiKey::from_key("l", "p", &generate().key).is_ok());
        for bad in [
            "",
            "sha256:",
            "sha256:abc",
            "md5:xyz",
            &generate().hash[7..],
        ] {
            assert_eq!(
                kind(ApiKey::from_hash("l", "p", bad)),
                ConfigErrorKind::InvalidSetting,
                "{bad}"
            );
        }
        assert_eq!(
            kind(ApiKey::from_hash("", "p", &generate().hash)),
            ConfigErrorKind::InvalidSetting
        );
        assert_eq!(
            kind(ApiKey::from_hash("l", " ", &generate().hash)),
            ConfigErrorKind::InvalidSetting
        );
        let hash = generate().hash;
        let twice = ApiKeys::new()
            .key(ApiKey::from_hash("a", "p", &hash).unwrap())
            .key(ApiKey::from_hash("b", "q", &hash).unwrap())
            .build();
        assert_eq!(
            twice.map(drop).unwrap_err().kind(),
            ConfigErrorKind::InvalidSetting
        );
        for name in ["authorization", "dpop", "x api key"] {
            assert_eq!(
                ApiKeys::new().header(name).unwrap_err().kind(),
                ConfigErrorKind::InvalidSetting,
                "{name}"
            );
        }
    }
}
