//! NetBSD's `/dev/audio` and `/dev/mixer` for processes: the rump kernel's own device nodes,
//! offered under our `/dev` as foreign devices (`crate::vfs::foreign::ForeignDevice`). Opens,
//! reads, writes and ioctls become the rump kernel's system calls on a pooled client thread, so a
//! program speaks NetBSD's audio(4) interface — `AUDIO_SETINFO`, `AUDIO_DRAIN`,
//! `AUDIO_MIXER_READ` ... with NetBSD's request numbers and structures, the ones our header
//! `rump-api/include/netbsd_audio.h` declares.
//!
//! A request's parameter is copied by the system-call layer as NetBSD's encoding of the
//! request says (direction and length); only the audio (`'A'`) and mixer (`'M'`) groups pass,
//! whose parameters hold no pointers — a request that carried one would hand the rump kernel an
//! address of the caller's to dereference.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::{c_int, c_ulong, c_void, CStr};
use core::sync::atomic::{AtomicBool, Ordering};

use rump_api::{errno_name, linux_errno};

use super::super::bridge::run;
use crate::vfs::foreign::{DeviceNode, ForeignDevice, IoctlShape};
use crate::vfs::{Result, VfsError};

/// NetBSD's `FIONBIO`: `_IOW('f', 126, int)`.
const NETBSD_FIONBIO: u32 = 0x8004_667e;
/// NetBSD's ioctl encoding (sys/ioccom.h): direction bits, parameter length, group.
const IOC_VOID: u32 = 0x2000_0000;
const IOC_OUT: u32 = 0x4000_0000;
const IOC_IN: u32 = 0x8000_0000;
const IOCPARM_MASK: u32 = 0x1fff;
/// The request groups passed through: audio(4) and its mixer.
const GROUPS: [u8; 2] = [b'A', b'M'];

/// The nodes offered, with OSS's Linux device numbers for `stat`.
const NODES: [(&str, &CStr, u32, u32); 2] = [
    ("audio", c"/dev/audio", 14, 4),
    ("mixer", c"/dev/mixer", 14, 0),
];

/// Offers each node the rump kernel has (called once it is up; a set without audio(4) has
/// neither node, and then neither appears under `/dev`).
pub fn register() {
    for (name, rump_path, major, minor) in NODES {
        let present = run(move || {
            let mut stat = rump_api::Stat::default();
            // SAFETY: a NUL-terminated path and a correctly sized `struct stat`.
            Ok(unsafe { rump_api::rump___sysimpl_stat50(rump_path.as_ptr(), &mut stat) } == 0)
        });
        if !matches!(present, Ok(true)) {
            continue;
        }
        let open = match name {
            "audio" => open_audio as crate::vfs::foreign::DeviceOpener,
            _ => open_mixer,
        };
        crate::vfs::foreign::register_device(DeviceNode {
            name,
            major,
            minor,
            open,
        });
        log::info!("rump: /dev/{name} is NetBSD's, through the rump kernel");
    }
}

fn open_audio(write: bool, read: bool) -> Result<Arc<dyn ForeignDevice>> {
    let device = RumpDevice::open(c"/dev/audio", write, read)?;
    restore_levels();
    Ok(device)
}

/// Writes the mixer's levels again after the playback format changed (an open sets NetBSD's
/// default, `AUDIO_SETINFO` the caller's): QEMU's HDA codec starts every new format at full
/// volume (see `super::reapply_levels`); elsewhere it writes what is already there.
fn restore_levels() {
    let _ = run(|| {
        super::reapply_levels();
        Ok(())
    });
}

fn open_mixer(write: bool, read: bool) -> Result<Arc<dyn ForeignDevice>> {
    RumpDevice::open(c"/dev/mixer", write, read)
}

fn errno() -> i32 {
    crate::sched::current_thread()
        .foreign_errno
        .load(Ordering::Relaxed)
}

/// The VFS error for NetBSD errno `value` from `call` on `device`.
fn failure(value: i32, call: &str, device: &str) -> VfsError {
    VfsError::Foreign {
        errno: linux_errno(value),
        text: alloc::format!(
            "{call} {device}: {} (NetBSD errno {value})",
            errno_name(value).unwrap_or("unknown error")
        ),
    }
}

/// An open rump descriptor of an audio device node.
struct RumpDevice {
    fd: c_int,
    path: &'static CStr,
    /// Whether the descriptor is in non-blocking mode now (FIONBIO follows the caller's flag).
    non_blocking: AtomicBool,
}

impl RumpDevice {
    fn open(path: &'static CStr, write: bool, read: bool) -> Result<Arc<dyn ForeignDevice>> {
        let flags = match (write, read) {
            (true, true) => rump_api::O_RDWR,
            (true, false) => rump_api::O_WRONLY,
            _ => rump_api::O_RDONLY,
        };
        let fd = run(move || {
            // SAFETY: a NUL-terminated path; open takes no other pointer.
            let fd = unsafe { rump_api::rump___sysimpl_open(path.as_ptr(), flags, 0) };
            if fd < 0 {
                return Err(failure(errno(), "open", path.to_str().unwrap_or("?")));
            }
            Ok(fd)
        })?;
        Ok(Arc::new(RumpDevice {
            fd,
            path,
            non_blocking: AtomicBool::new(false),
        }))
    }

    fn name(&self) -> String {
        String::from(self.path.to_str().unwrap_or("?"))
    }

    /// Puts the descriptor into the caller's blocking mode.
    fn set_blocking_mode(&self, non_blocking: bool) -> Result<()> {
        if self.non_blocking.load(Ordering::Relaxed) == non_blocking {
            return Ok(());
        }
        let (fd, name) = (self.fd, self.name());
        run(move || {
            let mut on: c_int = c_int::from(non_blocking);
            // SAFETY: FIONBIO copies one int in from `on`, which lives across the call.
            let result = unsafe {
                rump_api::rump___sysimpl_ioctl(
                    fd,
                    c_ulong::from(NETBSD_FIONBIO),
                    (&mut on as *mut c_int).cast(),
                )
            };
            if result < 0 {
                return Err(failure(errno(), "FIONBIO", &name));
            }
            Ok(())
        })?;
        self.non_blocking.store(non_blocking, Ordering::Relaxed);
        Ok(())
    }
}

impl ForeignDevice for RumpDevice {
    fn read(&self, buffer: &mut [u8], non_blocking: bool) -> Result<usize> {
        self.set_blocking_mode(non_blocking)?;
        let (fd, name, length) = (self.fd, self.name(), buffer.len());
        // The client thread reads into its own buffer (the caller's is only borrowed).
        let data = run(move || {
            let mut data = vec![0u8; length];
            // SAFETY: `data` is writable for its length; `fd` is open until the device drops.
            let count =
                unsafe { rump_api::rump___sysimpl_read(fd, data.as_mut_ptr().cast(), data.len()) };
            if count < 0 {
                return Err(failure(errno(), "read", &name));
            }
            data.truncate(count as usize);
            Ok(data)
        })?;
        buffer[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write(&self, data: &[u8], non_blocking: bool) -> Result<usize> {
        self.set_blocking_mode(non_blocking)?;
        let (fd, name, data) = (self.fd, self.name(), Vec::from(data));
        run(move || {
            // SAFETY: `data` is readable for its length; `fd` is open until the device drops.
            let count =
                unsafe { rump_api::rump___sysimpl_write(fd, data.as_ptr().cast(), data.len()) };
            if count < 0 {
                return Err(failure(errno(), "write", &name));
            }
            Ok(count as usize)
        })
    }

    fn ioctl_shape(&self, request: u32) -> Option<IoctlShape> {
        shape(request)
    }

    fn ioctl(&self, request: u32, parameter: &mut [u8], value: u64) -> Result<u64> {
        let shape = shape(request).ok_or(VfsError::InvalidArgument("ioctl request"))?;
        if parameter.len() != shape.length {
            return Err(VfsError::InvalidArgument("ioctl parameter length"));
        }
        let (fd, name) = (self.fd, self.name());
        let mut buffer = Vec::from(&*parameter);
        let (result, buffer) = run(move || {
            // A by-value request (`_IOWINT`) gets the value where a pointer would be, as
            // NetBSD's ioctl(2) passes it; one without a parameter gets NULL.
            let pointer: *mut c_void = if shape.copy_in || shape.copy_out {
                buffer.as_mut_ptr().cast()
            } else if request & IOC_VOID != 0 {
                (value as u32 as usize) as *mut c_void
            } else {
                core::ptr::null_mut()
            };
            // SAFETY: `buffer` holds exactly the parameter length the request encodes, so the
            // rump kernel copies within it; by-value and parameterless requests are not
            // dereferenced (only the audio and mixer groups reach here, see the module doc).
            let result =
                unsafe { rump_api::rump___sysimpl_ioctl(fd, c_ulong::from(request), pointer) };
            if result < 0 {
                return Err(failure(errno(), "ioctl", &name));
            }
            Ok((result as u64, buffer))
        })?;
        parameter.copy_from_slice(&buffer);
        if request == rump_api::audio::NB_AUDIO_SETINFO && self.path == c"/dev/audio" {
            restore_levels();
        }
        Ok(result)
    }
}

/// The parameter shape of NetBSD request `request`, if its group is passed through.
fn shape(request: u32) -> Option<IoctlShape> {
    let group = (request >> 8) as u8;
    if !GROUPS.contains(&group) {
        return None;
    }
    let length = ((request >> 16) & IOCPARM_MASK) as usize;
    let copy_in = request & IOC_IN != 0;
    let copy_out = request & IOC_OUT != 0;
    if !(copy_in || copy_out) {
        // `_IO` has no parameter; `_IOWINT` passes an int by value.
        return Some(IoctlShape {
            length: 0,
            copy_in: false,
            copy_out: false,
        });
    }
    Some(IoctlShape {
        length,
        copy_in,
        copy_out,
    })
}

impl Drop for RumpDevice {
    fn drop(&mut self) {
        let fd = self.fd;
        if !crate::sched::may_sleep() {
            // Dropped under a spin lock: a pooled thread closes it later.
            // SAFETY: `fd` came from open and nothing uses it after this.
            crate::rump::call_detached(move || unsafe {
                rump_api::rump___sysimpl_close(fd);
            });
            return;
        }
        // NetBSD's audio close plays what is still buffered before it returns.
        // SAFETY: `fd` came from open and nothing uses it after this.
        let closed = run(move || Ok(unsafe { rump_api::rump___sysimpl_close(fd) }));
        if !matches!(closed, Ok(0)) {
            log::warn!("rump: closing {} (descriptor {fd}) failed", self.name());
        }
    }
}
