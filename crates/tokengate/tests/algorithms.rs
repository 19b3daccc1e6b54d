//! Every algorithm verifies from every key form, and tokens minted by another implementation
//! (jsonwebtoken) verify too.

mod support;

use serde_json::json;
use support::*;
use tokengate::{Algorithm, ErrorKind, Issuer, KeySource, keys::KeyType, keys::VerifyingKey};
use tokengate_testkit::{TestKey, jwks};

#[test]
fn every_algorithm_verifies_from_jwks() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let verifier = verifier_for(&key);
        let verified =
            verify(&verifier, &key.mint(&claims())).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(verified.subject(), Some("alice"));
        assert_eq!(verified.issuer(), ISS);
    }
}

#[test]
fn every_asymmetric_algorithm_verifies_from_pem_der_and_single_jwk() {
    for alg in Algorithm::ASYMMETRIC {
        let key = key(alg);
        let token = key.mint_with_header(&json!({"alg": alg.as_str()}), &claims());
        for source in [
            KeySource::pem(key.public_pem()),
            KeySource::der(key.public_der()),
            KeySource::jwk(key.bare_jwk().to_string()),
            KeySource::keys([key.verifying_key()]),
        ] {
            let described = format!("{source:?}");
            let verifier = verifier_with(
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([alg])
                    .keys(source),
            );
            assert!(verify(&verifier, &token).is_ok(), "{alg} from {described}");
        }
    }
}

#[test]
fn hmac_verifies_from_a_secret_and_an_oct_jwk() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let key = key(alg);
        let token = key.mint_with_header(&json!({"alg": alg.as_str()}), &claims());
        for source in [
            KeySource::secret(key.secret().unwrap()),
            KeySource::jwk(key.bare_jwk().to_string()),
        ] {
            let verifier = verifier_with(
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([alg])
                    .keys(source),
            );
            assert!(verify(&verifier, &token).is_ok(), "{alg}");
        }
    }
}

#[test]
fn pkcs1_rsa_public_keys_load() {
    let key = key(Algorithm::RS256);
    let spki = spki_to_pkcs1(&key.public_der());
    let pem = pem::encode(&pem::Pem::new("RSA PUBLIC KEY", spki.clone()));
    assert_eq!(
        VerifyingKey::from_pem(&pem).unwrap().key_type(),
        KeyType::Rsa
    );
    assert_eq!(
        VerifyingKey::from_der(&spki).unwrap().key_type(),
        KeyType::Rsa
    );
}

fn spki_to_pkcs1(spki: &[u8]) -> Vec<u8> {
    use der::Decode;
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki).unwrap();
    info.subject_public_key.as_bytes().unwrap().to_vec()
}

#[test]
fn key_types_and_algorithms_are_bound() {
    let expect = [
        (Algorithm::RS256, KeyType::Rsa, 6),
        (Algorithm::ES256, KeyType::EcP256, 1),
        (Algorithm::ES384, KeyType::EcP384, 1),
        (Algorithm::ES512, KeyType::EcP521, 1),
        (Algorithm::EdDSA, KeyType::Ed25519, 1),
    ];
    for (alg, key_type, count) in expect {
        let loaded = VerifyingKey::from_pem(key(alg).public_pem()).unwrap();
        assert_eq!(loaded.key_type(), key_type);
        assert_eq!(loaded.algorithms().iter().count(), count, "{alg}");
        assert!(loaded.algorithms().iter().all(|a| !a.is_symmetric()));
    }
}

#[test]
fn rsa_keys_verify_every_rsa_algorithm_the_issuer_allows() {
    let key = key(Algorithm::RS256);
    let all_rsa = Algorithm::RSA;
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms(all_rsa)
            .keys(KeySource::pem(key.public_pem())),
    );
    for alg in all_rsa {
        let token = key
            .clone()
            .with_alg(alg)
            .mint_with_header(&json!({"alg": alg.as_str()}), &claims());
        assert!(verify(&verifier, &token).is_ok(), "{alg}");
    }
}

/// Tokens minted by jsonwebtoken (a different implementation) verify with tokengate.
#[test]
fn tokens_minted_by_jsonwebtoken_verify() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let cases = [
        Algorithm::HS256,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::PS384,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    for alg in cases {
        let key = key(alg);
        let (jwt_alg, encoding) = match alg {
            Algorithm::HS256 => (
                jsonwebtoken::Algorithm::HS256,
                EncodingKey::from_secret(key.secret().unwrap()),
            ),
            Algorithm::HS512 => (
                jsonwebtoken::Algorithm::HS512,
                EncodingKey::from_secret(key.secret().unwrap()),
            ),
            Algorithm::RS256 | Algorithm::PS384 => {
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", key.private_pkcs8_der()));
                let a = if alg == Algorithm::RS256 {
                    jsonwebtoken::Algorithm::RS256
                } else {
                    jsonwebtoken::Algorithm::PS384
                };
                (
                    a,
                    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa pem"),
                )
            }
            Algorithm::ES256 => (
                jsonwebtoken::Algorithm::ES256,
                EncodingKey::from_ec_der(&key.private_pkcs8_der()),
            ),
            Algorithm::ES384 => (
                jsonwebtoken::Algorithm::ES384,
                EncodingKey::from_ec_der(&key.private_pkcs8_der()),
            ),
            _ => (
                jsonwebtoken::Algorithm::EdDSA,
                EncodingKey::from_ed_der(&key.private_pkcs8_der()),
            ),
        };
        let mut header = Header::new(jwt_alg);
        header.kid = Some(key.kid().to_owned());
        let token = encode(&header, &claims(), &encoding).unwrap_or_else(|e| panic!("{alg}: {e}"));
        let verifier = verifier_for(&key);
        assert!(verify(&verifier, &token).is_ok(), "{alg}");
    }
}

#[test]
fn one_issuer_may_publish_keys_of_several_types() {
    let keys: Vec<TestKey> = Algorithm::ASYMMETRIC.iter().map(|a| key(*a)).collect();
    let refs: Vec<&TestKey> = keys.iter().collect();
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .keys(KeySource::jwks_json(jwks(&refs))),
    );
    for key in &keys {
        assert!(
            verify(&verifier, &key.mint(&claims())).is_ok(),
            "{}",
            key.alg()
        );
    }
    // HMAC is never in the default allowlist.
    let hs = key(Algorithm::HS256);
    let token = hs.mint_with_header(&json!({"alg": "HS256"}), &claims());
    assert_eq!(
        verify(&verifier, &token).unwrap_err(),
        ErrorKind::DisallowedAlgorithm
    );
}
