//! Resource usage and limits: `struct rusage`, `struct rlimit`, `struct sysinfo`, `RLIMIT_*`.

use crate::bytes::layout;

layout! {
    /// `struct rusage` of `getrusage` and `wait4` (144 bytes); the two `timeval`s are flattened.
    pub struct Rusage: 144 bytes {
        ru_utime_sec: i64 @ 0,
        ru_utime_usec: i64 @ 8,
        ru_stime_sec: i64 @ 16,
        ru_stime_usec: i64 @ 24,
        /// Peak resident set in KiB.
        ru_maxrss: i64 @ 32,
        ru_ixrss: i64 @ 40,
        ru_idrss: i64 @ 48,
        ru_isrss: i64 @ 56,
        ru_minflt: i64 @ 64,
        ru_majflt: i64 @ 72,
        ru_nswap: i64 @ 80,
        ru_inblock: i64 @ 88,
        ru_oublock: i64 @ 96,
        ru_msgsnd: i64 @ 104,
        ru_msgrcv: i64 @ 112,
        ru_nsignals: i64 @ 120,
        ru_nvcsw: i64 @ 128,
        ru_nivcsw: i64 @ 136,
    }
}

layout! {
    /// `struct rlimit` of `getrlimit`, `setrlimit` and `prlimit64`.
    pub struct Rlimit: 16 bytes {
        rlim_cur: u64 @ 0,
        rlim_max: u64 @ 8,
    }
}

layout! {
    /// `struct sysinfo` (112 bytes); `loads` is flattened, scaled by `1 << 16`.
    pub struct Sysinfo: 112 bytes {
        /// Seconds since boot.
        uptime: i64 @ 0,
        loads_1min: u64 @ 8,
        loads_5min: u64 @ 16,
        loads_15min: u64 @ 24,
        /// Memory sizes count units of `mem_unit` bytes.
        totalram: u64 @ 32,
        freeram: u64 @ 40,
        sharedram: u64 @ 48,
        bufferram: u64 @ 56,
        totalswap: u64 @ 64,
        freeswap: u64 @ 72,
        procs: u16 @ 80,
        totalhigh: u64 @ 88,
        freehigh: u64 @ 96,
        mem_unit: u32 @ 104,
    }
}

/// "No limit" for an `rlimit` field.
pub const RLIM_INFINITY: u64 = u64::MAX;

// Resources of `getrlimit`/`setrlimit`/`prlimit64`.
pub const RLIMIT_CPU: u32 = 0;
pub const RLIMIT_FSIZE: u32 = 1;
pub const RLIMIT_DATA: u32 = 2;
pub const RLIMIT_STACK: u32 = 3;
pub const RLIMIT_CORE: u32 = 4;
pub const RLIMIT_RSS: u32 = 5;
pub const RLIMIT_NPROC: u32 = 6;
pub const RLIMIT_NOFILE: u32 = 7;
pub const RLIMIT_MEMLOCK: u32 = 8;
pub const RLIMIT_AS: u32 = 9;
pub const RLIMIT_LOCKS: u32 = 10;
pub const RLIMIT_SIGPENDING: u32 = 11;
pub const RLIMIT_MSGQUEUE: u32 = 12;
pub const RLIMIT_NICE: u32 = 13;
pub const RLIMIT_RTPRIO: u32 = 14;
pub const RLIMIT_RTTIME: u32 = 15;
/// Number of resources.
pub const RLIM_NLIMITS: u32 = 16;

// `who` of `getrusage`.
pub const RUSAGE_SELF: i32 = 0;
pub const RUSAGE_CHILDREN: i32 = -1;
pub const RUSAGE_THREAD: i32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let usage = Rusage {
            ru_utime_sec: 1,
            ru_stime_usec: 2,
            ru_nivcsw: 3,
            ..Rusage::default()
        };
        assert_eq!(usage.to_bytes()[136], 3);
        assert_eq!(Rusage::from_bytes(&usage.to_bytes()), Some(usage));
        let limit = Rlimit {
            rlim_cur: 8 << 20,
            rlim_max: RLIM_INFINITY,
        };
        assert_eq!(Rlimit::from_bytes(&limit.to_bytes()), Some(limit));
        let info = Sysinfo {
            uptime: 5,
            totalram: 1 << 20,
            procs: 3,
            mem_unit: 4096,
            ..Sysinfo::default()
        };
        assert_eq!(info.to_bytes()[80], 3);
        assert_eq!(Sysinfo::from_bytes(&info.to_bytes()), Some(info));
        assert_eq!(Sysinfo::from_bytes(&[0; 111]), None);
    }
}
