//! The `blk` shell command: list block devices, hex-dump a sector, write text into a sector.

use alloc::vec;

use crate::println;

/// `blk` | `blk read DEV SECTOR` | `blk write DEV SECTOR TEXT` | `blk bench ...`.
pub fn blk(arguments: &str) {
    if let Some(rest) = arguments.strip_prefix("bench ") {
        return super::bench::blk_bench(rest);
    }
    let mut words = arguments.splitn(4, ' ');
    match (words.next().unwrap_or(""), words.next(), words.next()) {
        ("", None, None) => list(),
        ("read", Some(name), Some(sector)) => read(name, sector),
        ("write", Some(name), Some(sector)) => write(name, sector, words.next().unwrap_or("")),
        _ => {
            println!("usage: blk | blk read DEV SECTOR | blk write DEV SECTOR TEXT | blk bench ...")
        }
    }
}

fn list() {
    let disks = crate::block::list();
    if disks.is_empty() {
        println!("blk: no block devices");
    }
    for disk in disks {
        let ahead = match disk.most_read_ahead() {
            0 => alloc::string::String::new(),
            most => alloc::format!(", read-ahead up to {most} requests"),
        };
        println!(
            "{}: {} sectors of {} bytes ({} MiB), {}{ahead}",
            disk.name(),
            disk.sector_count(),
            disk.sector_size(),
            disk.size_bytes() >> 20,
            disk.describe()
        );
    }
}

fn parse(name: &str, sector: &str) -> Option<(alloc::sync::Arc<crate::block::Disk>, u64)> {
    let Some(disk) = crate::block::find(name) else {
        println!("blk: no block device '{name}'");
        return None;
    };
    match sector.parse() {
        Ok(sector) => Some((disk, sector)),
        Err(_) => {
            println!("blk: '{sector}' is not a sector number");
            None
        }
    }
}

fn read(name: &str, sector: &str) {
    let Some((disk, sector)) = parse(name, sector) else {
        return;
    };
    let mut buffer = vec![0u8; disk.sector_size() as usize];
    if let Err(error) = disk.read(sector, &mut buffer) {
        println!("blk: {name}: read of sector {sector} failed: {error}");
        return;
    }
    for (row, bytes) in buffer.chunks(16).enumerate() {
        let mut text = alloc::string::String::with_capacity(16);
        for &b in bytes {
            text.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        let mut hex = alloc::string::String::with_capacity(48);
        for b in bytes {
            hex.push_str(&alloc::format!("{b:02x} "));
        }
        println!(
            "{:08x}  {hex} |{text}|",
            sector * disk.sector_size() as u64 + row as u64 * 16
        );
    }
}

fn write(name: &str, sector: &str, text: &str) {
    let Some((disk, sector)) = parse(name, sector) else {
        return;
    };
    let size = disk.sector_size() as usize;
    let mut buffer = vec![0u8; size.max(text.len().next_multiple_of(size))];
    buffer[..text.len()].copy_from_slice(text.as_bytes());
    match disk.write(sector, &buffer).and_then(|()| disk.flush()) {
        Ok(()) => println!(
            "blk: {name}: wrote {} bytes at sector {sector}",
            buffer.len()
        ),
        Err(error) => println!("blk: {name}: write at sector {sector} failed: {error}"),
    }
}
