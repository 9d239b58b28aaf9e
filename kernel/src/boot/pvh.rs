//! PVH boot protocol: `struct hvm_start_info` (version 0 and 1) as QEMU's `-kernel` loader and
//! Xen pass it, translated into a [`BootInfo`].

use super::{BootError, BootInfo, Module, PhysicalReader, Region, RegionKind};

/// `hvm_start_info.magic`.
pub const START_INFO_MAGIC: u32 = 0x336e_c578;

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap_or([0; 8]))
}

/// Parses the start-info structure at `address`.
///
/// Layout (all little endian): magic u32, version u32, flags u32, nr_modules u32,
/// modlist_paddr u64, cmdline_paddr u64, rsdp_paddr u64, and from version 1 memmap_paddr u64,
/// memmap_entries u32, reserved u32. Module entries are 32 bytes (paddr, size, cmdline, reserved);
/// memory-map entries 24 bytes (addr, size, type u32, reserved u32).
pub fn parse(memory: &dyn PhysicalReader, address: u64) -> Result<BootInfo, BootError> {
    let mut header = [0u8; 56];
    memory.read(address, &mut header)?;
    let magic = u32_at(&header, 0);
    if magic != START_INFO_MAGIC {
        return Err(BootError::BadMagic(magic));
    }
    let version = u32_at(&header, 4);
    let module_count = u32_at(&header, 12);
    let module_list = u64_at(&header, 16);
    let command_line = u64_at(&header, 24);
    let rsdp = u64_at(&header, 32);
    let mut info = BootInfo::empty("pvh");
    info.rsdp = (rsdp != 0).then_some(rsdp);

    if version < 1 {
        return Err(BootError::MissingMemoryMap);
    }
    let memory_map = u64_at(&header, 40);
    let entries = u32_at(&header, 48);
    if memory_map == 0 || entries == 0 {
        return Err(BootError::MissingMemoryMap);
    }
    if entries as usize > super::MAX_REGIONS {
        return Err(BootError::MalformedMemoryMap(
            "more entries than the kernel keeps",
        ));
    }
    for i in 0..entries as u64 {
        let mut entry = [0u8; 24];
        memory.read(memory_map + i * 24, &mut entry)?;
        let kind = match u32_at(&entry, 16) {
            1 => RegionKind::Usable,
            2 => RegionKind::Reserved,
            3 => RegionKind::AcpiReclaimable,
            4 => RegionKind::AcpiNvs,
            5 => RegionKind::Unusable,
            other => RegionKind::Other(other),
        };
        info.push_region(Region {
            start: u64_at(&entry, 0),
            length: u64_at(&entry, 8),
            kind,
        })?;
    }

    for i in 0..module_count.min(super::MAX_MODULES as u32) as u64 {
        let mut entry = [0u8; 32];
        memory.read(module_list + i * 32, &mut entry)?;
        info.push_module(Module {
            start: u64_at(&entry, 0),
            length: u64_at(&entry, 8),
        });
    }

    if command_line != 0 {
        let mut buffer = [0u8; super::MAX_COMMAND_LINE];
        // Read byte by byte: the string may end right before unreadable memory.
        let mut length = 0;
        while length < buffer.len() {
            let mut byte = [0u8];
            memory.read(command_line + length as u64, &mut byte)?;
            if byte[0] == 0 {
                break;
            }
            buffer[length] = byte[0];
            length += 1;
        }
        info.set_command_line(&buffer[..length]);
    }
    info.finish()?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    use crate::boot::FakeMemory as Fake;

    fn put32(m: &mut [u8], at: usize, v: u32) {
        m[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put64(m: &mut [u8], at: usize, v: u64) {
        m[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn image(version: u32, map: &[(u64, u64, u32)], cmdline: &[u8]) -> Fake {
        let mut m = std::vec![0u8; 4096];
        put32(&mut m, 0, START_INFO_MAGIC);
        put32(&mut m, 4, version);
        put32(&mut m, 12, 1);
        put64(&mut m, 16, 0x100);
        put64(&mut m, 24, 0x200);
        put64(&mut m, 32, 0xf5000);
        put64(&mut m, 40, 0x800);
        put32(&mut m, 48, map.len() as u32);
        put64(&mut m, 0x100, 0x0800_0000);
        put64(&mut m, 0x108, 12345);
        m[0x200..0x200 + cmdline.len()].copy_from_slice(cmdline);
        for (i, (a, s, t)) in map.iter().enumerate() {
            put64(&mut m, 0x800 + i * 24, *a);
            put64(&mut m, 0x808 + i * 24, *s);
            put32(&mut m, 0x810 + i * 24, *t);
        }
        Fake(m)
    }

    #[test]
    fn parses_qemu_like_start_info() {
        let fake = image(
            1,
            &[
                (0x10_0000, 0x1fee_0000, 1),
                (0, 0x9fc00, 1),
                (0xf0000, 0x10000, 2),
            ],
            b"log=debug test",
        );
        let info = parse(&fake, 0).unwrap();
        assert_eq!(info.regions()[0].start, 0, "map is sorted");
        assert_eq!(
            info.modules(),
            &[Module {
                start: 0x0800_0000,
                length: 12345
            }]
        );
        assert_eq!(info.command_line(), "log=debug test");
        assert_eq!(info.option("log"), Some("debug"));
        assert_eq!(info.option("test"), Some(""));
        assert_eq!(info.option("missing"), None);
        assert_eq!(info.rsdp, Some(0xf5000));
        assert_eq!(info.highest_ram_address(), 0x1ffe_0000);
    }

    #[test]
    fn rejects_bad_magic_missing_and_malformed_maps() {
        let mut fake = image(1, &[(0x10_0000, 0x1000_0000, 1)], b"");
        fake.0[0] ^= 1;
        assert!(matches!(parse(&fake, 0), Err(BootError::BadMagic(_))));
        let at0 = |f: Fake| parse(&f, 0).err();
        assert_eq!(
            at0(image(0, &[(0, 1 << 30, 1)], b"")),
            Some(BootError::MissingMemoryMap)
        );
        assert_eq!(at0(image(1, &[], b"")), Some(BootError::MissingMemoryMap));
        assert!(matches!(
            at0(image(1, &[(0, 0x1000, 1)], b"")),
            Some(BootError::MalformedMemoryMap(_))
        ));
        assert!(matches!(
            at0(image(1, &[(u64::MAX - 5, 0x1000, 1)], b"")),
            Some(BootError::MalformedMemoryMap(_))
        ));
        assert!(matches!(parse(&fake, 8000), Err(BootError::Unreadable(_))));
    }

    #[test]
    fn unterminated_command_line_is_cut_not_overrun() {
        let mut fake = image(1, &[(0x10_0000, 0x1000_0000, 1)], b"");
        fake.0[0x200..0x800].fill(b'a');
        let info = parse(&fake, 0).unwrap();
        assert_eq!(info.command_line().len(), crate::boot::MAX_COMMAND_LINE);
    }
}
