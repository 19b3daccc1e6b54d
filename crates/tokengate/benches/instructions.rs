//! Instructions per verification, counted by callgrind: exact and repeatable where wall-clock
//! medians on a shared VM move by ±15 % or more from run to run (`docs/benchmarks.md`,
//! "Strict JSON scanner and instruction counts"). One case per process:
//! `instructions <case> <iterations>`; `bench/instructions.sh` runs every case under
//! `valgrind --tool=callgrind --toggle-collect=*measured*`, so only the measured loop counts
//! (not set-up or key generation, whose cost is random), and divides by the iterations.
//!
//! Cases: `dpop/bearer` and `dpop/<alg>/{request,signature}` (see `dpop_case`),
//! `jwe/{tokengate,decrypt,jws}` (see `jwe_case`), `cache/{hit,sha256}[/<entries>]` (see
//! `cache_case`), and
//! `sizes/{0.4KB,4KB,16KB}/{tokengate,jsonwebtoken,primitive,floor,signature_only}`,
//! HS256 tokens as in `verify.rs` (0.4 KB is its realistic access token): `primitive` is the
//! bare HMAC check, `floor` base64url-decoding the payload plus `serde_json::from_slice` into
//! the claims type, so `tokengate − primitive − floor` is tokengate's own work.

use std::hint::black_box;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

mod common;
use common::{Claims, SIZES, Sized, poll_once};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(case), Some(iterations)) = (args.next(), args.next()) else {
        eprintln!("usage: instructions <case> <iterations> (cases: see the file's documentation)");
        std::process::exit(2);
    };
    let iterations: u64 = iterations.parse().expect("iterations is a number");
    // `dpop/<alg>/pair`: the request and the proof's signature alone, in one process over the
    // same proof (an ECDSA signature's verification cost depends on the random signature, so
    // two processes would differ by more than DPoP's own work); `bench/instructions.sh` reads
    // each loop's inclusive count (`measured`, then `measured_second`).
    if case == "jwe/pair" {
        let (tokengate, _, decrypt) = jwe_cases();
        tokengate_testkit::fixture::measured(&mut || tokengate(), iterations);
        measured_second(&mut || decrypt(), iterations);
        return;
    }
    if let ["dpop", alg, "pair"] = case.split('/').collect::<Vec<_>>()[..] {
        let (request, signature) = dpop_pair(alg).expect("a DPoP algorithm");
        tokengate_testkit::fixture::measured(&mut || request(), iterations);
        measured_second(&mut || signature(), iterations);
        return;
    }
    let run = case_fn(&case).unwrap_or_else(|| {
        eprintln!("unknown case {case}");
        std::process::exit(2);
    });
    // A set-up too long to run under instrumentation (a million cached tokens): the script
    // starts valgrind with `--instr-atstart=no` and turns it on when this line is printed.
    if std::env::var_os("INSTRUCTIONS_PAUSE").is_some() {
        eprintln!("ready");
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .expect("a line on stdin");
    }
    // The loop callgrind counts (`--toggle-collect=*measured*`): set-up, key generation
    // included, stays outside.
    tokengate_testkit::fixture::measured(&mut || run(), iterations);
}

/// The second loop of a `pair` case (counted like `measured`, reported on its own).
#[inline(never)]
fn measured_second(run: &mut dyn FnMut(), iterations: u64) {
    for _ in 0..iterations {
        run();
    }
}

fn case_fn(case: &str) -> Option<Box<dyn Fn()>> {
    let parts = case.split('/').collect::<Vec<_>>();
    let (label, what) = match parts[..] {
        ["sizes", label, what] => (label, what),
        ["dpop", what] => return dpop_case(what, None),
        ["dpop", alg, what] => return dpop_case(alg, Some(what)),
        ["jwe", what] => return jwe_case(what),
        ["cache", what] => return cache_case(what, 1_000),
        ["cache", what, entries] => return cache_case(what, entries.parse().ok()?),
        _ => return None,
    };
    let (_, target) = SIZES.into_iter().find(|(l, _)| *l == label)?;
    let sized = Sized::new();
    let token = sized.token(target);
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let (signing_input, signature) = (
        signing_input.to_owned(),
        URL_SAFE_NO_PAD.decode(signature).unwrap(),
    );
    let payload_b64 = token.split('.').nth(1).unwrap().to_owned();
    Some(match what {
        "tokengate" => Box::new(move || {
            poll_once(sized.verifier.verify::<Claims>(black_box(&token))).unwrap();
        }),
        "jsonwebtoken" => Box::new(move || {
            jsonwebtoken::decode::<Claims>(black_box(&token), &sized.decoding, &sized.validation)
                .unwrap();
        }),
        "primitive" => {
            let key = hmac::Key::new(hmac::HMAC_SHA256, sized.key.secret().unwrap());
            Box::new(move || {
                hmac::verify(&key, black_box(signing_input.as_bytes()), &signature).unwrap();
            })
        }
        "floor" => Box::new(move || {
            let payload = URL_SAFE_NO_PAD.decode(black_box(&payload_b64)).unwrap();
            serde_json::from_slice::<Claims>(&payload).unwrap();
        }),
        "signature_only" => {
            let verifying_key = sized.key.verifying_key();
            Box::new(move || {
                tokengate::dangerous::verify_signature_only(black_box(&token), &verifying_key)
                    .unwrap();
            })
        }
        _ => return None,
    })
}

/// `dpop/bearer`: an unbound ES256 token, cached, through `decide`, as long as the bound one (a
/// claim `cnx` of the size of `cnf`, so the token's hash costs the same); `dpop/<alg>/request`: the
/// same kind of token bound to a `<alg>` client key, with its proof checked in full;
/// `dpop/<alg>/signature`: the proof's structure and signature alone (its key parsed once).
/// DPoP's own work is `request − signature − bearer`.
fn dpop_case(alg: &str, what: Option<&str>) -> Option<Box<dyn Fn()>> {
    use common::dpop::{AUD, ISS, admit, dpop_verifier, headers};
    use tokengate_testkit::{NOW, claims_at};

    if alg == "bearer" {
        let (issuer, verifier) = dpop_verifier();
        // The same length as a bound token: `"cnx":{"jkt":"<43 characters>"}` for `cnf`.
        let mut claims = claims_at(ISS, AUD, NOW);
        claims["cnx"] = serde_json::json!({ "jkt": "x".repeat(43) });
        let bearer = issuer.mint(&claims);
        let map = headers(&[("authorization", format!("Bearer {bearer}"))]);
        admit(&verifier, &map);
        return Some(Box::new(move || admit(&verifier, &map)));
    }
    let (request, signature) = dpop_pair(alg)?;
    match what? {
        "request" => Some(request),
        "signature" => Some(signature),
        _ => None,
    }
}

/// `dpop/<alg>/request` and `dpop/<alg>/signature` over one proof.
#[allow(clippy::type_complexity)]
fn dpop_pair(alg: &str) -> Option<(Box<dyn Fn()>, Box<dyn Fn()>)> {
    use common::dpop::{AUD, ISS, URL, admit, dpop_verifier, headers};
    use tokengate::Algorithm;
    use tokengate_testkit::dpop::DpopKey;
    use tokengate_testkit::{NOW, TestKey, claims_at};

    let (issuer, verifier) = dpop_verifier();
    let alg = Algorithm::from_name(alg)?;
    let client = DpopKey::shared(alg);
    let token = issuer.mint(&client.bind(claims_at(ISS, AUD, NOW)));
    let proof = client
        .proof_for("GET", URL)
        .issued_at(NOW)
        .access_token(&token)
        .sign();
    let map = headers(&[
        ("authorization", format!("DPoP {token}")),
        ("dpop", proof.clone()),
    ]);
    admit(&verifier, &map);
    let key = TestKey::shared(alg).verifying_key();
    Some((
        Box::new(move || admit(&verifier, &map)),
        Box::new(move || {
            black_box(tokengate::dangerous::verify_signature_only(&proof, &key)).unwrap();
        }),
    ))
}

/// An encrypted token (`RSA-OAEP-256` + `A256GCM`, RSA-2048) around an RS256 JWT, no cache:
/// `tokengate` verifies it; `decrypt` is the bare primitives (OAEP unwrap, AES-GCM open);
/// `jws` verifies the JWT inside through tokengate. `tokengate − decrypt − jws` is what the
/// JWE path adds (parsing, the header rules, the key choice).
fn jwe_case(what: &str) -> Option<Box<dyn Fn()>> {
    let (tokengate, jws, decrypt) = jwe_cases();
    match what {
        "tokengate" => Some(tokengate),
        "jws" => Some(jws),
        "decrypt" => Some(decrypt),
        _ => None,
    }
}

/// The three JWE cases over one key and one token (`jwe/pair` counts `tokengate` and `decrypt`
/// in one process: an RSA private key's operations cost more or less with the key).
#[allow(clippy::type_complexity)]
fn jwe_cases() -> (Box<dyn Fn()>, Box<dyn Fn()>, Box<dyn Fn()>) {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{
        KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey,
    };
    use tokengate::Algorithm;
    use tokengate::keys::{ContentEncryption, KeyManagement};
    use tokengate_testkit::jwe::Recipient;
    use tokengate_testkit::{NOW, TestKey, claims_at, jwks};
    const ISS: &str = "https://issuer.test/";
    const AUD: &str = "api";

    let signer = TestKey::shared(Algorithm::RS256);
    let rsa = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = rsa.as_der().unwrap().as_ref().to_vec();
    let recipient = Recipient::from_rsa_pkcs8(&pkcs8);
    let jwt = signer.mint(&claims_at(ISS, AUD, NOW));
    let jwe = recipient.encrypt(&jwt, KeyManagement::RsaOaep256, ContentEncryption::A256Gcm);
    let verifier = tokengate::Verifier::builder()
        .issuer(
            tokengate::Issuer::new(ISS)
                .audience(AUD)
                .keys(tokengate::KeySource::jwks_json(jwks(&[&signer]))),
        )
        .decryption_key(recipient.decryption_key())
        .clock(tokengate::clock::FixedClock::at(NOW))
        .build()
        .unwrap();
    poll_once(verifier.verify::<tokengate::StandardClaims>(&jwe)).unwrap();
    poll_once(verifier.verify::<tokengate::StandardClaims>(&jwt)).unwrap();
    let (for_jwe, jwe_text) = (verifier.clone(), jwe.clone());
    let tokengate: Box<dyn Fn()> = Box::new(move || {
        poll_once(for_jwe.verify::<tokengate::StandardClaims>(black_box(&jwe_text))).unwrap();
    });
    let jws: Box<dyn Fn()> = Box::new(move || {
        poll_once(verifier.verify::<tokengate::StandardClaims>(black_box(&jwt))).unwrap();
    });
    let parts: Vec<Vec<u8>> = jwe
        .split('.')
        .map(|p| URL_SAFE_NO_PAD.decode(p).unwrap())
        .collect();
    let aad = jwe.split('.').next().unwrap().to_owned();
    let key =
        OaepPrivateDecryptingKey::new(PrivateDecryptingKey::from_pkcs8(&pkcs8).unwrap()).unwrap();
    let decrypt: Box<dyn Fn()> = Box::new(move || {
        let mut out = vec![0u8; key.min_output_size()];
        let cek = key
            .decrypt(
                &OAEP_SHA256_MGF1SHA256,
                black_box(&parts[1]),
                &mut out,
                None,
            )
            .unwrap();
        let gcm = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, cek).unwrap());
        let mut in_out = [parts[3].as_slice(), parts[4].as_slice()].concat();
        let plain = gcm
            .open_in_place(
                Nonce::try_assume_unique_for_key(&parts[2]).unwrap(),
                Aad::from(aad.as_bytes()),
                &mut in_out,
            )
            .unwrap();
        black_box(plain);
    });
    (tokengate, jws, decrypt)
}

/// The verified-token cache, for a 0.3 KB HS256 token read into a five-field claims type:
/// `hit` verifies it with the cache holding it and `entries − 1` other tokens (SHA-256 of the
/// token included: the cache's key); `sha256` hashes the token alone. The goal: a hit within
/// 1.5 × the hash, and as cheap with 1,000,000 entries as with 1,000.
fn cache_case(what: &str, entries: u32) -> Option<Box<dyn Fn()>> {
    use tokengate::cache::TokenCache;
    use tokengate_testkit::fixture::verified_now;
    use tokengate_testkit::{NOW, TestKey};

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Five {
        sub: String,
        client_id: String,
        scope: String,
        exp: u64,
        iat: u64,
    }
    const ISS: &str = "https://issuer.bench/";
    let key = TestKey::generate(tokengate::Algorithm::HS256).with_kid("bench-key");
    let claims = |n: u32| {
        serde_json::json!({
            "iss": ISS, "sub": format!("user-{n:07}"), "aud": "api", "exp": NOW + 3600,
            "iat": NOW, "client_id": "bench-client", "scope": "messages:read messages:write",
        })
    };
    let token = key.mint(&claims(0));
    assert!((280..360).contains(&token.len()), "{} bytes", token.len());
    Some(match what {
        "sha256" => Box::new(move || {
            black_box(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                black_box(token.as_bytes()),
            ));
        }),
        "hit" => {
            let verifier = tokengate::Verifier::builder()
                .issuer(
                    tokengate::Issuer::new(ISS)
                        .audience("api")
                        .algorithms([tokengate::Algorithm::HS256])
                        .keys(tokengate::KeySource::jwks_json(tokengate_testkit::jwks(&[
                            &key,
                        ]))),
                )
                .cache(
                    TokenCache::new()
                        .max_entries(u64::from(entries) + 1_000)
                        .max_bytes(4 << 30),
                )
                .clock(tokengate::clock::FixedClock::at(NOW))
                .build()
                .unwrap();
            for n in 1..entries {
                let _ = verified_now::<Five>(&verifier, &key.mint(&claims(n)));
            }
            let _ = verified_now::<Five>(&verifier, &token);
            let _ = verified_now::<Five>(&verifier, &token);
            let stats = verifier.cache_stats().unwrap();
            assert!(stats.hits >= 1 && stats.entries >= u64::from(entries) * 9 / 10);
            eprintln!("cache: {} entries", stats.entries);
            Box::new(move || {
                black_box(verified_now::<Five>(&verifier, black_box(&token)));
            })
        }
        _ => return None,
    })
}
