//! The engine crates in this build: their backends (for `offload backends`), their rows in the
//! line-rate report (for `offload bench`) and their subcommands. Each engine adds itself here.

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

/// Every engine's backends, in each crate's `Backend::ALL` order (fastest first).
pub(crate) fn backend_rows() -> Vec<BackendRow> {
    let mut rows = Vec::new();
    {
        use offload_erasure::{Auto, Backend, ErasureCoder};
        let chosen = Auto::detect().backend();
        for b in Backend::ALL {
            rows.push(BackendRow {
                engine: "erasure",
                backend: b.name(),
                compiled: b.is_compiled(),
                available: Auto::with_backend(b).is_some(),
                chosen: b == chosen,
                features: b.features(),
            });
        }
    }
    rows
}

/// Adds every engine's report rows after the machine ceilings.
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    crate::ec::bench_cases(cases);
}
