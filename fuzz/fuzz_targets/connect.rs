//! libFuzzer entry for [`clawgate_fuzz::connect`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawgate_fuzz::connect::run(data));
