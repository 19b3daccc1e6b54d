//! The C2SP Wycheproof JOSE vectors (`tests/wycheproof/`, Apache-2.0, see the LICENSE there):
//! JWS signatures, JWK handling and the JWS part of the crypto vectors, run through key
//! loading (`VerifyingKey::from_jwk`, each key of a JWKS) and the signature-level entry point
//! (`dangerous::verify_signature_only`). Every vector labelled invalid is refused; every vector
//! labelled valid is accepted, except the listed ones, each with its reason.

use serde_json::Value;
use tokengate::dangerous::{decrypt_without_verifying, verify_signature_only};
use tokengate::keys::{DecryptionKey, VerifyingKey};

const JWS: &str = "json_web_signature_test.json";
const JWK: &str = "json_web_key_test.json";

/// Valid vectors tokengate refuses on purpose: (file, tcId, why).
const REFUSED_VALID: &[(&str, u64, &str)] = &[
    (JWS, 259, EMPTY_PAYLOAD),
    (JWS, 264, EMPTY_PAYLOAD),
    (JWS, 268, EMPTY_PAYLOAD),
    (JWS, 272, EMPTY_PAYLOAD),
    (JWS, 320, EMPTY_PAYLOAD),
    (JWS, 325, EMPTY_PAYLOAD),
    (JWS, 346, JWK_ALG_DIFFERS),
    (JWS, 350, JWK_ALG_DIFFERS),
    (JWS, 347, JWK_ALG_UNREGISTERED),
    (JWS, 351, JWK_ALG_UNREGISTERED),
    (JWS, 372, CHARACTER_INSERTED),
    (JWS, 373, CHARACTER_INSERTED),
];

const EMPTY_PAYLOAD: &str = "an empty payload: RFC 7515 allows it, no access token has one, and \
    verify_signature_only refuses it (docs/security.md)";
const JWK_ALG_DIFFERS: &str = "the JWK says alg PS256 and the token PS384: a key is used only \
    for the algorithm its JWK names (RFC 7517 section 4.4)";
const JWK_ALG_UNREGISTERED: &str = "the JWK says alg ES521, which is no registered algorithm \
    (ES512 is): the key is not loaded";
const CHARACTER_INSERTED: &str = "a '?' inserted into the base64url: strict decoding refuses \
    a character outside the alphabet, where lenient decoders skip it";

/// Invalid vectors tokengate accepts: (file, tcId, why). Each "byte-identical" entry is checked
/// to be byte for byte a vector the same file labels valid.
const ACCEPTED_INVALID: &[(&str, u64, &str)] = &[
    (JWS, 367, BYTE_IDENTICAL),
    (JWS, 370, BYTE_IDENTICAL),
    (
        JWK,
        4,
        "two keys of one set share a kid: each candidate is tried, as Nimbus and Spring do \
         (the token was signed by one of the set's own keys; docs/security.md)",
    ),
];

const BYTE_IDENTICAL: &str = "byte-identical to a vector labelled valid (a padding test whose \
    token has no padding)";

fn load(name: &str) -> Value {
    let path = format!("{}/tests/wycheproof/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The verification keys a group's public JWK (or JWKS) yields, loaded as an issuer's keys
/// are: unusable keys dropped, a set mixing HMAC secrets and public keys refused whole.
fn keys(public: &Value) -> Vec<VerifyingKey> {
    if public.get("keys").is_some() {
        VerifyingKey::from_jwks(&public.to_string()).unwrap_or_default()
    } else {
        VerifyingKey::from_jwk(&public.to_string())
            .into_iter()
            .collect()
    }
}

fn run(file: &str) -> Vec<String> {
    let vectors = load(file);
    let mut mismatches = Vec::new();
    let mut counted = 0;
    for group in vectors["testGroups"].as_array().unwrap() {
        // An HMAC group has only its "private" JWK: the secret is the verification key.
        let keys = group
            .get("public")
            .or_else(|| group.get("private"))
            .map(keys)
            .unwrap_or_default();
        for test in group["tests"].as_array().unwrap() {
            let Some(jws) = test.get("jws") else {
                continue; // JWE vectors: `run_jwe`.
            };
            counted += 1;
            let id = test["tcId"].as_u64().unwrap();
            // A JWS in JSON serialization is not a compact token: refused.
            let accepted = jws.as_str().is_some_and(|jws| {
                keys.iter()
                    .any(|key| verify_signature_only(jws, key).is_ok())
            });
            let expected = test["result"].as_str().unwrap();
            let listed =
                |list: &[(&str, u64, &str)]| list.iter().any(|(f, i, _)| *f == file && *i == id);
            let comment = test["comment"].as_str().unwrap_or_default();
            let fine = match (expected, accepted) {
                ("valid", true) => !listed(REFUSED_VALID),
                ("valid", false) => listed(REFUSED_VALID),
                ("invalid", false) => !listed(ACCEPTED_INVALID),
                ("invalid", true) => listed(ACCEPTED_INVALID),
                _ => true, // "acceptable"
            };
            if !fine {
                mismatches.push(format!(
                    "{file} tcId {id} ({comment}): expected {expected}, accepted {accepted} \
                     (a listed exception that no longer applies must leave its list)"
                ));
            }
            let identical_claimed = ACCEPTED_INVALID
                .iter()
                .any(|(f, i, why)| *f == file && *i == id && *why == BYTE_IDENTICAL);
            if identical_claimed {
                let same_as_valid = vectors["testGroups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|g| g["tests"].as_array().unwrap())
                    .any(|t| t["result"] == "valid" && t["jws"] == *jws);
                assert!(
                    same_as_valid,
                    "{file} tcId {id} is not byte-identical to a valid vector"
                );
            }
        }
    }
    assert!(counted > 0, "{file} has JWS vectors");
    mismatches
}

/// The JWE vectors (`json_web_crypto_test.json`, groups `jwe_*`): each group's private JWK
/// decrypts its valid token; every modified, missing or off-curve part is refused; the JSON
/// serialization is not a compact token and is refused. No exceptions.
fn run_jwe(file: &str) -> Vec<String> {
    let vectors = load(file);
    let mut mismatches = Vec::new();
    let mut counted = 0;
    for group in vectors["testGroups"].as_array().unwrap() {
        let tests = group["tests"].as_array().unwrap();
        if !tests.iter().any(|t| t.get("jwe").is_some()) {
            continue;
        }
        // A key for an algorithm tokengate refuses (RSA1_5, AES-GCM key wrap, 192-bit AES)
        // does not load: its group's tokens are all refused.
        let key = DecryptionKey::from_jwk(&group["private"].to_string()).ok();
        for test in tests {
            counted += 1;
            let id = test["tcId"].as_u64().unwrap();
            let accepted = match (test["jwe"].as_str(), &key) {
                (Some(jwe), Some(key)) => {
                    decrypt_without_verifying(jwe, std::slice::from_ref(key)).is_ok()
                }
                _ => false,
            };
            let expected = test["result"].as_str().unwrap();
            let listed = JWE_REFUSED_VALID
                .iter()
                .any(|(f, i, _)| *f == file && *i == id);
            if (expected == "valid") != accepted && !(expected == "valid" && listed)
                || (listed && accepted)
            {
                mismatches.push(format!(
                    "{file} JWE tcId {id} ({}): expected {expected}, accepted {accepted}",
                    test["comment"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    assert!(counted > 0, "{file} has JWE vectors");
    mismatches
}

/// 192-bit AES (`A192KW`, `A192GCM`, `A192CBC-HS384`, `ECDH-ES+A192KW`): not among the
/// algorithms tokengate decrypts (no provider issues them for access tokens).
const A192: &str = "192-bit AES is not supported";
/// AES-GCM key wrap (`A128GCMKW`, `A192GCMKW`, `A256GCMKW`): not supported.
const GCMKW: &str = "AES-GCM key wrap is not supported";
/// `RSA1_5`: refused (Bleichenbacher's attack on PKCS #1 v1.5 padding).
const RSA1_5: &str = "RSA1_5 is refused";
/// `zip`: refused (decompression bombs).
const ZIP: &str = "compressed tokens are refused";

/// Valid JWE vectors tokengate refuses by design, each with why.
const JWE_REFUSED_VALID: &[(&str, u64, &str)] = &[
    ("json_web_encryption_test.json", 28, A192),
    ("json_web_encryption_test.json", 31, A192),
    ("json_web_encryption_test.json", 53, A192),
    ("json_web_encryption_test.json", 56, A192),
    ("json_web_encryption_test.json", 60, A192),
    ("json_web_encryption_test.json", 61, A192),
    ("json_web_encryption_test.json", 70, A192),
    ("json_web_encryption_test.json", 71, GCMKW),
    ("json_web_encryption_test.json", 72, GCMKW),
    ("json_web_encryption_test.json", 73, GCMKW),
    ("json_web_encryption_test.json", 74, GCMKW),
    ("json_web_encryption_test.json", 75, GCMKW),
    ("json_web_encryption_test.json", 77, A192),
    ("json_web_encryption_test.json", 80, A192),
    ("json_web_encryption_test.json", 83, A192),
    ("json_web_encryption_test.json", 86, A192),
    ("json_web_encryption_test.json", 89, A192),
    ("json_web_encryption_test.json", 92, A192),
    ("json_web_encryption_test.json", 100, RSA1_5),
    ("json_web_encryption_test.json", 101, RSA1_5),
    ("json_web_encryption_test.json", 102, RSA1_5),
    ("json_web_encryption_test.json", 103, RSA1_5),
    ("json_web_encryption_test.json", 104, RSA1_5),
    ("json_web_encryption_test.json", 105, RSA1_5),
    ("json_web_encryption_test.json", 112, RSA1_5),
    ("json_web_encryption_test.json", 128, RSA1_5),
    ("json_web_encryption_test.json", 133, GCMKW),
    ("json_web_encryption_test.json", 135, ZIP),
];

#[test]
fn wycheproof_jwe_vectors() {
    let mut mismatches = run_jwe("json_web_crypto_test.json");
    mismatches.extend(run_jwe("json_web_encryption_test.json"));
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn wycheproof_vectors() {
    let mut mismatches = Vec::new();
    for file in [
        "json_web_signature_test.json",
        "json_web_key_test.json",
        "json_web_crypto_test.json",
    ] {
        mismatches.extend(run(file));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
