//! The rump heap on `Host::alloc`, keeping the real alignment for `free` (docs/contract.md §1.2).
//!
//! `rumpuser_free` gets the length back but not the alignment. The alignment is therefore a
//! function of the length for the common cases: page-multiple lengths are page aligned,
//! everything else is 16-byte aligned. A request for more than that (rare: `uvm_km_alloc`
//! with a large alignment, `anonmmap`) is recorded in a small side table keyed by address,
//! which `free` consults only while the table is non-empty.

extern crate alloc;

use alloc::collections::BTreeMap;
use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::errno::Errno;
use crate::install::host;
use crate::sync::RumpuserMtx;

/// The rump kernel's page size.
pub const PAGE_SIZE: usize = 4096;
const MIN_ALIGN: usize = 16;

/// Alignment derived from the length alone.
fn natural_align(len: usize) -> usize {
    if len >= PAGE_SIZE && len & (PAGE_SIZE - 1) == 0 {
        PAGE_SIZE
    } else {
        MIN_ALIGN
    }
}

struct SideTable {
    lock: RumpuserMtx,
    entries: UnsafeCell<BTreeMap<usize, usize>>,
    count: AtomicUsize,
}

// SAFETY: `entries` is only touched between `lock.lock_raw()` and `lock.unlock_raw()`.
unsafe impl Sync for SideTable {}

static OVER_ALIGNED: SideTable = SideTable {
    lock: RumpuserMtx::new(0),
    entries: UnsafeCell::new(BTreeMap::new()),
    count: AtomicUsize::new(0),
};

impl SideTable {
    fn with<T>(&self, work: impl FnOnce(&mut BTreeMap<usize, usize>) -> T) -> T {
        self.lock.lock_raw();
        // SAFETY: the lock is held, so this is the only reference to the map.
        let result = work(unsafe { &mut *self.entries.get() });
        self.lock.unlock_raw();
        result
    }
}

/// Allocates `len` bytes aligned to `align` (0 = pointer alignment, else a power of two).
/// The common case (no alignment beyond the natural one) is a layout and one host call.
#[inline]
pub fn allocate(len: usize, align: usize) -> Result<NonNull<u8>, Errno> {
    let natural = natural_align(len);
    if align == 0 || (align.is_power_of_two() && align <= natural) {
        let layout = Layout::from_size_align(len.max(1), natural).map_err(|_| Errno::ENOMEM)?;
        return host().alloc(layout).ok_or(Errno::ENOMEM);
    }
    allocate_over_aligned(len, align)
}

/// [`allocate`] with an alignment above the natural one, recorded for [`free`].
#[cold]
fn allocate_over_aligned(len: usize, align: usize) -> Result<NonNull<u8>, Errno> {
    if !align.is_power_of_two() {
        return Err(Errno::EINVAL);
    }
    let layout = Layout::from_size_align(len.max(1), align).map_err(|_| Errno::ENOMEM)?;
    let ptr = host().alloc(layout).ok_or(Errno::ENOMEM)?;
    OVER_ALIGNED.with(|map| map.insert(ptr.as_ptr() as usize, align));
    OVER_ALIGNED.count.fetch_add(1, Ordering::Relaxed);
    Ok(ptr)
}

/// Frees memory from [`allocate`].
///
/// # Safety
/// `ptr` came from `allocate(len, _)` with the same `len` and is not used afterwards.
#[inline]
pub unsafe fn free(ptr: NonNull<u8>, len: usize) {
    let mut align = natural_align(len);
    if OVER_ALIGNED.count.load(Ordering::Relaxed) != 0 {
        align = recorded_align(ptr).unwrap_or(align);
    }
    let layout =
        Layout::from_size_align(len.max(1), align).expect("layout was valid at allocation");
    // SAFETY: the caller guarantees `ptr` came from `allocate(len, _)`, which allocated
    // exactly this layout (same size rule; alignment natural or recorded in the table).
    unsafe { host().dealloc(ptr, layout) };
}

/// The alignment `ptr` was allocated with, if above the natural one (and forgets it).
#[cold]
fn recorded_align(ptr: NonNull<u8>) -> Option<usize> {
    let real = OVER_ALIGNED.with(|map| map.remove(&(ptr.as_ptr() as usize)))?;
    OVER_ALIGNED.count.fetch_sub(1, Ordering::Relaxed);
    Some(real)
}
