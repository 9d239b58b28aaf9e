//! The storage comparison of `cargo xtask bench` (`cargo xtask bench storage` runs it alone):
//! the same ext2 image on three virtio disks in one kernel — read and written by the kernel's
//! own driver, by NetBSD's ext2 through rump (with `RUMP_COMPONENTS`), and as a raw disk — for
//! 1, 2 and 4 KiB blocks. Each measure runs in several rounds, interleaved, and the medians give
//! the ratios native/raw and rump/native of one run.

use super::*;

/// Block sizes of the images compared.
const BLOCK_SIZES: [u32; 3] = [1024, 2048, 4096];
/// Size of the small file.
const SMALL_BYTES: usize = 256 * 1024;
/// Rounds of every measure (medians are reported).
const ROUNDS: usize = 5;
/// Random 4 KiB reads per round.
const RANDOM_READS: u64 = 1000;

/// Median of the values (NaN for none).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
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
