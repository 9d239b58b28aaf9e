//! Reading what QEMU's `wav` audio backend recorded: where the sounds are, their dominant
//! frequency, loudness and length, how well a known signal matches, and where QEMU itself lost
//! data.
//!
//! Times are sample counts in the recording, never wall-clock time: the backend writes what the
//! codec pulled from the guest's DMA ring, at the emulated rate. One loss is QEMU's own: its HDA
//! codec keeps an 8 KiB buffer between the DMA and the audio backend and throws the whole buffer
//! away when the backend falls behind ("hda_audio_overrun", 2048 frames of 48 kHz stereo), which
//! happens when QEMU's main loop stalls on a loaded host. Within a pure tone such a loss shows
//! as a jump of the phase by exactly 2048 frames' worth; [`qemu_drops`] counts those, and the
//! scenario checks the count against QEMU's own trace.

use std::f64::consts::PI;

/// Frames QEMU's HDA codec discards in one overrun (8 KiB of 16-bit stereo).
pub const QEMU_DROP_FRAMES: usize = 2048;

/// A stretch of sound between silences, as sample indices `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sound {
    pub start: usize,
    pub end: usize,
}

impl Sound {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn millis(&self, rate: u32) -> f64 {
        self.len() as f64 * 1000.0 / f64::from(rate)
    }
}

/// The first channel of a 16-bit PCM recording and its rate.
pub fn first_channel(file: &[u8]) -> Result<(u32, Vec<f64>), String> {
    let wave = pcm::wav::parse(file).map_err(|e| format!("the capture: {e}"))?;
    if wave.format.sample != pcm::wav::SampleFormat::Signed16Le {
        return Err(format!("the capture is not 16-bit: {:?}", wave.format));
    }
    let frame = wave.format.frame_bytes();
    let samples = wave
        .data
        .chunks_exact(frame)
        .map(|frame| f64::from(i16::from_le_bytes([frame[0], frame[1]])))
        .collect();
    Ok((wave.format.sample_rate, samples))
}

/// QEMU's recording at `path` (48 kHz, as the scenarios ask for), its first channel cut into
/// sounds: the samples and the sounds.
pub fn recorded_sounds(path: &std::path::Path) -> Result<(Vec<f64>, Vec<Sound>), String> {
    let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (rate, samples) = first_channel(&file)?;
    if rate != 48_000 {
        return Err(format!("the capture is at {rate} Hz, not 48000"));
    }
    let sounds = sounds(&samples, rate, 64.0, 50.0);
    Ok((samples, sounds))
}

/// Stretches of sound: samples above `threshold` in magnitude, split where at least 5 ms stay
/// at or below it. Stretches shorter than `shortest_millis` are left out (the few milliseconds
/// a stream start or stop can leave).
pub fn sounds(samples: &[f64], rate: u32, threshold: f64, shortest_millis: f64) -> Vec<Sound> {
    let gap = rate as usize / 200;
    let mut found = Vec::new();
    let mut start = None;
    let mut last_loud = 0;
    for (index, sample) in samples.iter().enumerate() {
        if sample.abs() > threshold {
            if start.is_none() {
                start = Some(index);
            }
            last_loud = index;
        } else if let Some(first) = start {
            if index - last_loud >= gap {
                found.push(Sound {
                    start: first,
                    end: last_loud + 1,
                });
                start = None;
            }
        }
    }
    if let Some(first) = start {
        found.push(Sound {
            start: first,
            end: last_loud + 1,
        });
    }
    found.retain(|sound| sound.millis(rate) >= shortest_millis);
    found
}

/// The squared magnitude of the DFT of `samples` at `frequency` (Goertzel's recurrence).
fn power_at(samples: &[f64], rate: u32, frequency: f64) -> f64 {
    let coefficient = 2.0 * (2.0 * PI * frequency / f64::from(rate)).cos();
    let (mut previous, mut before) = (0.0, 0.0);
    for sample in samples {
        let current = sample + coefficient * previous - before;
        before = previous;
        previous = current;
    }
    previous * previous + before * before - coefficient * previous * before
}

/// The frequency with the most energy between 20 Hz and 20 kHz: a 10 Hz grid over the first
/// quarter second, then 0.05 Hz steps around the best over the whole stretch.
pub fn dominant_frequency(samples: &[f64], rate: u32) -> f64 {
    let excerpt = &samples[..samples.len().min(rate as usize / 4)];
    let top = (f64::from(rate) / 2.0 - 10.0).min(20_000.0);
    let mut best = (0.0, 20.0);
    let mut frequency = 20.0;
    while frequency <= top {
        let power = power_at(excerpt, rate, frequency);
        if power > best.0 {
            best = (power, frequency);
        }
        frequency += 10.0;
    }
    let centre = best.1;
    let mut best = (0.0, centre);
    let mut step = -10.0;
    while step <= 10.0 {
        let power = power_at(samples, rate, centre + step);
        if power > best.0 {
            best = (power, centre + step);
        }
        step += 0.05;
    }
    best.1
}

/// Root mean square.
pub fn rms(samples: &[f64]) -> f64 {
    (samples.iter().map(|s| s * s).sum::<f64>() / samples.len().max(1) as f64).sqrt()
}

fn wrap(angle: f64) -> f64 {
    (angle + PI).rem_euclid(2.0 * PI) - PI
}

/// What the phase of a tone at `frequency` tells about a stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Continuity {
    /// Jumps explained by whole QEMU overruns (each [`QEMU_DROP_FRAMES`] frames).
    pub qemu_drops: usize,
    /// Jumps nothing explains: the guest's own gaps or repeats.
    pub other_jumps: usize,
}

/// Counts phase jumps in a tone at `frequency`: the phase of each 5 ms window is compared with
/// the previous one; a jump of k × 2048 frames' worth (k = 1..=3) is k QEMU overruns.
pub fn qemu_drops(samples: &[f64], rate: u32, frequency: f64) -> Continuity {
    let window = rate as usize / 200;
    let omega = 2.0 * PI * frequency / f64::from(rate);
    let phases: Vec<f64> = samples
        .chunks_exact(window)
        .enumerate()
        .map(|(k, chunk)| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, sample) in chunk.iter().enumerate() {
                let n = (k * window + i) as f64;
                re += sample * (omega * n).cos();
                im -= sample * (omega * n).sin();
            }
            im.atan2(re)
        })
        .collect();
    let steps: Vec<f64> = phases.windows(2).map(|p| wrap(p[1] - p[0])).collect();
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    let drift = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let drop_step = wrap(omega * QEMU_DROP_FRAMES as f64);
    let steps: Vec<f64> = steps.iter().map(|s| wrap(s - drift)).collect();
    let mut result = Continuity {
        qemu_drops: 0,
        other_jumps: 0,
    };
    let big = |step: f64| step.abs() > 0.25;
    let mut index = 0;
    while index < steps.len() {
        if !big(steps[index]) {
            index += 1;
            continue;
        }
        // A junction inside a window splits its jump over two steps, one of which may be
        // small: the jump is the sum over the big steps and their neighbours.
        let mut jump = if index > 0 { steps[index - 1] } else { 0.0 };
        while index < steps.len() && big(steps[index]) {
            jump += steps[index];
            index += 1;
        }
        if index < steps.len() {
            jump += steps[index];
            index += 1;
        }
        match (1..=3).find(|k| wrap(jump - *k as f64 * drop_step).abs() < 0.3) {
            Some(k) => result.qemu_drops += k,
            None => result.other_jumps += 1,
        }
    }
    result
}

/// One stream QEMU's codec ran, from its trace (`-trace hda_audio_format -trace
/// hda_audio_running -trace hda_audio_overrun`): its rate, and the buffers it threw away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracedStream {
    pub rate: u32,
    pub overruns: usize,
}

/// The streams in QEMU's trace, in order: each from `run 1` to `run 0`, at the last format
/// set before it started.
pub fn traced_streams(trace: &str) -> Vec<TracedStream> {
    let mut streams = Vec::new();
    let mut rate = 0;
    let mut current: Option<TracedStream> = None;
    for line in trace.lines() {
        if line.contains("hda_audio_format") {
            if let Some(hz) = line
                .split(" @ ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|hz| hz.parse().ok())
            {
                rate = hz;
            }
        } else if line.contains("hda_audio_running") && line.trim_end().ends_with("run 1") {
            current = Some(TracedStream { rate, overruns: 0 });
        } else if line.contains("hda_audio_running") && line.trim_end().ends_with("run 0") {
            streams.extend(current.take());
        } else if line.contains("hda_audio_overrun") {
            if let Some(stream) = current.as_mut() {
                stream.overruns += 1;
            }
        }
    }
    streams.extend(current);
    streams
}

/// How well `source` is found in `recording`: each 100 ms piece of the source is matched at
/// the lag (searched around the previous piece's, up to 3 QEMU overruns later) where the
/// normalised correlation is highest. Returns each piece's best coefficient.
pub fn piecewise_correlation(source: &[f64], recording: &[f64], rate: u32) -> Vec<f64> {
    let piece = rate as usize / 10;
    let coefficient = |a: &[f64], b: &[f64]| {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let energy =
            (a.iter().map(|x| x * x).sum::<f64>() * b.iter().map(|y| y * y).sum::<f64>()).sqrt();
        if energy == 0.0 {
            0.0
        } else {
            dot / energy
        }
    };
    let mut results = Vec::new();
    // The first piece may sit anywhere in the first half second of the recording.
    let mut lag_range = 0..(rate as usize / 2).min(recording.len());
    for (index, part) in source.chunks_exact(piece).enumerate() {
        let mut best = (f64::MIN, 0usize);
        for lag in lag_range.clone() {
            let start = lag + index * piece;
            let Some(window) = recording.get(start..start + piece) else {
                break;
            };
            let value = coefficient(part, window);
            if value > best.0 {
                best = (value, lag);
            }
        }
        results.push(best.0);
        // Later pieces sit at the same lag, or earlier by whole overruns.
        let lag = best.1;
        lag_range = lag.saturating_sub(3 * QEMU_DROP_FRAMES + 8)..lag + 9;
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(frequency: f64, frames: usize, amplitude: f64) -> Vec<f64> {
        (0..frames)
            .map(|n| amplitude * (2.0 * PI * frequency * n as f64 / 48_000.0).sin())
            .collect()
    }

    #[test]
    fn sounds_are_split_at_silences_and_short_blips_are_left_out() {
        let mut recording = vec![0.0; 4800];
        recording.extend(tone(440.0, 48_000, 10_000.0));
        recording.extend(vec![0.0; 4800]);
        recording.extend(tone(1000.0, 240, 10_000.0)); // 5 ms blip
        recording.extend(vec![0.0; 4800]);
        recording.extend(tone(1000.0, 24_000, 10_000.0));
        let found = sounds(&recording, 48_000, 64.0, 50.0);
        assert_eq!(found.len(), 2);
        assert!((found[0].millis(48_000) - 1000.0).abs() < 1.0);
        assert!((found[1].millis(48_000) - 500.0).abs() < 1.0);
    }

    #[test]
    fn dominant_frequency_is_found_within_a_tenth_of_a_hertz() {
        for frequency in [440.0, 1000.0, 3210.5] {
            let mut signal = tone(frequency, 48_000, 8000.0);
            // A weaker second tone must not win.
            for (n, sample) in signal.iter_mut().enumerate() {
                *sample += 2000.0 * (2.0 * PI * 150.0 * n as f64 / 48_000.0).sin();
            }
            let found = dominant_frequency(&signal, 48_000);
            assert!((found - frequency).abs() < 0.1, "{found} for {frequency}");
        }
    }

    #[test]
    fn qemu_overruns_are_counted_from_the_phase() {
        for frequency in [440.0, 1000.0] {
            let whole = tone(frequency, 96_000, 10_000.0);
            let clean = qemu_drops(&whole[..48_000], 48_000, frequency);
            assert_eq!(clean.qemu_drops + clean.other_jumps, 0);
            // One overrun at 0.3 s and two back to back at 0.7 s.
            let mut dropped = whole[..14_400].to_vec();
            dropped.extend_from_slice(&whole[14_400 + 2048..33_600 + 2048]);
            dropped.extend_from_slice(&whole[33_600 + 3 * 2048..]);
            let found = qemu_drops(&dropped, 48_000, frequency);
            assert_eq!(found.qemu_drops, 3, "{frequency} Hz: {found:?}");
            assert_eq!(found.other_jumps, 0);
            // 970 frames played twice are not an overrun.
            let mut repeated = whole[..24_000].to_vec();
            repeated.extend_from_slice(&whole[23_030..48_000]);
            let found = qemu_drops(&repeated, 48_000, frequency);
            assert_eq!(found.qemu_drops, 0, "{frequency} Hz: {found:?}");
            assert_eq!(found.other_jumps, 1);
        }
    }

    #[test]
    fn streams_and_their_overruns_are_read_from_the_trace() {
        let trace = "hda_audio_format st dac, 2 x PCM-S16 @ 16000 Hz
hda_audio_format st dac, 2 x PCM-S16 @ 48000 Hz
hda_audio_running st dac, nr 2, run 1
hda_audio_overrun st dac
hda_audio_overrun st dac
hda_audio_running st dac, nr 2, run 0
qemu-system-x86_64: something else
hda_audio_format st dac, 2 x PCM-S16 @ 22050 Hz
hda_audio_running st dac, nr 2, run 1
hda_audio_running st dac, nr 2, run 0
hda_audio_overrun st dac
";
        assert_eq!(
            traced_streams(trace),
            [
                TracedStream {
                    rate: 48_000,
                    overruns: 2
                },
                TracedStream {
                    rate: 22_050,
                    overruns: 0
                }
            ]
        );
    }

    #[test]
    fn a_known_signal_is_found_even_across_an_overrun() {
        let source: Vec<f64> = (0..48_000)
            .map(|n| {
                let t = n as f64 / 48_000.0;
                8000.0 * (2.0 * PI * (300.0 * t + 1350.0 * t * t)).sin()
            })
            .collect();
        let mut recording = vec![0.0; 7000];
        recording.extend_from_slice(&source[..20_000]);
        recording.extend_from_slice(&source[20_000 + 2048..]);
        let pieces = piecewise_correlation(&source, &recording, 48_000);
        assert_eq!(pieces.len(), 10);
        let good = pieces.iter().filter(|c| **c > 0.95).count();
        assert!(good >= 8, "{pieces:?}");
        let noise: Vec<f64> = (0..60_000u64)
            .map(|n| ((n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as f64) - 8_388_608.0)
            .collect();
        let pieces = piecewise_correlation(&source, &noise, 48_000);
        assert!(pieces.iter().all(|c| *c < 0.5), "{pieces:?}");
    }
}
