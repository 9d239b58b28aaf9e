//! Project tasks: build the kernel, make boot images, run it in QEMU, run the QEMU test suite,
//! and measure boot time. `cargo xtask help` lists them.

#![forbid(unsafe_code)]

mod arch;
mod qemu;
mod scenarios;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use qemu::{Accel, Boot};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run_command(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

/// Builds the kernel and returns the path QEMU boots: the ELF on x86_64, the arm64 Image made
/// from it on aarch64.
pub fn build_kernel(release: bool) -> Result<PathBuf, String> {
    let mut command = Command::new(env!("CARGO"));
    let arch = arch::Arch::current();
    command.current_dir(root()).args([
        "build",
        "--package",
        "kernel",
        "--target",
        arch.rust_target(),
    ]);
    if release {
        command.arg("--release");
    }
    run_command(&mut command)?;
    let profile = if release { "release" } else { "debug" };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let elf = target.join(arch.rust_target()).join(profile).join("kernel");
    match arch {
        arch::Arch::X86_64 => Ok(elf),
        arch::Arch::Aarch64 => arch::make_arm64_image(&elf),
    }
}

/// Builds a bootable ISO (GRUB + Multiboot2) with the kernel and the default initrd.
fn build_iso(release: bool) -> Result<(), String> {
    let kernel = build_kernel(release)?;
    let (initrd, _) = build_images()?;
    let initrd = initrd.ok_or("scripts/mkinitrd is missing")?;
    run_command(
        Command::new(root().join("scripts/mkiso"))
            .arg(&kernel)
            .arg(&initrd)
            .arg(root().join("build/kernel.iso")),
    )
}

/// Builds the default initrd (`scripts/mkinitrd`) and the default ext2 disk image.
pub fn build_images() -> Result<(Option<PathBuf>, Option<PathBuf>), String> {
    let build = root().join("build");
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let initrd = build.join("initrd.tar.lz4");
    let mkinitrd = root().join("scripts/mkinitrd");
    let initrd = if mkinitrd.exists() {
        run_command(Command::new(&mkinitrd).arg(&initrd))?;
        Some(initrd)
    } else {
        None
    };
    let disk = build.join("disk.img");
    if !disk.exists() {
        let source = root().join("rootfs");
        let mut command = Command::new("mke2fs");
        command.args(["-q", "-F", "-t", "ext2", "-b", "4096", "-L", "kernel-disk"]);
        if source.is_dir() {
            command.arg("-d").arg(&source);
        }
        command.arg(&disk).arg("32M");
        run_command(&mut command)?;
    }
    Ok((initrd, Some(disk)))
}

struct Options {
    release: bool,
    memory: String,
    cpus: u32,
    append: String,
    accel: Option<Accel>,
    timeout: Duration,
    /// `--audio FILE`: an HD Audio controller and codec whose output QEMU records into FILE.
    audio: Option<PathBuf>,
    /// QEMU user networks: virtio-net (native stack) and e1000 (rump stack).
    net: bool,
}

fn parse_options(arguments: &[String]) -> Result<Options, String> {
    let mut options = Options {
        release: false,
        memory: "512M".into(),
        cpus: 2,
        append: "log=info".into(),
        accel: None,
        timeout: Duration::from_secs(4 * 3600),
        audio: None,
        net: false,
    };
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or(format!("{argument} needs a value"))
        };
        match argument.as_str() {
            "--release" => options.release = true,
            "--memory" | "-m" => options.memory = value()?,
            "--smp" => options.cpus = value()?.parse().map_err(|_| "--smp needs a number")?,
            "--append" => options.append = value()?,
            "--tcg" => options.accel = Some(Accel::Tcg),
            "--audio" => options.audio = Some(PathBuf::from(value()?)),
            "--kvm" => options.accel = Some(Accel::Kvm),
            "--net" => options.net = true,
            "--timeout" => {
                options.timeout =
                    Duration::from_secs(value()?.parse().map_err(|_| "--timeout needs seconds")?)
            }
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(options)
}

/// The kernel command line for `run`: process 1 is busybox `sh` from the initrd unless the
/// user's line already chooses with `init=` (`init=kernel` is the kernel shell). Words after
/// ` -- ` are process 1's arguments, so `init=` goes before them.
fn with_default_init(append: &str) -> String {
    let (kernel, init_arguments) = match append.split_once(" -- ") {
        Some((kernel, rest)) => (kernel, Some(rest)),
        None => (append, None),
    };
    if kernel
        .split_whitespace()
        .any(|word| word.starts_with("init="))
    {
        return append.to_owned();
    }
    let mut line = format!("{} init=/bin/sh", kernel.trim_end());
    if let Some(rest) = init_arguments {
        line.push_str(" -- ");
        line.push_str(rest);
    }
    line.trim_start().to_owned()
}

fn run(arguments: &[String]) -> Result<(), String> {
    let options = parse_options(arguments)?;
    let kernel = build_kernel(options.release)?;
    let (initrd, disk) = build_images()?;
    let accel = match options.accel {
        Some(accel) => accel,
        None => {
            let (accel, why) = qemu::choose_accel(&kernel);
            eprintln!("accelerator: {} ({why})", accel.name());
            accel
        }
    };
    let boot = Boot {
        kernel,
        initrd,
        disk,
        memory: options.memory,
        cpus: options.cpus,
        // User processes are x86_64 only for now: aarch64 boots to the kernel shell.
        append: match arch::Arch::current() {
            arch::Arch::X86_64 => with_default_init(&options.append),
            arch::Arch::Aarch64 => options.append.clone(),
        },
        accel,
        timeout: options.timeout,
        cdrom: None,
    };
    let leave = if boot.append.split_whitespace().any(|w| w == "init=/bin/sh") {
        "busybox sh as process 1; 'poweroff -f' to leave, 'exit' for the kernel shell"
    } else {
        "type 'poweroff' to leave"
    };
    eprintln!(
        "booting the {} kernel with {} ({} CPUs, {} RAM, timeout {:?}, command line '{}'); {leave}, Ctrl-A X to kill QEMU",
        arch::Arch::current().name(),
        accel.name(),
        boot.cpus,
        boot.memory,
        boot.timeout,
        boot.append
    );
    let mut command = boot.command();
    if let Some(file) = &options.audio {
        // QEMU's intel-hda with an output codec, recorded as a WAV file (docs/audio.md).
        command.args([
            "-audiodev",
            &format!("wav,id=snd0,path={}", file.display()),
            "-device",
            "intel-hda",
            "-device",
            "hda-output,audiodev=snd0",
        ]);
    }
    if options.net {
        // Guest port 7000 of each stack, forwarded from the host's loopback only.
        command.args([
            "-netdev",
            "user,id=net0,ipv6=off,hostfwd=tcp:127.0.0.1:8000-:7000",
            "-device",
            "virtio-net-pci,netdev=net0",
            "-netdev",
            "user,id=net1,ipv6=off,hostfwd=tcp:127.0.0.1:8001-:7000",
            "-device",
            "e1000,netdev=net1",
        ]);
        eprintln!("network: virtio-net (native, host 127.0.0.1:8000 -> guest 7000) and e1000 (rump, 127.0.0.1:8001 -> 7000)");
    }
    // Interactive: the terminal is the serial console; mon:stdio gives Ctrl-A X.
    let arguments: Vec<_> = command.get_args().map(|a| a.to_os_string()).collect();
    let mut interactive = Command::new("timeout");
    interactive
        .arg("--foreground")
        .arg(boot.timeout.as_secs().to_string())
        .arg(command.get_program());
    for argument in arguments {
        interactive.arg(if argument == "stdio" {
            "mon:stdio".into()
        } else {
            argument
        });
    }
    let status = interactive.status().map_err(|e| e.to_string())?;
    match status.code() {
        Some(qemu::EXIT_SUCCESS) | Some(0) => Ok(()),
        Some(code) => Err(format!("QEMU exited with {code}")),
        None => Err("QEMU was killed".into()),
    }
}

fn main() {
    let mut arguments: Vec<String> = std::env::args().skip(1).collect();
    if let Err(error) = arch::take_arch_option(&mut arguments) {
        eprintln!("xtask: {error}");
        std::process::exit(2);
    }
    let (task, rest) = arguments
        .split_first()
        .map(|(t, r)| (t.as_str(), r))
        .unwrap_or(("help", &[]));
    let result = match task {
        "build" => {
            build_kernel(rest.iter().any(|a| a == "--release")).map(|p| println!("{}", p.display()))
        }
        "images" => build_images().map(|_| ()),
        "iso" => build_iso(rest.iter().any(|a| a == "--release")),
        "run" => run(rest),
        "test" => scenarios::test(rest),
        "bench" if arch::Arch::current() == arch::Arch::Aarch64 => scenarios::aarch64_bench(rest),
        "bench" => scenarios::bench(rest),
        _ => {
            println!("every command takes --arch x86_64|aarch64 (default x86_64)");
            println!("cargo xtask build [--release]   build the kernel");
            println!("cargo xtask images              build the default initrd and disk image");
            println!("cargo xtask iso [--release]     build build/kernel.iso (GRUB, Multiboot2) for PCs and -cdrom");
            println!("cargo xtask run [--smp N] [--memory SIZE] [--append ARGS] [--tcg|--kvm] [--release] [--audio FILE.wav]");
            println!("                                boots to busybox sh (init=/bin/sh); --append init=kernel for the kernel shell");
            println!("                                --net: virtio-net and e1000 on QEMU's user network (docs/network.md)");
            println!(
                "cargo xtask test [FILTER]       boot the kernel's QEMU test suite and scenarios"
            );
            println!(
                "cargo xtask test =NAME         only the scenario called NAME (--list names them)"
            );
            println!("cargo xtask bench [rump|user|net|storage|hosted]");
            println!("                                boot time, scheduler, virtio-blk and ext2 figures; rump: the USB");
            println!("                                stick, user: processes against Linux, net: both network stacks,");
            println!("                                storage: raw, native and rump ext2, hosted: the hypercalls");
            Ok(())
        }
    };
    if let Err(error) = result {
        eprintln!("xtask {task}: {error}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::with_default_init;

    #[test]
    fn run_boots_busybox_sh_unless_init_is_chosen() {
        assert_eq!(with_default_init("log=info"), "log=info init=/bin/sh");
        assert_eq!(with_default_init(""), "init=/bin/sh");
        assert_eq!(with_default_init("init=kernel"), "init=kernel");
        assert_eq!(
            with_default_init("log=debug init=/bin/bash"),
            "log=debug init=/bin/bash"
        );
        assert_eq!(
            with_default_init("log=warn -- -c init=x"),
            "log=warn init=/bin/sh -- -c init=x"
        );
    }
}
