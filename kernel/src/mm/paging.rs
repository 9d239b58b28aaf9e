//! Kernel page tables: the direct map of RAM, the kernel image mapped W^X, and the services that
//! map and unmap single pages (MMIO, stacks).
//!
//! Built once on the boot CPU to replace the boot tables; every CPU then loads the same PML4.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};
use x86_64::structures::paging::mapper::{MapToError, MappedFrame, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PhysFrame, Size2MiB, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

/// Page-table entry flags (the `x86_64` crate's; aarch64 has its own type with these names).
pub use x86_64::structures::paging::PageTableFlags as Flags;

use super::{
    frames, phys_to_virt, MemoryError, BOOT_DIRECT_MAP_LIMIT, DIRECT_MAP_BASE, KERNEL_VMA,
};
use crate::boot::BootInfo;
use crate::sync::spin::IrqSpinLock;

static KERNEL_TABLES: IrqSpinLock<Option<OffsetPageTable<'static>>> =
    IrqSpinLock::new("page-tables", None);
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);
/// Page-table frames must be reachable through the direct map: below 1 GiB until the full
/// direct map is live.
static TABLE_FRAME_LIMIT: AtomicU64 = AtomicU64::new(BOOT_DIRECT_MAP_LIMIT);

struct TableFrames;

// SAFETY: frames come from the global allocator, which never hands out a frame twice; each is
// zeroed before use so the mapper sees an empty table.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let address = frames::allocate(1, 1, TABLE_FRAME_LIMIT.load(Ordering::Relaxed)).ok()?;
        // SAFETY: the frame is freshly allocated RAM reachable through the direct map.
        unsafe { core::ptr::write_bytes(phys_to_virt(address) as *mut u8, 0, 4096) };
        Some(PhysFrame::containing_address(PhysAddr::new(address)))
    }
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

fn map_range_4k(
    table: &mut OffsetPageTable<'static>,
    start: u64,
    end: u64,
    flags: Flags,
) -> Result<(), MemoryError> {
    let mut virt = start;
    while virt < end {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
        let frame = PhysFrame::containing_address(PhysAddr::new(virt - KERNEL_VMA));
        // SAFETY: maps the kernel image onto its own physical frames with the section's rights.
        unsafe { table.map_to(page, frame, flags, &mut TableFrames) }
            .map_err(|_| MemoryError::MappingFailed)?
            .ignore();
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

fn direct_map(
    table: &mut OffsetPageTable<'static>,
    start: u64,
    end: u64,
) -> Result<(), MemoryError> {
    let writable = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    let read_only = Flags::PRESENT | Flags::NO_EXECUTE | Flags::GLOBAL;
    let (image_start, image_end) = read_only_image_frames();
    let overlaps_image = |from: u64, to: u64| from < image_end && image_start < to;
    let mut phys = start & !0xfff;
    let end = end.next_multiple_of(4096);
    while phys < end {
        let virt = VirtAddr::new(phys + DIRECT_MAP_BASE);
        let flags = if overlaps_image(phys, phys + 4096) {
            read_only
        } else {
            writable
        };
        if phys.is_multiple_of(2 << 20)
            && phys + (2 << 20) <= end
            && !overlaps_image(phys, phys + (2 << 20))
        {
            let page = Page::<Size2MiB>::containing_address(virt);
            let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
            // SAFETY: the direct map aliases RAM only through this window, never the image's rights.
            match unsafe { table.map_to(page, frame, flags, &mut TableFrames) } {
                Ok(flush) => flush.ignore(),
                Err(MapToError::PageAlreadyMapped(_)) | Err(MapToError::ParentEntryHugePage) => {}
                Err(_) => return Err(MemoryError::MappingFailed),
            }
            phys += 2 << 20;
        } else {
            let page = Page::<Size4KiB>::containing_address(virt);
            let frame = PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(phys));
            // SAFETY: as above.
            match unsafe { table.map_to(page, frame, flags, &mut TableFrames) } {
                Ok(flush) => flush.ignore(),
                Err(MapToError::PageAlreadyMapped(_)) | Err(MapToError::ParentEntryHugePage) => {}
                Err(_) => return Err(MemoryError::MappingFailed),
            }
            phys += 4096;
        }
    }
    Ok(())
}

/// Builds the kernel page tables and switches to them. Requires the frame allocator.
pub fn init(info: &BootInfo) -> Result<(), MemoryError> {
    let pml4_phys = frames::allocate(1, 1, BOOT_DIRECT_MAP_LIMIT)?;
    // SAFETY: fresh frame below 1 GiB, reachable through the boot direct map, owned from now on
    // by the kernel page table.
    let pml4 = unsafe {
        let pointer = phys_to_virt(pml4_phys) as *mut PageTable;
        pointer.write(PageTable::new());
        &mut *pointer
    };
    // SAFETY: the direct map at DIRECT_MAP_BASE covers every page-table frame we allocate
    // (TABLE_FRAME_LIMIT keeps them below the boot map until the full map is live).
    let mut table = unsafe { OffsetPageTable::new(pml4, VirtAddr::new(DIRECT_MAP_BASE)) };

    // Low memory (firmware tables, RSDP search area) and all RAM go in the direct map. Reserved
    // ranges are left out so MMIO is never cached through an alias.
    direct_map(&mut table, 0, super::LOW_MEMORY_END)?;
    for region in info.regions().iter().filter(|r| r.kind.is_ram()) {
        direct_map(&mut table, region.start, region.end())?;
    }

    let sections = kernel_sections();
    map_range_4k(
        &mut table,
        sections.text.0,
        sections.text.1,
        Flags::PRESENT | Flags::GLOBAL,
    )?;
    map_range_4k(
        &mut table,
        sections.rodata.0,
        sections.rodata.1,
        Flags::PRESENT | Flags::GLOBAL | Flags::NO_EXECUTE,
    )?;
    let data_flags = Flags::PRESENT | Flags::WRITABLE | Flags::GLOBAL | Flags::NO_EXECUTE;
    map_range_4k(
        &mut table,
        sections.data.0,
        sections.boot_stack_guard,
        data_flags,
    )?;
    map_range_4k(
        &mut table,
        sections.boot_stack_guard + 4096,
        sections.data.1,
        data_flags,
    )?;

    // Preallocate the top-level entries of the MMIO and stack windows so that every CPU sees
    // later mappings there without PML4 changes.
    for base in [super::MMIO_BASE, super::STACK_BASE] {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(base));
        let frame = TableFrames
            .allocate_frame()
            .ok_or(MemoryError::OutOfMemory)?;
        // SAFETY: maps and immediately unmaps a scratch page; only the intermediate tables stay.
        unsafe {
            table.map_to(
                page,
                frame,
                Flags::PRESENT | Flags::NO_EXECUTE,
                &mut TableFrames,
            )
        }
        .map_err(|_| MemoryError::MappingFailed)?
        .ignore();
        let (frame, flush) = table.unmap(page).map_err(|_| MemoryError::MappingFailed)?;
        flush.ignore();
        frames::free(frame.start_address().as_u64(), 1);
    }

    // SAFETY: PGE only makes GLOBAL entries survive CR3 reloads.
    unsafe { Cr4::update(|flags| flags.insert(Cr4Flags::PAGE_GLOBAL)) };
    KERNEL_PML4.store(pml4_phys, Ordering::Release);
    crate::arch::user::set_kernel_root(pml4_phys);
    load_this_cpu();
    TABLE_FRAME_LIMIT.store(u64::MAX, Ordering::Release);
    *KERNEL_TABLES.lock() = Some(table);
    Ok(())
}

/// Loads the kernel page tables on the calling CPU.
pub fn load_this_cpu() {
    let frame = PhysFrame::containing_address(PhysAddr::new(KERNEL_PML4.load(Ordering::Acquire)));
    // SAFETY: the kernel PML4 maps the running code, stack and data at the same virtual
    // addresses as the tables it replaces.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
}

/// Physical address of the kernel PML4 (for the AP trampoline).
pub fn kernel_pml4() -> u64 {
    KERNEL_PML4.load(Ordering::Acquire)
}

/// Maps one 4 KiB page.
pub fn map_page(virt: u64, phys: u64, flags: Flags) -> Result<(), MemoryError> {
    let mut guard = KERNEL_TABLES.lock();
    let table = guard.as_mut().ok_or(MemoryError::MappingFailed)?;
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::containing_address(PhysAddr::new(phys));
    // SAFETY: callers map fresh virtual pages of the kernel's own windows (MMIO, stacks).
    unsafe { table.map_to(page, frame, flags, &mut TableFrames) }
        .map_err(|error| match error {
            MapToError::FrameAllocationFailed => MemoryError::OutOfMemory,
            _ => MemoryError::MappingFailed,
        })?
        .flush();
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
/// CPU could still reach it. Pages that were not mapped are skipped. Must not be called with a
/// spin lock held (the shootdown waits for the other CPUs).
pub fn unmap_range(start: u64, pages: u64, mut released: impl FnMut(u64, u64)) {
    const BATCH: usize = 32;
    let mut done = 0;
    while done < pages {
        let count = (pages - done).min(BATCH as u64);
        let first = start + done * 4096;
        let mut frames = [(0u64, 0u64); BATCH];
        let mut found = 0;
        {
            let mut guard = KERNEL_TABLES.lock();
            let Some(table) = guard.as_mut() else { return };
            for i in 0..count {
                let virt = first + i * 4096;
                let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
                if let Ok((frame, flush)) = table.unmap(page) {
                    flush.ignore();
                    frames[found] = (virt, frame.start_address().as_u64());
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
    let guard = KERNEL_TABLES.try_lock()?;
    let table = guard.as_ref()?;
    match table.translate(VirtAddr::try_new(virt).ok()?) {
        TranslateResult::Mapped {
            frame,
            offset,
            flags,
        } => {
            let base = match frame {
                MappedFrame::Size4KiB(f) => f.start_address().as_u64(),
                MappedFrame::Size2MiB(f) => f.start_address().as_u64(),
                MappedFrame::Size1GiB(f) => f.start_address().as_u64(),
            };
            Some(Translation {
                physical: base + offset,
                writable: flags.contains(Flags::WRITABLE),
                executable: !flags.contains(Flags::NO_EXECUTE),
                cache_disabled: flags.contains(Flags::NO_CACHE),
                user: flags.contains(Flags::USER_ACCESSIBLE),
            })
        }
        _ => None,
    }
}
