#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz jwe fuzz/corpus/jwe`: see `tokengate_fuzz::jwe`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::jwe(data);
});
