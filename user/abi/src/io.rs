//! Descriptors and I/O: `struct pollfd`, `struct iovec`, poll events, `lseek` and `access`
//! arguments, `getrandom` flags.

use crate::bytes::layout;

layout! {
    /// `struct pollfd` of `poll` and `ppoll`.
    pub struct PollFd: 8 bytes {
        fd: i32 @ 0,
        /// Requested `POLL*` events.
        events: i16 @ 4,
        /// Returned `POLL*` events.
        revents: i16 @ 6,
    }
}

layout! {
    /// `struct iovec` of `readv`, `writev` and friends.
    pub struct IoVec: 16 bytes {
        iov_base: u64 @ 0,
        iov_len: u64 @ 8,
    }
}

/// Most buffers one `readv`/`writev` accepts (`UIO_MAXIOV`).
pub const IOV_MAX: usize = 1024;

// Poll events.
pub const POLLIN: i16 = 0x1;
pub const POLLPRI: i16 = 0x2;
pub const POLLOUT: i16 = 0x4;
pub const POLLERR: i16 = 0x8;
pub const POLLHUP: i16 = 0x10;
pub const POLLNVAL: i16 = 0x20;
pub const POLLRDNORM: i16 = 0x40;
pub const POLLRDBAND: i16 = 0x80;
pub const POLLWRNORM: i16 = 0x100;
pub const POLLWRBAND: i16 = 0x200;
pub const POLLMSG: i16 = 0x400;
pub const POLLRDHUP: i16 = 0x2000;

// `whence` of `lseek`.
pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

// `mode` of `access` and `faccessat`.
pub const F_OK: u32 = 0;
pub const X_OK: u32 = 1;
pub const W_OK: u32 = 2;
pub const R_OK: u32 = 4;

// `getrandom` flags.
pub const GRND_NONBLOCK: u32 = 0x1;
pub const GRND_RANDOM: u32 = 0x2;
pub const GRND_INSECURE: u32 = 0x4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let poll = PollFd {
            fd: 0,
            events: POLLIN | POLLPRI,
            revents: POLLHUP,
        };
        assert_eq!(poll.to_bytes(), [0, 0, 0, 0, 3, 0, 0x10, 0]);
        assert_eq!(PollFd::from_bytes(&poll.to_bytes()), Some(poll));
        let vector = IoVec {
            iov_base: 0x1000,
            iov_len: 5,
        };
        assert_eq!(IoVec::from_bytes(&vector.to_bytes()), Some(vector));
        assert_eq!(IoVec::from_bytes(&[0; 8]), None);
    }
}
