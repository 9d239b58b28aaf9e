//! A rump kernel panic stops the rump kernel, not the native one: `rump panic` forces it (with
//! components through NetBSD's own panic path, without them through the host's panic drill), then
//! the native shell, the initrd and native ext2 on a virtio disk must keep working, and the disk
//! written after the panic must pass the host's `e2fsck`. The drill drives QEMU's e1000 as a rump
//! PCI driver would; after the halt, `lspci` must show that device with bus mastering and INTx
//! off and its interrupt line masked.

use super::*;

pub(super) fn rump_panic_scenario(
    kernel: &std::path::Path,
    accel: Accel,
) -> Result<String, String> {
    let image = crate::root().join("build/rump-halt-ext2.img");
    let _ = std::fs::remove_file(&image);
    let image_name = image.to_string_lossy().into_owned();
    if host_tool("mke2fs", &["-q", "-F", "-t", "ext2", &image_name, "8M"])?.0 != 0 {
        return Err("mke2fs failed".into());
    }
    let (initrd, _) = crate::build_images()?;
    let mut boot = boot(kernel, accel, "512M", 2, "log=warn");
    boot.initrd = initrd;
    let mut devices = virtio_disk(&image);
    devices.extend(["-device".to_string(), "e1000".to_string()]);
    let mut session = Session::start_with(&boot, &devices)?;
    session.wait_prompt()?;
    let expect = |answer: &str, needle: &str, command: &str| -> Result<(), String> {
        match answer.contains(needle) {
            true => Ok(()),
            false => Err(format!("'{command}' lacks '{needle}':\n{answer}")),
        }
    };
    let drill = std::env::var_os("RUMP_COMPONENTS").is_none();
    let forced = session.ask("rump panic")?;
    // The drill prints a panic line; NetBSD's reboot(RB_DUMP) takes the panic path silently.
    let halted = if drill {
        "rump kernel halted: panic: "
    } else {
        "rump kernel halted: panic (last console line: rump kernel halting...)"
    };
    expect(&forced, halted, "rump panic")?;
    expect(&forced, "its threads are parked", "rump panic")?;
    if drill {
        expect(&forced, "drill: driving 00:", "rump panic")?;
        expect(
            &forced,
            "1 interrupt line(s) masked, bus mastering off on 1 device(s)",
            "rump panic",
        )?;
        let listing = session.ask("lspci")?;
        let e1000: String = listing
            .split_inclusive('\n')
            .skip_while(|l| !l.contains("8086:100e"))
            .take_while(|l| l.contains("8086:100e") || l.starts_with("    "))
            .collect();
        for needle in ["bus master off", "INTx off", "masked"] {
            expect(&e1000, needle, "lspci (the e1000 the drill drove)")?;
        }
    }
    if forced.contains("KERNEL PANIC") || forced.contains("kernel stopped") {
        return Err(format!(
            "the rump panic stopped the native kernel:\n{forced}"
        ));
    }
    // Every rump thread parks at its next hypercall; the drill has four (three of its own and
    // the client thread that panicked), which all sleep or wait in hypercalls.
    let deadline = Instant::now() + Duration::from_secs(60);
    let parked = if drill {
        "rump threads parked: 4"
    } else {
        "rump threads parked: "
    };
    let status = loop {
        let status = session.ask("rump")?;
        if status.contains(parked) || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    expect(&status, halted, "rump")?;
    expect(&status, parked, "rump")?;
    let again = session.ask("rump ls /")?;
    expect(&again, "has halted", "rump ls /")?;
    // The native side: initrd, native ext2 read-write, scheduler.
    expect(&session.ask("ls /")?, "README", "ls /")?;
    expect(&session.ask("mount vda /mnt")?, "", "mount vda /mnt")?;
    session.ask("write /mnt/after-panic.txt written after the rump kernel halted")?;
    session.ask("mkdir /mnt/still-here")?;
    expect(
        &session.ask("cat /mnt/after-panic.txt")?,
        "written after the rump kernel halted",
        "cat",
    )?;
    session.ask("umount /mnt")?;
    let threads = session.ask("ps")?;
    let client = if drill { "rump-drill" } else { "rump-client" };
    if !threads
        .lines()
        .any(|l| l.contains(client) && l.contains("Blocked"))
    {
        return Err(format!(
            "the panicked client thread is not parked:\n{threads}"
        ));
    }
    let cpus = session.ask("cpus")?;
    session.send("poweroff")?;
    let code = session.wait_exit()?;
    if code == qemu::EXIT_PANIC {
        return Err(format!(
            "QEMU exit code {code} after poweroff:\n{}",
            session.output()
        ));
    }
    if !cpus.contains("cpu") {
        return Err(format!("'cpus' printed nothing useful:\n{cpus}"));
    }
    let (fsck, fsck_output) = host_tool("e2fsck", &["-fn", &image_name])?;
    if fsck != 0 {
        return Err(format!(
            "e2fsck -fn after the native writes:\n{}",
            String::from_utf8_lossy(&fsck_output)
        ));
    }
    let (_, cat) = host_tool("debugfs", &["-R", "cat /after-panic.txt", &image_name])?;
    expect(
        &String::from_utf8_lossy(&cat),
        "written after the rump kernel halted",
        "debugfs cat",
    )?;
    let (_, listing) = host_tool("debugfs", &["-R", "ls -l /", &image_name])?;
    expect(
        &String::from_utf8_lossy(&listing),
        "still-here",
        "debugfs ls",
    )?;
    Ok(
        "rump halted, its threads parked; shell, initrd and native ext2 kept working; e2fsck clean"
            .into(),
    )
}
