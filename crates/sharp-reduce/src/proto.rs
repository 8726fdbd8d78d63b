//! The aggregation-tree protocol: SHARP's tree of aggregation nodes with SwitchML's slot
//! pool, shadow copies and worker-driven loss recovery, and ATP's "no slot" spill. No heap,
//! no clock, no I/O inside: a [`Node`] turns a received packet into the packet to send
//! ([`Action`]), a [`Worker`] turns a clock value into packets and result packets into its
//! output.
//!
//! The packet format, the node's storage, what a tree computes and the correctness
//! argument (slot reuse, shadow copies, stale copies, exactly-once delivery, progress) are
//! in the crate docs, section "Aggregation protocol"; the files here:
//!
//! - `wire.rs`: [`Packet`] (view) and [`Header`] (validated repr), the 24-byte header.
//! - `job.rs`: [`Job`], what every participant shares, and the chunk → (slot, version bit)
//!   map with the checks every received packet goes through.
//! - `node.rs`: [`Node`], the slot state machine (empty → collecting → complete → final,
//!   two versions per slot).
//! - `worker.rs`: [`Worker`], the window, retransmission timers and exactly-once delivery.
//! - `fold.rs`: byte storage ↔ the crate's kernels (streaming accumulation in arrival
//!   order; the rank-order fused reduction lives in `node.rs`).
//!
//! # No-panic contract
//!
//! Nothing here panics on any input: [`Packet::new_checked`] validates lengths,
//! [`Header::parse`] every field, [`Node::handle`] and [`Worker::handle`] the rest against
//! their configuration, slicing goes through `get` and arithmetic is checked, wrapping or
//! saturating (the module denies `clippy::indexing_slicing` and
//! `clippy::arithmetic_side_effects`). An error leaves the node or worker unchanged.
//! [`Node::check_invariants`] and [`Worker::check_invariants`] check the bookkeeping in
//! O(slots) and O(window), for fuzzers and tests.

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

mod fold;
mod job;
mod node;
mod wire;
mod worker;

pub use job::{Job, MAX_CHUNK, MAX_FAN_IN, MAX_POOL};
pub use node::{Action, Node, NodeConfig, NodeStats, Slot};
pub use wire::{FORMAT, HEADER_LEN, Header, Kind, MAGIC, Packet, RANK_ALL};
pub use worker::{Event, Pending, Worker, WorkerConfig, WorkerStats};
