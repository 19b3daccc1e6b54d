//! `tokengate dpop-key` and `tokengate dpop-proof`: a client's side of DPoP (RFC 9449) from
//! the shell, to call a DPoP-protected API with curl.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new P-256 key as PKCS#8 PEM.
pub(crate) fn generate() -> Result<String, String> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| "cannot generate a key".to_owned())?;
    let der = pair
        .to_pkcs8v1()
        .map_err(|_| "cannot encode the key".to_owned())?;
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref())))
}

/// Reads a P-256 PKCS#8 PEM key.
pub(crate) fn load(path: &Path) -> Result<EcdsaKeyPair, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let pem = pem::parse(text.trim()).map_err(|_| format!("{}: not PEM", path.display()))?;
    if pem.tag() != "PRIVATE KEY" {
        return Err(format!("{}: not a PKCS#8 PRIVATE KEY", path.display()));
    }
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pem.contents())
        .map_err(|_| format!("{}: not a P-256 PKCS#8 key", path.display()))
}

/// The public JWK and its RFC 7638 thumbprint (`cnf.jkt`).
pub(crate) fn public(pair: &EcdsaKeyPair) -> (Value, String) {
    let point = pair.public_key().as_ref();
    let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let jkt = b64(digest::digest(&digest::SHA256, canonical.as_bytes()));
    (json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}), jkt)
}

/// A proof for `method` and `url`, with `ath` for `token` and the server's `nonce` when given.
pub(crate) fn proof(
    pair: &EcdsaKeyPair,
    method: &str,
    url: &str,
    token: Option<&str>,
    nonce: Option<&str>,
) -> Result<String, String> {
    let (jwk, _) = public(pair);
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| "no random bytes".to_owned())?;
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let mut claims = json!({"jti": b64(jti), "htm": method, "htu": url, "iat": iat});
    if let Some(token) = token {
        claims["ath"] = json!(b64(digest::digest(&digest::SHA256, token.as_bytes())));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = pair
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| "cannot sign".to_owned())?;
    Ok(format!("{input}.{}", b64(signature.as_ref())))
}
