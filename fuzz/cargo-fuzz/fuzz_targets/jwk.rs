#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz jwk fuzz/corpus/jwk`: see `tokengate_fuzz::jwk`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::jwk(data);
});
