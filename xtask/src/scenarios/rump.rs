//! Rump component scenarios (only with `RUMP_COMPONENTS`).

use super::*;

/// With components linked: the rump kernel boots at start-up and the shell reports it.
pub(super) fn rump_components_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let mut session = Session::start(&boot(
        kernel,
        accel,
        "512M",
        2,
        "log=info rump.RUMP_VERBOSE=1",
    ))?;
    session.wait_prompt()?;
    let output = session.output();
    for needle in ["NetBSD", "rump_init() returned 0"] {
        if !output.contains(needle) {
            return Err(format!("boot log lacks '{needle}':\n{output}"));
        }
    }
    let answer = session.ask("rump")?;
    if !answer.contains("rump kernel running") {
        return Err(format!("'rump' says:\n{answer}"));
    }
    session.poweroff()?;
    Ok("rump_init() = 0".into())
}
