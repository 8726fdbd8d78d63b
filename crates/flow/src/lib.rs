#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::cast_possible_truncation,
        reason = "tests build bytes from small indices"
    )
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod backend;
mod classifier;
mod detect;
mod engine;
mod error;
mod key;
mod rss;
mod table;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::Avx2;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub use backend::Avx512;
#[cfg(target_arch = "aarch64")]
pub use backend::Neon;
pub use backend::Scalar;
pub use classifier::{
    Classifier, MaskedKey, Match, Mode, Rule, RuleData, RuleEntry, RuleId, Subtable,
};
pub use engine::{Auto, Backend, Lookup, LookupTask};
pub use error::Error;
pub use key::{FlowKey, Ipv4Tuple, Ipv6Tuple, Key};
pub use rss::{Fields, Reta, RssHasher, RssKey, Symmetric};
pub use table::{Bucket, Entry, FlowId, FlowTable};
