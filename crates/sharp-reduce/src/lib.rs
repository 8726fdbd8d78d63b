#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod backend;
mod convert;
mod detect;
mod engine;
mod error;
mod proto;
mod types;

#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
pub use backend::Neon;
pub use backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::{Avx2, Avx512};
pub use convert::{
    bf16_to_f32, e4m3_to_f32, e5m2_to_f32, f16_to_f32, f32_to_bf16, f32_to_e4m3, f32_to_e5m2,
    f32_to_f16,
};
pub use engine::{Auto, Backend, Reducer};
pub use error::Error;
pub use proto::{
    Action, Event, FORMAT, HEADER_LEN, Header, Job, Kind, MAGIC, MAX_CHUNK, MAX_FAN_IN, MAX_POOL,
    Node, NodeConfig, NodeStats, Packet, Pending, RANK_ALL, Slot, Worker, WorkerConfig,
    WorkerStats,
};
pub use types::{Bf16, DType, E4M3, E5M2, Element, F16, Fp8Mode, MAX_INPUTS, Op, Reduction};
