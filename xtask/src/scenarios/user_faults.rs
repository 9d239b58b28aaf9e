//! User-space faults: small C programs (`tests/user/faults.c`, built with the host's
//! `gcc -static -O1` at test time) fault, pass bad pointers, lengths and descriptors to system
//! calls, exec hostile files, fork until refused and eat all memory, under Debian's busybox `sh`
//! as process 1. Each case must end as Linux ends it (the signal, the errno), the kernel must log
//! it, and a following `echo alive` must still run. The cases that are safe on the host run
//! there too, with the same busybox and the same program, and the two outputs must match byte
//! for byte; the fork bomb and the memory eater run only in the guest.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// One case of the driver script.
struct Case {
    name: &'static str,
    /// A shell command line, run from the root directory (paths are relative, so the host run
    /// from the staging directory prints the same names).
    command: &'static str,
    /// Also run on the host; the two outputs must be equal.
    host: bool,
    /// Lines the guest's output must contain (the shell's `status=N` included).
    expect: &'static [&'static str],
    /// Text the kernel's log must show during the case.
    log: &'static [&'static str],
}

const fn case(
    name: &'static str,
    command: &'static str,
    host: bool,
    expect: &'static [&'static str],
    log: &'static [&'static str],
) -> Case {
    Case {
        name,
        command,
        host,
        expect,
        log,
    }
}

/// Cases not run yet, with the kernel defect that stops them.
const NOT_YET: &[(&str, &str)] = &[];

/// The cases that run.
fn cases() -> impl Iterator<Item = &'static Case> {
    CASES
        .iter()
        .filter(|c| !NOT_YET.iter().any(|(name, _)| *name == c.name))
}

const CASES: &[Case] = &[
    case(
        "hello",
        "test/faults hello",
        true,
        &["hello from faults", "status=0"],
        &[],
    ),
    case(
        "null",
        "test/faults null",
        true,
        &["Segmentation fault", "status=139"],
        &["SIGSEGV at rip", "address 0x0"],
    ),
    case(
        "jump",
        "test/faults jump",
        true,
        &["status=139"],
        &["SIGSEGV at rip 0xdead0000"],
    ),
    case(
        "jump_noncanonical",
        "test/faults jump-noncanonical",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "write_text",
        "test/faults write-text",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "stack_overflow",
        "test/faults stack",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "divide",
        "test/faults divide",
        true,
        &["Floating point exception", "status=136"],
        &["SIGFPE"],
    ),
    case(
        "ud2",
        "test/faults ud2",
        true,
        &["Illegal instruction", "status=132"],
        &["SIGILL"],
    ),
    case(
        "int3",
        "test/faults int3",
        true,
        &["Trace/breakpoint trap", "status=133"],
        &["SIGTRAP"],
    ),
    case(
        "segv_blocked",
        "test/faults segv-blocked",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "segv_ignored",
        "test/faults segv-ignored",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "handlers",
        "test/faults handlers",
        true,
        &["read 0x10: SEGV SEGV_MAPERR, si_addr right", "status=0"],
        &[],
    ),
    case(
        "handler_fault",
        "test/faults handler-fault",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "stack_handler",
        "test/faults stack-handler",
        true,
        &["status=139"],
        &["SIGSEGV"],
    ),
    case(
        "stack_altstack",
        "test/faults stack-altstack",
        true,
        &[
            "stack-altstack: caught the overflow on the alternate stack",
            "status=0",
        ],
        &[],
    ),
    case(
        "efault",
        "test/faults efault",
        true,
        &["write(1, 1, 10): EFAULT", "pipe(8): EFAULT", "status=0"],
        &[],
    ),
    case(
        "lengths",
        "test/faults lengths",
        true,
        &["read(file, 16-byte buffer, SIZE_MAX): EFAULT", "status=0"],
        &[],
    ),
    case(
        "fork_cow",
        "test/faults fork-cow",
        true,
        &[
            "fork-cow: the child saw its own writes: yes",
            "fork-cow: the kernel wrote into the child's copy: yes",
            "fork-cow: the child saw the parent's untouched bytes: yes",
            "fork-cow: the parent kept its bytes: yes",
            "fork-cow: the parent writes after the child exited: yes",
            "fork-cow: 16 children wrote their own copies: yes",
            "status=0",
        ],
        &[],
    ),
    case(
        "ebadf",
        "test/faults ebadf",
        true,
        &[
            "read(99): EBADF",
            "dup2(99, 5): EBADF",
            "fstat(99): EBADF",
            "status=0",
        ],
        &[],
    ),
    case(
        "exec_truncated_half",
        "test/faults exec test/truncated-half",
        false,
        &["execve(test/truncated-half): ENOEXEC", "status=0"],
        &["exec refused"],
    ),
    case(
        "exec_truncated_header",
        "test/faults exec test/truncated-header",
        false,
        &["execve(test/truncated-header): ENOEXEC", "status=0"],
        &["exec refused"],
    ),
    case(
        "exec_bad_machine",
        "test/faults exec test/bad-machine",
        true,
        &["execve(test/bad-machine): ENOEXEC", "status=0"],
        &["exec refused"],
    ),
    case(
        "exec_random",
        "test/faults exec test/random",
        true,
        &["execve(test/random): ENOEXEC", "status=0"],
        &["exec refused"],
    ),
    case(
        "exec_empty",
        "test/faults exec test/empty",
        true,
        &["execve(test/empty): ENOEXEC", "status=0"],
        &["exec refused"],
    ),
    case(
        "exec_missing_interpreter",
        "test/faults exec test/missing-interpreter.sh",
        true,
        &["execve(test/missing-interpreter.sh): ENOENT", "status=0"],
        &[],
    ),
    case(
        "shell_missing_interpreter",
        "sh -c test/missing-interpreter.sh",
        true,
        &["status=127"],
        &[],
    ),
    case(
        "exec_not_executable",
        "test/faults exec test/not-executable",
        true,
        &["execve(test/not-executable): EACCES", "status=0"],
        &[],
    ),
    case(
        "fork_private",
        "test/faults fork-private",
        true,
        &[
            "fork-private: the child wrote its copy: yes",
            "fork-private: the parent's copy unchanged: yes",
            "fork-private: the parent wrote its copy: yes",
            "fork-private: the child still saw the original: yes",
            "status=0",
        ],
        &[],
    ),
    case(
        "forkbomb",
        "test/faults forkbomb",
        false,
        &[
            "forkbomb: first fork failure: EAGAIN",
            "forkbomb: every failure was EAGAIN: yes",
            "forkbomb: all children reaped: yes",
            "status=0",
        ],
        &[],
    ),
    case(
        "after_forkbomb",
        "test/faults hello",
        false,
        &["hello from faults", "status=0"],
        &[],
    ),
    // Either outcome is Linux's: malloc fails (ENOMEM) or the eater is killed (SIGKILL, 137).
    case(
        "eatmem",
        "test/faults eatmem",
        false,
        &["eatmem: allocating and touching 1 MiB chunks"],
        &[],
    ),
    case(
        "after_eatmem",
        "test/faults hello",
        false,
        &["hello from faults", "status=0"],
        &[],
    ),
    // Last: on failure it may take the kernel down with it.
    case(
        "mmap_huge",
        "test/faults mmap-huge",
        true,
        &["mmap(2^46 bytes): ENOMEM", "status=0"],
        &[],
    ),
];

/// Why the scenario cannot run on this host, if it cannot.
pub(super) fn user_faults_missing() -> Option<String> {
    let gcc = Command::new("gcc").arg("--version").output();
    if !gcc.is_ok_and(|o| o.status.success()) {
        return Some("gcc not found (apt-get install gcc)".into());
    }
    let libc = Command::new("gcc")
        .arg("-print-file-name=libc.a")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !Path::new(&libc).is_absolute() || !Path::new(&libc).exists() {
        return Some("the static C library is missing (apt-get install libc6-dev)".into());
    }
    match std::fs::read("/bin/busybox") {
        Ok(bytes) if is_static_elf(&bytes) => None,
        Ok(_) => {
            Some("/bin/busybox is not statically linked (apt-get install busybox-static)".into())
        }
        Err(_) => Some("/bin/busybox not found (apt-get install busybox-static)".into()),
    }
}

/// Compiles the C program `source` (below the repository root) into the static executable
/// `program` with the host's gcc: warnings are errors; `extra` goes before the source (-O, -I)
/// and `libraries` after it.
pub(super) fn compile_static(
    source: &str,
    program: &Path,
    extra: &[&std::ffi::OsStr],
    libraries: &[&str],
) -> Result<(), String> {
    let output = Command::new("gcc")
        .args(["-static", "-Wall", "-Wextra", "-Werror"])
        .args(extra)
        .arg("-o")
        .arg(program)
        .arg(crate::root().join(source))
        .args(libraries)
        .output()
        .map_err(|e| format!("cannot run gcc: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "gcc -static {source} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// An ELF64 file without a PT_INTERP program header.
fn is_static_elf(bytes: &[u8]) -> bool {
    let field = |offset: usize, size: usize| -> Option<u64> {
        let slice = bytes.get(offset..offset + size)?;
        Some(slice.iter().rev().fold(0, |a, &b| a << 8 | u64::from(b)))
    };
    if bytes.get(0..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(table), Some(size), Some(count)) = (field(32, 8), field(54, 2), field(56, 2)) else {
        return false;
    };
    (0..count).all(|i| field((table + i * size) as usize, 4).is_some_and(|kind| kind != 3))
}

fn io(error: std::io::Error) -> String {
    error.to_string()
}

/// Builds the staging root: busybox and its applet links, the compiled program, the hostile
/// files and the driver script. Returns the root.
fn stage() -> Result<PathBuf, String> {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let build = crate::root().join("build/user-faults");
    let _ = std::fs::remove_dir_all(&build);
    let root = build.join("root");
    for directory in ["bin", "test", "dev", "proc", "mnt"] {
        std::fs::create_dir_all(root.join(directory)).map_err(io)?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).map_err(io)?;
    for applet in ["sh", "echo", "cat", "true", "poweroff"] {
        symlink("busybox", root.join("bin").join(applet)).map_err(io)?;
    }
    let program = root.join("test/faults");
    compile_static("tests/user/faults.c", &program, &["-O1".as_ref()], &[])?;
    let elf = std::fs::read(&program).map_err(io)?;
    let test = root.join("test");
    let executable = |name: &str, bytes: &[u8], mode: u32| -> Result<(), String> {
        let path = test.join(name);
        std::fs::write(&path, bytes).map_err(io)?;
        std::fs::set_permissions(&path, PermissionsExt::from_mode(mode)).map_err(io)
    };
    executable("truncated-half", &elf[..elf.len() / 2], 0o755)?;
    executable("truncated-header", &elf[..100], 0o755)?;
    let mut foreign = elf.clone();
    foreign[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    executable("bad-machine", &foreign, 0o755)?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8 | 0x80 // never "#!" nor "\x7fELF"
        })
        .collect();
    executable("random", &random, 0o755)?;
    executable("empty", b"", 0o755)?;
    symlink("faults", test.join("link")).map_err(io)?;
    executable(
        "missing-interpreter.sh",
        b"#!/nonexistent/interpreter\necho the script ran\n",
        0o755,
    )?;
    executable("not-executable", &elf[..4096], 0o644)?;
    std::fs::write(test.join("run.sh"), script(true)).map_err(io)?;
    std::fs::write(test.join("host.sh"), script(false)).map_err(io)?;
    Ok(root)
}

/// The driver script: each case between markers, its status, then a command that must work.
fn script(guest: bool) -> String {
    let mut text = String::from("cd \"${ROOT:-/}\" || exit 1\n");
    if !guest {
        // The guest's applets, and no core files (the guest writes none either).
        text.push_str("PATH=\"$ROOT/bin:$PATH\"\nulimit -c 0\n");
    }
    for case in cases().filter(|c| guest || c.host) {
        text.push_str(&format!(
            "echo '@@@ case {}'\n{} 2>&1\necho \"status=$?\"\necho alive\n",
            case.name, case.command
        ));
    }
    text.push_str("echo '@@@ end'\n");
    if guest {
        text.push_str("poweroff -f\n");
    }
    text
}

/// Archives the staging root as the kernel reads it: ustar, LZ4 with the content size.
pub(super) fn make_initrd(root: &Path) -> Result<PathBuf, String> {
    let tar = root.with_file_name("initrd.tar");
    let image = root.with_file_name("initrd.tar.lz4");
    let status = Command::new("tar")
        .args(["--format=ustar", "--create", "--sort=name"])
        .args(["--owner=0", "--group=0", "--numeric-owner", "--file"])
        .arg(&tar)
        .arg("--directory")
        .arg(root)
        .arg(".")
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err("tar failed".into());
    }
    let status = Command::new("lz4")
        .args(["-q", "-f", "-9", "--content-size"])
        .arg(&tar)
        .arg(&image)
        .status()
        .map_err(|e| format!("cannot run lz4: {e} (apt-get install lz4)"))?;
    if !status.success() {
        return Err("lz4 failed".into());
    }
    Ok(image)
}

/// Whether `line` is one of the kernel's log lines (`[    1.234567] INFO  target: ...`).
fn is_log_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, after)) = rest.split_once("] ") else {
        return false;
    };
    stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.')
        && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
            .iter()
            .any(|level| after.starts_with(level))
}

/// The output of each case: (name, program output without log lines, the log lines).
fn sections(output: &str) -> Vec<(String, String, Vec<String>)> {
    let mut sections: Vec<(String, String, Vec<String>)> = Vec::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@@ case ") {
            sections.push((name.to_string(), String::new(), Vec::new()));
        } else if line == "@@@ end" {
            break;
        } else if let Some((_, text, log)) = sections.last_mut() {
            if is_log_line(line) {
                log.push(line.to_string());
            } else {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    sections
}

/// Runs the host's half of the cases with the same busybox and program.
fn host_outputs(root: &Path) -> Result<Vec<(String, String, Vec<String>)>, String> {
    let output = Command::new("timeout")
        .arg("120")
        .arg(root.join("bin/busybox"))
        .arg("sh")
        .arg(root.join("test/host.sh"))
        .env("ROOT", root)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the host's busybox: {e}"))?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(sections(&text))
}

/// Boots with `cpus` CPUs and the case script as process 1's argument, then checks every case.
pub(super) fn user_faults_scenario(
    kernel: &Path,
    accel: Accel,
    cpus: u32,
) -> Result<String, String> {
    let root = stage()?;
    let initrd = make_initrd(&root)?;
    let host = host_outputs(&root)?;
    let mut boot = boot(
        kernel,
        accel,
        "1G",
        cpus,
        "log=info init=/bin/sh -- /test/run.sh",
    );
    boot.initrd = Some(initrd);
    // The cases take well under two minutes of TCG time; a hang ends sooner than the default.
    boot.timeout = boot.timeout.min(Duration::from_secs(240));
    // A hang is judged like any other failure: the cases that ran are still checked.
    let mut session = Session::start(&boot)?;
    let mut failures = Vec::new();
    match session.wait_exit() {
        Ok(qemu::EXIT_SUCCESS) => {}
        Ok(code) => failures.push(format!(
            "QEMU exited with {code}, not {} (poweroff -f)",
            qemu::EXIT_SUCCESS
        )),
        Err(why) => failures.push(format!("QEMU did not power off: {why}")),
    }
    let output = session.output();
    for bad in ["CPU EXCEPTION", "KERNEL PANIC", "panicked"] {
        if output.contains(bad) {
            failures.push(format!("the serial output contains '{bad}'"));
        }
    }
    let guest = sections(&output);
    for case in cases() {
        let Some((_, text, log)) = guest.iter().find(|(name, ..)| name == case.name) else {
            failures.push(format!("case {}: never ran", case.name));
            continue;
        };
        let mut wrong = Vec::new();
        if !text.ends_with("alive\n") {
            wrong.push("the following 'echo alive' did not run".to_string());
        }
        for line in case.expect {
            if !text.lines().any(|l| l == *line) {
                wrong.push(format!("lacks the line '{line}'"));
            }
        }
        for needle in case.log {
            if !log.iter().any(|l| l.contains(needle)) {
                wrong.push(format!("no kernel log line contains '{needle}'"));
            }
        }
        if case.host {
            match host.iter().find(|(name, ..)| name == case.name) {
                Some((_, host_text, _)) if host_text == text => {}
                Some((_, host_text, _)) => wrong.push(format!(
                    "differs from the host's output:\n{}",
                    difference(host_text, text)
                )),
                None => wrong.push("the host run lacks this case".into()),
            }
        }
        if case.name == "eatmem"
            && !text.contains("eatmem: malloc failed with ENOMEM\n")
            && !text.contains("status=137\n")
        {
            wrong.push("neither ENOMEM nor a SIGKILL (status 137)".into());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "case {} ({}): {}\n--- guest output:\n{text}--- kernel log:\n{}",
                case.name,
                case.command,
                wrong.join("; "),
                log.join("\n")
            ));
        }
    }
    if !failures.is_empty() {
        return Err(failures.join("\n\n"));
    }
    let not_run: Vec<String> = NOT_YET
        .iter()
        .map(|(name, why)| format!("{name}: {why}"))
        .collect();
    let mut summary = format!(
        "{} cases on {cpus} CPU(s), {} compared with the host",
        cases().count(),
        cases().filter(|c| c.host).count()
    );
    if !not_run.is_empty() {
        summary.push_str(&format!("; not run yet: {}", not_run.join("; ")));
    }
    Ok(summary)
}

/// The lines of `host` and `guest` side by side where they differ.
fn difference(host: &str, guest: &str) -> String {
    let (host, guest): (Vec<&str>, Vec<&str>) = (host.lines().collect(), guest.lines().collect());
    (0..host.len().max(guest.len()))
        .filter(|&i| host.get(i) != guest.get(i))
        .map(|i| {
            format!(
                "  host:  {}\n  guest: {}",
                host.get(i).unwrap_or(&"(nothing)"),
                guest.get(i).unwrap_or(&"(nothing)")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
