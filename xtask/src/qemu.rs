//! Starting QEMU with the kernel: accelerator choice, a hard timeout, and serial I/O.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
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
    /// The command with `extra` QEMU arguments (devices, drives) after the standard ones.
    pub fn command_with(&self, extra: &[String]) -> Command {
        let mut command = self.command();
        command.args(extra);
        command
    }
}

/// A running QEMU whose serial output is collected in the background.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<Vec<u8>>>,
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
        let mut child = boot
            .command_with(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-x86_64: {e} (run scripts/setup)"))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buffer[..n]);
                }
            });
        }
        let stdin = child.stdin.take();
        let started = Instant::now();
        Ok(Self {
            child,
            stdin,
            output,
            deadline: started + boot.timeout,
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

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).replace('\r', "")
    }

    /// Waits until the output after byte `from` contains `needle`; returns the end offset.
    pub fn wait_for(&mut self, needle: &str, from: usize) -> Result<usize, String> {
        loop {
            let text = self.output();
            if let Some(position) = text.get(from..).and_then(|t| t.find(needle)) {
                return Ok(from + position + needle.len());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("QEMU exited ({status}) before '{needle}' appeared"));
            }
            if Instant::now() > self.deadline {
                let _ = self.child.kill();
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

    /// Waits for QEMU to exit (killing it at the deadline); returns its exit code.
    pub fn wait_exit(&mut self) -> Result<i32, String> {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50)); // let the readers drain
                return Ok(status.code().unwrap_or(-1));
            }
            if Instant::now() > self.deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err("timed out".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a boot to completion and returns (exit code, serial output).
pub fn run_to_exit(boot: &Boot) -> Result<(i32, String), String> {
    run_to_exit_with(boot, &[])
}

/// [`run_to_exit`] with `extra` QEMU arguments.
pub fn run_to_exit_with(boot: &Boot, extra: &[String]) -> Result<(i32, String), String> {
    let mut session = Session::start_with(boot, extra)?;
    let code = session.wait_exit();
    let output = session.output();
    match code {
        Ok(code) => Ok((code, output)),
        Err(e) => Err(format!("{e} after {:?}; output:\n{output}", boot.timeout)),
    }
}

/// Picks KVM when it is usable and really faster than emulation; says why.
pub fn choose_accel(kernel: &Path) -> (Accel, String) {
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
