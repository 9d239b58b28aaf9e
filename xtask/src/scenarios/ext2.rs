//! Native ext2 through the kernel's VFS, checked with e2fsprogs on the host.

use super::*;

/// Runs a host tool; returns (exit code, stdout) or says which package provides it.
pub(super) fn host_tool(program: &str, arguments: &[&str]) -> Result<(i32, Vec<u8>), String> {
    let output = std::process::Command::new(program)
        .args(arguments)
        .output()
        .map_err(|e| format!("cannot run {program}: {e} (install e2fsprogs)"))?;
    Ok((output.status.code().unwrap_or(-1), output.stdout))
}

/// The source tree of the ext2 scenario: small and empty files, a multi-block file, a nested
/// directory, an empty one and a symlink.
pub(super) fn ext2_source_tree() -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let source = crate::root().join("build/vfs-src");
    let _ = std::fs::remove_dir_all(&source);
    let io = |e: std::io::Error| e.to_string();
    std::fs::create_dir_all(source.join("dir")).map_err(io)?;
    std::fs::create_dir_all(source.join("emptydir")).map_err(io)?;
    std::fs::write(source.join("hello.txt"), "hello, ext2 from the host\n").map_err(io)?;
    std::fs::write(source.join("empty"), "").map_err(io)?;
    let medium: String = (0..250)
        .map(|n| format!("line {n:04} of medium\n"))
        .collect();
    std::fs::write(source.join("medium.txt"), medium).map_err(io)?;
    let big: Vec<u8> = (0..300_000u32).map(|n| b'a' + (n % 23) as u8).collect();
    std::fs::write(source.join("big.bin"), big).map_err(io)?;
    std::fs::write(source.join("dir/nested.txt"), "nested file\n").map_err(io)?;
    std::fs::set_permissions(
        source.join("dir/nested.txt"),
        PermissionsExt::from_mode(0o640),
    )
    .map_err(io)?;
    std::fs::write(source.join("dir/remove-me.txt"), "doomed\n").map_err(io)?;
    std::os::unix::fs::symlink("hello.txt", source.join("link")).map_err(io)?;
    Ok(source)
}

/// Names in `debugfs -R 'ls -p DIR'` output (`/inode/mode/uid/gid/name/size/` lines).
pub(super) fn debugfs_names(image: &str, directory: &str) -> Result<Vec<String>, String> {
    let (_, listing) = host_tool("debugfs", &["-R", &format!("ls -p {directory}"), image])?;
    let mut names: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .filter_map(|l| l.split('/').nth(5).map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// The host makes an ext2 image with `mke2fs -d`; the kernel mounts it, checks `ls`, `cat`,
/// `stat` and `hexdump` against the source, writes, makes, renames and removes, and unmounts;
/// then `e2fsck -fn` must be clean and `debugfs` must see exactly what the shell did.
pub(super) fn ext2_vfs_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    use std::os::unix::fs::MetadataExt;
    let source = ext2_source_tree()?;
    let image = crate::root().join("build/vfs-ext2.img");
    let _ = std::fs::remove_file(&image);
    let image_name = image.to_string_lossy().into_owned();
    let source_name = source.to_string_lossy().into_owned();
    let mke2fs = [
        "-q",
        "-F",
        "-t",
        "ext2",
        "-b",
        "1024",
        "-d",
        &source_name,
        &image_name,
        "16M",
    ];
    if host_tool("mke2fs", &mke2fs)?.0 != 0 {
        return Err("mke2fs failed".into());
    }
    let (initrd, _) = crate::build_images()?;
    let mut boot = boot(kernel, accel, "512M", 2, "log=warn");
    boot.initrd = initrd;
    let mut session = Session::start_with(&boot, &virtio_disk(&image))?;
    session.wait_prompt()?;
    let expect = |answer: &str, needle: &str, command: &str| -> Result<(), String> {
        match answer.contains(needle) {
            true => Ok(()),
            false => Err(format!(
                "'{command}' should say '{needle}', said:\n{answer}"
            )),
        }
    };
    let run = |session: &mut Session, command: &str, needles: &[&str]| {
        let answer = session.ask(command)?;
        needles
            .iter()
            .try_for_each(|n| expect(&answer, n, command))?;
        Ok::<String, String>(answer)
    };
    run(
        &mut session,
        "mount vda /mnt",
        &["mounted vda on /mnt (ext2, read-write)"],
    )?;
    let listing = run(
        &mut session,
        "ls /mnt",
        &["lost+found/", "emptydir/", "link -> hello.txt"],
    )?;
    for name in ["hello.txt", "empty", "medium.txt", "big.bin"] {
        let size = std::fs::metadata(source.join(name))
            .map_err(|e| e.to_string())?
            .len();
        expect(&listing, &format!("{size:>10} {name}\n"), "ls /mnt")?;
    }
    let hello = std::fs::read_to_string(source.join("hello.txt")).map_err(|e| e.to_string())?;
    run(&mut session, "cat /mnt/hello.txt", &[&hello])?;
    run(&mut session, "cat /mnt/link", &[&hello])?;
    let medium = std::fs::read_to_string(source.join("medium.txt")).map_err(|e| e.to_string())?;
    run(&mut session, "cat /mnt/medium.txt", &[&medium])?;
    let nested = std::fs::metadata(source.join("dir/nested.txt")).map_err(|e| e.to_string())?;
    let wanted = format!(
        "file size {} mode 0640 uid {} gid {} mtime {}",
        nested.len(),
        nested.uid(),
        nested.gid(),
        nested.mtime()
    );
    run(&mut session, "stat /mnt/dir/nested.txt", &[&wanted])?;
    // big.bin holds b'a' + n % 23 at offset n: at 200000 that is 'a' + 15 = 'p', ...
    let row: String = (200_000u32..200_016)
        .map(|n| format!(" {:02x}", b'a' + (n % 23) as u8))
        .collect();
    run(
        &mut session,
        "hexdump /mnt/big.bin 200000 16",
        &[&format!("00030d40 {row}")],
    )?;
    let written = "hello from the kernel vfs";
    run(
        &mut session,
        &format!("write /mnt/new.txt {written}"),
        &["wrote 26 bytes"],
    )?;
    run(&mut session, "cat /mnt/new.txt", &[written])?;
    run(&mut session, "mkdir /mnt/made", &[])?;
    run(
        &mut session,
        "write /mnt/made/inner.txt second file",
        &["wrote 12 bytes"],
    )?;
    run(&mut session, "mv /mnt/hello.txt /mnt/made/moved.txt", &[])?;
    run(&mut session, "rm /mnt/dir/remove-me.txt", &[])?;
    run(&mut session, "rm /mnt/emptydir", &[])?;
    run(
        &mut session,
        "rm /mnt/dir",
        &["rm: /mnt/dir: directory not empty"],
    )?;
    run(
        &mut session,
        "write /etc/motd x",
        &["write: /etc/motd: read-only file system"],
    )?;
    run(
        &mut session,
        "mv /mnt/new.txt /moved",
        &["cannot move between file systems"],
    )?;
    run(&mut session, "ls /mnt/made", &["inner.txt", "moved.txt"])?;
    run(&mut session, "df", &["vda", "/mnt"])?;
    run(&mut session, "sync", &["synced /mnt"])?;
    run(&mut session, "umount /mnt", &["unmounted vda from /mnt"])?;
    let after = run(&mut session, "ls /mnt", &[])?;
    if after.contains("new.txt") {
        return Err(format!("/mnt still lists the disk after umount:\n{after}"));
    }
    session.poweroff()?;

    let (fsck, report) = host_tool("e2fsck", &["-fn", &image_name])?;
    if fsck != 0 {
        return Err(format!(
            "e2fsck -fn exit {fsck}:\n{}",
            String::from_utf8_lossy(&report)
        ));
    }
    for (path, content) in [
        ("/new.txt", format!("{written}\n")),
        ("/made/inner.txt", "second file\n".to_string()),
        ("/made/moved.txt", hello.clone()),
    ] {
        let (_, bytes) = host_tool("debugfs", &["-R", &format!("cat {path}"), &image_name])?;
        if bytes != content.as_bytes() {
            return Err(format!(
                "debugfs cat {path}: {:?}, want {content:?}",
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    let expected = [
        (
            "/",
            &[
                ".",
                "..",
                "big.bin",
                "dir",
                "empty",
                "link",
                "lost+found",
                "made",
                "medium.txt",
                "new.txt",
            ][..],
        ),
        ("/dir", &[".", "..", "nested.txt"][..]),
        ("/made", &[".", "..", "inner.txt", "moved.txt"][..]),
    ];
    for (directory, names) in expected {
        let found = debugfs_names(&image_name, directory)?;
        if found != names {
            return Err(format!(
                "debugfs ls -p {directory}: {found:?}, want {names:?}"
            ));
        }
    }
    Ok("ls/cat/stat/hexdump match the source; e2fsck -fn clean; debugfs sees the writes".into())
}

/// Bad disks: zeros (not ext2) and a corrupt superblock each give a clear `mount` error, and
/// the shell keeps working.
pub(super) fn ext2_vfs_bad_disks_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let zeros = blank_disk("vfs-zeros.img", 8)?;
    let corrupt = crate::root().join("build/vfs-corrupt.img");
    let corrupt_name = corrupt.to_string_lossy().into_owned();
    let _ = std::fs::remove_file(&corrupt);
    if host_tool("mke2fs", &["-q", "-F", "-t", "ext2", &corrupt_name, "8M"])?.0 != 0 {
        return Err("mke2fs failed".into());
    }
    let mut bytes = std::fs::read(&corrupt).map_err(|e| e.to_string())?;
    bytes[1024 + 24..1024 + 28].copy_from_slice(&40u32.to_le_bytes()); // s_log_block_size
    std::fs::write(&corrupt, &bytes).map_err(|e| e.to_string())?;
    let mut extra = Vec::new();
    for (index, image) in [&zeros, &corrupt].iter().enumerate() {
        extra.push("-drive".to_string());
        extra.push(format!(
            "file={},if=none,id=bad{index},format=raw",
            image.display()
        ));
        extra.push("-device".to_string());
        extra.push(format!("virtio-blk-pci,drive=bad{index}"));
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &extra)?;
    session.wait_prompt()?;
    let mut answers = String::new();
    for (command, needle) in [
        ("mount vda /mnt", "mount: vda: not an ext2 file system"),
        (
            "mount vdb /mnt",
            "mount: vdb: corrupted file system: superblock",
        ),
        ("mount vdz /mnt", "mount: vdz: no block device 'vdz'"),
        ("mount", ""),
        ("ls /", "mnt/"),
        ("uptime", "up "),
    ] {
        let answer = session.ask(command)?;
        if !answer.contains(needle) || (command == "mount" && answer.contains(" on /mnt")) {
            return Err(format!(
                "'{command}' should say '{needle}', said:\n{answer}"
            ));
        }
        answers.push_str(&answer);
    }
    session.poweroff()?;
    Ok("zeros and a corrupt superblock refused clearly; shell kept working".into())
}
