//! Sockets for processes: Debian's busybox `wget` and `nc`, unmodified, over each network stack
//! (`sockets=native`: smoltcp on virtio-net; `sockets=rump`: NetBSD's TCP/IP on wm(4) through
//! the rump kernel). `wget` fetches a random file from an HTTP server the test runs on the
//! host's loopback (the guest sees it as 10.0.2.2) and `md5sum` must print the host's digest;
//! then `nc -l` serves a file on the guest's port 7000, which the host fetches through
//! `hostfwd` (127.0.0.1 only) and compares byte for byte.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::ext2::host_tool;
use super::net_peers::{fetch_forwarded_within, free_port, http_server, random_bytes};
use super::*;

const GUEST_PORT: u16 = 7000;

fn md5_of(path: &Path) -> Result<String, String> {
    let output = std::process::Command::new("md5sum")
        .arg(path)
        .output()
        .map_err(|e| format!("md5sum: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string())
}

/// The guest's process 1.
fn driver(port: u16) -> String {
    format!(
        r#"# wget from the host's server (retried while the stack comes up), then nc -l once.
tries=0
until sum=$(wget -q -O - http://10.0.2.2:{port}/random.bin | md5sum); [ "${{sum%% *}}" != d41d8cd98f00b204e9800998ecf8427e ] && [ -n "$sum" ]; do
    tries=$((tries+1))
    if [ $tries -ge 30 ]; then echo "@@wget failed"; break; fi
    sleep 1
done
echo "@@wget ${{sum%% *}}"
echo "@@nc listening"
nc -l -p {GUEST_PORT} </test/served.bin
echo "@@nc status $?"
echo "@@done"
poweroff -f
"#
    )
}

pub(super) fn user_sockets_scenario(
    kernel: &Path,
    accel: Accel,
    stack: &'static str,
) -> Result<String, String> {
    let build = crate::root().join(format!("build/user-net-{stack}"));
    let _ = std::fs::remove_dir_all(&build);
    let test = build.join("overlay/test");
    std::fs::create_dir_all(&test).map_err(|e| e.to_string())?;
    let fetched = Arc::new(random_bytes(6 << 20, 0x5eed));
    let served = random_bytes(3 << 20, 0xfeed);
    std::fs::write(build.join("fetched.bin"), fetched.as_slice()).map_err(|e| e.to_string())?;
    std::fs::write(test.join("served.bin"), &served).map_err(|e| e.to_string())?;
    let want_md5 = md5_of(&build.join("fetched.bin"))?;
    let server = http_server(
        HashMap::from([("/random.bin".to_string(), Arc::clone(&fetched))]),
        HashMap::new(),
    )?;
    std::fs::write(test.join("net.sh"), driver(server.port)).map_err(|e| e.to_string())?;
    let initrd = build.join("initrd.tar.lz4");
    let overlay = build.join("overlay");
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
    let forwarded = free_port()?;
    let mut extra: Vec<String> = Vec::new();
    let (netdev, device) = match stack {
        "rump" => ("net1", "e1000"),
        _ => ("net0", "virtio-net-pci"),
    };
    extra.extend([
        "-netdev".to_string(),
        format!("user,id={netdev},ipv6=off,hostfwd=tcp:127.0.0.1:{forwarded}-:{GUEST_PORT}"),
        "-device".to_string(),
        format!("{device},netdev={netdev}"),
    ]);
    let mut machine = boot(
        kernel,
        accel,
        "1G",
        2,
        &format!("log=warn sockets={stack} init=/bin/sh -- /test/net.sh"),
    );
    machine.initrd = Some(initrd);
    machine.timeout = Duration::from_secs(600);
    let mut session = Session::start_with(&machine, &extra)?;
    let at = session.wait_for("@@wget ", 0)?;
    let line_end = session.wait_for("\n", at)?;
    let output = session.output();
    let got_md5 = output[at..line_end].trim().to_string();
    if got_md5 != want_md5 {
        return Err(format!(
            "busybox wget | md5sum over the {stack} stack printed '{got_md5}', the host's file is {want_md5}\nserver: {}\nconsole:\n{output}",
            server.log_text()
        ));
    }
    session.wait_for("@@nc listening", 0)?;
    let received = fetch_forwarded_within(forwarded, None, Duration::from_secs(240))?;
    let after = session.wait_for("@@nc status ", 0)?;
    let end = session.wait_for("\n", after)?;
    let nc_status = session.output()[after..end].trim().to_string();
    session.wait_for("@@done", 0)?;
    let _ = session.wait_exit();
    if received != served {
        return Err(format!(
            "the host received {} bytes from the guest's nc -l, the file has {} (equal prefix: {})",
            received.len(),
            served.len(),
            received
                .iter()
                .zip(&served)
                .take_while(|(a, b)| a == b)
                .count()
        ));
    }
    let console = session.output();
    for bad in ["KERNEL PANIC", "CPU EXCEPTION", "panicked"] {
        if console.contains(bad) {
            return Err(format!("the console shows '{bad}':\n{console}"));
        }
    }
    Ok(format!(
        "busybox wget fetched 6 MiB from the host (md5 {got_md5} matches) and nc -l served 3 MiB to the host byte for byte (nc exit {nc_status}), through the {stack} stack"
    ))
}
