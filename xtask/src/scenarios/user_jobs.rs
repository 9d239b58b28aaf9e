//! Interactive job control through the serial line, as a person types it: busybox `sh` and
//! Debian's `bash` as process 1's shell on the console terminal — background jobs, `jobs`,
//! `^Z`, `bg`, `fg`, `kill %1`, `^C` on a foreground `sleep`, `^C` during blocking reads on the
//! terminal and on a pipe.

use super::*;

const CTRL_C: &[u8] = b"\x03";
const CTRL_Z: &[u8] = b"\x1a";

/// Whether the host has Debian's static busybox and bash (the default initrd carries them).
pub(super) fn userland_available() -> bool {
    std::path::Path::new("/bin/busybox").exists()
        && std::path::Path::new("/bin/bash-static").exists()
}

/// Sends `line` and waits for `expect` after it; returns the position after the match.
fn step(session: &mut Session, from: usize, line: &str, expect: &str) -> Result<usize, String> {
    session.send(line)?;
    let at = session
        .wait_for(expect, from)
        .map_err(|e| format!("after '{line}': expected '{expect}': {e}"))?;
    Ok(at + expect.len())
}

fn control(session: &mut Session, from: usize, key: &[u8], expect: &str) -> Result<usize, String> {
    session.send_bytes(key)?;
    let at = session
        .wait_for(expect, from)
        .map_err(|e| format!("after control key {key:?}: expected '{expect}': {e}"))?;
    Ok(at + expect.len())
}

/// The same session of job control in one shell; `prompt` is the shell's prompt text.
fn job_control(session: &mut Session, mut at: usize, prompt: &str) -> Result<usize, String> {
    at = step(session, at, "sleep 300 &", prompt)?;
    at = step(session, at, "jobs", "sleep 300")?;
    // ^C on a foreground job ends it and comes back to the prompt with status 130.
    at = step(session, at, "sleep 200", "sleep 200")?;
    std::thread::sleep(Duration::from_millis(500));
    at = control(session, at, CTRL_C, prompt)?;
    at = step(session, at, "echo status=$?", "status=130")?;
    // ^Z stops it, bg resumes it in the background.
    at = step(session, at, "sleep 100", "sleep 100")?;
    std::thread::sleep(Duration::from_millis(500));
    at = control(session, at, CTRL_Z, "Stopped")?;
    at = step(session, at, "jobs", "Stopped")?;
    at = step(session, at, "bg %2", prompt)?;
    at = step(session, at, "jobs %2", "Running")?;
    // kill %1 terminates the first job; fg brings the second back, ^C ends it.
    at = step(session, at, "kill %1", prompt)?;
    at = step(session, at, "fg %2", "sleep 100")?;
    std::thread::sleep(Duration::from_millis(500));
    at = control(session, at, CTRL_C, prompt)?;
    at = step(session, at, "jobs; echo jobs-done", "jobs-done")?;
    // ^C during a blocking read on the terminal and on a pipe.
    at = step(session, at, "read line", "read line")?;
    std::thread::sleep(Duration::from_millis(300));
    at = control(session, at, CTRL_C, prompt)?;
    at = step(session, at, "sleep 100 | cat", "sleep 100 | cat")?;
    std::thread::sleep(Duration::from_millis(500));
    at = control(session, at, CTRL_C, prompt)?;
    at = step(session, at, "echo still-alive", "still-alive")?;
    Ok(at)
}

pub(super) fn user_job_control_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    cpus: u32,
) -> Result<String, String> {
    let (initrd, _) = crate::build_images()?;
    let mut boot = boot(kernel, accel, "512M", cpus, "init=/bin/sh log=warn");
    boot.initrd = Some(initrd.ok_or("scripts/mkinitrd is missing")?);
    let mut session = Session::start(&boot)?;
    let mut at = session.wait_for("/ # ", 0)? + 4;
    at = job_control(&mut session, at, "/ # ")?;
    // The same in bash, started from the busybox shell.
    at = step(&mut session, at, "bash", "bash-5")?;
    at = session.wait_for("# ", at)? + 2;
    at = job_control(&mut session, at, "# ")?;
    at = step(&mut session, at, "exit", "/ # ")?;
    session.send("poweroff -f")?;
    let code = session.wait_exit()?;
    let output = session.output();
    let _ = at;
    if code != qemu::EXIT_SUCCESS {
        return Err(format!(
            "poweroff -f did not end the machine cleanly ({code}):\n{output}"
        ));
    }
    for bad in ["CPU EXCEPTION", "panicked", "kernel stopped"] {
        if output.contains(bad) {
            return Err(format!("'{bad}' in the serial output:\n{output}"));
        }
    }
    Ok(format!("busybox sh and bash job control on {cpus} CPUs"))
}
