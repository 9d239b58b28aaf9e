//! Multiboot2 (GRUB): the boot information structure translated into a [`BootInfo`].
//!
//! Layout: total_size u32, reserved u32, then 8-byte aligned tags {type u32, size u32, ...}
//! ending with type 0. Tags used: 1 command line, 3 module, 6 memory map, 14/15 ACPI RSDP copy.

use super::{BootError, BootInfo, Module, PhysicalReader, Region, RegionKind};

/// Value of %eax at entry from a Multiboot2 loader.
pub const BOOTLOADER_MAGIC: u32 = 0x36d7_6289;

const TAG_END: u32 = 0;
const TAG_COMMAND_LINE: u32 = 1;
const TAG_MODULE: u32 = 3;
const TAG_MEMORY_MAP: u32 = 6;
const TAG_ACPI_OLD: u32 = 14;
const TAG_ACPI_NEW: u32 = 15;
/// Larger structures are not believed (GRUB's are a few KiB).
const MAX_TOTAL_SIZE: u32 = 1 << 20;

fn read_u32(memory: &dyn PhysicalReader, address: u64) -> Result<u32, BootError> {
    let mut bytes = [0u8; 4];
    memory.read(address, &mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

fn read_u64(memory: &dyn PhysicalReader, address: u64) -> Result<u64, BootError> {
    let mut bytes = [0u8; 8];
    memory.read(address, &mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Parses the boot information at `address`.
pub fn parse(memory: &dyn PhysicalReader, address: u64) -> Result<BootInfo, BootError> {
    let total = read_u32(memory, address)?;
    if !(16..=MAX_TOTAL_SIZE).contains(&total) {
        return Err(BootError::MalformedMemoryMap(
            "Multiboot2 information has an impossible size",
        ));
    }
    let end = address + total as u64;
    let mut info = BootInfo::empty("multiboot2");
    info.boot_data = Some((address, end));
    let mut tag = address + 8;
    let mut saw_map = false;
    while tag + 8 <= end {
        let kind = read_u32(memory, tag)?;
        let size = read_u32(memory, tag + 4)? as u64;
        if kind == TAG_END {
            break;
        }
        if size < 8 || tag + size > end {
            return Err(BootError::MalformedMemoryMap(
                "a Multiboot2 tag runs past the end",
            ));
        }
        match kind {
            TAG_COMMAND_LINE => {
                let mut buffer = [0u8; super::MAX_COMMAND_LINE];
                let length = ((size - 8) as usize).min(buffer.len());
                memory.read(tag + 8, &mut buffer[..length])?;
                let text = buffer[..length].split(|b| *b == 0).next().unwrap_or(&[]);
                info.set_command_line(text);
            }
            TAG_MODULE if size >= 16 => {
                let start = read_u32(memory, tag + 8)? as u64;
                let module_end = read_u32(memory, tag + 12)? as u64;
                if module_end > start {
                    info.push_module(Module {
                        start,
                        length: module_end - start,
                    });
                }
            }
            TAG_MEMORY_MAP if size >= 16 => {
                let entry_size = read_u32(memory, tag + 8)? as u64;
                if entry_size < 24 {
                    return Err(BootError::MalformedMemoryMap(
                        "memory-map entries smaller than 24 bytes",
                    ));
                }
                let mut entry = tag + 16;
                while entry + entry_size <= tag + size {
                    let base = read_u64(memory, entry)?;
                    let length = read_u64(memory, entry + 8)?;
                    let kind = match read_u32(memory, entry + 16)? {
                        1 => RegionKind::Usable,
                        3 => RegionKind::AcpiReclaimable,
                        4 => RegionKind::AcpiNvs,
                        5 => RegionKind::Unusable,
                        2 => RegionKind::Reserved,
                        other => RegionKind::Other(other),
                    };
                    info.push_region(Region {
                        start: base,
                        length,
                        kind,
                    })?;
                    entry += entry_size;
                }
                saw_map = true;
            }
            // The tag holds a copy of the RSDP; the copy itself is a valid RSDP to parse.
            TAG_ACPI_NEW => info.rsdp = Some(tag + 8),
            TAG_ACPI_OLD if info.rsdp.is_none() => info.rsdp = Some(tag + 8),
            _ => {}
        }
        tag = (tag + size).next_multiple_of(8);
    }
    if !saw_map {
        return Err(BootError::MissingMemoryMap);
    }
    info.finish()?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    use crate::boot::FakeMemory as Fake;

    fn tag(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&((8 + body.len()) as u32).to_le_bytes());
        out.extend_from_slice(body);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
    }

    fn image(map: &[(u64, u64, u32)], with_map: bool) -> Fake {
        let mut tags = Vec::new();
        tag(&mut tags, TAG_COMMAND_LINE, b"log=debug test\0");
        let mut module = Vec::new();
        module.extend_from_slice(&0x0040_0000u32.to_le_bytes());
        module.extend_from_slice(&0x0040_1000u32.to_le_bytes());
        module.extend_from_slice(b"initrd\0");
        tag(&mut tags, TAG_MODULE, &module);
        if with_map {
            let mut body = Vec::new();
            body.extend_from_slice(&24u32.to_le_bytes());
            body.extend_from_slice(&0u32.to_le_bytes());
            for (a, l, t) in map {
                body.extend_from_slice(&a.to_le_bytes());
                body.extend_from_slice(&l.to_le_bytes());
                body.extend_from_slice(&t.to_le_bytes());
                body.extend_from_slice(&0u32.to_le_bytes());
            }
            tag(&mut tags, TAG_MEMORY_MAP, &body);
        }
        tag(&mut tags, TAG_ACPI_OLD, &[0x52; 20]);
        tag(&mut tags, TAG_END, &[]);
        let mut mbi = Vec::new();
        mbi.extend_from_slice(&((8 + tags.len()) as u32).to_le_bytes());
        mbi.extend_from_slice(&0u32.to_le_bytes());
        mbi.extend_from_slice(&tags);
        let mut memory = std::vec![0u8; 0x1000];
        memory.extend_from_slice(&mbi);
        Fake(memory)
    }

    #[test]
    fn parses_grub_like_information() {
        let fake = image(
            &[
                (0, 0x9fc00, 1),
                (0x10_0000, 0x1fee_0000, 1),
                (0xfffc_0000, 0x4_0000, 2),
            ],
            true,
        );
        let info = parse(&fake, 0x1000).unwrap();
        assert_eq!(info.protocol, "multiboot2");
        assert_eq!(info.command_line(), "log=debug test");
        assert_eq!(
            info.modules(),
            &[Module {
                start: 0x40_0000,
                length: 0x1000
            }]
        );
        assert_eq!(info.regions().len(), 3);
        assert_eq!(info.highest_ram_address(), 0x1ffe_0000);
        assert!(info.rsdp.is_some_and(|r| r > 0x1000));
        assert_eq!(info.boot_data.map(|(s, _)| s), Some(0x1000));
    }

    #[test]
    fn rejects_missing_map_bad_sizes_and_overruns() {
        assert_eq!(
            parse(&image(&[], false), 0x1000).err(),
            Some(BootError::MissingMemoryMap)
        );
        let mut fake = image(&[(0x10_0000, 0x1000_0000, 1)], true);
        fake.0[0x1000..0x1004].copy_from_slice(&(u32::MAX).to_le_bytes());
        assert!(matches!(
            parse(&fake, 0x1000),
            Err(BootError::MalformedMemoryMap(_))
        ));
        let mut fake = image(&[(0x10_0000, 0x1000_0000, 1)], true);
        // The first tag claims to be longer than the whole structure.
        fake.0[0x100c..0x1010].copy_from_slice(&0x7fffu32.to_le_bytes());
        assert!(matches!(
            parse(&fake, 0x1000),
            Err(BootError::MalformedMemoryMap(_))
        ));
        assert!(matches!(
            parse(&fake, 0x10_0000),
            Err(BootError::Unreadable(_))
        ));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for round in 0..2000 {
            let mut fake = image(&[(0x10_0000, 0x1000_0000, 1)], true);
            for _ in 0..(round % 16 + 1) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = 0x1000 + (state % (fake.0.len() as u64 - 0x1000)) as usize;
                fake.0[at] = (state >> 32) as u8;
            }
            let _ = parse(&fake, 0x1000);
        }
    }
}
