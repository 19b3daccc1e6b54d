//! JWS signature algorithms and the sets tokengate keeps of them.

use std::fmt;
use std::str::FromStr;

use crate::error::{ConfigError, ConfigErrorKind};

/// A JWS signature algorithm (RFC 7518 section 3, RFC 8037).
///
/// `none` is deliberately absent: tokengate never accepts unsigned tokens.
///
/// ```
/// use tokengate::Algorithm;
/// assert_eq!("ES256".parse::<Algorithm>().unwrap(), Algorithm::ES256);
/// assert!("none".parse::<Algorithm>().is_err());
/// assert!("hs256".parse::<Algorithm>().is_err()); // names are case-sensitive
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// EdDSA on Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The RSA algorithms (PKCS#1 v1.5 and PSS): what an RSA key verifies.
    pub const RSA: [Algorithm; 6] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ];

    /// The asymmetric algorithms: the default allowlist of an issuer.
    pub const ASYMMETRIC: [Algorithm; 10] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The `alg` header value, e.g. `"RS256"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The algorithm with this exact (case-sensitive) `alg` name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Some(match name {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "ES512" => Algorithm::ES512,
            "EdDSA" => Algorithm::EdDSA,
            _ => return None,
        })
    }

    /// Whether this is an HMAC (shared secret) algorithm.
    #[must_use]
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every name [`Algorithm::from_name`] accepts, for messages.
const NAMES: &str =
    "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA";

impl FromStr for Algorithm {
    type Err = ConfigError;

    /// Parses an algorithm name. Case-sensitive on purpose, like the JOSE registry (RFC 7515
    /// section 4.1.1) and the `alg` of tokens: the configured spelling is the one tokens carry.
    /// A name that differs only in case is refused with the right spelling in the message.
    ///
    /// ```
    /// use tokengate::Algorithm;
    /// assert_eq!("ES256".parse::<Algorithm>().unwrap(), Algorithm::ES256);
    /// let error = "es256".parse::<Algorithm>().unwrap_err();
    /// assert!(error.to_string().contains("did you mean ES256?"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if let Some(alg) = Algorithm::from_name(name) {
            return Ok(alg);
        }
        let other_case = NAMES
            .split(", ")
            .find(|known| known.eq_ignore_ascii_case(name));
        let message = match other_case {
            Some(known) => format!(
                "unknown algorithm {name:?}: names are case-sensitive, did you mean {known}?"
            ),
            None => format!("unknown algorithm {name:?}; valid names: {NAMES}"),
        };
        Err(ConfigError::new(ConfigErrorKind::UnknownAlgorithm, message))
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Algorithm::from_name(&name).ok_or_else(|| serde::de::Error::custom("unknown algorithm"))
    }
}

/// A small set of algorithms, stored as a bit mask.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// The empty set.
    pub const EMPTY: AlgorithmSet = AlgorithmSet(0);

    /// Whether `alg` is in the set.
    #[must_use]
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// The set with `alg` added.
    #[must_use]
    pub const fn with(self, alg: Algorithm) -> AlgorithmSet {
        AlgorithmSet(self.0 | alg.bit())
    }

    /// The algorithms in both sets.
    #[must_use]
    pub const fn intersection(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in [`Algorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter()
            .fold(AlgorithmSet::EMPTY, AlgorithmSet::with)
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()), Some(alg));
        }
        for name in ["none", "None", "NONE", "nOnE", "", "hs256", "ES256K", "RS1"] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
        // Every name in the messages' list parses, and an unknown name gets the list.
        for name in NAMES.split(", ") {
            assert!(name.parse::<Algorithm>().is_ok(), "{name}");
        }
        assert_eq!(NAMES.split(", ").count(), Algorithm::ALL.len());
        let error = "ES256K".parse::<Algorithm>().unwrap_err();
        assert_eq!(error.kind(), ConfigErrorKind::UnknownAlgorithm);
        assert!(error.to_string().contains(NAMES), "{error}");
        assert!(" RS256 ".parse::<Algorithm>().is_ok());
    }

    #[test]
    fn set_operations() {
        let set: AlgorithmSet = [Algorithm::RS256, Algorithm::EdDSA].into_iter().collect();
        assert!(set.contains(Algorithm::RS256) && set.contains(Algorithm::EdDSA));
        assert!(!set.contains(Algorithm::HS256));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Algorithm::RS256, Algorithm::EdDSA]
        );
        assert!(
            set.intersection(AlgorithmSet::EMPTY.with(Algorithm::HS256))
                .is_empty()
        );
    }
}
