//! The global allocator: mimalloc (see Cargo.toml for why).
//!
//! Nearly every allocation a world makes — a request's path, a reply, a
//! log line, a suspended thread's future — asks for an alignment of at most
//! a machine word, which every block mimalloc hands out already has: those
//! go straight to `mi_malloc`, without the checks and the extra call of its
//! aligned entry point (an explored variant makes about 2,200 of them). Any
//! larger alignment still goes through the aligned calls.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Every block mimalloc returns is aligned to at least this: its size
/// classes are whole words.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc, called directly for word-aligned blocks.
pub struct Heap;

// SAFETY: each call forwards to mimalloc with the layout's size, and with
// its alignment unless that is at most a word, which mimalloc's blocks
// always have; `dealloc` and `realloc` get only pointers mimalloc returned.
unsafe impl GlobalAlloc for Heap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every alignment up to a page come back aligned, hold what
    /// was written through a reallocation, and zeroed ones are zero.
    #[test]
    fn blocks_are_aligned_and_keep_their_contents() {
        let h = Heap;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 12, 24, 40, 100, 1000, 70_000] {
                let l = Layout::from_size_align(size, align).expect("a valid layout");
                // SAFETY: a non-zero size; every block is freed with its layout.
                unsafe {
                    let p = h.alloc(l);
                    assert!(
                        !p.is_null() && (p as usize).is_multiple_of(align),
                        "{size}/{align}"
                    );
                    p.write_bytes(0xa5, size);
                    let q = h.realloc(p, l, size * 3);
                    assert!((q as usize).is_multiple_of(align), "realloc {size}/{align}");
                    assert!((0..size).all(|i| *q.add(i) == 0xa5));
                    h.dealloc(q, Layout::from_size_align(size * 3, align).expect("valid"));
                    let z = h.alloc_zeroed(l);
                    assert!(
                        (z as usize).is_multiple_of(align) && (0..size).all(|i| *z.add(i) == 0)
                    );
                    h.dealloc(z, l);
                }
            }
        }
    }
}
