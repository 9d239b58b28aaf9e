//! The kernel's global frame allocator: a [`FrameBitmap`] filled from the boot memory map, with
//! the kernel image, boot modules and everything below 1 MiB kept out of it.

use crate::boot::{BootInfo, RegionKind};
use crate::mm::frame::{FrameBitmap, FRAME_SIZE};
use crate::mm::{phys_to_virt, MemoryError, BOOT_DIRECT_MAP_LIMIT, LOW_MEMORY_END};
use crate::sync::spin::IrqSpinLock;

static FRAMES: IrqSpinLock<Option<FrameBitmap<'static>>> = IrqSpinLock::new("frames", None);

/// Why the frame allocator could not start.
#[derive(Debug, Clone, Copy)]
pub enum FrameInitError {
    /// No usable region below 1 GiB can hold the bitmap.
    NoRoomForBitmap(u64),
}

impl core::fmt::Display for FrameInitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameInitError::NoRoomForBitmap(bytes) => {
                write!(
                    f,
                    "no usable memory below 1 GiB for the {bytes}-byte frame bitmap"
                )
            }
        }
    }
}

/// Builds the allocator. `reserved` lists physical ranges that must never be handed out.
pub fn init(info: &BootInfo, reserved: &[(u64, u64)]) -> Result<(), FrameInitError> {
    let frame_count = info.highest_ram_address().div_ceil(FRAME_SIZE);
    let words = FrameBitmap::words_for(frame_count);
    let bytes = (words * 8) as u64;
    let mut placement = None;
    'regions: for region in info
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Usable)
    {
        let mut start = region
            .start
            .max(LOW_MEMORY_END)
            .next_multiple_of(FRAME_SIZE);
        let end = region.end().min(BOOT_DIRECT_MAP_LIMIT);
        while start + bytes <= end {
            let blocker = reserved
                .iter()
                .copied()
                .chain(info.modules().iter().map(|m| (m.start, m.start + m.length)))
                .find(|&(s, e)| start < e && s < start + bytes);
            match blocker {
                None => {
                    placement = Some(start);
                    break 'regions;
                }
                Some((_, e)) => start = e.next_multiple_of(FRAME_SIZE),
            }
        }
    }
    let bitmap_start = placement.ok_or(FrameInitError::NoRoomForBitmap(bytes))?;
    // SAFETY: [bitmap_start, +bytes) is usable RAM below 1 GiB (mapped by the boot page tables at
    // the direct-map base), overlaps neither the kernel, the modules nor boot data, and is
    // reserved in the bitmap below, so nothing else will ever alias it.
    let storage =
        unsafe { core::slice::from_raw_parts_mut(phys_to_virt(bitmap_start) as *mut u64, words) };
    let mut bitmap = FrameBitmap::new(storage, frame_count);
    for region in info
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Usable)
    {
        bitmap.add_free_range(region.start.max(LOW_MEMORY_END), region.end());
    }
    // A reservation listed in the map wins over a usable range that overlaps it.
    for region in info
        .regions()
        .iter()
        .filter(|r| r.kind != RegionKind::Usable)
    {
        bitmap.reserve_range(region.start, region.end());
    }
    for &(start, end) in reserved {
        bitmap.reserve_range(start, end);
    }
    for module in info.modules() {
        bitmap.reserve_range(module.start, module.start + module.length);
    }
    bitmap.reserve_range(bitmap_start, bitmap_start + bytes);
    *FRAMES.lock() = Some(bitmap);
    Ok(())
}

/// Allocates `count` contiguous frames aligned to `align` frames, ending below `limit`.
pub fn allocate(count: u64, align: u64, limit: u64) -> Result<u64, MemoryError> {
    if count == 0 {
        return Err(MemoryError::InvalidRequest);
    }
    FRAMES
        .lock()
        .as_mut()
        .and_then(|b| b.allocate(count, align, limit))
        .ok_or(MemoryError::OutOfMemory)
}

/// Returns frames to the allocator. A double free is a kernel bug and panics with the address.
pub fn free(address: u64, count: u64) {
    let result = FRAMES.lock().as_mut().map(|b| b.free(address, count));
    if let Some(Err(error)) = result {
        panic!("frame allocator: {error}");
    }
}

/// Fills `frames` with single frames under one acquisition of the allocator's lock: fork and
/// exit move hundreds of frames at once, and a lock taken per frame was where every CPU
/// queued. On failure nothing stays allocated.
pub fn allocate_each(frames: &mut [u64]) -> Result<(), MemoryError> {
    let mut guard = FRAMES.lock();
    let bitmap = guard.as_mut().ok_or(MemoryError::OutOfMemory)?;
    if (frames.len() as u64) > bitmap.free_frames() {
        return Err(MemoryError::OutOfMemory);
    }
    for index in 0..frames.len() {
        match bitmap.allocate(1, 1, u64::MAX) {
            Some(address) => frames[index] = address,
            None => {
                for &address in &frames[..index] {
                    let _ = bitmap.free(address, 1);
                }
                return Err(MemoryError::OutOfMemory);
            }
        }
    }
    Ok(())
}

/// Frames to free, gathered so that the lock is taken once per [`FreeBatch::CAPACITY`] frames.
/// Needs no heap (an address space may be freed because memory ran out); flushes when full and
/// when dropped.
pub struct FreeBatch {
    frames: [u64; Self::CAPACITY],
    count: usize,
}

impl FreeBatch {
    pub const CAPACITY: usize = 128;

    pub const fn new() -> Self {
        Self {
            frames: [0; Self::CAPACITY],
            count: 0,
        }
    }

    /// Queues one frame.
    pub fn push(&mut self, address: u64) {
        if self.count == Self::CAPACITY {
            self.flush();
        }
        self.frames[self.count] = address;
        self.count += 1;
    }

    /// Frees what is queued.
    pub fn flush(&mut self) {
        free_each(&self.frames[..self.count]);
        self.count = 0;
    }
}

impl Default for FreeBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FreeBatch {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Frees single frames under one acquisition of the lock (see [`allocate_each`]). A double
/// free panics with the address.
pub fn free_each(frames: &[u64]) {
    let mut guard = FRAMES.lock();
    let Some(bitmap) = guard.as_mut() else { return };
    for &address in frames {
        if let Err(error) = bitmap.free(address, 1) {
            drop(guard);
            panic!("frame allocator: {error}");
        }
    }
}

/// (free frames, managed frames).
pub fn statistics() -> (u64, u64) {
    FRAMES
        .lock()
        .as_ref()
        .map(|b| (b.free_frames(), b.frame_count()))
        .unwrap_or((0, 0))
}
