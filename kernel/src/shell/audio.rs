//! The shell's sound commands: `tone`, `play` and `mixer`, through the rump kernel's audio
//! device (`crate::rump::audio`). Files come from the VFS (initrd or a mounted disk) and are
//! checked by the `pcm` crate's WAV parser before anything reaches the device.
//!
//! Each prints one result line or one `COMMAND: reason` line; none of them stops the shell.
//! A trailing `&` plays in the background and reports when done.

use alloc::string::String;
use alloc::vec::Vec;

use crate::println;
use crate::rump::audio::{self, ControlKind, Format, MixerControl, Played, SampleFormat};
use crate::vfs::ops;

/// What `tone` plays: the device's native format.
const TONE_FORMAT: Format = Format {
    sample_rate: 48_000,
    channels: 2,
    sample: SampleFormat::Signed16Le,
};
/// The largest WAV file `play` reads into memory.
const PLAY_LIMIT_BYTES: u64 = 64 << 20;

/// Splits a trailing `&` off the arguments.
fn background(arguments: &str) -> (&str, bool) {
    match arguments.trim_end().strip_suffix('&') {
        Some(rest) => (rest.trim_end(), true),
        None => (arguments.trim(), false),
    }
}

fn report(played: &Played) -> String {
    let mut text = alloc::format!(
        "played {} bytes and {} of silence in blocks of {}",
        played.bytes,
        played.silence_bytes,
        played.block_bytes
    );
    if played.underrun {
        text.push_str("; the device ran dry while playing");
    }
    text
}

/// Plays on a client thread, now or in the background; `what` prefixes every line.
fn start(what: String, format: Format, pcm: Vec<u8>, in_background: bool) {
    let command = String::from(what.split(':').next().unwrap_or("audio"));
    if in_background {
        let started = crate::rump::shell_call_in_background(&command, move || {
            match audio::play(&format, &pcm) {
                Ok(played) => println!("{what}: background playback done: {}", report(&played)),
                Err(error) => println!("{what}: background playback failed: {error}"),
            }
        });
        if started {
            println!("{command}: playing in the background");
        }
        return;
    }
    if let Some(result) = crate::rump::shell_call(&command, move || audio::play(&format, &pcm)) {
        match result {
            Ok(played) => println!("{what}: {}", report(&played)),
            Err(error) => println!("{command}: {error}"),
        }
    }
}

/// `tone FREQ MS [VOLUME] [&]`: a sine of FREQ Hz for MS milliseconds at VOLUME percent of full
/// scale (50 by default), 48 kHz stereo.
pub fn tone(arguments: &str) {
    const USAGE: &str =
        "usage: tone FREQ MS [VOLUME] [&] (Hz 1..=20000, ms 1..=60000, volume 0..=100 %)";
    let (arguments, in_background) = background(arguments);
    let words: Vec<&str> = arguments.split_whitespace().collect();
    let number = |index: usize, default: Option<u32>| match words.get(index) {
        Some(word) => word.parse::<u32>().ok(),
        None => default,
    };
    let (Some(frequency), Some(millis), Some(volume)) =
        (number(0, None), number(1, None), number(2, Some(50)))
    else {
        println!("tone: {USAGE}");
        return;
    };
    if words.len() > 3
        || !(1..=20_000).contains(&frequency)
        || !(1..=60_000).contains(&millis)
        || volume > 100
    {
        println!("tone: {USAGE}");
        return;
    }
    let frames = pcm::tone::frames_for_millis(millis, TONE_FORMAT.sample_rate);
    let samples = pcm::tone::sine_s16le(
        f64::from(frequency),
        frames,
        TONE_FORMAT.sample_rate,
        TONE_FORMAT.channels,
        volume,
    );
    let what = alloc::format!(
        "tone: {frequency} Hz for {millis} ms at {volume} % ({})",
        audio::describe(&TONE_FORMAT)
    );
    start(what, TONE_FORMAT, samples, in_background);
}

/// `play PATH [&]`: a PCM WAV file from the initrd or a mounted disk.
pub fn play(arguments: &str) {
    let (path, in_background) = background(arguments);
    if path.is_empty() || path.contains(' ') {
        println!("play: usage: play PATH [&] (a PCM WAV file: 8-bit unsigned or 16-bit signed, 1 or 2 channels)");
        return;
    }
    let size = match ops::stat(path) {
        Ok(stat) => stat.size,
        Err(error) => {
            println!("play: {path}: {error}");
            return;
        }
    };
    if size > PLAY_LIMIT_BYTES {
        println!(
            "play: {path}: {size} bytes; play reads at most {PLAY_LIMIT_BYTES} bytes into memory"
        );
        return;
    }
    let mut file = Vec::with_capacity(size as usize);
    if let Err(error) = ops::read_chunks(path, 0, size, |piece| file.extend_from_slice(piece)) {
        println!("play: {path}: {error}");
        return;
    }
    let wave = match pcm::wav::parse(&file) {
        Ok(wave) => wave,
        Err(error) => {
            println!("play: {path}: {error}");
            return;
        }
    };
    let what = alloc::format!(
        "play: {path}: {}, {} ms",
        audio::describe(&wave.format),
        wave.duration_millis()
    );
    let format = wave.format;
    let pcm = wave.data.to_vec();
    drop(file);
    start(what, format, pcm, in_background);
}

fn print_control(control: &MixerControl) {
    match (&control.kind, &control.levels) {
        (ControlKind::Class, _) => println!("{} (class)", control.name),
        (ControlKind::Level, Some(levels)) => {
            let levels: Vec<String> = levels.iter().map(|l| alloc::format!("{l}")).collect();
            println!("{} = {} (level 0..255)", control.name, levels.join(","));
        }
        (ControlKind::Level, None) => println!("{} (level)", control.name),
        (ControlKind::Choice(names), _) => match names.split_first() {
            Some((current, others)) => println!(
                "{} = {current} (choice of {current}{}{})",
                control.name,
                if others.is_empty() { "" } else { ", " },
                others.join(", ")
            ),
            None => println!("{} (choice, no members)", control.name),
        },
        (ControlKind::Set(selected), _) => {
            println!("{} = {{{}}} (set)", control.name, selected.join(", "))
        }
    }
}

/// `mixer`: every control of the rump kernel's mixer; `mixer NAME LEVEL`: set a level control
/// (every channel) to LEVEL, 0..=255 — `mixer outputs.master 64` turns the output down.
pub fn mixer(arguments: &str) {
    let words: Vec<&str> = arguments.split_whitespace().collect();
    match words.as_slice() {
        [] => {
            if let Some(result) = crate::rump::shell_call("mixer", audio::mixer_controls) {
                match result {
                    Ok(controls) => controls.iter().for_each(print_control),
                    Err(error) => println!("mixer: {error}"),
                }
            }
        }
        [name, level] => {
            let Ok(level) = level.parse::<u8>() else {
                println!("mixer: LEVEL is 0..=255, not '{level}'");
                return;
            };
            let name = String::from(*name);
            if let Some(result) =
                crate::rump::shell_call("mixer", move || audio::set_level(&name, level))
            {
                match result {
                    Ok(control) => print_control(&control),
                    Err(error) => println!("mixer: {error}"),
                }
            }
        }
        _ => {
            println!("mixer: usage: mixer [NAME LEVEL] (LEVEL 0..=255; 'mixer' lists the controls)")
        }
    }
}
