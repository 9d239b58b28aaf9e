//! Kernel page tables on aarch64 (VMSAv8-64, 4 KiB granule, 48-bit addresses, four levels):
//! the direct map of RAM, the kernel image mapped W^X, and the services that map and unmap
//! single pages (MMIO, stacks). The kernel lives in TTBR1's upper half; the layout is the same
//! as on x86_64 (see `mm`), and so is this module's interface.
//!
//! Built once on the boot CPU to replace the boot tables; every CPU then loads the same root.
//! Every kernel mapping is privileged-only (AP bit 1 clear) and never user-executable (UXN); only the
//! kernel text lacks PXN, and SCTLR_EL1.WXN makes any writable page non-executable as well.

use core::sync::atomic::{AtomicU64, Ordering};

use super::{
    frames, phys_to_virt, MemoryError, BOOT_DIRECT_MAP_LIMIT, DIRECT_MAP_BASE, KERNEL_VMA,
};
use crate::boot::BootInfo;
use crate::sync::spin::IrqSpinLock;

bitflags::bitflags! {
    /// Architecture-neutral mapping flags (named as on x86_64, so callers share them).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Flags: u64 {
        const PRESENT = 1 << 0;
        const WRITABLE = 1 << 1;
        const USER_ACCESSIBLE = 1 << 2;
        const WRITE_THROUGH = 1 << 3;
        const NO_CACHE = 1 << 4;
        const GLOBAL = 1 << 8;
        const NO_EXECUTE = 1 << 63;
    }
}

const VALID: u64 = 1 << 0;
/// Bit 1: a table (levels 0-2) or a page (level 3); clear at levels 1-2 for a block.
const TABLE_OR_PAGE: u64 = 1 << 1;
const ATTRIBUTE_NORMAL: u64 = 0 << 2;
const ATTRIBUTE_DEVICE: u64 = 2 << 2;
const ATTRIBUTE_NON_CACHEABLE: u64 = 3 << 2;
const ATTRIBUTE_MASK: u64 = 7 << 2;
const ACCESS_USER: u64 = 1 << 6;
const ACCESS_READ_ONLY: u64 = 1 << 7;
const INNER_SHAREABLE: u64 = 3 << 8;
const ACCESSED: u64 = 1 << 10;
const NOT_GLOBAL: u64 = 1 << 11;
const PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
const USER_EXECUTE_NEVER: u64 = 1 << 54;
const ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

/// The descriptor bits (without the address and the valid/type bits) for `flags`.
fn attributes(flags: Flags) -> u64 {
    let mut bits = ACCESSED;
    bits |= if flags.contains(Flags::NO_CACHE) {
        if flags.contains(Flags::WRITE_THROUGH) {
            ATTRIBUTE_DEVICE
        } else {
            ATTRIBUTE_NON_CACHEABLE | INNER_SHAREABLE
        }
    } else {
        ATTRIBUTE_NORMAL | INNER_SHAREABLE
    };
    if !flags.contains(Flags::WRITABLE) {
        bits |= ACCESS_READ_ONLY;
    }
    if flags.contains(Flags::USER_ACCESSIBLE) {
        // Privileged code may never execute a user page (PXN), as SMEP on x86_64.
        bits |= ACCESS_USER | PRIVILEGED_EXECUTE_NEVER;
        if flags.contains(Flags::NO_EXECUTE) {
            bits |= USER_EXECUTE_NEVER;
        }
    } else {
        bits |= USER_EXECUTE_NEVER;
        if flags.contains(Flags::NO_EXECUTE) {
            bits |= PRIVILEGED_EXECUTE_NEVER;
        }
    }
    if !flags.contains(Flags::GLOBAL) {
        bits |= NOT_GLOBAL;
    }
    bits
}

static KERNEL_TABLES: IrqSpinLock<u64> = IrqSpinLock::new("page-tables", 0);
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);
/// Page-table frames must be reachable through the direct map: inside the boot map until the
/// full direct map is live.
static TABLE_FRAME_LIMIT: AtomicU64 = AtomicU64::new(BOOT_DIRECT_MAP_LIMIT);

fn allocate_table() -> Result<u64, MemoryError> {
    let address = frames::allocate(1, 1, TABLE_FRAME_LIMIT.load(Ordering::Relaxed))?;
    // SAFETY: the frame is freshly allocated RAM reachable through the direct map.
    unsafe { core::ptr::write_bytes(phys_to_virt(address) as *mut u8, 0, 4096) };
    Ok(address)
}

fn entry_pointer(table: u64, index: usize) -> *mut u64 {
    (phys_to_virt(table) as *mut u64).wrapping_add(index)
}

fn read_entry(table: u64, index: usize) -> u64 {
    // SAFETY: `table` is a page-table frame of the kernel tables, direct-mapped; 0 <= index < 512.
    unsafe { core::ptr::read_volatile(entry_pointer(table, index)) }
}

fn write_entry(table: u64, index: usize, value: u64) {
    // SAFETY: as for `read_entry`; callers hold the page-table lock (or build the tables alone).
    unsafe { core::ptr::write_volatile(entry_pointer(table, index), value) }
}

fn index(virt: u64, level: u32) -> usize {
    ((virt >> (39 - 9 * level)) & 0x1ff) as usize
}

/// The table at `level` + 1 for `virt`, created when `create`; `Err` when a block is in the way.
fn next_table(table: u64, virt: u64, level: u32, create: bool) -> Result<Option<u64>, MemoryError> {
    let slot = index(virt, level);
    let entry = read_entry(table, slot);
    if entry & VALID != 0 {
        if entry & TABLE_OR_PAGE == 0 {
            return Err(MemoryError::MappingFailed); // a block maps this range already
        }
        return Ok(Some(entry & ADDRESS_MASK));
    }
    if !create {
        return Ok(None);
    }
    let fresh = allocate_table()?;
    write_entry(table, slot, fresh | VALID | TABLE_OR_PAGE);
    Ok(Some(fresh))
}

/// Maps one 4 KiB page (or a 2 MiB block when `block`) in the tables rooted at `root`.
fn map_in(root: u64, virt: u64, phys: u64, flags: Flags, block: bool) -> Result<(), MemoryError> {
    let last_level = if block { 2 } else { 3 };
    let mut table = root;
    for level in 0..last_level {
        table = next_table(table, virt, level, true)?.ok_or(MemoryError::MappingFailed)?;
    }
    let slot = index(virt, last_level);
    if read_entry(table, slot) & VALID != 0 {
        return Err(MemoryError::MappingFailed);
    }
    let kind = if block { VALID } else { VALID | TABLE_OR_PAGE };
    write_entry(
        table,
        slot,
        (phys & ADDRESS_MASK) | attributes(flags) | kind,
    );
    Ok(())
}

/// The last-level entry for `virt`: (table, slot, level), or `None` when unmapped.
fn walk(root: u64, virt: u64) -> Option<(u64, usize, u32)> {
    let mut table = root;
    for level in 0..4 {
        let slot = index(virt, level);
        let entry = read_entry(table, slot);
        if entry & VALID == 0 {
            return None;
        }
        if level == 3 || entry & TABLE_OR_PAGE == 0 {
            return Some((table, slot, level));
        }
        table = entry & ADDRESS_MASK;
    }
    None
}

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __kernel_end: u8;
    static boot_stack_guard: u8;
}

fn symbol_address(symbol: &u8) -> u64 {
    symbol as *const u8 as u64
}

/// Virtual ranges of the kernel image sections, from the linker script.
pub struct KernelSections {
    pub text: (u64, u64),
    pub rodata: (u64, u64),
    pub data: (u64, u64),
    pub boot_stack_guard: u64,
}

/// Where the linker put the kernel's sections.
pub fn kernel_sections() -> KernelSections {
    // SAFETY: only the addresses of linker-defined symbols are taken; nothing is read.
    unsafe {
        KernelSections {
            text: (symbol_address(&__text_start), symbol_address(&__text_end)),
            rodata: (
                symbol_address(&__rodata_start),
                symbol_address(&__rodata_end),
            ),
            data: (symbol_address(&__data_start), symbol_address(&__kernel_end)),
            boot_stack_guard: symbol_address(&boot_stack_guard),
        }
    }
}

/// Physical range occupied by the kernel image.
pub fn kernel_physical_range() -> (u64, u64) {
    let sections = kernel_sections();
    (sections.text.0 - KERNEL_VMA, sections.data.1 - KERNEL_VMA)
}

fn map_image_range(root: u64, start: u64, end: u64, flags: Flags) -> Result<(), MemoryError> {
    let mut virt = start;
    while virt < end {
        map_in(root, virt, virt - KERNEL_VMA, flags, false)?;
        virt += 4096;
    }
    Ok(())
}

/// Physical range of the kernel's text and read-only data: its direct-map alias is read-only,
/// so W^X holds for every mapping of those frames, not only the image's own.
fn read_only_image_frames() -> (u64, u64) {
    let sections = kernel_sections();
    (
        sections.text.0 - KERNEL_VMA,
        sections.rodata.1.next_multiple_of(4096) - KERNEL_VMA,
    )
}

fn direct_map(root: u64, start: u64, end: u64) -> Result<(), MemoryError> {
    let writable = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    let read_only = Flags::PRESENT | Flags::NO_EXECUTE | Flags::GLOBAL;
    let (image_start, image_end) = read_only_image_frames();
    let overlaps_image = |from: u64, to: u64| from < image_end && image_start < to;
    let mut phys = start & !0xfff;
    let end = end.next_multiple_of(4096);
    while phys < end {
        let virt = phys + DIRECT_MAP_BASE;
        if phys.is_multiple_of(2 << 20)
            && phys + (2 << 20) <= end
            && !overlaps_image(phys, phys + (2 << 20))
        {
            match map_in(root, virt, phys, writable, true) {
                Ok(()) | Err(MemoryError::MappingFailed) => {}
                Err(error) => return Err(error),
            }
            phys += 2 << 20;
        } else {
            let flags = if overlaps_image(phys, phys + 4096) {
                read_only
            } else {
                writable
            };
            match map_in(root, virt, phys, flags, false) {
                Ok(()) | Err(MemoryError::MappingFailed) => {}
                Err(error) => return Err(error),
            }
            phys += 4096;
        }
    }
    Ok(())
}

/// Builds the kernel page tables and switches to them. Requires the frame allocator.
/// `device_pages` are register pages (the console UART) that must stay reachable at their
/// direct-map address across the switch; they are mapped there as device memory.
pub fn init(info: &BootInfo, device_pages: &[u64]) -> Result<(), MemoryError> {
    let root = allocate_table()?;
    for region in info.regions().iter().filter(|r| r.kind.is_ram()) {
        direct_map(root, region.start, region.end())?;
    }
    let device = Flags::PRESENT
        | Flags::WRITABLE
        | Flags::NO_CACHE
        | Flags::WRITE_THROUGH
        | Flags::NO_EXECUTE
        | Flags::GLOBAL;
    for &page in device_pages {
        let page = page & !0xfff;
        map_in(root, phys_to_virt(page), page, device, false)?;
    }

    let sections = kernel_sections();
    map_image_range(
        root,
        sections.text.0,
        sections.text.1,
        Flags::PRESENT | Flags::GLOBAL,
    )?;
    map_image_range(
        root,
        sections.rodata.0,
        sections.rodata.1,
        Flags::PRESENT | Flags::GLOBAL | Flags::NO_EXECUTE,
    )?;
    let data_flags = Flags::PRESENT | Flags::WRITABLE | Flags::GLOBAL | Flags::NO_EXECUTE;
    map_image_range(root, sections.data.0, sections.boot_stack_guard, data_flags)?;
    map_image_range(
        root,
        sections.boot_stack_guard + 4096,
        sections.data.1,
        data_flags,
    )?;

    // Preallocate the level-1 tables of the MMIO and stack windows so that every CPU sees later
    // mappings there without root changes (the same as on x86_64).
    for base in [super::MMIO_BASE, super::STACK_BASE] {
        next_table(root, base, 0, true)?;
    }

    KERNEL_ROOT.store(root, Ordering::Release);
    load_this_cpu();
    TABLE_FRAME_LIMIT.store(u64::MAX, Ordering::Release);
    *KERNEL_TABLES.lock() = root;
    Ok(())
}

/// Loads the kernel page tables on the calling CPU.
pub fn load_this_cpu() {
    // SAFETY: the kernel root maps the running code, stack and data at the same virtual
    // addresses as the tables it replaces.
    unsafe { crate::arch::cpu::load_kernel_root(KERNEL_ROOT.load(Ordering::Acquire)) };
}

/// Physical address of the kernel's root table (TTBR1), for secondary CPUs.
pub fn kernel_pml4() -> u64 {
    KERNEL_ROOT.load(Ordering::Acquire)
}

/// Maps one 4 KiB page.
pub fn map_page(virt: u64, phys: u64, flags: Flags) -> Result<(), MemoryError> {
    let root = KERNEL_TABLES.lock();
    if *root == 0 {
        return Err(MemoryError::MappingFailed);
    }
    map_in(*root, virt, phys, flags, false)?;
    drop(root);
    crate::arch::tlb::publish_new_mapping();
    Ok(())
}

/// Unmaps one 4 KiB page on every CPU and returns the physical address it mapped.
pub fn unmap_page(virt: u64) -> Result<u64, MemoryError> {
    let mut frame = Err(MemoryError::MappingFailed);
    unmap_range(virt, 1, |_, f| frame = Ok(f));
    frame
}

/// Unmaps `pages` pages from `start`, shoots the range down from every CPU's TLB, and only then
/// hands each (virtual, physical) pair to `released` — so a frame is never reused while another
/// CPU could still reach it. Pages that were not mapped (or lie in a block) are skipped.
pub fn unmap_range(start: u64, pages: u64, mut released: impl FnMut(u64, u64)) {
    const BATCH: usize = 32;
    let mut done = 0;
    while done < pages {
        let count = (pages - done).min(BATCH as u64);
        let first = start + done * 4096;
        let mut frames = [(0u64, 0u64); BATCH];
        let mut found = 0;
        {
            let root = KERNEL_TABLES.lock();
            if *root == 0 {
                return;
            }
            for i in 0..count {
                let virt = first + i * 4096;
                if let Some((table, slot, 3)) = walk(*root, virt) {
                    frames[found] = (virt, read_entry(table, slot) & ADDRESS_MASK);
                    write_entry(table, slot, 0);
                    found += 1;
                }
            }
        }
        crate::arch::tlb::shootdown(first, count);
        for &(virt, phys) in &frames[..found] {
            released(virt, phys);
        }
        done += count;
    }
}

/// What a virtual address maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub physical: u64,
    pub writable: bool,
    pub executable: bool,
    pub cache_disabled: bool,
    /// Reachable from user mode.
    pub user: bool,
}

/// Walks the kernel page tables for `virt`. Uses `try_lock` so it is safe in fault reports.
pub fn translate(virt: u64) -> Option<Translation> {
    // Only the upper half is the kernel's; TTBR1 covers addresses whose top 16 bits are ones.
    if virt >> 48 != 0xffff {
        return None;
    }
    let root = *KERNEL_TABLES.try_lock()?;
    if root == 0 {
        return None;
    }
    let (table, slot, level) = walk(root, virt)?;
    let entry = read_entry(table, slot);
    let size_mask = (1u64 << (39 - 9 * level + 9)) - 1;
    let offset_mask = if level == 3 { 0xfff } else { size_mask >> 9 };
    Some(Translation {
        physical: (entry & ADDRESS_MASK & !offset_mask) | (virt & offset_mask),
        writable: entry & ACCESS_READ_ONLY == 0,
        executable: entry & PRIVILEGED_EXECUTE_NEVER == 0,
        cache_disabled: entry & ATTRIBUTE_MASK != ATTRIBUTE_NORMAL,
        user: entry & ACCESS_USER != 0,
    })
}
