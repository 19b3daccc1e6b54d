//! Operations that skip parts of verification. Each one says what it skips; none of them makes
//! a token trustworthy on its own.

use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::jws;
use crate::key::VerifyingKey;

/// Checks only the signature of a compact JWS (and its header rules): no claims, no expiry, no
/// issuer, no audience. The payload need not be JSON. Returns the algorithm used.
///
/// An **empty payload** (`header..signature`), which RFC 7515 allows, is refused as
/// `malformed_token`: the same segment rules as full verification apply, where an access token
/// without claims is never valid.
///
/// Meant for test vectors and tooling, not for authorizing requests: use
/// [`Verifier::verify`](crate::Verifier::verify) for that.
///
/// # Errors
/// Header, algorithm and signature errors as in full verification.
pub fn verify_signature_only(token: &str, key: &VerifyingKey) -> Result<Algorithm, Error> {
    let segments = jws::split(token)?;
    let mut buf = Vec::with_capacity(token.len());
    jws::decode_into(segments.header, &mut buf)?;
    let header = jws::parse_header(&buf)?;
    let alg = header.alg;
    jws::decode_into(
        segments.payload,
        &mut Vec::with_capacity(segments.payload.len()),
    )?;
    let mut signature = Vec::with_capacity(segments.signature.len());
    jws::decode_into(segments.signature, &mut signature)?;
    if signature.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidSignature,
            "the signature is empty",
        ));
    }
    key.verify(alg, segments.signing_input.as_bytes(), &signature)?;
    Ok(alg)
}

/// Decodes a compact JWS **without verifying anything**: the header and the payload as JSON.
///
/// Only for display (the `tokengate decode` command). The output is attacker-controlled data.
///
/// # Errors
/// When the token is not a compact JWS with JSON object header and payload.
pub fn decode_unverified(token: &str) -> Result<(serde_json::Value, serde_json::Value), Error> {
    let segments = jws::split(token)?;
    let parse = |segment: &str| -> Result<serde_json::Value, Error> {
        let mut buf = Vec::new();
        jws::decode_into(segment, &mut buf)?;
        if !crate::json::is_strict_json(&buf) {
            return Err(Error::new(
                ErrorKind::MalformedToken,
                "a segment is not strict JSON",
            ));
        }
        match serde_json::from_slice(&buf) {
            Ok(value @ serde_json::Value::Object(_)) => Ok(value),
            _ => Err(Error::new(
                ErrorKind::MalformedToken,
                "a segment is not a JSON object",
            )),
        }
    };
    Ok((parse(segments.header)?, parse(segments.payload)?))
}

/// Decrypts a compact JWE with `keys` and returns its payload **without verifying anything
/// inside it** — the payload need not be a JWT, let alone a signed one. The same header rules
/// as for tokens apply (`zip`, `crit`, `RSA1_5`, `PBES2` refused; every content encryption
/// accepted). For test vectors and tooling (`tokengate decode --decryption-key`), never for
/// authorizing requests: a verifier with
/// [`decryption_key`](crate::VerifierBuilder::decryption_key) decrypts and then verifies.
///
/// # Errors
/// As for encrypted tokens: `malformed_token`, `unsupported_token`, `disallowed_algorithm`,
/// `undecryptable_token`.
pub fn decrypt_without_verifying(
    token: &str,
    keys: &[crate::jwe::DecryptionKey],
) -> Result<Vec<u8>, Error> {
    let decryption = crate::jwe::Decryption {
        keys: keys.to_vec(),
        encryptions: crate::jwe::ContentEncryption::ALL.to_vec(),
    };
    decryption.open_token(token, false)
}
