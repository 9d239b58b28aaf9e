//! Native and NetBSD ext2 side by side (only with `RUMP_COMPONENTS`): the same image on two
//! disks, one mounted by the kernel's driver, one through rump; both must read the same bytes,
//! and rump's read-only mount must leave its image untouched; then a read-write rump mount
//! writes a file that e2fsck and debugfs check on the host.

use super::*;

pub(super) fn native_and_rump_ext2_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let build = crate::root().join("build/rump-ext2");
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(source.join("sub")).map_err(|e| e.to_string())?;
    std::fs::write(source.join("hello.txt"), b"hello from ext2, read twice\n")
        .map_err(|e| e.to_string())?;
    let blob: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(source.join("sub/blob"), &blob).map_err(|e| e.to_string())?;
    let native = build.join("native.img");
    let rump = build.join("rump.img");
    let status = std::process::Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-b", "1024", "-d"])
        .arg(&source)
        .arg(&native)
        .arg("16M")
        .status()
        .map_err(|e| format!("mke2fs: {e}"))?;
    if !status.success() {
        return Err("mke2fs failed".into());
    }
    std::fs::copy(&native, &rump).map_err(|e| e.to_string())?;
    let before = std::fs::read(&rump).map_err(|e| e.to_string())?;
    let mut extra = Vec::new();
    for (id, image) in [("d0", &native), ("d1", &rump)] {
        extra.push("-drive".to_string());
        extra.push(format!(
            "file={},if=none,id={id},format=raw",
            image.display()
        ));
        extra.push("-device".to_string());
        extra.push(format!("virtio-blk-pci,drive={id}"));
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &extra)?;
    session.wait_prompt()?;
    let mounted = session.ask("rump mount vdb /r")?;
    if mounted.contains("rump mount:") {
        return Err(format!("rump mount failed:\n{mounted}"));
    }
    let listing = session.ask("rump ls /r")?;
    for name in ["hello.txt", "sub/", "lost+found/"] {
        if !listing.contains(name) {
            return Err(format!("'rump ls /r' lacks {name}:\n{listing}"));
        }
    }
    let text = session.ask("rump cat /r/hello.txt")?;
    if !text.contains("hello from ext2, read twice") {
        return Err(format!("'rump cat' read:\n{text}"));
    }
    session.ask("mount vda /mnt")?;
    let through_rump = session.ask("rump read /r/sub/blob")?;
    let native_read = session.ask("read /mnt/sub/blob")?;
    let checksum = |answer: &str| {
        answer
            .split("checksum ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .map(str::to_owned)
    };
    let expected = format!(
        "{:08x}",
        blob.iter()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32))
    );
    for (who, answer) in [("rump", &through_rump), ("native", &native_read)] {
        if checksum(answer).as_deref() != Some(expected.as_str())
            || !answer.contains("300000 bytes")
        {
            return Err(format!("{who} read of /sub/blob does not match the source (checksum {expected}):\n{answer}"));
        }
    }
    let unmounted = session.ask("rump umount /r vdb")?;
    if unmounted.contains("rump umount:") {
        return Err(format!("rump umount failed:\n{unmounted}"));
    }
    session.ask("umount /mnt")?;
    // Nothing was written through the read-only mount (QEMU writes through to the image file).
    if std::fs::read(&rump).map_err(|e| e.to_string())? != before {
        return Err("rump's read-only mount changed its image".into());
    }
    // Read-write through rump: NetBSD's ext2fs writes via rumpuser_bio to the virtio disk.
    let remounted = session.ask("rump mount vdb /w rw")?;
    if remounted.contains("rump mount:") {
        return Err(format!("rump read-write mount failed:\n{remounted}"));
    }
    let wrote =
        session.ask("rump write /w/from-netbsd.txt written by NetBSD ext2fs in our kernel")?;
    if wrote.contains("rump write:") {
        return Err(format!("rump write failed:\n{wrote}"));
    }
    let unmounted = session.ask("rump umount /w vdb")?;
    if unmounted.contains("rump umount:") {
        return Err(format!("rump umount after writing failed:\n{unmounted}"));
    }
    session.poweroff()?;
    let after = std::fs::read(&rump).map_err(|e| e.to_string())?;
    if after == before {
        return Err("rump's read-write mount did not reach the image".into());
    }
    let fsck = std::process::Command::new("e2fsck")
        .args(["-fn"])
        .arg(&rump)
        .output()
        .map_err(|e| format!("e2fsck: {e}"))?;
    if !fsck.status.success() {
        return Err(format!(
            "e2fsck -fn after rump's writes: {}",
            String::from_utf8_lossy(&fsck.stdout)
        ));
    }
    let cat = std::process::Command::new("debugfs")
        .args(["-R", "cat /from-netbsd.txt"])
        .arg(&rump)
        .output()
        .map_err(|e| format!("debugfs: {e}"))?;
    if String::from_utf8_lossy(&cat.stdout) != "written by NetBSD ext2fs in our kernel\n" {
        return Err(format!(
            "debugfs reads back: {:?}",
            String::from_utf8_lossy(&cat.stdout)
        ));
    }
    let rate = |answer: &str| {
        let line = answer.lines().find(|l| l.contains("KB/s")).unwrap_or("");
        line.rsplit(", ").next().unwrap_or("").to_owned()
    };
    Ok(format!(
        "same bytes both ways ({} vs {}); rump's write passes e2fsck and debugfs",
        rate(&native_read),
        rate(&through_rump)
    ))
}
