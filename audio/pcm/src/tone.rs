//! Sine tones as 16-bit signed little-endian PCM, every channel carrying the same signal.

use alloc::vec::Vec;

/// Full scale of a 16-bit sample.
const FULL_SCALE: f64 = 32767.0;

/// `frames` frames of a sine at `frequency_hz`, sampled at `sample_rate`, with `channels`
/// identical channels, at `amplitude_percent` of full scale (clamped to 100), starting at
/// phase 0. Each sample is computed from its own index, so the phase does not drift over long
/// tones.
pub fn sine_s16le(
    frequency_hz: f64,
    frames: usize,
    sample_rate: u32,
    channels: u16,
    amplitude_percent: u32,
) -> Vec<u8> {
    let amplitude = FULL_SCALE * f64::from(amplitude_percent.min(100)) / 100.0;
    let step = 2.0 * core::f64::consts::PI * frequency_hz / f64::from(sample_rate.max(1));
    let mut pcm = Vec::with_capacity(frames * usize::from(channels) * 2);
    for index in 0..frames {
        let value = libm::round(amplitude * libm::sin(step * index as f64)) as i16;
        for _ in 0..channels {
            pcm.extend_from_slice(&value.to_le_bytes());
        }
    }
    pcm
}

/// Frames in `millis` milliseconds at `sample_rate` (rounded to the nearest frame).
pub fn frames_for_millis(millis: u32, sample_rate: u32) -> usize {
    ((u64::from(millis) * u64::from(sample_rate) + 500) / 1000) as usize
}
