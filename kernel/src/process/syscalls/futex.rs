//! `futex`: wait while a user word holds a value, wake waiters of a word. Waiters of every
//! futex share one queue and re-check their own word's wake count, which is plenty for
//! single-threaded processes (glibc's locks, `CLONE_CHILD_CLEARTID`).

use alloc::collections::BTreeMap;

use linux_abi::process as p;

use super::{Call, Errno, SysResult};
use crate::process::signal::wait_interruptible_until;
use crate::process::usermem::{read_bytes, read_u32};
use crate::process::Process;
use crate::sched::wait::WaitQueue;
use crate::sync::spin::IrqSpinLock;

/// Wake counts by (address-space root, user address).
static WAKES: IrqSpinLock<BTreeMap<(u64, u64), u64>> = IrqSpinLock::new("futex", BTreeMap::new());
static WAITERS: WaitQueue = WaitQueue::new("futex");

fn key(process: &Process, address: u64) -> (u64, u64) {
    (process.memory().lock().root(), address)
}

fn wakes(key: (u64, u64)) -> u64 {
    WAKES.lock().get(&key).copied().unwrap_or(0)
}

/// Wakes waiters on `address` of `process`'s memory.
pub fn wake_address(process: &Process, address: u64, _count: u32) -> u64 {
    let key = key(process, address);
    *WAKES.lock().entry(key).or_insert(0) += 1;
    WAITERS.wake_all();
    0
}

pub fn futex(call: &mut Call<'_>) -> SysResult {
    let (address, operation, value) = (call.arg(0), call.arg(1) as u32, call.arg(2) as u32);
    if address % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let command = operation & 0x7f;
    match command {
        p::FUTEX_WAIT | p::FUTEX_WAIT_BITSET => {
            let key = key(call.process, address);
            let start = wakes(key);
            if read_u32(address)? != value {
                return Err(Errno::EAGAIN);
            }
            let deadline = if call.arg(3) != 0 {
                let bytes = read_bytes(call.arg(3), 16)?;
                let seconds = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
                let nanos = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
                let span = seconds.saturating_mul(1_000_000_000).saturating_add(nanos);
                let now = crate::time::monotonic_nanos();
                // FUTEX_WAIT takes a relative timeout; the bitset form an absolute one.
                Some(if command == p::FUTEX_WAIT {
                    now.saturating_add(span)
                } else {
                    span
                })
            } else {
                None
            };
            let process = call.process.clone();
            match wait_interruptible_until(&process, &WAITERS, deadline, || wakes(key) != start) {
                Ok(true) => Ok(0),
                Ok(false) => Err(Errno::ETIMEDOUT),
                Err(_) => Err(Errno::EINTR),
            }
        }
        p::FUTEX_WAKE | p::FUTEX_WAKE_BITSET => Ok(wake_address(call.process, address, value)),
        _ => Err(Errno::ENOSYS),
    }
}
