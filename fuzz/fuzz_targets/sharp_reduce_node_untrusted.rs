#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| offload_fuzz::sharp_reduce_node_untrusted(data));
