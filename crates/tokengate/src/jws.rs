//! Compact JWS: segment rules, strict base64url, and the strict protected header.

use std::borrow::Cow;

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
    let start = buf.len();
    buf.resize(start + decoded_room(segment), 0);
    let len = decode_slice(segment, &mut buf[start..])?;
    buf.truncate(start + len);
    Ok(())
}

/// Room enough for a segment's decoded bytes.
fn decoded_room(segment: &str) -> usize {
    segment.len().div_ceil(4) * 3
}

/// Decodes one base64url segment into the start of `out`, returning the decoded length. `out`
/// must have room for `(segment.len() + 3) / 4 * 3` bytes.
///
/// base64-simd, with the rules of [`BASE64URL`] (no padding, URL-safe alphabet only, zero
/// trailing bits: one spelling per byte string), which a differential test holds it to. Token
/// segments are the largest inputs a verification reads twice (`docs/benchmarks.md`,
/// "Performance: the regression gate and the goals"): SIMD decoding took most of the base64
/// cost off a verification and the JWE path.
pub(crate) fn decode_slice(segment: &str, out: &mut [u8]) -> Result<usize, Error> {
    let malformed = || {
        Error::new(
            ErrorKind::MalformedToken,
            "a segment is not canonical unpadded base64url",
        )
    };
    let bytes = segment.as_bytes();
    // A final character whose unused low bits are set spells the same bytes as another one:
    // refused, as `BASE64URL` refuses it.
    let unused_bits = match bytes.len() % 4 {
        2 => 0b1111,
        3 => 0b11,
        1 => return Err(malformed()),
        _ => 0,
    };
    if unused_bits != 0 {
        let last = bytes[bytes.len() - 1];
        if sextet(last).is_none_or(|value| value & unused_bits != 0) {
            return Err(malformed());
        }
    }
    if out.len() < decoded_room(segment) {
        return Err(malformed());
    }
    base64_simd::URL_SAFE_NO_PAD
        .decode(bytes, base64_simd::Out::from_slice(out))
        .map(|decoded| decoded.len())
        .map_err(|_| malformed())
}

/// The value of one base64url character.
fn sextet(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
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
    fn the_simd_decoder_accepts_exactly_what_the_strict_engine_accepts() {
        use base64::Engine;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
        // Every length 0..64 over an alphabet with the URL-safe characters, the standard
        // ones, padding, whitespace and bytes beyond ASCII; both engines must agree on the
        // verdict and on the bytes.
        let alphabet: Vec<char> = "AQgw_-+/=Zaz09 \n.é"
            .chars()
            .chain('A'..='Z')
            .chain('a'..='z')
            .collect();
        let text = prop::collection::vec(prop::sample::select(alphabet), 0..64)
            .prop_map(|chars| chars.into_iter().collect::<String>());
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: 20_000,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &[64; 32]),
        );
        runner
            .run(&text, |text| {
                let strict = BASE64URL.decode(&text).ok();
                let mut buf = Vec::new();
                let simd = decode_into(&text, &mut buf).ok().map(|()| buf);
                prop_assert_eq!(strict, simd, "{:?}", text);
                Ok(())
            })
            .unwrap();
        // Every final character after two and three characters (its unused bits).
        for head in ["AA", "AAA", "eyJhIjoxf"] {
            for last in ('A'..='Z')
                .chain('a'..='z')
                .chain('0'..='9')
                .chain(['-', '_'])
            {
                let text = format!("{head}{last}");
                let mut buf = Vec::new();
                assert_eq!(
                    BASE64URL.decode(&text).ok(),
                    decode_into(&text, &mut buf).ok().map(|()| buf),
                    "{text}"
                );
            }
        }
        // A segment never writes past the room it was given.
        let mut small = [0u8; 2];
        assert!(decode_slice("AAAA", &mut small).is_err());
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
