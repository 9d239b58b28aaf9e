//! Network commands: `ifconfig`, `ping` and `udp send` here, the transfers (`http get`,
//! `tcp serve`, `net bench`) in `transfer`; each on the native stack (smoltcp) or, with
//! `-s rump`, on NetBSD's through the rump kernel.
//!
//! Commands on the rump stack run on a rump client thread (NetBSD's code wants a deep stack and
//! a rump panic must not take the shell with it). Addresses are dotted IPv4: there is no DNS.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use crate::net::socket::{self, InterfaceReport, NetError, Socket, SocketKind, StackKind};
use crate::println;

/// How long a command waits for the stack to get its address.
pub(super) const CONFIGURE_NANOS: u64 = 20_000_000_000;
/// How long one network call may wait before the command gives up.
pub(super) const CALL_NANOS: u64 = 30_000_000_000;

pub(super) fn now() -> u64 {
    crate::time::monotonic_nanos()
}

/// The shell's checksum (the same as `read` prints).
pub(super) fn checksum(sum: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(sum, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32))
}

/// Byte `index` of the generated stream `tcp serve --bytes` sends.
pub(super) fn pattern_byte(index: u64) -> u8 {
    (index.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8
}

/// `-s native|rump` and the remaining words.
pub(super) fn split_stack(arguments: &str) -> Result<(StackKind, Vec<&str>), String> {
    let mut words: Vec<&str> = arguments.split_whitespace().collect();
    let mut kind = StackKind::Native;
    if let Some(at) = words.iter().position(|w| *w == "-s") {
        let name = words.get(at + 1).copied().unwrap_or("");
        kind = StackKind::parse(name)
            .ok_or_else(|| alloc::format!("unknown stack '{name}' (native or rump)"))?;
        words.drain(at..(at + 2).min(words.len()));
    }
    Ok((kind, words))
}

/// Runs `work` for the stack of `kind`: the native stack on the shell thread, the rump stack on
/// a rump client thread.
pub(super) fn on_stack(kind: StackKind, limit_nanos: u64, work: impl FnOnce() + Send + 'static) {
    if socket::stack(kind).is_none() {
        println!(
            "{}: no such stack in this kernel{}",
            kind.name(),
            missing_reason(kind)
        );
        return;
    }
    match kind {
        StackKind::Native => work(),
        StackKind::Rump => {
            if let Err(failure) = crate::rump::call_with_limit("net-shell", Some(limit_nanos), work)
            {
                println!("rump stack: the command did not finish ({failure:?})");
            }
        }
    }
}

fn missing_reason(kind: StackKind) -> &'static str {
    match kind {
        StackKind::Native => " (no virtio-net device)",
        StackKind::Rump => {
            " (needs RUMP_COMPONENTS with the net set and an e1000; see docs/network.md)"
        }
    }
}

pub(super) fn ready(kind: StackKind) -> Result<&'static dyn socket::Stack, NetError> {
    let stack = socket::stack(kind).ok_or(NetError::NoStack)?;
    if !stack.wait_configured(now() + CONFIGURE_NANOS) {
        return Err(NetError::NotConfigured);
    }
    Ok(stack)
}

pub(super) fn parse_endpoint(text: &str) -> Option<SocketAddrV4> {
    text.parse().ok()
}

fn format_mac(mac: &[u8; 6]) -> String {
    alloc::format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5]
    )
}

fn print_interface(kind: StackKind, report: &InterfaceReport) {
    let mac = if report.mac == [0; 6] {
        String::new()
    } else {
        alloc::format!(", MAC {}", format_mac(&report.mac))
    };
    println!(
        "{} ({}): link {}{mac}",
        report.name,
        kind.name(),
        if report.link_up { "up" } else { "down" },
    );
    match report.address {
        Some((address, prefix)) => println!(
            "  inet {address}/{prefix} gateway {} ({})",
            report
                .gateway
                .map_or_else(|| String::from("none"), |g| alloc::format!("{g}")),
            report.configured_by
        ),
        None => println!("  no address"),
    }
    println!(
        "  RX {} frames {} bytes, {} errors; TX {} frames {} bytes, {} errors",
        report.received_frames,
        report.received_bytes,
        report.receive_errors,
        report.sent_frames,
        report.sent_bytes,
        report.send_errors
    );
    let extra: Vec<String> = report
        .extra
        .iter()
        .map(|(name, value)| alloc::format!("{name} {value}"))
        .collect();
    if !extra.is_empty() {
        println!("  {}", extra.join(", "));
    }
    println!("  {}", report.device);
}

/// `ifconfig`: every interface of both stacks.
pub fn ifconfig(_: &str) {
    let mut any = false;
    for kind in [StackKind::Native, StackKind::Rump] {
        let Some(stack) = socket::stack(kind) else {
            continue;
        };
        any = true;
        let reports = match kind {
            StackKind::Native => stack.interfaces(),
            StackKind::Rump => {
                crate::rump::call_with_limit("net-shell", Some(CALL_NANOS), move || {
                    stack.interfaces()
                })
                .unwrap_or_default()
            }
        };
        for report in &reports {
            print_interface(kind, report);
        }
        if kind == StackKind::Native {
            println!(
                "native stack: {} polling passes",
                crate::net::native_passes()
            );
        }
    }
    if !any {
        println!("ifconfig: no network stack (no virtio-net device, no rump net components)");
    }
}

/// `ping [-s native|rump] [-c COUNT] [-l BYTES] HOST`.
pub fn ping(arguments: &str) {
    let (kind, words) = match split_stack(arguments) {
        Ok(parsed) => parsed,
        Err(error) => return println!("ping: {error}"),
    };
    let mut count = 3u16;
    let mut size = 56usize;
    let mut host = None;
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        match *word {
            "-c" => count = iter.next().and_then(|w| w.parse().ok()).unwrap_or(count),
            "-l" => {
                size = iter
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(size)
                    .min(1400)
            }
            other => host = other.parse::<Ipv4Addr>().ok(),
        }
    }
    let Some(host) = host else {
        return println!("usage: ping [-s native|rump] [-c COUNT] [-l BYTES] HOST (dotted IPv4)");
    };
    on_stack(kind, CALL_NANOS * 4, move || {
        let stack = match ready(kind) {
            Ok(stack) => stack,
            Err(error) => return println!("ping: {}: {error}", kind.name()),
        };
        let mut received = Vec::new();
        for sequence in 1..=count {
            match stack.ping(host, size, sequence, now() + 2_000_000_000) {
                Ok(nanos) => {
                    println!(
                        "{} bytes from {host}: seq={sequence} time={}.{:03} ms ({})",
                        size + 8,
                        nanos / 1_000_000,
                        (nanos / 1000) % 1000,
                        kind.name()
                    );
                    received.push(nanos);
                }
                Err(error) => println!("seq={sequence}: no answer from {host}: {error}"),
            }
        }
        let summary = match (received.iter().min(), received.iter().max()) {
            (Some(min), Some(max)) => {
                let average = received.iter().sum::<u64>() / received.len() as u64;
                alloc::format!(
                    ", round trip min/avg/max {}/{}/{} us",
                    min / 1000,
                    average / 1000,
                    max / 1000
                )
            }
            _ => String::new(),
        };
        println!(
            "ping {host} ({}): {count} sent, {} received{summary}",
            kind.name(),
            received.len()
        );
    });
}

/// `udp send [-s native|rump] HOST:PORT TEXT`: one datagram, then the first answer (5 s).
pub fn udp(arguments: &str) {
    let usage = "usage: udp send [-s native|rump] HOST:PORT TEXT";
    let Some(rest) = arguments.strip_prefix("send") else {
        return println!("{usage}");
    };
    let (kind, words) = match split_stack(rest) {
        Ok(parsed) => parsed,
        Err(error) => return println!("udp: {error}"),
    };
    let (Some(target), [_, text @ ..]) =
        (words.first().and_then(|w| parse_endpoint(w)), &words[..])
    else {
        return println!("{usage}");
    };
    let text = text.join(" ");
    on_stack(kind, CALL_NANOS, move || {
        if let Err(error) = ready(kind) {
            return println!("udp ({}): {error}", kind.name());
        }
        let socket = match Socket::open(kind, SocketKind::Datagram) {
            Ok(socket) => socket,
            Err(error) => return println!("udp ({}): socket: {error}", kind.name()),
        };
        if let Err(error) = socket.send_to(text.as_bytes(), target, Some(now() + CALL_NANOS)) {
            return println!("udp ({}): send to {target}: {error}", kind.name());
        }
        let mut buffer = vec![0u8; 2048];
        match socket.receive_from(&mut buffer, Some(now() + 5_000_000_000)) {
            Ok((length, from)) => println!(
                "udp ({}): {length} bytes from {from}: {}",
                kind.name(),
                String::from_utf8_lossy(&buffer[..length])
            ),
            Err(error) => println!("udp ({}): no answer from {target}: {error}", kind.name()),
        }
    });
}
