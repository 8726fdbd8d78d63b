#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| offload_fuzz::rdma_wire_parse_untrusted(data));
