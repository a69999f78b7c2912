//! libFuzzer entry for [`clawgate_fuzz::sigv4`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawgate_fuzz::sigv4::run(data));
