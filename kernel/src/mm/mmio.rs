//! Uncached mappings of device memory in the kernel's MMIO window.

use core::sync::atomic::{AtomicU64, Ordering};

use super::paging::Flags;

use super::{paging, MemoryError, MMIO_BASE, MMIO_SIZE};

static NEXT: AtomicU64 = AtomicU64::new(MMIO_BASE);

/// A mapped device register block; unmapped when dropped.
#[derive(Debug)]
pub struct MmioRegion {
    virtual_base: u64,
    physical: u64,
    length: usize,
    mapped_pages: u64,
}

impl MmioRegion {
    /// Maps `[physical, physical + length)` uncached (PCD|PWT), no-execute.
    pub fn map(physical: u64, length: usize) -> Result<Self, MemoryError> {
        if length == 0 || physical.checked_add(length as u64).is_none() {
            return Err(MemoryError::InvalidRequest);
        }
        let first_page = physical & !0xfff;
        let pages = (physical + length as u64 - first_page).div_ceil(4096);
        let window = NEXT.fetch_add((pages + 1) * 4096, Ordering::Relaxed); // +1: unmapped gap
        if window + pages * 4096 > MMIO_BASE + MMIO_SIZE {
            return Err(MemoryError::OutOfVirtualSpace);
        }
        let flags = Flags::PRESENT
            | Flags::WRITABLE
            | Flags::NO_CACHE
            | Flags::WRITE_THROUGH
            | Flags::NO_EXECUTE
            | Flags::GLOBAL;
        for i in 0..pages {
            if let Err(error) = paging::map_page(window + i * 4096, first_page + i * 4096, flags) {
                for j in 0..i {
                    let _ = paging::unmap_page(window + j * 4096);
                }
                return Err(error);
            }
        }
        Ok(Self {
            virtual_base: window + (physical - first_page),
            physical,
            length,
            mapped_pages: pages,
        })
    }

    /// Virtual address of the first byte.
    pub fn virtual_address(&self) -> usize {
        self.virtual_base as usize
    }

    /// Physical address of the first byte.
    pub fn physical_address(&self) -> u64 {
        self.physical
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Whether the region is empty (never).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    fn check(&self, offset: usize, width: usize) {
        assert!(
            offset.is_multiple_of(width) && offset + width <= self.length,
            "MMIO access at offset {offset:#x} (width {width}) outside region of {:#x} bytes at {:#x}",
            self.length,
            self.physical
        );
    }

    /// Reads a 32-bit register.
    pub fn read_u32(&self, offset: usize) -> u32 {
        self.check(offset, 4);
        // SAFETY: bounds and alignment checked above; the page is mapped uncached.
        unsafe { core::ptr::read_volatile((self.virtual_base as usize + offset) as *const u32) }
    }

    /// Writes a 32-bit register.
    pub fn write_u32(&self, offset: usize, value: u32) {
        self.check(offset, 4);
        // SAFETY: bounds and alignment checked above; the page is mapped uncached.
        unsafe {
            core::ptr::write_volatile((self.virtual_base as usize + offset) as *mut u32, value)
        }
    }

    /// Reads a 64-bit register.
    pub fn read_u64(&self, offset: usize) -> u64 {
        self.check(offset, 8);
        // SAFETY: bounds and alignment checked above; the page is mapped uncached.
        unsafe { core::ptr::read_volatile((self.virtual_base as usize + offset) as *const u64) }
    }

    /// Writes a 64-bit register.
    pub fn write_u64(&self, offset: usize, value: u64) {
        self.check(offset, 8);
        // SAFETY: bounds and alignment checked above; the page is mapped uncached.
        unsafe {
            core::ptr::write_volatile((self.virtual_base as usize + offset) as *mut u64, value)
        }
    }
}

impl Drop for MmioRegion {
    fn drop(&mut self) {
        paging::unmap_range(self.virtual_base & !0xfff, self.mapped_pages, |_, _| {});
    }
}
