//! Block devices: the [`BlockDevice`] trait, request and buffer types, and their errors.
//!
//! A driver implements [`BlockDevice::start`]: it takes a [`Request`] that [`registry`] already
//! checked against the device (range, alignment, read-only) and must call the request's
//! completion exactly once, usually from its interrupt handler. Everything else — names, range
//! checks, blocking helpers — is shared and lives in [`registry`] and [`completion`];
//! [`stream`] keeps several requests in flight for a sequential reader or writer. Drivers:
//! [`virtio_blk`] over the modern virtio PCI transport and split virtqueue of `crate::virtio`.
//!
//! May import: `arch`, `console`, `mm`, `pci`, `sched`, `sync`, `testing`, `time`, `virtio`.

#[deny(unsafe_code)]
pub mod completion;
pub mod registry;
#[deny(unsafe_code)]
pub mod stream;
#[deny(unsafe_code)]
pub mod virtio_blk;

#[deny(unsafe_code)]
pub mod bench;
#[deny(unsafe_code)]
mod tests;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::mm::dma::DmaBuffer;

pub use completion::wait_for_completion;
pub use registry::{find, list, Disk};

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Device → buffer.
    Read,
    /// Buffer → device.
    Write,
    /// Make completed writes durable (no buffer, no sector).
    Flush,
}

/// Most separate memory ranges one [`Buffer::Borrowed`] request may cover.
pub const MAX_PARTS: usize = 4;

/// Memory a request reads into or writes from; handed back in the completion.
#[derive(Debug)]
pub enum Buffer {
    /// A heap allocation (physically contiguous: see `mm::heap`).
    Heap(Vec<u8>),
    /// A DMA buffer.
    Dma(DmaBuffer),
    /// Memory the submitter owns, in up to [`MAX_PARTS`] ranges that follow each other on the
    /// device; see [`Buffer::borrowed`] and [`Buffer::borrowed_parts`].
    Borrowed {
        parts: [(*mut u8, usize); MAX_PARTS],
        count: usize,
    },
}

// SAFETY: a `Borrowed` buffer is, by `Buffer::borrowed`'s contract, exclusively lent to the
// request until its completion runs, so moving it to the completing CPU is like moving a `&mut`.
unsafe impl Send for Buffer {}

impl Buffer {
    /// No memory (for flushes).
    pub fn none() -> Self {
        Buffer::Heap(Vec::new())
    }

    /// Lends `[address, address + length)` to a request.
    ///
    /// # Safety
    /// The memory must be mapped, writable, and neither read nor written by anyone else until the
    /// request's completion has run (the device reads or writes it by DMA meanwhile).
    pub unsafe fn borrowed(address: *mut u8, length: usize) -> Self {
        let mut parts = [(core::ptr::null_mut(), 0); MAX_PARTS];
        parts[0] = (address, length);
        Buffer::Borrowed { parts, count: 1 }
    }

    /// Lends several ranges to one request: the first `parts[0].1` bytes of the transfer
    /// use `parts[0]`, the next ones `parts[1]`, and so on. At most [`MAX_PARTS`] ranges
    /// (panics on more: a caller bug).
    ///
    /// # Safety
    /// As [`Buffer::borrowed`], for every range.
    pub unsafe fn borrowed_parts(ranges: &[(*mut u8, usize)]) -> Self {
        assert!(
            ranges.len() <= MAX_PARTS,
            "a request takes at most {MAX_PARTS} ranges"
        );
        let mut parts = [(core::ptr::null_mut(), 0); MAX_PARTS];
        parts[..ranges.len()].copy_from_slice(ranges);
        Buffer::Borrowed {
            parts,
            count: ranges.len(),
        }
    }

    /// The memory ranges, in transfer order (start and length of each).
    pub fn parts(
        &mut self,
    ) -> core::iter::Take<core::array::IntoIter<(*mut u8, usize), MAX_PARTS>> {
        let mut parts = [(core::ptr::null_mut(), 0); MAX_PARTS];
        let count = match self {
            Buffer::Heap(bytes) => {
                parts[0] = (bytes.as_mut_ptr(), bytes.len());
                1
            }
            Buffer::Dma(buffer) => {
                parts[0] = (buffer.virtual_address(), buffer.len());
                1
            }
            Buffer::Borrowed { parts: lent, count } => {
                parts = *lent;
                *count
            }
        };
        parts.into_iter().take(count)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Buffer::Heap(bytes) => bytes.len(),
            Buffer::Dma(buffer) => buffer.len(),
            Buffer::Borrowed { parts, count } => parts[..*count].iter().map(|part| part.1).sum(),
        }
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Called once when a request ends, with its result and its buffer. Runs in interrupt context
/// (or at once in the submitter's context for a refused request): it must not block.
pub type CompletionFn = Box<dyn FnOnce(Result<(), BlockError>, Buffer) + Send>;

/// One asynchronous request.
pub struct Request {
    pub operation: Operation,
    /// First sector (in units of the device's sector size); 0 for flushes.
    pub sector: u64,
    pub buffer: Buffer,
    pub done: CompletionFn,
}

impl Request {
    /// Ends the request with `result`.
    pub fn complete(self, result: Result<(), BlockError>) {
        (self.done)(result, self.buffer)
    }
}

/// Why a block request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// The request reaches past the last sector.
    OutOfRange {
        sector: u64,
        sectors: u64,
        capacity: u64,
    },
    /// The buffer is not a positive whole number of sectors.
    Misaligned { length: usize, sector_size: u32 },
    /// A write to a read-only device.
    ReadOnly,
    /// The device does not support the operation (e.g. flush without a write cache).
    Unsupported,
    /// Part of the buffer is not mapped, so it has no bus address.
    UnmappedBuffer { address: u64 },
    /// The buffer needs more scatter-gather segments than the device takes.
    TooManySegments { needed: usize, limit: usize },
    /// The device reported an I/O error.
    DeviceError,
    /// The device answered with a status the driver does not know.
    BadStatus(u8),
    /// No DMA memory for the driver's bookkeeping.
    OutOfMemory,
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BlockError::OutOfRange {
                sector,
                sectors,
                capacity,
            } => write!(
                f,
                "sectors {sector}..{} are past the end of the device ({capacity} sectors); refused",
                sector.saturating_add(sectors)
            ),
            BlockError::Misaligned {
                length,
                sector_size,
            } => write!(
                f,
                "a buffer of {length} bytes is not a whole number of {sector_size}-byte sectors"
            ),
            BlockError::ReadOnly => write!(f, "the device is read-only"),
            BlockError::Unsupported => write!(f, "the device does not support this operation"),
            BlockError::UnmappedBuffer { address } => {
                write!(f, "buffer address {address:#x} is not mapped")
            }
            BlockError::TooManySegments { needed, limit } => write!(
                f,
                "the buffer needs {needed} DMA segments; the device takes {limit}"
            ),
            BlockError::DeviceError => write!(f, "the device reported an I/O error"),
            BlockError::BadStatus(status) => write!(f, "the device returned status {status}"),
            BlockError::OutOfMemory => write!(f, "no memory for the request"),
        }
    }
}

/// A block device driver.
pub trait BlockDevice: Send + Sync {
    /// Bytes per sector (a power of two, at least 512).
    fn sector_size(&self) -> u32;
    /// Number of sectors.
    fn sector_count(&self) -> u64;
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
    /// What the device is, for listings (e.g. "virtio-blk at 00:03.0, MSI-X").
    fn describe(&self) -> alloc::string::String;
    /// Starts a checked request; never blocks; calls its completion exactly once.
    fn start(&self, request: Request);
}

/// Finds and registers the block devices of the machine (after `pci::init`).
pub fn init() {
    virtio_blk::probe_all();
}
