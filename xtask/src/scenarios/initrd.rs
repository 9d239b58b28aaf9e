//! Initrd scenarios: the default initrd as the root, and damaged initrds.

use super::*;

/// Boots with a truncated tar and with garbage as the initrd: the kernel names the damage,
/// keeps what was valid before it, and reaches the shell either way.
pub(super) fn damaged_initrd_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let build = crate::root().join("build");
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let tar = build.join("damaged.tar");
    let status = std::process::Command::new("tar")
        .args(["--format=ustar", "--sort=name", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(crate::root().join("rootfs"))
        .arg(".")
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err("tar failed".into());
    }
    let mut bytes = std::fs::read(&tar).map_err(|e| e.to_string())?;
    bytes.truncate(bytes.len() * 2 / 3 + 100); // cut inside an entry
    std::fs::write(&tar, &bytes).map_err(|e| e.to_string())?;
    let garbage = build.join("garbage.initrd");
    std::fs::write(&garbage, b"this is not an archive of any kind\n".repeat(40))
        .map_err(|e| e.to_string())?;
    let mut seen = Vec::new();
    for (image, expect) in [(&tar, "initrd: "), (&garbage, "initrd unusable")] {
        let mut boot = boot(kernel, accel, "256M", 1, "log=info");
        boot.initrd = Some(image.clone());
        let mut session = Session::start(&boot)?;
        session.wait_prompt()?;
        let log = session.output();
        if !log.contains(expect) {
            return Err(format!("boot log lacks '{expect}':\n{log}"));
        }
        if image == &tar
            && !log
                .lines()
                .any(|l| l.contains("WARN") && l.contains("truncated") && l.contains("byte"))
        {
            return Err(format!("truncation not reported with an offset:\n{log}"));
        }
        let listing = session.ask("ls /")?;
        if image == &tar && !listing.contains("README") {
            return Err(format!(
                "entries before the damage were not kept:\n{listing}"
            ));
        }
        session.poweroff()?;
        seen.push(expect);
    }
    Ok(format!(
        "{} damaged initrds reported, shell reached",
        seen.len()
    ))
}

/// Boots with the default initrd and compares `ls` and `cat` with the source directory.
pub(super) fn initrd_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let (initrd, _) = crate::build_images()?;
    let initrd = initrd.ok_or("scripts/mkinitrd is missing")?;
    let mut boot = boot(kernel, accel, "512M", 2, "log=info");
    boot.initrd = Some(initrd);
    let mut session = Session::start(&boot)?;
    session.wait_prompt()?;
    if !session.output().contains("initrd: ") || session.output().contains("WARN  rootfs") {
        return Err(format!("initrd not loaded cleanly:\n{}", session.output()));
    }
    let rootfs = crate::root().join("rootfs");
    let listing = session.ask("ls /")?;
    let mut names: Vec<String> = std::fs::read_dir(&rootfs)
        .map_err(|e| e.to_string())?
        .map(|e| {
            e.map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in &names {
        if !listing.lines().any(|l| {
            l.split_whitespace().nth(1).map(|n| n.trim_end_matches('/')) == Some(name.as_str())
        }) {
            return Err(format!("'ls /' lacks '{name}':\n{listing}"));
        }
    }
    let motd = std::fs::read_to_string(rootfs.join("etc/motd")).map_err(|e| e.to_string())?;
    let shown = session.ask("cat /etc/motd")?;
    for line in motd.lines() {
        if !shown.contains(line) {
            return Err(format!("'cat /etc/motd' lacks the line '{line}':\n{shown}"));
        }
    }
    let missing = session.ask("cat /no/such/file")?;
    if !missing.contains("cat: /no/such/file:") {
        return Err(format!("missing file not reported:\n{missing}"));
    }
    session.poweroff()?;
    Ok(format!("{} top-level entries match rootfs/", names.len()))
}

/// GNU tar sparse files (pax 1.0 and old GNU) in an LZ4 initrd: the kernel reads each back with
/// its real size and the host's checksum of the original, holes as zeros.
pub(super) fn sparse_initrd_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    use std::io::{Seek, SeekFrom, Write};
    let build = crate::root().join("build/sparse-initrd");
    let _ = std::fs::remove_dir_all(&build);
    let source = build.join("root");
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    // Data regions between holes, and a hole at the end.
    let mut file = std::fs::File::create(source.join("sparse.bin")).map_err(|e| e.to_string())?;
    let mut expected = vec![0u8; 3 << 20];
    for (offset, byte) in [(0u64, 0x11u8), (1 << 20, 0x22), ((2 << 20) + 4000, 0x33)] {
        let chunk: Vec<u8> = (0..5000u32).map(|i| byte ^ (i % 251) as u8).collect();
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| e.to_string())?;
        file.write_all(&chunk).map_err(|e| e.to_string())?;
        expected[offset as usize..offset as usize + chunk.len()].copy_from_slice(&chunk);
    }
    file.set_len(expected.len() as u64)
        .map_err(|e| e.to_string())?;
    drop(file);
    std::fs::write(
        source.join("after.txt"),
        "the entry after the sparse file\n",
    )
    .map_err(|e| e.to_string())?;
    let checksum = expected
        .iter()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32));
    let mut seen = Vec::new();
    for (tag, format) in [
        (
            "pax-1.0",
            &["--format=posix", "--sparse", "--sparse-version=1.0"][..],
        ),
        ("gnu", &["--format=gnu", "--sparse"][..]),
    ] {
        let tar = build.join(format!("{tag}.tar"));
        let status = std::process::Command::new("tar")
            .args(format)
            .arg("-cf")
            .arg(&tar)
            .arg("-C")
            .arg(&source)
            .args(["sparse.bin", "after.txt"])
            .status()
            .map_err(|e| format!("cannot run tar: {e}"))?;
        if !status.success() {
            return Err(format!("tar {format:?} failed"));
        }
        let image = build.join(format!("{tag}.tar.lz4"));
        let status = std::process::Command::new("lz4")
            .args(["-q", "-f"])
            .arg(&tar)
            .arg(&image)
            .status()
            .map_err(|e| format!("cannot run lz4: {e}"))?;
        if !status.success() {
            return Err("lz4 failed".into());
        }
        let mut boot = boot(kernel, accel, "256M", 1, "log=info");
        boot.initrd = Some(image);
        let mut session = Session::start(&boot)?;
        session.wait_prompt()?;
        let read = session.ask("read /sparse.bin")?;
        let want = format!(
            "/sparse.bin: {} bytes, checksum {checksum:08x}",
            expected.len()
        );
        if !read.contains(&want) {
            return Err(format!(
                "{tag}: 'read /sparse.bin' should say '{want}':\n{read}"
            ));
        }
        let after = session.ask("cat /after.txt")?;
        if !after.contains("the entry after the sparse file") {
            return Err(format!(
                "{tag}: the entry after the sparse file is lost:\n{after}"
            ));
        }
        session.poweroff()?;
        seen.push(tag);
    }
    Ok(format!(
        "{} sparse formats read back with the host's checksum",
        seen.len()
    ))
}
