//! The modern virtio PCI transport (virtio 1.x section 4.1): configuration structures found through
//! vendor-specific capabilities and mapped from the BARs they name.
//!
//! Owns the common configuration (feature negotiation, status, queue set-up), the notification
//! area, the ISR status byte (read to acknowledge INTx) and the device-specific configuration.
//! Transitional devices (`1af4:1000..=103f`) also carry these capabilities and are driven the
//! same way; the legacy I/O-port interface is not used.

use core::fmt;

use super::virtqueue::Virtqueue;
use crate::pci::bar::BarRegion;
use crate::pci::{capability, config, Device, PciError};

const CONFIG_COMMON: u8 = 1;
const CONFIG_NOTIFY: u8 = 2;
const CONFIG_ISR: u8 = 3;
const CONFIG_DEVICE: u8 = 4;

// Common configuration layout (virtio 1.x section 4.1.4.3).
const DEVICE_FEATURE_SELECT: usize = 0x00;
const DEVICE_FEATURE: usize = 0x04;
const DRIVER_FEATURE_SELECT: usize = 0x08;
const DRIVER_FEATURE: usize = 0x0c;
const CONFIG_MSIX_VECTOR: usize = 0x10;
const DEVICE_STATUS: usize = 0x14;
const QUEUE_SELECT: usize = 0x16;
const QUEUE_SIZE: usize = 0x18;
const QUEUE_MSIX_VECTOR: usize = 0x1a;
const QUEUE_ENABLE: usize = 0x1c;
const QUEUE_NOTIFY_OFF: usize = 0x1e;
const QUEUE_DESC: usize = 0x20;
const QUEUE_DRIVER: usize = 0x28;
const QUEUE_DEVICE: usize = 0x30;

/// Device status bits (virtio 1.x section 2.1).
pub const STATUS_ACKNOWLEDGE: u8 = 1;
pub const STATUS_DRIVER: u8 = 2;
pub const STATUS_DRIVER_OK: u8 = 4;
pub const STATUS_FEATURES_OK: u8 = 8;
pub const STATUS_FAILED: u8 = 128;

/// "No MSI-X vector" (virtio 1.x section 4.1.5.1.2).
pub const NO_VECTOR: u16 = 0xffff;
/// Feature bit every modern device offers and the driver must accept (virtio 1.x section 6.1).
pub const FEATURE_VERSION_1: u64 = 1 << 32;

/// Why a virtio device could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtioError {
    /// A configuration structure's capability is missing.
    MissingStructure(&'static str),
    /// The PCI layer failed (BAR mapping, interrupts).
    Pci(PciError),
    /// The device did not accept our feature set.
    FeaturesRefused,
    /// The device lacks `VIRTIO_F_VERSION_1`.
    NotModern,
    /// The queue does not exist or is already enabled.
    QueueUnavailable(u16),
    /// The device refused the MSI-X vector.
    VectorRefused,
    /// No memory for the rings.
    OutOfMemory,
}

impl fmt::Display for VirtioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtioError::MissingStructure(what) => {
                write!(f, "no virtio {what} configuration capability")
            }
            VirtioError::Pci(error) => write!(f, "{error}"),
            VirtioError::FeaturesRefused => write!(f, "the device refused the features"),
            VirtioError::NotModern => write!(f, "the device does not offer VIRTIO_F_VERSION_1"),
            VirtioError::QueueUnavailable(q) => write!(f, "virtqueue {q} is unavailable"),
            VirtioError::VectorRefused => write!(f, "the device refused the MSI-X vector"),
            VirtioError::OutOfMemory => write!(f, "no memory for the virtqueue"),
        }
    }
}

impl From<PciError> for VirtioError {
    fn from(error: PciError) -> Self {
        VirtioError::Pci(error)
    }
}

/// The mapped configuration structures of one virtio PCI function.
#[derive(Debug)]
pub struct Transport {
    common: BarRegion,
    notify: BarRegion,
    notify_multiplier: u32,
    isr: BarRegion,
    device_config: BarRegion,
}

fn map_structure(
    device: &Device,
    kind: u8,
    name: &'static str,
) -> Result<(BarRegion, u32), VirtioError> {
    let address = device.address;
    for cap in device.capabilities_with(capability::ID_VENDOR) {
        let base = cap.offset;
        if config::read_u8(address, base + 3)? != kind {
            continue;
        }
        let index = config::read_u8(address, base + 4)?;
        let offset = config::read_u32(address, base + 8)?;
        let length = config::read_u32(address, base + 12)?;
        let Some(bar) = device.bars.get(index as usize).copied().flatten() else {
            continue;
        };
        let extra = if kind == CONFIG_NOTIFY {
            config::read_u32(address, base + 16)?
        } else {
            0
        };
        let region = BarRegion::map(address, &bar, index, offset as u64, length as usize)?;
        return Ok((region, extra));
    }
    Err(VirtioError::MissingStructure(name))
}

impl Transport {
    /// Finds and maps the four structures, and resets the device.
    pub fn new(device: &Device) -> Result<Self, VirtioError> {
        let (common, _) = map_structure(device, CONFIG_COMMON, "common")?;
        let (notify, notify_multiplier) = map_structure(device, CONFIG_NOTIFY, "notification")?;
        let (isr, _) = map_structure(device, CONFIG_ISR, "ISR")?;
        let (device_config, _) = map_structure(device, CONFIG_DEVICE, "device")?;
        let transport = Self {
            common,
            notify,
            notify_multiplier,
            isr,
            device_config,
        };
        transport.reset();
        Ok(transport)
    }

    /// Resets the device and waits until it reads back status 0 (virtio 1.x section 4.1.4.3.2).
    pub fn reset(&self) {
        self.common.write_u8(DEVICE_STATUS, 0);
        while self.common.read_u8(DEVICE_STATUS) != 0 {
            core::hint::spin_loop();
        }
    }

    /// Sets status bits (keeping the ones already set).
    pub fn add_status(&self, bits: u8) {
        let status = self.common.read_u8(DEVICE_STATUS);
        self.common.write_u8(DEVICE_STATUS, status | bits);
    }

    /// The status byte.
    pub fn status(&self) -> u8 {
        self.common.read_u8(DEVICE_STATUS)
    }

    /// Acknowledges the device, offers `wanted ∩ offered` (which must include VERSION_1) and
    /// checks FEATURES_OK (virtio 1.x section 3.1.1, steps 1-6). Returns the accepted features.
    pub fn negotiate(&self, wanted: u64) -> Result<u64, VirtioError> {
        self.add_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
        let mut offered = 0u64;
        for half in 0..2u32 {
            self.common.write_u32(DEVICE_FEATURE_SELECT, half);
            offered |= (self.common.read_u32(DEVICE_FEATURE) as u64) << (32 * half);
        }
        if offered & FEATURE_VERSION_1 == 0 {
            self.add_status(STATUS_FAILED);
            return Err(VirtioError::NotModern);
        }
        let accepted = offered & (wanted | FEATURE_VERSION_1);
        for half in 0..2u32 {
            self.common.write_u32(DRIVER_FEATURE_SELECT, half);
            self.common
                .write_u32(DRIVER_FEATURE, (accepted >> (32 * half)) as u32);
        }
        self.add_status(STATUS_FEATURES_OK);
        if self.status() & STATUS_FEATURES_OK == 0 {
            self.add_status(STATUS_FAILED);
            return Err(VirtioError::FeaturesRefused);
        }
        Ok(accepted)
    }

    /// Sends configuration-change interrupts nowhere (we do not watch for resizes).
    pub fn disable_config_interrupt(&self) {
        self.common.write_u16(CONFIG_MSIX_VECTOR, NO_VECTOR);
    }

    /// Sends configuration-change interrupts to MSI-X table entry `entry`.
    pub fn set_config_vector(&self, entry: u16) -> Result<(), VirtioError> {
        self.common.write_u16(CONFIG_MSIX_VECTOR, entry);
        if self.common.read_u16(CONFIG_MSIX_VECTOR) != entry {
            return Err(VirtioError::VectorRefused);
        }
        Ok(())
    }

    /// Size the device proposes for queue `index` (0: no such queue).
    pub fn queue_size(&self, index: u16) -> u16 {
        self.common.write_u16(QUEUE_SELECT, index);
        self.common.read_u16(QUEUE_SIZE)
    }

    /// Gives queue `index` its rings, MSI-X table entry (or [`NO_VECTOR`]) and enables it;
    /// returns the queue's notification offset in bytes.
    pub fn setup_queue(
        &self,
        index: u16,
        queue: &Virtqueue,
        msix_entry: u16,
    ) -> Result<usize, VirtioError> {
        self.common.write_u16(QUEUE_SELECT, index);
        if self.common.read_u16(QUEUE_ENABLE) != 0 {
            return Err(VirtioError::QueueUnavailable(index));
        }
        self.common.write_u16(QUEUE_SIZE, queue.size());
        self.common.write_u16(QUEUE_MSIX_VECTOR, msix_entry);
        if self.common.read_u16(QUEUE_MSIX_VECTOR) != msix_entry {
            return Err(VirtioError::VectorRefused);
        }
        self.common
            .write_u64_split(QUEUE_DESC, queue.descriptor_table_address());
        self.common
            .write_u64_split(QUEUE_DRIVER, queue.driver_area_address());
        self.common
            .write_u64_split(QUEUE_DEVICE, queue.device_area_address());
        let notify_offset = self.common.read_u16(QUEUE_NOTIFY_OFF) as usize;
        self.common.write_u16(QUEUE_ENABLE, 1);
        Ok(notify_offset * self.notify_multiplier as usize)
    }

    /// Tells the device that queue `index` has new buffers.
    pub fn notify(&self, notify_offset: usize, index: u16) {
        self.notify.write_u16(notify_offset, index);
    }

    /// Reads and clears the ISR status (acknowledges INTx); bit 0 = a queue was used.
    pub fn read_isr(&self) -> u8 {
        self.isr.read_u8(0)
    }

    /// Reads a byte of the device-specific configuration.
    pub fn device_u8(&self, offset: usize) -> u8 {
        self.device_config.read_u8(offset)
    }

    /// Reads a 16-bit field of the device-specific configuration.
    pub fn device_u16(&self, offset: usize) -> u16 {
        self.device_config.read_u16(offset)
    }

    /// Reads a 32-bit field of the device-specific configuration.
    pub fn device_u32(&self, offset: usize) -> u32 {
        self.device_config.read_u32(offset)
    }

    /// Reads a 64-bit field of the device configuration, retrying across generation changes.
    pub fn device_u64(&self, offset: usize) -> u64 {
        loop {
            let generation = self.common.read_u8(DEVICE_STATUS + 1);
            let value = self.device_config.read_u32(offset) as u64
                | (self.device_config.read_u32(offset + 4) as u64) << 32;
            if self.common.read_u8(DEVICE_STATUS + 1) == generation {
                return value;
            }
        }
    }
}
