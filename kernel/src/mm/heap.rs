//! The global heap: talc over physically contiguous chunks taken from the frame allocator.
//!
//! Each chunk is a run of contiguous frames reached through the direct map, and no allocation
//! spans two chunks, so every heap allocation is physically contiguous — what NetBSD's DMA code
//! assumes of `rumpuser_malloc`. Chunks come from below 4 GiB while such memory lasts, for 32-bit
//! DMA controllers. Only the global allocator panics on exhaustion; other memory services return
//! [`MemoryError`](super::MemoryError).

use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};

use talc::{OomHandler, Span, Talc, Talck};

use super::frame::FRAME_SIZE;
use super::{frames, phys_to_virt};
use crate::sync::spin::RawIrqSpin;

/// Heap growth step.
const CHUNK_BYTES: u64 = 4 << 20;
const BELOW_4G: u64 = 1 << 32;

static CLAIMED_BYTES: AtomicU64 = AtomicU64::new(0);

/// Grows the heap by one physically contiguous chunk when talc runs out.
pub struct GrowFromFrames;

impl OomHandler for GrowFromFrames {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let needed = (layout.size() + layout.align() + 4096) as u64;
        let bytes = needed.max(CHUNK_BYTES).next_multiple_of(FRAME_SIZE);
        let count = bytes / FRAME_SIZE;
        let phys = frames::allocate(count, 1, BELOW_4G)
            .or_else(|_| frames::allocate(count, 1, u64::MAX))
            .map_err(|_| ())?;
        let base = phys_to_virt(phys) as *mut u8;
        // SAFETY: the frames are freshly allocated, owned by the heap from now on, and mapped
        // read-write through the direct map.
        unsafe { talc.claim(Span::from_base_size(base, bytes as usize)) }?;
        CLAIMED_BYTES.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }
}

#[global_allocator]
static ALLOCATOR: Talck<RawIrqSpin, GrowFromFrames> = Talc::new(GrowFromFrames).lock();

/// Heap figures for `mem` and for leak tests.
#[derive(Debug, Clone, Copy)]
pub struct HeapStatistics {
    /// Bytes currently allocated.
    pub allocated_bytes: u64,
    /// Live allocations.
    pub allocation_count: u64,
    /// Bytes taken from the frame allocator.
    pub claimed_bytes: u64,
}

/// Current heap figures.
pub fn statistics() -> HeapStatistics {
    let talc = ALLOCATOR.lock();
    let counters = talc.get_counters();
    HeapStatistics {
        allocated_bytes: counters.allocated_bytes as u64,
        allocation_count: counters.allocation_count as u64,
        claimed_bytes: CLAIMED_BYTES.load(Ordering::Relaxed),
    }
}
