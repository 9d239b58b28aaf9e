//! Starting QEMU with the kernel: accelerator choice, a hard timeout, and serial I/O.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Exit statuses QEMU reports after the kernel writes to `isa-debug-exit` (35 = tests failed).
pub const EXIT_SUCCESS: i32 = 33;
pub const EXIT_PANIC: i32 = 37;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
        }
    }
}

/// Whether /dev/kvm can be opened for reading and writing.
pub fn kvm_usable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// How to boot the kernel once.
#[derive(Debug, Clone)]
pub struct Boot {
    pub kernel: PathBuf,
    pub initrd: Option<PathBuf>,
    pub disk: Option<PathBuf>,
    pub memory: String,
    pub cpus: u32,
    pub append: String,
    pub accel: Accel,
    pub timeout: Duration,
    /// Boot this ISO through the firmware and its boot loader instead of `-kernel`.
    pub cdrom: Option<PathBuf>,
}

impl Boot {
    pub fn command(&self) -> Command {
        if crate::arch::Arch::current() == crate::arch::Arch::Aarch64 {
            return self.aarch64_command();
        }
        let mut command = Command::new("qemu-system-x86_64");
        command.args([
            "-machine",
            "q35",
            "-m",
            &self.memory,
            "-smp",
            &self.cpus.to_string(),
        ]);
        match self.accel {
            Accel::Kvm => command.args(["-accel", "kvm", "-cpu", "host"]),
            Accel::Tcg => command.args(["-accel", "tcg", "-cpu", "max"]),
        };
        if let Some(iso) = &self.cdrom {
            command.arg("-cdrom").arg(iso);
        } else {
            command.arg("-kernel").arg(&self.kernel);
            if let Some(initrd) = &self.initrd {
                command.arg("-initrd").arg(initrd);
            }
            command.args(["-append", &self.append]);
        }
        if let Some(disk) = &self.disk {
            command
                .arg("-drive")
                .arg(format!("file={},if=none,id=vda,format=raw", disk.display()));
            command.args(["-device", "virtio-blk-pci,drive=vda"]);
        }
        command.args([
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-no-reboot",
        ]);
        command
    }
}

impl Boot {
    /// The aarch64 machine: QEMU's `virt` board with a GICv3 and a Cortex-A72, always under
    /// TCG on this host. The kernel is an arm64 Image; it leaves QEMU through semihosting's exit
    /// call (the `semihosting` word on its command line says that QEMU offers it), with the same
    /// exit codes as x86_64's `isa-debug-exit`.
    fn aarch64_command(&self) -> Command {
        let mut command = Command::new("qemu-system-aarch64");
        command.args([
            "-machine",
            "virt,gic-version=3",
            "-cpu",
            "cortex-a72",
            "-accel",
            "tcg",
            "-m",
            &self.memory,
            "-smp",
            &self.cpus.to_string(),
        ]);
        command.arg("-kernel").arg(&self.kernel);
        if let Some(initrd) = &self.initrd {
            command.arg("-initrd").arg(initrd);
        }
        command.args(["-append", &format!("semihosting {}", self.append)]);
        if let Some(disk) = &self.disk {
            command
                .arg("-drive")
                .arg(format!("file={},if=none,id=vda,format=raw", disk.display()));
            command.args(["-device", "virtio-blk-pci,drive=vda"]);
        }
        command.args([
            "-semihosting-config",
            "enable=on,target=native",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
        ]);
        command
    }

    /// The command with `extra` QEMU arguments (devices, drives) after the standard ones.
    pub fn command_with(&self, extra: &[String]) -> Command {
        let mut command = self.command();
        command.args(extra);
        command
    }
}

/// How long the output readers may take to reach end of file once QEMU is gone. Its pipes close
/// with the process, so they finish at once; this only bounds a reader that somehow does not.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// The command as one shell-quoted line, to boot the same machine by hand.
pub fn shell_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| shell_quote(&word.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// One QEMU started by a [`Session`]: what the suite shows when a scenario fails.
pub struct Launch {
    pub command: String,
    serial: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Launch {
    pub fn serial(&self) -> String {
        text(&self.serial)
    }

    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }
}

static LAUNCHES: Mutex<Vec<Launch>> = Mutex::new(Vec::new());

/// The QEMUs started since the last call, oldest first.
pub fn take_launches() -> Vec<Launch> {
    std::mem::take(&mut *LAUNCHES.lock().unwrap_or_else(|e| e.into_inner()))
}

fn text(buffer: &Mutex<Vec<u8>>) -> String {
    let bytes = buffer.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&bytes).replace('\r', "")
}

/// Copies `stream` into `sink` until end of file.
fn read_all(mut stream: impl Read, sink: &Mutex<Vec<u8>>) -> std::io::Result<()> {
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => sink
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

type Reader = (&'static str, JoinHandle<std::io::Result<()>>);

/// A running QEMU whose serial output (its stdout) and stderr are collected in the background;
/// the stderr is shown with a failing scenario (see [`take_launches`]).
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    serial: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The stdout and stderr readers until [`Session::drain`] has joined them.
    readers: Vec<Reader>,
    deadline: Instant,
    /// End of the last shell prompt consumed by `wait_prompt`/`ask`.
    cursor: usize,
}

impl Session {
    pub fn start(boot: &Boot) -> Result<Self, String> {
        Self::start_with(boot, &[])
    }

    /// Starts QEMU with `extra` arguments appended (see [`Boot::command_with`]).
    pub fn start_with(boot: &Boot, extra: &[String]) -> Result<Self, String> {
        let mut command = boot.command_with(extra);
        let line = shell_line(&command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-x86_64: {e} (run scripts/setup)"))?;
        let serial = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let spawn = |name, stream: Box<dyn Read + Send>, sink: &Arc<Mutex<Vec<u8>>>| {
            let sink = Arc::clone(sink);
            (name, std::thread::spawn(move || read_all(stream, &sink)))
        };
        if let Some(stream) = child.stdout.take() {
            readers.push(spawn("stdout", Box::new(stream), &serial));
        }
        if let Some(stream) = child.stderr.take() {
            readers.push(spawn("stderr", Box::new(stream), &stderr));
        }
        LAUNCHES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Launch {
                command: line,
                serial: Arc::clone(&serial),
                stderr: Arc::clone(&stderr),
            });
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            serial,
            stderr,
            readers,
            deadline: Instant::now() + boot.timeout,
            cursor: 0,
        })
    }

    /// Waits for the kernel shell's first prompt.
    pub fn wait_prompt(&mut self) -> Result<(), String> {
        self.cursor = self.wait_for("kernel> ", self.cursor)?;
        Ok(())
    }

    /// Runs one shell command and returns what it printed up to the next prompt.
    pub fn ask(&mut self, command: &str) -> Result<String, String> {
        self.send(command)?;
        let end = self.wait_for("kernel> ", self.cursor)?;
        let answer = self.output()[self.cursor..end].to_owned();
        self.cursor = end;
        Ok(answer)
    }

    /// The serial console output so far (complete once `wait_exit` has returned).
    pub fn output(&self) -> String {
        text(&self.serial)
    }

    /// What QEMU wrote to its stderr so far (its warnings and `-trace` lines).
    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    /// Waits until the output after byte `from` contains `needle`; returns the end offset.
    pub fn wait_for(&mut self, needle: &str, from: usize) -> Result<usize, String> {
        let find = |text: String| {
            text.get(from..)
                .and_then(|t| t.find(needle))
                .map(|position| from + position + needle.len())
        };
        loop {
            if let Some(end) = find(self.output()) {
                return Ok(end);
            }
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                // The needle may be in the last bytes the readers had not yet copied.
                self.drain()?;
                if let Some(end) = find(self.output()) {
                    return Ok(end);
                }
                // With -no-reboot, a machine reset (a triple fault) ends QEMU with status 0;
                // the kernel itself always leaves through isa-debug-exit (odd codes >= 33).
                let why = if status.code() == Some(0) {
                    " (status 0: the machine reset itself, most likely a triple fault)"
                } else {
                    ""
                };
                return Err(format!(
                    "QEMU exited ({status}){why} before '{needle}' appeared"
                ));
            }
            if Instant::now() > self.deadline {
                self.kill();
                return Err(format!("timed out waiting for '{needle}'"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        // Type slowly enough for the 16-byte UART FIFO.
        for chunk in line.as_bytes().chunks(8) {
            stdin.write_all(chunk).map_err(|e| e.to_string())?;
            stdin.flush().map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_millis(5));
        }
        stdin.write_all(b"\r").map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())
    }

    /// Types raw bytes (control characters such as ^C and ^Z) without a line end.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(bytes).map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())
    }

    /// Waits for QEMU to exit (killing it at the deadline) and for every output reader to reach
    /// end of file; returns QEMU's exit code. Only then is [`Session::output`] complete.
    pub fn wait_exit(&mut self) -> Result<i32, String> {
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                self.drain()?;
                return status
                    .code()
                    .ok_or_else(|| format!("QEMU was killed ({status})"));
            }
            if Instant::now() > self.deadline {
                self.kill();
                return Err("timed out".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `poweroff` and requires the kernel's orderly exit code.
    pub fn poweroff(&mut self) -> Result<(), String> {
        self.send("poweroff")?;
        match self.wait_exit()? {
            EXIT_SUCCESS => Ok(()),
            code => Err(format!(
                "'poweroff' ended QEMU with exit code {code}, not {EXIT_SUCCESS}; output:\n{}",
                self.output()
            )),
        }
    }

    /// Kills QEMU, reaps it and lets the readers finish (their errors are moot then).
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.drain();
    }

    /// Joins the output readers once QEMU has exited: each must reach end of file within
    /// [`DRAIN_GRACE`], or the output is incomplete and that is an error.
    fn drain(&mut self) -> Result<(), String> {
        let limit = Instant::now() + DRAIN_GRACE;
        while self.readers.iter().any(|(_, handle)| !handle.is_finished()) {
            if Instant::now() > limit {
                let stuck: Vec<_> = self
                    .readers
                    .iter()
                    .filter(|(_, handle)| !handle.is_finished())
                    .map(|(name, _)| *name)
                    .collect();
                return Err(format!(
                    "QEMU exited but reading its {} did not reach end of file within {DRAIN_GRACE:?}; the output is incomplete",
                    stuck.join(" and ")
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (name, handle) in self.readers.drain(..) {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("reading QEMU's {name}: {e}")),
                Err(_) => return Err(format!("the reader of QEMU's {name} panicked")),
            }
        }
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a boot to completion and returns (exit code, serial output); the output is complete
/// (QEMU has exited and both readers reached end of file).
pub fn run_to_exit(boot: &Boot) -> Result<(i32, String), String> {
    run_to_exit_with(boot, &[])
}

/// [`run_to_exit`] with `extra` QEMU arguments.
pub fn run_to_exit_with(boot: &Boot, extra: &[String]) -> Result<(i32, String), String> {
    let mut session = Session::start_with(boot, extra)?;
    match session.wait_exit() {
        Ok(code) => Ok((code, session.output())),
        Err(e) => Err(format!(
            "{e} (timeout {:?}); output:\n{}",
            boot.timeout,
            session.output()
        )),
    }
}

/// Picks KVM when it is usable and really faster than emulation; says why.
pub fn choose_accel(kernel: &Path) -> (Accel, String) {
    if crate::arch::Arch::current() == crate::arch::Arch::Aarch64 {
        return (
            Accel::Tcg,
            "aarch64 guests run under TCG on this host".into(),
        );
    }
    if let Ok(forced) = std::env::var("ACCEL") {
        return match forced.as_str() {
            "kvm" => (Accel::Kvm, "ACCEL=kvm".into()),
            _ => (Accel::Tcg, format!("ACCEL={forced}")),
        };
    }
    if !kvm_usable() {
        return (Accel::Tcg, "/dev/kvm is not usable".into());
    }
    let probe = |accel| -> Option<u64> {
        let boot = Boot {
            kernel: kernel.to_path_buf(),
            initrd: None,
            disk: None,
            memory: "256M".into(),
            cpus: 1,
            append: "test=probe_speed log=warn".into(),
            accel,
            timeout: Duration::from_secs(60),
            cdrom: None,
        };
        let (_, output) = run_to_exit(&boot).ok()?;
        let line = output.lines().find(|l| l.starts_with("probe: "))?;
        line.split_whitespace().rev().nth(1)?.parse().ok()
    };
    match (probe(Accel::Kvm), probe(Accel::Tcg)) {
        (Some(kvm), Some(tcg)) if kvm <= tcg => (Accel::Kvm, format!("/dev/kvm works (probe loop {kvm} us vs {tcg} us under TCG)")),
        (Some(kvm), Some(tcg)) => (
            Accel::Tcg,
            format!("/dev/kvm opens but runs this guest slower than emulation (probe loop {kvm} us vs {tcg} us under TCG)"),
        ),
        (None, _) => (Accel::Tcg, "/dev/kvm opens but a KVM boot failed".into()),
        (Some(_), None) => (Accel::Kvm, "/dev/kvm works".into()),
    }
}

/// QEMU arguments for a human monitor on the Unix socket `path` (for device hot-plug).
pub fn monitor_arguments(path: &Path) -> Vec<String> {
    let _ = std::fs::remove_file(path);
    vec![
        "-monitor".to_string(),
        format!("unix:{},server,nowait", path.display()),
    ]
}

/// Sends one command to the human monitor at `path`; returns what it answered (escape
/// sequences of its line editor removed).
pub fn monitor_command(path: &Path, command: &str) -> Result<String, String> {
    use std::os::unix::net::UnixStream;
    let mut stream =
        UnixStream::connect(path).map_err(|e| format!("QEMU monitor {}: {e}", path.display()))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(|e| format!("QEMU monitor: {e}"))?;
    std::thread::sleep(Duration::from_millis(300));
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    // Drop the editor's cursor movements; keep the last lines (the answer and the prompt).
    let mut plain = String::new();
    let mut escape = false;
    for c in text.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (true, c) if c.is_ascii_alphabetic() => escape = false,
            (true, _) => {}
            (false, c) => plain.push(c),
        }
    }
    let lines: Vec<&str> = plain.lines().collect();
    let answer = lines[lines.len().saturating_sub(2)..].join("\n");
    if answer.contains("Error") || answer.contains("can't") {
        return Err(format!("QEMU monitor '{command}': {answer}"));
    }
    Ok(answer)
}
