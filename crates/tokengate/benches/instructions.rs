//! Instructions per verification, counted by cachegrind: exact and repeatable where wall-clock
//! medians on a shared VM move by ±15 % from run to run (`docs/benchmarks.md`, "Instruction
//! counts"). One case per process: `instructions <case> <iterations>`; `bench/instructions.sh`
//! runs every case at two iteration counts under `valgrind --tool=cachegrind` and divides the
//! difference, so set-up cost cancels out.
//!
//! Cases: `sizes/{0.4KB,4KB,16KB}/{tokengate,jsonwebtoken,primitive,floor,signature_only}`,
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
    let run = case_fn(&case).unwrap_or_else(|| {
        eprintln!("unknown case {case}");
        std::process::exit(2);
    });
    for _ in 0..iterations {
        run();
    }
}

fn case_fn(case: &str) -> Option<Box<dyn Fn()>> {
    let ["sizes", label, what] = case.split('/').collect::<Vec<_>>()[..] else {
        return None;
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
