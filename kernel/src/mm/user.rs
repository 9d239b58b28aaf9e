//! User address spaces: one PML4 per process. Its lower half maps that process's own pages;
//! its upper half points at the kernel's tables, which every address space shares (the kernel's
//! top-level entries are all created at boot and never change).
//!
//! Fork shares every page copy-on-write: both address spaces map the frame without the write
//! bit, the ones that may be written marked `COPY_ON_WRITE`, and a table of shared frames
//! counts the owners; the first write to such a page copies it (or, for the last owner, just
//! sets the write bit again). A frame is freed when its last owner unmaps it. A CPU has an address space's user entries in its
//! TLB only while it runs a thread of that address space (kernel threads run on the kernel's
//! root), so changes flush the local TLB only.

use x86_64::structures::paging::mapper::{MappedFrame, TranslateResult};
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use super::{frames, paging, phys_to_virt, MemoryError, DIRECT_MAP_BASE};
use core::sync::atomic::{AtomicU16, Ordering};
use x86_64::structures::paging::page_table::PageTableEntry;

/// A software bit of a leaf entry: the page may be written, but its frame is (or was) shared
/// since a fork, so the write bit stays clear until a write copies it.
const COPY_ON_WRITE: Flags = Flags::BIT_9;

/// For every frame of RAM, how many owners it has beyond the first (0: one owner, or a frame
/// no address space holds). Two bytes a frame, made once at start-up ([`init_sharing`]), so
/// fork and exit need no heap. The process limit keeps the counts far below `u16::MAX`.
static SHARE_COUNTS: spin::Once<&'static [AtomicU16]> = spin::Once::new();

fn frame_index(physical: u64) -> usize {
    (physical / PAGE_SIZE) as usize
}

/// Makes the table of share counts over all RAM the frame allocator manages.
pub fn init_sharing() -> Result<(), MemoryError> {
    let (_, frame_count) = frames::statistics();
    let pages = (frame_count * 2).div_ceil(PAGE_SIZE);
    let start = frames::allocate(pages, 1, u64::MAX)?;
    let base = phys_to_virt(start) as *mut u8;
    // SAFETY: fresh frames reached through the direct map, owned by this table for good;
    // zero is a valid `AtomicU16` (no frame shared), and the slice covers exactly the
    // `frame_count` counts inside the allocation.
    let counts = unsafe {
        core::ptr::write_bytes(base, 0, (pages * PAGE_SIZE) as usize);
        core::slice::from_raw_parts(base as *const AtomicU16, frame_count as usize)
    };
    SHARE_COUNTS.call_once(|| counts);
    Ok(())
}

/// Whether `physical` has more than one owner.
fn is_shared(physical: u64) -> bool {
    SHARE_COUNTS
        .get()
        .is_some_and(|counts| counts[frame_index(physical)].load(Ordering::Acquire) > 0)
}

/// One owner gives `physical` up: true if it was the last, who must free the frame.
fn release_owner(physical: u64) -> bool {
    let Some(counts) = SHARE_COUNTS.get() else {
        return true;
    };
    counts[frame_index(physical)]
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |others| {
            others.checked_sub(1)
        })
        .is_err()
}

/// One owner gives `physical` up; the last frees it.
fn release_frame(physical: u64) {
    if release_owner(physical) {
        frames::free(physical, 1);
    }
}

/// Frames shared copy-on-write now (for reports).
pub fn shared_frames() -> usize {
    SHARE_COUNTS.get().map_or(0, |counts| {
        counts
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) > 0)
            .count()
    })
}

/// Calls `f(virtual, entry)` for every mapped user page under PML4 `root`, lowest first, with
/// the leaf entry itself to change.
fn for_each_entry(root: u64, mut f: impl FnMut(u64, &mut PageTableEntry)) {
    let pml4 = table_at(root);
    for (i4, e4) in pml4.iter().enumerate().take(256) {
        if !e4.flags().contains(Flags::PRESENT) {
            continue;
        }
        let pdpt = table_at(e4.addr().as_u64());
        for (i3, e3) in pdpt.iter().enumerate() {
            if !e3.flags().contains(Flags::PRESENT) {
                continue;
            }
            let pd = table_at(e3.addr().as_u64());
            for (i2, e2) in pd.iter().enumerate() {
                if !e2.flags().contains(Flags::PRESENT) {
                    continue;
                }
                // SAFETY: a last-level table of this address space, reached through the direct
                // map; the caller holds the address space exclusively (`&mut self`).
                let pt = unsafe { &mut *(phys_to_virt(e2.addr().as_u64()) as *mut PageTable) };
                for (i1, e1) in pt.iter_mut().enumerate() {
                    if e1.flags().contains(Flags::PRESENT) {
                        let virt = ((i4 as u64) << 39)
                            | ((i3 as u64) << 30)
                            | ((i2 as u64) << 21)
                            | ((i1 as u64) << 12);
                        f(virt, e1);
                    }
                }
            }
        }
    }
}

/// Page size of user mappings.
pub const PAGE_SIZE: u64 = 4096;

/// What user code may do with a page. A page without any right stays present but is not
/// user-accessible (PROT_NONE keeps its contents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Access {
    fn flags(self) -> Flags {
        let mut flags = Flags::PRESENT;
        if self.read {
            flags |= Flags::USER_ACCESSIBLE;
        }
        if self.write {
            flags |= Flags::WRITABLE;
        }
        if !self.execute {
            flags |= Flags::NO_EXECUTE;
        }
        flags
    }

    fn from_flags(flags: Flags) -> Self {
        Self {
            read: flags.contains(Flags::USER_ACCESSIBLE),
            write: flags.intersects(Flags::WRITABLE | COPY_ON_WRITE),
            execute: !flags.contains(Flags::NO_EXECUTE),
        }
    }
}

struct UserTableFrames;

// SAFETY: frames come from the global allocator (never handed out twice) and are zeroed.
unsafe impl x86_64::structures::paging::FrameAllocator<Size4KiB> for UserTableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let address = allocate_zeroed_frame().ok()?;
        Some(PhysFrame::containing_address(PhysAddr::new(address)))
    }
}

fn allocate_zeroed_frame() -> Result<u64, MemoryError> {
    let address = frames::allocate(1, 1, u64::MAX)?;
    // SAFETY: a fresh frame, reachable through the direct map, owned by the caller.
    unsafe { core::ptr::write_bytes(phys_to_virt(address) as *mut u8, 0, PAGE_SIZE as usize) };
    Ok(address)
}

/// The bytes of a frame through the direct map.
fn frame_bytes(physical: u64) -> &'static mut [u8] {
    // SAFETY: user frames are RAM owned by one address space and reached only through its
    // lock; the direct map covers all RAM.
    unsafe {
        core::slice::from_raw_parts_mut(phys_to_virt(physical) as *mut u8, PAGE_SIZE as usize)
    }
}

/// Parent-table flags: rights are decided by the leaf entries alone.
const TABLE_FLAGS: Flags = Flags::PRESENT
    .union(Flags::WRITABLE)
    .union(Flags::USER_ACCESSIBLE);

/// One process's page tables.
pub struct AddressSpace {
    root: u64,
    pages: usize,
}

impl AddressSpace {
    /// An empty user half over the shared kernel half.
    pub fn new() -> Result<Self, MemoryError> {
        let root = allocate_zeroed_frame()?;
        let kernel = frame_bytes(paging::kernel_pml4());
        let own = frame_bytes(root);
        own[2048..].copy_from_slice(&kernel[2048..]);
        Ok(Self { root, pages: 0 })
    }

    /// Physical address of the PML4 (what CR3 gets).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// User pages mapped.
    pub fn page_count(&self) -> usize {
        self.pages
    }

    fn table(&mut self) -> OffsetPageTable<'_> {
        // SAFETY: `root` is this address space's PML4, reached through the direct map, and
        // `&mut self` keeps anyone else from editing it meanwhile.
        unsafe {
            let pml4 = &mut *(phys_to_virt(self.root) as *mut PageTable);
            OffsetPageTable::new(pml4, VirtAddr::new(DIRECT_MAP_BASE))
        }
    }

    fn check(virt: u64) -> Result<Page<Size4KiB>, MemoryError> {
        if !virt.is_multiple_of(PAGE_SIZE) || virt >= crate::arch::user::USER_END {
            return Err(MemoryError::InvalidRequest);
        }
        Ok(Page::containing_address(VirtAddr::new(virt)))
    }

    /// Maps a fresh zeroed page at `virt`; returns its physical address.
    pub fn map_zeroed(&mut self, virt: u64, access: Access) -> Result<u64, MemoryError> {
        let physical = allocate_zeroed_frame()?;
        if let Err(error) = self.map_frame(virt, physical, access) {
            frames::free(physical, 1);
            return Err(error);
        }
        Ok(physical)
    }

    /// Maps the frame `physical` (which the address space now owns) at `virt`.
    fn map_frame(&mut self, virt: u64, physical: u64, access: Access) -> Result<(), MemoryError> {
        self.map_frame_with(virt, physical, access.flags())
    }

    /// [`Self::map_frame`] with the leaf entry's flags as given.
    fn map_frame_with(
        &mut self,
        virt: u64,
        physical: u64,
        flags: Flags,
    ) -> Result<(), MemoryError> {
        let page = Self::check(virt)?;
        let frame = PhysFrame::containing_address(PhysAddr::new(physical));
        let mut table = self.table();
        // SAFETY: a user page of this address space onto a frame it owns.
        let result = unsafe {
            table.map_to_with_table_flags(page, frame, flags, TABLE_FLAGS, &mut UserTableFrames)
        };
        match result {
            Ok(flush) => {
                flush.flush();
                self.pages += 1;
                Ok(())
            }
            Err(x86_64::structures::paging::mapper::MapToError::FrameAllocationFailed) => {
                Err(MemoryError::OutOfMemory)
            }
            Err(_) => Err(MemoryError::MappingFailed),
        }
    }

    /// Unmaps and frees the page at `virt`; false if nothing was mapped there.
    pub fn unmap(&mut self, virt: u64) -> bool {
        let Ok(page) = Self::check(virt) else {
            return false;
        };
        let mut table = self.table();
        match table.unmap(page) {
            Ok((frame, flush)) => {
                flush.flush();
                release_frame(frame.start_address().as_u64());
                self.pages -= 1;
                true
            }
            Err(_) => false,
        }
    }

    /// Moves the page at `from` (if any) to `to`, which must be unmapped (mremap).
    pub fn move_page(&mut self, from: u64, to: u64) {
        let (Ok(from_page), Ok(_)) = (Self::check(from), Self::check(to)) else {
            return;
        };
        let Some((_, flags)) = self.entry(from) else {
            return;
        };
        let mut table = self.table();
        if let Ok((frame, flush)) = table.unmap(from_page) {
            flush.flush();
            self.pages -= 1;
            let physical = frame.start_address().as_u64();
            if self.map_frame_with(to, physical, flags).is_err() {
                release_frame(physical);
            }
        }
    }

    /// Changes the rights of the page at `virt`; false if nothing was mapped there.
    pub fn protect(&mut self, virt: u64, access: Access) -> bool {
        let Ok(page) = Self::check(virt) else {
            return false;
        };
        let Some((physical, old)) = self.entry(virt) else {
            return false;
        };
        let mut flags = access.flags();
        // A shared frame stays write-protected; one already marked keeps its mark.
        if access.write && (old.contains(COPY_ON_WRITE) || is_shared(physical)) {
            flags = (flags - Flags::WRITABLE) | COPY_ON_WRITE;
        }
        let mut table = self.table();
        // SAFETY: only the leaf rights of a user page of this address space change.
        match unsafe { table.update_flags(page, flags) } {
            Ok(flush) => {
                flush.flush();
                true
            }
            Err(_) => false,
        }
    }

    /// The frame and rights of the page at `virt` (a copy-on-write page counts as writable).
    pub fn translate(&mut self, virt: u64) -> Option<(u64, Access)> {
        self.entry(virt)
            .map(|(physical, flags)| (physical, Access::from_flags(flags)))
    }

    /// The frame and leaf flags of the page at `virt`.
    fn entry(&mut self, virt: u64) -> Option<(u64, Flags)> {
        if virt >= crate::arch::user::USER_END {
            return None;
        }
        let table = self.table();
        match table.translate(VirtAddr::new(virt & !(PAGE_SIZE - 1))) {
            TranslateResult::Mapped {
                frame: MappedFrame::Size4KiB(frame),
                flags,
                ..
            } => Some((frame.start_address().as_u64(), flags)),
            _ => None,
        }
    }

    /// Makes the copy-on-write page holding `virt` writable: copies a frame another address
    /// space still shares, or sets the write bit on one this address space alone owns. False
    /// if the page is not a copy-on-write page.
    pub fn break_copy_on_write(&mut self, virt: u64) -> Result<bool, MemoryError> {
        let virt = virt & !(PAGE_SIZE - 1);
        let page = Self::check(virt)?;
        let Some((physical, flags)) = self.entry(virt) else {
            return Ok(false);
        };
        if !flags.contains(COPY_ON_WRITE) {
            return Ok(false);
        }
        let writable = (flags - COPY_ON_WRITE) | Flags::WRITABLE;
        if !is_shared(physical) {
            let mut table = self.table();
            // SAFETY: the page's own frame, which no other address space maps any more.
            let flush = unsafe { table.update_flags(page, writable) }
                .map_err(|_| MemoryError::MappingFailed)?;
            flush.flush();
            return Ok(true);
        }
        // Every owner maps the frame read-only, so its bytes cannot change while copied.
        let copy = frames::allocate(1, 1, u64::MAX)?;
        frame_bytes(copy).copy_from_slice(frame_bytes(physical));
        let mut table = self.table();
        let Ok((_, flush)) = table.unmap(page) else {
            frames::free(copy, 1);
            return Err(MemoryError::MappingFailed);
        };
        flush.flush();
        self.pages -= 1;
        if let Err(error) = self.map_frame_with(virt, copy, writable) {
            frames::free(copy, 1);
            release_frame(physical);
            return Err(error);
        }
        release_frame(physical);
        Ok(true)
    }

    /// Writes `data` at user address `virt` through the direct map, whatever the pages'
    /// rights (the loader fills read-only text this way). Every page must be mapped; a
    /// copy-on-write page is copied first.
    pub fn write(&mut self, mut virt: u64, mut data: &[u8]) -> Result<(), MemoryError> {
        while !data.is_empty() {
            self.break_copy_on_write(virt)?;
            let (physical, _) = self.translate(virt).ok_or(MemoryError::InvalidRequest)?;
            let offset = (virt % PAGE_SIZE) as usize;
            let count = data.len().min(PAGE_SIZE as usize - offset);
            frame_bytes(physical)[offset..offset + count].copy_from_slice(&data[..count]);
            data = &data[count..];
            virt += count as u64;
        }
        Ok(())
    }

    /// Reads user memory at `virt` through the direct map. Every page must be mapped.
    pub fn read(&mut self, mut virt: u64, mut buffer: &mut [u8]) -> Result<(), MemoryError> {
        while !buffer.is_empty() {
            let (physical, _) = self.translate(virt).ok_or(MemoryError::InvalidRequest)?;
            let offset = (virt % PAGE_SIZE) as usize;
            let count = buffer.len().min(PAGE_SIZE as usize - offset);
            buffer[..count].copy_from_slice(&frame_bytes(physical)[offset..offset + count]);
            buffer = &mut buffer[count..];
            virt += count as u64;
        }
        Ok(())
    }

    /// The mapped pages in `[start, end)`, lowest first. Walks only the tables that exist, so
    /// a huge, mostly empty range costs what is mapped, not its size.
    pub fn mapped_pages_in(&self, start: u64, end: u64) -> alloc::vec::Vec<u64> {
        let mut pages = alloc::vec::Vec::new();
        let end = end.min(crate::arch::user::USER_END);
        if start >= end {
            return pages;
        }
        let span = |level: u32| 1u64 << (12 + 9 * level);
        let pml4 = table_at(self.root);
        let mut address = start & !(PAGE_SIZE - 1);
        while address < end {
            let e4 = &pml4[((address >> 39) & 511) as usize];
            if !e4.flags().contains(Flags::PRESENT) {
                address = (address | (span(3) - 1)) + 1;
                continue;
            }
            let e3 = &table_at(e4.addr().as_u64())[((address >> 30) & 511) as usize];
            if !e3.flags().contains(Flags::PRESENT) {
                address = (address | (span(2) - 1)) + 1;
                continue;
            }
            let e2 = &table_at(e3.addr().as_u64())[((address >> 21) & 511) as usize];
            if !e2.flags().contains(Flags::PRESENT) {
                address = (address | (span(1) - 1)) + 1;
                continue;
            }
            let e1 = &table_at(e2.addr().as_u64())[((address >> 12) & 511) as usize];
            if e1.flags().contains(Flags::PRESENT) {
                pages.push(address);
            }
            address += PAGE_SIZE;
        }
        pages
    }

    /// Calls `f(virtual, physical, flags)` for every mapped user page, lowest first.
    fn for_each_page(&mut self, mut f: impl FnMut(u64, u64, Flags)) {
        for_each_entry(self.root, |virt, entry| {
            f(virt, entry.addr().as_u64(), entry.flags())
        });
    }

    /// A copy of this address space for fork: every page shared copy-on-write. This address
    /// space's writable pages lose their write bit too, so it must be the one loaded on this
    /// CPU or none (its entries are flushed from this CPU's TLB only). Takes frames only for the
    /// child's page tables, and no heap memory.
    pub fn duplicate(&mut self) -> Result<AddressSpace, MemoryError> {
        let counts = SHARE_COUNTS.get().ok_or(MemoryError::OutOfMemory)?;
        let mut copy = AddressSpace::new()?;
        let mut failure = None;
        let root = self.root;
        for_each_entry(root, |virt, entry| {
            if failure.is_some() {
                return;
            }
            let (physical, flags) = (entry.addr().as_u64(), entry.flags());
            let shared = if flags.intersects(Flags::WRITABLE | COPY_ON_WRITE) {
                (flags - Flags::WRITABLE) | COPY_ON_WRITE
            } else {
                flags
            };
            // The child's entry first: if it cannot be made, this page stays as it was.
            if let Err(error) = copy.map_frame_with(virt, physical, shared) {
                failure = Some(error);
                return;
            }
            counts[frame_index(physical)].fetch_add(1, Ordering::AcqRel);
            if shared != flags {
                entry.set_flags(shared);
                x86_64::instructions::tlb::flush(VirtAddr::new(virt));
            }
        });
        match failure {
            None => Ok(copy),
            Some(error) => Err(error),
        }
    }
}

fn table_at(physical: u64) -> &'static PageTable {
    // SAFETY: a page-table frame of a live address space, read through the direct map.
    unsafe { &*(phys_to_virt(physical) as *const PageTable) }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // Every user page (the last owner's), the lower half's tables and the root (the upper
        // half is the kernel's), returned in batches: no heap, so an address space can be freed
        // when memory ran out.
        let mut released = frames::FreeBatch::new();
        self.for_each_page(|_, physical, _| {
            if release_owner(physical) {
                released.push(physical);
            }
        });
        let pml4 = table_at(self.root);
        for e4 in pml4.iter().take(256) {
            if !e4.flags().contains(Flags::PRESENT) {
                continue;
            }
            let pdpt = table_at(e4.addr().as_u64());
            for e3 in pdpt.iter() {
                if !e3.flags().contains(Flags::PRESENT) {
                    continue;
                }
                let pd = table_at(e3.addr().as_u64());
                for e2 in pd.iter() {
                    if e2.flags().contains(Flags::PRESENT) {
                        released.push(e2.addr().as_u64());
                    }
                }
                released.push(e3.addr().as_u64());
            }
            released.push(e4.addr().as_u64());
        }
        released.push(self.root);
    }
}
