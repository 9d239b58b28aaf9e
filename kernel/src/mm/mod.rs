//! Memory management: physical frames, kernel page tables, heap, DMA buffers, MMIO, stacks.
//!
//! Virtual layout (higher half only; the low half is unused by the kernel):
//! - `DIRECT_MAP_BASE` + phys: every RAM byte, write-back, no-execute;
//! - `MMIO_BASE`: uncached device mappings handed out by `mmio`;
//! - `STACK_BASE`: kernel stacks, each with an unmapped guard page below it;
//! - `KERNEL_VMA` + phys: the kernel image, mapped W^X section by section.
//!
//! May import: `arch`, `boot`, `sync`.

#[cfg(target_os = "none")]
pub mod dma;
pub mod frame;
#[cfg(target_os = "none")]
pub mod frames;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod mmio;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub mod paging;
#[cfg(all(target_os = "none", target_arch = "aarch64"))]
#[path = "paging_aarch64.rs"]
pub mod paging;
#[cfg(target_os = "none")]
pub mod stack;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub mod user;

/// Base of the direct map of physical memory (top-level slot 256; on aarch64 in TTBR1's half).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Base of the uncached MMIO window (PML4 slot 384).
pub const MMIO_BASE: u64 = 0xffff_c000_0000_0000;
/// Size of the MMIO window.
pub const MMIO_SIZE: u64 = 1 << 39;
/// Base of the kernel-stack window (PML4 slot 416).
pub const STACK_BASE: u64 = 0xffff_d000_0000_0000;
/// Size of the kernel-stack window.
pub const STACK_WINDOW_SIZE: u64 = 1 << 39;
/// Where the kernel image is linked (physical address + this).
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
/// Memory below this physical address stays out of the allocator (firmware, AP trampoline).
pub const LOW_MEMORY_END: u64 = 0x10_0000;
/// The boot page tables map this much physical memory at the direct-map base.
#[cfg(not(target_arch = "aarch64"))]
pub const BOOT_DIRECT_MAP_LIMIT: u64 = 1 << 30;
/// The boot page tables map this much physical memory at the direct-map base (devices in the
/// first GiB, RAM from 1 GiB on QEMU's virt).
#[cfg(target_arch = "aarch64")]
pub const BOOT_DIRECT_MAP_LIMIT: u64 = 2 << 30;

/// Errors of memory services; callers that can recover get these instead of a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryError {
    /// No physical memory satisfies the request.
    OutOfMemory,
    /// A virtual window (MMIO or stacks) is exhausted.
    OutOfVirtualSpace,
    /// The request itself is invalid (zero size, bad alignment, overflowing range).
    InvalidRequest,
    /// A page-table update failed (already mapped, or no memory for a table).
    MappingFailed,
}

impl core::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MemoryError::OutOfMemory => "out of physical memory",
            MemoryError::OutOfVirtualSpace => "out of kernel virtual address space",
            MemoryError::InvalidRequest => "invalid memory request",
            MemoryError::MappingFailed => "page-table update failed",
        })
    }
}

/// Virtual address of physical `address` in the direct map.
#[inline]
pub const fn phys_to_virt(address: u64) -> u64 {
    address + DIRECT_MAP_BASE
}

/// Physical address behind a direct-map or kernel-image virtual address (no table walk).
#[inline]
pub fn virt_to_phys_linear(address: u64) -> Option<u64> {
    if address >= KERNEL_VMA {
        Some(address - KERNEL_VMA)
    } else if (DIRECT_MAP_BASE..MMIO_BASE).contains(&address) {
        Some(address - DIRECT_MAP_BASE)
    } else {
        None
    }
}

/// The bytes of a boot module (the initrd), read-only for the kernel's life.
pub fn boot_module_bytes(module: &crate::boot::Module) -> &'static [u8] {
    // SAFETY: boot modules lie in RAM (direct-mapped); `frames::init` reserves the boot data
    // they sit in for the kernel's life, and nothing writes to them.
    unsafe {
        core::slice::from_raw_parts(
            phys_to_virt(module.start) as *const u8,
            module.length as usize,
        )
    }
}
