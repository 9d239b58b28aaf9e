//! The storage scenarios: a 64 MiB file read natively with read-ahead and through rump, a
//! random write/read model on the native path checked by e2fsck and debugfs, and device errors
//! (QEMU blkdebug) reaching the native and the NetBSD reader. The helpers here also serve the
//! storage comparison of `cargo xtask bench` (`storage_bench.rs`).

use super::*;

/// Size of the large file, and of what the write benchmarks write.
pub(super) const FILE_MIB: u64 = 64;

/// The large file's bytes (a fixed pseudo-random sequence, so images are reproducible).
pub(super) fn large_file_bytes() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..FILE_MIB << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// The shell's checksum (`read`, `rump read`): `sum * 31 + byte`.
pub(super) fn shell_checksum(bytes: &[u8]) -> String {
    let sum = bytes
        .iter()
        .fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{sum:08x}")
}

/// Whether the linked components can mount ext2 through rump.
pub(super) fn components_have_ext2() -> Option<std::path::PathBuf> {
    let directory = std::path::PathBuf::from(std::env::var_os("RUMP_COMPONENTS")?);
    directory
        .join("librumpfs_ext2fs.a")
        .exists()
        .then_some(directory)
}

/// The number before `unit` on the `bench:` line of `answer`.
pub(super) fn figure(answer: &str, unit: &str) -> Result<f64, String> {
    answer
        .lines()
        .find(|line| line.starts_with("bench: "))
        .and_then(|line| {
            let end = line.find(unit)?;
            line[..end]
                .trim_end()
                .rsplit([' ', ','])
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no '{unit}' figure in:\n{answer}"))
}

/// The checksum on the `bench:` line of `answer`.
pub(super) fn checksum_of(answer: &str) -> Option<String> {
    answer
        .split("checksum ")
        .nth(1)
        .map(|rest| rest.chars().take(8).collect())
}

/// Runs `command` and fails when it answers with an error line (`read: ...`,
/// `rump read: ...`, `blk: ...`, a usage line).
pub(super) fn ask_ok(session: &mut Session, command: &str) -> Result<String, String> {
    let answer = session.ask(command)?;
    let mut words = command.split_whitespace();
    let first = words.next().unwrap_or("");
    let second = words.next().unwrap_or("");
    let markers = [
        format!("{first}: "),
        format!("rump {second}: "),
        "blk: ".to_string(),
        "usage".to_string(),
    ];
    // The first line is the shell's echo of the command.
    let failed = answer.lines().skip(1).any(|line| {
        markers
            .iter()
            .any(|marker| line.starts_with(marker.as_str()))
    });
    if failed {
        return Err(format!("'{command}' failed:\n{answer}"));
    }
    Ok(answer)
}

/// The most requests `blk` says `disk` had in flight at once.
fn most_in_flight(listing: &str, disk: &str) -> Option<usize> {
    let line = listing
        .lines()
        .find(|line| line.starts_with(&format!("{disk}: ")))?;
    let (_, after) = line.split_once("up to ")?;
    after.split_whitespace().next()?.parse().ok()
}

/// The checksum `read --random PATH COUNT` prints for a file of `bytes` (the kernel's page
/// generator, repeated here).
fn random_read_checksum(bytes: &[u8], count: u64) -> String {
    let pages = (bytes.len() as u64 / 4096).max(1);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut sum = 0u32;
    for _ in 0..count {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let page = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) % pages) as usize;
        let start = page * 4096;
        let end = (start + 4096).min(bytes.len());
        sum = bytes[start..end]
            .iter()
            .fold(sum, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    }
    format!("{sum:08x}")
}

/// The bytes `write --bench`/`rump write --bench` write for `mib` MiB (the kernel's pattern:
/// 128 KiB chunks of a fixed pattern, each 4 KiB page starting with its file offset).
fn written_bytes(mib: u64) -> Vec<u8> {
    let chunk: Vec<u8> = (0..128 * 1024u64)
        .map(|j| (j.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    let mut bytes = Vec::with_capacity((mib << 20) as usize);
    while (bytes.len() as u64) < mib << 20 {
        bytes.extend_from_slice(&chunk);
    }
    for (index, page) in bytes.chunks_mut(4096).enumerate() {
        page[..8].copy_from_slice(&((index * 4096) as u64).to_le_bytes());
    }
    bytes
}

/// Images with the 64 MiB file for the scenarios: 1 KiB blocks (indirect-heavy) and 4 KiB.
fn large_file_images(name: &str) -> Result<(std::path::PathBuf, Vec<u8>), String> {
    let build = crate::root().join("build").join(name);
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let large = large_file_bytes();
    std::fs::write(source.join("big.bin"), &large).map_err(|e| e.to_string())?;
    for block_size in [1024, 4096] {
        let image = build.join(format!("{block_size}.img"));
        super::make_ext2(Some(&source), &image, block_size, "200M")?;
    }
    Ok((build, large))
}

/// The 64 MiB file read natively from a 1 KiB- and a 4 KiB-block image, in 4 KiB calls (the
/// disk stream reads ahead with 8 requests in flight: `blk` must say so) and in 128 KiB calls
/// (straight into the caller's buffer); every read must match the host's checksum, and the
/// random reads the host's checksum of the same pages.
pub(super) fn ext2_large_file_in_flight_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let (build, large) = large_file_images("ext2-in-flight")?;
    let expected = shell_checksum(&large);
    let random = random_read_checksum(&large, 300);
    let mut extra = Vec::new();
    for (index, block_size) in [1024, 4096].into_iter().enumerate() {
        extra.extend([
            "-drive".to_string(),
            format!(
                "file={},if=none,id=d{index},format=raw,readonly=on",
                build.join(format!("{block_size}.img")).display()
            ),
            "-device".to_string(),
            format!("virtio-blk-pci,drive=d{index}"),
        ]);
    }
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=warn"), &extra)?;
    session.wait_prompt()?;
    let mut rates = Vec::new();
    for (disk, blocks) in [("vda", "1 KiB"), ("vdb", "4 KiB")] {
        ask_ok(&mut session, &format!("mount -r {disk} /mnt"))?;
        for (command, calls) in [
            ("read --chunk 4096 /mnt/big.bin", Some("4 KiB calls")),
            ("read /mnt/big.bin", Some("128 KiB calls")),
            ("read --random /mnt/big.bin 300", None),
        ] {
            let answer = ask_ok(&mut session, command)?;
            let want = if calls.is_none() { &random } else { &expected };
            if checksum_of(&answer).as_deref() != Some(want.as_str()) {
                return Err(format!(
                    "{disk}: '{command}' does not match the host (checksum {want}):\n{answer}"
                ));
            }
            let rate = answer
                .lines()
                .find_map(|line| line.split(", ").nth(2))
                .and_then(|rest| rest.split(" native").next());
            if let (Some(calls), Some(rate)) = (calls, rate) {
                rates.push(format!("{blocks} blocks in {calls} {rate}"));
            }
        }
        ask_ok(&mut session, "umount /mnt")?;
    }
    let listing = ask_ok(&mut session, "blk")?;
    session.poweroff()?;
    let mut seen = Vec::new();
    for disk in ["vda", "vdb"] {
        let line = listing
            .lines()
            .find(|line| line.starts_with(&format!("{disk}: ")))
            .unwrap_or("");
        if !line.contains("read-ahead up to 8 requests") {
            return Err(format!(
                "{disk}: the stream never kept 8 requests ahead of the 4 KiB reads:\n{listing}"
            ));
        }
        let most = most_in_flight(&listing, disk).ok_or_else(|| {
            format!("'blk' does not say how many requests {disk} had in flight:\n{listing}")
        })?;
        seen.push(format!("{disk} {most}"));
    }
    Ok(format!(
        "64 MiB read back with the host's checksum from 1 and 4 KiB blocks, 8 read-ahead requests ahead of the reader (at most in flight at the device: {}); {}",
        seen.join(", "),
        rates.join(", ")
    ))
}

/// What the rump scenario writes through NetBSD (the test kernel writes through rump at a few
/// MB/s under TCG: 64 MiB would take minutes).
const WRITTEN_MIB: u64 = 16;

/// The 64 MiB file through NetBSD's ext2 (rump) and natively, from copies of one image: the
/// same checksum as the host both ways, the same random pages; then 16 MiB written through
/// rump (its bios go straight to virtio, several in flight) is read back natively from that
/// disk with the host's checksum, and after poweroff e2fsck finds the image clean and debugfs
/// reads the same bytes.
pub(super) fn rump_ext2_large_file_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let (build, large) = large_file_images("rump-in-flight")?;
    let expected = shell_checksum(&large);
    let random = random_read_checksum(&large, 300);
    let native = build.join("1024.img");
    let theirs = build.join("rump.img");
    std::fs::copy(&native, &theirs).map_err(|e| e.to_string())?;
    let mut extra = Vec::new();
    for (id, image) in [("d0", &native), ("d1", &theirs)] {
        extra.extend([
            "-drive".to_string(),
            format!("file={},if=none,id={id},format=raw", image.display()),
            "-device".to_string(),
            format!("virtio-blk-pci,drive={id}"),
        ]);
    }
    let mut machine = boot(kernel, accel, "512M", 2, "log=warn rump_call_timeout=600");
    machine.timeout = Duration::from_secs(900);
    let mut session = Session::start_with(&machine, &extra)?;
    session.wait_prompt()?;
    ask_ok(&mut session, "mount -r vda /mnt")?;
    ask_ok(&mut session, "rump mount vdb /r rw")?;
    let checks = [
        ("read --chunk 4096 /mnt/big.bin", &expected),
        ("rump read /r/big.bin", &expected),
        ("read --random /mnt/big.bin 300", &random),
        ("rump read --random /r/big.bin 300", &random),
    ];
    for (command, want) in checks {
        let answer = ask_ok(&mut session, command)?;
        if checksum_of(&answer).as_deref() != Some(want.as_str()) {
            return Err(format!(
                "'{command}' does not match the host (checksum {want}):\n{answer}"
            ));
        }
    }
    ask_ok(
        &mut session,
        &format!("rump write --bench /r/written.bin {WRITTEN_MIB}"),
    )?;
    ask_ok(&mut session, "rump umount /r vdb")?;
    ask_ok(&mut session, "umount /mnt")?;
    ask_ok(&mut session, "mount -r vdb /mnt")?;
    let written = written_bytes(WRITTEN_MIB);
    let want = shell_checksum(&written);
    let answer = ask_ok(&mut session, "read /mnt/written.bin")?;
    if checksum_of(&answer).as_deref() != Some(want.as_str()) {
        return Err(format!(
            "the file NetBSD wrote reads back natively differently (checksum {want}):\n{answer}"
        ));
    }
    ask_ok(&mut session, "umount /mnt")?;
    let listing = ask_ok(&mut session, "blk")?;
    session.poweroff()?;
    let native_ahead = listing
        .lines()
        .any(|line| line.starts_with("vda: ") && line.contains("read-ahead up to 8 requests"));
    let native_most = most_in_flight(&listing, "vda").unwrap_or(0);
    let rump_most = most_in_flight(&listing, "vdb").unwrap_or(0);
    if !native_ahead || rump_most < 2 {
        return Err(format!(
            "native read-ahead of 8 requests: {native_ahead}; rump requests in flight at once: {rump_most} (several expected):\n{listing}"
        ));
    }
    let image = theirs.to_string_lossy().into_owned();
    let (code, output) = host_tool("e2fsck", &["-fn", &image])?;
    if code != 0 {
        return Err(format!(
            "e2fsck -fn after rump's writes: exit {code}\n{}",
            String::from_utf8_lossy(&output)
        ));
    }
    let dumped = build.join("written.out");
    host_tool(
        "debugfs",
        &[
            "-R",
            &format!("dump /written.bin {}", dumped.display()),
            &image,
        ],
    )?;
    if std::fs::read(&dumped).map_err(|e| e.to_string())? != written {
        return Err("debugfs reads /written.bin differently from what was written".into());
    }
    Ok(format!(
        "64 MiB read through rump and natively with the host's checksum, the same random pages; {WRITTEN_MIB} MiB written through rump reads back natively and with debugfs, e2fsck clean; most requests in flight: native {native_most}, rump {rump_most}"
    ))
}

/// `device_vfs_random_model` on an ext2 disk: random writes, truncates, reads, scans
/// with writes ahead of them, syncs and remounts, each read checked in the kernel against its
/// model; then e2fsck -fn must find the image clean and debugfs must read every file with the
/// size and checksum the kernel's model ends with.
/// `file_system` is `ext2` (the native driver) or `rump-ext2fs` (NetBSD's, through the bridge),
/// on an image with `block_size`-byte blocks.
pub(super) fn ext2_random_model_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    file_system: &str,
    block_size: u32,
) -> Result<String, String> {
    let image = crate::root().join(format!("build/{file_system}-model.img"));
    super::make_ext2(None, &image, block_size, "96M")?;
    let mut machine = boot(
        kernel,
        accel,
        "512M",
        2,
        &format!("test=device_vfs_random_model model.fs={file_system} log=warn"),
    );
    machine.timeout = Duration::from_secs(900);
    let (code, output) = qemu::run_to_exit_with(&machine, &virtio_disk(&image))?;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!(
            "device_vfs_random_model failed ({code}):\n{output}"
        ));
    }
    let name = image.to_string_lossy().into_owned();
    let (fsck, report) = host_tool("e2fsck", &["-fn", &name])?;
    if fsck != 0 {
        return Err(format!(
            "e2fsck -fn: exit {fsck}\n{}",
            String::from_utf8_lossy(&report)
        ));
    }
    let mut files = 0;
    let mut summary = String::new();
    for line in output.lines().filter(|l| l.starts_with("model: ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["model:", path, size, sum] if path.starts_with("/mnt/") => {
                let dumped = crate::root().join(format!("build/{file_system}-model.out"));
                let _ = std::fs::remove_file(&dumped);
                host_tool(
                    "debugfs",
                    &[
                        "-R",
                        &format!("dump {} {}", &path[4..], dumped.display()),
                        &name,
                    ],
                )?;
                let bytes =
                    std::fs::read(&dumped).map_err(|e| format!("debugfs dump {path}: {e}"))?;
                if bytes.len().to_string() != *size || shell_checksum(&bytes) != *sum {
                    return Err(format!(
                        "{path}: debugfs reads {} bytes, checksum {}; the kernel's model has {size} bytes, checksum {sum}",
                        bytes.len(),
                        shell_checksum(&bytes)
                    ));
                }
                files += 1;
            }
            _ => summary = line.trim_start_matches("model: ").to_string(),
        }
    }
    if files != 4 {
        return Err(format!(
            "the kernel reported {files} model files, 4 expected:\n{output}"
        ));
    }
    Ok(format!(
        "{summary}, {} KiB blocks; e2fsck clean, debugfs reads the model",
        block_size / 1024
    ))
}

/// An image with `data.bin` (1 MiB) and `victim.bin` (64 KiB) and a QEMU blkdebug
/// configuration failing reads of data.bin's first block with EIO, and writes of
/// victim.bin's first block: returns the `-drive` argument value and data.bin's bytes.
fn failing_disk(name: &str) -> Result<(String, Vec<u8>), String> {
    let build = crate::root().join("build").join(name);
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let data: Vec<u8> = large_file_bytes()[..1 << 20].to_vec();
    std::fs::write(source.join("data.bin"), &data).map_err(|e| e.to_string())?;
    std::fs::write(source.join("victim.bin"), &data[..64 << 10]).map_err(|e| e.to_string())?;
    let image = build.join("disk.img");
    super::make_ext2(Some(&source), &image, 4096, "16M")?;
    let image_name = image.to_string_lossy().into_owned();
    let first_block = |file: &str| -> Result<u64, String> {
        let (_, out) = host_tool("debugfs", &["-R", &format!("bmap /{file} 0"), &image_name])?;
        String::from_utf8_lossy(&out)
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("debugfs bmap /{file} 0: {}", String::from_utf8_lossy(&out)))
    };
    // 4 KiB blocks are 8 sectors of 512 bytes.
    let (read_sector, write_sector) =
        (first_block("data.bin")? * 8, first_block("victim.bin")? * 8);
    let config = build.join("blkdebug.conf");
    std::fs::write(
        &config,
        format!(
            "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"{read_sector}\"\n\n\
             [inject-error]\nevent = \"write_aio\"\nerrno = \"5\"\nsector = \"{write_sector}\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok((
        format!(
            "file=blkdebug:{}:{},if=none,format=raw",
            config.display(),
            image.display()
        ),
        data,
    ))
}

/// Device errors reach the native caller: a disk (QEMU blkdebug) that fails the reads of one
/// file's first block and the writes of another's. Reading the first file fails with an I/O
/// error whether it is read in large calls or in 4 KiB calls (through read-ahead), its other
/// bytes still read; the file whose block cannot be written is rewritten — the write call
/// returns (write-behind) — and the `sync` after it reports the error. The shell and the
/// kernel carry on.
pub(super) fn ext2_device_errors_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let (drive, data) = failing_disk("ext2-errors")?;
    let extra = [
        "-drive".to_string(),
        format!("{drive},id=d0"),
        "-device".to_string(),
        "virtio-blk-pci,drive=d0".to_string(),
    ];
    let mut session = Session::start_with(&boot(kernel, accel, "512M", 2, "log=error"), &extra)?;
    session.wait_prompt()?;
    ask_ok(&mut session, "mount vda /mnt")?;
    let mut seen = Vec::new();
    for command in ["read /mnt/data.bin", "read --chunk 4096 /mnt/data.bin"] {
        let answer = session.ask(command)?;
        if !answer.contains("read: /mnt/data.bin") || !answer.contains("input/output error") {
            return Err(format!(
                "'{command}' did not report the device error:\n{answer}"
            ));
        }
        seen.push(command);
    }
    // The rest of the file is still readable: its last 4 KiB.
    let answer = ask_ok(&mut session, "hexdump /mnt/data.bin 1044480 16")?;
    let expected: String = data[1_044_480..1_044_496]
        .iter()
        .map(|b| format!("{b:02x} "))
        .collect();
    if !answer.contains(expected.trim_end()) {
        return Err(format!(
            "the readable part of data.bin reads wrong ({expected}):\n{answer}"
        ));
    }
    let answer = session.ask("write /mnt/victim.bin this block cannot be written")?;
    if answer
        .lines()
        .skip(1)
        .any(|line| line.starts_with("write: "))
    {
        return Err(format!(
            "the write itself failed; it should be reported by sync:\n{answer}"
        ));
    }
    let answer = session.ask("sync")?;
    if !answer.contains("sync: /mnt:") || !answer.contains("input/output error") {
        return Err(format!("sync did not report the failed write:\n{answer}"));
    }
    let answer = session.ask("uptime")?;
    if !answer.contains("up ") {
        return Err(format!("the shell stopped answering:\n{answer}"));
    }
    session.poweroff()?;
    Ok("reads of the failing block report an I/O error (large and 4 KiB calls), the rest reads; the failed write-behind is reported by sync".into())
}

/// The failing disk through NetBSD's ext2: the failed block read reaches rump's biodone as
/// EIO and the rump read reports it; the rest of the file still reads.
pub(super) fn rump_ext2_device_errors_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let (drive, _) = failing_disk("rump-errors")?;
    let extra = [
        "-drive".to_string(),
        format!("{drive},id=d0,readonly=on"),
        "-device".to_string(),
        "virtio-blk-pci,drive=d0".to_string(),
    ];
    let mut machine = boot(kernel, accel, "512M", 2, "log=error rump_call_timeout=300");
    machine.timeout = Duration::from_secs(600);
    let mut session = Session::start_with(&machine, &extra)?;
    session.wait_prompt()?;
    ask_ok(&mut session, "rump mount vda /r")?;
    let answer = session.ask("rump read /r/data.bin")?;
    if !answer.contains("EIO (NetBSD errno 5)") {
        return Err(format!("rump read did not report EIO:\n{answer}"));
    }
    let answer = ask_ok(&mut session, "rump ls /r")?;
    if !answer.contains("victim.bin") {
        return Err(format!(
            "the rump kernel stopped listing the disk:\n{answer}"
        ));
    }
    ask_ok(&mut session, "rump umount /r vda")?;
    session.poweroff()?;
    Ok("the failed block reaches NetBSD as EIO through the asynchronous bio path; the mount keeps working".into())
}
