//! Encrypted access tokens (JWE) through the pipeline: every key management and content
//! encryption, the signed JWT inside verified as any other, and every refusal with its kind,
//! status and challenge — never saying which decryption step failed.

use serde_json::json;
use tokengate::adapter::{Policy, RequestView};
use tokengate::clock::FixedClock;
use tokengate::keys::{ContentEncryption, DecryptionKey, KeyManagement};
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, StandardClaims, Verified, Verifier, VerifierBuilder,
};
use tokengate_testkit::jwe::Recipient;
use tokengate_testkit::{NOW, TestKey, claims_at, jwks};

const ISS: &str = "https://issuer.test/";
const AUD: &str = "api";

fn signer() -> TestKey {
    TestKey::shared(Algorithm::ES256)
}

fn builder() -> VerifierBuilder {
    Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&signer()]))),
        )
        .clock(FixedClock::at(NOW))
}

fn jwt() -> String {
    signer().mint(&claims_at(ISS, AUD, NOW))
}

async fn decide(
    verifier: &Verifier,
    token: &str,
) -> Result<Verified<StandardClaims>, tokengate::Answer> {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let request = RequestView::new("GET", "/me", None, &headers);
    verifier
        .required_claims(&request, &Policy::new(), None)
        .await
}

const INVALID_TOKEN: &str =
    r#"Bearer realm="api", error="invalid_token", error_description="the access token is invalid""#;

#[tokio::test]
async fn every_key_management_and_content_encryption_opens_to_the_verified_jwt() {
    let rsa = Recipient::rsa();
    let p256 = Recipient::ec_p256();
    let kw128 = Recipient::secret(16);
    let kw256 = Recipient::secret(32);
    let cases: Vec<(&Recipient, KeyManagement)> = vec![
        (&rsa, KeyManagement::RsaOaep256),
        (&rsa, KeyManagement::RsaOaep),
        (&p256, KeyManagement::EcdhEs),
        (&p256, KeyManagement::EcdhEsA128Kw),
        (&p256, KeyManagement::EcdhEsA256Kw),
        (&kw128, KeyManagement::A128Kw),
        (&kw256, KeyManagement::A256Kw),
    ];
    let verifier = builder()
        .decryption_key(rsa.decryption_key())
        .decryption_key(p256.decryption_key())
        .decryption_key(kw128.decryption_key())
        .decryption_key(kw256.decryption_key())
        .build()
        .unwrap();
    for (recipient, alg) in cases {
        for enc in ContentEncryption::ALL {
            let token = recipient.encrypt(&jwt(), alg, enc);
            let verified = decide(&verifier, &token)
                .await
                .unwrap_or_else(|a| panic!("{} {}: {a:?}", alg.name(), enc.name()));
            assert_eq!(
                verified.subject(),
                Some("alice"),
                "{} {}",
                alg.name(),
                enc.name()
            );
        }
    }
    // `dir`: the shared key is the content key, one length per encryption.
    for enc in ContentEncryption::ALL {
        let direct = Recipient::secret(enc.key_len());
        let verifier = builder()
            .decryption_key(direct.decryption_key())
            .build()
            .unwrap();
        let token = direct.encrypt(&jwt(), KeyManagement::Dir, enc);
        assert!(
            decide(&verifier, &token).await.is_ok(),
            "dir {}",
            enc.name()
        );
    }
}

#[tokio::test]
async fn x25519_ecdh_es_opens() {
    let recipient = Recipient::x25519();
    let verifier = builder()
        .decryption_key(recipient.decryption_key())
        .build()
        .unwrap();
    let token = recipient.encrypt(&jwt(), KeyManagement::EcdhEs, ContentEncryption::A256Gcm);
    assert!(decide(&verifier, &token).await.is_ok());
}

#[tokio::test]
async fn the_jwt_inside_is_verified_like_any_other() {
    let recipient = Recipient::rsa();
    let verifier = builder()
        .decryption_key(recipient.decryption_key())
        .build()
        .unwrap();
    let enc =
        |jwt: &str| recipient.encrypt(jwt, KeyManagement::RsaOaep256, ContentEncryption::A256Gcm);
    let mut expired = claims_at(ISS, AUD, NOW);
    expired["exp"] = json!(NOW - 3600);
    let answer = decide(&verifier, &enc(&signer().mint(&expired)))
        .await
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::Expired);
    let stranger = TestKey::generate(Algorithm::ES256).with_kid(signer().kid());
    let answer = decide(&verifier, &enc(&stranger.mint(&claims_at(ISS, AUD, NOW))))
        .await
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InvalidSignature);
    let mut other_audience = claims_at(ISS, "other", NOW);
    other_audience["jti"] = json!("x");
    let answer = decide(&verifier, &enc(&signer().mint(&other_audience)))
        .await
        .unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn a_token_no_key_opens_is_undecryptable_whatever_step_failed() {
    let recipient = Recipient::rsa().with_kid("k1");
    let verifier = builder()
        .decryption_key(recipient.decryption_key())
        .build()
        .unwrap();
    let token = recipient.encrypt(
        &jwt(),
        KeyManagement::RsaOaep256,
        ContentEncryption::A256Gcm,
    );
    let parts: Vec<&str> = token.split('.').collect();
    let flip = |segment: usize| {
        let mut parts: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
        let bytes = parts[segment].as_bytes();
        // Another base64url character in the middle of the segment.
        let at = bytes.len() / 2;
        let swapped = if bytes[at] == b'A' { 'B' } else { 'A' };
        parts[segment].replace_range(at..=at, &swapped.to_string());
        parts.join(".")
    };
    let other = Recipient::rsa().with_kid("k1");
    let cases = [
        (
            "another key's token",
            other.encrypt(
                &jwt(),
                KeyManagement::RsaOaep256,
                ContentEncryption::A256Gcm,
            ),
        ),
        ("a modified encrypted key", flip(1)),
        ("a modified ciphertext", flip(3)),
        ("a modified tag", flip(4)),
        (
            "an unknown kid",
            Recipient::rsa().with_kid("k2").encrypt(
                &jwt(),
                KeyManagement::RsaOaep256,
                ContentEncryption::A256Gcm,
            ),
        ),
    ];
    for (name, token) in cases {
        let answer = decide(&verifier, &token).await.unwrap_err();
        assert_eq!(answer.kind(), ErrorKind::UndecryptableToken, "{name}");
        assert_eq!(answer.status(), 401, "{name}");
        assert_eq!(answer.www_authenticate().unwrap(), INVALID_TOKEN, "{name}");
    }
}

#[tokio::test]
async fn dangerous_or_unconfigured_headers_are_refused_before_any_key_is_used() {
    let recipient = Recipient::secret(32);
    let verifier = builder()
        .decryption_key(recipient.decryption_key())
        .content_encryptions([ContentEncryption::A256Gcm])
        .build()
        .unwrap();
    let with = |extra: serde_json::Value| {
        recipient.encrypt_with(
            &jwt(),
            KeyManagement::A256Kw,
            ContentEncryption::A256Gcm,
            &extra,
        )
    };
    let cases = [
        (
            "zip",
            with(json!({"zip": "DEF"})),
            ErrorKind::UnsupportedToken,
        ),
        (
            "crit",
            with(json!({"crit": ["exp"], "exp": 1})),
            ErrorKind::UnsupportedToken,
        ),
        (
            "RSA1_5",
            with(json!({"alg": "RSA1_5"})),
            ErrorKind::DisallowedAlgorithm,
        ),
        (
            "PBES2",
            with(json!({"alg": "PBES2-HS256+A128KW", "p2s": "AAAA", "p2c": 1})),
            ErrorKind::DisallowedAlgorithm,
        ),
        (
            "A128GCMKW",
            with(json!({"alg": "A128GCMKW"})),
            ErrorKind::DisallowedAlgorithm,
        ),
        (
            "no cty",
            with(json!({"cty": null})),
            ErrorKind::UnsupportedToken,
        ),
        (
            "cty not JWT",
            with(json!({"cty": "json"})),
            ErrorKind::UnsupportedToken,
        ),
        (
            "enc not configured",
            recipient.encrypt(
                &jwt(),
                KeyManagement::A256Kw,
                ContentEncryption::A128CbcHs256,
            ),
            ErrorKind::DisallowedAlgorithm,
        ),
        (
            "a JSON payload, not a signed JWT",
            recipient.encrypt(
                r#"{"sub":"alice"}"#,
                KeyManagement::A256Kw,
                ContentEncryption::A256Gcm,
            ),
            ErrorKind::UnsupportedToken,
        ),
    ];
    for (name, token, kind) in cases {
        let answer = decide(&verifier, &token).await.unwrap_err();
        assert_eq!(answer.kind(), kind, "{name}");
        assert_eq!(answer.status(), 401, "{name}");
        assert_eq!(answer.www_authenticate().unwrap(), INVALID_TOKEN, "{name}");
    }
}

#[tokio::test]
async fn an_ephemeral_key_off_the_curve_is_refused() {
    let recipient = Recipient::ec_p256();
    let verifier = builder()
        .decryption_key(recipient.decryption_key())
        .build()
        .unwrap();
    // A point not on P-256 (an invalid-curve attack's probe).
    let off_curve = json!({"epk": {"kty": "EC", "crv": "P-256",
        "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}});
    let token = recipient.encrypt_with(
        &jwt(),
        KeyManagement::EcdhEs,
        ContentEncryption::A128Gcm,
        &off_curve,
    );
    let answer = decide(&verifier, &token).await.unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::UndecryptableToken);
    // Another curve's key is refused too.
    let p384 = json!({"epk": {"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA"}});
    let token = recipient.encrypt_with(
        &jwt(),
        KeyManagement::EcdhEs,
        ContentEncryption::A128Gcm,
        &p384,
    );
    assert_eq!(
        decide(&verifier, &token).await.unwrap_err().kind(),
        ErrorKind::UndecryptableToken
    );
}

#[tokio::test]
async fn without_decryption_keys_an_encrypted_token_is_unsupported() {
    let recipient = Recipient::secret(32);
    let verifier = builder().build().unwrap();
    let token = recipient.encrypt(&jwt(), KeyManagement::A256Kw, ContentEncryption::A256Gcm);
    let answer = decide(&verifier, &token).await.unwrap_err();
    assert_eq!(answer.kind(), ErrorKind::UnsupportedToken);
}

#[tokio::test]
async fn the_cache_keeps_an_encrypted_token_under_its_own_hash() {
    let recipient = Recipient::secret(32);
    let verifier = builder()
        .decryption_key(recipient.decryption_key())
        .cache(tokengate::cache::TokenCache::new())
        .build()
        .unwrap();
    let token = recipient.encrypt(&jwt(), KeyManagement::A256Kw, ContentEncryption::A256Gcm);
    assert!(decide(&verifier, &token).await.is_ok());
    assert!(decide(&verifier, &token).await.is_ok());
    let stats = verifier.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));
    // The JWT inside, presented bare, is its own entry (and valid on its own).
    let inner = jwt();
    assert!(decide(&verifier, &inner).await.is_ok());
    assert_eq!(verifier.cache_stats().unwrap().misses, 2);
}

#[test]
fn decryption_keys_from_jwk_and_pem_and_their_mistakes() {
    let secret = DecryptionKey::from_jwk(
        r#"{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg","alg":"A128KW","kid":"a"}"#,
    )
    .unwrap();
    let debug = format!("{secret:?}");
    assert!(
        debug.contains("secret") && debug.contains("A128Kw") && !debug.contains("Gaw"),
        "{debug}"
    );
    for (jwk, why) in [
        (
            r#"{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg","use":"sig"}"#,
            "use sig",
        ),
        (
            r#"{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg","alg":"RSA1_5"}"#,
            "RSA1_5",
        ),
        (
            r#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#,
            "a public key",
        ),
        (r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#, "a public RSA key"),
        (
            r#"{"kty":"EC","crv":"secp256k1","d":"AAAA"}"#,
            "another curve",
        ),
    ] {
        let error = DecryptionKey::from_jwk(jwk).unwrap_err();
        assert_eq!(
            error.kind(),
            tokengate::error::ConfigErrorKind::InvalidKey,
            "{why}"
        );
    }
    let public =
        DecryptionKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .unwrap_err();
    assert_eq!(
        public.kind(),
        tokengate::error::ConfigErrorKind::InvalidKey,
        "a public key decrypts nothing"
    );
    // content_encryptions without a key is a mistake.
    let error = builder()
        .content_encryptions([ContentEncryption::A256Gcm])
        .build()
        .unwrap_err();
    assert_eq!(
        error.kind(),
        tokengate::error::ConfigErrorKind::InvalidSetting
    );
}
