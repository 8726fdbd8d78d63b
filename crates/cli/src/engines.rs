//! The engine crates in this build: their backends (for `offload backends`) and their rows in
//! the line-rate report (for `offload bench`). Each engine adds itself here when it lands.

use crate::bench::Case;

/// One line of `offload backends`.
pub(crate) struct BackendRow {
    pub(crate) engine: &'static str,
    pub(crate) backend: &'static str,
    pub(crate) compiled: bool,
    pub(crate) available: bool,
    pub(crate) chosen: bool,
    pub(crate) features: &'static [&'static str],
}

/// Every engine's backends, in `Backend::ALL` order (fastest first).
pub(crate) fn backend_rows() -> Vec<BackendRow> {
    Vec::new()
}

/// Adds every engine's report rows after the machine ceilings.
pub(crate) fn bench_cases(_cases: &mut Vec<Case>) {}
