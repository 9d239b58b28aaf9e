//! Network scenarios on QEMU's user network (`-netdev user`; `hostfwd` binds 127.0.0.1 only,
//! and the guest reaches the host's loopback as 10.0.2.2): through the native stack (smoltcp
//! on virtio-net) and, with `RUMP_COMPONENTS` holding the net set, through NetBSD's (wm(4) on
//! an e1000, with the native stack on virtio-net in the same boot).
//!
//! Each stack: ping, a UDP exchange with an echo server, a 32 MiB random file fetched from a server on the host's loopback with
//! matching checksums, a file fetched by the host from the guest's `tcp serve`, an idle check
//! (the native polling thread sleeps), on 1 and 4 CPUs. Faults: garbage, truncated and
//! oversized frames sent from the host through a socket network, the link taken down and up
//! through the monitor, peers vanishing mid-transfer both ways, and a flood of connection
//! attempts — each with its counter or message, and the shell answering after it.

use std::collections::HashMap;
use std::sync::Arc;

use super::net_peers::*;
use super::*;

/// Which stack a scenario drives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stack {
    Native,
    Rump,
}

impl Stack {
    fn flag(self) -> &'static str {
        match self {
            Stack::Native => "",
            Stack::Rump => "-s rump ",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stack::Native => "native",
            Stack::Rump => "rump",
        }
    }
}

/// Whether `RUMP_COMPONENTS` holds the network set (wm(4), PCI, NetBSD's IPv4).
pub(super) fn components_include_net() -> bool {
    std::env::var_os("RUMP_COMPONENTS")
        .map(std::path::PathBuf::from)
        .is_some_and(|dir| {
            [
                "librumpdev_pci_if_wm.a",
                "librumpnet_netinet.a",
                "librumpnet_net.a",
            ]
            .iter()
            .all(|archive| dir.join(archive).exists())
        })
}

pub(super) const NET_SET_MISSING: &str = "RUMP_COMPONENTS does not name a directory with the network set (librumpdev_pci_if_wm, librumpdev_miiphy, librumpdev_pci, librumpnet_netinet, librumpnet_net, librumpnet and their dependencies)";

/// The guest port `tcp serve` listens on in every scenario.
const GUEST_PORT: u16 = 7000;

/// A booted machine with its user networks: the native NIC first (`eth0`), then the e1000
/// for rump (`wm0`), then an optional NIC on a socket network for bad frames.
struct Machine {
    session: Session,
    /// Host ports forwarded to GUEST_PORT: the native stack's, the rump stack's.
    forwarded: [u16; 2],
    monitor: std::path::PathBuf,
}

fn start_machine(
    kernel: &std::path::Path,
    accel: Accel,
    cpus: u32,
    stack: Stack,
    bad_frames: Option<(u16, u16)>,
    initrd: Option<std::path::PathBuf>,
    append: &str,
) -> Result<Machine, String> {
    let forwarded = [free_port()?, free_port()?];
    let mut extra: Vec<String> = vec![
        "-netdev".into(),
        format!(
            "user,id=net0,ipv6=off,hostfwd=tcp:127.0.0.1:{}-:{GUEST_PORT}",
            forwarded[0]
        ),
        "-device".into(),
        "virtio-net-pci,netdev=net0".into(),
    ];
    if stack == Stack::Rump {
        extra.extend([
            "-netdev".into(),
            format!(
                "user,id=net1,ipv6=off,hostfwd=tcp:127.0.0.1:{}-:{GUEST_PORT}",
                forwarded[1]
            ),
            "-device".into(),
            "e1000,netdev=net1".into(),
        ]);
    }
    if let Some((guest_side, host_side)) = bad_frames {
        let model = match stack {
            Stack::Native => "virtio-net-pci",
            Stack::Rump => "e1000",
        };
        extra.extend([
            "-netdev".into(),
            format!("socket,id=bad,udp=127.0.0.1:{host_side},localaddr=127.0.0.1:{guest_side}"),
            "-device".into(),
            format!("{model},netdev=bad"),
        ]);
    }
    let monitor = crate::root().join(format!("build/net-monitor-{}-{cpus}.sock", stack.name()));
    extra.extend(qemu::monitor_arguments(&monitor));
    let mut machine = boot(
        kernel,
        accel,
        "1G",
        cpus,
        &format!("log=info init=kernel {append}"),
    );
    machine.timeout = Duration::from_secs(900);
    machine.initrd = initrd;
    let mut session = Session::start_with(&machine, &extra)?;
    session.wait_prompt()?;
    Ok(Machine {
        session,
        forwarded,
        monitor,
    })
}

/// The forwarded host port of `stack`'s `tcp serve`.
fn forwarded_port(machine: &Machine, stack: Stack) -> u16 {
    machine.forwarded[usize::from(stack == Stack::Rump)]
}

/// Runs a shell command and requires `expect` in its answer.
fn expect(session: &mut Session, command: &str, expect: &str) -> Result<String, String> {
    let answer = session.ask(command)?;
    if answer.contains(expect) {
        Ok(answer)
    } else {
        Err(format!("'{command}' did not say '{expect}':\n{answer}"))
    }
}

/// The number after `name ` in `text` (`runt 3` → 3).
fn counter(text: &str, name: &str) -> Option<u64> {
    let at = text.find(&format!("{name} "))? + name.len() + 1;
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A tar initrd with one 3 MiB random file (`/data/served.bin`) for `tcp serve FILE`.
fn served_file_initrd(cpus: u32, stack: Stack) -> Result<(std::path::PathBuf, Vec<u8>), String> {
    let build = crate::root().join(format!("build/net-{}-{cpus}", stack.name()));
    let _ = std::fs::remove_dir_all(&build);
    std::fs::create_dir_all(build.join("root/data")).map_err(|e| e.to_string())?;
    let bytes = random_bytes(3 << 20, 0x5eed + cpus as u64);
    std::fs::write(build.join("root/data/served.bin"), &bytes).map_err(|e| e.to_string())?;
    let tar = build.join("initrd.tar");
    let status = std::process::Command::new("tar")
        .args(["--format=ustar", "--sort=name", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(build.join("root"))
        .arg(".")
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err("tar failed".into());
    }
    Ok((tar, bytes))
}

/// Ping, 32 MiB download, a file served to the host, and the idle check, through `stack` on
/// `cpus` CPUs.
pub(super) fn network_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    cpus: u32,
    stack: Stack,
    append: &'static str,
) -> Result<String, String> {
    let big = Arc::new(random_bytes(32 << 20, 0xb16 + cpus as u64));
    let big_sum = checksum(&big);
    let files = HashMap::from([("/random.bin".to_string(), Arc::clone(&big))]);
    let server = http_server(files, HashMap::new())?;
    let (initrd, served) = served_file_initrd(cpus, stack)?;
    let mut machine = start_machine(kernel, accel, cpus, stack, None, Some(initrd), append)?;
    let session = &mut machine.session;
    let flag = stack.flag();

    let pinged = expect(
        session,
        &format!("ping {flag}-c 3 10.0.2.2"),
        "3 sent, 3 received",
    )?;
    let echo = udp_echo()?;
    expect(
        session,
        &format!("udp send {flag}10.0.2.2:{} over UDP", echo.port),
        &format!("bytes from 10.0.2.2:{}: echo: over UDP", echo.port),
    )?;
    let fetched = expect(
        session,
        &format!("http get {flag}10.0.2.2:{} /random.bin", server.port),
        "status 200",
    )?;
    let wanted = format!("{} bytes, checksum {big_sum:08x}", big.len());
    if !fetched.contains(&wanted) {
        return Err(format!(
            "the 32 MiB download does not match (want '{wanted}'):\n{fetched}\nserver: {}",
            server.log_text()
        ));
    }
    let rate = fetched
        .lines()
        .find(|line| line.contains("status 200"))
        .and_then(|line| line.split(", ").find(|part| part.ends_with("MB/s")))
        .unwrap_or("?")
        .to_string();

    // The host fetches a file from the guest's `tcp serve`, through hostfwd.
    session.send(&format!("tcp serve {flag}{GUEST_PORT} /data/served.bin"))?;
    let from = session.output().len();
    session.wait_for("listening on port", from)?;
    let received = fetch_forwarded(forwarded_port(&machine, stack), None)?;
    let session = &mut machine.session;
    session.wait_prompt()?;
    if received != served {
        return Err(format!(
            "the host read {} bytes from the guest's tcp serve (checksum {:08x}); the file has {} (checksum {:08x})",
            received.len(),
            checksum(&received),
            served.len(),
            checksum(&served)
        ));
    }

    // The interrupt mode asked for (pci=nomsi: INTx) is the one in use, and it fired.
    let interfaces = session.ask("ifconfig")?;
    let mode = if append.contains("pci=nomsi") {
        "INTx"
    } else {
        "MSI-X"
    };
    if !interfaces.contains(mode) || counter(&interfaces, "interrupts").unwrap_or(0) == 0 {
        return Err(format!(
            "eth0 does not run on {mode} interrupts:\n{interfaces}"
        ));
    }

    // Idle: the native polling thread must sleep (timers only), not spin.
    let passes = |session: &mut Session| -> Result<u64, String> {
        let answer = expect(session, "ifconfig", "native stack:")?;
        counter(&answer, "native stack:").ok_or(format!("no pass count in:\n{answer}"))
    };
    let before = passes(session)?;
    std::thread::sleep(Duration::from_secs(3));
    let after = passes(session)?;
    if after - before > 60 {
        return Err(format!(
            "the native stack made {} polling passes in 3 idle seconds (a busy loop?)",
            after - before
        ));
    }
    if stack == Stack::Rump {
        // Two stacks in one boot: the native one answers beside rump.
        expect(session, "ping -c 2 10.0.2.2", "2 sent, 2 received")?;
    }
    session.poweroff()?;
    let round_trip = pinged
        .lines()
        .find(|l| l.contains("round trip"))
        .and_then(|l| l.split("round trip ").nth(1))
        .unwrap_or("?")
        .to_string();
    Ok(format!(
        "{}: ping {round_trip}, UDP echo, 32 MiB down at {rate}, 3 MiB served to the host, {} idle polling passes in 3 s",
        stack.name(),
        after - before
    ))
}

/// Bad frames, link down and up, peers vanishing both ways and a connection flood, in one
/// boot; the stack and the shell must keep answering after each.
pub(super) fn network_faults_scenario(
    kernel: &std::path::Path,
    accel: Accel,
    stack: Stack,
) -> Result<String, String> {
    let whole = Arc::new(random_bytes(8 << 20, 0xdead));
    let small = Arc::new(random_bytes(256 << 10, 0xbeef));
    let files = HashMap::from([
        ("/cut.bin".to_string(), Arc::clone(&whole)),
        ("/small.bin".to_string(), Arc::clone(&small)),
    ]);
    let server = http_server(files, HashMap::from([("/cut.bin".to_string(), 1 << 20)]))?;
    let (guest_side, host_side) = (free_udp_port()?, free_udp_port()?);
    let mut machine = start_machine(
        kernel,
        accel,
        2,
        stack,
        Some((guest_side, host_side)),
        None,
        "",
    )?;
    let flag = stack.flag();
    let small_ok = format!("{} bytes, checksum {:08x}", small.len(), checksum(&small));
    let mut report = Vec::new();

    // 1. Bad frames on the second NIC; the first keeps working.
    let sent = send_bad_frames(guest_side, host_side)?;
    std::thread::sleep(Duration::from_secs(2));
    let session = &mut machine.session;
    let interfaces = session.ask("ifconfig")?;
    match stack {
        Stack::Native => {
            let eth1 = interfaces
                .split("eth1 (native)")
                .nth(1)
                .ok_or(format!("no eth1 in ifconfig:\n{interfaces}"))?;
            let count = |name| counter(eth1, name).unwrap_or(0);
            let (runt, oversized, malformed, unknown) = (
                count("runt"),
                count("oversized"),
                count("malformed"),
                count("unknown-protocol"),
            );
            if oversized < sent.oversized as u64
                || malformed < sent.malformed as u64
                || unknown < sent.unknown as u64
                || runt + oversized + malformed + unknown
                    < (sent.runts + sent.oversized + sent.malformed + sent.unknown) as u64
            {
                return Err(format!("bad frames not all counted on eth1:\n{interfaces}"));
            }
            let log = session.output();
            for kind in ["runt", "oversized", "malformed", "unknown-protocol"] {
                let lines = log
                    .lines()
                    .filter(|l| l.contains(&format!("eth1: {kind} frame")))
                    .count();
                if lines > 1 {
                    return Err(format!(
                        "'{kind}' frames were logged {lines} times, not once"
                    ));
                }
            }
            report.push(format!(
                "bad frames counted (runt {runt}, oversized {oversized}, malformed {malformed}, unknown {unknown})"
            ));
        }
        Stack::Rump => {
            let wm1 = interfaces
                .split("wm1 (rump)")
                .nth(1)
                .ok_or(format!("no wm1 in ifconfig:\n{interfaces}"))?;
            let frames = counter(wm1, "RX").unwrap_or(0);
            report.push(format!("{frames} bad frames taken by wm1"));
        }
    }
    expect(
        session,
        &format!("http get {flag}10.0.2.2:{} /small.bin", server.port),
        &small_ok,
    )?;

    // 2. The link down and up through the monitor.
    let netdev = match stack {
        Stack::Native => "net0",
        Stack::Rump => "net1",
    };
    qemu::monitor_command(&machine.monitor, &format!("set_link {netdev} off"))?;
    std::thread::sleep(Duration::from_secs(1));
    let session = &mut machine.session;
    expect(
        session,
        &format!("ping {flag}-c 2 10.0.2.2"),
        "2 sent, 0 received",
    )?;
    if stack == Stack::Native && !session.output().contains("eth0: link down") {
        return Err("the link going down was not logged".into());
    }
    qemu::monitor_command(&machine.monitor, &format!("set_link {netdev} on"))?;
    std::thread::sleep(Duration::from_secs(3));
    let session = &mut machine.session;
    expect(session, &format!("ping {flag}-c 3 10.0.2.2"), "received").and_then(|answer| {
        if answer.contains(", 0 received") {
            Err(format!("no answers after the link came back:\n{answer}"))
        } else {
            Ok(answer)
        }
    })?;
    if stack == Stack::Native {
        let interfaces = session.ask("ifconfig")?;
        if counter(&interfaces, "link-changes").unwrap_or(0) < 2 {
            return Err(format!("link changes not counted:\n{interfaces}"));
        }
    }
    report.push("link down and up".into());

    // 3. A server vanishing mid-transfer: the guest reports a short body.
    expect(
        session,
        &format!("http get {flag}10.0.2.2:{} /cut.bin", server.port),
        &format!("short: 1048576 of {} bytes", whole.len()),
    )?;
    // A client vanishing: the first host reader drops after 1 MiB, the second reads it all.
    session.send(&format!(
        "tcp serve {flag}{GUEST_PORT} --bytes 8M --connections 2"
    ))?;
    let from = session.output().len();
    session.wait_for("listening on port", from)?;
    let port = forwarded_port(&machine, stack);
    let partial = fetch_forwarded(port, Some(1 << 20))?;
    let full = fetch_forwarded(port, None)?;
    let session = &mut machine.session;
    session.wait_prompt()?;
    let served = session.output();
    if !served[from..].contains("the peer went away after") {
        return Err(format!(
            "the vanished reader ({} bytes) was not reported:\n{}",
            partial.len(),
            &served[from..]
        ));
    }
    if full != pattern(8 << 20) {
        return Err(format!(
            "the second reader got {} bytes that differ from the generated stream",
            full.len()
        ));
    }
    report.push("peers vanishing both ways reported".into());

    // 4. A flood of connection attempts at a small backlog.
    session.send(&format!(
        "tcp serve {flag}{GUEST_PORT} --bytes 2K --connections 20 --backlog 2"
    ))?;
    let from = session.output().len();
    session.wait_for("listening on port", from)?;
    let served_count = connection_flood(port, 120);
    // Attempts refused while the backlog was full do not come back: finish the 20 one by one.
    let mut sequential = 0;
    while !machine.session.output()[from..].contains(" complete, ") {
        if sequential == 40 {
            return Err(format!(
                "the flooded server never finished its 20 connections:\n{}",
                &machine.session.output()[from..]
            ));
        }
        let _ = fetch_forwarded_within(port, None, Duration::ZERO);
        sequential += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let session = &mut machine.session;
    session.wait_prompt()?;
    let log = session.output();
    if !log[from..].contains("20 complete") {
        return Err(format!(
            "the flooded server did not finish:\n{}",
            &log[from..]
        ));
    }
    if stack == Stack::Native {
        let interfaces = session.ask("ifconfig")?;
        let attempts = counter(&interfaces, "connection-attempts").unwrap_or(0);
        if attempts < 20 {
            return Err(format!("connection attempts not counted:\n{interfaces}"));
        }
        let logged = session
            .output()
            .lines()
            .filter(|l| l.contains("backlog slots are taken"))
            .count();
        if logged > 1 {
            return Err(format!("the full backlog was logged {logged} times"));
        }
        report.push(format!(
            "flood: {attempts} attempts counted, {served_count} of 120 served, full backlog logged {logged} time(s)"
        ));
    } else {
        report.push(format!("flood: {served_count} of 120 served"));
    }
    // The shell and the stack still answer.
    expect(
        session,
        &format!("http get {flag}10.0.2.2:{} /small.bin", server.port),
        &small_ok,
    )?;
    session.poweroff()?;
    Ok(report.join("; "))
}

/// `cargo xtask bench net` (and part of `cargo xtask bench`): `net bench` in one boot with both
/// stacks when the net set is linked — ping round trip (median of 20), a 16 MiB download from
/// the host's loopback and a 16 MiB upload to it — printed with the rump/native ratios.
pub(super) fn network_bench(kernel: &std::path::Path, accel: Accel) -> Result<(), String> {
    const BYTES: usize = 16 << 20;
    let body = Arc::new(random_bytes(BYTES, 0xbe5c));
    let server = http_server(
        HashMap::from([("/bench.bin".to_string(), Arc::clone(&body))]),
        HashMap::new(),
    )?;
    let sink = sink_server()?;
    let stack = if components_include_net() {
        Stack::Rump
    } else {
        println!("network bench: rump figures skipped: {NET_SET_MISSING}");
        Stack::Native
    };
    let mut machine = start_machine(kernel, accel, 2, stack, None, None, "")?;
    let session = &mut machine.session;
    let answer = session.ask(&format!(
        "net bench 10.0.2.2:{} /bench.bin 10.0.2.2:{} {BYTES}",
        server.port, sink.port
    ))?;
    session.poweroff()?;
    let upload = format!(
        "upload: {BYTES} bytes, checksum {:08x}",
        checksum(&pattern(BYTES))
    );
    let uploads = sink.log_text();
    if uploads.lines().filter(|l| *l == upload).count() != 1 + usize::from(stack == Stack::Rump) {
        return Err(format!(
            "the host sink did not get every upload whole (want '{upload}'):\n{uploads}\n{answer}"
        ));
    }
    let mut figures: HashMap<(String, String), f64> = HashMap::new();
    for line in answer.lines().filter_map(|l| l.strip_prefix("bench: ")) {
        println!("network under {}: {line}", accel.name());
        let words: Vec<&str> = line.split_whitespace().collect();
        let value = match words.as_slice() {
            [_, "ping", ms, "ms", ..] => ms.parse().ok(),
            [_, "download", _, "bytes", rate, "KB/s"] | [_, "upload", _, "bytes", rate, "KB/s"] => {
                rate.parse().ok()
            }
            _ => None,
        };
        if let (Some(value), [which, what, ..]) = (value, words.as_slice()) {
            figures.insert((which.to_string(), what.to_string()), value);
        }
    }
    for what in ["download", "upload", "ping"] {
        let pair = (
            figures.get(&("rump".into(), what.into())),
            figures.get(&("native".into(), what.into())),
        );
        if let (Some(rump), Some(native)) = pair {
            println!(
                "network under {}: {what} rump/native ratio {:.3} (one run)",
                accel.name(),
                rump / native
            );
        }
    }
    Ok(())
}
