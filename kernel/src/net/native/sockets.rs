//! The socket API ([`Stack`]) over smoltcp's sockets, plus ping and `ifconfig` reports.
//!
//! A listening socket keeps one smoltcp socket in LISTEN per backlog slot; `accept` hands out
//! a slot whose handshake finished and puts a fresh listener in its place. A closed TCP socket
//! finishes its close handshake in the background and is freed by the polling thread.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::iface::SocketHandle;
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use super::{wait_for, with_native, Entry, Native};
use crate::net::socket::{InterfaceReport, NetError, Readiness, SocketKind, Stack, StackKind};

/// TCP buffers: large enough for window scaling to keep a loopback path busy.
const TCP_BUFFER_BYTES: usize = 256 * 1024;
const UDP_PACKETS: usize = 64;
const UDP_BUFFER_BYTES: usize = 64 * 1024;

/// The native stack's [`Stack`].
pub(super) struct NativeStack;

pub(super) static NATIVE: NativeStack = NativeStack;

fn tcp_socket() -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER_BYTES]),
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER_BYTES]),
    );
    socket.set_nagle_enabled(false);
    socket
}

fn endpoint_v4(endpoint: IpEndpoint) -> SocketAddrV4 {
    let IpAddress::Ipv4(address) = endpoint.addr;
    SocketAddrV4::new(address, endpoint.port)
}

pub(super) fn configured(native: &mut Native) -> Result<(), NetError> {
    match native.primary()?.address {
        Some(_) => Ok(()),
        None => Err(NetError::NotConfigured),
    }
}

impl Native {
    fn tcp_handle(&self, socket: u32) -> Result<SocketHandle, NetError> {
        match self.entries.get(&socket) {
            Some(Entry::Tcp { handle, .. }) => Ok(*handle),
            Some(_) => Err(NetError::InvalidArgument),
            None => Err(NetError::BadSocket),
        }
    }

    fn udp_entry(&self, socket: u32) -> Result<(SocketHandle, Option<SocketAddrV4>), NetError> {
        match self.entries.get(&socket) {
            Some(Entry::Udp { handle, peer }) => Ok((*handle, *peer)),
            Some(_) => Err(NetError::InvalidArgument),
            None => Err(NetError::BadSocket),
        }
    }

    fn tcp(&mut self, handle: SocketHandle) -> Result<&mut tcp::Socket<'static>, NetError> {
        Ok(self.primary()?.sockets.get_mut::<tcp::Socket>(handle))
    }

    fn udp(&mut self, handle: SocketHandle) -> Result<&mut udp::Socket<'static>, NetError> {
        Ok(self.primary()?.sockets.get_mut::<udp::Socket>(handle))
    }

    /// Binds an unbound UDP socket to an ephemeral port.
    fn udp_bind_if_needed(&mut self, handle: SocketHandle) -> Result<(), NetError> {
        if self.udp(handle)?.is_open() {
            return Ok(());
        }
        let port = self.ephemeral_port();
        self.udp(handle)?
            .bind(port)
            .map_err(|_| NetError::AddressInUse)
    }
}

fn tcp_error_state(state: tcp::State) -> Option<NetError> {
    match state {
        tcp::State::Closed => Some(NetError::ConnectionReset),
        _ => None,
    }
}

impl Stack for NativeStack {
    fn kind(&self) -> StackKind {
        StackKind::Native
    }

    fn open(&self, kind: SocketKind) -> Result<u32, NetError> {
        with_native(|native| {
            let primary = native.primary()?;
            let entry = match kind {
                SocketKind::Stream => Entry::Tcp {
                    handle: primary.sockets.add(tcp_socket()),
                    port: 0,
                },
                SocketKind::Datagram => Entry::Udp {
                    handle: primary.sockets.add(udp::Socket::new(
                        udp::PacketBuffer::new(
                            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                            vec![0; UDP_BUFFER_BYTES],
                        ),
                        udp::PacketBuffer::new(
                            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                            vec![0; UDP_BUFFER_BYTES],
                        ),
                    )),
                    peer: None,
                },
            };
            let id = native.new_id();
            native.entries.insert(id, entry);
            Ok(id)
        })
    }

    fn bind(&self, socket: u32, local: SocketAddrV4) -> Result<(), NetError> {
        with_native(|native| {
            let port = if local.port() == 0 {
                native.ephemeral_port()
            } else {
                local.port()
            };
            let in_use = native.entries.iter().any(|(id, entry)| {
                *id != socket
                    && matches!(entry, Entry::Tcp { port: p, .. } | Entry::Listener { port: p, .. } if *p == port)
            });
            match native.entries.get_mut(&socket) {
                Some(Entry::Tcp { port: bound, .. }) => {
                    if in_use {
                        return Err(NetError::AddressInUse);
                    }
                    *bound = port;
                    Ok(())
                }
                Some(Entry::Udp { handle, .. }) => {
                    let handle = *handle;
                    native
                        .udp(handle)?
                        .bind(port)
                        .map_err(|_| NetError::AddressInUse)
                }
                Some(Entry::Listener { .. }) => Err(NetError::InvalidArgument),
                None => Err(NetError::BadSocket),
            }
        })
    }

    fn connect(
        &self,
        socket: u32,
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<(), NetError> {
        let handle = with_native(|native| {
            configured(native)?;
            if let Ok((handle, _)) = native.udp_entry(socket) {
                native.udp_bind_if_needed(handle)?;
                if let Some(Entry::Udp { peer, .. }) = native.entries.get_mut(&socket) {
                    *peer = Some(remote);
                }
                return Ok(None);
            }
            let handle = native.tcp_handle(socket)?;
            let mut port = match native.entries.get(&socket) {
                Some(Entry::Tcp { port, .. }) => *port,
                _ => 0,
            };
            if port == 0 {
                port = native.ephemeral_port();
                if let Some(Entry::Tcp { port: bound, .. }) = native.entries.get_mut(&socket) {
                    *bound = port;
                }
            }
            let primary = native.primary()?;
            let socket = primary.sockets.get_mut::<tcp::Socket>(handle);
            socket
                .connect(
                    primary.interface.context(),
                    IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port()),
                    port,
                )
                .map_err(|error| match error {
                    tcp::ConnectError::InvalidState => NetError::InvalidArgument,
                    tcp::ConnectError::Unaddressable => NetError::Unreachable,
                })?;
            native.dirty = true;
            Ok(Some(handle))
        })?;
        let Some(handle) = handle else {
            return Ok(());
        };
        wait_for(deadline, |native| {
            let socket = native.tcp(handle)?;
            match socket.state() {
                tcp::State::Established | tcp::State::CloseWait => Ok(Some(())),
                tcp::State::SynSent | tcp::State::SynReceived => Ok(None),
                // A reset answering our SYN leaves the socket closed.
                _ => Err(NetError::ConnectionRefused),
            }
        })
    }

    fn listen(&self, socket: u32, backlog: usize) -> Result<(), NetError> {
        with_native(|native| {
            let (handle, port) = match native.entries.get(&socket) {
                Some(Entry::Tcp { handle, port }) if *port != 0 => (*handle, *port),
                Some(Entry::Tcp { .. })
                | Some(Entry::Listener { .. })
                | Some(Entry::Udp { .. }) => return Err(NetError::InvalidArgument),
                None => return Err(NetError::BadSocket),
            };
            let primary = native.primary()?;
            let mut slots = vec![handle];
            for _ in 1..backlog.clamp(1, 64) {
                slots.push(primary.sockets.add(tcp_socket()));
            }
            for slot in &slots {
                primary
                    .sockets
                    .get_mut::<tcp::Socket>(*slot)
                    .listen(IpListenEndpoint { addr: None, port })
                    .map_err(|_| NetError::InvalidArgument)?;
            }
            native.entries.insert(
                socket,
                Entry::Listener {
                    port,
                    backlog: slots,
                    full: false,
                    full_logged: false,
                },
            );
            native.dirty = true;
            Ok(())
        })
    }

    fn accept(&self, socket: u32, deadline: Option<u64>) -> Result<(u32, SocketAddrV4), NetError> {
        wait_for(deadline, |native| {
            let (port, slots) = match native.entries.get(&socket) {
                Some(Entry::Listener { port, backlog, .. }) => (*port, backlog.clone()),
                Some(_) => return Err(NetError::InvalidArgument),
                None => return Err(NetError::BadSocket),
            };
            let primary = native.primary()?;
            let ready = slots.iter().position(|slot| {
                !matches!(
                    primary.sockets.get::<tcp::Socket>(*slot).state(),
                    tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
                )
            });
            // A slot whose handshake was reset goes back to listening.
            for slot in &slots {
                let listener = primary.sockets.get_mut::<tcp::Socket>(*slot);
                if listener.state() == tcp::State::Closed {
                    let _ = listener.listen(IpListenEndpoint { addr: None, port });
                }
            }
            let Some(index) = ready else {
                return Ok(None);
            };
            let connection = slots[index];
            let peer = primary
                .sockets
                .get::<tcp::Socket>(connection)
                .remote_endpoint()
                .map(endpoint_v4)
                .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
            let mut fresh = tcp_socket();
            fresh
                .listen(IpListenEndpoint { addr: None, port })
                .map_err(|_| NetError::InvalidArgument)?;
            let fresh = primary.sockets.add(fresh);
            if let Some(Entry::Listener { backlog, .. }) = native.entries.get_mut(&socket) {
                backlog[index] = fresh;
            }
            let id = native.new_id();
            native.entries.insert(
                id,
                Entry::Tcp {
                    handle: connection,
                    port,
                },
            );
            native.dirty = true;
            Ok(Some((id, peer)))
        })
    }

    fn send(&self, socket: u32, data: &[u8], deadline: Option<u64>) -> Result<usize, NetError> {
        if let Ok((_, Some(peer))) = with_native(|native| native.udp_entry(socket)) {
            return self.send_to(socket, data, peer, deadline);
        }
        wait_for(deadline, |native| {
            let handle = native.tcp_handle(socket)?;
            let socket = native.tcp(handle)?;
            if !socket.may_send() {
                return Err(tcp_error_state(socket.state()).unwrap_or(NetError::NotConnected));
            }
            if !socket.can_send() {
                return Ok(None);
            }
            let sent = socket
                .send_slice(data)
                .map_err(|_| NetError::NotConnected)?;
            native.dirty = true;
            Ok((sent > 0 || data.is_empty()).then_some(sent))
        })
    }

    fn send_to(
        &self,
        socket: u32,
        data: &[u8],
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<usize, NetError> {
        wait_for(deadline, |native| {
            configured(native)?;
            let (handle, _) = native.udp_entry(socket)?;
            native.udp_bind_if_needed(handle)?;
            let udp = native.udp(handle)?;
            if data.len() > udp.payload_send_capacity() {
                return Err(NetError::InvalidArgument);
            }
            match udp.send_slice(
                data,
                IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port()),
            ) {
                Ok(()) => {
                    native.dirty = true;
                    Ok(Some(data.len()))
                }
                Err(udp::SendError::BufferFull) => Ok(None),
                Err(udp::SendError::Unaddressable) => Err(NetError::Unreachable),
            }
        })
    }

    fn receive(
        &self,
        socket: u32,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<usize, NetError> {
        if with_native(|native| native.udp_entry(socket)).is_ok() {
            return self
                .receive_from(socket, buffer, deadline)
                .map(|(length, _)| length);
        }
        wait_for(deadline, |native| {
            let handle = native.tcp_handle(socket)?;
            let socket = native.tcp(handle)?;
            if socket.can_recv() {
                let length = socket
                    .recv_slice(buffer)
                    .map_err(|_| NetError::NotConnected)?;
                native.dirty = true;
                return Ok(Some(length));
            }
            if socket.may_recv() {
                return Ok(None);
            }
            match socket.state() {
                // Our SYN or the established connection was reset.
                tcp::State::Closed if socket.remote_endpoint().is_none() => {
                    Err(NetError::ConnectionReset)
                }
                tcp::State::Listen | tcp::State::SynSent | tcp::State::SynReceived => Ok(None),
                // The peer sent FIN: the end of the stream.
                _ => Ok(Some(0)),
            }
        })
    }

    fn receive_from(
        &self,
        socket: u32,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<(usize, SocketAddrV4), NetError> {
        wait_for(deadline, |native| {
            let (handle, _) = native.udp_entry(socket)?;
            match native.udp(handle)?.recv_slice(buffer) {
                Ok((length, meta)) => Ok(Some((length, endpoint_v4(meta.endpoint)))),
                Err(udp::RecvError::Exhausted) => Ok(None),
                Err(udp::RecvError::Truncated) => Err(NetError::InvalidArgument),
            }
        })
    }

    fn readiness(&self, socket: u32) -> Readiness {
        with_native(|native| {
            let entry = native.entries.get(&socket).ok_or(NetError::BadSocket)?;
            let primary = native.interfaces.first_mut().ok_or(NetError::NoStack)?;
            Ok(match entry {
                Entry::Tcp { handle, .. } => {
                    let socket = primary.sockets.get::<tcp::Socket>(*handle);
                    let state = socket.state();
                    let ended = !socket.may_recv()
                        && !matches!(
                            state,
                            tcp::State::Listen | tcp::State::SynSent | tcp::State::SynReceived
                        );
                    Readiness {
                        readable: socket.can_recv() || ended,
                        writable: socket.can_send(),
                        hangup: ended,
                        error: state == tcp::State::Closed && socket.remote_endpoint().is_none(),
                    }
                }
                Entry::Listener { backlog, .. } => Readiness {
                    readable: backlog.iter().any(|slot| {
                        !matches!(
                            primary.sockets.get::<tcp::Socket>(*slot).state(),
                            tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
                        )
                    }),
                    ..Readiness::default()
                },
                Entry::Udp { handle, .. } => {
                    let socket = primary.sockets.get::<udp::Socket>(*handle);
                    Readiness {
                        readable: socket.can_recv(),
                        writable: socket.can_send(),
                        ..Readiness::default()
                    }
                }
            })
        })
        .unwrap_or(Readiness {
            error: true,
            hangup: true,
            ..Readiness::default()
        })
    }

    fn shutdown(&self, socket: u32) -> Result<(), NetError> {
        with_native(|native| {
            let handle = native.tcp_handle(socket)?;
            native.tcp(handle)?.close();
            native.dirty = true;
            Ok(())
        })
    }

    fn close(&self, socket: u32) {
        let _ = with_native(|native| {
            let entry = native.entries.remove(&socket).ok_or(NetError::BadSocket)?;
            let primary = native.interfaces.first_mut().ok_or(NetError::NoStack)?;
            match entry {
                Entry::Tcp { handle, .. } => {
                    let connection = primary.sockets.get_mut::<tcp::Socket>(handle);
                    if connection.state() == tcp::State::Closed {
                        primary.sockets.remove(handle);
                    } else {
                        connection.close();
                        native.closing.push(handle);
                    }
                }
                Entry::Listener { backlog, .. } => {
                    for slot in backlog {
                        let connection = primary.sockets.get_mut::<tcp::Socket>(slot);
                        if connection.state() == tcp::State::Listen {
                            primary.sockets.remove(slot);
                        } else {
                            connection.abort();
                            native.closing.push(slot);
                        }
                    }
                }
                Entry::Udp { handle, .. } => {
                    primary.sockets.remove(handle);
                }
            }
            native.dirty = true;
            Ok(())
        });
    }

    fn local_address(&self, socket: u32) -> Result<SocketAddrV4, NetError> {
        with_native(|native| {
            let ip = native
                .primary()?
                .address
                .map(|cidr| cidr.address())
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            match native.entries.get(&socket) {
                Some(Entry::Tcp { port, .. }) | Some(Entry::Listener { port, .. }) => {
                    Ok(SocketAddrV4::new(ip, *port))
                }
                Some(Entry::Udp { handle, .. }) => {
                    let handle = *handle;
                    let port = native.udp(handle)?.endpoint().port;
                    Ok(SocketAddrV4::new(ip, port))
                }
                None => Err(NetError::BadSocket),
            }
        })
    }

    fn peer_address(&self, socket: u32) -> Result<SocketAddrV4, NetError> {
        with_native(|native| match native.entries.get(&socket) {
            Some(Entry::Tcp { handle, .. }) => {
                let handle = *handle;
                native
                    .tcp(handle)?
                    .remote_endpoint()
                    .map(endpoint_v4)
                    .ok_or(NetError::NotConnected)
            }
            Some(Entry::Udp { peer, .. }) => peer.ok_or(NetError::NotConnected),
            Some(Entry::Listener { .. }) => Err(NetError::NotConnected),
            None => Err(NetError::BadSocket),
        })
    }

    fn ping(
        &self,
        target: Ipv4Addr,
        payload: usize,
        sequence: u16,
        deadline: u64,
    ) -> Result<u64, NetError> {
        super::report::ping(target, payload, sequence, deadline)
    }

    fn wait_configured(&self, deadline: u64) -> bool {
        wait_for(Some(deadline), |native| {
            Ok(native.primary()?.address.map(|_| ()))
        })
        .is_ok()
    }

    fn interfaces(&self) -> Vec<InterfaceReport> {
        super::report::interfaces()
    }
}
