//! The aarch64 suite (`cargo xtask test --arch aarch64`) and benchmark: the same in-kernel tests
//! and fault scenarios as on x86_64, booted on QEMU's `virt` board, with the fault reports'
//! aarch64 wording (exception class, ESR and FAR instead of vectors and CR2).

use super::*;

/// The aarch64 scenarios, in running order.
pub(super) fn plan() -> Vec<(String, Plan)> {
    let mut plan: Vec<(String, Plan)> = Vec::new();
    let mut run = |name: String, scenario: Scenario| plan.push((name, Plan::Run(scenario)));
    for (memory, cpus) in [("512M", 1), ("1G", 4)] {
        run(
            format!("aarch64_kernel_tests_{memory}_smp{cpus}"),
            Box::new(move |k, a| kernel_tests(k, a, memory, cpus)),
        );
    }
    run(
        "aarch64_kernel_tests_gicv2_smp4".into(),
        Box::new(|k, a| kernel_tests_on(k, a, 4, &["-machine", "gic-version=2"], "GICv2")),
    );
    run(
        "aarch64_kernel_tests_cpu_max_smp2".into(),
        Box::new(|k, a| kernel_tests_on(k, a, 2, &["-cpu", "max"], "PAN true, RNDR true")),
    );
    for (memory, cpus) in [(512, 1), (2048, 4)] {
        run(
            format!("aarch64_shell_mem_cpus_{memory}M_smp{cpus}"),
            Box::new(move |k, a| shell_scenario(k, a, memory, cpus)),
        );
    }
    run(
        "aarch64_smp_late_cpu_given_up".into(),
        Box::new(late_cpu_scenario),
    );
    run(
        "aarch64_smp_50_boots_under_load".into(),
        Box::new(smp_boots_under_load_scenario),
    );
    run("aarch64_initrd_root".into(), Box::new(initrd_scenario));
    run("aarch64_pci_lspci".into(), Box::new(lspci_scenario));
    for (name, intx) in [
        ("aarch64_blk_device_tests_msix", false),
        ("aarch64_blk_device_tests_intx", true),
    ] {
        run(
            name.into(),
            Box::new(move |k, a| blk_tests_scenario(k, a, intx)),
        );
    }
    run("aarch64_blk_shell".into(), Box::new(blk_shell_scenario));
    run(
        "aarch64_ext2_vfs_roundtrip".into(),
        Box::new(ext2_vfs_scenario),
    );
    run(
        "aarch64_ext2_vfs_bad_disks".into(),
        Box::new(ext2_vfs_bad_disks_scenario),
    );
    run(
        "aarch64_ext2_damage_and_large_directories".into(),
        Box::new(ext2_damage_and_large_directories_scenario),
    );
    run(
        "aarch64_rump_panic_halts_rump_only".into(),
        Box::new(rump_panic_scenario),
    );
    for &(fault, expected) in FAULTS {
        run(
            format!("aarch64_fault_report_{fault}"),
            Box::new(move |k, a| fault_scenario(k, a, fault, expected)),
        );
    }
    plan
}

/// The in-kernel tests on a variant of the machine (QEMU takes the last `-machine` property and
/// `-cpu` given); `shows` must appear in the boot log, proving the variant was booted.
fn kernel_tests_on(
    kernel: &std::path::Path,
    accel: Accel,
    cpus: u32,
    extra: &[&str],
    shows: &str,
) -> Result<String, String> {
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    let (code, output) =
        qemu::run_to_exit_with(&boot(kernel, accel, "512M", cpus, "test log=info"), &extra)?;
    let counts = test_counts(&output);
    match (code, counts) {
        (qemu::EXIT_SUCCESS, Ok(counts)) if output.contains(shows) => Ok(counts),
        (_, counts) => Err(format!(
            "exit code {code} (want {}), {}, '{shows}' {}in the log; output:\n{output}",
            qemu::EXIT_SUCCESS,
            counts.unwrap_or_else(|e| e),
            if output.contains(shows) { "" } else { "not " }
        )),
    }
}

/// `late_cpu=2`: CPU 2 reaches the kernel only after the boot CPU gave up on it. The boot CPU
/// must say so, give up on the CPU after it too, and reach the shell on the two that started;
/// the late CPU halts itself.
fn late_cpu_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let mut session = Session::start(&boot(kernel, accel, "512M", 4, "log=info late_cpu=2"))?;
    session.wait_prompt()?;
    let log = session.output();
    let expected = "cpu 2 (MPIDR 0x2) did not reach the kernel within 5 s; running without it and the 1 CPU(s) after it";
    if !log.contains(expected) {
        return Err(format!("the boot log lacks '{expected}':\n{log}"));
    }
    let cpus = session.ask("cpus")?;
    for needle in ["cpus: 4 present, 2 online", "cpu2: apic id 2, not started"] {
        if !cpus.contains(needle) {
            return Err(format!("'cpus' should report '{needle}':\n{cpus}"));
        }
    }
    let threads = session.ask("ps")?;
    if !threads.contains("main") {
        return Err(format!("'ps' answer malformed:\n{threads}"));
    }
    session.poweroff()?;
    Ok("late CPU given up on, reported, and halted by itself; shell on 2 CPUs".into())
}

/// The shell against what QEMU was given: `mem` and `cpus` report the machine's memory and CPU
/// count, and `cpus` names the aarch64 protections the kernel turned on.
fn shell_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    memory_mib: u64,
    cpus: u32,
) -> Result<String, String> {
    let mut session = super::machine::shell_with_memory_checked(kernel, accel, memory_mib, cpus)?;
    let answer = session.ask("cpus")?;
    for expected in [
        format!("cpus: {cpus} present, {cpus} online"),
        "protections: W^X (SCTLR_EL1.WXN) on, kernel never executes user pages (PXN) on".into(),
        "timer generic timer (EL1 virtual)".into(),
    ] {
        if !answer.contains(&expected) {
            return Err(format!(
                "'cpus' should report '{expected}', said:\n{answer}"
            ));
        }
    }
    for index in 0..cpus {
        if !answer.contains(&format!("cpu{index}: apic id {index}, online")) {
            return Err(format!("'cpus' does not show cpu{index} online:\n{answer}"));
        }
    }
    super::machine::check_uptime(&mut session)?;
    session.poweroff()?;
    Ok(format!("{memory_mib} MiB, {cpus} CPUs"))
}

/// Deliberate faults (`fault=NAME`) and lines their aarch64 reports must contain.
const FAULTS: &[(&str, &[&str])] = &[
    (
        "guard-page",
        &[
            "CPU EXCEPTION: data abort (EC 0x25)",
            "fault address (FAR_EL1)",
            "translation fault (page not mapped) at level 3, write",
            "guard page of stack 'boot'",
            "in thread 'main'",
            "ELR ",
        ],
    ),
    (
        "stack-overflow",
        &[
            "data abort (EC 0x25)",
            "stack overflow",
            "guard page of stack 'overflow-test'",
        ],
    ),
    (
        "write-text",
        &[
            "data abort (EC 0x25)",
            "permission fault at level 3, write",
            "the page is mapped (read-only, executable)",
        ],
    ),
    (
        "write-text-alias",
        &[
            "data abort (EC 0x25)",
            "permission fault",
            "the page is mapped (read-only, no-execute)",
        ],
    ),
    (
        "general-protection",
        &[
            "data abort (EC 0x25)",
            "fault address (FAR_EL1): 0x8000000000000000",
            "outside both translation ranges",
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
            "data abort (EC 0x25)",
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

/// The `bench:` lines of the in-kernel scheduler and lock benchmark on 2 CPUs under TCG.
fn sched_figures(kernel: &std::path::Path) -> Result<Vec<String>, String> {
    let (code, output) = qemu::run_to_exit(&boot(
        kernel,
        Accel::Tcg,
        "512M",
        2,
        "test=bench_sched log=warn",
    ))?;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!("bench_sched failed ({code}):\n{output}"));
    }
    Ok(output
        .lines()
        .filter_map(|l| l.strip_prefix("bench: "))
        .map(str::to_owned)
        .collect())
}

/// `cargo xtask bench --arch aarch64`: the scheduler and lock figures of both architectures,
/// each kernel booted under TCG on this machine, one after the other, side by side. Emulating
/// aarch64 costs more than emulating x86_64 on an x86_64 host, so the ratio says more about
/// QEMU than about the kernel; both columns come from the same run for that reason.
pub fn bench(_arguments: &[String]) -> Result<(), String> {
    use crate::arch::Arch;
    Arch::X86_64.select();
    let x86_kernel = crate::build_kernel(true)?;
    let x86 = sched_figures(&x86_kernel)?;
    Arch::Aarch64.select();
    let arm_kernel = crate::build_kernel(true)?;
    let arm = sched_figures(&arm_kernel)?;
    println!("scheduler and locks, 2 CPUs, TCG, same machine and run:");
    let width = x86.iter().map(|l| l.len()).max().unwrap_or(0).max(6);
    println!("{:<width$}  | aarch64", "x86_64");
    for index in 0..x86.len().max(arm.len()) {
        println!(
            "{:<width$}  | {}",
            x86.get(index).map_or("", String::as_str),
            arm.get(index).map_or("", String::as_str)
        );
    }
    Ok(())
}
