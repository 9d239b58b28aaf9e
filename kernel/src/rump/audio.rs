//! Sound through the rump kernel: PCM to NetBSD's `/dev/audio` and the controls of
//! `/dev/mixer`, with NetBSD's audio(4) ioctls (`rump_api::audio`, from our own C header through
//! bindgen). NetBSD's `audio` sits on `hdafg` and `hdaudio`, which drive QEMU's `intel-hda`
//! through the host's PCI hypercalls.
//!
//! Everything here runs on a rump client thread (see [`super::call`]); the callers — the
//! shell's `tone`, `play` and `mixer` — read files and parse WAV themselves and hand over PCM.
//! Every failure comes back as an [`AudioError`] that says what to do about it. Without
//! components the functions only report that.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The layout of PCM handed to [`play`] (the `pcm` crate's, as parsed from WAV).
pub use pcm::wav::{Format, SampleFormat};

/// Why an audio request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioError {
    /// This kernel was built without rump components.
    NoComponents,
    /// The rump kernel has no `/dev/audio`: the components lack NetBSD's audio layer.
    NoAudioLayer,
    /// `/dev/audio` exists but no audio device attached behind it.
    NoDevice,
    /// Another playback holds the device (NetBSD's `EBUSY`).
    Busy,
    /// The device refused the format (what was asked, NetBSD's errno).
    FormatRefused { format: String, errno: i32 },
    /// No mixer control has that name.
    NoSuchControl(String),
    /// A control that takes no level (a class, an enumeration or a set).
    NotALevel(String),
    /// A call failed with NetBSD's errno.
    Failed { call: &'static str, errno: i32 },
}

fn errno_text(errno: i32) -> String {
    match rump_api::errno_name(errno) {
        Some(name) => alloc::format!("{name} (NetBSD errno {errno})"),
        None => alloc::format!("NetBSD errno {errno}"),
    }
}

impl fmt::Display for AudioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioError::NoComponents => write!(
                f,
                "no rump components linked; audio needs the HDA set (RUMP_COMPONENTS with librumpdev_audio, librumpdev_hdaudio_hdafg, librumpdev_pci_hdaudio; docs/audio.md)"
            ),
            AudioError::NoAudioLayer => write!(
                f,
                "the rump kernel has no /dev/audio: the linked components lack NetBSD's audio layer (librumpdev_audio and the HDA drivers; docs/audio.md)"
            ),
            AudioError::NoDevice => write!(
                f,
                "no audio device attached (NetBSD found no HD Audio codec; QEMU needs -device intel-hda -device hda-output)"
            ),
            AudioError::Busy => write!(f, "the audio device is busy: another playback holds it"),
            AudioError::FormatRefused { format, errno } => write!(
                f,
                "the audio device refuses {format}: {}",
                errno_text(*errno)
            ),
            AudioError::NoSuchControl(name) => {
                write!(f, "no mixer control '{name}' ('mixer' lists them)")
            }
            AudioError::NotALevel(name) => write!(f, "'{name}' is not a level control"),
            AudioError::Failed { call, errno } => write!(f, "{call}: {}", errno_text(*errno)),
        }
    }
}

/// What a playback did, from NetBSD's own counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// Bytes handed to `/dev/audio`.
    pub bytes: usize,
    /// NetBSD's play `error` flag before the drain: the device ran dry while data was still
    /// coming (the drain itself always ends on a silent block, which sets the flag).
    pub underrun: bool,
    /// Silence played after them (see [`play`]).
    pub silence_bytes: usize,
    /// NetBSD's block size for this format (bytes per interrupt).
    pub block_bytes: u32,
}

/// One mixer control: its full name (`class.label`), and its level per channel for a value
/// control (`None` for the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixerControl {
    pub name: String,
    pub kind: ControlKind,
    pub levels: Option<Vec<u8>>,
}

/// What sort of control it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlKind {
    Class,
    /// One of the named choices (the current one first).
    Choice(Vec<String>),
    /// Any subset of named members (the selected ones).
    Set(Vec<String>),
    /// A level per channel, 0..=255.
    Level,
}

/// A human description of a format (`48000 Hz, 2 channels, 16-bit signed`).
pub fn describe(format: &Format) -> String {
    let sample = match format.sample {
        SampleFormat::Unsigned8 => "8-bit unsigned",
        SampleFormat::Signed16Le => "16-bit signed",
    };
    alloc::format!(
        "{} Hz, {} channel{}, {sample}",
        format.sample_rate,
        format.channels,
        if format.channels == 1 { "" } else { "s" }
    )
}

#[cfg(rump_components)]
pub use with_components::{mixer_controls, play, reapply_levels, set_level};

/// Plays `pcm` (whole frames of `format`) on `/dev/audio` and waits until it has been played.
#[cfg(not(rump_components))]
pub fn play(_format: &Format, _pcm: &[u8]) -> Result<Played, AudioError> {
    Err(AudioError::NoComponents)
}

/// Every control of `/dev/mixer`, in NetBSD's order.
#[cfg(not(rump_components))]
pub fn mixer_controls() -> Result<Vec<MixerControl>, AudioError> {
    Err(AudioError::NoComponents)
}

/// Sets every channel of the level control `name` to `level`; returns the control as the
/// mixer reports it afterwards.
#[cfg(not(rump_components))]
pub fn set_level(_name: &str, _level: u8) -> Result<MixerControl, AudioError> {
    Err(AudioError::NoComponents)
}

#[cfg(rump_components)]
mod with_components {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::ffi::{c_int, c_ulong, c_void, CStr};
    use core::sync::atomic::Ordering;

    use rump_api::audio::*;

    use super::{describe, AudioError, ControlKind, Format, MixerControl, Played, SampleFormat};

    const ENOENT: i32 = 2;
    const ENXIO: i32 = 6;
    const EBUSY: i32 = 16;
    const ENODEV: i32 = 19;
    /// How much one `write` hands over (NetBSD's audio buffer takes what fits and blocks).
    const WRITE_CHUNK: usize = 16 * 1024;

    fn errno() -> i32 {
        crate::sched::current_thread()
            .foreign_errno
            .load(Ordering::Relaxed)
    }

    /// An open rump file descriptor, closed when dropped.
    struct Descriptor(c_int);

    impl Drop for Descriptor {
        fn drop(&mut self) {
            // SAFETY: a descriptor this value owns, closed once.
            unsafe { rump_api::rump___sysimpl_close(self.0) };
        }
    }

    fn open(path: &CStr, flags: c_int) -> Result<Descriptor, AudioError> {
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
    fn ioctl<T>(
        descriptor: &Descriptor,
        request: u32,
        argument: Option<&mut T>,
        call: &'static str,
    ) -> Result<(), AudioError> {
        let pointer = argument.map_or(core::ptr::null_mut(), |a| (a as *mut T).cast::<c_void>());
        // SAFETY: `request` encodes the size of `T` (the header computes it from the same
        // structure), so the rump kernel copies exactly one `T` in or out of `pointer`, which is
        // valid for the call; requests without a parameter take NULL.
        let result = unsafe {
            rump_api::rump___sysimpl_ioctl(descriptor.0, c_ulong::from(request), pointer)
        };
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
        ioctl(&device, NB_AUDIO_SETINFO, Some(&mut info), "AUDIO_SETINFO").map_err(|error| {
            match error {
                AudioError::Failed { errno, .. } => AudioError::FormatRefused {
                    format: describe(format),
                    errno,
                },
                other => other,
            }
        })?;
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
        reapply_levels();
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
            let result = unsafe {
                rump_api::rump___sysimpl_write(device.0, piece.as_ptr().cast(), piece.len())
            };
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

    /// Writes every level control of `/dev/mixer` again with its own value. QEMU's HDA codec
    /// starts each new stream format at full volume, forgetting the amplifier gain it was
    /// given, and NetBSD sets a default format at every open before `AUDIO_SETINFO` sets ours:
    /// written again now, with our format in place, the levels apply to this playback.
    /// Best effort: a device without a mixer plays at its own level.
    pub fn reapply_levels() {
        let Ok(mixer) = open(c"/dev/mixer", 2 /* O_RDWR */) else {
            return;
        };
        let Ok(controls) = controls(&mixer) else {
            return;
        };
        for (info, name) in controls {
            if info.type_ != NB_MIXER_VALUE as i32 {
                continue;
            }
            let written = read_setting(&mixer, &info).and_then(|mut control| {
                ioctl(
                    &mixer,
                    NB_AUDIO_MIXER_WRITE,
                    Some(&mut control),
                    "AUDIO_MIXER_WRITE",
                )
            });
            if let Err(error) = written {
                log::debug!("audio: level of {name} not written again: {error}");
            }
        }
    }

    fn name_of(name: &nb_mixer_name) -> String {
        let bytes: Vec<u8> = name
            .name
            .iter()
            .map(|&c| c as u8)
            .take_while(|&b| b != 0)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn empty_devinfo(index: i32) -> nb_mixer_devinfo {
        nb_mixer_devinfo {
            index,
            label: nb_mixer_name::default(),
            type_: 0,
            mixer_class: 0,
            next: 0,
            previous: 0,
            detail: nb_mixer_detail {
                value: nb_mixer_value::default(),
            },
        }
    }

    fn read_setting(
        mixer: &Descriptor,
        info: &nb_mixer_devinfo,
    ) -> Result<nb_mixer_ctrl, AudioError> {
        let channel_count = if info.type_ == NB_MIXER_VALUE as i32 {
            // SAFETY: for a value control AUDIO_MIXER_DEVINFO filled in the `value` member.
            unsafe { info.detail.value.channel_count }
        } else {
            0
        };
        let mut control = nb_mixer_ctrl {
            device: info.index,
            type_: info.type_,
            setting: nb_mixer_setting {
                value: nb_mixer_level {
                    channel_count,
                    level: [0; 8],
                },
            },
        };
        ioctl(
            mixer,
            NB_AUDIO_MIXER_READ,
            Some(&mut control),
            "AUDIO_MIXER_READ",
        )?;
        Ok(control)
    }

    /// Every control, with its class's name as the prefix of its own.
    fn controls(mixer: &Descriptor) -> Result<Vec<(nb_mixer_devinfo, String)>, AudioError> {
        let mut infos = Vec::new();
        for index in 0.. {
            let mut info = empty_devinfo(index);
            match ioctl(
                mixer,
                NB_AUDIO_MIXER_DEVINFO,
                Some(&mut info),
                "AUDIO_MIXER_DEVINFO",
            ) {
                Ok(()) => infos.push(info),
                // The index past the last control.
                Err(AudioError::Failed { errno: ENXIO, .. }) => break,
                Err(error) => return Err(error),
            }
        }
        let named = infos
            .iter()
            .map(|info| {
                let label = name_of(&info.label);
                let class = infos
                    .iter()
                    .find(|c| c.index == info.mixer_class && c.type_ == NB_MIXER_CLASS as i32)
                    .filter(|c| c.index != info.index)
                    .map(|c| name_of(&c.label));
                let name = match class {
                    Some(class) => alloc::format!("{class}.{label}"),
                    None => label,
                };
                (*info, name)
            })
            .collect();
        Ok(named)
    }

    fn describe_control(
        mixer: &Descriptor,
        info: &nb_mixer_devinfo,
        name: String,
    ) -> Result<MixerControl, AudioError> {
        let (kind, levels) = match info.type_ as u32 {
            NB_MIXER_CLASS => (ControlKind::Class, None),
            NB_MIXER_VALUE => {
                let control = read_setting(mixer, info)?;
                // SAFETY: AUDIO_MIXER_READ of a value control fills the `value` member.
                let level = unsafe { control.setting.value };
                let channels = level.channel_count.clamp(0, 8) as usize;
                (ControlKind::Level, Some(level.level[..channels].to_vec()))
            }
            NB_MIXER_ENUM => {
                let control = read_setting(mixer, info)?;
                // SAFETY: AUDIO_MIXER_DEVINFO of an enumeration fills `enumeration`, and
                // AUDIO_MIXER_READ of it fills `ordinal`.
                let (members, current) =
                    unsafe { (info.detail.enumeration, control.setting.ordinal) };
                let count = members.member_count.clamp(0, 32) as usize;
                let mut names: Vec<String> = members.member[..count]
                    .iter()
                    .map(|member| name_of(&member.label))
                    .collect();
                if let Some(position) =
                    (0..names.len()).find(|&i| members.member[i].ordinal == current)
                {
                    names[..=position].rotate_right(1);
                }
                (ControlKind::Choice(names), None)
            }
            _ => {
                let control = read_setting(mixer, info)?;
                // SAFETY: AUDIO_MIXER_DEVINFO of a set fills `set`; AUDIO_MIXER_READ `mask`.
                let (members, mask) = unsafe { (info.detail.set, control.setting.mask) };
                let selected = (0..members.member_count.clamp(0, 32) as usize)
                    .filter(|&i| mask & members.member[i].mask != 0)
                    .map(|i| name_of(&members.member[i].label))
                    .collect();
                (ControlKind::Set(selected), None)
            }
        };
        Ok(MixerControl { name, kind, levels })
    }

    pub fn mixer_controls() -> Result<Vec<MixerControl>, AudioError> {
        let mixer = open(c"/dev/mixer", 2 /* O_RDWR */)?;
        controls(&mixer)?
            .into_iter()
            .map(|(info, name)| describe_control(&mixer, &info, name))
            .collect()
    }

    pub fn set_level(name: &str, level: u8) -> Result<MixerControl, AudioError> {
        let mixer = open(c"/dev/mixer", 2 /* O_RDWR */)?;
        let (info, full_name) = controls(&mixer)?
            .into_iter()
            .find(|(_, full)| full == name)
            .ok_or_else(|| AudioError::NoSuchControl(String::from(name)))?;
        if info.type_ != NB_MIXER_VALUE as i32 {
            return Err(AudioError::NotALevel(full_name));
        }
        let mut control = read_setting(&mixer, &info)?;
        // SAFETY: a value control's setting is the `value` member (read just above).
        let channels = unsafe { control.setting.value.channel_count }.clamp(0, 8) as usize;
        let mut value = nb_mixer_level {
            channel_count: channels as i32,
            level: [0; 8],
        };
        value.level[..channels].fill(level);
        control.setting = nb_mixer_setting { value };
        ioctl(
            &mixer,
            NB_AUDIO_MIXER_WRITE,
            Some(&mut control),
            "AUDIO_MIXER_WRITE",
        )?;
        describe_control(&mixer, &info, full_name)
    }
}
