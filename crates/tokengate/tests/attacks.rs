//! Every attack class of the core verifier's plan, each with the exact error kind, status and
//! challenge it must produce — and the look-alikes that must still be accepted.

mod support;

use serde_json::json;
use support::*;
use tokengate::{
    Algorithm, ErrorKind, Issuer, KeySource, Verifier, error::ConfigErrorKind, keys::VerifyingKey,
};
use tokengate_testkit::{NOW, TestKey, b64, jwks};

/// A token over exactly these base64url segments, correctly signed by `key`.
fn signed(key: &TestKey, header_b64: &str, payload_b64: &str) -> String {
    let input = format!("{header_b64}.{payload_b64}");
    format!("{input}.{}", b64(key.sign(input.as_bytes())))
}

fn header(key: &TestKey) -> serde_json::Value {
    json!({"alg": key.alg().as_str(), "typ": "JWT", "kid": key.kid()})
}

// ---------------------------------------------------------------- alg none and friends

#[test]
fn alg_none_in_any_letter_case_is_rejected() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let payload = b64(claims().to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let head = b64(json!({"alg": alg, "typ": "JWT"}).to_string());
        assert_invalid_token(
            &verifier,
            &format!("{head}.{payload}."),
            ErrorKind::DisallowedAlgorithm,
        );
        // ... also with a signature made by the trusted key over the same input.
        assert_invalid_token(
            &verifier,
            &signed(&key, &head, &payload),
            ErrorKind::DisallowedAlgorithm,
        );
    }
}

#[test]
fn alg_null_missing_or_not_a_string_is_rejected() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let payload = b64(claims().to_string());
    for head in [
        json!({"alg": null}),
        json!({"typ": "JWT"}),
        json!({"alg": 256}),
        json!({"alg": ["HS256"]}),
    ] {
        let token = signed(&key, &b64(head.to_string()), &payload);
        assert_invalid_token(&verifier, &token, ErrorKind::DisallowedAlgorithm);
    }
}

// ---------------------------------------------------------------- algorithm confusion

/// The classic: the server holds an RSA/EC public key; the attacker signs HS256 with that
/// public key's bytes as the HMAC secret.
#[test]
fn public_key_used_as_hmac_secret_is_rejected_in_pem_der_and_jwk_forms() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let key = key(alg);
        let forms: [(&str, KeySource, Vec<u8>); 3] = [
            (
                "pem",
                KeySource::pem(key.public_pem()),
                key.public_pem().into_bytes(),
            ),
            ("der", KeySource::der(key.public_der()), key.public_der()),
            (
                "jwk",
                KeySource::jwk(key.bare_jwk().to_string()),
                key.bare_jwk().to_string().into_bytes(),
            ),
        ];
        for (form, source, public_bytes) in forms {
            let verifier = verifier_with(Issuer::new(ISS).audience(AUD).keys(source));
            for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let forger = TestKey::hmac(hs, &public_bytes);
                let token =
                    forger.mint_with_header(&json!({"alg": hs.as_str(), "typ": "JWT"}), &claims());
                assert_invalid_token(&verifier, &token, ErrorKind::DisallowedAlgorithm);
            }
            // And a server that asks for HS256 next to the public key cannot be configured.
            let mixed = Verifier::builder()
                .issuer(
                    Issuer::new(ISS)
                        .audience(AUD)
                        .algorithms([Algorithm::HS256, alg])
                        .keys(KeySource::pem(key.public_pem())),
                )
                .build()
                .unwrap_err();
            assert_eq!(
                mixed.kind(),
                ConfigErrorKind::MixedAlgorithmFamilies,
                "{form}"
            );
            // Nor can the public key be handed over as an HMAC secret.
            let as_secret = VerifyingKey::hmac(&public_bytes).unwrap_err();
            assert_eq!(
                as_secret.kind(),
                ConfigErrorKind::InvalidKey,
                "{alg} {form}"
            );
        }
    }
}

#[test]
fn hmac_token_naming_an_rsa_kid_is_rejected() {
    let rsa = key(Algorithm::RS256);
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .keys(KeySource::jwks_json(jwks(&[&rsa]))),
    );
    let forger = TestKey::hmac(Algorithm::HS256, rsa.public_pem().as_bytes());
    let token = forger.mint_with_header(&json!({"alg": "HS256", "kid": rsa.kid()}), &claims());
    assert_invalid_token(&verifier, &token, ErrorKind::DisallowedAlgorithm);
}

#[test]
fn alg_outside_the_allowlist_or_the_key_is_rejected() {
    let rsa = key(Algorithm::RS256);
    // The issuer allows RS256 only; the same RSA key signs PS256.
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::RS256])
            .keys(KeySource::pem(rsa.public_pem())),
    );
    let ps = rsa.clone().with_alg(Algorithm::PS256);
    assert_invalid_token(
        &verifier,
        &ps.mint(&claims()),
        ErrorKind::DisallowedAlgorithm,
    );
    assert!(
        verify(
            &verifier,
            &rsa.mint_with_header(&json!({"alg": "RS256"}), &claims())
        )
        .is_ok()
    );

    // The issuer allows RS256 and ES256; an ES256 token names the RSA key's kid.
    let ec = key(Algorithm::ES256);
    let both = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::RS256, Algorithm::ES256])
            .keys(KeySource::jwks_json(jwks(&[&rsa, &ec]))),
    );
    let token = ec.mint_with_header(&json!({"alg": "ES256", "kid": rsa.kid()}), &claims());
    assert_invalid_token(&both, &token, ErrorKind::DisallowedAlgorithm);
    assert!(verify(&both, &ec.mint(&claims())).is_ok());
}

#[test]
fn jwk_alg_use_and_key_ops_are_honoured() {
    let rsa = key(Algorithm::RS256);
    let mut enc = rsa.bare_jwk();
    enc["use"] = json!("enc");
    assert_eq!(
        VerifyingKey::from_jwk(&enc.to_string()).unwrap_err().kind(),
        ConfigErrorKind::KeyUseForbidden
    );
    let mut ops = rsa.bare_jwk();
    ops["key_ops"] = json!(["encrypt", "wrapKey"]);
    assert_eq!(
        VerifyingKey::from_jwk(&ops.to_string()).unwrap_err().kind(),
        ConfigErrorKind::KeyUseForbidden
    );
    let mut wrong_alg = rsa.bare_jwk();
    wrong_alg["alg"] = json!("ES256");
    assert_eq!(
        VerifyingKey::from_jwk(&wrong_alg.to_string())
            .unwrap_err()
            .kind(),
        ConfigErrorKind::KeyUseForbidden
    );
    let mut enc_alg = rsa.bare_jwk();
    enc_alg["alg"] = json!("RSA-OAEP");
    assert_eq!(
        VerifyingKey::from_jwk(&enc_alg.to_string())
            .unwrap_err()
            .kind(),
        ConfigErrorKind::KeyUseForbidden
    );
    let mut verify_ops = rsa.bare_jwk();
    verify_ops["key_ops"] = json!(["verify"]);
    assert!(VerifyingKey::from_jwk(&verify_ops.to_string()).is_ok());

    // A JWK with alg RS256 does not verify PS256, even when the issuer allows PS256.
    let mut pinned = rsa.bare_jwk();
    pinned["alg"] = json!("RS256");
    pinned["kid"] = json!(rsa.kid());
    let document = json!({"keys": [pinned]}).to_string();
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::RS256, Algorithm::PS256])
            .keys(KeySource::jwks_json(document)),
    );
    let ps = rsa.clone().with_alg(Algorithm::PS256);
    assert_invalid_token(
        &verifier,
        &ps.mint(&claims()),
        ErrorKind::DisallowedAlgorithm,
    );
    assert!(verify(&verifier, &rsa.mint(&claims())).is_ok());

    // In a JWKS, a `use: enc` key is dropped: tokens naming it find no key.
    let other = TestKey::generate(Algorithm::RS256);
    let mut enc_key = other.public_jwk();
    enc_key["use"] = json!("enc");
    let document = json!({"keys": [rsa.public_jwk(), enc_key]}).to_string();
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .keys(KeySource::jwks_json(document)),
    );
    assert_invalid_token(&verifier, &other.mint(&claims()), ErrorKind::UnknownKey);
    assert!(verify(&verifier, &rsa.mint(&claims())).is_ok());
}

// ---------------------------------------------------------------- ECDSA signatures

const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `a - b` for 32-byte big-endian numbers with `a >= b`.
fn sub(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// The ASN.1 DER form of a fixed `r || s` signature.
fn der_signature(fixed: &[u8]) -> Vec<u8> {
    let int = |bytes: &[u8]| {
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        let mut v = bytes[start..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let half = fixed.len() / 2;
    let body = [int(&fixed[..half]), int(&fixed[half..])].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let cut = token.rfind('.').unwrap();
    format!("{}.{}", &token[..cut], b64(signature))
}

fn signature_of(token: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().unwrap())
        .unwrap()
}

#[test]
fn ecdsa_signatures_with_zero_or_out_of_range_scalars_are_rejected() {
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let token = key.mint(&claims());
    let good = signature_of(&token);
    let (r, s) = good.split_at(32);
    let zero = [0u8; 32];
    let cases: Vec<Vec<u8>> = vec![
        [zero, zero].concat(),           // r = s = 0: the "psychic signature"
        [r, &zero[..]].concat(),         // s = 0
        [&zero[..], s].concat(),         // r = 0
        [&P256_N[..], s].concat(),       // r = n
        [r, &P256_N[..]].concat(),       // s = n
        [&[0xffu8; 32][..], s].concat(), // r > n
        [r, &[0xffu8; 32][..]].concat(), // s > n
    ];
    for signature in cases {
        assert_invalid_token(
            &verifier,
            &with_signature(&token, &signature),
            ErrorKind::InvalidSignature,
        );
    }
    assert!(verify(&verifier, &token).is_ok());
}

#[test]
fn der_encoded_empty_truncated_and_transplanted_signatures_are_rejected() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        let key = key(alg);
        let verifier = verifier_for(&key);
        let token = key.mint(&claims());
        let good = signature_of(&token);
        if alg.as_str().starts_with("ES") {
            assert_invalid_token(
                &verifier,
                &with_signature(&token, &der_signature(&good)),
                ErrorKind::InvalidSignature,
            );
        }
        assert_invalid_token(
            &verifier,
            &with_signature(&token, &[]),
            ErrorKind::InvalidSignature,
        );
        assert_invalid_token(
            &verifier,
            &with_signature(&token, &good[..good.len() - 1]),
            ErrorKind::InvalidSignature,
        );
        assert_invalid_token(
            &verifier,
            &with_signature(&token, &[&good[..], &[0]].concat()),
            ErrorKind::InvalidSignature,
        );
        // A signature lifted from another valid token of the same key.
        let other = key.mint(&claims_with(json!({"sub": "mallory"})));
        assert_invalid_token(
            &verifier,
            &with_signature(&token, &signature_of(&other)),
            ErrorKind::InvalidSignature,
        );
    }
}

#[test]
fn high_s_ecdsa_signatures_are_accepted() {
    // ECDSA signatures are malleable: (r, n - s) verifies too. RFC 7515 does not require low-S
    // (its own A.3 example is high-S), so rejecting them would break real issuers.
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let token = key.mint(&claims());
    let good = signature_of(&token);
    let flipped = [&good[..32], &sub(&P256_N, &good[32..])[..]].concat();
    assert!(verify(&verifier, &with_signature(&token, &flipped)).is_ok());
}

// ---------------------------------------------------------------- embedded keys and kid

#[test]
fn embedded_jwk_jku_x5u_x5c_are_never_trusted() {
    let trusted = key(Algorithm::RS256);
    let verifier = verifier_for(&trusted);
    let attacker = TestKey::generate(Algorithm::RS256);
    let embedded = [
        json!({"alg": "RS256", "kid": attacker.kid(), "jwk": attacker.public_jwk()}),
        json!({"alg": "RS256", "kid": attacker.kid(), "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "RS256", "kid": attacker.kid(), "x5u": "http://127.0.0.1:9/cert.pem"}),
        json!({"alg": "RS256", "kid": attacker.kid(), "x5c": [b64(attacker.public_der())]}),
        json!({"alg": "RS256", "jwk": attacker.public_jwk()}),
    ];
    for head in embedded.iter() {
        let kind = if head.get("kid").is_some() {
            ErrorKind::UnknownKey
        } else {
            ErrorKind::InvalidSignature
        };
        assert_invalid_token(&verifier, &attacker.mint_with_header(head, &claims()), kind);
        // Reusing the trusted kid only gets the attacker to a signature check that fails.
        let mut head = head.clone();
        head["kid"] = json!(trusted.kid());
        assert_invalid_token(
            &verifier,
            &attacker.mint_with_header(&head, &claims()),
            ErrorKind::InvalidSignature,
        );
    }
}

#[test]
fn hostile_kid_values_only_fail_an_exact_lookup() {
    let trusted = key(Algorithm::ES256);
    let verifier = verifier_for(&trusted);
    let kids = [
        "../../../../../../dev/null".to_owned(),
        "/etc/passwd".to_owned(),
        "' OR '1'='1' --".to_owned(),
        "$(curl 127.0.0.1)".to_owned(),
        "\u{0}".to_owned(),
        format!("{}\u{0}", trusted.kid()),
        format!("{} ", trusted.kid()),
        trusted.kid().to_uppercase(),
        "*".to_owned(),
        String::new(),
    ];
    for kid in kids {
        let head = json!({"alg": "ES256", "kid": kid});
        assert_invalid_token(
            &verifier,
            &trusted.mint_with_header(&head, &claims()),
            ErrorKind::UnknownKey,
        );
    }
    let head = json!({"alg": "ES256", "kid": 7});
    assert_invalid_token(
        &verifier,
        &trusted.mint_with_header(&head, &claims()),
        ErrorKind::MalformedToken,
    );
}

#[test]
fn a_token_without_kid_needs_exactly_one_fitting_key() {
    let a = key(Algorithm::ES256);
    let b = TestKey::generate(Algorithm::ES256);
    let two = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .keys(KeySource::jwks_json(jwks(&[&a, &b]))),
    );
    let no_kid = a.mint_with_header(&json!({"alg": "ES256"}), &claims());
    assert_invalid_token(&two, &no_kid, ErrorKind::UnknownKey);
    let one = verifier_for(&a);
    assert!(verify(&one, &no_kid).is_ok());
}

// ---------------------------------------------------------------- structure

#[test]
fn crit_and_b64_headers_are_rejected() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    for extra in [
        json!({"crit": ["exp"], "exp": 1}),
        json!({"crit": []}),
        json!({"b64": false}),
        json!({"b64": true}),
    ] {
        let mut head = header(&key);
        for (k, v) in extra.as_object().unwrap() {
            head[k] = v.clone();
        }
        assert_invalid_token(
            &verifier,
            &key.mint_with_header(&head, &claims()),
            ErrorKind::UnsupportedToken,
        );
    }
}

#[test]
fn jwe_json_serialization_and_wrong_segment_counts_are_rejected() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let token = key.mint(&claims());
    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
    assert_invalid_token(&verifier, jwe, ErrorKind::UnsupportedToken);
    let json_serialization =
        r#"{"payload":"eyJ9","protected":"eyJhbGciOiJIUzI1NiJ9","signature":"abc"}"#;
    assert_invalid_token(&verifier, json_serialization, ErrorKind::UnsupportedToken);
    let parts: Vec<&str> = token.split('.').collect();
    for bad in [
        parts[0].to_owned(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}.{}", parts[2]),
        format!("{token}.x.y.z"),
        format!(".{}.{}", parts[1], parts[2]),
        format!("{}..{}", parts[0], parts[2]),
        String::new(),
    ] {
        assert_invalid_token(&verifier, &bad, ErrorKind::MalformedToken);
    }
}

#[test]
fn non_canonical_base64url_is_rejected_even_when_signed() {
    use base64::Engine;
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let head = b64(header(&key).to_string());
    let payload = b64(claims().to_string());
    let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(claims().to_string());

    // Padding on a segment.
    let padded_payload = base64::engine::general_purpose::URL_SAFE.encode(claims().to_string());
    assert!(
        padded_payload.ends_with('='),
        "the fixture must need padding"
    );
    assert_invalid_token(
        &verifier,
        &signed(&key, &head, &padded_payload),
        ErrorKind::MalformedToken,
    );
    // The standard alphabet (`+` and `/`) instead of base64url.
    let with_plus = b64(json!({"alg": "HS256", "kid": key.kid(), "x": "\u{fb}\u{ff}"}).to_string());
    let std_head = base64::engine::general_purpose::STANDARD_NO_PAD
        .encode(json!({"alg": "HS256", "kid": key.kid(), "x": "\u{fb}\u{ff}"}).to_string());
    assert_ne!(with_plus, std_head, "the fixture must contain - or _");
    assert_invalid_token(
        &verifier,
        &signed(&key, &std_head, &payload),
        ErrorKind::MalformedToken,
    );
    if standard != payload {
        assert_invalid_token(
            &verifier,
            &signed(&key, &head, &standard),
            ErrorKind::MalformedToken,
        );
    }
    // Non-canonical trailing bits: the last character carries bits that must be zero.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut found = false;
    for pad in 0..3 {
        let text = json!({"alg": "HS256", "kid": key.kid(), "p": "x".repeat(pad)}).to_string();
        let encoded = b64(&text);
        if encoded.len() % 4 == 2 || encoded.len() % 4 == 3 {
            let last = encoded.chars().last().unwrap();
            let index = alphabet.find(last).unwrap();
            let tweaked = alphabet.chars().nth(index + 1).unwrap();
            let mut bad = encoded[..encoded.len() - 1].to_owned();
            bad.push(tweaked);
            assert!(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(&bad)
                    .is_err()
                    || bad != encoded
            );
            assert_invalid_token(
                &verifier,
                &signed(&key, &bad, &payload),
                ErrorKind::MalformedToken,
            );
            assert!(verify(&verifier, &signed(&key, &encoded, &payload)).is_ok());
            found = true;
        }
    }
    assert!(found);
}

#[test]
fn duplicate_members_are_rejected_in_header_and_payload() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let good_payload = claims().to_string();
    let dup_headers = [
        format!(r#"{{"alg":"HS256","kid":"{0}","kid":"{0}"}}"#, key.kid()),
        format!(r#"{{"alg":"none","alg":"HS256","kid":"{}"}}"#, key.kid()),
        format!(
            r#"{{"alg":"HS256","\u0061lg":"HS256","kid":"{}"}}"#,
            key.kid()
        ),
        format!(
            r#"{{"alg":"HS256","kid":"{}","x":{{"a":1,"a":2}}}}"#,
            key.kid()
        ),
    ];
    for head in dup_headers {
        assert_invalid_token(
            &verifier,
            &key.sign_raw(&head, &good_payload),
            ErrorKind::MalformedToken,
        );
    }
    let head = header(&key).to_string();
    let body = &good_payload[1..good_payload.len() - 1];
    let dup_payloads = [
        format!(r#"{{{body},"sub":"admin"}}"#),
        format!(r#"{{{body},"aud":"api://other"}}"#),
        format!(r#"{{{body},"\u0065xp":{}}}"#, NOW + 9999),
        format!(r#"{{{body},"realm_access":{{"roles":["a"],"roles":["admin"]}}}}"#),
        format!(r#"{{{body},"nested":[{{"k":1,"k":2}}]}}"#),
    ];
    for payload in dup_payloads {
        assert_invalid_token(
            &verifier,
            &key.sign_raw(&head, &payload),
            ErrorKind::MalformedToken,
        );
    }
}

#[test]
fn payload_and_header_must_be_json_objects() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let head = header(&key).to_string();
    for payload in [
        "[]",
        "\"claims\"",
        "42",
        "null",
        "true",
        "",
        "{",
        "{\"a\":1}x",
        "{\"exp\":1e400}",
        "{\"exp\":NaN}",
    ] {
        assert_invalid_token(
            &verifier,
            &key.sign_raw(&head, payload),
            ErrorKind::MalformedToken,
        );
    }
    for head in [
        "[\"HS256\"]",
        "\"HS256\"",
        "{",
        "\u{feff}{\"alg\":\"HS256\"}",
    ] {
        assert_invalid_token(
            &verifier,
            &key.sign_raw(head, &claims().to_string()),
            ErrorKind::MalformedToken,
        );
    }
}

#[test]
fn oversized_tokens_are_rejected_before_decoding() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let big = claims_with(json!({"padding": "x".repeat(16 * 1024)}));
    assert_invalid_token(&verifier, &key.mint(&big), ErrorKind::TokenTooLarge);
    // Not even parsed: garbage of the same size gives the same answer.
    assert_invalid_token(
        &verifier,
        &"a".repeat(16 * 1024 + 1),
        ErrorKind::TokenTooLarge,
    );
    let fits = claims_with(json!({"padding": "x".repeat(8 * 1024)}));
    assert!(verify(&verifier, &key.mint(&fits)).is_ok());
}

// ---------------------------------------------------------------- claims

#[test]
fn time_claims_of_the_wrong_type_or_range_are_rejected() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    for claim in ["exp", "nbf", "iat"] {
        for bad in [
            json!("1767225600"),
            json!(-1),
            json!(1e20),
            json!(true),
            json!([1]),
            json!({"t": 1}),
        ] {
            let token = key.mint(&claims_with(json!({ claim: bad })));
            assert_invalid_token(&verifier, &token, ErrorKind::InvalidClaim);
        }
    }
    // A number no f64 can hold never parses.
    let head = header(&key).to_string();
    let huge = claims()
        .to_string()
        .replacen(&format!("\"exp\":{}", NOW + 300), "\"exp\":1e999", 1);
    assert!(huge.contains("1e999"));
    assert_invalid_token(
        &verifier,
        &key.sign_raw(&head, &huge),
        ErrorKind::MalformedToken,
    );
    assert_invalid_token(
        &verifier,
        &key.mint(&claims_with(json!({"exp": null}))),
        ErrorKind::MissingClaim,
    );
}

#[test]
fn time_windows_apply_the_leeway_exactly() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key); // leeway 60 s, now = NOW
    let at = |changes| key.mint(&claims_with(changes));
    assert_invalid_token(&verifier, &at(json!({"exp": NOW - 60})), ErrorKind::Expired);
    assert_invalid_token(
        &verifier,
        &at(json!({"exp": NOW - 3600})),
        ErrorKind::Expired,
    );
    assert!(verify(&verifier, &at(json!({"exp": NOW - 59}))).is_ok());
    assert_invalid_token(
        &verifier,
        &at(json!({"nbf": NOW + 61})),
        ErrorKind::NotYetValid,
    );
    assert!(verify(&verifier, &at(json!({"nbf": NOW + 60}))).is_ok());
    assert_invalid_token(
        &verifier,
        &at(json!({"iat": NOW + 61})),
        ErrorKind::IssuedInFuture,
    );
    assert!(verify(&verifier, &at(json!({"iat": NOW + 60}))).is_ok());
    // Float times are fine.
    assert!(
        verify(
            &verifier,
            &at(json!({"exp": NOW as f64 + 0.5, "iat": NOW as f64 - 0.25}))
        )
        .is_ok()
    );
}

#[test]
fn audience_must_be_present_and_match() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let with = |aud| key.mint(&claims_with(json!({ "aud": aud })));
    assert_invalid_token(
        &verifier,
        &key.mint(&claims_with(json!({"aud": null}))),
        ErrorKind::MissingClaim,
    );
    assert_invalid_token(
        &verifier,
        &with(json!("api://other")),
        ErrorKind::InvalidAudience,
    );
    assert_invalid_token(
        &verifier,
        &with(json!("API://TEST")),
        ErrorKind::InvalidAudience,
    );
    assert_invalid_token(
        &verifier,
        &with(json!(["api://other", "api://test/"])),
        ErrorKind::InvalidAudience,
    );
    assert_invalid_token(&verifier, &with(json!([])), ErrorKind::InvalidAudience);
    for wrong_type in [json!(7), json!({"aud": AUD}), json!([AUD, 7]), json!(true)] {
        assert_invalid_token(&verifier, &with(wrong_type), ErrorKind::InvalidClaim);
    }
    assert!(verify(&verifier, &with(json!(["api://other", AUD]))).is_ok());
}

#[test]
fn issuer_must_be_present_exact_and_a_string() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let with = |iss| key.mint(&claims_with(json!({ "iss": iss })));
    assert_invalid_token(
        &verifier,
        &key.mint(&claims_with(json!({"iss": null}))),
        ErrorKind::MissingClaim,
    );
    assert_invalid_token(
        &verifier,
        &with(json!("https://issuer.test")),
        ErrorKind::InvalidIssuer,
    );
    assert_invalid_token(
        &verifier,
        &with(json!("https://evil.test/")),
        ErrorKind::InvalidIssuer,
    );
    assert_invalid_token(&verifier, &with(json!([ISS])), ErrorKind::InvalidClaim);
    assert_invalid_token(&verifier, &with(json!(1)), ErrorKind::InvalidClaim);
}

#[test]
fn tenant_a_cannot_sign_for_tenant_b() {
    let a = TestKey::generate(Algorithm::RS256);
    let b = TestKey::generate(Algorithm::RS256);
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("https://a.test/")
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&a]))),
        )
        .issuer(
            Issuer::new("https://b.test/")
                .audience(AUD)
                .keys(KeySource::jwks_json(jwks(&[&b]))),
        )
        .clock(tokengate::clock::FixedClock::at(NOW))
        .build()
        .unwrap();
    let claims_of = |iss| claims_with(json!({ "iss": iss }));
    assert_eq!(
        verify(&verifier, &a.mint(&claims_of("https://a.test/")))
            .unwrap()
            .issuer(),
        "https://a.test/"
    );
    assert_eq!(
        verify(&verifier, &b.mint(&claims_of("https://b.test/")))
            .unwrap()
            .issuer(),
        "https://b.test/"
    );
    // A's key, B's iss: A's kid is unknown to B ...
    assert_invalid_token(
        &verifier,
        &a.mint(&claims_of("https://b.test/")),
        ErrorKind::UnknownKey,
    );
    // ... and with B's kid (or none) the signature fails against B's key.
    let as_b = a.clone().with_kid(b.kid());
    assert_invalid_token(
        &verifier,
        &as_b.mint(&claims_of("https://b.test/")),
        ErrorKind::InvalidSignature,
    );
    let no_kid = a.mint_with_header(&json!({"alg": "RS256"}), &claims_of("https://b.test/"));
    assert_invalid_token(&verifier, &no_kid, ErrorKind::InvalidSignature);
}

#[test]
fn typ_outside_the_accepted_set_is_rejected() {
    let key = key(Algorithm::HS256);
    let verifier = verifier_for(&key);
    let with_typ = |typ: serde_json::Value| {
        let mut head = header(&key);
        head["typ"] = typ;
        key.mint_with_header(&head, &claims())
    };
    for bad in ["dpop+jwt", "secevent+jwt", "JOSE", "", "at+jwt; charset=x"] {
        assert_invalid_token(&verifier, &with_typ(json!(bad)), ErrorKind::InvalidType);
    }
    assert_invalid_token(&verifier, &with_typ(json!(1)), ErrorKind::InvalidType);
    for good in [
        "JWT",
        "jwt",
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        assert!(verify(&verifier, &with_typ(json!(good))).is_ok(), "{good}");
    }
    let no_typ = key.mint_with_header(&json!({"alg": "HS256", "kid": key.kid()}), &claims());
    assert!(verify(&verifier, &no_typ).is_ok());
}

#[test]
fn rfc9068_mode_requires_at_jwt_and_its_claims() {
    let key = key(Algorithm::ES256);
    let verifier = verifier_with(issuer_for(&key).rfc9068());
    let with_typ = |typ: &str, claims: &serde_json::Value| {
        key.mint_with_header(
            &json!({"alg": "ES256", "kid": key.kid(), "typ": typ}),
            claims,
        )
    };
    assert!(verify(&verifier, &with_typ("at+jwt", &claims())).is_ok());
    assert!(verify(&verifier, &with_typ("application/at+jwt", &claims())).is_ok());
    assert_invalid_token(
        &verifier,
        &with_typ("JWT", &claims()),
        ErrorKind::InvalidType,
    );
    let no_typ = key.mint_with_header(&json!({"alg": "ES256", "kid": key.kid()}), &claims());
    assert_invalid_token(&verifier, &no_typ, ErrorKind::InvalidType);
    for claim in ["sub", "client_id", "iat", "jti"] {
        let token = with_typ("at+jwt", &claims_with(json!({ claim: null })));
        assert_invalid_token(&verifier, &token, ErrorKind::MissingClaim);
    }
}

// ---------------------------------------------------------------- weak keys

/// A synthetic 2048-bit modulus with the ROCA fingerprint (see `weak_keys_are_refused_at_load`).
const ROCA_MODULUS: &str = "8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001b8eca54bf1de60cf081b39d82225339d436eb4308c3637d4f406d6631f";

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn rsa_pkcs1(n: &[u8], e: &[u8]) -> Vec<u8> {
    use der::Encode;
    pkcs1::RsaPublicKey {
        modulus: pkcs1::UintRef::new(n).unwrap(),
        public_exponent: pkcs1::UintRef::new(e).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn weak_keys_are_refused_at_load() {
    assert_eq!(
        VerifyingKey::hmac([9u8; 31]).unwrap_err().kind(),
        ConfigErrorKind::WeakKey
    );
    assert_eq!(
        VerifyingKey::from_jwk(r#"{"kty":"oct","k":"c2hvcnQ"}"#)
            .unwrap_err()
            .kind(),
        ConfigErrorKind::WeakKey
    );

    // RSA: a 1024-bit modulus, and e = 1 on a 2048-bit one.
    let mut small = vec![0xc5u8; 128];
    small[127] |= 1;
    let pem = pem::encode(&pem::Pem::new(
        "RSA PUBLIC KEY",
        rsa_pkcs1(&small, &[1, 0, 1]),
    ));
    assert_eq!(
        VerifyingKey::from_pem(&pem).unwrap_err().kind(),
        ConfigErrorKind::WeakKey
    );
    let jwk = json!({"kty": "RSA", "n": b64(&small), "e": "AQAB"}).to_string();
    assert_eq!(
        VerifyingKey::from_jwk(&jwk).unwrap_err().kind(),
        ConfigErrorKind::WeakKey
    );
    let rsa = key(Algorithm::RS256).bare_jwk();
    // e = 1, 2, 65536 (even) and 3: weak (FIPS 186-5: odd and above 2^16; 65537 is the norm).
    for e in ["AQ", "Ag", "AQAA", "Aw"] {
        let mut weak = rsa.clone();
        weak["e"] = json!(e);
        assert_eq!(
            VerifyingKey::from_jwk(&weak.to_string())
                .unwrap_err()
                .kind(),
            ConfigErrorKind::WeakKey,
            "e={e}"
        );
    }
    // e = 2^32 + 1: odd and above 2^16, but beyond the 32 bits verifiers accept.
    let mut wide = rsa.clone();
    wide["e"] = json!(b64([1u8, 0, 0, 0, 1]));
    let error = VerifyingKey::from_jwk(&wide.to_string()).unwrap_err();
    assert_eq!(error.kind(), ConfigErrorKind::WeakKey);
    assert!(error.to_string().contains("below 2^32"), "{error}");
    // A modulus with the ROCA fingerprint (CVE-2017-15361). This one is synthetic: 2048 bits,
    // (65537^5 mod M) + k*M with M = 2*3*5*...*167, so its residues are those of Infineon's
    // primes; the check never needs the factors.
    let roca = hex_bytes(ROCA_MODULUS);
    let mut fingerprinted = rsa.clone();
    fingerprinted["n"] = json!(b64(&roca));
    let error = VerifyingKey::from_jwk(&fingerprinted.to_string()).unwrap_err();
    assert_eq!(error.kind(), ConfigErrorKind::WeakKey);
    assert!(error.to_string().contains("ROCA"), "{error}");
    let pem = pem::encode(&pem::Pem::new(
        "RSA PUBLIC KEY",
        rsa_pkcs1(&roca, &[1, 0, 1]),
    ));
    assert_eq!(
        VerifyingKey::from_pem(&pem).unwrap_err().kind(),
        ConfigErrorKind::WeakKey
    );
    // One more than that modulus has no fingerprint and loads.
    let mut clean = roca.clone();
    *clean.last_mut().unwrap() += 2;
    let mut loads = rsa.clone();
    loads["n"] = json!(b64(&clean));
    let loaded = VerifyingKey::from_jwk(&loads.to_string()).unwrap();
    assert!(loaded.algorithms().contains(Algorithm::RS256));
    // Leading zero octets are not the minimal encoding RFC 7518 requires.
    for (member, value) in [("e", "AAEAAQ"), ("n", "AA")] {
        let mut padded = rsa.clone();
        let original = padded[member].as_str().unwrap().to_owned();
        padded[member] = json!(if member == "n" {
            let mut bytes = vec![0u8];
            bytes.extend(
                base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    &original,
                )
                .unwrap(),
            );
            b64(bytes)
        } else {
            value.to_owned()
        });
        assert_eq!(
            VerifyingKey::from_jwk(&padded.to_string())
                .unwrap_err()
                .kind(),
            ConfigErrorKind::InvalidKey,
            "{member}"
        );
    }
    // Ed25519: y >= p (non-canonical encodings of small values) is refused.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(non_canonical)}).to_string();
    assert_eq!(
        VerifyingKey::from_jwk(&jwk).unwrap_err().kind(),
        ConfigErrorKind::InvalidKey
    );

    // EC: a point off the curve.
    let mut off = key(Algorithm::ES256).bare_jwk();
    let mut y = off["y"].as_str().unwrap().to_owned();
    let flip = if y.starts_with('A') { "B" } else { "A" };
    y.replace_range(0..1, flip);
    off["y"] = json!(y);
    assert_eq!(
        VerifyingKey::from_jwk(&off.to_string()).unwrap_err().kind(),
        ConfigErrorKind::InvalidKey
    );
    let mut short = key(Algorithm::ES256).bare_jwk();
    short["x"] = json!(b64([1u8; 31]));
    assert_eq!(
        VerifyingKey::from_jwk(&short.to_string())
            .unwrap_err()
            .kind(),
        ConfigErrorKind::InvalidKey
    );

    // Ed25519: small-order points (all zeros, the identity, the order-2 point).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0u8; 32];
    order_two[0] = 0xec;
    order_two[1..31].fill(0xff);
    order_two[31] = 0x7f;
    for point in [[0u8; 32], identity, order_two] {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(point)}).to_string();
        assert_eq!(
            VerifyingKey::from_jwk(&jwk).unwrap_err().kind(),
            ConfigErrorKind::WeakKey,
            "{point:?}"
        );
    }

    // Keys that are weak are dropped from a JWKS; the strong ones still work.
    let good = key(Algorithm::ES256);
    let document = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64([0u8; 32]), "kid": "weak"}, good.public_jwk()]});
    let verifier = verifier_with(
        Issuer::new(ISS)
            .audience(AUD)
            .keys(KeySource::jwks_json(document.to_string())),
    );
    assert!(verify(&verifier, &good.mint(&claims())).is_ok());
    // A JWKS with nothing usable is a configuration error.
    let only_weak =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64([0u8; 32])}]}).to_string();
    let error = Verifier::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .keys(KeySource::jwks_json(only_weak)),
        )
        .build();
    assert_eq!(error.unwrap_err().kind(), ConfigErrorKind::NoKeys);
}

#[test]
fn private_keys_and_certificates_are_not_public_keys() {
    let key = key(Algorithm::ES256);
    let private = pem::encode(&pem::Pem::new("PRIVATE KEY", key.private_pkcs8_der()));
    assert_eq!(
        VerifyingKey::from_pem(&private).unwrap_err().kind(),
        ConfigErrorKind::InvalidKey
    );
    // Private members in any form: `d` with a value or null, CRT members without `d`.
    for (member, value) in [
        ("d", json!(b64([1u8; 32]))),
        ("d", json!(null)),
        ("p", json!(b64([1u8; 32]))),
        ("qi", json!(b64([1u8; 32]))),
        ("oth", json!([])),
    ] {
        let mut jwk = key.bare_jwk();
        jwk[member] = value.clone();
        assert_eq!(
            VerifyingKey::from_jwk(&jwk.to_string()).unwrap_err().kind(),
            ConfigErrorKind::InvalidKey,
            "{member}: {value}"
        );
    }
}

#[test]
fn nested_tokens_are_refused() {
    // `cty: JWT` says the payload is itself a token (RFC 7519 section 5.2). tokengate does not
    // support nesting: reading the outer payload as claims would trust what the issuer meant
    // as an opaque inner token.
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    for cty in ["JWT", "jwt", "application/jwt"] {
        let mut head = header(&key);
        head["cty"] = json!(cty);
        let token = key.mint_with_header(&head, &claims());
        assert_invalid_token(&verifier, &token, ErrorKind::UnsupportedToken);
    }
    let mut head = header(&key);
    head["cty"] = json!(1);
    let token = key.mint_with_header(&head, &claims());
    assert_invalid_token(&verifier, &token, ErrorKind::MalformedToken);
}

#[test]
fn sender_constrained_tokens_are_refused_as_bearer_tokens() {
    // A DPoP-bound (cnf.jkt) or certificate-bound (cnf.x5t#S256) token presented with the
    // Bearer scheme: accepting it would let a stolen token work without the client's key.
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    for cnf in [
        json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        json!({}),
    ] {
        let token = key.mint(&claims_with(json!({ "cnf": cnf })));
        assert_invalid_token(&verifier, &token, ErrorKind::BoundToken);
    }
}

// ---------------------------------------------------------------- still accepted

#[test]
fn legitimate_variations_are_accepted() {
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    // Unknown non-critical header members.
    let mut head = header(&key);
    head["x5t#S256"] = json!("abc");
    head["cty"] = json!("example+json");
    head["custom"] = json!({"nested": [1, 2]});
    assert!(verify(&verifier, &key.mint_with_header(&head, &claims())).is_ok());
    // JSON whitespace inside segments, escaped member names.
    let spaced_head = format!(
        "{{ \"\\u0061lg\" :\r\n \"ES256\" ,\t\"kid\" : \"{}\" }}",
        key.kid()
    );
    let payload =
        serde_json::to_string_pretty(&claims())
            .unwrap()
            .replacen("\"exp\"", "\"\\u0065xp\"", 1);
    let verified = verify(&verifier, &key.sign_raw(&spaced_head, &payload)).unwrap();
    assert_eq!(verified.claims.exp, Some((NOW + 300) as f64));
}

#[test]
fn empty_or_zero_rsa_moduli_are_refused_without_panicking() {
    // `n.len() * 8 - 8` underflowed for an empty modulus (a panic with overflow checks, which
    // this test profile has), reachable from a remote JWKS.
    for n in ["", "AA", "AAAA", "AAAAAAAA"] {
        let jwk = json!({"kty": "RSA", "n": n, "e": "AQAB"}).to_string();
        let kind = VerifyingKey::from_jwk(&jwk).unwrap_err().kind();
        assert!(
            matches!(kind, ConfigErrorKind::WeakKey | ConfigErrorKind::InvalidKey),
            "{n:?}: {kind:?}"
        );
    }
}

#[test]
fn strictness_covers_raw_values_and_lone_surrogates() {
    // The whole payload is checked before any part reaches the caller's type, raw values too.
    #[derive(Clone, serde::Deserialize)]
    #[allow(dead_code)]
    struct Raw {
        k: Box<serde_json::value::RawValue>,
    }
    let key = key(Algorithm::ES256);
    let verifier = verifier_for(&key);
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()}).to_string();
    let payload = serde_json::to_string(&claims()).unwrap();
    let base = &payload[..payload.len() - 1];
    for extra in [r#","k":{"a":1,"a":2}"#, r#","k":"\ud800""#] {
        let token = key.sign_raw(&header, &format!("{base}{extra}}}"));
        let error = futures_executor::block_on(verifier.verify::<Raw>(&token)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MalformedToken, "{extra}");
    }
}

#[test]
fn keys_sharing_a_kid_are_each_tried_and_a_forgery_still_fails() {
    // A provider publishing two keys under one kid (seen during rotations): tokens of either
    // verify. A token signed by neither still fails, with the same kid.
    let first = TestKey::generate(Algorithm::ES256).with_kid("shared");
    let second = TestKey::generate(Algorithm::ES256).with_kid("shared");
    let verifier = verifier_with(Issuer::new(ISS).audience(AUD).keys(KeySource::jwks_json(
        tokengate_testkit::jwks(&[&first, &second]),
    )));
    assert!(verify(&verifier, &first.mint(&claims())).is_ok());
    assert!(verify(&verifier, &second.mint(&claims())).is_ok());
    let forger = TestKey::generate(Algorithm::ES256).with_kid("shared");
    assert_invalid_token(
        &verifier,
        &forger.mint(&claims()),
        ErrorKind::InvalidSignature,
    );
}
