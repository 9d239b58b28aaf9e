//! TLB maintenance. `TLBI ...IS` broadcasts to every CPU in the inner-shareable domain, so a
//! shootdown needs no IPIs: the issuing CPU's `DSB ISH` waits until all CPUs have dropped the
//! entries.

/// Nothing to set up (the x86_64 version registers its IPI here).
pub fn init() {}

/// Drops the translations of `pages` pages from `start` on this CPU only.
pub fn flush_local(start: u64, pages: u64) {
    for page in 0..pages {
        let operand = ((start + page * 4096) >> 12) & ((1 << 44) - 1);
        // SAFETY: TLB invalidation by address has no effect beyond dropping cached entries.
        unsafe {
            core::arch::asm!("tlbi vaae1, {}", in(reg) operand, options(nostack, preserves_flags))
        };
    }
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb nsh", "isb", options(nostack, preserves_flags)) };
}

/// Drops the translations of `pages` pages from `start` on every CPU, and returns once they are
/// gone everywhere.
pub fn shootdown(start: u64, pages: u64) {
    // SAFETY: orders the page-table stores before the invalidation.
    unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
    if pages > 64 {
        // SAFETY: invalidating everything only costs refills.
        unsafe { core::arch::asm!("tlbi vmalle1is", options(nostack, preserves_flags)) };
    } else {
        for page in 0..pages {
            let operand = ((start + page * 4096) >> 12) & ((1 << 44) - 1);
            // SAFETY: as in `flush_local`, broadcast to the inner-shareable domain.
            unsafe {
                core::arch::asm!("tlbi vaae1is, {}", in(reg) operand, options(nostack, preserves_flags))
            };
        }
    }
    // SAFETY: barriers only; DSB ISH completes the broadcast invalidation on all CPUs.
    unsafe { core::arch::asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}

/// Makes page-table stores of a new mapping visible to the table walkers of every CPU before
/// the mapping is used (an invalid entry is never cached, so nothing needs invalidating).
pub fn publish_new_mapping() {
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb ishst", "isb", options(nostack, preserves_flags)) };
}
