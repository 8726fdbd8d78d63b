#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| offload_fuzz::psp_backends_agree(data));
