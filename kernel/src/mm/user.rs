//! User address spaces: one PML4 per process. Its lower half maps that process's own pages;
//! its upper half points at the kernel's tables, which every address space shares (the kernel's
//! top-level entries are all created at boot and never change).
//!
//! A user page is owned by one address space, except pages nobody may write (program text,
//! read-only data): fork shares those and counts their extra owners (`SHARES`); a page is freed
//! when its last owner lets go, and made private again (copied) before anyone may write it.
//! Everything else fork copies. Dropping an address space frees its tables and the pages it
//! alone owned. A CPU has an address space's user entries in its
//! TLB only while it runs a thread of that address space (kernel threads run on the kernel's
//! root), so changes flush the local TLB only.

use x86_64::structures::paging::mapper::{MappedFrame, TranslateResult};
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use core::sync::atomic::{AtomicU8, Ordering};

use super::{frames, paging, phys_to_virt, MemoryError, DIRECT_MAP_BASE};

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
            write: flags.contains(Flags::WRITABLE),
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

/// Extra owners of each frame (index: physical address / 4 KiB), 0 for a frame with one owner.
/// Made at the first fork that shares a page; `None` when there was no memory for it (fork
/// then copies every page).
static SHARES: spin::Once<Option<alloc::boxed::Box<[AtomicU8]>>> = spin::Once::new();

/// The counter of `physical`, once the table exists.
fn share_counter(physical: u64) -> Option<&'static AtomicU8> {
    SHARES
        .get()?
        .as_deref()?
        .get((physical / PAGE_SIZE) as usize)
}

/// Adds an owner to the frame `physical`; false when it cannot be shared (no table, or 255
/// extra owners already).
fn share(physical: u64) -> bool {
    let table = SHARES.call_once(|| {
        let count = frames::statistics().1 as usize;
        let mut table = alloc::vec::Vec::new();
        table.try_reserve_exact(count).ok()?;
        table.resize_with(count, || AtomicU8::new(0));
        Some(table.into_boxed_slice())
    });
    let Some(counter) = table
        .as_deref()
        .and_then(|t| t.get((physical / PAGE_SIZE) as usize))
    else {
        return false;
    };
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_add(1))
        .is_ok()
}

/// Whether another address space also owns the frame `physical`.
fn is_shared(physical: u64) -> bool {
    share_counter(physical).is_some_and(|c| c.load(Ordering::Acquire) > 0)
}

/// Gives up one ownership of the frame `physical`; true when the caller was its last owner
/// and must free it.
fn last_owner(physical: u64) -> bool {
    share_counter(physical).is_none_or(|counter| {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1))
            .is_err()
    })
}

/// Gives up one ownership of the frame `physical`, freeing it if it was the last.
fn release(physical: u64) {
    if last_owner(physical) {
        frames::free(physical, 1);
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
        let page = Self::check(virt)?;
        let frame = PhysFrame::containing_address(PhysAddr::new(physical));
        let mut table = self.table();
        // SAFETY: a user page of this address space onto a frame it owns.
        let result = unsafe {
            table.map_to_with_table_flags(
                page,
                frame,
                access.flags(),
                TABLE_FLAGS,
                &mut UserTableFrames,
            )
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
                release(frame.start_address().as_u64());
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
        let Some((_, access)) = self.translate(from) else {
            return;
        };
        let mut table = self.table();
        if let Ok((frame, flush)) = table.unmap(from_page) {
            flush.flush();
            self.pages -= 1;
            let physical = frame.start_address().as_u64();
            if self.map_frame(to, physical, access).is_err() {
                release(physical);
            }
        }
    }

    /// Changes the rights of the page at `virt`; false if nothing was mapped there, or if a
    /// shared page that would become writable could not be copied (no memory).
    pub fn protect(&mut self, virt: u64, access: Access) -> bool {
        let Ok(page) = Self::check(virt) else {
            return false;
        };
        if access.write && self.make_private(virt).is_err() {
            return false;
        }
        let mut table = self.table();
        // SAFETY: only the leaf rights of a user page of this address space change.
        match unsafe { table.update_flags(page, access.flags()) } {
            Ok(flush) => {
                flush.flush();
                true
            }
            Err(_) => false,
        }
    }

    /// The frame and rights of the page at `virt`.
    pub fn translate(&mut self, virt: u64) -> Option<(u64, Access)> {
        if virt >= crate::arch::user::USER_END {
            return None;
        }
        let table = self.table();
        match table.translate(VirtAddr::new(virt & !(PAGE_SIZE - 1))) {
            TranslateResult::Mapped {
                frame: MappedFrame::Size4KiB(frame),
                flags,
                ..
            } => Some((frame.start_address().as_u64(), Access::from_flags(flags))),
            _ => None,
        }
    }

    /// Gives the page at `virt` a frame of its own if it shares one with other address spaces
    /// (before it may be written).
    fn make_private(&mut self, virt: u64) -> Result<(), MemoryError> {
        let virt = virt & !(PAGE_SIZE - 1);
        let Some((physical, _)) = self.translate(virt) else {
            return Ok(());
        };
        if !is_shared(physical) {
            return Ok(());
        }
        let fresh = frames::allocate(1, 1, u64::MAX)?;
        frame_bytes(fresh).copy_from_slice(frame_bytes(physical));
        let Some(entry) = self.leaf_entry(virt) else {
            frames::free(fresh, 1);
            return Err(MemoryError::MappingFailed);
        };
        let flags = entry.flags();
        entry.set_addr(PhysAddr::new(fresh), flags);
        // Only this CPU can hold the old translation (see the module's comment).
        x86_64::instructions::tlb::flush(VirtAddr::new(virt));
        release(physical);
        Ok(())
    }

    /// The present leaf entry mapping `virt`, if any.
    fn leaf_entry(
        &mut self,
        virt: u64,
    ) -> Option<&mut x86_64::structures::paging::page_table::PageTableEntry> {
        if virt >= crate::arch::user::USER_END {
            return None;
        }
        let mut table = self.root;
        for level in [3u32, 2, 1] {
            let entry = &table_at(table)[((virt >> (12 + 9 * level)) & 511) as usize];
            if !entry.flags().contains(Flags::PRESENT) || entry.flags().contains(Flags::HUGE_PAGE) {
                return None;
            }
            table = entry.addr().as_u64();
        }
        // SAFETY: a page table of this address space, reached through the direct map; `&mut
        // self` keeps anyone else from editing it meanwhile.
        let leaf = unsafe { &mut *(phys_to_virt(table) as *mut PageTable) };
        let entry = &mut leaf[((virt >> 12) & 511) as usize];
        entry.flags().contains(Flags::PRESENT).then_some(entry)
    }

    /// Writes `data` at user address `virt` through the direct map, whatever the pages'
    /// rights (the loader fills read-only text this way). Every page must be mapped.
    pub fn write(&mut self, mut virt: u64, mut data: &[u8]) -> Result<(), MemoryError> {
        while !data.is_empty() {
            self.make_private(virt)?;
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

    /// Calls `f(virtual, physical, access)` for every mapped user page, lowest first.
    fn for_each_page(&self, mut f: impl FnMut(u64, u64, Access)) {
        let pml4 = table_at(self.root);
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
                    let pt = table_at(e2.addr().as_u64());
                    for (i1, e1) in pt.iter().enumerate() {
                        if e1.flags().contains(Flags::PRESENT) {
                            let virt = ((i4 as u64) << 39)
                                | ((i3 as u64) << 30)
                                | ((i2 as u64) << 21)
                                | ((i1 as u64) << 12);
                            f(virt, e1.addr().as_u64(), Access::from_flags(e1.flags()));
                        }
                    }
                }
            }
        }
    }

    /// A copy of this address space (fork): pages nobody may write are shared, the others
    /// copied into frames taken from the allocator in batches (one lock per batch, not per
    /// page), without heap memory.
    pub fn duplicate(&self) -> Result<AddressSpace, MemoryError> {
        const BATCH: usize = 64;
        let mut copy = AddressSpace::new()?;
        let mut pending = [(0u64, 0u64, Access::default()); BATCH];
        let mut count = 0;
        let mut failure = None;
        let copy_pending = |pending: &[(u64, u64, Access)], copy: &mut AddressSpace| {
            let mut fresh = [0u64; BATCH];
            let fresh = &mut fresh[..pending.len()];
            frames::allocate_each(fresh)?;
            for (index, &(virt, physical, access)) in pending.iter().enumerate() {
                frame_bytes(fresh[index]).copy_from_slice(frame_bytes(physical));
                if let Err(error) = copy.map_frame(virt, fresh[index], access) {
                    // The frames mapped so far go with `copy`; the rest were never mapped.
                    frames::free_each(&fresh[index..]);
                    return Err(error);
                }
            }
            Ok(())
        };
        self.for_each_page(|virt, physical, access| {
            if failure.is_some() {
                return;
            }
            if !access.write && share(physical) {
                if let Err(error) = copy.map_frame(virt, physical, access) {
                    release(physical);
                    failure = Some(error);
                }
                return;
            }
            pending[count] = (virt, physical, access);
            count += 1;
            if count == BATCH {
                failure = copy_pending(&pending, &mut copy).err();
                count = 0;
            }
        });
        if failure.is_none() {
            failure = copy_pending(&pending[..count], &mut copy).err();
        }
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
        // The pages no other address space shares, the lower half's tables and the root (the
        // upper half is the kernel's), returned in batches.
        let mut released = frames::FreeBatch::new();
        self.for_each_page(|_, physical, _| {
            if last_owner(physical) {
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
