//! Pipes: a 64 KiB ring between writers and readers. Reads block until data or end of file
//! (no writer left); writes block until room, and fail with EPIPE (and SIGPIPE) without readers.
//! Writes of up to `PIPE_BUF` bytes are atomic.

use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicU64, Ordering};

use super::signal::{wait_interruptible, WaitError};
use super::{Errno, Process};
use crate::sched::wait::WaitQueue;
use crate::sync::spin::IrqSpinLock;

/// Capacity (Linux's default pipe size).
pub const CAPACITY: usize = 64 * 1024;
/// Writes up to this size are never interleaved with others.
pub const PIPE_BUF: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeEnd {
    Read,
    Write,
}

struct State {
    data: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

pub struct Pipe {
    id: u64,
    state: IrqSpinLock<State>,
    /// Woken on every change (data, room, an end closed).
    pub events: WaitQueue,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0x1000);

impl Pipe {
    pub fn new() -> alloc::sync::Arc<Self> {
        alloc::sync::Arc::new(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            state: IrqSpinLock::new(
                "pipe",
                State {
                    data: VecDeque::new(),
                    readers: 0,
                    writers: 0,
                },
            ),
            events: WaitQueue::new("pipe"),
        })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn open_end(&self, end: PipeEnd) {
        let mut state = self.state.lock();
        match end {
            PipeEnd::Read => state.readers += 1,
            PipeEnd::Write => state.writers += 1,
        }
    }

    pub fn close_end(&self, end: PipeEnd) {
        {
            let mut state = self.state.lock();
            match end {
                PipeEnd::Read => state.readers -= 1,
                PipeEnd::Write => state.writers -= 1,
            }
        }
        self.events.wake_all();
        super::poll::notify();
    }

    /// Bytes waiting (FIONREAD).
    pub fn available(&self) -> usize {
        self.state.lock().data.len()
    }

    /// (readable, writable, hung up) for poll.
    pub fn poll_state(&self, end: PipeEnd) -> (bool, bool, bool, bool) {
        let state = self.state.lock();
        match end {
            PipeEnd::Read => (!state.data.is_empty(), false, state.writers == 0, false),
            PipeEnd::Write => (
                false,
                state.data.len() < CAPACITY,
                false,
                state.readers == 0,
            ),
        }
    }

    pub fn read(
        &self,
        process: &Process,
        buffer: &mut [u8],
        non_blocking: bool,
    ) -> Result<usize, Errno> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut state = self.state.lock();
                if !state.data.is_empty() {
                    let count = buffer.len().min(state.data.len());
                    for (slot, byte) in buffer.iter_mut().zip(state.data.drain(..count)) {
                        *slot = byte;
                    }
                    drop(state);
                    self.events.wake_all();
                    super::poll::notify();
                    return Ok(count);
                }
                if state.writers == 0 {
                    return Ok(0);
                }
            }
            if non_blocking {
                return Err(Errno::EAGAIN);
            }
            wait_interruptible(process, &self.events, || {
                let state = self.state.lock();
                !state.data.is_empty() || state.writers == 0
            })
            .map_err(WaitError::errno)?;
        }
    }

    pub fn write(
        &self,
        process: &Process,
        data: &[u8],
        non_blocking: bool,
    ) -> Result<usize, Errno> {
        let mut written = 0;
        while written < data.len() {
            {
                let mut state = self.state.lock();
                if state.readers == 0 {
                    drop(state);
                    super::signal::send_to_self(linux_abi::signal::SIGPIPE);
                    return if written > 0 {
                        Ok(written)
                    } else {
                        Err(Errno::EPIPE)
                    };
                }
                let room = CAPACITY - state.data.len();
                let left = data.len() - written;
                // Small writes go in whole or not at all.
                if room > 0 && (left > PIPE_BUF || room >= left) {
                    let count = room.min(left);
                    state.data.extend(&data[written..written + count]);
                    written += count;
                    drop(state);
                    self.events.wake_all();
                    super::poll::notify();
                    continue;
                }
            }
            if non_blocking {
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            let needed = (data.len() - written).min(PIPE_BUF);
            if let Err(error) = wait_interruptible(process, &self.events, || {
                let state = self.state.lock();
                state.readers == 0 || CAPACITY - state.data.len() >= needed
            }) {
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(error.errno())
                };
            }
        }
        Ok(written)
    }
}
