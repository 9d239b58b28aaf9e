//! Kernel stacks in their own window, each with an unmapped guard page below it, and a registry
//! of guard pages so that a fault on one is reported as a stack overflow of a named stack.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::paging::Flags;

use super::frame::FRAME_SIZE;
use super::{frames, paging, MemoryError, STACK_BASE, STACK_WINDOW_SIZE};
use crate::sync::spin::IrqSpinLock;

const NAME_LENGTH: usize = 32;

#[derive(Clone, Copy)]
struct Guard {
    page: u64,
    name: [u8; NAME_LENGTH],
    name_length: usize,
    owner: usize,
}

static GUARDS: IrqSpinLock<Vec<Guard>> = IrqSpinLock::new("stack-guards", Vec::new());
/// Freed windows by size in pages, for reuse (stacks are created and destroyed constantly).
static FREE_WINDOWS: IrqSpinLock<Vec<(u64, usize)>> = IrqSpinLock::new("stack-windows", Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(STACK_BASE);
/// Freed stacks kept mapped, as (guard page, pages), for the next stack of the same size. Every
/// process is a thread, so fork and exit create and free stacks constantly; reusing a mapped
/// one saves the frames, the mapping and above all the TLB shootdown that unmapping costs (an
/// interrupt that every other CPU must answer before the freeing CPU goes on).
static CACHED: IrqSpinLock<Vec<(u64, usize)>> = IrqSpinLock::new("stack-cache", Vec::new());
/// Stacks kept in `CACHED` at most (32 thread stacks of 16 pages: 2 MiB).
const CACHE_LIMIT: usize = 32;

/// Pages held by freed stacks kept for reuse (counted as in use by the frame allocator).
pub fn cached_pages() -> usize {
    CACHED.lock().iter().map(|&(_, pages)| pages).sum()
}

/// A kernel stack: `pages` mapped pages above one unmapped guard page.
#[derive(Debug)]
pub struct KernelStack {
    guard: u64,
    pages: usize,
}

fn copy_name(name: &str) -> ([u8; NAME_LENGTH], usize) {
    let mut buffer = [0u8; NAME_LENGTH];
    let mut length = name.len().min(NAME_LENGTH);
    while !name.is_char_boundary(length) {
        length -= 1;
    }
    buffer[..length].copy_from_slice(&name.as_bytes()[..length]);
    (buffer, length)
}

/// Registers a guard page that the kernel did not create through [`KernelStack`] (the boot stack).
pub fn register_guard(page: u64, name: &str, owner: usize) {
    let (name, name_length) = copy_name(name);
    GUARDS.lock().push(Guard {
        page,
        name,
        name_length,
        owner,
    });
}

/// If `address` lies in a registered guard page, calls `f` with the stack's name and owner CPU.
/// Uses `try_lock`, so it is safe from a fault handler.
pub fn describe_guard_hit(address: u64, f: &mut dyn FnMut(&str, usize)) -> bool {
    let Some(guards) = GUARDS.try_lock() else {
        return false;
    };
    for guard in guards.iter() {
        if (guard.page..guard.page + FRAME_SIZE).contains(&address) {
            f(
                core::str::from_utf8(&guard.name[..guard.name_length]).unwrap_or("?"),
                guard.owner,
            );
            return true;
        }
    }
    false
}

impl KernelStack {
    /// Allocates a stack of `pages` pages named `name` (shown in overflow reports); `owner` is the
    /// CPU it belongs to, or `usize::MAX` for thread stacks.
    pub fn new(pages: usize, name: &str, owner: usize) -> Result<Self, MemoryError> {
        if pages == 0 {
            return Err(MemoryError::InvalidRequest);
        }
        let cached = {
            let mut cached = CACHED.lock();
            cached
                .iter()
                .position(|&(_, p)| p == pages)
                .map(|i| cached.swap_remove(i).0)
        };
        if let Some(guard) = cached {
            let (name, name_length) = copy_name(name);
            if let Some(entry) = GUARDS.lock().iter_mut().find(|g| g.page == guard) {
                entry.name = name;
                entry.name_length = name_length;
                entry.owner = owner;
            }
            return Ok(Self { guard, pages });
        }
        let reused = {
            let mut free = FREE_WINDOWS.lock();
            free.iter()
                .position(|&(_, p)| p == pages)
                .map(|i| free.swap_remove(i).0)
        };
        let guard = match reused {
            Some(guard) => guard,
            None => {
                let size = (pages as u64 + 1) * FRAME_SIZE;
                let guard = NEXT.fetch_add(size, Ordering::Relaxed);
                if guard + size > STACK_BASE + STACK_WINDOW_SIZE {
                    return Err(MemoryError::OutOfVirtualSpace);
                }
                guard
            }
        };
        let stack = Self { guard, pages: 0 };
        let mut stack = stack;
        let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
        let mut fresh = Vec::new();
        fresh
            .try_reserve_exact(pages)
            .map_err(|_| MemoryError::OutOfMemory)?;
        fresh.resize(pages, 0);
        // On failure `stack` (no pages yet) hands its window back as it drops.
        frames::allocate_each(&mut fresh)?;
        for (i, &frame) in fresh.iter().enumerate() {
            if let Err(error) = paging::map_page(guard + (i as u64 + 1) * FRAME_SIZE, frame, flags)
            {
                // The pages mapped so far go with `stack` (its drop unmaps them).
                frames::free_each(&fresh[i..]);
                return Err(error);
            }
            stack.pages += 1;
        }
        let (name, name_length) = copy_name(name);
        GUARDS.lock().push(Guard {
            page: guard,
            name,
            name_length,
            owner,
        });
        Ok(stack)
    }

    /// Highest address (exclusive): the initial stack pointer.
    pub fn top(&self) -> u64 {
        self.guard + (self.pages as u64 + 1) * FRAME_SIZE
    }

    /// Lowest usable address.
    pub fn bottom(&self) -> u64 {
        self.guard + FRAME_SIZE
    }

    /// Address of the guard page.
    pub fn guard_page(&self) -> u64 {
        self.guard
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        {
            let mut cached = CACHED.lock();
            if self.pages > 0 && cached.len() < CACHE_LIMIT {
                // Still mapped and its guard still registered; `new` renames it.
                cached.push((self.guard, self.pages));
                return;
            }
        }
        let mut released = frames::FreeBatch::new();
        paging::unmap_range(self.guard + FRAME_SIZE, self.pages as u64, |_, frame| {
            released.push(frame)
        });
        GUARDS.lock().retain(|g| g.page != self.guard);
        FREE_WINDOWS.lock().push((self.guard, self.pages));
    }
}
