//! A counting global allocator and the peak-heap measurement built on it.
//!
//! A bench that wants the numbers installs it itself (a library cannot choose the allocator of the
//! binaries that link it without surprising the ones that do not measure):
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: klient_benches::alloc::Counting = klient_benches::alloc::Counting;
//!
//! fn main() {
//!     let (buffer, heap) = klient_benches::alloc::measure(|| vec![1u8; 1 << 20]);
//!     assert_eq!(buffer.len(), 1 << 20);
//!     assert!(heap.peak >= 1 << 20 && heap.kept >= 1 << 20);
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Forwards to the system allocator and counts live heap bytes and their high-water mark.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`/`realloc`).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

/// What [`measure`] saw.
#[derive(Debug, Clone, Copy)]
pub struct Heap {
    /// The peak heap while the closure ran, above the level before it started.
    pub peak: usize,
    /// What the closure left allocated (its result, typically).
    pub kept: usize,
}

/// Runs `f` and returns its result with the heap it needed. Meaningful only in a binary that
/// installed [`Counting`] as its global allocator (otherwise both numbers are zero), and only while
/// no other thread allocates.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Heap) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = black_box(f());
    let heap = Heap {
        peak: PEAK.load(Ordering::Relaxed) - before,
        kept: LIVE.load(Ordering::Relaxed).saturating_sub(before),
    };
    (result, heap)
}

/// Bytes in MiB, for printing.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Heap bytes live now (zero unless [`Counting`] is the global allocator).
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The highest [`live`] since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new high-water mark at the heap live now, for a measurement in phases.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}
