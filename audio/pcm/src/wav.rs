//! WAV files: the RIFF/WAVE container with a `fmt ` chunk (`WAVEFORMAT`, `WAVEFORMATEX` or
//! `WAVEFORMATEXTENSIBLE`) and a `data` chunk of interleaved little-endian PCM frames, as
//! Microsoft's RIFF and multimedia format specifications describe them.
//!
//! [`parse`] takes untrusted bytes: every length is checked before use, arithmetic cannot
//! overflow, and nothing panics. It accepts what `play` can send to the device — integer PCM,
//! 8-bit unsigned or 16-bit signed, one or two channels — and refuses anything else with a
//! [`WavError`] that says why. [`write()`] makes a canonical 44-byte-header file.

use alloc::vec::Vec;
use core::fmt;

/// How one sample is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 8 bits, unsigned, silence at 128 (WAV's only 8-bit PCM).
    Unsigned8,
    /// 16 bits, signed, little-endian.
    Signed16Le,
}

impl SampleFormat {
    /// Bits per sample.
    pub fn bits(self) -> u16 {
        match self {
            SampleFormat::Unsigned8 => 8,
            SampleFormat::Signed16Le => 16,
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        usize::from(self.bits() / 8)
    }
}

/// The layout of the PCM data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Frames per second.
    pub sample_rate: u32,
    /// Samples per frame (1 or 2).
    pub channels: u16,
    pub sample: SampleFormat,
}

impl Format {
    /// Bytes of one frame (one sample of every channel).
    pub fn frame_bytes(&self) -> usize {
        usize::from(self.channels) * self.sample.bytes()
    }
}

/// A parsed file: its format and its PCM data (whole frames only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wave<'a> {
    pub format: Format,
    pub data: &'a [u8],
}

impl Wave<'_> {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.data.len() / self.format.frame_bytes()
    }

    /// Playing time in milliseconds (rounded down).
    pub fn duration_millis(&self) -> u64 {
        (self.frames() as u64).saturating_mul(1000) / u64::from(self.format.sample_rate)
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WavError {
    /// Fewer bytes than a RIFF header.
    TooShort { length: usize },
    /// The first 12 bytes are not `RIFF` .... `WAVE`.
    NotRiffWave,
    /// A chunk the file needs is absent: `fmt ` (before the data) or `data`.
    MissingChunk(&'static str),
    /// A chunk declares more bytes than the file has after its header.
    Truncated {
        chunk: &'static str,
        declared: u64,
        present: u64,
    },
    /// The header contradicts itself.
    Inconsistent(Inconsistency),
    /// A valid file that `play` cannot send to the device.
    Unsupported(Unsupported),
}

/// Ways a header contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inconsistency {
    /// A `fmt ` chunk shorter than its fixed fields.
    FormatChunkTooShort {
        length: u32,
    },
    NoChannels,
    NoSampleRate,
    /// `nBlockAlign` is not channels × bytes per sample.
    BlockAlign {
        declared: u16,
        expected: usize,
    },
    /// `nAvgBytesPerSec` is not rate × block align.
    ByteRate {
        declared: u32,
        expected: u64,
    },
    /// The data does not end on a frame boundary.
    PartialFrame {
        data: usize,
        frame: usize,
    },
}

/// Valid WAV that `play` refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// Not integer PCM (`wFormatTag`, or the extensible sub-format's code).
    Encoding { tag: u16 },
    /// Integer PCM of another size than 8 or 16 bits.
    BitsPerSample(u16),
    /// More than two channels.
    Channels(u16),
    /// A sample rate outside [`MIN_RATE`]..=[`MAX_RATE`].
    SampleRate(u32),
}

/// The lowest sample rate `play` takes. NetBSD's rate converter accepts any rate, but below
/// telephone quality its blocks last seconds each and a drain takes minutes.
pub const MIN_RATE: u32 = 4_000;
/// The highest sample rate `play` takes (the HDA specification's highest).
pub const MAX_RATE: u32 = 192_000;

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_EXTENSIBLE: u16 = 0xfffe;
/// The tail of every `KSDATAFORMAT_SUBTYPE_*` GUID after its leading 16-bit format code.
const SUBFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

fn encoding_name(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG",
        0x0055 => "MPEG layer 3",
        _ => return None,
    })
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::TooShort { length } => {
                write!(
                    f,
                    "not a WAV file: {length} bytes, shorter than a RIFF header"
                )
            }
            WavError::NotRiffWave => write!(f, "not a WAV file: no RIFF/WAVE header"),
            WavError::MissingChunk("fmt ") => write!(f, "no 'fmt ' chunk before the data"),
            WavError::MissingChunk(chunk) => write!(f, "no '{chunk}' chunk"),
            WavError::Truncated {
                chunk,
                declared,
                present,
            } => write!(
                f,
                "truncated: the '{chunk}' chunk declares {declared} bytes but only {present} follow"
            ),
            WavError::Inconsistent(why) => write!(f, "header inconsistent: {why}"),
            WavError::Unsupported(why) => write!(f, "unsupported: {why}"),
        }
    }
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconsistency::FormatChunkTooShort { length } => {
                write!(f, "a 'fmt ' chunk of {length} bytes (at least 16 needed)")
            }
            Inconsistency::NoChannels => write!(f, "0 channels"),
            Inconsistency::NoSampleRate => write!(f, "a sample rate of 0 Hz"),
            Inconsistency::BlockAlign { declared, expected } => write!(
                f,
                "block align {declared}, but the channels and sample size make {expected}"
            ),
            Inconsistency::ByteRate { declared, expected } => write!(
                f,
                "{declared} bytes per second, but the rate and block align make {expected}"
            ),
            Inconsistency::PartialFrame { data, frame } => write!(
                f,
                "{data} data bytes are not a whole number of {frame}-byte frames"
            ),
        }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Encoding { tag } => match encoding_name(*tag) {
                Some(name) => write!(
                    f,
                    "{name} samples (format {tag:#06x}); play takes integer PCM"
                ),
                None => write!(f, "encoding {tag:#06x}; play takes integer PCM"),
            },
            Unsupported::BitsPerSample(bits) => {
                write!(f, "{bits}-bit samples; play takes 8 or 16 bits")
            }
            Unsupported::Channels(channels) => {
                write!(f, "{channels} channels; play takes 1 or 2")
            }
            Unsupported::SampleRate(rate) => write!(
                f,
                "a sample rate of {rate} Hz; play takes {MIN_RATE} to {MAX_RATE} Hz"
            ),
        }
    }
}

fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let field = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_le_bytes([field[0], field[1]]))
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes([field[0], field[1], field[2], field[3]]))
}

/// Reads the `fmt ` chunk's body.
fn parse_format(body: &[u8]) -> Result<Format, WavError> {
    let too_short = || {
        WavError::Inconsistent(Inconsistency::FormatChunkTooShort {
            length: body.len().try_into().unwrap_or(u32::MAX),
        })
    };
    let mut tag = u16_at(body, 0).ok_or_else(too_short)?;
    let channels = u16_at(body, 2).ok_or_else(too_short)?;
    let sample_rate = u32_at(body, 4).ok_or_else(too_short)?;
    let byte_rate = u32_at(body, 8).ok_or_else(too_short)?;
    let block_align = u16_at(body, 12).ok_or_else(too_short)?;
    let bits = u16_at(body, 14).ok_or_else(too_short)?;
    if tag == FORMAT_EXTENSIBLE {
        // cbSize (16), valid bits (18), channel mask (20), then the sub-format GUID (24..40).
        let guid = body.get(24..40).ok_or_else(too_short)?;
        tag = u16::from_le_bytes([guid[0], guid[1]]);
        if guid[2..] != SUBFORMAT_GUID_TAIL {
            return Err(WavError::Unsupported(Unsupported::Encoding {
                tag: FORMAT_EXTENSIBLE,
            }));
        }
    }
    if tag != FORMAT_PCM {
        return Err(WavError::Unsupported(Unsupported::Encoding { tag }));
    }
    if channels == 0 {
        return Err(WavError::Inconsistent(Inconsistency::NoChannels));
    }
    if sample_rate == 0 {
        return Err(WavError::Inconsistent(Inconsistency::NoSampleRate));
    }
    let sample = match bits {
        8 => SampleFormat::Unsigned8,
        16 => SampleFormat::Signed16Le,
        other => return Err(WavError::Unsupported(Unsupported::BitsPerSample(other))),
    };
    let expected_align = usize::from(channels) * sample.bytes();
    if usize::from(block_align) != expected_align {
        return Err(WavError::Inconsistent(Inconsistency::BlockAlign {
            declared: block_align,
            expected: expected_align,
        }));
    }
    let expected_rate = u64::from(sample_rate) * expected_align as u64;
    if u64::from(byte_rate) != expected_rate {
        return Err(WavError::Inconsistent(Inconsistency::ByteRate {
            declared: byte_rate,
            expected: expected_rate,
        }));
    }
    if channels > 2 {
        return Err(WavError::Unsupported(Unsupported::Channels(channels)));
    }
    if !(MIN_RATE..=MAX_RATE).contains(&sample_rate) {
        return Err(WavError::Unsupported(Unsupported::SampleRate(sample_rate)));
    }
    Ok(Format {
        sample_rate,
        channels,
        sample,
    })
}

/// Parses a whole WAV file. Chunks other than `fmt ` and `data` are skipped; the RIFF size
/// field is not trusted (writers that stop early leave it wrong), the chunk sizes are.
pub fn parse(bytes: &[u8]) -> Result<Wave<'_>, WavError> {
    if bytes.len() < 12 {
        return Err(WavError::TooShort {
            length: bytes.len(),
        });
    }
    if &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotRiffWave);
    }
    let mut format = None;
    let mut position = 12usize;
    while let (Some(id), Some(size)) = (
        bytes.get(position..position.saturating_add(4)),
        u32_at(bytes, position.saturating_add(4)),
    ) {
        let body_start = position + 8;
        let present = bytes.len() - body_start;
        let declared = size as usize;
        let truncated = |chunk| WavError::Truncated {
            chunk,
            declared: u64::from(size),
            present: present as u64,
        };
        match id {
            b"fmt " => {
                let body = bytes
                    .get(body_start..body_start.saturating_add(declared))
                    .filter(|body| body.len() == declared)
                    .ok_or_else(|| truncated("fmt "))?;
                format = Some(parse_format(body)?);
            }
            b"data" => {
                let format = format.ok_or(WavError::MissingChunk("fmt "))?;
                if declared > present {
                    return Err(truncated("data"));
                }
                let data = &bytes[body_start..body_start + declared];
                let frame = format.frame_bytes();
                if data.len() % frame != 0 {
                    return Err(WavError::Inconsistent(Inconsistency::PartialFrame {
                        data: data.len(),
                        frame,
                    }));
                }
                return Ok(Wave { format, data });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        position = match body_start
            .checked_add(declared)
            .and_then(|end| end.checked_add(declared & 1))
        {
            Some(next) => next,
            None => break,
        };
    }
    Err(WavError::MissingChunk("data"))
}

/// A canonical WAV file (RIFF header, 16-byte `fmt `, `data`) holding `data`.
pub fn write(format: &Format, data: &[u8]) -> Vec<u8> {
    let frame = format.frame_bytes();
    // The RIFF size field (36 + data + padding) must fit 32 bits: longer data is cut there.
    let data_length = u32::try_from(data.len())
        .unwrap_or(u32::MAX)
        .min(u32::MAX - 37);
    let padding = data_length & 1;
    let mut file = Vec::with_capacity(45 + data_length as usize);
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&(36 + data_length + padding).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&16u32.to_le_bytes());
    file.extend_from_slice(&FORMAT_PCM.to_le_bytes());
    file.extend_from_slice(&format.channels.to_le_bytes());
    file.extend_from_slice(&format.sample_rate.to_le_bytes());
    let byte_rate = format.sample_rate.saturating_mul(frame as u32);
    file.extend_from_slice(&byte_rate.to_le_bytes());
    file.extend_from_slice(&(frame as u16).to_le_bytes());
    file.extend_from_slice(&format.sample.bits().to_le_bytes());
    file.extend_from_slice(b"data");
    file.extend_from_slice(&data_length.to_le_bytes());
    file.extend_from_slice(&data[..data_length as usize]);
    if padding == 1 {
        file.push(0);
    }
    file
}
