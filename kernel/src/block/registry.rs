//! Named block devices (`vda`, `vdb`, …), request checking, and blocking helpers.
//!
//! Every request goes through [`Disk::submit`], which refuses what the device cannot do —
//! beyond the last sector, not whole sectors, writes to a read-only device — by running the
//! completion at once with the error, so drivers only see valid requests.
//!
//! Lock order: `DISKS` is a leaf, never held while calling into a driver.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::completion::{wait_for_completion, Completion};
use super::{BlockDevice, BlockError, Buffer, Operation, Request};
use crate::sync::spin::IrqSpinLock;

/// A registered device and its name.
pub struct Disk {
    name: String,
    device: Arc<dyn BlockDevice>,
    /// The most read-ahead requests a [`DiskStream`](super::stream::DiskStream) kept ahead of
    /// its reader on this disk.
    most_read_ahead: AtomicUsize,
}

static DISKS: IrqSpinLock<Vec<Arc<Disk>>> = IrqSpinLock::new("block-registry", Vec::new());

/// Registers `device` as `PREFIX` + the next free letter (`vd` → `vda`, `vdb`, …).
pub fn register(prefix: &str, device: Arc<dyn BlockDevice>) -> Arc<Disk> {
    let mut disks = DISKS.lock();
    let taken = disks.iter().filter(|d| d.name.starts_with(prefix)).count();
    let mut name = String::from(prefix);
    name.push((b'a' + (taken % 26) as u8) as char);
    let disk = Arc::new(Disk {
        name,
        device,
        most_read_ahead: AtomicUsize::new(0),
    });
    disks.push(Arc::clone(&disk));
    disk
}

/// The device called `name`.
pub fn find(name: &str) -> Option<Arc<Disk>> {
    DISKS.lock().iter().find(|d| d.name == name).cloned()
}

/// All devices, in registration order.
pub fn list() -> Vec<Arc<Disk>> {
    DISKS.lock().clone()
}

impl Disk {
    /// The registered name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes per sector.
    pub fn sector_size(&self) -> u32 {
        self.device.sector_size()
    }

    /// Number of sectors.
    pub fn sector_count(&self) -> u64 {
        self.device.sector_count()
    }

    /// Capacity in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.sector_count() * self.sector_size() as u64
    }

    /// Whether writes are refused.
    pub fn read_only(&self) -> bool {
        self.device.read_only()
    }

    /// The driver's description.
    pub fn describe(&self) -> String {
        self.device.describe()
    }

    /// Notes that a stream keeps `requests` read-ahead requests ahead of its reader.
    pub fn note_read_ahead(&self, requests: usize) {
        self.most_read_ahead.fetch_max(requests, Ordering::Relaxed);
    }

    /// The most read-ahead requests a stream kept ahead of its reader on this disk.
    pub fn most_read_ahead(&self) -> usize {
        self.most_read_ahead.load(Ordering::Relaxed)
    }

    /// Why the device cannot carry out `request`, if it cannot.
    pub fn check(&self, request: &Request) -> Result<(), BlockError> {
        if request.operation == Operation::Flush {
            return Ok(());
        }
        if request.operation == Operation::Write && self.read_only() {
            return Err(BlockError::ReadOnly);
        }
        let sector_size = self.sector_size();
        let length = request.buffer.len();
        if length == 0 || !length.is_multiple_of(sector_size as usize) {
            return Err(BlockError::Misaligned {
                length,
                sector_size,
            });
        }
        let sectors = (length / sector_size as usize) as u64;
        let capacity = self.sector_count();
        match request.sector.checked_add(sectors) {
            Some(end) if end <= capacity => Ok(()),
            _ => Err(BlockError::OutOfRange {
                sector: request.sector,
                sectors,
                capacity,
            }),
        }
    }

    /// Starts `request`; its completion runs exactly once (at once if the request is refused).
    pub fn submit(&self, request: Request) {
        match self.check(&request) {
            Ok(()) => self.device.start(request),
            Err(error) => request.complete(Err(error)),
        }
    }

    /// Runs one request on memory the caller lends, and waits for it.
    fn blocking(
        &self,
        operation: Operation,
        sector: u64,
        address: *mut u8,
        length: usize,
    ) -> Result<(), BlockError> {
        let completion = Arc::new(Completion::new());
        let signal = Arc::clone(&completion);
        // SAFETY: the caller's slice is exclusively borrowed for this call, and the call does not
        // return before the completion ran, so nobody else touches the memory while the device
        // uses it.
        let buffer = unsafe { Buffer::borrowed(address, length) };
        self.submit(Request {
            operation,
            sector,
            buffer,
            done: Box::new(move |result, _buffer| signal.complete(result)),
        });
        wait_for_completion(&completion)
    }

    /// Reads whole sectors starting at `sector` into the `parts`, one after the other, in one
    /// request (at most [`MAX_PARTS`](super::MAX_PARTS) parts), waiting for the device.
    pub fn read_parts(&self, sector: u64, parts: &mut [&mut [u8]]) -> Result<(), BlockError> {
        let mut ranges = [(core::ptr::null_mut(), 0); super::MAX_PARTS];
        if parts.len() > ranges.len() {
            return Err(BlockError::TooManySegments {
                needed: parts.len(),
                limit: ranges.len(),
            });
        }
        for (range, part) in ranges.iter_mut().zip(parts.iter_mut()) {
            *range = (part.as_mut_ptr(), part.len());
        }
        let completion = Arc::new(Completion::new());
        let signal = Arc::clone(&completion);
        // SAFETY: every part is an exclusively borrowed slice for this call, and the call does
        // not return before the completion ran, so nobody else touches them meanwhile.
        let buffer = unsafe { Buffer::borrowed_parts(&ranges[..parts.len()]) };
        self.submit(Request {
            operation: Operation::Read,
            sector,
            buffer,
            done: Box::new(move |result, _buffer| signal.complete(result)),
        });
        wait_for_completion(&completion)
    }

    /// Reads whole sectors starting at `sector` into `buffer`, waiting for the device.
    pub fn read(&self, sector: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
        self.blocking(Operation::Read, sector, buffer.as_mut_ptr(), buffer.len())
    }

    /// Writes `data` (whole sectors) starting at `sector`, waiting for the device.
    pub fn write(&self, sector: u64, data: &[u8]) -> Result<(), BlockError> {
        // The device only reads the memory; the pointer is never written through.
        self.blocking(
            Operation::Write,
            sector,
            data.as_ptr() as *mut u8,
            data.len(),
        )
    }

    /// Makes earlier writes durable, waiting for the device.
    pub fn flush(&self) -> Result<(), BlockError> {
        self.blocking(Operation::Flush, 0, core::ptr::null_mut(), 0)
    }
}
