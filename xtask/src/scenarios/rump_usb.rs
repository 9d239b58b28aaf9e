//! A USB stick through rump (only with `RUMP_COMPONENTS` holding the USB set: the PCI host
//! controllers, usb, umass, scsipi): QEMU's EHCI with a usb-storage stick carrying an ext2
//! file system; NetBSD's drivers attach it as sd0 over our PCI hypercalls (config space, MMIO,
//! interrupts, DMA), and the shell mounts and reads it.

use super::*;

pub(super) fn components_include_usb() -> bool {
    std::env::var_os("RUMP_COMPONENTS")
        .map(std::path::PathBuf::from)
        .is_some_and(|dir| {
            dir.join("librumpdev_umass.a").exists() && dir.join("librumpdev_pci_usbhc.a").exists()
        })
}

pub(super) fn usb_stick_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let build = crate::root().join("build/rump-usb");
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let text = "hello from a USB stick, read by NetBSD's umass in our kernel\n";
    std::fs::write(source.join("stick.txt"), text).map_err(|e| e.to_string())?;
    let image = build.join("stick.img");
    let status = std::process::Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-b", "1024", "-d"])
        .arg(&source)
        .arg(&image)
        .arg("8M")
        .status()
        .map_err(|e| format!("mke2fs: {e}"))?;
    if !status.success() {
        return Err("mke2fs failed".into());
    }
    let extra: Vec<String> = [
        "-device",
        "ich9-usb-ehci1,id=ehci",
        "-drive",
        &format!("if=none,id=stick,file={},format=raw", image.display()),
        "-device",
        "usb-storage,bus=ehci.0,drive=stick",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=info rump.RUMP_VERBOSE=1"),
        &extra,
    )?;
    session.wait_prompt()?;
    // umass attaches asynchronously after the root hub notices the stick: retry the mount.
    let mut mounted = String::new();
    for _ in 0..30 {
        mounted = session.ask("rump mount /dev/sd0a /u")?;
        if !mounted.contains("rump mount:") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if mounted.contains("rump mount:") {
        return Err(format!("the stick never mounted:\n{}", session.output()));
    }
    let log = session.output();
    for needle in ["ehci0 at pci0", "umass0", "sd0 at scsibus0"] {
        if !log.contains(needle) {
            return Err(format!("rump boot messages lack '{needle}':\n{log}"));
        }
    }
    let listing = session.ask("rump ls /u")?;
    if !listing.contains("stick.txt") {
        return Err(format!("'rump ls /u' said:\n{listing}"));
    }
    let shown = session.ask("rump cat /u/stick.txt")?;
    if !shown.contains(text.trim_end()) {
        return Err(format!("'rump cat' read:\n{shown}"));
    }
    session.ask("rump umount /u")?;
    session.poweroff()?;
    Ok("EHCI -> usb -> umass -> sd0 -> ext2 read back".into())
}
