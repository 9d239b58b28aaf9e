//! The network: native NIC drivers, the native TCP/IP stack (smoltcp) and the socket API that
//! serves both stacks.
//!
//! [`device`] is the interface a native NIC driver offers and the registry of interfaces;
//! [`virtio_net`] is the one driver. `native` runs smoltcp over the registered NICs on a
//! polling thread that their interrupts wake. [`socket`] is the stack-neutral API — open,
//! bind, connect, listen, accept, send, receive, readiness, close, ping, interface reports —
//! that the shell uses and the socket system calls will; the rump client registers NetBSD's
//! stack with it (`socket::register`), so nothing here knows about rump.
//!
//! May import: `arch`, `console`, `mm`, `pci`, `sched`, `sync`, `time`, `virtio`.

pub mod device;
mod native;
pub mod socket;
pub mod virtio_net;

pub use socket::{NetError, Readiness, Socket, SocketKind, Stack, StackKind};

/// Attaches the native NICs and starts the native stack on them (after `pci::init` and the
/// scheduler: the stack has its own thread).
pub fn init() {
    virtio_net::probe_all();
    native::init();
}

/// Polling passes of the native stack so far (it sleeps when the network is idle).
pub fn native_passes() -> u64 {
    native::passes()
}
