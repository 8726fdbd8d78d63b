#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| offload_fuzz::compress_lz4_no_stale_output(data));
