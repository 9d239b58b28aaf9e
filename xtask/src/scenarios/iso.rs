//! The GRUB ISO for real PCs: `scripts/mkiso` builds it, SeaBIOS boots it from a CD-ROM, GRUB
//! loads the kernel through Multiboot2 with the initrd as a module, and the shell comes up.

use super::*;

pub(super) fn iso_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let (initrd, _) = crate::build_images()?;
    let initrd = initrd.ok_or("scripts/mkinitrd is missing")?;
    let iso = crate::root().join("build/kernel.iso");
    let status = std::process::Command::new(crate::root().join("scripts/mkiso"))
        .arg(kernel)
        .arg(&initrd)
        .arg(&iso)
        .status()
        .map_err(|e| format!("cannot run scripts/mkiso: {e}"))?;
    if !status.success() {
        return Err("scripts/mkiso failed".into());
    }
    let mut boot = boot(kernel, accel, "512M", 2, "");
    boot.cdrom = Some(iso);
    let mut session = Session::start(&boot)?;
    session.wait_prompt()?;
    let log = session.output();
    for needle in ["boot protocol multiboot2", "initrd: "] {
        if !log.contains(needle) {
            return Err(format!("boot log lacks '{needle}':\n{log}"));
        }
    }
    let mem = session.ask("mem")?;
    if !mem.contains("memory: 512 MiB installed") {
        return Err(format!("'mem' said:\n{mem}"));
    }
    let listing = session.ask("ls /")?;
    if !listing.contains("README") {
        return Err(format!("'ls /' said:\n{listing}"));
    }
    session.poweroff()?;
    Ok("GRUB -> Multiboot2 -> shell with the initrd".into())
}
