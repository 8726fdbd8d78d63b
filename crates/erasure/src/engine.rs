//! The engine trait ([`ErasureCoder`]), the backend selector ([`Backend`]), the run-time
//! dispatcher ([`Auto`]) and the caller-owned scratch ([`Workspace`]).
//!
//! A backend implements two region kernels, [`ErasureCoder::dot_prod`] (ISA-L's
//! `ec_encode_data`) and [`ErasureCoder::mul_acc`] (ISA-L's `*_mad`); every Reed-Solomon
//! operation (encode, reconstruct, verify, update) is a provided method written once on top of
//! them, so all backends share the shape checks, the decode-row algebra and their errors.

#![forbid(unsafe_code)]

#[cfg(target_arch = "aarch64")]
use crate::backend::Neon;
use crate::backend::Scalar;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use crate::backend::{Avx2, Avx512};
use crate::{Code, Error, MAX_SHARDS};

/// Which implementation runs. Tests, benches and the CLI iterate [`Backend::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable safe Rust, always available: the oracle the others must match bit for bit.
    Scalar,
    /// x86_64 with AVX-512F, AVX-512BW and GFNI.
    Avx512,
    /// x86_64 with AVX2 (for CPUs without AVX-512 + GFNI).
    Avx2,
    /// aarch64 Advanced SIMD.
    Neon,
}

impl Backend {
    /// Every backend, fastest first.
    pub const ALL: [Backend; 4] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Neon,
        Backend::Scalar,
    ];

    /// Lower-case name: `scalar`, `avx512`, `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Neon => "neon",
        }
    }

    /// Whether this build contains the backend (it depends on the target architecture).
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Scalar => true,
            Backend::Avx512 | Backend::Avx2 => {
                cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
            }
            Backend::Neon => cfg!(target_arch = "aarch64"),
        }
    }

    /// CPU features the backend needs (names as `is_x86_feature_detected!` spells them).
    pub const fn features(self) -> &'static [&'static str] {
        match self {
            Backend::Scalar => &[],
            Backend::Avx512 => &["avx512f", "avx512bw", "gfni"],
            Backend::Avx2 => &["avx2"],
            Backend::Neon => &["neon"],
        }
    }
}

impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Caller-owned scratch for [`ErasureCoder::reconstruct`] and [`ErasureCoder::verify`]:
/// room for a `256 x 255` matrix, 65,280 bytes. Keep it in a `Box`, a large stack, or a
/// `static` behind a lock (every call takes `&mut`); one workspace serves any number of
/// calls, one at a time.
#[derive(Clone)]
pub struct Workspace {
    pub(crate) bytes: [u8; Workspace::SIZE],
}

impl Workspace {
    /// Bytes of scratch: `MAX_SHARDS * (MAX_SHARDS - 1)`.
    pub const SIZE: usize = MAX_SHARDS * (MAX_SHARDS - 1);

    /// A zeroed workspace (`const`, so it can initialise a `static`).
    pub const fn new() -> Self {
        Self {
            bytes: [0; Self::SIZE],
        }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workspace")
            .field("size", &Self::SIZE)
            .finish_non_exhaustive()
    }
}

/// Checks the shapes of a `dot_prod` call; returns the common region length.
pub(crate) fn check_dot_prod(
    coeffs: &[u8],
    srcs: &[&[u8]],
    outs: &[&mut [u8]],
) -> Result<usize, Error> {
    if coeffs.len() != srcs.len() * outs.len() {
        return Err(Error::CoefficientCount {
            expected: srcs.len() * outs.len(),
            found: coeffs.len(),
        });
    }
    let len = outs
        .first()
        .map(|o| o.len())
        .or(srcs.first().map(|s| s.len()))
        .unwrap_or(0);
    check_lengths(srcs.iter().map(|s| s.len()), len, 0)?;
    check_lengths(outs.iter().map(|o| o.len()), len, srcs.len())?;
    Ok(len)
}

/// Checks the shapes of a `mul_acc` call; returns the common region length.
pub(crate) fn check_mul_acc(coeffs: &[u8], src: &[u8], outs: &[&mut [u8]]) -> Result<usize, Error> {
    if coeffs.len() != outs.len() {
        return Err(Error::CoefficientCount {
            expected: outs.len(),
            found: coeffs.len(),
        });
    }
    check_lengths(outs.iter().map(|o| o.len()), src.len(), 1)?;
    Ok(src.len())
}

/// Every length must equal `expected`; `first_index` numbers the first one in the error.
fn check_lengths(
    lens: impl Iterator<Item = usize>,
    expected: usize,
    first_index: usize,
) -> Result<(), Error> {
    for (i, found) in lens.enumerate() {
        if found != expected {
            return Err(Error::ShardLength {
                index: first_index + i,
                expected,
                found,
            });
        }
    }
    Ok(())
}

fn check_count(expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShardCount { expected, found })
    }
}

/// Bytes per update strip (a stack buffer holds the delta).
const UPDATE_STRIP: usize = 1024;

/// GF(2^8) Reed-Solomon erasure coding. Implemented by [`Scalar`], `Avx512`, `Neon` and
/// [`Auto`]; all give identical bytes on every input.
///
/// Shards are caller slices of one common length (any length, including 0). Nothing is
/// allocated; [`Workspace`] is the only scratch.
pub trait ErasureCoder: Copy + core::fmt::Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Region dot product: `outs[r] = XOR_j coeffs[r * srcs.len() + j] * srcs[j]`, bytewise
    /// in GF(2^8), overwriting `outs` (ISA-L's `ec_encode_data`).
    ///
    /// # Errors
    /// [`Error::CoefficientCount`] unless `coeffs.len() == outs.len() * srcs.len()`;
    /// [`Error::ShardLength`] unless every source and output has the same length (sources
    /// are numbered first, then outputs). On error nothing is written.
    fn dot_prod(&self, coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) -> Result<(), Error>;

    /// Region multiply-accumulate: `outs[r] ^= coeffs[r] * src` (ISA-L's `*_mad`).
    ///
    /// # Errors
    /// [`Error::CoefficientCount`] unless `coeffs.len() == outs.len()`;
    /// [`Error::ShardLength`] unless every output has `src.len()` bytes (the source is index
    /// 0, outputs are numbered from 1). On error nothing is written.
    fn mul_acc(&self, coeffs: &[u8], src: &[u8], outs: &mut [&mut [u8]]) -> Result<(), Error>;

    /// Computes the `m` parity shards of `k` data shards.
    ///
    /// # Errors
    /// [`Error::ShardCount`] unless `data.len() == k` and `parity.len() == m`;
    /// [`Error::ShardLength`] unless all shards have one length (data numbered `0..k`,
    /// parity `k..k+m`).
    fn encode(&self, code: &Code, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<(), Error> {
        check_count(code.data_shards(), data.len())?;
        check_count(code.parity_shards(), parity.len())?;
        self.dot_prod(code.parity_matrix(), data, parity)
    }

    /// Rebuilds every missing shard (data and parity) in place from the present ones.
    /// `present[i]` says whether `shards[i]` holds valid bytes; the buffers of missing shards
    /// are overwritten. Up to `m` shards may be missing.
    ///
    /// # Errors
    /// [`Error::ShardCount`] unless `shards` and `present` have `k + m` entries;
    /// [`Error::ShardLength`] unless all shards have one length; [`Error::TooManyMissing`]
    /// when fewer than `k` are present; [`Error::SingularMatrix`] when a custom matrix cannot
    /// recover this pattern. On error nothing is written.
    fn reconstruct(
        &self,
        code: &Code,
        shards: &mut [&mut [u8]],
        present: &[bool],
        ws: &mut Workspace,
    ) -> Result<(), Error> {
        rebuild(self, code, shards, present, code.total_shards(), ws)
    }

    /// As [`reconstruct`](Self::reconstruct), but rebuilds only missing data shards; missing
    /// parity buffers are left as they are.
    ///
    /// # Errors
    /// As [`reconstruct`](Self::reconstruct).
    fn reconstruct_data(
        &self,
        code: &Code,
        shards: &mut [&mut [u8]],
        present: &[bool],
        ws: &mut Workspace,
    ) -> Result<(), Error> {
        rebuild(self, code, shards, present, code.data_shards(), ws)
    }

    /// Whether the parity shards `shards[k..]` are consistent with the data `shards[..k]`.
    ///
    /// # Errors
    /// [`Error::ShardCount`] unless `shards` has `k + m` entries; [`Error::ShardLength`]
    /// unless all have one length.
    fn verify(&self, code: &Code, shards: &[&[u8]], ws: &mut Workspace) -> Result<bool, Error> {
        let (k, m) = (code.data_shards(), code.parity_shards());
        check_count(k + m, shards.len())?;
        let len = shards.first().map_or(0, |s| s.len());
        check_lengths(shards.iter().map(|s| s.len()), len, 0)?;
        let (data, parity) = shards.split_at(k);
        // Recompute the parity strip by strip into the workspace (at least 256 bytes a row).
        let strip = (Workspace::SIZE / m) & !63;
        let mut srcs: [&[u8]; MAX_SHARDS] = [&[]; MAX_SHARDS];
        let mut start = 0;
        while start < len {
            let end = len.min(start + strip);
            for (s, d) in srcs.iter_mut().zip(data) {
                *s = &d[start..end];
            }
            let mut outs: [&mut [u8]; MAX_SHARDS] = core::array::from_fn(|_| &mut [][..]);
            for (o, chunk) in outs.iter_mut().zip(ws.bytes.chunks_exact_mut(end - start)) {
                *o = chunk;
            }
            self.dot_prod(code.parity_matrix(), &srcs[..k], &mut outs[..m])?;
            if outs[..m]
                .iter()
                .zip(parity)
                .any(|(computed, stored)| **computed != stored[start..end])
            {
                return Ok(false);
            }
            start = end;
        }
        Ok(true)
    }

    /// Patches the parity after data shard `index` changed from `old` to `new` (a
    /// partial-stripe write): `parity[r] ^= P[r][index] * (old ^ new)`. Only the changed
    /// shard and the parity are read.
    ///
    /// # Errors
    /// [`Error::ShardIndex`] unless `index < k`; [`Error::ShardCount`] unless
    /// `parity.len() == m`; [`Error::ShardLength`] unless `old`, `new` and every parity shard
    /// have one length (`old` is index 0, `new` 1, parity `2..`).
    fn update(
        &self,
        code: &Code,
        index: usize,
        old: &[u8],
        new: &[u8],
        parity: &mut [&mut [u8]],
    ) -> Result<(), Error> {
        let (k, m) = (code.data_shards(), code.parity_shards());
        if index >= k {
            return Err(Error::ShardIndex { index, count: k });
        }
        check_count(m, parity.len())?;
        let len = old.len();
        check_lengths(
            core::iter::once(new.len()).chain(parity.iter().map(|p| p.len())),
            len,
            1,
        )?;
        let mut column = [0u8; MAX_SHARDS];
        for (c, row) in column.iter_mut().zip(code.parity_matrix().chunks_exact(k)) {
            *c = row[index];
        }
        let mut delta = [0u8; UPDATE_STRIP];
        let mut start = 0;
        while start < len {
            let end = len.min(start + UPDATE_STRIP);
            let delta = &mut delta[..end - start];
            for ((d, o), n) in delta.iter_mut().zip(&old[start..end]).zip(&new[start..end]) {
                *d = o ^ n;
            }
            let mut outs: [&mut [u8]; MAX_SHARDS] = core::array::from_fn(|_| &mut [][..]);
            for (o, p) in outs.iter_mut().zip(parity.iter_mut()) {
                *o = &mut p[start..end];
            }
            self.mul_acc(&column[..m], delta, &mut outs[..m])?;
            start = end;
        }
        Ok(())
    }
}

/// Shared body of `reconstruct` (`limit = k + m`) and `reconstruct_data` (`limit = k`):
/// rebuilds the missing shards with index below `limit`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "shard indices are below k + m <= 256, checked by check_count"
)]
fn rebuild<E: ErasureCoder>(
    engine: &E,
    code: &Code,
    shards: &mut [&mut [u8]],
    present: &[bool],
    limit: usize,
    ws: &mut Workspace,
) -> Result<(), Error> {
    let (k, n) = (code.data_shards(), code.total_shards());
    check_count(n, shards.len())?;
    check_count(n, present.len())?;
    let len = shards.first().map_or(0, |s| s.len());
    check_lengths(shards.iter().map(|s| s.len()), len, 0)?;

    let missing = present.iter().filter(|&&p| !p).count();
    if n - missing < k {
        return Err(Error::TooManyMissing {
            missing,
            max: code.parity_shards(),
        });
    }
    // Survivors: the first k present shards (ISA-L's rule). Lost: missing below `limit`.
    let mut survivors = [0u8; MAX_SHARDS];
    let mut lost = [0u8; MAX_SHARDS];
    let (mut ns, mut nl) = (0, 0);
    for (i, &p) in present.iter().enumerate() {
        if p && ns < k {
            survivors[ns] = i as u8;
            ns += 1;
        } else if !p && i < limit {
            lost[nl] = i as u8;
            nl += 1;
        }
    }
    if nl == 0 {
        return Ok(());
    }
    let rows = code.decode_rows(&survivors[..ns], &lost[..nl], &mut ws.bytes)?;

    // Split the shards into the survivors (read) and the lost ones (written), in order.
    let mut srcs: [&[u8]; MAX_SHARDS] = [&[]; MAX_SHARDS];
    let mut outs: [&mut [u8]; MAX_SHARDS] = core::array::from_fn(|_| &mut [][..]);
    let (mut s, mut o) = (0, 0);
    for (i, shard) in shards.iter_mut().enumerate() {
        if s < ns && usize::from(survivors[s]) == i {
            srcs[s] = &**shard;
            s += 1;
        } else if o < nl && usize::from(lost[o]) == i {
            outs[o] = &mut **shard;
            o += 1;
        }
    }
    engine.dot_prod(rows, &srcs[..ns], &mut outs[..nl])
}

/// The fastest backend this CPU supports, chosen once; cheap to copy and to call. Dispatch is
/// a `match`: no atomics, no function pointers, no heap.
#[derive(Clone, Copy, Debug)]
pub enum Auto {
    /// See [`Scalar`].
    Scalar(Scalar),
    /// See `Avx512`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx512(Avx512),
    /// See `Avx2`.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx2(Avx2),
    /// See `Neon`.
    #[cfg(target_arch = "aarch64")]
    Neon(Neon),
}

impl Auto {
    /// The first of [`Backend::ALL`] that this build and CPU support.
    pub fn detect() -> Self {
        Backend::ALL
            .into_iter()
            .find_map(Self::with_backend)
            .unwrap_or(Auto::Scalar(Scalar))
    }

    /// `backend` if this build and this CPU support it: how tests, benches and the CLI force
    /// one.
    pub fn with_backend(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Scalar => Some(Auto::Scalar(Scalar)),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx512 => Avx512::new().map(Auto::Avx512),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx2 => Avx2::new().map(Auto::Avx2),
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => Neon::new().map(Auto::Neon),
            #[allow(
                unreachable_patterns,
                reason = "which arms exist depends on the target"
            )]
            _ => None,
        }
    }
}

impl Default for Auto {
    fn default() -> Self {
        Self::detect()
    }
}

impl ErasureCoder for Auto {
    fn backend(&self) -> Backend {
        match self {
            Auto::Scalar(e) => e.backend(),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.backend(),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.backend(),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.backend(),
        }
    }

    fn dot_prod(&self, coeffs: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        match self {
            Auto::Scalar(e) => e.dot_prod(coeffs, srcs, outs),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.dot_prod(coeffs, srcs, outs),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.dot_prod(coeffs, srcs, outs),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.dot_prod(coeffs, srcs, outs),
        }
    }

    fn mul_acc(&self, coeffs: &[u8], src: &[u8], outs: &mut [&mut [u8]]) -> Result<(), Error> {
        match self {
            Auto::Scalar(e) => e.mul_acc(coeffs, src, outs),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx512(e) => e.mul_acc(coeffs, src, outs),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Auto::Avx2(e) => e.mul_acc(coeffs, src, outs),
            #[cfg(target_arch = "aarch64")]
            Auto::Neon(e) => e.mul_acc(coeffs, src, outs),
        }
    }
}
