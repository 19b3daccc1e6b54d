#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz verify fuzz/corpus/verify`: see `tokengate_fuzz::verify`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::verify(data);
});
