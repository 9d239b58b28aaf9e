//! The ext2 driver's byte-addressed `BlockDevice` over a registered kernel [`Disk`].
//!
//! Byte offsets become sector numbers; a transfer that starts or ends inside a sector reads that
//! sector into a bounce buffer (and, for writes, writes it back: read-modify-write), so callers
//! are not bound to sector alignment even though the ext2 driver only issues whole blocks.
//! Large transfers are split into `MAX_REQUEST`-byte requests. The ext2 driver caches blocks
//! itself but fetches uncached file blocks one at a time, so a read that continues exactly
//! where the previous one ended fills a `READ_AHEAD` window with one request; any write that
//! overlaps the window drops it, so the window never serves stale bytes.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use ext2::DeviceError;

use crate::block::{BlockError, Disk};

/// Largest single request handed to the disk (keeps scatter-gather lists short).
const MAX_REQUEST: usize = 256 * 1024;

/// Bytes fetched at once when reads turn out to be sequential.
const READ_AHEAD: usize = 128 * 1024;

/// An [`ext2::BlockDevice`] over a kernel disk.
pub struct DiskDevice {
    disk: Arc<Disk>,
    /// Where the last read ended (sequential detection).
    last_end: u64,
    /// Start and bytes of the read-ahead window (empty when none).
    window_start: u64,
    window: Vec<u8>,
}

impl DiskDevice {
    /// Wraps `disk`.
    pub fn new(disk: Arc<Disk>) -> Self {
        Self {
            disk,
            last_end: u64::MAX,
            window_start: 0,
            window: Vec::new(),
        }
    }

    /// Serves `[offset, offset + buffer.len())` from the read-ahead window, refilling it
    /// first when the read is sequential; false when the read must go to the disk.
    fn read_ahead(&mut self, offset: u64, buffer: &mut [u8]) -> Result<bool, DeviceError> {
        let end = offset + buffer.len() as u64;
        let inside =
            |start: u64, window: &[u8]| offset >= start && end <= start + window.len() as u64;
        if !inside(self.window_start, &self.window) {
            let sector = self.sector();
            let sequential = offset == self.last_end && offset.is_multiple_of(sector);
            if !sequential || buffer.len() >= READ_AHEAD {
                return Ok(false);
            }
            let length = (self.disk.size_bytes() - offset).min(READ_AHEAD as u64);
            let length = length - length % sector;
            self.window.resize(length as usize, 0);
            self.window_start = offset;
            if let Err(error) = self.disk.read(offset / sector, &mut self.window) {
                self.window.clear();
                return Err(convert(error));
            }
            if !inside(self.window_start, &self.window) {
                return Ok(false);
            }
        }
        let from = (offset - self.window_start) as usize;
        buffer.copy_from_slice(&self.window[from..from + buffer.len()]);
        Ok(true)
    }

    /// The disk underneath.
    pub fn disk(&self) -> &Arc<Disk> {
        &self.disk
    }

    fn sector(&self) -> u64 {
        u64::from(self.disk.sector_size())
    }

    fn check(&self, offset: u64, length: usize) -> Result<(), DeviceError> {
        match offset.checked_add(length as u64) {
            Some(end) if end <= self.disk.size_bytes() => Ok(()),
            _ => Err(DeviceError::OutOfRange),
        }
    }

    /// Reads whole sectors at a sector-aligned `offset`, in bounded requests.
    fn read_aligned(&self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        let sector = self.sector();
        for (index, chunk) in buffer.chunks_mut(MAX_REQUEST).enumerate() {
            let at = offset + (index * MAX_REQUEST) as u64;
            self.disk.read(at / sector, chunk).map_err(convert)?;
        }
        Ok(())
    }

    /// Writes whole sectors at a sector-aligned `offset`, in bounded requests.
    fn write_aligned(&self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        let sector = self.sector();
        for (index, chunk) in data.chunks(MAX_REQUEST).enumerate() {
            let at = offset + (index * MAX_REQUEST) as u64;
            self.disk.write(at / sector, chunk).map_err(convert)?;
        }
        Ok(())
    }
}

/// Keeps the range and read-only cases; everything else is an I/O error (logged, since the
/// ext2 error type has no room for the block layer's detail).
fn convert(error: BlockError) -> DeviceError {
    match error {
        BlockError::OutOfRange { .. } => DeviceError::OutOfRange,
        BlockError::Misaligned { .. } => DeviceError::Misaligned,
        BlockError::ReadOnly => DeviceError::ReadOnly,
        other => {
            log::warn!("vfs: block device error: {other}");
            DeviceError::Io
        }
    }
}

impl ext2::BlockDevice for DiskDevice {
    fn sector_size(&self) -> u32 {
        self.disk.sector_size()
    }

    fn len(&self) -> u64 {
        self.disk.size_bytes()
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.check(offset, buffer.len())?;
        let sequential = self.read_ahead(offset, buffer)?;
        self.last_end = offset + buffer.len() as u64;
        if sequential {
            return Ok(());
        }
        let sector = self.sector();
        let (mut at, mut done) = (offset, 0usize);
        let mut bounce = vec![];
        while done < buffer.len() {
            let within = (at % sector) as usize;
            let remaining = buffer.len() - done;
            if within == 0 && remaining as u64 >= sector {
                // The aligned middle: straight into the caller's buffer.
                let whole = remaining - remaining % sector as usize;
                self.read_aligned(at, &mut buffer[done..done + whole])?;
                at += whole as u64;
                done += whole;
                continue;
            }
            // A partial sector at either edge.
            bounce.resize(sector as usize, 0);
            self.read_aligned(at - within as u64, &mut bounce)?;
            let take = (sector as usize - within).min(remaining);
            buffer[done..done + take].copy_from_slice(&bounce[within..within + take]);
            at += take as u64;
            done += take;
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check(offset, data.len())?;
        if self.disk.read_only() {
            return Err(DeviceError::ReadOnly);
        }
        let end = offset + data.len() as u64;
        if offset < self.window_start + self.window.len() as u64 && end > self.window_start {
            self.window.clear();
        }
        let sector = self.sector();
        let (mut at, mut done) = (offset, 0usize);
        let mut bounce = vec![];
        while done < data.len() {
            let within = (at % sector) as usize;
            let remaining = data.len() - done;
            if within == 0 && remaining as u64 >= sector {
                let whole = remaining - remaining % sector as usize;
                self.write_aligned(at, &data[done..done + whole])?;
                at += whole as u64;
                done += whole;
                continue;
            }
            // Read-modify-write of a partial sector.
            bounce.resize(sector as usize, 0);
            let start = at - within as u64;
            self.read_aligned(start, &mut bounce)?;
            let take = (sector as usize - within).min(remaining);
            bounce[within..within + take].copy_from_slice(&data[done..done + take]);
            self.write_aligned(start, &bounce)?;
            at += take as u64;
            done += take;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        match self.disk.flush() {
            // Without a volatile write cache every completed write is already durable.
            Ok(()) | Err(BlockError::Unsupported) => Ok(()),
            Err(error) => Err(convert(error)),
        }
    }
}
