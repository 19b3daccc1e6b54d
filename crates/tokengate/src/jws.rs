//! Compact JWS: segment rules, strict base64url, and the strict protected header.

use std::borrow::Cow;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::json::{HeaderView, Loose};

/// Unpadded base64url that refuses padding, the standard alphabet and non-canonical trailing
/// bits, so every byte string has exactly one accepted spelling.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// The three segments of a compact JWS, still encoded.
pub(crate) struct Segments<'t> {
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'t str,
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
}

/// Splits a compact JWS into its segments.
pub(crate) fn split(token: &str) -> Result<Segments<'_>, Error> {
    if token.starts_with('{') {
        return Err(Error::new(
            ErrorKind::UnsupportedToken,
            "JWS JSON serialization is not supported",
        ));
    }
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    let (first, second) = match (
        dots.next(),
        dots.next(),
        dots.next(),
        dots.next(),
        dots.next(),
    ) {
        (Some(first), Some(second), None, _, _) => (first, second),
        (Some(_), Some(_), Some(_), Some(_), None) => {
            return Err(Error::new(
                ErrorKind::UnsupportedToken,
                "encrypted tokens (JWE) are not supported",
            ));
        }
        _ => {
            return Err(Error::new(
                ErrorKind::MalformedToken,
                "a compact JWS has exactly three segments",
            ));
        }
    };
    let (signing_input, signature) = (&token[..second], &token[second + 1..]);
    let (header, payload) = (&token[..first], &token[first + 1..second]);
    if header.is_empty() || payload.is_empty() {
        return Err(Error::new(
            ErrorKind::MalformedToken,
            "empty header or payload segment",
        ));
    }
    Ok(Segments {
        signing_input,
        header,
        payload,
        signature,
    })
}

/// Decodes one base64url segment, appending to `buf`.
pub(crate) fn decode_into(segment: &str, buf: &mut Vec<u8>) -> Result<(), Error> {
    BASE64URL.decode_vec(segment, buf).map_err(|_| {
        Error::new(
            ErrorKind::MalformedToken,
            "a segment is not canonical unpadded base64url",
        )
    })
}

/// Decodes one base64url segment into the start of `out`, returning the decoded length. `out`
/// must have room for `(segment.len() + 3) / 4 * 3` bytes.
pub(crate) fn decode_slice(segment: &str, out: &mut [u8]) -> Result<usize, Error> {
    BASE64URL.decode_slice(segment, out).map_err(|_| {
        Error::new(
            ErrorKind::MalformedToken,
            "a segment is not canonical unpadded base64url",
        )
    })
}

/// The protected header members tokengate acts on.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
}

/// Parses and checks the decoded protected header.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, Error> {
    let view = HeaderView::parse(bytes).map_err(|_| {
        Error::new(
            ErrorKind::MalformedToken,
            "the header is not a JSON object without duplicate members",
        )
    })?;
    if view.crit {
        return Err(Error::new(
            ErrorKind::UnsupportedToken,
            "header member crit is not supported",
        ));
    }
    if view.b64 {
        return Err(Error::new(
            ErrorKind::UnsupportedToken,
            "header member b64 is not supported",
        ));
    }
    let alg = match view.alg {
        Some(Loose::Str(name)) => Algorithm::from_name(&name).ok_or_else(|| {
            Error::new(
                ErrorKind::DisallowedAlgorithm,
                "alg is none or not a supported algorithm",
            )
        })?,
        Some(_) => {
            return Err(Error::new(
                ErrorKind::DisallowedAlgorithm,
                "alg is not a string",
            ));
        }
        None => {
            return Err(Error::new(
                ErrorKind::DisallowedAlgorithm,
                "the header has no alg",
            ));
        }
    };
    match &view.cty {
        None => {}
        Some(Loose::Str(cty))
            if cty.eq_ignore_ascii_case("JWT") || cty.eq_ignore_ascii_case("application/jwt") =>
        {
            return Err(Error::new(
                ErrorKind::UnsupportedToken,
                "nested tokens (cty JWT) are not supported",
            ));
        }
        Some(Loose::Str(_)) => {}
        Some(_) => return Err(Error::new(ErrorKind::MalformedToken, "cty is not a string")),
    }
    let kid = match view.kid {
        None => None,
        Some(Loose::Str(kid)) => Some(kid),
        Some(_) => return Err(Error::new(ErrorKind::MalformedToken, "kid is not a string")),
    };
    let typ = match view.typ {
        None => None,
        Some(Loose::Str(typ)) => Some(typ),
        Some(_) => return Err(Error::new(ErrorKind::InvalidType, "typ is not a string")),
    };
    Ok(Header { alg, kid, typ })
}

/// Whether a `typ` value is acceptable: absent, `JWT`, `at+jwt`, `application/at+jwt`
/// (case-insensitive); with `rfc9068` only the `at+jwt` forms.
pub(crate) fn typ_allowed(typ: Option<&str>, rfc9068: bool) -> bool {
    match typ {
        None => !rfc9068,
        Some(t) => {
            t.eq_ignore_ascii_case("at+jwt")
                || t.eq_ignore_ascii_case("application/at+jwt")
                || (!rfc9068 && t.eq_ignore_ascii_case("JWT"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_rules() {
        assert!(split("a.b.c").is_ok());
        assert!(
            split("a.b.").is_ok(),
            "an empty signature is refused later, as a bad signature"
        );
        let kind = |t: &str| split(t).err().map(|e| e.kind());
        assert_eq!(kind("a.b.c.d.e"), Some(ErrorKind::UnsupportedToken));
        assert_eq!(
            kind(r#"{"payload":"x","signatures":[]}"#),
            Some(ErrorKind::UnsupportedToken)
        );
        for bad in ["", "abc", "a.b", "a.b.c.d", "a.b.c.d.e.f", ".b.c", "a..c"] {
            assert_eq!(kind(bad), Some(ErrorKind::MalformedToken), "{bad:?}");
        }
    }

    #[test]
    fn base64url_is_canonical_only() {
        let mut buf = Vec::new();
        assert!(decode_into("eyJhIjoxfQ", &mut buf).is_ok());
        for bad in ["eyJhIjoxfQ==", "eyJhIjoxfQ=", "ab+/", "a", "eyJhIjoxfR"] {
            assert!(decode_into(bad, &mut Vec::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn typ_rules() {
        for ok in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("at+jwt"),
            Some("AT+JWT"),
            Some("application/at+jwt"),
        ] {
            assert!(typ_allowed(ok, false), "{ok:?}");
        }
        for bad in [Some("dpop+jwt"), Some(""), Some("JOSE"), Some("at+jwt ")] {
            assert!(!typ_allowed(bad, false), "{bad:?}");
        }
        assert!(!typ_allowed(None, true) && !typ_allowed(Some("JWT"), true));
        assert!(typ_allowed(Some("Application/AT+JWT"), true));
    }
}
