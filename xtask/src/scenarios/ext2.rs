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

/// `mke2fs -q -F -t ext2 ARGS -d TREE build/NAME SIZE`; returns the image path as text.
fn damage_image(
    name: &str,
    arguments: &[&str],
    tree: &std::path::Path,
    size: &str,
) -> Result<String, String> {
    let image = crate::root().join("build").join(name);
    let _ = std::fs::remove_file(&image);
    let image_name = image.to_string_lossy().into_owned();
    let tree_name = tree.to_string_lossy().into_owned();
    let mut all = vec!["-q", "-F", "-t", "ext2"];
    all.extend_from_slice(arguments);
    all.extend_from_slice(&["-d", &tree_name, &image_name, size]);
    match host_tool("mke2fs", &all)?.0 {
        0 => Ok(image_name),
        code => Err(format!("mke2fs {all:?} exit {code}")),
    }
}

/// Runs one `debugfs -w -R` request on `image`.
fn debugfs_write(image: &str, request: &str) -> Result<(), String> {
    match host_tool("debugfs", &["-w", "-R", request, image])?.0 {
        0 => Ok(()),
        code => Err(format!("debugfs -w -R '{request}' exit {code}")),
    }
}

/// The text after `key` on its line of `dumpe2fs -h`.
fn dumpe2fs_field(image: &str, key: &str) -> Result<String, String> {
    let (_, header) = host_tool("dumpe2fs", &["-h", image])?;
    String::from_utf8_lossy(&header)
        .lines()
        .find_map(|line| line.strip_prefix(key).map(|rest| rest.trim().to_string()))
        .ok_or_else(|| format!("dumpe2fs -h {image}: no '{key}'"))
}

/// `e2fsck -fn`: exit code and report.
fn e2fsck_report(image: &str) -> Result<(i32, String), String> {
    let (code, report) = host_tool("e2fsck", &["-fn", image])?;
    Ok((code, String::from_utf8_lossy(&report).into_owned()))
}

/// The inode number `debugfs stat PATH` gives.
fn debugfs_inode(image: &str, path: &str) -> Result<u32, String> {
    let (_, stat) = host_tool("debugfs", &["-R", &format!("stat {path}"), image])?;
    let stat = String::from_utf8_lossy(&stat);
    stat.strip_prefix("Inode: ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| format!("debugfs stat {path}: {stat}"))
}

/// Entries of the large directory in the damage scenario: enough to need a two-block index
/// and many leaves, small enough to list quickly under TCG.
const LARGE_DIRECTORY_ENTRIES: usize = 5000;

/// Damage reported as what it is, and large directories: five disks. vda is marked not clean
/// and vdb clean-with-errors (debugfs `ssv state`); both mount read-write, and after umount
/// `dumpe2fs -h` must still say so. vdc has a group free-blocks count of 9999: the kernel
/// mounts it read-only naming that count (the value e2fsck counts too) and the image stays
/// untouched. vdd has a symlink of size 1000 without a data block: `cat` and `stat` report
/// corruption of that inode. vde has a hash-indexed directory of 5000 names: `ls` and `stat`
/// work, a write clears the index flag, and e2fsck -fn stays clean.
pub(super) fn ext2_damage_and_large_directories_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let io = |e: std::io::Error| e.to_string();
    let tree = crate::root().join("build/damage-src");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree).map_err(io)?;
    let hello = "hello from a damaged disk\n";
    std::fs::write(tree.join("hello.txt"), hello).map_err(io)?;
    std::os::unix::fs::symlink("hello.txt", tree.join("link")).map_err(io)?;

    let not_clean = damage_image("damage-not-clean.img", &["-b", "1024"], &tree, "8M")?;
    debugfs_write(&not_clean, "ssv state 0")?;
    let errors = damage_image("damage-errors.img", &["-b", "1024"], &tree, "8M")?;
    debugfs_write(&errors, "ssv state 3")?;
    let counts = damage_image(
        "damage-counts.img",
        &["-b", "1024", "-g", "2048"],
        &tree,
        "8M",
    )?;
    debugfs_write(&counts, "set_bg 1 free_blocks_count 9999")?;
    let (_, report) = e2fsck_report(&counts)?;
    let key = "Free blocks count wrong for group #1 (9999, counted=";
    let counted: u32 = report
        .split_once(key)
        .and_then(|(_, rest)| rest.split(')').next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| format!("e2fsck does not see the bad count:\n{report}"))?;
    let counts_before = std::fs::read(&counts).map_err(io)?;
    let symlink = damage_image("damage-symlink.img", &["-b", "4096"], &tree, "16M")?;
    debugfs_write(&symlink, "sif /link size 1000")?;
    let link_inode = debugfs_inode(&symlink, "/link")?;

    let large_tree = crate::root().join("build/large-dir-src");
    let _ = std::fs::remove_dir_all(&large_tree);
    std::fs::create_dir_all(large_tree.join("big")).map_err(io)?;
    for index in 0..LARGE_DIRECTORY_ENTRIES {
        std::fs::File::create(large_tree.join(format!("big/entry-{index:05}"))).map_err(io)?;
    }
    let entries = (LARGE_DIRECTORY_ENTRIES + 1000).to_string();
    let large = damage_image(
        "large-dir.img",
        &["-b", "4096", "-N", &entries],
        &large_tree,
        "64M",
    )?;
    let _ = std::fs::remove_dir_all(&large_tree);
    // e2fsck -D builds the hash index that mke2fs -d does not.
    host_tool("e2fsck", &["-fyD", &large])?;
    let (_, stat) = host_tool("debugfs", &["-R", "stat /big", &large])?;
    if !String::from_utf8_lossy(&stat).contains("Flags: 0x1000") {
        return Err("e2fsck -D did not index /big".into());
    }
    let probes = [0usize, 1234, 4321, LARGE_DIRECTORY_ENTRIES - 1];
    let mut probe_inodes = Vec::new();
    for index in probes {
        probe_inodes.push(debugfs_inode(&large, &format!("/big/entry-{index:05}"))?);
    }

    let mut extra = Vec::new();
    for (index, image) in [&not_clean, &errors, &counts, &symlink, &large]
        .iter()
        .enumerate()
    {
        extra.push("-drive".to_string());
        extra.push(format!("file={image},if=none,id=damage{index},format=raw"));
        extra.push("-device".to_string());
        extra.push(format!("virtio-blk-pci,drive=damage{index}"));
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &extra)?;
    session.wait_prompt()?;
    let mut ask = |command: &str, needles: &[&str]| -> Result<String, String> {
        let answer = session.ask(command)?;
        match needles.iter().find(|needle| !answer.contains(**needle)) {
            Some(needle) => Err(format!(
                "'{command}' should say '{needle}', said:\n{answer}"
            )),
            None => Ok(answer),
        }
    };
    // Not clean, and clean with errors: read-write mounts, one without and one with a write.
    ask(
        "mount vda /mnt",
        &["mounted vda on /mnt (ext2, read-write)"],
    )?;
    ask("ls /mnt", &["hello.txt", "link -> hello.txt"])?;
    ask("cat /mnt/hello.txt", &[hello])?;
    ask("umount /mnt", &["unmounted vda from /mnt"])?;
    ask(
        "mount vdb /mnt",
        &["mounted vdb on /mnt (ext2, read-write)"],
    )?;
    ask(
        "write /mnt/new.txt written with errors recorded",
        &["wrote"],
    )?;
    ask("umount /mnt", &["unmounted vdb from /mnt"])?;
    // A wrong summary count: read-only, naming the count.
    let reason = format!(
        "(ext2, read-only: mounted read-only: group 1 free blocks count 9999 disagrees with its bitmap ({counted} free); run e2fsck)"
    );
    ask("mount vdc /mnt", &[&reason])?;
    ask("cat /mnt/hello.txt", &[hello])?;
    ask("write /mnt/x y", &["write: /mnt/x: read-only file system"])?;
    ask("umount /mnt", &["unmounted vdc from /mnt"])?;
    // A symlink whose size its (missing) block cannot hold.
    let corrupt = format!(
        "corrupted file system: inode {link_inode}: symbolic link size needs a data block but it has none"
    );
    ask(
        "mount vdd /mnt",
        &["mounted vdd on /mnt (ext2, read-write)"],
    )?;
    ask("cat /mnt/link", &[&format!("cat: /mnt/link: {corrupt}")])?;
    ask("stat /mnt/link", &[&format!("stat: /mnt/link: {corrupt}")])?;
    ask("cat /mnt/hello.txt", &[hello])?;
    ask("umount /mnt", &["unmounted vdd from /mnt"])?;
    // The large hash-indexed directory.
    ask(
        "mount vde /mnt",
        &["mounted vde on /mnt (ext2, read-write)"],
    )?;
    let started = Instant::now();
    let listing = ask("ls /mnt/big", &["entry-00000\n", "entry-04999\n"])?;
    let listed = started.elapsed();
    let names = listing
        .lines()
        .filter(|line| line.contains(" entry-"))
        .count();
    if names != LARGE_DIRECTORY_ENTRIES {
        return Err(format!(
            "ls /mnt/big listed {names} entries, not {LARGE_DIRECTORY_ENTRIES}"
        ));
    }
    let started = Instant::now();
    for (index, inode) in probes.iter().zip(&probe_inodes) {
        ask(
            &format!("stat /mnt/big/entry-{index:05}"),
            &["file size 0 ", &format!(" inode {inode} links 1 ")],
        )?;
    }
    let statted = started.elapsed();
    ask("stat /mnt/big/entry-99999", &["no such file or directory"])?;
    ask(
        "write /mnt/big/added.txt added to an indexed directory",
        &["wrote"],
    )?;
    ask("rm /mnt/big/entry-00007", &[])?;
    ask("stat /mnt/big/added.txt", &["file size 30 "])?;
    ask("umount /mnt", &["unmounted vde from /mnt"])?;
    session.poweroff()?;

    // The host's view afterwards.
    let state = dumpe2fs_field(&not_clean, "Filesystem state:")?;
    if state != "not clean" {
        return Err(format!(
            "vda: state '{state}' after a rw mount of a not-clean image"
        ));
    }
    let state = dumpe2fs_field(&errors, "Filesystem state:")?;
    if state != "clean with errors" {
        return Err(format!("vdb: state '{state}', want 'clean with errors'"));
    }
    for (disk, image) in [("vda", &not_clean), ("vdb", &errors)] {
        if dumpe2fs_field(image, "Mount count:")? != "1" {
            return Err(format!("{disk}: mount count not 1 after one rw mount"));
        }
        let (code, report) = e2fsck_report(image)?;
        if code != 0 {
            return Err(format!("{disk}: e2fsck -fn exit {code}:\n{report}"));
        }
    }
    if std::fs::read(&counts).map_err(io)? != counts_before {
        return Err("vdc: the read-only mount changed the image".into());
    }
    let (code, report) = e2fsck_report(&counts)?;
    if code != 4 || !report.contains(key) {
        return Err(format!(
            "vdc: e2fsck -fn no longer sees the count (exit {code}):\n{report}"
        ));
    }
    let (code, report) = e2fsck_report(&symlink)?;
    let invalid = format!("Symlink /link (inode #{link_inode}) is invalid");
    if code != 4 || !report.contains(&invalid) {
        return Err(format!(
            "vdd: e2fsck -fn exit {code}, want '{invalid}':\n{report}"
        ));
    }
    let (code, report) = e2fsck_report(&large)?;
    if code != 0 {
        return Err(format!(
            "vde: e2fsck -fn exit {code} after writes:\n{report}"
        ));
    }
    let (_, stat) = host_tool("debugfs", &["-R", "stat /big", &large])?;
    if !String::from_utf8_lossy(&stat).contains("Flags: 0x0") {
        return Err("vde: the index flag survived a write into /big".into());
    }
    let names = debugfs_names(&large, "/big")?;
    if !names.iter().any(|n| n == "added.txt") || names.iter().any(|n| n == "entry-00007") {
        return Err("vde: debugfs does not see the writes in /big".into());
    }
    Ok(format!(
        "not clean / clean with errors kept; count 9999 -> read-only naming it ({counted} free); \
         symlink inode {link_inode} reported corrupt; ls of {LARGE_DIRECTORY_ENTRIES} entries in {:.1} s, \
         {} stats in {:.2} s; e2fsck agrees",
        listed.as_secs_f64(),
        probes.len(),
        statted.as_secs_f64()
    ))
}
