//! The host side of the network scenarios: an HTTP/1.0 file server and an upload sink on the
//! host's loopback (the guest reaches them as 10.0.2.2 through QEMU's user network), a reader
//! for the guest's `tcp serve` through `hostfwd`, and the content the guest must reproduce.
//! Every peer listens on 127.0.0.1 only, every loop is bounded in time, and each stops when
//! dropped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The guest shell's checksum (what `read`, `http get` and `tcp serve` print).
pub(super) fn checksum(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32))
}

/// The stream `tcp serve --bytes N` generates (byte i of it).
pub(super) fn pattern(length: usize) -> Vec<u8> {
    (0..length as u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect()
}

/// `length` bytes that do not compress (xorshift), the same for the same seed.
pub(super) fn random_bytes(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(length + 8);
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(length);
    bytes
}

/// A free TCP port on the loopback (bound and released: QEMU binds it next).
pub(super) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// A free UDP port on the loopback.
pub(super) fn free_udp_port() -> Result<u16, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(socket.local_addr().map_err(|e| e.to_string())?.port())
}

/// A server on 127.0.0.1 that handles each connection on a thread until dropped.
pub(super) struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// One line per request or upload, for the failure report.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(
        handler: impl Fn(TcpStream, &Mutex<Vec<String>>) + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let (stopping, journal) = (Arc::clone(&stop), Arc::clone(&log));
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(60)));
                        let (handler, journal) = (Arc::clone(&handler), Arc::clone(&journal));
                        std::thread::spawn(move || handler(stream, &journal));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(Self {
            port,
            stop,
            thread: Some(thread),
            log,
        })
    }

    pub(super) fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads an HTTP request head (bounded); returns the path of a GET.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_whitespace();
    (words.next() == Some("GET")).then(|| words.next().unwrap_or("/").to_string())
}

/// An HTTP/1.0 server of `files` by path. A path in `cut` is announced whole but the
/// connection is closed after that many body bytes (a server vanishing mid-transfer).
pub(super) fn http_server(
    files: HashMap<String, Arc<Vec<u8>>>,
    cut: HashMap<String, usize>,
) -> Result<Server, String> {
    Server::start(move |mut stream, log| {
        let Some(path) = read_request(&mut stream) else {
            return;
        };
        let entry = files.get(&path);
        let line = match entry {
            Some(body) => {
                let header = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                    body.len()
                );
                let sent = cut
                    .get(&path)
                    .copied()
                    .unwrap_or(body.len())
                    .min(body.len());
                let outcome = stream
                    .write_all(header.as_bytes())
                    .and_then(|()| stream.write_all(&body[..sent]));
                format!(
                    "GET {path}: 200, {sent} of {} bytes sent ({outcome:?})",
                    body.len()
                )
            }
            None => {
                let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                format!("GET {path}: 404")
            }
        };
        let _ = stream.shutdown(Shutdown::Both);
        log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    })
}

/// A sink that reads each connection to its end and logs `upload: BYTES bytes, checksum X`.
pub(super) fn sink_server() -> Result<Server, String> {
    Server::start(|mut stream, log| {
        let mut buffer = vec![0u8; 64 * 1024];
        let (mut total, mut sum) = (0usize, 0u32);
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    sum = buffer[..n]
                        .iter()
                        .fold(sum, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32));
                    total += n;
                }
                Err(_) => break,
            }
        }
        let _ = stream.shutdown(Shutdown::Both);
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("upload: {total} bytes, checksum {sum:08x}"));
    })
}

/// A UDP server on 127.0.0.1 that answers each datagram with `echo: ` and the datagram.
pub(super) struct UdpEcho {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub(super) fn udp_echo() -> Result<UdpEcho, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = socket.local_addr().map_err(|e| e.to_string())?.port();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let mut buffer = [0u8; 2048];
        while !stopping.load(Ordering::Relaxed) {
            if let Ok((length, from)) = socket.recv_from(&mut buffer) {
                let mut answer = b"echo: ".to_vec();
                answer.extend_from_slice(&buffer[..length]);
                let _ = socket.send_to(&answer, from);
            }
        }
    });
    Ok(UdpEcho {
        port,
        stop,
        thread: Some(thread),
    })
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects to a forwarded guest port and reads until the guest closes (or `limit` bytes,
/// after which it drops the connection: a client vanishing mid-transfer).
pub(super) fn fetch_forwarded(port: u16, limit: Option<usize>) -> Result<Vec<u8>, String> {
    fetch_forwarded_within(port, limit, Duration::from_secs(240))
}

/// [`fetch_forwarded`] that retries empty streams only for `patience`.
pub(super) fn fetch_forwarded_within(
    port: u16,
    limit: Option<usize>,
    patience: Duration,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + patience;
    // hostfwd accepts at once; the guest may not be listening yet, which reads as an empty
    // stream: retry those.
    loop {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .map_err(|e| format!("connect to forwarded port {port}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    bytes.extend_from_slice(&buffer[..n]);
                    if limit.is_some_and(|limit| bytes.len() >= limit) {
                        return Ok(bytes);
                    }
                }
                Err(e) if bytes.is_empty() => {
                    return Err(format!("reading forwarded port {port}: {e}"))
                }
                Err(_) => break,
            }
        }
        if !bytes.is_empty() || Instant::now() > deadline {
            return Ok(bytes);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Frames to throw at a NIC through QEMU's socket network: runts, oversized, truncated and
/// checksum-broken IPv4, an unknown EtherType and random bytes. Returns how many of each.
pub(super) fn send_bad_frames(guest_port: u16, from_port: u16) -> Result<BadFrames, String> {
    let socket = UdpSocket::bind(("127.0.0.1", from_port)).map_err(|e| e.to_string())?;
    let to = ("127.0.0.1", guest_port);
    let broadcast = [0xffu8; 6];
    let source = [0x02, 0, 0, 0, 0, 0x99];
    let frame = |ethertype: u16, payload: &[u8]| {
        let mut frame = Vec::new();
        frame.extend_from_slice(&broadcast);
        frame.extend_from_slice(&source);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    };
    let mut ipv4 = vec![
        0x45u8, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15,
    ];
    ipv4.extend_from_slice(&[0u8; 20]);
    let counts = BadFrames {
        runts: 20,
        oversized: 10,
        malformed: 20,
        unknown: 10,
        random: 50,
    };
    let send = |bytes: &[u8]| {
        socket.send_to(bytes, to).map_err(|e| e.to_string())?;
        // Slowly enough that the guest's ring never overflows: each must be counted.
        std::thread::sleep(Duration::from_millis(5));
        Ok::<(), String>(())
    };
    for length in 0..counts.runts {
        send(&random_bytes(1 + length % 13, length as u64 + 1))?;
    }
    for index in 0..counts.oversized {
        send(&frame(0x0800, &random_bytes(2500 + index * 10, 77)))?;
    }
    for index in 0..counts.malformed {
        if index % 2 == 0 {
            send(&frame(0x0800, &ipv4[..8]))?; // a truncated header
        } else {
            send(&frame(0x0800, &ipv4))?; // a header whose checksum is zero (wrong)
        }
    }
    for _ in 0..counts.unknown {
        send(&frame(0x88b5, b"local experimental EtherType"))?;
    }
    for index in 0..counts.random {
        send(&random_bytes(60 + index * 17 % 1400, 1000 + index as u64))?;
    }
    Ok(counts)
}

/// How many frames of each kind [`send_bad_frames`] sent.
pub(super) struct BadFrames {
    pub runts: usize,
    pub oversized: usize,
    pub malformed: usize,
    pub unknown: usize,
    pub random: usize,
}

/// Opens `count` connections to a forwarded guest port at once and reads each until it ends;
/// returns how many received any bytes.
pub(super) fn connection_flood(port: u16, count: usize) -> usize {
    let threads: Vec<JoinHandle<bool>> = (0..count)
        .map(|_| {
            std::thread::spawn(move || {
                let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
                    return false;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
                let mut buffer = [0u8; 4096];
                let mut any = false;
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    any = true;
                }
                any
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|thread| thread.join().ok())
        .filter(|served| *served)
        .count()
}
