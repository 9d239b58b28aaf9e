//! CPU identification, the interrupt mask (DAIF), the generic counter, and small register helpers.

use core::arch::asm;

/// What the kernel learns from the ID registers.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    /// MIDR_EL1: implementer, part and revision.
    pub main_id: u64,
    /// FEAT_RNG: `RNDR` gives random numbers.
    pub rndr: bool,
    /// FEAT_PAN: privileged access never.
    pub pan: bool,
    /// Physical address bits the MMU supports.
    pub physical_address_bits: u32,
    /// FP and Advanced SIMD are present.
    pub fp_simd: bool,
}

macro_rules! read_sysreg {
    ($name:literal) => {{
        let value: u64;
        // SAFETY: reading an ID or status register has no side effects.
        unsafe {
            asm!(concat!("mrs {}, ", $name), out(reg) value, options(nomem, nostack, preserves_flags))
        };
        value
    }};
}

/// Reads the CPU's ID registers.
pub fn features() -> Features {
    let isar0 = read_sysreg!("id_aa64isar0_el1");
    let mmfr0 = read_sysreg!("id_aa64mmfr0_el1");
    let mmfr1 = read_sysreg!("id_aa64mmfr1_el1");
    let pfr0 = read_sysreg!("id_aa64pfr0_el1");
    let physical_address_bits = match mmfr0 & 0xf {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        _ => 52,
    };
    Features {
        main_id: read_sysreg!("midr_el1"),
        rndr: (isar0 >> 60) & 0xf >= 1,
        pan: (mmfr1 >> 20) & 0xf >= 1,
        physical_address_bits,
        // PFR0.FP and AdvSIMD: 0xf means not implemented.
        fp_simd: (pfr0 >> 16) & 0xf != 0xf && (pfr0 >> 20) & 0xf != 0xf,
    }
}

impl Features {
    /// The first thing the kernel needs that this CPU lacks.
    pub fn missing_requirement(&self) -> Option<&'static str> {
        (!self.fp_simd).then_some("FP/Advanced SIMD")
    }
}

/// This CPU's MPIDR affinity (Aff3.Aff2.Aff1.Aff0 packed as 8 bits each): its hardware ID.
pub fn hardware_id() -> u32 {
    let mpidr = read_sysreg!("mpidr_el1");
    ((mpidr & 0xff_ffff) | ((mpidr >> 8) & 0xff00_0000)) as u32
}

/// Reads the virtual counter (CNTVCT_EL0), the clock behind `time` on this architecture.
#[inline]
pub fn read_counter() -> u64 {
    let value: u64;
    // SAFETY: the ISB orders the read after earlier instructions; reading has no side effects.
    unsafe {
        asm!("isb", "mrs {}, cntvct_el0", out(reg) value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// Ticks per second of the generic counter.
pub fn counter_frequency() -> u64 {
    read_sysreg!("cntfrq_el0")
}

/// The time-stamp counter of this architecture (the generic counter), for cycle measurements.
#[inline]
pub fn rdtsc() -> u64 {
    read_counter()
}

/// Returns whether IRQs are enabled on this CPU.
#[inline]
pub fn interrupts_enabled() -> bool {
    read_sysreg!("daif") & (1 << 7) == 0
}

/// Disables IRQs and returns whether they were enabled before.
#[inline]
pub fn disable_interrupts() -> bool {
    let was = interrupts_enabled();
    // SAFETY: masking IRQs only delays interrupts; the compiler barrier keeps memory accesses
    // of the critical section after the mask.
    unsafe { asm!("msr daifset, #2", options(nostack, preserves_flags)) };
    was
}

/// Re-enables IRQs if `was_enabled`.
#[inline]
pub fn restore_interrupts(was_enabled: bool) {
    if was_enabled {
        enable_interrupts();
    }
}

/// Enables IRQs on this CPU.
#[inline]
pub fn enable_interrupts() {
    // SAFETY: unmasking IRQs; handlers are installed before any source is enabled.
    unsafe { asm!("msr daifclr, #2", options(nostack, preserves_flags)) };
}

/// Enables IRQs and waits for the next one. `wfi` wakes on a pending interrupt even while
/// masked, so waiting before unmasking loses no wake-up.
#[inline]
pub fn enable_interrupts_and_halt() {
    // SAFETY: as for `enable_interrupts`; `wfi` only waits.
    unsafe { asm!("wfi", "msr daifclr, #2", options(nostack, preserves_flags)) };
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: masks everything and waits; nothing resumes this CPU.
        unsafe {
            asm!(
                "msr daifset, #0xf",
                "wfi",
                options(nostack, preserves_flags)
            )
        };
    }
}

/// Current frame pointer (x29), for backtraces.
#[inline(always)]
pub fn frame_pointer() -> u64 {
    let x29: u64;
    // SAFETY: reads a register; no memory is touched.
    unsafe { asm!("mov {}, x29", out(reg) x29, options(nomem, nostack, preserves_flags)) };
    x29
}

/// Stops translation through TTBR0 (the boot identity map): the low half then faults.
pub fn disable_low_half() {
    // SAFETY: once the kernel runs from its upper-half tables nothing uses TTBR0; EPD0 makes
    // every low-half access fault, and the TLB flush drops the boot identity entries.
    unsafe {
        asm!(
            "mrs {t}, tcr_el1",
            "orr {t}, {t}, #(1 << 7)",
            "msr tcr_el1, {t}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            t = out(reg) _,
            options(nostack, preserves_flags)
        )
    };
}

/// Loads `root` (physical) into TTBR1_EL1 and turns on SCTLR_EL1.WXN (a writable page is
/// never executable, whatever its entry says).
///
/// # Safety
/// `root` must map the running code, stack and data at the same addresses as the current tables.
pub unsafe fn load_kernel_root(root: u64) {
    // SAFETY: upheld by the caller; the TLB is flushed after both changes.
    unsafe {
        asm!(
            "dsb ishst",
            "msr ttbr1_el1, {root}",
            "mrs {t}, sctlr_el1",
            "orr {t}, {t}, #(1 << 19)",
            "msr sctlr_el1, {t}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            root = in(reg) root,
            t = out(reg) _,
            options(nostack, preserves_flags)
        )
    };
}

static RANDOM_STATE: core::sync::atomic::AtomicU64 =
    core::sync::atomic::AtomicU64::new(0x853c_49e6_748f_ea9b);

/// A random 64-bit value: `RNDR` where the CPU has it, otherwise a splitmix64 stream seeded by
/// the counter (not cryptographic).
pub fn random_u64() -> u64 {
    if features().rndr {
        let value: u64;
        let ok: u64;
        // SAFETY: FEAT_RNG is present (checked above); RNDR (s3_3_c2_c4_0) only writes its
        // register and the flags (Z set on failure).
        unsafe {
            asm!("mrs {v}, s3_3_c2_c4_0", "cset {ok}, ne", v = out(reg) value, ok = out(reg) ok, options(nomem, nostack))
        };
        if ok == 1 {
            return value;
        }
    }
    let seed = RANDOM_STATE.fetch_add(
        0x9e37_79b9_7f4a_7c15 ^ read_counter(),
        core::sync::atomic::Ordering::Relaxed,
    );
    let mut z = seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buffer` with [`random_u64`] values.
pub fn random_fill(buffer: &mut [u8]) {
    for chunk in buffer.chunks_mut(8) {
        chunk.copy_from_slice(&random_u64().to_le_bytes()[..chunk.len()]);
    }
}

/// Unmasks SError interrupts (asynchronous aborts) so that they are reported, not lost. IRQs
/// stay as they are; FIQs are not used.
pub fn unmask_system_errors() {
    // SAFETY: the vector table is installed before this is called, and its SError slots report.
    unsafe { asm!("msr daifclr, #4", options(nostack, preserves_flags)) };
}
