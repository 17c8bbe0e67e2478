//! The process's allocator: mimalloc, asked for an alignment only when its plain allocation
//! would not give it.
//!
//! The `mimalloc` crate passes every allocation to `mi_malloc_aligned`, whose fast path takes
//! only blocks of at most 1 KiB whose free list happens to start aligned; every other block
//! (a request's read buffer, an answer's body, a chain's rows) took mimalloc's generic aligned
//! path. Plain `mi_malloc` aligns every block of 16 bytes or more to 16 bytes and smaller ones
//! to 8 (its size classes are whole double words), as `std`'s own allocator relies on glibc's
//! `malloc` doing, so only a larger alignment, or one larger than the block, goes the aligned way.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as ffi;

/// The alignment `mi_malloc` gives every block at least as large (`MI_MAX_ALIGN_SIZE`).
const PLAIN_ALIGN: usize = 16;

pub struct Mimalloc;

/// Whether `mi_malloc(size)` is aligned enough for `align`.
fn plain(align: usize, size: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: each method passes its arguments to the mimalloc function that meets `GlobalAlloc`'s
// contract for them: the plain functions where their blocks are aligned enough (see `plain`),
// the aligned ones otherwise; `mi_free` frees a block from either.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = match plain(layout.align(), layout.size()) {
            true => ffi::mi_malloc(layout.size()),
            false => ffi::mi_malloc_aligned(layout.size(), layout.align()),
        };
        block.cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = match plain(layout.align(), layout.size()) {
            true => ffi::mi_zalloc(layout.size()),
            false => ffi::mi_zalloc_aligned(layout.size(), layout.align()),
        };
        block.cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        ffi::mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let block = match plain(layout.align(), new_size) {
            true => ffi::mi_realloc(ptr.cast::<c_void>(), new_size),
            false => ffi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()),
        };
        block.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes from 1 byte to past 4 KiB at every alignment up to 64 come back aligned from each
    /// of the three ways in, zeroed where asked, and a block grown or shrunk keeps its bytes.
    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_bytes() {
        let sizes = (1..=4200).step_by(7).chain([8, 16, 24, 1024, 1025, 4096]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero sizes; every block is freed once, with the layout it has.
                unsafe {
                    let zeroed = Mimalloc.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0, "zeroed {size} at {align}");
                    assert!(std::slice::from_raw_parts(zeroed, size)
                        .iter()
                        .all(|&b| b == 0));
                    Mimalloc.dealloc(zeroed, layout);
                    for new_size in [1, size / 2 + 1, size * 3] {
                        let block = Mimalloc.alloc(layout);
                        assert_eq!(block as usize % align, 0, "{size} at {align}");
                        std::ptr::write_bytes(block, 0xA5, size);
                        let moved = Mimalloc.realloc(block, layout, new_size);
                        assert_eq!(moved as usize % align, 0, "{size} to {new_size} at {align}");
                        let kept = std::slice::from_raw_parts(moved, size.min(new_size));
                        assert!(kept.iter().all(|&b| b == 0xA5), "{size} to {new_size}");
                        Mimalloc.dealloc(moved, Layout::from_size_align(new_size, align).unwrap());
                    }
                }
            }
        }
    }
}
