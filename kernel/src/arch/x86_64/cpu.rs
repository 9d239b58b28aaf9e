//! CPU identification, feature checks, FPU/SSE/AVX enablement, TSC and interrupt-flag helpers.

use core::arch::x86_64::{__cpuid, __cpuid_count, _rdtsc};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::xcontrol::XCr0Flags;

/// Features the kernel cannot run without, checked once at boot with a clear message.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    pub apic: bool,
    pub tsc: bool,
    pub invariant_tsc: bool,
    pub tsc_deadline: bool,
    pub x2apic: bool,
    pub nx: bool,
    pub sse2: bool,
    pub fxsr: bool,
    pub xsave: bool,
    pub avx: bool,
    pub rdrand: bool,
    pub rdseed: bool,
    pub huge_1g: bool,
    /// Supervisor-mode execution prevention: the kernel cannot run user pages.
    pub smep: bool,
    /// Supervisor-mode access prevention: the kernel cannot touch user pages by accident.
    pub smap: bool,
    /// User-mode instruction prevention: SGDT, SIDT, SLDT, SMSW, STR fault in user mode.
    pub umip: bool,
    /// Running under a hypervisor (CPUID's hypervisor bit): virtual CPUs may be descheduled
    /// at any moment, even while holding or next in line for a spin lock.
    pub hypervisor: bool,
    pub vendor: [u8; 12],
}

/// Reads the CPU's feature flags.
pub fn features() -> Features {
    let leaf0 = __cpuid(0);
    let leaf1 = __cpuid(1);
    let ext_max = __cpuid(0x8000_0000).eax;
    let ext1 = if ext_max >= 0x8000_0001 {
        __cpuid(0x8000_0001)
    } else {
        __cpuid(0)
    };
    let ext7 = if ext_max >= 0x8000_0007 {
        __cpuid(0x8000_0007).edx
    } else {
        0
    };
    let (leaf7, leaf7_ecx) = if leaf0.eax >= 7 {
        let leaf = __cpuid_count(7, 0);
        (leaf.ebx, leaf.ecx)
    } else {
        (0, 0)
    };
    let mut vendor = [0u8; 12];
    vendor[0..4].copy_from_slice(&leaf0.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&leaf0.edx.to_le_bytes());
    vendor[8..12].copy_from_slice(&leaf0.ecx.to_le_bytes());
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;
    Features {
        apic: bit(leaf1.edx, 9),
        tsc: bit(leaf1.edx, 4),
        invariant_tsc: bit(ext7, 8),
        tsc_deadline: bit(leaf1.ecx, 24),
        x2apic: bit(leaf1.ecx, 21),
        nx: ext_max >= 0x8000_0001 && bit(ext1.edx, 20),
        sse2: bit(leaf1.edx, 26),
        fxsr: bit(leaf1.edx, 24),
        xsave: bit(leaf1.ecx, 26),
        avx: bit(leaf1.ecx, 28),
        rdrand: bit(leaf1.ecx, 30),
        rdseed: bit(leaf7, 18),
        huge_1g: ext_max >= 0x8000_0001 && bit(ext1.edx, 26),
        smep: bit(leaf7, 7),
        smap: bit(leaf7, 20),
        umip: bit(leaf7_ecx, 2),
        hypervisor: bit(leaf1.ecx, 31),
        vendor,
    }
}

impl Features {
    /// Names the first missing feature the kernel requires, if any.
    pub fn missing_requirement(&self) -> Option<&'static str> {
        [
            (self.apic, "local APIC"),
            (self.tsc, "time-stamp counter"),
            (self.nx, "no-execute pages (NX)"),
            (self.sse2, "SSE2"),
            (self.fxsr, "FXSAVE/FXRSTOR"),
        ]
        .into_iter()
        .find(|(present, _)| !present)
        .map(|(_, name)| name)
    }
}

/// Enables SSE (and AVX through XSAVE when present) so linked C code may use vector registers.
/// Rust code of this target does not, but threads that run C code will.
pub fn enable_vector_state(features: &Features) {
    let mut cr0 = Cr0::read();
    cr0.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
    cr0.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
    let mut cr4 = Cr4::read();
    cr4.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
    if features.xsave {
        cr4.insert(Cr4Flags::OSXSAVE);
    }
    // SAFETY: clearing EM/TS and setting MP/NE, OSFXSR, OSXMMEXCPT and OSXSAVE only enables
    // instructions; no mapping or privilege changes.
    unsafe {
        Cr0::write(cr0);
        Cr4::write(cr4);
    }
    if features.xsave {
        let mut xcr0 = XCr0Flags::X87 | XCr0Flags::SSE;
        if features.avx {
            xcr0 |= XCr0Flags::AVX;
        }
        // Write XCR0 with XSETBV directly: some nested hypervisors cannot emulate the XGETBV
        // that a read-modify-write would issue first.
        let value = xcr0.bits();
        // SAFETY: OSXSAVE is set above and every requested component is supported (CPUID).
        unsafe {
            core::arch::asm!("xsetbv", in("ecx") 0, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack))
        };
    }
}

/// Which of SMEP, SMAP and UMIP are on in this CPU's CR4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protections {
    pub smep: bool,
    pub smap: bool,
    pub umip: bool,
}

/// Turns on SMEP, SMAP and UMIP where the CPU has them (every CPU, at start-up): the kernel then
/// can neither run nor, by accident, read or write user pages.
pub fn enable_protections(features: &Features) -> Protections {
    let mut cr4 = Cr4::read();
    cr4.set(
        Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION,
        features.smep,
    );
    cr4.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, features.smap);
    cr4.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, features.umip);
    // SAFETY: the kernel maps nothing user-accessible that it runs or touches without meaning
    // to; these bits only add faults for such accesses.
    unsafe { Cr4::write(cr4) };
    protections()
}

/// The protections CR4 has on this CPU now.
pub fn protections() -> Protections {
    let cr4 = Cr4::read();
    Protections {
        smep: cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION),
        smap: cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION),
        umip: cr4.contains(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION),
    }
}

/// Reads the time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; the TSC's presence is checked at boot.
    unsafe { _rdtsc() }
}

/// Returns whether interrupts are enabled on this CPU.
#[inline]
pub fn interrupts_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

/// Disables interrupts and returns whether they were enabled before.
#[inline]
pub fn disable_interrupts() -> bool {
    let was = interrupts_enabled();
    x86_64::instructions::interrupts::disable();
    was
}

/// Re-enables interrupts if `was_enabled`.
#[inline]
pub fn restore_interrupts(was_enabled: bool) {
    if was_enabled {
        x86_64::instructions::interrupts::enable();
    }
}

/// Enables interrupts on this CPU.
#[inline]
pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

/// Enables interrupts and halts until the next one, atomically (no lost wake-up).
#[inline]
pub fn enable_interrupts_and_halt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Reads a model-specific register.
pub fn read_msr(msr: u32) -> u64 {
    // SAFETY: callers only pass architectural MSRs whose presence CPUID guarantees.
    unsafe { x86_64::registers::model_specific::Msr::new(msr).read() }
}

/// Writes a model-specific register.
///
/// # Safety
/// The MSR must exist and the value must not break memory safety (e.g. EFER, GS base).
pub unsafe fn write_msr(msr: u32, value: u64) {
    // SAFETY: the caller upholds the contract above.
    unsafe { x86_64::registers::model_specific::Msr::new(msr).write(value) }
}

/// Reads CR2, the faulting linear address of the last page fault.
pub fn read_cr2() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

/// Current frame pointer, for backtraces.
#[inline(always)]
pub fn frame_pointer() -> u64 {
    let rbp: u64;
    // SAFETY: reads a register; no memory is touched.
    unsafe {
        core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags))
    };
    rbp
}

static RANDOM_STATE: core::sync::atomic::AtomicU64 =
    core::sync::atomic::AtomicU64::new(0x853c_49e6_748f_ea9b);

/// A random 64-bit value: RDRAND where the CPU has it, otherwise a splitmix64 stream seeded by
/// the TSC (not cryptographic; docs/rumphost.md says so).
pub fn random_u64() -> u64 {
    if features().rdrand {
        if let Some(value) = rdrand() {
            return value;
        }
    }
    let seed = RANDOM_STATE.fetch_add(
        0x9e37_79b9_7f4a_7c15 ^ rdtsc(),
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

/// Reads a random 64-bit value with RDRAND, retrying a few times as Intel recommends.
pub fn rdrand() -> Option<u64> {
    for _ in 0..10 {
        let mut value = 0u64;
        // SAFETY: callers check `Features::rdrand` first; the intrinsic only writes `value`.
        let ok = unsafe { core::arch::x86_64::_rdrand64_step(&mut value) };
        if ok == 1 {
            return Some(value);
        }
    }
    None
}
