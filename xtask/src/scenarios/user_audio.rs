//! `/dev/audio` and `/dev/mixer` for processes (only with the HDA set in `RUMP_COMPONENTS`): a
//! C program (`tests/user/audio.c`, built with the host's `gcc -static`) and busybox's
//! unmodified `cat` play through NetBSD's audio(4) in the rump kernel into QEMU's wav
//! recording, set the output level through the mixer, and meet bad arguments. The recording is
//! judged by its samples, as in `rump_audio_capture`.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use super::audio_analysis as analysis;
use super::*;

/// What must be true of each part of the program's output.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "devices",
        &[
            "audio",
            "mixer",
            "character special file e,4",
            "character special file e,0",
        ],
    ),
    (
        "tone440",
        &[
            "format 48000 Hz, 2 channels, 16 bits, encoding 6",
            "played 192000 bytes of tone, 268800 in all",
            "status=0",
        ],
    ),
    (
        "tone1000",
        &["played 192000 bytes of tone, 268800 in all", "status=0"],
    ),
    (
        "level",
        &[
            "outputs.master: 2 channels, level ",
            "(asked 64, step ",
            "status=0",
        ],
    ),
    (
        "quiet",
        &["played 192000 bytes of tone, 268800 in all", "status=0"],
    ),
    ("cat", &["status=0"]),
    (
        "killed",
        &[
            "killed status=143",
            "played 28800 bytes of tone, 105600 in all",
            "status=0",
        ],
    ),
    (
        "bad",
        &[
            "fstat: character device 14,4",
            "AUDIO_GETINFO to NULL: EFAULT",
            "AUDIO_SETINFO from an unmapped address: EFAULT",
            "AUDIO_GETINFO to a read-only page: EFAULT",
            "a request of another group: ENOTTY",
            "Linux's SNDCTL_DSP_SPEED: ENOTTY",
            "write from an unmapped address: EFAULT",
            "lseek: ESPIPE",
            "a second open while playing: EBUSY",
            "AUDIO_SETINFO with an unknown encoding: EINVAL",
            "read from a play-only descriptor: EBADF",
            "open /dev/mixer: ok",
            "AUDIO_MIXER_DEVINFO past the last control: ENXIO",
            "status=0",
        ],
    ),
];

/// The guest's script: each part between markers.
const SCRIPT: &str = r#"echo '@@@ devices'
ls /dev
stat -c '%F %t,%T' /dev/audio /dev/mixer
echo '@@@ tone440'
/test/audio tone 440 1000; echo "status=$?"
echo '@@@ tone1000'
/test/audio tone 1000 1000; echo "status=$?"
echo '@@@ level'
/test/audio level outputs.master 64; echo "status=$?"
echo '@@@ quiet'
/test/audio tone 440 1000; echo "status=$?"
/test/audio level outputs.master 255 > /dev/null
echo '@@@ cat'
cat /test/tone600.ulaw > /dev/audio; echo "status=$?"
echo '@@@ killed'
/test/audio tone 300 20000 > /dev/null &
sleep 1
kill $!
wait $!; echo "killed status=$?"
/test/audio tone 800 150; echo "status=$?"
echo '@@@ bad'
/test/audio bad; echo "status=$?"
echo '@@@ end'
poweroff -f
"#;

/// G.711 mu-law of one sample (what `/dev/audio` takes by default: 8 kHz mono mu-law).
fn mu_law(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut value = i32::from(sample);
    let sign = if value < 0 {
        value = -value;
        0x80
    } else {
        0
    };
    value = value.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && value & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (value >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

fn io(error: std::io::Error) -> String {
    error.to_string()
}

/// Builds the staging root: busybox and its applets, the program, the mu-law file, the script.
fn stage(build: &Path) -> Result<PathBuf, String> {
    let root = build.join("root");
    for directory in ["bin", "test", "dev", "proc", "tmp"] {
        std::fs::create_dir_all(root.join(directory)).map_err(io)?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).map_err(io)?;
    for applet in [
        "sh", "echo", "cat", "ls", "stat", "sleep", "kill", "poweroff",
    ] {
        symlink("busybox", root.join("bin").join(applet)).map_err(io)?;
    }
    let program = root.join("test/audio");
    let include = crate::root().join("rump-api/include");
    let flags = ["-O1".as_ref(), "-I".as_ref(), include.as_os_str()];
    compile_static("tests/user/audio.c", &program, &flags, &["-lm"])?;
    // Half a second of 600 Hz at half scale between 200 ms of silence, 8 kHz mu-law: played
    // by `cat` as it is.
    let tone: Vec<u8> = (-1600..5600)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * 600.0 * f64::from(n) / 8000.0;
            let sounding = (0..4000).contains(&n);
            mu_law((0.5 * 32767.0 * phase.sin() * f64::from(u8::from(sounding))).round() as i16)
        })
        .collect();
    std::fs::write(root.join("test/tone600.ulaw"), tone).map_err(io)?;
    let script = root.join("test/run.sh");
    std::fs::write(&script, SCRIPT).map_err(io)?;
    std::fs::set_permissions(&script, PermissionsExt::from_mode(0o755)).map_err(io)?;
    Ok(root)
}

/// The text of part `name` of the output (kernel log lines left out).
fn part(output: &str, name: &str) -> Option<String> {
    let start = output.find(&format!("@@@ {name}\n"))?;
    let rest = &output[start..];
    let text = rest.lines().skip(1).take_while(|l| !l.starts_with("@@@ "));
    Some(
        text.filter(|line| !line.starts_with('['))
            .map(|line| format!("{line}\n"))
            .collect(),
    )
}

/// The level the mixer reports after the write is the one asked for, to within its step
/// (NetBSD's hdafg rounds a level to the amplifier's steps).
fn level_within_step(text: &str) -> Result<(), String> {
    let number = |after: &str| -> Option<i32> {
        let start = text.find(after)? + after.len();
        let digits: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    match (number(" -> "), number("(asked "), number(", step ")) {
        (Some(got), Some(asked), Some(step)) if (got - asked).abs() <= step.max(1) => Ok(()),
        _ => Err(format!(
            "the mixer level read back is not the one written, to within its step:\n{text}"
        )),
    }
}

/// Why the scenario cannot run here, if it cannot.
pub(super) fn user_audio_missing() -> Option<String> {
    if !rump_audio::components_include_hda() {
        return Some(rump_audio::NO_HDA_SET.into());
    }
    user_faults_missing()
}

pub(super) fn user_audio_scenario(kernel: &Path, accel: Accel) -> Result<String, String> {
    let build = crate::root().join("build/user-audio");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&build).map_err(io)?;
    let root = stage(&build)?;
    let initrd = make_initrd(&root)?;
    let capture = build.join("capture.wav");
    let mut arguments = rump_audio::hda_arguments(Some("hda-output"), Some(&capture));
    for event in ["hda_audio_format", "hda_audio_running", "hda_audio_overrun"] {
        arguments.extend(["-trace".to_string(), event.to_string()]);
    }
    let mut machine = boot(
        kernel,
        accel,
        "1G",
        2,
        "log=warn init=/bin/sh -- /test/run.sh",
    );
    machine.initrd = Some(initrd);
    let mut session = Session::start_with(&machine, &arguments)?;
    match session.wait_exit() {
        Ok(qemu::EXIT_SUCCESS) => {}
        Ok(code) => return Err(format!("QEMU exited with {code}:\n{}", session.output())),
        Err(why) => {
            return Err(format!(
                "QEMU did not power off: {why}\n{}",
                session.output()
            ))
        }
    }
    let output = session.output();
    for bad in [
        "CPU EXCEPTION",
        "KERNEL PANIC",
        "panicked",
        "rump kernel halted",
    ] {
        if output.contains(bad) {
            return Err(format!("the serial output contains '{bad}':\n{output}"));
        }
    }
    for (name, needles) in EXPECTED {
        let text =
            part(&output, name).ok_or_else(|| format!("part {name} never ran:\n{output}"))?;
        for needle in *needles {
            if !text.contains(needle) {
                return Err(format!("part {name} lacks '{needle}':\n{text}"));
            }
        }
    }
    let level = part(&output, "level").unwrap_or_default();
    level_within_step(&level)?;

    let streams = analysis::traced_streams(&session.stderr());
    let (samples, sounds) = analysis::recorded_sounds(&capture)?;
    let rate = 48_000;
    // 440, 1000, 440 quieter, 600 (cat), 300 (killed), 800; `bad` plays nothing.
    if sounds.len() != 6 || streams.len() < 6 {
        return Err(format!(
            "the capture holds {} sounds and QEMU traced {} streams, not 6 each: {sounds:?}; streams {streams:?}",
            sounds.len(),
            streams.len()
        ));
    }
    let tone = |index: usize, expected: (f64, f64), what: &str| {
        rump_audio::measure_tone(&samples, sounds[index], streams[index], expected, what)
    };
    let first = tone(0, (440.0, 1000.0), "first tone")?;
    let second = tone(1, (1000.0, 1000.0), "second tone")?;
    let quiet = tone(2, (440.0, 1000.0), "tone after the mixer")?;
    let cat = tone(3, (600.0, 500.0), "cat of 8 kHz mu-law")?;
    let after = tone(5, (800.0, 150.0), "tone after the kill")?;
    let killed = &samples[sounds[4].start..sounds[4].end];
    let killed_frequency = analysis::dominant_frequency(killed, rate);
    let killed_millis = sounds[4].millis(rate);
    if (killed_frequency - 300.0).abs() > 3.0 || !(500.0..5000.0).contains(&killed_millis) {
        return Err(format!(
            "the killed playback: {killed_frequency:.1} Hz for {killed_millis:.0} ms (300 Hz, cut short of 20 s)"
        ));
    }
    let ratio = quiet.rms / first.rms;
    if ratio > 0.6 {
        return Err(format!(
            "the tone after the mixer is not quieter: RMS {:.0} against {:.0}",
            quiet.rms, first.rms
        ));
    }
    Ok(format!(
        "a process played {first}, {second}, {quiet} at {ratio:.2} of the level after AUDIO_MIXER_WRITE; cat played 8 kHz mu-law as {cat}; a killed player stopped after {killed_millis:.0} ms and freed the device ({:.1} Hz after it); 11 bad arguments answered",
        after.frequency,
    ))
}
