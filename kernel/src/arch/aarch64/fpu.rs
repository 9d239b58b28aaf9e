//! FP/SIMD state (v0-v31, FPCR, FPSR) of threads that use it. The kernel itself is built
//! soft-float (`aarch64-unknown-none-softfloat`), so only such threads ever touch these
//! registers and nothing else needs saving on a switch or an exception.

use alloc::boxed::Box;

/// Saved vector registers and control/status words.
#[repr(C, align(16))]
struct Area {
    vector: [u128; 32],
    control: u64,
    status: u64,
}

/// A thread's FP/SIMD save area.
pub struct FpuState {
    area: Box<core::cell::UnsafeCell<Area>>,
}

// SAFETY: the area is owned by one thread and only touched while switching that thread.
unsafe impl Send for FpuState {}
// SAFETY: as above.
unsafe impl Sync for FpuState {}

/// Nothing to size at run time (the x86_64 version sizes its XSAVE area here).
pub fn init(_features: &super::cpu::Features) {}

impl FpuState {
    /// A save area holding the initial state (all zero: round to nearest, no traps).
    pub fn new() -> Self {
        Self {
            area: Box::new(core::cell::UnsafeCell::new(Area {
                vector: [0; 32],
                control: 0,
                status: 0,
            })),
        }
    }

    /// Saves the CPU's FP/SIMD state here.
    pub fn save(&self) {
        let area = self.area.get();
        // SAFETY: the area is 16-byte aligned and large enough; FP/SIMD is enabled (CPACR_EL1).
        unsafe {
            core::arch::asm!(
                ".arch_extension fp",
                ".arch_extension simd",
                "stp q0, q1, [{a}, #0]", "stp q2, q3, [{a}, #32]",
                "stp q4, q5, [{a}, #64]", "stp q6, q7, [{a}, #96]",
                "stp q8, q9, [{a}, #128]", "stp q10, q11, [{a}, #160]",
                "stp q12, q13, [{a}, #192]", "stp q14, q15, [{a}, #224]",
                "stp q16, q17, [{a}, #256]", "stp q18, q19, [{a}, #288]",
                "stp q20, q21, [{a}, #320]", "stp q22, q23, [{a}, #352]",
                "stp q24, q25, [{a}, #384]", "stp q26, q27, [{a}, #416]",
                "stp q28, q29, [{a}, #448]", "stp q30, q31, [{a}, #480]",
                "mrs {t}, fpcr", "str {t}, [{a}, #512]",
                "mrs {t}, fpsr", "str {t}, [{a}, #520]",
                a = in(reg) area,
                t = out(reg) _,
                options(nostack, preserves_flags)
            )
        };
    }

    /// Loads the FP/SIMD state saved here.
    pub fn restore(&self) {
        let area = self.area.get();
        // SAFETY: the area holds a state written by `save` or `new`.
        unsafe {
            core::arch::asm!(
                ".arch_extension fp",
                ".arch_extension simd",
                "ldp q0, q1, [{a}, #0]", "ldp q2, q3, [{a}, #32]",
                "ldp q4, q5, [{a}, #64]", "ldp q6, q7, [{a}, #96]",
                "ldp q8, q9, [{a}, #128]", "ldp q10, q11, [{a}, #160]",
                "ldp q12, q13, [{a}, #192]", "ldp q14, q15, [{a}, #224]",
                "ldp q16, q17, [{a}, #256]", "ldp q18, q19, [{a}, #288]",
                "ldp q20, q21, [{a}, #320]", "ldp q22, q23, [{a}, #352]",
                "ldp q24, q25, [{a}, #384]", "ldp q26, q27, [{a}, #416]",
                "ldp q28, q29, [{a}, #448]", "ldp q30, q31, [{a}, #480]",
                "ldr {t}, [{a}, #512]", "msr fpcr, {t}",
                "ldr {t}, [{a}, #520]", "msr fpsr, {t}",
                a = in(reg) area,
                t = out(reg) _,
                options(nostack, preserves_flags)
            )
        };
    }
}

impl Default for FpuState {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `value` to the low half of v0 and reads it back after `between` ran (which may
/// switch threads): the in-kernel test of FP/SIMD state across context switches.
pub fn v0_round_trip(value: u64, between: impl FnOnce()) -> u64 {
    // SAFETY: only v0 of a thread that owns an FP/SIMD save area is written.
    unsafe {
        core::arch::asm!(".arch_extension fp", ".arch_extension simd", "fmov d0, {}", in(reg) value, options(nostack, nomem))
    };
    between();
    let back: u64;
    // SAFETY: reads v0.
    unsafe {
        core::arch::asm!(".arch_extension fp", ".arch_extension simd", "fmov {}, d0", out(reg) back, options(nostack, nomem))
    };
    back
}
