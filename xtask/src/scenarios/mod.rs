//! The QEMU test suite: the in-kernel tests on several machine shapes, shell scenarios that check
//! what the kernel reports against what QEMU was given, and deliberate faults whose reports are
//! checked line by line. Every selected scenario runs, even after one fails or panics; a failure
//! shows the QEMU command lines and how to rerun it alone. Ends with an `N passed, N failed` line.

pub(crate) use crate::qemu::{self, Accel, Boot, Session};
pub(crate) use std::time::{Duration, Instant};

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;

mod aarch64;
mod audio_analysis;
mod bench;
mod devices;
mod ext2;
mod initrd;
mod iso;
mod machine;
mod net_peers;
mod network;
mod rump;
mod rump_audio;
mod rump_ext2;
mod rump_halt;
mod rump_usb;
mod smp;
mod storage;
mod storage_bench;
mod user_audio;
mod user_bench;
mod user_faults;
mod user_jobs;
mod user_net;
mod userspace;

pub use aarch64::bench as aarch64_bench;
pub use bench::bench;
use devices::*;
use ext2::*;
use initrd::*;
use iso::*;
use machine::*;
use network::*;
use rump::*;
use rump_audio::*;
use rump_ext2::*;
use rump_halt::*;
use rump_usb::*;
use smp::*;
use storage::*;
use storage_bench::*;
use user_audio::*;
use user_bench::*;
use user_faults::*;
use user_jobs::*;
use user_net::*;
use userspace::*;

pub(super) fn boot(
    kernel: &std::path::Path,
    accel: Accel,
    memory: &str,
    cpus: u32,
    append: &str,
) -> Boot {
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
        cdrom: None,
    }
}

type Scenario = Box<dyn FnOnce(&Path, Accel) -> Result<String, String>>;

enum Plan {
    Run(Scenario),
    Skip(String),
}

/// Every scenario of the suite, in running order, with its name.
fn plan() -> Vec<(String, Plan)> {
    let mut plan: Vec<(String, Plan)> = Vec::new();
    let mut run = |name: String, scenario: Scenario| plan.push((name, Plan::Run(scenario)));
    for (memory, cpus) in [("512M", 2), ("2G", 4), ("256M", 1)] {
        run(
            format!("kernel_tests_{memory}_smp{cpus}"),
            Box::new(move |k, a| kernel_tests(k, a, memory, cpus)),
        );
    }
    for (memory, cpus) in [(512, 2), (2048, 4)] {
        run(
            format!("shell_mem_cpus_{memory}M_smp{cpus}"),
            Box::new(move |k, a| shell_scenario(k, a, memory, cpus)),
        );
    }
    run("smp_late_cpu_given_up".into(), Box::new(late_cpu_scenario));
    run(
        "smp_50_boots_under_load".into(),
        Box::new(smp_boots_under_load_scenario),
    );
    run("initrd_root".into(), Box::new(initrd_scenario));
    run("firmware_without_acpi".into(), Box::new(no_acpi_scenario));
    run(
        "cpu_without_nx".into(),
        Box::new(|k, _| cpu_without_nx_scenario(k)),
    );
    run("iso_grub_multiboot2".into(), Box::new(iso_scenario));
    run("initrd_damaged".into(), Box::new(damaged_initrd_scenario));
    run(
        "initrd_sparse_files".into(),
        Box::new(sparse_initrd_scenario),
    );
    run("pci_lspci".into(), Box::new(lspci_scenario));
    for (name, intx) in [
        ("blk_device_tests_msix", false),
        ("blk_device_tests_intx", true),
    ] {
        run(
            name.into(),
            Box::new(move |k, a| blk_tests_scenario(k, a, intx)),
        );
    }
    run("blk_shell".into(), Box::new(blk_shell_scenario));
    run("ext2_vfs_roundtrip".into(), Box::new(ext2_vfs_scenario));
    run(
        "ext2_vfs_bad_disks".into(),
        Box::new(ext2_vfs_bad_disks_scenario),
    );
    run(
        "ext2_damage_and_large_directories".into(),
        Box::new(ext2_damage_and_large_directories_scenario),
    );
    run(
        "ext2_large_file_in_flight".into(),
        Box::new(ext2_large_file_in_flight_scenario),
    );
    run(
        "ext2_random_writes_model".into(),
        Box::new(|k, a| ext2_random_model_scenario(k, a, "ext2", 1024)),
    );
    run(
        "ext2_device_errors".into(),
        Box::new(ext2_device_errors_scenario),
    );
    for cpus in [1, 4] {
        plan.push((
            format!("user_job_control_smp{cpus}"),
            match userland_available() {
                true => Plan::Run(Box::new(move |k, a| user_job_control_scenario(k, a, cpus))),
                false => Plan::Skip(
                    "busybox-static and bash-static are not installed (scripts/setup installs them)"
                        .into(),
                ),
            },
        ));
    }
    for cpus in [1, 4] {
        plan.push((
            format!("net_native_smp{cpus}"),
            Plan::Run(Box::new(move |k, a| {
                network_scenario(k, a, cpus, Stack::Native, "")
            })),
        ));
    }
    plan.push((
        "net_native_intx".into(),
        Plan::Run(Box::new(|k, a| {
            network_scenario(k, a, 2, Stack::Native, "pci=nomsi")
        })),
    ));
    plan.push((
        "net_native_faults".into(),
        Plan::Run(Box::new(|k, a| {
            network_faults_scenario(k, a, Stack::Native)
        })),
    ));
    let net_set = components_include_net();
    for cpus in [1, 4] {
        plan.push((
            format!("net_rump_smp{cpus}"),
            match net_set {
                true => Plan::Run(Box::new(move |k, a| {
                    network_scenario(k, a, cpus, Stack::Rump, "")
                })),
                false => Plan::Skip(NET_SET_MISSING.into()),
            },
        ));
    }
    plan.push((
        "net_rump_faults".into(),
        match net_set {
            true => Plan::Run(Box::new(|k, a| network_faults_scenario(k, a, Stack::Rump))),
            false => Plan::Skip(NET_SET_MISSING.into()),
        },
    ));
    let components = std::env::var_os("RUMP_COMPONENTS").is_some();
    plan.push((
        "rump_components_boot".into(),
        match components {
            true => Plan::Run(Box::new(rump_components_scenario)),
            false => Plan::Skip(
                "RUMP_COMPONENTS not set (point it at a directory of rump component archives)"
                    .into(),
            ),
        },
    ));
    plan.push(("rump_usb_stick".into(), match components_include_usb() {
        true => Plan::Run(Box::new(usb_stick_scenario)),
        false => Plan::Skip("RUMP_COMPONENTS does not name a directory with the USB set (librumpdev_pci_usbhc, librumpdev_usb, librumpdev_umass, librumpdev_scsipi and their dependencies)".into()),
    }));
    let usb = |scenario: Scenario| {
        match components_include_usb() {
        true => Plan::Run(scenario),
        false => Plan::Skip("RUMP_COMPONENTS does not name a directory with the USB set (librumpdev_pci_usbhc, librumpdev_usb, librumpdev_umass, librumpdev_scsipi and their dependencies)".into()),
    }
    };
    for cpus in [1, 4] {
        plan.push((
            format!("rump_usb_large_and_sparse_files_smp{cpus}"),
            usb(Box::new(move |k, a| usb_large_files_scenario(k, a, cpus))),
        ));
    }
    plan.push(("rump_usb_writes".into(), usb(Box::new(usb_writes_scenario))));
    plan.push((
        "rump_usb_plug_unplug".into(),
        usb(Box::new(usb_plug_scenario)),
    ));
    plan.push((
        "rump_usb_unplug_while_reading".into(),
        usb(Box::new(usb_unplug_while_reading_scenario)),
    ));
    plan.push((
        "rump_usb_two_sticks".into(),
        usb(Box::new(usb_two_sticks_scenario)),
    ));
    let hda = |scenario: Scenario| match components_include_hda() {
        true => Plan::Run(scenario),
        false => Plan::Skip(NO_HDA_SET.into()),
    };
    for (cpus, codec) in [(1, "hda-output"), (4, "hda-duplex")] {
        plan.push((
            format!("rump_hda_attach_{codec}_smp{cpus}"),
            hda(Box::new(move |k, a| hda_attach_scenario(k, a, cpus, codec))),
        ));
    }
    plan.push((
        "rump_hda_without_codec".into(),
        hda(Box::new(hda_without_codec_scenario)),
    ));
    plan.push((
        "rump_audio_capture".into(),
        hda(Box::new(audio_capture_scenario)),
    ));
    plan.push((
        "user_audio_devices".into(),
        match user_audio_missing() {
            None => Plan::Run(Box::new(user_audio_scenario)),
            Some(why) => Plan::Skip(why),
        },
    ));
    plan.push((
        "audio_without_the_hda_set".into(),
        match components_include_hda() {
            true => Plan::Skip("the HDA set is linked (rump_audio_capture covers it)".into()),
            false => Plan::Run(Box::new(audio_without_hda_set_scenario)),
        },
    ));
    // NetBSD's ext2 is in some sets only (not in the HDA set, for one).
    let ext2 = |scenario: Scenario| {
        match (components, components_have_ext2().is_some()) {
        (_, true) => Plan::Run(scenario),
        (true, false) => Plan::Skip("RUMP_COMPONENTS has no librumpfs_ext2fs.a (needs librump, librumpvfs, librumpdev, librumpdev_disk, librumpfs_ext2fs, librumpfs_ffs)".into()),
        (false, false) => Plan::Skip("RUMP_COMPONENTS not set (needs librump, librumpvfs, librumpdev, librumpdev_disk, librumpfs_ext2fs, librumpfs_ffs)".into()),
    }
    };
    plan.push((
        "rump_ext2_native_vs_rump".into(),
        ext2(Box::new(native_and_rump_ext2_scenario)),
    ));
    plan.push((
        "rump_ext2_device_errors".into(),
        ext2(Box::new(rump_ext2_device_errors_scenario)),
    ));
    plan.push((
        "rump_ext2_large_file".into(),
        ext2(Box::new(rump_ext2_large_file_scenario)),
    ));
    plan.push((
        "rump_ext2_random_writes_model".into(),
        // 4 KiB blocks: on 1 KiB blocks NetBSD's page cache shows bytes from before a
        // truncate past the new end once the file grows again (docs/vfs.md).
        ext2(Box::new(|k, a| {
            ext2_random_model_scenario(k, a, "rump-ext2fs", 4096)
        })),
    ));
    plan.push((
        "rump_panic_halts_rump_only".into(),
        Plan::Run(Box::new(rump_panic_scenario)),
    ));
    for cpus in [1, 4] {
        plan.push((
            format!("user_busybox_commands_smp{cpus}"),
            match userland_missing(false) {
                None => Plan::Run(Box::new(move |k, a| busybox_commands_scenario(k, a, cpus))),
                Some(why) => Plan::Skip(why),
            },
        ));
    }
    plan.push((
        "user_busybox_commands_rump".into(),
        match (components, userland_missing(false)) {
            (true, None) => Plan::Run(Box::new(|k, a| {
                busybox_rump_scenario(k, a, Storage::RumpVirtio)
            })),
            (false, _) => Plan::Skip(
                "RUMP_COMPONENTS not set (needs the ext2 set: librumpfs_ext2fs and its dependencies)"
                    .into(),
            ),
            (_, Some(why)) => Plan::Skip(why),
        },
    ));
    plan.push((
        "user_busybox_commands_rump_usb".into(),
        match (components_include_usb(), userland_missing(false)) {
            (true, None) => Plan::Run(Box::new(|k, a| {
                busybox_rump_scenario(k, a, Storage::RumpUsb)
            })),
            (false, _) => Plan::Skip("RUMP_COMPONENTS does not name a directory with the USB set (librumpdev_pci_usbhc, librumpdev_usb, librumpdev_umass, librumpdev_scsipi, librumpfs_ext2fs and their dependencies)".into()),
            (_, Some(why)) => Plan::Skip(why),
        },
    ));
    plan.push((
        "user_sockets_native".into(),
        match userland_missing(false) {
            None => Plan::Run(Box::new(|k, a| user_sockets_scenario(k, a, "native"))),
            Some(why) => Plan::Skip(why),
        },
    ));
    plan.push((
        "user_sockets_rump".into(),
        match (components_include_net(), userland_missing(false)) {
            (true, None) => Plan::Run(Box::new(|k, a| user_sockets_scenario(k, a, "rump"))),
            (false, _) => Plan::Skip(
                "RUMP_COMPONENTS does not name a directory with the network set (librumpnet_netinet, librumpdev_pci_if_wm and their dependencies)"
                    .into(),
            ),
            (_, Some(why)) => Plan::Skip(why),
        },
    ));
    plan.push((
        "user_bash_script".into(),
        match userland_missing(true) {
            None => Plan::Run(Box::new(bash_script_scenario)),
            Some(why) => Plan::Skip(why),
        },
    ));
    let user_faults = user_faults_missing();
    for cpus in [1, 4] {
        plan.push((
            format!("user_faults_smp{cpus}"),
            match &user_faults {
                None => Plan::Run(Box::new(move |k, a| user_faults_scenario(k, a, cpus))),
                Some(why) => Plan::Skip(why.clone()),
            },
        ));
    }
    for &(fault, expected) in FAULTS {
        plan.push((
            format!("fault_report_{fault}"),
            Plan::Run(Box::new(move |k, a| fault_scenario(k, a, fault, expected))),
        ));
    }
    plan
}

/// Deliberate faults (`fault=NAME`) and lines their reports must contain.
const FAULTS: &[(&str, &[&str])] = &[
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
        "write-text-alias",
        &[
            "page fault (#PF",
            "protection violation, write",
            "the page is mapped (read-only, no-execute)",
        ],
    ),
    (
        "kernel-reads-user-page",
        &[
            "page fault (#PF",
            "protection violation, read",
            "kernel access to a user page (stopped by SMAP)",
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

/// The last panic's message and location, kept by the hook `test` installs.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Runs one scenario; a panic inside it is caught and reported like an error.
fn run_caught(scenario: Scenario, kernel: &Path, accel: Accel) -> Result<String, String> {
    LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::panic::catch_unwind(AssertUnwindSafe(|| scenario(kernel, accel))).unwrap_or_else(
        |payload| {
            let hooked = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            Err(format!("scenario panicked: {}", hooked.unwrap_or(message)))
        },
    )
}

/// Prints what is needed to look into a failure: each QEMU the scenario started (command line,
/// its stderr, the end of its serial output when the message lacks it) and the rerun command.
fn explain_failure(name: &str, why: &str, accel: Accel, launches: &[qemu::Launch]) {
    for launch in launches {
        println!("  qemu command: {}", launch.command);
        let stderr = launch.stderr();
        if !stderr.trim().is_empty() {
            println!("  qemu stderr:\n{}", stderr.trim_end());
        }
        let serial = launch.serial();
        let last = serial.lines().rev().find(|l| !l.trim().is_empty());
        if last.is_some_and(|l| !why.contains(l)) {
            let lines: Vec<&str> = serial.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            println!("  last serial lines:\n{}", tail.join("\n"));
        }
    }
    let mut rerun = format!("ACCEL={}", if accel == Accel::Kvm { "kvm" } else { "tcg" });
    if let Some(components) = std::env::var_os("RUMP_COMPONENTS") {
        let components = qemu::shell_quote(&components.to_string_lossy());
        rerun.push_str(&format!(" RUMP_COMPONENTS={components}"));
    }
    let exact = qemu::shell_quote(&format!("={name}"));
    let arch = match crate::arch::Arch::current() {
        crate::arch::Arch::X86_64 => "",
        crate::arch::Arch::Aarch64 => " --arch aarch64",
    };
    println!("  rerun: {rerun} cargo xtask test{arch} {exact}");
}

/// `cargo xtask test [FILTER | =NAME | --list]`: FILTER selects the scenarios whose names
/// contain it, `=NAME` exactly one.
pub fn test(arguments: &[String]) -> Result<(), String> {
    let filter = match arguments {
        [] => String::new(),
        [one] => one.clone(),
        _ => return Err("takes at most one filter (FILTER, =NAME or --list)".into()),
    };
    let mut plan = match crate::arch::Arch::current() {
        crate::arch::Arch::X86_64 => plan(),
        crate::arch::Arch::Aarch64 => aarch64::plan(),
    };
    if filter == "--list" {
        plan.iter().for_each(|(name, _)| println!("{name}"));
        return Ok(());
    }
    plan.retain(|(name, _)| match filter.strip_prefix('=') {
        Some(exact) => name == exact,
        None => name.contains(&filter),
    });
    if plan.is_empty() {
        return Err(format!(
            "no scenario matches '{filter}' (cargo xtask test --list names them)"
        ));
    }
    let kernel = crate::build_kernel(false)?;
    let (accel, why) = qemu::choose_accel(&kernel);
    println!("qemu: using {} ({why})", accel.name());
    // The failure record shows the message and location; no second copy on stderr.
    std::panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
    }));
    let (mut passed, mut failed) = (0, 0);
    for (name, entry) in plan {
        let scenario = match entry {
            Plan::Skip(why) => {
                println!("qemu {name} ... SKIPPED: {why}");
                continue;
            }
            Plan::Run(scenario) => scenario,
        };
        qemu::take_launches(); // earlier QEMUs (the accelerator probe) are not this scenario's
        let started = Instant::now();
        let result = run_caught(scenario, &kernel, accel);
        let took = format!("{:.1} s", started.elapsed().as_secs_f64());
        let launches = qemu::take_launches();
        match result {
            Ok(detail) if detail.is_empty() => {
                passed += 1;
                println!("qemu {name} ... ok [{took}]");
            }
            Ok(detail) => {
                passed += 1;
                println!("qemu {name} ... ok ({detail}) [{took}]");
            }
            Err(why) => {
                failed += 1;
                println!("qemu {name} ... FAILED [{took}]\n{why}");
                explain_failure(&name, &why, accel, &launches);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} QEMU tests failed"))
    }
}
