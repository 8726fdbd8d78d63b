//! liblz4 (the reference C library, built from source by `lz4-sys`) behind safe wrappers,
//! for differential tests of the LZ4 codec in both directions.

use core::ffi::{c_char, c_int};

unsafe extern "C" {
    fn LZ4_decompress_safe_usingDict(
        src: *const c_char,
        dst: *mut c_char,
        src_size: c_int,
        dst_capacity: c_int,
        dict_start: *const c_char,
        dict_size: c_int,
    ) -> c_int;
    fn LZ4_loadDict(
        stream: *mut lz4_sys::LZ4StreamEncode,
        dict: *const c_char,
        size: c_int,
    ) -> c_int;
    fn LZ4_compress_fast_continue(
        stream: *mut lz4_sys::LZ4StreamEncode,
        src: *const c_char,
        dst: *mut c_char,
        src_size: c_int,
        dst_capacity: c_int,
        acceleration: c_int,
    ) -> c_int;
}

fn int(n: usize) -> c_int {
    c_int::try_from(n).expect("liblz4 takes lengths below 2 GiB")
}

/// liblz4's version number (e.g. 11000 for 1.10.0).
pub fn version() -> i32 {
    // SAFETY: no arguments, no preconditions.
    unsafe { lz4_sys::LZ4_versionNumber() }
}

fn compress_with(
    input: &[u8],
    f: impl FnOnce(*const c_char, *mut c_char, c_int, c_int) -> c_int,
) -> Vec<u8> {
    let cap = input.len() + input.len() / 255 + 16;
    let mut out = vec![0u8; cap];
    let n = f(
        input.as_ptr().cast(),
        out.as_mut_ptr().cast(),
        int(input.len()),
        int(cap),
    );
    assert!(
        n > 0 || input.is_empty() && n >= 0,
        "liblz4 compression failed: {n}"
    );
    out.truncate(usize::try_from(n).expect("non-negative"));
    out
}

/// `LZ4_compress_fast(input, acceleration)`: one block.
pub fn compress_fast(input: &[u8], acceleration: i32) -> Vec<u8> {
    // SAFETY: the pointers and lengths describe `input` and a buffer of `cap` bytes.
    compress_with(input, |s, d, n, cap| unsafe {
        lz4_sys::LZ4_compress_fast(s, d, n, cap, acceleration)
    })
}

/// `LZ4_compress_HC(input, level)`: one block, high compression (longer matches, more
/// varied sequences than the fast mode).
pub fn compress_hc(input: &[u8], level: i32) -> Vec<u8> {
    // liblz4 1.10's optimal parser (levels 10 to 12) crashes on an empty input (it computes
    // its search limit as the input's end minus 5); the block for it is the single token 0.
    if input.is_empty() {
        return vec![0];
    }
    // SAFETY: the pointers and lengths describe `input` and a buffer of `cap` bytes.
    compress_with(input, |s, d, n, cap| unsafe {
        lz4_sys::LZ4_compress_HC(s, d, n, cap, level)
    })
}

/// One block compressed with `dict` loaded as history (`LZ4_loadDict` +
/// `LZ4_compress_fast_continue`).
pub fn compress_with_dict(dict: &[u8], input: &[u8], acceleration: i32) -> Vec<u8> {
    // SAFETY: the stream is created, used with buffers that outlive the calls, then freed.
    unsafe {
        let stream = lz4_sys::LZ4_createStream();
        assert!(!stream.is_null());
        LZ4_loadDict(stream, dict.as_ptr().cast(), int(dict.len()));
        let out = compress_with(input, |s, d, n, cap| {
            LZ4_compress_fast_continue(stream, s, d, n, cap, acceleration)
        });
        lz4_sys::LZ4_freeStream(stream);
        out
    }
}

/// `LZ4_decompress_safe`: the decoded bytes, or liblz4's negative error code.
///
/// # Errors
/// liblz4's error code when it rejects the block.
pub fn decompress(block: &[u8], capacity: usize) -> Result<Vec<u8>, i32> {
    decompress_with_dict(block, capacity, &[])
}

/// `LZ4_decompress_safe_usingDict`: the decoded bytes, or liblz4's negative error code.
///
/// # Errors
/// liblz4's error code when it rejects the block.
pub fn decompress_with_dict(block: &[u8], capacity: usize, dict: &[u8]) -> Result<Vec<u8>, i32> {
    let mut out = vec![0u8; capacity.max(1)];
    // SAFETY: the pointers and lengths describe `block`, `dict` and `out`.
    let n = unsafe {
        LZ4_decompress_safe_usingDict(
            block.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            int(block.len()),
            int(capacity),
            dict.as_ptr().cast(),
            int(dict.len()),
        )
    };
    match usize::try_from(n) {
        Ok(n) => {
            out.truncate(n);
            Ok(out)
        }
        Err(_) => Err(n),
    }
}

/// `LZ4_compress_fast` into `out` (for benches: no allocation); returns the block length.
///
/// # Panics
/// When liblz4 fails (`out` too small).
pub fn compress_fast_into(input: &[u8], out: &mut [u8], acceleration: i32) -> usize {
    // SAFETY: the pointers and lengths describe `input` and `out`.
    let n = unsafe {
        lz4_sys::LZ4_compress_fast(
            input.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            int(input.len()),
            int(out.len()),
            acceleration,
        )
    };
    usize::try_from(n).expect("liblz4 compression failed")
}

/// `LZ4_decompress_safe` into `out` (for benches: no allocation); returns the bytes written.
///
/// # Panics
/// When liblz4 rejects the block.
pub fn decompress_into(block: &[u8], out: &mut [u8]) -> usize {
    // SAFETY: the pointers and lengths describe `block` and `out`.
    let n = unsafe {
        lz4_sys::LZ4_decompress_safe(
            block.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            int(block.len()),
            int(out.len()),
        )
    };
    usize::try_from(n).expect("liblz4 rejected the block")
}
