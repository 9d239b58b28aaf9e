//! The GICv3 Interrupt Translation Service (GIC architecture specification IHI 0069, chapter 5):
//! message-signalled interrupts on aarch64. A PCI function's MSI or MSI-X write of an event ID to
//! `GITS_TRANSLATER` becomes a locality-specific peripheral interrupt (LPI) on the boot CPU,
//! through the device table (requester ID → the device's interrupt translation table) and the
//! collection table (collection 0 → the boot CPU's redistributor), all programmed here by
//! commands on the ITS command queue.
//!
//! Flat (one-level) tables, one page each, cover requester IDs below 512: the root bus of
//! QEMU's virt, whose device tree maps requester IDs to device IDs one to one (`msi-map`).

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::{gic, traps};

/// The first LPI interrupt ID.
pub const FIRST_LPI: u32 = 8192;
/// LPIs handed out (interrupt IDs `FIRST_LPI..FIRST_LPI + LPI_COUNT`).
pub const LPI_COUNT: u32 = 256;
/// Interrupt-ID bits the redistributor is told about (covers every LPI above).
const ID_BITS: u64 = 14;
const EVENTS_PER_DEVICE: u32 = 32;
const ITT_BYTES: u64 = 4096;
/// Devices (requester IDs) a table page covers at 8 bytes an entry.
const MAX_DEVICE_ID: u32 = 512;

const GITS_CTLR: usize = 0x0;
const GITS_TYPER: usize = 0x8;
const GITS_CBASER: usize = 0x80;
const GITS_CWRITER: usize = 0x88;
const GITS_CREADR: usize = 0x90;
const GITS_BASER: usize = 0x100;
const GITS_TRANSLATER: u64 = 0x1_0040;

/// Memory the ITS and the redistributor need, handed in by start-up (physical and virtual
/// address of each zeroed, physically contiguous block).
pub struct ItsMemory {
    /// LPI configuration table: one byte per LPI, 8 KiB.
    pub configuration: (u64, usize),
    /// The boot CPU's LPI pending table: 64 KiB-aligned, 64 KiB.
    pub pending: (u64, usize),
    /// The command queue: one page.
    pub commands: (u64, usize),
    /// The device table: one page.
    pub devices: (u64, usize),
    /// The collection table: one page.
    pub collections: (u64, usize),
    /// Interrupt translation tables, 4 KiB per device: (physical, virtual, how many devices).
    pub translation_tables: (u64, usize, usize),
}

/// Why the ITS is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItsError {
    /// The GIC is not a GICv3 with LPIs.
    NoLpis,
    /// The ITS wants a table layout this code does not program.
    UnsupportedTables,
    /// The command queue did not drain.
    Stuck,
    /// No LPI, event or translation table left, or the requester ID is out of range.
    Exhausted,
}

impl core::fmt::Display for ItsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ItsError::NoLpis => "the redistributor has no LPI support",
            ItsError::UnsupportedTables => "the ITS wants tables this kernel does not set up",
            ItsError::Stuck => "the ITS did not process its commands",
            ItsError::Exhausted => "no LPI, event or translation table left",
        })
    }
}

struct State {
    registers: usize,
    physical: u64,
    commands: usize,
    write_offset: usize,
    configuration: usize,
    /// The target of collection 0 in MAPC/SYNC form.
    target: u64,
    translation_tables: (u64, usize),
    table_count: usize,
    tables_used: usize,
    /// Per requester ID: its translation table index + 1 (0 = not mapped yet), events used.
    devices: [(u16, u8); MAX_DEVICE_ID as usize],
}

static READY: AtomicBool = AtomicBool::new(false);
/// Taken with interrupts disabled (the arch layer's plain spin mutex, below `sync`).
static STATE: spin::Mutex<Option<State>> = spin::Mutex::new(None);
static NEXT_LPI: AtomicU32 = AtomicU32::new(FIRST_LPI);

fn read32(address: usize) -> u32 {
    // SAFETY: `init`'s caller mapped the ITS and redistributor frames uncached for good.
    unsafe { core::ptr::read_volatile(address as *const u32) }
}

fn write32(address: usize, value: u32) {
    // SAFETY: as for `read32`; the kernel owns the ITS.
    unsafe { core::ptr::write_volatile(address as *mut u32, value) }
}

fn read64(address: usize) -> u64 {
    // SAFETY: as for `read32`.
    unsafe { core::ptr::read_volatile(address as *const u64) }
}

fn write64(address: usize, value: u64) {
    // SAFETY: as for `read32`.
    unsafe { core::ptr::write_volatile(address as *mut u64, value) }
}

/// Inner write-back cacheable, inner shareable: how the tables are mapped in the direct map.
const CACHEABLE_SHAREABLE: u64 = (0b111 << 7) | (1 << 10);
const BASER_CACHEABLE_SHAREABLE: u64 = (0b111 << 59) | (1 << 10);

/// Whether message-signalled interrupts can be used.
pub fn available() -> bool {
    READY.load(Ordering::Acquire)
}

/// Enables LPIs on the boot CPU's redistributor, programs the ITS tables and command queue and
/// maps collection 0 to the boot CPU.
///
/// # Safety
/// `registers` must be an uncached mapping of the ITS's 128 KiB of registers at physical
/// `physical`, and every block of `memory` zeroed RAM owned by the ITS from now on.
pub unsafe fn init(registers: usize, physical: u64, memory: ItsMemory) -> Result<(), ItsError> {
    let (redistributor, redistributor_physical) =
        gic::this_redistributor_frame().ok_or(ItsError::NoLpis)?;
    let redistributor_type = read64(redistributor + 0x8);
    if gic::version() != 3 || redistributor_type & 1 == 0 {
        return Err(ItsError::NoLpis);
    }
    // Every LPI starts disabled at the kernel's one priority.
    for lpi in 0..(1usize << ID_BITS) - FIRST_LPI as usize {
        // SAFETY: the configuration block holds 2^ID_BITS - 8192 bytes (`ItsMemory`).
        unsafe { ((memory.configuration.1 + lpi) as *mut u8).write_volatile(0xa0) };
    }
    write64(
        redistributor + 0x70, // GICR_PROPBASER
        memory.configuration.0 | CACHEABLE_SHAREABLE | (ID_BITS - 1),
    );
    write64(
        redistributor + 0x78, // GICR_PENDBASER, the table is zeroed (PTZ)
        memory.pending.0 | CACHEABLE_SHAREABLE | (1 << 62),
    );
    // SAFETY: the tables must be in memory before the redistributor reads them.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
    write32(redistributor, read32(redistributor) | 1); // GICR_CTLR.EnableLPIs

    write32(registers + GITS_CTLR, 0);
    let its_type = read64(registers + GITS_TYPER);
    for n in 0..8 {
        let baser = registers + GITS_BASER + 8 * n;
        let value = read64(baser);
        let kind = (value >> 56) & 0x7;
        let entry_size = ((value >> 48) & 0x1f) + 1;
        let (table, entries) = match kind {
            0 => continue,
            1 => (memory.devices.0, u64::from(MAX_DEVICE_ID)),
            4 => (memory.collections.0, 1),
            _ => return Err(ItsError::UnsupportedTables),
        };
        if entry_size * entries > 4096 {
            return Err(ItsError::UnsupportedTables);
        }
        // Valid, one 4 KiB page, flat.
        write64(
            baser,
            (1 << 63) | BASER_CACHEABLE_SHAREABLE | (value & (0x7 << 56)) | table,
        );
        if (read64(baser) >> 8) & 0x3 != 0 {
            return Err(ItsError::UnsupportedTables); // the ITS insists on larger pages
        }
    }
    write64(
        registers + GITS_CBASER,
        (1 << 63) | BASER_CACHEABLE_SHAREABLE | memory.commands.0,
    );
    write64(registers + GITS_CWRITER, 0);
    write32(registers + GITS_CTLR, 1);
    // Collections name their CPU by redistributor address (PTA) or processor number.
    let target = if its_type & (1 << 19) != 0 {
        redistributor_physical & !0xffff
    } else {
        ((redistributor_type >> 8) & 0xffff) << 16
    };
    let mut state = State {
        registers,
        physical,
        commands: memory.commands.1,
        write_offset: 0,
        configuration: memory.configuration.1,
        target,
        translation_tables: (memory.translation_tables.0, memory.translation_tables.1),
        table_count: memory.translation_tables.2,
        tables_used: 0,
        devices: [(0, 0); MAX_DEVICE_ID as usize],
    };
    state.command([0x09, 0, (1 << 63) | target, 0])?; // MAPC collection 0
    state.command([0x05, 0, target, 0])?; // SYNC
    let was = super::cpu::disable_interrupts();
    *STATE.lock() = Some(state);
    super::cpu::restore_interrupts(was);
    READY.store(true, Ordering::Release);
    Ok(())
}

impl State {
    /// Queues one command and waits until the ITS has read it.
    fn command(&mut self, words: [u64; 4]) -> Result<(), ItsError> {
        let slot = self.commands + self.write_offset;
        for (i, word) in words.iter().enumerate() {
            // SAFETY: the queue page belongs to the ITS and this state; 32 bytes fit the slot.
            unsafe { ((slot + 8 * i) as *mut u64).write_volatile(*word) };
        }
        self.write_offset = (self.write_offset + 32) % 4096;
        // SAFETY: the command must be in memory before the ITS is told about it.
        unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
        write64(self.registers + GITS_CWRITER, self.write_offset as u64);
        for _ in 0..10_000_000 {
            let read = read64(self.registers + GITS_CREADR);
            if read & 1 != 0 {
                return Err(ItsError::Stuck); // stalled on a command error
            }
            if (read & 0xf_ffe0) as usize == self.write_offset {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err(ItsError::Stuck)
    }

    fn map_event(&mut self, requester: u16, lpi: u32) -> Result<u32, ItsError> {
        let device = usize::from(requester);
        if device >= MAX_DEVICE_ID as usize {
            return Err(ItsError::Exhausted);
        }
        let (table, events) = self.devices[device];
        if u32::from(events) >= EVENTS_PER_DEVICE {
            return Err(ItsError::Exhausted);
        }
        let id = u64::from(requester) << 32;
        if table == 0 {
            if self.tables_used == self.table_count {
                return Err(ItsError::Exhausted);
            }
            let itt = self.translation_tables.0 + self.tables_used as u64 * ITT_BYTES;
            self.tables_used += 1;
            self.devices[device].0 = self.tables_used as u16;
            let event_bits = u64::from(EVENTS_PER_DEVICE.trailing_zeros());
            self.command([0x08 | id, event_bits - 1, (1 << 63) | itt, 0])?; // MAPD
        }
        let event = u32::from(events);
        self.devices[device].1 += 1;
        // SAFETY: the configuration table holds a byte for every LPI handed out.
        unsafe {
            ((self.configuration + (lpi - FIRST_LPI) as usize) as *mut u8).write_volatile(0xa0 | 1)
        };
        self.command([0x0a | id, u64::from(event) | (u64::from(lpi) << 32), 0, 0])?; // MAPTI
        self.command([0x0c | id, u64::from(event), 0, 0])?; // INV: reload the enabled byte
        self.command([0x05, 0, self.target, 0])?; // SYNC
        Ok(event)
    }
}

/// The MSI message (doorbell address, data) that makes the function with `requester` ID raise
/// kernel `vector`: a fresh LPI and event are mapped to it.
pub fn message(requester: u16, vector: u8) -> Result<(u64, u32), ItsError> {
    if !available() {
        return Err(ItsError::NoLpis);
    }
    let lpi = NEXT_LPI
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |l| {
            (l < FIRST_LPI + LPI_COUNT).then_some(l + 1)
        })
        .map_err(|_| ItsError::Exhausted)?;
    traps::bind(vector, lpi);
    let was = super::cpu::disable_interrupts();
    let result = match STATE.lock().as_mut() {
        Some(state) => state
            .map_event(requester, lpi)
            .map(|event| (state.physical + GITS_TRANSLATER, event)),
        None => Err(ItsError::NoLpis),
    };
    super::cpu::restore_interrupts(was);
    result
}
