//! `cargo +nightly fuzz run script_text`: see fuzz/README.md.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keyceremony_fuzz::script_text(data));

/// Outside cargo fuzz (a stable `cargo test`, which builds every binary of
/// the package) there is no fuzzer to link; the bounded stable run of the same
/// target is in src/lib.rs.
#[cfg(not(fuzzing))]
fn main() {}
