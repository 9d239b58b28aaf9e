//! The socket API over both stacks: what the shell and, later, the process layer's socket
//! system calls use, whichever stack serves them.
//!
//! A stack implements [`Stack`]; the native one (smoltcp, `net::native`) registers itself at
//! start-up and the rump client registers NetBSD's through [`register`]. A [`Socket`] is a
//! stack plus the stack's socket number, closed when dropped. Every call that may wait takes a
//! deadline in monotonic nanoseconds: `None` waits for ever, a deadline already past makes the
//! call non-blocking (it returns [`NetError::WouldBlock`] instead of waiting), and
//! [`Socket::readiness`] answers `poll` without waiting.
//!
//! Calls may sleep: they must come from a thread, never from an interrupt handler. The rump
//! stack's calls enter NetBSD's code, which wants a deep stack (the shell runs them on a rump
//! client thread of 128 KiB).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

use crate::sync::spin::IrqSpinLock;

/// Which stack serves a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackKind {
    /// smoltcp over virtio-net.
    Native,
    /// NetBSD's TCP/IP through the rump kernel, over wm(4) on an e1000.
    Rump,
}

impl StackKind {
    /// `native` or `rump`.
    pub fn name(self) -> &'static str {
        match self {
            StackKind::Native => "native",
            StackKind::Rump => "rump",
        }
    }

    /// Parses `native` or `rump`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "native" => Some(StackKind::Native),
            "rump" => Some(StackKind::Rump),
            _ => None,
        }
    }
}

/// The kind of socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// TCP.
    Stream,
    /// UDP.
    Datagram,
}

/// What a socket is ready for (the `poll` bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Data, an end of stream, or (for a listener) a connection is waiting.
    pub readable: bool,
    /// Sending would not wait.
    pub writable: bool,
    /// The peer closed or the connection ended.
    pub hangup: bool,
    /// The connection failed (reset, refused).
    pub error: bool,
}

/// Why a socket call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// No such stack in this kernel (no NIC for it, or no components linked).
    NoStack,
    /// The stack has no address yet (DHCP has not answered, the interface is down).
    NotConfigured,
    /// The call would have to wait and its deadline has passed.
    WouldBlock,
    /// The deadline passed while waiting.
    TimedOut,
    /// The peer refused the connection.
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionReset,
    /// The socket is not connected.
    NotConnected,
    /// The local address or port is taken.
    AddressInUse,
    /// A bad argument for this socket (wrong kind, wrong state).
    InvalidArgument,
    /// No such socket.
    BadSocket,
    /// No route to the destination.
    Unreachable,
    /// The stack ran out of sockets or buffers.
    NoBuffers,
    /// The stack returned an error number of its own (NetBSD's, for rump).
    Stack(i32),
}

impl NetError {
    /// The Linux errno for this error (for the socket system calls).
    pub fn linux_errno(self) -> i32 {
        match self {
            NetError::NoStack => 97,            // EAFNOSUPPORT
            NetError::NotConfigured => 101,     // ENETUNREACH
            NetError::WouldBlock => 11,         // EAGAIN
            NetError::TimedOut => 110,          // ETIMEDOUT
            NetError::ConnectionRefused => 111, // ECONNREFUSED
            NetError::ConnectionReset => 104,   // ECONNRESET
            NetError::NotConnected => 107,      // ENOTCONN
            NetError::AddressInUse => 98,       // EADDRINUSE
            NetError::InvalidArgument => 22,    // EINVAL
            NetError::BadSocket => 9,           // EBADF
            NetError::Unreachable => 113,       // EHOSTUNREACH
            NetError::NoBuffers => 105,         // ENOBUFS
            NetError::Stack(_) => 5,            // EIO
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::NoStack => write!(f, "no such network stack in this kernel"),
            NetError::NotConfigured => write!(f, "the interface has no address yet"),
            NetError::WouldBlock => write!(f, "the call would block"),
            NetError::TimedOut => write!(f, "timed out"),
            NetError::ConnectionRefused => write!(f, "connection refused"),
            NetError::ConnectionReset => write!(f, "connection reset by peer"),
            NetError::NotConnected => write!(f, "not connected"),
            NetError::AddressInUse => write!(f, "address in use"),
            NetError::InvalidArgument => write!(f, "invalid argument"),
            NetError::BadSocket => write!(f, "no such socket"),
            NetError::Unreachable => write!(f, "no route to host"),
            NetError::NoBuffers => write!(f, "no sockets or buffers left"),
            NetError::Stack(errno) => write!(f, "stack error {errno}"),
        }
    }
}

/// One interface as a stack sees it, for `ifconfig`.
#[derive(Debug, Clone, Default)]
pub struct InterfaceReport {
    pub name: String,
    pub mac: [u8; 6],
    pub link_up: bool,
    /// Address and prefix length, once configured.
    pub address: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
    /// How the address came (`DHCP`, `static`).
    pub configured_by: &'static str,
    pub received_frames: u64,
    pub received_bytes: u64,
    pub sent_frames: u64,
    pub sent_bytes: u64,
    pub receive_errors: u64,
    pub send_errors: u64,
    /// Further counters by name (bad frames, interrupts, link changes…).
    pub extra: Vec<(&'static str, u64)>,
    /// The device behind it.
    pub device: String,
}

/// A network stack: sockets, ping and interface reports. Socket numbers are the stack's own.
pub trait Stack: Send + Sync {
    /// Which stack this is.
    fn kind(&self) -> StackKind;
    /// A new unbound socket.
    fn open(&self, kind: SocketKind) -> Result<u32, NetError>;
    /// Binds to a local address (port 0: any free port).
    fn bind(&self, socket: u32, local: SocketAddrV4) -> Result<(), NetError>;
    /// Connects a stream socket (waits for the handshake) or sets a datagram socket's peer.
    fn connect(
        &self,
        socket: u32,
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<(), NetError>;
    /// Makes a bound stream socket accept up to `backlog` pending connections.
    fn listen(&self, socket: u32, backlog: usize) -> Result<(), NetError>;
    /// Waits for a connection on a listening socket; returns it and its peer.
    fn accept(&self, socket: u32, deadline: Option<u64>) -> Result<(u32, SocketAddrV4), NetError>;
    /// Sends on a connected socket; returns how much was taken (at least one byte).
    fn send(&self, socket: u32, data: &[u8], deadline: Option<u64>) -> Result<usize, NetError>;
    /// Sends one datagram to `remote`.
    fn send_to(
        &self,
        socket: u32,
        data: &[u8],
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<usize, NetError>;
    /// Receives from a connected socket; 0 means the peer closed its side.
    fn receive(
        &self,
        socket: u32,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<usize, NetError>;
    /// Receives one datagram and its sender.
    fn receive_from(
        &self,
        socket: u32,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<(usize, SocketAddrV4), NetError>;
    /// What the socket is ready for now (never waits).
    fn readiness(&self, socket: u32) -> Readiness;
    /// Closes the sending side (a FIN for TCP).
    fn shutdown(&self, socket: u32) -> Result<(), NetError>;
    /// Releases the socket (an open TCP connection is closed gracefully in the background).
    fn close(&self, socket: u32);
    /// The local address a socket is bound to.
    fn local_address(&self, socket: u32) -> Result<SocketAddrV4, NetError>;
    /// The connected peer.
    fn peer_address(&self, socket: u32) -> Result<SocketAddrV4, NetError>;
    /// Sends one ICMP echo request with `payload` bytes and waits for its reply; returns the
    /// round trip in nanoseconds.
    fn ping(
        &self,
        target: Ipv4Addr,
        payload: usize,
        sequence: u16,
        deadline: u64,
    ) -> Result<u64, NetError>;
    /// Waits until the stack has an address (or the deadline passes); true when it has.
    fn wait_configured(&self, deadline: u64) -> bool;
    /// The stack's interfaces.
    fn interfaces(&self) -> Vec<InterfaceReport>;
}

static STACKS: IrqSpinLock<[Option<&'static dyn Stack>; 2]> =
    IrqSpinLock::new("net-stacks", [None, None]);

/// Makes `stack` serve sockets of its kind.
pub fn register(stack: &'static dyn Stack) {
    STACKS.lock()[stack.kind() as usize] = Some(stack);
}

/// The stack of `kind`, if this kernel has it.
pub fn stack(kind: StackKind) -> Option<&'static dyn Stack> {
    STACKS.lock()[kind as usize]
}

/// A socket of either stack; closed when dropped.
pub struct Socket {
    stack: &'static dyn Stack,
    id: u32,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Socket({} #{})", self.stack.kind().name(), self.id)
    }
}

impl Socket {
    /// A new socket on the stack of `kind`.
    pub fn open(kind: StackKind, socket_kind: SocketKind) -> Result<Self, NetError> {
        let stack = stack(kind).ok_or(NetError::NoStack)?;
        let id = stack.open(socket_kind)?;
        Ok(Self { stack, id })
    }

    /// The stack serving this socket.
    pub fn stack(&self) -> &'static dyn Stack {
        self.stack
    }

    /// See [`Stack::bind`].
    pub fn bind(&self, local: SocketAddrV4) -> Result<(), NetError> {
        self.stack.bind(self.id, local)
    }

    /// See [`Stack::connect`].
    pub fn connect(&self, remote: SocketAddrV4, deadline: Option<u64>) -> Result<(), NetError> {
        self.stack.connect(self.id, remote, deadline)
    }

    /// See [`Stack::listen`].
    pub fn listen(&self, backlog: usize) -> Result<(), NetError> {
        self.stack.listen(self.id, backlog)
    }

    /// See [`Stack::accept`].
    pub fn accept(&self, deadline: Option<u64>) -> Result<(Socket, SocketAddrV4), NetError> {
        let (id, peer) = self.stack.accept(self.id, deadline)?;
        Ok((
            Socket {
                stack: self.stack,
                id,
            },
            peer,
        ))
    }

    /// See [`Stack::send`].
    pub fn send(&self, data: &[u8], deadline: Option<u64>) -> Result<usize, NetError> {
        self.stack.send(self.id, data, deadline)
    }

    /// Sends all of `data` (several [`Stack::send`] calls if needed).
    pub fn send_all(&self, mut data: &[u8], deadline: Option<u64>) -> Result<(), NetError> {
        while !data.is_empty() {
            let sent = self.send(data, deadline)?;
            data = &data[sent..];
        }
        Ok(())
    }

    /// See [`Stack::send_to`].
    pub fn send_to(
        &self,
        data: &[u8],
        remote: SocketAddrV4,
        deadline: Option<u64>,
    ) -> Result<usize, NetError> {
        self.stack.send_to(self.id, data, remote, deadline)
    }

    /// See [`Stack::receive`].
    pub fn receive(&self, buffer: &mut [u8], deadline: Option<u64>) -> Result<usize, NetError> {
        self.stack.receive(self.id, buffer, deadline)
    }

    /// See [`Stack::receive_from`].
    pub fn receive_from(
        &self,
        buffer: &mut [u8],
        deadline: Option<u64>,
    ) -> Result<(usize, SocketAddrV4), NetError> {
        self.stack.receive_from(self.id, buffer, deadline)
    }

    /// See [`Stack::readiness`].
    pub fn readiness(&self) -> Readiness {
        self.stack.readiness(self.id)
    }

    /// See [`Stack::shutdown`].
    pub fn shutdown(&self) -> Result<(), NetError> {
        self.stack.shutdown(self.id)
    }

    /// See [`Stack::local_address`].
    pub fn local_address(&self) -> Result<SocketAddrV4, NetError> {
        self.stack.local_address(self.id)
    }

    /// See [`Stack::peer_address`].
    pub fn peer_address(&self) -> Result<SocketAddrV4, NetError> {
        self.stack.peer_address(self.id)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.stack.close(self.id);
    }
}
