//! The WAV parser against files made by hand: what it accepts, each refusal with its reason,
//! and random or damaged input, which must never panic.

use pcm::wav::{self, Format, Inconsistency, SampleFormat, Unsupported, WavError};
use proptest::prelude::*;

const STEREO_16: Format = Format {
    sample_rate: 48_000,
    channels: 2,
    sample: SampleFormat::Signed16Le,
};

/// A file with an arbitrary `fmt ` body and data.
fn file_with(format_body: &[u8], data: &[u8]) -> Vec<u8> {
    let mut file = b"RIFF\0\0\0\0WAVE".to_vec();
    file.extend_from_slice(b"fmt ");
    file.extend_from_slice(&(format_body.len() as u32).to_le_bytes());
    file.extend_from_slice(format_body);
    file.extend_from_slice(b"data");
    file.extend_from_slice(&(data.len() as u32).to_le_bytes());
    file.extend_from_slice(data);
    let riff = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&riff.to_le_bytes());
    file
}

/// A `WAVEFORMAT` body: tag, channels, rate, byte rate, block align, bits.
fn format_body(
    tag: u16,
    channels: u16,
    rate: u32,
    byte_rate: u32,
    align: u16,
    bits: u16,
) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&tag.to_le_bytes());
    body.extend_from_slice(&channels.to_le_bytes());
    body.extend_from_slice(&rate.to_le_bytes());
    body.extend_from_slice(&byte_rate.to_le_bytes());
    body.extend_from_slice(&align.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    body
}

#[test]
fn written_files_parse_back() {
    let data: Vec<u8> = (0..4000u32).map(|i| (i * 7) as u8).collect();
    for format in [
        STEREO_16,
        Format {
            sample_rate: 8_000,
            channels: 1,
            sample: SampleFormat::Unsigned8,
        },
        Format {
            sample_rate: 4_000,
            channels: 2,
            sample: SampleFormat::Signed16Le,
        },
        Format {
            sample_rate: 22_050,
            channels: 2,
            sample: SampleFormat::Unsigned8,
        },
    ] {
        let file = wav::write(&format, &data);
        let wave = wav::parse(&file).expect("our own file");
        assert_eq!(wave.format, format);
        assert_eq!(wave.data, &data[..]);
        assert_eq!(wave.frames(), data.len() / format.frame_bytes());
    }
    let second = wav::write(&STEREO_16, &vec![0; 192_000]);
    assert_eq!(wav::parse(&second).unwrap().duration_millis(), 1000);
}

#[test]
fn odd_length_data_is_padded_and_other_chunks_are_skipped() {
    let mono8 = Format {
        sample_rate: 8000,
        channels: 1,
        sample: SampleFormat::Unsigned8,
    };
    let file = wav::write(&mono8, &[1, 2, 3]);
    assert_eq!(file.len(), 44 + 4, "3 data bytes and one pad byte");
    assert_eq!(
        u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize,
        file.len() - 8
    );
    // A LIST chunk of odd length (padded) between fmt and data.
    let mut with_list = file[..36].to_vec();
    with_list.extend_from_slice(b"LIST\x03\0\0\0abc\0");
    with_list.extend_from_slice(&file[36..]);
    let wave = wav::parse(&with_list).unwrap();
    assert_eq!(wave.data, &[1, 2, 3]);
}

#[test]
fn extensible_pcm_is_accepted_and_extensible_float_is_not() {
    let mut body = format_body(0xfffe, 2, 44_100, 176_400, 4, 16);
    body.extend_from_slice(&22u16.to_le_bytes()); // cbSize
    body.extend_from_slice(&16u16.to_le_bytes()); // valid bits
    body.extend_from_slice(&3u32.to_le_bytes()); // front left and right
    let tail = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
    let mut pcm = body.clone();
    pcm.extend_from_slice(&1u16.to_le_bytes());
    pcm.extend_from_slice(&tail);
    let file = file_with(&pcm, &[0; 8]);
    assert_eq!(wav::parse(&file).unwrap().format.sample_rate, 44_100);
    let mut float = body;
    float.extend_from_slice(&3u16.to_le_bytes());
    float.extend_from_slice(&tail);
    let error = wav::parse(&file_with(&float, &[0; 8])).unwrap_err();
    assert_eq!(
        error,
        WavError::Unsupported(Unsupported::Encoding { tag: 3 })
    );
    assert_eq!(
        error.to_string(),
        "unsupported: IEEE float samples (format 0x0003); play takes integer PCM"
    );
}

#[test]
fn each_refusal_says_why() {
    let pcm16 = format_body(1, 2, 48_000, 192_000, 4, 16);
    let cases: Vec<(Vec<u8>, WavError, &str)> = vec![
        (
            b"RIFF".to_vec(),
            WavError::TooShort { length: 4 },
            "not a WAV file: 4 bytes, shorter than a RIFF header",
        ),
        (
            b"RIFX\0\0\0\0WAVEfmt ".to_vec(),
            WavError::NotRiffWave,
            "not a WAV file: no RIFF/WAVE header",
        ),
        (
            b"RIFF\x04\0\0\0WAVE".to_vec(),
            WavError::MissingChunk("data"),
            "no 'data' chunk",
        ),
        (
            b"RIFF\x0c\0\0\0WAVEdata\0\0\0\0".to_vec(),
            WavError::MissingChunk("fmt "),
            "no 'fmt ' chunk before the data",
        ),
        (
            {
                let mut file = file_with(&pcm16, &[0; 400]);
                file.truncate(file.len() - 100);
                file
            },
            WavError::Truncated {
                chunk: "data",
                declared: 400,
                present: 300,
            },
            "truncated: the 'data' chunk declares 400 bytes but only 300 follow",
        ),
        (
            file_with(&format_body(1, 2, 48_000, 192_000, 2, 16), &[0; 8]),
            WavError::Inconsistent(Inconsistency::BlockAlign {
                declared: 2,
                expected: 4,
            }),
            "header inconsistent: block align 2, but the channels and sample size make 4",
        ),
        (
            file_with(&format_body(1, 2, 48_000, 96_000, 4, 16), &[0; 8]),
            WavError::Inconsistent(Inconsistency::ByteRate {
                declared: 96_000,
                expected: 192_000,
            }),
            "header inconsistent: 96000 bytes per second, but the rate and block align make 192000",
        ),
        (
            file_with(&pcm16, &[0; 6]),
            WavError::Inconsistent(Inconsistency::PartialFrame { data: 6, frame: 4 }),
            "header inconsistent: 6 data bytes are not a whole number of 4-byte frames",
        ),
        (
            file_with(&format_body(1, 0, 48_000, 0, 0, 16), &[]),
            WavError::Inconsistent(Inconsistency::NoChannels),
            "header inconsistent: 0 channels",
        ),
        (
            file_with(&format_body(1, 2, 0, 0, 4, 16), &[]),
            WavError::Inconsistent(Inconsistency::NoSampleRate),
            "header inconsistent: a sample rate of 0 Hz",
        ),
        (
            file_with(&pcm16[..12], &[]),
            WavError::Inconsistent(Inconsistency::FormatChunkTooShort { length: 12 }),
            "header inconsistent: a 'fmt ' chunk of 12 bytes (at least 16 needed)",
        ),
        (
            file_with(&format_body(1, 2, 48_000, 288_000, 6, 24), &[0; 6]),
            WavError::Unsupported(Unsupported::BitsPerSample(24)),
            "unsupported: 24-bit samples; play takes 8 or 16 bits",
        ),
        (
            file_with(&format_body(7, 1, 8_000, 8_000, 1, 8), &[0; 8]),
            WavError::Unsupported(Unsupported::Encoding { tag: 7 }),
            "unsupported: mu-law samples (format 0x0007); play takes integer PCM",
        ),
        (
            file_with(&format_body(1, 2, 1_000, 4_000, 4, 16), &[0; 8]),
            WavError::Unsupported(Unsupported::SampleRate(1_000)),
            "unsupported: a sample rate of 1000 Hz; play takes 4000 to 192000 Hz",
        ),
        (
            file_with(&format_body(1, 1, 384_000, 768_000, 2, 16), &[0; 8]),
            WavError::Unsupported(Unsupported::SampleRate(384_000)),
            "unsupported: a sample rate of 384000 Hz; play takes 4000 to 192000 Hz",
        ),
        (
            file_with(&format_body(1, 6, 48_000, 576_000, 12, 16), &[0; 12]),
            WavError::Unsupported(Unsupported::Channels(6)),
            "unsupported: 6 channels; play takes 1 or 2",
        ),
    ];
    for (file, error, message) in cases {
        let got = wav::parse(&file).unwrap_err();
        assert_eq!(got, error);
        assert_eq!(got.to_string(), message);
    }
}

#[test]
fn a_format_chunk_longer_than_the_file_is_truncation() {
    let mut file = b"RIFF\0\0\0\0WAVEfmt \xff\xff\0\0".to_vec();
    file.extend_from_slice(&format_body(1, 2, 48_000, 192_000, 4, 16));
    assert_eq!(
        wav::parse(&file).unwrap_err(),
        WavError::Truncated {
            chunk: "fmt ",
            declared: 0xffff,
            present: 16
        }
    );
}

#[test]
fn every_prefix_of_a_valid_file_is_refused_without_panicking() {
    let file = wav::write(&STEREO_16, &[7; 400]);
    for length in 0..file.len() {
        assert!(
            wav::parse(&file[..length]).is_err(),
            "prefix of {length} bytes accepted"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = wav::parse(&bytes);
    }

    #[test]
    fn random_chunks_after_a_riff_header_never_panic(
        chunks in proptest::collection::vec(
            (prop_oneof![Just(*b"fmt "), Just(*b"data"), Just(*b"LIST"), any::<[u8; 4]>()],
             any::<u32>(),
             proptest::collection::vec(any::<u8>(), 0..64)),
            0..6)
    ) {
        let mut file = b"RIFF\xff\xff\xff\xffWAVE".to_vec();
        for (id, size, body) in chunks {
            file.extend_from_slice(&id);
            file.extend_from_slice(&size.to_le_bytes());
            file.extend_from_slice(&body);
        }
        if let Ok(wave) = wav::parse(&file) {
            prop_assert!(wave.data.len() % wave.format.frame_bytes() == 0);
        }
    }

    #[test]
    fn damaged_valid_files_never_panic_and_keep_whole_frames(
        edits in proptest::collection::vec((0usize..64, any::<u8>()), 1..8),
        cut in 0usize..600,
    ) {
        let mut file = wav::write(&STEREO_16, &[3; 512]);
        for (offset, byte) in edits {
            file[offset] = byte;
        }
        file.truncate(cut.max(1));
        if let Ok(wave) = wav::parse(&file) {
            prop_assert!(wave.data.len() % wave.format.frame_bytes() == 0);
            prop_assert!(wave.format.channels == 1 || wave.format.channels == 2);
        }
    }
}
