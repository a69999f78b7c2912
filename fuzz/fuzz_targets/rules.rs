//! libFuzzer entry for [`clawgate_fuzz::rules`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawgate_fuzz::rules::run(data));
