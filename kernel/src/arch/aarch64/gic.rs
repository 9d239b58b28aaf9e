//! The Arm Generic Interrupt Controller: GICv3 (distributor, one redistributor per CPU, the CPU
//! interface through system registers) or GICv2 (distributor and a memory-mapped CPU interface)
//! where that is all the machine has (GIC architecture specification, IHI 0069).
//!
//! Every interrupt is group 1 at one priority; shared peripheral interrupts go to the boot CPU.
//! The top half acknowledges, the handler runs, then the end-of-interrupt; priority drop and
//! deactivation happen together (EOImode 0).

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

const PRIORITY: u8 = 0xa0;
/// GICv3 redistributor frames: RD_base then SGI_base, 64 KiB each.
const REDISTRIBUTOR_STRIDE: usize = 0x2_0000;

static VERSION: AtomicU8 = AtomicU8::new(0);
static DISTRIBUTOR: AtomicUsize = AtomicUsize::new(0);
/// GICv3: the redistributor region; GICv2: the CPU interface.
static SECOND_REGION: AtomicUsize = AtomicUsize::new(0);
static SECOND_REGION_SIZE: AtomicUsize = AtomicUsize::new(0);
static SECOND_REGION_PHYSICAL: core::sync::atomic::AtomicU64 =
    core::sync::atomic::AtomicU64::new(0);
/// GICv2: each CPU's interface mask, by Aff0 (SGIs name targets by interface).
static V2_TARGET_MASK: [AtomicU8; 8] = [const { AtomicU8::new(0) }; 8];

fn read32(address: usize) -> u32 {
    // SAFETY: `init`'s caller mapped the GIC's register frames uncached for good; reads of
    // these registers have no memory effects.
    unsafe { core::ptr::read_volatile(address as *const u32) }
}

fn write32(address: usize, value: u32) {
    // SAFETY: as for `read32`; the kernel owns the interrupt controller.
    unsafe { core::ptr::write_volatile(address as *mut u32, value) }
}

fn write64(address: usize, value: u64) {
    // SAFETY: as for `write32`.
    unsafe { core::ptr::write_volatile(address as *mut u64, value) }
}

fn read64(address: usize) -> u64 {
    // SAFETY: as for `read32`.
    unsafe { core::ptr::read_volatile(address as *const u64) }
}

macro_rules! write_icc {
    ($name:literal, $value:expr) => {
        // SAFETY: a GICv3 CPU-interface register of this CPU; the value follows the GIC spec.
        unsafe {
            core::arch::asm!(concat!("msr ", $name, ", {}"), "isb", in(reg) $value as u64, options(nostack, preserves_flags))
        }
    };
}

/// The GIC version in use (2 or 3), 0 before `init`.
pub fn version() -> u8 {
    VERSION.load(Ordering::Acquire)
}

/// Sets up the distributor and the boot CPU's interface. `distributor` and `second` are the
/// virtual addresses of the distributor and of the redistributor region (v3) or CPU interface
/// (v2), `second_size` its length and `second_physical` its physical address.
///
/// # Safety
/// The addresses must be uncached mappings of those register frames, kept for the kernel's life.
pub unsafe fn init(
    version: u8,
    distributor: usize,
    second: usize,
    second_size: usize,
    second_physical: u64,
) {
    SECOND_REGION_PHYSICAL.store(second_physical, Ordering::Release);
    DISTRIBUTOR.store(distributor, Ordering::Release);
    SECOND_REGION.store(second, Ordering::Release);
    SECOND_REGION_SIZE.store(second_size, Ordering::Release);
    VERSION.store(version, Ordering::Release);
    let lines = ((read32(distributor + 0x4) & 0x1f) as usize + 1) * 32;
    write32(distributor, 0);
    wait_for_distributor();
    for n in 1..lines / 32 {
        write32(distributor + 0x80 + 4 * n, u32::MAX); // group 1
        write32(distributor + 0x180 + 4 * n, u32::MAX); // disabled
    }
    for intid in 32..lines {
        write8(distributor + 0x400 + intid, PRIORITY);
    }
    if version == 3 {
        let boot = u64::from(super::cpu::hardware_id());
        let affinity = (boot & 0xff_ffff) | ((boot >> 24) << 32);
        for intid in 32..lines {
            write64(distributor + 0x6000 + 8 * intid, affinity);
        }
        // ARE (affinity routing) and EnableGrp1 (bit 1) and EnableGrp0 (bit 0).
        write32(distributor, (1 << 4) | (1 << 1) | 1);
    } else {
        write32(distributor, 1);
    }
    wait_for_distributor();
    init_this_cpu();
    if version == 2 {
        let mask = read32(distributor + 0x800) as u8;
        for intid in 32..lines {
            write8(distributor + 0x800 + intid, mask);
        }
    }
}

fn write8(address: usize, value: u8) {
    // SAFETY: as for `write32`; priority and target registers are byte-accessible.
    unsafe { core::ptr::write_volatile(address as *mut u8, value) }
}

fn wait_for_distributor() {
    if VERSION.load(Ordering::Acquire) == 3 {
        while read32(DISTRIBUTOR.load(Ordering::Acquire)) & (1 << 31) != 0 {
            core::hint::spin_loop();
        }
    }
}

fn this_redistributor() -> Option<usize> {
    let base = SECOND_REGION.load(Ordering::Acquire);
    let size = SECOND_REGION_SIZE.load(Ordering::Acquire);
    let me = u64::from(super::cpu::hardware_id());
    let mut frame = base;
    while frame + REDISTRIBUTOR_STRIDE <= base + size {
        let typer = read64(frame + 0x8);
        if typer >> 32 == me {
            return Some(frame);
        }
        if typer & (1 << 4) != 0 {
            break; // the last redistributor
        }
        // Frames with virtual LPI support carry two more 64 KiB pages.
        frame += if typer & (1 << 1) != 0 {
            2 * REDISTRIBUTOR_STRIDE
        } else {
            REDISTRIBUTOR_STRIDE
        };
    }
    None
}

/// The calling CPU's GICv3 redistributor: its virtual and physical address.
pub fn this_redistributor_frame() -> Option<(usize, u64)> {
    let frame = this_redistributor()?;
    let offset = frame - SECOND_REGION.load(Ordering::Acquire);
    Some((
        frame,
        SECOND_REGION_PHYSICAL.load(Ordering::Acquire) + offset as u64,
    ))
}

/// Sets up the calling CPU's interface (and on v3 its redistributor); every CPU, once.
pub fn init_this_cpu() {
    let distributor = DISTRIBUTOR.load(Ordering::Acquire);
    if version() == 3 {
        let Some(redistributor) = this_redistributor() else {
            log::error!(
                "no GIC redistributor for CPU {:#x}",
                super::cpu::hardware_id()
            );
            return;
        };
        let waker = redistributor + 0x14;
        write32(waker, read32(waker) & !(1 << 1));
        while read32(waker) & (1 << 2) != 0 {
            core::hint::spin_loop();
        }
        let sgi = redistributor + 0x1_0000;
        write32(sgi + 0x80, u32::MAX); // SGIs and PPIs in group 1
        write32(sgi + 0x180, u32::MAX); // all disabled until bound
        for intid in 0..32 {
            write8(sgi + 0x400 + intid, PRIORITY);
        }
        write_icc!("s3_0_c12_c12_5", 1u64); // ICC_SRE_EL1.SRE: system-register interface
        write_icc!("s3_0_c4_c6_0", 0xffu64); // ICC_PMR_EL1: every priority passes
        write_icc!("s3_0_c12_c12_3", 0u64); // ICC_BPR1_EL1
        write_icc!("s3_0_c12_c12_7", 1u64); // ICC_IGRPEN1_EL1: group 1 on
    } else {
        let interface = SECOND_REGION.load(Ordering::Acquire);
        write32(distributor + 0x180, u32::MAX);
        for intid in 0..32 {
            write8(distributor + 0x400 + intid, PRIORITY);
        }
        let aff0 = (super::cpu::hardware_id() & 0xff) as usize;
        if let Some(slot) = V2_TARGET_MASK.get(aff0) {
            slot.store(read32(distributor + 0x800) as u8, Ordering::Release);
        }
        write32(interface + 0x4, 0xff); // GICC_PMR
        write32(interface, 1); // GICC_CTLR: enable
    }
}

/// Enables (or disables) interrupt `intid`: SGIs and PPIs on the calling CPU, SPIs globally.
pub fn set_enabled(intid: u32, enabled: bool) {
    let distributor = DISTRIBUTOR.load(Ordering::Acquire);
    let offset = if enabled { 0x100 } else { 0x180 };
    let bit = 1u32 << (intid % 32);
    if intid < 32 && version() == 3 {
        if let Some(redistributor) = this_redistributor() {
            write32(redistributor + 0x1_0000 + offset, bit);
        }
    } else {
        write32(distributor + offset + 4 * (intid as usize / 32), bit);
    }
}

/// Whether SPI `intid` is masked at the distributor.
pub fn is_masked(intid: u32) -> bool {
    let distributor = DISTRIBUTOR.load(Ordering::Acquire);
    read32(distributor + 0x100 + 4 * (intid as usize / 32)) & (1 << (intid % 32)) == 0
}

/// Makes SPI `intid` edge-triggered (`true`) or level-sensitive.
pub fn set_edge_triggered(intid: u32, edge: bool) {
    let distributor = DISTRIBUTOR.load(Ordering::Acquire);
    let register = distributor + 0xc00 + 4 * (intid as usize / 16);
    let shift = 2 * (intid % 16) + 1;
    let value = read32(register) & !(1 << shift);
    write32(register, value | (u32::from(edge) << shift));
}

/// An acknowledged interrupt: its ID, and the acknowledge register's whole value, which the
/// end-of-interrupt write must repeat (on GICv2 an SGI's value also names the sending CPU).
#[derive(Debug, Clone, Copy)]
pub struct Acknowledged {
    pub intid: u32,
    raw: u32,
}

/// Acknowledges the highest-priority pending interrupt; `None` when it was spurious.
pub fn acknowledge() -> Option<Acknowledged> {
    let raw = if version() == 3 {
        let value: u64;
        // SAFETY: reading ICC_IAR1_EL1 acknowledges the interrupt; the caller ends it.
        unsafe {
            core::arch::asm!("mrs {}, s3_0_c12_c12_0", out(reg) value, options(nostack, preserves_flags))
        };
        (value & 0xff_ffff) as u32
    } else {
        read32(SECOND_REGION.load(Ordering::Acquire) + 0xc) & 0x1fff
    };
    let intid = if version() == 3 { raw } else { raw & 0x3ff };
    // 1020..1023 are special (spurious); LPIs start at 8192.
    (!(1020..8192).contains(&intid)).then_some(Acknowledged { intid, raw })
}

/// Ends an acknowledged interrupt (priority drop and deactivation).
pub fn end_of_interrupt(interrupt: Acknowledged) {
    if version() == 3 {
        write_icc!("s3_0_c12_c12_1", interrupt.raw); // ICC_EOIR1_EL1
    } else {
        write32(SECOND_REGION.load(Ordering::Acquire) + 0x10, interrupt.raw);
    }
}

/// Sends software-generated interrupt `sgi` (0..15) to the CPU with `hardware_id`.
pub fn send_sgi(hardware_id: u32, sgi: u8) {
    let hardware_id = u64::from(hardware_id);
    if version() == 3 {
        let aff0 = hardware_id & 0xf;
        let aff1 = (hardware_id >> 8) & 0xff;
        let aff2 = (hardware_id >> 16) & 0xff;
        let aff3 = (hardware_id >> 24) & 0xff;
        let value = (1u64 << aff0)
            | (aff1 << 16)
            | (u64::from(sgi & 0xf) << 24)
            | (aff2 << 32)
            | (aff3 << 48);
        // SAFETY: the barrier makes earlier stores (the run-queue entry) visible before the SGI.
        unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
        write_icc!("s3_0_c12_c11_5", value); // ICC_SGI1R_EL1
    } else {
        let mask = V2_TARGET_MASK
            .get((hardware_id & 0xff) as usize)
            .map_or(0, |m| m.load(Ordering::Acquire));
        // SAFETY: as above.
        unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
        write32(
            DISTRIBUTOR.load(Ordering::Acquire) + 0xf00,
            (u32::from(mask) << 16) | u32::from(sgi & 0xf),
        );
    }
}

/// Shared peripheral interrupts as interrupt lines, with the functions the x86_64 I/O APIC
/// offers for its pins (the PCI layer routes INTx through either). A line's number is its GIC
/// interrupt ID; every SPI is delivered to the boot CPU.
pub mod lines {
    /// Trigger mode and polarity of a line.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Polarity {
        /// Level-triggered (true) or edge-triggered.
        pub level_triggered: bool,
        /// Active low: the GIC only sees active-high lines (the board inverts PCI's INTx#), so
        /// this is recorded but changes nothing.
        pub active_low: bool,
    }

    /// ISA defaults (kept for the shared interface): edge-triggered, active high.
    pub const ISA_DEFAULT: Polarity = Polarity {
        level_triggered: false,
        active_low: false,
    };
    /// PCI defaults: level-triggered, active low.
    pub const PCI_DEFAULT: Polarity = Polarity {
        level_triggered: true,
        active_low: true,
    };

    /// Why a line could not be routed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RouteError {
        /// Not a shared peripheral interrupt this GIC has.
        NoSuchLine(u32),
    }

    impl core::fmt::Display for RouteError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self {
                RouteError::NoSuchLine(intid) => {
                    write!(
                        f,
                        "GIC interrupt {intid} is not a shared peripheral interrupt"
                    )
                }
            }
        }
    }

    fn check(intid: u32) -> Result<(), RouteError> {
        if (32..1020).contains(&intid) {
            Ok(())
        } else {
            Err(RouteError::NoSuchLine(intid))
        }
    }

    /// Delivers line `intid` to kernel `vector` (on the boot CPU; `_destination` is the x86_64
    /// interface's APIC ID) with the given trigger mode. The line stays masked.
    pub fn route(
        intid: u32,
        vector: u8,
        _destination: u32,
        polarity: Polarity,
    ) -> Result<(), RouteError> {
        check(intid)?;
        super::set_enabled(intid, false);
        super::set_edge_triggered(intid, !polarity.level_triggered);
        super::super::traps::bind(vector, intid);
        Ok(())
    }

    /// Masks or unmasks line `intid` at the distributor.
    pub fn set_masked(intid: u32, masked: bool) -> Result<(), RouteError> {
        check(intid)?;
        super::set_enabled(intid, !masked);
        Ok(())
    }

    /// Whether line `intid` is masked.
    pub fn is_masked(intid: u32) -> Result<bool, RouteError> {
        check(intid)?;
        Ok(super::is_masked(intid))
    }
}
