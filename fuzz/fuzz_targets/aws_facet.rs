//! libFuzzer entry for [`clawgate_fuzz::aws_facet`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| clawgate_fuzz::aws_facet::run(data));
