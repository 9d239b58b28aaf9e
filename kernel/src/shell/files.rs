//! The shell's file commands, all through the VFS: ls, cat, stat, tree, hexdump, mount, umount,
//! write, mkdir, rm, mv, sync, df.
//!
//! Each prints its result or one `COMMAND: PATH: reason` line; none of them stops the shell.

use alloc::string::String;
use alloc::vec::Vec;

use crate::vfs::ops::{self, Kind, WriteMode};
use crate::vfs::{mount, path};
use crate::{print, println};

fn path_or_root(arguments: &str) -> &str {
    if arguments.is_empty() {
        "/"
    } else {
        arguments
    }
}

/// `ls [PATH]`: size and name of each entry (`/` after directories, `-> target` for links).
pub fn ls(arguments: &str) {
    let path = path_or_root(arguments);
    match ops::read_dir(path) {
        Ok(entries) => {
            for entry in entries {
                let suffix = match (&entry.stat.kind, &entry.stat.link_target) {
                    (Kind::Directory, _) => String::from("/"),
                    (Kind::Symlink, target) => {
                        alloc::format!(" -> {}", target.as_deref().unwrap_or("?"))
                    }
                    _ => String::new(),
                };
                println!("{:>10} {}{}", entry.stat.size, entry.name, suffix);
            }
        }
        Err(error) => println!("ls: {path}: {error}"),
    }
}

/// Prints bytes as text, carrying an incomplete UTF-8 sequence over to the next piece.
struct TextPrinter {
    pending: Vec<u8>,
    last: Option<u8>,
}

impl TextPrinter {
    fn feed(&mut self, piece: &[u8]) {
        self.pending.extend_from_slice(piece);
        self.last = piece.last().copied().or(self.last);
        let valid = match core::str::from_utf8(&self.pending) {
            Ok(text) => text.len(),
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        print!("{}", String::from_utf8_lossy(&self.pending[..valid]));
        self.pending.drain(..valid);
    }

    fn finish(self) {
        if !self.pending.is_empty() {
            print!("{}", String::from_utf8_lossy(&self.pending));
        }
        if self.last.is_some_and(|b| b != b'\n') {
            println!();
        }
    }
}

/// `cat PATH`.
pub fn cat(arguments: &str) {
    let mut printer = TextPrinter {
        pending: Vec::new(),
        last: None,
    };
    let result = ops::read_chunks(arguments, 0, u64::MAX, |piece| printer.feed(piece));
    printer.finish();
    if let Err(error) = result {
        println!("cat: {arguments}: {error}");
    }
}

/// `stat PATH`.
pub fn stat(arguments: &str) {
    let path = path_or_root(arguments);
    match ops::stat(path) {
        Ok(stat) => {
            print!(
                "{path}: {} size {} mode {:04o} uid {} gid {} mtime {}",
                stat.kind, stat.size, stat.mode, stat.uid, stat.gid, stat.mtime
            );
            if let Some((inode, links)) = stat.inode {
                print!(" inode {inode} links {links}");
            }
            println!(" on {}", stat.source);
            if let Some(target) = stat.link_target {
                println!("  -> {target}");
            }
        }
        Err(error) => println!("stat: {path}: {error}"),
    }
}

/// `tree [PATH]`: every name below a directory, indented by depth (crosses mounts).
pub fn tree(arguments: &str) {
    const DEPTH_LIMIT: usize = 32;
    fn walk(directory: &str, depth: usize) {
        let entries = match ops::read_dir(directory) {
            Ok(entries) => entries,
            Err(error) => {
                println!("{:width$}({error})", "", width = depth * 2);
                return;
            }
        };
        for entry in entries {
            println!("{:width$}{}", "", entry.name, width = depth * 2);
            if entry.stat.kind == Kind::Directory && depth < DEPTH_LIMIT {
                walk(&path::join(directory, &entry.name), depth + 1);
            }
        }
    }
    let path = match path::normalise(path_or_root(arguments)) {
        Ok(path) => path,
        Err(error) => return println!("tree: {arguments}: {error}"),
    };
    match ops::stat(&path) {
        Ok(stat) if stat.kind == Kind::Directory => {
            println!("{path}");
            walk(&path, 1);
        }
        Ok(_) => println!("{path}"),
        Err(error) => println!("tree: {path}: {error}"),
    }
}

/// `hexdump PATH [OFFSET] [LENGTH]` (256 bytes by default).
pub fn hexdump(arguments: &str) {
    let mut words = arguments.split_whitespace();
    let path = words.next().unwrap_or("");
    let offset: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    let length: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(256);
    let mut data = Vec::new();
    if let Err(error) = ops::read_chunks(path, offset, length.min(1 << 20), |piece| {
        data.extend_from_slice(piece)
    }) {
        return println!("hexdump: {path}: {error}");
    }
    for (row, chunk) in data.chunks(16).enumerate() {
        print!("{:08x} ", offset as usize + row * 16);
        for byte in chunk {
            print!(" {byte:02x}");
        }
        print!("{:width$}  |", "", width = (16 - chunk.len()) * 3);
        for &byte in chunk {
            let shown = if byte.is_ascii_graphic() || byte == b' ' {
                byte as char
            } else {
                '.'
            };
            print!("{shown}");
        }
        println!("|");
    }
}

/// `mount` lists mounts; `mount [-r] DEV PATH` mounts DEV's ext2 file system on directory PATH.
pub fn mount(arguments: &str) {
    let mut words: Vec<&str> = arguments.split_whitespace().collect();
    let read_only = words.first() == Some(&"-r");
    if read_only {
        words.remove(0);
    }
    match words.as_slice() {
        [] if !read_only => {
            if crate::rootfs::root().is_some() {
                println!("initrd on / (read-only)");
            }
            for usage in mount::usage() {
                let mode = if usage.read_only.is_some() {
                    "ro"
                } else {
                    "rw"
                };
                println!(
                    "{} on {} ({}, {mode})",
                    usage.device, usage.path, usage.type_name
                );
            }
        }
        [device, at] => match mount::mount(device, at, read_only) {
            Ok(message) => println!("{message}"),
            Err(error) => println!("mount: {device}: {error}"),
        },
        _ => println!("usage: mount | mount [-r] DEV PATH"),
    }
}

/// `umount PATH`.
pub fn umount(arguments: &str) {
    match mount::umount(path_or_root(arguments)) {
        Ok(message) => println!("{message}"),
        Err(error) => println!("umount: {arguments}: {error}"),
    }
}

/// `write PATH TEXT`: creates or replaces PATH with TEXT and a newline.
pub fn write(arguments: &str) {
    if let Some(rest) = arguments.strip_prefix("--bench ") {
        return super::bench::write_bench(rest.trim());
    }
    let (path, text) = arguments.split_once(' ').unwrap_or((arguments, ""));
    if path.is_empty() {
        return println!("usage: write PATH TEXT");
    }
    let mut data = Vec::from(text.as_bytes());
    data.push(b'\n');
    match ops::write(path, WriteMode::Replace, &data) {
        Ok(()) => println!("wrote {} bytes to {path}", data.len()),
        Err(error) => println!("write: {path}: {error}"),
    }
}

/// `mkdir PATH`.
pub fn mkdir(arguments: &str) {
    if let Err(error) = ops::mkdir(arguments) {
        println!("mkdir: {arguments}: {error}");
    }
}

/// `rm PATH`: a file, symbolic link or empty directory.
pub fn rm(arguments: &str) {
    if let Err(error) = ops::remove(arguments) {
        println!("rm: {arguments}: {error}");
    }
}

/// `mv FROM TO` within one file system.
pub fn mv(arguments: &str) {
    match arguments.split_whitespace().collect::<Vec<_>>().as_slice() {
        [from, to] => {
            if let Err(error) = ops::rename(from, to) {
                println!("mv: {from} -> {to}: {error}");
            }
        }
        _ => println!("usage: mv FROM TO"),
    }
}

/// `sync`: every mount's dirty blocks and metadata to its device.
pub fn sync(_: &str) {
    for (at, result) in mount::sync_all() {
        match result {
            Ok(()) => println!("synced {at}"),
            Err(error) => println!("sync: {at}: {error}"),
        }
    }
}

/// `df`: each mount with its size, free blocks and inodes.
pub fn df(_: &str) {
    println!(
        "{:<8} {:<12} {:>6} {:>10} {:>10} {:>10} {:>14}  MODE",
        "DEVICE", "MOUNTED ON", "BLOCK", "BLOCKS", "FREE", "FREE KiB", "INODES FREE"
    );
    if let Some(root) = crate::rootfs::root() {
        println!(
            "{:<8} {:<12} {:>6} {:>10} {:>10} {:>10} {:>14}  ro ({} entries)",
            "initrd",
            "/",
            "-",
            "-",
            "-",
            "-",
            "-",
            root.node_count()
        );
    }
    for usage in mount::usage() {
        let s = usage.statfs;
        let mode = match usage.read_only {
            None => alloc::format!("rw, {} dirty blocks", usage.dirty_blocks),
            Some(reason) => alloc::format!("ro ({reason})"),
        };
        println!(
            "{:<8} {:<12} {:>6} {:>10} {:>10} {:>10} {:>14}  {mode}",
            usage.device,
            usage.path,
            s.block_size,
            s.blocks,
            s.free_blocks,
            s.free_blocks * u64::from(s.block_size) / 1024,
            alloc::format!("{}/{}", s.free_inodes, s.inodes),
        );
    }
}

/// `read PATH`: reads a file through the native drivers and prints its size, a checksum and the
/// rate; `rump read` prints the same for NetBSD's drivers, so the two can be compared.
/// `read --bench PATH` reads without looking at the bytes and prints a `bench:` line instead.
pub fn read(arguments: &str) {
    if let Some(path) = arguments.strip_prefix("--bench ") {
        return bench_read(path.trim());
    }
    if let Some(rest) = arguments.strip_prefix("--random ") {
        return super::bench::read_random(rest.trim());
    }
    if let Some(rest) = arguments.strip_prefix("--chunk ") {
        return super::bench::read_chunked(rest.trim());
    }
    let start = crate::time::monotonic_nanos();
    let mut sum = 0u32;
    match ops::read_chunks(arguments, 0, u64::MAX, |piece| {
        sum = piece
            .iter()
            .fold(sum, |a, b| a.wrapping_mul(31).wrapping_add(*b as u32));
    }) {
        Ok(length) => {
            let elapsed = (crate::time::monotonic_nanos() - start).max(1);
            println!(
                "{arguments}: {length} bytes, checksum {sum:08x}, {} KB/s native",
                length * 1_000_000 / elapsed
            );
        }
        Err(error) => println!("read: {arguments}: {error}"),
    }
}

fn bench_read(path: &str) {
    let start = crate::time::monotonic_nanos();
    match ops::read_chunks(path, 0, u64::MAX, |_| {}) {
        Ok(size) => {
            let elapsed = (crate::time::monotonic_nanos() - start).max(1);
            println!(
                "bench: native read {path}: {size} bytes in {} ms, {}.{} MB/s",
                elapsed / 1_000_000,
                size * 1000 / elapsed,
                size * 10_000 / elapsed % 10
            );
        }
        Err(error) => println!("read: {path}: {error}"),
    }
}
