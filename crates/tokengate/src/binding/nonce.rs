//! [`DpopNonces`]: server-issued DPoP nonces (RFC 9449 section 8), stateless and shareable.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::jws::BASE64URL;

/// Server-issued nonces that DPoP proofs must carry: they bound how long a proof made in
/// advance (by malware holding the client's key) stays usable.
///
/// A nonce is the current period's number with an HMAC over it: checking one needs no
/// storage, and every instance configured with the same secret issues and accepts the same
/// nonces — that is how several instances share them. A nonce is accepted during its period
/// and the next one, so a client always has at least one full period to use it. Rotation
/// follows the verifier's clock.
///
/// ```
/// use std::time::Duration;
/// use tokengate::dpop::DpopNonces;
/// // Every instance reads the same 32+ byte secret (from a secret store, not the code).
/// let nonces = DpopNonces::new([7u8; 32], Duration::from_secs(300)).unwrap();
/// # let _ = nonces;
/// ```
#[derive(Clone)]
pub struct DpopNonces {
    key: hmac::Key,
    period: u64,
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("period_secs", &self.period)
            .finish_non_exhaustive()
    }
}

/// Where DPoP nonces come from: [`DpopNonces`] (stateless, shared by a common secret), or
/// your own. Called on every DPoP request, so it must answer from memory.
pub trait NonceSource: Send + Sync + 'static {
    /// The nonce to hand out at `now` (in `DPoP-Nonce`).
    fn current(&self, now: u64) -> String;
    /// Whether a proof's `nonce` is acceptable at `now`.
    fn accepts(&self, nonce: &str, now: u64) -> bool;
}

impl NonceSource for DpopNonces {
    fn current(&self, now: u64) -> String {
        DpopNonces::current(self, now)
    }

    fn accepts(&self, nonce: &str, now: u64) -> bool {
        DpopNonces::accepts(self, nonce, now)
    }
}

/// Bytes of the HMAC kept in a nonce.
const TAG: usize = 16;

impl DpopNonces {
    /// Nonces keyed by `secret` (at least 32 bytes; the same on every instance), a new one
    /// every `period` (at least 10 s).
    ///
    /// # Errors
    /// [`ConfigErrorKind::WeakKey`] for a shorter secret; [`ConfigErrorKind::InvalidSetting`]
    /// for a period under 10 s.
    pub fn new(secret: impl AsRef<[u8]>, period: Duration) -> Result<DpopNonces, ConfigError> {
        let secret = secret.as_ref();
        if secret.len() < 32 {
            return Err(ConfigError::new(
                ConfigErrorKind::WeakKey,
                "the DPoP nonce secret must have at least 32 bytes",
            ));
        }
        if period < Duration::from_secs(10) {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidSetting,
                "the DPoP nonce period must be at least 10 s",
            ));
        }
        Ok(DpopNonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            period: period.as_secs(),
        })
    }

    /// Nonces keyed by a random secret: for a single instance (each instance would issue
    /// its own, refused by the others).
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidSetting`] for a period under 10 s.
    pub fn random(period: Duration) -> Result<DpopNonces, ConfigError> {
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| {
            ConfigError::new(ConfigErrorKind::InvalidSetting, "no random bytes available")
        })?;
        DpopNonces::new(secret, period)
    }

    /// The nonce to hand out at `now`.
    pub(crate) fn current(&self, now: u64) -> String {
        self.nonce(now / self.period)
    }

    /// Whether `nonce` is this period's or the previous one's.
    pub(crate) fn accepts(&self, nonce: &str, now: u64) -> bool {
        let Ok(bytes) = BASE64URL.decode(nonce) else {
            return false;
        };
        let Some((period, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let period = u64::from_be_bytes(*period);
        let current = now / self.period;
        if period != current && period.checked_add(1) != Some(current) {
            return false;
        }
        let expected = hmac::sign(&self.key, &period.to_be_bytes());
        tag.len() == TAG
            && aws_lc_rs::constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG], tag)
                .is_ok()
    }

    fn nonce(&self, period: u64) -> String {
        let tag = hmac::sign(&self.key, &period.to_be_bytes());
        let mut bytes = [0u8; 8 + TAG];
        bytes[..8].copy_from_slice(&period.to_be_bytes());
        bytes[8..].copy_from_slice(&tag.as_ref()[..TAG]);
        BASE64URL.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rotate_and_the_previous_one_stays_valid_for_a_period() {
        let nonces = DpopNonces::new([1u8; 32], Duration::from_secs(60)).unwrap();
        let first = nonces.current(1_000_020); // period 16_667
        assert!(nonces.accepts(&first, 1_000_030));
        let next = nonces.current(1_000_080);
        assert_ne!(first, next);
        assert!(nonces.accepts(&first, 1_000_080), "previous period");
        assert!(!nonces.accepts(&first, 1_000_140), "two periods later");
        assert!(!nonces.accepts(&next, 1_000_000), "a future nonce");
    }

    #[test]
    fn nonces_are_shared_by_secret_only() {
        let a = DpopNonces::new([1u8; 32], Duration::from_secs(60)).unwrap();
        let b = DpopNonces::new([1u8; 32], Duration::from_secs(60)).unwrap();
        let other = DpopNonces::new([2u8; 32], Duration::from_secs(60)).unwrap();
        let nonce = a.current(5_000);
        assert!(b.accepts(&nonce, 5_000));
        assert!(!other.accepts(&nonce, 5_000));
        assert!(!a.accepts("not-a-nonce", 5_000));
        assert!(!a.accepts("", 5_000));
        let mut forged = nonce.into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert!(!a.accepts(std::str::from_utf8(&forged).unwrap(), 5_000));
    }

    #[test]
    fn weak_settings_are_refused() {
        assert_eq!(
            DpopNonces::new([1u8; 16], Duration::from_secs(60))
                .unwrap_err()
                .kind(),
            ConfigErrorKind::WeakKey
        );
        assert_eq!(
            DpopNonces::new([1u8; 32], Duration::from_secs(1))
                .unwrap_err()
                .kind(),
            ConfigErrorKind::InvalidSetting
        );
    }
}
