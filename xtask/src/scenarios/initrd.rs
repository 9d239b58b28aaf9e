//! Initrd scenarios: the default initrd as the root, and damaged initrds.

use super::*;

/// Boots with a truncated tar and with garbage as the initrd: the kernel names the damage,
/// keeps what was valid before it, and reaches the shell either way.
pub(super) fn damaged_initrd_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let build = crate::root().join("build");
    std::fs::create_dir_all(&build).map_err(|e| e.to_string())?;
    let tar = build.join("damaged.tar");
    let status = std::process::Command::new("tar")
        .args(["--format=ustar", "--sort=name", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(crate::root().join("rootfs"))
        .arg(".")
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err("tar failed".into());
    }
    let mut bytes = std::fs::read(&tar).map_err(|e| e.to_string())?;
    bytes.truncate(bytes.len() * 2 / 3 + 100); // cut inside an entry
    std::fs::write(&tar, &bytes).map_err(|e| e.to_string())?;
    let garbage = build.join("garbage.initrd");
    std::fs::write(&garbage, b"this is not an archive of any kind\n".repeat(40))
        .map_err(|e| e.to_string())?;
    let mut seen = Vec::new();
    for (image, expect) in [(&tar, "initrd: "), (&garbage, "initrd unusable")] {
        let mut boot = boot(kernel, accel, "256M", 1, "log=info");
        boot.initrd = Some(image.clone());
        let mut session = Session::start(&boot)?;
        session.wait_prompt()?;
        let log = session.output();
        if !log.contains(expect) {
            return Err(format!("boot log lacks '{expect}':\n{log}"));
        }
        if image == &tar
            && !log
                .lines()
                .any(|l| l.contains("WARN") && l.contains("truncated") && l.contains("byte"))
        {
            return Err(format!("truncation not reported with an offset:\n{log}"));
        }
        let listing = session.ask("ls /")?;
        if image == &tar && !listing.contains("README") {
            return Err(format!(
                "entries before the damage were not kept:\n{listing}"
            ));
        }
        session.poweroff()?;
        seen.push(expect);
    }
    Ok(format!(
        "{} damaged initrds reported, shell reached",
        seen.len()
    ))
}

/// Boots with the default initrd and compares `ls` and `cat` with the source directory.
pub(super) fn initrd_scenario(kernel: &std::path::Path, accel: Accel) -> Result<String, String> {
    let (initrd, _) = crate::build_images()?;
    let initrd = initrd.ok_or("scripts/mkinitrd is missing")?;
    let mut boot = boot(kernel, accel, "512M", 2, "log=info");
    boot.initrd = Some(initrd);
    let mut session = Session::start(&boot)?;
    session.wait_prompt()?;
    if !session.output().contains("initrd: ") || session.output().contains("WARN  rootfs") {
        return Err(format!("initrd not loaded cleanly:\n{}", session.output()));
    }
    let rootfs = crate::root().join("rootfs");
    let listing = session.ask("ls /")?;
    let mut names: Vec<String> = std::fs::read_dir(&rootfs)
        .map_err(|e| e.to_string())?
        .map(|e| {
            e.map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in &names {
        if !listing.lines().any(|l| {
            l.split_whitespace().nth(1).map(|n| n.trim_end_matches('/')) == Some(name.as_str())
        }) {
            return Err(format!("'ls /' lacks '{name}':\n{listing}"));
        }
    }
    let motd = std::fs::read_to_string(rootfs.join("etc/motd")).map_err(|e| e.to_string())?;
    let shown = session.ask("cat /etc/motd")?;
    for line in motd.lines() {
        if !shown.contains(line) {
            return Err(format!("'cat /etc/motd' lacks the line '{line}':\n{shown}"));
        }
    }
    let missing = session.ask("cat /no/such/file")?;
    if !missing.contains("cat: /no/such/file:") {
        return Err(format!("missing file not reported:\n{missing}"));
    }
    session.poweroff()?;
    Ok(format!("{} top-level entries match rootfs/", names.len()))
}
