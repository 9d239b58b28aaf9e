//! Arm semihosting's exit call (`SYS_EXIT_EXTENDED`), the aarch64 stand-in for x86's
//! `isa-debug-exit`: with QEMU's `-semihosting` the guest ends QEMU with an exit status.
//! Without it the `hlt #0xf000` is an undefined instruction, so callers only use it when the
//! command line says semihosting is on.

use core::sync::atomic::{AtomicBool, Ordering};

const SYS_EXIT_EXTENDED: u64 = 0x20;
/// ADP_Stopped_ApplicationExit: a normal exit whose subcode is the status.
const APPLICATION_EXIT: u64 = 0x2_0026;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Records that the host offers semihosting.
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

/// Ends QEMU with exit status `status`; returns when semihosting is off.
pub fn exit(status: u32) {
    if !ENABLED.load(Ordering::Acquire) {
        return;
    }
    let block = [APPLICATION_EXIT, u64::from(status)];
    // SAFETY: the semihosting trap reads the two-word parameter block and ends the machine.
    unsafe {
        core::arch::asm!("hlt #0xf000", in("x0") SYS_EXIT_EXTENDED, in("x1") block.as_ptr(), options(nostack))
    };
}
