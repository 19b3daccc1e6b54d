//! Sender-constrained tokens: DPoP (RFC 9449) and mutual-TLS certificate binding (RFC 8705).
//!
//! A token whose claims (or introspection response) carry `cnf` is bound: to a key
//! (`cnf.jkt`, proven per request by a DPoP proof) or to a client certificate
//! (`cnf["x5t#S256"]`). The binding is read once, when the token is verified, and kept with
//! the verified claims (and so in the token cache); the proof and the certificate belong to
//! the request and are compared on every request, outside the cache. See
//! `docs/architecture.md`, "Sender-constrained tokens".
//!
//! - `dpop.rs`: [`Dpop`] settings and the proof check;
//! - `nonce.rs`: [`DpopNonces`];
//! - `origin.rs`: the URI the client used ([`TrustedProxies`]);
//! - this file: the `cnf` claim, client certificates, and the binding rules.

mod dpop;
mod nonce;
mod origin;

use std::fmt;

use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::jws::BASE64URL;

pub(crate) use dpop::Proof;
pub use dpop::{DEFAULT_DPOP_WINDOW, Dpop, MAX_DPOP_WINDOW};
pub use nonce::{DpopNonces, NonceSource};
pub use origin::TrustedProxies;
pub(crate) use origin::{request_target, single};

/// What a token is bound to: its `cnf` claim (RFC 7800), read after the signature verified.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Confirmation {
    /// `cnf.jkt`: the SHA-256 thumbprint of the DPoP key.
    jkt: Option<[u8; 32]>,
    /// `cnf["x5t#S256"]`: the SHA-256 of the client certificate (DER).
    x5t: Option<[u8; 32]>,
}

impl fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmation")
            .field("dpop", &self.jkt.is_some())
            .field("certificate", &self.x5t.is_some())
            .finish()
    }
}

#[derive(Deserialize)]
struct Cnf {
    jkt: Option<serde_json::Value>,
    #[serde(rename = "x5t#S256")]
    x5t: Option<serde_json::Value>,
}

fn sha256_member(value: Option<serde_json::Value>) -> Result<Option<[u8; 32]>, Error> {
    let Some(value) = value else { return Ok(None) };
    let bad = || Error::new(ErrorKind::InvalidClaim, "cnf holds a malformed thumbprint");
    let text = value.as_str().ok_or_else(bad)?;
    let bytes = BASE64URL.decode(text).map_err(|_| bad())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(Some)
        .map_err(|_| bad())
}

impl Confirmation {
    /// Reads a `cnf` member's raw JSON. A `cnf` naming neither a DPoP key nor a certificate
    /// (say, only `jwk` or `kid`) is kept as a binding nothing can satisfy: such a token is
    /// never admitted.
    pub(crate) fn parse(raw: &str) -> Result<Confirmation, Error> {
        let cnf: Cnf = serde_json::from_str(raw)
            .map_err(|_| Error::new(ErrorKind::InvalidClaim, "cnf is not an object"))?;
        match (sha256_member(cnf.jkt), sha256_member(cnf.x5t)) {
            (Ok(jkt), Ok(x5t)) => Ok(Confirmation { jkt, x5t }),
            // A malformed thumbprint binds the token to nothing that can be shown: keep it
            // bound, unsatisfiably (dropping one member would loosen the binding).
            _ => Ok(Confirmation {
                jkt: None,
                x5t: None,
            }),
        }
    }

    /// Whether the token is DPoP-bound.
    pub(crate) fn is_dpop(&self) -> bool {
        self.jkt.is_some()
    }
}

/// How one request presented its token: what the binding rules judge.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Presented {
    /// The `DPoP` scheme (else `Bearer` or an RFC 6750 alternative).
    pub(crate) dpop: bool,
    /// The SHA-256 thumbprint of the checked DPoP proof's key.
    pub(crate) proof_key: Option<[u8; 32]>,
    /// The SHA-256 of the client certificate.
    pub(crate) certificate: Option<[u8; 32]>,
}

impl Presented {
    /// A plain bearer token without a client certificate.
    pub(crate) const BEARER: Presented = Presented {
        dpop: false,
        proof_key: None,
        certificate: None,
    };
}

/// Which verifier admitted claims for a request, and how the request presented the token.
/// Kept with the claims an adapter stores for the request (not in the token cache: it belongs
/// to the request), so that an inner guard on the same request judges its own binding rules
/// (`require_dpop`) against what the request really showed, and trusts claims only from its
/// own verifier (`docs/security.md`, "Nested guards"). Two words: a plain bearer request (the
/// common case) keeps no presentation at all.
#[derive(Clone, Default)]
pub(crate) struct Provenance {
    /// The verifier that admitted the claims (0: none, e.g. claims from `Verifier::verify`,
    /// which sees no request).
    pub(crate) verifier: u64,
    /// What the request showed, unless it was [`Presented::BEARER`].
    shown: Option<std::sync::Arc<Presented>>,
    /// The token the request presented, kept for a token exchange when the verifier was
    /// asked to (`VerifierBuilder::keep_tokens_for_exchange`).
    token: Option<std::sync::Arc<str>>,
}

impl Provenance {
    /// Claims verified outside a request: no guard trusts them as already verified.
    pub(crate) const NONE: Provenance = Provenance {
        verifier: 0,
        shown: None,
        token: None,
    };

    /// Admitted by `verifier` for a request that showed `presented`.
    pub(crate) fn new(verifier: u64, presented: Presented) -> Provenance {
        Provenance {
            verifier,
            shown: (presented != Presented::BEARER).then(|| std::sync::Arc::new(presented)),
            token: None,
        }
    }

    /// The same, keeping the request's token (for a token exchange).
    pub(crate) fn with_token(mut self, token: Option<std::sync::Arc<str>>) -> Provenance {
        self.token = token;
        self
    }

    /// The token the request presented, when kept.
    #[cfg_attr(not(feature = "exchange"), allow(dead_code))]
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// What the request showed.
    pub(crate) fn presented(&self) -> Presented {
        self.shown.as_deref().copied().unwrap_or(Presented::BEARER)
    }
}

impl fmt::Debug for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provenance")
            .field("presented", &self.presented())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presented")
            .field("dpop", &self.dpop)
            .field("proof", &self.proof_key.is_some())
            .field("certificate", &self.certificate.is_some())
            .finish_non_exhaustive()
    }
}

/// The binding rules (RFC 9449 section 7.1, RFC 8705 section 3): a bound token only with its
/// key's proof or its certificate, never as a plain bearer token; the `DPoP` scheme only
/// with a DPoP-bound token; DPoP-bound tokens only when `dpop_required` says so.
pub(crate) fn check(
    confirmation: Option<&Confirmation>,
    presented: &Presented,
    dpop_required: bool,
) -> Result<(), Error> {
    let Some(cnf) = confirmation else {
        if presented.dpop {
            return Err(Error::new(
                ErrorKind::BindingMismatch,
                "a token without cnf was presented with the DPoP scheme",
            ));
        }
        if dpop_required {
            return Err(Error::new(
                ErrorKind::DpopRequired,
                "a bearer token where DPoP is required",
            ));
        }
        return Ok(());
    };
    if cnf.jkt.is_none() && cnf.x5t.is_none() {
        return Err(Error::new(
            ErrorKind::BoundToken,
            "the token is bound in a way tokengate cannot check",
        ));
    }
    if let Some(jkt) = &cnf.jkt {
        let Some(proof_key) = presented.proof_key.filter(|_| presented.dpop) else {
            return Err(Error::new(
                ErrorKind::BoundToken,
                "a DPoP-bound token was presented as a bearer token",
            ));
        };
        if !constant_eq(&proof_key, jkt) {
            return Err(Error::new(
                ErrorKind::BindingMismatch,
                "the DPoP proof's key is not the token's",
            ));
        }
    } else if dpop_required {
        return Err(Error::new(
            ErrorKind::DpopRequired,
            "a token not bound to a DPoP key where DPoP is required",
        ));
    } else if presented.dpop {
        return Err(Error::new(
            ErrorKind::BindingMismatch,
            "a token not bound to a DPoP key was presented with the DPoP scheme",
        ));
    }
    if let Some(x5t) = &cnf.x5t {
        match &presented.certificate {
            None => {
                return Err(Error::new(
                    ErrorKind::BindingMismatch,
                    "a certificate-bound token without a client certificate",
                ));
            }
            Some(certificate) if !constant_eq(certificate, x5t) => {
                return Err(Error::new(
                    ErrorKind::BindingMismatch,
                    "the client certificate is not the token's",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn constant_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The SHA-256 of a DER certificate (RFC 8705 section 3.1).
pub(crate) fn certificate_thumbprint(der: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A client certificate passed on by a TLS-terminating proxy in a header: URL-encoded PEM
/// (nginx `$ssl_client_escaped_cert`), PEM, or base64 DER. `None` when it is none of these.
pub(crate) fn certificate_from_header(value: &str) -> Option<Vec<u8>> {
    let decoded: String = percent_decode(value)?;
    let trimmed = decoded.trim();
    if trimmed.starts_with("-----BEGIN") {
        let pem = pem::parse(trimmed).ok()?;
        return (pem.tag() == "CERTIFICATE").then(|| pem.into_contents());
    }
    base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .ok()
        .filter(|der| !der.is_empty())
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA";

    fn bytes(text: &str) -> [u8; 32] {
        BASE64URL.decode(text).unwrap().try_into().unwrap()
    }

    #[test]
    fn cnf_is_read_strictly() {
        let cnf = Confirmation::parse(&format!(r#"{{"jkt":"{A}"}}"#)).unwrap();
        assert!(cnf.is_dpop());
        let cnf = Confirmation::parse(&format!(r#"{{"x5t#S256":"{A}"}}"#)).unwrap();
        assert!(!cnf.is_dpop());
        assert_eq!(
            Confirmation::parse("[]").unwrap_err().kind(),
            ErrorKind::InvalidClaim
        );
        // Malformed thumbprints bind to nothing showable: never satisfiable.
        let unsatisfiable = Confirmation {
            jkt: None,
            x5t: None,
        };
        for bad in [
            r#"{"jkt":"short"}"#,
            r#"{"jkt":7}"#,
            &format!(r#"{{"jkt":"{A}","x5t#S256":"AAAA"}}"#),
        ] {
            assert_eq!(Confirmation::parse(bad).unwrap(), unsatisfiable, "{bad}");
        }
    }

    #[test]
    fn binding_rules() {
        let bearer = Presented::BEARER;
        let dpop = |thumbprint| Presented {
            dpop: true,
            proof_key: Some(thumbprint),
            ..Presented::BEARER
        };
        let kind = |r: Result<(), Error>| r.map_err(|e| e.kind());
        let jkt = Confirmation::parse(&format!(r#"{{"jkt":"{A}"}}"#)).unwrap();
        let x5t = Confirmation::parse(&format!(r#"{{"x5t#S256":"{A}"}}"#)).unwrap();
        let unknown = Confirmation::parse(r#"{"kid":"k"}"#).unwrap();
        // Unbound tokens.
        assert_eq!(kind(check(None, &bearer, false)), Ok(()));
        assert_eq!(
            kind(check(None, &bearer, true)),
            Err(ErrorKind::DpopRequired)
        );
        assert_eq!(
            kind(check(None, &dpop(bytes(A)), false)),
            Err(ErrorKind::BindingMismatch)
        );
        // DPoP-bound.
        assert_eq!(
            kind(check(Some(&jkt), &bearer, false)),
            Err(ErrorKind::BoundToken)
        );
        assert_eq!(kind(check(Some(&jkt), &dpop(bytes(A)), true)), Ok(()));
        assert_eq!(
            kind(check(Some(&jkt), &dpop(bytes(B)), false)),
            Err(ErrorKind::BindingMismatch)
        );
        // Certificate-bound.
        let with_cert = |c: &str| Presented {
            certificate: Some(bytes(c)),
            ..Presented::BEARER
        };
        assert_eq!(kind(check(Some(&x5t), &with_cert(A), false)), Ok(()));
        assert_eq!(
            kind(check(Some(&x5t), &with_cert(B), false)),
            Err(ErrorKind::BindingMismatch)
        );
        assert_eq!(
            kind(check(Some(&x5t), &bearer, false)),
            Err(ErrorKind::BindingMismatch)
        );
        assert_eq!(
            kind(check(Some(&x5t), &with_cert(A), true)),
            Err(ErrorKind::DpopRequired)
        );
        // Bound to something tokengate cannot check.
        assert_eq!(
            kind(check(Some(&unknown), &dpop(bytes(A)), false)),
            Err(ErrorKind::BoundToken)
        );
    }

    #[test]
    fn proxy_certificates_are_read_in_each_form() {
        let der = b"\x30\x03\x02\x01\x01";
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        assert_eq!(certificate_from_header(&b64).unwrap(), der);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
        assert_eq!(certificate_from_header(&pem).unwrap(), der);
        let escaped = pem.replace('\n', "%0A").replace(' ', "%20");
        assert_eq!(certificate_from_header(&escaped).unwrap(), der);
        assert_eq!(certificate_from_header("%zz"), None);
        assert_eq!(
            certificate_from_header("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            None
        );
    }
}
