//! Device interrupts: MSI-X, MSI and legacy INTx through the I/O APIC, with shared lines chained.
//!
//! Every PCI interrupt ends in one local-APIC vector whose trap handler is `dispatch`; it calls
//! each [`Handler`] registered for the vector in order. An INTx line (one GSI) gets one vector and
//! may carry several handlers (devices share lines); an MSI or MSI-X message gets its own vector.
//! Handlers run in interrupt context with interrupts off: they acknowledge their device, record
//! what happened and return; they never block. The trap dispatcher sends the EOI.
//!
//! On aarch64 the same lines are the GIC's shared peripheral interrupts (`arch::gic::lines`), and
//! MSI/MSI-X messages go through the GICv3 ITS (`arch::msi`).
//!
//! INTx uses the firmware's interrupt-line register, level-triggered, active-low. A line below 16
//! is an ISA IRQ number (SeaBIOS programs the chipset's PIRQ routers to IRQs 10/11 and writes
//! that): it goes through the MADT's interrupt source overrides like any ISA IRQ, but stays
//! level-triggered. See docs/pci.md for why this and not ACPI `_PRT`.
//!
//! Lock order: `VECTORS` is held while handlers run, so a handler may take its driver's lock but
//! a driver must not call into this module while holding a lock its handler takes.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::capability::{self, MsixTable};
use super::config::{self, PciError};
use super::Device;
use crate::arch::traps;
// The interrupt controller's line routing: the I/O APIC's pins (GSIs) on x86_64, the GIC's
// shared peripheral interrupts on aarch64, behind the same functions.
#[cfg(target_arch = "aarch64")]
use crate::arch::gic::lines;
#[cfg(target_arch = "x86_64")]
use crate::arch::ioapic as lines;
use crate::sync::spin::IrqSpinLock;

/// An interrupt handler: called in interrupt context, must not block.
pub type Handler = Arc<dyn Fn() + Send + Sync>;

static VECTORS: IrqSpinLock<[Vec<Handler>; 256]> =
    IrqSpinLock::new("pci-vectors", [const { Vec::new() }; 256]);
/// GSI → vector for INTx lines already routed.
static LINES: IrqSpinLock<BTreeMap<u32, u8>> = IrqSpinLock::new("pci-lines", BTreeMap::new());

/// Where PCI interrupts are delivered: the boot CPU (recorded at `pci::init`).
fn destination() -> u32 {
    crate::arch::cpus::apic_id_of(0).unwrap_or(0)
}

fn dispatch(vector: u8) {
    if STORMS[vector as usize].record(crate::time::monotonic_nanos()) {
        contain_storm(vector);
        return;
    }
    let handlers = VECTORS.lock();
    for handler in handlers[vector as usize].iter() {
        handler();
    }
}

/// Interrupts per window above which a line counts as storming (a million per second).
const STORM_LIMIT: u32 = 100_000;
/// Length of the counting window.
const STORM_WINDOW_NANOS: u64 = 100_000_000;

/// Counts interrupts of one vector in fixed windows and says when a window overflows.
pub struct StormDetector {
    window_start: core::sync::atomic::AtomicU64,
    count: core::sync::atomic::AtomicU32,
    tripped: core::sync::atomic::AtomicBool,
}

impl StormDetector {
    /// A detector that has seen nothing.
    pub const fn new() -> Self {
        Self {
            window_start: core::sync::atomic::AtomicU64::new(0),
            count: core::sync::atomic::AtomicU32::new(0),
            tripped: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Records one interrupt at `now`; true exactly once, when the limit is first exceeded.
    pub fn record(&self, now: u64) -> bool {
        use core::sync::atomic::Ordering::Relaxed;
        if now.saturating_sub(self.window_start.load(Relaxed)) > STORM_WINDOW_NANOS {
            self.window_start.store(now, Relaxed);
            self.count.store(0, Relaxed);
        }
        self.count.fetch_add(1, Relaxed) + 1 > STORM_LIMIT && !self.tripped.swap(true, Relaxed)
    }

    /// Whether this vector was ever masked as a storm.
    pub fn tripped(&self) -> bool {
        self.tripped.load(core::sync::atomic::Ordering::Relaxed)
    }
}

impl Default for StormDetector {
    fn default() -> Self {
        Self::new()
    }
}

static STORMS: [StormDetector; 256] = [const { StormDetector::new() }; 256];

/// Masks a storming INTx line (MSI vectors cannot be masked here; they are reported).
fn contain_storm(vector: u8) {
    let gsi = LINES
        .try_lock()
        .and_then(|lines| lines.iter().find(|(_, v)| **v == vector).map(|(g, _)| *g));
    match gsi {
        Some(gsi) => {
            let _ = lines::set_masked(gsi, true);
            log::error!("interrupt storm on GSI {gsi} (vector {vector:#x}): over {STORM_LIMIT} interrupts in 100 ms; line masked");
        }
        None => log::error!(
            "interrupt storm on vector {vector:#x}: over {STORM_LIMIT} interrupts in 100 ms"
        ),
    }
}

/// Vectors masked as storms so far.
pub fn storming_vectors() -> impl Iterator<Item = u8> {
    (0..=255u8).filter(|v| STORMS[*v as usize].tripped())
}

fn new_vector(handler: Handler) -> Result<u8, PciError> {
    let vector = traps::allocate_vector().ok_or(PciError::NoVector)?;
    VECTORS.lock()[vector as usize].push(handler);
    traps::set_handler(vector, dispatch);
    Ok(vector)
}

/// How an INTx line reaches the I/O APIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntxRoute {
    /// Global system interrupt.
    pub gsi: u32,
    /// Trigger mode and polarity programmed.
    pub polarity: lines::Polarity,
}

/// The GSI and polarity for a device's INTx, from its interrupt-line register.
pub fn intx_route(device: &Device) -> Result<IntxRoute, PciError> {
    if device.interrupt_pin == 0 || device.interrupt_line == 0xff {
        return Err(PciError::NoInterruptLine(device.address));
    }
    let line = device.interrupt_line;
    // On aarch64 the line register holds the GIC interrupt ID that `assign` worked out.
    if line < 16 && cfg!(target_arch = "x86_64") {
        isa_line_route(line)
    } else {
        Ok(IntxRoute {
            gsi: line as u32,
            polarity: lines::PCI_DEFAULT,
        })
    }
}

/// An ISA IRQ number the firmware wrote, through the MADT's overrides, kept level-triggered.
#[cfg(target_arch = "x86_64")]
fn isa_line_route(line: u8) -> Result<IntxRoute, PciError> {
    let (gsi, mut polarity) = crate::firmware::platform().isa_irq_route(line);
    // An override without trigger flags means "bus default", edge for ISA; PCI is level.
    polarity.level_triggered = true;
    if crate::firmware::platform()
        .overrides
        .iter()
        .all(|o| o.isa_irq != line)
    {
        polarity.active_low = true;
    }
    Ok(IntxRoute { gsi, polarity })
}

#[cfg(not(target_arch = "x86_64"))]
fn isa_line_route(line: u8) -> Result<IntxRoute, PciError> {
    Err(PciError::NoGsi(u32::from(line)))
}

/// Adds `handler` to the device's INTx line, routing and unmasking the line on first use.
pub fn attach_intx(device: &Device, handler: Handler) -> Result<IntxRoute, PciError> {
    let route = intx_route(device)?;
    let mut lines = LINES.lock();
    if let Some(&vector) = lines.get(&route.gsi) {
        VECTORS.lock()[vector as usize].push(handler);
    } else {
        let vector = new_vector(handler)?;
        lines::route(route.gsi, vector, destination(), route.polarity)
            .map_err(|_| PciError::NoGsi(route.gsi))?;
        lines.insert(route.gsi, vector);
        lines::set_masked(route.gsi, false).map_err(|_| PciError::NoGsi(route.gsi))?;
    }
    drop(lines);
    capability::set_intx_disabled(device.address, false)?;
    Ok(route)
}

/// Removes `handler` (the same `Arc` given to [`attach_intx`]) from the INTx line `gsi`; the
/// line is masked when no handler is left. Returns whether the handler was attached.
pub fn detach_intx(gsi: u32, handler: &Handler) -> bool {
    let lines = LINES.lock();
    let Some(&vector) = lines.get(&gsi) else {
        return false;
    };
    let mut vectors = VECTORS.lock();
    let chain = &mut vectors[vector as usize];
    let before = chain.len();
    chain.retain(|attached| !Arc::ptr_eq(attached, handler));
    let removed = chain.len() < before;
    if removed && chain.is_empty() {
        let _ = lines::set_masked(gsi, true);
    }
    removed
}

/// MSI-X in use by a device: the mapped table and the vector of each entry.
#[derive(Debug)]
pub struct MsixVectors {
    table: MsixTable,
    vectors: Vec<u8>,
}

impl MsixVectors {
    /// The vector behind table entry `entry`.
    pub fn vector(&self, entry: usize) -> Option<u8> {
        self.vectors.get(entry).copied()
    }

    /// The mapped table (to mask entries).
    pub fn table(&self) -> &MsixTable {
        &self.table
    }
}

/// Enables MSI-X with table entry `i` raising a vector that calls `handlers[i]`.
pub fn enable_msix(device: &Device, handlers: Vec<Handler>) -> Result<MsixVectors, PciError> {
    let table = MsixTable::map(device)?;
    if handlers.len() > table.size() as usize {
        return Err(PciError::NoVector);
    }
    let mut vectors = Vec::with_capacity(handlers.len());
    for (entry, handler) in handlers.into_iter().enumerate() {
        let vector = new_vector(handler)?;
        table.set_entry(entry as u16, vector, destination())?;
        vectors.push(vector);
    }
    table.enable()?;
    Ok(MsixVectors { table, vectors })
}

/// Enables single-message MSI raising a vector that calls `handler`; returns the vector.
pub fn enable_msi(device: &Device, handler: Handler) -> Result<u8, PciError> {
    if device.capability(capability::ID_MSI).is_none() {
        return Err(PciError::MissingCapability {
            address: device.address,
            capability: "MSI",
        });
    }
    let vector = new_vector(handler)?;
    capability::enable_msi(device, vector, destination())?;
    Ok(vector)
}

/// Whether the command line forbids message-signalled interrupts (`pci=nomsi`).
/// Message-signalled interrupts also need the architecture to deliver them (on aarch64 a GICv3
/// ITS); without, devices use INTx.
pub fn msi_forbidden() -> bool {
    !crate::arch::msi::available() || crate::boot::info().option("pci") == Some("nomsi")
}

/// Turns on memory decoding and bus mastering (needed before DMA and MSI).
pub fn enable_bus_master(device: &Device) -> Result<(), PciError> {
    let command = config::read_u16(device.address, config::COMMAND)?;
    config::write_u16(
        device.address,
        config::COMMAND,
        command | config::COMMAND_MEMORY | config::COMMAND_IO | config::COMMAND_BUS_MASTER,
    )
}

/// Handlers attached to the INTx line `gsi` (devices sharing it).
pub fn intx_handlers(gsi: u32) -> usize {
    let vector = LINES.lock().get(&gsi).copied();
    vector.map_or(0, |v| VECTORS.lock()[v as usize].len())
}

/// Whether the INTx line `gsi` is masked at the I/O APIC.
pub fn intx_masked(gsi: u32) -> Result<bool, PciError> {
    lines::is_masked(gsi).map_err(|_| PciError::NoGsi(gsi))
}

/// Masks or unmasks an INTx line at the I/O APIC. A handler that cannot silence its device in
/// interrupt context (the rump dispatcher) masks the line there and unmasks it once the device
/// was serviced; the line's other handlers wait meanwhile.
pub fn set_intx_masked(gsi: u32, masked: bool) -> Result<(), PciError> {
    lines::set_masked(gsi, masked).map_err(|_| PciError::NoGsi(gsi))
}
