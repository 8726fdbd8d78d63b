//! Encode matrices and decode rows.
//!
//! A code with `k` data and `m` parity shards is systematic: the top `k x k` of its
//! `(k + m) x k` encode matrix is the identity, so only the `m x k` parity rows are stored.
//!
//! - **Cauchy** (ISA-L `gf_gen_cauchy1_matrix`): parity row `i` (of the whole matrix, so
//!   `i = k + r`) and column `j` hold `inv(i XOR j)`. Every square submatrix is invertible.
//! - **Vandermonde** (Backblaze JavaReedSolomon, klauspost/reedsolomon's default,
//!   `reed-solomon-erasure`): `V[r][c] = r^c` for `r < k + m`, times the inverse of its top
//!   `k x k` square. That product has a closed form, which is how it is computed here without
//!   scratch memory: the code is "evaluate at point `x` the polynomial of degree `< k` that
//!   takes the value of data shard `j` at point `j`", so parity entry `(x, j)` is the Lagrange
//!   basis polynomial `L_j(x) = prod_{i != j, i < k} (x - i) / (j - i)` (subtraction is XOR).
//! - **Custom**: caller-supplied parity rows, checked for shape only; a reconstruction that
//!   meets a singular submatrix returns [`Error::SingularMatrix`].
//!
//! Decode rows (ISA-L's rule): take the first `k` present shards in index order; their encode
//! rows form `S`. A missing shard with encode row `e` is `e * S^-1` times the survivors. The
//! rows `e * S^-1` are found without forming the inverse: stack `[S; E]` and apply column
//! operations that turn `S` into the identity. That is right-multiplying by `S^-1`, so the
//! bottom becomes `E * S^-1`, in `(k + lost) x k` bytes.

#![forbid(unsafe_code)]

use crate::Error;
use crate::gf;

/// Largest total shard count `k + m`: GF(2^8) has 256 distinct evaluation points.
pub const MAX_SHARDS: usize = 256;

/// Largest `m * k` with `k + m <= 256` (128 x 128): the parity matrix storage.
pub const MAX_PARITY_COEFFICIENTS: usize = 128 * 128;

/// Which encode matrix a [`Code`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matrix<'a> {
    /// ISA-L's `gf_gen_cauchy1_matrix` (the default): MDS for every `k + m <= 256`.
    Cauchy,
    /// The systematic Vandermonde matrix of Backblaze, klauspost/reedsolomon and
    /// `reed-solomon-erasure`: MDS for every `k + m <= 256`.
    Vandermonde,
    /// Caller-supplied parity rows, `m x k` row-major (row `r` produces parity shard `r`).
    Custom(&'a [u8]),
}

/// The matrix family, without the borrowed custom rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatrixKind {
    /// See [`Matrix::Cauchy`].
    Cauchy,
    /// See [`Matrix::Vandermonde`].
    Vandermonde,
    /// See [`Matrix::Custom`].
    Custom,
}

/// A Reed-Solomon code: `k` data shards, `m` parity shards and the parity rows of its encode
/// matrix, in fixed storage (no heap). `size_of::<Code>()` is 16,390 bytes.
///
/// The operations live on [`ErasureCoder`](crate::ErasureCoder), which every backend
/// implements: `coder.encode(&code, …)`.
#[derive(Clone)]
pub struct Code {
    k: u16,
    m: u16,
    kind: MatrixKind,
    parity: [u8; MAX_PARITY_COEFFICIENTS],
}

impl core::fmt::Debug for Code {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Code")
            .field("data_shards", &self.k)
            .field("parity_shards", &self.m)
            .field("matrix", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Code {
    /// A code with `data_shards` (k) and `parity_shards` (m) shards and the given matrix.
    ///
    /// # Errors
    /// [`Error::InvalidShardCounts`] unless `k >= 1`, `m >= 1` and `k + m <= 256`;
    /// [`Error::MatrixSize`] if custom rows are not `m * k` bytes.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "k, m and every row index are below k + m <= 256, checked first"
    )]
    pub fn new(
        data_shards: usize,
        parity_shards: usize,
        matrix: Matrix<'_>,
    ) -> Result<Self, Error> {
        let (k, m) = (data_shards, parity_shards);
        if k == 0 || m == 0 || k + m > MAX_SHARDS {
            return Err(Error::InvalidShardCounts { data: k, parity: m });
        }
        let mut code = Self {
            k: k as u16,
            m: m as u16,
            kind: MatrixKind::Cauchy,
            parity: [0; MAX_PARITY_COEFFICIENTS],
        };
        match matrix {
            Matrix::Cauchy => {
                for (r, row) in code.parity[..m * k].chunks_exact_mut(k).enumerate() {
                    for (j, e) in row.iter_mut().enumerate() {
                        // i = k + r and j < k, so i ^ j != 0 and the inverse exists.
                        *e = gf::inv(((k + r) ^ j) as u8);
                    }
                }
            }
            Matrix::Vandermonde => {
                code.kind = MatrixKind::Vandermonde;
                for (r, row) in code.parity[..m * k].chunks_exact_mut(k).enumerate() {
                    let x = (k + r) as u8;
                    for (j, e) in row.iter_mut().enumerate() {
                        let mut num = 1u8;
                        let mut den = 1u8;
                        for i in (0..k).filter(|&i| i != j) {
                            num = gf::mul(num, x ^ i as u8);
                            den = gf::mul(den, j as u8 ^ i as u8);
                        }
                        *e = gf::mul(num, gf::inv(den));
                    }
                }
            }
            Matrix::Custom(rows) => {
                if rows.len() != m * k {
                    return Err(Error::MatrixSize {
                        expected: m * k,
                        found: rows.len(),
                    });
                }
                code.kind = MatrixKind::Custom;
                code.parity[..m * k].copy_from_slice(rows);
            }
        }
        Ok(code)
    }

    /// ISA-L's Cauchy code (the default choice).
    ///
    /// # Errors
    /// As [`Code::new`].
    pub fn cauchy(data_shards: usize, parity_shards: usize) -> Result<Self, Error> {
        Self::new(data_shards, parity_shards, Matrix::Cauchy)
    }

    /// The systematic Vandermonde code of Backblaze / klauspost / `reed-solomon-erasure`.
    ///
    /// # Errors
    /// As [`Code::new`].
    pub fn vandermonde(data_shards: usize, parity_shards: usize) -> Result<Self, Error> {
        Self::new(data_shards, parity_shards, Matrix::Vandermonde)
    }

    /// Data shards (k).
    pub fn data_shards(&self) -> usize {
        usize::from(self.k)
    }

    /// Parity shards (m).
    pub fn parity_shards(&self) -> usize {
        usize::from(self.m)
    }

    /// k + m.
    pub fn total_shards(&self) -> usize {
        self.data_shards() + self.parity_shards()
    }

    /// Which matrix family this code uses.
    pub fn matrix_kind(&self) -> MatrixKind {
        self.kind
    }

    /// The parity rows, `m x k` row-major: parity shard `r` is
    /// `XOR_j parity_matrix()[r * k + j] * data[j]`.
    pub fn parity_matrix(&self) -> &[u8] {
        &self.parity[..self.parity_shards() * self.data_shards()]
    }

    /// Row `index` of the full `(k + m) x k` encode matrix, written into `out[..k]`.
    fn encode_row(&self, index: usize, out: &mut [u8]) {
        let k = self.data_shards();
        if index < k {
            out.fill(0);
            if let Some(e) = out.get_mut(index) {
                *e = 1;
            }
        } else if let Some(row) = self.parity_matrix().chunks_exact(k).nth(index - k) {
            out.copy_from_slice(row);
        }
    }

    /// The decode rows for the shards in `lost`, given the first `k` present shards
    /// `survivors` (both in index order): `rows[t * k + j]` is the coefficient of
    /// `survivors[j]` in shard `lost[t]`. Uses `scratch[..(k + lost.len()) * k]`.
    pub(crate) fn decode_rows<'w>(
        &self,
        survivors: &[u8],
        lost: &[u8],
        scratch: &'w mut [u8],
    ) -> Result<&'w [u8], Error> {
        let k = self.data_shards();
        let n = k + lost.len();
        let a = scratch.get_mut(..n * k).ok_or(Error::SingularMatrix)?;
        for (row, &s) in a.chunks_exact_mut(k).zip(survivors.iter().chain(lost)) {
            self.encode_row(usize::from(s), row);
        }
        reduce_columns(a, n, k)?;
        Ok(&a[k * k..])
    }
}

/// Column Gauss-Jordan on the `n x k` row-major matrix `a`: applies column operations until
/// the top `k x k` block is the identity. Errors if that block is singular.
fn reduce_columns(a: &mut [u8], n: usize, k: usize) -> Result<(), Error> {
    for p in 0..k {
        // Pivot: a column c >= p with a nonzero entry in row p; swap it into place.
        let pivot = (p..k)
            .find(|&c| a[p * k + c] != 0)
            .ok_or(Error::SingularMatrix)?;
        if pivot != p {
            for row in a.chunks_exact_mut(k).take(n) {
                row.swap(p, pivot);
            }
        }
        // Scale column p so the pivot is 1.
        let s = gf::inv(a[p * k + p]);
        if s != 1 {
            for row in a.chunks_exact_mut(k).take(n) {
                row[p] = gf::mul(row[p], s);
            }
        }
        // Clear row p in every other column: col_c -= a[p][c] * col_p.
        for c in (0..k).filter(|&c| c != p) {
            let f = a[p * k + c];
            if f != 0 {
                for row in a.chunks_exact_mut(k).take(n) {
                    row[c] ^= gf::mul(f, row[p]);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_counts_rejected() {
        for (k, m) in [(0, 1), (1, 0), (200, 57), (256, 1)] {
            assert_eq!(
                Code::cauchy(k, m).err(),
                Some(Error::InvalidShardCounts { data: k, parity: m })
            );
        }
        assert!(Code::cauchy(255, 1).is_ok());
        if !cfg!(miri) {
            // 2M field products: instant natively, minutes under Miri.
            assert!(Code::vandermonde(128, 128).is_ok());
        }
    }

    #[test]
    fn custom_matrix_shape_checked() {
        assert_eq!(
            Code::new(3, 2, Matrix::Custom(&[1; 5])).err(),
            Some(Error::MatrixSize {
                expected: 6,
                found: 5
            })
        );
        let code = Code::new(3, 2, Matrix::Custom(&[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(code.parity_matrix(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(code.matrix_kind(), MatrixKind::Custom);
    }

    #[test]
    fn backblaze_4_plus_2_rows() {
        // Parity rows of the systematic Vandermonde for k = 4, m = 2 (erasure notes §3).
        let code = Code::vandermonde(4, 2).unwrap();
        assert_eq!(
            code.parity_matrix(),
            &[0x1b, 0x1c, 0x12, 0x14, 0x1c, 0x1b, 0x14, 0x12]
        );
    }

    #[test]
    fn vandermonde_closed_form_equals_inverse_product() {
        // V * inv(top) computed the long way with `reduce_columns` on V itself.
        for (k, m) in [(1, 1), (2, 3), (5, 5), (10, 4), (17, 3)] {
            let n = k + m;
            let mut v = [0u8; 64 * 64];
            for r in 0..n {
                for c in 0..k {
                    v[r * k + c] = gf::pow(r as u8, c);
                }
            }
            reduce_columns(&mut v[..n * k], n, k).unwrap();
            let code = Code::vandermonde(k, m).unwrap();
            assert_eq!(&v[k * k..n * k], code.parity_matrix(), "k={k} m={m}");
        }
    }

    #[test]
    fn decode_rows_of_parity_only_loss_are_parity_rows() {
        let code = Code::cauchy(4, 2).unwrap();
        let mut scratch = [0u8; 64];
        let rows = code
            .decode_rows(&[0, 1, 2, 3], &[4, 5], &mut scratch)
            .unwrap();
        assert_eq!(rows, code.parity_matrix());
    }

    #[test]
    fn singular_custom_matrix_detected() {
        // Both parity rows equal: losing two data shards leaves a singular system.
        let code = Code::new(2, 2, Matrix::Custom(&[1, 1, 1, 1])).unwrap();
        let mut scratch = [0u8; 16];
        assert_eq!(
            code.decode_rows(&[2, 3], &[0, 1], &mut scratch),
            Err(Error::SingularMatrix)
        );
    }
}
