#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz dpop fuzz/corpus/dpop`: see `tokengate_fuzz::dpop`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::dpop(data);
});
