//! Worst-case inputs before the signature, next to the normal verification benchmark: each is
//! refused, and each refusal must cost time linear in its size (a few µs per KB).
//! - `many_members`: the reported CPU-amplification token: ~760 member names sharing a prefix
//!   and a length (~15 KB), which made the old duplicate check quadratic;
//! - `many_members_48k`: the same at 48 KB (`max_token_bytes` raised), to show the growth;
//! - `deep_nesting`: arrays nested past serde_json's recursion limit;
//! - `long_string`: one 14 KB string claim;
//! - `ordinary`: a normal token with a bad signature, for scale.
//!
//! Run: `cargo bench -p tokengate --bench worst_case`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::{Algorithm, Issuer, KeySource, StandardClaims, Verifier, verifier::Attempt};
use tokengate_testkit::b64;

fn token(payload: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"HS256"}"#),
        b64(payload),
        b64([7u8; 32])
    )
}

fn members(count: usize) -> String {
    let mut payload = String::from(r#"{"iss":"x","aud":"api","exp":1"#);
    for i in 0..count {
        payload.push_str(&format!(r#","aaaaaa{i:04}":0"#));
    }
    payload.push('}');
    payload
}

fn bench(c: &mut Criterion) {
    let verifier = Verifier::builder()
        .issuer(
            Issuer::new("x")
                .audience("api")
                .algorithms([Algorithm::HS256])
                .keys(KeySource::secret(vec![42u8; 32])),
        )
        .max_token_bytes(64 * 1024)
        .build()
        .unwrap();
    let refuse = |token: &str| match verifier.try_verify::<StandardClaims>(token) {
        Attempt::Done(Err(error)) => error,
        _ => panic!("a worst-case input must be refused without I/O"),
    };
    let cases = [
        ("many_members", token(&members(763))),
        ("many_members_48k", token(&members(2400))),
        (
            "deep_nesting",
            token(&format!(
                r#"{{"iss":"x","d":{}{}}}"#,
                "[".repeat(2000),
                "]".repeat(2000)
            )),
        ),
        (
            "long_string",
            token(&format!(
                r#"{{"iss":"x","aud":"api","exp":1,"s":"{}"}}"#,
                "a".repeat(14_000)
            )),
        ),
        (
            "ordinary",
            token(r#"{"iss":"x","aud":"api","exp":4102444800,"sub":"alice"}"#),
        ),
    ];
    let mut group = c.benchmark_group("worst_case");
    for (name, token) in &cases {
        refuse(token);
        group.bench_function(*name, |b| b.iter(|| refuse(black_box(token))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
