//! Start-up work PC firmware usually does for a device and SeaBIOS does not.
//!
//! **HD Audio controllers leave reset.** After power-on an HDA controller sits in reset
//! (GCTL.CRST = 0; Intel HDA specification 1.0a, section 3.3.7). PC firmware normally takes it
//! out, and drivers written for PCs count on that: NetBSD's `hdaudio` clears the codec presence
//! bits (STATESTS), then cycles CRST through 0 only when it reads CRST = 1. QEMU's `intel-hda`
//! announces its codecs in STATESTS when the controller *enters* reset, so a controller that
//! was never out of reset never announces them again and the driver finds "no codecs". Taking
//! the controller out of reset here makes the driver's own reset cycle announce them, as on a
//! PC whose firmware set CRST. A controller already out of reset is left alone.

use super::bar::BarRegion;
use super::{config, Bar, Device};

const CLASS_MULTIMEDIA: u8 = 0x04;
const SUBCLASS_HD_AUDIO: u8 = 0x03;
/// Global control register and its controller-reset bit (HDA 1.0a section 3.3.7).
const GCTL: usize = 0x08;
const GCTL_CRST: u32 = 1;
/// The specification gives a controller no fixed time to leave reset; real ones take
/// microseconds, and QEMU's at once.
const LEAVE_RESET_NANOS: u64 = 10_000_000;

/// Runs the hand-off for every device that needs it.
pub(super) fn run(devices: &[Device]) {
    devices
        .iter()
        .filter(|d| d.class == CLASS_MULTIMEDIA && d.subclass == SUBCLASS_HD_AUDIO)
        .for_each(take_hd_audio_out_of_reset);
}

fn take_hd_audio_out_of_reset(device: &Device) {
    let Some(bar @ Bar::Memory { .. }) = device.bars[0] else {
        return;
    };
    let memory_decoding = config::read_u16(device.address, config::COMMAND)
        .is_ok_and(|command| command & config::COMMAND_MEMORY != 0);
    if !memory_decoding {
        log::warn!(
            "{}: HD Audio registers not decoded; left in reset",
            device.address
        );
        return;
    }
    let registers = match BarRegion::map(device.address, &bar, 0, 0, 0x80) {
        Ok(registers) => registers,
        Err(error) => {
            log::warn!("{}: HD Audio registers: {error}", device.address);
            return;
        }
    };
    let control = registers.read_u32(GCTL);
    if control & GCTL_CRST != 0 {
        return;
    }
    registers.write_u32(GCTL, control | GCTL_CRST);
    let deadline = crate::time::monotonic_nanos() + LEAVE_RESET_NANOS;
    while registers.read_u32(GCTL) & GCTL_CRST == 0 {
        if crate::time::monotonic_nanos() > deadline {
            log::warn!(
                "{}: HD Audio controller did not leave reset",
                device.address
            );
            return;
        }
        core::hint::spin_loop();
    }
    log::debug!("{}: HD Audio controller out of reset", device.address);
}
