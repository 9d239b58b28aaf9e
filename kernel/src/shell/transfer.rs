//! Transfers over either network stack: `http get` (an HTTP/1.0 client that checksums what it
//! fetches), `tcp serve` (a file or a generated stream to each client) and `net bench`.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::net::{
    checksum, now, on_stack, parse_endpoint, pattern_byte, ready, split_stack, CALL_NANOS,
};
use crate::net::socket::{NetError, Socket, SocketKind, StackKind};
use crate::println;

/// What an HTTP/1.0 GET brought.
struct Fetched {
    status: u16,
    body_bytes: u64,
    content_length: Option<u64>,
    checksum: u32,
    nanos: u64,
    /// Why the body ended early, if it did.
    cut_short: Option<NetError>,
}

/// Finds the end of the header block.
fn header_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Status code and Content-Length of a header block (untrusted bytes: never panics).
fn parse_header(header: &[u8]) -> Result<(u16, Option<u64>), String> {
    let text = core::str::from_utf8(header).map_err(|_| String::from("header is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(alloc::format!("not an HTTP/1.x answer: '{status_line}'"));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| alloc::format!("bad status line '{status_line}'"))?;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| alloc::format!("bad Content-Length '{}'", value.trim()))?,
                );
            }
        }
    }
    Ok((status, length))
}

/// GET `path` from `server` over HTTP/1.0 and checksums the body.
fn http_fetch(kind: StackKind, server: SocketAddrV4, path: &str) -> Result<Fetched, String> {
    let socket =
        Socket::open(kind, SocketKind::Stream).map_err(|e| alloc::format!("socket: {e}"))?;
    let started = now();
    socket
        .connect(server, Some(now() + CALL_NANOS))
        .map_err(|e| alloc::format!("connect {server}: {e}"))?;
    let request =
        alloc::format!("GET {path} HTTP/1.0\r\nHost: {server}\r\nUser-Agent: kernel\r\n\r\n");
    socket
        .send_all(request.as_bytes(), Some(now() + CALL_NANOS))
        .map_err(|e| alloc::format!("send: {e}"))?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut header = Vec::new();
    let (status, content_length, mut sum, mut body_bytes) = loop {
        let length = socket
            .receive(&mut buffer, Some(now() + CALL_NANOS))
            .map_err(|e| alloc::format!("receive: {e}"))?;
        if length == 0 {
            return Err(alloc::format!(
                "the server closed after {} header bytes",
                header.len()
            ));
        }
        header.extend_from_slice(&buffer[..length]);
        if let Some(end) = header_end(&header) {
            let (status, content_length) = parse_header(&header[..end])?;
            let body = &header[end..];
            break (status, content_length, checksum(0, body), body.len() as u64);
        }
        if header.len() > 16 * 1024 {
            return Err(String::from("the header is longer than 16 KiB"));
        }
    };
    let mut cut_short = None;
    loop {
        match socket.receive(&mut buffer, Some(now() + CALL_NANOS)) {
            Ok(0) => break,
            Ok(length) => {
                sum = checksum(sum, &buffer[..length]);
                body_bytes += length as u64;
            }
            Err(error) => {
                cut_short = Some(error);
                break;
            }
        }
    }
    Ok(Fetched {
        status,
        body_bytes,
        content_length,
        checksum: sum,
        nanos: (now() - started).max(1),
        cut_short,
    })
}

fn rate(bytes: u64, nanos: u64) -> String {
    let kilobytes_per_second = bytes * 1_000_000 / nanos.max(1);
    alloc::format!(
        "{}.{:03} MB/s",
        kilobytes_per_second / 1000,
        kilobytes_per_second % 1000
    )
}

/// `http get [-s native|rump] HOST:PORT PATH`.
pub fn http(arguments: &str) {
    let Some(rest) = arguments.strip_prefix("get") else {
        return println!("usage: http get [-s native|rump] HOST:PORT PATH");
    };
    let (kind, words) = match split_stack(rest) {
        Ok(parsed) => parsed,
        Err(error) => return println!("http get: {error}"),
    };
    let (Some(server), Some(path)) = (words.first().and_then(|w| parse_endpoint(w)), words.get(1))
    else {
        return println!("usage: http get [-s native|rump] HOST:PORT PATH (HOST dotted IPv4)");
    };
    let path = String::from(*path);
    on_stack(kind, CALL_NANOS * 20, move || {
        if let Err(error) = ready(kind) {
            return println!("http get ({}): {error}", kind.name());
        }
        match http_fetch(kind, server, &path) {
            Ok(fetched) => {
                let short = match (fetched.cut_short, fetched.content_length) {
                    (Some(error), _) => alloc::format!(", cut short: {error}"),
                    (None, Some(length)) if length != fetched.body_bytes => {
                        alloc::format!(", short: {} of {length} bytes", fetched.body_bytes)
                    }
                    _ => String::new(),
                };
                println!(
                    "http get ({}): status {}, {} bytes, checksum {:08x}, {} ms, {}{short}",
                    kind.name(),
                    fetched.status,
                    fetched.body_bytes,
                    fetched.checksum,
                    fetched.nanos / 1_000_000,
                    rate(fetched.body_bytes, fetched.nanos)
                );
            }
            Err(error) => println!("http get ({}): {error}", kind.name()),
        }
    });
}

/// What `tcp serve` sends.
enum Content {
    File(String, Vec<u8>),
    Generated(u64),
}

impl Content {
    fn length(&self) -> u64 {
        match self {
            Content::File(_, bytes) => bytes.len() as u64,
            Content::Generated(length) => *length,
        }
    }
}

/// Sends the content on one connection; returns (bytes sent, checksum, failure).
fn serve_one(connection: &Socket, content: &Content) -> (u64, u32, Option<NetError>) {
    let mut chunk = vec![0u8; 16 * 1024];
    let mut sent = 0u64;
    let mut sum = 0u32;
    let total = content.length();
    while sent < total {
        let length = (total - sent).min(chunk.len() as u64) as usize;
        match content {
            Content::File(_, bytes) => {
                chunk[..length].copy_from_slice(&bytes[sent as usize..sent as usize + length])
            }
            Content::Generated(_) => {
                for (offset, byte) in chunk[..length].iter_mut().enumerate() {
                    *byte = pattern_byte(sent + offset as u64);
                }
            }
        }
        if let Err(error) = connection.send_all(&chunk[..length], Some(now() + CALL_NANOS)) {
            return (sent, sum, Some(error));
        }
        sum = checksum(sum, &chunk[..length]);
        sent += length as u64;
    }
    let _ = connection.shutdown();
    // Wait for the peer to close so that everything reached it before the socket goes.
    let mut sink = [0u8; 512];
    while let Ok(length) = connection.receive(&mut sink, Some(now() + CALL_NANOS)) {
        if length == 0 {
            break;
        }
    }
    (sent, sum, None)
}

/// `tcp serve [-s native|rump] PORT (FILE | --bytes N) [--connections N] [--backlog N]`.
pub fn tcp(arguments: &str) {
    const USAGE: &str =
        "usage: tcp serve [-s native|rump] PORT (FILE | --bytes N) [--connections N] [--backlog N]";
    let Some(rest) = arguments.strip_prefix("serve") else {
        return println!("{USAGE}");
    };
    let (kind, words) = match split_stack(rest) {
        Ok(parsed) => parsed,
        Err(error) => return println!("tcp serve: {error}"),
    };
    let mut port = None;
    let mut content = None;
    let mut connections = 1u32;
    let mut backlog = 4usize;
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        match *word {
            "--bytes" => {
                content = iter
                    .next()
                    .and_then(|w| parse_size(w))
                    .map(Content::Generated)
            }
            "--connections" => connections = iter.next().and_then(|w| w.parse().ok()).unwrap_or(1),
            "--backlog" => backlog = iter.next().and_then(|w| w.parse().ok()).unwrap_or(4),
            other if port.is_none() => port = other.parse::<u16>().ok(),
            path => match read_file(path) {
                Ok(bytes) => content = Some(Content::File(path.into(), bytes)),
                Err(error) => return println!("tcp serve: {path}: {error}"),
            },
        }
    }
    let (Some(port), Some(content)) = (port, content) else {
        return println!("{USAGE}");
    };
    on_stack(kind, u64::MAX / 2, move || {
        if let Err(error) = ready(kind) {
            return println!("tcp serve ({}): {error}", kind.name());
        }
        let listener = match Socket::open(kind, SocketKind::Stream).and_then(|socket| {
            socket.bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
            socket.listen(backlog)?;
            Ok(socket)
        }) {
            Ok(listener) => listener,
            Err(error) => return println!("tcp serve ({}): port {port}: {error}", kind.name()),
        };
        let what = match &content {
            Content::File(path, _) => path.clone(),
            Content::Generated(_) => String::from("a generated stream"),
        };
        println!(
            "tcp serve ({}): listening on port {port}, {} bytes of {what}, {connections} connections",
            kind.name(),
            content.length()
        );
        let (mut complete, mut broken) = (0u32, 0u32);
        for _ in 0..connections {
            let (connection, peer) = match listener.accept(None) {
                Ok(accepted) => accepted,
                Err(error) => {
                    println!("tcp serve: accept: {error}");
                    break;
                }
            };
            let started = now();
            let (sent, sum, failure) = serve_one(&connection, &content);
            let nanos = (now() - started).max(1);
            match failure {
                None => {
                    complete += 1;
                    println!(
                        "tcp serve: {peer}: sent {sent} bytes, checksum {sum:08x}, {}",
                        rate(sent, nanos)
                    );
                }
                Some(error) => {
                    broken += 1;
                    println!("tcp serve: {peer}: the peer went away after {sent} bytes ({error})");
                }
            }
        }
        println!(
            "tcp serve ({}): done, {complete} complete, {broken} cut short",
            kind.name()
        );
    });
}

/// `16M`, `512K` or plain bytes.
fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 1u64 << 10),
        b'M' | b'm' => (&text[..text.len() - 1], 1 << 20),
        _ => (text, 1),
    };
    number.parse::<u64>().ok()?.checked_mul(unit)
}

fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    crate::vfs::ops::read_chunks(path, 0, u64::MAX, |piece| bytes.extend_from_slice(piece))
        .map_err(|e| alloc::format!("{e}"))?;
    Ok(bytes)
}

/// Sends `bytes` of the generated stream to `sink` and waits for it to close; returns the
/// nanoseconds it took.
fn upload(kind: StackKind, sink: SocketAddrV4, bytes: u64) -> Result<u64, String> {
    let socket =
        Socket::open(kind, SocketKind::Stream).map_err(|e| alloc::format!("socket: {e}"))?;
    let started = now();
    socket
        .connect(sink, Some(now() + CALL_NANOS))
        .map_err(|e| alloc::format!("connect {sink}: {e}"))?;
    let (sent, _, failure) = serve_one(&socket, &Content::Generated(bytes));
    match failure {
        Some(error) => Err(alloc::format!("upload stopped after {sent} bytes: {error}")),
        None => Ok((now() - started).max(1)),
    }
}

/// One stack's bench figures: ping median, download and upload rate.
fn bench_stack(kind: StackKind, server: SocketAddrV4, path: &str, sink: SocketAddrV4, bytes: u64) {
    let stack = match ready(kind) {
        Ok(stack) => stack,
        Err(error) => return println!("bench: {} unavailable: {error}", kind.name()),
    };
    let mut round_trips: Vec<u64> = (1..=20u16)
        .filter_map(|sequence| {
            stack
                .ping(*server.ip(), 56, sequence, now() + 2_000_000_000)
                .ok()
        })
        .collect();
    round_trips.sort_unstable();
    match round_trips.get(round_trips.len() / 2) {
        Some(median) => println!(
            "bench: {} ping {}.{:03} ms (median of {})",
            kind.name(),
            median / 1_000_000,
            (median / 1000) % 1000,
            round_trips.len()
        ),
        None => println!("bench: {} ping: no answers", kind.name()),
    }
    match http_fetch(kind, server, path) {
        Ok(fetched) if fetched.cut_short.is_none() => println!(
            "bench: {} download {} bytes {} KB/s",
            kind.name(),
            fetched.body_bytes,
            fetched.body_bytes * 1_000_000 / fetched.nanos
        ),
        Ok(fetched) => println!(
            "bench: {} download cut short after {} bytes",
            kind.name(),
            fetched.body_bytes
        ),
        Err(error) => println!("bench: {} download failed: {error}", kind.name()),
    }
    match upload(kind, sink, bytes) {
        Ok(nanos) => println!(
            "bench: {} upload {bytes} bytes {} KB/s",
            kind.name(),
            bytes * 1_000_000 / nanos
        ),
        Err(error) => println!("bench: {} upload failed: {error}", kind.name()),
    }
}

/// `net bench HOST:PORT PATH SINK_HOST:PORT [BYTES]`: ping round trip, download (HTTP GET of
/// PATH) and upload (BYTES to a sink that reads until the end) for each stack in turn.
pub fn net(arguments: &str) {
    let words: Vec<&str> = arguments.split_whitespace().collect();
    let usage = "usage: net bench HOST:PORT PATH SINK_HOST:PORT [BYTES]";
    let ["bench", server, path, sink, rest @ ..] = words.as_slice() else {
        return println!("{usage}");
    };
    let (Some(server), Some(sink)) = (parse_endpoint(server), parse_endpoint(sink)) else {
        return println!("{usage}");
    };
    let bytes = rest.first().and_then(|w| parse_size(w)).unwrap_or(8 << 20);
    for kind in [StackKind::Native, StackKind::Rump] {
        let path = String::from(*path);
        on_stack(kind, CALL_NANOS * 20, move || {
            bench_stack(kind, server, &path, sink, bytes)
        });
    }
    println!("bench: done");
}
