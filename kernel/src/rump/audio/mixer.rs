//! `/dev/mixer`: listing NetBSD's mixer controls with their values, setting a level, and
//! writing every level again for QEMU's codec (see [`reapply_levels`]).

use alloc::string::String;
use alloc::vec::Vec;

use rump_api::audio::*;

use super::device::{ioctl, open, Descriptor, ENXIO};
use super::{AudioError, ControlKind, MixerControl};

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

fn read_setting(mixer: &Descriptor, info: &nb_mixer_devinfo) -> Result<nb_mixer_ctrl, AudioError> {
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
            let (members, current) = unsafe { (info.detail.enumeration, control.setting.ordinal) };
            let count = members.member_count.clamp(0, 32) as usize;
            let mut names: Vec<String> = members.member[..count]
                .iter()
                .map(|member| name_of(&member.label))
                .collect();
            if let Some(position) = (0..names.len()).find(|&i| members.member[i].ordinal == current)
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
