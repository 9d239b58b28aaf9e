//! The storage comparison of `cargo xtask bench` (`cargo xtask bench storage` runs it alone):
//! the same ext2 image on three virtio disks in one kernel — read and written by the kernel's
//! own driver, by NetBSD's ext2 through rump (with `RUMP_COMPONENTS`), and as a raw disk — for
//! 1, 2 and 4 KiB blocks. Each measure runs in several rounds, interleaved, and the medians give
//! the ratios native/raw and rump/native of one run.

use super::*;

/// Block sizes of the images compared.
const BLOCK_SIZES: [u32; 3] = [1024, 2048, 4096];
/// Size of the large file, and of what the write benchmarks write.
pub(super) const FILE_MIB: u64 = 64;
/// Size of the small file.
const SMALL_BYTES: usize = 256 * 1024;
/// Rounds of every measure (medians are reported).
const ROUNDS: usize = 5;
/// Random 4 KiB reads per round.
const RANDOM_READS: u64 = 1000;

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

/// Median of the values (NaN for none).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The number before `unit` on the `bench:` line of `answer`.
fn figure(answer: &str, unit: &str) -> Result<f64, String> {
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
fn checksum_of(answer: &str) -> Option<String> {
    answer
        .split("checksum ")
        .nth(1)
        .map(|rest| rest.chars().take(8).collect())
}

/// Runs `command` and fails when it answers with an error line (`read: ...`,
/// `rump read: ...`, `blk: ...`, a usage line).
fn ask_ok(session: &mut Session, command: &str) -> Result<String, String> {
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

/// Measures of one block size: name → values of the rounds.
#[derive(Default)]
struct Figures {
    values: std::collections::BTreeMap<&'static str, Vec<f64>>,
}

impl Figures {
    fn add(&mut self, name: &'static str, value: f64) {
        self.values.entry(name).or_default().push(value);
    }

    fn median(&self, name: &str) -> f64 {
        self.values.get(name).map_or(f64::NAN, |v| median(v))
    }
}

/// `cargo xtask bench storage`: the table for every block size.
pub(super) fn storage_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    let components = components_have_ext2();
    let build = crate::root().join("build/storage-bench");
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let large = large_file_bytes();
    std::fs::write(source.join("big.bin"), &large).map_err(|e| e.to_string())?;
    std::fs::write(source.join("small.bin"), &large[..SMALL_BYTES]).map_err(|e| e.to_string())?;
    let expected = shell_checksum(&large);
    println!(
        "storage: {FILE_MIB} MiB file, under {}, 2 CPUs, 512 MiB, medians of {ROUNDS} rounds; \
         raw = the same disk read and written in 128 KiB requests, 1 in flight{}",
        accel.name(),
        if components.is_some() {
            ""
        } else {
            "; rump rows skipped: RUMP_COMPONENTS not set (or without librumpfs_ext2fs.a)"
        }
    );
    for block_size in BLOCK_SIZES {
        let figures = storage_round_trip(
            kernel,
            accel,
            &build,
            &source,
            block_size,
            components.is_some(),
            &expected,
        )?;
        report(block_size, &figures, components.is_some());
    }
    Ok(())
}

fn report(block_size: u32, figures: &Figures, rump: bool) {
    let kib = block_size / 1024;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    for (what, unit, raw, native, theirs) in [
        (
            "sequential read",
            "MB/s",
            "raw read",
            "native read",
            "rump read",
        ),
        (
            "sequential write",
            "MB/s",
            "raw write",
            "native write",
            "rump write",
        ),
        (
            "random 4 KiB read",
            "IOPS",
            "raw random",
            "native random",
            "rump random",
        ),
    ] {
        let (raw, native, theirs) = (
            figures.median(raw),
            figures.median(native),
            figures.median(theirs),
        );
        let mut line = format!(
            "{kib} KiB blocks, {what:<17}: raw {raw:>8.1}  native {native:>8.1}  {unit}  native/raw {:.2}",
            ratio(native, raw)
        );
        if rump {
            line.push_str(&format!(
                "  rump {theirs:>7.1} {unit}  rump/native {:.3}",
                ratio(theirs, native)
            ));
        }
        println!("{line}");
    }
    let (native, theirs) = (figures.median("native small"), figures.median("rump small"));
    let mut line = format!("{kib} KiB blocks, 256 KiB file read : native {native:>8.1} MB/s");
    if rump {
        line.push_str(&format!(
            "  rump {theirs:>7.1} MB/s  rump/native {:.3}",
            ratio(theirs, native)
        ));
    }
    println!("{line}");
    println!(
        "{kib} KiB blocks, raw sequential read with 8 requests in flight: {:.1} MB/s",
        figures.median("raw read 8")
    );
}

/// One boot for one block size: every measure `ROUNDS` times.
fn storage_round_trip(
    kernel: &std::path::Path,
    accel: Accel,
    build: &std::path::Path,
    source: &std::path::Path,
    block_size: u32,
    rump: bool,
    expected: &str,
) -> Result<Figures, String> {
    let images =
        ["native", "rump", "raw"].map(|name| build.join(format!("{name}-{block_size}.img")));
    super::make_ext2(Some(source), &images[0], block_size, "200M")?;
    for copy in &images[1..] {
        std::fs::copy(&images[0], copy).map_err(|e| e.to_string())?;
    }
    let mut extra = Vec::new();
    for (index, image) in images.iter().enumerate() {
        extra.extend([
            "-drive".to_string(),
            format!("file={},if=none,id=d{index},format=raw", image.display()),
            "-device".to_string(),
            format!("virtio-blk-pci,drive=d{index}"),
        ]);
    }
    let mut machine = boot(kernel, accel, "512M", 2, "log=warn rump_call_timeout=600");
    machine.timeout = Duration::from_secs(1800);
    let mut session = Session::start_with(&machine, &extra)?;
    session.wait_prompt()?;
    ask_ok(&mut session, "mount vda /mnt")?;
    if rump {
        ask_ok(&mut session, "rump mount vdb /r rw")?;
    }
    let mut figures = Figures::default();
    let file_mib = FILE_MIB.to_string();
    let count = RANDOM_READS.to_string();
    // A fresh mount has an empty cache on either side: every read is cold.
    let remount = |session: &mut Session| -> Result<(), String> {
        ask_ok(session, "umount /mnt")?;
        ask_ok(session, "mount vda /mnt").map(|_| ())
    };
    let rump_remount = |session: &mut Session| -> Result<(), String> {
        ask_ok(session, "rump umount /r vdb")?;
        ask_ok(session, "rump mount vdb /r rw").map(|_| ())
    };
    for _ in 0..ROUNDS {
        // The rump mount is unmounted (flushed) while the raw disk and the native driver are
        // measured, so NetBSD's background writes never overlap their figures.
        if rump {
            ask_ok(&mut session, "rump umount /r vdb")?;
        }
        let raw = ask_ok(&mut session, &format!("blk bench vdc read 0 {file_mib}"))?;
        figures.add("raw read", figure(&raw, "MB/s")?);
        let raw = ask_ok(&mut session, &format!("blk bench vdc read 0 {file_mib} 8"))?;
        figures.add("raw read 8", figure(&raw, "MB/s")?);
        remount(&mut session)?;
        let native = ask_ok(&mut session, "read --bench /mnt/big.bin")?;
        figures.add("native read", figure(&native, "MB/s")?);
        remount(&mut session)?;
        let native = ask_ok(&mut session, "read --bench /mnt/small.bin")?;
        figures.add("native small", figure(&native, "MB/s")?);
        let raw = ask_ok(
            &mut session,
            &format!("blk bench vdc random 0 {file_mib} {count}"),
        )?;
        figures.add("raw random", figure(&raw, "IOPS")?);
        remount(&mut session)?;
        let native_random = ask_ok(&mut session, &format!("read --random /mnt/big.bin {count}"))?;
        figures.add("native random", figure(&native_random, "IOPS")?);
        // Writes land past the file system's data on the raw disk (a scratch copy).
        let raw = ask_ok(&mut session, &format!("blk bench vdc write 128 {file_mib}"))?;
        figures.add("raw write", figure(&raw, "MB/s")?);
        let native = ask_ok(
            &mut session,
            &format!("write --bench /mnt/written.bin {file_mib}"),
        )?;
        figures.add("native write", figure(&native, "MB/s")?);
        ask_ok(&mut session, "rm /mnt/written.bin")?;
        ask_ok(&mut session, "sync")?;
        if rump {
            ask_ok(&mut session, "rump mount vdb /r rw")?;
            let theirs = ask_ok(&mut session, "rump read --bench /r/big.bin")?;
            figures.add("rump read", figure(&theirs, "MB/s")?);
            rump_remount(&mut session)?;
            let theirs = ask_ok(&mut session, "rump read --bench /r/small.bin")?;
            figures.add("rump small", figure(&theirs, "MB/s")?);
            rump_remount(&mut session)?;
            let theirs = ask_ok(
                &mut session,
                &format!("rump read --random /r/big.bin {count}"),
            )?;
            figures.add("rump random", figure(&theirs, "IOPS")?);
            if checksum_of(&theirs) != checksum_of(&native_random) {
                return Err(format!(
                    "native and rump random reads differ:\n{native_random}\n{theirs}"
                ));
            }
            let theirs = ask_ok(
                &mut session,
                &format!("rump write --bench /r/written.bin {file_mib}"),
            )?;
            figures.add("rump write", figure(&theirs, "MB/s")?);
            ask_ok(&mut session, "rump rm /r/written.bin")?;
        }
    }
    // The bytes read back must be the file's, through both drivers.
    ask_ok(&mut session, "umount /mnt")?;
    ask_ok(&mut session, "mount vda /mnt")?;
    let native = ask_ok(&mut session, "read /mnt/big.bin")?;
    if checksum_of(&native).as_deref() != Some(expected) {
        return Err(format!(
            "native read of big.bin: checksum {expected} expected:\n{native}"
        ));
    }
    if rump {
        let theirs = ask_ok(&mut session, "rump read /r/big.bin")?;
        if checksum_of(&theirs).as_deref() != Some(expected) {
            return Err(format!(
                "rump read of big.bin: checksum {expected} expected:\n{theirs}"
            ));
        }
        ask_ok(&mut session, "rump umount /r vdb")?;
    }
    ask_ok(&mut session, "umount /mnt")?;
    session.poweroff()?;
    for image in &images[..if rump { 2 } else { 1 }] {
        let name = image.to_string_lossy().into_owned();
        let (code, output) = host_tool("e2fsck", &["-fn", &name])?;
        if code != 0 {
            return Err(format!(
                "e2fsck -fn {name} after the benchmark: exit {code}\n{}",
                String::from_utf8_lossy(&output)
            ));
        }
    }
    Ok(figures)
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

/// `device_vfs_random_model` on a 1 KiB-block disk: random writes, truncates, reads, scans
/// with writes ahead of them, syncs and remounts, each read checked in the kernel against its
/// model; then e2fsck -fn must find the image clean and debugfs must read every file with the
/// size and checksum the kernel's model ends with.
pub(super) fn ext2_random_model_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let image = crate::root().join("build/ext2-model.img");
    super::make_ext2(None, &image, 1024, "96M")?;
    let mut machine = boot(
        kernel,
        accel,
        "512M",
        2,
        "test=device_vfs_random_model log=warn",
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
                let dumped = crate::root().join("build/ext2-model.out");
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
    Ok(format!("{summary}; e2fsck clean, debugfs reads the model"))
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
