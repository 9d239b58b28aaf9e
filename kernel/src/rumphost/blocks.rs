//! The rump heap's page-multiple blocks (1 to [`CLASSES`] pages, page-aligned): straight from
//! the frame allocator through the direct map, with a small cache of freed blocks per size.
//!
//! NetBSD allocates and frees the same few sizes over and over on the I/O path: a page for
//! each page-cache page, and a 64 KiB pager window (`uvm_pagermapin`) for each transfer. The
//! kernel heap served them in 1.5 to 22 µs on average and now and then in 300 µs (measured
//! with `rump read --profile` and `--trace`; a 4 KiB block aligned to 4 KiB also leaves an
//! almost page-sized gap behind in the heap), with interrupts off all the while. Frames are
//! physically contiguous by construction (contract §1.2), taken below 4 GiB while there are
//! some, as the heap does; a freed block waits in the cache, a bounded number per size, for
//! the next request of its size.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::mm::{frames, phys_to_virt, virt_to_phys_linear};
use crate::sync::spin::IrqSpinLock;

const PAGE: usize = 4096;
/// Sizes cached: 1 to 16 pages (NetBSD's largest transfer, 64 KiB, is 16).
const CLASSES: usize = 16;
/// Blocks kept per size: more single pages (the page cache churns through them).
const KEEP_PAGES: usize = 128;
const KEEP_LARGER: usize = 16;

struct Stacks {
    pages: [usize; KEEP_PAGES],
    pages_count: usize,
    larger: [[usize; KEEP_LARGER]; CLASSES - 1],
    larger_count: [usize; CLASSES - 1],
}

/// Taken for a push or a pop only (a few instructions; never calls the heap).
static CACHE: IrqSpinLock<Stacks> = IrqSpinLock::new(
    "rump-blocks",
    Stacks {
        pages: [0; KEEP_PAGES],
        pages_count: 0,
        larger: [[0; KEEP_LARGER]; CLASSES - 1],
        larger_count: [0; CLASSES - 1],
    },
);

/// The size class of `layout` (pages - 1), if blocks of it are cached.
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size();
    (layout.align() <= PAGE && size.is_multiple_of(PAGE) && (PAGE..=CLASSES * PAGE).contains(&size))
        .then(|| size / PAGE - 1)
}

/// Whether blocks of `layout` come from here (and must go back through [`free`]).
pub fn handles(layout: Layout) -> bool {
    class(layout).is_some()
}

/// A block for a layout this module [`handles`]: from the cache, else from the frames.
pub fn allocate(layout: Layout) -> Option<NonNull<u8>> {
    if let Some(block) = take(layout) {
        return Some(block);
    }
    let count = (layout.size() / PAGE) as u64;
    let physical = frames::allocate(count, 1, 1 << 32)
        .or_else(|_| frames::allocate(count, 1, u64::MAX))
        .ok()?;
    NonNull::new(phys_to_virt(physical) as *mut u8)
}

/// Gives back a block from [`allocate`] with the same layout.
pub fn free(block: NonNull<u8>, layout: Layout) {
    if keep(block, layout) {
        return;
    }
    let physical =
        virt_to_phys_linear(block.as_ptr() as u64).expect("a rump block lies in the direct map");
    frames::free(physical, (layout.size() / PAGE) as u64);
}

/// A cached block for `layout`, if there is one.
fn take(layout: Layout) -> Option<NonNull<u8>> {
    let class = class(layout)?;
    let mut stacks = CACHE.lock();
    let address = if class == 0 {
        let count = stacks.pages_count.checked_sub(1)?;
        stacks.pages_count = count;
        stacks.pages[count]
    } else {
        let count = stacks.larger_count[class - 1].checked_sub(1)?;
        stacks.larger_count[class - 1] = count;
        stacks.larger[class - 1][count]
    };
    NonNull::new(address as *mut u8)
}

/// Keeps a freed block of `layout` for later; false when the cache of its size is full.
fn keep(block: NonNull<u8>, layout: Layout) -> bool {
    let Some(class) = class(layout) else {
        return false;
    };
    let mut stacks = CACHE.lock();
    if class == 0 {
        let count = stacks.pages_count;
        if count == KEEP_PAGES {
            return false;
        }
        stacks.pages[count] = block.as_ptr() as usize;
        stacks.pages_count = count + 1;
    } else {
        let count = stacks.larger_count[class - 1];
        if count == KEEP_LARGER {
            return false;
        }
        stacks.larger[class - 1][count] = block.as_ptr() as usize;
        stacks.larger_count[class - 1] = count + 1;
    }
    true
}
