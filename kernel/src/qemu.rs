//! Leaving QEMU with a status through the `isa-debug-exit` device (port 0xf4).
//!
//! QEMU exits with `(value << 1) | 1`, so no value can produce 0: a run that QEMU ends on its own
//! (crash, timeout, triple fault) can never read as a pass. Host tools map the codes back.
//!
//! On aarch64 the same statuses leave through Arm semihosting's exit call (QEMU's
//! `-semihosting`), with the same `(value << 1) | 1` exit codes, so host tools need no change.
//!
//! May import: `arch`.

/// Exit statuses written to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// All tests passed / orderly power-off (QEMU exits with 33).
    Success = 0x10,
    /// Some tests failed (QEMU exits with 35).
    TestsFailed = 0x11,
    /// A panic or fatal CPU exception (QEMU exits with 37).
    Panic = 0x12,
}

/// Asks QEMU to exit; returns only when there is no debug-exit device (real hardware).
pub fn exit(status: ExitStatus) {
    #[cfg(target_arch = "x86_64")]
    crate::arch::port::write_u8(0xf4, status as u8);
    #[cfg(target_arch = "aarch64")]
    crate::arch::semihosting::exit(((status as u32) << 1) | 1);
}
