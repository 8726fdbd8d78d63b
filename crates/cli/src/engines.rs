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

/// The rows of one engine crate: every backend of its `Backend::ALL`, whether this build has
/// it, whether this CPU runs it, and whether `Auto::detect` picks it. Every engine crate
/// has the same vocabulary, so one macro serves them all.
macro_rules! engine_rows {
    ($rows:ident, $engine:literal, $krate:ident) => {{
        use $krate::{Auto, Backend};
        let chosen = Auto::detect().backend();
        for b in Backend::ALL {
            $rows.push(BackendRow {
                engine: $engine,
                backend: b.name(),
                compiled: b.is_compiled(),
                available: Auto::with_backend(b).is_some(),
                chosen: b == chosen,
                features: b.features(),
            });
        }
    }};
}

/// Every engine's backends, in each crate's `Backend::ALL` order (fastest first).
pub(crate) fn backend_rows() -> Vec<BackendRow> {
    use offload_compress::Codec as _;
    use offload_erasure::ErasureCoder as _;
    use offload_psp::Cipher as _;
    use offload_rdma_wire::Icrc as _;
    use offload_sharp_reduce::Reducer as _;

    let mut rows = Vec::new();
    engine_rows!(rows, "compress", offload_compress);
    engine_rows!(rows, "erasure", offload_erasure);
    engine_rows!(rows, "flow", offload_flow);
    engine_rows!(rows, "psp", offload_psp);
    engine_rows!(rows, "rdma-wire", offload_rdma_wire);
    engine_rows!(rows, "sharp-reduce", offload_sharp_reduce);
    rows
}

/// Adds every engine's report rows after the machine ceilings.
pub(crate) fn bench_cases(cases: &mut Vec<Case>) {
    crate::compress::bench_cases(cases);
    crate::ec::bench_cases(cases);
    crate::flow::bench_cases(cases);
    crate::psp::bench_cases(cases);
    crate::reduce::bench_cases(cases);
    crate::roce::bench_cases(cases);
}

/// The backend that `--backend NAME` asks for, for any engine crate: `auto` is `detect()`;
/// otherwise the backend of that name (`all` is the crate's `Backend::ALL`), if this build and
/// CPU have it. The errors are the one-line messages the CLI prints.
pub(crate) fn pick_backend<B: Copy, A>(
    name: &str,
    all: &[B],
    name_of: impl Fn(B) -> &'static str,
    with_backend: impl Fn(B) -> Option<A>,
    detect: impl Fn() -> A,
) -> Result<A, String> {
    if name == "auto" {
        return Ok(detect());
    }
    let names: Vec<&str> = all.iter().map(|&b| name_of(b)).collect();
    let backend = all
        .iter()
        .copied()
        .find(|&b| name_of(b) == name)
        .ok_or_else(|| format!("unknown backend '{name}' (auto, {})", names.join(", ")))?;
    with_backend(backend)
        .ok_or_else(|| format!("backend '{name}' is not available on this CPU or build"))
}
