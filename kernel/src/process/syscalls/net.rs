//! The socket system calls: IPv4 TCP and UDP sockets of either network stack (`crate::net`),
//! NetBSD's TCP/IP through the rump kernel by default when the kernel has it, smoltcp when
//! chosen (`sockets=native` on the command line) or when it is the only stack.
//!
//! A socket is a descriptor like any other (read, write, poll, close, dup, fork). Every call
//! that may wait does so in slices of `SLICE_NANOS` with the socket's own deadline, checking
//! for signals between slices, so a blocked `accept` or `recv` ends with `EINTR` (or restarts)
//! like a pipe read; `O_NONBLOCK` makes it answer `EAGAIN` at once.

use alloc::sync::Arc;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, Ordering};

use linux_abi::fcntl as f;

use super::{Call, Errno, SysResult};
use crate::net::socket::{NetError, Socket, SocketKind, StackKind};
use crate::process::files::{FileKind, OpenFile};
use crate::process::usermem::{read_bytes, read_u32, read_u64, write_bytes, write_u32};
use crate::process::Process;

/// Longest single wait inside the stack before signals are checked again.
const SLICE_NANOS: u64 = 20_000_000;
const AF_INET: u64 = 2;
const AF_UNIX: u64 = 1;
const AF_INET6: u64 = 10;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_TYPE_MASK: u64 = 0xf;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_PEEK: u64 = 0x2;
const SOL_SOCKET: u64 = 1;
const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;

/// An open socket.
pub struct SocketFile {
    pub socket: Socket,
    pub kind: SocketKind,
    /// `listen` was called.
    listening: AtomicBool,
    /// `connect` succeeded (or it came from `accept`).
    connected: AtomicBool,
}

impl SocketFile {
    fn new(socket: Socket, kind: SocketKind, connected: bool) -> Arc<Self> {
        Arc::new(Self {
            socket,
            kind,
            listening: AtomicBool::new(false),
            connected: AtomicBool::new(connected),
        })
    }

    /// (readable, writable, hang-up, error) for `poll`.
    pub fn poll_state(&self) -> (bool, bool, bool, bool) {
        let readiness = self.socket.readiness();
        (
            readiness.readable,
            readiness.writable,
            readiness.hangup,
            readiness.error,
        )
    }

    /// Reads (a stream) or receives one datagram.
    pub fn read(&self, process: &Process, buffer: &mut [u8], non_blocking: bool) -> SysResult {
        let count = wait_in_slices(process, non_blocking, |deadline| match self.kind {
            SocketKind::Stream => self.socket.receive(buffer, deadline),
            SocketKind::Datagram => self
                .socket
                .receive_from(buffer, deadline)
                .map(|(count, _)| count),
        })?;
        Ok(count as u64)
    }

    /// Writes (a stream: as much as the stack takes, at least one byte) or sends one datagram.
    pub fn write(&self, process: &Process, data: &[u8], non_blocking: bool) -> SysResult {
        if data.is_empty() {
            return Ok(0);
        }
        let count = wait_in_slices(process, non_blocking, |deadline| {
            self.socket.send(data, deadline)
        })?;
        Ok(count as u64)
    }
}

/// The stack new sockets use.
fn chosen_stack() -> Result<StackKind, Errno> {
    let wanted = crate::boot::info()
        .option("sockets")
        .and_then(StackKind::parse);
    let order = match wanted {
        Some(kind) => [Some(kind), None],
        None => [Some(StackKind::Rump), Some(StackKind::Native)],
    };
    order
        .into_iter()
        .flatten()
        .find(|kind| crate::net::socket::stack(*kind).is_some())
        .ok_or(Errno::EAFNOSUPPORT)
}

fn errno_of(error: NetError) -> Errno {
    Errno(error.linux_errno())
}

/// Runs `attempt` with a deadline one slice ahead until it stops answering `WouldBlock`,
/// checking for signals between slices (`EINTR`; the dispatcher restarts under SA_RESTART).
fn wait_in_slices<T>(
    process: &Process,
    non_blocking: bool,
    mut attempt: impl FnMut(Option<u64>) -> Result<T, NetError>,
) -> Result<T, Errno> {
    loop {
        let deadline = if non_blocking {
            crate::time::monotonic_nanos()
        } else {
            crate::time::monotonic_nanos() + SLICE_NANOS
        };
        // A stack reports a passed deadline as WouldBlock or TimedOut: the slice is over.
        match attempt(Some(deadline)) {
            Err(NetError::WouldBlock | NetError::TimedOut) if non_blocking => {
                return Err(Errno::EAGAIN)
            }
            Err(NetError::WouldBlock | NetError::TimedOut) => {
                if process.signals.lock().has_deliverable() {
                    return Err(Errno::EINTR);
                }
            }
            other => return other.map_err(errno_of),
        }
    }
}

fn socket_of(call: &Call<'_>, index: usize) -> Result<(Arc<OpenFile>, Arc<SocketFile>), Errno> {
    let file = call.process.files.lock().get(call.int(index))?;
    let socket = match &file.kind {
        FileKind::Socket(socket) => Arc::clone(socket),
        _ => return Err(Errno::ENOTSOCK),
    };
    Ok((file, socket))
}

/// A `struct sockaddr_in` from user memory.
fn read_address(address: u64, length: u64) -> Result<SocketAddrV4, Errno> {
    if length < 16 {
        return Err(Errno::EINVAL);
    }
    let bytes = read_bytes(address, 16)?;
    let family = u16::from_le_bytes([bytes[0], bytes[1]]);
    if u64::from(family) != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    let port = u16::from_be_bytes([bytes[2], bytes[3]]);
    let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
    Ok(SocketAddrV4::new(ip, port))
}

/// Writes `address` as a `struct sockaddr_in` to `address_pointer` with the length at
/// `length_pointer` (value-result, truncated as Linux does); nothing when the pointer is 0.
fn write_address(
    address_pointer: u64,
    length_pointer: u64,
    address: SocketAddrV4,
) -> Result<(), Errno> {
    if address_pointer == 0 {
        return Ok(());
    }
    let room = read_u32(length_pointer)? as usize;
    let mut bytes = [0u8; 16];
    bytes[0..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
    bytes[2..4].copy_from_slice(&address.port().to_be_bytes());
    bytes[4..8].copy_from_slice(&address.ip().octets());
    write_bytes(address_pointer, &bytes[..room.min(16)])?;
    write_u32(length_pointer, 16)
}

fn install_socket(process: &Arc<Process>, socket: Arc<SocketFile>, flags: u64) -> SysResult {
    let mut status = f::O_RDWR;
    if flags & SOCK_NONBLOCK != 0 {
        status |= f::O_NONBLOCK;
    }
    let file = OpenFile::new(FileKind::Socket(socket), status);
    process
        .files
        .lock()
        .install(file, flags & SOCK_CLOEXEC != 0, 0)
        .map(|fd| fd as u64)
}

pub fn socket(call: &mut Call<'_>) -> SysResult {
    let (domain, kind) = (call.arg(0), call.arg(1));
    match domain {
        AF_INET => {}
        AF_UNIX | AF_INET6 => return Err(Errno::EAFNOSUPPORT),
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    if kind & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let socket_kind = match kind & SOCK_TYPE_MASK {
        SOCK_STREAM => SocketKind::Stream,
        SOCK_DGRAM => SocketKind::Datagram,
        _ => return Err(Errno::EPROTONOSUPPORT),
    };
    let protocol = call.arg(2);
    let expected = if socket_kind == SocketKind::Stream {
        6
    } else {
        17
    };
    if protocol != 0 && protocol != expected {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let socket = Socket::open(chosen_stack()?, socket_kind).map_err(errno_of)?;
    install_socket(
        call.process,
        SocketFile::new(socket, socket_kind, false),
        kind,
    )
}

pub fn bind(call: &mut Call<'_>) -> SysResult {
    let (_, socket) = socket_of(call, 0)?;
    let address = read_address(call.arg(1), call.arg(2))?;
    socket.socket.bind(address).map_err(errno_of)?;
    Ok(0)
}

pub fn listen(call: &mut Call<'_>) -> SysResult {
    let (_, socket) = socket_of(call, 0)?;
    if socket.kind != SocketKind::Stream {
        return Err(Errno::EOPNOTSUPP);
    }
    let backlog = (call.arg(1) as i32).clamp(1, 128) as usize;
    socket.socket.listen(backlog).map_err(errno_of)?;
    socket.listening.store(true, Ordering::Release);
    Ok(0)
}

fn do_accept(call: &mut Call<'_>, flags: u64) -> SysResult {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (file, socket) = socket_of(call, 0)?;
    if !socket.listening.load(Ordering::Acquire) {
        return Err(Errno::EINVAL);
    }
    let (accepted, peer) = wait_in_slices(call.process, file.non_blocking(), |deadline| {
        socket.socket.accept(deadline)
    })?;
    write_address(call.arg(1), call.arg(2), peer)?;
    install_socket(
        call.process,
        SocketFile::new(accepted, SocketKind::Stream, true),
        flags,
    )
}

pub fn accept(call: &mut Call<'_>) -> SysResult {
    do_accept(call, 0)
}

pub fn accept4(call: &mut Call<'_>) -> SysResult {
    let flags = call.arg(3);
    do_accept(call, flags)
}

pub fn connect(call: &mut Call<'_>) -> SysResult {
    /// How long a blocking connect waits for the handshake.
    const CONNECT_NANOS: u64 = 60_000_000_000;
    let (file, socket) = socket_of(call, 0)?;
    let address = read_address(call.arg(1), call.arg(2))?;
    if socket.connected.load(Ordering::Acquire) && socket.kind == SocketKind::Stream {
        return Err(Errno::EISCONN);
    }
    // The handshake is one wait in the stack (a second connect would start another), so a
    // signal does not cut it short; a non-blocking socket answers EINPROGRESS and the program
    // polls for writability.
    let now = crate::time::monotonic_nanos();
    let deadline = if file.non_blocking() {
        now
    } else {
        now + CONNECT_NANOS
    };
    match socket.socket.connect(address, Some(deadline)) {
        Ok(()) => {
            socket.connected.store(true, Ordering::Release);
            Ok(0)
        }
        Err(NetError::WouldBlock) if file.non_blocking() => {
            socket.connected.store(true, Ordering::Release);
            Err(Errno::EINPROGRESS)
        }
        Err(NetError::WouldBlock) => Err(Errno::ETIMEDOUT),
        Err(error) => Err(errno_of(error)),
    }
}

/// Sends `data` (to `to` for a datagram socket that names a peer).
fn send_common(
    call: &mut Call<'_>,
    data: &[u8],
    flags: u64,
    to: Option<SocketAddrV4>,
) -> SysResult {
    let (file, socket) = socket_of(call, 0)?;
    let non_blocking = file.non_blocking() || flags & MSG_DONTWAIT != 0;
    let sent = wait_in_slices(call.process, non_blocking, |deadline| match to {
        Some(remote) if socket.kind == SocketKind::Datagram => {
            socket.socket.send_to(data, remote, deadline)
        }
        _ => socket.socket.send(data, deadline),
    })?;
    Ok(sent as u64)
}

pub fn sendto(call: &mut Call<'_>) -> SysResult {
    let to = match call.arg(4) {
        0 => None,
        address => Some(read_address(address, call.arg(5))?),
    };
    let length = (call.arg(2) as usize).min(super::fs::MAX_TRANSFER);
    let data = read_bytes(call.arg(1), length)?;
    let flags = call.arg(3);
    send_common(call, &data, flags, to)
}

fn receive_common(
    call: &mut Call<'_>,
    length: u64,
    flags: u64,
) -> Result<(alloc::vec::Vec<u8>, Option<SocketAddrV4>), Errno> {
    if flags & MSG_PEEK != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let (file, socket) = socket_of(call, 0)?;
    let mut buffer = alloc::vec![0u8; (length as usize).min(super::fs::MAX_TRANSFER)];
    let non_blocking = file.non_blocking() || flags & MSG_DONTWAIT != 0;
    let (count, from) = wait_in_slices(call.process, non_blocking, |deadline| match socket.kind {
        SocketKind::Stream => socket
            .socket
            .receive(&mut buffer, deadline)
            .map(|count| (count, None)),
        SocketKind::Datagram => socket
            .socket
            .receive_from(&mut buffer, deadline)
            .map(|(count, from)| (count, Some(from))),
    })?;
    buffer.truncate(count);
    Ok((buffer, from))
}

pub fn recvfrom(call: &mut Call<'_>) -> SysResult {
    let (data, from) = receive_common(call, call.arg(2), call.arg(3))?;
    write_bytes(call.arg(1), &data)?;
    if let Some(from) = from {
        write_address(call.arg(4), call.arg(5), from)?;
    } else if call.arg(4) != 0 {
        let peer = socket_of(call, 0)?.1.socket.peer_address().ok();
        if let Some(peer) = peer {
            write_address(call.arg(4), call.arg(5), peer)?;
        }
    }
    Ok(data.len() as u64)
}

/// A `struct msghdr` as read from user memory: the name's address and length, and the
/// `(base, length)` pairs of its iovec array.
type Message = (u64, u64, alloc::vec::Vec<(u64, u64)>);

/// Reads the `struct msghdr` at `header`.
fn message_vectors(header: u64) -> Result<Message, Errno> {
    let name = read_u64(header)?;
    let name_length = u64::from(read_u32(header + 8)?);
    let vectors = read_u64(header + 16)?;
    let count = read_u64(header + 24)?;
    if count > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    let mut pairs = alloc::vec::Vec::with_capacity(count as usize);
    for index in 0..count {
        let entry = vectors + index * 16;
        pairs.push((read_u64(entry)?, read_u64(entry + 8)?));
    }
    Ok((name, name_length, pairs))
}

pub fn sendmsg(call: &mut Call<'_>) -> SysResult {
    let (name, name_length, vectors) = message_vectors(call.arg(1))?;
    let mut data = alloc::vec::Vec::new();
    for (base, length) in vectors {
        if data.len() + length as usize > super::fs::MAX_TRANSFER {
            return Err(Errno::EMSGSIZE);
        }
        data.extend(read_bytes(base, length as usize)?);
    }
    let to = match name {
        0 => None,
        address => Some(read_address(address, name_length)?),
    };
    let flags = call.arg(2);
    send_common(call, &data, flags, to)
}

pub fn recvmsg(call: &mut Call<'_>) -> SysResult {
    let header = call.arg(1);
    let (name, _, vectors) = message_vectors(header)?;
    let total: u64 = vectors.iter().map(|(_, length)| *length).sum();
    let (data, from) = receive_common(call, total, call.arg(2))?;
    let mut rest = &data[..];
    for (base, length) in vectors {
        let count = rest.len().min(length as usize);
        write_bytes(base, &rest[..count])?;
        rest = &rest[count..];
        if rest.is_empty() {
            break;
        }
    }
    if let (Some(from), true) = (from, name != 0) {
        write_address(name, header + 8, from)?;
    }
    // No control data and no flags.
    write_bytes(header + 40, &0u64.to_le_bytes())?;
    write_u32(header + 48, 0)?;
    Ok(data.len() as u64)
}

pub fn shutdown(call: &mut Call<'_>) -> SysResult {
    let (_, socket) = socket_of(call, 0)?;
    match call.arg(1) {
        // SHUT_RD: nothing to tell the peer; reads go on until it closes.
        0 => Ok(0),
        1 | 2 => socket.socket.shutdown().map(|()| 0).map_err(errno_of),
        _ => Err(Errno::EINVAL),
    }
}

pub fn getsockname(call: &mut Call<'_>) -> SysResult {
    let (_, socket) = socket_of(call, 0)?;
    let address = socket
        .socket
        .local_address()
        .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
    write_address(call.arg(1), call.arg(2), address)?;
    Ok(0)
}

pub fn getpeername(call: &mut Call<'_>) -> SysResult {
    let (_, socket) = socket_of(call, 0)?;
    let address = socket.socket.peer_address().map_err(|_| Errno::ENOTCONN)?;
    write_address(call.arg(1), call.arg(2), address)?;
    Ok(0)
}

/// Options are accepted and kept by the stacks' defaults (address reuse, keep-alive, no-delay
/// and buffer sizes change nothing a program can observe here but timing).
pub fn setsockopt(call: &mut Call<'_>) -> SysResult {
    socket_of(call, 0)?;
    if call.arg(4) > 4096 {
        return Err(Errno::EINVAL);
    }
    read_bytes(call.arg(3), call.arg(4) as usize)?;
    Ok(0)
}

pub fn getsockopt(call: &mut Call<'_>) -> SysResult {
    let (_, socket) = socket_of(call, 0)?;
    let value: i32 = match (call.arg(1), call.arg(2)) {
        (SOL_SOCKET, SO_TYPE) => match socket.kind {
            SocketKind::Stream => SOCK_STREAM as i32,
            SocketKind::Datagram => SOCK_DGRAM as i32,
        },
        (SOL_SOCKET, SO_ERROR) if socket.socket.readiness().error => linux_abi::errno::ECONNREFUSED,
        (SOL_SOCKET, SO_ERROR) => 0,
        (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => 65536,
        _ => 0,
    };
    let room = read_u32(call.arg(4))? as usize;
    write_bytes(call.arg(3), &value.to_le_bytes()[..room.min(4)])?;
    write_u32(call.arg(4), 4)?;
    Ok(0)
}
