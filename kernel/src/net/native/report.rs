//! The native stack's ping (an ICMP socket per call) and its interface reports for `ifconfig`.

use alloc::vec;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};

use super::sockets::configured;
use super::{wait_for, with_native};
use crate::net::device::Anomaly;
use crate::net::socket::{InterfaceReport, NetError};

/// Sends one echo request with `payload` bytes and waits for its reply; the round trip in ns.
pub(super) fn ping(
    target: Ipv4Addr,
    payload: usize,
    sequence: u16,
    deadline: u64,
) -> Result<u64, NetError> {
    let identifier = (crate::arch::cpu::random_u64() & 0xffff) as u16;
    let data: Vec<u8> = (0..payload).map(|i| i as u8).collect();
    let handle = with_native(|native| {
        configured(native)?;
        let primary = native.primary()?;
        let mut socket = icmp::Socket::new(
            icmp::PacketBuffer::new(
                vec![icmp::PacketMetadata::EMPTY; 4],
                vec![0; 4 * (payload + 64)],
            ),
            icmp::PacketBuffer::new(
                vec![icmp::PacketMetadata::EMPTY; 4],
                vec![0; 4 * (payload + 64)],
            ),
        );
        socket
            .bind(icmp::Endpoint::Ident(identifier))
            .map_err(|_| NetError::InvalidArgument)?;
        Ok(primary.sockets.add(socket))
    })?;
    let sent_at = crate::time::monotonic_nanos();
    let mut sent = false;
    let result = wait_for(Some(deadline), |native| {
        let primary = native.primary()?;
        let socket = primary.sockets.get_mut::<icmp::Socket>(handle);
        if !sent {
            let request = Icmpv4Repr::EchoRequest {
                ident: identifier,
                seq_no: sequence,
                data: &data,
            };
            let buffer = socket
                .send(request.buffer_len(), IpAddress::Ipv4(target))
                .map_err(|_| NetError::NoBuffers)?;
            request.emit(
                &mut Icmpv4Packet::new_unchecked(buffer),
                &ChecksumCapabilities::default(),
            );
            sent = true;
            native.dirty = true;
            return Ok(None);
        }
        while let Ok((bytes, from)) = socket.recv() {
            let Ok(packet) = Icmpv4Packet::new_checked(bytes) else {
                continue;
            };
            let Ok(reply) = Icmpv4Repr::parse(&packet, &ChecksumCapabilities::default()) else {
                continue;
            };
            if let Icmpv4Repr::EchoReply { ident, seq_no, .. } = reply {
                if ident == identifier && seq_no == sequence && from == IpAddress::Ipv4(target) {
                    return Ok(Some(crate::time::monotonic_nanos() - sent_at));
                }
            }
        }
        Ok(None)
    });
    let _ = with_native(|native| {
        native.primary()?.sockets.remove(handle);
        Ok(())
    });
    result
}

/// One report per native interface.
pub(super) fn interfaces() -> Vec<InterfaceReport> {
    with_native(|native| {
        let backlog_full = native.backlog_full;
        Ok(native
            .interfaces
            .iter()
            .map(|interface| {
                let device = &interface.device;
                let counters = device.counters();
                let load = |c: &core::sync::atomic::AtomicU64| {
                    c.load(core::sync::atomic::Ordering::Relaxed)
                };
                let mut extra: Vec<(&'static str, u64)> = counters
                    .anomalies()
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|(kind, count)| (kind.name(), count))
                    .collect();
                extra.push(("interrupts", load(&counters.interrupts)));
                extra.push(("link-changes", load(&counters.link_changes)));
                extra.push(("connection-attempts", load(&counters.connection_attempts)));
                extra.push(("backlog-full", backlog_full));
                let receive_errors = [
                    Anomaly::Runt,
                    Anomaly::Oversized,
                    Anomaly::Malformed,
                    Anomaly::DeviceError,
                ]
                .iter()
                .map(|kind| counters.anomaly_count(*kind))
                .sum();
                InterfaceReport {
                    name: device.name().into(),
                    mac: device.mac(),
                    link_up: device.link_up(),
                    address: interface
                        .address
                        .map(|cidr| (cidr.address(), cidr.prefix_len())),
                    gateway: interface.gateway,
                    configured_by: "DHCP",
                    received_frames: load(&counters.received_frames),
                    received_bytes: load(&counters.received_bytes),
                    sent_frames: load(&counters.sent_frames),
                    sent_bytes: load(&counters.sent_bytes),
                    receive_errors,
                    send_errors: counters.anomaly_count(Anomaly::TransmitRingFull),
                    extra,
                    device: device.describe(),
                }
            })
            .collect())
    })
    .unwrap_or_default()
}
