//! The native stack: smoltcp over the native NICs, driven by one polling thread.
//!
//! Each NIC gets a smoltcp interface with a DHCPv4 client; sockets live on the first interface
//! (`eth0`, the one on QEMU's user network). The polling thread runs smoltcp whenever a NIC's
//! interrupt, a socket call or one of smoltcp's timers asks for it, and sleeps otherwise; after
//! each pass it wakes the callers waiting on sockets ([`wait_for`]).
//!
//! The socket API is in `sockets`, ping and the `ifconfig` reports in `report`. Frames are
//! checked on their way in (`frames`): runts, oversized, malformed IPv4 and
//! unknown protocols are counted per interface and dropped before smoltcp sees them.
//!
//! Lock order: [`STATE`] (a sleeping mutex) → a driver's ring lock. The polling thread and the
//! socket calls take `STATE`; interrupt handlers never do (they only call [`kick`]).

mod frames;
mod report;
mod sockets;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr};

use super::device::{self, NetDevice};
use super::socket::NetError;
use crate::sched::mutex::Mutex;
use crate::sched::wait::WaitQueue;

/// One NIC under smoltcp.
struct NativeInterface {
    device: Arc<dyn NetDevice>,
    interface: Interface,
    sockets: SocketSet<'static>,
    dhcp: SocketHandle,
    address: Option<Ipv4Cidr>,
    gateway: Option<Ipv4Addr>,
}

/// A socket of the API, by its number.
enum Entry {
    /// A TCP socket (unbound, connecting, connected or closing).
    Tcp { handle: SocketHandle, port: u16 },
    /// A listening TCP socket: smoltcp sockets in LISTEN, one per backlog slot.
    Listener {
        port: u16,
        backlog: Vec<SocketHandle>,
        /// Every slot is taken (counted once per time it fills up).
        full: bool,
        full_logged: bool,
    },
    /// A UDP socket and its connected peer.
    Udp {
        handle: SocketHandle,
        peer: Option<core::net::SocketAddrV4>,
    },
}

/// Everything the native stack owns, behind [`STATE`].
struct Native {
    interfaces: Vec<NativeInterface>,
    entries: BTreeMap<u32, Entry>,
    next_id: u32,
    next_port: u16,
    /// Closed TCP sockets still finishing their close handshake.
    closing: Vec<SocketHandle>,
    /// A socket call changed something the polling thread must act on.
    dirty: bool,
    /// Times a listener's backlog filled up (SYNs meanwhile are refused).
    backlog_full: u64,
}

static STATE: Mutex<Option<Native>> = Mutex::new("net-native", None);
/// Bumped after every polling pass; waiters compare it.
static EVENTS: AtomicU64 = AtomicU64::new(0);
/// Socket calls waiting for the next polling pass.
static EVENT_WAITERS: WaitQueue = WaitQueue::new("net-events");
/// Set by interrupts and socket calls; the polling thread clears it before a pass.
static KICKED: AtomicBool = AtomicBool::new(false);
static POLLER: WaitQueue = WaitQueue::new("net-poll");
/// Polling passes so far.
static PASSES: AtomicU64 = AtomicU64::new(0);

fn now() -> Instant {
    Instant::from_micros((crate::time::monotonic_nanos() / 1000) as i64)
}

/// Wakes the polling thread (any context, never blocks).
pub fn kick() {
    KICKED.store(true, Ordering::Release);
    POLLER.wake_all();
}

/// Builds an interface for every native NIC, starts the polling thread and registers the
/// stack; without NICs there is no native stack.
pub fn init() {
    let devices = device::devices();
    if devices.is_empty() {
        return;
    }
    let mut interfaces = Vec::new();
    for device in devices {
        device.set_waker(kick);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(device.mac())));
        config.random_seed = crate::arch::cpu::random_u64();
        let mut adapter = frames::Adapter::new(&*device);
        let interface = Interface::new(config, &mut adapter, now());
        let mut sockets = SocketSet::new(Vec::new());
        let dhcp = sockets.add(dhcpv4::Socket::new());
        interfaces.push(NativeInterface {
            device,
            interface,
            sockets,
            dhcp,
            address: None,
            gateway: None,
        });
    }
    *STATE.lock() = Some(Native {
        interfaces,
        entries: BTreeMap::new(),
        next_id: 1,
        next_port: 49152,
        closing: Vec::new(),
        dirty: false,
        backlog_full: 0,
    });
    let mut builder = crate::sched::Builder::new("net-poll");
    builder.stack_pages = 16;
    match crate::sched::spawn(builder, poll_loop) {
        Ok(handle) => handle.detach(),
        Err(error) => {
            log::error!("net: no polling thread ({error:?}); the native stack stays off");
            return;
        }
    }
    super::socket::register(&sockets::NATIVE);
}

/// The polling thread: a smoltcp pass, wake the waiters, sleep until kicked or a timer is due.
fn poll_loop() -> u64 {
    loop {
        KICKED.store(false, Ordering::Release);
        let delay_micros = {
            let mut guard = STATE.lock();
            match guard.as_mut() {
                Some(native) => native.poll(),
                None => 1_000_000,
            }
        };
        PASSES.fetch_add(1, Ordering::Relaxed);
        EVENTS.fetch_add(1, Ordering::AcqRel);
        EVENT_WAITERS.wake_all();
        // Sleep at least a little when nothing kicked us: a timer smoltcp says is due now
        // (say, a retransmission into a full ring) must not turn into a busy loop.
        let wait = delay_micros.clamp(1_000, 1_000_000) * 1000;
        let deadline = crate::time::monotonic_nanos() + wait;
        POLLER.wait_until(Some(deadline), || KICKED.load(Ordering::Acquire));
    }
}

impl Native {
    /// One pass over every interface; returns microseconds until smoltcp wants the next one.
    fn poll(&mut self) -> u64 {
        let mut delay = u64::MAX;
        for interface in self.interfaces.iter_mut() {
            // smoltcp sends at most one segment per socket and pass: go round again while
            // frames move and it wants to (a full ring stops the frames, and the loop).
            for _ in 0..MAX_ROUNDS {
                let moved = interface.frames_moved();
                let timestamp = now();
                let mut adapter = frames::Adapter::new(&*interface.device);
                interface
                    .interface
                    .poll(timestamp, &mut adapter, &mut interface.sockets);
                interface.update_dhcp();
                let next = interface
                    .interface
                    .poll_delay(timestamp, &interface.sockets);
                if next.is_some_and(|next| next.total_micros() == 0)
                    && interface.frames_moved() != moved
                {
                    continue;
                }
                if let Some(next) = next {
                    delay = delay.min(next.total_micros());
                }
                break;
            }
        }
        self.watch_listeners();
        self.reap_closed();
        delay
    }

    /// Logs once per listener when every backlog slot is taken (further SYNs get a reset).
    fn watch_listeners(&mut self) {
        let Some(primary) = self.interfaces.first_mut() else {
            return;
        };
        for entry in self.entries.values_mut() {
            let Entry::Listener {
                port,
                backlog,
                full,
                full_logged,
            } = entry
            else {
                continue;
            };
            let listening = backlog
                .iter()
                .filter(|h| primary.sockets.get::<tcp::Socket>(**h).state() == tcp::State::Listen)
                .count();
            if listening > 0 {
                *full = false;
                continue;
            }
            if !*full {
                *full = true;
                self.backlog_full += 1;
            }
            if !*full_logged {
                *full_logged = true;
                log::warn!(
                    "net: port {port}: all {} backlog slots are taken; further connection attempts are refused until one is accepted (logged once)",
                    backlog.len()
                );
            }
        }
    }

    /// Frees closed sockets whose graceful close has finished.
    fn reap_closed(&mut self) {
        let Some(primary) = self.interfaces.first_mut() else {
            return;
        };
        self.closing.retain(|handle| {
            let state = primary.sockets.get::<tcp::Socket>(*handle).state();
            if state == tcp::State::Closed || state == tcp::State::TimeWait {
                primary.sockets.remove(*handle);
                false
            } else {
                true
            }
        });
    }

    fn primary(&mut self) -> Result<&mut NativeInterface, NetError> {
        self.interfaces.first_mut().ok_or(NetError::NoStack)
    }

    fn new_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// A local port no API socket uses (49152..65535, wrapping).
    fn ephemeral_port(&mut self) -> u16 {
        loop {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { 49152 } else { port + 1 };
            let taken = self.entries.values().any(|entry| match entry {
                Entry::Tcp { port: p, .. } | Entry::Listener { port: p, .. } => *p == port,
                Entry::Udp { .. } => false,
            });
            if !taken {
                return port;
            }
        }
    }
}

/// How often one pass may run smoltcp over an interface whose frames keep moving.
const MAX_ROUNDS: usize = 64;

impl NativeInterface {
    /// Frames sent and received so far (to tell whether a smoltcp round did anything).
    fn frames_moved(&self) -> u64 {
        let counters = self.device.counters();
        counters.sent_frames.load(Ordering::Relaxed)
            + counters.received_frames.load(Ordering::Relaxed)
    }

    /// Applies what the DHCP client learnt.
    fn update_dhcp(&mut self) {
        let event = self.sockets.get_mut::<dhcpv4::Socket>(self.dhcp).poll();
        let name = self.device.name();
        match event {
            None => {}
            Some(dhcpv4::Event::Configured(config)) => {
                self.interface.update_ip_addrs(|addresses| {
                    addresses.clear();
                    let _ = addresses.push(IpCidr::Ipv4(config.address));
                });
                self.address = Some(config.address);
                self.gateway = config.router;
                match config.router {
                    Some(router) => {
                        let _ = self.interface.routes_mut().add_default_ipv4_route(router);
                    }
                    None => {
                        self.interface.routes_mut().remove_default_ipv4_route();
                    }
                }
                log::info!(
                    "{name}: DHCP: address {}, gateway {}",
                    config.address,
                    config.router.map_or_else(
                        || alloc::string::String::from("none"),
                        |r| alloc::format!("{r}")
                    )
                );
            }
            // The client starts by reporting "deconfigured"; only a lost address is news.
            Some(dhcpv4::Event::Deconfigured) if self.address.is_none() => {}
            Some(dhcpv4::Event::Deconfigured) => {
                self.interface
                    .update_ip_addrs(|addresses| addresses.clear());
                self.interface.routes_mut().remove_default_ipv4_route();
                self.address = None;
                self.gateway = None;
                log::info!("{name}: DHCP: address lost");
            }
        }
    }
}

/// Runs `attempt` on the stack until it yields a value, waiting for polling passes between
/// tries; `deadline` as in [`super::socket`]. An attempt that changed a socket sets `dirty`,
/// and the polling thread is kicked.
fn wait_for<T>(
    deadline: Option<u64>,
    mut attempt: impl FnMut(&mut Native) -> Result<Option<T>, NetError>,
) -> Result<T, NetError> {
    let started = crate::time::monotonic_nanos();
    loop {
        let seen = EVENTS.load(Ordering::Acquire);
        let (result, dirty) = {
            let mut guard = STATE.lock();
            let native = guard.as_mut().ok_or(NetError::NoStack)?;
            let result = attempt(native);
            (result, core::mem::take(&mut native.dirty))
        };
        if dirty {
            kick();
        }
        if let Some(value) = result? {
            return Ok(value);
        }
        if let Some(deadline) = deadline {
            if started >= deadline {
                return Err(NetError::WouldBlock);
            }
            if crate::time::monotonic_nanos() >= deadline {
                return Err(NetError::TimedOut);
            }
        }
        EVENT_WAITERS.wait_until(deadline, || EVENTS.load(Ordering::Acquire) != seen);
    }
}

/// Runs `work` on the stack once (no waiting).
fn with_native<T>(work: impl FnOnce(&mut Native) -> Result<T, NetError>) -> Result<T, NetError> {
    let (result, dirty) = {
        let mut guard = STATE.lock();
        let native = guard.as_mut().ok_or(NetError::NoStack)?;
        let result = work(native);
        (result, core::mem::take(&mut native.dirty))
    };
    if dirty {
        kick();
    }
    result
}

/// Polling passes so far (for `net bench` and tests: the thread sleeps when idle).
pub fn passes() -> u64 {
    PASSES.load(Ordering::Relaxed)
}
