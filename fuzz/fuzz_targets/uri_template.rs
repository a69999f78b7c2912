//! libFuzzer entry for [`clawgate_fuzz::uri_template`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawgate_fuzz::uri_template::run(data));
