//! The virtio block driver (virtio 1.x section 5.2) over the modern PCI transport, one queue,
//! interrupt-driven: MSI-X when the device has it, else its INTx line (`pci=nomsi` forces INTx).
//!
//! A request becomes a descriptor chain: a 16-byte header the device reads, the caller's buffer
//! as one or more physically contiguous segments, and a status byte the device writes. Requests
//! that do not fit in the ring wait in a FIFO and are issued as completions free descriptors.
//! Completions run from the interrupt handler, outside the queue lock.
//!
//! Lock order: `pci::irq`'s vector table → `VirtioBlk::state` (the handler runs under the
//! former); nothing else is taken while holding `state`.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use spin::Once;

use super::{registry, BlockDevice, BlockError, Operation, Request};
use crate::mm::dma::{DmaBuffer, DmaLimit};
use crate::pci::irq::{self, MsixVectors};
use crate::pci::{self, Device};
use crate::sync::spin::IrqSpinLock;
use crate::virtio::transport::{self as virtio_pci, Transport, VirtioError};
use crate::virtio::virtqueue::{Segment, Virtqueue};

/// PCI IDs: transitional and modern virtio-blk.
pub const PCI_VENDOR: u16 = 0x1af4;
pub const PCI_DEVICES: [u16; 2] = [0x1001, 0x1042];

const FEATURE_SEG_MAX: u64 = 1 << 2;
const FEATURE_READ_ONLY: u64 = 1 << 5;
const FEATURE_FLUSH: u64 = 1 << 9;

const REQUEST_IN: u32 = 0;
const REQUEST_OUT: u32 = 1;
const REQUEST_FLUSH: u32 = 4;
const STATUS_OK: u8 = 0;
const STATUS_IO_ERROR: u8 = 1;
const STATUS_UNSUPPORTED: u8 = 2;
/// Written before submission; a completion still showing it means the device wrote no status.
const STATUS_UNSET: u8 = 0xff;

const QUEUE_LIMIT: u16 = 256;
/// Per request: header (16 bytes) then the status byte, padded.
const SLOT_BYTES: usize = 32;
const SECTOR_BYTES: u32 = 512;

/// A request waiting for descriptors, with its chain prepared (header and status addresses are
/// filled in when it is issued).
struct Queued {
    request: Request,
    chain: Vec<Segment>,
}

struct State {
    queue: Virtqueue,
    /// Header/status slots, one per request in flight.
    slots: DmaBuffer,
    free_slots: Vec<u16>,
    /// By head descriptor: the request and its slot.
    in_flight: Vec<Option<(Request, u16)>>,
    /// Requests the device holds now, and the most it held at once.
    outstanding: usize,
    most_outstanding: usize,
    waiting: VecDeque<Queued>,
}

impl State {
    /// Issues waiting requests while descriptors and slots last; returns whether any was issued.
    fn issue_waiting(&mut self) -> bool {
        let mut issued = false;
        while let Some(front) = self.waiting.front() {
            if front.chain.len() > self.queue.free_count() || self.free_slots.is_empty() {
                break;
            }
            let Some(mut queued) = self.waiting.pop_front() else {
                break;
            };
            let slot = self.free_slots.pop().unwrap_or(0);
            let base = slot as usize * SLOT_BYTES;
            let kind = match queued.request.operation {
                Operation::Read => REQUEST_IN,
                Operation::Write => REQUEST_OUT,
                Operation::Flush => REQUEST_FLUSH,
            };
            let bytes = self.slots.as_mut_slice();
            bytes[base..base + 4].copy_from_slice(&kind.to_le_bytes());
            bytes[base + 4..base + 8].fill(0);
            bytes[base + 8..base + 16].copy_from_slice(&queued.request.sector.to_le_bytes());
            bytes[base + 16] = STATUS_UNSET;
            let physical = self.slots.physical_address() + base as u64;
            let last = queued.chain.len() - 1;
            queued.chain[0].address = physical;
            queued.chain[last].address = physical + 16;
            match self.queue.push(&queued.chain) {
                Some(head) => {
                    self.in_flight[head as usize] = Some((queued.request, slot));
                    self.outstanding += 1;
                    self.most_outstanding = self.most_outstanding.max(self.outstanding);
                    issued = true;
                }
                None => {
                    self.free_slots.push(slot);
                    self.waiting.push_front(queued);
                    break;
                }
            }
        }
        issued
    }
}

/// One virtio-blk PCI function.
pub struct VirtioBlk {
    pci: &'static Device,
    transport: Transport,
    notify_offset: AtomicUsize,
    state: IrqSpinLock<State>,
    sector_count: u64,
    read_only: bool,
    flush: bool,
    segment_limit: usize,
    interrupt_mode: Once<String>,
    msix: Once<MsixVectors>,
    interrupts: AtomicU64,
}

/// Attaches every virtio-blk function and registers it as `vda`, `vdb`, …
pub fn probe_all() {
    for device in pci::find(PCI_VENDOR, &PCI_DEVICES) {
        match VirtioBlk::attach(device) {
            Ok(blk) => {
                let description = blk.describe();
                let disk = registry::register("vd", blk);
                log::info!(
                    "{}: {} MiB, {}",
                    disk.name(),
                    disk.size_bytes() >> 20,
                    description
                );
            }
            Err(error) => log::warn!("virtio-blk at {}: not attached: {error}", device.address),
        }
    }
}

/// Splits `[address, address + length)` into physically contiguous segments.
fn segments_of(
    address: u64,
    length: usize,
    device_writes: bool,
    out: &mut Vec<Segment>,
) -> Result<(), BlockError> {
    let end = address + length as u64;
    let mut at = address;
    while at < end {
        let physical = crate::mm::virt_to_phys_linear(at)
            .or_else(|| crate::mm::paging::translate(at).map(|t| t.physical))
            .ok_or(BlockError::UnmappedBuffer { address: at })?;
        let chunk = (4096 - (at & 0xfff)).min(end - at) as u32;
        match out.last_mut() {
            Some(last)
                if last.address + last.length as u64 == physical
                    && last.length.checked_add(chunk).is_some() =>
            {
                last.length += chunk
            }
            _ => out.push(Segment {
                address: physical,
                length: chunk,
                device_writes,
            }),
        }
        at += chunk as u64;
    }
    Ok(())
}

impl VirtioBlk {
    fn attach(device: &'static Device) -> Result<Arc<Self>, VirtioError> {
        irq::enable_bus_master(device)?;
        let transport = Transport::new(device)?;
        let features = transport.negotiate(FEATURE_SEG_MAX | FEATURE_READ_ONLY | FEATURE_FLUSH)?;
        let size = transport.queue_size(0).min(QUEUE_LIMIT);
        if size < 4 || !size.is_power_of_two() {
            return Err(VirtioError::QueueUnavailable(0));
        }
        let queue = Virtqueue::new(size).map_err(|_| VirtioError::OutOfMemory)?;
        let slots = DmaBuffer::allocate(size as usize * SLOT_BYTES, 4096, DmaLimit::Any)
            .map_err(|_| VirtioError::OutOfMemory)?;
        let segment_limit = if features & FEATURE_SEG_MAX != 0 {
            (transport.device_u32(12) as usize).clamp(1, size as usize - 2)
        } else {
            size as usize - 2
        };
        let blk = Arc::new(Self {
            pci: device,
            sector_count: transport.device_u64(0),
            read_only: features & FEATURE_READ_ONLY != 0,
            flush: features & FEATURE_FLUSH != 0,
            segment_limit,
            transport,
            notify_offset: AtomicUsize::new(0),
            state: IrqSpinLock::new(
                "virtio-blk",
                State {
                    queue,
                    slots,
                    free_slots: (0..size).rev().collect(),
                    in_flight: (0..size).map(|_| None).collect(),
                    outstanding: 0,
                    most_outstanding: 0,
                    waiting: VecDeque::new(),
                },
            ),
            interrupt_mode: Once::new(),
            msix: Once::new(),
            interrupts: AtomicU64::new(0),
        });
        blk.setup_interrupts()?;
        blk.transport.add_status(virtio_pci::STATUS_DRIVER_OK);
        Ok(blk)
    }

    /// MSI-X entry 0 for the queue when possible, else the INTx line; then the queue itself.
    fn setup_interrupts(self: &Arc<Self>) -> Result<(), VirtioError> {
        let device = self.pci;
        if !irq::msi_forbidden() && device.capability(pci::capability::ID_MSIX).is_some() {
            let me = Arc::clone(self);
            let handler: irq::Handler = Arc::new(move || me.on_interrupt(false));
            match irq::enable_msix(device, vec![handler]) {
                Ok(vectors) => {
                    self.transport.disable_config_interrupt();
                    match self.setup_queue(0) {
                        Ok(()) => {
                            let vector = vectors.vector(0).unwrap_or(0);
                            self.msix.call_once(|| vectors);
                            self.interrupt_mode
                                .call_once(|| format!("MSI-X (vector {vector:#x})"));
                            return Ok(());
                        }
                        Err(error) => {
                            log::warn!("{}: MSI-X refused ({error}); using INTx", device.address);
                            vectors.table().disable()?;
                        }
                    }
                }
                Err(error) => log::warn!("{}: no MSI-X ({error}); using INTx", device.address),
            }
        }
        self.setup_queue(virtio_pci::NO_VECTOR)?;
        let me = Arc::clone(self);
        let route = irq::attach_intx(device, Arc::new(move || me.on_interrupt(true)))?;
        self.interrupt_mode
            .call_once(|| format!("INTx (line {}, GSI {})", device.interrupt_line, route.gsi));
        Ok(())
    }

    fn setup_queue(&self, msix_entry: u16) -> Result<(), VirtioError> {
        let state = self.state.lock();
        let offset = self.transport.setup_queue(0, &state.queue, msix_entry)?;
        self.notify_offset.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// The interrupt handler: acknowledges INTx, then completes every finished request.
    fn on_interrupt(&self, intx: bool) {
        if intx && self.transport.read_isr() & 1 == 0 {
            return; // another device on the shared line
        }
        self.interrupts.fetch_add(1, Ordering::Relaxed);
        loop {
            let mut state = self.state.lock();
            let Some((head, _written)) = state.queue.pop_used() else {
                break;
            };
            let Some((request, slot)) = state
                .in_flight
                .get_mut(head as usize)
                .and_then(Option::take)
            else {
                drop(state);
                log::error!(
                    "{}: device completed unknown descriptor {head}",
                    self.pci.address
                );
                continue;
            };
            let status = state.slots.as_mut_slice()[slot as usize * SLOT_BYTES + 16];
            state.free_slots.push(slot);
            state.outstanding -= 1;
            let issued = state.issue_waiting();
            drop(state);
            if issued {
                self.notify();
            }
            request.complete(match status {
                STATUS_OK => Ok(()),
                STATUS_IO_ERROR => Err(BlockError::DeviceError),
                STATUS_UNSUPPORTED => Err(BlockError::Unsupported),
                other => Err(BlockError::BadStatus(other)),
            });
        }
        super::completion::notify_waiters();
    }

    fn notify(&self) {
        self.transport
            .notify(self.notify_offset.load(Ordering::Relaxed), 0);
    }

    /// Interrupts taken so far.
    pub fn interrupt_count(&self) -> u64 {
        self.interrupts.load(Ordering::Relaxed)
    }

    /// The most requests the device has held at once.
    pub fn most_in_flight(&self) -> usize {
        self.state.lock().most_outstanding
    }
}

impl BlockDevice for VirtioBlk {
    fn sector_size(&self) -> u32 {
        SECTOR_BYTES
    }

    fn sector_count(&self) -> u64 {
        self.sector_count
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn describe(&self) -> String {
        format!(
            "virtio-blk {:04x}:{:04x} at {}, {}, {} interrupts, up to {} requests in flight{}",
            self.pci.vendor_id,
            self.pci.device_id,
            self.pci.address,
            self.interrupt_mode
                .get()
                .map(String::as_str)
                .unwrap_or("no interrupt"),
            self.interrupt_count(),
            self.most_in_flight(),
            if self.read_only { ", read-only" } else { "" }
        )
    }

    fn start(&self, mut request: Request) {
        let mut chain = Vec::with_capacity(3);
        chain.push(Segment {
            address: 0,
            length: 16,
            device_writes: false,
        });
        if request.operation == Operation::Flush {
            if !self.flush {
                // Without VIRTIO_BLK_F_FLUSH the device has no volatile cache: writes are durable.
                request.complete(Ok(()));
                return;
            }
        } else {
            let device_writes = request.operation == Operation::Read;
            let mapped = request.buffer.parts().try_for_each(|(address, length)| {
                segments_of(address as u64, length, device_writes, &mut chain)
            });
            if let Err(error) = mapped {
                request.complete(Err(error));
                return;
            }
            if chain.len() - 1 > self.segment_limit {
                let needed = chain.len() - 1;
                let limit = self.segment_limit;
                request.complete(Err(BlockError::TooManySegments { needed, limit }));
                return;
            }
        }
        chain.push(Segment {
            address: 0,
            length: 1,
            device_writes: true,
        });
        let mut state = self.state.lock();
        state.waiting.push_back(Queued { request, chain });
        let issued = state.issue_waiting();
        drop(state);
        if issued {
            self.notify();
        }
    }
}
