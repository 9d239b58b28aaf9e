//! The QEMU test suite: the in-kernel tests on several machine shapes, shell scenarios that check
//! what the kernel reports against what QEMU was given, and deliberate faults whose reports are
//! checked line by line. Ends with an `N passed, N failed` line.

pub(crate) use crate::qemu::{self, Accel, Boot, Session};
pub(crate) use std::time::{Duration, Instant};

mod bench;
mod devices;
mod ext2;
mod initrd;
mod iso;
mod machine;
mod rump;
mod rump_ext2;
mod rump_halt;
mod rump_usb;

pub use bench::bench;
use devices::*;
use ext2::*;
use initrd::*;
use iso::*;
use machine::*;
use rump::*;
use rump_ext2::*;
use rump_halt::*;
use rump_usb::*;

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
    if suite.wants("firmware_without_acpi") {
        suite.record("firmware_without_acpi", no_acpi_scenario(&kernel, accel));
    }
    if suite.wants("cpu_without_nx") {
        suite.record("cpu_without_nx", cpu_without_nx_scenario(&kernel));
    }
    if suite.wants("iso_grub_multiboot2") {
        suite.record("iso_grub_multiboot2", iso_scenario(&kernel, accel));
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
    if suite.wants("rump_usb_stick") {
        if components_include_usb() {
            suite.record("rump_usb_stick", usb_stick_scenario(&kernel, accel));
        } else {
            println!("qemu rump_usb_stick ... SKIPPED: RUMP_COMPONENTS does not name a directory with the USB set (librumpdev_pci_usbhc, librumpdev_usb, librumpdev_umass, librumpdev_scsipi and their dependencies)");
        }
    }
    if suite.wants("rump_ext2_native_vs_rump") {
        match std::env::var_os("RUMP_COMPONENTS") {
            None => println!("qemu rump_ext2_native_vs_rump ... SKIPPED: RUMP_COMPONENTS not set (needs librump, librumpvfs, librumpdev, librumpdev_disk, librumpfs_ext2fs, librumpfs_ffs)"),
            Some(_) => suite.record("rump_ext2_native_vs_rump", native_and_rump_ext2_scenario(&kernel, accel)),
        }
    }
    if suite.wants("rump_panic_halts_rump_only") {
        suite.record(
            "rump_panic_halts_rump_only",
            rump_panic_scenario(&kernel, accel),
        );
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
