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
mod device;
#[cfg(rump_components)]
mod mixer;
#[cfg(rump_components)]
pub(super) mod processes;

#[cfg(rump_components)]
pub use device::play;
#[cfg(rump_components)]
pub use mixer::{mixer_controls, reapply_levels, set_level};

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
