#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz json fuzz/corpus/json`: see `tokengate_fuzz::json_layer`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::json_layer(data);
});
