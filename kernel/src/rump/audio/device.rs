//! `/dev/audio` for the shell: the rump descriptor and ioctl helpers the mixer shares, and
//! [`play`], which sets the format, writes the PCM and a ring of silence, and drains.

use core::ffi::{c_int, c_ulong, c_void, CStr};
use core::sync::atomic::Ordering;

use rump_api::audio::*;

use super::{describe, AudioError, Format, Played, SampleFormat};

const ENOENT: i32 = 2;
pub(super) const ENXIO: i32 = 6;
const EBUSY: i32 = 16;
const ENODEV: i32 = 19;
/// How much one `write` hands over (NetBSD's audio buffer takes what fits and blocks).
const WRITE_CHUNK: usize = 16 * 1024;

pub(super) fn errno() -> i32 {
    crate::sched::current_thread()
        .foreign_errno
        .load(Ordering::Relaxed)
}

/// An open rump file descriptor, closed when dropped.
pub(super) struct Descriptor(c_int);

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: a descriptor this value owns, closed once.
        unsafe { rump_api::rump___sysimpl_close(self.0) };
    }
}

pub(super) fn open(path: &CStr, flags: c_int) -> Result<Descriptor, AudioError> {
    // SAFETY: a NUL-terminated path; open takes no other pointer.
    let fd = unsafe { rump_api::rump___sysimpl_open(path.as_ptr(), flags, 0) };
    if fd >= 0 {
        return Ok(Descriptor(fd));
    }
    Err(match errno() {
        ENOENT => AudioError::NoAudioLayer,
        ENXIO | ENODEV => AudioError::NoDevice,
        EBUSY => AudioError::Busy,
        errno => AudioError::Failed {
            call: "open",
            errno,
        },
    })
}

/// `ioctl(fd, request, argument)`; `argument` is the structure the request names.
pub(super) fn ioctl<T>(
    descriptor: &Descriptor,
    request: u32,
    argument: Option<&mut T>,
    call: &'static str,
) -> Result<(), AudioError> {
    let pointer = argument.map_or(core::ptr::null_mut(), |a| (a as *mut T).cast::<c_void>());
    // SAFETY: `request` encodes the size of `T` (the header computes it from the same
    // structure), so the rump kernel copies exactly one `T` in or out of `pointer`, which is
    // valid for the call; requests without a parameter take NULL.
    let result =
        unsafe { rump_api::rump___sysimpl_ioctl(descriptor.0, c_ulong::from(request), pointer) };
    if result < 0 {
        Err(AudioError::Failed {
            call,
            errno: errno(),
        })
    } else {
        Ok(())
    }
}

fn unchanged_info() -> nb_audio_info {
    // AUDIO_SETINFO leaves every field that is all ones alone.
    let all_ones = u32::MAX;
    let side = nb_audio_prinfo {
        sample_rate: all_ones,
        channels: all_ones,
        precision: all_ones,
        encoding: all_ones,
        gain: all_ones,
        port: all_ones,
        seek: all_ones,
        avail_ports: all_ones,
        buffer_size: all_ones,
        spare_word: all_ones,
        samples: all_ones,
        eof: all_ones,
        pause: 0xff,
        error: 0xff,
        waiting: 0xff,
        balance: 0xff,
        spare_bytes: [0xff; 2],
        open: 0xff,
        active: 0xff,
    };
    nb_audio_info {
        play: side,
        record: side,
        monitor_gain: all_ones,
        blocksize: all_ones,
        hiwat: all_ones,
        lowat: all_ones,
        spare_word: all_ones,
        mode: all_ones,
    }
}

pub fn play(format: &Format, pcm: &[u8]) -> Result<Played, AudioError> {
    let device = open(c"/dev/audio", rump_api::O_WRONLY)?;
    let mut info = unchanged_info();
    info.play.sample_rate = format.sample_rate;
    info.play.channels = u32::from(format.channels);
    info.play.precision = u32::from(format.sample.bits());
    info.play.encoding = match format.sample {
        SampleFormat::Unsigned8 => NB_AUDIO_ENCODING_ULINEAR_LE,
        SampleFormat::Signed16Le => NB_AUDIO_ENCODING_SLINEAR_LE,
    };
    // Every sample, even late: a playback that fell behind must not skip ahead.
    info.mode = NB_AUMODE_PLAY | NB_AUMODE_PLAY_ALL;
    ioctl(&device, NB_AUDIO_SETINFO, Some(&mut info), "AUDIO_SETINFO").map_err(
        |error| match error {
            AudioError::Failed { errno, .. } => AudioError::FormatRefused {
                format: describe(format),
                errno,
            },
            other => other,
        },
    )?;
    let mut taken = nb_audio_info::default();
    ioctl(&device, NB_AUDIO_GETINFO, Some(&mut taken), "AUDIO_GETINFO")?;
    if taken.play.sample_rate != format.sample_rate
        || taken.play.channels != u32::from(format.channels)
        || taken.play.precision != u32::from(format.sample.bits())
    {
        return Err(AudioError::FormatRefused {
            format: alloc::format!(
                "{} (it set {} Hz, {} channels, {} bits)",
                describe(format),
                taken.play.sample_rate,
                taken.play.channels,
                taken.play.precision
            ),
            errno: 22,
        });
    }
    super::mixer::reapply_levels();
    write_all(&device, pcm)?;
    // The hardware reads the ring ahead of NetBSD's interrupt handling: past the last
    // block it plays what an earlier lap left there until NetBSD fills in silence, and
    // under load that handling can lag by several blocks. A whole ring of silence after the
    // data leaves nothing but silence in the ring, however late the handling is.
    let silence_byte = match format.sample {
        SampleFormat::Unsigned8 => 0x80,
        SampleFormat::Signed16Le => 0,
    };
    let padding = alloc::vec![silence_byte; padding_frames(format, taken.play.buffer_size) * format.frame_bytes()];
    write_all(&device, &padding)?;
    let mut before_drain = nb_audio_info::default();
    ioctl(
        &device,
        NB_AUDIO_GETINFO,
        Some(&mut before_drain),
        "AUDIO_GETINFO",
    )?;
    ioctl::<()>(&device, NB_AUDIO_DRAIN, None, "AUDIO_DRAIN")?;
    Ok(Played {
        bytes: pcm.len(),
        silence_bytes: padding.len(),
        underrun: before_drain.play.error != 0,
        block_bytes: taken.blocksize,
    })
}

/// Frames of `format` that last at least as long as NetBSD's hardware ring of
/// `ring_bytes`: hdafg plays 16-bit stereo, at the caller's rate or a higher one it
/// supports (48 kHz taken as the lowest for rates above it), at least a tenth of a second.
fn padding_frames(format: &Format, ring_bytes: u32) -> usize {
    const HARDWARE_FRAME_BYTES: u64 = 4;
    let rate = u64::from(format.sample_rate);
    let ring_rate = rate.min(48_000);
    let ring_frames = u64::from(ring_bytes.min(1 << 20)) / HARDWARE_FRAME_BYTES;
    let frames = (ring_frames * rate).div_ceil(ring_rate.max(1));
    frames.max(rate.div_ceil(10)) as usize
}

fn write_all(device: &Descriptor, bytes: &[u8]) -> Result<(), AudioError> {
    let mut written = 0;
    while written < bytes.len() {
        let piece = &bytes[written..bytes.len().min(written + WRITE_CHUNK)];
        // SAFETY: `piece` is readable for its length during the call.
        let result =
            unsafe { rump_api::rump___sysimpl_write(device.0, piece.as_ptr().cast(), piece.len()) };
        if result <= 0 {
            return Err(AudioError::Failed {
                call: "write",
                errno: errno(),
            });
        }
        written += result as usize;
    }
    Ok(())
}
