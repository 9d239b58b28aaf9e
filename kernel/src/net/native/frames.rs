//! smoltcp's view of a native NIC: receive and transmit tokens over [`NetDevice`], and the
//! checks every received frame passes before smoltcp parses it.

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpPacket};

use crate::net::device::{Anomaly, Counters, NetDevice, MAX_FRAME};

/// A NIC lent to one smoltcp pass.
pub(super) struct Adapter<'a> {
    device: &'a dyn NetDevice,
}

impl<'a> Adapter<'a> {
    pub(super) fn new(device: &'a dyn NetDevice) -> Self {
        Self { device }
    }
}

/// A received frame, copied out of the ring.
pub(super) struct Received(Vec<u8>);

/// Leave to send one frame.
pub(super) struct Transmit<'a> {
    device: &'a dyn NetDevice,
}

impl phy::Device for Adapter<'_> {
    type RxToken<'b>
        = Received
    where
        Self: 'b;
    type TxToken<'b>
        = Transmit<'b>
    where
        Self: 'b;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Received, Transmit<'_>)> {
        loop {
            let frame = self.device.receive()?;
            if acceptable(self.device, &frame) {
                return Some((
                    Received(frame),
                    Transmit {
                        device: self.device,
                    },
                ));
            }
        }
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Transmit<'_>> {
        self.device.can_transmit().then_some(Transmit {
            device: self.device,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_FRAME;
        capabilities
    }
}

impl phy::RxToken for Received {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Transmit<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, length: usize, f: F) -> R {
        let mut f = Some(f);
        let mut result = None;
        self.device.transmit_with(length, &mut |buffer| {
            if let Some(f) = f.take() {
                result = Some(f(buffer));
            }
        });
        match (result, f) {
            (Some(result), _) => result,
            // The ring filled up between `transmit` and now (or the frame is too long): the
            // frame is built and dropped, as a full wire would; TCP retransmits.
            (None, Some(f)) => f(&mut vec![0u8; length]),
            (None, None) => unreachable!("the fill function ran but returned nothing"),
        }
    }
}

/// Checks a received frame; counts and refuses the bad ones, counts connection attempts.
fn acceptable(device: &dyn NetDevice, frame: &[u8]) -> bool {
    let counters: &Counters = device.counters();
    let name = device.name();
    let Ok(ethernet) = EthernetFrame::new_checked(frame) else {
        counters.anomaly(name, Anomaly::Runt, format_args!("{} bytes", frame.len()));
        return false;
    };
    match ethernet.ethertype() {
        EthernetProtocol::Arp => true,
        EthernetProtocol::Ipv4 => {
            let packet = match Ipv4Packet::new_checked(ethernet.payload()) {
                Ok(packet) if packet.verify_checksum() => packet,
                Ok(_) => {
                    counters.anomaly(name, Anomaly::Malformed, format_args!("bad IPv4 checksum"));
                    return false;
                }
                Err(_) => {
                    counters.anomaly(
                        name,
                        Anomaly::Malformed,
                        format_args!("truncated or inconsistent IPv4 header"),
                    );
                    return false;
                }
            };
            if packet.next_header() == IpProtocol::Tcp {
                if let Ok(segment) = TcpPacket::new_checked(packet.payload()) {
                    if segment.syn() && !segment.ack() {
                        Counters::add(&counters.connection_attempts, 1);
                    }
                }
            }
            true
        }
        other => {
            counters.anomaly(
                name,
                Anomaly::UnknownProtocol,
                format_args!("EtherType {:#06x}", u16::from(other)),
            );
            false
        }
    }
}
