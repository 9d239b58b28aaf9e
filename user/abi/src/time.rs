//! Time structures (`timespec`, `timeval`, `timezone`, `tms`) and clock ids.

use crate::bytes::layout;

layout! {
    /// `struct timespec`: seconds and nanoseconds.
    pub struct Timespec: 16 bytes {
        tv_sec: i64 @ 0,
        tv_nsec: i64 @ 8,
    }
}

layout! {
    /// `struct timeval`: seconds and microseconds.
    pub struct Timeval: 16 bytes {
        tv_sec: i64 @ 0,
        tv_usec: i64 @ 8,
    }
}

layout! {
    /// `struct timezone` of `gettimeofday` (obsolete; the kernel reports zeros).
    pub struct Timezone: 8 bytes {
        tz_minuteswest: i32 @ 0,
        tz_dsttime: i32 @ 4,
    }
}

layout! {
    /// `struct tms` of `times`, in clock ticks ([`USER_HZ`] per second).
    pub struct Tms: 32 bytes {
        tms_utime: i64 @ 0,
        tms_stime: i64 @ 8,
        tms_cutime: i64 @ 16,
        tms_cstime: i64 @ 24,
    }
}

/// Clock ticks per second as user space sees them (`times`, `/proc`, `siginfo` times).
pub const USER_HZ: i64 = 100;

/// `UTIME_NOW` / `UTIME_OMIT` in `tv_nsec` of `utimensat`.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

// Clock ids.
pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_MONOTONIC: u32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: u32 = 3;
pub const CLOCK_MONOTONIC_RAW: u32 = 4;
pub const CLOCK_REALTIME_COARSE: u32 = 5;
pub const CLOCK_MONOTONIC_COARSE: u32 = 6;
pub const CLOCK_BOOTTIME: u32 = 7;
pub const CLOCK_REALTIME_ALARM: u32 = 8;
pub const CLOCK_BOOTTIME_ALARM: u32 = 9;
pub const CLOCK_TAI: u32 = 11;
/// `clock_nanosleep` flag: the time is absolute.
pub const TIMER_ABSTIME: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let time = Timespec {
            tv_sec: -1,
            tv_nsec: 500,
        };
        assert_eq!(time.to_bytes()[..8], [0xff; 8]);
        assert_eq!(Timespec::from_bytes(&time.to_bytes()), Some(time));
        let tms = Tms {
            tms_utime: 1,
            tms_cstime: 4,
            ..Tms::default()
        };
        assert_eq!(Tms::from_bytes(&tms.to_bytes()), Some(tms));
        assert_eq!(Timeval::from_bytes(&[0; 15]), None);
        assert_eq!(Timezone::from_bytes(&[0; 8]), Some(Timezone::default()));
    }
}
