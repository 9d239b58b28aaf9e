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
    make_ext2(Some(&source), &image, 1024, "8M")?;
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

/// The shell's checksum of `bytes` (what `read` and `rump read` print).
fn checksum(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32))
}

/// A 64 MiB file and a sparse file on a stick, read through EHCI/umass/NetBSD ext2 and compared
/// with the host's checksums. USB completes transfers in a soft interrupt, where NetBSD's rump
/// VFS may not finish async page I/O; the kernel defers those completions (rumphost/aiodone.rs).
pub(super) fn usb_large_files_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    cpus: u32,
) -> Result<String, String> {
    let build = crate::root().join(format!("build/rump-usb-large-{cpus}"));
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let big: Vec<u8> = (0..64u64 << 20)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    std::fs::write(source.join("big.bin"), &big).map_err(|e| e.to_string())?;
    let mut sparse = vec![0u8; 12 << 20];
    for (offset, byte) in [(0usize, 0x5au8), (5 << 20, 0xa5), ((12 << 20) - 100, 0x3c)] {
        for (i, slot) in sparse[offset..offset + 100].iter_mut().enumerate() {
            *slot = byte ^ i as u8;
        }
    }
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file =
            std::fs::File::create(source.join("sparse.bin")).map_err(|e| e.to_string())?;
        for offset in [0u64, 5 << 20, (12 << 20) - 100] {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| e.to_string())?;
            file.write_all(&sparse[offset as usize..offset as usize + 100])
                .map_err(|e| e.to_string())?;
        }
        file.set_len(sparse.len() as u64)
            .map_err(|e| e.to_string())?;
    }
    let image = build.join("stick.img");
    make_ext2(Some(&source), &image, 4096, "96M")?;
    // USB under emulation moves about 1 MB/s, less with more CPUs to emulate.
    let mut machine = boot(
        kernel,
        accel,
        "512M",
        cpus,
        "log=warn rump_call_timeout=900",
    );
    machine.timeout = Duration::from_secs(1200);
    let mut session = Session::start_with(&machine, &stick_arguments(&image, "stick"))?;
    session.wait_prompt()?;
    mount_when_attached(&mut session, "/dev/sd0a", "/u", false)?;
    for (name, bytes) in [("big.bin", &big), ("sparse.bin", &sparse)] {
        let answer = session.ask(&format!("rump read /u/{name}"))?;
        let want = format!(
            "/u/{name}: {} bytes, checksum {:08x}",
            bytes.len(),
            checksum(bytes)
        );
        if !answer.contains(&want) {
            return Err(format!(
                "'rump read /u/{name}' should say '{want}':\n{answer}"
            ));
        }
    }
    let unmounted = session.ask("rump umount /u")?;
    if unmounted.contains("rump umount:") {
        return Err(format!("umount failed:\n{unmounted}"));
    }
    session.poweroff()?;
    Ok(format!(
        "64 MiB and a 12 MiB sparse file read back with the host's checksums on {cpus} CPU(s)"
    ))
}

pub(super) fn stick_arguments(image: &std::path::Path, id: &str) -> Vec<String> {
    [
        "-device".to_string(),
        "ich9-usb-ehci1,id=ehci".to_string(),
        "-drive".to_string(),
        format!("if=none,id={id},file={},format=raw", image.display()),
        "-device".to_string(),
        format!("usb-storage,bus=ehci.0,drive={id},id={id}-device"),
    ]
    .to_vec()
}

/// umass attaches asynchronously after the root hub notices a stick: retries the mount.
pub(super) fn mount_when_attached(
    session: &mut Session,
    device: &str,
    path: &str,
    writable: bool,
) -> Result<(), String> {
    let command = format!(
        "rump mount {device} {path}{}",
        if writable { " rw" } else { "" }
    );
    let mut answer = String::new();
    for _ in 0..60 {
        answer = session.ask(&command)?;
        if !answer.contains("rump mount:") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!("'{command}' never succeeded:\n{answer}"))
}

/// 200 files written through NetBSD's ext2 on a stick, a directory made, files renamed and
/// removed; after the unmount the host's e2fsck finds the image clean and debugfs reads every
/// file back.
pub(super) fn usb_writes_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    const FILES: usize = 200;
    let build = crate::root().join("build/rump-usb-writes");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let image = build.join("stick.img");
    make_ext2(None, &image, 1024, "16M")?;
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn rump_call_timeout=600"),
        &stick_arguments(&image, "stick"),
    )?;
    session.wait_prompt()?;
    mount_when_attached(&mut session, "/dev/sd0a", "/u", true)?;
    // Failures print "rump COMMAND: ..."; the first line is the shell's echo of the command.
    let check = |answer: String, command: &str| -> Result<(), String> {
        if answer.lines().skip(1).any(|line| line.starts_with("rump ")) {
            Err(format!("'{command}' failed:\n{answer}"))
        } else {
            Ok(())
        }
    };
    check(session.ask("rump mkdir /u/files")?, "rump mkdir")?;
    for n in 0..FILES {
        let command = format!("rump write /u/files/f{n:03} file {n} written on a USB stick");
        check(session.ask(&command)?, &command)?;
    }
    check(session.ask("rump mv /u/files/f000 /u/renamed")?, "rump mv")?;
    check(session.ask("rump rm /u/files/f001")?, "rump rm")?;
    let missing = session.ask("rump rm /u/files/f001")?;
    if !missing.contains("ENOENT") {
        return Err(format!(
            "removing a missing file should say ENOENT:\n{missing}"
        ));
    }
    check(session.ask("rump umount /u")?, "rump umount")?;
    session.poweroff()?;
    let fsck = std::process::Command::new("e2fsck")
        .args(["-fn"])
        .arg(&image)
        .output()
        .map_err(|e| format!("e2fsck: {e}"))?;
    if !fsck.status.success() {
        return Err(format!(
            "e2fsck -fn after the writes:\n{}",
            String::from_utf8_lossy(&fsck.stdout)
        ));
    }
    let debugfs = |request: &str| -> Result<String, String> {
        let output = std::process::Command::new("debugfs")
            .args(["-R", request])
            .arg(&image)
            .output()
            .map_err(|e| format!("debugfs: {e}"))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let renamed = debugfs("cat /renamed")?;
    if renamed.trim() != "file 0 written on a USB stick" {
        return Err(format!("/renamed reads back as {renamed:?}"));
    }
    let listing = debugfs("ls /files")?;
    if listing.contains("f001") || listing.contains("f000") {
        return Err(format!("f000/f001 should be gone:\n{listing}"));
    }
    for n in 2..FILES {
        let text = debugfs(&format!("cat /files/f{n:03}"))?;
        if text.trim() != format!("file {n} written on a USB stick") {
            return Err(format!("/files/f{n:03} reads back as {text:?}"));
        }
    }
    Ok(format!(
        "{FILES} files written, renamed, removed; e2fsck clean and debugfs reads them"
    ))
}

/// A stick plugged in while the kernel runs is attached and mounted; unplugged (not in use) it
/// is detached; plugged in again it mounts again. Also an MBR-partitioned stick, mounted by
/// its partition (NetBSD maps the first Linux partition to `e`).
pub(super) fn usb_plug_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let build = crate::root().join("build/rump-usb-plug");
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    std::fs::write(source.join("plugged.txt"), "plugged in while running\n")
        .map_err(|e| e.to_string())?;
    let image = build.join("stick.img");
    let partition = build.join("partition.img");
    let disk = build.join("mbr.img");
    for (target, size) in [(&image, "8M"), (&partition, "30000")] {
        make_ext2(Some(&source), target, 1024, size)?;
    }
    // An MBR with one Linux partition from sector 2048, the file system copied into it.
    let mut mbr = vec![0u8; 64 << 20];
    let sectors = (mbr.len() / 512 - 2048) as u32;
    let entry = &mut mbr[446..462];
    entry[4] = 0x83;
    entry[8..12].copy_from_slice(&2048u32.to_le_bytes());
    entry[12..16].copy_from_slice(&sectors.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    let fs = std::fs::read(&partition).map_err(|e| e.to_string())?;
    mbr[2048 * 512..2048 * 512 + fs.len()].copy_from_slice(&fs);
    std::fs::write(&disk, &mbr).map_err(|e| e.to_string())?;

    let monitor = build.join("monitor.sock");
    let mut arguments = qemu::monitor_arguments(&monitor);
    arguments.extend(["-device".to_string(), "ich9-usb-ehci1,id=ehci".to_string()]);
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn rump_call_timeout=600"),
        &arguments,
    )?;
    session.wait_prompt()?;
    let disks = session.ask("rump disks")?;
    if !disks.contains("no disks") {
        return Err(format!(
            "no stick is plugged in yet, but 'rump disks' said:\n{disks}"
        ));
    }
    let devices = session.ask("rump devices")?;
    for line in ["ehci0 at pci0", "usb0 at ehci0", "uhub0 at usb0"] {
        if !devices.lines().any(|l| l.trim() == line) {
            return Err(format!("'rump devices' lacks '{line}':\n{devices}"));
        }
    }
    if devices.contains("umass") {
        return Err(format!("no stick yet, but 'rump devices' said:\n{devices}"));
    }
    for (round, file) in [(1, &image), (2, &image), (3, &disk)] {
        let drive = format!("stick{round}");
        qemu::monitor_command(
            &monitor,
            &format!(
                "drive_add 0 if=none,id={drive},file={},format=raw",
                file.display()
            ),
        )?;
        qemu::monitor_command(
            &monitor,
            &format!("device_add usb-storage,bus=ehci.0,drive={drive},id={drive}-device"),
        )?;
        let device = if file == &disk {
            "/dev/sd0e"
        } else {
            "/dev/sd0a"
        };
        mount_when_attached(&mut session, device, "/u", false)?;
        let text = session.ask("rump cat /u/plugged.txt")?;
        if !text.contains("plugged in while running") {
            return Err(format!("round {round}: 'rump cat' read:\n{text}"));
        }
        let devices = session.ask("rump devices")?;
        for line in ["umass0 at uhub0", "scsibus0 at umass0", "sd0 at scsibus0"] {
            if !devices.lines().any(|l| l.trim() == line) {
                return Err(format!(
                    "round {round}: 'rump devices' lacks '{line}':\n{devices}"
                ));
            }
        }
        let unmounted = session.ask("rump umount /u")?;
        if unmounted.contains("rump umount:") {
            return Err(format!("round {round}: umount failed:\n{unmounted}"));
        }
        qemu::monitor_command(&monitor, &format!("device_del {drive}-device"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let disks = session.ask("rump disks")?;
            let devices = session.ask("rump devices")?;
            if disks.contains("no disks") && !devices.contains("umass0") && !devices.contains("sd0")
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "round {round}: the unplugged stick is still attached:\n{disks}{devices}"
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    session.poweroff()?;
    Ok(
        "plugged, mounted, read, unplugged and detached twice; an MBR stick mounted by partition"
            .into(),
    )
}

/// Two sticks at once: NetBSD attaches them as sd0 and sd1 (the kernel makes sd1's device
/// nodes, which the rump kernel does not), both mount and read back.
pub(super) fn usb_two_sticks_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let build = crate::root().join("build/rump-usb-two");
    let _ = std::fs::remove_dir_all(&build);
    let mut arguments = vec!["-device".to_string(), "ich9-usb-ehci1,id=ehci".to_string()];
    for name in ["first", "second"] {
        let source = build.join(name);
        std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
        std::fs::write(
            source.join(format!("{name}.txt")),
            format!("the {name} stick\n"),
        )
        .map_err(|e| e.to_string())?;
        let image = build.join(format!("{name}.img"));
        make_ext2(Some(&source), &image, 1024, "8M")?;
        arguments.extend([
            "-drive".to_string(),
            format!("if=none,id={name},file={},format=raw", image.display()),
            "-device".to_string(),
            format!("usb-storage,bus=ehci.0,drive={name}"),
        ]);
    }
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn rump_call_timeout=600"),
        &arguments,
    )?;
    session.wait_prompt()?;
    mount_when_attached(&mut session, "/dev/sd0a", "/a", false)?;
    mount_when_attached(&mut session, "/dev/sd1a", "/b", false)?;
    let listing = format!(
        "{}{}",
        session.ask("rump ls /a")?,
        session.ask("rump ls /b")?
    );
    for name in ["first", "second"] {
        if !listing.contains(&format!("{name}.txt")) {
            return Err(format!("the {name} stick's file is missing:\n{listing}"));
        }
    }
    session.poweroff()?;
    Ok("two sticks attached as sd0 and sd1, both mounted and listed".into())
}

/// Makes an ext2 image with `mke2fs` (from `source` when given) of `size` (an mke2fs size).
pub(super) fn make_ext2(
    source: Option<&std::path::Path>,
    image: &std::path::Path,
    block_size: u32,
    size: &str,
) -> Result<(), String> {
    let mut command = std::process::Command::new("mke2fs");
    command.args(["-q", "-F", "-t", "ext2", "-b", &block_size.to_string()]);
    if let Some(source) = source {
        command.arg("-d").arg(source);
    }
    let status = command
        .arg(image)
        .arg(size)
        .status()
        .map_err(|e| format!("mke2fs: {e}"))?;
    if !status.success() {
        return Err("mke2fs failed".into());
    }
    Ok(())
}

/// Plug, mount, read, unplug while reading, plug again and mount again. NetBSD 7.99.34 finishes
/// neither the interrupted read nor the detach for many minutes (umass's reset recovery waits
/// out the command's full timeout on every control transfer to the vanished stick, and sd's
/// detach waits for that command; docs/rumphost.md): the scenario checks what holds meanwhile.
/// The shell's bounded wait reports the stuck read, the kernel, the shell and the rump kernel
/// carry on, and a stick plugged into a second controller (its hub has its own explore thread;
/// the first bus's is busy with the detach) attaches as sd1 and mounts.
pub(super) fn usb_unplug_while_reading_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    const LIMIT: u32 = 20;
    let build = crate::root().join("build/rump-usb-unplug");
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let big: Vec<u8> = (0..64u64 << 20)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    std::fs::write(source.join("big.bin"), &big).map_err(|e| e.to_string())?;
    std::fs::write(source.join("plugged.txt"), "plugged in again\n").map_err(|e| e.to_string())?;
    let image = build.join("stick.img");
    make_ext2(Some(&source), &image, 4096, "96M")?;
    let second = build.join("second.img");
    std::fs::copy(&image, &second).map_err(|e| e.to_string())?;
    let monitor = build.join("monitor.sock");
    let mut arguments = qemu::monitor_arguments(&monitor);
    for id in ["ehci", "ehci2"] {
        arguments.extend(["-device".to_string(), format!("ich9-usb-ehci1,id={id}")]);
    }
    let mut machine = boot(
        kernel,
        accel,
        "512M",
        2,
        &format!("log=warn rump_call_timeout={LIMIT}"),
    );
    machine.timeout = Duration::from_secs(600);
    let mut session = Session::start_with(&machine, &arguments)?;
    session.wait_prompt()?;
    let plug = |drive: &str, file: &std::path::Path, bus: &str| -> Result<(), String> {
        qemu::monitor_command(
            &monitor,
            &format!(
                "drive_add 0 if=none,id={drive},file={},format=raw",
                file.display()
            ),
        )?;
        qemu::monitor_command(
            &monitor,
            &format!("device_add usb-storage,bus={bus}.0,drive={drive},id={drive}-device"),
        )?;
        Ok(())
    };
    plug("stick1", &image, "ehci")?;
    mount_when_attached(&mut session, "/dev/sd0a", "/u", false)?;
    // The read's answer comes with the next prompt; commands typed meanwhile wait for it.
    let from = session.output().len();
    session.send("rump read /u/big.bin")?;
    std::thread::sleep(Duration::from_secs(2));
    qemu::monitor_command(&monitor, "device_del stick1-device")?;
    session.wait_prompt()?;
    let read = session.output()[from..].to_string();
    let reported = format!("rump read: no answer from the rump kernel after {LIMIT} s");
    if !read.contains(&reported) && !read.contains("rump read: read /u/big.bin: EIO") {
        return Err(format!(
            "the interrupted read should fail or be reported as stuck:\n{read}"
        ));
    }
    let alive = session.ask("uptime")?;
    if !alive.contains("up ") {
        return Err(format!("the shell stopped answering:\n{alive}"));
    }
    let threads = session.ask("ps")?;
    if !threads.contains("rump-client") {
        return Err(format!(
            "'ps' should show the stuck call's thread:\n{threads}"
        ));
    }
    let devices = session.ask("rump devices")?;
    if !devices.contains("usb0 at ehci0") {
        return Err(format!(
            "the rump kernel should still answer 'rump devices':\n{devices}"
        ));
    }
    let controllers: Vec<String> = devices
        .lines()
        .filter(|l| l.trim().starts_with("usb") && l.contains(" at ehci"))
        .map(|l| l.trim().to_string())
        .collect();
    if controllers.len() < 2 {
        return Err(format!(
            "both EHCI controllers should be attached:\n{devices}"
        ));
    }
    plug("stick2", &second, "ehci2")?;
    mount_when_attached(&mut session, "/dev/sd1a", "/v", false)?;
    let text = session.ask("rump cat /v/plugged.txt")?;
    if !text.contains("plugged in again") {
        return Err(format!("the second stick read:\n{text}"));
    }
    let devices = session.ask("rump devices")?;
    if !devices.contains("sd1 at scsibus1") {
        return Err(format!("'rump devices' lacks sd1:\n{devices}"));
    }
    session.poweroff()?;
    Ok(format!(
        "read stuck after the unplug is reported after {LIMIT} s; shell, kernel and rump kernel carry on; a stick on another controller mounts"
    ))
}
