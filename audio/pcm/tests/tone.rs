//! The tone generator: frequency, length and amplitude of what it makes.

use pcm::tone;

fn samples(pcm: &[u8]) -> Vec<i16> {
    pcm.chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

#[test]
fn a_second_at_440_hz_has_880_zero_crossings_and_the_asked_amplitude() {
    let frames = tone::frames_for_millis(1000, 48_000);
    assert_eq!(frames, 48_000);
    let pcm = tone::sine_s16le(440.0, frames, 48_000, 2, 50);
    assert_eq!(pcm.len(), frames * 4);
    let all = samples(&pcm);
    let left: Vec<i16> = all.iter().step_by(2).copied().collect();
    let right: Vec<i16> = all.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(left, right, "both channels carry the same signal");
    let crossings = left
        .windows(2)
        .filter(|pair| (pair[0] < 0) != (pair[1] < 0))
        .count();
    assert!((879..=881).contains(&crossings), "{crossings} sign changes");
    let peak = left.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!((16_300..=16_384).contains(&peak), "peak {peak}");
}

#[test]
fn amplitude_is_clamped_to_full_scale() {
    let pcm = tone::sine_s16le(1000.0, 480, 48_000, 1, 250);
    let peak = samples(&pcm)
        .iter()
        .map(|s| s.unsigned_abs())
        .max()
        .unwrap();
    assert!(peak <= 32_767 && peak > 32_000, "peak {peak}");
}
