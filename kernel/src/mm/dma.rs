//! Physically contiguous DMA buffers that know both their virtual and their bus address.

use super::frame::FRAME_SIZE;
use super::{frames, phys_to_virt, MemoryError};

/// Where a DMA buffer must lie physically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmaLimit {
    /// Anywhere in RAM.
    Any,
    /// Entirely below 4 GiB (32-bit bus masters).
    Below4GiB,
}

/// A zeroed, physically contiguous buffer, freed when dropped.
#[derive(Debug)]
pub struct DmaBuffer {
    physical: u64,
    frames: u64,
    length: usize,
}

impl DmaBuffer {
    /// Allocates `length` bytes aligned to `align` (a power of two, at least a page is used).
    pub fn allocate(length: usize, align: usize, limit: DmaLimit) -> Result<Self, MemoryError> {
        if length == 0 || !align.is_power_of_two() {
            return Err(MemoryError::InvalidRequest);
        }
        let frames_needed = (length as u64).div_ceil(FRAME_SIZE);
        let align_frames = (align as u64).div_ceil(FRAME_SIZE).max(1);
        let ceiling = match limit {
            DmaLimit::Any => u64::MAX,
            DmaLimit::Below4GiB => 1 << 32,
        };
        let physical = frames::allocate(frames_needed, align_frames, ceiling)?;
        // SAFETY: freshly allocated frames, owned by this buffer, reached through the direct map.
        unsafe {
            core::ptr::write_bytes(
                phys_to_virt(physical) as *mut u8,
                0,
                (frames_needed * FRAME_SIZE) as usize,
            )
        };
        Ok(Self {
            physical,
            frames: frames_needed,
            length,
        })
    }

    /// Bus (physical) address of the first byte.
    pub fn physical_address(&self) -> u64 {
        self.physical
    }

    /// Kernel virtual address of the first byte.
    pub fn virtual_address(&self) -> *mut u8 {
        phys_to_virt(self.physical) as *mut u8
    }

    /// Length requested.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Whether the buffer is empty (never: zero-length requests are refused).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The buffer's bytes (a device may change them at any time; use volatile access or
    /// fences around device hand-over).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the range is owned by this buffer and mapped through the direct map.
        unsafe { core::slice::from_raw_parts_mut(self.virtual_address(), self.length) }
    }

    /// Gives up ownership without freeing (the caller takes over the frames).
    pub fn into_raw(self) -> (u64, u64) {
        let parts = (self.physical, self.frames);
        core::mem::forget(self);
        parts
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        frames::free(self.physical, self.frames);
    }
}
