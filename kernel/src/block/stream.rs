//! Read-ahead and write-behind for one sequential user of a [`Disk`]: several requests in
//! flight instead of one at a time.
//!
//! A request costs about the same whatever its size up to a few hundred KiB (the round trip
//! through the device dominates), so a reader that waits for each request in turn leaves the
//! disk idle most of the time. [`DiskStream`] keeps the disk busy:
//! - **Read-ahead.** A read that continues where the previous one ended starts a stream: the
//!   stream keeps up to [`DEPTH`] requests of [`PIECE`] bytes in flight ahead of the reader,
//!   and later reads are copied from them. Its window starts at two pieces and doubles on
//!   every read it serves, up to `DEPTH` pieces. Reads elsewhere (metadata between file runs,
//!   random reads) go straight to the disk and leave the stream alone; a sequential read the
//!   stream does not hold moves it. Copying costs less than waiting: under TCG a 128 KiB copy
//!   takes about half a request's round trip, and the device works on eight at once.
//! - **Write-behind.** Writes are copied into [`PIECE`]-sized buffers (adjacent small writes
//!   share one) and submitted at once, up to [`DEPTH`] in flight; the caller continues while
//!   the device writes. [`DiskStream::flush`] waits for all of them and reports the first
//!   error any of them met.
//!
//! Coherence: a read first waits for in-flight writes it overlaps (the device does not order
//! requests in flight), and a write drops read-ahead data it overlaps; two writes to the same
//! sectors are never in flight together. Buffers are recycled, so a steady stream allocates
//! only its small completion records.
//!
//! Single owner, no internal locking: the owner serialises calls (the VFS holds the mount's
//! mutex). Offsets and lengths are whole sectors; the owner checks ranges.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::completion::{wait_for_completion, Completion};
use super::{BlockError, Buffer, Disk, Operation, Request, MAX_PARTS};
use crate::sync::spin::IrqSpinLock;

/// Bytes per read-ahead or write-behind request.
pub const PIECE: usize = 128 * 1024;
/// Most read-ahead requests, and most write-behind requests, in flight at once.
pub const DEPTH: usize = 8;
/// Read-ahead window when a stream starts.
const FIRST_WINDOW: usize = 2 * PIECE;
/// Largest request of a direct (not read-ahead) read.
const MAX_DIRECT: usize = 1 << 20;

/// What a request's completion leaves for the waiter.
struct Shared {
    completion: Completion,
    bytes: IrqSpinLock<Option<Vec<u8>>>,
}

/// A request in flight (or finished, not yet collected) over `[start, start + length)`.
struct InFlight {
    start: u64,
    length: usize,
    shared: Arc<Shared>,
}

impl InFlight {
    fn submit(disk: &Disk, operation: Operation, start: u64, bytes: Vec<u8>) -> Self {
        let shared = Arc::new(Shared {
            completion: Completion::new(),
            bytes: IrqSpinLock::new("block-stream", None),
        });
        let signal = Arc::clone(&shared);
        let length = bytes.len();
        disk.submit(Request {
            operation,
            sector: start / u64::from(disk.sector_size()),
            buffer: Buffer::Heap(bytes),
            done: Box::new(move |result, buffer| {
                if let Buffer::Heap(bytes) = buffer {
                    *signal.bytes.lock() = Some(bytes);
                }
                signal.completion.complete(result);
            }),
        });
        Self {
            start,
            length,
            shared,
        }
    }

    fn end(&self) -> u64 {
        self.start + self.length as u64
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end()
    }

    /// Waits for the request; its result and its buffer.
    fn wait(self) -> (Result<(), BlockError>, Option<Vec<u8>>) {
        let result = wait_for_completion(&self.shared.completion);
        let bytes = self.shared.bytes.lock().take();
        (result, bytes)
    }
}

/// A read-ahead piece: in flight, or arrived.
enum Fetch {
    Pending(InFlight),
    Ready { start: u64, bytes: Vec<u8> },
    Failed { start: u64, length: usize },
}

impl Fetch {
    fn start(&self) -> u64 {
        match self {
            Fetch::Pending(request) => request.start,
            Fetch::Ready { start, .. } | Fetch::Failed { start, .. } => *start,
        }
    }

    fn end(&self) -> u64 {
        match self {
            Fetch::Pending(request) => request.end(),
            Fetch::Ready { start, bytes } => start + bytes.len() as u64,
            Fetch::Failed { start, length } => start + *length as u64,
        }
    }

    /// The bytes, waiting for them if needed; `None` if the read failed.
    fn bytes(&mut self) -> Option<&[u8]> {
        if let Fetch::Pending(request) = self {
            let (start, length) = (request.start, request.length);
            let waited = core::mem::replace(self, Fetch::Failed { start, length });
            let Fetch::Pending(request) = waited else {
                unreachable!("matched as pending above")
            };
            if let (Ok(()), Some(bytes)) = request.wait() {
                *self = Fetch::Ready { start, bytes };
            }
        }
        match self {
            Fetch::Ready { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// Counters of one stream, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Read-ahead requests submitted.
    pub fetches: u64,
    /// Reads served (at least partly) from read-ahead.
    pub hits: u64,
    /// Direct read requests.
    pub direct_reads: u64,
    /// Write requests submitted.
    pub writes: u64,
    /// Most requests this stream had in flight at once.
    pub most_in_flight: usize,
}

/// Read-ahead and write-behind over one disk for one owner (see the module documentation).
pub struct DiskStream {
    disk: Arc<Disk>,
    /// Read-ahead pieces, adjacent and in ascending order.
    ahead: VecDeque<Fetch>,
    /// How far ahead of the reader the stream reaches.
    window: usize,
    /// Where the last read ended: a read starting there is sequential.
    last_end: u64,
    /// Write data not submitted yet: its start and bytes (at most `PIECE`).
    staged: Option<(u64, Vec<u8>)>,
    writes: VecDeque<InFlight>,
    /// The first error of a write that completed since the last flush.
    write_error: Option<BlockError>,
    spare: Vec<Vec<u8>>,
    counters: StreamCounters,
}

impl DiskStream {
    /// A stream over `disk`, idle.
    pub fn new(disk: Arc<Disk>) -> Self {
        Self {
            disk,
            ahead: VecDeque::new(),
            window: FIRST_WINDOW,
            last_end: u64::MAX,
            staged: None,
            writes: VecDeque::new(),
            write_error: None,
            spare: Vec::new(),
            counters: StreamCounters::default(),
        }
    }

    /// The disk underneath.
    pub fn disk(&self) -> &Arc<Disk> {
        &self.disk
    }

    /// What the stream has done so far.
    pub fn counters(&self) -> StreamCounters {
        self.counters
    }

    fn sector(&self) -> u64 {
        u64::from(self.disk.sector_size())
    }

    /// A piece-sized buffer of `length` bytes (recycled when possible).
    fn buffer(&mut self, length: usize) -> Vec<u8> {
        let mut bytes = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(PIECE));
        bytes.resize(length, 0);
        bytes
    }

    fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < 2 * DEPTH && bytes.capacity() >= PIECE {
            self.spare.push(bytes);
        }
    }

    fn note_in_flight(&mut self) {
        let pending = self
            .ahead
            .iter()
            .filter(|fetch| matches!(fetch, Fetch::Pending(_)))
            .count();
        let total = pending + self.writes.len();
        self.counters.most_in_flight = self.counters.most_in_flight.max(total);
    }

    /// Reads whole sectors at sector-aligned `offset`.
    ///
    /// What the read-ahead holds is copied from it. A read that continues the previous one
    /// and is not held starts a stream behind it: read directly, then requests ahead of it.
    /// Any other read goes straight to the disk and leaves the stream alone (metadata read
    /// between two runs of a file, random reads).
    pub fn read(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
        let end = offset + buffer.len() as u64;
        self.settle_writes(offset, end)?;
        let sequential = offset == self.last_end;
        self.last_end = end;
        let covered = self
            .ahead
            .front()
            .is_some_and(|front| front.start() <= offset)
            && self.ahead.back().is_some_and(|back| offset < back.end());
        if covered && self.serve_from_ahead(offset, buffer)? {
            self.window = (self.window * 2).min(DEPTH * PIECE);
            self.top_up(end)?;
            return Ok(());
        }
        self.read_direct(offset, buffer)?;
        if sequential {
            // The stream moves here.
            self.drop_ahead_from(0);
            self.window = FIRST_WINDOW;
            self.top_up(end)?;
        }
        Ok(())
    }

    /// Reads whole sectors at sector-aligned `offset` into the `parts`, one after the other:
    /// one request when nothing of the range is held by the read-ahead.
    pub fn read_parts(&mut self, offset: u64, parts: &mut [&mut [u8]]) -> Result<(), BlockError> {
        let length: usize = parts.iter().map(|part| part.len()).sum();
        let end = offset + length as u64;
        let ahead = self.ahead.front().map(Fetch::start).unwrap_or(u64::MAX)
            ..self.ahead.back().map(Fetch::end).unwrap_or(0);
        if parts.len() > MAX_PARTS || (ahead.start < end && offset < ahead.end) {
            let mut at = offset;
            for part in parts.iter_mut() {
                self.read(at, part)?;
                at += part.len() as u64;
            }
            return Ok(());
        }
        self.settle_writes(offset, end)?;
        let sequential = offset == self.last_end;
        self.last_end = end;
        self.counters.direct_reads += 1;
        self.disk.read_parts(offset / self.sector(), parts)?;
        if sequential {
            self.drop_ahead_from(0);
            self.window = FIRST_WINDOW;
            self.top_up(end)?;
        }
        Ok(())
    }

    /// Copies what the read-ahead holds of `[offset, ..)` and reads the rest directly, then
    /// retires the pieces the reader has passed. False (nothing served) if a piece failed:
    /// the stream is dropped and the caller reads directly, so a real device error reaches
    /// it from its own request.
    fn serve_from_ahead(&mut self, offset: u64, buffer: &mut [u8]) -> Result<bool, BlockError> {
        let end = offset + buffer.len() as u64;
        let mut at = offset;
        for fetch in self.ahead.iter_mut() {
            if fetch.end() <= at {
                continue;
            }
            if fetch.start() >= end {
                break;
            }
            let start = fetch.start();
            let Some(bytes) = fetch.bytes() else {
                self.drop_ahead_from(0);
                return Ok(false);
            };
            let until = end.min(start + bytes.len() as u64);
            buffer[(at - offset) as usize..(until - offset) as usize]
                .copy_from_slice(&bytes[(at - start) as usize..(until - start) as usize]);
            at = until;
        }
        self.counters.hits += 1;
        if at < end {
            let rest = &mut buffer[(at - offset) as usize..];
            self.read_direct(at, rest)?;
        }
        while self.ahead.front().is_some_and(|front| front.end() <= end) {
            if let Some(Fetch::Ready { bytes, .. }) = self.ahead.pop_front() {
                self.recycle(bytes);
            }
        }
        Ok(true)
    }

    fn read_direct(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
        let sector = self.sector();
        for (index, chunk) in buffer.chunks_mut(MAX_DIRECT).enumerate() {
            let at = offset + (index * MAX_DIRECT) as u64;
            self.counters.direct_reads += 1;
            self.disk.read(at / sector, chunk)?;
        }
        Ok(())
    }

    /// Submits read-ahead pieces until the stream reaches `window` bytes past `position`.
    fn top_up(&mut self, position: u64) -> Result<(), BlockError> {
        let sector = self.sector();
        let size = self.disk.size_bytes();
        let mut next = self.ahead.back().map_or(position, Fetch::end).max(position);
        while self.ahead.len() < DEPTH && next < position + self.window as u64 && next < size {
            let length = ((size - next).min(PIECE as u64) / sector * sector) as usize;
            if length == 0 {
                break;
            }
            self.settle_writes(next, next + length as u64)?;
            let bytes = self.buffer(length);
            let request = InFlight::submit(&self.disk, Operation::Read, next, bytes);
            self.ahead.push_back(Fetch::Pending(request));
            self.counters.fetches += 1;
            next += length as u64;
        }
        self.disk.note_read_ahead(self.ahead.len());
        self.note_in_flight();
        Ok(())
    }

    /// Drops read-ahead pieces from index `first` on (pieces in flight finish on their own
    /// and free their buffers).
    fn drop_ahead_from(&mut self, first: usize) {
        while self.ahead.len() > first {
            if let Some(Fetch::Ready { bytes, .. }) = self.ahead.pop_back() {
                self.recycle(bytes);
            }
        }
    }

    /// Writes whole sectors at sector-aligned `offset`; returns once the data is copied and
    /// submitted (see [`DiskStream::flush`] for durability and errors).
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        let end = offset + data.len() as u64;
        if let Some(first) = self
            .ahead
            .iter()
            .position(|fetch| fetch.start() < end && offset < fetch.end())
        {
            // Keep the read-ahead adjacent: drop the overlapping piece and all after it.
            self.drop_ahead_from(first);
        }
        let mut done = 0;
        while done < data.len() {
            let at = offset + done as u64;
            let joins = matches!(&self.staged, Some((start, bytes))
                if start + bytes.len() as u64 == at && bytes.len() < PIECE);
            if !joins {
                self.submit_staged()?;
                let bytes = self.buffer(0);
                self.staged = Some((at, bytes));
            }
            let Some((_, bytes)) = self.staged.as_mut() else {
                unreachable!("staged above")
            };
            let take = (PIECE - bytes.len()).min(data.len() - done);
            bytes.extend_from_slice(&data[done..done + take]);
            let full = bytes.len() == PIECE;
            done += take;
            if full {
                self.submit_staged()?;
            }
        }
        Ok(())
    }

    /// Submits the staged write, after any in-flight write to the same sectors and with at
    /// most `DEPTH` writes in flight.
    fn submit_staged(&mut self) -> Result<(), BlockError> {
        let Some((start, bytes)) = self.staged.take() else {
            return Ok(());
        };
        let end = start + bytes.len() as u64;
        self.retire_writes(|write| write.overlaps(start, end));
        while self.writes.len() >= DEPTH {
            if let Some(oldest) = self.writes.pop_front() {
                self.retire(oldest);
            }
        }
        let request = InFlight::submit(&self.disk, Operation::Write, start, bytes);
        self.writes.push_back(request);
        self.counters.writes += 1;
        self.note_in_flight();
        Ok(())
    }

    fn retire(&mut self, write: InFlight) {
        let (result, bytes) = write.wait();
        if let Err(error) = result {
            self.write_error.get_or_insert(error);
        }
        if let Some(bytes) = bytes {
            self.recycle(bytes);
        }
    }

    /// Waits for (and collects) the in-flight writes that `which` selects.
    fn retire_writes(&mut self, which: impl Fn(&InFlight) -> bool) {
        let mut index = 0;
        while index < self.writes.len() {
            if which(&self.writes[index]) {
                if let Some(write) = self.writes.remove(index) {
                    self.retire(write);
                }
            } else {
                index += 1;
            }
        }
    }

    /// Makes the device see every write overlapping `[start, end)` before it is read.
    fn settle_writes(&mut self, start: u64, end: u64) -> Result<(), BlockError> {
        if matches!(&self.staged, Some((at, bytes)) if *at < end && start < at + bytes.len() as u64)
        {
            self.submit_staged()?;
        }
        self.retire_writes(|write| write.overlaps(start, end));
        Ok(())
    }

    /// Submits staged data, waits for every write, reports the first write error since the
    /// last flush, then flushes the device's cache.
    pub fn flush(&mut self) -> Result<(), BlockError> {
        self.submit_staged()?;
        self.retire_writes(|_| true);
        if let Some(error) = self.write_error.take() {
            return Err(error);
        }
        self.disk.flush()
    }
}

impl Drop for DiskStream {
    fn drop(&mut self) {
        log::debug!("{}: stream {:?}", self.disk.name(), self.counters);
        // Nothing written may be left behind in memory; the owner flushed if it cared about
        // errors.
        if self.submit_staged().is_ok() {
            self.retire_writes(|_| true);
        }
        if let Some(error) = self.write_error.take() {
            log::warn!(
                "{}: a write-behind request failed: {error}",
                self.disk.name()
            );
        }
    }
}
