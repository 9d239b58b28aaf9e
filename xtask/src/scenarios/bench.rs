//! `cargo xtask bench`: boot time and the in-kernel benchmarks.

use super::*;

/// The in-kernel `bench_blk` on a 128 MiB virtio-blk disk; prints its `bench:` lines.
pub(super) fn blk_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
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

/// `cargo xtask bench [rump | user | net | storage | hosted]`: everything, or only the rump USB
/// comparison, the user-space comparison with Linux, the two network stacks, the storage
/// comparison, or the hosted hypercall figures.
pub fn bench(arguments: &[String]) -> Result<(), String> {
    if arguments.iter().any(|a| a == "hosted") {
        return hosted_bench();
    }
    let kernel = crate::build_kernel(true)?;
    if arguments.iter().any(|a| a == "rump") {
        return rump_usb_bench(&kernel, Accel::Tcg);
    }
    if arguments.iter().any(|a| a == "net") {
        return network_bench(&kernel, Accel::Tcg);
    }
    if arguments.iter().any(|a| a == "storage") {
        return storage_bench(&kernel, Accel::Tcg);
    }
    if arguments.iter().any(|a| a == "ext2") {
        return ext2_bench(&kernel, Accel::Tcg);
    }
    let mut accels = vec![Accel::Tcg];
    let (preferred, why) = qemu::choose_accel(&kernel);
    if preferred == Accel::Kvm {
        accels.insert(0, Accel::Kvm);
    } else {
        println!("KVM figures skipped: {why}");
    }
    if arguments.iter().any(|a| a == "user") {
        return accels
            .into_iter()
            .try_for_each(|accel| user_bench(&kernel, accel));
    }
    for accel in accels {
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let mut session = Session::start(&boot(&kernel, accel, "512M", 2, "log=warn"))?;
            session.wait_for("kernel> ", 0)?;
            times.push(start.elapsed());
            session.poweroff()?;
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
        user_bench(&kernel, accel)?;
    }
    // Both network stacks in one boot (rump's only with the net set); one TCG run.
    network_bench(&kernel, Accel::Tcg)?;
    storage_bench(&kernel, Accel::Tcg)?;
    // USB under emulation is slow whatever the accelerator; one TCG run is enough.
    rump_usb_bench(&kernel, Accel::Tcg)?;
    hosted_bench()
}

/// The hosted backend's hypercalls next to plain pthreads/libc (`rumpuser-bench`, release).
pub(super) fn hosted_bench() -> Result<(), String> {
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(crate::root())
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "rump-tests",
            "--bin",
            "rumpuser-bench",
        ])
        .output()
        .map_err(|e| format!("cargo run rumpuser-bench: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rumpuser-bench failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    println!("rumpuser hosted backend against plain pthreads/libc (same process, same run):");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}

/// Size of the file read by [`rump_usb_bench`].
const USB_BENCH_MIB: u64 = 32;

/// One ext2 image with a 32 MiB file, three copies: on a USB stick through rump (EHCI, umass,
/// NetBSD's ext2), on virtio-blk through rump, and on virtio-blk through the kernel's own ext2;
/// each read once, cold, timed in the kernel (`read --bench`), with the ratios of one run.
pub(super) fn rump_usb_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    let components = std::env::var_os("RUMP_COMPONENTS").map(std::path::PathBuf::from);
    let Some(directory) = components else {
        println!("rump USB stick read: skipped: RUMP_COMPONENTS not set (the USB set is needed)");
        return Ok(());
    };
    if !components_include_usb() || !directory.join("librumpfs_ext2fs.a").exists() {
        println!(
            "rump USB stick read: skipped: {} lacks the USB and ext2 archives",
            directory.display()
        );
        return Ok(());
    }
    let build = crate::root().join("build/rump-usb-bench");
    let source = build.join("source");
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = (0..USB_BENCH_MIB << 20)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    std::fs::write(source.join("big.bin"), &bytes).map_err(|e| e.to_string())?;
    let images = ["native", "virtio", "stick"].map(|name| build.join(format!("{name}.img")));
    make_ext2(Some(&source), &images[0], 4096, "48M")?;
    for copy in &images[1..] {
        std::fs::copy(&images[0], copy).map_err(|e| e.to_string())?;
    }
    let mut extra = Vec::new();
    for (id, image) in [("d0", &images[0]), ("d1", &images[1])] {
        extra.extend([
            "-drive".to_string(),
            format!("file={},if=none,id={id},format=raw", image.display()),
            "-device".to_string(),
            format!("virtio-blk-pci,drive={id}"),
        ]);
    }
    extra.extend(stick_arguments(&images[2], "stick"));
    let mut machine = boot(kernel, accel, "512M", 2, "log=warn rump_call_timeout=600");
    machine.timeout = Duration::from_secs(900);
    let mut session = Session::start_with(&machine, &extra)?;
    session.wait_prompt()?;
    let mut rates = Vec::new();
    let runs = [
        (
            "mount -r vda /mnt",
            "read --bench /mnt/big.bin",
            "native ext2, virtio-blk",
        ),
        (
            "rump mount vdb /r",
            "rump read --bench /r/big.bin",
            "rump ext2, virtio-blk",
        ),
        (
            "",
            "rump read --bench /u/big.bin",
            "rump ext2, USB stick (EHCI, umass)",
        ),
    ];
    for (mount, read, what) in runs {
        if mount.is_empty() {
            mount_when_attached(&mut session, "/dev/sd0a", "/u", false)?;
        } else {
            let answer = session.ask(mount)?;
            if answer
                .lines()
                .any(|l| l.starts_with("mount: ") || l.starts_with("rump mount:"))
            {
                return Err(format!("'{mount}' failed:\n{answer}"));
            }
        }
        let answer = session.ask(read)?;
        let rate = answer
            .lines()
            .find(|l| l.starts_with("bench: ") && l.contains(&format!("{} bytes", bytes.len())))
            .and_then(|l| l.rsplit(", ").next())
            .and_then(|r| r.strip_suffix(" MB/s"))
            .and_then(|r| r.parse::<f64>().ok())
            .ok_or_else(|| format!("'{read}' gave no bench line:\n{answer}"))?;
        println!(
            "{USB_BENCH_MIB} MiB file read, {what}, under {}: {rate:.1} MB/s",
            accel.name()
        );
        rates.push(rate);
    }
    session.poweroff()?;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!(
        "ratios (one run): stick/rump-virtio {:.3}, stick/native {:.3}, rump-virtio/native {:.3}",
        ratio(rates[2], rates[1]),
        ratio(rates[2], rates[0]),
        ratio(rates[1], rates[0])
    );
    Ok(())
}

/// The in-kernel `bench_ext2`: a 256 MiB, 4 KiB-block ext2 file system on a 384 MiB disk
/// (the raw transfers use the space past its end); prints its `bench:` lines.
pub(super) fn ext2_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
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
pub(super) fn sched_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    let (code, output) =
        qemu::run_to_exit(&boot(kernel, accel, "512M", 2, "test=bench_sched log=warn"))?;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!("bench_sched failed ({code}):\n{output}"));
    }
    for line in output.lines().filter(|l| l.starts_with("bench: ")) {
        println!(
            "{} under {}",
            line.trim_start_matches("bench: "),
            accel.name()
        );
    }
    Ok(())
}
