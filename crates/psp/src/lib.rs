#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod backend;
mod detect;
mod engine;
mod error;
mod header;
mod kdf;
mod key;
mod packet;
mod sa;

#[cfg(target_arch = "aarch64")]
pub use backend::Neon;
pub use backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::{Avx2, Avx512};
pub use engine::{Auto, Backend, Cipher, MAX_MESSAGE_LEN, NONCE_LEN, TAG_LEN};
pub use error::Error;
pub use header::{BASE_HEADER_LEN, Header, HeaderRepr, VC_LEN, Version};
pub use kdf::{CmacKey, MasterKeys};
pub use key::{GcmKey, SaKey};
pub use packet::{
    Decapsulated, ICV_LEN, Mode, PSP_UDP_PORT, UDP_HEADER_LEN, decapsulate, encapsulate,
    encapsulate_at, headroom,
};
pub use sa::{RxSa, TxSa};
