//! The ext2 driver's byte-addressed `BlockDevice` over a registered kernel [`Disk`].
//!
//! Byte offsets become sector numbers; a transfer that starts or ends inside a sector reads that
//! sector into a bounce buffer (and, for writes, writes it back: read-modify-write), so callers
//! are not bound to sector alignment even though the ext2 driver only issues whole blocks.
//! Every transfer goes through one [`DiskStream`]: sequential reads are served from its
//! read-ahead (several requests in flight, a window that grows while the reads stay
//! sequential), writes are submitted behind the caller's back and [`ext2::BlockDevice::flush`]
//! waits for them and reports their errors. The ext2 driver reads and writes file data in runs
//! of adjacent blocks, so most requests are large.

use alloc::sync::Arc;
use alloc::vec;

use ext2::DeviceError;

use crate::block::stream::{DiskStream, StreamCounters};
use crate::block::{BlockError, Disk};

/// An [`ext2::BlockDevice`] over a kernel disk.
pub struct DiskDevice {
    stream: DiskStream,
}

impl DiskDevice {
    /// Wraps `disk`.
    pub fn new(disk: Arc<Disk>) -> Self {
        Self {
            stream: DiskStream::new(disk),
        }
    }

    /// The disk underneath.
    pub fn disk(&self) -> &Arc<Disk> {
        self.stream.disk()
    }

    /// Read-ahead and write-behind counters of this device.
    pub fn counters(&self) -> StreamCounters {
        self.stream.counters()
    }

    fn sector(&self) -> u64 {
        u64::from(self.disk().sector_size())
    }

    fn check(&self, offset: u64, length: usize) -> Result<(), DeviceError> {
        match offset.checked_add(length as u64) {
            Some(end) if end <= self.disk().size_bytes() => Ok(()),
            _ => Err(DeviceError::OutOfRange),
        }
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
        self.disk().sector_size()
    }

    fn len(&self) -> u64 {
        self.disk().size_bytes()
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.check(offset, buffer.len())?;
        let sector = self.sector();
        let (mut at, mut done) = (offset, 0usize);
        let mut bounce = vec![];
        while done < buffer.len() {
            let within = (at % sector) as usize;
            let remaining = buffer.len() - done;
            if within == 0 && remaining as u64 >= sector {
                // The aligned middle: straight into the caller's buffer.
                let whole = remaining - remaining % sector as usize;
                let target = &mut buffer[done..done + whole];
                self.stream.read(at, target).map_err(convert)?;
                at += whole as u64;
                done += whole;
                continue;
            }
            // A partial sector at either edge.
            bounce.resize(sector as usize, 0);
            self.stream
                .read(at - within as u64, &mut bounce)
                .map_err(convert)?;
            let take = (sector as usize - within).min(remaining);
            buffer[done..done + take].copy_from_slice(&bounce[within..within + take]);
            at += take as u64;
            done += take;
        }
        Ok(())
    }

    fn read_vectored_at(
        &mut self,
        offset: u64,
        buffers: &mut [&mut [u8]],
    ) -> Result<(), DeviceError> {
        let length: usize = buffers.iter().map(|buffer| buffer.len()).sum();
        self.check(offset, length)?;
        let sector = self.sector();
        let aligned = offset.is_multiple_of(sector)
            && buffers
                .iter()
                .all(|buffer| (buffer.len() as u64).is_multiple_of(sector));
        if !aligned {
            let mut at = offset;
            for buffer in buffers.iter_mut() {
                self.read_at(at, buffer)?;
                at += buffer.len() as u64;
            }
            return Ok(());
        }
        self.stream.read_parts(offset, buffers).map_err(convert)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check(offset, data.len())?;
        if self.disk().read_only() {
            return Err(DeviceError::ReadOnly);
        }
        let sector = self.sector();
        let (mut at, mut done) = (offset, 0usize);
        let mut bounce = vec![];
        while done < data.len() {
            let within = (at % sector) as usize;
            let remaining = data.len() - done;
            if within == 0 && remaining as u64 >= sector {
                let whole = remaining - remaining % sector as usize;
                self.stream
                    .write(at, &data[done..done + whole])
                    .map_err(convert)?;
                at += whole as u64;
                done += whole;
                continue;
            }
            // Read-modify-write of a partial sector.
            bounce.resize(sector as usize, 0);
            let start = at - within as u64;
            self.stream.read(start, &mut bounce).map_err(convert)?;
            let take = (sector as usize - within).min(remaining);
            bounce[within..within + take].copy_from_slice(&data[done..done + take]);
            self.stream.write(start, &bounce).map_err(convert)?;
            at += take as u64;
            done += take;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        match self.stream.flush() {
            // Without a volatile write cache every completed write is already durable.
            Ok(()) | Err(BlockError::Unsupported) => Ok(()),
            Err(error) => Err(convert(error)),
        }
    }
}
