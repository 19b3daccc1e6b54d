#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz introspection fuzz/corpus/introspection`: see `tokengate_fuzz::introspection`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::introspection(data);
});
