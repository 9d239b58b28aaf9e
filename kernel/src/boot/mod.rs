//! One normalised description of what the boot loader handed over, whatever the protocol.
//!
//! PVH (QEMU `-kernel`) and Multiboot2 (GRUB, for the ISO) on x86_64, and the device tree on
//! aarch64, fill the same [`BootInfo`]. Everything here is fixed-size so it works before the heap exists.
//!
//! May import: nothing (pure parsers; also built and tested on the host).

pub mod devicetree;
pub mod multiboot2;
pub mod pvh;

static INFO: spin::Once<BootInfo> = spin::Once::new();

/// Records the parsed boot information (once, first thing at start-up) and returns it.
pub fn record(info: BootInfo) -> &'static BootInfo {
    INFO.call_once(|| info)
}

/// The boot information recorded at start-up.
pub fn info() -> &'static BootInfo {
    INFO.get()
        .expect("boot information is recorded first thing at start-up")
}

/// Maximum memory-map entries kept; firmware maps are far smaller.
pub const MAX_REGIONS: usize = 128;
/// Maximum boot modules kept.
pub const MAX_MODULES: usize = 8;
/// Maximum kernel command-line length kept.
pub const MAX_COMMAND_LINE: usize = 512;

/// Kind of a physical memory region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// Usable RAM.
    Usable,
    /// Firmware-reserved (may be MMIO).
    Reserved,
    /// ACPI tables, reclaimable after they are parsed.
    AcpiReclaimable,
    /// ACPI non-volatile storage.
    AcpiNvs,
    /// Defective or otherwise unusable.
    Unusable,
    /// Persistent memory or a type we do not know.
    Other(u32),
}

impl RegionKind {
    /// Whether the region is RAM (direct-mapped, write-back).
    pub fn is_ram(self) -> bool {
        matches!(
            self,
            RegionKind::Usable | RegionKind::AcpiReclaimable | RegionKind::AcpiNvs
        )
    }
}

/// A physical memory region `[start, start + length)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub length: u64,
    pub kind: RegionKind,
}

impl Region {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.length)
    }
}

/// A boot module (the initrd) in physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Module {
    pub start: u64,
    pub length: u64,
}

/// Why the boot information could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootError {
    /// The start-info structure does not carry the protocol's magic value.
    BadMagic(u32),
    /// No memory map was provided.
    MissingMemoryMap,
    /// The memory map is empty, too large or describes no usable RAM.
    MalformedMemoryMap(&'static str),
    /// A structure points outside readable memory.
    Unreadable(u64),
}

impl core::fmt::Display for BootError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BootError::BadMagic(m) => {
                write!(f, "boot information has bad magic {m:#x} (not a PVH start)")
            }
            BootError::MissingMemoryMap => write!(f, "the boot loader passed no memory map"),
            BootError::MalformedMemoryMap(why) => {
                write!(f, "the boot memory map is malformed: {why}")
            }
            BootError::Unreadable(a) => write!(f, "boot information at {a:#x} cannot be read"),
        }
    }
}

/// What the kernel learned from the boot loader.
#[derive(Debug, Clone)]
pub struct BootInfo {
    pub protocol: &'static str,
    regions: [Region; MAX_REGIONS],
    region_count: usize,
    modules: [Module; MAX_MODULES],
    module_count: usize,
    command_line: [u8; MAX_COMMAND_LINE],
    command_line_length: usize,
    /// Physical address of the ACPI RSDP, when the loader knows it.
    pub rsdp: Option<u64>,
    /// Loader structures that must survive until they are parsed (e.g. the Multiboot2
    /// information, which holds the RSDP copy): kept out of the frame allocator.
    pub boot_data: Option<(u64, u64)>,
}

impl BootInfo {
    fn empty(protocol: &'static str) -> Self {
        Self {
            protocol,
            regions: [Region {
                start: 0,
                length: 0,
                kind: RegionKind::Reserved,
            }; MAX_REGIONS],
            region_count: 0,
            modules: [Module {
                start: 0,
                length: 0,
            }; MAX_MODULES],
            module_count: 0,
            command_line: [0; MAX_COMMAND_LINE],
            command_line_length: 0,
            rsdp: None,
            boot_data: None,
        }
    }

    /// The memory map, sorted by start address.
    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.region_count]
    }

    /// Boot modules in the order the loader listed them.
    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }

    /// The kernel command line (lossy: invalid UTF-8 is cut at the first bad byte).
    pub fn command_line(&self) -> &str {
        let bytes = &self.command_line[..self.command_line_length];
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// Value of `key=value` on the command line, or `Some("")` for a bare `key`.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.command_line()
            .split_ascii_whitespace()
            .find_map(|word| match word.split_once('=') {
                Some((k, v)) if k == key => Some(v),
                None if word == key => Some(""),
                _ => None,
            })
    }

    /// Total usable RAM in bytes.
    pub fn usable_bytes(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Usable)
            .map(|r| r.length)
            .sum()
    }

    /// One past the highest RAM address.
    pub fn highest_ram_address(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind.is_ram())
            .map(|r| r.end())
            .max()
            .unwrap_or(0)
    }

    fn push_region(&mut self, region: Region) -> Result<(), BootError> {
        if region.length == 0 {
            return Ok(());
        }
        if self.region_count == MAX_REGIONS {
            return Err(BootError::MalformedMemoryMap(
                "more entries than the kernel keeps",
            ));
        }
        self.regions[self.region_count] = region;
        self.region_count += 1;
        Ok(())
    }

    fn push_module(&mut self, module: Module) {
        if self.module_count < MAX_MODULES && module.length > 0 {
            self.modules[self.module_count] = module;
            self.module_count += 1;
        }
    }

    fn set_command_line(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(MAX_COMMAND_LINE);
        self.command_line[..n].copy_from_slice(&bytes[..n]);
        self.command_line_length = n;
    }

    /// Sorts the map and checks it describes some usable RAM without overlaps between usable
    /// and non-usable ranges (overlaps are resolved in favour of the reservation).
    fn finish(&mut self) -> Result<(), BootError> {
        if self.region_count == 0 {
            return Err(BootError::MissingMemoryMap);
        }
        self.regions[..self.region_count].sort_unstable_by_key(|r| r.start);
        if self
            .regions()
            .iter()
            .any(|r| r.start.checked_add(r.length).is_none())
        {
            return Err(BootError::MalformedMemoryMap(
                "an entry wraps past the end of the address space",
            ));
        }
        if self.usable_bytes() < 16 << 20 {
            return Err(BootError::MalformedMemoryMap(
                "less than 16 MiB of usable RAM",
            ));
        }
        Ok(())
    }
}

/// Reads physical memory during boot (the direct map in the kernel, a buffer in tests).
pub trait PhysicalReader {
    /// Fills `buffer` from physical address `address`, or fails if it is not readable.
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), BootError>;
}

/// Physical memory for parser tests: a byte vector starting at address 0.
#[cfg(test)]
pub(crate) struct FakeMemory(pub alloc::vec::Vec<u8>);

#[cfg(test)]
impl PhysicalReader for FakeMemory {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), BootError> {
        let start = usize::try_from(address).map_err(|_| BootError::Unreadable(address))?;
        let source = self
            .0
            .get(start..start.saturating_add(buffer.len()))
            .ok_or(BootError::Unreadable(address))?;
        buffer.copy_from_slice(source);
        Ok(())
    }
}
