//! The native network-device interface: what a NIC driver offers the stacks above it, the
//! counters every interface keeps, and the registry of interfaces (`eth0`, `eth1`, …).
//!
//! A driver copies each received frame out of its ring ([`NetDevice::receive`]) and fills a
//! transmit buffer in place ([`NetDevice::transmit_with`]); it wakes the stack's polling thread
//! from its interrupt handler through the waker the stack installs. Bad frames are counted and
//! the first of each kind is logged ([`Counters`]); none is ever a panic.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::sync::spin::IrqSpinLock;

/// Largest Ethernet frame without its frame check sequence (1500-byte MTU + 14-byte header).
pub const MAX_FRAME: usize = 1514;
/// Smallest frame that carries an Ethernet header.
pub const MIN_FRAME: usize = 14;

/// A network interface driver.
pub trait NetDevice: Send + Sync {
    /// The interface name (`eth0`).
    fn name(&self) -> &str;
    /// The hardware address.
    fn mac(&self) -> [u8; 6];
    /// Whether the device reports its link up.
    fn link_up(&self) -> bool;
    /// Takes one received frame off the ring (its buffer goes straight back to the device);
    /// frames the driver already found unusable are counted and skipped.
    fn receive(&self) -> Option<Vec<u8>>;
    /// Whether a transmit buffer is free now.
    fn can_transmit(&self) -> bool;
    /// Sends a frame of `length` bytes that `fill` writes into the transmit buffer; refused
    /// (and `fill` not called) when no buffer is free or `length` exceeds [`MAX_FRAME`].
    fn transmit_with(&self, length: usize, fill: &mut dyn FnMut(&mut [u8])) -> bool;
    /// Installs the function the interrupt handler calls after taking an interrupt (any
    /// context; it must not block).
    fn set_waker(&self, waker: fn());
    /// The interface's counters.
    fn counters(&self) -> &Counters;
    /// What the device is, for listings (model, PCI address, interrupt mode).
    fn describe(&self) -> String;
}

/// The kinds of bad input an interface counts; the first of each kind is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// A frame shorter than an Ethernet header.
    Runt,
    /// A frame longer than the MTU allows.
    Oversized,
    /// An IPv4 packet whose header is truncated, inconsistent or fails its checksum.
    Malformed,
    /// A frame of an EtherType the stack does not speak (not IPv4 or ARP).
    UnknownProtocol,
    /// Every receive buffer was full when the stack looked (the device may have dropped).
    ReceiveRingFull,
    /// A frame could not be sent: every transmit buffer was in use.
    TransmitRingFull,
    /// The device returned a buffer we never gave it, or a length past the buffer.
    DeviceError,
}

const ANOMALIES: [Anomaly; 7] = [
    Anomaly::Runt,
    Anomaly::Oversized,
    Anomaly::Malformed,
    Anomaly::UnknownProtocol,
    Anomaly::ReceiveRingFull,
    Anomaly::TransmitRingFull,
    Anomaly::DeviceError,
];

impl Anomaly {
    /// The counter's name as `ifconfig` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Anomaly::Runt => "runt",
            Anomaly::Oversized => "oversized",
            Anomaly::Malformed => "malformed",
            Anomaly::UnknownProtocol => "unknown-protocol",
            Anomaly::ReceiveRingFull => "rx-ring-full",
            Anomaly::TransmitRingFull => "tx-ring-full",
            Anomaly::DeviceError => "device-error",
        }
    }
}

/// Per-interface counters (atomics: bumped from interrupt handlers and the polling thread).
#[derive(Default)]
pub struct Counters {
    pub received_frames: AtomicU64,
    pub received_bytes: AtomicU64,
    pub sent_frames: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub interrupts: AtomicU64,
    pub link_changes: AtomicU64,
    /// TCP segments that open a connection (SYN without ACK) addressed to us.
    pub connection_attempts: AtomicU64,
    anomalies: [AtomicU64; 7],
    logged: [AtomicBool; 7],
}

impl Counters {
    /// Counts one `kind` of bad input on `interface`; logs the first one of each kind.
    pub fn anomaly(&self, interface: &str, kind: Anomaly, detail: core::fmt::Arguments<'_>) {
        let index = kind as usize;
        self.anomalies[index].fetch_add(1, Ordering::Relaxed);
        if !self.logged[index].swap(true, Ordering::Relaxed) {
            log::warn!(
                "{interface}: {} frame ({detail}); counted, further ones are not logged",
                kind.name()
            );
        }
    }

    /// How many of `kind` were seen.
    pub fn anomaly_count(&self, kind: Anomaly) -> u64 {
        self.anomalies[kind as usize].load(Ordering::Relaxed)
    }

    /// Every anomaly kind with its count.
    pub fn anomalies(&self) -> impl Iterator<Item = (Anomaly, u64)> + '_ {
        ANOMALIES
            .iter()
            .map(move |kind| (*kind, self.anomaly_count(*kind)))
    }

    pub(crate) fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

static DEVICES: IrqSpinLock<Vec<Arc<dyn NetDevice>>> = IrqSpinLock::new("net-devices", Vec::new());

/// Adds an attached interface to the registry.
pub fn register(device: Arc<dyn NetDevice>) {
    DEVICES.lock().push(device);
}

/// The next free interface name (`eth0`, `eth1`, …).
pub fn next_name() -> String {
    alloc::format!("eth{}", DEVICES.lock().len())
}

/// Every registered interface, in attach order.
pub fn devices() -> Vec<Arc<dyn NetDevice>> {
    DEVICES.lock().clone()
}
