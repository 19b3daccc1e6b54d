#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz extract fuzz/corpus/extract`: see `tokengate_fuzz::extract`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::extract(data);
});
