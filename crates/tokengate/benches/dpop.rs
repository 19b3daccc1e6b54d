//! The cost of DPoP per proof algorithm, through the request pipeline (`Verifier::decide`):
//! - `bearer`: an unbound token (ES256) under `Authorization: Bearer`, with the token cache (the
//!   steady state of a busy API);
//! - `dpop/<alg>`: the same kind of token bound to a client key of `<alg>`, under
//!   `Authorization: DPoP` with a proof (the token cached, the proof checked in full: header,
//!   key, signature, claims, `htu` normalization, `ath`, thumbprint, replay store);
//! - `proof_signature/<alg>`: `dangerous::verify_signature_only` over the proof with its key
//!   parsed once (split, strict base64url and header, signature) — the floor.
//!
//! The replay store used here admits every proof (so one proof can be replayed by the loop);
//! the in-memory store's own cost is measured in `memory_replay_store`.
//!
//! Run: `cargo bench -p tokengate --bench dpop`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokengate::{Algorithm, store::MemoryReplayStore, store::ReplayStore};
use tokengate_testkit::dpop::DpopKey;
use tokengate_testkit::{NOW, TestKey, claims_at};

mod common;
use common::dpop::{ISS, URL, admit, dpop_verifier, headers};

fn bench(c: &mut Criterion) {
    let (issuer, verifier) = dpop_verifier();

    let mut group = c.benchmark_group("dpop");
    let bearer = issuer.mint(&claims_at(ISS, common::dpop::AUD, NOW));
    let map = headers(&[("authorization", format!("Bearer {bearer}"))]);
    admit(&verifier, &map);
    group.bench_function("bearer", |b| b.iter(|| admit(&verifier, &map)));

    for alg in [
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::PS256,
        Algorithm::RS256,
    ] {
        let client = DpopKey::shared(alg);
        let token = issuer.mint(&client.bind(claims_at(ISS, common::dpop::AUD, NOW)));
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
        group.bench_function(format!("dpop/{alg}"), |b| b.iter(|| admit(&verifier, &map)));

        // The floor: the proof's structure and signature alone, its key parsed once.
        let key = TestKey::shared(alg).verifying_key();
        group.bench_function(format!("proof_signature/{alg}"), |b| {
            b.iter(|| black_box(tokengate::dangerous::verify_signature_only(&proof, &key)))
        });
    }

    let store = MemoryReplayStore::new(200_000);
    let mut n = 0u64;
    group.bench_function("memory_replay_store", |b| {
        b.iter(|| {
            // A thousand new proofs a clock second, each live for 120 s: about 120,000 live
            // entries, with expired ones swept as shards fill.
            n += 1;
            let now = NOW + n / 1000;
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &n.to_le_bytes());
            let key: [u8; 32] = digest.as_ref().try_into().unwrap();
            black_box(store.record(key, now + 120, now));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
