//! The block device the file system sits on: a trait, an in-memory device and a host file device.
//!
//! The driver only ever issues whole, aligned blocks (1 KiB or more), so a device with
//! sectors of up to the block size works unchanged. The kernel implements [`BlockDevice`] over
//! virtio-blk; host tests use [`MemoryDevice`] or, with the `std` feature, `FileDevice`.

use alloc::vec::Vec;
use core::fmt;

/// Why a device operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The byte range runs past the end of the device.
    OutOfRange,
    /// Offset or length is not a multiple of the sector size.
    Misaligned,
    /// The device refuses writes.
    ReadOnly,
    /// The medium or transport failed (the driver-specific status is not kept).
    Io,
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceError::OutOfRange => "access past the end of the device",
            DeviceError::Misaligned => "access not aligned to the sector size",
            DeviceError::ReadOnly => "device is read-only",
            DeviceError::Io => "input/output error",
        })
    }
}

/// A random-access device addressed in bytes, transferring whole sectors.
///
/// Contract: `offset` and `buffer.len()` passed to [`read_at`](Self::read_at) and
/// [`write_at`](Self::write_at) are multiples of [`sector_size`](Self::sector_size), and
/// `offset + len <= self.len()`; an implementation returns [`DeviceError::Misaligned`] or
/// [`DeviceError::OutOfRange`] otherwise. Data written is durable only after
/// [`flush`](Self::flush) returns `Ok`.
pub trait BlockDevice {
    /// Sector size in bytes: a power of two, at most 1024 for ext2 with 1 KiB blocks.
    fn sector_size(&self) -> u32;
    /// Device length in bytes.
    fn len(&self) -> u64;
    /// `true` when the device has no sectors.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads `buffer.len()` bytes at `offset`.
    ///
    /// # Errors
    /// `Misaligned`, `OutOfRange` as in the trait contract; `Io` when the medium fails.
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError>;
    /// Reads consecutive bytes from `offset` into `buffers`, one after the other (each a
    /// whole number of sectors). A device that can scatter one transfer into several buffers
    /// does it in one request; the default reads each buffer in turn.
    ///
    /// # Errors
    /// As [`read_at`](Self::read_at).
    fn read_vectored_at(
        &mut self,
        offset: u64,
        buffers: &mut [&mut [u8]],
    ) -> Result<(), DeviceError> {
        let mut at = offset;
        for buffer in buffers.iter_mut() {
            self.read_at(at, buffer)?;
            at += buffer.len() as u64;
        }
        Ok(())
    }
    /// Writes `data` at `offset`.
    ///
    /// # Errors
    /// `Misaligned`, `OutOfRange` as in the trait contract; `ReadOnly` when the device is
    /// write-protected; `Io` when the medium fails.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError>;
    /// Makes every completed write durable.
    ///
    /// # Errors
    /// `Io` when the device cannot confirm durability.
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// Checks the trait contract's alignment and range rules for a device of `length` bytes.
pub fn check_range(sector: u32, length: u64, offset: u64, count: usize) -> Result<(), DeviceError> {
    let sector = u64::from(sector.max(1));
    let count = count as u64;
    if offset % sector != 0 || count % sector != 0 {
        return Err(DeviceError::Misaligned);
    }
    match offset.checked_add(count) {
        Some(end) if end <= length => Ok(()),
        _ => Err(DeviceError::OutOfRange),
    }
}

/// A device held in memory: for tests, fuzzing and RAM disks.
#[derive(Clone, Debug)]
pub struct MemoryDevice {
    bytes: Vec<u8>,
    sector_size: u32,
}

impl MemoryDevice {
    /// A device over `bytes` with 512-byte sectors; a trailing partial sector is unreachable.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            sector_size: 512,
        }
    }

    /// The device contents.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives the contents back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl BlockDevice for MemoryDevice {
    fn sector_size(&self) -> u32 {
        self.sector_size
    }

    fn len(&self) -> u64 {
        let sector = self.sector_size as usize;
        (self.bytes.len() / sector * sector) as u64
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        check_range(self.sector_size, self.len(), offset, buffer.len())?;
        let start = offset as usize;
        buffer.copy_from_slice(&self.bytes[start..start + buffer.len()]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        check_range(self.sector_size, self.len(), offset, data.len())?;
        let start = offset as usize;
        self.bytes[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

#[cfg(feature = "std")]
mod file_device {
    extern crate std;

    use super::{check_range, BlockDevice, DeviceError};
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    /// A device over a host image file (the `std` feature).
    #[derive(Debug)]
    pub struct FileDevice {
        file: File,
        length: u64,
        writable: bool,
    }

    impl FileDevice {
        /// Opens `path` for reading and, when `writable`, writing.
        ///
        /// # Errors
        /// The host's I/O error when the file cannot be opened or sized.
        pub fn open(path: impl AsRef<Path>, writable: bool) -> std::io::Result<Self> {
            let file = OpenOptions::new().read(true).write(writable).open(path)?;
            let length = file.metadata()?.len() / 512 * 512;
            Ok(Self {
                file,
                length,
                writable,
            })
        }
    }

    impl BlockDevice for FileDevice {
        fn sector_size(&self) -> u32 {
            512
        }

        fn len(&self) -> u64 {
            self.length
        }

        fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
            check_range(512, self.length, offset, buffer.len())?;
            self.file
                .read_exact_at(buffer, offset)
                .map_err(|_| DeviceError::Io)
        }

        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
            if !self.writable {
                return Err(DeviceError::ReadOnly);
            }
            check_range(512, self.length, offset, data.len())?;
            self.file
                .write_all_at(data, offset)
                .map_err(|_| DeviceError::Io)
        }

        fn flush(&mut self) -> Result<(), DeviceError> {
            if self.writable {
                self.file.sync_data().map_err(|_| DeviceError::Io)?;
            }
            Ok(())
        }
    }
}

#[cfg(feature = "std")]
pub use file_device::FileDevice;
