//! NetBSD's TCP/IP through the rump kernel: configures `wm0` (NetBSD's wm(4) on QEMU's e1000,
//! attached through our PCI hypercalls) with the rump kernel's own interfaces — an address by
//! `SIOCAIFADDR`, `IFF_UP` by `SIOCSIFFLAGS`, the default route by a routing-socket message —
//! and serves the kernel's socket API ([`crate::net::socket::Stack`]) with the rump kernel's
//! system calls. Only built when the components include NetBSD's IPv4 (`librumpnet_net`).
//!
//! The types and calls come from our header `rump-api/include/rump_net.h` through bindgen.
//! Every socket is non-blocking inside NetBSD; waiting is `poll(2)` with the caller's deadline,
//! so a deadline already past never waits. Sends carry `MSG_NOSIGNAL` (the rump kernel would
//! raise SIGPIPE to the host otherwise). Calls run on the caller's thread, which needs a deep
//! stack (the shell uses a rump client thread).

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_int;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, Ordering};

use rump_api::net as nb;

use crate::net::socket::{InterfaceReport, NetError, Readiness, SocketKind, Stack, StackKind};

/// The interface NetBSD's wm(4) driver attaches first: it gets the address.
const INTERFACE: &str = "wm0";
/// Further e1000s attach as these; they are brought up without an address.
const OTHER_INTERFACES: [&str; 3] = ["wm1", "wm2", "wm3"];
/// QEMU's user network: our address, its prefix, and the gateway (the host).
const ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const PREFIX: u8 = 24;
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// Whether `wm0` was configured (the stack is registered only then).
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// The rump stack's [`Stack`].
pub struct RumpStack;

/// The one instance, registered with `crate::net::socket` once `wm0` is up.
pub static RUMP: RumpStack = RumpStack;

fn errno() -> i32 {
    crate::sched::current_thread()
        .foreign_errno
        .load(Ordering::Relaxed)
}

fn error_of(errno: i32) -> NetError {
    match errno as u32 {
        nb::NB_EAGAIN | nb::NB_EINPROGRESS | nb::NB_EALREADY => NetError::WouldBlock,
        nb::NB_ECONNREFUSED => NetError::ConnectionRefused,
        nb::NB_ECONNRESET | nb::NB_EPIPE | nb::NB_ECONNABORTED => NetError::ConnectionReset,
        nb::NB_ETIMEDOUT => NetError::TimedOut,
        nb::NB_ENOTCONN => NetError::NotConnected,
        nb::NB_EADDRINUSE => NetError::AddressInUse,
        nb::NB_ENETUNREACH | nb::NB_EHOSTUNREACH => NetError::Unreachable,
        nb::NB_ENOBUFS => NetError::NoBuffers,
        9 => NetError::BadSocket,
        22 => NetError::InvalidArgument,
        _ => NetError::Stack(errno),
    }
}

/// `result` or the calling thread's NetBSD errno.
fn check(result: isize) -> Result<usize, NetError> {
    if result < 0 {
        Err(error_of(errno()))
    } else {
        Ok(result as usize)
    }
}

/// A `struct sockaddr` holding an IPv4 address and port.
fn sockaddr_of(address: SocketAddrV4) -> nb::sockaddr {
    let mut data = [0 as core::ffi::c_char; 14];
    let port = address.port().to_be_bytes();
    let ip = address.ip().octets();
    for (slot, byte) in data.iter_mut().zip(port.iter().chain(ip.iter())) {
        *slot = *byte as core::ffi::c_char;
    }
    nb::sockaddr {
        sa_len: core::mem::size_of::<nb::sockaddr_in>() as u8,
        sa_family: nb::AF_INET as u8,
        sa_data: data,
    }
}

/// The IPv4 address and port in a `struct sockaddr` (unspecified for another family).
fn address_of(address: &nb::sockaddr) -> SocketAddrV4 {
    if address.sa_family != nb::AF_INET as u8 {
        return SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
    }
    let d = address.sa_data.map(|c| c as u8);
    SocketAddrV4::new(
        Ipv4Addr::new(d[2], d[3], d[4], d[5]),
        u16::from_be_bytes([d[0], d[1]]),
    )
}

const SOCKADDR_LENGTH: nb::socklen_t = core::mem::size_of::<nb::sockaddr>() as nb::socklen_t;

fn interface_name(interface: &str) -> [core::ffi::c_char; 16] {
    let mut name = [0 as core::ffi::c_char; 16];
    for (slot, byte) in name.iter_mut().zip(interface.bytes().take(15)) {
        *slot = byte as core::ffi::c_char;
    }
    name
}

fn zeroed_ifreq(interface: &str) -> nb::ifreq {
    // SAFETY: `struct ifreq` is plain data (bytes, integers, a pointer in a union) for which
    // all-zero is a valid value.
    let mut request: nb::ifreq = unsafe { core::mem::zeroed() };
    request.ifr_name = interface_name(interface);
    request
}

/// Sets `IFF_UP` on `interface`.
fn bring_up(control: c_int, interface: &str) -> Result<(), NetError> {
    let mut request = zeroed_ifreq(interface);
    ioctl(control, nb::SIOCGIFFLAGS, &mut request)?;
    // SAFETY: SIOCGIFFLAGS filled the union's `ifru_flags` member.
    let flags = unsafe { request.ifr_ifru.ifru_flags };
    request.ifr_ifru.ifru_flags = flags | nb::IFF_UP as i16;
    ioctl(control, nb::SIOCSIFFLAGS, &mut request)
}

/// An `ioctl` on `fd` with `argument`.
fn ioctl<T>(fd: c_int, request: u32, argument: &mut T) -> Result<(), NetError> {
    // SAFETY: `argument` is a live, exclusively borrowed structure of the size the request
    // encodes (the header checks each request number against its structure).
    let result = unsafe {
        nb::rump___sysimpl_ioctl(
            fd,
            request as core::ffi::c_ulong,
            (argument as *mut T).cast(),
        )
    };
    check(result as isize).map(|_| ())
}

/// A socket that is closed when dropped.
struct OwnedSocket(c_int);

impl OwnedSocket {
    fn open(domain: u32, kind: u32, protocol: u32) -> Result<Self, NetError> {
        // SAFETY: plain integers.
        let fd = unsafe {
            nb::rump___sysimpl_socket30(domain as c_int, kind as c_int, protocol as c_int)
        };
        check(fd as isize).map(|_| Self(fd))
    }
}

impl Drop for OwnedSocket {
    fn drop(&mut self) {
        // SAFETY: our descriptor, closed once.
        unsafe { rump_api::rump___sysimpl_close(self.0) };
    }
}

/// Brings `wm0` up as 10.0.2.15/24 with a default route to 10.0.2.2 and registers the stack.
/// Runs on a rump client thread at start-up; a failure leaves the rump stack unregistered.
pub fn configure() -> Result<(), NetError> {
    let control = OwnedSocket::open(nb::AF_INET, nb::SOCK_DGRAM, 0)?;
    let mask = u32::MAX << (32 - PREFIX);
    let broadcast = Ipv4Addr::from(u32::from(ADDRESS) | !mask);
    let mut alias = nb::ifaliasreq {
        ifra_name: interface_name(INTERFACE),
        ifra_addr: sockaddr_of(SocketAddrV4::new(ADDRESS, 0)),
        ifra_broadaddr: sockaddr_of(SocketAddrV4::new(broadcast, 0)),
        ifra_mask: sockaddr_of(SocketAddrV4::new(Ipv4Addr::from(mask), 0)),
    };
    ioctl(control.0, nb::SIOCAIFADDR, &mut alias)?;
    bring_up(control.0, INTERFACE)?;
    add_default_route(GATEWAY)?;
    for other in OTHER_INTERFACES {
        if bring_up(control.0, other).is_ok() {
            log::info!("rump: {other} is up without an address");
        }
    }
    CONFIGURED.store(true, Ordering::Release);
    log::info!("rump: wm0 is {ADDRESS}/{PREFIX}, default route via {GATEWAY}");
    Ok(())
}

/// Writes an `RTM_ADD` message for 0.0.0.0/0 via `gateway` to a routing socket.
fn add_default_route(gateway: Ipv4Addr) -> Result<(), NetError> {
    let routing = OwnedSocket::open(nb::PF_ROUTE, nb::SOCK_RAW, 0)?;
    let header_length = core::mem::size_of::<nb::rt_msghdr>();
    let addresses = [
        sockaddr_of(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        sockaddr_of(SocketAddrV4::new(gateway, 0)),
        sockaddr_of(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
    ];
    let length = header_length + addresses.len() * SOCKADDR_LENGTH as usize;
    // SAFETY: `struct rt_msghdr` is integers only; all-zero is valid.
    let mut header: nb::rt_msghdr = unsafe { core::mem::zeroed() };
    header.rtm_msglen = length as u16;
    header.rtm_version = nb::RTM_VERSION as u8;
    header.rtm_type = nb::RTM_ADD as u8;
    header.rtm_flags = (nb::RTF_UP | nb::RTF_GATEWAY | nb::RTF_STATIC) as c_int;
    header.rtm_addrs = (nb::RTA_DST | nb::RTA_GATEWAY | nb::RTA_NETMASK) as c_int;
    header.rtm_seq = 1;
    let mut message: Vec<u8> = Vec::with_capacity(length);
    // SAFETY: reading the bytes of plain-data structures we own, for their exact sizes.
    unsafe {
        message.extend_from_slice(core::slice::from_raw_parts(
            (&header as *const nb::rt_msghdr).cast::<u8>(),
            header_length,
        ));
        for address in &addresses {
            message.extend_from_slice(core::slice::from_raw_parts(
                (address as *const nb::sockaddr).cast::<u8>(),
                SOCKADDR_LENGTH as usize,
            ));
        }
    }
    // SAFETY: `message` is `length` readable bytes.
    let written =
        unsafe { rump_api::rump___sysimpl_write(routing.0, message.as_ptr().cast(), length) };
    check(written).map(|_| ())
}

/// Waits until `fd` is ready for `events` or the deadline passes.
fn wait(fd: c_int, events: u32, deadline: Option<u64>) -> Result<(), NetError> {
    loop {
        let timeout = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_sub(crate::time::monotonic_nanos());
                if left == 0 {
                    return Err(NetError::TimedOut);
                }
                (left / 1_000_000).clamp(1, i32::MAX as u64) as c_int
            }
        };
        let mut entry = nb::pollfd {
            fd,
            events: events as i16,
            revents: 0,
        };
        // SAFETY: one live `struct pollfd`.
        let ready = unsafe { nb::rump___sysimpl_poll(&mut entry, 1, timeout) };
        match ready {
            1.. => return Ok(()),
            0 => {}
            _ if errno() as u32 == nb::NB_EINTR => {}
            _ => return Err(error_of(errno())),
        }
    }
}

/// Retries `attempt` after each readiness for `events` until it stops saying "would block".
fn retry<T>(
    fd: c_int,
    events: u32,
    deadline: Option<u64>,
    mut attempt: impl FnMut() -> Result<T, NetError>,
) -> Result<T, NetError> {
    let started = crate::time::monotonic_nanos();
    loop {
        match attempt() {
            Err(NetError::WouldBlock) => {}
            other => return other,
        }
        if deadline.is_some_and(|deadline| started >= deadline) {
            return Err(NetError::WouldBlock);
        }
        wait(fd, events, deadline)?;
    }
}

fn descriptor(socket: u32) -> c_int {
    socket as c_int
}

fn set_option(fd: c_int, level: u32, name: u32, value: c_int) {
    // SAFETY: `value` is a live int and its size is passed.
    unsafe {
        nb::rump___sysimpl_setsockopt(
            fd,
            level as c_int,
            name as c_int,
            (&value as *const c_int).cast(),
            core::mem::size_of::<c_int>() as nb::socklen_t,
        )
    };
}

/// The internet checksum (RFC 1071) of `bytes`.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Stack for RumpStack {
    fn kind(&self) -> StackKind {
        StackKind::Rump
    }

    fn open(&self, kind: SocketKind) -> Result<u32, NetError> {
        let (type_, protocol) = match kind {
            SocketKind::Stream => (nb::SOCK_STREAM, nb::IPPROTO_TCP),
            SocketKind::Datagram => (nb::SOCK_DGRAM, nb::IPPROTO_UDP),
        };
        let socket = OwnedSocket::open(nb::AF_INET, type_ | nb::SOCK_NONBLOCK, protocol)?;
        let fd = socket.0;
        core::mem::forget(socket);
        if kind == SocketKind::Stream {
            set_option(fd, nb::IPPROTO_TCP, nb::TCP_NODELAY, 1);
            set_option(fd, nb::SOL_SOCKET, nb::SO_REUSEADDR, 1);
            set_option(fd, nb::SOL_SOCKET, nb::SO_RCVBUF, 256 * 1024);
            set_option(fd, nb::SOL_SOCKET, nb::SO_SNDBUF, 256 * 1024);
        }
        Ok(fd as u32)
    }

    fn bind(&self, socket: u32, local: SocketAddrV4) -> Result<(), NetError> {
        let address = sockaddr_of(local);
        // SAFETY: a live sockaddr of the length passed.
        let result =
            unsafe { nb::rump___sysimpl_bind(descriptor(socket), &address, SOCKADDR_LENGTH) };
        check(result as isize).map(|_| ())
    }

    fn connect(
        &self,
        socket: u32,
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<(), NetError> {
        let fd = descriptor(socket);
        let address = sockaddr_of(remote);
        // SAFETY: a live sockaddr of the length passed.
        let result = unsafe { nb::rump___sysimpl_connect(fd, &address, SOCKADDR_LENGTH) };
        match check(result as isize) {
            Ok(_) => return Ok(()),
            Err(NetError::WouldBlock) => {}
            Err(error) => return Err(error),
        }
        wait(fd, nb::POLLOUT, deadline)?;
        let mut pending: c_int = 0;
        let mut length = core::mem::size_of::<c_int>() as nb::socklen_t;
        // SAFETY: a live int and its length.
        unsafe {
            nb::rump___sysimpl_getsockopt(
                fd,
                nb::SOL_SOCKET as c_int,
                nb::SO_ERROR as c_int,
                (&mut pending as *mut c_int).cast(),
                &mut length,
            )
        };
        match pending {
            0 => Ok(()),
            error => Err(error_of(error)),
        }
    }

    fn listen(&self, socket: u32, backlog: usize) -> Result<(), NetError> {
        // SAFETY: plain integers.
        let result =
            unsafe { nb::rump___sysimpl_listen(descriptor(socket), backlog.min(128) as c_int) };
        check(result as isize).map(|_| ())
    }

    fn accept(&self, socket: u32, deadline: Option<u64>) -> Result<(u32, SocketAddrV4), NetError> {
        let fd = descriptor(socket);
        retry(fd, nb::POLLIN, deadline, || {
            // SAFETY: `struct sockaddr` is plain bytes; all-zero is valid.
            let mut peer: nb::sockaddr = unsafe { core::mem::zeroed() };
            let mut length = SOCKADDR_LENGTH;
            // SAFETY: a live sockaddr and its length; no signal mask.
            let accepted = unsafe {
                nb::rump___sysimpl_paccept(
                    fd,
                    &mut peer,
                    &mut length,
                    core::ptr::null(),
                    nb::SOCK_NONBLOCK as c_int,
                )
            };
            check(accepted as isize).map(|_| {
                set_option(accepted, nb::IPPROTO_TCP, nb::TCP_NODELAY, 1);
                (accepted as u32, address_of(&peer))
            })
        })
    }

    fn send(&self, socket: u32, data: &[u8], deadline: Option<u64>) -> Result<usize, NetError> {
        let fd = descriptor(socket);
        retry(fd, nb::POLLOUT, deadline, || {
            // SAFETY: `data` is readable for its length; no destination address.
            let sent = unsafe {
                nb::rump___sysimpl_sendto(
                    fd,
                    data.as_ptr().cast(),
                    data.len() as _,
                    nb::MSG_NOSIGNAL as c_int,
                    core::ptr::null(),
                    0,
                )
            };
            check(sent as isize)
        })
    }

    fn send_to(
        &self,
        socket: u32,
        data: &[u8],
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<usize, NetError> {
        let fd = descriptor(socket);
        let address = sockaddr_of(remote);
        retry(fd, nb::POLLOUT, deadline, || {
            // SAFETY: `data` is readable for its length; `address` is a live sockaddr.
            let sent = unsafe {
                nb::rump___sysimpl_sendto(
                    fd,
                    data.as_ptr().cast(),
                    data.len() as _,
                    nb::MSG_NOSIGNAL as c_int,
                    &address,
                    SOCKADDR_LENGTH,
                )
            };
            check(sent as isize)
        })
    }

    fn receive(
        &self,
        socket: u32,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<usize, NetError> {
        self.receive_from(socket, buffer, deadline)
            .map(|(length, _)| length)
    }

    fn receive_from(
        &self,
        socket: u32,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<(usize, SocketAddrV4), NetError> {
        let fd = descriptor(socket);
        retry(fd, nb::POLLIN, deadline, || {
            // SAFETY: `struct sockaddr` is plain bytes; all-zero is valid.
            let mut peer: nb::sockaddr = unsafe { core::mem::zeroed() };
            let mut length = SOCKADDR_LENGTH;
            // SAFETY: `buffer` is writable for its length; `peer` is a live sockaddr.
            let received = unsafe {
                nb::rump___sysimpl_recvfrom(
                    fd,
                    buffer.as_mut_ptr().cast(),
                    buffer.len() as _,
                    0,
                    &mut peer,
                    &mut length,
                )
            };
            check(received as isize).map(|length| (length, address_of(&peer)))
        })
    }

    fn readiness(&self, socket: u32) -> Readiness {
        let mut entry = nb::pollfd {
            fd: descriptor(socket),
            events: (nb::POLLIN | nb::POLLOUT) as i16,
            revents: 0,
        };
        // SAFETY: one live `struct pollfd`; timeout 0 never waits.
        let ready = unsafe { nb::rump___sysimpl_poll(&mut entry, 1, 0) };
        if ready < 0 {
            return Readiness {
                error: true,
                ..Readiness::default()
            };
        }
        let bits = entry.revents as u32;
        Readiness {
            readable: bits & nb::POLLIN != 0,
            writable: bits & nb::POLLOUT != 0,
            hangup: bits & nb::POLLHUP != 0,
            error: bits & nb::POLLERR != 0,
        }
    }

    fn shutdown(&self, socket: u32) -> Result<(), NetError> {
        // SAFETY: plain integers.
        let result =
            unsafe { nb::rump___sysimpl_shutdown(descriptor(socket), nb::SHUT_WR as c_int) };
        check(result as isize).map(|_| ())
    }

    fn close(&self, socket: u32) {
        // SAFETY: the caller gives up the descriptor.
        unsafe { rump_api::rump___sysimpl_close(descriptor(socket)) };
    }

    fn local_address(&self, socket: u32) -> Result<SocketAddrV4, NetError> {
        // SAFETY: `struct sockaddr` is plain bytes; all-zero is valid.
        let mut address: nb::sockaddr = unsafe { core::mem::zeroed() };
        let mut length = SOCKADDR_LENGTH;
        // SAFETY: a live sockaddr and its length.
        let result = unsafe {
            nb::rump___sysimpl_getsockname(descriptor(socket), &mut address, &mut length)
        };
        check(result as isize).map(|_| address_of(&address))
    }

    fn peer_address(&self, socket: u32) -> Result<SocketAddrV4, NetError> {
        // SAFETY: `struct sockaddr` is plain bytes; all-zero is valid.
        let mut address: nb::sockaddr = unsafe { core::mem::zeroed() };
        let mut length = SOCKADDR_LENGTH;
        // SAFETY: a live sockaddr and its length.
        let result = unsafe {
            nb::rump___sysimpl_getpeername(descriptor(socket), &mut address, &mut length)
        };
        check(result as isize).map(|_| address_of(&address))
    }

    fn ping(
        &self,
        target: Ipv4Addr,
        payload: usize,
        sequence: u16,
        deadline: u64,
    ) -> Result<u64, NetError> {
        let raw = OwnedSocket::open(
            nb::AF_INET,
            nb::SOCK_RAW | nb::SOCK_NONBLOCK,
            nb::IPPROTO_ICMP,
        )?;
        let identifier = (crate::arch::cpu::random_u64() & 0xffff) as u16;
        let mut request = vec![0u8; 8 + payload];
        request[0] = 8; // echo request
        request[4..6].copy_from_slice(&identifier.to_be_bytes());
        request[6..8].copy_from_slice(&sequence.to_be_bytes());
        for (index, byte) in request[8..].iter_mut().enumerate() {
            *byte = index as u8;
        }
        let sum = internet_checksum(&request);
        request[2..4].copy_from_slice(&sum.to_be_bytes());
        let sent_at = crate::time::monotonic_nanos();
        self.send_to(
            raw.0 as u32,
            &request,
            SocketAddrV4::new(target, 0),
            Some(deadline),
        )?;
        let mut reply = vec![0u8; 128 + payload];
        loop {
            let (length, from) = self.receive_from(raw.0 as u32, &mut reply, Some(deadline))?;
            // A raw ICMP socket delivers the IP header first.
            let packet = &reply[..length];
            let header = usize::from(packet.first().copied().unwrap_or(0) & 0x0f) * 4;
            let Some(icmp) = packet.get(header..) else {
                continue;
            };
            if icmp.len() >= 8
                && icmp[0] == 0
                && icmp[4..6] == identifier.to_be_bytes()
                && icmp[6..8] == sequence.to_be_bytes()
                && *from.ip() == target
            {
                return Ok(crate::time::monotonic_nanos() - sent_at);
            }
        }
    }

    fn wait_configured(&self, _deadline: u64) -> bool {
        CONFIGURED.load(Ordering::Acquire)
    }

    fn interfaces(&self) -> Vec<InterfaceReport> {
        let Ok(control) = OwnedSocket::open(nb::AF_INET, nb::SOCK_DGRAM, 0) else {
            return Vec::new();
        };
        core::iter::once(INTERFACE)
            .chain(OTHER_INTERFACES)
            .filter_map(|name| report(control.0, name))
            .collect()
    }
}

/// `ifconfig`'s view of one interface, if it exists.
fn report(control: c_int, name: &str) -> Option<InterfaceReport> {
    // SAFETY: `struct ifdatareq` is integers and bytes; all-zero is valid.
    let mut data: nb::ifdatareq = unsafe { core::mem::zeroed() };
    data.ifdr_name = interface_name(name);
    ioctl(control, nb::SIOCGIFDATA, &mut data).ok()?;
    let read_address = |request: u32| {
        let mut query = zeroed_ifreq(name);
        ioctl(control, request, &mut query).ok()?;
        // SAFETY: the request filled the union's `ifru_addr` member.
        Some(*address_of(unsafe { &query.ifr_ifru.ifru_addr }).ip())
    };
    let address = read_address(nb::SIOCGIFADDR).and_then(|address| {
        let mask = read_address(nb::SIOCGIFNETMASK)?;
        Some((address, u32::from(mask).leading_ones() as u8))
    });
    let statistics = data.ifdr_data;
    let primary = name == INTERFACE;
    Some(InterfaceReport {
        name: name.into(),
        mac: [0; 6],
        link_up: statistics.ifi_link_state == nb::LINK_STATE_UP as c_int,
        address,
        gateway: (primary && CONFIGURED.load(Ordering::Acquire)).then_some(GATEWAY),
        configured_by: if primary {
            "static, through SIOCAIFADDR and a routing socket"
        } else {
            "none"
        },
        received_frames: statistics.ifi_ipackets,
        received_bytes: statistics.ifi_ibytes,
        sent_frames: statistics.ifi_opackets,
        sent_bytes: statistics.ifi_obytes,
        receive_errors: statistics.ifi_ierrors,
        send_errors: statistics.ifi_oerrors,
        extra: vec![
            ("input-drops", statistics.ifi_iqdrops),
            ("unknown-protocol", statistics.ifi_noproto),
            ("collisions", statistics.ifi_collisions),
        ],
        device: "NetBSD wm(4) through rump on an e1000 (rumpcomp_pci_*)".into(),
    })
}
