//! Machine-level scenarios: the in-kernel test suite, the shell against what QEMU was given,
//! refusals of unusable CPUs, and fatal-fault reports.

use super::*;

pub(super) fn kernel_tests(
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
    let counts = test_counts(&output);
    match (code, counts) {
        (qemu::EXIT_SUCCESS, Ok(counts)) => Ok(counts),
        (_, counts) => Err(format!(
            "exit code {code} (want {}), {}; failures:\n{}\n--- serial output ---\n{output}",
            qemu::EXIT_SUCCESS,
            counts.unwrap_or_else(|e| e),
            failed_tests(&output).join("\n")
        )),
    }
}

fn failed_tests(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.contains("... FAILED"))
        .collect()
}

/// Checks the in-kernel runner's final `N passed, N failed` line against the per-test lines,
/// so a truncated or garbled output cannot pass: some tests ran, none failed, and every pass
/// counted has its `test NAME ... ok` line. Returns the counts line.
pub(super) fn test_counts(output: &str) -> Result<String, String> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed") && l.contains(" passed, "))
        .ok_or("no 'N passed, N failed' line")?;
    let number = |word: Option<&str>| word.and_then(|w| w.parse::<usize>().ok());
    let mut words = line.split_whitespace();
    let passed = number(words.next());
    let failed = number(words.nth(1));
    let oks = output
        .lines()
        .filter(|l| l.starts_with("test ") && l.contains(" ... ok"))
        .count();
    match (passed, failed) {
        (Some(passed), Some(0)) if passed > 0 && passed == oks => Ok(line.to_owned()),
        (Some(_), Some(0)) => Err(format!("counts '{line}' but {oks} 'test ... ok' lines")),
        _ => Err(format!("counts '{line}'")),
    }
}

/// Boots to the shell prompt with `memory_mib` MiB and `cpus` CPUs and checks that `mem`
/// reports the memory QEMU was given (both architectures' shell scenarios start so).
pub(super) fn shell_with_memory_checked(
    kernel: &std::path::Path,
    accel: Accel,
    memory_mib: u64,
    cpus: u32,
) -> Result<Session, String> {
    let mut session = Session::start(&boot(
        kernel,
        accel,
        &format!("{memory_mib}M"),
        cpus,
        "log=warn",
    ))?;
    session.wait_prompt()?;
    let mem = session.ask("mem")?;
    let expected = format!("memory: {memory_mib} MiB installed");
    if !mem.contains(&expected) {
        return Err(format!("'mem' should report '{expected}', said:\n{mem}"));
    }
    Ok(session)
}

/// `uptime` answers with the time up and the wall-clock time.
pub(super) fn check_uptime(session: &mut Session) -> Result<(), String> {
    let uptime = session.ask("uptime")?;
    if !uptime.contains("up ") || !uptime.contains("UTC") {
        return Err(format!("'uptime' answer malformed:\n{uptime}"));
    }
    Ok(())
}

/// Drives the shell: waits for the prompt, runs commands, checks the answers, powers off.
pub(super) fn shell_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    memory_mib: u64,
    cpus: u32,
) -> Result<String, String> {
    let mut session = shell_with_memory_checked(kernel, accel, memory_mib, cpus)?;
    let cpus_answer = session.ask("cpus")?;
    let expected = format!("cpus: {cpus} present");
    if !cpus_answer.contains(&expected) {
        return Err(format!(
            "'cpus' should report '{expected}', said:\n{cpus_answer}"
        ));
    }
    // `-cpu max` offers SMEP, SMAP and UMIP; the kernel turns all three on.
    if !cpus_answer.contains("protections (CR4): SMEP on, SMAP on, UMIP on") {
        return Err(format!(
            "'cpus' should show SMEP, SMAP and UMIP on:\n{cpus_answer}"
        ));
    }
    check_uptime(&mut session)?;
    let help = session.ask("help")?;
    for command in ["mem", "cpus", "uptime", "log", "reboot"] {
        if !help.contains(command) {
            return Err(format!("'help' does not list '{command}':\n{help}"));
        }
    }
    let log = session.ask("log debug")?;
    if !log.contains("log level: DEBUG") {
        return Err(format!("'log debug' not accepted:\n{log}"));
    }
    let unknown = session.ask("frobnicate")?;
    if !unknown.contains("unknown command 'frobnicate'") {
        return Err(format!("unknown command not reported:\n{unknown}"));
    }
    session.poweroff()?;
    Ok(format!("{memory_mib} MiB, {cpus} CPUs"))
}

/// A CPU without a required feature gets a clear message and a clean stop, not a fault.
pub(super) fn cpu_without_nx_scenario(kernel: &std::path::Path) -> Result<String, String> {
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

/// Boots with `fault=NAME` and checks the fatal report.
pub(super) fn fault_scenario(
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

/// Firmware without ACPI tables (`-machine pc,acpi=off`): a clear message and a clean stop.
pub(super) fn no_acpi_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let extra = ["-machine".to_string(), "pc,acpi=off".to_string()];
    let (code, output) =
        qemu::run_to_exit_with(&boot(kernel, accel, "256M", 1, "log=warn"), &extra)?;
    if code != qemu::EXIT_PANIC || !output.contains("fatal: ACPI: no ACPI RSDP found") {
        return Err(format!("exit {code}; output:\n{output}"));
    }
    if output.contains("EXCEPTION") {
        return Err(format!("the refusal faulted:\n{output}"));
    }
    Ok("refused with a message".into())
}
