//! The QEMU test suite: the in-kernel tests on several machine shapes, shell scenarios that check
//! what the kernel reports against what QEMU was given, and deliberate faults whose reports are
//! checked line by line. Ends with an `N passed, N failed` line.

use std::time::{Duration, Instant};

use crate::qemu::{self, Accel, Boot, Session};

struct Suite {
    passed: u32,
    failed: u32,
    filter: String,
}

impl Suite {
    fn record(&mut self, name: &str, result: Result<String, String>) {
        match result {
            Ok(detail) => {
                self.passed += 1;
                println!(
                    "qemu {name} ... ok{}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({detail})")
                    }
                );
            }
            Err(why) => {
                self.failed += 1;
                println!("qemu {name} ... FAILED\n{why}");
            }
        }
    }

    fn wants(&self, name: &str) -> bool {
        name.contains(&self.filter)
    }
}

fn boot(kernel: &std::path::Path, accel: Accel, memory: &str, cpus: u32, append: &str) -> Boot {
    // TCG on a loaded 2-core machine is slow; the timeouts are generous but always present.
    let timeout = if accel == Accel::Kvm { 120 } else { 300 };
    Boot {
        kernel: kernel.to_path_buf(),
        initrd: None,
        disk: None,
        memory: memory.into(),
        cpus,
        append: append.into(),
        accel,
        timeout: Duration::from_secs(timeout),
    }
}

fn kernel_tests(
    kernel: &std::path::Path,
    accel: Accel,
    memory: &str,
    cpus: u32,
) -> Result<String, String> {
    // Under KVM timed waits must land within 2 ms of their deadline; emulation gets slack.
    let append = if accel == Accel::Kvm {
        "test log=warn timing=strict"
    } else {
        "test log=warn"
    };
    let (code, output) = qemu::run_to_exit(&boot(kernel, accel, memory, cpus, append))?;
    let failures: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("... FAILED"))
        .collect();
    let counts = output
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed") && l.contains(" passed, "))
        .map(str::to_owned);
    match (code, counts) {
        (qemu::EXIT_SUCCESS, Some(counts)) => Ok(counts),
        (_, counts) => Err(format!(
            "exit code {code}, counts {:?}, failures:\n{}\n--- serial output ---\n{output}",
            counts,
            failures.join("\n")
        )),
    }
}

/// Drives the shell: waits for the prompt, runs commands, checks the answers, powers off.
fn shell_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    memory_mib: u64,
    cpus: u32,
) -> Result<String, String> {
    let mut session = Session::start(&boot(
        kernel,
        accel,
        &format!("{memory_mib}M"),
        cpus,
        "log=warn",
    ))?;
    let mut at = session.wait_for("kernel> ", 0)?;
    let mut ask = |session: &mut Session, command: &str| -> Result<String, String> {
        session.send(command)?;
        let end = session.wait_for("kernel> ", at)?;
        let answer = session.output()[at..end].to_owned();
        at = end;
        Ok(answer)
    };
    let mem = ask(&mut session, "mem")?;
    let expected = format!("memory: {memory_mib} MiB installed");
    if !mem.contains(&expected) {
        return Err(format!("'mem' should report '{expected}', said:\n{mem}"));
    }
    let cpus_answer = ask(&mut session, "cpus")?;
    let expected = format!("cpus: {cpus} present");
    if !cpus_answer.contains(&expected) {
        return Err(format!(
            "'cpus' should report '{expected}', said:\n{cpus_answer}"
        ));
    }
    let uptime = ask(&mut session, "uptime")?;
    if !uptime.contains("up ") || !uptime.contains("UTC") {
        return Err(format!("'uptime' answer malformed:\n{uptime}"));
    }
    let help = ask(&mut session, "help")?;
    for command in ["mem", "cpus", "uptime", "log", "reboot"] {
        if !help.contains(command) {
            return Err(format!("'help' does not list '{command}':\n{help}"));
        }
    }
    let log = ask(&mut session, "log debug")?;
    if !log.contains("log level: DEBUG") {
        return Err(format!("'log debug' not accepted:\n{log}"));
    }
    let unknown = ask(&mut session, "frobnicate")?;
    if !unknown.contains("unknown command 'frobnicate'") {
        return Err(format!("unknown command not reported:\n{unknown}"));
    }
    session.send("poweroff")?;
    let code = session.wait_exit()?;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!("poweroff ended QEMU with {code}"));
    }
    Ok(format!("{memory_mib} MiB, {cpus} CPUs"))
}

/// A CPU without a required feature gets a clear message and a clean stop, not a fault.
fn cpu_without_nx_scenario(kernel: &std::path::Path) -> Result<String, String> {
    let extra = ["-cpu".to_string(), "qemu64,-nx".to_string()];
    let (code, output) =
        qemu::run_to_exit_with(&boot(kernel, Accel::Tcg, "256M", 1, "log=warn"), &extra)?;
    if code != qemu::EXIT_PANIC
        || !output.contains("fatal: unsupported CPU: it lacks no-execute pages (NX)")
    {
        return Err(format!("exit {code}; output:\n{output}"));
    }
    if output.contains("EXCEPTION") {
        return Err(format!("the refusal faulted:\n{output}"));
    }
    Ok("refused with a message".into())
}

/// Boots with a truncated tar and with garbage as the initrd: the kernel names the damage,
/// keeps what was valid before it, and reaches the shell either way.
fn damaged_initrd_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
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
        let at = session.wait_for("kernel> ", 0)?;
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
        session.send("ls /")?;
        let end = session.wait_for("kernel> ", at)?;
        let listing = session.output()[at..end].to_owned();
        if image == &tar && !listing.contains("README") {
            return Err(format!(
                "entries before the damage were not kept:\n{listing}"
            ));
        }
        session.send("poweroff")?;
        session.wait_exit()?;
        seen.push(expect);
    }
    Ok(format!(
        "{} damaged initrds reported, shell reached",
        seen.len()
    ))
}

/// Boots with the default initrd and compares `ls` and `cat` with the source directory.
fn initrd_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let (initrd, _) = crate::build_images()?;
    let initrd = initrd.ok_or("scripts/mkinitrd is missing")?;
    let mut boot = boot(kernel, accel, "512M", 2, "log=info");
    boot.initrd = Some(initrd);
    let mut session = Session::start(&boot)?;
    let mut at = session.wait_for("kernel> ", 0)?;
    if !session.output().contains("initrd: ") || session.output().contains("WARN  rootfs") {
        return Err(format!("initrd not loaded cleanly:\n{}", session.output()));
    }
    let rootfs = crate::root().join("rootfs");
    let mut ask = |session: &mut Session, command: &str| -> Result<String, String> {
        session.send(command)?;
        let end = session.wait_for("kernel> ", at)?;
        let answer = session.output()[at..end].to_owned();
        at = end;
        Ok(answer)
    };
    let listing = ask(&mut session, "ls /")?;
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
    let shown = ask(&mut session, "cat /etc/motd")?;
    for line in motd.lines() {
        if !shown.contains(line) {
            return Err(format!("'cat /etc/motd' lacks the line '{line}':\n{shown}"));
        }
    }
    let missing = ask(&mut session, "cat /no/such/file")?;
    if !missing.contains("cat: /no/such/file:") {
        return Err(format!("missing file not reported:\n{missing}"));
    }
    session.send("poweroff")?;
    session.wait_exit()?;
    Ok(format!("{} top-level entries match rootfs/", names.len()))
}

/// With components linked: the rump kernel boots at start-up and the shell reports it.
fn rump_components_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let mut session = Session::start(&boot(
        kernel,
        accel,
        "512M",
        2,
        "log=info rump.RUMP_VERBOSE=1",
    ))?;
    let at = session.wait_for("kernel> ", 0)?;
    let output = session.output();
    for needle in ["NetBSD", "rump_init() returned 0"] {
        if !output.contains(needle) {
            return Err(format!("boot log lacks '{needle}':\n{output}"));
        }
    }
    session.send("rump")?;
    let end = session.wait_for("kernel> ", at)?;
    let answer = session.output()[at..end].to_owned();
    if !answer.contains("rump kernel running") {
        return Err(format!("'rump' says:\n{answer}"));
    }
    session.send("poweroff")?;
    session.wait_exit()?;
    Ok("rump_init() = 0".into())
}

/// Boots with `fault=NAME` and checks the fatal report.
fn fault_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    fault: &str,
    expected: &[&str],
) -> Result<String, String> {
    let (code, output) = qemu::run_to_exit(&boot(
        kernel,
        accel,
        "256M",
        1,
        &format!("fault={fault} log=warn"),
    ))?;
    if code != qemu::EXIT_PANIC {
        return Err(format!(
            "expected exit code {} (fatal report), got {code}; output:\n{output}",
            qemu::EXIT_PANIC
        ));
    }
    for needle in expected
        .iter()
        .chain(["backtrace:", "kernel stopped."].iter())
    {
        if !output.contains(needle) {
            return Err(format!("report lacks '{needle}'; output:\n{output}"));
        }
    }
    Ok(String::new())
}

/// A fresh zeroed raw disk image of `mib` MiB under build/ for the PCI and block scenarios.
fn blank_disk(name: &str, mib: u64) -> Result<std::path::PathBuf, String> {
    let build = crate::root().join("build");
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let path = build.join(name);
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.set_len(mib << 20).map_err(|e| e.to_string())?;
    Ok(path)
}

/// QEMU arguments attaching `image` as a virtio-blk PCI disk (the kernel's `vda`).
fn virtio_disk(image: &std::path::Path) -> Vec<String> {
    [
        "-drive".to_string(),
        format!("file={},if=none,id=blk0,format=raw", image.display()),
        "-device".to_string(),
        "virtio-blk-pci,drive=blk0".to_string(),
    ]
    .into()
}

/// `lspci` lists the devices QEMU was given, with their IDs, BARs and interrupts.
fn lspci_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let mut extra = virtio_disk(&blank_disk("lspci.img", 8)?);
    for device in ["e1000", "ich9-usb-ehci1", "intel-hda"] {
        extra.extend(["-device".to_string(), device.to_string()]);
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &extra)?;
    let at = session.wait_for("kernel> ", 0)?;
    session.send("lspci")?;
    let end = session.wait_for("kernel> ", at)?;
    let listing = session.output()[at..end].to_owned();
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
    session.send("poweroff")?;
    session.wait_exit()?;
    let functions = listing
        .lines()
        .filter(|l| l.get(2..3) == Some(":") && l.get(5..6) == Some("."))
        .count();
    Ok(format!("{functions} functions listed"))
}

/// The pattern byte `device_blk_host_pattern` writes at disk offset `offset` (kernel/src/block/tests.rs).
fn pattern_byte(offset: u64) -> u8 {
    let word = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
    (word as u8) ^ (offset >> 9) as u8
}

/// The `device_blk_*` kernel tests on a fresh disk (MSI-X, or INTx with `pci=nomsi`), then the
/// host checks the pattern the kernel wrote, byte for byte.
fn blk_tests_scenario(
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
    if code != qemu::EXIT_SUCCESS || !output.contains(mode) {
        return Err(format!(
            "exit code {code}, expected {mode}; output:\n{output}"
        ));
    }
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
    let counts = output
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed"))
        .unwrap_or("")
        .to_owned();
    Ok(format!(
        "{counts}, {mode}, {length} pattern bytes match on the host"
    ))
}

/// `blk write` through the shell reaches the image file; a read past the end is refused.
fn blk_shell_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let image = blank_disk("blk-shell.img", 8)?;
    let mut session = Session::start_with(
        &boot(kernel, accel, "512M", 2, "log=warn"),
        &virtio_disk(&image),
    )?;
    let mut at = session.wait_for("kernel> ", 0)?;
    let mut ask = |session: &mut Session, command: &str| -> Result<String, String> {
        session.send(command)?;
        let end = session.wait_for("kernel> ", at)?;
        let answer = session.output()[at..end].to_owned();
        at = end;
        Ok(answer)
    };
    let text = "hello from the kernel, sector 7";
    let written = ask(&mut session, &format!("blk write vda 7 {text}"))?;
    if !written.contains("wrote 512 bytes at sector 7") {
        return Err(format!("'blk write' failed:\n{written}"));
    }
    let shown = ask(&mut session, "blk read vda 7")?;
    if !shown.contains("|hello from the k|") {
        return Err(format!("'blk read' does not show the text:\n{shown}"));
    }
    let refused = ask(&mut session, "blk read vda 16384")?;
    if !refused.contains("past the end of the device (16384 sectors); refused") {
        return Err(format!(
            "a read past the end was not refused clearly:\n{refused}"
        ));
    }
    session.send("poweroff")?;
    session.wait_exit()?;
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

/// Runs a host tool; returns (exit code, stdout) or says which package provides it.
fn host_tool(program: &str, arguments: &[&str]) -> Result<(i32, Vec<u8>), String> {
    let output = std::process::Command::new(program)
        .args(arguments)
        .output()
        .map_err(|e| format!("cannot run {program}: {e} (install e2fsprogs)"))?;
    Ok((output.status.code().unwrap_or(-1), output.stdout))
}

/// The source tree of the ext2 scenario: small and empty files, a multi-block file, a nested
/// directory, an empty one and a symlink.
fn ext2_source_tree() -> Result<std::path::PathBuf, String> {
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
fn debugfs_names(image: &str, directory: &str) -> Result<Vec<String>, String> {
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
fn ext2_vfs_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
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
    let mut at = session.wait_for("kernel> ", 0)?;
    let mut ask = |session: &mut Session, command: &str| -> Result<String, String> {
        session.send(command)?;
        let end = session.wait_for("kernel> ", at)?;
        let answer = session.output()[at..end].to_owned();
        at = end;
        Ok(answer)
    };
    let expect = |answer: &str, needle: &str, command: &str| -> Result<(), String> {
        match answer.contains(needle) {
            true => Ok(()),
            false => Err(format!(
                "'{command}' should say '{needle}', said:\n{answer}"
            )),
        }
    };
    let mut run = |session: &mut Session, command: &str, needles: &[&str]| {
        let answer = ask(session, command)?;
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
    session.send("poweroff")?;
    session.wait_exit()?;

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
fn ext2_vfs_bad_disks_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
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
    let mut at = session.wait_for("kernel> ", 0)?;
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
        session.send(command)?;
        let end = session.wait_for("kernel> ", at)?;
        let answer = session.output()[at..end].to_owned();
        at = end;
        if !answer.contains(needle) || (command == "mount" && answer.contains(" on /mnt")) {
            return Err(format!(
                "'{command}' should say '{needle}', said:\n{answer}"
            ));
        }
        answers.push_str(&answer);
    }
    session.send("poweroff")?;
    session.wait_exit()?;
    Ok("zeros and a corrupt superblock refused clearly; shell kept working".into())
}

pub fn test(arguments: &[String]) -> Result<(), String> {
    let kernel = crate::build_kernel(false)?;
    let (accel, why) = qemu::choose_accel(&kernel);
    println!("qemu: using {} ({why})", accel.name());
    let mut suite = Suite {
        passed: 0,
        failed: 0,
        filter: arguments.first().cloned().unwrap_or_default(),
    };
    for (memory, cpus) in [("512M", 2), ("2G", 4), ("256M", 1)] {
        let name = format!("kernel_tests_{memory}_smp{cpus}");
        if suite.wants(&name) {
            suite.record(&name, kernel_tests(&kernel, accel, memory, cpus));
        }
    }
    for (memory, cpus) in [(512, 2), (2048, 4)] {
        let name = format!("shell_mem_cpus_{memory}M_smp{cpus}");
        if suite.wants(&name) {
            suite.record(&name, shell_scenario(&kernel, accel, memory, cpus));
        }
    }
    if suite.wants("initrd_root") {
        suite.record("initrd_root", initrd_scenario(&kernel, accel));
    }
    if suite.wants("cpu_without_nx") {
        suite.record("cpu_without_nx", cpu_without_nx_scenario(&kernel));
    }
    if suite.wants("initrd_damaged") {
        suite.record("initrd_damaged", damaged_initrd_scenario(&kernel, accel));
    }
    if suite.wants("pci_lspci") {
        suite.record("pci_lspci", lspci_scenario(&kernel, accel));
    }
    for (name, intx) in [
        ("blk_device_tests_msix", false),
        ("blk_device_tests_intx", true),
    ] {
        if suite.wants(name) {
            suite.record(name, blk_tests_scenario(&kernel, accel, intx));
        }
    }
    if suite.wants("blk_shell") {
        suite.record("blk_shell", blk_shell_scenario(&kernel, accel));
    }
    if suite.wants("ext2_vfs_roundtrip") {
        suite.record("ext2_vfs_roundtrip", ext2_vfs_scenario(&kernel, accel));
    }
    if suite.wants("ext2_vfs_bad_disks") {
        suite.record(
            "ext2_vfs_bad_disks",
            ext2_vfs_bad_disks_scenario(&kernel, accel),
        );
    }
    if suite.wants("rump_components_boot") {
        match std::env::var_os("RUMP_COMPONENTS") {
            None => println!("qemu rump_components_boot ... SKIPPED: RUMP_COMPONENTS not set (point it at a directory of rump component archives)"),
            Some(_) => suite.record("rump_components_boot", rump_components_scenario(&kernel, accel)),
        }
    }
    let faults: &[(&str, &[&str])] = &[
        (
            "guard-page",
            &[
                "CPU EXCEPTION: page fault (#PF) (vector 14)",
                "page fault address (CR2)",
                "guard page of stack 'boot'",
                "in thread 'main'",
                "RIP ",
            ],
        ),
        (
            "stack-overflow",
            &[
                "double fault (#DF)",
                "stack overflow",
                "guard page of stack 'overflow-test'",
            ],
        ),
        (
            "write-text",
            &[
                "page fault (#PF",
                "protection violation, write",
                "read-only, executable",
            ],
        ),
        (
            "general-protection",
            &[
                "CPU EXCEPTION: general protection fault (#GP) (vector 13)",
                "error code: 0x0",
                "RIP ",
            ],
        ),
        (
            "panic",
            &[
                "KERNEL PANIC on cpu 0",
                "deliberate test panic",
                "kernel/src/testing/mod.rs",
            ],
        ),
        (
            "thread-stack-overflow",
            &[
                "double fault (#DF)",
                "in thread 'deep-recursion'",
                "guard page of stack 'deep-recursion'",
            ],
        ),
        (
            "mutex-unlock-not-owner",
            &[
                "KERNEL PANIC",
                "mutex 'shared-state': unlocked by thread 'main'",
                "but owned by id",
            ],
        ),
        (
            "mutex-recursive",
            &[
                "KERNEL PANIC",
                "mutex 'config': recursive lock by thread 'main'",
            ],
        ),
        (
            "mutex-destroy-with-waiters",
            &[
                "KERNEL PANIC",
                "mutex 'doomed' destroyed while 1 threads wait for it",
            ],
        ),
        (
            "sleep-in-spinlock",
            &[
                "KERNEL PANIC",
                "thread 'main' would sleep",
                "interrupts disabled",
            ],
        ),
    ];
    for (fault, expected) in faults {
        let name = format!("fault_report_{fault}");
        if suite.wants(&name) {
            suite.record(&name, fault_scenario(&kernel, accel, fault, expected));
        }
    }
    println!("{} passed, {} failed", suite.passed, suite.failed);
    if suite.failed == 0 {
        Ok(())
    } else {
        Err(format!("{} QEMU tests failed", suite.failed))
    }
}

/// The in-kernel `bench_blk` on a 128 MiB virtio-blk disk; prints its `bench:` lines.
fn blk_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    let image = blank_disk("blk-bench.img", 128)?;
    let boot = boot(kernel, accel, "512M", 2, "test=bench_blk log=warn");
    let (code, output) = qemu::run_to_exit_with(&boot, &virtio_disk(&image))?;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!("bench_blk failed ({code}):\n{output}"));
    }
    for line in output.lines().filter(|l| l.starts_with("bench: ")) {
        println!("virtio-blk under {}: {}", accel.name(), &line[7..]);
    }
    Ok(())
}

pub fn bench(_arguments: &[String]) -> Result<(), String> {
    let kernel = crate::build_kernel(true)?;
    let mut accels = vec![Accel::Tcg];
    let (preferred, why) = qemu::choose_accel(&kernel);
    if preferred == Accel::Kvm {
        accels.insert(0, Accel::Kvm);
    } else {
        println!("KVM figures skipped: {why}");
    }
    for accel in accels {
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let mut session = Session::start(&boot(&kernel, accel, "512M", 2, "log=warn"))?;
            session.wait_for("kernel> ", 0)?;
            times.push(start.elapsed());
            session.send("poweroff")?;
            let _ = session.wait_exit();
        }
        times.sort();
        println!(
            "boot to shell prompt under {}: median {:.1} ms (min {:.1}, max {:.1}) over 5 runs",
            accel.name(),
            times[2].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[4].as_secs_f64() * 1000.0
        );
        blk_bench(&kernel, accel)?;
        ext2_bench(&kernel, accel)?;
        sched_bench(&kernel, accel)?;
    }
    Ok(())
}

/// The in-kernel `bench_ext2`: a 256 MiB, 4 KiB-block ext2 file system on a 384 MiB disk
/// (the raw transfers use the space past its end); prints its `bench:` lines.
fn ext2_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    let image = blank_disk("ext2-bench.img", 384)?;
    let image_name = image.to_string_lossy().into_owned();
    let mke2fs = ["-q", "-F", "-t", "ext2", "-b", "4096", &image_name, "256M"];
    if host_tool("mke2fs", &mke2fs)?.0 != 0 {
        return Err("mke2fs failed".into());
    }
    let boot = boot(kernel, accel, "512M", 2, "test=bench_ext2 log=warn");
    let (code, output) = qemu::run_to_exit_with(&boot, &virtio_disk(&image))?;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!("bench_ext2 failed ({code}):\n{output}"));
    }
    for line in output.lines().filter(|l| l.starts_with("bench: ")) {
        println!("{} under {}", &line[7..], accel.name());
    }
    Ok(())
}

/// The in-kernel scheduler and lock benchmarks on 2 CPUs.
fn sched_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    let (_, output) =
        qemu::run_to_exit(&boot(kernel, accel, "512M", 2, "test=bench_sched log=warn"))?;
    for line in output.lines().filter(|l| l.starts_with("bench: ")) {
        println!(
            "{} under {}",
            line.trim_start_matches("bench: "),
            accel.name()
        );
    }
    Ok(())
}
