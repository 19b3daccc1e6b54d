#![no_main]
//! `cargo fuzz run --fuzz-dir fuzz/cargo-fuzz discovery fuzz/corpus/discovery`: see `tokengate_fuzz::discovery`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tokengate_fuzz::discovery(data);
});
