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
    }
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
