//! PSCI (Arm DEN 0022): starting CPUs and powering the machine off through the firmware, which
//! under QEMU's `-kernel` is QEMU itself, reached by `hvc` (or `smc`, as the device tree says).

use core::sync::atomic::{AtomicBool, Ordering};

const CPU_ON_64: u64 = 0xc400_0003;
const SYSTEM_OFF: u64 = 0x8400_0008;
const SYSTEM_RESET: u64 = 0x8400_0009;
const PSCI_VERSION: u64 = 0x8400_0000;

static USE_SMC: AtomicBool = AtomicBool::new(false);

/// Chooses the conduit named by the device tree's `method` ("hvc" or "smc").
pub fn set_conduit(method: &str) {
    USE_SMC.store(method == "smc", Ordering::Release);
}

fn call(function: u64, a: u64, b: u64, c: u64) -> i64 {
    let result: u64;
    if USE_SMC.load(Ordering::Acquire) {
        // SAFETY: a PSCI call; the firmware preserves x4-x17 and everything it does not return.
        unsafe {
            core::arch::asm!("smc #0", inout("x0") function => result, inout("x1") a => _, inout("x2") b => _, inout("x3") c => _, options(nostack))
        };
    } else {
        // SAFETY: as above, through the hypervisor conduit.
        unsafe {
            core::arch::asm!("hvc #0", inout("x0") function => result, inout("x1") a => _, inout("x2") b => _, inout("x3") c => _, options(nostack))
        };
    }
    result as i64
}

/// The firmware's PSCI version as (major, minor).
pub fn version() -> (u16, u16) {
    let v = call(PSCI_VERSION, 0, 0, 0) as u64;
    ((v >> 16) as u16, v as u16)
}

/// Starts the CPU with `mpidr` at physical `entry` with `context` in x0; the PSCI error code on
/// failure.
///
/// # Safety
/// `entry` must be the physical address of code that can run with the MMU off (`secondary_entry`)
/// and `context` what it expects.
pub unsafe fn cpu_on(mpidr: u64, entry: u64, context: u64) -> Result<(), i64> {
    match call(CPU_ON_64, mpidr, entry, context) {
        0 => Ok(()),
        error => Err(error),
    }
}

/// Powers the machine off; returns only if the firmware refused.
pub fn system_off() {
    call(SYSTEM_OFF, 0, 0, 0);
}

/// Resets the machine; returns only if the firmware refused.
pub fn system_reset() {
    call(SYSTEM_RESET, 0, 0, 0);
}
