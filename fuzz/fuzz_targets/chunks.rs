//! libFuzzer entry for [`clawgate_fuzz::chunks`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawgate_fuzz::chunks::run(data));
