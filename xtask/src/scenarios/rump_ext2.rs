//! Native and NetBSD ext2 side by side (only with `RUMP_COMPONENTS`): the same image on two
//! disks, one mounted by the kernel's driver, one through rump; both must read the same bytes,
//! and rump's read-only mount must leave its image untouched.

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
    session.send("poweroff")?;
    session.wait_exit()?;
    let after = std::fs::read(&rump).map_err(|e| e.to_string())?;
    if after != before {
        return Err("rump's read-only mount changed its image".into());
    }
    let rate = |answer: &str| {
        let line = answer.lines().find(|l| l.contains("KB/s")).unwrap_or("");
        line.rsplit(", ").next().unwrap_or("").to_owned()
    };
    Ok(format!(
        "same bytes both ways; {} vs {}",
        rate(&native_read),
        rate(&through_rump)
    ))
}
