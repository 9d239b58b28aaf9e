//! User space: Debian's busybox-static and bash-static run as processes on the kernel, their
//! output compared byte for byte with the same binaries run on the host.
//!
//! One boot per scenario. The host generates the inputs (`cases`), writes a driver script, runs
//! every command line on the host (`/bin/busybox sh -c LINE` in a directory holding the inputs,
//! the host's PATH a directory of links to the same busybox), then boots the kernel with an
//! initrd holding the default user space plus `/test` (inputs and scripts), process 1 being
//! `/bin/sh /test/run.sh`. The guest driver mounts the scenario's blank ext2 disk on `/mnt`,
//! copies the inputs there and runs each line in that copy, its stdout and stderr in
//! `/mnt/out/N.out` and its exit status in `/mnt/out/N.status`, and prints `@@line N` on the
//! console as each line starts (so a hang or a panic names its line); the host reads the results
//! back with `debugfs -R rdump` and checks the image with `e2fsck -fn`, which doubles as the
//! check that files busybox writes on a native ext2 mount are sound.

use super::ext2::host_tool;
use super::*;
use std::path::Path;

mod cases;

const BUSYBOX: &str = "/bin/busybox";
const BASH_STATIC: &str = "/bin/bash-static";

/// Why a user-space scenario cannot run on this host, if it cannot: Debian's busybox-static
/// (and for `bash`, bash-static) must be installed, as `scripts/setup` does.
pub(super) fn userland_missing(bash: bool) -> Option<String> {
    let installed = |package: &str, file: &str| {
        let status = std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${Status}", package])
            .output();
        let dpkg_says = match status {
            Ok(output) => output.stdout == b"install ok installed",
            Err(_) => true, // no dpkg: the file alone decides
        };
        dpkg_says && Path::new(file).is_file()
    };
    let mut missing = Vec::new();
    if !installed("busybox-static", BUSYBOX) {
        missing.push("busybox-static");
    }
    if bash && !installed("bash-static", BASH_STATIC) {
        missing.push("bash-static");
    }
    (!missing.is_empty()).then(|| {
        format!(
            "Debian's {} not installed (scripts/setup installs it)",
            missing.join(" and ")
        )
    })
}

pub(super) fn busybox_commands_scenario(
    kernel: &Path,
    accel: Accel,
    cpus: u32,
) -> Result<String, String> {
    compare(
        kernel,
        accel,
        cpus,
        &format!("busybox-smp{cpus}"),
        cases::BUSYBOX_LINES,
        cases::busybox_inputs,
        Storage::Native,
    )
}

/// The busybox lines with their files served by NetBSD's ext2 through the rump kernel: on a
/// virtio disk (etfs) or on a USB stick (EHCI and umass in the rump kernel).
pub(super) fn busybox_rump_scenario(
    kernel: &Path,
    accel: Accel,
    storage: Storage,
) -> Result<String, String> {
    let name = match storage {
        Storage::RumpUsb => "busybox-rump-usb",
        _ => "busybox-rump",
    };
    compare(
        kernel,
        accel,
        2,
        name,
        cases::BUSYBOX_LINES,
        cases::busybox_inputs,
        storage,
    )
}

/// Where the guest's working files live.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Storage {
    /// The native ext2 driver on a virtio disk.
    Native,
    /// NetBSD's ext2fs through rump on the same virtio disk.
    RumpVirtio,
    /// NetBSD's ext2fs through rump on a USB stick NetBSD's EHCI and umass drivers attach.
    RumpUsb,
}

impl Storage {
    fn describe(self) -> &'static str {
        match self {
            Storage::Native => "native ext2",
            Storage::RumpVirtio => "NetBSD's ext2 through rump (virtio disk)",
            Storage::RumpUsb => "NetBSD's ext2 through rump (USB stick, EHCI + umass)",
        }
    }

    /// The shell commands that mount the scenario's disk on /mnt.
    fn mount_commands(self) -> &'static str {
        match self {
            Storage::Native => "mount -t ext2 /dev/vda /mnt",
            Storage::RumpVirtio => "mount -t rump-ext2fs /dev/vda /mnt",
            // umass attaches a while after boot: retry for up to two minutes.
            Storage::RumpUsb => {
                "tries=0; until mount -t rump-ext2fs /dev/sd0a /mnt 2>/dev/null; do tries=$((tries+1)); [ $tries -ge 120 ] && break; sleep 1; done; grep -q ' /mnt ' /proc/mounts"
            }
        }
    }

    fn devices(self, disk: &Path) -> Vec<String> {
        match self {
            Storage::RumpUsb => [
                "-device".to_string(),
                "ich9-usb-ehci1,id=ehci".to_string(),
                "-drive".to_string(),
                format!("if=none,id=stick,file={},format=raw", disk.display()),
                "-device".to_string(),
                "usb-storage,bus=ehci.0,drive=stick".to_string(),
            ]
            .into(),
            _ => virtio_disk(disk),
        }
    }
}

pub(super) fn bash_script_scenario(kernel: &Path, accel: Accel) -> Result<String, String> {
    compare(
        kernel,
        accel,
        2,
        "bash",
        cases::BASH_LINES,
        cases::bash_inputs,
        Storage::Native,
    )
}

/// What one line printed (stdout and stderr together) and its exit status.
#[derive(PartialEq)]
struct Outcome {
    output: Vec<u8>,
    status: String,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// Runs `lines` on the host and in the guest and compares them line by line.
fn compare(
    kernel: &Path,
    accel: Accel,
    cpus: u32,
    name: &str,
    lines: &[&str],
    inputs: fn(&Path) -> Result<(), String>,
    storage: Storage,
) -> Result<String, String> {
    let build = crate::root().join("build/userspace").join(name);
    let _ = std::fs::remove_dir_all(&build);
    let overlay = build.join("overlay");
    let test = overlay.join("test");
    inputs(&test.join("in"))?;
    std::fs::write(test.join("lines.sh"), lines_script(lines)).map_err(io(&test))?;
    std::fs::write(test.join("run.sh"), run_script(storage)).map_err(io(&test))?;

    let expected = run_on_host(&build, &test, lines.len(), inputs)?;

    let initrd = build.join("initrd.tar.lz4");
    let (code, report) = host_tool(
        &crate::root().join("scripts/mkinitrd").to_string_lossy(),
        &[
            &initrd.to_string_lossy(),
            "--add",
            &overlay.to_string_lossy(),
        ],
    )?;
    if code != 0 {
        return Err(format!(
            "scripts/mkinitrd failed:\n{}",
            String::from_utf8_lossy(&report)
        ));
    }
    let disk = build.join("disk.img");
    let disk_name = disk.to_string_lossy().into_owned();
    let (code, _) = host_tool(
        "mke2fs",
        &[
            "-q",
            "-F",
            "-t",
            "ext2",
            "-b",
            "1024",
            "-L",
            "userspace",
            &disk_name,
            "48M",
        ],
    )?;
    if code != 0 {
        return Err(format!("mke2fs {disk_name} failed"));
    }

    let mut boot = boot(
        kernel,
        accel,
        "512M",
        cpus,
        "log=warn init=/bin/sh -- /test/run.sh",
    );
    boot.initrd = Some(initrd);
    let (code, console) = qemu::run_to_exit_with(&boot, &storage.devices(&disk))?;
    if code != qemu::EXIT_SUCCESS {
        // The last `@@line N` the driver printed names the line that was running.
        let running = console
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("@@line "))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .and_then(|n| {
                Some(format!(
                    " during line {n}: {}",
                    lines.get(n.checked_sub(1)?)?
                ))
            })
            .unwrap_or_default();
        return Err(format!(
            "QEMU exited with {code}, not {} (poweroff -f){running}; console:\n{console}",
            qemu::EXIT_SUCCESS
        ));
    }
    if !console.contains("driver: done")
        || console.contains("driver: cannot")
        || console.contains("driver: wrong")
    {
        return Err(format!("the driver did not finish; console:\n{console}"));
    }
    let got = read_disk(&build, &disk_name, lines.len())?;

    let mut failures = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let want = &expected[index];
        match &got[index] {
            Some(outcome) if outcome == want => {}
            Some(outcome) => failures.push(explain(index + 1, line, want, outcome)),
            None => failures.push(format!(
                "line {}: {}\n  no output captured (the line did not finish?)",
                index + 1,
                line
            )),
        }
    }
    let (code, report) = host_tool("e2fsck", &["-fn", &disk_name])?;
    if code != 0 {
        failures.push(format!(
            "e2fsck -fn {disk_name} (written by busybox on {}) exit {code}:\n{}",
            storage.describe(),
            String::from_utf8_lossy(&report)
        ));
    }
    if failures.is_empty() {
        let rump = if storage == Storage::Native {
            ""
        } else {
            "; a killed process's open file was closed in the rump kernel (umount refused before the kill, accepted after)"
        };
        Ok(format!(
            "{} lines match the host's output and status byte for byte; written on {}, e2fsck -fn clean{rump}",
            lines.len(),
            storage.describe()
        ))
    } else {
        Err(format!(
            "{} of {} lines differ from the host or the disk is unsound:\n{}",
            failures.len(),
            lines.len(),
            failures.join("\n")
        ))
    }
}

/// The shell function that runs each line, then one call per line.
fn lines_script(lines: &[&str]) -> String {
    let mut script = String::from(LINES_PROLOGUE);
    for (index, line) in lines.iter().enumerate() {
        script.push_str(&format!("run {} {}\n", index + 1, qemu::shell_quote(line)));
    }
    script
}

const LINES_PROLOGUE: &str = r#"# Runs each command line with /bin/busybox sh -c in the working directory $1; its stdout and
# stderr go to $2/N.out and its exit status to $2/N.status; `@@line N` on stdout as it starts.
work=$1
out=$2
export TZ=UTC
run() {
    echo "@@line $1"
    cd "$work" || exit 1
    /bin/busybox sh -c "$2" >"$out/$1.out" 2>&1 </dev/null
    echo $? >"$out/$1.status"
}
"#;

/// Process 1 in the guest.
fn run_script(storage: Storage) -> String {
    let holder = if storage == Storage::Native {
        ""
    } else {
        HOLD_AND_KILL
    };
    RUN_SCRIPT
        .replace("@MOUNT@", storage.mount_commands())
        .replace("@HOLD@", holder)
}

const RUN_SCRIPT: &str = r#"# Process 1 of the user-space scenarios: copy the inputs to the mounted disk, run
# /test/lines.sh there, unmount and power off.
if @MOUNT@; then
    if mkdir /mnt/work /mnt/out && cp -a /test/in/. /mnt/work/; then
        /bin/busybox sh /test/lines.sh /mnt/work /mnt/out
    else
        echo "driver: cannot copy the inputs to /mnt"
    fi
    cd /
    sync
@HOLD@
    umount /mnt || echo "driver: cannot umount /mnt"
else
    echo "driver: cannot mount the disk on /mnt"
fi
echo "driver: done"
poweroff -f
"#;

/// Through rump: a process holding a file open keeps the rump kernel from unmounting; once it
/// is killed its descriptor must be closed there, so the unmount that follows succeeds.
const HOLD_AND_KILL: &str = r#"    /bin/busybox sh -c 'exec 3</mnt/out/1.out; echo held >/mnt/held; exec sleep 1000' &
    holder=$!
    tries=0
    while [ ! -e /mnt/held ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries+1)); done
    if umount /mnt 2>/dev/null; then
        echo "driver: wrong: umount succeeded while a process held a file open"
        mount -t rump-ext2fs /dev/vda /mnt
    fi
    kill -9 $holder
    wait $holder
    rm -f /mnt/held
"#;

/// Runs the lines on the host in a fresh copy of the inputs, PATH a directory of links to the
/// same busybox (and `bash` to bash-static), and returns each line's outcome.
fn run_on_host(
    build: &Path,
    test: &Path,
    count: usize,
    inputs: fn(&Path) -> Result<(), String>,
) -> Result<Vec<Outcome>, String> {
    let host = build.join("host");
    let (work, out, bin) = (host.join("work"), host.join("out"), host.join("bin"));
    inputs(&work)?;
    for directory in [&out, &bin] {
        std::fs::create_dir_all(directory).map_err(io(directory))?;
    }
    let list = std::process::Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .map_err(|e| format!("{BUSYBOX} --list: {e}"))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        std::os::unix::fs::symlink(BUSYBOX, bin.join(applet)).map_err(io(&bin))?;
    }
    if Path::new(BASH_STATIC).is_file() {
        std::os::unix::fs::symlink(BASH_STATIC, bin.join("bash")).map_err(io(&bin))?;
    }
    let output = std::process::Command::new("timeout")
        .arg("300")
        .arg(BUSYBOX)
        .arg("sh")
        .arg(test.join("lines.sh"))
        .arg(&work)
        .arg(&out)
        .current_dir(&work)
        .env_clear()
        .env("HOME", "/")
        .env("PATH", &bin)
        .env("TERM", "vt100")
        .env("SHELL", "/bin/sh")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the lines on the host: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the host run failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    read_outcomes(&out, count)?
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| {
            outcome.ok_or_else(|| format!("the host run left no result for line {}", index + 1))
        })
        .collect()
}

/// Reads `N.out` and `N.status` for each line from `directory`.
fn read_outcomes(directory: &Path, count: usize) -> Result<Vec<Option<Outcome>>, String> {
    Ok((1..=count)
        .map(|n| {
            let output = std::fs::read(directory.join(format!("{n}.out"))).ok()?;
            let status = std::fs::read_to_string(directory.join(format!("{n}.status"))).ok()?;
            Some(Outcome {
                output,
                status: status.trim().to_owned(),
            })
        })
        .collect())
}

/// Copies `/out` out of the guest's disk with debugfs.
fn read_disk(build: &Path, disk: &str, count: usize) -> Result<Vec<Option<Outcome>>, String> {
    let guest = build.join("guest");
    std::fs::create_dir_all(&guest).map_err(io(&guest))?;
    let request = format!("rdump /out {}", guest.display());
    let (code, _) = host_tool("debugfs", &["-R", &request, disk])?;
    if code != 0 || !guest.join("out").is_dir() {
        return Err(format!(
            "debugfs -R '{request}' {disk} failed (exit {code})"
        ));
    }
    read_outcomes(&guest.join("out"), count)
}

/// One mismatch: the command, the statuses, and both outputs from the first differing line on.
fn explain(number: usize, command: &str, want: &Outcome, got: &Outcome) -> String {
    let mut text = format!("line {number}: {command}\n");
    if want.status != got.status {
        text.push_str(&format!(
            "  exit status: expected {}, got {}\n",
            want.status, got.status
        ));
    }
    if want.output != got.output {
        let expected = String::from_utf8_lossy(&want.output);
        let actual = String::from_utf8_lossy(&got.output);
        let expected: Vec<&str> = expected.split_inclusive('\n').collect();
        let actual: Vec<&str> = actual.split_inclusive('\n').collect();
        let first = expected
            .iter()
            .zip(&actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        text.push_str(&format!(
            "  output differs from its line {} ({} bytes expected, {} got)\n",
            first + 1,
            want.output.len(),
            got.output.len()
        ));
        let show = |label: &str, lines: &[&str], text: &mut String| {
            text.push_str(&format!("  {label}:\n"));
            let from = first.saturating_sub(2);
            for line in lines.iter().skip(from).take(12) {
                text.push_str(&format!("    |{}\n", line.escape_debug()));
            }
            if lines.len() > from + 12 {
                text.push_str(&format!("    ... {} more lines\n", lines.len() - from - 12));
            }
        };
        show("expected (host)", &expected, &mut text);
        show("got (guest)", &actual, &mut text);
    }
    text
}
