//! The virtio network driver (virtio 1.x section 5.1) over the modern PCI transport:
//! one receive and one transmit queue, interrupt-driven — MSI-X when the device has it (entry 0
//! for both queues, entry 1 for configuration changes such as the link status), else its INTx
//! line (`pci=nomsi` forces INTx).
//!
//! Every receive descriptor is posted at attach time, so up to a ring's worth of frames are in
//! flight; each buffer holds 4 KiB, more than an MTU-sized frame, so that oversized frames
//! reach us and are counted rather than vanishing inside the device. Transmit buffers are a
//! ring of fixed slots the stack fills in place. No offloads are negotiated: smoltcp computes
//! and checks every checksum itself.
//!
//! The interrupt handler only acknowledges, counts, notes link changes and calls the stack's
//! waker; frames move on the stack's polling thread.
//!
//! Lock order: `pci::irq`'s vector table → `VirtioNet::state`; nothing is taken under `state`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use spin::Once;

use super::device::{self, Anomaly, Counters, NetDevice, MAX_FRAME, MIN_FRAME};
use crate::mm::dma::{DmaBuffer, DmaLimit};
use crate::pci::irq::{self, MsixVectors};
use crate::pci::{self, Device};
use crate::sync::spin::IrqSpinLock;
use crate::virtio::transport::{self, Transport, VirtioError};
use crate::virtio::virtqueue::{Segment, Virtqueue};

/// PCI IDs: transitional and modern virtio-net.
pub const PCI_VENDOR: u16 = 0x1af4;
pub const PCI_DEVICES: [u16; 2] = [0x1000, 0x1041];

const FEATURE_MAC: u64 = 1 << 5;
const FEATURE_STATUS: u64 = 1 << 16;
const STATUS_LINK_UP: u16 = 1;
/// Device configuration: `mac` at 0, `status` at 6 (section 5.1.4).
const CONFIG_STATUS: usize = 6;

/// `struct virtio_net_hdr` with VIRTIO_F_VERSION_1: 12 bytes, all zero for us (no offloads).
const HEADER_BYTES: usize = 12;
const RECEIVE_QUEUE: u16 = 0;
const TRANSMIT_QUEUE: u16 = 1;
const QUEUE_LIMIT: u16 = 256;
const BUFFER_BYTES: usize = 4096;

/// ISR status bits (section 4.1.4.5).
const ISR_QUEUE: u8 = 1;
const ISR_CONFIG: u8 = 2;

struct State {
    receive: Virtqueue,
    receive_buffers: DmaBuffer,
    /// Receive buffer index by head descriptor.
    receive_slot_of: Vec<Option<u16>>,
    /// Receive buffers handed to the device.
    receive_posted: usize,
    transmit: Virtqueue,
    transmit_buffers: DmaBuffer,
    transmit_free: Vec<u16>,
    /// Transmit slot by head descriptor.
    transmit_slot_of: Vec<Option<u16>>,
}

impl State {
    /// Gives receive buffer `slot` to the device; false if the ring refused it.
    fn post_receive(&mut self, slot: u16) -> bool {
        let address =
            self.receive_buffers.physical_address() + (slot as usize * BUFFER_BYTES) as u64;
        let segment = Segment {
            address,
            length: BUFFER_BYTES as u32,
            device_writes: true,
        };
        match self.receive.push(&[segment]) {
            Some(head) => {
                self.receive_slot_of[head as usize] = Some(slot);
                self.receive_posted += 1;
                true
            }
            None => false,
        }
    }

    /// Takes finished transmissions back.
    fn reclaim_transmitted(&mut self) {
        while let Some((head, _)) = self.transmit.pop_used() {
            if let Some(slot) = self
                .transmit_slot_of
                .get_mut(head as usize)
                .and_then(Option::take)
            {
                self.transmit_free.push(slot);
            }
        }
    }
}

/// One virtio-net PCI function.
pub struct VirtioNet {
    name: String,
    pci: &'static Device,
    transport: Transport,
    mac: [u8; 6],
    status_feature: bool,
    receive_notify: AtomicUsize,
    transmit_notify: AtomicUsize,
    state: IrqSpinLock<State>,
    link_up: AtomicBool,
    waker: Once<fn()>,
    interrupt_mode: Once<String>,
    msix: Once<MsixVectors>,
    counters: Counters,
}

/// Attaches every virtio-net function and registers it as `eth0`, `eth1`, …
pub fn probe_all() {
    for pci_device in pci::find(PCI_VENDOR, &PCI_DEVICES) {
        match VirtioNet::attach(pci_device, device::next_name()) {
            Ok(net) => {
                log::info!("{}: {}", net.name, net.describe());
                device::register(net);
            }
            Err(error) => log::warn!(
                "virtio-net at {}: not attached: {error}",
                pci_device.address
            ),
        }
    }
}

fn format_mac(mac: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

impl VirtioNet {
    fn attach(pci_device: &'static Device, name: String) -> Result<Arc<Self>, VirtioError> {
        irq::enable_bus_master(pci_device)?;
        let transport = Transport::new(pci_device)?;
        let features = transport.negotiate(FEATURE_MAC | FEATURE_STATUS)?;
        let mut mac = [0u8; 6];
        if features & FEATURE_MAC != 0 {
            for (index, byte) in mac.iter_mut().enumerate() {
                *byte = transport.device_u8(index);
            }
        } else {
            // A locally administered address derived from the PCI location.
            let address = pci_device.address;
            mac = [0x02, 0, 0, address.bus, address.device, address.function];
        }
        let sizes = [
            transport.queue_size(RECEIVE_QUEUE).min(QUEUE_LIMIT),
            transport.queue_size(TRANSMIT_QUEUE).min(QUEUE_LIMIT),
        ];
        for (index, size) in sizes.iter().enumerate() {
            if *size < 2 || !size.is_power_of_two() {
                return Err(VirtioError::QueueUnavailable(index as u16));
            }
        }
        let allocate = |slots: u16| {
            DmaBuffer::allocate(slots as usize * BUFFER_BYTES, 4096, DmaLimit::Any)
                .map_err(|_| VirtioError::OutOfMemory)
        };
        let state = State {
            receive: Virtqueue::new(sizes[0]).map_err(|_| VirtioError::OutOfMemory)?,
            receive_buffers: allocate(sizes[0])?,
            receive_slot_of: vec![None; sizes[0] as usize],
            receive_posted: 0,
            transmit: Virtqueue::new(sizes[1]).map_err(|_| VirtioError::OutOfMemory)?,
            transmit_buffers: allocate(sizes[1])?,
            transmit_free: (0..sizes[1]).rev().collect(),
            transmit_slot_of: vec![None; sizes[1] as usize],
        };
        let net = Arc::new(Self {
            name,
            pci: pci_device,
            transport,
            mac,
            status_feature: features & FEATURE_STATUS != 0,
            receive_notify: AtomicUsize::new(0),
            transmit_notify: AtomicUsize::new(0),
            state: IrqSpinLock::new("virtio-net", state),
            link_up: AtomicBool::new(true),
            waker: Once::new(),
            interrupt_mode: Once::new(),
            msix: Once::new(),
            counters: Counters::default(),
        });
        net.setup_interrupts()?;
        {
            let mut state = net.state.lock();
            for slot in 0..sizes[0] {
                state.post_receive(slot);
            }
        }
        net.transport.add_status(transport::STATUS_DRIVER_OK);
        net.refresh_link();
        net.notify(RECEIVE_QUEUE);
        Ok(net)
    }

    /// MSI-X (queues on entry 0, configuration on entry 1) when possible, else INTx.
    fn setup_interrupts(self: &Arc<Self>) -> Result<(), VirtioError> {
        let pci_device = self.pci;
        if !irq::msi_forbidden() && pci_device.capability(pci::capability::ID_MSIX).is_some() {
            let queues = Arc::clone(self);
            let config = Arc::clone(self);
            let handlers: Vec<irq::Handler> = vec![
                Arc::new(move || queues.on_interrupt(ISR_QUEUE)),
                Arc::new(move || config.on_interrupt(ISR_CONFIG)),
            ];
            match irq::enable_msix(pci_device, handlers) {
                Ok(vectors) => match self.setup_queues(0, 1) {
                    Ok(()) => {
                        let vector = vectors.vector(0).unwrap_or(0);
                        self.msix.call_once(|| vectors);
                        self.interrupt_mode
                            .call_once(|| format!("MSI-X (vector {vector:#x})"));
                        return Ok(());
                    }
                    Err(error) => {
                        log::warn!(
                            "{}: MSI-X refused ({error}); using INTx",
                            pci_device.address
                        );
                        vectors.table().disable()?;
                        // The queues stay unconfigured on failure; a reset lets us start over.
                        self.transport.reset();
                        self.transport.negotiate(FEATURE_MAC | FEATURE_STATUS)?;
                    }
                },
                Err(error) => log::warn!("{}: no MSI-X ({error}); using INTx", pci_device.address),
            }
        }
        self.setup_queues(transport::NO_VECTOR, transport::NO_VECTOR)?;
        let me = Arc::clone(self);
        let route = irq::attach_intx(pci_device, Arc::new(move || me.on_intx()))?;
        self.interrupt_mode.call_once(|| {
            format!(
                "INTx (line {}, GSI {})",
                pci_device.interrupt_line, route.gsi
            )
        });
        Ok(())
    }

    fn setup_queues(&self, queue_entry: u16, config_entry: u16) -> Result<(), VirtioError> {
        let state = self.state.lock();
        if config_entry == transport::NO_VECTOR {
            self.transport.disable_config_interrupt();
        } else {
            self.transport.set_config_vector(config_entry)?;
        }
        let offset = self
            .transport
            .setup_queue(RECEIVE_QUEUE, &state.receive, queue_entry)?;
        self.receive_notify.store(offset, Ordering::Relaxed);
        let offset = self
            .transport
            .setup_queue(TRANSMIT_QUEUE, &state.transmit, queue_entry)?;
        self.transmit_notify.store(offset, Ordering::Relaxed);
        Ok(())
    }

    fn on_intx(&self) {
        let isr = self.transport.read_isr();
        if isr & (ISR_QUEUE | ISR_CONFIG) == 0 {
            return; // another device on the shared line
        }
        self.on_interrupt(isr);
    }

    /// Interrupt context: counts, notes a link change, wakes the stack.
    fn on_interrupt(&self, cause: u8) {
        Counters::add(&self.counters.interrupts, 1);
        if cause & ISR_CONFIG != 0 {
            self.refresh_link();
        }
        if let Some(waker) = self.waker.get() {
            waker();
        }
    }

    /// Re-reads the link status; a change is counted and logged.
    fn refresh_link(&self) {
        if !self.status_feature {
            return;
        }
        let up = self.transport.device_u16(CONFIG_STATUS) & STATUS_LINK_UP != 0;
        if self.link_up.swap(up, Ordering::Relaxed) != up {
            Counters::add(&self.counters.link_changes, 1);
            log::info!("{}: link {}", self.name, if up { "up" } else { "down" });
        }
    }

    fn notify(&self, queue: u16) {
        let offset = match queue {
            RECEIVE_QUEUE => &self.receive_notify,
            _ => &self.transmit_notify,
        };
        self.transport.notify(offset.load(Ordering::Relaxed), queue);
    }
}

impl NetDevice for VirtioNet {
    fn name(&self) -> &str {
        &self.name
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn link_up(&self) -> bool {
        self.link_up.load(Ordering::Relaxed)
    }

    fn receive(&self) -> Option<Vec<u8>> {
        loop {
            let mut state = self.state.lock();
            if state.receive_posted > 0 && state.receive.used_pending() == state.receive_posted {
                drop(state);
                self.counters.anomaly(
                    &self.name,
                    Anomaly::ReceiveRingFull,
                    format_args!("all receive buffers were filled before the stack came"),
                );
                state = self.state.lock();
            }
            let (head, written) = state.receive.pop_used()?;
            state.receive_posted = state.receive_posted.saturating_sub(1);
            let Some(slot) = state
                .receive_slot_of
                .get_mut(head as usize)
                .and_then(Option::take)
            else {
                drop(state);
                self.counters.anomaly(
                    &self.name,
                    Anomaly::DeviceError,
                    format_args!("the device returned unknown descriptor {head}"),
                );
                continue;
            };
            let written = written as usize;
            let base = slot as usize * BUFFER_BYTES;
            let frame = if written > BUFFER_BYTES {
                Err((Anomaly::DeviceError, written))
            } else if written < HEADER_BYTES + MIN_FRAME {
                Err((Anomaly::Runt, written.saturating_sub(HEADER_BYTES)))
            } else if written > HEADER_BYTES + MAX_FRAME {
                Err((Anomaly::Oversized, written - HEADER_BYTES))
            } else {
                let bytes = state.receive_buffers.as_mut_slice();
                Ok(bytes[base + HEADER_BYTES..base + written].to_vec())
            };
            state.post_receive(slot);
            drop(state);
            self.notify(RECEIVE_QUEUE);
            match frame {
                Ok(frame) => {
                    Counters::add(&self.counters.received_frames, 1);
                    Counters::add(&self.counters.received_bytes, frame.len() as u64);
                    return Some(frame);
                }
                Err((kind, length)) => {
                    self.counters
                        .anomaly(&self.name, kind, format_args!("{length} bytes"))
                }
            }
        }
    }

    fn can_transmit(&self) -> bool {
        let mut state = self.state.lock();
        state.reclaim_transmitted();
        !state.transmit_free.is_empty()
    }

    fn transmit_with(&self, length: usize, fill: &mut dyn FnMut(&mut [u8])) -> bool {
        if length > MAX_FRAME {
            return false;
        }
        let mut state = self.state.lock();
        state.reclaim_transmitted();
        let Some(slot) = state.transmit_free.pop() else {
            drop(state);
            self.counters.anomaly(
                &self.name,
                Anomaly::TransmitRingFull,
                format_args!("a {length}-byte frame waited for a buffer"),
            );
            return false;
        };
        let base = slot as usize * BUFFER_BYTES;
        let physical = state.transmit_buffers.physical_address() + base as u64;
        {
            let bytes = state.transmit_buffers.as_mut_slice();
            bytes[base..base + HEADER_BYTES].fill(0);
            fill(&mut bytes[base + HEADER_BYTES..base + HEADER_BYTES + length]);
        }
        let segment = Segment {
            address: physical,
            length: (HEADER_BYTES + length) as u32,
            device_writes: false,
        };
        match state.transmit.push(&[segment]) {
            Some(head) => state.transmit_slot_of[head as usize] = Some(slot),
            None => {
                state.transmit_free.push(slot);
                return false;
            }
        }
        drop(state);
        self.notify(TRANSMIT_QUEUE);
        Counters::add(&self.counters.sent_frames, 1);
        Counters::add(&self.counters.sent_bytes, length as u64);
        true
    }

    fn set_waker(&self, waker: fn()) {
        self.waker.call_once(|| waker);
    }

    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn describe(&self) -> String {
        format!(
            "virtio-net {:04x}:{:04x} at {}, MAC {}, {}, link {}",
            self.pci.vendor_id,
            self.pci.device_id,
            self.pci.address,
            format_mac(&self.mac),
            self.interrupt_mode
                .get()
                .map(String::as_str)
                .unwrap_or("no interrupt"),
            if self.link_up() { "up" } else { "down" }
        )
    }
}
