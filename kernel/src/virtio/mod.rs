//! Virtio over PCI, shared by the virtio drivers (virtio-blk in `block`, virtio-net in `net`):
//! the modern PCI transport ([`transport`]) and the split virtqueue ([`virtqueue`]).
//!
//! Owns no device: drivers find their functions through `pci`, build a [`transport::Transport`]
//! and their queues here, and keep both behind their own locks. Nothing in this module waits or
//! takes interrupts; that is each driver's business.
//!
//! May import: `mm`, `pci`.

#[deny(unsafe_code)]
pub mod transport;
pub mod virtqueue;

pub use transport::{Transport, VirtioError};
pub use virtqueue::{Segment, Virtqueue};
