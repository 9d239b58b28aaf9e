//! Sound through rump (only with `RUMP_COMPONENTS` holding the HDA set: librumpdev_audio,
//! librumpdev_hdaudio_hdafg, librumpdev_pci_hdaudio and their dependencies): NetBSD's hdaudio,
//! hdafg and audio drive QEMU's `intel-hda`, and QEMU's `wav` audio backend records what the
//! codec received. The recording is judged on the host by its samples (frequency, length,
//! loudness, correlation with a known file), never by wall-clock time.

use super::audio_analysis::{self as analysis, Sound};
use super::*;
use pcm::wav::{Format, SampleFormat};

const STEREO_48K: Format = Format {
    sample_rate: 48_000,
    channels: 2,
    sample: SampleFormat::Signed16Le,
};

pub(super) fn components_include_hda() -> bool {
    std::env::var_os("RUMP_COMPONENTS")
        .map(std::path::PathBuf::from)
        .is_some_and(|dir| {
            [
                "librumpdev_audio.a",
                "librumpdev_hdaudio_hdafg.a",
                "librumpdev_pci_hdaudio.a",
            ]
            .iter()
            .all(|archive| dir.join(archive).exists())
        })
}

pub(super) const NO_HDA_SET: &str = "RUMP_COMPONENTS does not name a directory with the HDA set (librumpdev_audio, librumpdev_hdaudio_hdafg, librumpdev_pci_hdaudio and their dependencies)";

/// QEMU arguments for an HDA controller with `codec` (none for `None`), recording into
/// `capture` as 48 kHz 16-bit stereo, or into nothing.
pub(super) fn hda_arguments(codec: Option<&str>, capture: Option<&std::path::Path>) -> Vec<String> {
    let audiodev = match capture {
        Some(path) => format!(
            "wav,id=snd0,path={},out.frequency=48000,out.channels=2,out.format=s16",
            path.display()
        ),
        None => "none,id=snd0".to_string(),
    };
    let mut arguments = vec!["-audiodev".to_string(), audiodev];
    arguments.extend(["-device".to_string(), "intel-hda".to_string()]);
    if let Some(codec) = codec {
        arguments.extend(["-device".to_string(), format!("{codec},audiodev=snd0")]);
    }
    arguments
}

fn expect(answer: &str, needle: &str, command: &str) -> Result<(), String> {
    match answer.contains(needle) {
        true => Ok(()),
        false => Err(format!("'{command}' lacks '{needle}':\n{answer}")),
    }
}

/// NetBSD's HDA drivers attach through our PCI hypercalls: hdaudio0, hdafg0, audio0, a mixer,
/// and a short tone plays.
pub(super) fn hda_attach_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    cpus: u32,
    codec: &str,
) -> Result<String, String> {
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", cpus, "log=warn rump.RUMP_VERBOSE=1"),
        &hda_arguments(Some(codec), None),
    )?;
    session.wait_prompt()?;
    let log = session.output();
    for needle in ["hdaudio0 at pci0", "hdafg0 at hdaudio0", "audio0 at hdafg0"] {
        expect(&log, needle, "the rump kernel's boot messages")?;
    }
    for wrong in ["no codecs found", "RIRB timeout", "panic"] {
        if log.contains(wrong) {
            return Err(format!("the boot messages say '{wrong}':\n{log}"));
        }
    }
    if codec == "hda-duplex" {
        expect(
            &log,
            "Line In",
            "the rump kernel's boot messages (hdafg0's input)",
        )?;
    }
    let devices = session.ask("rump devices")?;
    for needle in ["hdaudio0 at pci0", "hdafg0 at hdaudio0", "audio0 at hdafg0"] {
        expect(&devices, needle, "rump devices")?;
    }
    let mixer = session.ask("mixer")?;
    expect(&mixer, "outputs.master = ", "mixer")?;
    let tone = session.ask("tone 440 200")?;
    expect(&tone, "played 38400 bytes", "tone 440 200")?;
    session.poweroff()?;
    Ok(format!(
        "hdaudio0, hdafg0 and audio0 on {cpus} CPU(s) with {codec}"
    ))
}

/// An HDA controller without a codec: hdaudio's attach fails ("no codecs found"), NetBSD's
/// PCI glue gives its interrupt back (pci_intr_disestablish, which the host implements), and
/// the rump kernel, the shell and the audio commands carry on.
pub(super) fn hda_without_codec_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn rump.RUMP_VERBOSE=1"),
        &hda_arguments(None, None),
    )?;
    session.wait_prompt()?;
    let log = session.output();
    expect(
        &log,
        "hdaudio0: no codecs found",
        "the rump kernel's boot messages",
    )?;
    if log.contains("panic") || log.contains("rump kernel halted") {
        return Err(format!("the failed attach stopped the rump kernel:\n{log}"));
    }
    let status = session.ask("rump")?;
    expect(&status, "rump kernel running", "rump")?;
    let tone = session.ask("tone 440 100")?;
    expect(&tone, "tone: no audio device attached", "tone 440 100")?;
    let devices = session.ask("rump devices")?;
    expect(&devices, "hdaudio0 at pci0", "rump devices")?;
    let uptime = session.ask("uptime")?;
    expect(&uptime, "up ", "uptime")?;
    session.poweroff()?;
    Ok("hdaudio0 fails without a codec; the rump kernel and shell carry on".into())
}

/// Without the HDA set the audio commands say what is missing and the shell carries on.
pub(super) fn audio_without_hda_set_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn"),
        &hda_arguments(Some("hda-output"), None),
    )?;
    session.wait_prompt()?;
    let missing = match std::env::var_os("RUMP_COMPONENTS") {
        None => "no rump components linked; audio needs the HDA set",
        Some(_) => "the rump kernel has no /dev/audio",
    };
    for command in ["tone 440 100", "mixer", "mixer outputs.master 10"] {
        let answer = session.ask(command)?;
        expect(&answer, missing, command)?;
    }
    // play reads and checks the file first: a missing file is reported as such.
    let answer = session.ask("play /nothere.wav")?;
    expect(&answer, "play: /nothere.wav: ", "play /nothere.wav")?;
    let uptime = session.ask("uptime")?;
    expect(&uptime, "up ", "uptime")?;
    session.poweroff()?;
    Ok(format!("'{missing}'"))
}

/// The WAV files `play` is given: one with known content and the bad ones.
fn write_test_files(directory: &std::path::Path) -> Result<Vec<f64>, String> {
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(directory.join(name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    // A second of a chirp from 300 to 3000 Hz at 40 %: no two of its pieces look alike.
    let chirp: Vec<i16> = (0..48_000)
        .map(|n| {
            let t = f64::from(n) / 48_000.0;
            let phase = 2.0 * std::f64::consts::PI * (300.0 * t + 1350.0 * t * t);
            (0.4 * 32767.0 * phase.sin()).round() as i16
        })
        .collect();
    let pcm: Vec<u8> = chirp
        .iter()
        .flat_map(|sample| [sample.to_le_bytes(), sample.to_le_bytes()].concat())
        .collect();
    let known = pcm::wav::write(&STEREO_48K, &pcm);
    write("known.wav", &known)?;
    // 8-bit mono at 22050 Hz, 700 Hz for 0.3 s: NetBSD converts it to what hdafg plays.
    let mono8 = Format {
        sample_rate: 22_050,
        channels: 1,
        sample: SampleFormat::Unsigned8,
    };
    let low: Vec<u8> = pcm::tone::sine_s16le(700.0, 6615, 22_050, 1, 50)
        .chunks_exact(2)
        .map(|pair| ((i16::from_le_bytes([pair[0], pair[1]]) >> 8) as i8 as u8) ^ 0x80)
        .collect();
    write("mono8.wav", &pcm::wav::write(&mono8, &low))?;
    // A header that lies: the byte rate of 44.1 kHz on a 48 kHz file.
    let mut lying = known.clone();
    lying[28..32].copy_from_slice(&(44_100u32 * 4).to_le_bytes());
    write("lying.wav", &lying)?;
    // Cut off in the middle of the data.
    write("truncated.wav", &known[..20_044])?;
    let low_rate = Format {
        sample_rate: 1_000,
        ..STEREO_48K
    };
    write("lowrate.wav", &pcm::wav::write(&low_rate, &[0; 4000]))?;
    // IEEE float samples (format 3, 32 bits).
    let mut float = pcm::wav::write(&STEREO_48K, &[0; 3200]);
    float[20..22].copy_from_slice(&3u16.to_le_bytes());
    float[28..32].copy_from_slice(&(48_000u32 * 8).to_le_bytes());
    float[32..34].copy_from_slice(&8u16.to_le_bytes());
    float[34..36].copy_from_slice(&32u16.to_le_bytes());
    write("float.wav", &float)?;
    Ok(chirp.iter().map(|s| f64::from(*s)).collect())
}

/// One tone of the recording, measured.
pub(super) struct Measured {
    pub frequency: f64,
    /// Its length as recorded.
    pub recorded_millis: f64,
    /// QEMU's lost buffers the tone's phase shows.
    pub seen_drops: usize,
    /// Phase jumps QEMU's overruns do not explain.
    pub other_jumps: usize,
    pub rms: f64,
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} Hz {:.0} ms", self.frequency, self.recorded_millis)
    }
}

/// Checks a tone's dominant frequency (within 1 %) and length (within 10 %). Its length may
/// lack what QEMU's codec threw away while its stream ran (`stream`, from QEMU's trace): the
/// check passes if some count of those lost buffers, at least as many as the phase shows,
/// brings it within 10 %.
pub(super) fn measure_tone(
    samples: &[f64],
    sound: Sound,
    stream: analysis::TracedStream,
    expected: (f64, f64),
    what: &str,
) -> Result<Measured, String> {
    let (frequency, millis) = expected;
    let rate = 48_000;
    let part = &samples[sound.start..sound.end];
    let found = analysis::dominant_frequency(part, rate);
    if (found - frequency).abs() > frequency / 100.0 {
        return Err(format!(
            "{what}: dominant frequency {found:.1} Hz, not {frequency} Hz within 1 %"
        ));
    }
    let continuity = analysis::qemu_drops(part, rate, found);
    let recorded = sound.millis(rate);
    let drop_millis = analysis::QEMU_DROP_FRAMES as f64 * 1000.0 / f64::from(stream.rate.max(1));
    if continuity.qemu_drops > stream.overruns {
        return Err(format!(
            "{what}: the phase shows {} lost buffers, QEMU traced {} for its stream",
            continuity.qemu_drops, stream.overruns
        ));
    }
    let within = (continuity.qemu_drops..=stream.overruns)
        .any(|lost| (recorded + lost as f64 * drop_millis - millis).abs() <= millis / 10.0);
    if !within {
        return Err(format!(
            "{what}: {recorded:.1} ms recorded, not {millis} ms within 10 % (QEMU traced {} lost buffers of {drop_millis:.1} ms in its stream, the phase shows {})",
            stream.overruns, continuity.qemu_drops
        ));
    }
    Ok(Measured {
        frequency: found,
        recorded_millis: recorded,
        seen_drops: continuity.qemu_drops,
        other_jumps: continuity.other_jumps,
        rms: analysis::rms(part),
    })
}

/// `tone`, `mixer` and `play` through NetBSD's audio stack into QEMU's wav recording: a 440 Hz
/// and a 1 kHz tone of one second, the 440 Hz tone again after the output level went down, a
/// WAV file of known content, an 8-bit mono file NetBSD converts; then the bad inputs, each
/// with its message, and a tone while another one plays.
pub(super) fn audio_capture_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let build = crate::root().join("build/rump-audio");
    let files = build.join("files");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&files).map_err(|e| e.to_string())?;
    let known = write_test_files(&files)?;
    let image = build.join("sounds.img");
    make_ext2(Some(&files), &image, 1024, "8M")?;
    let capture = build.join("capture.wav");
    let mut arguments = hda_arguments(Some("hda-output"), Some(&capture));
    arguments.extend(virtio_disk(&image));
    // QEMU reports each stream of its HDA codec, its format, and each buffer it throws away.
    for event in ["hda_audio_format", "hda_audio_running", "hda_audio_overrun"] {
        arguments.extend(["-trace".to_string(), event.to_string()]);
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &arguments)?;
    session.wait_prompt()?;
    let mounted = session.ask("mount vda /mnt")?;
    expect(&mounted, "mounted vda on /mnt", "mount vda /mnt")?;
    let listing = session.ask("mixer")?;
    let level: u8 = listing
        .lines()
        .find_map(|line| line.strip_prefix("outputs.master = "))
        .and_then(|rest| rest.split([',', ' ']).next())
        .and_then(|level| level.parse().ok())
        .ok_or_else(|| format!("'mixer' shows no outputs.master level:\n{listing}"))?;
    let played = |answer: &str, command: &str| expect(answer, "played 192000 bytes", command);
    played(&session.ask("tone 440 1000")?, "tone 440 1000")?;
    played(&session.ask("tone 1000 1000")?, "tone 1000 1000")?;
    let quieter = session.ask("mixer outputs.master 64")?;
    expect(&quieter, "outputs.master = ", "mixer outputs.master 64")?;
    played(&session.ask("tone 440 1000")?, "tone 440 1000 (quieter)")?;
    session.ask(&format!("mixer outputs.master {level}"))?;
    let answer = session.ask("play /mnt/known.wav")?;
    expect(
        &answer,
        "play: /mnt/known.wav: 48000 Hz, 2 channels, 16-bit signed, 1000 ms: played 192000 bytes",
        "play /mnt/known.wav",
    )?;
    let answer = session.ask("play /mnt/mono8.wav")?;
    expect(
        &answer,
        "play: /mnt/mono8.wav: 22050 Hz, 1 channel, 8-bit unsigned, 300 ms: played 6615 bytes",
        "play /mnt/mono8.wav",
    )?;
    for (file, message) in [
        ("lying.wav", "header inconsistent: 176400 bytes per second, but the rate and block align make 192000"),
        ("truncated.wav", "truncated: the 'data' chunk declares 192000 bytes but only 20000 follow"),
        ("lowrate.wav", "unsupported: a sample rate of 1000 Hz; play takes 4000 to 192000 Hz"),
        ("float.wav", "unsupported: IEEE float samples (format 0x0003); play takes integer PCM"),
        ("missing.wav", "no such file"),
    ] {
        let command = format!("play /mnt/{file}");
        let answer = session.ask(&command)?;
        expect(&answer, &format!("play: /mnt/{file}: {message}"), &command)?;
    }
    // A second playback while one holds the device: one of the two is told it is busy.
    let mark = session.output().len();
    let started = session.ask("tone 440 2000 &")?;
    expect(
        &started,
        "tone: playing in the background",
        "tone 440 2000 &",
    )?;
    let second = session.ask("tone 1000 300")?;
    let background_end = session.wait_for("background playback ", mark)?;
    let _ = session.wait_for("\n", background_end)?;
    let background: String = session.output()[background_end..]
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let busy = "the audio device is busy: another playback holds it";
    let foreground_busy = second.contains(busy);
    if !foreground_busy && !background.contains(busy) {
        return Err(format!(
            "neither playback was told the device is busy:\n{second}\nbackground playback {background}"
        ));
    }
    let uptime = session.ask("uptime")?;
    expect(&uptime, "up ", "uptime (after the busy device)")?;
    session.poweroff()?;
    let streams = analysis::traced_streams(&session.stderr());

    let (samples, sounds) = analysis::recorded_sounds(&capture)?;
    let rate = 48_000;
    let describe = |sounds: &[Sound]| {
        sounds
            .iter()
            .map(|s| {
                format!(
                    "{:.1}..{:.1} ms",
                    s.start as f64 / 48.0,
                    s.end as f64 / 48.0
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Tones, the known file, the converted file, and the tone that won the device.
    let (last_frequency, last_millis) = match foreground_busy {
        true => (440.0, 2000.0),
        false => (1000.0, 300.0),
    };
    if sounds.len() != 6 || streams.len() != 6 {
        return Err(format!(
            "the capture holds {} sounds and QEMU traced {} streams, not 6 (3 tones, 2 files, 1 tone): {}; streams {streams:?}",
            sounds.len(),
            streams.len(),
            describe(&sounds)
        ));
    }
    let tone = |index: usize, expected: (f64, f64), what: &str| {
        measure_tone(&samples, sounds[index], streams[index], expected, what)
    };
    let first = tone(0, (440.0, 1000.0), "first tone")?;
    let second = tone(1, (1000.0, 1000.0), "second tone")?;
    let quiet = tone(2, (440.0, 1000.0), "tone after the mixer")?;
    let converted = tone(4, (700.0, 300.0), "mono8.wav")?;
    let last = tone(
        5,
        (last_frequency, last_millis),
        "the tone that held the device",
    )?;
    let ratio = quiet.rms / first.rms;
    if ratio > 0.6 {
        return Err(format!(
            "the tone after 'mixer outputs.master 64' is not quieter: RMS {:.0} against {:.0}",
            quiet.rms, first.rms
        ));
    }
    let window = &samples[sounds[3].start.saturating_sub(2400)..];
    let pieces = analysis::piecewise_correlation(&known, window, rate);
    let matching = pieces.iter().filter(|c| **c > 0.9).count();
    if matching < 8 {
        return Err(format!(
            "known.wav does not match the capture: piecewise correlation {pieces:.3?}"
        ));
    }
    let tones = [&first, &second, &quiet, &converted, &last];
    let traced: usize = streams.iter().map(|s| s.overruns).sum();
    let seen: usize = tones.iter().map(|m| m.seen_drops).sum();
    let other: usize = tones.iter().map(|m| m.other_jumps).sum();
    let worst = pieces.iter().copied().fold(f64::MAX, f64::min);
    Ok(format!(
        "{first}, {second}, {quiet} at {ratio:.2} of the level, known.wav correlation >= {worst:.3} in {matching}/10 pieces, {converted} converted; QEMU lost {traced} buffers ({seen} seen in the tones' phase), {other} other phase jumps"
    ))
}
