//! A process's memory: its address space and the areas (`mmap`, `brk`, stack, ELF segments)
//! that say which user addresses are valid with which rights. Pages of anonymous areas are
//! mapped on first touch; faults outside every area, or against an area's rights, become
//! SIGSEGV.

use alloc::collections::BTreeMap;

use crate::arch::user::USER_END;
use crate::mm::user::{Access, AddressSpace, PAGE_SIZE};
use crate::mm::MemoryError;

use super::Errno;

/// Rights of an area (PROT_* in Linux terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Protection {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Protection {
    pub const READ_WRITE: Protection = Protection {
        read: true,
        write: true,
        execute: false,
    };

    pub fn from_prot(prot: u64) -> Self {
        Self {
            read: prot & 1 != 0 || prot & 4 != 0,
            write: prot & 2 != 0,
            execute: prot & 4 != 0,
        }
    }

    fn access(self) -> Access {
        Access {
            read: self.read || self.write || self.execute,
            write: self.write,
            execute: self.execute,
        }
    }
}

/// What backs an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaKind {
    Anonymous,
    Stack,
    Heap,
    /// Loaded from a file at map time (ELF segments, private file mappings).
    File,
}

/// One valid range `[start, end)` of user addresses.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub end: u64,
    pub protection: Protection,
    pub kind: AreaKind,
}

/// Highest address of the initial stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000 - 0x1000;
/// The stack area's size (Linux's default 8 MiB RLIMIT_STACK).
pub const STACK_SIZE: u64 = 8 << 20;
/// `mmap` without a hint places areas below this, top down.
const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (1 << 30);
/// Lowest address `mmap` hands out (NULL-pointer accesses keep faulting).
const MMAP_MINIMUM: u64 = 0x1_0000;
/// Anonymous memory one process may have mapped (pages actually touched count).
pub const PAGE_LIMIT: usize = 1 << 20; // 4 GiB

/// A process's address space and areas.
pub struct Memory {
    space: Option<AddressSpace>,
    areas: BTreeMap<u64, Area>,
    pub heap_start: u64,
    pub heap_end: u64,
}

fn page_down(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}

fn page_up(address: u64) -> Option<u64> {
    address.checked_add(PAGE_SIZE - 1).map(page_down)
}

impl Memory {
    /// No address space at all (a process before exec, or after exit).
    pub fn empty() -> Self {
        Self {
            space: None,
            areas: BTreeMap::new(),
            heap_start: 0,
            heap_end: 0,
        }
    }

    /// A fresh, empty address space.
    pub fn new() -> Result<Self, MemoryError> {
        Ok(Self {
            space: Some(AddressSpace::new()?),
            areas: BTreeMap::new(),
            heap_start: 0,
            heap_end: 0,
        })
    }

    /// The page-table root (0 for an empty memory).
    pub fn root(&self) -> u64 {
        self.space.as_ref().map_or(0, |s| s.root())
    }

    /// Resident pages.
    pub fn pages(&self) -> usize {
        self.space.as_ref().map_or(0, |s| s.page_count())
    }

    /// Mapped bytes of all areas (virtual size).
    pub fn virtual_size(&self) -> u64 {
        self.areas.iter().map(|(start, a)| a.end - start).sum()
    }

    pub fn duplicate(&self) -> Result<Self, MemoryError> {
        Ok(Self {
            space: match &self.space {
                Some(space) => Some(space.duplicate()?),
                None => None,
            },
            areas: self.areas.clone(),
            heap_start: self.heap_start,
            heap_end: self.heap_end,
        })
    }

    fn space(&mut self) -> Result<&mut AddressSpace, Errno> {
        self.space.as_mut().ok_or(Errno::EFAULT)
    }

    /// The area containing `address`.
    pub fn area_at(&self, address: u64) -> Option<(u64, Area)> {
        let (&start, area) = self.areas.range(..=address).next_back()?;
        (address < area.end).then_some((start, *area))
    }

    fn is_free(&self, start: u64, end: u64) -> bool {
        if let Some((_, area)) = self.areas.range(..end).next_back() {
            if area.end > start {
                return false;
            }
        }
        true
    }

    /// A free range of `length` bytes, highest first below `MMAP_TOP`.
    fn find_free(&self, length: u64) -> Option<u64> {
        let mut candidate_end = MMAP_TOP;
        for (&start, area) in self.areas.range(..MMAP_TOP).rev() {
            if area.end <= candidate_end.checked_sub(length)? {
                break;
            }
            candidate_end = candidate_end.min(start);
        }
        let start = candidate_end.checked_sub(length)?;
        (start >= MMAP_MINIMUM && self.is_free(start, candidate_end)).then_some(start)
    }

    /// Removes `[start, end)` from the areas (splitting them) and unmaps its pages.
    pub fn unmap(&mut self, start: u64, end: u64) {
        let overlapping: alloc::vec::Vec<(u64, Area)> = self
            .areas
            .range(..end)
            .filter(|(_, a)| a.end > start)
            .map(|(&s, a)| (s, *a))
            .collect();
        for (area_start, area) in overlapping {
            self.areas.remove(&area_start);
            if area_start < start {
                self.areas.insert(area_start, Area { end: start, ..area });
            }
            if area.end > end {
                self.areas.insert(end, area);
            }
        }
        if let Some(space) = self.space.as_mut() {
            for page in space.mapped_pages_in(start, end) {
                space.unmap(page);
            }
        }
    }

    /// Frees the pages of `[start, end)` but keeps the areas (MADV_DONTNEED): anonymous pages
    /// come back zeroed on the next touch.
    pub fn discard_pages(&mut self, start: u64, end: u64) {
        let anonymous: alloc::vec::Vec<(u64, u64)> = self
            .areas
            .range(..end)
            .filter(|(_, a)| a.end > start && a.kind != AreaKind::File)
            .map(|(&s, a)| (s.max(start), a.end.min(end)))
            .collect();
        if let Some(space) = self.space.as_mut() {
            for (from, to) in anonymous {
                for page in space.mapped_pages_in(from, to) {
                    space.unmap(page);
                }
            }
        }
    }

    /// Adds an area (replacing whatever was mapped there).
    pub fn add_area(&mut self, start: u64, end: u64, protection: Protection, kind: AreaKind) {
        self.unmap(start, end);
        self.areas.insert(
            start,
            Area {
                end,
                protection,
                kind,
            },
        );
    }

    /// `mmap` of anonymous memory (file data, if any, is written by the caller afterwards).
    pub fn map_anonymous(
        &mut self,
        hint: u64,
        length: u64,
        protection: Protection,
        fixed: bool,
        no_replace: bool,
        kind: AreaKind,
    ) -> Result<u64, Errno> {
        let length = page_up(length).ok_or(Errno::ENOMEM)?;
        if length == 0 {
            return Err(Errno::EINVAL);
        }
        // Heuristic overcommit, as Linux's default: a writable mapping larger than all of RAM
        // can never be backed.
        if protection.write && length > crate::mm::frames::statistics().1 * PAGE_SIZE {
            return Err(Errno::ENOMEM);
        }
        let start = if fixed {
            if !hint.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            let end = hint.checked_add(length).ok_or(Errno::ENOMEM)?;
            if end > USER_END || hint < MMAP_MINIMUM {
                return Err(Errno::ENOMEM);
            }
            if no_replace && !self.is_free(hint, end) {
                return Err(Errno::EEXIST);
            }
            hint
        } else {
            let hinted = page_down(hint);
            match hinted.checked_add(length) {
                Some(end)
                    if hinted >= MMAP_MINIMUM && end <= MMAP_TOP && self.is_free(hinted, end) =>
                {
                    hinted
                }
                _ => self.find_free(length).ok_or(Errno::ENOMEM)?,
            }
        };
        self.add_area(start, start + length, protection, kind);
        Ok(start)
    }

    /// Maps every page of `[start, end)` now (for data written at load time).
    pub fn populate(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        let mut page = page_down(start);
        while page < end {
            self.fault_in(page, false)?;
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// Writes bytes into this memory whatever the page rights (loading, fork bookkeeping).
    pub fn write(&mut self, address: u64, data: &[u8]) -> Result<(), Errno> {
        let end = address
            .checked_add(data.len() as u64)
            .ok_or(Errno::EFAULT)?;
        self.populate(address, end)?;
        self.space()?
            .write(address, data)
            .map_err(|_| Errno::EFAULT)
    }

    /// `mprotect`.
    pub fn protect(
        &mut self,
        start: u64,
        length: u64,
        protection: Protection,
    ) -> Result<(), Errno> {
        if !start.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = page_up(start.checked_add(length).ok_or(Errno::ENOMEM)?).ok_or(Errno::ENOMEM)?;
        // Every page must belong to some area.
        let mut cursor = start;
        while cursor < end {
            let (_, area) = self.area_at(cursor).ok_or(Errno::ENOMEM)?;
            cursor = area.end;
        }
        let pieces: alloc::vec::Vec<(u64, Area)> = self
            .areas
            .range(..end)
            .filter(|(_, a)| a.end > start)
            .map(|(&s, a)| (s, *a))
            .collect();
        for (area_start, area) in pieces {
            self.areas.remove(&area_start);
            if area_start < start {
                self.areas.insert(area_start, Area { end: start, ..area });
            }
            let middle_start = area_start.max(start);
            let middle_end = area.end.min(end);
            self.areas.insert(
                middle_start,
                Area {
                    end: middle_end,
                    protection,
                    ..area
                },
            );
            if area.end > end {
                self.areas.insert(end, area);
            }
        }
        let access = protection.access();
        let space = self.space()?;
        let mut complete = true;
        for page in space.mapped_pages_in(start, end) {
            // Fails only when a page shared after fork cannot get a copy of its own.
            complete &= space.protect(page, access);
        }
        if complete {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// `brk`: moves the end of the heap; returns the (possibly unchanged) end.
    pub fn set_break(&mut self, requested: u64) -> u64 {
        if requested < self.heap_start || requested > MMAP_MINIMUM.max(self.heap_start) + (1 << 40)
        {
            return self.heap_end;
        }
        let old_top = page_up(self.heap_end).unwrap_or(self.heap_end);
        let Some(new_top) = page_up(requested) else {
            return self.heap_end;
        };
        if new_top > old_top {
            if !self.is_free(old_top, new_top) {
                return self.heap_end;
            }
            // Extend the heap area (or create it).
            match self
                .area_at(self.heap_start)
                .filter(|(_, a)| a.kind == AreaKind::Heap)
            {
                Some((start, _)) => {
                    self.areas.insert(
                        start,
                        Area {
                            end: new_top,
                            protection: Protection::READ_WRITE,
                            kind: AreaKind::Heap,
                        },
                    );
                }
                None => {
                    self.areas.insert(
                        old_top,
                        Area {
                            end: new_top,
                            protection: Protection::READ_WRITE,
                            kind: AreaKind::Heap,
                        },
                    );
                }
            }
        } else if new_top < old_top {
            self.unmap(new_top, old_top);
        }
        self.heap_end = requested;
        self.heap_end
    }

    /// `mremap`: grows or shrinks the area at `old`, moving it if allowed.
    pub fn remap(
        &mut self,
        old: u64,
        old_length: u64,
        new_length: u64,
        may_move: bool,
    ) -> Result<u64, Errno> {
        if !old.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_length = page_up(old_length).ok_or(Errno::EINVAL)?;
        let new_length = page_up(new_length)
            .filter(|&l| l > 0)
            .ok_or(Errno::EINVAL)?;
        let (area_start, area) = self.area_at(old).ok_or(Errno::EFAULT)?;
        let _ = area_start;
        if old + old_length > area.end {
            return Err(Errno::EFAULT);
        }
        if new_length <= old_length {
            self.unmap(old + new_length, old + old_length);
            return Ok(old);
        }
        let old_end = old + old_length;
        let new_end = old.checked_add(new_length).ok_or(Errno::ENOMEM)?;
        if old_end == area.end && new_end <= MMAP_TOP && self.is_free(old_end, new_end) {
            self.areas.insert(
                area_start,
                Area {
                    end: new_end,
                    ..area
                },
            );
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let target = self.find_free(new_length).ok_or(Errno::ENOMEM)?;
        self.areas.insert(
            target,
            Area {
                end: target + new_length,
                ..area
            },
        );
        let space = self.space()?;
        for page in space.mapped_pages_in(old, old + old_length) {
            space.move_page(page, target + (page - old));
        }
        self.unmap(old, old_end);
        Ok(target)
    }

    /// Resolves a fault at `address`: maps a zeroed page if an area allows the access.
    /// `write` says whether the access was a write.
    pub fn fault_in(&mut self, address: u64, write: bool) -> Result<(), Errno> {
        let (_, area) = self.area_at(address).ok_or(Errno::EFAULT)?;
        if write && !area.protection.write {
            return Err(Errno::EACCES);
        }
        let page = page_down(address);
        let access = area.protection.access();
        let space = self.space()?;
        if space.translate(page).is_some() {
            return Ok(());
        }
        if space.page_count() >= PAGE_LIMIT {
            return Err(Errno::ENOMEM);
        }
        space.map_zeroed(page, access).map_err(|_| Errno::ENOMEM)?;
        Ok(())
    }

    /// Whether the page holding `address` is mapped.
    pub fn is_mapped(&mut self, address: u64) -> bool {
        self.space
            .as_mut()
            .is_some_and(|s| s.translate(page_down(address)).is_some())
    }

    /// The areas, for /proc and reports.
    pub fn areas(&self) -> impl Iterator<Item = (u64, &Area)> {
        self.areas.iter().map(|(&s, a)| (s, a))
    }
}

/// What a user page fault did, for the signal code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// No area there (SEGV_MAPERR).
    Unmapped,
    /// An area without the needed right (SEGV_ACCERR).
    Protection,
    /// The process may not have more memory.
    OutOfMemory,
}

/// The arch hook for page faults on user addresses (interrupts off: no blocking).
pub fn user_page_fault(address: u64, error_code: u64) -> bool {
    let Some(process) = super::current() else {
        return false;
    };
    let present = error_code & 1 != 0;
    let write = error_code & 2 != 0;
    if present {
        // A rights violation on a mapped page: a real fault, not a lazy page.
        return false;
    }
    // Never held while user memory is touched (system calls copy without it), so this cannot
    // be the same CPU's own lock.
    let memory = process.memory();
    let mut memory = memory.lock();
    memory.fault_in(address, write).is_ok()
}

/// Classifies an unresolved fault at `address` (page-fault `error_code`) for SIGSEGV's si_code.
pub fn classify_fault(address: u64, error_code: u64) -> FaultKind {
    let Some(process) = super::current() else {
        return FaultKind::Unmapped;
    };
    let memory = process.memory();
    let mut memory = memory.lock();
    let write = error_code & 2 != 0;
    let fetch = error_code & 16 != 0;
    match memory.area_at(address) {
        None => FaultKind::Unmapped,
        Some((_, area)) => {
            let allowed = if write {
                area.protection.write
            } else if fetch {
                area.protection.execute
            } else {
                area.protection.read || area.protection.write || area.protection.execute
            };
            // An allowed access to a page still missing: no frame could be found for it.
            if allowed && (memory.pages() >= PAGE_LIMIT || !memory.is_mapped(address)) {
                FaultKind::OutOfMemory
            } else {
                FaultKind::Protection
            }
        }
    }
}
