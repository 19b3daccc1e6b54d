//! Property tests: random input and random mutations of valid tokens never panic and are
//! never accepted.

mod support;

use std::sync::OnceLock;

use proptest::prelude::*;
use support::*;
use tokengate::{Algorithm, Verifier};
use tokengate_testkit::TestKey;

struct Fixture {
    verifier: Verifier,
    tokens: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let algs = [
            Algorithm::HS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
            Algorithm::RS256,
        ];
        let keys: Vec<TestKey> = algs.iter().map(|a| key(*a)).collect();
        let mut builder =
            Verifier::builder().clock(tokengate::clock::FixedClock::at(tokengate_testkit::NOW));
        for key in &keys {
            let iss = format!("https://{}.test/", key.alg().as_str().to_lowercase());
            builder = builder.issuer(
                tokengate::Issuer::new(iss)
                    .audience(AUD)
                    .algorithms([key.alg()])
                    .keys(tokengate::KeySource::jwks_json(tokengate_testkit::jwks(&[
                        key,
                    ]))),
            );
        }
        let verifier = builder.build().unwrap();
        let tokens = keys
            .iter()
            .map(|key| {
                let iss = format!("https://{}.test/", key.alg().as_str().to_lowercase());
                key.mint(&claims_with(serde_json::json!({ "iss": iss })))
            })
            .collect();
        Fixture { verifier, tokens }
    })
}

fn accepted(token: &str) -> bool {
    verify(&fixture().verifier, token).is_ok()
}

#[test]
fn the_unmutated_tokens_are_valid() {
    for token in &fixture().tokens {
        assert!(accepted(token));
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Replace { at: usize, with: char },
    Insert { at: usize, with: char },
    Delete { at: usize },
    Truncate { at: usize },
    SwapSegments { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let chars = prop::sample::select(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\""
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), chars.clone()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        (any::<usize>(), chars).prop_map(|(at, with)| Mutation::Insert { at, with }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (0usize..3, 0usize..3).prop_map(|(a, b)| Mutation::SwapSegments { a, b }),
    ]
}

fn apply(token: &str, mutation: &Mutation) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    let len = bytes.len();
    if len == 0 {
        return bytes;
    }
    match *mutation {
        Mutation::Flip { at, bit } => bytes[at % len] ^= 1 << bit,
        Mutation::Replace { at, with } => bytes[at % len] = with as u8,
        Mutation::Insert { at, with } => bytes.insert(at % (len + 1), with as u8),
        Mutation::Delete { at } => {
            bytes.remove(at % len);
        }
        Mutation::Truncate { at } => bytes.truncate(at % len),
        Mutation::SwapSegments { a, b } => {
            let mut parts: Vec<&str> = token.split('.').collect();
            let n = parts.len();
            parts.swap(a % n, b % n);
            bytes = parts.join(".").into_bytes();
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_never_accepted(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(!accepted(&text));
    }

    #[test]
    fn random_token_shaped_strings_are_never_accepted(
        a in "[A-Za-z0-9_-]{0,64}", b in "[A-Za-z0-9_-]{0,256}", c in "[A-Za-z0-9_-]{0,128}"
    ) {
        let token = [a, b, c].join(".");
        prop_assert!(!accepted(&token));
    }

    #[test]
    fn mutated_tokens_are_never_accepted(
        which in 0usize..4,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let original = &fixture().tokens[which];
        let mut current = original.clone();
        for m in &mutations {
            current = String::from_utf8_lossy(&apply(&current, m)).into_owned();
        }
        if current != *original {
            prop_assert!(!accepted(&current), "accepted a mutation: {:?}", mutations);
        }
    }
}
