//! Intel ISA-L's erasure-code API, loaded from `libisal.so.2` at run time.
//!
//! Debian 12's `libisal-dev` ships ISA-L 2.30 (AVX-512 pshufb kernels, no GFNI). Loading at
//! run time keeps every crate linkable on machines without it; tests then print a notice and
//! skip the comparison, and `.ci/run` installs the library so CI never skips.

use std::marker::PhantomData;
use std::os::raw::{c_int, c_uchar};

use libloading::{Library, Symbol};

type GenMatrix = unsafe extern "C" fn(*mut c_uchar, c_int, c_int);
type InitTables = unsafe extern "C" fn(c_int, c_int, *mut c_uchar, *mut c_uchar);
type EncodeData =
    unsafe extern "C" fn(c_int, c_int, c_int, *mut c_uchar, *mut *mut c_uchar, *mut *mut c_uchar);
type InvertMatrix = unsafe extern "C" fn(*mut c_uchar, *mut c_uchar, c_int) -> c_int;

/// The loaded library.
#[derive(Debug)]
pub struct Isal {
    lib: Library,
}

/// Library file names tried in order.
const NAMES: [&str; 2] = ["libisal.so.2", "libisal.so"];

impl Isal {
    /// Loads ISA-L, or prints why not and returns `None`.
    pub fn load() -> Option<Self> {
        if cfg!(miri) {
            eprintln!("notice: ISA-L comparisons skipped under Miri (it cannot call C)");
            return None;
        }
        for name in NAMES {
            // SAFETY: loading ISA-L runs no initialisers with preconditions; it is a plain C
            // library whose constructors only set up its dispatch tables.
            if let Ok(lib) = unsafe { Library::new(name) } {
                return Some(Self { lib });
            }
        }
        eprintln!(
            "notice: ISA-L (libisal.so.2, Debian package libisal-dev) not found: comparisons \
             with ISA-L skipped"
        );
        None
    }

    fn sym<T>(&self, name: &[u8]) -> Symbol<'_, T> {
        // SAFETY: every caller names an ISA-L export whose C prototype matches `T` (the
        // type aliases above transcribe `erasure_code.h`).
        match unsafe { self.lib.get::<T>(name) } {
            Ok(s) => s,
            Err(e) => panic!("ISA-L lacks {}: {e}", String::from_utf8_lossy(name)),
        }
    }

    fn generate(&self, name: &[u8], k: usize, m: usize) -> Vec<u8> {
        let rows = k + m;
        let mut a = vec![0u8; rows * k];
        let f = self.sym::<GenMatrix>(name);
        // SAFETY: `a` holds (k + m) x k bytes, which is what the generator writes for
        // `m_total = k + m` rows of `k` columns.
        unsafe { f(a.as_mut_ptr(), rows as c_int, k as c_int) };
        a
    }

    /// `gf_gen_cauchy1_matrix` for k data and m parity shards: the full (k + m) x k matrix.
    pub fn cauchy1_matrix(&self, k: usize, m: usize) -> Vec<u8> {
        self.generate(b"gf_gen_cauchy1_matrix\0", k, m)
    }

    /// `gf_gen_rs_matrix` (ISA-L's non-systematic-MDS Vandermonde) for k + m.
    pub fn rs_matrix(&self, k: usize, m: usize) -> Vec<u8> {
        self.generate(b"gf_gen_rs_matrix\0", k, m)
    }

    /// `gf_invert_matrix` of an n x n matrix; `None` if singular.
    pub fn invert(&self, matrix: &[u8], n: usize) -> Option<Vec<u8>> {
        assert_eq!(matrix.len(), n * n);
        let mut input = matrix.to_vec();
        let mut out = vec![0u8; n * n];
        let f = self.sym::<InvertMatrix>(b"gf_invert_matrix\0");
        // SAFETY: both buffers hold n x n bytes, as the function reads and writes.
        let rc = unsafe { f(input.as_mut_ptr(), out.as_mut_ptr(), n as c_int) };
        (rc == 0).then_some(out)
    }

    /// Prepared tables for `rows x k` coefficients (`ec_init_tables`).
    pub fn tables(&self, k: usize, rows: usize, coeffs: &[u8]) -> Tables {
        assert_eq!(coeffs.len(), k * rows);
        let mut coeffs = coeffs.to_vec();
        let mut t = vec![0u8; 32 * k * rows];
        let f = self.sym::<InitTables>(b"ec_init_tables\0");
        // SAFETY: `coeffs` is rows x k bytes and `t` the 32 x k x rows bytes the function
        // fills.
        unsafe {
            f(
                k as c_int,
                rows as c_int,
                coeffs.as_mut_ptr(),
                t.as_mut_ptr(),
            );
        }
        Tables { k, rows, t }
    }

    /// `ec_encode_data`: `outs[r] = XOR_j coeffs[r][j] * srcs[j]`, with prepared tables.
    ///
    /// # Panics
    /// If the shapes disagree with the tables.
    pub fn encode(&self, tables: &mut Tables, srcs: &[&[u8]], outs: &mut [&mut [u8]]) {
        assert_eq!(srcs.len(), tables.k);
        assert_eq!(outs.len(), tables.rows);
        let len = srcs.first().map_or(0, |s| s.len());
        assert!(srcs.iter().all(|s| s.len() == len) && outs.iter().all(|o| o.len() == len));
        let mut src_ptrs: Vec<*mut c_uchar> = srcs.iter().map(|s| s.as_ptr().cast_mut()).collect();
        let mut out_ptrs: Vec<*mut c_uchar> = outs.iter_mut().map(|o| o.as_mut_ptr()).collect();
        let f = self.sym::<EncodeData>(b"ec_encode_data\0");
        // SAFETY: k source and `rows` output pointers, each to `len` bytes (checked above);
        // ISA-L only reads the sources (the C prototype lacks `const`) and writes `len` bytes
        // of each output; the tables match k and rows.
        unsafe {
            f(
                len as c_int,
                tables.k as c_int,
                tables.rows as c_int,
                tables.t.as_mut_ptr(),
                src_ptrs.as_mut_ptr(),
                out_ptrs.as_mut_ptr(),
            );
        }
    }
}

/// `ec_init_tables` output for one coefficient matrix.
#[derive(Debug, Clone)]
pub struct Tables {
    k: usize,
    rows: usize,
    t: Vec<u8>,
}

/// ISA-L's erasure kernels resolved once ([`Isal::kernels`]), for timed loops: no symbol
/// lookup and no heap allocation per call. Tables and matrices live in caller buffers.
#[derive(Debug, Clone, Copy)]
pub struct Kernels<'lib> {
    init_tables: InitTables,
    encode_data: EncodeData,
    invert_matrix: InvertMatrix,
    /// The function pointers are valid while the library stays loaded.
    _lib: PhantomData<&'lib Library>,
}

/// Most sources or outputs one [`Kernels::encode_into`] call takes (GF(2^8) has 256 points).
const MAX_REGIONS: usize = 256;

impl Isal {
    /// The erasure kernels, resolved once; they borrow the loaded library.
    pub fn kernels(&self) -> Kernels<'_> {
        Kernels {
            init_tables: *self.sym::<InitTables>(b"ec_init_tables\0"),
            encode_data: *self.sym::<EncodeData>(b"ec_encode_data\0"),
            invert_matrix: *self.sym::<InvertMatrix>(b"gf_invert_matrix\0"),
            _lib: PhantomData,
        }
    }
}

impl Kernels<'_> {
    /// `gf_invert_matrix` of the n x n `matrix` into `out`, destroying `matrix` (ISA-L works
    /// in place on its input); `false` if singular.
    ///
    /// # Panics
    /// Unless both buffers hold n x n bytes.
    pub fn invert_into(&self, matrix: &mut [u8], out: &mut [u8], n: usize) -> bool {
        assert!(matrix.len() == n * n && out.len() == n * n);
        // SAFETY: both buffers hold n x n bytes, as the function reads and writes.
        let rc = unsafe { (self.invert_matrix)(matrix.as_mut_ptr(), out.as_mut_ptr(), n as c_int) };
        rc == 0
    }

    /// `ec_init_tables` for `rows x k` coefficients into `tables` (32 x k x rows bytes).
    ///
    /// # Panics
    /// If the buffer sizes disagree with k and rows.
    pub fn init_tables_into(&self, k: usize, rows: usize, coeffs: &[u8], tables: &mut [u8]) {
        assert_eq!(coeffs.len(), k * rows);
        assert_eq!(tables.len(), 32 * k * rows);
        // SAFETY: `coeffs` is rows x k bytes, which ISA-L only reads (the C prototype lacks
        // `const`), and `tables` the 32 x k x rows bytes it fills.
        unsafe {
            (self.init_tables)(
                k as c_int,
                rows as c_int,
                coeffs.as_ptr().cast_mut(),
                tables.as_mut_ptr(),
            );
        }
    }

    /// `ec_encode_data` with tables from [`init_tables_into`](Self::init_tables_into) for
    /// `outs.len() x srcs.len()` coefficients. The pointer arrays are built on the stack.
    ///
    /// # Panics
    /// If the shapes disagree with each other or with the tables, or exceed 256 regions.
    pub fn encode_into(&self, tables: &[u8], srcs: &[&[u8]], outs: &mut [&mut [u8]]) {
        let (k, rows) = (srcs.len(), outs.len());
        assert!(k <= MAX_REGIONS && rows <= MAX_REGIONS);
        assert_eq!(tables.len(), 32 * k * rows);
        let len = srcs.first().map_or(0, |s| s.len());
        assert!(srcs.iter().all(|s| s.len() == len) && outs.iter().all(|o| o.len() == len));
        let mut src_ptrs = [core::ptr::null_mut::<c_uchar>(); MAX_REGIONS];
        let mut out_ptrs = [core::ptr::null_mut::<c_uchar>(); MAX_REGIONS];
        for (p, s) in src_ptrs.iter_mut().zip(srcs) {
            *p = s.as_ptr().cast_mut();
        }
        for (p, o) in out_ptrs.iter_mut().zip(outs.iter_mut()) {
            *p = o.as_mut_ptr();
        }
        // SAFETY: k source and `rows` output pointers, each to `len` bytes (checked above);
        // ISA-L only reads the sources and the tables (the C prototype lacks `const`) and
        // writes `len` bytes of each output; the tables hold 32 x k x rows bytes.
        unsafe {
            (self.encode_data)(
                len as c_int,
                k as c_int,
                rows as c_int,
                tables.as_ptr().cast_mut(),
                src_ptrs.as_mut_ptr(),
                out_ptrs.as_mut_ptr(),
            );
        }
    }
}
