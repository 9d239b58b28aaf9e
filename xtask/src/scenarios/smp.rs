//! Secondary-CPU start-up under stress: a CPU that reaches the kernel only after the boot CPU gave
//! up on it, and many 4-CPU boots while the host's CPUs are saturated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;

/// `late_cpu=2`: CPU 2 turns up after its deadline. The boot CPU must give up on it and on the
/// CPUs after it, say so, and reach the shell; the late CPU must halt itself instead of running
/// on another CPU's parameters or resetting the machine.
pub(super) fn late_cpu_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let mut session = Session::start(&boot(kernel, accel, "512M", 4, "log=info late_cpu=2"))?;
    session.wait_prompt()?;
    let log = session.output();
    let expected = "cpu 2 (APIC ID 2) did not reach the kernel within 5 s; running without it and the 1 CPU(s) after it";
    if !log.contains(expected) {
        return Err(format!("the boot log lacks '{expected}':\n{log}"));
    }
    let cpus = session.ask("cpus")?;
    if !cpus.contains("cpus: 4 present, 2 online") {
        return Err(format!("'cpus' should report 4 present, 2 online:\n{cpus}"));
    }
    // The shell and the scheduler work on the CPUs that did start.
    let threads = session.ask("ps")?;
    if !threads.contains("main") {
        return Err(format!("'ps' answer malformed:\n{threads}"));
    }
    session.poweroff()?;
    Ok("late CPU given up on, reported, and halted by itself; shell on 2 CPUs".into())
}

/// Boots a 4-CPU machine 50 times while two busy threads saturate the host: every boot must
/// reach the prompt and power off with the success code, or the failure is reported.
pub(super) fn smp_boots_under_load_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    const BOOTS: usize = 50;
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut spin = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    spin = std::hint::black_box(spin.wrapping_add(1));
                }
            })
        })
        .collect();
    let mut all_online = 0;
    let mut result = Ok(());
    for round in 1..=BOOTS {
        let attempt = (|| -> Result<bool, String> {
            let mut session = Session::start(&boot(kernel, accel, "256M", 4, "log=warn"))?;
            session.wait_prompt()?;
            let cpus = session.ask("cpus")?;
            session.poweroff()?;
            Ok(cpus.contains("cpus: 4 present, 4 online"))
        })();
        match attempt {
            Ok(true) => all_online += 1,
            Ok(false) => {}
            Err(error) => {
                result = Err(format!("boot {round} of {BOOTS}: {error}"));
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        let _ = thread.join();
    }
    result?;
    Ok(format!(
        "{BOOTS} boots reached the prompt under load; {all_online} with all 4 CPUs online"
    ))
}
