#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| offload_fuzz::rdma_wire_icrc_backends_agree(data));
