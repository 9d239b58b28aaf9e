//! The generic timer's EL1 virtual timer (CNTV_*): one-shot deadlines in counter ticks, the
//! scheduler tick on every CPU. Its interrupt is a private peripheral interrupt (27 on QEMU's
//! virt; the device tree names it).

use core::arch::asm;

/// Arms the timer to fire `ticks` counter ticks from now, unmasked.
pub fn set_countdown(ticks: u64) {
    let ticks = ticks.min(i32::MAX as u64);
    // SAFETY: programs this CPU's virtual timer; ENABLE=1, IMASK=0.
    unsafe {
        asm!(
            "msr cntv_tval_el0, {t}",
            "msr cntv_ctl_el0, {ctl}",
            "isb",
            t = in(reg) ticks,
            ctl = in(reg) 1u64,
            options(nostack, preserves_flags)
        )
    };
}

/// Stops the timer on this CPU.
pub fn stop() {
    // SAFETY: disables this CPU's virtual timer.
    unsafe {
        asm!(
            "msr cntv_ctl_el0, xzr",
            "isb",
            options(nostack, preserves_flags)
        )
    };
}
