//! PCI and virtio-blk scenarios.

use super::*;

/// A fresh zeroed raw disk image of `mib` MiB under build/ for the PCI and block scenarios.
pub(super) fn blank_disk(name: &str, mib: u64) -> Result<std::path::PathBuf, String> {
    let build = crate::root().join("build");
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let path = build.join(name);
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.set_len(mib << 20).map_err(|e| e.to_string())?;
    Ok(path)
}

/// QEMU arguments attaching `image` as a virtio-blk PCI disk (the kernel's `vda`).
pub(super) fn virtio_disk(image: &std::path::Path) -> Vec<String> {
    [
        "-drive".to_string(),
        format!("file={},if=none,id=blk0,format=raw", image.display()),
        "-device".to_string(),
        "virtio-blk-pci,drive=blk0".to_string(),
    ]
    .into()
}

/// `lspci` lists the devices QEMU was given, with their IDs, BARs and interrupts.
pub(super) fn lspci_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let mut extra = virtio_disk(&blank_disk("lspci.img", 8)?);
    for device in ["e1000", "ich9-usb-ehci1", "intel-hda"] {
        extra.extend(["-device".to_string(), device.to_string()]);
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &extra)?;
    session.wait_prompt()?;
    let listing = session.ask("lspci")?;
    let wanted: [(&[&str], &str); 4] = [
        (&["1af4:1001", "1af4:1042"], "virtio block"),
        (&["8086:100e"], "e1000"),
        (&["8086:293a"], "EHCI"),
        (&["8086:2668"], "intel-hda"),
    ];
    for (ids, name) in wanted {
        let line = listing
            .lines()
            .find(|l| {
                ids.iter()
                    .any(|id| l.split_whitespace().nth(1) == Some(*id))
            })
            .ok_or(format!("'lspci' lacks {name} ({ids:?}):\n{listing}"))?;
        if !line.contains(name) {
            return Err(format!("'{line}' does not name {name}"));
        }
    }
    for needle in ["BAR0: memory at", "IRQ: INTA#", "MSI-X yes"] {
        if !listing.contains(needle) {
            return Err(format!("'lspci' lacks '{needle}':\n{listing}"));
        }
    }
    session.poweroff()?;
    let functions = listing
        .lines()
        .filter(|l| l.get(2..3) == Some(":") && l.get(5..6) == Some("."))
        .count();
    Ok(format!("{functions} functions listed"))
}

/// The pattern byte `device_blk_host_pattern` writes at disk offset `offset` (kernel/src/block/tests.rs).
pub(super) fn pattern_byte(offset: u64) -> u8 {
    let word = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
    (word as u8) ^ (offset >> 9) as u8
}

/// The `device_blk_*` kernel tests on a fresh disk (MSI-X, or INTx with `pci=nomsi`), then the
/// host checks the pattern the kernel wrote, byte for byte.
pub(super) fn blk_tests_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    intx: bool,
) -> Result<String, String> {
    let image = blank_disk("blk-tests.img", 16)?;
    let append = if intx {
        "test=device_blk_ pci=nomsi log=warn"
    } else {
        "test=device_blk_ log=warn"
    };
    let (code, output) = qemu::run_to_exit_with(
        &boot(kernel, accel, "512M", 2, append),
        &virtio_disk(&image),
    )?;
    let mode = if intx { "INTx" } else { "MSI-X" };
    let counts = test_counts(&output);
    if code != qemu::EXIT_SUCCESS || !output.contains(mode) || counts.is_err() {
        return Err(format!(
            "exit code {code} (want {}), expected {mode}, {}; output:\n{output}",
            qemu::EXIT_SUCCESS,
            counts.unwrap_or_else(|e| e)
        ));
    }
    let counts = counts?;
    let bytes = std::fs::read(&image).map_err(|e| e.to_string())?;
    let (first, length) = (8192 * 512, 1024 * 512);
    let written = bytes
        .get(first..first + length)
        .ok_or("the disk image is shorter than the pattern")?;
    for (index, byte) in written.iter().enumerate() {
        let offset = first + index;
        if *byte != pattern_byte(offset as u64) {
            return Err(format!(
                "image byte {offset:#x} is {byte:#04x}, the kernel wrote {:#04x}",
                pattern_byte(offset as u64)
            ));
        }
    }
    Ok(format!(
        "{counts}, {mode}, {length} pattern bytes match on the host"
    ))
}

/// `blk write` through the shell reaches the image file; a read past the end is refused.
pub(super) fn blk_shell_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let image = blank_disk("blk-shell.img", 8)?;
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn"),
        &virtio_disk(&image),
    )?;
    session.wait_prompt()?;
    let text = "hello from the kernel, sector 7";
    let written = session.ask(&format!("blk write vda 7 {text}"))?;
    if !written.contains("wrote 512 bytes at sector 7") {
        return Err(format!("'blk write' failed:\n{written}"));
    }
    let shown = session.ask("blk read vda 7")?;
    if !shown.contains("|hello from the k|") {
        return Err(format!("'blk read' does not show the text:\n{shown}"));
    }
    let refused = session.ask("blk read vda 16384")?;
    if !refused.contains("past the end of the device (16384 sectors); refused") {
        return Err(format!(
            "a read past the end was not refused clearly:\n{refused}"
        ));
    }
    session.poweroff()?;
    let bytes = std::fs::read(&image).map_err(|e| e.to_string())?;
    let mut expected = text.as_bytes().to_vec();
    expected.resize(512, 0);
    if bytes[7 * 512..8 * 512] != expected[..] {
        return Err(format!(
            "sector 7 of the image is {:?}",
            String::from_utf8_lossy(&bytes[7 * 512..8 * 512])
        ));
    }
    Ok("sector 7 matches on the host; past-the-end read refused".into())
}
